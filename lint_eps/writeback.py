"""Write a fixed file back without changing what its path is.

`--fix` writes a temporary file and renames it over the original, so that a crash or a full disk never leaves a
half-written file. A rename replaces the folder entry, not the file, so done naively it turns a symlink into a
regular file (and leaves the target unfixed), splits hard links and hands the file to whoever ran the fix. Hence:

- a symlink is resolved and its target rewritten (the temporary file lives in the target's folder): the link
  stays a link;
- a file with several hard links is refused: only writing into the existing inode keeps them, and that cannot be
  made atomic;
- mode, owner and group are copied to the temporary file before the rename; where the OS refuses (a file owned
  by someone else), the file is refused rather than given a new owner;
- a read-only file (no write bit at all, refused for root too: its owner asked for it to be left alone), a file
  the user may not write, or a folder where the temporary file cannot be created, is refused before anything is
  written.

A refusal is a `WriteRefused` whose message the runner reports as EPS003; the file is left exactly as it was.
"""

from __future__ import annotations

import os
import stat


class WriteRefused(Exception):
    """The file was left as it is; the message says why."""


def write_fixed(path: str, data: bytes) -> None:
    """Replace the content of the file at `path` (or of its symlink's target) atomically, or raise WriteRefused."""
    target = os.path.realpath(path)
    what = f"cannot write the symlink's target {target}" if os.path.islink(path) else "cannot write file"
    try:
        info = os.stat(target)
        reason = _refusal(target, info)
        if reason is None:
            write_atomically(target, data, keep_owner=True)
            return
    except WriteRefused as exc:
        reason = str(exc)
    except OSError as exc:
        reason = exc.strerror or str(exc)
    raise WriteRefused(f"{what}: {reason}")


def _refusal(target: str, info: os.stat_result) -> str | None:
    """Why the file at `target` must not be replaced, checked before anything is written."""
    mode = stat.S_IMODE(info.st_mode)
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if not mode & 0o222:
        return f"it is read-only (mode {mode:04o})"
    if not os.access(target, os.W_OK):
        return "permission denied"
    if info.st_nlink > 1:
        return f"it has {info.st_nlink} hard links, and an atomic rewrite (a new file renamed over it) would split them"
    folder = os.path.dirname(target)
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"its folder {folder} is not writable (the fixed file is written there first, then renamed over it)"
    return None


def write_atomically(path: str, data: bytes, *, keep_owner: bool = False) -> None:
    """Write next to `path` and rename over it, keeping its permission bits (and with `keep_owner`, its owner and
    group, or raise WriteRefused before the original is touched)."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        original: os.stat_result | None = os.stat(path)
    except OSError:
        original = None
    import tempfile  # with shutil, bz2 and lzma: only a run that writes pays for the import

    fd, temp = tempfile.mkstemp(prefix=".lint-eps-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if original is not None:
            if keep_owner:
                _copy_owner(temp, original)
            # After chown, which clears set-user-ID and set-group-ID bits.
            os.chmod(temp, stat.S_IMODE(original.st_mode))
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def _copy_owner(temp: str, original: os.stat_result) -> None:
    if not hasattr(os, "chown"):  # Windows: no owners to keep
        return
    current = os.stat(temp)
    if (current.st_uid, current.st_gid) == (original.st_uid, original.st_gid):
        return
    try:
        os.chown(temp, original.st_uid, original.st_gid)
    except PermissionError:
        raise WriteRefused(
            f"its owner and group (uid {original.st_uid}, gid {original.st_gid}) could not be kept on the rewritten file"
        ) from None

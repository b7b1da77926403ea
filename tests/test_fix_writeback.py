"""--fix never changes what a path is: symlinks stay symlinks (their target is fixed), hard links stay linked,
mode, owner and group are kept, and a file the user may not write is reported as EPS003 and left alone while the
rest of the run goes on. The permission cases run the CLI as an unprivileged user, since root may write anything."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from conftest import TF_LOSS, TF_LOSS_FIXED, run_cli, write

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
SETPRIV = shutil.which("setpriv")
needs_root = pytest.mark.skipif(not IS_ROOT, reason="giving test files another owner needs root")


def _nobody() -> tuple[int, int]:
    user = pwd.getpwnam("nobody")
    return user.pw_uid, user.pw_gid


def _state(path: Path) -> tuple[bytes, int, int, int, int]:
    info = path.stat()
    return path.read_bytes(), info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode), info.st_ino


@pytest.fixture
def shared() -> Iterator[Path]:
    """A project folder another user can reach (pytest's tmp_path sits in a 0700 folder of root's)."""
    folder = Path(tempfile.mkdtemp(prefix="lint-eps-shared-"))
    os.chmod(folder, 0o755)
    (folder / "pyproject.toml").write_text("[project]\nname = 'demo'\n", encoding="utf-8")
    yield folder
    shutil.rmtree(folder)


def _as_nobody(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    uid, gid = _nobody()
    command = [SETPRIV, f"--reuid={uid}", f"--regid={gid}", "--clear-groups", sys.executable, "-m", "lint_eps", *args]
    env = {**os.environ, "NO_COLOR": "1", "HOME": str(cwd)}
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


def test_fix_through_a_symlink_fixes_the_target_and_keeps_the_link(project: Path) -> None:
    target = write(project, "shared/losses_impl.py", TF_LOSS)
    link = project / "losses.py"
    link.symlink_to("shared/losses_impl.py")
    result = run_cli(["--fix", "--no-cache", "losses.py"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert link.is_symlink() and os.readlink(link) == "shared/losses_impl.py"
    assert target.read_text() == TF_LOSS_FIXED
    assert sorted(p.name for p in project.iterdir()) == ["losses.py", "pyproject.toml", "shared"]
    assert [p.name for p in (project / "shared").iterdir()] == ["losses_impl.py"], "no temporary file left behind"


def test_fix_refuses_a_hard_linked_file_and_keeps_the_link(project: Path) -> None:
    original = write(project, "losses.py", TF_LOSS)
    (project / "backup").mkdir()
    twin = project / "backup" / "losses.py"
    os.link(original, twin)
    result = run_cli(["--fix", "--no-cache", "losses.py"], project)
    assert result.returncode == 1
    assert result.stdout.startswith(
        "losses.py:1:1: EPS003 cannot write file: it has 2 hard links, and an atomic rewrite (a new file renamed over it)"
        " would split them; fixes not applied\n"
    )
    assert "losses.py:6:37: EPS202 [*]" in result.stdout, "the findings the fixes would have removed are still shown"
    assert original.read_text() == TF_LOSS and os.path.samefile(original, twin)


@needs_root
def test_fix_as_root_keeps_owner_and_group_and_leaves_a_read_only_file_alone(project: Path) -> None:
    uid, gid = _nobody()
    theirs = write(project, "theirs.py", TF_LOSS)
    os.chown(theirs, uid, gid)
    os.chmod(theirs, 0o640)
    readonly = write(project, "readonly.py", TF_LOSS)
    os.chmod(readonly, 0o444)
    before = _state(readonly)
    result = run_cli(["--fix", "--no-cache", "--no-show-source", "."], project)
    assert result.returncode == 1
    assert theirs.read_text() == TF_LOSS_FIXED
    info = theirs.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (uid, gid, 0o640)
    assert _state(readonly) == before
    assert "readonly.py:1:1: EPS003 cannot write file: it is read-only (mode 0444); fixes not applied" in result.stdout
    assert "Found 1 error and 2 warnings (2 fixed, 3 remaining)." in result.stdout
    # Without EPS003 selected the refusal still reaches the user, on stderr.
    unselected = run_cli(["--fix", "--no-cache", "--select", "EPS202", "readonly.py"], project)
    assert unselected.returncode == 1 and _state(readonly) == before
    assert "lint-eps: error: readonly.py: cannot write file: it is read-only (mode 0444); fixes not applied" in unselected.stderr


@needs_root
@pytest.mark.skipif(SETPRIV is None, reason="setpriv (util-linux) is needed to run the CLI as another user")
def test_fix_as_an_unprivileged_user_leaves_what_it_may_not_write_alone(shared: Path) -> None:
    uid, gid = _nobody()
    probe = _as_nobody(["--version"], shared)
    if probe.returncode != 0:
        pytest.skip(f"the user nobody cannot run this interpreter: {probe.stderr.strip()[-200:]}")
    os.chown(shared, uid, gid)
    mine = write(shared, "mine.py", TF_LOSS)
    os.chown(mine, uid, gid)
    readonly = write(shared, "readonly.py", TF_LOSS)
    os.chown(readonly, uid, gid)
    os.chmod(readonly, 0o444)
    roots = write(shared, "roots.py", TF_LOSS)  # root's, 0644: nobody may read it, not write it
    group = write(shared, "group.py", TF_LOSS)  # writable through the group, but the owner could not be kept
    os.chown(group, 0, gid)
    os.chmod(group, 0o664)
    locked = write(shared, "locked/theirs.py", TF_LOSS)  # nobody's file in root's folder: no temporary file there
    os.chown(locked, uid, gid)
    refused = [readonly, roots, group, locked]
    before = {path: _state(path) for path in refused}

    result = _as_nobody(["--fix", "--no-cache", "--output-format", "json", "."], shared)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1
    assert mine.read_text() == TF_LOSS_FIXED
    assert (mine.stat().st_uid, mine.stat().st_gid) == (uid, gid)
    assert {path: _state(path) for path in refused} == before
    data = json.loads(result.stdout)
    locked_folder = os.path.realpath(shared / "locked")
    assert {d["filename"]: d["message"] for d in data if d["code"] == "EPS003"} == {
        "group.py": f"cannot write file: its owner and group (uid 0, gid {gid}) could not be kept on the rewritten file; fixes not applied",
        "locked/theirs.py": f"cannot write file: its folder {locked_folder} is not writable (the fixed file is written there first, then renamed over it); fixes not applied",
        "readonly.py": "cannot write file: it is read-only (mode 0444); fixes not applied",
        "roots.py": "cannot write file: permission denied; fixes not applied",
    }
    assert sorted(d["filename"] for d in data if d["code"] == "EPS202") == sorted(
        name for name in ("group.py", "locked/theirs.py", "readonly.py", "roots.py") for _ in range(2)
    )
    leftovers = [p.name for p in shared.rglob(".lint-eps-*")]
    assert leftovers == []

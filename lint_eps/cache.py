"""Per-file results keyed by file content, configuration and lint-eps build, so unchanged trees re-lint fast.

One JSON file per (build, settings) pair under `.lint_eps_cache/`, loaded once and written once per run
(atomically), mapping an absolute path to the content digest and the findings of that content. The build is the
version plus a digest of lint-eps's own sources (engine and rules): an edited or upgraded checkout at the same
version number must not serve findings (or messages) of the code it replaced.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

from functools import lru_cache

from . import __version__

CACHE_DIR = ".lint_eps_cache"


def digest(data: bytes) -> str:
    """A content digest. hashlib (2.5 ms: it loads OpenSSL) is imported on first use: a `--no-cache` run on
    files without project imports never needs one."""
    import hashlib

    return hashlib.blake2b(data, digest_size=16).hexdigest()


@lru_cache(maxsize=1)
def build_id() -> str:
    """The version and a digest of every Python source of the engine and the rule catalogue, as installed."""
    import hashlib

    from . import rules

    hasher = hashlib.blake2b(digest_size=8)
    for package in (Path(__file__).parent, Path(rules.__file__).parent):
        for source in sorted(package.rglob("*.py")):
            hasher.update(str(source.relative_to(package)).encode())
            try:
                hasher.update(source.read_bytes())
            except OSError:
                continue
    return f"{__version__}-{hasher.hexdigest()}"


class Cache:
    def __init__(self, root: str, fingerprint: Callable[[], str], enabled: bool = True) -> None:
        """`fingerprint` (of the settings) is called only when the cache is enabled: it and `build_id` (which
        reads every source of lint-eps) are a few milliseconds that a `--no-cache` run does not pay."""
        self.enabled = enabled
        self.folder = Path(root) / CACHE_DIR
        self.file = self.folder / build_id() / f"{fingerprint()}.json" if enabled else self.folder
        self.entries: dict[str, dict[str, Any]] = {}
        self.dirty = False
        if enabled:
            self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(data, dict):
            self.entries = data

    def get(self, path: str, content_digest: str, valid: Callable[[dict[str, list[str]]], bool] | None = None) -> list[dict[str, Any]] | None:
        """The findings stored for this content, if the project modules they used (`valid`) still hold."""
        if not self.enabled:
            return None
        entry = self.entries.get(os.path.abspath(path))
        if entry is None or entry.get("digest") != content_digest:
            return None
        deps = entry.get("deps")
        if deps and (valid is None or not valid(deps)):
            return None
        return entry["diagnostics"]

    def put(self, path: str, content_digest: str, diagnostics: list[dict[str, Any]], deps: dict[str, list[str]] | None = None) -> None:
        if not self.enabled:
            return
        entry: dict[str, Any] = {"digest": content_digest, "diagnostics": diagnostics}
        if deps:
            entry["deps"] = deps
        self.entries[os.path.abspath(path)] = entry
        self.dirty = True

    def save(self) -> None:
        if not (self.enabled and self.dirty):
            return
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            gitignore = self.folder / ".gitignore"
            if not gitignore.exists():
                gitignore.write_text("# Automatically created by lint-eps.\n*\n", encoding="utf-8")
            from .writeback import write_atomically  # tempfile and shutil: only a run that writes pays

            write_atomically(str(self.file), json.dumps(self.entries, separators=(",", ":")).encode())
        except OSError:
            # A read-only checkout still lints; it just does not get faster next time.
            pass

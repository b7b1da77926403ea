"""Which files a run lints: walk folders for *.py/*.pyi/*.ipynb, honouring excludes and .gitignore files as ruff does.

Explicitly named files are linted even when excluded (so `lint-eps build/x.py` works) unless `force_exclude`
is set, which pre-commit needs because it passes every staged file explicitly.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from .settings import Settings

if TYPE_CHECKING:
    import pathspec

PYTHON_SUFFIXES = (".py", ".pyi", ".ipynb")  # notebooks: lint_eps.notebook


@dataclass(frozen=True)
class DiscoveryError:
    path: str
    message: str


def gitignore_spec(patterns: "tuple[str, ...] | list[str]") -> "pathspec.PathSpec":
    """pathspec is imported on first use: a run on named files (a pre-commit hook without --force-exclude, an
    editor task) never matches a pattern, and the import is a tenth of lint-eps's own start-up."""
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(patterns)


class _Ignores:
    def __init__(self, settings: Settings) -> None:
        self.root = Path(settings.root).resolve()
        self.patterns = settings.exclude + settings.extend_exclude
        self.respect_gitignore = settings.respect_gitignore
        # folder -> spec of the .gitignore found there
        self._gitignores: "dict[Path, pathspec.PathSpec | None]" = {}
        self._repo_roots: dict[Path, bool] = {}
        self.walk_root: Path | None = None
        self._covering: "dict[Path, pathspec.PathSpec]" = {}

    # As in ruff: a pattern without a slash (`build`, `*_pb2.py`) matches an entry's own name, so it prunes a
    # folder met during the walk but never a folder the user named; a pattern with a slash (`src/gen/`) matches
    # the path relative to the project root.
    @cached_property
    def by_name(self) -> "pathspec.PathSpec":
        return gitignore_spec(tuple(p for p in self.patterns if "/" not in p.rstrip("/")))

    @cached_property
    def by_path(self) -> "pathspec.PathSpec":
        return gitignore_spec(tuple(p for p in self.patterns if "/" in p.rstrip("/")))

    def _gitignore(self, folder: Path) -> pathspec.PathSpec | None:
        if folder not in self._gitignores:
            spec = None
            candidate = folder / ".gitignore"
            try:
                if candidate.is_file():
                    spec = gitignore_spec(candidate.read_text(encoding="utf-8", errors="replace").splitlines())
            except OSError:
                spec = None
            self._gitignores[folder] = spec
        return self._gitignores[folder]

    def _is_repo_root(self, folder: Path) -> bool:
        if folder not in self._repo_roots:
            self._repo_roots[folder] = (folder / ".git").exists()
        return self._repo_roots[folder]

    def excluded(self, path: Path, is_dir: bool) -> bool:
        suffix = "/" if is_dir else ""
        if self.by_name.match_file(path.name + suffix):
            return True
        absolute = Path(os.path.abspath(path))
        relative = os.path.relpath(absolute, self.root)
        if not relative.startswith("..") and self.by_path.match_file(Path(relative).as_posix() + suffix):
            return True
        if self.respect_gitignore:
            # .gitignore files from the file's folder up to the repository root (or the filesystem root).
            for folder in absolute.parents:
                spec = self._gitignore(folder)
                if spec is not None:
                    spec = self._below_walk_root(folder, spec)
                    if spec.match_file(absolute.relative_to(folder).as_posix() + suffix):
                        return True
                if self._is_repo_root(folder):
                    break
        return False

    def set_walk_root(self, folder: Path | None) -> None:
        """The folder named on the command line that is being walked. As in ruff, a .gitignore entry that
        ignores that folder itself (or one above it, such as `.venv/`) does not hide what is inside it: the user
        asked for it."""
        self.walk_root = Path(os.path.abspath(folder)) if folder is not None else None
        self._covering = {}

    def _below_walk_root(self, folder: Path, spec: pathspec.PathSpec) -> pathspec.PathSpec:
        """`spec` without the patterns that ignore the walk root or a folder above it (see set_walk_root)."""
        root = self.walk_root
        if root is None or not (root == folder or folder in root.parents):
            return spec
        if folder not in self._covering:
            chain = [p.relative_to(folder).as_posix() + "/" for p in (root, *root.parents) if folder in p.parents]
            kept = [pattern for pattern in spec.patterns if not any(pattern.match_file(d) for d in chain)]
            if len(kept) != len(spec.patterns):
                import pathspec  # already imported by gitignore_spec

                spec = pathspec.PathSpec(kept)
            self._covering[folder] = spec
        return self._covering[folder]

    def excluded_or_inside_excluded(self, path: Path, is_dir: bool) -> bool:
        """For --force-exclude on named paths: the path or any folder above it (up to the root) is excluded."""
        if self.excluded(path, is_dir):
            return True
        absolute = Path(os.path.abspath(path))
        for folder in absolute.parents:
            if folder == self.root or self.root not in folder.parents:
                break
            if self.excluded(folder, is_dir=True):
                return True
        return False


def named_path_problem(raw: str) -> str | None:
    """Why a path named on the command line cannot be linted, or None. A broken symlink or a symlink loop is a
    path that does not exist (as `ls` and `cat` see it), not a clean run with nothing in it."""
    try:
        os.stat(raw)
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"path cannot be resolved: {raw} (symlink loop)"
        if os.path.islink(raw):
            try:
                return f"path does not exist: {raw} (broken symlink to {os.readlink(raw)})"
            except OSError:
                pass
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return f"path does not exist: {raw}"
        return f"cannot access path: {raw} ({exc.strerror})"


def discover(paths: list[str], settings: Settings) -> tuple[list[str], list[DiscoveryError]]:
    """Files to lint (sorted, unique) and the problems met on the way (unreadable folders, symlink loops)."""
    ignores = _Ignores(settings)
    files: list[str] = []
    errors: list[DiscoveryError] = []
    seen_dirs: set[str] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            if settings.force_exclude and ignores.excluded_or_inside_excluded(path, is_dir=False):
                continue
            files.append(str(path))
        elif path.is_dir():
            if settings.force_exclude and raw not in (".", "./") and ignores.excluded_or_inside_excluded(path, is_dir=True):
                continue
            ignores.set_walk_root(path)
            _walk(path, ignores, files, errors, seen_dirs)
            ignores.set_walk_root(None)
        elif os.path.lexists(raw):
            errors.append(DiscoveryError(raw, "not a regular file or folder (broken symlink?)"))
    unique = sorted(dict.fromkeys(os.path.normpath(f) for f in files))
    return unique, errors


def _walk(folder: Path, ignores: _Ignores, files: list[str], errors: list[DiscoveryError], seen: set[str]) -> None:
    try:
        real = os.path.realpath(folder)
    except OSError as exc:
        errors.append(DiscoveryError(str(folder), f"cannot resolve: {exc.strerror}"))
        return
    if real in seen:
        if folder.is_symlink():
            errors.append(DiscoveryError(str(folder), "symlink loop (folder already visited), skipped"))
        return
    seen.add(real)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        errors.append(DiscoveryError(str(folder), f"cannot read folder: {exc.strerror}"))
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir()
            is_file = entry.is_file()
        except OSError:
            continue
        if is_dir:
            if ignores.excluded(path, is_dir=True):
                continue
            _walk(path, ignores, files, errors, seen)
        elif is_file and entry.name.endswith(PYTHON_SUFFIXES):
            if ignores.excluded(path, is_dir=False):
                continue
            files.append(entry.path)


def is_excluded(path: str, settings: Settings) -> bool:
    """Whether `lint-eps --force-exclude PATH` would skip this file (the editor server asks for open buffers)."""
    return _Ignores(settings).excluded_or_inside_excluded(Path(os.path.realpath(path)), is_dir=False)

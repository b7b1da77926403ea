"""The project being linted as one program: project-local imports, and module summaries shared across files.

A rule that meets `log(discriminator(x))` asks what `discriminator` returns. When it is defined in this file, or
imported from a module of the project (`from .nets import discriminator`, or `from nets import ...` naming a file
under the configured root or `src` folders), the answer is the callee module's summary
(`lint_eps.rules.analysis.summaries`), computed once per content digest from CPython's `ast` and kept for the
process. Third-party modules are never read.

Every summary consulted while a file is linted is recorded (`tracking()`), with the digest of the content it was
computed from and the digest of the facts themselves, so that the cache can keep a file's findings exactly as long
as the modules it used say the same thing (`still_valid`): editing `nets.py` re-lints `train.py`; editing a comment
in `nets.py` does not.
"""

from __future__ import annotations

import ast
import contextlib
import os
from typing import Callable, Iterator, TypeVar

from .cache import digest

T = TypeVar("T")

# path -> (content digest, summary digest) of every module summary used by the file being linted.
Dependencies = dict[str, list[str]]


class Project:
    """Resolves project-local imports under `roots` and caches one summary per module content."""

    def __init__(self, roots: list[str]) -> None:
        self.roots = [os.path.abspath(r) for r in roots]
        self._by_digest: dict[str, object] = {}
        self._files: dict[str, tuple[float, int, str]] = {}  # path -> (mtime, size, content digest)
        self._used: list[Dependencies] = []
        self._modules: dict[tuple[str, int, str], str | None] = {}

    # -- where modules are --------------------------------------------------------------------------------
    def module_file(self, importer: str, level: int, module: str) -> str | None:
        """The file of `module` imported from `importer` (`level` dots for a relative import), or None when it
        is not a file of this project."""
        key = (os.path.dirname(os.path.abspath(importer)), level, module)
        if key not in self._modules:
            self._modules[key] = self._find_module(importer, level, module)
        return self._modules[key]

    def _find_module(self, importer: str, level: int, module: str) -> str | None:
        parts = [p for p in module.split(".") if p]
        if level:
            base = os.path.dirname(os.path.abspath(importer))
            for _ in range(level - 1):
                base = os.path.dirname(base)
            return _module_in(base, parts)
        if not parts:
            return None
        candidates = [os.path.dirname(os.path.abspath(importer)), *self.roots]
        for base in candidates:
            found = _module_in(base, parts)
            if found is not None and any(_inside(found, root) for root in self.roots):
                return found
        return None

    # -- summaries --------------------------------------------------------------------------------------------
    def summary(self, path: str, summarise: Callable[[ast.Module, str, str], T], source: str | None = None) -> T | None:
        """The summary of the module in `path` (`source` when the caller already holds its text)."""
        path = os.path.abspath(path)
        if source is not None:
            data = source.encode("utf-8", "surrogatepass")
            content = digest(data)
        else:
            content_or_none = self._content_digest(path)
            if content_or_none is None:
                return None
            content = content_or_none
            data = b""
        key = f"{path}:{content}:{getattr(summarise, '__name__', '')}"
        found = self._by_digest.get(key)
        if found is None:
            if source is None:
                try:
                    with open(path, "rb") as handle:
                        data = handle.read()
                except OSError:
                    return None
            try:
                tree = ast.parse(data)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return None
            found = summarise(tree, path, source if source is not None else data.decode("utf-8", "replace"))
            self._by_digest[key] = found
        if self._used and source is None:
            self._used[-1][path] = [content, str(getattr(found, "digest", ""))]
        return found  # type: ignore[return-value]

    def _content_digest(self, path: str) -> str | None:
        try:
            stat = os.stat(path)
        except OSError:
            return None
        known = self._files.get(path)
        if known is not None and known[0] == stat.st_mtime and known[1] == stat.st_size:
            return known[2]
        try:
            with open(path, "rb") as handle:
                content = digest(handle.read())
        except OSError:
            return None
        self._files[path] = (stat.st_mtime, stat.st_size, content)
        return content

    def forget_modules(self) -> None:
        """Files were created or deleted (the language server hears of it): resolve imports afresh."""
        self._modules.clear()

    @contextlib.contextmanager
    def tracking(self) -> Iterator[Dependencies]:
        """Record the other modules whose summaries the code inside uses."""
        used: Dependencies = {}
        self._used.append(used)
        try:
            yield used
        finally:
            self._used.pop()

    def still_valid(self, dependencies: Dependencies, summarise: Callable[[ast.Module, str, str], object]) -> bool:
        """Do the modules a cached result used still say the same thing? Unchanged content answers at once; changed
        content is summarised again and compared by the facts' digest."""
        for path, (content, facts) in dependencies.items():
            current = self._content_digest(path)
            if current is None:
                return False
            if current == content:
                continue
            summary = self.summary(path, summarise)
            if summary is None or str(getattr(summary, "digest", "")) != facts:
                return False
        return True


def _module_in(base: str, parts: list[str]) -> str | None:
    if not parts:
        init = os.path.join(base, "__init__.py")
        return init if os.path.isfile(init) else None
    stem = os.path.join(base, *parts)
    for candidate in (stem + ".py", os.path.join(stem, "__init__.py")):
        if os.path.isfile(candidate):
            return candidate
    return None


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def summarise(tree: ast.Module, path: str, source: str) -> object:
    """The rule catalogue's module summary (imported on first use: most runs never need one)."""
    from .rules.analysis.summaries import summarise as summarise_module

    return summarise_module(tree, path, source)


_projects: dict[tuple[str, ...], Project] = {}


def project_for(roots: list[str]) -> Project:
    """One `Project` per set of roots and process (workers build their own)."""
    key = tuple(os.path.abspath(r) for r in roots)
    found = _projects.get(key)
    if found is None:
        found = _projects[key] = Project(list(key))
    return found


def forget_project_modules() -> None:
    for project in _projects.values():
        project.forget_modules()

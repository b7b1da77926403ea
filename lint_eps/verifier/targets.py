"""What to verify: `path::qualname` arguments and lint findings, resolved to callables by reading the source.

Nothing here imports the user's code. A finding belongs to the innermost function or class that contains its
line: a module-level function is called directly; a method of a module-level class means the class (a Keras
`Metric` is instantiated and fed, a `Loss` is called); a function nested in a module-level function is reached
by calling the outer function with its defaults (the `def focal_loss(gamma=2.0): def loss(...)` factory).
"""

from __future__ import annotations

import ast
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from lint_eps.rules.analysis.roles import name_is_loss, name_is_metric
from lint_eps.diagnostic import Diagnostic
from lint_eps.notebook import Notebook, NotebookError, Program, is_notebook, read_program
from lint_eps.source import SourceError, decode_source

from .usage import dtypes_used, framework_of

FRAMEWORK_NAMES = {"tensorflow": "TensorFlow", "torch": "PyTorch", "jax": "JAX", "numpy": "NumPy"}
INSTALL_HINTS = {"tensorflow": "pip install 'lint-eps[verify]'", "torch": "pip install torch", "jax": "pip install jax", "numpy": "pip install numpy"}


class TargetError(ValueError):
    """A `path::name` that does not name anything (a usage error)."""


@dataclass(frozen=True)
class Target:
    path: str  # as the user wrote it (or as the linter reported it)
    abs_path: str
    qualname: str | None  # None: module-level code
    kind: str  # "function" | "class" | "factory" | "none"
    attr: str = ""  # the module attribute to fetch
    inner: str | None = None  # factory: the nested function
    method: str | None = None  # class reached through a finding in this method
    role: str | None = None  # "loss" | "metric" | None, from the names
    framework: str = "numpy"  # from the names the function uses
    dtypes: tuple[str, ...] = ("float32", "float64")  # the dtypes the module computes in
    skip: str | None = None  # why it cannot be run, decided without running anything
    row: int = 1
    column: int = 1
    # The lint findings inside it, each checked on its own: (code, (row, column, end row, end column)).
    findings: tuple[tuple[str, tuple[int, int, int, int]], ...] = ()

    @property
    def function(self) -> str | None:
        return f"{self.path}::{self.qualname}" if self.qualname else None

    @property
    def key(self) -> tuple[str, str, str, str | None, str | None]:
        # The methods of a torch module are separate subjects (`RBM.free_energy`, `RBM.sample_hidden`); those of a
        # Keras metric run together (update_state, then result).
        return (self.abs_path, self.kind, self.attr, self.inner, self.method if self.framework == "torch" else None)

    def job(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "attr": self.attr,
            "inner": self.inner,
            "method": self.method,
            "role": self.role,
            "qualname": self.qualname,
            "dtypes": list(self.dtypes),
            "findings": [{"code": code, "span": list(span)} for code, span in self.findings],
        }


def split_spec(argument: str) -> tuple[str, str | None]:
    if "::" in argument:
        path, _, name = argument.rpartition("::")
        return path, name
    return argument, None


@dataclass
class SourceFile:
    path: str
    tree: ast.Module

    @classmethod
    def read(cls, path: str) -> "SourceFile":
        try:
            if is_notebook(path):  # its code cells as one program, as the linter and the worker read it
                text = read_program(path)
            else:
                with open(path, "rb") as handle:
                    text = decode_source(handle.read()).text
            tree = ast.parse(text, filename=path)
        except OSError as exc:
            raise TargetError(f"cannot read {path}: {exc.strerror or exc}") from None
        except NotebookError as exc:
            raise TargetError(f"cannot read {path}: {exc.message}") from None
        except (SourceError, SyntaxError, ValueError) as exc:
            raise TargetError(f"cannot parse {path}: {getattr(exc, 'msg', None) or exc}") from None
        return cls(path, tree)


def framework_missing(framework: str) -> str | None:
    module = {"tensorflow": "tensorflow", "torch": "torch", "jax": "jax", "numpy": "numpy"}[framework]
    if importlib.util.find_spec(module) is None:
        return f"{FRAMEWORK_NAMES[framework]} adapter: `{module}` is not installed ({INSTALL_HINTS[framework]})"
    return None


Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _start(node: Definition) -> int:
    return min([node.lineno] + [d.lineno for d in node.decorator_list])


def chain_at(tree: ast.Module, row: int) -> list[Definition]:
    """The definitions enclosing `row`, outermost first."""
    chain: list[Definition] = []
    body: list[ast.stmt] = tree.body
    while True:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and _start(node) <= row <= (node.end_lineno or node.lineno):
                chain.append(node)
                body = node.body
                break
        else:
            return chain


def _role(*names: str) -> str | None:
    if any(name_is_loss(n) for n in names):
        return "loss"
    if any(name_is_metric(n) for n in names):
        return "metric"
    return None


def _target(source: SourceFile, display: str, chain: list[Definition], row: int, column: int) -> Target:
    framework = framework_of(source.tree, chain[0] if chain else None)
    base = dict(path=display, abs_path=os.path.abspath(source.path), framework=framework, dtypes=dtypes_used(source.tree, framework), row=row, column=column)
    if not chain:
        return Target(qualname=None, kind="none", skip="not inside a function or class", **base)  # type: ignore[arg-type]
    names = [n.name for n in chain]
    qualname = ".".join(names)
    first = chain[0]
    if isinstance(first, ast.ClassDef):
        if len(chain) == 1 or (len(chain) == 2 and isinstance(chain[1], (ast.FunctionDef, ast.AsyncFunctionDef))):
            method = chain[1].name if len(chain) == 2 else None
            return Target(qualname=first.name, kind="class", attr=first.name, method=method, role=_role(first.name), **base)  # type: ignore[arg-type]
        return Target(qualname=qualname, kind="none", skip=f"`{qualname}` is nested too deeply to be called on its own", **base)  # type: ignore[arg-type]
    if isinstance(first, ast.AsyncFunctionDef):
        return Target(qualname=qualname, kind="none", skip=f"`{first.name}` is an async function", **base)  # type: ignore[arg-type]
    if len(chain) == 1:
        return Target(qualname=qualname, kind="function", attr=first.name, role=_role(first.name), **base)  # type: ignore[arg-type]
    if len(chain) == 2 and isinstance(chain[1], ast.FunctionDef):
        inner = chain[1].name
        return Target(qualname=f"{first.name}.<locals>.{inner}", kind="factory", attr=first.name, inner=inner, role=_role(inner, first.name), **base)  # type: ignore[arg-type]
    return Target(qualname=qualname, kind="none", skip=f"`{qualname}` is nested too deeply to be called on its own", **base)  # type: ignore[arg-type]


def resolve_spec(path: str, name: str) -> Target:
    """`path::name`: a module-level function or class, `Class.method` (the class), or `outer.inner` (a factory)."""
    source = SourceFile.read(path)
    parts = [p for p in name.replace(".<locals>.", ".").split(".") if p]
    chain: list[Definition] = []
    body: list[ast.stmt] = source.tree.body
    for part in parts:
        found = next((n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == part), None)
        if found is None:
            raise TargetError(f"no function or class `{name}` in {path}")
        chain.append(found)
        body = found.body
    if not chain:
        raise TargetError(f"empty name after `::` in {path}::{name}")
    node = chain[-1]
    return _target(source, path, chain, node.lineno, node.col_offset + 1)


class FindingResolver:
    """Maps findings to targets, reading each file once."""

    def __init__(self) -> None:
        self._sources: dict[str, SourceFile | TargetError] = {}
        self._programs: dict[str, Program | None] = {}

    def span(self, diagnostic: Diagnostic) -> tuple[int, int, int, int]:
        """The finding's (row, column, end row, end column) in the text that is run: in a notebook, the rows of
        its cell counted in the program of its code cells."""
        start, end = diagnostic.location, diagnostic.end_location
        if start.cell is None:
            return (start.row, start.column, end.row, end.column)
        path = diagnostic.filename
        if path not in self._programs:
            try:
                with open(path, "rb") as handle:
                    self._programs[path] = Program.of(Notebook.parse_bytes(handle.read()))
            except (OSError, NotebookError):
                self._programs[path] = None
        program = self._programs[path]
        if program is None:
            return (start.row, start.column, end.row, end.column)
        return (program.program_row(start.cell, start.row), start.column, program.program_row(start.cell, end.row), end.column)

    def resolve(self, path: str, row: int, column: int) -> Target:
        cached = self._sources.get(path)
        if cached is None:
            try:
                cached = SourceFile.read(path)
            except TargetError as exc:
                cached = exc
            self._sources[path] = cached
        if isinstance(cached, TargetError):
            return Target(path=path, abs_path=os.path.abspath(path), qualname=None, kind="none", skip=str(cached), row=row, column=column)
        return _target(cached, path, chain_at(cached.tree, row), row, column)


def module_location(abs_path: str) -> tuple[str, list[str]]:
    """The dotted module name of a file and the folders to put on sys.path (package root's parent, then the
    file's own folder)."""
    path = Path(abs_path)
    parts = [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder.parent != folder:
        parts.insert(0, folder.name)
        folder = folder.parent
    folders = [str(folder)]
    if str(path.parent) not in folders:
        folders.append(str(path.parent))
    return ".".join(parts), folders

"""What a rule's sharper prefilter can ask about a file before anyone pays for a libcst parse.

The byte `triggers` of a rule are the first gate. A rule may add a `prefilter` (see `lint_eps.rule.Rule`): a
compiled regex that must match, or a predicate over a `FileText`. `FileText` offers the text, the settings and,
computed once per file and shared by every rule, CPython's own `ast` of it (C speed, about a tenth of libcst's
parse; the engine reuses it as the syntax check of files that end up not parsed by libcst) and the signatures of
every function in it with their names and parameters spelled exactly as in the source, as libcst spells them.

A prefilter must be sound: it returns False only when the rule provably cannot report on the file. When the
file has no CPython ast (a syntax error, nesting deeper than CPython accepts) nothing can be proved and
predicates should answer True; `functions` is then None.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass
from typing import Callable, TypeVar

from .settings import Settings

T = TypeVar("T")

_UNSET = object()


@dataclass(frozen=True)
class FunctionFacts:
    """A `def` (or `async def`) anywhere in the file, as libcst would see it."""

    name: str
    positional: tuple[str, ...]  # positional-only and ordinary parameters, in order (self/cls included)
    in_class: bool  # defined directly in a class body
    start: int = 0  # character offsets in the text: from its first decorator's line to the end of its last line
    end: int = 0


# From the start of a `def` statement to its name, across line continuations (byte offsets from CPython's ast).
_DEF_NAME = re.compile(rb"(?:async(?:[ \t\f]|\\\r?\n|\\\r)+)?def(?:[ \t\f]|\\\r?\n|\\\r)+([A-Za-z0-9_\x80-\xff]+)")
_IDENTIFIER = re.compile(rb"[A-Za-z0-9_\x80-\xff]+")
_LINE_END = re.compile(rb"\r\n|\r|\n")
_LINE_END_TEXT = re.compile(r"\r\n|\r|\n")


class FileText:
    """One file's text and the facts prefilters share, each computed at most once."""

    def __init__(self, source: str, path: str = "<string>", settings: Settings | None = None) -> None:
        self.source = source
        self.path = path
        self.settings = settings or Settings()
        self._tree: object = _UNSET
        self.syntax_error: BaseException | None = None
        self._functions: object = _UNSET
        self._memo: dict[str, object] = {}

    # -- CPython's ast ------------------------------------------------------------------------------------
    @property
    def tree(self) -> ast.Module | None:
        """The CPython ast, or None when CPython cannot parse the text (see `syntax_error`)."""
        if self._tree is _UNSET:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    self._tree = ast.parse(self.source, filename=self.path)
            except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
                self.syntax_error = exc
                self._tree = None
        return self._tree  # type: ignore[return-value]

    @property
    def parsed(self) -> bool:
        return self._tree is not _UNSET

    # -- functions ----------------------------------------------------------------------------------------
    @property
    def functions(self) -> list[FunctionFacts] | None:
        """Every function definition (at any depth), or None when that cannot be known."""
        if self._functions is _UNSET:
            self._functions = self._collect_functions()
        return self._functions  # type: ignore[return-value]

    def _collect_functions(self) -> list[FunctionFacts] | None:
        tree = self.tree
        if tree is None:
            return None
        defs: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, bool]] = []
        stack: list[tuple[ast.AST, bool]] = [(tree, False)]
        while stack:
            node, in_class = stack.pop()
            for child in ast.iter_child_nodes(node):
                # Functions live in statement bodies only (a lambda is not a FunctionDef for libcst either).
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    defs.append((child, isinstance(node, ast.ClassDef)))
                    stack.append((child, False))
                elif isinstance(child, (ast.stmt, ast.excepthandler, ast.match_case)):
                    stack.append((child, False))
        starts = [0] + [match.end() for match in _LINE_END_TEXT.finditer(self.source)] + [len(self.source)]

        def span(d: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[int, int]:
            first = min([d.lineno] + [decorator.lineno for decorator in d.decorator_list])
            last = d.end_lineno or len(starts) - 1
            return starts[first - 1], starts[min(last, len(starts) - 1)]

        if self.source.isascii():
            return [
                FunctionFacts(d.name, tuple(a.arg for a in (*d.args.posonlyargs, *d.args.args)), in_class, *span(d))
                for d, in_class in defs
            ]
        raw = self._raw_functions(defs)
        if raw is None:
            return None
        return [FunctionFacts(f.name, f.positional, f.in_class, *span(d)) for f, (d, _) in zip(raw, defs)]

    def _raw_functions(self, defs: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, bool]]) -> list[FunctionFacts] | None:
        """CPython normalises identifiers (NFKC); libcst keeps them as written. Read the written spelling."""
        data = self.source.encode("utf-8")
        starts = [0] + [match.end() for match in _LINE_END.finditer(data)]

        def offset(line: int, column: int) -> int:
            return starts[line - 1] + column

        out = []
        for node, in_class in defs:
            match = _DEF_NAME.match(data, offset(node.lineno, node.col_offset))
            if match is None:
                return None
            params = []
            for a in (*node.args.posonlyargs, *node.args.args):
                found = _IDENTIFIER.match(data, offset(a.lineno, a.col_offset))
                if found is None:
                    return None
                params.append(found.group().decode("utf-8", "replace"))
            out.append(FunctionFacts(match.group(1).decode("utf-8", "replace"), tuple(params), in_class))
        return out

    # -- sharing ----------------------------------------------------------------------------------------
    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """A fact computed once per file for every rule that asks (`key` names the fact)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]  # type: ignore[return-value]


def passes(prefilter: object, text: FileText) -> bool:
    """Whether `text` passes a rule's `prefilter` attribute (None, a compiled regex, or a predicate)."""
    if prefilter is None:
        return True
    if isinstance(prefilter, re.Pattern):
        return prefilter.search(text.source) is not None
    return bool(prefilter(text))  # type: ignore[operator]


def any_identifier(*names: str) -> re.Pattern[str]:
    """A prefilter regex: one of `names` as a whole identifier (not inside `logits` or `catalog`). Sound for
    every spelling of a name, since a call, a method, an import or an alias must all write it."""
    alternatives = "|".join(re.escape(name) for name in names)
    return re.compile(rf"(?<![A-Za-z0-9_\x80-\U0010ffff])(?:{alternatives})(?![A-Za-z0-9_\x80-\U0010ffff])")

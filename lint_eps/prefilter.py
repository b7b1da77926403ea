"""What a rule's sharper prefilter can ask about a file before anyone pays for a libcst parse.

The byte `triggers` of a rule are the first gate. A rule may add a `prefilter` (see `lint_eps.rule.Rule`): a
compiled regex that must match, or a predicate over a `FileText`. `FileText` offers the text, the settings and,
computed once per file and shared by every rule, CPython's own `ast` of it (C speed, about a tenth of libcst's
parse; the engine reuses it as the syntax check of files that end up not parsed by libcst) and the signatures of
every function in it with their names and parameters spelled exactly as in the source, as libcst spells them.

A prefilter must be sound: it returns False only when the rule provably cannot report on the file. When the
file has no CPython ast (a syntax error, nesting deeper than CPython accepts) nothing can be proved and
predicates should answer True; `functions` is then None.

The same facts serve the per-function gates (`Rule.needs_function`, `lint_eps/skeleton.py`): where names are
written (`word_positions`, `mentions`, with module-level aliases from `identifiers_reaching`), whether an
offset lies in a function or at module level, and statement-level walks of the ast.
"""

from __future__ import annotations

import ast
import bisect
import re
import unicodedata
import warnings
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, TypeVar

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
    nested: bool = False  # inside another function (then it is parsed, or stubbed, with the outermost one)
    owner: tuple[int, int] | None = None  # span of the class whose body holds it directly, if any
    body: int = -1  # offset of the line its body starts on; -1 when the body shares a line with the header


# From the start of a `def` statement to its name, across line continuations (byte offsets from CPython's ast).
_DEF_NAME = re.compile(rb"(?:async(?:[ \t\f]|\\\r?\n|\\\r)+)?def(?:[ \t\f]|\\\r?\n|\\\r)+([A-Za-z0-9_\x80-\xff]+)")
_IDENTIFIER = re.compile(rb"[A-Za-z0-9_\x80-\xff]+")
_LINE_END_BYTES = re.compile(rb"\r\n|\r|\n")
LINE_END = re.compile(r"\r\n|\r|\n")  # Python's line ends (not str.splitlines', which has more)
INDENT = re.compile(r"[ \t\f]*")
_NON_ASCII_WORD = re.compile(r"\w*[^\x00-\x7f]\w*")
_WORD_RUN = re.compile(r"\w+")


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
        # (def, in a class body, nested in a def, the class holding it directly)
        defs: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, bool, bool, ast.ClassDef | None]] = []
        # Functions live in statement bodies only (a lambda is not a FunctionDef for libcst either).
        stack: list[tuple[list[ast.stmt], ast.AST, bool]] = [(tree.body, tree, False)]
        function_types = (ast.FunctionDef, ast.AsyncFunctionDef)
        while stack:
            body, parent, in_def = stack.pop()
            for child in body:
                if isinstance(child, function_types):
                    owner = parent if isinstance(parent, ast.ClassDef) else None
                    defs.append((child, owner is not None, in_def, owner))
                    stack.append((child.body, child, True))
                    continue
                for field in _BODIES:
                    inner = getattr(child, field, None)
                    if inner:
                        stack.append((inner, child, in_def))
                for part in getattr(child, "handlers", None) or getattr(child, "cases", None) or ():
                    stack.append((part.body, part, in_def))
        defs.sort(key=lambda entry: (entry[0].lineno, entry[0].col_offset))
        source = self.source
        starts = line_starts(self)

        def span(d: ast.FunctionDef | ast.ClassDef) -> tuple[int, int]:
            first = min([d.lineno] + [decorator.lineno for decorator in d.decorator_list])
            last = d.end_lineno or len(starts) - 1
            return starts[first - 1], starts[min(last, len(starts) - 1)]

        def body(d: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
            first = d.body[0]
            line = min([first.lineno] + [decorator.lineno for decorator in getattr(first, "decorator_list", ())])
            offset = starts[line - 1]
            if line <= d.lineno:
                return -1
            if line != first.lineno:  # a decorated first statement: its line starts with the indentation and `@`
                indent = INDENT.match(source, offset)
                return offset if indent is not None and source.startswith("@", indent.end()) else -1
            # Stubbable only when the body starts a line of its own (indentation is ASCII, so bytes = characters).
            return offset if INDENT.fullmatch(source, offset, offset + first.col_offset) else -1

        extra = [(nested, span(owner) if owner is not None else None, body(d)) for d, _, nested, owner in defs]
        if source.isascii():
            return [
                FunctionFacts(d.name, tuple(a.arg for a in (*d.args.posonlyargs, *d.args.args)), in_class, *span(d), *more)
                for (d, in_class, _, _), more in zip(defs, extra)
            ]
        raw = self._raw_functions([(d, in_class) for d, in_class, _, _ in defs])
        if raw is None:
            return None
        return [FunctionFacts(f.name, f.positional, f.in_class, *span(d), *more) for f, (d, *_), more in zip(raw, defs, extra)]

    @property
    def outermost(self) -> list[FunctionFacts] | None:
        """The functions not nested in another function, in source order (their spans do not overlap)."""
        functions = self.functions
        if functions is None:
            return None
        return self.memo("outermost", lambda: [f for f in functions if not f.nested])

    def _raw_functions(self, defs: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, bool]]) -> list[FunctionFacts] | None:
        """CPython normalises identifiers (NFKC); libcst keeps them as written. Read the written spelling."""
        data = self.source.encode("utf-8")
        starts = [0] + [match.end() for match in _LINE_END_BYTES.finditer(data)]

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

    @property
    def renames_identifiers(self) -> bool:
        """Whether some word is spelled otherwise than its NFKC form, which is what CPython's ast holds (rules,
        like libcst, see names as written): facts taken from the ast may then miss a spelling."""
        source = self.source
        if source.isascii():
            return False
        return self.memo(
            "renames_identifiers",
            lambda: any(unicodedata.normalize("NFKC", w) != w for w in _NON_ASCII_WORD.findall(source)),
        )

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


# -- where in the file ------------------------------------------------------------------------------------
# What per-function gates (`Rule.needs_function`) ask: does this function's text, or the module-level text
# (everything outside the outermost functions), contain a match?
def positions(text: FileText, pattern: re.Pattern[str]) -> list[int]:
    """Start offsets of every match of `pattern` in the text, in order (computed once per file and pattern)."""
    return text.memo("positions:" + pattern.pattern, lambda: [match.start() for match in pattern.finditer(text.source)])


def within(offsets: list[int], start: int, end: int) -> bool:
    """Whether some offset lies in [start, end)."""
    i = bisect.bisect_left(offsets, start)
    return i < len(offsets) and offsets[i] < end


def at_module_level(text: FileText, offsets: list[int]) -> bool:
    """Whether some offset lies outside every outermost function (module code, class bodies, imports). Costs
    a bisection per offset: a gate asking per function memoises the answer per file."""
    outermost = text.outermost
    if outermost is None:
        return bool(offsets)
    return any(holding(text, offset) is None for offset in offsets)


def _outermost_starts(text: FileText) -> list[int]:
    return text.memo("outermost_starts", lambda: [f.start for f in text.outermost or ()])


def holding(text: FileText, offset: int) -> FunctionFacts | None:
    """The outermost function whose span holds `offset`, if any (a bisection)."""
    outermost = text.outermost or []
    i = bisect.bisect_right(_outermost_starts(text), offset) - 1
    return outermost[i] if i >= 0 and offset < outermost[i].end else None


def functions_starting_in(text: FileText, low: int, high: int) -> list[FunctionFacts]:
    """The outermost functions starting in [low, high): the methods of a class spanning it (a bisection)."""
    starts = _outermost_starts(text)
    return (text.outermost or [])[bisect.bisect_left(starts, low) : bisect.bisect_left(starts, high)]


def word_positions(text: FileText, names: "frozenset[str] | set[str] | tuple[str, ...]") -> list[int]:
    """Where any of `names` is written as a whole word (not inside a longer `\\w+` run: `\\w` next to an
    identifier in code is as strict as Python's identifier characters, so every written occurrence counts), in
    order. `str.find` per name runs at C speed; a regex alternation would try every position."""
    found = [offsets for offsets in (_name_positions(text, name) for name in names) if offsets]
    if len(found) == 1:
        return found[0]
    return sorted(offset for offsets in found for offset in offsets)


def _name_positions(text: FileText, name: str) -> list[int]:
    return text.memo("word:" + name, lambda: list(_whole_words(text.source, name)))


def has_word(source: str, names: "Iterable[str]") -> bool:
    """Whether one of `names` is written as a whole word anywhere in `source` (stops at the first)."""
    return any(next(_whole_words(source, name), None) is not None for name in names)


def _whole_words(source: str, name: str) -> Iterator[int]:
    """Where `name` starts as a whole word (no word character on either side), by `str.find` at C speed."""
    at = source.find(name)
    while at >= 0:
        end = at + len(name)
        if (at == 0 or not _is_word(source[at - 1])) and (end == len(source) or not _is_word(source[end])):
            yield at
        at = source.find(name, end)


def writes_identifier(*names: str) -> Callable[[FileText], bool]:
    """A prefilter: one of `names` as a whole identifier (not inside `logits` or `catalog`). Sound for every
    spelling of a name, since a call, a method, an import or an alias must all write it."""
    return lambda text: has_word(text.source, names)


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def identifiers_reaching(text: FileText, *names: str) -> frozenset[str]:
    """`names` and every name the module binds to them (`from numpy import log as ln`, `ln = np.log`, and
    aliases of those): a function can only use one of `names` by writing one of these."""

    def compute() -> frozenset[str]:
        wanted = set(names)
        tree = text.tree
        if tree is not None and any(name in text.source for name in names):
            _bound_to(text, list(_module_bindings(tree.body)), wanted)
        return frozenset(wanted)

    return text.memo("identifiers_reaching:" + ",".join(names), compute)


def _bound_to(text: FileText, statements: list[ast.stmt], names: set[str]) -> None:
    """Add to `names`, until nothing changes, the names each of `statements` binds when it writes one of them."""
    grew = True
    while grew:
        grew = False
        for statement in statements:
            bound = _bound_names(text, statement)
            if not bound <= names and not names.isdisjoint(_WORD_RUN.findall(_segment(text, statement))):
                names |= bound
                grew = True


def module_names_bound_at(text: FileText, offsets: list[int], key: str) -> frozenset[str]:
    """The names module-level assignments bind to a value that holds one of `offsets` (sorted), and the names
    bound to expressions that write those: how a value written at module level reaches a function, by name.
    Memoised per file under `key`."""

    def compute() -> frozenset[str]:
        tree = text.tree
        if tree is None or not offsets:
            return frozenset()
        assignments = module_assignments(text)
        names: set[str] = set()
        for statement in assignments:
            if within(offsets, *statement_span(text, statement)):
                names |= _bound_names(text, statement)
        if names:
            _bound_to(text, assignments, names)
        return frozenset(names)

    return text.memo("module_names_bound_at:" + key, compute)


def statement_span(text: FileText, statement: ast.stmt) -> tuple[int, int]:
    """The offsets of the start of a statement's first line and of the line after its last (the end of the text
    for the last statement)."""
    starts = line_starts(text)
    last = statement.end_lineno or statement.lineno
    return starts[statement.lineno - 1], starts[last] if last < len(starts) else len(text.source)


def module_assignments(text: FileText) -> list[ast.stmt]:
    """The module-level assignments (`Assign`, `AnnAssign`; inside if/try/with blocks too), in order."""
    tree = text.tree
    if tree is None:
        return []
    return text.memo("module_assignments", lambda: [s for s in _module_bindings(tree.body) if isinstance(s, (ast.Assign, ast.AnnAssign))])


def _module_bindings(body: list[ast.stmt]):  # type: ignore[no-untyped-def]
    """Module-level imports and assignments, inside if/try/with blocks too (as ImportMap and Scope see them)."""
    for statement in body:
        if isinstance(statement, (ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign, ast.AugAssign)):
            yield statement
        elif isinstance(statement, (ast.If, ast.Try, ast.With, ast.AsyncWith, getattr(ast, "TryStar", ast.Try))):
            for field in ("body", "orelse", "finalbody"):
                yield from _module_bindings(getattr(statement, field, []))
            for handler in getattr(statement, "handlers", []):
                yield from _module_bindings(handler.body)


def _segment(text: FileText, statement: ast.stmt) -> str:
    lines = text.memo("lines", lambda: LINE_END.split(text.source))
    return "\n".join(lines[statement.lineno - 1 : (statement.end_lineno or statement.lineno)])


def _bound_names(text: FileText, statement: ast.stmt) -> set[str]:
    segment = _segment(text, statement)
    if not segment.isascii():
        # CPython's ast normalises identifiers (NFKC); the code uses them as written: take every word.
        return set(WORD.findall(segment))
    out: set[str] = set()
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        for alias in statement.names:
            out.add(alias.asname or alias.name.split(".")[0])
        return out
    targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]  # type: ignore[attr-defined]
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                out.add(node.id)
    return out


# A character that can be part of an identifier, as the scanners here count them: ASCII letters, digits and `_`,
# and every non-ASCII character. Written as "not an ASCII non-identifier character": the same set as
# `[A-Za-z0-9_\x80-\U0010ffff]`, but that class takes 1.8 ms to compile (its range up to U+10FFFF), every run.
IDENTIFIER_CHARACTER = r"[^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]"
WORD = re.compile(IDENTIFIER_CHARACTER + "+")


def mentions(text: FileText, function: FunctionFacts, *names: str) -> bool:
    """Per-function gate: the function writes one of `names`, or a module-level alias of one, as an identifier."""
    reaching = identifiers_reaching(text, *names)
    offsets = text.memo("mentions:" + ",".join(names), lambda: word_positions(text, reaching))
    return within(offsets, function.start, function.end)


# -- CPython's ast, cheaply -------------------------------------------------------------------------------
# Walking every expression node of a large file costs more than a gate saves; statements are ~10x fewer. Gates
# walk all statements, and the expressions of only those statements whose lines hold a candidate.
_BODIES = ("body", "orelse", "finalbody")


def statements(text: FileText) -> list[ast.stmt]:
    """Every statement of the file at any depth (in functions and classes too); [] without an ast."""

    def compute() -> list[ast.stmt]:
        out: list[ast.stmt] = []
        tree = text.tree
        stack: list[list[ast.stmt]] = [tree.body] if tree is not None else []
        while stack:
            for statement in stack.pop():
                out.append(statement)
                for field in _BODIES:
                    body = getattr(statement, field, None)
                    if body:
                        stack.append(body)
                for part in getattr(statement, "handlers", ()) or getattr(statement, "cases", ()):
                    stack.append(part.body)
        return out

    return text.memo("statements", compute)


def expressions(statement: ast.stmt) -> list[ast.AST]:
    """The nodes of a statement's own expressions (a compound statement's header, not its body)."""
    out: list[ast.AST] = []
    stack: list[ast.AST] = [statement]
    while stack:
        node = stack.pop()
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST) and not isinstance(item, ast.stmt):
                        out.append(item)
                        stack.append(item)
            elif isinstance(value, ast.AST) and not isinstance(value, ast.stmt):
                out.append(value)
                stack.append(value)
    return out


def line_starts(text: FileText) -> list[int]:
    """The offset where each line starts (index 0 is line 1), then the length of the text."""
    return text.memo("line_starts", lambda: [0] + [m.end() for m in LINE_END.finditer(text.source)] + [len(text.source)])


def statements_covering(text: FileText, offsets: list[int]) -> list[ast.stmt]:
    """The statements whose lines hold one of `offsets`."""
    if not offsets:
        return []
    starts = line_starts(text)
    return [s for s in statements(text) if within(offsets, starts[s.lineno - 1], starts[min(s.end_lineno or s.lineno, len(starts) - 1)])]

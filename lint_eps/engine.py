"""Lint one source text: prefilter, stub out the functions no rule needs (`skeleton`), parse once, walk once
with every selected rule, then place and filter.

This is the single entry point used by the CLI, the verifier and the language server (`lint_source`).
"""

from __future__ import annotations

import ast

import re
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable, Iterator

from lint_eps.lazy import libcst as cst

from .context import FileContext
from .deepstack import run_with_deep_stack
from .diagnostic import Diagnostic, Edit, Fix, Location
from .noqa import parse_noqa, unused_noqa
from .prefilter import FileText, passes
from .registry import all_rules, selected_codes, test_ignored_codes
from .rule import Report, Rule
from .settings import Settings
from .skeleton import needed_functions, skeleton
from .source import LineIndex
from .testcode import find_test_functions
from .walk import iter_nodes, token_type_names, walk_callbacks

SYNTAX_ERROR = "EPS001"
INTERNAL_ERROR = "EPS002"
UNUSED_NOQA = "EPS004"


@dataclass(frozen=True)
class _InternalError:
    code: str
    name: str
    error: str


@lru_cache(maxsize=None)
def _handler_names(rule_class: type) -> tuple[str, ...]:
    return tuple(attr for attr in dir(rule_class) if attr.startswith(("visit_", "leave_")))


class _Dispatcher:
    """One traversal calling every rule's visit_/leave_ methods, maintaining scopes for the context."""

    def __init__(self, context: FileContext, rules: list[Rule]) -> None:
        self.context = context
        self.rules = rules
        self.visits: dict[str, list[tuple[Rule, Callable[[cst.CSTNode], object]]]] = {}
        self.leaves: dict[str, list[tuple[Rule, Callable[[cst.CSTNode], object]]]] = {}
        self.errors: list[_InternalError] = []
        self.broken: set[int] = set()
        for rule in rules:
            for attr in _handler_names(type(rule)):
                if attr.startswith("visit_"):
                    self.visits.setdefault(attr[6:], []).append((rule, getattr(rule, attr)))
                else:
                    self.leaves.setdefault(attr[6:], []).append((rule, getattr(rule, attr)))

    def _call(self, handlers: list[tuple[Rule, Callable[[cst.CSTNode], object]]], node: cst.CSTNode) -> None:
        for rule, handler in handlers:
            if id(rule) in self.broken:
                continue
            try:
                handler(node)
            except RecursionError:
                raise
            except Exception as exc:  # a bug in one rule must not stop the others or the run
                self.broken.add(id(rule))
                where = traceback.extract_tb(exc.__traceback__)[-1]
                self.errors.append(
                    _InternalError(
                        rule.code,
                        rule.name,
                        f"{type(exc).__name__}: {exc} (at {where.filename.rsplit('/', 1)[-1]}:{where.lineno})",
                    )
                )

    def on_visit(self, node: cst.CSTNode) -> bool:
        name = type(node).__name__
        context = self.context
        if name in ("FunctionDef", "Lambda"):
            context.enter_function(node)  # type: ignore[arg-type]
        elif name == "ClassDef":
            context.enter_class(node)  # type: ignore[arg-type]
        elif name == "SimpleStatementLine" and len(context.scopes) > 1:
            context.imports.add_statement(node)
        handlers = self.visits.get(name)
        if handlers:
            self._call(handlers, node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        name = type(original_node).__name__
        handlers = self.leaves.get(name)
        if handlers:
            self._call(handlers, original_node)
        if name in ("FunctionDef", "Lambda"):
            self.context.leave_function()
        elif name == "ClassDef":
            self.context.leave_class()


def rules_for(codes: Iterable[str]) -> list[type[Rule]]:
    catalogue = all_rules()
    return [catalogue[c] for c in sorted(codes) if c in catalogue and not catalogue[c].engine_only]


def triggered(rule_classes: list[type[Rule]], source: str | FileText, settings: Settings | None = None) -> list[type[Rule]]:
    """Rules that can report on this text: one of their trigger strings occurs and their `prefilter` (if any)
    passes. The prefilter that spares most parses; a file no rule survives is never parsed by libcst."""
    text = source if isinstance(source, FileText) else FileText(source, settings=settings)
    raw = text.source
    out = []
    for rule in rule_classes:
        if rule.triggers and not any(t.decode() in raw for t in rule.triggers):
            continue
        if rule.prefilter is not None and not passes(rule.prefilter, text):
            continue
        out.append(rule)
    return out


def _syntax_diagnostic(path: str, message: str, row: int, column: int) -> Diagnostic:
    loc = Location(max(row, 1), max(column, 1))
    return Diagnostic(SYNTAX_ERROR, message, path, loc, loc, None, loc.row, "invalid-syntax")


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else "invalid syntax"


def check_syntax_fast(source: str | FileText, path: str) -> Diagnostic | None:
    """A C-speed syntax check for files the prefilter spares from libcst (reusing the prefilter's ast)."""
    text = source if isinstance(source, FileText) else FileText(source, path)
    if text.tree is not None:
        return None
    exc = text.syntax_error
    if isinstance(exc, SyntaxError):
        return _syntax_diagnostic(path, f"invalid syntax: {exc.msg}", exc.lineno or 1, exc.offset or 1)
    return _syntax_diagnostic(path, f"invalid syntax: {exc}", 1, 1)


@contextmanager
def _unvalidated() -> Iterator[None]:
    """libcst without node validation, for parsing text CPython's parser has accepted.

    Every libcst node checks its own fields when it is built (`CSTNode.__post_init__` calls `_validate`), which is
    what catches a malformed tree built by hand (a fix). A tree the parser built from text CPython accepts is valid
    by construction, and those checks are 15 % of libcst's parse time (libcst's own note in `__post_init__`: "It
    might make more sense to move validation work into the visitor, which would allow us to avoid validating the
    tree when parsing a file"). The switch is per class: lint-eps builds nodes only on the thread that lints, and
    builds fixes after the parse. No lock (a lock held across a parse that the time budget abandons would be
    inherited, held, by forked workers): the original method is restored on the way out, whatever another
    thread did meanwhile, and a parse that overlaps another only validates again."""
    global _VALIDATE
    base = cst.CSTNode
    if _VALIDATE is None and base.__dict__["__post_init__"] is not _no_validation:
        _VALIDATE = base.__dict__["__post_init__"]  # libcst's own, read before any parse replaced it
    base.__post_init__ = _no_validation  # type: ignore[method-assign]
    try:
        yield
    finally:
        base.__post_init__ = _VALIDATE  # type: ignore[method-assign]


_VALIDATE: Callable[[object], None] | None = None


def _no_validation(node: object) -> None:
    return None


def parse(source: str, path: str, *, accepted_by_cpython: bool = False) -> cst.Module | Diagnostic:
    try:
        if accepted_by_cpython:
            with _unvalidated():
                return cst.parse_module(source)
        return cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        # CPython's own parser words errors better ("'(' was never closed"); libcst's is the fallback for
        # code CPython accepts but libcst does not.
        cpython = check_syntax_fast(source, path)
        if cpython is not None:
            return cpython
        where = re.search(r"error at (\d+):(\d+): (.*)", exc.message)
        if where:
            return _syntax_diagnostic(path, f"invalid syntax: {where.group(3)}", int(where.group(1)), int(where.group(2)) + 1)
        return _syntax_diagnostic(path, f"invalid syntax: {_first_line(exc.message)}", exc.raw_line, exc.raw_column + 1)
    except RecursionError:
        return _syntax_diagnostic(path, "invalid syntax: expression nested too deeply to parse", 1, 1)
    except Exception as exc:  # libcst's native parser raises plain exceptions on some inputs
        return _syntax_diagnostic(path, f"invalid syntax: {_first_line(str(exc))}", 1, 1)


def lint_source(
    source: str,
    path: str = "<string>",
    settings: Settings | None = None,
    *,
    codes: frozenset[str] | None = None,
    prefilter: bool = True,
) -> list[Diagnostic]:
    """All findings for one file's text, noqa-filtered and sorted."""
    return run_with_deep_stack(_lint_source, source, path, settings, codes=codes, prefilter=prefilter)


def _lint_source(
    source: str,
    path: str = "<string>",
    settings: Settings | None = None,
    *,
    codes: frozenset[str] | None = None,
    prefilter: bool = True,
) -> list[Diagnostic]:
    settings = settings or Settings()
    if codes is None:
        codes = selected_codes(settings, path)
    rule_classes = rules_for(codes)
    text = FileText(source, path, settings)
    parsed_source = source
    gate_failure: str | None = None
    accepted = False  # by CPython's parser: libcst need not validate what it builds (`_unvalidated`)
    if prefilter:
        try:
            rule_classes = triggered(rule_classes, text)
            if not rule_classes:
                error = check_syntax_fast(text, path) if SYNTAX_ERROR in codes else None
                return [error] if error else _apply_noqa([], source, path, codes)
            needed = needed_functions(text, (rule.needs_function for rule in rule_classes))
            if needed is not None:
                parsed_source = skeleton(text, needed)
            accepted = text.parsed and text.tree is not None
        except Exception as exc:  # a bug in a prefilter or gate: lint the whole file with every rule instead
            rule_classes, parsed_source, accepted = rules_for(codes), source, False
            gate_failure = f"{type(exc).__name__}: {exc}"
    # The prefilter's CPython ast is kept for the module's own summary (rules/analysis/summaries.py), which would
    # parse it again; the gates' other facts go: memory the libcst tree needs more (~80 bytes per byte of source).
    full_tree = text.tree if text.parsed else None
    del text
    module = parse(parsed_source, path, accepted_by_cpython=accepted)
    if isinstance(module, Diagnostic) and parsed_source is not source:
        parsed_source = source  # a stub libcst rejects: parse the file as written (and report what it says)
        module = parse(source, path)
    if isinstance(module, Diagnostic):
        return [module] if SYNTAX_ERROR in codes else []
    found = _run_rules(module, parsed_source, path, settings, rule_classes, codes, full_source=source, full_tree=full_tree)
    if gate_failure is not None and INTERNAL_ERROR in codes:
        loc = Location(1, 1)
        note = f"internal error in a rule's prefilter ({gate_failure}); the file was linted whole, so no finding is lost"
        found.append(Diagnostic(INTERNAL_ERROR, note, path, loc, loc, None, 1, "internal-error"))
    return _apply_noqa(found, source, path, codes)


def _run_rules(
    module: cst.Module,
    source: str,
    path: str,
    settings: Settings,
    rule_classes: list[type[Rule]],
    codes: frozenset[str],
    full_source: str | None = None,
    full_tree: "ast.Module | None" = None,
) -> list[Diagnostic]:
    context = FileContext(path, source, module, settings, full_source)
    context.full_tree = full_tree
    rules = [cls(context) for cls in rule_classes]
    dispatcher = _Dispatcher(context, rules)
    try:
        # Read-only walk in libcst's order; token subtrees only when some rule handles a token type.
        tokens = any(name in token_type_names() for name in (*dispatcher.visits, *dispatcher.leaves))
        walk_callbacks(module, dispatcher.on_visit, dispatcher.on_leave, tokens=tokens)
    except RecursionError:
        dispatcher.errors.append(_InternalError(INTERNAL_ERROR, "internal-error", "expression nested too deeply to analyse"))

    reports = _outside_test_functions(module, settings, [report for rule in rules for report in rule.reports])
    diagnostics: list[Diagnostic] = []
    for error in dispatcher.errors:
        if INTERNAL_ERROR in codes:
            loc = Location(1, 1)
            diagnostics.append(
                Diagnostic(
                    INTERNAL_ERROR,
                    f"internal error in rule {error.code} ({error.name}): {error.error}; other rules still ran",
                    path,
                    loc,
                    loc,
                    None,
                    1,
                    "internal-error",
                )
            )
    if reports:
        diagnostics.extend(_place(module, path, _drop_superseded(reports)))
    # The analyses the rules share (context.shared) hold the context, which holds them: a reference cycle that
    # would keep the file's trees alive until the cyclic garbage collector runs. Emptied, the file's memory is
    # freed as soon as it is done, and the collector (`lint_eps.collector`) has next to nothing to find.
    context.shared.clear()
    return diagnostics


def _outside_test_functions(module: cst.Module, settings: Settings, reports: list[Report]) -> list[Report]:
    """Drop the `test-ignores` codes reported inside a `def test_*` (a test in a library module)."""
    if not reports or not settings.test_ignores:
        return reports
    ignored = test_ignored_codes(settings)
    if not any(report.code in ignored for report in reports):
        return reports
    inside: set[int] = set()
    for function in find_test_functions(module):
        inside |= _subtree_ids(function)
    if not inside:
        return reports
    return [report for report in reports if report.code not in ignored or id(report.node) not in inside]


def _drop_superseded(reports: list[Report]) -> list[Report]:
    """One mistake, one finding: a report is dropped when a rule that supersedes its code blamed code that
    overlaps it (the same node, a node inside it, or a node around it)."""
    catalogue = all_rules()
    winners = [r for r in reports if catalogue.get(r.code) is not None and catalogue[r.code].supersedes]
    if not winners:
        return reports
    # Per superseding code: the ids of its winners' nodes, and of every node inside them (one set each, so a
    # report costs one walk of its own subtree, not one comparison per winner).
    blamed: dict[str, set[int]] = {}
    inside: dict[str, set[int]] = {}
    for winner in winners:
        blamed.setdefault(winner.code, set()).add(id(winner.node))
        inside.setdefault(winner.code, set()).update(_subtree_ids(winner.node))
    kept = []
    for report in reports:
        rivals = [code for code in blamed if report.code in catalogue[code].supersedes]
        if rivals:
            if any(id(report.node) in inside[code] for code in rivals):
                continue
            own_subtree = _subtree_ids(report.node)
            if any(not own_subtree.isdisjoint(blamed[code]) for code in rivals):
                continue
        kept.append(report)
    return kept


def _subtree_ids(node: cst.CSTNode) -> set[int]:
    return {id(current) for current in iter_nodes(node, tokens=True)}


def _place(module: cst.Module, path: str, reports: list[Report]) -> list[Diagnostic]:
    """Findings with their places. Only files with findings pay for positions (one code generation of the
    module, `lint_eps.positions`; `MetadataWrapper.resolve` would also walk and rebuild the whole tree)."""
    from .positions import positions as compute_positions

    positions = compute_positions(module)
    out = []
    for report in reports:
        line, column, end_line, end_column = positions[report.node]
        start = Location(line, column + 1)
        end = Location(end_line, end_column + 1)
        fix = None
        if report.fix is not None:
            edits = []
            for replacement in report.fix.replacements:
                rline, rcolumn, rend_line, rend_column = positions[replacement.node]
                content = replacement.new if isinstance(replacement.new, str) else module.code_for_node(replacement.new)
                edits.append(
                    Edit(
                        content,
                        Location(rline, rcolumn + 1),
                        Location(rend_line, rend_column + 1),
                    )
                )
            fix = Fix(report.fix.applicability, report.fix.message, tuple(sorted(edits, key=lambda e: e.location)))
        related = tuple(
            (message, Location(positions[node][0], positions[node][1] + 1))
            for message, node in report.related
            if node in positions
        )
        out.append(Diagnostic(report.code, report.message, path, start, end, fix, start.row, report.rule_name, related, report.details))
    return out


def _apply_noqa(diagnostics: list[Diagnostic], source: str, path: str, codes: frozenset[str]) -> list[Diagnostic]:
    """Drop suppressed findings; with EPS004 selected, report the noqa codes that suppressed nothing."""
    check_unused = UNUSED_NOQA in codes
    if not diagnostics and not check_unused:
        return diagnostics
    lines = LineIndex(source).lines() if "noqa" in source.lower() else []
    noqa = parse_noqa(lines) if lines else {}
    kept = []
    for diagnostic in diagnostics:
        suppression = noqa.get(diagnostic.noqa_row or diagnostic.location.row)
        if suppression is not None and suppression.suppresses(diagnostic.code):
            continue
        kept.append(diagnostic)
    if check_unused and noqa:
        kept.extend(unused_noqa(noqa, diagnostics, lines, path, codes, frozenset(all_rules())))
    kept.sort(key=Diagnostic.sort_key)
    return kept

"""Apply fixes to source text until none applies.

Fixes are text edits computed from node positions. Overlapping fixes are applied in successive rounds (the
file is re-linted between rounds) and the result must parse; only then is the file written (by `writeback`,
atomically), so a crash or a bad fix never leaves a half-written file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lint_eps.lazy import libcst as cst

from .diagnostic import Diagnostic, Edit, Fix
from .deepstack import run_with_deep_stack
from .engine import lint_source
from .settings import Settings
from .source import LineIndex, dominant_newline

MAX_ROUNDS = 10


@dataclass
class FixOutcome:
    text: str
    applied: int = 0
    remaining: list[Diagnostic] = field(default_factory=list)
    error: str | None = None  # set when fixing was abandoned; `text` is then the original

    def changed(self, original: str) -> bool:
        return self.error is None and self.text != original


def applicable(fix: Fix | None, unsafe: bool) -> bool:
    return fix is not None and (fix.applicability == "safe" or unsafe)


def apply_edits(text: str, edits: list[Edit]) -> str:
    index = LineIndex(text)
    newline = dominant_newline(text)
    pieces = []
    cursor = 0
    for edit in sorted(edits, key=lambda e: (e.location, e.end_location)):
        start = index.offset(edit.location.row, edit.location.column)
        end = index.offset(edit.end_location.row, edit.end_location.column)
        if start < cursor:
            raise ValueError("overlapping edits")
        pieces.append(text[cursor:start])
        content = edit.content
        if newline != "\n":
            content = content.replace("\r\n", "\n").replace("\n", newline)
        pieces.append(content)
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def _non_overlapping(diagnostics: list[Diagnostic], unsafe: bool) -> list[Fix]:
    chosen: list[Fix] = []
    taken: list[tuple[tuple[int, int], tuple[int, int]]] = []
    for diagnostic in sorted(diagnostics, key=Diagnostic.sort_key):
        fix = diagnostic.fix
        if not applicable(fix, unsafe):
            continue
        assert fix is not None
        spans = [((e.location.row, e.location.column), (e.end_location.row, e.end_location.column)) for e in fix.edits]
        if any(a[0] < b[1] and b[0] < a[1] or a == b for a in spans for b in taken):
            continue
        chosen.append(fix)
        taken.extend(spans)
    return chosen


def fix_source(
    source: str,
    path: str,
    settings: Settings | None = None,
    *,
    unsafe: bool = False,
    codes: frozenset[str] | None = None,
) -> FixOutcome:
    """Fix `source` to a fixed point. On a fix that breaks the file, return the original text and an error."""
    text = source
    applied = 0
    diagnostics = lint_source(text, path, settings, codes=codes)
    for _ in range(MAX_ROUNDS):
        fixes = _non_overlapping(diagnostics, unsafe)
        if not fixes:
            break
        candidate = apply_edits(text, [edit for fix in fixes for edit in fix.edits])
        try:
            run_with_deep_stack(cst.parse_module, candidate)
        except Exception as exc:  # any parse failure means the fix is wrong: keep the file as it was
            return FixOutcome(source, 0, lint_source(source, path, settings, codes=codes), f"fix would produce invalid code ({type(exc).__name__}); file left unchanged")
        if candidate == text:
            break
        text = candidate
        applied += len(fixes)
        diagnostics = lint_source(text, path, settings, codes=codes)
    return FixOutcome(text, applied, diagnostics)

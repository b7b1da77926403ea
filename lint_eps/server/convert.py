"""Between the engine's world and LSP's: positions, diagnostics and text edits.

The engine counts rows from 1 and columns from 1 in Python characters (code points). LSP counts lines from 0
and characters in the code units of the negotiated position encoding: UTF-16 unless the client offered
UTF-8 or UTF-32 (`general.positionEncodings`). A character outside the Basic Multilingual Plane (an emoji in a
comment) is one Python character but two UTF-16 code units and four UTF-8 bytes, so a plain `column - 1` puts
every finding after it in the wrong place. Lines are split on `\\r\\n`, `\\r` and `\\n`, as both LSP and the
engine's `LineIndex` do.
"""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import Sequence

from lsprotocol import types

from ..diagnostic import Diagnostic, Edit
from ..diagnostic import severity as severity_word
from ..source import LineIndex

SOURCE = "lint-eps"


def _units(text: str, encoding: str) -> int:
    """Length of `text` in the code units of `encoding` ("utf-16", "utf-8" or "utf-32")."""
    if encoding == "utf-32":
        return len(text)
    if encoding == "utf-8":
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _chars_for_units(line: str, units: int, encoding: str) -> int:
    """How many characters of `line` the first `units` code units cover (a unit count that falls inside a
    character, which a well-behaved client never sends, rounds up to the character's end)."""
    if encoding == "utf-32":
        return min(units, len(line))
    count = 0
    for index, ch in enumerate(line):
        if count >= units:
            return index
        count += _units(ch, encoding)
    return len(line)


class PositionMapper:
    """Converts between engine (row, column) / string offsets and LSP positions for one text."""

    def __init__(self, text: str, encoding: str = "utf-16") -> None:
        self.text = text
        self.encoding = str(encoding or "utf-16").lower()
        self.index = LineIndex(text)
        self.lines = self.index.lines()

    # -- engine -> LSP ------------------------------------------------------------------------------------
    def position(self, row: int, column: int) -> types.Position:
        """An engine location (1-based row, 1-based character column) as an LSP position."""
        line = min(max(row, 1), len(self.lines)) - 1
        text = self.lines[line]
        chars = min(max(column - 1, 0), len(text))
        return types.Position(line=line, character=_units(text[:chars], self.encoding))

    def range(self, start: tuple[int, int], end: tuple[int, int]) -> types.Range:
        return types.Range(start=self.position(*start), end=self.position(*end))

    def offset_position(self, offset: int) -> types.Position:
        row, column = self.index.position(offset)
        return self.position(row, column)

    # -- LSP -> engine ------------------------------------------------------------------------------------
    def location(self, position: types.Position) -> tuple[int, int]:
        """An LSP position as an engine (row, column); positions past a line's end clamp to it."""
        if position.line >= len(self.lines):
            last = len(self.lines) - 1
            return last + 1, len(self.lines[last]) + 1
        text = self.lines[position.line]
        return position.line + 1, _chars_for_units(text, position.character, self.encoding) + 1

    def offset(self, position: types.Position) -> int:
        return self.index.offset(*self.location(position))


def diagnostic_range(diagnostic: Diagnostic, mapper: PositionMapper) -> types.Range:
    start = (diagnostic.location.row, diagnostic.location.column)
    end = (diagnostic.end_location.row, diagnostic.end_location.column)
    return mapper.range(start, max(start, end))


def severity(code: str) -> types.DiagnosticSeverity:
    """The CLI's severity (`lint_eps.diagnostic.severity`) in LSP's terms: findings are warnings, files that could
    not be checked are errors."""
    return types.DiagnosticSeverity.Error if severity_word(code) == "error" else types.DiagnosticSeverity.Warning


def to_lsp_diagnostic(
    diagnostic: Diagnostic,
    mapper: PositionMapper,
    uri: str,
    *,
    related_information: bool = True,
) -> types.Diagnostic:
    """One engine finding as an LSP diagnostic: code, message, severity, range, docs link, source."""
    url = diagnostic.url if diagnostic.severity == "warning" else None  # an error is not a rule with a page
    related = None
    if related_information and diagnostic.related:
        related = [
            types.DiagnosticRelatedInformation(
                location=types.Location(uri=uri, range=mapper.range((loc.row, loc.column), (loc.row, loc.column))),
                message=note,
            )
            for note, loc in diagnostic.related
        ]
    return types.Diagnostic(
        range=diagnostic_range(diagnostic, mapper),
        message=diagnostic.message,
        severity=severity(diagnostic.code),
        code=diagnostic.code,
        code_description=types.CodeDescription(href=url) if url else None,
        source=SOURCE,
        related_information=related,
    )


def text_edit(edit: Edit, mapper: PositionMapper) -> types.TextEdit:
    return types.TextEdit(
        range=mapper.range((edit.location.row, edit.location.column), (edit.end_location.row, edit.end_location.column)),
        new_text=edit.content,
    )


def diff_edits(old: str, new: str, mapper: PositionMapper) -> list[types.TextEdit]:
    """The edits that turn `old` (the text `mapper` was built on) into `new`: one per changed region, trimmed to
    the characters that actually differ, never a whole-document replacement."""
    if old == new:
        return []
    a = old.splitlines(keepends=True)
    b = new.splitlines(keepends=True)
    starts = [0]
    for piece in a:
        starts.append(starts[-1] + len(piece))
    edits: list[types.TextEdit] = []
    hunks: list[tuple[int, int, int, int]] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if tag == "replace" and i2 - i1 == j2 - j1:
            # Line for line (what fixes usually do): one edit per changed line.
            hunks.extend((i, i + 1, j, j + 1) for i, j in zip(range(i1, i2), range(j1, j2)))
        else:
            hunks.append((i1, i2, j1, j2))
    for i1, i2, j1, j2 in hunks:
        start, end = starts[i1], starts[i2]
        old_chunk = old[start:end]
        new_chunk = "".join(b[j1:j2])
        limit = min(len(old_chunk), len(new_chunk))
        prefix = 0
        while prefix < limit and old_chunk[prefix] == new_chunk[prefix]:
            prefix += 1
        suffix = 0
        while suffix < limit - prefix and old_chunk[-1 - suffix] == new_chunk[-1 - suffix]:
            suffix += 1
        # LSP cannot address the point between the two characters of a CRLF: widen the edit over the CR (which
        # is in the common prefix) or the LF (in the common suffix).
        if prefix and old_chunk[prefix - 1] == "\r" and start + prefix < len(old) and old[start + prefix] == "\n":
            prefix -= 1
        if suffix and old_chunk[len(old_chunk) - suffix - 1 : len(old_chunk) - suffix + 1] == "\r\n":
            suffix -= 1
        edit_start, edit_end = start + prefix, end - suffix
        edits.append(
            types.TextEdit(
                range=types.Range(start=mapper.offset_position(edit_start), end=mapper.offset_position(edit_end)),
                new_text=new_chunk[prefix : len(new_chunk) - suffix],
            )
        )
    return edits


def apply_text_edits(text: str, edits: Sequence[types.TextEdit], encoding: str = "utf-16") -> str:
    """Apply non-overlapping LSP text edits to `text` (used to check code actions before offering them)."""
    mapper = PositionMapper(text, encoding)
    spans = sorted(((mapper.offset(e.range.start), mapper.offset(e.range.end), e.new_text) for e in edits), key=lambda s: (s[0], s[1]))
    out = []
    cursor = 0
    for start, end, new_text in spans:
        if start < cursor:
            raise ValueError("overlapping edits")
        out.append(text[cursor:start])
        out.append(new_text)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def contains(range_: types.Range, position: types.Position) -> bool:
    start = (range_.start.line, range_.start.character)
    end = (range_.end.line, range_.end.character)
    here = (position.line, position.character)
    return start <= here <= end


def overlaps(a: types.Range, b: types.Range) -> bool:
    a_start, a_end = (a.start.line, a.start.character), (a.end.line, a.end.character)
    b_start, b_end = (b.start.line, b.start.character), (b.end.line, b.end.character)
    return a_start <= b_end and b_start <= a_end


__all__ = [
    "PositionMapper",
    "SOURCE",
    "apply_text_edits",
    "contains",
    "diagnostic_range",
    "diff_edits",
    "overlaps",
    "text_edit",
    "to_lsp_diagnostic",
]

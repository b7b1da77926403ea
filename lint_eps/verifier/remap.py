"""Where a finding's expression is in the fixed source (`verify --fixed`), so that the fixed run checks the same
expression as rewritten by its fix (`tp / pos` -> `tp / (pos + 1e-7)`), not the whole function.

The two texts are compared (lines, then characters inside changed lines); a span's start moves to the start of
any change it falls in or touches, and its end to the end, so that the mapped span covers the rewritten text.
"""

from __future__ import annotations

import bisect
import difflib

Span = tuple[int, int, int, int]  # row, column, end row, end column (1-based, end exclusive)


def _starts(text: str) -> list[int]:
    starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            starts.append(index + 1)
    return starts


def _offset(starts: list[int], row: int, column: int) -> int:
    return starts[min(row, len(starts)) - 1] + column - 1


def _position(starts: list[int], offset: int) -> tuple[int, int]:
    row = bisect.bisect_right(starts, offset)
    return row, offset - starts[row - 1] + 1


def _map(old: str, new: str, offset: int, side: str) -> int:
    """`offset` in `old` -> the matching offset in `new`; inside or next to a change, its start (side "start")
    or its end (side "end")."""
    codes = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    for index, (tag, i1, i2, j1, j2) in enumerate(codes):
        if side == "start" and (i1 <= offset < i2 or (i1 == i2 == offset)):
            if tag != "equal":
                return j1
            if offset == i1 and index and codes[index - 1][0] != "equal":
                return codes[index - 1][3]
            return j1 + offset - i1
        if side == "end" and (i1 < offset <= i2 or (i1 == i2 == offset)):
            if tag != "equal":
                return j2
            following = codes[index + 1] if index + 1 < len(codes) else None
            if offset == i2 and following is not None and following[0] != "equal" and following[1] == i2:
                return following[4]
            return j1 + offset - i1
    return len(new) if offset >= len(old) else 0


def map_span(old: str, new: str, span: Span) -> Span:
    """The span in `new` that holds what `span` covered in `old`, grown to the changes it touches."""
    old_starts, new_starts = _starts(old), _starts(new)
    start = _offset(old_starts, span[0], span[1])
    end = _offset(old_starts, span[2], span[3])
    # Compare only the lines that differ (plus the span's own lines), so long files stay cheap.
    lines = difflib.SequenceMatcher(None, old.splitlines(keepends=True), new.splitlines(keepends=True), autojunk=False)
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    for tag, i1, i2, j1, j2 in lines.get_opcodes():
        lo, hi = _offset(old_starts, i1 + 1, 1) if i1 < len(old_lines) else len(old), _offset(old_starts, i2 + 1, 1) if i2 < len(old_lines) else len(old)
        nlo = _offset(new_starts, j1 + 1, 1) if j1 < len(new_lines) else len(new)
        nhi = _offset(new_starts, j2 + 1, 1) if j2 < len(new_lines) else len(new)
        if not (lo <= start <= hi):
            continue
        if tag == "equal":
            if end <= hi:
                new_start, new_end = nlo + start - lo, nlo + end - lo
                return (*_position(new_starts, new_start), *_position(new_starts, new_end))
            continue
        if end <= hi:
            new_start = nlo + _map(old[lo:hi], new[nlo:nhi], start - lo, "start")
            new_end = nlo + _map(old[lo:hi], new[nlo:nhi], end - lo, "end")
            return (*_position(new_starts, new_start), *_position(new_starts, new_end))
    # A span across several blocks: compare the whole texts.
    new_start, new_end = _map(old, new, start, "start"), _map(old, new, end, "end")
    return (*_position(new_starts, new_start), *_position(new_starts, new_end))


def span_text(text: str, span: Span) -> str:
    """The text `span` covers (to tell whether a fix changed a finding's code)."""
    starts = _starts(text)
    return text[_offset(starts, span[0], span[1]) : _offset(starts, span[2], span[3])]

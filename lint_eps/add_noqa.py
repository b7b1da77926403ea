"""`lint-eps --add-noqa`: suppress every current finding where it is, so a team can adopt lint-eps on an old
codebase today and fix findings over time (ruff's `--add-noqa`). EPS004 later reports the codes that no longer
suppress anything.

Each finding's noqa row gets `  # noqa: CODE` appended, or its codes added to the `# noqa: ...` already there
(keeping the codes and their spelling); a bare `# noqa` already suppresses everything. Rows where a comment would
change the program are left alone and reported: a row that ends inside a multi-line string (the comment would
become part of the string) or with a backslash continuation. Running it twice changes nothing.
"""

from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass, field

from .diagnostic import Diagnostic
from .noqa import parse_noqa

# Engine diagnostics (syntax error, internal error, unreadable file) are about the file, not a line to suppress.
NOT_SUPPRESSIBLE = ("EPS001", "EPS002", "EPS003", "EPS005")


@dataclass
class NoqaEdit:
    text: str
    added: int = 0  # codes written
    skipped: list[int] = field(default_factory=list)  # rows where no comment can go


def add_noqa(text: str, diagnostics: list[Diagnostic]) -> NoqaEdit:
    """`text` with a `# noqa: CODE` for each diagnostic on its noqa row."""
    wanted: dict[int, list[str]] = {}
    for diagnostic in diagnostics:
        if diagnostic.code in NOT_SUPPRESSIBLE:
            continue
        codes = wanted.setdefault(diagnostic.noqa_row or diagnostic.location.row, [])
        if diagnostic.code not in codes:
            codes.append(diagnostic.code)
    if not wanted:
        return NoqaEdit(text)
    lines = text.splitlines(keepends=True)
    bare = [line.rstrip("\r\n") for line in lines]
    existing = parse_noqa(bare)
    unsafe = _rows_without_room_for_a_comment(text)
    result = NoqaEdit(text)
    for row, codes in sorted(wanted.items()):
        if row < 1 or row > len(lines):
            continue
        directive = existing.get(row)
        if directive is not None and directive.codes is None:
            continue  # a bare `# noqa` suppresses everything already
        missing = [c for c in sorted(codes) if directive is None or c not in directive.codes]
        if not missing:
            continue
        if row in unsafe:
            result.skipped.append(row)
            continue
        line = bare[row - 1]
        ending = lines[row - 1][len(line) :]
        if directive is not None:
            insert_at = directive.end_column - 1
            line = line[:insert_at] + "".join(f", {c}" for c in missing) + line[insert_at:]
        else:
            line = line.rstrip() + "  # noqa: " + ", ".join(missing)
        lines[row - 1] = line + ending
        result.added += len(missing)
    result.text = "".join(lines)
    return result


def _rows_without_room_for_a_comment(text: str) -> set[int]:
    """Rows whose end lies inside a string token, or that end with a backslash continuation."""
    rows: set[int] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if line.rstrip().endswith("\\"):
            rows.add(number)
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            (start_row, _), (end_row, _) = token.start, token.end
            if end_row > start_row and token.type in _STRING_TOKENS:
                rows.update(range(start_row, end_row))
    except (tokenize.TokenError, SyntaxError):
        return set(range(1, text.count("\n") + 2))  # the file does not tokenize: touch nothing
    return rows


_STRING_TOKENS = {tokenize.STRING} | {getattr(tokenize, name) for name in ("FSTRING_MIDDLE", "FSTRING_START", "FSTRING_END") if hasattr(tokenize, name)}

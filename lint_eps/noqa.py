"""`# noqa` and `# noqa: EPS201, EPS202` suppressions, as flake8 and ruff read them."""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass

from .diagnostic import Diagnostic, Edit, Fix, Location

NOQA_RE = re.compile(
    r"#\s*noqa(?::[\s]*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?",
    re.IGNORECASE,
)
CODE_SPLIT_RE = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class Noqa:
    row: int
    codes: frozenset[str] | None  # None: a bare `# noqa` suppresses everything
    column: int  # 1-based column of the `#`
    end_column: int = 0  # 1-based column just past the directive
    listed: tuple[str, ...] = ()  # the codes in written order

    def suppresses(self, code: str) -> bool:
        return self.codes is None or code in self.codes


def _comment_start(line: str) -> int | None:
    """Index of the `#` that starts a comment on this line, skipping `#` inside simple string literals."""
    quote: str | None = None
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if line.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
        elif ch in "\"'":
            quote = line[i : i + 3] if line[i : i + 3] in ('"""', "'''") else ch
            i += len(quote)
            continue
        elif ch == "#":
            return i
        i += 1
    return None


def parse_noqa(lines: list[str]) -> dict[int, Noqa]:
    """Row (1-based) -> suppression on that row."""
    candidates = [i for i, line in enumerate(lines) if "#" in line and "noqa" in line.lower()]
    if not candidates:
        return {}
    comments = _comment_columns(lines) if len(lines) > 1 else {}
    out: dict[int, Noqa] = {}
    for index in candidates:
        line = lines[index]
        start = comments.get(index + 1, _comment_start(line))
        if start is None:
            continue
        match = NOQA_RE.search(line, start)
        if match is None:
            continue
        codes = match.group("codes")
        listed = tuple(c.upper() for c in CODE_SPLIT_RE.split(codes.strip())) if codes else ()
        out[index + 1] = Noqa(index + 1, frozenset(listed) if codes else None, match.start() + 1, match.end() + 1, listed)
    return out


def _comment_columns(lines: list[str]) -> dict[int, int | None]:
    """Row -> index of its comment's `#` (None: no comment), from the tokenizer, which knows where multi-line
    strings end (`    text\"\"\"  # noqa` starts inside a string: a scan of the line alone takes the closing quotes
    for opening ones). Rows after a point where the file stops tokenizing are left to the line scan."""
    found: dict[int, int | None] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline):
            if token.type == tokenize.COMMENT:
                found[token.start[0]] = token.start[1]
            elif token.type in (tokenize.NEWLINE, tokenize.NL):
                found.setdefault(token.start[0], None)
            elif token.end[0] > token.start[0]:  # a multi-line string: its inner rows hold no comment
                for row in range(token.start[0], token.end[0]):
                    found.setdefault(row, None)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return found


def unused_noqa(
    directives: dict[int, Noqa],
    diagnostics: list[Diagnostic],
    lines: list[str],
    path: str,
    selected: frozenset[str],
    known: frozenset[str],
) -> list[Diagnostic]:
    """EPS004: lint-eps codes in `# noqa: ...` that suppress no finding on their row.

    Reported: unknown `EPS` codes, and codes of selected rules that did not fire on the row. Left alone: codes
    of other linters, codes of rules not selected in this run, and bare `# noqa`.
    """
    fired: dict[int, set[str]] = {}
    for diagnostic in diagnostics:
        fired.setdefault(diagnostic.noqa_row or diagnostic.location.row, set()).add(diagnostic.code)
    out = []
    for row, directive in sorted(directives.items()):
        if directive.codes is None:
            continue
        unknown = [c for c in directive.listed if c.startswith("EPS") and c not in known]
        unused = [c for c in directive.listed if c in known and c in selected and c not in fired.get(row, set())]
        stale = unknown + unused
        if not stale:
            continue
        keep = [c for c in directive.listed if c not in stale]
        line = lines[row - 1]
        start, end = directive.column, directive.end_column
        rest = line[end - 1 :]
        if keep:
            content = "# noqa: " + ", ".join(keep)
        elif rest.strip():
            content = "#"  # the comment goes on after the directive: keep it a comment
        else:
            content = ""
            start = len(line[: start - 1].rstrip()) + 1  # also drop the spaces before the `#`
        parts = []
        if unknown:
            parts.append(f"unknown code{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
        if unused:
            parts.append(f"unused code{'s' if len(unused) > 1 else ''} {', '.join(unused)} (no such finding on this line)")
        location = Location(row, directive.column)
        fix = Fix("safe", "Remove the unused noqa codes" if keep else "Remove the unused noqa directive", (Edit(content, Location(row, start), Location(row, end)),))
        out.append(
            Diagnostic("EPS004", "`# noqa` with " + " and ".join(parts), path, location, Location(row, end), fix, row, "unused-noqa")
        )
    return out

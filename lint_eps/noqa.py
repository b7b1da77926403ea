"""`# noqa` and `# noqa: EPS201, EPS202` suppressions, as flake8 and ruff read them."""

from __future__ import annotations

import re
from dataclasses import dataclass

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
    out: dict[int, Noqa] = {}
    for index, line in enumerate(lines):
        if "#" not in line or "noqa" not in line.lower():
            continue
        start = _comment_start(line)
        if start is None:
            continue
        match = NOQA_RE.search(line, start)
        if match is None:
            continue
        codes = match.group("codes")
        parsed = frozenset(c.upper() for c in CODE_SPLIT_RE.split(codes.strip())) if codes else None
        out[index + 1] = Noqa(index + 1, parsed, match.start() + 1)
    return out

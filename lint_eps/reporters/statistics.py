"""`--statistics`: the number of findings per rule, as a text table or as ruff's JSON list.

Both formats come from the same rows ({code, name, count, fixable}, most frequent first), so that a script reading
`--output-format json --statistics` sees what a person reads in the table.
"""

from __future__ import annotations

import json
from collections import Counter

from ..diagnostic import Diagnostic
from ..registry import all_rules


def rows(diagnostics: list[Diagnostic]) -> list[dict[str, object]]:
    """One row per code: its name, how many findings, and whether any of them has a safe fix (`[*]`)."""
    counts = Counter(d.code for d in diagnostics)
    fixable = {d.code for d in diagnostics if d.fix is not None and d.fix.applicability == "safe"}
    catalogue = all_rules()
    return [
        {"code": code, "name": catalogue[code].name if code in catalogue else "", "count": count, "fixable": code in fixable}
        for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def render_text(diagnostics: list[Diagnostic]) -> str:
    table = rows(diagnostics)
    width = max((len(str(row["count"])) for row in table), default=1)
    lines = [f"{row['count']:>{width}}\t{row['code']}\t{'[*]' if row['fixable'] else '[ ]'} {row['name']}" for row in table]
    return "\n".join(lines) + ("\n" if lines else "")


def render_json(diagnostics: list[Diagnostic]) -> str:
    return json.dumps(rows(diagnostics), indent=2) + "\n"

"""Verification records and their two output formats (text, JSON)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

# `unused-dtype`: it fails, but only in a dtype the code does not compute in (see `verify --dtypes`).
STATUSES = ("confirmed", "unused-dtype", "not-reproduced", "skipped", "error", "timeout")


@dataclass
class Record:
    code: str | None  # None for a function named on the command line
    filename: str
    row: int | None
    column: int | None
    function: str | None  # path::qualname
    outcome: dict[str, Any]  # status, message, counterexample
    fixed: dict[str, Any] | None = None  # the same for the fixed source (with --fixed); "fix": False where the linter has none
    cell: int | None = None  # in a notebook: the code cell `row` counts in (as the linter reports it)

    @property
    def status(self) -> str:
        return str(self.outcome["status"])

    def to_dict(self, with_fixed: bool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "code": self.code,
            "filename": self.filename,
            "location": ({"row": self.row, "column": self.column} | ({"cell": self.cell} if self.cell is not None else {})) if self.row is not None else None,
            "function": self.function,
            "status": self.outcome["status"],
            "counterexample": self.outcome.get("counterexample"),
            "message": self.outcome["message"],
        }
        if with_fixed:
            data["fixed"] = (
                {k: self.fixed[k] for k in ("status", "counterexample", "message", "fix", "rewritten") if k in self.fixed} if self.fixed is not None else None
            )
        return data


def render_json(records: list[Record], with_fixed: bool) -> str:
    return json.dumps([r.to_dict(with_fixed) for r in records], indent=2) + "\n"


def render_text(records: list[Record], with_fixed: bool) -> str:
    lines: list[str] = []
    for r in records:
        cell = f"cell {r.cell}:" if r.cell is not None else ""
        where = f"{r.filename}:{cell}{r.row}:{r.column}: " if r.row is not None else f"{r.filename}: "
        code = f"{r.code} " if r.code else ""
        subject = r.function or "(module level)"
        lines.append(f"{where}{code}{subject}: {r.status}: {r.outcome['message']}")
        if with_fixed and r.fixed is not None:
            lines.append(f"    after fix: {_no_fix(r.fixed)}{r.fixed['status']}: {r.fixed['message']}")
    lines.append(summary(records, with_fixed))
    return "\n".join(lines) + "\n"


def _no_fix(fixed: dict[str, Any]) -> str:
    """What the after-fix line says first for a finding the linter has no fix for."""
    if fixed.get("fix") is not False:
        return ""
    if fixed.get("rewritten"):
        return "no fix for this finding, but another finding's fix rewrote its code: "
    return "no fix for this finding, the code is unchanged there: "


def summary(records: list[Record], with_fixed: bool) -> str:
    if not records:
        return "Nothing to verify."
    counts = Counter(r.status for r in records)
    text = ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s])
    line = f"Verified {len(records)} finding{'s' if len(records) != 1 else ''}: {text}."
    if with_fixed:
        fixed = Counter(r.fixed["status"] for r in records if r.fixed is not None)
        unfixed = Counter(r.fixed["status"] for r in records if r.fixed is not None and r.fixed.get("fix") is False)
        counts_text = [f"{fixed[s]} {s}" + (f" ({unfixed[s]} with no fix)" if unfixed[s] else "") for s in STATUSES if fixed[s]]
        line += " After fixes: " + (", ".join(counts_text) or "nothing") + "."
    return line

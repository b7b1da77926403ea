"""What a finding is, independent of how it was found or how it is shown.

Diagnostics are plain frozen data so that they can cross process boundaries, be cached as JSON and be
compared for equality (the benchmark checks that every speed-up yields identical findings).
Rows and columns are 1-based and columns count characters, as in ruff's JSON output.

A finding has two texts: `message`, one short line (what is wrong and what to do, as ruff's messages), and
`details`, the full explanation (why it fails, in the framework the code uses), shown on request
(`--show-details`, hover, SARIF markdown, the JSON `details` key).

Severity is one model everywhere (text summary, GitHub annotations, SARIF, JSON, the language server): a rule's
finding is a "warning" (code that may fail on some input), and the engine's own diagnostics, which mean the file
could not be checked (EPS001 syntax error, EPS002 internal error, EPS003 unreadable file), are "errors".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Applicability = Literal["safe", "unsafe"]
Severity = Literal["error", "warning"]

# The engine's diagnostics: the file (or part of it) could not be checked.
ERROR_CODES = frozenset({"EPS001", "EPS002", "EPS003"})


def severity(code: str) -> Severity:
    """The one severity of a code, used by every output format and the language server."""
    return "error" if code in ERROR_CODES else "warning"

DOCS_URL = "https://github.com/lint-eps/lint-eps/blob/main/docs/rules/{code}.md"


def docs_url(code: str) -> str | None:
    """Where a rule's documentation page lives (`docs/rules/CODE.md`, generated from the rule class)."""
    return DOCS_URL.format(code=code)


@dataclass(frozen=True, order=True)
class Location:
    row: int
    column: int
    # In a notebook: the cell (1-based, among all its cells) that `row` counts in. Not compared: the locations of
    # one finding are in one cell, and findings sort by cell first (`Diagnostic.sort_key`).
    cell: int | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, int]:
        out = {"row": self.row, "column": self.column}
        if self.cell is not None:
            out["cell"] = self.cell
        return out

    @classmethod
    def from_dict(cls, data: dict[str, int]) -> "Location":
        cell = data.get("cell")
        return cls(int(data["row"]), int(data["column"]), None if cell is None else int(cell))


@dataclass(frozen=True)
class Edit:
    """Replace the text between `location` and `end_location` with `content`."""

    content: str
    location: Location
    end_location: Location

    def to_dict(self) -> dict[str, Any]:
        return {
            "content": self.content,
            "location": self.location.to_dict(),
            "end_location": self.end_location.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Edit":
        return cls(data["content"], Location.from_dict(data["location"]), Location.from_dict(data["end_location"]))


@dataclass(frozen=True)
class Fix:
    applicability: Applicability
    message: str
    edits: tuple[Edit, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "applicability": self.applicability,
            "message": self.message,
            "edits": [e.to_dict() for e in self.edits],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Fix":
        return cls(data["applicability"], data["message"], tuple(Edit.from_dict(e) for e in data["edits"]))


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    filename: str
    location: Location
    end_location: Location
    fix: Fix | None = None
    noqa_row: int | None = None
    rule_name: str = ""
    related: tuple[tuple[str, Location], ...] = field(default=())
    details: str = ""

    @property
    def url(self) -> str | None:
        return docs_url(self.code)

    @property
    def severity(self) -> Severity:
        return severity(self.code)

    @property
    def cell(self) -> int | None:
        """The notebook cell the finding is in (its rows count in that cell); None in a Python file."""
        return self.location.cell

    def sort_key(self) -> tuple[Any, ...]:
        return (self.filename, self.location.cell or 0, self.location, self.code)

    def to_dict(self) -> dict[str, Any]:
        """The ruff JSON shape (plus `rule_name`, `related` and `details`), also used as the cache format."""
        return {
            "code": self.code,
            "message": self.message,
            "filename": self.filename,
            "location": self.location.to_dict(),
            "end_location": self.end_location.to_dict(),
            "fix": self.fix.to_dict() if self.fix else None,
            "url": self.url,
            "noqa_row": self.noqa_row,
            "rule_name": self.rule_name,
            "related": [{"message": m, "location": loc.to_dict()} for m, loc in self.related],
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Diagnostic":
        return cls(
            code=data["code"],
            message=data["message"],
            filename=data["filename"],
            location=Location.from_dict(data["location"]),
            end_location=Location.from_dict(data["end_location"]),
            fix=Fix.from_dict(data["fix"]) if data.get("fix") else None,
            noqa_row=data.get("noqa_row"),
            rule_name=data.get("rule_name", ""),
            related=tuple((r["message"], Location.from_dict(r["location"])) for r in data.get("related", [])),
            details=data.get("details", ""),
        )

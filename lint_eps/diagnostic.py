"""What a finding is, independent of how it was found or how it is shown.

Diagnostics are plain frozen data so that they can cross process boundaries, be cached as JSON and be
compared for equality (the benchmark checks that every speed-up yields identical findings).
Rows and columns are 1-based and columns count characters, as in ruff's JSON output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Applicability = Literal["safe", "unsafe"]

DOCS_URL = "https://github.com/lint-eps/lint-eps/blob/main/docs/rules/{code}.md"


def docs_url(code: str) -> str | None:
    """Where a rule's documentation page lives (`docs/rules/CODE.md`, generated from the rule class)."""
    return DOCS_URL.format(code=code)


@dataclass(frozen=True, order=True)
class Location:
    row: int
    column: int

    def to_dict(self) -> dict[str, int]:
        return {"row": self.row, "column": self.column}

    @classmethod
    def from_dict(cls, data: dict[str, int]) -> "Location":
        return cls(int(data["row"]), int(data["column"]))


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

    @property
    def url(self) -> str | None:
        return docs_url(self.code)

    def sort_key(self) -> tuple[Any, ...]:
        return (self.filename, self.location, self.code)

    def to_dict(self) -> dict[str, Any]:
        """The ruff JSON shape (plus `rule_name`), also used as the cache format."""
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
        )

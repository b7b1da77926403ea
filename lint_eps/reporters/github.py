"""GitHub Actions workflow commands: one `::warning file=…,line=…,col=…::…` annotation per finding.

The command is the finding's severity (`lint_eps.diagnostic.severity`): `::warning` for a rule's finding,
`::error` for a file that could not be checked. An annotation is read in the pull request without a hover, so
the explanation follows the one-line message after a blank line.
"""

from __future__ import annotations

from ..diagnostic import Diagnostic


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def render(diagnostics: list[Diagnostic], **_: object) -> str:
    lines = []
    for d in diagnostics:
        props = (
            f"title={_escape_property('lint-eps (' + d.code + ')')},"
            f"file={_escape_property(d.filename)},"
            f"line={d.location.row},col={d.location.column},"
            f"endLine={d.end_location.row},endColumn={d.end_location.column}"
        )
        # GitHub numbers a notebook's JSON lines: the cell and its row go into the message, as ruff does.
        cell = f"cell {d.cell}:{d.location.row}:{d.location.column}: " if d.cell is not None else ""
        text = f"{cell}{d.code} {d.message}" + (f"\n\n{d.details}" if d.details else "")
        lines.append(f"::{d.severity} {props}::{_escape_data(text)}")
    return "\n".join(lines) + ("\n" if lines else "")

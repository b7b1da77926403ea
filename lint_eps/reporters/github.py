"""GitHub Actions workflow commands: one `::error file=…,line=…,col=…::…` annotation per finding."""

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
        lines.append(f"::error {props}::{_escape_data(d.code + ' ' + d.message)}")
    return "\n".join(lines) + ("\n" if lines else "")

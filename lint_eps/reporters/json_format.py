"""ruff-shaped JSON: a list of findings with code, message, filename, location, end_location, fix, url, noqa_row
and cell (in a notebook, the 1-based cell the rows count in, as ruff reports it; null in a Python file).

Three extra keys, which ruff-shaped consumers ignore: `severity` ("warning" for a rule's finding, "error" for a
file that could not be checked), `details` (the full explanation behind the one-line message) and `related` (the
notes the text format prints under a finding, each a message and a location in the same file: where the value
came from, a discarded clip, an unguarded caller).
"""

from __future__ import annotations

import json

from ..diagnostic import Diagnostic


def as_ruff_dict(diagnostic: Diagnostic) -> dict[str, object]:
    data = diagnostic.to_dict()
    return {
        "code": data["code"],
        "message": data["message"],
        "filename": data["filename"],
        "location": data["location"],
        "end_location": data["end_location"],
        "fix": data["fix"],
        "url": data["url"],
        "noqa_row": data["noqa_row"],
        "cell": diagnostic.cell,
        "severity": diagnostic.severity,
        "details": data["details"],
        "related": data["related"],
    }


def render(diagnostics: list[Diagnostic], **_: object) -> str:
    return json.dumps([as_ruff_dict(d) for d in diagnostics], indent=2, ensure_ascii=False) + "\n"

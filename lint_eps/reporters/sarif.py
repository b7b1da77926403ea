"""SARIF 2.1.0 for GitHub code scanning: one run, a rules table (id, name, help, helpUri) and results.

Each result's `level` is the finding's severity (`lint_eps.diagnostic.severity`: "warning" for a rule's finding,
"error" for a file that could not be checked); its message has the one-line text and, as markdown, the text
followed by the full explanation. Written as plain dicts: the format is JSON and the object-model packages on PyPI are unmaintained; the test
suite checks the fields GitHub's ingestion requires.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .. import __version__
from ..diagnostic import Diagnostic, docs_url, severity
from ..registry import all_rules

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _uri(filename: str) -> str:
    path = Path(filename)
    if path.is_absolute():
        return path.as_uri()
    return Path(os.path.normpath(filename)).as_posix()


def render(diagnostics: list[Diagnostic], **_: object) -> str:
    catalogue = all_rules()
    codes = sorted(catalogue)
    index = {code: i for i, code in enumerate(codes)}
    rules = []
    for code in codes:
        rule = catalogue[code]
        rules.append(
            {
                "id": code,
                "name": rule.name,
                "shortDescription": {"text": rule.summary},
                "fullDescription": {"text": rule.summary},
                "help": {"text": rule.documentation(), "markdown": rule.documentation()},
                "helpUri": docs_url(code),
                "defaultConfiguration": {"level": severity(code), "enabled": rule.default_enabled},
                "properties": {"tags": ["numerical-stability"]},
            }
        )
    results = []
    for d in diagnostics:
        result = {
            "ruleId": d.code,
            "ruleIndex": index.get(d.code, -1),
            "level": d.severity,
            "message": {"text": d.message, **({"markdown": f"{d.message}\n\n{d.details}"} if d.details else {})},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(d.filename)},
                        "region": {
                            "startLine": d.location.row,
                            "startColumn": d.location.column,
                            "endLine": d.end_location.row,
                            "endColumn": d.end_location.column,
                        },
                    }
                }
            ],
        }
        if d.cell is not None:
            # A notebook: the region's rows count in this cell (1-based among all the notebook's cells).
            result["properties"] = {"cell": d.cell}
            result["message"]["text"] = f"cell {d.cell}:{d.location.row}:{d.location.column}: {d.message}"  # type: ignore[index]
        if d.related:
            result["relatedLocations"] = [
                {
                    "id": number,
                    "message": {"text": message},
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(d.filename)},
                        "region": {"startLine": where.row, "startColumn": where.column},
                    },
                    **({"properties": {"cell": where.cell}} if where.cell is not None else {}),
                }
                for number, (message, where) in enumerate(d.related)
            ]
        if d.fix is not None:
            result["fixes"] = [
                {
                    "description": {"text": d.fix.message},
                    "artifactChanges": [
                        {
                            "artifactLocation": {"uri": _uri(d.filename)},
                            "replacements": [
                                {
                                    "deletedRegion": {
                                        "startLine": e.location.row,
                                        "startColumn": e.location.column,
                                        "endLine": e.end_location.row,
                                        "endColumn": e.end_location.column,
                                    },
                                    "insertedContent": {"text": e.content},
                                }
                                for e in d.fix.edits
                            ],
                        }
                    ],
                }
            ]
        if d.code not in index:
            del result["ruleIndex"]
        results.append(result)
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "lint-eps",
                        "version": __version__,
                        "informationUri": "https://github.com/lint-eps/lint-eps",
                        "rules": rules,
                    }
                },
                "results": results,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

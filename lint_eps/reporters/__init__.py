"""Output formats. Each reporter turns a run's diagnostics into text; the CLI picks one by name."""

from __future__ import annotations

from typing import Callable

from ..diagnostic import Diagnostic
from . import github, json_format, sarif, text

Reporter = Callable[[list[Diagnostic], "ReportOptions"], str]

FORMATS: dict[str, Callable[..., str]] = {
    "text": text.render,
    "json": json_format.render,
    "sarif": sarif.render,
    "github": github.render,
}

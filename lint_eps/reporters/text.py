"""The human format: `path:row:col: CODE message`, the source line with a caret underline, and a summary.

The message is one line (ruff's style); `--show-details` adds the full explanation under it, indented and
wrapped, for a reader who wants the why without opening `lint-eps rule CODE`. Colour only when the caller says
the stream is a terminal. The summary counts warnings (rule findings) and errors (files that could not be
checked), the one severity model of `lint_eps.diagnostic`.
"""

from __future__ import annotations

import textwrap
from functools import lru_cache

import click

from ..diagnostic import Diagnostic, Location
from ..source import LineIndex, SourceError, decode_source


MAX_SNIPPET = 160
CONTEXT = 40
DETAILS_WIDTH = 100


@lru_cache(maxsize=64)
def _lines(filename: str, cell: int | None = None) -> tuple[str, ...]:
    """The lines of a file, or of one cell of a notebook."""
    try:
        with open(filename, "rb") as handle:
            data = handle.read()
        if cell is not None:
            from ..notebook import Notebook, NotebookError

            try:
                return Notebook.parse_bytes(data).lines_of(cell)
            except NotebookError:
                return ()
        return tuple(LineIndex(decode_source(data).text).lines())
    except (OSError, SourceError):
        return ()


def where(filename: str, location: Location) -> str:
    """`path:row:col`, or `path:cell N:row:col` in a notebook (ruff's spelling)."""
    cell = f"cell {location.cell}:" if location.cell is not None else ""
    return f"{filename}:{cell}{location.row}:{location.column}"


def _snippet(d: Diagnostic, color: bool, lines: tuple[str, ...] | None = None) -> list[str]:
    lines = lines if lines is not None else _lines(d.filename, d.cell)
    if not lines or d.location.row > len(lines):
        return []
    line = lines[d.location.row - 1].expandtabs(1)
    gutter = str(d.location.row)
    start = d.location.column - 1
    if d.end_location.row == d.location.row:
        width = max(1, d.end_location.column - d.location.column)
    else:
        width = max(1, len(line) - start)
    if len(line) > MAX_SNIPPET:
        # Show a window around the finding in very long (generated) lines.
        left = max(0, start - CONTEXT)
        right = min(len(line), start + min(width, MAX_SNIPPET - 2 * CONTEXT) + CONTEXT)
        line = ("…" if left else "") + line[left:right] + ("…" if right < len(line) else "")
        start = start - left + (1 if left else 0)
        width = min(width, right - (start - (1 if left else 0)) - left)
    caret = " " * start + "^" * width
    pad = " " * len(gutter)
    bar = click.style("|", fg="blue", bold=True) if color else "|"
    caret = click.style(caret, fg="red", bold=True) if color else caret
    return [f"{click.style(gutter, fg='blue', bold=True) if color else gutter} {bar} {line}", f"{pad} {bar} {caret}"]


def _details(d: Diagnostic) -> list[str]:
    """The explanation, wrapped under the finding: `  = why: ...` (rustc and ruff mark notes with `=`)."""
    if not d.details:
        return []
    # Never break inside a word: code (`from_logits=True`, `-inf`, `log-probabilities`) stays whole and copyable.
    return textwrap.wrap(
        " ".join(d.details.split()),
        DETAILS_WIDTH,
        initial_indent="  = why: ",
        subsequent_indent="    ",
        break_long_words=False,
        break_on_hyphens=False,
    )


def format_diagnostic(
    d: Diagnostic,
    color: bool = False,
    show_source: bool = True,
    lines: tuple[str, ...] | None = None,
    show_details: bool = False,
) -> str:
    head = where(d.filename, d.location) + ":"
    code = d.code
    marker = " [*]" if d.fix is not None and d.fix.applicability == "safe" else ""
    if color:
        head = click.style(d.filename, bold=True) + where("", d.location) + ":"
        code = click.style(code, fg="red" if d.severity == "error" else "yellow", bold=True)
        marker = click.style(marker, fg="cyan") if marker else ""
    out = [f"{head} {code}{marker} {d.message}"]
    if show_source:
        out.extend(_snippet(d, color, lines))
        for message, loc in d.related:
            out.append(f"  note: {message} at {where(d.filename, loc)}")
    if show_details:
        out.extend(_details(d))
    return "\n".join(out)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def summary(diagnostics: list[Diagnostic], *, fixed: int = 0, unsafe_fixes: bool = False) -> str:
    total = len(diagnostics)
    if total == 0:
        return f"All checks passed! ({fixed} fixed)" if fixed else "All checks passed!"
    errors = sum(1 for d in diagnostics if d.severity == "error")
    counts = [_count(n, noun) for n, noun in ((errors, "error"), (total - errors, "warning")) if n]
    head = f"Found {' and '.join(counts)}" + (f" ({fixed} fixed, {total} remaining)." if fixed else ".")
    lines = [head]
    safe = sum(1 for d in diagnostics if d.fix is not None and d.fix.applicability == "safe")
    unsafe = sum(1 for d in diagnostics if d.fix is not None and d.fix.applicability == "unsafe")
    if unsafe_fixes:
        safe, unsafe = safe + unsafe, 0
    if safe:
        lines.append(f"[*] {safe} fixable with the `--fix` option.")
    if unsafe:
        lines.append(f"({unsafe} hidden fix{'es' if unsafe != 1 else ''} can be enabled with the `--unsafe-fixes` option.)")
    return "\n".join(lines)


def diff_summary(diagnostics: list[Diagnostic], *, fixed: int, files: int, unsafe_fixes: bool = False) -> str:
    """The `--diff` footer; like ruff's, it says when the only fixes left need `--unsafe-fixes`."""
    hidden = 0 if unsafe_fixes else sum(1 for d in diagnostics if d.fix is not None and d.fix.applicability == "unsafe")
    plural = "es" if hidden != 1 else ""
    if not fixed:
        return f"No findings would be fixed ({hidden} fix{plural} available with `--unsafe-fixes`)." if hidden else "No fixes available."
    head = f"Would fix {fixed} finding{'s' if fixed != 1 else ''} in {files} file{'s' if files != 1 else ''}"
    return f"{head} ({hidden} more fix{plural} available with `--unsafe-fixes`)." if hidden else f"{head}."


def render(diagnostics: list[Diagnostic], *, color: bool = False, show_source: bool = True, show_details: bool = False, **_: object) -> str:
    blocks = [format_diagnostic(d, color, show_source, show_details=show_details) for d in diagnostics]
    return "\n".join(blocks) + ("\n" if blocks else "")

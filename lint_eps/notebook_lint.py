"""Lint, fix, diff and `--add-noqa` one notebook file for the runner (the notebook counterpart of
`runner.lint_bytes`).

The work happens on the program of the code cells (`notebook.Program`): the engine lints it as any Python text,
fixes are applied to it to a fixed point, and `# noqa` comments are added to it; then the program is split
back into cells, and only the cells that changed are written into the file (`Notebook.with_sources`), through
`writeback.write_fixed` (atomic, symlinks and permissions kept, refusals reported as EPS003).
"""

from __future__ import annotations

from .add_noqa import NOT_SUPPRESSIBLE, add_noqa
from .budget import over_size, within_time
from .diagnostic import Diagnostic
from .engine import SYNTAX_ERROR, lint_source
from .fixes import fix_source
from .notebook import Notebook, NotebookError, Program, cell_diff
from .runner import IO_ERROR, FileResult, FixMode, _error, _over_budget
from .settings import Settings
from .writeback import WriteRefused, write_fixed


def _lint(program: Program, path: str, settings: Settings, codes: frozenset[str], prefilter: bool) -> list[Diagnostic] | Diagnostic:
    found = within_time(path, settings, lambda: lint_source(program.source, path, settings, codes=codes, prefilter=prefilter))
    return found


def _in_cells(program: Program, path: str, diagnostics: list[Diagnostic], codes: frozenset[str]) -> list[Diagnostic]:
    errors = program.syntax_errors(path, SYNTAX_ERROR) if SYNTAX_ERROR in codes else []
    placed = [program.to_cells(d) for d in diagnostics]
    return sorted(errors + placed, key=Diagnostic.sort_key)


def lint_notebook(path: str, data: bytes, settings: Settings, mode: FixMode, codes: frozenset[str], prefilter: bool = True) -> FileResult:
    try:
        notebook = Notebook.parse_bytes(data)
    except NotebookError as exc:
        return FileResult(path, [_error(path, SYNTAX_ERROR, exc.message, exc.row, exc.column)] if SYNTAX_ERROR in codes else [])
    program = Program.of(notebook)
    too_big = over_size(path, len(program.source.encode("utf-8", "surrogatepass")), settings)
    if too_big is not None:
        return _over_budget(path, too_big, codes)
    if not mode.active:
        found = _lint(program, path, settings, codes, prefilter)
        if isinstance(found, Diagnostic):
            return _over_budget(path, found, codes)
        return FileResult(path, _in_cells(program, path, found, codes))
    if mode.add_noqa:
        found = _lint(program, path, settings, codes, prefilter)
        if isinstance(found, Diagnostic):
            return _over_budget(path, found, codes)
        edit = add_noqa(program.source, found)
        problem = None
        if edit.skipped:
            rows = ", ".join(f"cell {cell}:{row}" for cell, row in (program.locate(r) for r in edit.skipped))
            problem = f"no `# noqa` added on {rows}: the line ends inside a string or with a backslash"
        left = [d for d in found if (d.noqa_row or d.location.row) in edit.skipped or d.code in NOT_SUPPRESSIBLE]
        written = _write(path, notebook, program, edit.text, "no noqa comments added")
        if written is not None:
            return _refused(path, program, found, codes, written)
        return FileResult(path, _in_cells(program, path, left, codes), edit.added, fix_error=problem)
    outcome = within_time(path, settings, lambda: fix_source(program.source, path, settings, unsafe=mode.unsafe, codes=codes))
    if isinstance(outcome, Diagnostic):
        return _over_budget(path, outcome, codes)
    result = FileResult(path, _in_cells(program, path, outcome.remaining, codes), outcome.applied, fix_error=outcome.error)
    if not outcome.changed(program.source):
        return result
    if mode.diff:
        try:
            result.diff = cell_diff(path, notebook, program.split(outcome.text))
        except NotebookError as exc:
            result.fix_error = exc.message
        return result
    refused = _write(path, notebook, program, outcome.text, "fixes not applied")
    if refused is not None:
        original = lint_source(program.source, path, settings, codes=codes)
        return _refused(path, program, original, codes, refused)
    return result


def _write(path: str, notebook: Notebook, program: Program, text: str, consequence: str) -> str | None:
    """Write the cells `text` changes into the file; why not, if it was not written."""
    if text == program.source:
        return None
    try:
        write_fixed(path, notebook.with_sources(program.split(text)))
    except (WriteRefused, NotebookError) as exc:
        return f"{exc}; {consequence}"
    return None


def _refused(path: str, program: Program, diagnostics: list[Diagnostic], codes: frozenset[str], message: str) -> FileResult:
    remaining = _in_cells(program, path, diagnostics, codes)
    if IO_ERROR in codes:
        return FileResult(path, [_error(path, IO_ERROR, message), *remaining])
    return FileResult(path, remaining, fix_error=message)

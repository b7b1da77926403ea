"""Notebook documents in the language server (LSP 3.17 notebook synchronisation, as VS Code and JupyterLab's
LSP extension send them).

The client opens a notebook with `notebookDocument/didOpen` and its cells as text documents of their own URIs
(pygls keeps both in the workspace). The notebook is linted as the CLI lints an `.ipynb` file: the code cells in
order as one program (`lint_eps.notebook.Program`), so a model built in one cell and compiled in another is one
model. Each finding goes to its cell: diagnostics are published per cell URI, and the code actions and hovers of
a cell are the ordinary ones (`actions.code_actions`) on a `CellDocument`, whose "fix all" is the notebook's fix
restricted to that cell.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ..engine import SYNTAX_ERROR
from ..fixes import fix_source
from ..notebook import NotebookError, Program, mask_cell
from ..registry import selected_codes
from .actions import Document
from .convert import PositionMapper
from .lint import LintResult

if TYPE_CHECKING:
    from .server import LintEpsServer

SYNC_OPTIONS = types.NotebookDocumentSyncOptions(
    notebook_selector=[
        types.NotebookDocumentFilterWithCells(notebook="jupyter-notebook", cells=[types.NotebookCellLanguage(language="python")])
    ],
    save=True,
)


@dataclass(frozen=True)
class CellSnapshot:
    index: int  # 1-based among all the notebook's cells, as the CLI counts them
    uri: str
    version: int | None
    text: str


class CellDocument(Document):
    """One cell's findings, with the notebook's program behind its fix-all and its noqa checks."""

    def __init__(self, result: LintResult, encoding: str, notebook: "NotebookLint", index: int, *, related_information: bool = True) -> None:
        super().__init__(result, encoding, related_information=related_information)
        self.notebook = notebook
        self.index = index

    def fixed_text(self) -> str | None:
        return self.notebook.fixed_cells().get(self.index)

    def parses(self, text: str) -> bool:
        """A cell with IPython lines parses once they are masked, as the notebook is linted."""
        return mask_cell(text).syntax_error is None


class NotebookLint:
    """The lint of one version of a notebook: per-cell documents, and the notebook's fix, computed once."""

    def __init__(self, uri: str, version: int | None, cells: list[CellSnapshot], result: LintResult, program: Program, encoding: str, related: bool) -> None:
        self.uri = uri
        self.version = version
        self.cells = cells
        self.result = result
        self.program = program
        self._fixed: dict[int, str] | None = None
        by_cell: dict[int, list[Any]] = {cell.index: [] for cell in cells}
        placed = [program.to_cells(d) for d in result.diagnostics]
        if result.settings is not None and SYNTAX_ERROR in selected_codes(result.settings, result.path or uri):
            placed += program.syntax_errors(result.path or uri, SYNTAX_ERROR)
        first = cells[0].index if cells else None
        for diagnostic in placed:
            cell = diagnostic.cell if diagnostic.cell in by_cell else first
            if cell is not None:
                by_cell[cell].append(diagnostic)
        self.documents: dict[str, CellDocument] = {}
        for cell in cells:
            cell_result = replace(
                result,
                uri=cell.uri,
                version=cell.version,
                text=cell.text,
                diagnostics=sorted(by_cell[cell.index], key=lambda d: d.sort_key()),
                # A configuration problem is shown once, on the first cell, not on every cell.
                config_error=result.config_error if cell.index == first else None,
            )
            self.documents[cell.uri] = CellDocument(cell_result, encoding, self, cell.index, related_information=related)
        if related:
            self._relate_across_cells()

    def _relate_across_cells(self) -> None:
        """A note in another cell (the layer a compile call is about) points at that cell's URI."""
        uris = {cell.index: cell.uri for cell in self.cells}
        mappers = {cell.index: document.mapper for cell, document in zip(self.cells, self.documents.values())}
        for document in self.documents.values():
            for diagnostic, lsp in zip(document.result.diagnostics, document.lsp_diagnostics):
                if not diagnostic.related:
                    continue
                lsp.related_information = [
                    types.DiagnosticRelatedInformation(
                        location=types.Location(uri=uris[loc.cell], range=mappers[loc.cell].range((loc.row, loc.column), (loc.row, loc.column))),
                        message=note,
                    )
                    for note, loc in diagnostic.related
                    if loc.cell in uris
                ] or None

    def fixed_cells(self) -> dict[int, str]:
        """Cell index -> its text with every safe fix of the notebook applied (only the cells that change)."""
        if self._fixed is None:
            self._fixed = {}
            result = self.result
            if result.settings is not None and any(d.fix is not None and d.fix.applicability == "safe" for d in result.diagnostics):
                outcome = fix_source(self.program.source, result.path or self.uri, result.settings)
                if outcome.error is None and outcome.text != self.program.source:
                    try:
                        self._fixed = self.program.split(outcome.text)
                    except NotebookError:
                        pass
        return self._fixed


def snapshot(server: "LintEpsServer", notebook_uri: str) -> tuple[int | None, list[CellSnapshot]] | None:
    """The notebook's version and its code cells' current texts, or None when it is not open."""
    notebook = server.workspace.get_notebook_document(notebook_uri=notebook_uri)
    if notebook is None:
        return None
    cells = []
    for position, cell in enumerate(notebook.cells):
        if cell.kind != types.NotebookCellKind.Code:
            continue
        document = server._open(cell.document)
        if document is None or (document.language_id or "python") != "python":
            continue
        cells.append(CellSnapshot(position + 1, cell.document, document.version, document.source))
    return notebook.version, cells


def cell_owner(server: "LintEpsServer", uri: str) -> str | None:
    """The URI of the open notebook a cell belongs to (None for an ordinary document)."""
    notebook = server.workspace.get_notebook_document(cell_uri=uri)
    return notebook.uri if notebook is not None else None


def is_open_notebook(server: "LintEpsServer", uri: str) -> bool:
    return server.workspace.get_notebook_document(notebook_uri=uri) is not None


async def current(server: "LintEpsServer", notebook_uri: str) -> NotebookLint | None:
    """The lint of the notebook's current cells, from cache when nothing changed since."""
    state = snapshot(server, notebook_uri)
    if state is None:
        return None
    version, cells = state
    cached = server.notebooks.get(notebook_uri)
    if cached is not None:
        generation, lint = cached
        if generation == server.generation and lint.version == version and lint.cells == cells:
            return lint
    generation = server.generation
    program = Program.build([(cell.index, cell.text) for cell in cells])
    result = await server.run_lint(notebook_uri, version, program.source)
    related = server._capability("text_document", "publish_diagnostics", "related_information")
    lint = NotebookLint(notebook_uri, version, cells, result, program, server.encoding, related is not False)
    if is_open_notebook(server, notebook_uri):
        server.notebooks[notebook_uri] = (generation, lint)
    server._report_problems(lint.documents[cells[0].uri] if cells else Document(result, server.encoding))
    return lint


def publish(server: "LintEpsServer", lint: NotebookLint) -> None:
    """Each code cell's diagnostics (an empty list clears a cell), and empty lists for cells gone since."""
    published = server.published_cells.get(lint.uri, set())
    for document in lint.documents.values():
        server.publish(document)
    for gone in published - set(lint.documents):
        server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=gone, diagnostics=[]))
    server.published_cells[lint.uri] = set(lint.documents)


def close(server: "LintEpsServer", notebook_uri: str, cell_uris: list[str]) -> None:
    server.notebooks.pop(notebook_uri, None)
    for uri in server.published_cells.pop(notebook_uri, set()) | set(cell_uris):
        server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


def register(server: "LintEpsServer") -> None:
    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def did_open(ls: "LintEpsServer", params: types.DidOpenNotebookDocumentParams) -> None:
        ls.schedule(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def did_change(ls: "LintEpsServer", params: types.DidChangeNotebookDocumentParams) -> None:
        ls.schedule(params.notebook_document.uri, ls.debounce)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    def did_save(ls: "LintEpsServer", params: types.DidSaveNotebookDocumentParams) -> None:
        ls.schedule(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def did_close(ls: "LintEpsServer", params: types.DidCloseNotebookDocumentParams) -> None:
        uri = params.notebook_document.uri
        pending = ls.pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        close(ls, uri, [cell.uri for cell in params.cell_text_documents])

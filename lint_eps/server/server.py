"""The language server: document lifecycle, debounced linting, publishing, code actions, hover, settings.

Lints run one at a time on a worker thread, on a snapshot (text, version) taken when the lint starts, so the
server keeps reading messages while a big file is checked. A result is published only if the document is still
at the version that was linted; a newer version always has a lint of its own scheduled, so the editor never
keeps a stale set. Typing is debounced (`debounce` seconds after the last change); opening and saving lint at
once. Code actions and hovers lint the current version first if the debounce has not caught up yet.
"""

from __future__ import annotations

import asyncio
import os
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from .. import __version__
from ..config import CONFIG_NAMES, ConfigError
from . import notebooks
from .actions import FIX_ALL_KIND, Document, code_actions, hover
from ..project import forget_project_modules
from .lint import SECTION, ClientSettings, LintResult, lint_document, uri_to_path


DEBOUNCE_SECONDS = 0.3


class LintEpsServer(LanguageServer):
    def __init__(self, debounce: float = DEBOUNCE_SECONDS) -> None:
        super().__init__(
            "lint-eps",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            notebook_document_sync=notebooks.SYNC_OPTIONS,
        )
        self.debounce = debounce
        self.init_settings = ClientSettings()
        self.client_settings = ClientSettings()
        self.generation = 0  # bumped whenever settings may have changed: cached results are then stale
        self.documents: dict[str, tuple[int, Document]] = {}
        self.pending: dict[str, asyncio.Task[None]] = {}
        self.reported: set[str] = set()
        self.notebooks: dict[str, tuple[int, notebooks.NotebookLint]] = {}
        self.published_cells: dict[str, set[str]] = {}  # notebook URI -> the cell URIs given diagnostics
        self._executor: ThreadPoolExecutor | None = None

    # -- client capabilities ----------------------------------------------------------------------------
    @property
    def encoding(self) -> str:
        return str(self.workspace.position_encoding or "utf-16")

    def _capability(self, *path: str) -> Any:
        value: Any = self.client_capabilities
        for name in path:
            value = getattr(value, name, None)
            if value is None:
                return None
        return value

    @property
    def versioned_edits(self) -> bool:
        return bool(self._capability("workspace", "workspace_edit", "document_changes"))

    @property
    def markdown_hover(self) -> bool:
        formats = self._capability("text_document", "hover", "content_format")
        return formats is None or types.MarkupKind.Markdown in formats

    # -- messages to the user ---------------------------------------------------------------------------
    def log(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        self.window_log_message(types.LogMessageParams(type=kind, message=message))

    def show_once(self, message: str, kind: types.MessageType = types.MessageType.Error) -> None:
        """A popup, once per distinct message (a broken config would otherwise pop up on every keystroke)."""
        self.log(message, kind)
        if message not in self.reported:
            self.reported.add(message)
            self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    # -- linting ----------------------------------------------------------------------------------------
    def _open(self, uri: str) -> Any | None:
        # pygls keys its documents by the percent-decoded URI; everything sent back uses the client's spelling.
        return self.workspace.text_documents.get(unquote(uri))

    async def current(self, uri: str) -> Document | None:
        """The lint of the document's current text, from cache when nothing changed since (a notebook cell: its
        part of the notebook's lint)."""
        notebook = notebooks.cell_owner(self, uri)
        if notebook is not None:
            lint = await notebooks.current(self, notebook)
            return lint.documents.get(uri) if lint is not None else None
        text_document = self._open(uri)
        if text_document is None:
            return None
        text, version = text_document.source, text_document.version
        cached = self.documents.get(uri)
        if cached is not None:
            generation, document = cached
            if generation == self.generation and document.version == version and document.result.text == text:
                return document
        generation = self.generation
        result = await self.run_lint(uri, version, text)
        related = self._capability("text_document", "publish_diagnostics", "related_information")
        document = Document(result, self.encoding, related_information=related is not False)
        if self._open(uri) is not None:
            self.documents[uri] = (generation, document)
        self._report_problems(document)
        return document

    async def run_lint(self, uri: str, version: int | None, text: str) -> LintResult:
        """Lint `text` as the document `uri` on the lint thread (one lint at a time)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lint-eps-lint")
        root = self.workspace.root_path
        return await asyncio.get_running_loop().run_in_executor(self._executor, lint_document, uri, version, text, root, self.client_settings)

    def _report_problems(self, document: Document) -> None:
        result = document.result
        if result.config_error is not None:
            self.show_once(f"lint-eps: {result.config_error}")
        if result.crash is not None:
            self.log(f"lint-eps: internal error while checking {result.uri}:\n{result.crash}", types.MessageType.Error)
        for error in result.rule_errors:
            message = f"lint-eps: {result.path or result.uri}: {error.message}"
            if message not in self.reported:
                self.reported.add(message)
                self.log(message, types.MessageType.Warning)

    def schedule(self, uri: str, delay: float = 0.0) -> None:
        """(Re)start the lint of `uri`, replacing any lint still waiting for its debounce."""
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        self.pending[uri] = asyncio.ensure_future(self._lint_and_publish(uri, delay))

    async def _lint_and_publish(self, uri: str, delay: float) -> None:
        me = asyncio.current_task()
        try:
            if delay > 0:
                await asyncio.sleep(delay)
            if notebooks.is_open_notebook(self, uri):
                lint = await notebooks.current(self, uri)
                state = notebooks.snapshot(self, uri)
                if lint is not None and state is not None and state == (lint.version, lint.cells):
                    notebooks.publish(self, lint)
                return  # closed, or changed while linting: that change scheduled its own lint
            document = await self.current(uri)
            text_document = self._open(uri)
            if document is None or text_document is None or text_document.version != document.version:
                return  # closed, or changed while linting: that change scheduled its own lint
            self.publish(document)
        except asyncio.CancelledError:
            raise
        except Exception:  # never let one document take the server down
            self.log(f"lint-eps: internal error while checking {uri}:\n{traceback.format_exc()}", types.MessageType.Error)
        finally:
            if self.pending.get(uri) is me:
                del self.pending[uri]

    def publish(self, document: Document) -> None:
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=document.uri, version=document.version, diagnostics=document.published())
        )

    def relint_importers(self, uri: str) -> None:
        """Open documents whose findings used the summary of the file at `uri` (issue 12): linted again, since
        what it returns, or what its classes hold, may have changed."""
        path = uri_to_path(uri)
        if path is None:
            return
        path = os.path.abspath(path)
        for other, (_, document) in list(self.documents.items()):
            if other != uri and path in document.result.deps:
                self.documents.pop(other, None)
                self.schedule(other)
        for notebook_uri, (_, lint) in list(self.notebooks.items()):  # a notebook importing the module
            if path in lint.result.deps:
                self.notebooks.pop(notebook_uri, None)
                self.schedule(notebook_uri)

    def relint_all(self) -> None:
        self.generation += 1
        self.reported.clear()
        for text_document in list(self.workspace.text_documents.values()):
            if notebooks.cell_owner(self, text_document.uri) is None:  # a cell is linted with its notebook
                self.schedule(text_document.uri)
        for notebook_uri in list(self.workspace.notebook_documents):
            self.schedule(notebook_uri)

    # -- settings ---------------------------------------------------------------------------------------
    def set_client_settings(self, raw: Any) -> None:
        try:
            self.client_settings = ClientSettings.parse(raw)
        except ConfigError as exc:
            self.show_once(f"lint-eps: {exc} (editor settings ignored)")
            self.client_settings = self.init_settings

    async def pull_settings(self) -> bool:
        """Ask the client for the `lint-eps` section (workspace/configuration); False if it cannot answer."""
        if not self._capability("workspace", "configuration"):
            return False
        try:
            values = await self.workspace_configuration_async(types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)]))
        except Exception as exc:
            self.log(f"lint-eps: workspace/configuration failed: {exc}", types.MessageType.Warning)
            return False
        value = values[0] if values else None
        if not value:  # nothing configured in the editor: the initializationOptions stand
            self.client_settings = self.init_settings
        else:
            self.set_client_settings({SECTION: value})
        return True


def create_server(debounce: float = DEBOUNCE_SECONDS) -> LintEpsServer:
    server = LintEpsServer(debounce)

    @server.feature(types.INITIALIZE)
    def initialize(ls: LintEpsServer, params: types.InitializeParams) -> None:
        if params.initialization_options is not None:
            ls.set_client_settings(params.initialization_options)
            ls.init_settings = ls.client_settings

    @server.feature(types.INITIALIZED)
    async def initialized(ls: LintEpsServer, params: types.InitializedParams) -> None:
        if ls._capability("workspace", "did_change_watched_files", "dynamic_registration"):
            watchers = [types.FileSystemWatcher(glob_pattern=f"**/{name}") for name in CONFIG_NAMES]
            watchers.append(types.FileSystemWatcher(glob_pattern="**/*.py"))  # modules others import (issue 12)
            try:
                await ls.client_register_capability_async(
                    types.RegistrationParams(
                        registrations=[
                            types.Registration(
                                id="lint-eps-config-files",
                                method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                                register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers),
                            )
                        ]
                    )
                )
            except Exception as exc:
                ls.log(f"lint-eps: could not watch config files: {exc}", types.MessageType.Warning)
        before = ls.client_settings
        if await ls.pull_settings() and ls.client_settings != before:
            ls.relint_all()

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: LintEpsServer, params: None) -> None:
        for task in ls.pending.values():
            task.cancel()
        ls.pending.clear()
        if ls._executor is not None:
            ls._executor.shutdown(wait=False, cancel_futures=True)
            ls._executor = None

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: LintEpsServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: LintEpsServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, ls.debounce)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: LintEpsServer, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        if uri.rsplit("/", 1)[-1] in CONFIG_NAMES:
            ls.relint_all()
        else:
            if ls._open(uri) is not None:
                ls.schedule(uri)
            ls.relint_importers(uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: LintEpsServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        pending = ls.pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        ls.documents.pop(uri, None)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND], resolve_provider=False),
    )
    async def code_action(ls: LintEpsServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        document = await ls.current(params.text_document.uri)
        if document is None:
            return None
        return code_actions(document, params.range, params.context.only, versioned=ls.versioned_edits)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def on_hover(ls: LintEpsServer, params: types.HoverParams) -> types.Hover | None:
        document = await ls.current(params.text_document.uri)
        if document is None:
            return None
        return hover(document, params.position, ls.markdown_hover)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: LintEpsServer, params: types.DidChangeConfigurationParams) -> None:
        settings = params.settings
        if isinstance(settings, dict) and SECTION in settings:
            ls.set_client_settings(settings)
        elif not await ls.pull_settings():
            ls.set_client_settings(settings)
        # The config files may have changed too: everything is re-read.
        ls.relint_all()

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: LintEpsServer, params: types.DidChangeWatchedFilesParams) -> None:
        if any(change.uri.rsplit("/", 1)[-1] in CONFIG_NAMES for change in params.changes):
            ls.relint_all()
            return
        if any(change.type != types.FileChangeType.Changed for change in params.changes):
            forget_project_modules()  # a module created or deleted: imports resolve differently
        for change in params.changes:  # a module changed on disk (a checkout, another editor)
            ls.relint_importers(change.uri)

    notebooks.register(server)
    return server

"""`lint-eps server`: the real server process driven over stdio by a real LSP client (pytest-lsp / pygls).

Each test starts `python -m lint_eps server`, initializes it with a real editor's client capabilities
(VS Code: UTF-16 positions, versioned workspace edits; Neovim 0.11: UTF-8 positions), and drives the editor's
side of the protocol: open, publishDiagnostics, codeAction, applying the returned edit to the client's copy of
the text (with this file's own position arithmetic, not the server's), didChange, the refreshed diagnostics,
shutdown/exit. Nothing waits a fixed time: every step waits for the notification it needs (the waits have a
generous ceiling only so a broken server fails the test instead of hanging it).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from hypothesis import given, settings, strategies as st
from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

from lint_eps.fixes import fix_source
from lint_eps.server.convert import PositionMapper, apply_text_edits, diff_edits

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

WAIT = 120  # seconds: a ceiling against hangs, never a timing assumption

VSCODE = "visual-studio-code"
NEOVIM = "neovim@v0.11.0"

BCE = '''\
import tensorflow as tf


def bce(y, logits):
    # 🔥 hot path: log the loss with an emoji tag
    print("🔥 loss", tf.math.log(tf.sigmoid(logits)))
    return -tf.reduce_mean(y * tf.math.log(tf.sigmoid(logits)) + (1 - y) * tf.math.log(1 - tf.sigmoid(logits)))
'''


# -- the client side -------------------------------------------------------------------------------------


class Editor:
    """A test editor: a pytest-lsp client plus the editor's copy of each open document."""

    def __init__(self, client: LanguageClient, encoding: str) -> None:
        self.client = client
        self.encoding = encoding
        self.published: list[types.PublishDiagnosticsParams] = []
        self.registrations: list[types.Registration] = []
        self.texts: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self.capabilities: types.ServerCapabilities | None = None
        self._arrived = asyncio.Event()

    # notifications from the server
    def on_publish(self, params: types.PublishDiagnosticsParams) -> None:
        self.published.append(params)
        self._arrived.set()

    async def next_publish(self, uri: str, *, version: int | None = None, after: int = 0) -> list[types.Diagnostic]:
        """The first diagnostics published for `uri` (at `version`, if given) after the `after`-th publish."""

        async def wait() -> list[types.Diagnostic]:
            seen = after
            while True:
                for params in self.published[seen:]:
                    if params.uri == uri and (version is None or params.version == version):
                        return list(params.diagnostics)
                seen = len(self.published)
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(wait(), WAIT)

    def mark(self) -> int:
        return len(self.published)

    # the editor's own document handling
    def open(self, path: Path, text: str | None = None) -> str:
        uri = path.as_uri()
        text = path.read_text(encoding="utf-8") if text is None else text
        self.texts[uri] = text
        self.versions[uri] = 1
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text))
        )
        return uri

    def offset(self, text: str, position: types.Position) -> int:
        """An LSP position as an index into `text`, counting units the way the client negotiated."""
        lines = text.splitlines(keepends=True)
        start = sum(len(line) for line in lines[: position.line])
        line = lines[position.line] if position.line < len(lines) else ""
        codec = {"utf-16": "utf-16-le", "utf-8": "utf-8", "utf-32": "utf-32-le"}[self.encoding]
        width = {"utf-16": 2, "utf-8": 1, "utf-32": 4}[self.encoding]
        encoded = line.encode(codec)[: position.character * width]
        return start + len(encoded.decode(codec))

    def position(self, text: str, index: int) -> types.Position:
        before = text[:index]
        line = before.count("\n")
        column_text = before[before.rfind("\n") + 1 :]
        codec = {"utf-16": "utf-16-le", "utf-8": "utf-8", "utf-32": "utf-32-le"}[self.encoding]
        width = {"utf-16": 2, "utf-8": 1, "utf-32": 4}[self.encoding]
        return types.Position(line=line, character=len(column_text.encode(codec)) // width)

    def range_of(self, uri: str, needle: str, occurrence: int = 0) -> types.Range:
        text = self.texts[uri]
        index = -1
        for _ in range(occurrence + 1):
            index = text.index(needle, index + 1)
        return types.Range(start=self.position(text, index), end=self.position(text, index + len(needle)))

    def change(self, uri: str, edits: list[types.TextEdit]) -> int:
        """Apply edits to the editor's copy and send them as incremental changes; returns the new version."""
        text = self.texts[uri]
        changes = []
        # Apply back to front so that every edit's range is still valid, as editors do.
        for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
            start, end = self.offset(text, edit.range.start), self.offset(text, edit.range.end)
            text = text[:start] + edit.new_text + text[end:]
            changes.append(types.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text))
        self.texts[uri] = text
        self.versions[uri] += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
                content_changes=changes,
            )
        )
        return self.versions[uri]

    def replace(self, uri: str, old: str, new: str) -> int:
        text = self.texts[uri]
        index = text.index(old)
        return self.change(uri, [types.TextEdit(range=types.Range(start=self.position(text, index), end=self.position(text, index + len(old))), new_text=new)])

    def apply(self, uri: str, edit: types.WorkspaceEdit) -> int:
        """Apply a code action's workspace edit the way an editor does (refusing one for another version)."""
        if edit.document_changes is not None:
            (change,) = edit.document_changes
            assert isinstance(change, types.TextDocumentEdit)
            assert change.text_document.uri == uri
            assert change.text_document.version == self.versions[uri], "edit computed for another version"
            edits = list(change.edits)
        else:
            assert edit.changes is not None
            edits = list(edit.changes[uri])
        return self.change(uri, edits)  # type: ignore[arg-type]

    async def actions(self, uri: str, range_: types.Range, diagnostics: list[types.Diagnostic], only: list[str] | None = None) -> list[types.CodeAction]:
        result = await asyncio.wait_for(
            self.client.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    range=range_,
                    context=types.CodeActionContext(diagnostics=diagnostics, only=only),  # type: ignore[arg-type]
                )
            ),
            WAIT,
        )
        return [a for a in result or [] if isinstance(a, types.CodeAction)]


def _capabilities(name: str) -> types.ClientCapabilities:
    return client_capabilities(name)


@contextlib.asynccontextmanager
async def editor(
    root: Path,
    client_name: str = VSCODE,
    *,
    initialization_options: Any = None,
    configuration: dict[str, Any] | None = None,
    server: list[str] | None = None,
    notebooks: bool = False,
) -> AsyncIterator[Editor]:
    """A server process for the project at `root`, initialized; shut down and exited on leaving."""
    client = LanguageClient(converter_factory=default_converter, configuration=configuration)
    features = {m: f for m, f in DEFAULT_CLIENT_FEATURES.items() if m != types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS}
    register_lsp_features(client, features)
    capabilities = _capabilities(client_name)
    if notebooks:  # what VS Code adds (pytest-lsp's recorded capabilities predate notebook sync)
        capabilities.notebook_document = types.NotebookDocumentClientCapabilities(
            synchronization=types.NotebookDocumentSyncClientCapabilities(dynamic_registration=True, execution_summary_support=True)
        )
    general = capabilities.general
    encoding = str(general.position_encodings[0]) if general and general.position_encodings else "utf-16"
    ed = Editor(client, encoding)

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def publish(_client: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
        ed.on_publish(params)

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(_client: LanguageClient, params: types.RegistrationParams) -> None:
        ed.registrations.extend(params.registrations)

    await client.start_io(sys.executable, *(server or ["-m", "lint_eps", "server"]), cwd=str(root))
    try:
        result = await asyncio.wait_for(
            client.initialize_session(
                types.InitializeParams(
                    capabilities=capabilities,
                    root_uri=root.as_uri(),
                    workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
                    initialization_options=initialization_options,
                )
            ),
            WAIT,
        )
        assert result.server_info is not None and result.server_info.name == "lint-eps"
        assert str(result.capabilities.position_encoding or "utf-16") == encoding
        ed.capabilities = result.capabilities
        yield ed
        await asyncio.wait_for(client.shutdown_session(), WAIT)
        assert client._server is not None and client._server.returncode == 0
    finally:
        if client._server is not None and client._server.returncode is None:
            client._server.kill()  # a failed test: do not wait for a clean exit that will not come
        await client.stop()


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    """A project in a folder whose name needs percent-encoding in URIs (a space, a non-ASCII letter)."""
    root = tmp_path / "ml prøject"
    (root / "src").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n\n[tool.lint-eps]\n", encoding="utf-8")
    return root


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# -- end to end ------------------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("client_name", [VSCODE, NEOVIM])
async def test_safe_quick_fix_round_trip_with_non_bmp_characters(proj: Path, client_name: str) -> None:
    path = write(proj / "src" / "loss.py", BCE)
    async with editor(proj, client_name) as ed:
        uri = ed.open(path)
        diagnostics = await ed.next_publish(uri, version=1)
        assert [d.code for d in diagnostics] == ["EPS202", "EPS202", "EPS202"]
        first = diagnostics[0]
        # The range is the offending expression, counted in the negotiated units past the two-unit emoji.
        assert first.range == ed.range_of(uri, "tf.math.log(tf.sigmoid(logits))")
        assert first.range.start.character == {"utf-16": 21, "utf-8": 23}[ed.encoding]
        assert first.source == "lint-eps"
        assert first.severity == types.DiagnosticSeverity.Warning
        assert first.code_description is not None and first.code_description.href.endswith("/EPS202.md")
        assert "underflows" in first.message and "log_sigmoid" in first.message and "\n" not in first.message
        assert diagnostics[2].range == ed.range_of(uri, "tf.math.log(1 - tf.sigmoid(logits))")

        actions = await ed.actions(uri, first.range, [first])
        fixes = [a for a in actions if a.kind == types.CodeActionKind.QuickFix and "safe fix" in a.title]
        assert [a.title for a in fixes] == ["EPS202: Replace with `tf.math.log_sigmoid(logits)` (safe fix)"]
        fix = fixes[0]
        assert fix.is_preferred and list(fix.diagnostics or []) == [first]
        assert fix.edit is not None
        version = ed.apply(uri, fix.edit)
        assert '    print("🔥 loss", tf.math.log_sigmoid(logits))\n' in ed.texts[uri]

        refreshed = await ed.next_publish(uri, version=version)
        assert [d.range for d in refreshed] == [
            ed.range_of(uri, "tf.math.log(tf.sigmoid(logits))"),
            ed.range_of(uri, "tf.math.log(1 - tf.sigmoid(logits))"),
        ]


CROSS_ENTROPY = '''\
import tensorflow as tf


def cross_entropy(y_true, y_pred):
    # 🔥 y_pred comes out of a softmax
    return -tf.reduce_sum(y_true * tf.math.log(y_pred), axis=-1)
'''


@pytest.mark.asyncio
async def test_unsafe_quick_fix_round_trip(proj: Path) -> None:
    path = write(proj / "src" / "metrics.py", CROSS_ENTROPY)
    async with editor(proj) as ed:
        uri = ed.open(path)
        (finding,) = await ed.next_publish(uri, version=1)
        assert finding.code == "EPS201"
        assert finding.range == ed.range_of(uri, "tf.math.log(y_pred)")

        actions = await ed.actions(uri, finding.range, [finding])
        (fix,) = [a for a in actions if a.title.startswith("EPS201: ") and "fix" in a.title and "Disable" not in a.title]
        # The user sees that this fix changes what the code computes, and it is not the preferred action.
        assert fix.title.endswith("(unsafe fix: may change behaviour, review it)")
        assert not fix.is_preferred
        # Fix-all applies safe fixes only: an unsafe one is never applied behind the user's back.
        assert await ed.actions(uri, finding.range, [], only=["source.fixAll"]) == []

        assert fix.edit is not None
        version = ed.apply(uri, fix.edit)
        assert ed.texts[uri] == fix_source(CROSS_ENTROPY, str(path), unsafe=True).text  # what `--fix --unsafe-fixes` writes
        assert ed.texts[uri] != CROSS_ENTROPY
        assert await ed.next_publish(uri, version=version) == []


@pytest.mark.asyncio
async def test_noqa_action_adds_or_extends_the_comment(proj: Path) -> None:
    path = write(
        proj / "src" / "loss.py",
        """\
        import torch


        def nll(logits, target):
            probs = torch.softmax(logits, dim=-1)
            picked = torch.log(torch.softmax(logits, dim=-1))  # noqa: E501
            return -torch.log(torch.sigmoid(logits)).mean() + picked.mean()
        """,
    )
    async with editor(proj) as ed:
        uri = ed.open(path)
        diagnostics = await ed.next_publish(uri, version=1)
        assert [(d.code, d.range.start.line) for d in diagnostics] == [("EPS202", 5), ("EPS202", 6)]

        # A line with another tool's noqa: the code is added to it.
        actions = await ed.actions(uri, diagnostics[0].range, [diagnostics[0]])
        (disable,) = [a for a in actions if a.title == "Disable EPS202 for this line"]
        assert disable.edit is not None
        version = ed.apply(uri, disable.edit)
        assert "    picked = torch.log(torch.softmax(logits, dim=-1))  # noqa: E501, EPS202\n" in ed.texts[uri]
        remaining = await ed.next_publish(uri, version=version)
        assert [(d.code, d.range.start.line) for d in remaining] == [("EPS202", 6)]

        # A line without a comment gets one.
        actions = await ed.actions(uri, remaining[0].range, remaining)
        (disable,) = [a for a in actions if a.title == "Disable EPS202 for this line"]
        version = ed.apply(uri, disable.edit)  # type: ignore[arg-type]
        assert "    return -torch.log(torch.sigmoid(logits)).mean() + picked.mean()  # noqa: EPS202\n" in ed.texts[uri]
        assert await ed.next_publish(uri, version=version) == []


@pytest.mark.asyncio
async def test_fix_all_applies_every_safe_fix_with_minimal_edits(proj: Path) -> None:
    path = write(proj / "src" / "loss.py", BCE)
    async with editor(proj) as ed:
        uri = ed.open(path)
        diagnostics = await ed.next_publish(uri, version=1)
        assert len(diagnostics) == 3
        whole = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=7, character=0))
        actions = await ed.actions(uri, whole, [], only=["source.fixAll"])
        assert [(a.kind, a.title) for a in actions] == [("source.fixAll.lint-eps", "Fix all safely fixable lint-eps findings")]
        edit = actions[0].edit
        assert edit is not None and edit.document_changes is not None
        edits = edit.document_changes[0].edits  # type: ignore[union-attr]
        # One edit per changed region, each inside the line it changes: never a whole-document replacement.
        assert len(edits) == 2
        assert all(e.range.start.line == e.range.end.line for e in edits)
        assert [e.range.start.line for e in edits] == [5, 6]
        version = ed.apply(uri, edit)
        assert ed.texts[uri] == fix_source(BCE, str(path)).text  # what `lint-eps --fix` writes
        assert "tf.math.log_sigmoid(-logits)" in ed.texts[uri]
        assert await ed.next_publish(uri, version=version) == []

        # Nothing left to fix: no fix-all action, and quick-fix-only requests never get it.
        assert await ed.actions(uri, whole, [], only=["source.fixAll"]) == []


@pytest.mark.asyncio
async def test_hover_explains_the_rule(proj: Path) -> None:
    path = write(proj / "src" / "loss.py", BCE)
    async with editor(proj) as ed:
        uri = ed.open(path)
        diagnostics = await ed.next_publish(uri, version=1)
        inside = diagnostics[0].range.start
        inside = types.Position(line=inside.line, character=inside.character + 3)
        hover = await asyncio.wait_for(
            ed.client.text_document_hover_async(types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=inside)),
            WAIT,
        )
        assert hover is not None and isinstance(hover.contents, types.MarkupContent)
        assert hover.contents.kind == types.MarkupKind.Markdown
        text = hover.contents.value
        assert text.startswith("**EPS202** `log-of-activation`: Log of a sigmoid/softmax output")
        # The one-line message, then this finding's own explanation (what the editor's one line leaves out).
        assert "`log(sigmoid(x))` is -inf once sigmoid(x) underflows; use `tf.math.log_sigmoid(logits)`" in text
        assert "`log(sigmoid(x))` is -inf once sigmoid(x) underflows (x < -88.7 in float32, -17.3 in float16)" in text
        assert "Fix (safe): Replace with `tf.math.log_sigmoid(logits)`" in text
        assert "`# noqa: EPS202`" in text and "docs/rules/EPS202.md" in text
        assert hover.range == diagnostics[0].range

        elsewhere = types.Position(line=0, character=3)
        nothing = await ed.client.text_document_hover_async(types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=elsewhere))
        assert nothing is None


@pytest.mark.asyncio
async def test_syntax_error_while_typing_replaces_the_findings_and_recovers(proj: Path) -> None:
    path = write(proj / "src" / "loss.py", BCE)
    async with editor(proj) as ed:
        uri = ed.open(path)
        assert len(await ed.next_publish(uri, version=1)) == 3

        # The user starts typing a call on a new line: the file no longer parses.
        version = ed.replace(uri, "    return -tf", "    z = tf.reduce_sum(logits\n    return -tf")
        broken = await ed.next_publish(uri, version=version)
        assert [(d.code, d.severity) for d in broken] == [("EPS001", types.DiagnosticSeverity.Error)]
        assert "never closed" in broken[0].message
        assert broken[0].range.start.line == 6
        # Code actions and hovers on the broken text answer instead of failing; a syntax error cannot be noqa'd.
        assert await ed.actions(uri, broken[0].range, broken) == []

        # More typing, still broken, then the closing parenthesis: the findings come back.
        version = ed.replace(uri, "reduce_sum(logits\n", "reduce_sum(logits,\n")
        assert [d.code for d in await ed.next_publish(uri, version=version)] == ["EPS001"]
        version = ed.replace(uri, "reduce_sum(logits,\n", "reduce_sum(logits)\n")
        assert [d.code for d in await ed.next_publish(uri, version=version)] == ["EPS202", "EPS202", "EPS202"]


@pytest.mark.asyncio
async def test_rapid_changes_publish_only_current_results(proj: Path) -> None:
    path = write(proj / "src" / "loss.py", BCE)
    async with editor(proj) as ed:
        uri = ed.open(path)
        await ed.next_publish(uri, version=1)
        start = ed.mark()
        # Three keystrokes in a row; whatever the debounce lets through must describe the text of its version.
        ed.replace(uri, "    return -tf", "    z = (\n    return -tf")
        ed.replace(uri, "    z = (\n", "    z = (1\n")
        last = ed.replace(uri, "    z = (1\n", "    z = (1)\n")
        final = await ed.next_publish(uri, version=last, after=start)
        assert [d.code for d in final] == ["EPS202", "EPS202", "EPS202"]
        for params in ed.published[start:]:
            codes = [d.code for d in params.diagnostics]
            assert codes == (["EPS202"] * 3 if params.version == last else ["EPS001"])
        # A document closed by the editor has its diagnostics cleared.
        mark = ed.mark()
        ed.client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
        assert await ed.next_publish(uri, after=mark) == []
    # After shutdown nothing can arrive any more: the last set the editor got is the closing (empty) one.
    assert list([p for p in ed.published if p.uri == uri][-1].diagnostics) == []


@pytest.mark.asyncio
async def test_configuration_changes_apply_without_restart(proj: Path) -> None:
    path = write(proj / "src" / "loss.py", BCE)
    async with editor(proj) as ed:
        uri = ed.open(path)
        assert len(await ed.next_publish(uri, version=1)) == 3

        # Editor settings pushed with didChangeConfiguration.
        mark = ed.mark()
        ed.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"lint-eps": {"ignore": ["EPS202"]}}))
        assert await ed.next_publish(uri, after=mark) == []

        # Pull model: the notification carries nothing, the server asks workspace/configuration.
        mark = ed.mark()
        ed.client.set_configuration({"select": ["EPS202"]}, section="lint-eps")
        ed.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
        assert len(await ed.next_publish(uri, after=mark)) == 3

        # The project's pyproject.toml edited on disk (the client reports watched files): picked up too.
        assert [r.method for r in ed.registrations] == [types.WORKSPACE_DID_CHANGE_WATCHED_FILES]
        patterns = [w["globPattern"] for w in ed.registrations[0].register_options["watchers"]]  # type: ignore[index]
        assert "**/pyproject.toml" in patterns and "**/*.py" in patterns
        pyproject = proj / "pyproject.toml"
        pyproject.write_text("[tool.lint-eps]\nper-file-ignores = { 'src/*.py' = ['EPS202'] }\n", encoding="utf-8")
        mark = ed.mark()
        ed.client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(changes=[types.FileEvent(uri=pyproject.as_uri(), type=types.FileChangeType.Changed)])
        )
        assert await ed.next_publish(uri, after=mark) == []

        # A broken config is reported (diagnostic + one popup), not a crash; fixing it brings findings back.
        pyproject.write_text("[tool.lint-eps]\nselct = ['EPS202']\n", encoding="utf-8")
        mark = ed.mark()
        ed.client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(changes=[types.FileEvent(uri=pyproject.as_uri(), type=types.FileChangeType.Changed)])
        )
        (problem,) = await ed.next_publish(uri, after=mark)
        assert problem.severity == types.DiagnosticSeverity.Error and "unknown key `selct`" in problem.message
        assert any("unknown key `selct`" in m.message and m.type == types.MessageType.Error for m in ed.client.messages)
        version = ed.replace(uri, "# 🔥", "# 🔥🔥")
        (again,) = await ed.next_publish(uri, version=version)
        assert "selct" in again.message
        assert sum("selct" in m.message for m in ed.client.messages) == 1  # one popup, not one per keystroke

        pyproject.write_text("[tool.lint-eps]\nselect = ['EPS202']\n", encoding="utf-8")
        mark = ed.mark()
        ed.client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(changes=[types.FileEvent(uri=pyproject.as_uri(), type=types.FileChangeType.Changed)])
        )
        assert len(await ed.next_publish(uri, after=mark)) == 3


@pytest.mark.asyncio
async def test_saving_a_module_refreshes_the_open_files_that_import_it(proj: Path) -> None:
    """Issue 12: train.py's finding depends on what nets.py's discriminator() returns."""
    nets = write(proj / "src" / "nets.py", """\
        import torch


        def discriminator(x, w):
            return torch.sigmoid(x @ w)
        """)
    train = write(proj / "src" / "train.py", """\
        import torch

        from nets import discriminator


        def d_loss(x, w):
            return -torch.log(discriminator(x, w)).mean()
        """)
    async with editor(proj) as ed:
        train_uri = ed.open(train)
        (finding,) = await ed.next_publish(train_uri, version=1)
        assert finding.code == "EPS201"
        nets_uri = ed.open(nets)
        await ed.next_publish(nets_uri, version=1)
        # The user makes discriminator() return logits and saves nets.py: train.py is re-linted.
        version = ed.replace(nets_uri, "return torch.sigmoid(x @ w)", "return x @ w")
        await ed.next_publish(nets_uri, version=version)
        nets.write_text(ed.texts[nets_uri], encoding="utf-8")
        mark = ed.mark()
        ed.client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=nets_uri)))
        assert await ed.next_publish(train_uri, after=mark) == []


@pytest.mark.asyncio
async def test_initialization_options_and_bad_editor_settings(proj: Path) -> None:
    path = write(proj / "src" / "loss.py", BCE)
    async with editor(proj, initialization_options={"lint-eps": {"ignore": ["EPS202"]}}) as ed:
        uri = ed.open(path)
        assert await ed.next_publish(uri, version=1) == []
        mark = ed.mark()
        ed.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"lint-eps": {"ignore": ["EPS999"]}}))
        # An unknown code in the editor settings is shown to the user; the server keeps serving.
        await ed.next_publish(uri, after=mark)
        assert any("EPS999" in m.message for m in ed.client.messages)


@pytest.mark.asyncio
async def test_neovim_empty_settings_table_means_no_settings(proj: Path) -> None:
    """Neovim encodes an empty Lua table as the JSON array `[]`: `settings = { ["lint-eps"] = {} }` arrives as
    `{"lint-eps": []}` (didChangeConfiguration after initialized) and as `[]` (workspace/configuration), and
    `init_options = {}` as `[]`. None of them is an error: no popup, and the findings arrive."""
    path = write(proj / "src" / "loss.py", BCE)
    async with editor(proj, NEOVIM, initialization_options=[], configuration={"": {"lint-eps": []}}) as ed:
        ed.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"lint-eps": []}))
        uri = ed.open(path)
        assert len(await ed.next_publish(uri, version=1)) == 3
        mark = ed.mark()
        ed.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=[]))
        assert len(await ed.next_publish(uri, after=mark)) == 3
    assert [m.message for m in ed.client.messages] == []
    assert not [m.message for m in ed.client.log_messages if m.type == types.MessageType.Error]


@pytest.mark.asyncio
async def test_excluded_files_get_no_findings(proj: Path) -> None:
    (proj / "pyproject.toml").write_text("[tool.lint-eps]\nextend-exclude = ['generated']\n", encoding="utf-8")
    (proj / "generated").mkdir()
    generated = write(proj / "generated" / "model_pb.py", BCE)
    source = write(proj / "src" / "loss.py", BCE)
    async with editor(proj) as ed:
        assert await ed.next_publish(ed.open(generated), version=1) == []
        assert len(await ed.next_publish(ed.open(source), version=1)) == 3


# Fault injection into the real server process: a rule that raises, and an engine that crashes on some text.
BROKEN_RULE = """\
import lint_eps.registry as registry

def visit_Call(self, node):
    raise KeyError("boom")

registry.all_rules()["EPS202"].visit_Call = visit_Call
from lint_eps.cli import main
main(["server"])
"""

BROKEN_ENGINE = """\
import lint_eps.server.lint as lint

real = lint.lint_source

def flaky(source, *args, **kwargs):
    if "CRASH" in source:
        raise RuntimeError("engine bug")
    return real(source, *args, **kwargs)

lint.lint_source = flaky
from lint_eps.cli import main
main(["server"])
"""


@pytest.mark.asyncio
async def test_a_failing_rule_is_logged_to_the_client_not_raised(proj: Path) -> None:
    path = write(proj / "src" / "loss.py", BCE)
    async with editor(proj, server=["-c", BROKEN_RULE]) as ed:
        uri = ed.open(path)
        diagnostics = await ed.next_publish(uri, version=1)
        assert [d.code for d in diagnostics] == ["EPS002"]
        assert "internal error in rule EPS202" in diagnostics[0].message and "KeyError" in diagnostics[0].message
        logged = [m for m in ed.client.log_messages if "EPS202" in m.message]
        assert logged and logged[0].type == types.MessageType.Warning
        # Still serving: edits are linted, requests answered.
        version = ed.replace(uri, "# 🔥", "# 🔥🔥")
        assert [d.code for d in await ed.next_publish(uri, version=version)] == ["EPS002"]
        assert len([m for m in ed.client.log_messages if "EPS202" in m.message]) == 1  # logged once, not per keystroke


@pytest.mark.asyncio
async def test_an_engine_crash_is_reported_and_the_next_edit_recovers(proj: Path) -> None:
    path = write(proj / "src" / "loss.py", BCE.replace("hot path", "CRASH path"))
    async with editor(proj, server=["-c", BROKEN_ENGINE]) as ed:
        uri = ed.open(path)
        (crash,) = await ed.next_publish(uri, version=1)
        assert crash.code == "EPS002" and "could not check this file" in crash.message and "engine bug" in crash.message
        assert any("Traceback" in m.message and m.type == types.MessageType.Error for m in ed.client.log_messages)
        assert await ed.actions(uri, crash.range, [crash]) == []  # nothing to fix or suppress: it is our bug
        version = ed.replace(uri, "CRASH path", "hot path")
        assert [d.code for d in await ed.next_publish(uri, version=version)] == ["EPS202", "EPS202", "EPS202"]


@pytest.mark.asyncio
async def test_untitled_buffer_is_linted_with_the_workspace_settings(proj: Path) -> None:
    (proj / "pyproject.toml").write_text("[tool.lint-eps]\nignore = ['EPS202']\n", encoding="utf-8")
    async with editor(proj) as ed:
        uri = "untitled:Untitled-1"
        ed.texts[uri] = CROSS_ENTROPY + BCE
        ed.versions[uri] = 1
        ed.client.text_document_did_open(
            types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=ed.texts[uri]))
        )
        assert [d.code for d in await ed.next_publish(uri, version=1)] == ["EPS201"]


# -- the command -----------------------------------------------------------------------------------------


# Runs the CLI in an environment where some modules cannot be imported, as if they were not installed.
WITHOUT = """\
import sys

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if any(name == blocked or name.startswith(blocked + ".") for blocked in sys.argv[1].split(",")):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NotInstalled())
from lint_eps.cli import main
main(sys.argv[2:])
"""


def _readme_server_check() -> list[str]:
    """The check the README's editor section tells users to run, as arguments to lint-eps."""
    from readme_snippets import readme_blocks

    (line,) = [line for block in readme_blocks("## Editor integration", "sh") for line in block.splitlines() if line.startswith("lint-eps server")]
    return line.split("#", 1)[0].split()[1:]


@pytest.mark.parametrize("missing", ["pygls", "lsprotocol", "pygls.lsp.server"])  # the last: pygls 1.x
@pytest.mark.parametrize("args", [["server"], "readme-check"])
def test_server_without_the_lsp_extra_exits_2_with_the_install_command(tmp_path: Path, missing: str, args: Any) -> None:
    args = _readme_server_check() if args == "readme-check" else args
    done = subprocess.run([sys.executable, "-c", WITHOUT, missing, *args], cwd=tmp_path, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "pip install 'lint-eps[lsp] @ git+https://github.com/lint-eps/lint-eps'" in done.stderr
    assert f"No module named '{missing}'" in done.stderr
    assert "Traceback" not in done.stderr
    # `--help` cannot tell: it works without the extra.
    assert subprocess.run([sys.executable, "-c", WITHOUT, missing, "server", "--help"], cwd=tmp_path, capture_output=True, timeout=120).returncode == 0


def test_readme_server_check_passes_with_the_lsp_extra(tmp_path: Path) -> None:
    from importlib.metadata import version

    args = _readme_server_check()
    assert args == ["server", "--check"]
    done = subprocess.run([sys.executable, "-m", "lint_eps", *args], cwd=tmp_path, capture_output=True, text=True, timeout=120, stdin=subprocess.PIPE)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == f"lint-eps server: ready (pygls {version('pygls')}, lsprotocol {version('lsprotocol')}; {sys.executable})\n"


def test_cli_help_does_not_import_pygls(tmp_path: Path) -> None:
    code = "import sys; sys.argv = ['lint-eps', '--help']\nfrom lint_eps.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass\nprint('pygls' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "server" in done.stdout
    assert done.stdout.strip().endswith("False")


# -- position and edit arithmetic ------------------------------------------------------------------------


def test_positions_in_every_encoding() -> None:
    text = 'x = "🔥é"; y = 1\r\nz = 2\n'
    start = text.index("y")
    expected = {"utf-16": 11, "utf-8": 14, "utf-32": 10}
    for encoding, character in expected.items():
        mapper = PositionMapper(text, encoding)
        assert mapper.position(1, start + 1) == types.Position(line=0, character=character)
        assert mapper.location(types.Position(line=0, character=character)) == (1, start + 1)
        assert mapper.position(2, 1) == types.Position(line=1, character=0)
        # Past the end of a line clamps to it.
        assert mapper.location(types.Position(line=1, character=99)) == (2, 6)


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="ab\r\n🔥é ", max_size=30),
    st.text(alphabet="ab\r\n🔥é ", max_size=30),
    st.sampled_from(["utf-16", "utf-8", "utf-32"]),
)
def test_diff_edits_reproduce_the_target(old: str, new: str, encoding: str) -> None:
    edits = diff_edits(old, new, PositionMapper(old, encoding))
    assert apply_text_edits(old, edits, encoding) == new
    if old == new:
        assert edits == []


# -- notebooks ---------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_notebook_document_gets_diagnostics_and_quick_fixes_per_cell(proj: Path) -> None:
    """A notebook opened as VS Code opens one (notebookDocument/didOpen with its cells as text documents): the
    cells are one program, each cell gets its own diagnostics, and a quick fix edits the cell it is in."""
    nbformat = pytest.importorskip("nbformat", reason="nbformat writes the test notebook (pip install nbformat)")
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    cells = [
        new_markdown_cell("# Training"),
        new_code_cell("%matplotlib inline\n!pip install -q tensorflow\nimport tensorflow as tf\nfrom tensorflow import keras"),
        new_code_cell("model = keras.Sequential([\n    keras.layers.Dense(16, activation='relu'),\n    keras.layers.Dense(1),\n])"),
        new_code_cell("!nvidia-smi\ndef bce(y, logits):\n    return -tf.reduce_mean(y * tf.math.log(tf.sigmoid(logits)))"),
        new_code_cell("model.compile(optimizer='adam', loss='binary_crossentropy')"),
    ]
    notebook = new_notebook(cells=cells)
    path = proj / "src" / "train.ipynb"
    nbformat.write(notebook, str(path))
    nb_uri = path.as_uri()
    cell_uris = [f"vscode-notebook-cell:{path.as_posix()}#W{i}sZmlsZQ%3D%3D" for i in range(len(cells))]
    async with editor(proj, notebooks=True) as ed:
        assert ed.capabilities is not None and ed.capabilities.notebook_document_sync is not None
        (selector,) = ed.capabilities.notebook_document_sync.notebook_selector
        assert selector.notebook == "jupyter-notebook" and [c.language for c in selector.cells or []] == ["python"]
        for uri, cell in zip(cell_uris, cells):
            ed.texts[uri] = cell.source
            ed.versions[uri] = 1
        ed.client.notebook_document_did_open(
            types.DidOpenNotebookDocumentParams(
                notebook_document=types.NotebookDocument(
                    uri=nb_uri,
                    notebook_type="jupyter-notebook",
                    version=1,
                    cells=[
                        types.NotebookCell(kind=types.NotebookCellKind.Markup if c.cell_type == "markdown" else types.NotebookCellKind.Code, document=u)
                        for u, c in zip(cell_uris, cells)
                    ],
                ),
                cell_text_documents=[
                    types.TextDocumentItem(uri=u, language_id="markdown" if c.cell_type == "markdown" else "python", version=1, text=c.source)
                    for u, c in zip(cell_uris, cells)
                ],
            )
        )
        # The magics are not syntax errors; the loss is in cell 4; the compile in cell 5 is about cell 3's model.
        assert await ed.next_publish(cell_uris[1]) == []
        (log_sigmoid,) = await ed.next_publish(cell_uris[3])
        assert log_sigmoid.code == "EPS202"
        assert log_sigmoid.range == ed.range_of(cell_uris[3], "tf.math.log(tf.sigmoid(logits))")
        (compiled,) = await ed.next_publish(cell_uris[4])
        assert compiled.code == "EPS302" and compiled.range == ed.range_of(cell_uris[4], "'binary_crossentropy'")
        (note,) = compiled.related_information or []
        assert note.location.uri == cell_uris[2] and note.location.range.start == ed.range_of(cell_uris[2], "keras.layers.Dense(1)").start

        actions = await ed.actions(cell_uris[3], log_sigmoid.range, [log_sigmoid])
        # "Disable for this line" is offered in a cell with an IPython line (the cell is Python once masked).
        (disable,) = [a for a in actions if a.title == "Disable EPS202 for this line"]
        assert disable.edit is not None and disable.edit.document_changes is not None
        (noqa,) = disable.edit.document_changes[0].edits  # type: ignore[union-attr]
        assert noqa.new_text == "  # noqa: EPS202" and noqa.range.start.line == 2
        (fix,) = [a for a in actions if "safe fix" in a.title]
        assert fix.edit is not None and fix.edit.document_changes is not None
        (change,) = fix.edit.document_changes
        assert isinstance(change, types.TextDocumentEdit) and change.text_document.uri == cell_uris[3]
        text = ed.texts[cell_uris[3]]
        (edit,) = change.edits
        start, end = ed.offset(text, edit.range.start), ed.offset(text, edit.range.end)
        ed.texts[cell_uris[3]] = text[:start] + edit.new_text + text[end:]
        assert ed.texts[cell_uris[3]].endswith("tf.math.log_sigmoid(logits))")
        ed.versions[cell_uris[3]] = 2
        mark = ed.mark()
        ed.client.notebook_document_did_change(
            types.DidChangeNotebookDocumentParams(
                notebook_document=types.VersionedNotebookDocumentIdentifier(uri=nb_uri, version=2),
                change=types.NotebookDocumentChangeEvent(
                    cells=types.NotebookDocumentCellChanges(
                        text_content=[
                            types.NotebookDocumentCellContentChanges(
                                document=types.VersionedTextDocumentIdentifier(uri=cell_uris[3], version=2),
                                changes=[types.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text)],
                            )
                        ]
                    )
                ),
            )
        )
        assert await ed.next_publish(cell_uris[3], after=mark) == []
        # The other cell still has its finding (the notebook is linted whole after any cell changes).
        assert [d.code for d in await ed.next_publish(cell_uris[4], after=mark)] == ["EPS302"]

        mark = ed.mark()
        ed.client.notebook_document_did_close(
            types.DidCloseNotebookDocumentParams(
                notebook_document=types.NotebookDocumentIdentifier(uri=nb_uri),
                cell_text_documents=[types.TextDocumentIdentifier(uri=u) for u in cell_uris],
            )
        )
        assert await ed.next_publish(cell_uris[4], after=mark) == []

"""Code actions and hovers for one linted document version.

- a `quickfix` per fixable finding in the requested range, its title saying whether the fix is safe or unsafe;
- a `quickfix` "Disable EPSxxx for this line" that adds (or extends) a `# noqa: EPSxxx` comment;
- `source.fixAll.lint-eps`, every safe fix, applied to a fixed point by the engine (`fix_source`).

Every edit is a minimal text edit against the exact version that was linted; the workspace edit names that
version when the client supports versioned edits, so a client whose buffer moved on rejects it instead of
corrupting the file.
"""

from __future__ import annotations

import ast
import re
import warnings
from functools import lru_cache
from typing import Sequence

from lsprotocol import types

from ..diagnostic import Diagnostic
from ..budget import OVER_BUDGET
from ..engine import INTERNAL_ERROR, SYNTAX_ERROR
from ..fixes import fix_source
from ..noqa import NOQA_RE, parse_noqa
from ..registry import all_rules
from .convert import SOURCE, PositionMapper, contains, diagnostic_range, diff_edits, overlaps, text_edit, to_lsp_diagnostic
from .lint import LintResult

FIX_ALL_KIND = "source.fixAll.lint-eps"
QUICKFIX = types.CodeActionKind.QuickFix.value
ENGINE_CODES = frozenset({SYNTAX_ERROR, INTERNAL_ERROR, "EPS003", OVER_BUDGET})  # nothing to fix or suppress


class Document:
    """A lint result plus everything derived from it, computed once per version."""

    def __init__(self, result: LintResult, encoding: str, *, related_information: bool = True) -> None:
        self.result = result
        self.mapper = PositionMapper(result.text, encoding)
        self.lsp_diagnostics = [
            to_lsp_diagnostic(d, self.mapper, result.uri, related_information=related_information) for d in result.diagnostics
        ]
        self._fix_all: str | None | bool = False  # False: not computed yet

    def lsp_diagnostic(self, index: int) -> types.Diagnostic:
        return self.lsp_diagnostics[index]

    def published(self) -> list[types.Diagnostic]:
        """What the editor shows for this version: the findings, or the configuration problem that stops them."""
        if self.result.config_error is not None:
            return [
                types.Diagnostic(
                    range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)),
                    message=f"lint-eps configuration error, no findings until it is fixed: {self.result.config_error}",
                    severity=types.DiagnosticSeverity.Error,
                    source=SOURCE,
                )
            ]
        return list(self.lsp_diagnostics)

    @property
    def uri(self) -> str:
        return self.result.uri

    @property
    def version(self) -> int | None:
        return self.result.version

    def parses(self, text: str) -> bool:
        """Whether `text` (this document with an edit) is still Python."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ast.parse(text)
        except (SyntaxError, ValueError):
            return False
        return True

    def fixed_text(self) -> str | None:
        """The text with every safe fix applied, or None when there is nothing (safe) to fix."""
        if self._fix_all is False:
            result = self.result
            self._fix_all = None
            if result.settings is not None and any(d.fix is not None and d.fix.applicability == "safe" for d in result.diagnostics):
                outcome = fix_source(result.text, result.path or result.uri, result.settings)
                if outcome.error is None and outcome.text != result.text:
                    self._fix_all = outcome.text
        return self._fix_all  # type: ignore[return-value]


def kind_wanted(kind: str, only: Sequence[str] | None) -> bool:
    """LSP kinds are hierarchical: asking for `source` or `source.fixAll` also gets `source.fixAll.lint-eps`."""
    if not only:
        return True
    return any(kind == wanted or kind.startswith(f"{wanted}.") for wanted in only)


def _workspace_edit(document: Document, edits: list[types.TextEdit], versioned: bool) -> types.WorkspaceEdit:
    if versioned:
        return types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(uri=document.uri, version=document.version),
                    edits=edits,  # type: ignore[arg-type]
                )
            ]
        )
    return types.WorkspaceEdit(changes={document.uri: edits})


def fix_title(diagnostic: Diagnostic) -> str:
    assert diagnostic.fix is not None
    if diagnostic.fix.applicability == "safe":
        return f"{diagnostic.code}: {diagnostic.fix.message} (safe fix)"
    return f"{diagnostic.code}: {diagnostic.fix.message} (unsafe fix: may change behaviour, review it)"


def noqa_edit(document: Document, row: int, code: str) -> types.TextEdit | None:
    """The edit that makes `# noqa` on `row` suppress `code`, or None when no comment can do it there (the line
    continues with a backslash, or ends inside a string)."""
    mapper = document.mapper
    if not 1 <= row <= len(mapper.lines):
        return None
    line = mapper.lines[row - 1]
    existing = parse_noqa([line]).get(1)
    if existing is not None:
        if existing.suppresses(code):
            return None
        match = NOQA_RE.search(line, existing.column - 1)
        assert match is not None and match.group("codes")
        end = match.end("codes")
        edit = types.TextEdit(range=mapper.range((row, end + 1), (row, end + 1)), new_text=f", {code}")
        new_line = line[:end] + f", {code}" + line[end:]
    else:
        content_end = len(line.rstrip())
        if line[:content_end].endswith("\\"):
            return None
        comment = f"  # noqa: {code}"
        edit = types.TextEdit(range=mapper.range((row, content_end + 1), (row, len(line) + 1)), new_text=comment)
        new_line = line[:content_end] + comment
    suppression = parse_noqa([new_line]).get(1)
    if suppression is None or not suppression.suppresses(code):
        return None
    lines = list(mapper.lines)
    lines[row - 1] = new_line
    return edit if document.parses("\n".join(lines)) else None


def code_actions(
    document: Document,
    request_range: types.Range,
    only: Sequence[str] | None,
    *,
    versioned: bool,
) -> list[types.CodeAction]:
    actions: list[types.CodeAction] = []
    findings = [
        (diagnostic, document.lsp_diagnostic(index))
        for index, diagnostic in enumerate(document.result.diagnostics)
        if overlaps(diagnostic_range(diagnostic, document.mapper), request_range)
    ]
    if kind_wanted(QUICKFIX, only):
        for diagnostic, lsp in findings:
            if diagnostic.fix is None or not diagnostic.fix.edits:
                continue
            edits = [text_edit(edit, document.mapper) for edit in diagnostic.fix.edits]
            actions.append(
                types.CodeAction(
                    title=fix_title(diagnostic),
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[lsp],
                    is_preferred=diagnostic.fix.applicability == "safe",
                    edit=_workspace_edit(document, edits, versioned),
                )
            )
        seen: set[tuple[int, str]] = set()
        for diagnostic, lsp in findings:
            if diagnostic.code in ENGINE_CODES:
                continue  # a syntax error or an internal error is not a finding to suppress
            row = diagnostic.noqa_row or diagnostic.location.row
            if (row, diagnostic.code) in seen:
                continue
            seen.add((row, diagnostic.code))
            edit = noqa_edit(document, row, diagnostic.code)
            if edit is None:
                continue
            actions.append(
                types.CodeAction(
                    title=f"Disable {diagnostic.code} for this line",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[lsp],
                    edit=_workspace_edit(document, [edit], versioned),
                )
            )
    if kind_wanted(FIX_ALL_KIND, only):
        fixed = document.fixed_text()
        if fixed is not None:
            actions.append(
                types.CodeAction(
                    title="Fix all safely fixable lint-eps findings",
                    kind=FIX_ALL_KIND,
                    edit=_workspace_edit(document, diff_edits(document.result.text, fixed, document.mapper), versioned),
                )
            )
    return actions


def _section(documentation: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}[ \t]*\n(.*?)(?=^## |\Z)", documentation, re.M | re.S)
    return match.group(1).strip() if match else ""


@lru_cache(maxsize=None)
def _rule_explanation(code: str) -> tuple[str, str, str]:
    """(name, summary, first paragraph of "Why is this bad?") of a rule, or empty strings."""
    rule = all_rules().get(code)
    if rule is None:
        return "", "", ""
    why = _section(rule.documentation(), "Why is this bad?").split("\n\n")[0]
    return rule.name, rule.summary, " ".join(why.split())


def hover_text(diagnostic: Diagnostic, markdown: bool) -> str:
    name, summary, why = _rule_explanation(diagnostic.code)
    parts = []
    if markdown:
        parts.append(f"**{diagnostic.code}** `{name}`" + (f": {summary}" if summary else ""))
    else:
        parts.append(f"{diagnostic.code} {name}" + (f": {summary}" if summary else ""))
    if diagnostic.message != summary:
        parts.append(diagnostic.message)
    # The finding's own explanation (in the framework the code uses) when it has one, else the rule's general why.
    if diagnostic.details:
        parts.append(diagnostic.details)
    elif why:
        parts.append(why)
    if diagnostic.fix is not None:
        parts.append(f"Fix ({diagnostic.fix.applicability}): {diagnostic.fix.message}")
    if name and diagnostic.code not in ENGINE_CODES:
        noqa = f"# noqa: {diagnostic.code}"
        link = f"[{diagnostic.code} documentation]({diagnostic.url})" if markdown else f"Documentation: {diagnostic.url}"
        parts.append((f"Suppress with `{noqa}`" if markdown else f"Suppress with {noqa}") + (f" · {link}" if diagnostic.url else ""))
    return "\n\n".join(parts)


def hover(document: Document, position: types.Position, markdown: bool) -> types.Hover | None:
    hits = [d for d in document.result.diagnostics if contains(diagnostic_range(d, document.mapper), position)]
    if not hits:
        return None
    text = ("\n\n---\n\n" if markdown else "\n\n").join(hover_text(d, markdown) for d in hits)
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown if markdown else types.MarkupKind.PlainText, value=text),
        range=diagnostic_range(hits[0], document.mapper),
    )

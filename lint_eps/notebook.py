"""Jupyter notebooks as one program: read the code cells, mask IPython syntax, map findings back to cells, and
write edited cells back into the file without touching anything else.

A notebook is linted as the program its kernel runs: the code cells in order, so a model built in cell 3 and
compiled in cell 7 is one model. The cells are concatenated, each followed by a boundary comment line (which
lets a fixed program be split back into its cells), and every finding is mapped back to (cell, row, column),
the cell counted from 1 among all the notebook's cells as ruff does (markdown cells included, so the number is
the cell's position in the notebook).

IPython syntax is not Python: `%matplotlib inline`, `!pip install x`, `x = !ls`, `?obj`, `obj??` and `%%time`
cells are masked with placeholders of the same length (`0#~~~`: an expression statement, so an indented block
keeps a body, or the value of `x = `), so rows and columns of everything else stay where they are. A line is
masked only where a statement starts (the tokenizer decides: `%` inside a multi-line string or a bracket is
Python). A cell that is not valid Python on its own (Jupyter runs each cell alone) becomes comments in the
program and gets one syntax error naming it; the other cells are still linted.

Writing back is surgical: the file's JSON text is kept as it is, and only the `"source"` value of each changed
cell is replaced, serialised the way the file writes it (a list of lines or one string, its indentation, its
escaping). Key order, outputs, metadata, indentation and the final newline are the file's own bytes. The
standard library's json reads the file: the static linter does not depend on nbformat.
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
import warnings
from dataclasses import dataclass, field, replace

from .diagnostic import Diagnostic, Edit, Fix, Location
from .source import NEWLINE_RE, SourceError

NOTEBOOK_SUFFIX = ".ipynb"
# Ends every cell in the program; a fix never touches a comment line between two statements.
BOUNDARY = "#\u2063lint-eps cell boundary\u2063"
_FILLER = "~"


def is_notebook(path: str) -> bool:
    return path.endswith(NOTEBOOK_SUFFIX)


class NotebookError(SourceError):
    """The file is not a notebook lint-eps can read (or a fix cannot be written back into it)."""


# -- reading --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeCell:
    index: int  # 1-based position among all the notebook's cells
    source: str
    span: tuple[int, int] = (0, 0)  # offsets of the "source" JSON value in the file's text
    as_list: bool = True  # written as a list of lines (nbformat's way) or as one string


@dataclass(frozen=True)
class Notebook:
    text: str  # the file's JSON text (without a BOM)
    cells: tuple[CodeCell, ...]
    bom: bool = False

    @classmethod
    def parse_bytes(cls, data: bytes) -> "Notebook":
        bom = data.startswith(b"\xef\xbb\xbf")
        try:
            text = data[3:].decode("utf-8") if bom else data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotebookError(f"not a notebook: byte 0x{data[exc.start]:02x} at offset {exc.start} is not UTF-8") from None
        return replace(cls.parse(text), bom=bom)

    @classmethod
    def parse(cls, text: str) -> "Notebook":
        try:
            document = json.loads(text)
        except ValueError as exc:
            row, column = getattr(exc, "lineno", 1), getattr(exc, "colno", 1)
            raise NotebookError(f"not a notebook: invalid JSON ({getattr(exc, 'msg', exc)})", row, column) from None
        if not isinstance(document, dict) or not isinstance(document.get("cells"), list):
            raise NotebookError("not a notebook: no `cells` list at the top level")
        major = document.get("nbformat")
        if not isinstance(major, int) or major < 4:
            raise NotebookError(f"unsupported notebook format {major!r}: lint-eps reads nbformat 4 (save it with a current Jupyter)")
        spans = _source_spans(text)
        cells = []
        if _is_python(document):
            for position, cell in enumerate(document["cells"]):
                if not isinstance(cell, dict) or cell.get("cell_type") != "code":
                    continue
                value = cell.get("source", "")
                if isinstance(value, list) and all(isinstance(line, str) for line in value):
                    source, as_list = "".join(value), True
                elif isinstance(value, str):
                    source, as_list = value, False
                else:
                    raise NotebookError(f"not a notebook: cell {position + 1} has a `source` that is not text")
                cells.append(CodeCell(position + 1, source, spans.get(position, (0, 0)), as_list))
        return cls(text, tuple(cells))

    def with_sources(self, sources: dict[int, str]) -> bytes:
        """The file's bytes with the sources of the given cells (by index) replaced, and nothing else changed."""
        pieces = []
        cursor = 0
        for cell in self.cells:
            if cell.index not in sources or sources[cell.index] == cell.source:
                continue
            start, end = cell.span
            if end <= start:
                raise NotebookError(f"cell {cell.index}: its `source` could not be located in the file")
            pieces.append(self.text[cursor:start])
            pieces.append(_serialise(sources[cell.index], self.text, start, end, cell.as_list))
            cursor = end
        pieces.append(self.text[cursor:])
        return (b"\xef\xbb\xbf" if self.bom else b"") + "".join(pieces).encode("utf-8")

    def lines_of(self, index: int) -> tuple[str, ...]:
        for cell in self.cells:
            if cell.index == index:
                return tuple(line for line, _ in _split_lines(cell.source))
        return ()


def _is_python(document: dict) -> bool:
    """Cells of a notebook whose kernel speaks another language (R, Julia) are not Python."""
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        return True
    info = metadata.get("language_info")
    name = info.get("name") if isinstance(info, dict) else None
    if name is None:
        kernel = metadata.get("kernelspec")
        name = kernel.get("language") if isinstance(kernel, dict) else None
    return not isinstance(name, str) or name.lower() in ("python", "python3", "ipython", "ipython3")


_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _source_spans(text: str) -> dict[int, tuple[int, int]]:
    """Cell position (0-based) -> (start, end) offsets of its `"source"` value in the JSON text. The standard
    decoder reads every value; this walk only finds where the two levels of objects put `cells[i].source`."""
    decoder = json.JSONDecoder()
    spans: dict[int, tuple[int, int]] = {}

    def skip(at: int) -> int:
        return _WHITESPACE.match(text, at).end()  # type: ignore[union-attr]

    def members(at: int):  # yields (key, value start) of the object starting at `at`, ends past it
        at = skip(at)
        assert text[at] == "{"
        at = skip(at + 1)
        if text[at] == "}":
            return
        while True:
            key, at = json.decoder.scanstring(text, at + 1)
            at = skip(skip(at) + 1)  # past the colon
            at = yield key, at
            at = skip(at)
            if text[at] == "}":
                return
            at = skip(at + 1)  # past the comma

    def value_end(at: int) -> int:
        return decoder.raw_decode(text, at)[1]

    top = members(0)
    try:
        key, at = next(top)
        while True:
            if key == "cells":
                at = skip(at + 1)
                position = 0
                while text[at] != "]":
                    cell = members(at)
                    try:
                        ckey, cat = next(cell)
                        while True:
                            end = value_end(cat)
                            if ckey == "source":
                                spans[position] = (cat, end)
                            ckey, cat = cell.send(end)
                    except StopIteration:
                        pass
                    at = skip(value_end(at))
                    if text[at] == ",":
                        at = skip(at + 1)
                    position += 1
                end = at + 1
            else:
                end = value_end(at)
            key, at = top.send(end)
    except StopIteration:
        pass
    except (AssertionError, IndexError, ValueError):
        return {}  # not laid out as expected: nothing can be written back (json.loads already vouched for it)
    return spans


def _serialise(source: str, text: str, start: int, end: int, as_list: bool) -> str:
    """`source` as a JSON value in the style of the value it replaces (text[start:end])."""
    ascii_only = text.isascii()  # a file that escapes non-ASCII characters keeps doing so

    def dump(value: str) -> str:
        return json.dumps(value, ensure_ascii=ascii_only)

    if not as_list:
        return dump(source)
    lines = source.splitlines(keepends=True)  # as nbformat splits a source into lines
    old = text[start:end]
    inner = old[1:-1]
    lead = _WHITESPACE.match(inner).group(0)  # type: ignore[union-attr]
    trail = inner[len(inner.rstrip(" \t\n\r")) :] if inner.strip() else ""
    if not lead and not inner.strip():
        # An empty list `[]`: one level deeper than the key's line, in the file's indentation unit.
        line_start = text.rfind("\n", 0, start) + 1
        indent = re.match(r"[ \t]*", text[line_start:start]).group(0)  # type: ignore[union-attr]
        unit = re.search(r"\n([ \t]+)\S", text)
        if unit is None:
            lead, trail = "", ""
        else:
            lead, trail = "\n" + indent + unit.group(1), "\n" + indent
    if not lines:
        return "[]"
    separator = "," + (lead if "\n" in lead else " ")
    return "[" + lead + separator.join(dump(line) for line in lines) + trail + "]"


# -- IPython syntax ---------------------------------------------------------------------------------------------

_LINE_ESCAPE = re.compile(r"(?P<indent>[ \t]*)(?P<escape>[%!?].*)$", re.S)
_ASSIGNED_ESCAPE = re.compile(r"(?P<indent>[ \t]*[A-Za-z_][\w.]*(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*)*[ \t]*=[ \t]*)(?P<escape>[!%].*)$", re.S)
_HELP = re.compile(r"(?P<indent>[ \t]*)(?P<escape>[A-Za-z_][\w.]*\?\??[ \t]*)$", re.S)


def _split_lines(text: str) -> list[tuple[str, str]]:
    """(line, its line ending) pairs, split where Python splits lines."""
    out = []
    cursor = 0
    for match in NEWLINE_RE.finditer(text):
        out.append((text[cursor : match.start()], match.group(0)))
        cursor = match.end()
    if cursor < len(text):
        out.append((text[cursor:], ""))
    return out


def _placeholder(escape: str) -> str:
    """An expression of the same length: `0`, then a comment of filler."""
    return "0" if len(escape) == 1 else "0#" + _FILLER * (len(escape) - 2)


def _comment(line: str) -> str:
    return "" if not line else "#" + _FILLER * (len(line) - 1)


@dataclass
class MaskedCell:
    text: str  # the cell with IPython syntax replaced (or, if it is not Python, every line a comment)
    restores: list[tuple[str, str]] = field(default_factory=list)  # (placeholder line, original line), in order
    syntax_error: tuple[str, int, int] | None = None  # (message, row, column) in the cell
    skipped: str | None = None  # why the whole cell is not Python (a cell magic)


def mask_cell(source: str) -> MaskedCell:
    lines = _split_lines(source)
    first = next((line.strip() for line, _ in lines if line.strip()), "")
    if first.startswith("%%"):
        return _all_comments(lines, skipped=f"cell magic {first.split()[0]}")
    masked: dict[int, tuple[str, str]] = {}  # line index -> (placeholder, original)
    continued = False
    for number, (line, _) in enumerate(lines):
        if continued:  # a magic continued with a backslash
            masked[number] = (_comment(line), line)
            continued = line.endswith("\\")
            continue
        match = _LINE_ESCAPE.match(line) or _ASSIGNED_ESCAPE.match(line) or _HELP.match(line)
        if match is None or (match.re is _LINE_ESCAPE and line.lstrip().startswith("!=")):
            continue
        # Only where a statement starts: inside a string or a bracket, `%` and `!` are Python.
        if not _at_statement_start(_join(lines[:number], masked)):
            continue
        masked[number] = (match.group("indent") + _placeholder(match.group("escape")), line)
        continued = line.endswith("\\") and match.re is not _HELP
    text = _join(lines, masked)
    error = _syntax_error(text)
    if error is not None:
        cell = _all_comments(lines)
        cell.syntax_error = error
        return cell
    return MaskedCell(text, [masked[n] for n in sorted(masked)])


def _join(lines: list[tuple[str, str]], masked: dict[int, tuple[str, str]]) -> str:
    return "".join((masked[n][0] if n in masked else line) + ending for n, (line, ending) in enumerate(lines))


def _all_comments(lines: list[tuple[str, str]], skipped: str | None = None) -> MaskedCell:
    restores = [(_comment(line), line) for line, _ in lines]
    return MaskedCell("".join(_comment(line) + ending for line, ending in lines), restores, skipped=skipped)


def _at_statement_start(before: str) -> bool:
    """Whether the text `before` a line ends between two statements: it tokenizes to the end (inside a bracket, a
    string or after a backslash, the tokenizer stops with "EOF in multi-line ...")."""
    try:
        for _ in tokenize.generate_tokens(io.StringIO(before).readline):
            pass
    except tokenize.TokenError:
        return False
    except SyntaxError:  # a mistake of its own (reported with the cell): the line may still be a magic
        return True
    return True


def _syntax_error(text: str) -> tuple[str, int, int] | None:
    """Jupyter runs each cell alone: a cell must be valid Python by itself (CPython's parser, at C speed)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except SyntaxError as exc:
        return exc.msg, exc.lineno or 1, exc.offset or 1
    except (ValueError, RecursionError, MemoryError) as exc:
        return str(exc) or type(exc).__name__, 1, 1
    return None


# -- the program ------------------------------------------------------------------------------------------------


@dataclass
class ProgramCell:
    index: int
    first_row: int  # the program row of the cell's first line
    rows: int
    original: str
    masked: MaskedCell


@dataclass
class Program:
    """The code cells as one Python text, and the way back to cells."""

    source: str
    cells: list[ProgramCell]

    @classmethod
    def build(cls, cells: list[tuple[int, str]]) -> "Program":
        pieces = []
        out = []
        row = 1
        for index, original in cells:
            masked = mask_cell(original)
            text = masked.text
            if text and not text.endswith(("\n", "\r")):
                text += "\n"
            rows = len(_split_lines(text))
            out.append(ProgramCell(index, row, rows, original, masked))
            pieces.append(text + BOUNDARY + "\n")
            row += rows + 1
        return cls("".join(pieces), out)

    @classmethod
    def of(cls, notebook: Notebook) -> "Program":
        return cls.build([(cell.index, cell.source) for cell in notebook.cells])

    def locate(self, row: int) -> tuple[int | None, int]:
        """(cell index, row in the cell) of a program row."""
        chosen = None
        for cell in self.cells:
            if cell.first_row <= row:
                chosen = cell
            else:
                break
        if chosen is None:
            return None, row
        return chosen.index, max(1, min(row - chosen.first_row + 1, max(chosen.rows, 1)))

    def program_row(self, index: int, row: int) -> int:
        """The program row of a cell's row (for a finding reported by cell, e.g. to the verifier)."""
        for cell in self.cells:
            if cell.index == index:
                return cell.first_row + row - 1
        raise KeyError(index)

    def _location(self, location: Location) -> Location:
        cell, row = self.locate(location.row)
        return Location(row, location.column, cell)

    def to_cells(self, diagnostic: Diagnostic) -> Diagnostic:
        """A finding on the program, placed in its cell (rows counted in the cell)."""
        start = self._location(diagnostic.location)
        end = self._location(diagnostic.end_location)
        if end.cell != start.cell:  # cannot happen for a node (cells are whole statements); keep it in one cell
            end = Location(start.row, start.column, start.cell)
        fix = diagnostic.fix
        if fix is not None:
            fix = Fix(fix.applicability, fix.message, tuple(Edit(e.content, self._location(e.location), self._location(e.end_location)) for e in fix.edits))
        noqa_row = self.locate(diagnostic.noqa_row)[1] if diagnostic.noqa_row else None
        related = tuple((message, self._location(loc)) for message, loc in diagnostic.related)
        return replace(diagnostic, location=start, end_location=end, fix=fix, noqa_row=noqa_row, related=related)

    def syntax_errors(self, path: str, code: str) -> list[Diagnostic]:
        out = []
        for cell in self.cells:
            if cell.masked.syntax_error is None:
                continue
            message, row, column = cell.masked.syntax_error
            loc = Location(row, column, cell.index)
            out.append(Diagnostic(code, f"invalid syntax in cell {cell.index}: {message} (the cell was not linted)", path, loc, loc, None, row, "invalid-syntax"))
        return out

    def split(self, fixed: str) -> dict[int, str]:
        """The cells a changed program changes: cell index -> new source, IPython syntax restored."""
        lines = fixed.split(BOUNDARY + "\n")
        if len(lines) != len(self.cells) + 1 or lines[-1]:
            raise NotebookError("a fix changed the boundary between two cells; nothing was written")
        changed: dict[int, str] = {}
        for cell, text in zip(self.cells, lines):
            before = cell.masked.text
            if not before.endswith(("\n", "\r")) and text.endswith("\n") and before:
                text = text[:-1]
            if text == before:
                continue
            changed[cell.index] = _restore(text, cell.masked.restores, cell.index)
        return changed


def _restore(text: str, restores: list[tuple[str, str]], index: int) -> str:
    out = []
    pending = list(reversed(restores))
    for line, ending in _split_lines(text):
        if pending and line == pending[-1][0]:
            line = pending.pop()[1]
        out.append(line + ending)
    if pending:
        raise NotebookError(f"a fix changed an IPython line of cell {index}; nothing was written")
    return "".join(out)


def cell_diff(path: str, notebook: Notebook, sources: dict[int, str]) -> str:
    """A unified diff per changed cell (`a/nb.ipynb:cell 3`), as ruff shows notebook fixes."""
    import difflib

    out = []
    for cell in notebook.cells:
        new = sources.get(cell.index)
        if new is None or new == cell.source:
            continue
        old_lines = cell.source.splitlines(keepends=True)
        new_lines = new.splitlines(keepends=True)
        # Jupyter ends a cell without a newline: say so only where a fix changed that.
        unended = [lines for lines in (old_lines, new_lines) if lines and not lines[-1].endswith(("\n", "\r"))]
        for lines in unended:
            lines[-1] += "\n" if len(unended) == 2 else "\n\\ No newline at end of cell\n"
        out.append("".join(difflib.unified_diff(old_lines, new_lines, f"a/{path}:cell {cell.index}", f"b/{path}:cell {cell.index}")))
    return "".join(out)


# -- running a notebook as a module (the verifier) ----------------------------------------------------------


def read_program(path: str) -> str:
    """The program of a notebook file's code cells, IPython lines masked (raises OSError or NotebookError)."""
    with open(path, "rb") as handle:
        return Program.of(Notebook.parse_bytes(handle.read())).source


class NotebookLoader:
    """An import loader that runs a notebook's code cells as one module (`lint-eps verify nb.ipynb::fn`): the
    program the linter reads, so its rows are the rows the findings were placed on. IPython lines do nothing, and
    cells under a cell magic (`%%time`) or that are not Python are not run."""

    def __init__(self, path: str) -> None:
        self.path = path

    def create_module(self, spec: object) -> None:
        return None  # the default module

    def exec_module(self, module: object) -> None:
        code = compile(read_program(self.path), self.path, "exec", dont_inherit=True)
        module.__file__ = self.path  # type: ignore[attr-defined]
        exec(code, module.__dict__)  # noqa: S102 - the verifier runs the user's code, in a worker process

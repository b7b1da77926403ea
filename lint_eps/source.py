"""Bytes to text and back: encodings, coding cookies, BOMs, line endings, row/column <-> offset."""

from __future__ import annotations

import codecs
import io
import re
import tokenize
from dataclasses import dataclass

NEWLINE_RE = re.compile(r"\r\n|\r|\n")


class SourceError(ValueError):
    """The file cannot be read as Python source text (reported as EPS001)."""

    def __init__(self, message: str, row: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.row = row
        self.column = column


@dataclass(frozen=True)
class DecodedSource:
    text: str
    encoding: str  # as tokenize names it; "utf-8-sig" keeps a BOM on write-back


def _position_of_offset(data: bytes, offset: int) -> tuple[int, int]:
    before = data[:offset]
    row = before.count(b"\n") + 1
    column = offset - (before.rfind(b"\n") + 1) + 1
    return row, column


def decode_source(data: bytes) -> DecodedSource:
    nul = data.find(b"\x00")
    if nul != -1:
        row, column = _position_of_offset(data, nul)
        raise SourceError("source contains a NUL byte (binary file?)", row, column)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if "invalid or missing encoding declaration" in str(exc):
            # No cookie and the first lines are not UTF-8: say where the first bad byte is.
            encoding = "utf-8"
        else:
            raise SourceError(f"bad encoding declaration: {exc.msg if hasattr(exc, 'msg') else exc}", getattr(exc, "lineno", None) or 1, 1) from None
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise SourceError(f"unknown encoding {encoding!r}") from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        row, column = _position_of_offset(data, exc.start)
        declared = "declared " if encoding not in ("utf-8", "utf-8-sig") else ""
        raise SourceError(
            f"cannot decode byte 0x{data[exc.start]:02x} as {declared}{encoding} (add a coding cookie or convert the file)",
            row,
            column,
        ) from None
    if encoding == "utf-8-sig" and text.startswith("\ufeff"):
        text = text[1:]
    return DecodedSource(text, encoding)


def encode_source(text: str, encoding: str) -> bytes:
    return text.encode(encoding)


def dominant_newline(text: str) -> str:
    match = NEWLINE_RE.search(text)
    return match.group(0) if match else "\n"


class LineIndex:
    """Maps 1-based (row, column-in-characters) to string offsets and back."""

    def __init__(self, text: str) -> None:
        self.text = text
        starts = [0]
        for match in NEWLINE_RE.finditer(text):
            starts.append(match.end())
        self.starts = starts

    def lines(self) -> list[str]:
        """Lines without their line endings (for noqa and for showing source)."""
        out = []
        for i, start in enumerate(self.starts):
            end = self.starts[i + 1] if i + 1 < len(self.starts) else len(self.text)
            out.append(self.text[start:end].rstrip("\r\n"))
        return out

    def offset(self, row: int, column: int) -> int:
        row = max(1, min(row, len(self.starts)))
        return min(self.starts[row - 1] + column - 1, len(self.text))

    def position(self, offset: int) -> tuple[int, int]:
        import bisect

        row = bisect.bisect_right(self.starts, offset)
        return row, offset - self.starts[row - 1] + 1

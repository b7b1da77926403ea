"""Parse only the functions some rule can report in: the others are stubbed out before libcst sees the file.

libcst costs about ten times CPython's parser and ~850 bytes of memory per byte of source, and most functions of
a large file cannot matter to any selected rule (a rule's `needs_function` says which can). The skeleton keeps
module-level code, class bodies and every signature (decorators, parameters, defaults) as written, and replaces
the body of each unneeded outermost function by `...` at the body's indentation followed by empty lines, so every
kept node has the line and column it has in the file: positions, fixes and noqa comments stay valid.
"""

from __future__ import annotations

from typing import Callable, Iterable

from .prefilter import INDENT, LINE_END, FileText, FunctionFacts


def needed_functions(text: FileText, gates: Iterable[Callable[[FileText, FunctionFacts], bool] | None]) -> list[bool] | None:
    """For each outermost function, whether some gate needs it; None when everything must be parsed (a rule
    without a gate, no CPython ast, nothing to stub)."""
    outermost = text.outermost
    gate_list = list(gates)
    if not outermost or any(gate is None for gate in gate_list):
        return None
    needed = []
    for function in outermost:
        needed.append(function.body < 0 or any(gate(text, function) for gate in gate_list))  # type: ignore[misc]
    return None if all(needed) else needed


def skeleton(text: FileText, needed: list[bool]) -> str:
    """The text with the bodies of the outermost functions not `needed` replaced by `...` (same line count)."""
    source = text.source
    outermost = text.outermost or []
    pieces: list[str] = []
    cursor = 0
    for function, keep in zip(outermost, needed):
        if keep or function.body < 0:
            continue
        pieces.append(source[cursor : function.body])
        body = source[function.body : function.end]
        indent = INDENT.match(body)
        endings = LINE_END.findall(body)
        pieces.append((indent.group() if indent else "") + "...")
        pieces.append("".join(endings))
        cursor = function.end
    pieces.append(source[cursor:])
    return "".join(pieces)

"""Where each node of a libcst tree starts and ends: the ranges libcst's `PositionProvider` computes, from the
same single code generation of the module, with a cheaper state.

The provider records a node's start before it is generated and its end after (or, for the nodes that say so, the
span of chosen children: "syntactic" positions that leave out surrounding whitespace). Its state enters a
generator-based context manager for every syntactic position, and `lint_eps.engine` reached it through the
provider's private `_gen_impl` and `_computed`. This is that code generation written against the state class the
nodes call (`libcst._nodes.internal.CodegenState`), with a plain context manager: about twice as fast.
tests/test_startup.py checks it against the provider on every node of real files.

A range is `(start line, start column, end line, end column)`: lines 1-based, columns 0-based, as libcst's.
Only files with findings pay for it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Optional

from libcst._nodes.internal import CodegenState

if TYPE_CHECKING:
    import libcst as cst

Range = tuple[int, int, int, int]

_NEWLINE = re.compile(r"\r\n?|\n")


class _Syntactic:
    """`record_syntactic_position` as a plain context manager (the nodes enter it ~once per expression)."""

    __slots__ = ("state", "node", "start_node", "end_node", "line", "column")

    def __init__(self, state: "_PositionState", node: "cst.CSTNode", start_node: "Optional[cst.CSTNode]", end_node: "Optional[cst.CSTNode]") -> None:
        self.state, self.node, self.start_node, self.end_node = state, node, start_node, end_node
        self.line, self.column = state.line, state.column

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        state = self.state
        computed = state.computed
        start = computed[self.start_node][:2] if self.start_node is not None else (self.line, self.column)
        end = computed[self.end_node][2:] if self.end_node is not None else (state.line, state.column)
        computed[self.node] = start + end


class _PositionState(CodegenState):
    __slots__ = ("line", "column", "stack", "computed")

    def __init__(self, module: "cst.Module") -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.line = 1
        self.column = 0
        self.stack: list[tuple[int, int]] = []
        self.computed: dict[cst.CSTNode, Range] = {}

    def _advance(self, value: str) -> None:
        if "\n" not in value and "\r" not in value:
            self.column += len(value)
            return
        segments = _NEWLINE.split(value)
        self.line += len(segments) - 1
        self.column = len(segments[-1])

    def add_indent_tokens(self) -> None:
        self.tokens.extend(self.indent_tokens)
        for token in self.indent_tokens:
            self._advance(token)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        self._advance(value)

    def before_codegen(self, node: "cst.CSTNode") -> None:
        self.stack.append((self.line, self.column))

    def after_codegen(self, node: "cst.CSTNode") -> None:
        start = self.stack.pop()  # popped unconditionally, as the provider does
        if node not in self.computed:  # a syntactic position recorded inside the node wins
            self.computed[node] = start + (self.line, self.column)

    def record_syntactic_position(self, node: "cst.CSTNode", *, start_node: "Optional[cst.CSTNode]" = None, end_node: "Optional[cst.CSTNode]" = None) -> _Syntactic:  # type: ignore[override]
        return _Syntactic(self, node, start_node, end_node)


def positions(module: "cst.Module") -> dict["cst.CSTNode", Range]:
    """The range of every node of `module`, keyed by the node itself (identity, as libcst's metadata is)."""
    state = _PositionState(module)
    module._codegen(state)
    return state.computed

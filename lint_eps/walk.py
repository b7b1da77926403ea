"""A read-only traversal of libcst trees, several times faster than `node.visit(visitor)`.

libcst's `visit` rebuilds every node on the way back up (`_visit_and_replace_children` constructs a new node and
re-validates it) even for a read-only `CSTVisitor`, and calls two attribute hooks per field: on a real module that
is most of the lint time. `walk` calls the same `on_visit` / `on_leave` methods in the same order, reading the
fields instead, and (unless the visitor asks for them) does not descend into whitespace and operator tokens,
which never contain names, calls or statements. `findall` is `libcst.matchers.findall` without metadata on top
of it, for `lint_eps.match` matchers.

The order of a node's fields is libcst's own: it is recorded once per node class by running that class's
`_visit_and_replace_children` with a visitor that notes the attribute hooks and descends nowhere, so the walk
order is libcst's by construction (tests/test_scale.py checks it on real files).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, Iterator, Sequence

from lint_eps import match as m
from lint_eps.lazy import libcst as cst


@lru_cache(maxsize=1)
def token_types() -> frozenset[type]:
    """Whitespace, comments, newlines, brackets, commas and operator tokens: their subtrees hold only more of the
    same. (A function, not a constant: libcst is imported on first use, `lint_eps.lazy`.)"""
    from libcst._nodes import op as _op
    from libcst._nodes import whitespace as _whitespace

    out: set[type] = set()
    for module in (_op, _whitespace):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, cst.CSTNode) and value.__module__ == module.__name__:
                out.add(value)
    out.update({cst.LeftParen, cst.RightParen, cst.LeftSquareBracket, cst.RightSquareBracket, cst.LeftCurlyBrace, cst.RightCurlyBrace})
    return frozenset(out)


@lru_cache(maxsize=1)
def token_type_names() -> frozenset[str]:
    return frozenset(t.__name__ for t in token_types())

_FIELDS: dict[type, tuple[str, ...]] = {}


@lru_cache(maxsize=1)
def _field_recorder() -> type:
    """A visitor that notes the attribute hooks and descends nowhere (a class made on first use: it must subclass
    libcst's CSTVisitor, which `lint_eps.lazy` imports only when a file is parsed)."""

    class FieldRecorder(cst.CSTVisitor):
        def __init__(self) -> None:
            self.fields: list[str] = []

        def on_visit(self, node: cst.CSTNode) -> bool:
            return False

        def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
            if attribute not in self.fields:
                self.fields.append(attribute)

    return FieldRecorder


def _fields_of(node: cst.CSTNode) -> tuple[str, ...]:
    kind = type(node)
    fields = _FIELDS.get(kind)
    if fields is None:
        recorder = _field_recorder()()
        node._visit_and_replace_children(recorder)
        fields = _FIELDS[kind] = tuple(recorder.fields)
    return fields


def children(node: cst.CSTNode, tokens: bool = True) -> list[cst.CSTNode]:
    """`node.children` in libcst's order, optionally without token subtrees."""
    out: list[cst.CSTNode] = []
    visitable = _VISITABLE[tokens]
    for name in _FIELDS.get(type(node)) or _fields_of(node):
        value = getattr(node, name)
        kind = type(value)
        if kind is tuple or kind is list:
            for child in value:
                kind = type(child)
                ok = visitable.get(kind)
                if ok or (ok is None and _visitable(kind, tokens)):
                    out.append(child)
        else:
            ok = visitable.get(kind)
            if ok or (ok is None and _visitable(kind, tokens)):
                out.append(value)
    return out


_WANTS_TOKENS: dict[type, bool] = {}


def _wants_tokens(visitor: object) -> bool:
    kind = type(visitor)
    if kind not in _WANTS_TOKENS:
        _WANTS_TOKENS[kind] = any(
            attr.startswith(("visit_", "leave_")) and attr.split("_", 1)[1].split("_", 1)[0] in token_type_names() for attr in dir(kind)
        )
    return _WANTS_TOKENS[kind]


def walk(root: cst.CSTNode, visitor: cst.CSTVisitor, *, tokens: bool | None = None) -> None:
    """Visit `root` and its subtree with `visitor`'s `on_visit`/`on_leave` (attribute hooks are not called).

    Token subtrees (whitespace, operators, brackets) are skipped unless `tokens` is true or the visitor has a
    `visit_`/`leave_` method for a token type."""
    if tokens is None:
        tokens = _wants_tokens(visitor)
    walk_callbacks(root, visitor.on_visit, visitor.on_leave, tokens=tokens)


# type -> whether the walk descends into a value of that type: a CSTNode (and, without tokens, not a token).
# `isinstance(x, CSTNode)` goes through ABCMeta.__instancecheck__ in Python: a dict lookup per type is far cheaper.
_VISITABLE: dict[bool, dict[type, bool]] = {True: {}, False: {}}


def _visitable(kind: type, tokens: bool) -> bool:
    answer = issubclass(kind, cst.CSTNode) and (tokens or kind not in token_types())
    _VISITABLE[tokens][kind] = answer
    return answer


def walk_callbacks(
    root: cst.CSTNode,
    on_visit: Callable[[cst.CSTNode], bool | None],
    on_leave: Callable[[cst.CSTNode], object],
    *,
    tokens: bool = False,
) -> None:
    fields_table = _FIELDS
    visitable = _VISITABLE[tokens]

    def visit(node: cst.CSTNode) -> None:
        if on_visit(node):
            names = fields_table.get(type(node)) or _fields_of(node)
            for name in names:
                value = getattr(node, name)
                kind = type(value)
                if kind is tuple or kind is list:
                    for child in value:
                        kind = type(child)
                        ok = visitable.get(kind)
                        if ok or (ok is None and _visitable(kind, tokens)):
                            visit(child)
                else:
                    ok = visitable.get(kind)
                    if ok or (ok is None and _visitable(kind, tokens)):
                        visit(value)
        on_leave(node)

    try:
        visit(root)
    finally:
        # `visit` refers to itself through its closure cell: a reference cycle that would keep the callbacks, and
        # through them the rules, the file's context and both of its trees, alive until the cyclic garbage
        # collector runs. Emptying the cell lets reference counting free them when the file is done.
        visit = None  # type: ignore[assignment]  # noqa: F841


def iter_nodes(root: cst.CSTNode, *, tokens: bool = False) -> Iterator[cst.CSTNode]:
    """`root` and every node under it, in libcst's visiting (pre-)order."""
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        yield node
        found = children(node, tokens)
        if found:
            found.reverse()
            stack.extend(found)


def findall(tree: cst.CSTNode | object, matcher: object) -> Sequence[cst.CSTNode]:
    """`libcst.matchers.findall(tree, matcher)` (no metadata) for a `lint_eps.match` matcher, in the same order:
    nothing for a sentinel (`MaybeSentinel`, `RemovalSentinel`), as libcst."""
    if not isinstance(tree, cst.CSTNode):
        return []
    tokens = not m.node_type_names(matcher).isdisjoint(token_type_names())
    return m.filter_matching(iter_nodes(tree, tokens=tokens), matcher)

"""A read-only traversal of libcst trees, several times faster than `node.visit(visitor)`.

libcst's `visit` rebuilds every node on the way back up (`_visit_and_replace_children` constructs a new node and
re-validates it) even for a read-only `CSTVisitor`, and calls two attribute hooks per field: on a real module that
is most of the lint time. `walk` calls the same `on_visit` / `on_leave` methods in the same order, reading the
fields instead, and (unless the visitor asks for them) does not descend into whitespace and operator tokens,
which never contain names, calls or statements. `findall` is `libcst.matchers.findall` without metadata on top
of it.

The order of a node's fields is libcst's own: it is recorded once per node class by running that class's
`_visit_and_replace_children` with a visitor that notes the attribute hooks and descends nowhere, so the walk
order is libcst's by construction (tests/test_scale.py checks it on real files).
"""

from __future__ import annotations

from typing import Callable, Iterator, Sequence

import libcst as cst
import libcst.matchers as m
from libcst._nodes import op as _op
from libcst._nodes import whitespace as _whitespace

_CSTNode = cst.CSTNode


def _token_types() -> frozenset[type]:
    out: set[type] = set()
    for module in (_op, _whitespace):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, _CSTNode) and value.__module__ == module.__name__:
                out.add(value)
    out.update({cst.LeftParen, cst.RightParen, cst.LeftSquareBracket, cst.RightSquareBracket, cst.LeftCurlyBrace, cst.RightCurlyBrace})
    return frozenset(out)


# Whitespace, comments, newlines, brackets, commas and operator tokens: their subtrees hold only more of the same.
TOKEN_TYPES = _token_types()
TOKEN_TYPE_NAMES = frozenset(t.__name__ for t in TOKEN_TYPES)

_FIELDS: dict[type, tuple[str, ...]] = {}


class _FieldRecorder(cst.CSTVisitor):
    def __init__(self) -> None:
        self.fields: list[str] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        return False

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        if attribute not in self.fields:
            self.fields.append(attribute)


def _fields_of(node: cst.CSTNode) -> tuple[str, ...]:
    kind = type(node)
    fields = _FIELDS.get(kind)
    if fields is None:
        recorder = _FieldRecorder()
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
            attr.startswith(("visit_", "leave_")) and attr.split("_", 1)[1].split("_", 1)[0] in TOKEN_TYPE_NAMES for attr in dir(kind)
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
    answer = issubclass(kind, _CSTNode) and (tokens or kind not in TOKEN_TYPES)
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

    visit(root)


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


def _matcher_type_names(matcher: object) -> frozenset[str] | None:
    """The node class names a matcher can match, or None when it could match anything."""
    if isinstance(matcher, m.OneOf):
        names: set[str] = set()
        for option in matcher.options:
            sub = _matcher_type_names(option)
            if sub is None:
                return None
            names |= sub
        return frozenset(names)
    if isinstance(matcher, m.AllOf):
        found: frozenset[str] | None = None
        for option in matcher.options:
            sub = _matcher_type_names(option)
            if sub is not None:
                found = sub if found is None else found & sub
        return found
    if isinstance(matcher, m.BaseMatcherNode):
        # libcst matches a node matcher by class name (m.Call matches cst.Call nodes only).
        name = type(matcher).__name__
        cls = getattr(cst, name, None)
        if isinstance(cls, type) and issubclass(cls, _CSTNode):
            return frozenset({name})
    return None


def findall(tree: cst.CSTNode | object, matcher: object) -> Sequence[cst.CSTNode]:
    """`libcst.matchers.findall(tree, matcher)` (no metadata), in the same order."""
    if not isinstance(tree, _CSTNode):
        return m.findall(tree, matcher)  # type: ignore[arg-type]
    names = _matcher_type_names(matcher)
    if names is None:
        return m.findall(tree, matcher)  # type: ignore[arg-type]
    tokens = bool(names & TOKEN_TYPE_NAMES)
    matches = m.matches
    return [node for node in iter_nodes(tree, tokens=tokens) if type(node).__name__ in names and matches(node, matcher)]  # type: ignore[arg-type]

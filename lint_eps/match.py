"""Structural matching of libcst nodes: the part of `libcst.matchers` that lint-eps uses, without its cost.

`import libcst.matchers` takes about as long as `import libcst` itself (it defines a dataclass for every node
type), which is a third of the time `lint-eps one_file.py` may take in all. The rules only ever use node
matchers with literal, node, `|` (one of) and fixed-length sequence fields, `matches` and `findall`, so this
module provides exactly that, with libcst's semantics: `m.Call(func=m.Name("log"), args=())` matches a node whose
class is named `Call`, whose `func` matches `Name("log")` and whose `args` is empty; a field left out matches
anything; a string field compares equal, a bool or None field is compared by identity; a list or tuple matches a
sequence of the same length element by element; `a | b` matches what either matches. It imports nothing from
libcst, so that building the rules' matchers at import time costs nothing.

    from lint_eps import match as m
    m.matches(node, m.Attribute(value=m.Name("self"), attr=m.Name()))
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable, Sequence


class BaseMatcherNode:
    """A matcher of one node class (by name, as libcst compares them) and some of its fields."""

    __slots__ = ("type_name", "fields")

    def __init__(self, type_name: str, fields: dict[str, Any]) -> None:
        self.type_name = type_name
        self.fields = tuple(fields.items())

    def __or__(self, other: object) -> "OneOf":
        return OneOf(self, other)

    def __repr__(self) -> str:
        return f"{self.type_name}({', '.join(f'{k}={v!r}' for k, v in self.fields)})"


class OneOf(BaseMatcherNode):
    """Matches what any of its options matches (`a | b`)."""

    __slots__ = ("options",)

    def __init__(self, *options: object) -> None:
        self.options = options

    def __or__(self, other: object) -> "OneOf":
        return OneOf(*self.options, other)

    def __repr__(self) -> str:
        return " | ".join(repr(o) for o in self.options)


class AllOf(BaseMatcherNode):
    """Matches what every one of its options matches."""

    __slots__ = ("options",)

    def __init__(self, *options: object) -> None:
        self.options = options

    def __repr__(self) -> str:
        return " & ".join(repr(o) for o in self.options)


class _NodeType:
    """`m.Call`: called with fields, it makes a matcher of `Call` nodes."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args: Any, **fields: Any) -> BaseMatcherNode:
        if args:
            # libcst's matcher dataclasses take their fields in the node's order; the rules only ever pass the first
            # positionally (`Name("x")`, `Integer("1")`), which is `value` for every such node class.
            if len(args) > 1 or "value" in fields:
                raise TypeError(f"{self.name}(): pass fields other than `value` by keyword")
            fields = {"value": args[0], **fields}
        return BaseMatcherNode(self.name, fields)


@lru_cache(maxsize=None)
def __getattr__(name: str) -> _NodeType:
    """`m.Name`, `m.Call`, ...: a matcher factory for the libcst node class of that name."""
    if not name[:1].isupper():
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _NodeType(name)


def matches(node: object, matcher: object) -> bool:
    """Whether `node` has the shape `matcher` describes (False for anything that is not a node, as in libcst)."""
    return _node(node, matcher)


def _node(node: object, matcher: object) -> bool:
    if type(matcher) is OneOf:
        return any(_node(node, option) for option in matcher.options)  # type: ignore[attr-defined]
    if type(matcher) is AllOf:
        return all(_node(node, option) for option in matcher.options)  # type: ignore[attr-defined]
    if type(matcher) is not BaseMatcherNode:
        raise TypeError(f"not a node matcher: {matcher!r}")
    if type(node).__name__ != matcher.type_name:  # type: ignore[attr-defined]
        return False
    for field, wanted in matcher.fields:  # type: ignore[attr-defined]
        if not _attribute(getattr(node, field), wanted):
            return False
    return True


def _attribute(value: object, wanted: object) -> bool:
    if wanted is None or isinstance(wanted, bool):
        return value is wanted
    if isinstance(wanted, str):
        return value == wanted
    if isinstance(value, (tuple, list)):
        if isinstance(wanted, (tuple, list)):
            return len(value) == len(wanted) and all(_node(v, w) for v, w in zip(value, wanted))
        if type(wanted) is OneOf:
            return any(isinstance(o, (tuple, list)) and _attribute(value, o) for o in wanted.options)
        return False
    if isinstance(wanted, (tuple, list)):
        return False
    return _node(value, wanted)


def node_type_names(matcher: object) -> frozenset[str]:
    """The node class names `matcher` can match."""
    if type(matcher) is OneOf:
        return frozenset().union(*(node_type_names(option) for option in matcher.options))  # type: ignore[attr-defined]
    if type(matcher) is AllOf:
        sets = [node_type_names(option) for option in matcher.options]  # type: ignore[attr-defined]
        return frozenset.intersection(*sets) if sets else frozenset()
    return frozenset({matcher.type_name})  # type: ignore[attr-defined]


def filter_matching(nodes: Iterable[Any], matcher: object) -> list[Any]:
    """The nodes of `nodes` that match `matcher`, in order."""
    names = node_type_names(matcher)
    return [node for node in nodes if type(node).__name__ in names and _node(node, matcher)]


__all__: Sequence[str] = ("AllOf", "BaseMatcherNode", "OneOf", "filter_matching", "matches", "node_type_names")

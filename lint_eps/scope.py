"""Just enough data flow inside one function for numerical rules: "what was this name last assigned?"

Rules ask questions like "was `p` clipped two lines above this `log(p)`?" or "is this denominator a name bound to
a reduction?". A textual-order reaching definition (ignoring branches) answers them; it is computed lazily, once
per function, and only for functions where a rule asks.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

from lint_eps.lazy import libcst as cst

from .walk import walk


@dataclass(frozen=True)
class Param:
    name: str
    index: int  # position among positional parameters, -1 for keyword-only / variadic
    default: cst.BaseExpression | None
    annotation: cst.BaseExpression | None
    node: cst.Param


@dataclass(frozen=True)
class Binding:
    """One assignment to a name. `value` is None when the value is not a single expression (unpacking,
    augmented assignment, loop target, with-as, import)."""

    name: str
    order: int
    value: cst.BaseExpression | None
    node: cst.CSTNode
    augmented_op: cst.BaseAugOp | None = None


def _order(binding: Binding) -> int:
    return binding.order


def parameters_of(node: cst.FunctionDef | cst.Lambda) -> list[Param]:
    params = node.params
    out: list[Param] = []
    index = 0
    for p in list(params.posonly_params) + list(params.params):
        annotation = p.annotation.annotation if p.annotation is not None else None
        out.append(Param(p.name.value, index, p.default, annotation, p))
        index += 1
    for p in params.kwonly_params:
        annotation = p.annotation.annotation if p.annotation is not None else None
        out.append(Param(p.name.value, -1, p.default, annotation, p))
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            out.append(Param(star.name.value, -1, None, None, star))
    return out


class _FlowIndexer:
    """Numbers nodes in source order and records bindings at the point where they take effect."""

    def __init__(self, root: cst.CSTNode) -> None:
        self.root = root
        self._nested_scopes, self._leaves = _dispatch_tables()
        self.order = 0
        self.node_order: dict[int, int] = {}
        self.bindings: dict[str, list[Binding]] = {}

    # Dispatch on the exact type: libcst's generic dispatch and isinstance on its ABC-based node classes cost
    # more than the indexing itself, and this sees every node of every function that is looked into.
    def on_visit(self, node: cst.CSTNode) -> bool:
        self.order += 1
        self.node_order[id(node)] = self.order
        kind = type(node)
        if kind in self._nested_scopes and node is not self.root:
            if kind is not cst.Lambda:
                self._bind(node.name.value, None, node)  # type: ignore[attr-defined]
            return False
        if kind is cst.For:
            self.visit_For(node)  # type: ignore[arg-type]
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        handler = self._leaves.get(type(original_node))
        if handler is not None:
            handler(self, original_node)

    def _bind(self, name: str, value: cst.BaseExpression | None, node: cst.CSTNode, op: cst.BaseAugOp | None = None) -> None:
        self.order += 1
        self.bindings.setdefault(name, []).append(Binding(name, self.order, value, node, op))

    def _bind_target(self, target: cst.BaseExpression, value: cst.BaseExpression | None, node: cst.CSTNode) -> None:
        if isinstance(target, cst.Name):
            self._bind(target.value, value, node)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                inner = element.value
                if isinstance(inner, cst.StarredElement):
                    inner = inner.value
                self._bind_target(inner, None, node)

    def leave_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind_target(target.target, node.value, node)

    def leave_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._bind_target(node.target, node.value, node)

    def leave_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.target, cst.Name):
            self._bind(node.target.value, node.value, node, node.operator)

    def leave_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind_target(node.target, node.value, node)

    def visit_For(self, node: cst.For) -> None:
        self._bind_target(node.target, None, node)

    def leave_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind_target(node.asname.name, None, node)


@lru_cache(maxsize=1)
def _dispatch_tables() -> tuple[frozenset[type], dict[type, Callable[[_FlowIndexer, Any], None]]]:
    """The node classes that open a nested scope, and the leave handler per binding node class (built on first
    use: libcst is imported only when a file is parsed, `lint_eps.lazy`)."""
    nested = frozenset({cst.FunctionDef, cst.ClassDef, cst.Lambda})
    leaves = {
        cst.Assign: _FlowIndexer.leave_Assign,
        cst.AnnAssign: _FlowIndexer.leave_AnnAssign,
        cst.AugAssign: _FlowIndexer.leave_AugAssign,
        cst.NamedExpr: _FlowIndexer.leave_NamedExpr,
        cst.WithItem: _FlowIndexer.leave_WithItem,
    }
    return nested, leaves


class Scope:
    """A module, function or lambda body, with lazily indexed bindings."""

    def __init__(self, node: cst.Module | cst.FunctionDef | cst.Lambda, class_node: cst.ClassDef | None = None) -> None:
        self.node = node
        self.class_node = class_node
        self._index: _FlowIndexer | None = None
        self._params: list[Param] | None = None

    @property
    def name(self) -> str:
        if isinstance(self.node, cst.FunctionDef):
            return self.node.name.value
        return "<lambda>" if isinstance(self.node, cst.Lambda) else "<module>"

    @property
    def is_function(self) -> bool:
        return isinstance(self.node, (cst.FunctionDef, cst.Lambda))

    @property
    def params(self) -> list[Param]:
        if self._params is None:
            self._params = parameters_of(self.node) if self.is_function else []  # type: ignore[arg-type]
        return self._params

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name:
                return p
        return None

    @property
    def _flow(self) -> _FlowIndexer:
        if self._index is None:
            indexer = _FlowIndexer(self.node)
            walk(self.node, indexer, tokens=False)  # no binding or use lies in a token subtree
            self._index = indexer
        return self._index

    def bindings(self, name: str) -> list[Binding]:
        return self._flow.bindings.get(name, [])

    def order_of(self, node: cst.CSTNode) -> int | None:
        return self._flow.node_order.get(id(node))

    def reaching_binding(self, name: cst.Name) -> Binding | None:
        """The last binding of `name` before this use, in source order (branches are not modelled)."""
        use = self.order_of(name)
        if use is None:
            return None
        bindings = self.bindings(name.value)  # in source order: a bisection, not a scan per use
        i = bisect.bisect_left(bindings, use, key=_order)
        return bindings[i - 1] if i else None

    def bindings_between(self, name: str, start: cst.CSTNode, end: cst.CSTNode) -> list[Binding]:
        lo, hi = self.order_of(start), self.order_of(end)
        if lo is None or hi is None:
            return []
        return [b for b in self.bindings(name) if lo < b.order < hi]

    def is_assigned_once(self, name: str) -> bool:
        return len(self.bindings(name)) == 1 and self.param(name) is None


@dataclass
class ClassInfo:
    node: cst.ClassDef
    bases: list[str] = field(default_factory=list)  # canonical qualified names (or plain names) of the bases

    @property
    def name(self) -> str:
        return self.node.name.value

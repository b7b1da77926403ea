"""Small, framework-agnostic helpers for reading and building libcst expressions in rules and fixes."""

from __future__ import annotations

from lint_eps.lazy import libcst as cst
from lint_eps import match as m

from .walk import iter_nodes

# Names of the expression classes that need no parentheses; compared by exact type (libcst's concrete node classes
# have no subclasses), so that this module reads nothing from libcst at import (`lint_eps.lazy`).
ATOMIC = frozenset({"Name", "Attribute", "Call", "Subscript", "Integer", "Float", "Imaginary", "SimpleString"})


def arg(call: cst.Call, position: int, keyword: str | None = None) -> cst.BaseExpression | None:
    """The argument bound to a parameter given by position and/or keyword name (no *args expansion)."""
    positional = 0
    for a in call.args:
        if a.star:
            return None
        if a.keyword is None:
            if positional == position:
                return a.value
            positional += 1
        elif keyword is not None and a.keyword.value == keyword:
            return a.value
    return None


def keyword_arg(call: cst.Call, keyword: str) -> cst.Arg | None:
    for a in call.args:
        if a.keyword is not None and a.keyword.value == keyword:
            return a
    return None


def positional_args(call: cst.Call) -> list[cst.BaseExpression]:
    return [a.value for a in call.args if a.keyword is None and not a.star]


def strip_parens(node: cst.BaseExpression) -> cst.BaseExpression:
    """`node` without its own parentheses, for looking at; nodes that need them (`()`, a generator) keep them."""
    if not getattr(node, "lpar", None):
        return node
    try:
        return node.with_changes(lpar=(), rpar=())
    except cst.CSTValidationError:
        return node


def parenthesize(node: cst.BaseExpression) -> cst.BaseExpression:
    """`node` wrapped in parentheses unless it is atomic (safe to use as an operand anywhere)."""
    if type(node).__name__ in ATOMIC or getattr(node, "lpar", None):
        return node
    return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def negate(node: cst.BaseExpression) -> cst.BaseExpression:
    """`-node`, simplifying `-(-x)` to `x`, and `-(-x @ w)` (Python reads `(-x) @ w`) to `x @ w`, likewise for `*`
    and `/`: exact in IEEE arithmetic, where rounding is symmetric in the sign."""
    bare = strip_parens(node)
    if m.matches(bare, m.UnaryOperation(operator=m.Minus())):
        return bare.expression  # type: ignore[attr-defined]
    without = _without_leading_minus(bare)
    if without is not None:
        return without
    return cst.UnaryOperation(cst.Minus(), parenthesize(bare))


def _without_leading_minus(node: cst.BaseExpression) -> cst.BaseExpression | None:
    """`a * b` for `-a * b` (the minus on the leftmost factor of a chain of `*`, `/` and `@`), else None."""
    if not isinstance(node, cst.BinaryOperation) or not isinstance(node.operator, (cst.Multiply, cst.Divide, cst.MatrixMultiply)):
        return None
    left = node.left
    if isinstance(left, cst.UnaryOperation) and isinstance(left.operator, cst.Minus) and not left.lpar:
        return node.with_changes(left=left.expression)
    if isinstance(left, cst.BinaryOperation) and not left.lpar:
        inner = _without_leading_minus(left)
        return node.with_changes(left=inner) if inner is not None else None
    return None


def number_value(node: cst.BaseExpression) -> float | None:
    """The value of a numeric literal (with an optional sign), else None."""
    node = strip_parens(node)
    sign = 1.0
    while isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        if isinstance(node.operator, cst.Minus):
            sign = -sign
        node = strip_parens(node.expression)
    if isinstance(node, (cst.Integer, cst.Float)):
        try:
            return sign * float(node.evaluated_value)
        except (OverflowError, ValueError):
            return None
    return None


def is_number(node: cst.BaseExpression, value: float) -> bool:
    return number_value(node) == value


def with_callee(call: cst.Call, spelling: str, args: list[cst.Arg] | None = None) -> cst.Call:
    """A call to `spelling` (a dotted name) with the given (or the same) arguments."""
    return cst.Call(func=cst.parse_expression(spelling), args=call.args if args is None else args)


def simple_operand(node: cst.BaseExpression) -> bool:
    """Made only of names, attributes, subscripts with simple indices, and literals: evaluating it twice or later
    gives the same value as long as none of its names is rebound."""
    node = strip_parens(node)
    if isinstance(node, (cst.Name, cst.Integer, cst.Float)):
        return True
    if isinstance(node, cst.Attribute):
        return simple_operand(node.value)
    if isinstance(node, cst.UnaryOperation):
        return simple_operand(node.expression)
    if isinstance(node, cst.Subscript):
        return simple_operand(node.value) and all(
            isinstance(el.slice, cst.Index) and simple_operand(el.slice.value) for el in node.slice
        )
    return False


def names_in(node: cst.CSTNode) -> set[str]:
    return {current.value for current in iter_nodes(node) if isinstance(current, cst.Name)}

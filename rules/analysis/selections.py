"""Implicit denominators: a mean over a data-dependent selection is a division by its count (EPS101).

`x[mask].mean()`, `masked_select(x, m).mean()`, `x[y != ignore_index].mean()`: torch, NumPy and JAX return NaN
for the mean of an empty selection (an all-padding batch, a class absent from it), exactly like `sum / count`
with a zero count. Only selections by a boolean mask count: a comparison, `~m`, `m & n`, `isnan(...)`, or a
name bound to one of those (or called `*mask*`); an integer index or a slice is not data dependent in size.
"""

from __future__ import annotations

from lint_eps.lazy import libcst as cst
from lint_eps import match as m

from lint_eps.context import FileContext
from lint_eps.nodes import arg, strip_parens
from lint_eps.walk import findall

from .denominators import call_name, method_name

MEAN_LEAVES = frozenset({"mean", "reduce_mean"})
MASKED_SELECT = frozenset({"torch.masked_select", "tensorflow.boolean_mask"})


def _is_mask(node: cst.BaseExpression, context: FileContext, depth: int = 0) -> bool:
    node = strip_parens(node)
    if isinstance(node, cst.Comparison):
        return not any(isinstance(c.operator, (cst.Is, cst.IsNot, cst.In, cst.NotIn)) for c in node.comparisons)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.BitInvert, cst.Not)):
        return _is_mask(node.expression, context, depth + 1) or isinstance(strip_parens(node.expression), cst.Name)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.BitAnd, cst.BitOr)):
        return _is_mask(node.left, context, depth + 1) or _is_mask(node.right, context, depth + 1)
    if isinstance(node, cst.Call):
        leaf = (call_name(node, context) or method_name(node, context) or "").rsplit(".", 1)[-1]
        return leaf in ("isnan", "isfinite", "isinf", "logical_and", "logical_or", "logical_not")
    if isinstance(node, cst.Name) and depth < 3:
        scope = context.function
        binding = scope.reaching_binding(node) if scope is not None else None
        if binding is not None and binding.value is not None and binding.augmented_op is None:
            return _is_mask(binding.value, context, depth + 1)
        return "mask" in node.value.lower()
    return False


def _drops_nans(index: cst.BaseExpression, context: FileContext) -> bool:
    index = strip_parens(index)
    if isinstance(index, cst.Name) and context.function is not None:
        binding = context.function.reaching_binding(index)
        if binding is not None and binding.value is not None:
            index = binding.value
    for call in findall(index, m.Call()):
        assert isinstance(call, cst.Call)
        leaf = (call_name(call, context) or method_name(call, context) or "").rsplit(".", 1)[-1]
        if leaf in ("isnan", "isfinite"):
            return True
    return False


def masked_mean(call: cst.Call, context: FileContext) -> cst.BaseExpression | None:
    """The mask of `x[mask].mean()` / `mean(x[mask])` / `masked_select(x, mask).mean()`, or None."""
    name = call_name(call, context)
    method = method_name(call, context)
    if name is not None and name.rsplit(".", 1)[-1] in MEAN_LEAVES:
        operand = arg(call, 0)
    elif method in MEAN_LEAVES and not call.args:
        operand = call.func.value  # type: ignore[attr-defined]
    else:
        return None
    if operand is None:
        return None
    operand = strip_parens(operand)
    if isinstance(operand, cst.Subscript) and len(operand.slice) == 1 and isinstance(operand.slice[0].slice, cst.Index):
        index = operand.slice[0].slice.value
        if _drops_nans(index, context):
            return None  # `r[~isnan(r)].mean()`: empty only when every value was NaN, and then NaN is the answer
        return index if _is_mask(index, context) else None
    if isinstance(operand, cst.Call) and call_name(operand, context) in MASKED_SELECT:
        return arg(operand, 1, "mask")
    if m.matches(operand, m.Call(func=m.Attribute(attr=m.Name("masked_select")))):
        return arg(operand, 0, "mask")  # type: ignore[arg-type]
    return None

"""A non-finite value repaired after it is computed (EPS201): `r = log(p)` then `where(isfinite(r), r, c)`,
`nan_to_num(r)`, `r[isinf(r)] = c`. Outside loss code nothing differentiates `r`, so the repaired value is all
that matters (in a loss the gradient of the `-inf` branch is still NaN: those stay findings)."""

from __future__ import annotations

from lint_eps.lazy import libcst as cst
from lint_eps import match as m

from lint_eps.context import FileContext
from lint_eps.nodes import arg
from lint_eps.walk import findall

from ..tables.division import NAN_REPAIR_FUNCTIONS, NAN_REPAIR_METHODS, NAN_TEST_FUNCTIONS, NAN_TEST_METHODS, WHERE_FUNCTIONS
from .denominators import call_name, method_name, operand_keys


def _tests_finiteness_of(node: cst.CSTNode, targets: set[str], context: FileContext) -> bool:
    for call in findall(node, m.Call()):
        assert isinstance(call, cst.Call)
        if call_name(call, context) in NAN_TEST_FUNCTIONS or method_name(call, context) in NAN_TEST_METHODS:
            operand = arg(call, 0) if call.args else getattr(call.func, "value", None)
            if operand is not None and operand_keys(operand, context) & targets:
                return True
    return False


def repaired_after(node: cst.CSTNode, context: FileContext) -> bool:
    """`node` is assigned to a local that a later statement of the function repairs."""
    scope = context.function
    if scope is None:
        return False
    start = None
    targets: set[str] = set()
    for assign in findall(scope.node, m.Assign()):
        assert isinstance(assign, cst.Assign)
        if any(inner is node for inner in findall(assign.value, m.Call())):
            start = scope.order_of(assign)
            for target in assign.targets:
                targets |= operand_keys(target.target, context)
    if start is None or not targets:
        return False
    for call in findall(scope.node, m.Call()):
        assert isinstance(call, cst.Call)
        if (scope.order_of(call) or 0) <= start:
            continue
        name = call_name(call, context)
        if name in NAN_REPAIR_FUNCTIONS or method_name(call, context) in NAN_REPAIR_METHODS:
            operand = arg(call, 0) if name else getattr(call.func, "value", None)
            if operand is not None and operand_keys(operand, context) & targets:
                return True
        if name in WHERE_FUNCTIONS and len(call.args) >= 3 and _tests_finiteness_of(call.args[0].value, targets, context):
            return True
    for sub in findall(scope.node, m.Assign(targets=[m.AssignTarget(target=m.Subscript())])):
        target = sub.targets[0].target  # type: ignore[attr-defined]
        if (scope.order_of(sub) or 0) > start and operand_keys(target.value, context) & targets and _tests_finiteness_of(target, targets, context):
            return True
    return False

"""What an expression is, as far as the log and logits rules care: a probability that can be exactly 0 or 1, a
clipped / epsilon-guarded value, logits, or something unknown.

`provenance(expr, context)` follows names back through their reaching assignments inside the current function
(textual order, as `Scope.reaching_binding` does), through pass-through operations (indexing, gather, cast,
reshape, where), arithmetic (`1 - p`, `p * w`, `p + eps`, `p / s`) and guards (clip, clamp, maximum, minimum,
`+ eps`, in-place `p.clamp_(...)`), and answers:

- `zero`: the value can be exactly 0 — `log` of it is -inf;
- `one`: the value can be exactly 1 — `log(1 - it)` is -inf, `it / (1 - it)` divides by zero;
- `unit`: the value is known to lie in [0, 1] (so clipping it to [eps, 1 - eps] changes nothing else);
- `needs_role`: the evidence is a name (a loss's `y_pred`, a local called `iou`), which is only trusted in metric,
  loss or training code; a sigmoid/softmax output is a probability anywhere.

Unknown values are never reported: every rule built on this answers "no finding" when in doubt.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, replace

from lint_eps.lazy import libcst as cst
from lint_eps import match as m

from lint_eps.walk import findall
from lint_eps.context import FileContext
from lint_eps.nodes import arg, names_in, number_value, strip_parens
from lint_eps.scope import Binding, Scope

from ..tables.activations import (
    LOG_BASE_FUNCTIONS,
    LOG_FUNCTIONS,
    LOG_METHODS,
    probability_function,
    probability_method,
)
from ..tables.probabilities import (
    CLIP_ALTERNATE_KEYWORDS,
    CLIP_FUNCTIONS,
    CLIP_METHODS,
    INPLACE_CLIP_METHODS,
    LOG1P_FUNCTIONS,
    LOG1P_METHODS,
    MAXIMUM_FUNCTIONS,
    MINIMUM_FUNCTIONS,
    PASS_THROUGH_FUNCTIONS,
    PASS_THROUGH_METHODS,
    PASS_THROUGH_SHORT_NAMES,
    RATIO_FUNCTIONS,
    RATIO_NAME_PATTERN,
    REDUCTION_METHODS_IN_UNIT,
    REDUCTION_METHODS_SUM,
    REDUCTIONS_IN_UNIT,
    REDUCTIONS_SUM,
    WHERE_FUNCTIONS,
)
from . import callees
from .epsilon import is_epsilon
from .roles import is_logit_name, prediction_params

_MAX_DEPTH = 6
_RATIO_NAME_RE = re.compile(RATIO_NAME_PATTERN)

# Kinds.
PROBABILITY = "probability"  # in [0, 1], unguarded on at least one side
RATIO = "ratio"  # an overlap ratio (IoU, Jaccard) in [0, 1]
GUARDED = "guarded"  # clipped or epsilon-shifted: a guard is on the path
LOGITS = "logits"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Provenance:
    kind: str
    zero: bool = False
    one: bool = False
    unit: bool = False
    needs_role: bool = False
    # Where the probability comes from, for messages: "the output of `tf.sigmoid`", "the prediction `y_pred`".
    origin: str = ""
    origin_node: cst.CSTNode | None = None
    # "sigmoid" | "softmax" | "prediction" | "ratio" | "" — what produced it (for the message's advice).
    source: str = ""
    # The guard on the path, when there is one (for messages about a one-sided clip).
    guard: cst.CSTNode | None = None
    # For a value made in another function, class or module: the note that says where (issue 12).
    note: str = ""

    @property
    def origin_note(self) -> str:
        return self.note or "the probability comes from here"

    @property
    def is_probability(self) -> bool:
        return self.kind in (PROBABILITY, RATIO)

    @property
    def unsafe(self) -> bool:
        return self.zero or self.one


UNKNOWN_VALUE = Provenance(UNKNOWN)


def is_one(node: cst.BaseExpression) -> bool:
    return number_value(node) == 1.0


def complement_operand(node: cst.BaseExpression) -> cst.BaseExpression | None:
    """`X` when `node` is `1 - X` (or `1.0 - X`), else None."""
    node = strip_parens(node)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Subtract) and is_one(node.left):
        return node.right
    return None


def same_expression(a: cst.BaseExpression, b: cst.BaseExpression, context: FileContext) -> bool:
    """Textually the same expression, ignoring parentheses and whitespace."""
    return _squash(context.code(strip_parens(a))) == _squash(context.code(strip_parens(b)))


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def lower_bound_guards(bound: cst.BaseExpression | None, context: FileContext, *, strict: bool = False) -> bool:
    """A clip's lower bound that keeps the value away from 0: a positive literal, an epsilon, or — for a clip, not
    with `strict` (a `maximum`, whose other operand may be any tensor) — an unknown expression such as
    `self.min_prob`, given the benefit of the doubt. `0`, a negative literal, `None` or a missing bound do not."""
    if bound is None or m.matches(strip_parens(bound), m.Name("None")):
        return False
    value = number_value(bound)
    if value is not None:
        return value > 0
    return is_epsilon(bound, context) or not strict


def upper_bound_guards(bound: cst.BaseExpression | None, context: FileContext, *, strict: bool = False) -> bool:
    """A clip's upper bound that keeps the value away from 1: a literal in (0, 1), `1 - eps`, or — for a clip,
    not with `strict` (a `minimum`, whose other operand may be any tensor) — an unknown expression, given the
    benefit of the doubt. `1`, `1.0` or a missing bound do not."""
    if bound is None or m.matches(strip_parens(bound), m.Name("None")):
        return False
    value = number_value(bound)
    if value is not None:
        return 0 < value < 1.0
    inner = complement_operand(bound)
    if inner is not None:
        return lower_bound_guards(inner, context, strict=strict)
    return not strict


def _order(entry: tuple[int, cst.Call, bool]) -> int:
    return entry[0]


class ProvenanceAnalysis:
    """Per-file analysis; cache one instance in `context.shared` via `analysis_for(context)`."""

    _update_scope: Scope | None = None  # while reading a state update (`_state`): the update method's scope

    def __init__(self, context: FileContext) -> None:
        self.context = context
        source = context.source
        self._may_clamp_in_place = any(f".{method}(" in source for method in INPLACE_CLIP_METHODS) or "out=" in source
        self._inplace: dict[int, dict[str, list[tuple[int, cst.Call, bool]]]] = {}

    # -- entry point ----------------------------------------------------------------------------------------
    def of(self, expr: cst.BaseExpression, depth: int = 0) -> Provenance:
        if depth > _MAX_DEPTH:
            return UNKNOWN_VALUE
        node = strip_parens(expr)
        if isinstance(node, cst.Name):
            return self._name(node, depth)
        if isinstance(node, cst.Call):
            return self._call(node, depth)
        if isinstance(node, cst.BinaryOperation):
            return self._binary(node, depth)
        if isinstance(node, cst.Subscript):
            if any(self._has_comparison(element) for element in node.slice):
                return Provenance(GUARDED)  # p[p > 0]: masked on the value itself
            if any(isinstance(e.slice, cst.Index) and isinstance(strip_parens(e.slice.value), cst.Name) and self._compares_operand(e.slice.value, [node.value]) for e in node.slice):
                return Provenance(GUARDED)  # nonzero = p != 0; p[nonzero]: the same mask through a name
            return self._selected(self.of(node.value, depth + 1))
        if isinstance(node, cst.Attribute):
            return self._state(node, depth)
        if isinstance(node, cst.IfExp):
            if self._compares_operand(node.test, [node.body, node.orelse]):
                return Provenance(GUARDED)
            return self._merge(self.of(node.body, depth + 1), self.of(node.orelse, depth + 1))
        value = number_value(node)
        if value is not None:
            return Provenance(GUARDED if value > 0 else UNKNOWN, zero=value == 0, one=value == 1, unit=0 <= value <= 1)
        return UNKNOWN_VALUE

    # -- names ----------------------------------------------------------------------------------------------
    @property
    def _scope(self) -> Scope:
        return self._update_scope or self.context.function or self.context.scope

    def _state(self, node: cst.Attribute, depth: int) -> Provenance:
        """`self.probs` set to a softmax in another method (issue 12), and `self.prob_sum` of a metric class,
        accumulated from probabilities in `update` (issue 11): a running sum of softmax outputs is still 0 wherever
        every sample's probability underflowed."""
        scope = self.context.function
        class_node = scope.class_node if scope is not None else None
        if class_node is None or not m.matches(node.value, m.Name("self")) or self._update_scope is not None:
            return UNKNOWN_VALUE
        stored = callees.attribute_fact(self.context, class_node.name.value, node.attr.value)
        if stored is not None:
            return _from_fact(stored, node)
        from .denominators import state_updates  # denominators imports this module's neighbours, not this one

        for method, value in state_updates(self.context, class_node).get(node.attr.value, []):
            self._update_scope = Scope(method, class_node)
            try:
                inner = self.of(value, depth + 1)
            finally:
                self._update_scope = None
            if inner.zero and inner.kind in (PROBABILITY, RATIO) and inner.source in ("sigmoid", "softmax"):
                return replace(inner, one=False, unit=False, origin=f"`self.{node.attr.value}`, a running sum of {inner.origin}")
        return UNKNOWN_VALUE

    def _name(self, name: cst.Name, depth: int) -> Provenance:
        scope = self._scope
        binding = scope.reaching_binding(name)
        if self._clamped_in_place(scope, name, binding):
            return Provenance(GUARDED)
        if binding is not None:
            result = self._binding(binding, depth)
        else:
            result = self._parameter(scope, name.value)
        if result.kind == UNKNOWN and _RATIO_NAME_RE.fullmatch(name.value.lower()):
            if binding is None and scope.param(name.value) is None:
                return result  # a global or closure variable: nothing known
            return Provenance(RATIO, zero=True, one=True, unit=True, needs_role=True, origin=f"`{name.value}`, an overlap ratio", origin_node=binding.node if binding else None, source="ratio")
        if result.kind == UNKNOWN and is_logit_name(name.value):
            return Provenance(LOGITS)
        return result

    def _binding(self, binding: Binding, depth: int) -> Provenance:
        if binding.value is None:
            return UNKNOWN_VALUE
        if binding.augmented_op is not None:
            if isinstance(binding.augmented_op, cst.AddAssign) and is_epsilon(binding.value, self.context):
                return Provenance(GUARDED, guard=binding.node)
            return UNKNOWN_VALUE
        return self.of(binding.value, depth + 1)

    def _parameter(self, scope: Scope, name: str) -> Provenance:
        if not scope.is_function or scope.param(name) is None:
            return UNKNOWN_VALUE
        if is_logit_name(name):
            return Provenance(LOGITS)
        if name in prediction_params(scope):
            return Provenance(
                PROBABILITY,
                zero=True,
                one=True,
                unit=True,
                needs_role=True,
                origin=f"`{name}`, the prediction passed to `{scope.name}`",
                source="prediction",
            )
        return UNKNOWN_VALUE

    def _clamped_in_place(self, scope: Scope, name: cst.Name, binding: Binding | None) -> bool:
        """`p.clamp_(eps, 1 - eps)` or `np.clip(p, eps, 1 - eps, out=p)` between the assignment and the use."""
        use = scope.order_of(name)
        if use is None:
            return False
        start = binding.order if binding is not None else 0
        calls = self._inplace_calls(scope).get(name.value)
        if not calls:
            return False
        for order, call, is_method in calls[bisect.bisect_right(calls, start, key=_order) : bisect.bisect_left(calls, use, key=_order)]:
            if is_method or self.context.callee(call) in CLIP_FUNCTIONS:
                return True
        return False

    def _inplace_calls(self, scope: Scope) -> dict[str, list[tuple[int, cst.Call, bool]]]:
        """The scope's calls that may clamp a name in place, by that name, in source order: `name.clamp_(...)`
        (True) and `f(..., out=name)` (False: its callee is checked at the use). Indexed once per scope, so a
        lookup costs a bisection, not a walk of the scope (nor a scan of the file)."""
        key = id(scope.node)
        found = self._inplace.get(key)
        if found is not None:
            return found
        found = {}
        if self._may_clamp_in_place:
            for call in findall(scope.node, m.Call()):
                assert isinstance(call, cst.Call)
                order = scope.order_of(call)
                if order is None:
                    continue
                func = call.func
                if isinstance(func, cst.Attribute) and func.attr.value in INPLACE_CLIP_METHODS and isinstance(func.value, cst.Name):
                    found.setdefault(func.value.value, []).append((order, call, True))
                out = next((a.value for a in call.args if a.keyword is not None and a.keyword.value == "out"), None)
                if isinstance(out, cst.Name):
                    found.setdefault(out.value, []).append((order, call, False))
            for calls in found.values():
                calls.sort(key=_order)
        self._inplace[key] = found
        return found

    # -- calls ----------------------------------------------------------------------------------------------
    def _call(self, call: cst.Call, depth: int) -> Provenance:
        callee = self.context.callee(call)
        if callee is None and isinstance(call.func, cst.Name) and call.func.value in ("max", "min"):
            callee = call.func.value
        if callee is not None:
            found = self._function(call, callee, depth)
        elif isinstance(call.func, cst.Attribute):
            found = self._method(call, call.func.attr.value, call.func.value, depth)
        else:
            found = UNKNOWN_VALUE
        if found.kind == UNKNOWN and isinstance(strip_parens(call.func), (cst.Name, cst.Attribute)):
            return self._elsewhere(call)
        return found

    def _elsewhere(self, call: cst.Call) -> Provenance:
        """A value made in another function, class or module (issue 12): `discriminator(x)`, `net(x)`."""
        found = callees.call_fact(self.context, call) or self._object_call(call)
        if found is None:
            return UNKNOWN_VALUE
        return _from_fact(found, call)

    def _object_call(self, call: cst.Call) -> "callees.Found | None":
        """`net(x)` / `disc(x)`: an instance of a module class, a module-level model, or a parameter annotated
        with such a class (an untyped parameter is unknown)."""
        func = strip_parens(call.func)
        if not isinstance(func, cst.Name):
            return None
        scope = self._scope
        binding = scope.reaching_binding(func)
        if binding is not None:
            value = strip_parens(binding.value) if binding.value is not None else None
            return callees.instance_fact(self.context, value) if isinstance(value, cst.Call) else None
        param = scope.param(func.value) if scope.is_function else None
        if param is not None:
            return callees.annotated_instance_fact(self.context, param.annotation) if param.annotation is not None else None
        if scope.bindings(func.value):
            return None
        return callees.module_object_fact(self.context, func.value)

    def _function(self, call: cst.Call, callee: str, depth: int) -> Provenance:
        short = callee.rsplit(".", 1)[-1]
        kind = probability_function(callee)
        if kind is not None:
            return Provenance(PROBABILITY, zero=True, one=True, unit=True, origin=f"the output of `{self.context.code(call.func)}`", origin_node=call, source=kind)
        if callee in CLIP_FUNCTIONS:
            (op_pos, op_kw), (lo_pos, lo_kw), (hi_pos, hi_kw) = CLIP_FUNCTIONS[callee]
            operand = arg(call, op_pos, op_kw)
            lower = arg(call, lo_pos, lo_kw)
            upper = arg(call, hi_pos, hi_kw)
            if callee in CLIP_ALTERNATE_KEYWORDS:
                lo_alt, hi_alt = CLIP_ALTERNATE_KEYWORDS[callee]
                lower = lower if lower is not None else arg(call, -1, lo_alt)
                upper = upper if upper is not None else arg(call, -1, hi_alt)
            return self._clipped(call, operand, lower, upper, depth)
        if callee in MAXIMUM_FUNCTIONS or callee in MINIMUM_FUNCTIONS:
            if len(call.args) != 2 or any(a.star or a.keyword for a in call.args):
                return UNKNOWN_VALUE
            a, b = call.args[0].value, call.args[1].value
            if callee in MAXIMUM_FUNCTIONS:
                for value, other in ((a, b), (b, a)):
                    if lower_bound_guards(other, self.context, strict=True):
                        inner = self.of(value, depth + 1)
                        return replace(inner, kind=inner.kind if inner.one else GUARDED, zero=False, guard=call)
                return UNKNOWN_VALUE
            for value, other in ((a, b), (b, a)):
                if upper_bound_guards(other, self.context, strict=True):
                    inner = self.of(value, depth + 1)
                    return replace(inner, kind=inner.kind if inner.zero else GUARDED, one=False, guard=call)
            return UNKNOWN_VALUE
        if callee in WHERE_FUNCTIONS:
            return self._where(call, depth)
        if callee in RATIO_FUNCTIONS:
            return Provenance(RATIO, zero=True, one=True, unit=True, needs_role=True, origin=f"{RATIO_FUNCTIONS[callee]} from `{self.context.code(call.func)}`", origin_node=call, source="ratio")
        if callee in PASS_THROUGH_FUNCTIONS or short in PASS_THROUGH_SHORT_NAMES:
            if any(self._has_comparison(a.value) for a in call.args[1:]):
                return Provenance(GUARDED)  # boolean_mask(p, p > 0)
            first = arg(call, 0)
            return self._selected(self.of(first, depth + 1)) if first is not None else UNKNOWN_VALUE
        if callee in REDUCTIONS_IN_UNIT or callee in REDUCTIONS_SUM:
            first = arg(call, 0)
            if first is None:
                return UNKNOWN_VALUE
            inner = self.of(first, depth + 1)
            return self._reduced(inner, keeps_unit=callee in REDUCTIONS_IN_UNIT)
        return UNKNOWN_VALUE

    def _method(self, call: cst.Call, method: str, receiver: cst.BaseExpression, depth: int) -> Provenance:
        uses_torch = self.context.imports.imports_any(("torch",))
        kind = probability_method(method, bool(call.args)) if uses_torch else None
        if kind is not None:
            return Provenance(PROBABILITY, zero=True, one=True, unit=True, origin=f"the output of `.{method}()`", origin_node=call, source=kind)
        if method in CLIP_METHODS:
            (lo_pos, lo_kw), (hi_pos, hi_kw) = CLIP_METHODS[method]
            lower = arg(call, lo_pos, lo_kw) if lo_pos >= 0 else None
            upper = arg(call, hi_pos, hi_kw) if hi_pos >= 0 else None
            return self._clipped(call, receiver, lower, upper, depth)
        if method in PASS_THROUGH_METHODS:
            if any(self._has_comparison(a.value) for a in call.args):
                return Provenance(GUARDED)
            return self._selected(self.of(receiver, depth + 1))
        if method in REDUCTION_METHODS_IN_UNIT or method in REDUCTION_METHODS_SUM:
            return self._reduced(self.of(receiver, depth + 1), keeps_unit=method in REDUCTION_METHODS_IN_UNIT)
        return UNKNOWN_VALUE

    def _clipped(self, call: cst.Call, operand: cst.BaseExpression | None, lower: cst.BaseExpression | None, upper: cst.BaseExpression | None, depth: int) -> Provenance:
        if operand is None:
            return UNKNOWN_VALUE
        inner = self.of(operand, depth + 1)
        lower_ok = lower_bound_guards(lower, self.context)
        upper_ok = upper_bound_guards(upper, self.context)
        # A clip to [0, 1] (or [0, None]) bounds the value but does not keep it away from 0 or 1.
        in_unit = inner.unit or (number_value(lower) == 0 if lower is not None else False) and upper is not None and is_one(upper)
        zero = inner.zero and not lower_ok
        one = inner.one and not upper_ok
        if lower_ok or upper_ok:
            kind = inner.kind if (zero or one) else GUARDED
            return replace(inner, kind=kind, zero=zero, one=one, unit=in_unit or inner.unit, guard=call)
        return replace(inner, unit=in_unit)

    def _where(self, call: cst.Call, depth: int) -> Provenance:
        condition, a, b = arg(call, 0, "condition"), arg(call, 1, "x"), arg(call, 2, "y")
        if condition is None or a is None or b is None:
            return UNKNOWN_VALUE
        if self._compares_operand(condition, [a, b]):
            return Provenance(GUARDED)  # where(p > 0, p, 1): the double-where sanitiser
        return self._merge(self.of(a, depth + 1), self.of(b, depth + 1))

    # -- arithmetic -----------------------------------------------------------------------------------------
    def _binary(self, node: cst.BinaryOperation, depth: int) -> Provenance:
        op = node.operator
        if isinstance(op, cst.Subtract) and is_one(node.left):
            inner = self.of(node.right, depth + 1)
            if inner.kind in (UNKNOWN, LOGITS):
                return UNKNOWN_VALUE
            return replace(inner, zero=inner.one, one=inner.zero, origin=inner.origin)
        if isinstance(op, cst.Add):
            for term, other in ((node.left, node.right), (node.right, node.left)):
                if is_epsilon(term, self.context):
                    # p + eps is never 0, but it still reaches (or passes) 1: `1 - (p + eps)` is not guarded
                    inner = self.of(other, depth + 1)
                    if inner.one and inner.kind in (PROBABILITY, RATIO):
                        return replace(inner, zero=False, unit=False, guard=node)
                    return Provenance(GUARDED, guard=node)
            # w * a + (1 - w) * b (the focal loss's p_t): a or b, whichever the label w selects. Which product
            # holds the weight is ambiguous (y * p + (1 - y) * (1 - p) reads both ways): take the reading that
            # knows something.
            readings = [self._merge(self.of(a, depth + 1), self.of(b, depth + 1)) for a, b in self._convex_combinations(node)]
            for reading in readings:
                if reading.unsafe and reading.kind in (PROBABILITY, RATIO):
                    return reading
            for reading in readings:
                if reading.kind == GUARDED:
                    return reading
            left, right = self.of(node.left, depth + 1), self.of(node.right, depth + 1)
            if left.zero and right.zero:
                # y * p + (1 - y) * (1 - p): zero when the prediction is exactly wrong
                return replace(left, one=False, unit=False)
            if left.kind == GUARDED or right.kind == GUARDED:
                return Provenance(GUARDED)
            return UNKNOWN_VALUE
        if isinstance(op, cst.Multiply):
            left, right = self.of(node.left, depth + 1), self.of(node.right, depth + 1)
            for side, other in ((left, right), (right, left)):
                if side.zero and side.kind in (PROBABILITY, RATIO):
                    return replace(side, one=side.one and other.unit and other.one, unit=side.unit and other.unit)
            if left.kind == GUARDED and right.kind == GUARDED:
                return Provenance(GUARDED)
            return UNKNOWN_VALUE
        if isinstance(op, cst.Divide):
            left = self.of(node.left, depth + 1)
            # p / sum(p) (renormalised) or an activation's output over anything: still 0 where p is. A loss's
            # prediction over an unrelated value (`pred_wh / anchor_wh`) is box arithmetic, not a probability.
            if left.zero and left.kind in (PROBABILITY, RATIO) and (left.source in ("sigmoid", "softmax", "ratio") or self._renormalised(node)):
                return replace(left, one=False, unit=False)
            if left.kind == GUARDED:
                return Provenance(GUARDED)
            return UNKNOWN_VALUE
        if isinstance(op, cst.Power):
            left = self.of(node.left, depth + 1)
            exponent = number_value(node.right)
            if left.zero and left.kind in (PROBABILITY, RATIO) and (exponent is None or exponent > 0):
                return replace(left, one=left.one)
            return UNKNOWN_VALUE
        return UNKNOWN_VALUE

    # -- helpers --------------------------------------------------------------------------------------------
    def _convex_combinations(self, node: cst.BinaryOperation) -> list[tuple[cst.BaseExpression, cst.BaseExpression]]:
        """Every (a, b) such that `node` is `w * a + (1 - w) * b`, with the factors in any order."""
        left, right = strip_parens(node.left), strip_parens(node.right)
        if not (isinstance(left, cst.BinaryOperation) and isinstance(left.operator, cst.Multiply)):
            return []
        if not (isinstance(right, cst.BinaryOperation) and isinstance(right.operator, cst.Multiply)):
            return []
        found = []
        for first, second in ((left, right), (right, left)):
            for w, a in ((first.left, first.right), (first.right, first.left)):
                for one_minus_w, b in ((second.left, second.right), (second.right, second.left)):
                    inner = complement_operand(one_minus_w)
                    if inner is not None and same_expression(inner, w, self.context):
                        found.append((a, b) if first is left else (b, a))
        return found

    def _renormalised(self, node: cst.BinaryOperation) -> bool:
        numerator = {n for n in names_in(node.left) if self.context.imports.lookup(n) is None}
        denominator = names_in(node.right)
        return bool(numerator) and numerator <= denominator

    @staticmethod
    def _selected(inner: Provenance) -> Provenance:
        return inner

    @staticmethod
    def _reduced(inner: Provenance, *, keeps_unit: bool) -> Provenance:
        if not inner.zero or inner.kind not in (PROBABILITY, RATIO):
            return Provenance(GUARDED) if inner.kind == GUARDED else UNKNOWN_VALUE
        return replace(inner, one=inner.one and keeps_unit, unit=inner.unit and keeps_unit)

    @staticmethod
    def _merge(a: Provenance, b: Provenance) -> Provenance:
        """Either branch of a select. Unsafe when either branch is; in [0, 1] only when both are."""
        for first, second in ((a, b), (b, a)):
            if first.unsafe and first.kind in (PROBABILITY, RATIO):
                return replace(first, zero=a.zero or b.zero, one=a.one or b.one, unit=a.unit and b.unit)
        if a.kind == GUARDED and b.kind == GUARDED:
            return Provenance(GUARDED, unit=a.unit and b.unit)
        return UNKNOWN_VALUE

    @staticmethod
    def _has_comparison(node: cst.CSTNode) -> bool:
        return bool(findall(node, m.Comparison()))

    def _compares_operand(self, condition: cst.BaseExpression, branches: list[cst.BaseExpression]) -> bool:
        """The condition compares something that also appears in a branch (`where(p > 0, log(p), 0)`,
        `where(tf.greater(p, 0), p, 1)`). Module names (`tf`, `torch`) do not count as shared."""
        return compares_operand(condition, branches, self.context)


COMPARISON_FUNCTION_NAMES = frozenset(
    {"greater", "greater_equal", "less", "less_equal", "not_equal", "equal", "gt", "ge", "lt", "le", "ne", "eq", "isfinite", "is_finite", "isnan", "is_nan", "isinf", "is_inf", "logical_and", "logical_or"}
)


def compares_operand(condition: cst.BaseExpression, branches: list[cst.BaseExpression], context: FileContext) -> bool:
    """True when `condition` tests (with a comparison operator or a comparison function such as `tf.greater`)
    a name that also occurs in one of `branches`: the select guards its own operand."""
    bare = strip_parens(condition)
    if isinstance(bare, cst.Name):
        # mask = p > 0; where(mask, log(p), 0)
        binding = (context.function or context.scope).reaching_binding(bare)
        if binding is not None and binding.value is not None and binding.augmented_op is None:
            condition = binding.value
    tests: list[cst.CSTNode] = list(findall(condition, m.Comparison()))
    for call in findall(condition, m.Call()):
        assert isinstance(call, cst.Call)
        func = call.func
        short = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        if short in COMPARISON_FUNCTION_NAMES:
            tests.extend(a.value for a in call.args)
    if not tests:
        return False
    compared: set[str] = set()
    for test in tests:
        compared |= names_in(test)
    branch_names: set[str] = set()
    for branch in branches:
        branch_names |= names_in(branch)
    shared = {name for name in compared & branch_names if context.imports.lookup(name) is None}
    return bool(shared)


def _from_fact(found: "callees.Found", node: cst.CSTNode) -> Provenance:
    """A summary's fact as the provenance of the value at `node` (the call site)."""
    fact = found.fact
    if fact.kind == "probability":
        return Provenance(PROBABILITY, zero=True, one=True, unit=True, origin=found.origin, origin_node=node, source=fact.detail, note=f"the probability is the {found.origin}")
    if fact.kind == "guarded":
        return Provenance(GUARDED)
    if fact.kind == "logits":
        return Provenance(LOGITS)
    return UNKNOWN_VALUE


def discarded_guards(context: FileContext, operand: cst.BaseExpression, use: cst.CSTNode) -> list[cst.Call]:
    """Clips whose result is thrown away before `use` (`tf.clip_by_value(pred, 1e-10, 1.0)` as a bare statement,
    then `log(pred)`): they guard nothing, and the finding says so (issue 12). `p = clip(p, ...)` is a guard and
    is seen by `provenance` itself."""
    scope = context.function
    if scope is None:
        return []
    names = names_in(operand)
    if not names:
        return []
    from .models import statements  # models imports this module's neighbours, not this one

    end = scope.order_of(use)
    found: list[cst.Call] = []
    for statement in statements(scope.node):
        call = statement.value if isinstance(statement, cst.Expr) else None
        if not isinstance(call, cst.Call):
            continue
        callee = context.callee(call)
        if callee in CLIP_FUNCTIONS or callee in MAXIMUM_FUNCTIONS or callee in MINIMUM_FUNCTIONS:
            target = arg(call, 0)
        elif isinstance(call.func, cst.Attribute) and call.func.attr.value in CLIP_METHODS and callee is None:
            target = call.func.value
        else:
            continue
        order = scope.order_of(call)
        if isinstance(target, cst.Name) and target.value in names and order is not None and (end is None or order < end):
            found.append(call)
    return found


def analysis_for(context: FileContext) -> ProvenanceAnalysis:
    cached = context.shared.get("provenance.analysis")
    if not isinstance(cached, ProvenanceAnalysis):
        cached = ProvenanceAnalysis(context)
        context.shared["provenance.analysis"] = cached
    return cached


def provenance(expr: cst.BaseExpression, context: FileContext) -> Provenance:
    """What `expr` is at the node being visited (see the module docstring)."""
    return analysis_for(context).of(expr)


def is_logits(expr: cst.BaseExpression, context: FileContext) -> bool:
    """The expression holds logits by name (`logits`, `y_logits`, a parameter named so) or by assignment."""
    return provenance(expr, context).kind == LOGITS


# -- Logs and logit transforms -------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogCall:
    """A call computing a logarithm. `operand` is the original argument node (usable in a `Replacement`); for
    `log1p(-x)` it is `x` and `complement` is set (log1p(-x) == log(1 - x))."""

    call: cst.Call
    operand: cst.BaseExpression
    family: str  # LOG_FUNCTIONS value: "tensorflow", "keras", "keras.backend", "torch", "numpy", "jax", "math"
    complement: bool = False
    method: bool = False  # `p.log()` (torch)


def log_call(call: cst.Call, context: FileContext) -> LogCall | None:
    callee = context.callee(call)
    if callee in LOG_FUNCTIONS or callee in LOG_BASE_FUNCTIONS:
        if len(call.args) != 1 or call.args[0].star:
            return None  # math.log(x, base), np.log(p, where=p > 0, out=...)
        family = LOG_FUNCTIONS.get(callee) or LOG_BASE_FUNCTIONS[callee]  # type: ignore[index]
        return LogCall(call, call.args[0].value, family)
    if callee in LOG1P_FUNCTIONS:
        if len(call.args) != 1 or call.args[0].star:
            return None
        negated = _negated(call.args[0].value)
        return LogCall(call, negated, LOG1P_FUNCTIONS[callee], complement=True) if negated is not None else None
    if callee is None and isinstance(call.func, cst.Attribute) and not call.args and context.imports.imports_any(("torch",)):
        method = call.func.attr.value
        if method in LOG_METHODS:
            return LogCall(call, call.func.value, "torch", method=True)
        if method in LOG1P_METHODS:
            negated = _negated(call.func.value)
            return LogCall(call, negated, "torch", complement=True, method=True) if negated is not None else None
    return None


def _negated(node: cst.BaseExpression) -> cst.BaseExpression | None:
    bare = strip_parens(node)
    if isinstance(bare, cst.UnaryOperation) and isinstance(bare.operator, cst.Minus):
        return bare.expression
    return None


@dataclass(frozen=True)
class LogitTransform:
    """`log(p / (1 - p))`, `log(p) - log(1 - p)` (or their negations): probabilities turned back into logits."""

    node: cst.BaseExpression  # the log call, or the subtraction of two logs
    p: cst.BaseExpression  # the probability (first occurrence, original node)
    occurrences: tuple[cst.BaseExpression, ...]  # every occurrence of p in the pattern (for fixes)
    log: LogCall
    log_calls: tuple[cst.CSTNode, ...]  # the log call node(s) the pattern is made of
    negated: bool = False  # log((1 - p) / p) == -logit(p)


def logit_transform(node: cst.CSTNode, context: FileContext) -> LogitTransform | None:
    if isinstance(node, cst.Call):
        log = log_call(node, context)
        if log is None or log.complement:
            return None
        ratio = strip_parens(log.operand)
        if not (isinstance(ratio, cst.BinaryOperation) and isinstance(ratio.operator, cst.Divide)):
            return None
        q = complement_operand(ratio.right)
        if q is not None and same_expression(ratio.left, q, context):
            return LogitTransform(node, ratio.left, (ratio.left, q), log, (node,))
        q = complement_operand(ratio.left)
        if q is not None and same_expression(ratio.right, q, context):
            return LogitTransform(node, ratio.right, (q, ratio.right), log, (node,), negated=True)
        return None
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Subtract):
        left, right = strip_parens(node.left), strip_parens(node.right)
        if not (isinstance(left, cst.Call) and isinstance(right, cst.Call)):
            return None
        first, second = log_call(left, context), log_call(right, context)
        if first is None or second is None or first.complement or second.complement:
            return None
        q = complement_operand(second.operand)
        if q is not None and same_expression(first.operand, q, context):
            return LogitTransform(node, first.operand, (first.operand, q), first, (node.left, node.right))
        q = complement_operand(first.operand)
        if q is not None and same_expression(second.operand, q, context):
            return LogitTransform(node, second.operand, (q, second.operand), second, (node.left, node.right), negated=True)
    return None

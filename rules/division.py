"""EPS101-EPS103: division in metric, loss and training code.

EPS101 unguarded division by a data-dependent denominator; EPS102 an epsilon that is there but guards nothing
(`a / b + eps`, `(a + eps) / b`, `a / b * (1 + eps)`); EPS103 a single `where` around a division or log in
differentiable code (forward-safe, gradient NaN). Denominator analysis: `analysis/denominators.py`; API facts:
`tables/division.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lint_eps.lazy import libcst as cst
from lint_eps import match as m

from lint_eps.nodes import arg, number_value, parenthesize, simple_operand, strip_parens
from lint_eps.rule import Invalid, Replacement, Rule
from lint_eps.walk import children, findall

from .analysis.denominators import (
    DATA,
    GUARDED,
    Denominator,
    add_terms,
    call_name,
    classify,
    family_of,
    method_name,
    operand_keys,
)
from .analysis.callers import guarded_by_callers, unguarded_call
from .analysis.implied import asserted_quotient
from .analysis.selections import masked_mean
from .analysis.epsilon import epsilon_value, is_epsilon, is_epsilon_name
from .analysis.roles import Role, function_role, role_code_contains, role_code_needs
from .tables.division import (
    COND_FUNCTIONS,
    DIFFERENTIABLE_WHERE_FAMILIES,
    DIVISION_FUNCTIONS,
    DIVISION_KEYWORDS,
    DIVISION_METHODS,
    EPSILON_CALL_FOR,
    FALLBACK_EPSILON,
    FAMILY_IMPORT_PREFIXES,
    LOG_LIKE_FUNCTIONS,
    LOG_LIKE_METHODS,
    NAN_REPAIR_FUNCTIONS,
    NAN_REPAIR_METHODS,
    NAN_TEST_FUNCTIONS,
    NAN_TEST_METHODS,
    NO_NAN_DIVIDE_FOR,
    OPTIMIZER_BASE_SUFFIXES,
    POSITIVE_ASSERTIONS,
    ROUNDING_KEYWORD,
    WHERE_FIX_FAMILIES,
    WHERE_FUNCTIONS,
)

ALWAYS = frozenset({"*"})
TRIGGERS = (b"/", b"divide", b"truediv", b"div(", b"where", b"switch")
# EPS101 also reads a mean over a masked selection (analysis/selections.py).
MEAN_TRIGGERS = TRIGGERS + (b"].mean(", b"masked_select", b"boolean_mask")


@dataclass(frozen=True)
class Division:
    node: cst.CSTNode  # BinaryOperation, Call or AugAssign
    numerator: cst.BaseExpression | None
    denominator: cst.BaseExpression
    family: str | None  # of the division function, None for `/`


@dataclass
class _Guard:
    node: cst.CSTNode
    keys: frozenset[str]  # ALWAYS: guards whatever is inside
    kind: str  # "where" | "if" | "cond" | "repair"


class _DivisionRule(Rule):
    """Shared machinery: enclosing guards, roles, division matching, fix spelling."""

    triggers = TRIGGERS
    # Every finding is in metric, loss or training code (`role()`): a file is parsed for these rules only when
    # the code of a function that may have a role contains a trigger.
    prefilter = staticmethod(lambda text: role_code_contains(text, TRIGGERS))
    # Likewise per function: only those functions (with their class's other methods) are parsed.
    needs_function = staticmethod(lambda text, function: role_code_needs(text, function, TRIGGERS))

    def __init__(self, context) -> None:  # type: ignore[no-untyped-def]
        super().__init__(context)
        self._guards: list[_Guard] = []
        self._assigns: list[cst.CSTNode] = []
        self._logs: list[cst.Call] = []

    # -- enclosing guards -------------------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        name = call_name(node, self.context)
        method = method_name(node, self.context)
        if name in WHERE_FUNCTIONS:
            cond = arg(node, 0, "condition")
            if cond is not None and len(node.args) >= 3:
                self._guards.append(_Guard(node, frozenset(operand_keys(cond, self.context)), "where"))
        elif name in COND_FUNCTIONS:
            self._guards.append(_Guard(node, ALWAYS, "cond"))
        elif name in NAN_REPAIR_FUNCTIONS or (method in NAN_REPAIR_METHODS and self._uses("torch")):
            self._guards.append(_Guard(node, ALWAYS, "repair"))
        if name in LOG_LIKE_FUNCTIONS or name in ("tensorflow.math.log", "numpy.log", "math.log"):
            self._logs.append(node)
        self.on_call(node)

    def leave_Call(self, original_node: cst.Call) -> None:
        if self._guards and self._guards[-1].node is original_node:
            self._guards.pop()
        if self._logs and self._logs[-1] is original_node:
            self._logs.pop()

    def visit_If(self, node: cst.If) -> None:
        self._guards.append(_Guard(node, frozenset(test_keys(node.test, self.context)), "if"))

    def leave_If(self, original_node: cst.If) -> None:
        if self._guards and self._guards[-1].node is original_node:
            self._guards.pop()

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._guards.append(_Guard(node, frozenset(test_keys(node.test, self.context)), "if"))

    def leave_IfExp(self, original_node: cst.IfExp) -> None:
        if self._guards and self._guards[-1].node is original_node:
            self._guards.pop()

    def visit_While(self, node: cst.While) -> None:
        self._guards.append(_Guard(node, frozenset(test_keys(node.test, self.context)), "if"))

    def leave_While(self, original_node: cst.While) -> None:
        if self._guards and self._guards[-1].node is original_node:
            self._guards.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        self._assigns.append(node)

    def leave_Assign(self, original_node: cst.Assign) -> None:
        if self._assigns and self._assigns[-1] is original_node:
            self._assigns.pop()

    def on_call(self, node: cst.Call) -> None:
        """Subclass hook (visit_Call is taken by the guard bookkeeping)."""

    # -- helpers ----------------------------------------------------------------------------------------------
    def _uses(self, prefix: str) -> bool:
        return self.context.imports.imports_any((prefix,))

    def role(self) -> Role | None:
        if self._in_optimizer():
            return None  # an optimizer's update step: its own numerics (EPS4xx), not metric/loss code
        for scope in reversed(self.context.scopes):
            if isinstance(scope.node, cst.FunctionDef):
                role = function_role(self.context, scope)
                if role is not None:
                    if role.source == "signature" and "metric" in self.context.path.rsplit("/", 1)[-1].lower():
                        # `(labels, predictions)` in a metrics module (tf.compat.v1.metrics): a metric, never
                        # differentiated, rather than the stricter loss reading.
                        return Role("metric", role.reason.replace("a loss by its signature", "a metric (in a metrics module)"), False, "signature")
                    return role
        return None

    def _in_optimizer(self) -> bool:
        """An optimizer's update step is neither metric nor loss code, and runs outside autodiff."""
        for info in self.context.classes:
            if any(base.rsplit(".", 1)[-1].endswith(OPTIMIZER_BASE_SUFFIXES) for base in info.bases):
                return True
        return False

    def division_of(self, node: cst.CSTNode) -> Division | None:
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide):
            return Division(node, node.left, node.right, None)
        if isinstance(node, cst.AugAssign) and isinstance(node.operator, cst.DivideAssign):
            return Division(node, None, node.value, None)
        if isinstance(node, cst.Call):
            name = self.context.callee(node)
            if name in DIVISION_FUNCTIONS:
                family = DIVISION_FUNCTIONS[name]
                if any(a.keyword is not None and a.keyword.value == ROUNDING_KEYWORD for a in node.args):
                    return None
                num_kw, den_kw = DIVISION_KEYWORDS[family]
                numerator, denominator = arg(node, 0, num_kw), arg(node, 1, den_kw)
                if denominator is None:
                    return None
                return Division(node, numerator, denominator, family)
            method = method_name(node, self.context)
            if method in DIVISION_METHODS and self._uses("torch") and len(node.args) == 1 and node.args[0].keyword is None:
                return Division(node, node.func.value, node.args[0].value, "torch")  # type: ignore[attr-defined]
        return None

    def denominator_keys(self, denominator: cst.BaseExpression) -> set[str]:
        keys = operand_keys(denominator, self.context)
        scope = self.context.function
        bare = strip_parens(denominator)
        if scope is not None and isinstance(bare, cst.Name):
            binding = scope.reaching_binding(bare)
            if binding is not None and binding.value is not None:
                keys |= operand_keys(binding.value, self.context)
        return keys

    def guarded_by_context(self, division: Division, role: Role) -> str | None:
        """Why the division is safe from its surroundings ("where", "if", "cond", "repair", "exit"), or None.
        A NaN repaired after the fact ("repair") protects the value, not the gradient: only metric code takes it."""
        keys = self.denominator_keys(division.denominator)
        if self._where_argument_tests(division, keys):
            return "where"
        for guard in reversed(self._guards):
            if guard.kind == "repair":
                if not role.differentiable:
                    return "repair"
                continue
            if guard.keys is ALWAYS or guard.keys & keys:
                return guard.kind
        if self._early_exit(division.node, keys):
            return "exit"
        numerator = self.numerator_keys(division)
        if numerator and (any(g.kind == "if" and g.keys is not ALWAYS and g.keys & numerator for g in self._guards) or self._early_exit(division.node, numerator)):
            return "numerator"
        function = self.context.function
        own = operand_keys(division.denominator, self.context)
        if function is not None and isinstance(function.node, cst.FunctionDef) and own and all(asserted_quotient(function.node, {key}, self.context) for key in own):
            return "assert"  # every value of the denominator is asserted through a quotient by it
        if function is not None and isinstance(function.node, cst.FunctionDef) and function.class_node is None and guarded_by_callers(function.node, keys, self.context):
            return "caller"
        repaired = self._repaired_later(division, keys)
        if repaired == "where" or (repaired == "repair" and not role.differentiable):
            return repaired
        return None

    def _where_argument_tests(self, division: Division, keys: set[str]) -> bool:
        """`np.divide(a, b, out=np.zeros_like(a), where=b != 0)`: the ufunc skips the slots where the mask is false,
        so it never divides by 0 there. The mask must test the denominator (directly or through a local name).
        Without `out=` those slots are left uninitialised: a different bug (garbage, not NaN/inf), not this one, so
        the division counts as guarded either way."""
        if division.family != "numpy" or not isinstance(division.node, cst.Call) or not keys:
            return False
        mask = next((a.value for a in division.node.args if a.keyword is not None and a.keyword.value == "where"), None)
        if mask is None:
            return False
        tested = test_keys(mask, self.context)
        bare = strip_parens(mask)
        scope = self.context.function
        if isinstance(bare, cst.Name) and scope is not None:
            binding = scope.reaching_binding(bare)
            if binding is not None and binding.value is not None:
                tested |= test_keys(binding.value, self.context)
        return bool(tested & keys)

    def numerator_keys(self, division: Division) -> set[str]:
        """The numerator's values when it is a count whose check implies the denominator's (a sub-count over its
        total); empty for labels, predictions and literals."""
        if division.numerator is None or classify(division.denominator, self.context).elementwise:
            return set()
        numerator = classify(division.numerator, self.context)
        if numerator.elementwise or number_value(strip_parens(division.numerator)) is not None:
            return set()
        return operand_keys(division.numerator, self.context)

    def _early_exit(self, node: cst.CSTNode, keys: set[str]) -> bool:
        """`if d == 0: return 0.0` / `if not d: raise` / `assert d > 0` before the division."""
        scope = self.context.function
        if scope is None or not keys:
            return False
        order = scope.order_of(node)
        if order is None:
            return False
        for statement in _exit_checks(scope.node):
            stmt_order = scope.order_of(statement[0])
            if stmt_order is not None and stmt_order < order and statement[1] and (test_keys(statement[1], self.context) & keys):
                return True
        return False

    def _repaired_later(self, division: Division, keys: set[str]) -> str | None:
        """`r = a / d` followed by `where(d > 0, r, 0)`, `where(isnan(r), 0, r)`, `nan_to_num(r)`, `r[r != r] = 0`."""
        if not self._assigns:
            return None
        assign = self._assigns[-1]
        assert isinstance(assign, cst.Assign)
        targets = set()
        for target in assign.targets:
            targets |= operand_keys(target.target, self.context)
        scope = self.context.function
        if not targets or scope is None:
            return None
        start = scope.order_of(assign)
        if start is None:
            return None
        # One level of aliases: `flat = r.flatten()` then `flat[torch.isinf(flat)] = 0`.
        for later in findall(scope.node, m.Assign()):
            assert isinstance(later, cst.Assign)
            if (scope.order_of(later) or 0) > start and operand_keys(later.value, self.context) & targets:
                for t in later.targets:
                    if isinstance(t.target, cst.Name):
                        targets = targets | {t.target.value}
        for call in findall(scope.node, m.Call()):
            assert isinstance(call, cst.Call)
            order = scope.order_of(call)
            if order is None or order <= start:
                continue
            name = call_name(call, self.context)
            if (name in NAN_TEST_FUNCTIONS or method_name(call, self.context) in NAN_TEST_METHODS):
                # `xp.isnan(r)` through an array namespace held in a variable reads its argument, `r.isnan()` its receiver.
                operand = arg(call, 0) if name or call.args else call.func.value  # type: ignore[attr-defined]
                if operand is not None and operand_keys(operand, self.context) & targets:
                    return "repair"
            method = method_name(call, self.context)
            if name in NAN_REPAIR_FUNCTIONS or method in NAN_REPAIR_METHODS:
                operand = arg(call, 0) if name else call.func.value  # type: ignore[attr-defined]
                if operand is not None and operand_keys(operand, self.context) & targets:
                    return "repair"
            if name in WHERE_FUNCTIONS and len(call.args) >= 3:
                cond = call.args[0].value
                cond_keys = operand_keys(cond, self.context)
                branches = set()
                for a in call.args[1:3]:
                    branches |= operand_keys(a.value, self.context)
                if targets & branches:
                    if cond_keys & keys:
                        return "where"
                    if cond_keys & targets and _tests_nan(cond, self.context):
                        return "repair"
        # torch/numpy in-place repair: r[torch.isnan(r)] = 0, r[r != r] = 0
        for sub_assign in findall(scope.node, m.Assign(targets=[m.AssignTarget(target=m.Subscript())])):
            order = scope.order_of(sub_assign)
            if order is None or order <= start:
                continue
            target = sub_assign.targets[0].target  # type: ignore[attr-defined]
            if operand_keys(target.value, self.context) & targets and (
                _tests_nan(target, self.context) or findall(target, m.Comparison(comparisons=[m.ComparisonTarget(operator=m.NotEqual())]))
            ):
                return "repair"
        return None

    def family_for(self, division: Division, den: Denominator) -> str | None:
        if division.family and division.family != "python":
            return division.family
        if den.family:
            return den.family
        # The numerator's framework, then what the file imports.
        if division.numerator is not None:
            for call in findall(division.numerator, m.Call()):
                family = family_of(self.context.callee(call))  # type: ignore[arg-type]
                if family:
                    return family
        for prefix, family in FAMILY_IMPORT_PREFIXES:
            if self._uses(prefix):
                return family
        return None

    def epsilon_spelling(self, family: str | None) -> str:
        for target in EPSILON_CALL_FOR.get(family or "", ()):
            spelled = self.context.spell(target)
            if spelled:
                return f"{spelled}()"
        return FALLBACK_EPSILON

    @staticmethod
    def plus(denominator: cst.BaseExpression, epsilon: str, code) -> str:  # type: ignore[no-untyped-def]
        bare = strip_parens(denominator)
        if isinstance(bare, cst.BinaryOperation) or isinstance(bare, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)):
            return f"{code(bare)} + {epsilon}"
        return f"({code(bare)}) + {epsilon}"


def test_keys(test: cst.BaseExpression, context) -> set[str]:  # type: ignore[no-untyped-def]
    """The values a condition compares: `d > 0`, `d == 0`, `not d`, `d` — but not `x is None`, `isinstance(...)`,
    `k in config`, which say nothing about whether a value is 0."""
    test = strip_parens(test)
    if isinstance(test, cst.BooleanOperation):
        return test_keys(test.left, context) | test_keys(test.right, context)
    if isinstance(test, cst.UnaryOperation):
        return test_keys(test.expression, context)
    if isinstance(test, cst.Comparison):
        if all(isinstance(c.operator, (cst.Is, cst.IsNot, cst.In, cst.NotIn)) for c in test.comparisons):
            return set()
        keys: set[str] = set()
        for operand in [test.left] + [c.comparator for c in test.comparisons]:
            if not _shape_like(operand):  # `len(x.shape) != 2`, `x.ndim < 1`: about shapes, not values
                keys |= operand_keys(operand, context)
        return keys
    if isinstance(test, cst.Call) and isinstance(test.func, cst.Name) and test.func.value in ("isinstance", "hasattr", "callable", "len"):
        return set()
    return operand_keys(test, context)


def _shape_like(node: cst.BaseExpression) -> bool:
    return bool(
        findall(node, m.Attribute(attr=m.Name("shape") | m.Name("ndim") | m.Name("dtype")))
        or findall(node, m.Call(func=m.Name("len") | m.Attribute(attr=m.Name("shape") | m.Name("rank") | m.Name("size") | m.Name("dim"))))
    )


def _exit_checks(function: cst.CSTNode) -> list[tuple[cst.CSTNode, cst.BaseExpression | None]]:
    out: list[tuple[cst.CSTNode, cst.BaseExpression | None]] = []
    # `tf.debugging.assert_positive(t)`, `assert_util.assert_greater(n, 0)`: raises on the zero before it is used.
    for call in findall(function, m.Call(func=m.Attribute(attr=m.Name()) | m.Name())):
        assert isinstance(call, cst.Call)
        leaf = call.func.attr if isinstance(call.func, cst.Attribute) else call.func
        if isinstance(leaf, cst.Name) and leaf.value in POSITIVE_ASSERTIONS and call.args:
            out.append((call, call.args[0].value))
    for node in findall(function, m.If() | m.Assert()):
        if isinstance(node, cst.Assert):
            out.append((node, node.test))
            continue
        assert isinstance(node, cst.If)
        if findall(node.body, m.Return() | m.Raise() | m.Continue() | m.Break()):
            out.append((node, node.test))
    return out


def _tests_nan(node: cst.CSTNode, context) -> bool:  # type: ignore[no-untyped-def]
    for call in findall(node, m.Call()):
        assert isinstance(call, cst.Call)
        if call_name(call, context) in NAN_TEST_FUNCTIONS or method_name(call, context) in NAN_TEST_METHODS:
            return True
    return False


# Frameworks without autodiff: a NaN there is a wrong value, never a gradient (NumPy warns, Python raises).
NO_GRADIENT_FAMILIES = frozenset({"numpy", "python"})


def _without_gradient(role: Role, family: str | None) -> Role:
    """NumPy or plain-Python code is never differentiated, whatever its name says: judge it as metric code."""
    return replace(role, differentiable=False) if family in NO_GRADIENT_FAMILIES and role.differentiable else role


def _consequence(role: Role, family: str | None = None) -> str:
    """What the NaN does, said in the framework the code uses."""
    what = "the metric reports NaN" if role.is_metric else f"the {role.kind if role.kind != 'training' else 'result'} is NaN"
    if family == "numpy":
        return f"NumPy returns it with only a RuntimeWarning and {what}"
    if family == "python":
        return "on Python numbers it raises ZeroDivisionError"
    if role.differentiable:
        return "in a loss the NaN reaches the gradient, and the next optimizer step writes NaN into every weight it touches"
    return "the metric reports NaN (and a running total that adds it stays NaN)" if role.is_metric else what


# ======================================================================================================

# Issue 12: values across function, class and module boundaries (VALID/INVALID examples below).
_ISSUE12_HELPER_RATIOS = (
    'from keras import backend as K\n'
    '\n'
    '\n'
    'def recall_m(y_true, y_pred):\n'
    '    true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))\n'
    '    possible_positives = K.sum(K.round(K.clip(y_true, 0, 1)))\n'
    '    return true_positives / (possible_positives + K.epsilon())\n'
    '\n'
    '\n'
    'def precision_m(y_true, y_pred):\n'
    '    true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))\n'
    '    predicted_positives = K.sum(K.round(K.clip(y_pred, 0, 1)))\n'
    '    return true_positives / (predicted_positives + K.epsilon())\n'
    '\n'
    '\n'
    'def f1_m(y_true, y_pred):\n'
    '    precision = precision_m(y_true, y_pred)\n'
    '    recall = recall_m(y_true, y_pred)\n'
    '    return 2 * ((precision * recall) / (precision + recall))\n'
)
_ISSUE12_HELPER_RATIOS_FIXED = (
    'from keras import backend as K\n'
    '\n'
    '\n'
    'def recall_m(y_true, y_pred):\n'
    '    true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))\n'
    '    possible_positives = K.sum(K.round(K.clip(y_true, 0, 1)))\n'
    '    return true_positives / (possible_positives + K.epsilon())\n'
    '\n'
    '\n'
    'def precision_m(y_true, y_pred):\n'
    '    true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))\n'
    '    predicted_positives = K.sum(K.round(K.clip(y_pred, 0, 1)))\n'
    '    return true_positives / (predicted_positives + K.epsilon())\n'
    '\n'
    '\n'
    'def f1_m(y_true, y_pred):\n'
    '    precision = precision_m(y_true, y_pred)\n'
    '    recall = recall_m(y_true, y_pred)\n'
    '    return 2 * ((precision * recall) / (precision + recall + K.epsilon()))\n'
)
_ISSUE12_CALLED_FROM_LOSS = (
    'import tensorflow as tf\n'
    '\n'
    '\n'
    'def _overlap(a, b):\n'
    '    inter = tf.reduce_sum(a * b)\n'
    '    return 2.0 * inter / (tf.reduce_sum(a) + tf.reduce_sum(b))\n'
    '\n'
    '\n'
    'def dice_loss(y_true, y_pred):\n'
    '    return 1.0 - _overlap(y_true, y_pred)\n'
)
_ISSUE12_CALLED_FROM_LOSS_FIXED = (
    'import tensorflow as tf\n'
    '\n'
    '\n'
    'def _overlap(a, b):\n'
    '    inter = tf.reduce_sum(a * b)\n'
    '    return tf.math.divide_no_nan(2.0 * inter, tf.reduce_sum(a) + tf.reduce_sum(b))\n'
    '\n'
    '\n'
    'def dice_loss(y_true, y_pred):\n'
    '    return 1.0 - _overlap(y_true, y_pred)\n'
)
_ISSUE12_BOX_AREA = (
    'import torch\n'
    '\n'
    '\n'
    'def box_area(boxes):\n'
    '    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])\n'
    '\n'
    '\n'
    'def iou_loss(pred_boxes, target_boxes):\n'
    '    lt = torch.max(pred_boxes[:, :2], target_boxes[:, :2])\n'
    '    rb = torch.min(pred_boxes[:, 2:], target_boxes[:, 2:])\n'
    '    wh = (rb - lt).clamp(min=0)\n'
    '    inter = wh[:, 0] * wh[:, 1]\n'
    '    union = box_area(pred_boxes) + box_area(target_boxes) - inter\n'
    '    return (1 - inter / union).mean()\n'
)
_ISSUE12_BOX_AREA_FIXED = (
    'import torch\n'
    '\n'
    '\n'
    'def box_area(boxes):\n'
    '    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])\n'
    '\n'
    '\n'
    'def iou_loss(pred_boxes, target_boxes):\n'
    '    lt = torch.max(pred_boxes[:, :2], target_boxes[:, :2])\n'
    '    rb = torch.min(pred_boxes[:, 2:], target_boxes[:, 2:])\n'
    '    wh = (rb - lt).clamp(min=0)\n'
    '    inter = wh[:, 0] * wh[:, 1]\n'
    '    union = box_area(pred_boxes) + box_area(target_boxes) - inter\n'
    '    return (1 - inter / (union + 1e-7)).mean()\n'
)
_ISSUE12_LAZY_STATE = (
    'import tensorflow as tf\n'
    'from tensorflow import keras\n'
    '\n'
    '\n'
    'class MeanRatio(keras.metrics.Metric):\n'
    '    def update_state(self, y_true, y_pred, sample_weight=None):\n'
    '        if not hasattr(self, "count"):\n'
    '            self.total = self.add_weight(name="total", initializer="zeros")\n'
    '            self.count = self.add_weight(name="count", initializer="zeros")\n'
    '        self.total.assign_add(tf.reduce_sum(y_pred))\n'
    '        self.count.assign_add(tf.reduce_sum(y_true))\n'
    '\n'
    '    def result(self):\n'
    '        return self.total / self.count\n'
)
_ISSUE12_LAZY_STATE_FIXED = (
    'import tensorflow as tf\n'
    'from tensorflow import keras\n'
    '\n'
    '\n'
    'class MeanRatio(keras.metrics.Metric):\n'
    '    def update_state(self, y_true, y_pred, sample_weight=None):\n'
    '        if not hasattr(self, "count"):\n'
    '            self.total = self.add_weight(name="total", initializer="zeros")\n'
    '            self.count = self.add_weight(name="count", initializer="zeros")\n'
    '        self.total.assign_add(tf.reduce_sum(y_pred))\n'
    '        self.count.assign_add(tf.reduce_sum(y_true))\n'
    '\n'
    '    def result(self):\n'
    '        return tf.math.divide_no_nan(self.total, self.count)\n'
)
_ISSUE12_GUARDED_F1 = (
    'from keras import backend as K\n'
    '\n'
    '\n'
    'def recall_m(y_true, y_pred):\n'
    '    true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))\n'
    '    possible_positives = K.sum(K.round(K.clip(y_true, 0, 1)))\n'
    '    return true_positives / (possible_positives + K.epsilon())\n'
    '\n'
    '\n'
    'def precision_m(y_true, y_pred):\n'
    '    true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))\n'
    '    predicted_positives = K.sum(K.round(K.clip(y_pred, 0, 1)))\n'
    '    return true_positives / (predicted_positives + K.epsilon())\n'
    '\n'
    '\n'
    'def f1_m(y_true, y_pred):\n'
    '    precision = precision_m(y_true, y_pred)\n'
    '    recall = recall_m(y_true, y_pred)\n'
    '    return 2 * ((precision * recall) / (precision + recall + K.epsilon()))\n'
)
_ISSUE12_NO_ROLE = (
    'import tensorflow as tf\n'
    '\n'
    '\n'
    'def _overlap(a, b):\n'
    '    inter = tf.reduce_sum(a * b)\n'
    '    return 2.0 * inter / (tf.reduce_sum(a) + tf.reduce_sum(b))\n'
    '\n'
    '\n'
    'def plot_overlap(a, b):\n'
    '    print(_overlap(a, b))\n'
)

class UnguardedDivision(_DivisionRule):
    code = "EPS101"
    name = "unguarded-division"
    summary = "Division by a data-dependent denominator with no guard in metric or loss code"
    fixable = "sometimes"
    specificity = 50
    triggers = MEAN_TRIGGERS
    prefilter = staticmethod(lambda text: role_code_contains(text, MEAN_TRIGGERS))
    needs_function = staticmethod(lambda text, function: role_code_needs(text, function, MEAN_TRIGGERS))
    docs = """
    ## What it does
    In metric, loss and training code (see below), finds `/`, `/=`, `tf.math.divide`/`tf.divide`/`truediv`,
    `keras.ops.divide`, `np.divide`, `torch.div`/`true_divide`/`Tensor.div` and `jnp.divide` whose denominator is
    data dependent — a reduction or count of the batch (sum, mean, count_nonzero, norm, std/var, bincount, a
    confusion matrix), a running-state attribute of a metric class (`self.add_weight`/`add_state` variables,
    `self.count`, `self.total`), a confusion-count name (`tp`, `fp`, `support`, `union`, …), a label or
    prediction value (`y_true` in a MAPE), or a sum, difference, product, sqrt or cast of those, also through local
    variables — and that nothing keeps away from zero.

    Guards that make it clean: a positive epsilon/smooth term in the denominator (literal, `K.epsilon()`,
    `keras.config.epsilon()`, a name like `eps`/`smooth`, or any other non-data term), `maximum(d, c > 0)`,
    `max(d, 1)`, `clip(d, c > 0, …)`, `d.clamp(min=c)`, `divide_no_nan`, a `where`/`if`/conditional expression
    that tests the denominator, NumPy's `np.divide(a, d, out=np.zeros_like(a), where=d != 0)` (the mask, or the
    local name it is bound to, must test `d`; without `out=` the skipped slots are left uninitialised, a
    different bug that this rule does not report), an earlier `if d == 0: return …`/`raise`/`assert d > 0`,
    `tf.cond`, and, in metric code only, a NaN repaired afterwards (`nan_to_num`, `where(isnan(r), 0, r)`,
    `r[r != r] = 0`). NumPy and plain-Python code is never differentiated, so there it is judged as metric code.

    Not findings: divisions by constants, by shapes and lengths (`tf.shape(x)[0]`, `x.shape[0]`, `len(x)`,
    `x.numel()`: zero only for an empty batch, where the framework's own `reduce_mean` is NaN as well), by
    hyperparameters (`self.temperature`, `warmup_steps`), a quotient that is only compared with a threshold
    (`error / target.abs() > rel_threshold`: `x / 0 = inf` compares as the large ratio it is, `0 / 0 = NaN`
    compares False, and no gradient flows through a comparison), and any division outside metric/loss/training
    code.
    Metric/loss/training code is a function named like a metric or loss (`precision`, `dice_coef`, `*_loss`, …),
    taking `(y_true, y_pred)`, a method of a Keras `Metric`/`Loss` subclass, of a torch `*Loss` module or of a
    torchmetrics `Metric`, a function passed to `compile(loss=..., metrics=...)`, or one that computes gradients.
    `log(p / (1 - p))` is left to EPS203.

    ## Why is this bad?
    A count is 0 for some batch: no positive predictions (precision), a class absent from the batch (recall, IoU),
    an all-padding batch (a masked mean), no update yet (`self.count`). `0 / 0` is NaN and `x / 0` is inf. A
    metric then reports NaN; in a loss the NaN reaches the gradient and one optimizer step writes NaN into the
    weights, after which training cannot recover.

    ## Example
    ```python
    from tensorflow.keras import backend as K

    def precision(y_true, y_pred):
        true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))
        predicted_positives = K.sum(K.round(K.clip(y_pred, 0, 1)))
        return true_positives / predicted_positives
    ```

    ## Use instead
    ```python
    from tensorflow.keras import backend as K

    def precision(y_true, y_pred):
        true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))
        predicted_positives = K.sum(K.round(K.clip(y_pred, 0, 1)))
        return true_positives / (predicted_positives + K.epsilon())
    ```

    ## Fix safety
    The fix is unsafe: it turns NaN into 0 (or into a tiny bias) where the denominator is 0, which changes what
    the code reports. TensorFlow code gets `tf.math.divide_no_nan(a, b)` (exact wherever b != 0, 0 and a zero
    gradient where b == 0). Keras code gets its configured epsilon added to the denominator (`K.epsilon()`,
    `keras.config.epsilon()`: Keras's own Dice/F-score idiom; `keras.ops.divide_no_nan` had NaN gradients on JAX
    before Keras 3.5.0 and on torch before 3.15.0). PyTorch, JAX and NumPy code gets `+ 1e-7` (Keras's default
    epsilon: finite reciprocal in float32/bfloat16, but not a guard in float16, where a dtype-aware
    `torch.finfo(x.dtype).eps` is needed — `torch.finfo` cannot be used blindly because counts are often integer
    tensors). No fix is offered for a label/prediction denominator outside TensorFlow (it may be negative, so
    `+ eps` is not a guard; use `maximum(abs(d), eps)` with the sign, or a `where`).
    """

    VALID = [
        # Issue 12: the same F1 with an epsilon.
        _ISSUE12_GUARDED_F1,
        # Issue 12: a helper called from ordinary code has no role.
        _ISSUE12_NO_ROLE,
        # Keras 3's own dice: epsilon in the denominator.
        "import keras\nfrom keras import ops\n\ndef dice(y_true, y_pred):\n    intersection = ops.sum(y_true * y_pred)\n"
        "    return 1 - ops.divide(2.0 * intersection, ops.sum(y_true) + ops.sum(y_pred) + keras.config.epsilon())\n",
        # A distribution renormalised by its own sum, in place as out of place (PyG's MemPooling KL target).
        "import torch\n\ndef kl_loss(S):\n    P = S ** 2\n    P /= P.sum(dim=2, keepdim=True)\n"
        "    return torch.nn.functional.kl_div(S.log(), P, reduction='batchmean')\n",
        # Smooth term on both sides (the classic Keras dice_coef).
        "from keras import backend as K\n\ndef dice_coef(y_true, y_pred, smooth=1.0):\n    y_true_f = K.flatten(y_true)\n"
        "    y_pred_f = K.flatten(y_pred)\n    intersection = K.sum(y_true_f * y_pred_f)\n"
        "    return (2.0 * intersection + smooth) / (K.sum(y_true_f) + K.sum(y_pred_f) + smooth)\n",
        # divide_no_nan on running state (tf.keras Precision).
        "import tensorflow as tf\n\nclass Precision(tf.keras.metrics.Metric):\n    def result(self):\n"
        "        return tf.math.divide_no_nan(self.true_positives, self.true_positives + self.false_positives)\n",
        # A maximum floor on a masked count.
        "import tensorflow as tf\n\ndef masked_loss(y_true, y_pred, mask):\n    per_token = tf.square(y_true - y_pred) * mask\n"
        "    return tf.reduce_sum(per_token) / tf.maximum(tf.reduce_sum(mask), 1.0)\n",
        # Early return when the denominator is 0.
        "def precision_score(tp, fp):\n    if tp + fp == 0:\n        return 0.0\n    return tp / (tp + fp)\n",
        # NaN repaired after the fact, in metric code (never differentiated).
        "import torch\n\ndef recall_per_class(tp, fn):\n    score = tp / (tp + fn)\n    score[torch.isnan(score)] = 0.0\n    return score\n",
        "import tensorflow as tf\n\ndef iou_score(intersection, union):\n    iou = intersection / union\n"
        "    return tf.where(tf.math.is_nan(iou), tf.zeros_like(iou), iou)\n",
        # A single where on the denominator in a metric (forward value is what matters).
        "import numpy as np\n\ndef f1_score(p, r):\n    return np.where(p + r > 0, 2 * p * r / (p + r), 0.0)\n",
        # A NumPy ufunc that skips the zero denominators (`where=` testing it; `out=` fills the skipped slots).
        "import numpy as np\n\ndef precision(tp, fp):\n"
        "    return np.divide(tp, tp + fp, out=np.zeros_like(tp, dtype=float), where=(tp + fp) != 0)\n",
        "import numpy as np\n\ndef recall(tp, fn):\n    denom = tp + fn\n    valid = denom > 0\n"
        "    return np.true_divide(tp, denom, out=np.zeros(tp.shape), where=valid)\n",
        # Static shapes and hyperparameters.
        "import tensorflow as tf\n\ndef mse_loss(y_true, y_pred):\n"
        "    return tf.reduce_sum(tf.square(y_true - y_pred)) / tf.cast(tf.shape(y_true)[0], tf.float32)\n",
        "import torch\n\nclass DistillLoss(torch.nn.Module):\n    def forward(self, student, teacher):\n"
        "        return torch.nn.functional.kl_div(torch.log_softmax(student / self.temperature, -1), teacher)\n",
        # tf.cond on the denominator; torch clamp.
        "import tensorflow as tf\n\ndef accuracy(correct, total):\n"
        "    return tf.cond(total > 0, lambda: correct / total, lambda: 0.0)\n",
        "import torch\n\ndef jaccard_index(inter, union):\n    return inter / union.clamp(min=1e-6)\n",
        # Not metric/loss code: a plain helper.
        "import tensorflow as tf\n\ndef normalize(x):\n    return x / tf.reduce_sum(x)\n",
        # max(d, 1) on a Python count.
        "def accuracy_score(correct, count):\n    return correct / max(count, 1)\n",
        # Renormalising probabilities by their own sum (Keras's categorical crossentropy).
        "import tensorflow as tf\n\ndef categorical_crossentropy(target, output, axis=-1):\n"
        "    output = output / tf.reduce_sum(output, axis, keepdims=True)\n"
        "    return -tf.reduce_sum(target * tf.math.log(tf.clip_by_value(output, 1e-7, 1.0)), axis)\n",
        # A running sample count (numel per update) is nonzero after the first update.
        "import torch\nfrom torchmetrics import Metric\n\nclass MeanError(Metric):\n    def __init__(self):\n        super().__init__()\n"
        "        self.add_state(\"err\", default=torch.tensor(0.0), dist_reduce_fx=\"sum\")\n"
        "        self.add_state(\"total\", default=torch.tensor(0), dist_reduce_fx=\"sum\")\n\n"
        "    def update(self, preds, target):\n        self.err += (preds - target).abs().sum()\n        self.total += target.numel()\n\n"
        "    def compute(self):\n        return self.err / self.total\n",
        # Issue 11, hyperparameters: temperatures set from `__init__` arguments, named like confusion counts.
        "import torch\n\nclass TwoWayLoss(torch.nn.Module):\n    def __init__(self, tp=4.0, tn=1.0):\n        super().__init__()\n"
        "        self.tp = tp\n        self.tn = tn\n\n    def forward(self, x, target):\n"
        "        pos = (-x / self.tp).masked_fill(target < 0.5, -1e4)\n        neg = (x / self.tn).masked_fill(target > 0.5, -1e4)\n"
        "        return torch.nn.functional.softplus(neg.logsumexp(1) + pos.logsumexp(1)).mean()\n",
        "import torch\n\nclass WeightedLoss(torch.nn.Module):\n    def __init__(self, class_weights):\n        super().__init__()\n"
        "        self.class_weights = torch.as_tensor(class_weights)\n\n    def forward(self, losses):\n"
        "        return (losses * self.class_weights).sum() / self.class_weights.sum()\n",
        # Implied guards: the sub-count in the numerator is checked; the quotient is asserted.
        "import numpy as np\n\ndef fowlkes_mallows_score(c, n_samples):\n    tk = np.dot(c.data, c.data) - n_samples\n"
        "    pk = np.sum(np.asarray(c.sum(axis=0)).ravel() ** 2) - n_samples\n"
        "    return float(np.sqrt(tk / pk)) if tk != 0.0 else 0.0\n",
        "import numpy as np\n\ndef cohens_kappa(table):\n    nobs = table.sum()\n    freq_row = table.sum(1) / nobs\n"
        "    freq_col = table.sum(0) / nobs\n    prob_exp = freq_col * freq_row[:, None]\n    assert np.allclose(prob_exp.sum(), 1)\n"
        "    return np.diag(table).sum() / nobs\n",
        # A NaN filtered out after the division, through an array namespace held in a variable.
        "import numpy as np\n\ndef balanced_accuracy_score(C, xp=np):\n    with np.errstate(divide='ignore', invalid='ignore'):\n"
        "        per_class = xp.diagonal(C) / xp.sum(C, axis=1)\n    per_class = per_class[~xp.isnan(per_class)]\n"
        "    return xp.mean(per_class)\n",
        # Guards in the caller: every call of the private helper validates the argument first.
        "import numpy as np\n\ndef _mean_deviance(y_true, y_pred):\n    return np.mean(np.log(y_pred / y_true) + y_true / y_pred - 1)\n\n"
        "def mean_gamma_deviance(y_true, y_pred):\n    if np.any(y_true <= 0) or np.any(y_pred <= 0):\n"
        "        raise ValueError('y_true and y_pred must be strictly positive')\n    return _mean_deviance(y_true, y_pred)\n",
        # Counts that cannot be 0: ranks from 1, the marginals of a confusion matrix, a run-time assertion.
        "import torch\n\ndef tail_adaptive_loss(log_p, log_q, num_particles, beta=-1.0):\n    log_pq = log_p - log_q\n"
        "    rank = torch.index_select(torch.arange(num_particles) + 1, -1, torch.argsort(log_pq)).type_as(log_pq)\n"
        "    gamma = torch.pow(rank, beta).detach()\n    return -(log_pq * gamma).sum() / gamma.sum()\n",
        "import tensorflow as tf\n\ndef brier_decomposition(labels, logits, num_classes):\n"
        "    confusion_matrix = tf.math.confusion_matrix(tf.argmax(logits, -1), labels, num_classes=num_classes)\n"
        "    dist_weights = tf.reduce_sum(confusion_matrix, axis=-1)\n"
        "    dist_weights /= tf.reduce_sum(dist_weights, axis=-1, keepdims=True)\n    return dist_weights\n",
        "import tensorflow as tf\n\ndef kendalls_tau(y_true, y_pred):\n    s = tf.reduce_sum(tf.sign(y_true) * tf.sign(y_pred))\n"
        "    t = tf.math.count_nonzero(tf.sign(y_true), dtype=tf.float32)\n"
        "    with tf.control_dependencies([tf.debugging.assert_positive(t)]):\n        return s / tf.math.sqrt(t)\n",
        # Test code: a reference formula on fixed test data.
        "import numpy as np\n\ndef test_precision_reference():\n    y_true, y_pred = np.array([1, 0, 1]), np.array([1, 1, 1])\n"
        "    tp, fp = np.sum(y_true * y_pred), np.sum((1 - y_true) * y_pred)\n"
        "    np.testing.assert_allclose(tp / (tp + fp), 2 / 3)\n",
        # A masked mean guarded by the mask.
        "import torch\n\ndef masked_mse_loss(pred, target, mask):\n    if not mask.any():\n        return pred.sum() * 0\n"
        "    return ((pred - target) ** 2)[mask].mean()\n",
        # A count over a mask plus a count over its complement is the number of elements.
        "import torch\n\nclass DFineLoss(torch.nn.Module):\n    def forward(self, loss_match, mask, boxes):\n"
        "        scale = 1 / boxes.shape[0]\n"
        "        self.num_pos, self.num_neg = ((mask.sum() * scale) ** 0.5, ((~mask).sum() * scale) ** 0.5)\n"
        "        l1 = loss_match[mask].mean() if mask.any() else 0\n        l2 = loss_match[~mask].mean() if (~mask).any() else 0\n"
        "        return (l1 * self.num_pos + l2 * self.num_neg) / (self.num_pos + self.num_neg)\n",
        # A box extent that is floored.
        "import torch\n\ndef complete_box_iou_loss(boxes1, boxes2, eps=1e-7):\n    x1, y1, x2, y2 = boxes1.unbind(dim=-1)\n"
        "    return torch.atan((x2 - x1) / (y2 - y1 + eps))\n",
        # Zero rows dropped before the norm; NaN classes dropped before the mean.
        "import torch\n\ndef _compute_cosine_distance(features1, features2):\n"
        "    f1 = features1[torch.sum(features1, dim=1) != 0]\n    return f1 / torch.norm(f1, dim=1, keepdim=True)\n",
        "import torch\n\ndef _reduce_average_precision(res):\n    idx = ~torch.isnan(res)\n    return res[idx].mean()\n",
        # A metric's weighted mean by caller-supplied sample weights (all-zero weights are invalid input).
        "import numpy as np\n\ndef label_ranking_average_precision_score(y_true, y_score, sample_weight=None):\n"
        "    aux = (y_true * y_score).mean(axis=1)\n    if sample_weight is None:\n        return aux.mean()\n"
        "    return np.sum(aux * sample_weight) / np.sum(sample_weight)\n",
        # A floor that is a floor: the epsilon defaults to a positive value.
        "import jax.numpy as jnp\n\ndef cosine_distance(a, b, epsilon=1e-8):\n"
        "    return 1 - jnp.sum(a * b, -1) / jnp.sqrt(jnp.clip(jnp.sum(a * a, -1) * jnp.sum(b * b, -1), epsilon))\n",
    ]
    INVALID = [
        # Issue 12, function results: F1 from the `precision_m`/`recall_m` helpers.
        Invalid(_ISSUE12_HELPER_RATIOS, _ISSUE12_HELPER_RATIOS_FIXED),
        # Issue 12, roles: a helper called only from a loss is loss code.
        Invalid(_ISSUE12_CALLED_FROM_LOSS, _ISSUE12_CALLED_FROM_LOSS_FIXED),
        # Issue 11/12: box areas returned by a helper.
        Invalid(_ISSUE12_BOX_AREA, _ISSUE12_BOX_AREA_FIXED),
        # Issue 12, attributes: Keras metric state created lazily in `update_state`.
        Invalid(_ISSUE12_LAZY_STATE, _ISSUE12_LAZY_STATE_FIXED),
        Invalid(
            "from tensorflow.keras import backend as K\n\ndef precision(y_true, y_pred):\n"
            "    true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))\n"
            "    predicted_positives = K.sum(K.round(K.clip(y_pred, 0, 1)))\n    return true_positives / predicted_positives\n",
            "from tensorflow.keras import backend as K\n\ndef precision(y_true, y_pred):\n"
            "    true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))\n"
            "    predicted_positives = K.sum(K.round(K.clip(y_pred, 0, 1)))\n    return true_positives / (predicted_positives + K.epsilon())\n",
        ),
        Invalid(
            "import tensorflow as tf\n\ndef dice_loss(y_true, y_pred):\n    intersection = tf.reduce_sum(y_true * y_pred)\n"
            "    return 1 - 2 * intersection / (tf.reduce_sum(y_true) + tf.reduce_sum(y_pred))\n",
            "import tensorflow as tf\n\ndef dice_loss(y_true, y_pred):\n    intersection = tf.reduce_sum(y_true * y_pred)\n"
            "    return 1 - tf.math.divide_no_nan(2 * intersection, tf.reduce_sum(y_true) + tf.reduce_sum(y_pred))\n",
        ),
        Invalid(
            "import keras\n\nclass Recall(keras.metrics.Metric):\n    def __init__(self, name=\"recall\", **kwargs):\n"
            "        super().__init__(name=name, **kwargs)\n        self.tp = self.add_weight(name=\"tp\", initializer=\"zeros\")\n"
            "        self.fn = self.add_weight(name=\"fn\", initializer=\"zeros\")\n\n    def result(self):\n"
            "        return self.tp / (self.tp + self.fn)\n",
            "import keras\n\nclass Recall(keras.metrics.Metric):\n    def __init__(self, name=\"recall\", **kwargs):\n"
            "        super().__init__(name=name, **kwargs)\n        self.tp = self.add_weight(name=\"tp\", initializer=\"zeros\")\n"
            "        self.fn = self.add_weight(name=\"fn\", initializer=\"zeros\")\n\n    def result(self):\n"
            "        return self.tp / (self.tp + self.fn + keras.config.epsilon())\n",
        ),
        Invalid(
            "import torch\nfrom torchmetrics import Metric\n\nclass MeanRatio(Metric):\n    def __init__(self):\n        super().__init__()\n"
            "        self.add_state(\"ratio_sum\", default=torch.tensor(0.0), dist_reduce_fx=\"sum\")\n"
            "        self.add_state(\"matched\", default=torch.tensor(0), dist_reduce_fx=\"sum\")\n\n"
            "    def update(self, preds, target):\n        mask = target > 0\n        self.ratio_sum += (preds[mask] / target[mask]).sum()\n"
            "        self.matched += mask.sum()\n\n"
            "    def compute(self):\n        return self.ratio_sum / self.matched\n",
            "import torch\nfrom torchmetrics import Metric\n\nclass MeanRatio(Metric):\n    def __init__(self):\n        super().__init__()\n"
            "        self.add_state(\"ratio_sum\", default=torch.tensor(0.0), dist_reduce_fx=\"sum\")\n"
            "        self.add_state(\"matched\", default=torch.tensor(0), dist_reduce_fx=\"sum\")\n\n"
            "    def update(self, preds, target):\n        mask = target > 0\n        self.ratio_sum += (preds[mask] / target[mask]).sum()\n"
            "        self.matched += mask.sum()\n\n"
            "    def compute(self):\n        return self.ratio_sum / (self.matched + 1e-7)\n",
        ),
        Invalid(
            "import tensorflow as tf\n\ndef train_step(model, x, y, mask):\n    with tf.GradientTape() as tape:\n"
            "        loss = tf.reduce_sum(tf.square(model(x) - y) * mask)\n        loss /= tf.reduce_sum(mask)\n"
            "    return tape.gradient(loss, model.trainable_variables)\n",
            "import tensorflow as tf\n\ndef train_step(model, x, y, mask):\n    with tf.GradientTape() as tape:\n"
            "        loss = tf.reduce_sum(tf.square(model(x) - y) * mask)\n        loss = tf.math.divide_no_nan(loss, tf.reduce_sum(mask))\n"
            "    return tape.gradient(loss, model.trainable_variables)\n",
        ),
        Invalid(
            "import numpy as np\n\ndef balanced_accuracy(cm):\n    per_class = np.diag(cm) / cm.sum(axis=1)\n    return per_class.mean()\n",
            "import numpy as np\n\ndef balanced_accuracy(cm):\n    per_class = np.diag(cm) / (cm.sum(axis=1) + 1e-7)\n    return per_class.mean()\n",
        ),
        Invalid(
            "import tensorflow as tf\n\ndef precision_metric(tp, fp):\n    return tf.math.divide(tp, tp + fp)\n",
            "import tensorflow as tf\n\ndef precision_metric(tp, fp):\n    return tf.math.divide_no_nan(tp, tp + fp)\n",
        ),
        Invalid(
            "import keras\n\ndef iou(y_true, y_pred):\n    inter = keras.ops.sum(y_true * y_pred)\n"
            "    union = keras.ops.sum(y_true) + keras.ops.sum(y_pred) - inter\n    return keras.ops.divide(inter, union)\n",
            "import keras\n\ndef iou(y_true, y_pred):\n    inter = keras.ops.sum(y_true * y_pred)\n"
            "    union = keras.ops.sum(y_true) + keras.ops.sum(y_pred) - inter\n    return keras.ops.divide(inter, union + keras.config.epsilon())\n",
        ),
        Invalid(
            "import torch\n\nclass SoftDiceLoss(torch.nn.Module):\n    def forward(self, logits, target):\n"
            "        probs = torch.sigmoid(logits)\n        inter = (probs * target).sum()\n"
            "        return 1 - 2 * torch.div(inter, probs.sum() + target.sum())\n",
            "import torch\n\nclass SoftDiceLoss(torch.nn.Module):\n    def forward(self, logits, target):\n"
            "        probs = torch.sigmoid(logits)\n        inter = (probs * target).sum()\n"
            "        return 1 - 2 * torch.div(inter, probs.sum() + target.sum() + 1e-7)\n",
        ),
        Invalid(
            # Elementwise label denominator outside TensorFlow: may be negative, so no `+ eps` fix.
            "import jax.numpy as jnp\n\ndef mape(y_true, y_pred):\n    return 100.0 * jnp.mean(jnp.abs((y_true - y_pred) / y_true))\n",
            None,
        ),
        Invalid(
            # `where=` that does not test the denominator skips nothing that matters.
            "import numpy as np\n\ndef f1_score(tp, fp, fn, valid):\n"
            "    return np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros(3), where=valid)\n",
            "import numpy as np\n\ndef f1_score(tp, fp, fn, valid):\n"
            "    return np.divide(2 * tp, 2 * tp + fp + fn + 1e-7, out=np.zeros(3), where=valid)\n",
        ),
        Invalid(
            # NaN repaired after the fact in a loss: the value is fixed, the gradient is not.
            "import torch\n\ndef weighted_loss(losses, weights):\n    out = (losses * weights).sum() / weights.sum()\n"
            "    return torch.nan_to_num(out)\n",
            "import torch\n\ndef weighted_loss(losses, weights):\n    out = (losses * weights).sum() / (weights.sum() + 1e-7)\n"
            "    return torch.nan_to_num(out)\n",
        ),
        # Issue 11, role evidence: a metric class of another framework (flax), a `*_error` function, a
        # contrastive loss not named `*_loss`, a loss module named `*Objective`.
        Invalid(
            "import jax.numpy as jnp\nfrom flax.nnx import Metric, MetricState\n\nclass Average(Metric):\n"
            "    def __init__(self):\n        self.total = MetricState(jnp.array(0, dtype=jnp.float32))\n"
            "        self.count = MetricState(jnp.array(0, dtype=jnp.int32))\n\n    def update(self, values, mask):\n"
            "        self.total[...] += (values * mask).sum()\n        self.count[...] += mask.sum()\n\n"
            "    def compute(self):\n        return self.total / self.count\n",
            "import jax.numpy as jnp\nfrom flax.nnx import Metric, MetricState\n\nclass Average(Metric):\n"
            "    def __init__(self):\n        self.total = MetricState(jnp.array(0, dtype=jnp.float32))\n"
            "        self.count = MetricState(jnp.array(0, dtype=jnp.int32))\n\n    def update(self, values, mask):\n"
            "        self.total[...] += (values * mask).sum()\n        self.count[...] += mask.sum()\n\n"
            "    def compute(self):\n        return self.total / (self.count + 1e-7)\n",
        ),
        Invalid(
            "import torch\n\ndef standardized_mean_squared_error(pred_mean, test_y):\n"
            "    return ((pred_mean - test_y) ** 2).mean() / test_y.var()\n",
            "import torch\n\ndef standardized_mean_squared_error(pred_mean, test_y):\n"
            "    return ((pred_mean - test_y) ** 2).mean() / (test_y.var() + 1e-7)\n",
        ),
        Invalid(
            "import jax.numpy as jnp\n\ndef ntxent(embeddings, labels, temperature=0.07):\n"
            "    matches = (labels[:, None] == labels[None, :]).astype(jnp.float32)\n"
            "    sim = embeddings @ embeddings.T / temperature\n    return -(sim * matches).sum() / matches.sum()\n",
            "import jax.numpy as jnp\n\ndef ntxent(embeddings, labels, temperature=0.07):\n"
            "    matches = (labels[:, None] == labels[None, :]).astype(jnp.float32)\n"
            "    sim = embeddings @ embeddings.T / temperature\n    return -(sim * matches).sum() / (matches.sum() + 1e-7)\n",
        ),
        # Torch's (predictions, targets) order is loss evidence too; target lengths are 0 for an empty transcript.
        Invalid(
            "import torch\n\ndef rnnt_loss(costs, target_lengths, reduction=\"mean\"):\n    if reduction == \"mean\":\n        return (costs / target_lengths).mean()\n    return costs.sum()\n",
            "import torch\n\ndef rnnt_loss(costs, target_lengths, reduction=\"mean\"):\n    if reduction == \"mean\":\n"
            "        return (costs / (target_lengths + 1e-7)).mean()\n    return costs.sum()\n",
        ),
        Invalid(
            "import jax.numpy as jnp\n\ndef cosine_similarity(predictions, targets, epsilon=0.0):\n"
            "    a_norm = jnp.sqrt(jnp.clip(jnp.sum(predictions ** 2, -1), epsilon))\n"
            "    return jnp.sum(predictions * targets, -1) / a_norm\n",
            "import jax.numpy as jnp\n\ndef cosine_similarity(predictions, targets, epsilon=0.0):\n"
            "    a_norm = jnp.sqrt(jnp.clip(jnp.sum(predictions ** 2, -1), epsilon))\n"
            "    return jnp.sum(predictions * targets, -1) / (a_norm + 1e-7)\n",
        ),
        # A denominator assigned in an if/elif: the branch that reduces the data counts, not the textual last one.
        Invalid(
            "import numpy as np\n\ndef fleiss_kappa(table, method='fleiss'):\n    n_cat = table.shape[1]\n"
            "    p_cat = table.sum(0) / (table.sum() + 1e-12)\n    p_mean = (table * table).sum(1).mean()\n"
            "    if method == 'fleiss':\n        p_mean_exp = (p_cat * p_cat).sum()\n    elif method == 'uniform':\n"
            "        p_mean_exp = 1 / n_cat\n    return (p_mean - p_mean_exp) / (1 - p_mean_exp)\n",
            "import numpy as np\n\ndef fleiss_kappa(table, method='fleiss'):\n    n_cat = table.shape[1]\n"
            "    p_cat = table.sum(0) / (table.sum() + 1e-12)\n    p_mean = (table * table).sum(1).mean()\n"
            "    if method == 'fleiss':\n        p_mean_exp = (p_cat * p_cat).sum()\n    elif method == 'uniform':\n"
            "        p_mean_exp = 1 / n_cat\n    return (p_mean - p_mean_exp) / (1 - p_mean_exp + 1e-7)\n",
        ),
        # A box extent as denominator: the aspect-ratio term of a CIoU loss.
        Invalid(
            "import torch\n\ndef complete_box_iou_loss(boxes1, boxes2):\n    x1, y1, x2, y2 = boxes1.unbind(dim=-1)\n"
            "    return torch.atan((x2 - x1) / (y2 - y1))\n",
            None,
        ),
        # Guards that are not guards: the floor defaults to 0.0.
        Invalid(
            "import jax.numpy as jnp\n\ndef cosine_distance(a, b, epsilon=0.0):\n"
            "    a_norm = jnp.sqrt(jnp.clip(jnp.sum(a * a, -1), epsilon))\n    return 1 - jnp.sum(a * b, -1) / a_norm\n",
            "import jax.numpy as jnp\n\ndef cosine_distance(a, b, epsilon=0.0):\n"
            "    a_norm = jnp.sqrt(jnp.clip(jnp.sum(a * a, -1), epsilon))\n    return 1 - jnp.sum(a * b, -1) / (a_norm + 1e-7)\n",
        ),
        # A guard on a different variable.
        Invalid(
            "import numpy as np\n\ndef precision_score(y_true, y_pred):\n    n_true = np.sum(y_true)\n    n_pred = np.sum(y_pred)\n"
            "    if n_true == 0:\n        return 0.0\n    return np.sum(y_true * y_pred) / n_pred\n",
            "import numpy as np\n\ndef precision_score(y_true, y_pred):\n    n_true = np.sum(y_true)\n    n_pred = np.sum(y_pred)\n"
            "    if n_true == 0:\n        return 0.0\n    return np.sum(y_true * y_pred) / (n_pred + 1e-7)\n",
        ),
        # Implicit denominators: the mean of a masked selection.
        Invalid(
            "import torch\n\ndef token_loss(logits, labels, ignore_index=-100):\n"
            "    nll = -logits.log_softmax(-1).gather(-1, labels.clamp(min=0)[..., None])[..., 0]\n"
            "    return nll[labels != ignore_index].mean()\n",
            None,
        ),
        # Caller guards: one call site of the helper does not validate.
        Invalid(
            "import numpy as np\n\ndef _relative_error(y_true, y_pred):\n    return np.mean(np.abs(y_pred - y_true) / y_true)\n\n"
            "def mean_relative_error(y_true, y_pred):\n    if np.any(y_true == 0):\n        raise ValueError('y_true has zeros')\n"
            "    return _relative_error(y_true, y_pred)\n\ndef relative_error_score(y_true, y_pred):\n"
            "    return 1 - _relative_error(y_true, y_pred)\n",
            None,
        ),
    ]

    def __init__(self, context) -> None:  # type: ignore[no-untyped-def]
        super().__init__(context)
        self._comparisons: list[cst.Comparison] = []

    def visit_Comparison(self, node: cst.Comparison) -> None:
        self._comparisons.append(node)

    def leave_Comparison(self, original_node: cst.Comparison) -> None:
        self._comparisons.pop()

    def _thresholded(self, node: cst.CSTNode) -> bool:
        """`ratio > threshold`: the quotient is an operand of the innermost comparison, and nothing else."""
        if not self._comparisons:
            return False
        comparison = self._comparisons[-1]
        return comparison.left is node or any(target.comparator is node for target in comparison.comparisons)

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if not self._thresholded(node):
            self._check(node)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._check(node)

    def on_call(self, node: cst.Call) -> None:
        self._check(node)
        self._check_masked_mean(node)

    def _check_masked_mean(self, node: cst.Call) -> None:
        """`x[mask].mean()`: a division by the number of selected elements (analysis/selections.py)."""
        mask = masked_mean(node, self.context)
        if mask is None:
            return
        role = self.role()
        if role is None or self.guarded_by_context(Division(node, None, mask, None), role):
            return
        code = " ".join(self.context.code(node).split())
        if len(code) > 60:
            code = code[:57] + "..."
        self.report(
            node,
            f"{self.quote(code, 30)} is NaN when nothing is selected; divide the sum by `max(count, 1)`",
            details=(
                f"`{code}` in {role.reason} divides by the number of selected elements, 0 when the mask selects "
                f"nothing (an all-padding batch, a class absent from it), so the result is NaN there; {_consequence(role)}. "
                "Sum the selection and divide by `maximum(mask.sum(), 1)`, or guard with `if mask.any()`."
            ),
        )

    def _check(self, node: cst.CSTNode) -> None:
        division = self.division_of(node)
        if division is None:
            return
        role = self.role()
        if role is None:
            return
        den = classify(division.denominator, self.context)
        if den.kind != DATA:
            return
        if self._logs and _odds(division):
            return  # log(p / (1 - p)): EPS203
        if _renormalises(division, den, self.context):
            return  # p / sum(p): a row of "probabilities" summing to 0 is not a distribution (invalid input)
        family = self.family_for(division, den)
        role = _without_gradient(role, family)
        if self.guarded_by_context(division, role):
            return
        repaired = self._repaired_later(division, self.denominator_keys(division.denominator)) if role.differentiable else None
        fix, how, short_how = self._fix(division, den, family)
        den_code = " ".join(self.context.code(strip_parens(division.denominator)).split())
        if len(den_code) > 60:
            den_code = den_code[:57] + "..."
        details = (
            f"Division by `{den_code}` in {role.reason} with no guard: {den.why}, so the result is "
            f"NaN (0/0) or inf there; {_consequence(role, family)}"
        )
        if repaired == "repair":
            details += " (repairing the NaN afterwards fixes the value, not the gradient)"
        details += f". {how}"
        message = f"Denominator {self.quote(strip_parens(division.denominator), 24)} {den.reason or 'can be 0'}; {short_how}"
        label = den.note or "data-dependent value here"
        related = [(label, den.source)] if den.source is not None and den.source is not division.denominator and not _inside(den.source, division.denominator) else []
        related += self._unguarded_caller(division)
        self.report(node, message, fix=fix, related=related, details=details)

    def _unguarded_caller(self, division: Division) -> list[tuple[str, cst.CSTNode]]:
        """A private helper some of whose callers guard its argument: name one that does not (issue 11)."""
        function = self.context.function
        if function is None or not isinstance(function.node, cst.FunctionDef) or function.class_node is not None:
            return []
        site = unguarded_call(function.node, self.denominator_keys(division.denominator), self.context)
        if site is None:
            return []
        caller, call = site
        return [(f"`{caller.name.value}()` calls `{function.name}` here without a guard", call)]

    def _fix(self, division: Division, den: Denominator, family: str | None):  # type: ignore[no-untyped-def]
        code = self.context.code
        no_nan = None
        for target in NO_NAN_DIVIDE_FOR.get(family or "", ()):
            no_nan = self.context.spell(target)
            if no_nan:
                break
        if no_nan:
            how = f"Use `{no_nan}` (0 where the denominator is 0, with a zero gradient there)."
            short_how = f"use `{no_nan}`"
            node = division.node
            if isinstance(node, cst.AugAssign):
                if not simple_operand(node.target):
                    return None, how, short_how
                text = f"{code(node.target)} = {no_nan}({code(node.target)}, {code(strip_parens(node.value))})"
            else:
                assert division.numerator is not None
                extra = ""
                if isinstance(node, cst.Call):
                    rest = [a for a in node.args if a.keyword is not None and a.keyword.value == "name"]
                    extra = "".join(f", {code(a)}" for a in rest)
                text = f"{no_nan}({code(strip_parens(division.numerator))}, {code(strip_parens(division.denominator))}{extra})"
            return self.fix("unsafe", f"Use `{no_nan}`", Replacement(node, text)), how, short_how
        if den.elementwise:
            return None, "Guard it, e.g. `maximum(abs(d), eps)` keeping the sign, or a double `where`.", "floor `abs(d)` at eps or use a double `where`"
        epsilon = self.epsilon_spelling(family)
        how = f"Add `{epsilon}` to the denominator, or use a `maximum` floor."
        short_how = f"add `{epsilon}` to it"
        new_den = self.plus(division.denominator, epsilon, code)
        if isinstance(division.node, cst.BinaryOperation) and not getattr(division.denominator, "lpar", None):
            new_den = f"({new_den})"
        return self.fix("unsafe", f"Add `{epsilon}` to the denominator", Replacement(division.denominator, new_den)), how, short_how


def _odds(division: Division) -> bool:
    den = strip_parens(division.denominator)
    return (
        division.numerator is not None
        and isinstance(den, cst.BinaryOperation)
        and isinstance(den.operator, cst.Subtract)
        and number_value(den.left) == 1
        and strip_parens(den.right).deep_equals(strip_parens(division.numerator))
    )


def _renormalises(division: Division, den: Denominator, context) -> bool:  # type: ignore[no-untyped-def]
    """`x / sum(x, axis, keepdims=True)`: renormalising a distribution by its own sum (Keras's categorical
    crossentropy does this). Norms are not exempt: a zero feature vector is valid input, use l2_normalize.
    In place too: `p /= p.sum(dim, keepdim=True)` divides the target by its own sum."""
    source = den.source
    numerator = division.node.target if isinstance(division.node, cst.AugAssign) else division.numerator
    if numerator is None or not isinstance(source, cst.Call):
        return False
    leaf = (call_name(source, context) or method_name(source, context) or "").rsplit(".", 1)[-1]
    if leaf not in ("sum", "reduce_sum", "nansum"):
        return False
    operand = arg(source, 0) if context.callee(source) else getattr(source.func, "value", None)
    if operand is None:
        return False
    return context.code(strip_parens(operand)) == context.code(strip_parens(numerator))


def _inside(node: cst.CSTNode, root: cst.CSTNode) -> bool:
    stack = [root]
    while stack:
        current = stack.pop()
        if current is node:
            return True
        stack.extend(children(current))
    return False


# ======================================================================================================
class MisplacedEpsilon(_DivisionRule):
    code = "EPS102"
    name = "misplaced-epsilon"
    summary = "Epsilon added outside the denominator it was meant to guard"
    fixable = "sometimes"
    specificity = 20
    supersedes = ("EPS101",)
    docs = """
    ## What it does
    In metric, loss and training code, finds an epsilon that sits next to a division by a data-dependent
    denominator (see EPS101) instead of inside it: `a / b + eps`, `eps + a / b`, `(a + eps) / b` and
    `a / b * (1 + eps)`, where `b` has no guard. The epsilon is a small literal (≤ 1e-3), `K.epsilon()`,
    `keras.config.epsilon()`, `finfo(...).eps` or a name like `eps`/`epsilon`/`smooth`.

    ## Why is this bad?
    Operator precedence puts the epsilon after the division: when `b` is 0 the quotient is already NaN or inf,
    and adding or multiplying an epsilon leaves it NaN/inf. The code looks guarded, so the NaN is hard to find; in
    a loss it reaches the gradient and the weights.

    ## Example
    ```python
    from tensorflow.keras import backend as K

    def precision(y_true, y_pred):
        tp = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))
        predicted = K.sum(K.round(K.clip(y_pred, 0, 1)))
        return tp / predicted + K.epsilon()
    ```

    ## Use instead
    ```python
    from tensorflow.keras import backend as K

    def precision(y_true, y_pred):
        tp = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))
        predicted = K.sum(K.round(K.clip(y_pred, 0, 1)))
        return tp / (predicted + K.epsilon())
    ```

    ## Fix safety
    The fix is safe where the intent is unambiguous: it moves the epsilon into the denominator (`a / (b + eps)`),
    which changes the value by about eps wherever `b` is not 0. A smoothing term (`smooth`, `smoothing`,
    `laplace`) in the numerator is kept there and also added to the denominator (`(a + s) / (b + s)`, the
    Dice/Laplace convention). No fix is offered when the quotient goes into a log (the epsilon may be guarding the
    log) or when its variable is later used as a denominator (`p + r` in an F1 may rely on the epsilon in `p`).
    """

    VALID = [
        "from tensorflow.keras import backend as K\n\ndef precision(y_true, y_pred):\n"
        "    tp = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))\n    predicted = K.sum(K.round(K.clip(y_pred, 0, 1)))\n"
        "    return tp / (predicted + K.epsilon())\n",
        # Smooth on both sides: the Dice convention.
        "import tensorflow as tf\n\ndef dice_coef(y_true, y_pred, smooth=1.0):\n    inter = tf.reduce_sum(y_true * y_pred)\n"
        "    return (2.0 * inter + smooth) / (tf.reduce_sum(y_true) + tf.reduce_sum(y_pred) + smooth)\n",
        # An epsilon for a log, no division.
        "import tensorflow as tf\n\ndef bce_loss(y_true, y_pred, eps=1e-7):\n"
        "    return -tf.reduce_mean(y_true * tf.math.log(y_pred + eps))\n",
        # Division by a hyperparameter: nothing to guard.
        "import torch\n\nclass DistillLoss(torch.nn.Module):\n    def forward(self, student, teacher):\n"
        "        return (student / self.temperature + 1e-6).log_softmax(-1)\n",
        # Numerator epsilon with a floored denominator.
        "import tensorflow as tf\n\ndef coverage_metric(x, mask):\n"
        "    return (tf.reduce_sum(x * mask) + 1e-7) / tf.maximum(tf.reduce_sum(mask), 1e-7)\n",
        # Not metric code.
        "import numpy as np\n\ndef normalize(v):\n    return v / v.sum() + 1e-8\n",
        # A shift, not an epsilon.
        "import numpy as np\n\ndef log_ratio_score(tp, support):\n    return np.log(tp / np.maximum(support, 1) + 1.0)\n",
    ]
    INVALID = [
        Invalid(
            "from tensorflow.keras import backend as K\n\ndef precision(y_true, y_pred):\n"
            "    tp = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))\n    predicted = K.sum(K.round(K.clip(y_pred, 0, 1)))\n"
            "    return tp / predicted + K.epsilon()\n",
            "from tensorflow.keras import backend as K\n\ndef precision(y_true, y_pred):\n"
            "    tp = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))\n    predicted = K.sum(K.round(K.clip(y_pred, 0, 1)))\n"
            "    return tp / (predicted + K.epsilon())\n",
        ),
        Invalid(
            "import tensorflow as tf\n\ndef dice_coef(y_true, y_pred, smooth=1.0):\n    inter = tf.reduce_sum(y_true * y_pred)\n"
            "    return (2.0 * inter + smooth) / (tf.reduce_sum(y_true) + tf.reduce_sum(y_pred))\n",
            "import tensorflow as tf\n\ndef dice_coef(y_true, y_pred, smooth=1.0):\n    inter = tf.reduce_sum(y_true * y_pred)\n"
            "    return (2.0 * inter + smooth) / (tf.reduce_sum(y_true) + tf.reduce_sum(y_pred) + smooth)\n",
        ),
        Invalid(
            "def recall_score(tp, fn):\n    return (tp + 1e-7) / (tp + fn)\n",
            "def recall_score(tp, fn):\n    return tp / (tp + fn + 1e-7)\n",
        ),
        Invalid(
            "import keras\n\nclass Precision(keras.metrics.Metric):\n    def result(self):\n"
            "        return self.true_positives / (self.true_positives + self.false_positives) * (1 + 1e-7)\n",
            "import keras\n\nclass Precision(keras.metrics.Metric):\n    def result(self):\n"
            "        return self.true_positives / (self.true_positives + self.false_positives + 1e-7)\n",
        ),
        Invalid(
            "import torch\n\ndef iou_metric(pred, target, eps=1e-6):\n    inter = (pred * target).sum()\n"
            "    union = pred.sum() + target.sum() - inter\n    score = eps + inter / union\n    return score\n",
            "import torch\n\ndef iou_metric(pred, target, eps=1e-6):\n    inter = (pred * target).sum()\n"
            "    union = pred.sum() + target.sum() - inter\n    score = inter / (union + eps)\n    return score\n",
        ),
        Invalid(
            # Inside a log the epsilon may be meant for the log: reported, not fixed.
            "import tensorflow as tf\n\ndef info_loss(y_true, y_pred):\n    p = tf.reduce_sum(y_true * y_pred, 0)\n"
            "    return -tf.reduce_sum(tf.math.log(p / tf.reduce_sum(p) + 1e-8))\n",
            None,
        ),
        Invalid(
            # `p` is later a denominator (`p + r`) that relies on the epsilon: reported, not fixed.
            "from keras import backend as K\n\ndef f1(y_true, y_pred):\n    tp = K.sum(y_true * y_pred)\n"
            "    p = tp / K.sum(y_pred) + K.epsilon()\n    r = tp / (K.sum(y_true) + K.epsilon())\n    return 2 * p * r / (p + r)\n",
            None,
        ),
    ]

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if isinstance(node.operator, cst.Add):
            self._added(node)
        elif isinstance(node.operator, cst.Multiply):
            self._multiplied(node)
        elif isinstance(node.operator, cst.Divide):
            self._numerator(node)

    def on_call(self, node: cst.Call) -> None:
        division = self.division_of(node)
        if division is not None and division.numerator is not None:
            self._numerator_of(division)

    # `a / b + eps`, `eps + a / b`
    def _added(self, node: cst.BinaryOperation) -> None:
        for quotient, other in ((node.left, node.right), (node.right, node.left)):
            division = self.division_of(strip_parens(quotient))
            if division is None or not self._is_small_epsilon(other):
                continue
            context = self._unguarded(division)
            if context is None:
                return
            role, den = context
            fix = None
            if self._fix_is_unambiguous(node) and division.numerator is not None and isinstance(division.node, cst.BinaryOperation):
                eps = self.context.code(strip_parens(other))
                new = f"{self.context.code(division.numerator)} / ({self.plus(division.denominator, eps, self.context.code)})"
                fix = self.fix("safe", "Move the epsilon into the denominator", Replacement(node, new))
            self._report(node, division, den, role, "is added after the division", fix, "after the division")
            return

    # `a / b * (1 + eps)`
    def _multiplied(self, node: cst.BinaryOperation) -> None:
        for quotient, other in ((node.left, node.right), (node.right, node.left)):
            division = self.division_of(strip_parens(quotient))
            if division is None:
                continue
            terms = add_terms(other)
            if len(terms) != 2 or not isinstance(strip_parens(other), cst.BinaryOperation):
                continue
            ones = [t for t in terms if number_value(t) == 1]
            epss = [t for t in terms if number_value(t) != 1 and self._is_small_epsilon(t)]
            if not ones or not epss:
                continue
            context = self._unguarded(division)
            if context is None:
                return
            role, den = context
            fix = None
            if self._fix_is_unambiguous(node) and division.numerator is not None and isinstance(division.node, cst.BinaryOperation):
                eps = self.context.code(strip_parens(epss[0]))
                new = f"{self.context.code(division.numerator)} / ({self.plus(division.denominator, eps, self.context.code)})"
                fix = self.fix("safe", "Move the epsilon into the denominator", Replacement(node, new))
            self._report(node, division, den, role, "scales the quotient after the division", fix, "scaling the quotient")
            return

    # `(a + eps) / b`
    def _numerator(self, node: cst.BinaryOperation) -> None:
        division = self.division_of(node)
        if division is not None:
            self._numerator_of(division)

    def _numerator_of(self, division: Division) -> None:
        assert division.numerator is not None
        numerator = strip_parens(division.numerator)
        terms = add_terms(numerator)
        if len(terms) < 2:
            return
        epsilons = [t for t in terms if self._is_small_epsilon(t) or _is_smooth(t)]
        if not epsilons:
            return
        context = self._unguarded(division)
        if context is None:
            return
        role, den = context
        eps_node = epsilons[0]
        eps = self.context.code(strip_parens(eps_node))
        fix = None
        code = self.context.code
        if not self._logs or _is_smooth(eps_node):
            if _is_smooth(eps_node):
                new_den = self.plus(division.denominator, eps, code)
                wrap = isinstance(division.node, cst.BinaryOperation) and not getattr(division.denominator, "lpar", None)
                replacement = Replacement(division.denominator, f"({new_den})" if wrap else new_den)
                fix = self.fix("safe", "Add the smoothing term to the denominator too", replacement)
            else:
                rest = [t for t in terms if t is not eps_node]
                if len(rest) == 1 and isinstance(division.node, cst.BinaryOperation):
                    num_text = code(parenthesize(strip_parens(rest[0])))
                    new = f"{num_text} / ({self.plus(division.denominator, eps, code)})"
                    fix = self.fix("safe", "Move the epsilon into the denominator", Replacement(division.node, new))
        self._report(division.node, division, den, role, "is in the numerator, not the denominator", fix, "in the numerator")

    # -- shared -----------------------------------------------------------------------------------------------
    def _is_small_epsilon(self, node: cst.BaseExpression) -> bool:
        node = strip_parens(node)
        if not is_epsilon(node, self.context):
            return False
        value = epsilon_value(node, self.context)
        if value is not None:
            return 0 < value <= 1e-3
        # names, self.eps, finfo(...).eps: only when named like an epsilon (not any positive local)
        if isinstance(node, cst.Name):
            return is_epsilon_name(node.value)
        return True

    def _unguarded(self, division: Division) -> tuple[Role, Denominator] | None:
        role = self.role()
        if role is None:
            return None
        den = classify(division.denominator, self.context)
        if den.kind != DATA:
            return None
        role = _without_gradient(role, self.family_for(division, den))
        if self.guarded_by_context(division, role):
            return None
        return role, den

    def _fix_is_unambiguous(self, node: cst.CSTNode) -> bool:
        """Not inside a log, and (when assigned) the variable is not used later as a denominator or in a log."""
        if self._logs:
            return False
        if not self._assigns:
            return True
        assign = self._assigns[-1]
        assert isinstance(assign, cst.Assign)
        names = {t.target.value for t in assign.targets if isinstance(t.target, cst.Name)}
        scope = self.context.function
        if scope is None:
            return True
        if not names:
            return False  # assigned to an attribute or a subscript: later uses cannot be followed
        start = scope.order_of(assign) or 0
        for other in findall(scope.node, m.BinaryOperation(operator=m.Divide())):
            assert isinstance(other, cst.BinaryOperation)
            if (scope.order_of(other) or 0) > start and any(n.value in names for n in findall(other.right, m.Name())):  # type: ignore[union-attr]
                return False
        for call in findall(scope.node, m.Call()):
            assert isinstance(call, cst.Call)
            if (scope.order_of(call) or 0) > start and call_name(call, self.context) in LOG_LIKE_FUNCTIONS | {"numpy.log", "math.log"}:
                if any(n.value in names for n in findall(call, m.Name())):  # type: ignore[union-attr]
                    return False
        return True

    def _report(self, node: cst.CSTNode, division: Division, den: Denominator, role: Role, where: str, fix, short_where: str) -> None:  # type: ignore[no-untyped-def]
        den_code = " ".join(self.context.code(strip_parens(division.denominator)).split())
        if len(den_code) > 60:
            den_code = den_code[:57] + "..."
        family = self.family_for(division, den)
        self.report(
            node,
            f"Epsilon {short_where} does not guard {self.quote(strip_parens(division.denominator), 24)}; put it in the denominator",
            fix=fix,
            details=(
                f"Misplaced epsilon in {role.reason}: it {where}, so it does not guard the denominator `{den_code}` ({den.why}); "
                f"the quotient is still NaN/inf there and {_consequence(role, family)}. Put it in the denominator."
            ),
        )


def _is_smooth(node: cst.BaseExpression) -> bool:
    node = strip_parens(node)
    name = node.value if isinstance(node, cst.Name) else node.attr.value if isinstance(node, cst.Attribute) else None
    return bool(name) and any(part in name.lower() for part in ("smooth", "laplace"))  # type: ignore[union-attr]


# ======================================================================================================
class SingleWhereGuard(_DivisionRule):
    code = "EPS103"
    name = "single-where-guard"
    summary = "A single where around a division or log in differentiable code: the gradient is still NaN"
    fixable = "sometimes"
    specificity = 10
    supersedes = ("EPS101",)
    docs = """
    ## What it does
    In loss and training code (code that is differentiated), finds `where(cond, x, y)` — `tf.where`,
    `keras.ops.where`, `K.switch`, `torch.where`, `jnp.where`, `jax.lax.select` — whose condition tests a value
    that a branch divides by or takes the log of, with that value not sanitised inside the branch:
    `tf.where(d > 0, a / d, 0.0)`, `torch.where(p > 0, torch.log(p), 0)`, also when the branch is a variable
    assigned just before (`r = a / d; where(d > 0, r, 0)`). Metric code that is never differentiated is not
    reported (there a single where is fine), nor is `np.where`.

    ## Why is this bad?
    A where selects values, but both branches are computed for every element. The untaken branch is inf or NaN
    where `d == 0`; in the backward pass its gradient is multiplied by the zero mask, and `0 × inf = NaN`. The loss
    value looks clean while the gradient is NaN, and one optimizer step writes NaN into the weights. Measured in
    TensorFlow, PyTorch and JAX (ml-api-facts.md §E; the same holds for `keras.ops.where` on every backend).

    ## Example
    ```python
    import tensorflow as tf

    def soft_ratio_loss(y_true, y_pred):
        denom = tf.reduce_sum(y_true, axis=-1)
        return tf.where(denom > 0, tf.reduce_sum(y_pred, axis=-1) / denom, 0.0)
    ```

    ## Use instead
    ```python
    import tensorflow as tf

    def soft_ratio_loss(y_true, y_pred):
        denom = tf.reduce_sum(y_true, axis=-1)
        return tf.where(denom > 0, tf.reduce_sum(y_pred, axis=-1) / tf.where(denom > 0, denom, 1), 0.0)
    ```

    ## Fix safety
    The fix is safe: it applies the double-where pattern, sanitising the operand with the same condition
    (`where(cond, d, 1)` in the branch taken when `cond` holds, `where(cond, 1, d)` in the other), so the selected
    values are unchanged and the untaken branch is finite. It is offered for the inline form only, when the
    condition is simple enough to repeat, and not for `K.switch` or `jax.lax.select` (which need tensors of the
    operand's shape instead of a scalar 1).
    """

    VALID = [
        # The double-where pattern.
        "import tensorflow as tf\n\ndef ratio_loss(y_true, y_pred):\n    denom = tf.reduce_sum(y_true)\n"
        "    safe = tf.where(denom > 0, denom, 1.0)\n    return tf.where(denom > 0, tf.reduce_sum(y_pred) / safe, 0.0)\n",
        # Metric code is never differentiated: a single where is fine.
        "import tensorflow as tf\n\ndef iou_score(inter, union):\n    return tf.where(union > 0, inter / union, 0.0)\n",
        # NumPy is never differentiated.
        "import numpy as np\n\ndef entropy_loss(p):\n    return -np.sum(np.where(p > 0, p * np.log(p), 0.0))\n",
        # divide_no_nan inside the where.
        "import tensorflow as tf\n\ndef ratio_loss(y_true, y_pred):\n    d = tf.reduce_sum(y_true)\n"
        "    return tf.where(d > 0, tf.math.divide_no_nan(tf.reduce_sum(y_pred), d), 0.0)\n",
        # The operand is clamped inside the branch.
        "import torch\n\nclass EntropyLoss(torch.nn.Module):\n    def forward(self, p):\n"
        "        return -(torch.where(p > 0, p * torch.log(p.clamp(min=1e-12)), torch.zeros_like(p))).sum()\n",
        # The condition does not test the denominator.
        "import tensorflow as tf\n\ndef masked_loss(y_true, y_pred, mask):\n    return tf.where(mask, (y_true - y_pred) / 2.0, 0.0)\n",
        # jnp.where with the safe value computed first (JAX FAQ idiom).
        "import jax\nimport jax.numpy as jnp\n\ndef loss_fn(x):\n    safe_x = jnp.where(x > 0.0, x, 1.0)\n"
        "    return jnp.where(x > 0.0, jnp.log(safe_x), 0.0).sum()\n",
    ]
    INVALID = [
        Invalid(
            "import tensorflow as tf\n\ndef soft_ratio_loss(y_true, y_pred):\n    denom = tf.reduce_sum(y_true, axis=-1)\n"
            "    return tf.where(denom > 0, tf.reduce_sum(y_pred, axis=-1) / denom, 0.0)\n",
            "import tensorflow as tf\n\ndef soft_ratio_loss(y_true, y_pred):\n    denom = tf.reduce_sum(y_true, axis=-1)\n"
            "    return tf.where(denom > 0, tf.reduce_sum(y_pred, axis=-1) / tf.where(denom > 0, denom, 1), 0.0)\n",
        ),
        Invalid(
            "import torch\n\nclass EntropyLoss(torch.nn.Module):\n    def forward(self, p):\n"
            "        return -torch.where(p > 0, p * torch.log(p), torch.zeros_like(p)).sum()\n",
            "import torch\n\nclass EntropyLoss(torch.nn.Module):\n    def forward(self, p):\n"
            "        return -torch.where(p > 0, p * torch.log(torch.where(p > 0, p, 1)), torch.zeros_like(p)).sum()\n",
        ),
        Invalid(
            "import jax\nimport jax.numpy as jnp\n\ndef loss_fn(params, x, y):\n    pred = x @ params\n"
            "    return jnp.where(y == 0, 0.0, (pred - y) / y).mean()\n\ngrad_fn = jax.grad(loss_fn)\n",
            "import jax\nimport jax.numpy as jnp\n\ndef loss_fn(params, x, y):\n    pred = x @ params\n"
            "    return jnp.where(y == 0, 0.0, (pred - y) / jnp.where(y == 0, 1, y)).mean()\n\ngrad_fn = jax.grad(loss_fn)\n",
        ),
        Invalid(
            "from keras import ops\n\ndef kl_loss(y_true, y_pred):\n"
            "    return ops.sum(ops.where(y_true > 0, y_true * ops.log(y_true), 0.0) - y_true * ops.log(ops.clip(y_pred, 1e-7, 1.0)))\n",
            "from keras import ops\n\ndef kl_loss(y_true, y_pred):\n"
            "    return ops.sum(ops.where(y_true > 0, y_true * ops.log(ops.where(y_true > 0, y_true, 1)), 0.0) - y_true * ops.log(ops.clip(y_pred, 1e-7, 1.0)))\n",
        ),
        Invalid(
            # Through a variable: reported, not fixed.
            "import tensorflow as tf\n\ndef weighted_loss(y_true, y_pred, w):\n    total = tf.reduce_sum(w)\n"
            "    ratio = tf.reduce_sum(w * tf.square(y_true - y_pred)) / total\n    return tf.where(total > 0, ratio, 0.0)\n",
            None,
        ),
        Invalid(
            # K.switch needs tensors: reported, not fixed.
            "from tensorflow.keras import backend as K\n\ndef focal_loss(y_true, y_pred):\n    n = K.sum(y_true)\n"
            "    return K.switch(K.greater(n, 0), K.sum(y_pred) / n, 0.0)\n",
            None,
        ),
        Invalid(
            "import tensorflow as tf\n\ndef train_step(model, x, y):\n    with tf.GradientTape() as tape:\n"
            "        n = tf.reduce_sum(y)\n        loss = tf.where(n > 0, -tf.math.log(n), 0.0)\n"
            "    return tape.gradient(loss, model.trainable_variables)\n",
            "import tensorflow as tf\n\ndef train_step(model, x, y):\n    with tf.GradientTape() as tape:\n"
            "        n = tf.reduce_sum(y)\n        loss = tf.where(n > 0, -tf.math.log(tf.where(n > 0, n, 1)), 0.0)\n"
            "    return tape.gradient(loss, model.trainable_variables)\n",
        ),
    ]

    def on_call(self, node: cst.Call) -> None:
        name = call_name(node, self.context)
        family = WHERE_FUNCTIONS.get(name or "")
        if family not in DIFFERENTIABLE_WHERE_FAMILIES:
            return
        positional = [a.value for a in node.args if a.keyword is None and not a.star]
        if len(positional) < 3:
            return
        role = self.role()
        if role is None or not role.differentiable:
            return
        cond, x, y = positional[:3]
        cond_keys = operand_keys(cond, self.context)
        if not cond_keys:
            return
        hazards: list[tuple[cst.BaseExpression, bool, str]] = []  # (operand, in the true branch, "division"|"log")
        through_variable: list[cst.CSTNode] = []
        for branch, taken_when_true in ((x, True), (y, False)):
            found = self._hazards(branch, cond_keys)
            if found:
                hazards.extend((operand, taken_when_true, kind) for operand, kind in found)
                continue
            bare = strip_parens(branch)
            scope = self.context.function
            if isinstance(bare, cst.Name) and scope is not None:
                binding = scope.reaching_binding(bare)
                if binding is not None and binding.value is not None and binding.augmented_op is None:
                    via = self._hazards(binding.value, cond_keys)
                    if via:
                        through_variable.append(binding.node)
                        hazards.extend((operand, taken_when_true, kind) for operand, kind in via)
        if not hazards:
            return
        operand, _, kind = hazards[0]
        what = f"`{' '.join(self.context.code(strip_parens(operand)).split())}`"
        if len(what) > 50:
            what = what[:47] + "...`"
        op = "divides by" if kind == "division" else "takes the log of"
        branch = "the division by" if kind == "division" else "the log of"
        message = f"Gradient is NaN despite `where`: {branch} {self.quote(strip_parens(operand), 24)} still runs; use a double `where`"
        details = (
            f"Single `where` guard in {role.reason}: the branch that {op} {what} is still computed where the condition "
            f"is false, so its inf/NaN enters the backward pass and the gradient is NaN (0 × inf) even though the "
            f"forward value is clean; sanitise the operand too (double where: `where(cond, {'d' if kind == 'division' else 'p'}, 1)` inside)"
        )
        fix = None
        fixable = not through_variable and family in WHERE_FIX_FAMILIES and _simple_condition(cond) and name != "jax.lax.select"
        if fixable:
            where_text = self.context.code(node.func)
            cond_text = self.context.code(strip_parens(cond))
            replacements = []
            for operand, when_true, _ in hazards:
                inner = self.context.code(strip_parens(operand))
                text = f"{where_text}({cond_text}, {inner}, 1)" if when_true else f"{where_text}({cond_text}, 1, {inner})"
                replacements.append(Replacement(operand, text))
            fix = self.fix("safe", "Sanitise the operand with a second where (double-where pattern)", *replacements)
        related = [("computed here", n) for n in through_variable]
        self.report(node, message, fix=fix, related=related, details=details)

    def _hazards(self, branch: cst.BaseExpression, cond_keys: set[str]) -> list[tuple[cst.BaseExpression, str]]:
        found: list[tuple[cst.BaseExpression, str]] = []
        stack: list[cst.CSTNode] = [branch]
        while stack:
            current = stack.pop()
            if isinstance(current, (cst.Lambda, cst.FunctionDef)):
                continue
            operand, kind = None, ""
            division = self.division_of(current)
            if division is not None and not isinstance(current, cst.AugAssign):
                operand, kind = division.denominator, "division"
            elif isinstance(current, cst.Call):
                name = call_name(current, self.context)
                if name in LOG_LIKE_FUNCTIONS:
                    operand, kind = arg(current, 0), "log"
                elif method_name(current, self.context) in LOG_LIKE_METHODS and not current.args and self._uses("torch"):
                    operand, kind = current.func.value, "log"  # type: ignore[attr-defined]
                if name is not None and name in WHERE_FUNCTIONS:
                    continue  # a nested where decides for itself
            if operand is not None and operand_keys(operand, self.context) & cond_keys:
                if classify(operand, self.context).kind != GUARDED:
                    found.append((operand, kind))
                    continue
            stack.extend(children(current, tokens=False))
        return found


def _simple_condition(cond: cst.BaseExpression) -> bool:
    cond = strip_parens(cond)
    if isinstance(cond, cst.Comparison):
        return simple_operand(cond.left) and all(simple_operand(c.comparator) for c in cond.comparisons)
    if isinstance(cond, cst.Call):
        return all(simple_operand(a.value) for a in cond.args) and simple_operand(cond.func)
    if isinstance(cond, cst.UnaryOperation):
        return _simple_condition(cond.expression)
    return simple_operand(cond)

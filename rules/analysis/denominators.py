"""Is a denominator data dependent, and is it guarded? (EPS101-EPS103)

`classify(expr, context)` answers with a `Denominator`:

- "const": not data dependent as far as we can tell — literals, shapes and lengths, hyperparameters
  (`self.temperature`, `warmup_steps`), unknown calls. Never reported: precision first.
- "guarded": kept away from zero — an epsilon/smooth/positive term added (`tp + fp + K.epsilon()`), a positive
  floor (`maximum(d, eps)`, `clip(d, eps, …)`, `d.clamp(min=eps)`, `max(d, 1)`), a where that swaps zeros for a
  constant (`where(d > 0, d, 1)`, the inner half of the double-where), a sum of strictly positive terms.
- "data": can be exactly 0 for some batch — a reduction or count (sum, mean, count_nonzero, norm, std/var,
  bincount, confusion matrix), a running-state attribute of a metric class (`self.add_weight`/`add_state`
  variables, `self.count`, `self.total`, …), a confusion-count name (`tp`, `fp`, `support`, `union`, …), a
  label/prediction parameter (elementwise: a zero label in MAPE, a probability that underflows), a sum,
  difference or product with such a term, a sqrt/cast/abs of one, or a local name bound to one of those.

Branches are not modelled (the textual last assignment wins), as in `lint_eps.scope`.
"""

from __future__ import annotations

from dataclasses import dataclass

from lint_eps.lazy import libcst as cst
from lint_eps import match as m

from lint_eps.context import FileContext
from lint_eps.imports import dotted_name
from lint_eps.nodes import arg, number_value, strip_parens
from lint_eps.scope import Binding, Scope
from lint_eps.walk import children, findall

from ..tables.division import (
    FAMILY_IMPORT_PREFIXES,
    ARITHMETIC_FUNCTIONS,
    CLIP_FUNCTIONS,
    CLIP_METHODS,
    COND_FUNCTIONS,
    AXIS_KEYWORDS,
    CONFUSION_CELLS,
    CONFUSION_MATRIX_NAMES,
    COUNT_NAMES,
    MAXIMUM_FUNCTIONS,
    ONE_HOT_FUNCTIONS,
    PASSTHROUGH_FUNCTIONS,
    PASSTHROUGH_METHODS,
    POSITIVE_FUNCTIONS,
    POSITIVE_METHODS,
    REDUCTION_FUNCTIONS,
    REDUCTION_METHODS,
    SAFE_DIVISION_FUNCTIONS,
    SHAPE_ATTRIBUTES,
    SHAPE_FUNCTIONS,
    SHAPE_METHODS,
    STATE_CREATORS_ASSIGNED,
    STATE_CREATORS_NAMED,
    STATE_UPDATE_METHODS,
    WHERE_FUNCTIONS,
)
from ..tables.roles import LABEL_PARAM_NAMES
from . import callees
from .epsilon import is_epsilon
from .roles import function_role, prediction_params

CONST, GUARDED, DATA = "const", "guarded", "data"
# Per-sample importance weights a caller passes in (scikit-learn's convention), not a mask of the batch.
SAMPLE_WEIGHT_NAMES = frozenset({"sample_weight", "sample_weights"})
_MAX_DEPTH = 8
BUILTINS = frozenset({"max", "min", "float", "int", "abs", "len", "sum", "round"})


@dataclass(frozen=True)
class Denominator:
    kind: str  # CONST | GUARDED | DATA
    why: str = ""  # for DATA: why it can be 0, worded to follow "the denominator ..."
    family: str | None = None  # framework of the reduction that made it data dependent (fix spelling)
    source: cst.CSTNode | None = None  # the node that made it data dependent
    elementwise: bool = False  # a label/prediction value rather than a reduction or count
    reason: str = ""  # for DATA: `why` in a few words, without code, for the one-line message ("is 0 when ...")
    note: str = ""  # for a value made in another function or module (issue 12): where, for the finding's note

    @property
    def is_data(self) -> bool:
        return self.kind == DATA


_CONST = Denominator(CONST)
_GUARDED = Denominator(GUARDED)


def family_of(qualname: str | None) -> str | None:
    if not qualname:
        return None
    for prefix, family in FAMILY_IMPORT_PREFIXES:
        if qualname == prefix or qualname.startswith(prefix + "."):
            return family
    return None
    for prefix, family in (
        ("tensorflow", "tensorflow"),
        ("keras.backend", "keras.backend"),
        ("keras", "keras"),
        ("torch", "torch"),
        ("jax", "jax"),
        ("numpy", "numpy"),
    ):
        if qualname == prefix or qualname.startswith(prefix + "."):
            return family
    return None


def call_name(call: cst.Call, context: FileContext) -> str | None:
    """Canonical callee, or the builtin's bare name (`max`, `len`, `float`) when it is not shadowed."""
    callee = context.callee(call)
    if callee is not None:
        return callee
    if isinstance(call.func, cst.Name) and call.func.value in BUILTINS:
        scope = context.function or context.scope
        if not scope.bindings(call.func.value) and not context.module_scope.bindings(call.func.value):
            return call.func.value
    return None


def method_name(call: cst.Call, context: FileContext) -> str | None:
    """`x.sum()` -> "sum" for a method call on a value (not a call through an imported module name)."""
    if isinstance(call.func, cst.Attribute) and context.callee(call) is None:
        return call.func.attr.value
    return None


def _positive_floor(node: cst.BaseExpression | None, context: FileContext) -> bool:
    """A floor that keeps the value away from 0: anything but a literal <= 0, None, or a name whose default or
    module constant is one of those (`clip(d, epsilon)` with `epsilon=0.0`)."""
    if node is None:
        return False
    node = strip_parens(node)
    if m.matches(node, m.Name("None")):
        return False
    value = number_value(node)
    if value is not None:
        return value > 0
    return zero_default(node, context) is None


def zero_default(node: cst.BaseExpression, context: FileContext) -> str | None:
    """`epsilon` when the name is a parameter defaulting to 0 / None, or a module constant 0, never reassigned in
    the function: the text of that default, else None."""
    if not isinstance(node, cst.Name):
        return None
    scope = context.function
    if scope is not None:
        if scope.reaching_binding(node) is not None:
            return None
        param = scope.param(node.value)
        if param is not None:
            default = param.default
            if default is not None and (number_value(default) == 0 or m.matches(default, m.Name("None"))):
                return context.code(default)
            return None
    bindings = context.module_scope.bindings(node.value)
    if len(bindings) == 1 and bindings[0].value is not None and number_value(bindings[0].value) == 0:
        return context.code(bindings[0].value)
    return None


def add_terms(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The terms of a `+` chain (`a + b + c` -> [a, b, c]); subtraction ends the chain."""
    node = strip_parens(node)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        return add_terms(node.left) + add_terms(node.right)
    return [node]


def state_attributes(context: FileContext, class_node: cst.ClassDef) -> frozenset[str]:
    """Attributes of a class created as running state: `self.x = self.add_weight(...)`, `self.add_state("x", ...)`."""
    key = f"denominators.state.{id(class_node)}"
    cached = context.shared.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    found: set[str] = set()
    for call in findall(class_node, m.Call(func=m.Attribute(value=m.Name("self")))):
        assert isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
        method = call.func.attr.value
        if method in STATE_CREATORS_NAMED and call.args and isinstance(call.args[0].value, cst.SimpleString):
            found.add(call.args[0].value.evaluated_value)  # type: ignore[arg-type]
    if _writes_state_creator(context):
        for assign in findall(class_node, m.Assign()):
            assert isinstance(assign, cst.Assign)
            value = assign.value
            if (
                isinstance(value, cst.Call)
                and isinstance(value.func, cst.Attribute)
                and value.func.attr.value in STATE_CREATORS_ASSIGNED
            ):
                for target in assign.targets:
                    if m.matches(target.target, m.Attribute(value=m.Name("self"))):
                        found.add(target.target.attr.value)  # type: ignore[attr-defined]
    result = frozenset(found)
    context.shared[key] = result
    return result


def _writes_state_creator(context: FileContext) -> bool:
    """Whether the file writes a state creator's name (asked once per file, not once per class)."""
    found = context.shared.get("denominators.writes_state_creator")
    if found is None:
        found = context.shared["denominators.writes_state_creator"] = any(t in context.source for t in STATE_CREATORS_ASSIGNED)
    return found  # type: ignore[return-value]


def state_updates(context: FileContext, class_node: cst.ClassDef) -> dict[str, list[tuple[cst.FunctionDef, cst.BaseExpression]]]:
    """How each `self.x` is updated outside `__init__`: `self.x += v`, `self.x.assign_add(v)`, `self.x.add_(v)`,
    `self.x = <v>` -> [(method, v)]."""
    key = f"denominators.updates.{id(class_node)}"
    cached = context.shared.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    updates: dict[str, list[tuple[cst.FunctionDef, cst.BaseExpression]]] = {}
    for statement in class_node.body.body:
        if not isinstance(statement, cst.FunctionDef) or statement.name.value == "__init__" or statement.name.value.startswith("reset"):
            continue
        for aug in findall(statement, m.AugAssign(target=m.Attribute(value=m.Name("self")), operator=m.AddAssign())):
            assert isinstance(aug, cst.AugAssign)
            updates.setdefault(aug.target.attr.value, []).append((statement, aug.value))  # type: ignore[attr-defined]
        # `self.count[...] += n`: state held in a mutable box (flax nnx `MetricState`, a preallocated array).
        for aug in findall(statement, m.AugAssign(target=m.Subscript(value=m.Attribute(value=m.Name("self"))), operator=m.AddAssign())):
            assert isinstance(aug, cst.AugAssign)
            updates.setdefault(aug.target.value.attr.value, []).append((statement, aug.value))  # type: ignore[attr-defined]
        for assign in findall(statement, m.Assign(targets=[m.AssignTarget(target=m.Attribute(value=m.Name("self")))])):
            assert isinstance(assign, cst.Assign)
            updates.setdefault(assign.targets[0].target.attr.value, []).append((statement, assign.value))  # type: ignore[attr-defined]
        for call in findall(statement, m.Call(func=m.Attribute(value=m.Attribute(value=m.Name("self"))))):
            assert isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
            if call.func.attr.value in STATE_UPDATE_METHODS and call.args:
                updates.setdefault(call.func.value.attr.value, []).append((statement, call.args[0].value))  # type: ignore[attr-defined]
    context.shared[key] = updates
    return updates


def hyperparameter_attribute(context: FileContext, class_node: cst.ClassDef, attr: str) -> bool:
    """`self.x` set in `__init__` from its arguments or constants and never updated elsewhere: a hyperparameter
    (a temperature, fixed class weights), whatever its name suggests."""
    if attr in state_attributes(context, class_node) or state_updates(context, class_node).get(attr):
        return False
    init = next((s for s in class_node.body.body if isinstance(s, cst.FunctionDef) and s.name.value == "__init__"), None)
    if init is None:
        return False
    params = {p.name for p in Scope(init, class_node).params} - {"self"}
    assigned = False
    for assign in findall(init, m.Assign(targets=[m.AssignTarget(target=m.Attribute(value=m.Name("self"), attr=m.Name(attr)))])):
        assert isinstance(assign, cst.Assign)
        names = {n.value for n in findall(assign.value, m.Name()) if isinstance(n, cst.Name)}
        reads = operand_keys(assign.value, context)
        if not reads <= params or (names & {"self"}):
            return False
        assigned = True
    return assigned


def operand_keys(node: cst.CSTNode, context: FileContext) -> set[str]:
    """The values an expression reads: local names and `self.x` chains, not module names or callees.

    `tf.reduce_sum(y_true) + self.count` -> {"y_true", "self.count"}. Used to decide whether a condition tests
    the denominator (`where(d > 0, …)`, `if tp + fp == 0: return 0.0`).
    """
    keys: set[str] = set()
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (cst.Attribute, cst.Name)):
            text = dotted_name(current)  # type: ignore[arg-type]
            if text is not None:
                if context.resolve(current) is None and text not in ("self", "None", "True", "False"):  # type: ignore[arg-type]
                    if not (isinstance(current, cst.Attribute) and current.attr.value in SHAPE_ATTRIBUTES):
                        keys.add(text)
                    else:
                        stack.append(current.value)
                    # `self.count` also counts as `self.count` only; a plain name as itself.
                continue
            if isinstance(current, cst.Attribute):
                stack.append(current.value)
                continue
        if isinstance(current, cst.Call):
            stack.extend(a.value for a in current.args)
            if isinstance(current.func, cst.Attribute) and context.callee(current) is None:
                stack.append(current.func.value)  # x.sum(): reads x
            continue
        if isinstance(current, (cst.Lambda, cst.FunctionDef)):
            continue
        stack.extend(children(current, tokens=False))
    return keys


class _Classifier:
    def __init__(self, context: FileContext, scope: Scope | None = None, busy: frozenset[str] = frozenset()) -> None:
        self.context = context
        self.scope: Scope | None = scope or context.function
        self.busy = busy  # state attributes being classified (an update that reads its own state)

    def classify(self, node: cst.BaseExpression, depth: int = 0) -> Denominator:
        if depth > _MAX_DEPTH:
            return _CONST
        node = strip_parens(node)
        value = number_value(node)
        if value is not None:
            return _GUARDED if value != 0 else _CONST
        if isinstance(node, cst.BinaryOperation):
            return self._binary(node, depth)
        if isinstance(node, cst.UnaryOperation):
            return self.classify(node.expression, depth + 1)
        if isinstance(node, cst.IfExp):
            if _none_test(node.test):
                # `x.numel() if mask is None else mask.sum()`: a branch on an optional argument, not on the value.
                return _first_data([self.classify(node.body, depth + 1), self.classify(node.orelse, depth + 1)]) or _CONST
            return _GUARDED  # `d if d > 0 else 1`: a branch on the value is a guard
        if isinstance(node, cst.Call):
            return self._call(node, depth)
        if isinstance(node, cst.Attribute):
            return self._attribute(node)
        if isinstance(node, cst.Subscript):
            if m.matches(node.value, m.Attribute(attr=m.Name())) and node.value.attr.value in SHAPE_ATTRIBUTES:  # type: ignore[attr-defined]
                return _CONST
            inner = self.classify(node.value, depth + 1)
            if inner.is_data and self._filtered(node):
                return _GUARDED
            return inner
        if isinstance(node, cst.Name):
            return self._name(node, depth)
        return _CONST

    # -- operators --------------------------------------------------------------------------------------------
    def _binary(self, node: cst.BinaryOperation, depth: int) -> Denominator:
        op = node.operator
        if isinstance(op, cst.Add):
            terms = add_terms(node)
            if _complementary_counts([self._local_value(t) for t in terms], self.context):
                return _GUARDED  # mask.sum() + (~mask).sum(): every element is counted once, > 0 for a non-empty input
            if _all_confusion_cells(terms):
                return _CONST  # tp + fp + fn + tn: the number of samples (accuracy's denominator)
            parts = [self.classify(t, depth + 1) for t in terms]
            if any(p.kind != DATA for p in parts):
                # An epsilon, smooth term or any other non-data term (a positive literal, a hyperparameter) added
                # to counts keeps the sum away from 0 (counts, sums of probabilities and norms are >= 0).
                if any(p.kind == GUARDED or (p.kind == CONST and not _zero(t)) for p, t in zip(parts, terms)):
                    return _GUARDED
            return _first_data(parts) or _CONST
        if isinstance(op, cst.Subtract):
            if self._extent(node):
                code = " ".join(self.context.code(node).split())
                return Denominator(DATA, f"`{code}` is a box extent (two coordinates of one box), 0 for a zero-width or zero-height box", None, node, elementwise=True)
            left, right = self.classify(node.left, depth + 1), self.classify(node.right, depth + 1)
            if right.kind == CONST:
                return left
            if right.is_data:
                # `1 - recall`, `sum_t + sum_p - intersection`: a difference can cancel to 0.
                return right if not left.is_data else left
            return left if left.is_data else _CONST
        if isinstance(op, (cst.Multiply, cst.MatrixMultiply)):
            parts = [self.classify(node.left, depth + 1), self.classify(node.right, depth + 1)]
            data = _first_data(parts)
            if data is not None:
                return data
            return _GUARDED if any(p.kind == GUARDED for p in parts) else _CONST
        if isinstance(op, (cst.Divide, cst.Power)):
            return self.classify(node.left, depth + 1)
        return _CONST

    # -- calls ------------------------------------------------------------------------------------------------
    def _call(self, node: cst.Call, depth: int) -> Denominator:
        context = self.context
        name = call_name(node, context)
        if name is not None:
            if is_epsilon(node, context):
                return _GUARDED
            if name in SAFE_DIVISION_FUNCTIONS or name in COND_FUNCTIONS or name in SHAPE_FUNCTIONS:
                return _CONST
            if name in ARITHMETIC_FUNCTIONS:
                left, right = arg(node, 0), arg(node, 1)
                if left is None or right is None:
                    return _CONST
                operator = {"+": cst.Add(), "-": cst.Subtract(), "*": cst.Multiply()}[ARITHMETIC_FUNCTIONS[name]]
                return self._binary(cst.BinaryOperation(left, operator, right), depth)
            if name in MAXIMUM_FUNCTIONS:
                values = [a.value for a in node.args if a.keyword is None and not a.star]
                if len(values) < 2:
                    return _CONST  # max(iterable), reduce-max: not a floor
                parts = [self.classify(v, depth + 1) for v in values]
                if any(p.kind == GUARDED for p in parts) or any(
                    p.kind == CONST and _positive_floor(v, context) for p, v in zip(parts, values)
                ):
                    return _GUARDED
                data = _first_data(parts) or _CONST
                return next((_zero_floor(data, v, context) for v in values if zero_default(strip_parens(v), context)), data)
            if name in CLIP_FUNCTIONS:
                position, keyword = CLIP_FUNCTIONS[name]
                floor = arg(node, position, keyword)
                if _positive_floor(floor, context):
                    return _GUARDED
                first = arg(node, 0)
                inner = self.classify(first, depth + 1) if first is not None else _CONST
                return _zero_floor(inner, floor, context)
            if name in WHERE_FUNCTIONS:
                return self._where(node, depth)
            if name in REDUCTION_FUNCTIONS:
                return self._reduction(node, arg(node, 0), name, depth)
            if name in POSITIVE_FUNCTIONS:
                return _GUARDED
            if name in PASSTHROUGH_FUNCTIONS or name in ("float", "int", "abs", "round"):
                first = arg(node, 0)
                return self.classify(first, depth + 1) if first is not None else _CONST
            return _CONST
        method = method_name(node, context)
        if method is None:
            return self._helper_result(node)
        receiver = node.func.value  # type: ignore[attr-defined]
        if method in SHAPE_METHODS:
            return _CONST
        if method in CLIP_METHODS:
            position, keyword = CLIP_METHODS[method]
            floor = arg(node, position, keyword)
            if _positive_floor(floor, context):
                return _GUARDED
            return _zero_floor(self.classify(receiver, depth + 1), floor, context)
        if method in REDUCTION_METHODS:
            if m.matches(receiver, m.Name("self")):
                return _CONST
            return self._reduction(node, receiver, None, depth)
        if method in POSITIVE_METHODS:
            return _GUARDED
        if method in PASSTHROUGH_METHODS:
            return self.classify(receiver, depth + 1)
        return _CONST

    def _helper_result(self, node: cst.Call) -> Denominator:
        """`precision(y, p)`: a function of this module or the project whose summary says its result can be 0
        (a count, a sum, a ratio of counts: issue 12); anything else a call returns is unknown (not data)."""
        found = callees.call_fact(self.context, node)
        if found is None or found.fact.kind != "zero":
            return _CONST
        code = " ".join(self.context.code(node).split())
        why = f"`{code}` is {found.origin}, 0 when {found.fact.detail}"
        name = dotted_name(node.func) or "the helper"
        return Denominator(DATA, why, None, node, reason=f"can be 0 (from `{name}()`)", note=why)

    def _filtered(self, node: cst.Subscript) -> bool:
        """`d[d > 0]`, `d[mask]` with `mask = (d > 0) & ...`: only the nonzero elements are kept."""
        if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
            return False
        index = strip_parens(node.slice[0].slice.value)
        if isinstance(index, cst.Name) and self.scope is not None:
            binding = self.scope.reaching_binding(index)
            if binding is None or binding.value is None:
                return False
            index = binding.value
        if not findall(index, m.Comparison()):
            return False
        return bool(operand_keys(index, self.context) & operand_keys(node.value, self.context))

    def _reduction(self, node: cst.Call, operand: cst.BaseExpression | None, name: str | None, depth: int) -> Denominator:
        if operand is not None:
            bare = strip_parens(operand)
            if self._hyperparameter(bare):
                return _CONST  # `self.weights.sum()` of constructor weights: fixed, not data
            if (
                isinstance(bare, cst.Name)
                and bare.value.lower() in CONFUSION_MATRIX_NAMES
                and not any(a.keyword is not None and a.keyword.value in AXIS_KEYWORDS for a in node.args)
                and len([a for a in node.args if a.keyword is None]) <= (1 if name else 0)
            ):
                return _CONST  # the total of a confusion matrix is the number of samples
            if isinstance(bare, cst.Name) and bare.value in SAMPLE_WEIGHT_NAMES and self._metric_weights(bare.value):
                return _CONST  # a metric's weighted mean by caller-supplied sample weights: all-zero weights are invalid input (np.average raises)
            if isinstance(bare, cst.Name) and self.scope is not None:
                binding = self.scope.reaching_binding(bare)
                selected = strip_parens(binding.value) if binding is not None and binding.value is not None else None
                if isinstance(selected, cst.Subscript) and self._filtered(selected):
                    return _GUARDED  # `x = f[f.sum(1) != 0]` then `norm(x)`: the zero rows were dropped
            if self._one_hot(bare) and not _axis_given(node, name):
                return _GUARDED  # `F.one_hot(y, n).float().sum()`: one 1 per row, the number of rows
            if self._confusion_marginal(bare):
                return _CONST  # the sum of a confusion matrix's row (or column) sums is the number of samples
            inner = self.classify(operand, depth + 1)
            if inner.kind == GUARDED:
                return _GUARDED  # sum(exp(x)), sum(p + eps), count of ones: > 0
        code = " ".join(self.context.code(node).split())
        short = code if len(code) <= 60 else code[:57] + "..."
        leaf = (name or node.func.attr.value).rsplit(".", 1)[-1]  # type: ignore[attr-defined]
        if leaf in ("std", "var", "reduce_std", "reduce_variance"):
            reason = "is 0 for a constant input"
        elif "norm" in leaf:
            reason = "is 0 for an all-zero vector"
        elif leaf in ("bincount", "confusion_matrix", "multilabel_confusion_matrix"):
            reason = "is 0 for a class absent from the batch"
        else:
            reason = "is 0 when nothing is selected"
        why = f"`{short}` {reason}"
        if reason.endswith("selected"):
            why += " (an empty mask, a class absent from the batch, an all-zero prediction)"
        family = family_of(name) if name else None
        return Denominator(DATA, why, family, node, reason=reason)

    def _where(self, node: cst.Call, depth: int) -> Denominator:
        values = [a.value for a in node.args if a.keyword is None and not a.star]
        if len(values) < 3:
            return _CONST
        cond, x, y = values[:3]
        parts = [self.classify(x, depth + 1), self.classify(y, depth + 1)]
        if not any(p.is_data for p in parts):
            return _GUARDED if any(p.kind == GUARDED for p in parts) else _CONST
        # where(d > 0, d, 1): the zeros are replaced by a non-zero constant (the inner half of a double where).
        cond_keys = operand_keys(cond, self.context)
        for data, other in ((x, y), (y, x)):
            if self.classify(data, depth + 1).is_data and self.classify(other, depth + 1).kind != DATA:
                if not _zero(other) and cond_keys & operand_keys(data, self.context):
                    return _GUARDED
        return _first_data(parts) or _CONST

    # -- names and attributes ---------------------------------------------------------------------------------
    @staticmethod
    def _is_augmented(method: cst.FunctionDef, attr: str) -> bool:
        this = m.Attribute(value=m.Name("self"), attr=m.Name(attr))
        return bool(findall(method, m.AugAssign(target=this | m.Subscript(value=this))))

    def _attribute(self, node: cst.Attribute) -> Denominator:
        if is_epsilon(node, self.context):
            return _GUARDED
        attr = node.attr.value
        if attr in SHAPE_ATTRIBUTES:
            return _CONST
        if m.matches(node.value, m.Name("self")):
            fn = self.scope if self.scope is not None and self.scope.class_node is not None else self.context.function
            class_node = fn.class_node if fn is not None else None
            local = self._assigned_here(node)
            if local is not None:
                return self.classify(local, 1)  # `self.num_pos = ...` earlier in this method: that value, not state
            if class_node is not None and hyperparameter_attribute(self.context, class_node, attr):
                return _CONST  # `self.tp = tp` in `__init__`: a temperature named like a count, never updated
            if attr.lower().lstrip("_") in COUNT_NAMES:
                return Denominator(DATA, f"`self.{attr}` is a running count that is 0 until an update counts something", None, node, reason="is 0 before any update")
            if class_node is None or attr in self.busy:
                return _CONST
            state = state_attributes(self.context, class_node)
            updates = state_updates(self.context, class_node).get(attr, [])
            for method, value in updates:
                if attr not in state and not findall(value, m.Attribute(value=m.Name("self"), attr=m.Name(attr))) and not self._is_augmented(method, attr):
                    continue  # a plain attribute set elsewhere, not accumulated state
                inner = _Classifier(self.context, Scope(method, class_node), self.busy | {attr}).classify(value)
                if inner.is_data:
                    return Denominator(
                        DATA,
                        f"`self.{attr}` is running state accumulated from a data-dependent value, 0 until an update counts something",
                        inner.family,
                        node,
                        reason="is 0 before any update",
                    )
        return _CONST

    def _name(self, node: cst.Name, depth: int) -> Denominator:
        context = self.context
        scope = self.scope
        if scope is None:
            return _CONST
        binding = scope.reaching_binding(node)
        if binding is None:
            if is_epsilon(node, context):
                return _GUARDED
            param = scope.param(node.value)
            if param is None:
                return _CONST
            return self._parameter(node, scope)
        result = self._binding(node, binding, scope, depth)
        if not result.is_data:
            # `if a: d = sum(...)` / `elif b: d = 1 / n`: the textual last assignment is one branch of several.
            for other in _branch_alternatives(binding, scope):
                alternative = self._binding(node, other, scope, depth)
                if alternative.is_data:
                    return alternative
        return result

    def _binding(self, node: cst.Name, binding: Binding, scope: Scope, depth: int) -> Denominator:
        if binding.value is None:
            if node.value.lower() in COUNT_NAMES:
                return Denominator(DATA, f"`{node.value}` is a count that is 0 for some batches", None, node, reason="is a count that can be 0")
            return _CONST
        if binding.augmented_op is None:
            if isinstance(strip_parens(binding.value), cst.Name) and is_epsilon(node, self.context):
                return _GUARDED
            return self.classify(binding.value, depth + 1)
        # Augmented: `d += eps` guards; otherwise the earlier value decides.
        added = self.classify(binding.value, depth + 1)
        if isinstance(binding.augmented_op, cst.AddAssign) and (added.kind == GUARDED or (added.kind == CONST and not _zero(binding.value))):
            return _GUARDED
        earlier = [b for b in scope.bindings(node.value) if b.order < binding.order]
        if earlier:
            previous = earlier[-1]
            if previous.value is not None and previous.augmented_op is None:
                before = self.classify(previous.value, depth + 1)
                if before.kind == GUARDED and isinstance(binding.augmented_op, (cst.AddAssign, cst.MultiplyAssign)) and added.kind != DATA:
                    return _GUARDED
                return before if before.is_data else added if added.is_data else before
        return added

    def _extent(self, node: cst.BinaryOperation) -> bool:
        """`y2 - y1` of `x1, y1, x2, y2 = boxes.unbind(-1)`, or `boxes[..., 3] - boxes[..., 1]`: two coordinates of
        the same boxes, whose difference is 0 for a degenerate box (issue 11)."""
        left, right = strip_parens(node.left), strip_parens(node.right)
        if isinstance(left, cst.Subscript) and isinstance(right, cst.Subscript):
            if not left.value.deep_equals(right.value) or len(left.slice) != len(right.slice) or not left.slice:
                return False
            a, b = left.slice[-1].slice, right.slice[-1].slice
            same_rest = all(x.deep_equals(y) for x, y in zip(left.slice[:-1], right.slice[:-1]))
            return (
                same_rest and isinstance(a, cst.Index) and isinstance(b, cst.Index)
                and isinstance(a.value, cst.Integer) and isinstance(b.value, cst.Integer) and a.value.value != b.value.value
            )
        if isinstance(left, cst.Name) and isinstance(right, cst.Name) and self.scope is not None and left.value != right.value:
            first, second = self.scope.reaching_binding(left), self.scope.reaching_binding(right)
            if first is None or second is None or first.node is not second.node or not isinstance(first.node, cst.Assign):
                return False
            target = first.node.targets[0].target if len(first.node.targets) == 1 else None
            value = strip_parens(first.node.value)
            unbound = isinstance(value, cst.Call) and (getattr(value.func, "attr", None) is not None and value.func.attr.value in ("unbind", "unstack", "split"))  # type: ignore[attr-defined]
            return isinstance(target, cst.Tuple) and len(target.elements) == 4 and unbound
        return False

    def _local_value(self, node: cst.BaseExpression) -> cst.BaseExpression:
        """A local name's or `self.x`'s value assigned in this function, else the node itself."""
        node = strip_parens(node)
        if isinstance(node, cst.Attribute) and m.matches(node.value, m.Name("self")):
            return self._assigned_here(node) or node
        if isinstance(node, cst.Name) and self.scope is not None:
            binding = self.scope.reaching_binding(node)
            if binding is not None and binding.value is not None and binding.augmented_op is None:
                return binding.value
        return node

    def _metric_weights(self, name: str) -> bool:
        """`sample_weight` passed to a metric (evaluation: importance weights, all zero is invalid input), never
        reassigned. In a loss the same argument often doubles as a padding mask, which can be all zero."""
        scope = self.scope
        if scope is None or scope.param(name) is None or scope.bindings(name):
            return False
        role = function_role(self.context, scope)
        return role is not None and not role.differentiable

    def _assigned_here(self, node: cst.Attribute) -> cst.BaseExpression | None:
        """The value of the last `self.x = v` (or `self.x, self.y = (v, w)`) before `node` in the same function."""
        scope = self.scope
        use = scope.order_of(node) if scope is not None else None
        if use is None or scope is None:
            return None
        found = None
        for assign in findall(scope.node, m.Assign()):
            assert isinstance(assign, cst.Assign)
            if (scope.order_of(assign) or use) >= use:
                continue
            for target in assign.targets:
                pairs = [(target.target, assign.value)]
                value = strip_parens(assign.value)
                if isinstance(target.target, cst.Tuple) and isinstance(value, cst.Tuple) and len(target.target.elements) == len(value.elements):
                    pairs = [(t.value, v.value) for t, v in zip(target.target.elements, value.elements)]
                for t, v in pairs:
                    if t.deep_equals(node):
                        found = v
        return found

    def _confusion_marginal(self, node: cst.BaseExpression) -> bool:
        """A local bound to `reduce_sum(confusion_matrix, axis=...)` / `cm.sum(axis=...)`."""
        if not isinstance(node, cst.Name) or self.scope is None:
            return False
        binding = self.scope.reaching_binding(node)
        value = strip_parens(binding.value) if binding is not None and binding.value is not None and binding.augmented_op is None else None
        if not isinstance(value, cst.Call):
            return False
        name = call_name(value, self.context)
        method = method_name(value, self.context)
        if name is not None and name in REDUCTION_FUNCTIONS:
            operand = arg(value, 0)
        elif method in REDUCTION_METHODS:
            operand = value.func.value  # type: ignore[attr-defined]
        else:
            return False
        leaf = (name or method or "").rsplit(".", 1)[-1]
        operand = strip_parens(operand) if operand is not None else None
        return leaf in ("sum", "reduce_sum") and isinstance(operand, cst.Name) and operand.value.lower() in CONFUSION_MATRIX_NAMES

    def _made_from(self, node: cst.BaseExpression, *, fixed_index: bool = False) -> cst.BaseExpression:
        """What `node` was made from: the value under local names and moves or casts (`w = x.to(d).float()`),
        and with `fixed_index` under indexing by constants or hyperparameters (`w = w[self.classes]`)."""
        for _ in range(_MAX_DEPTH):
            node = strip_parens(node)
            if isinstance(node, cst.Name) and self.scope is not None:
                binding = self.scope.reaching_binding(node)
                if binding is None or binding.value is None or binding.augmented_op is not None:
                    return node
                node = binding.value
            elif fixed_index and isinstance(node, cst.Subscript) and all(self._fixed_index(element.slice) for element in node.slice):
                node = node.value
            elif isinstance(node, cst.Call) and method_name(node, self.context) in PASSTHROUGH_METHODS:
                node = node.func.value  # type: ignore[attr-defined]
            else:
                return node
        return node

    def _hyperparameter(self, node: cst.BaseExpression) -> bool:
        """`self.w` set from `__init__` arguments, or a value this function derives from it without data: moved
        or cast (`w = self.class_weights.to(x.device)`), or indexed by constants or other hyperparameters
        (`w = w[self.classes]`). Class-weighted losses divide by `w.sum()`: all-zero weights are invalid input.
        Indexing by data (`self.w[target]`, `self.w[mask]`) is not followed: an empty selection sums to 0."""
        node = self._made_from(node, fixed_index=True)
        if not m.matches(node, m.Attribute(value=m.Name("self"), attr=m.Name())):
            return False
        fn = self.scope if self.scope is not None and self.scope.class_node is not None else self.context.function
        class_node = fn.class_node if fn is not None else None
        return class_node is not None and hyperparameter_attribute(self.context, class_node, node.attr.value)  # type: ignore[attr-defined]

    def _one_hot(self, node: cst.BaseExpression) -> bool:
        """`F.one_hot(...)`, also cast, moved or reshaped, directly or through a local name."""
        node = self._made_from(node)
        return isinstance(node, cst.Call) and call_name(node, self.context) in ONE_HOT_FUNCTIONS

    def _fixed_index(self, index: cst.BaseSlice) -> bool:
        """An index that selects the same elements for every batch: literals, slices, hyperparameters."""
        if isinstance(index, cst.Slice):
            parts = [index.lower, index.upper, index.step]
            return all(part is None or number_value(part) is not None for part in parts)
        value = strip_parens(index.value)  # type: ignore[attr-defined]
        return number_value(value) is not None or self._hyperparameter(value)

    def _parameter(self, node: cst.Name, scope: Scope) -> Denominator:
        name = node.value
        param = scope.param(name)
        if param is not None and param.default is not None and (number_value(param.default) or 0) > 0:
            return _CONST  # `tp=4.0`: a positive default makes it a hyperparameter, whatever its name
        if name.lower() in COUNT_NAMES:
            return Denominator(DATA, f"`{name}` is a count that is 0 for some batches", None, node, reason="is a count that can be 0")
        positional = [p for p in scope.params if p.index >= 0 and p.name not in ("self", "cls")]
        labels = {p.name for p in scope.params if p.name in LABEL_PARAM_NAMES}
        if len(positional) >= 2 and positional[0].name in LABEL_PARAM_NAMES:
            labels.add(positional[0].name)
        if name in labels or name in prediction_params(scope):
            kind = "label" if name in labels else "prediction"
            return Denominator(DATA, f"`{name}` is a {kind} value that can be exactly 0 in some element", None, node, elementwise=True, reason=f"is a {kind} that can be 0")
        return _CONST


def _axis_given(call: cst.Call, name: str | None) -> bool:
    """A reduction over some axes only (`x.sum(1)`, `torch.sum(x, dim=0)`), not over the whole tensor."""
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return any(a.keyword is not None and a.keyword.value in AXIS_KEYWORDS for a in call.args) or len(positional) > (1 if name else 0)


def _branch_alternatives(binding: Binding, scope: Scope) -> list[Binding]:
    """Earlier bindings of the same name in another branch of an `if`/`elif`/`else` that holds `binding`."""
    earlier = [b for b in scope.bindings(binding.name) if b.order < binding.order]
    if not earlier:
        return []
    out = []
    for statement in findall(scope.node, m.If()):
        assert isinstance(statement, cst.If)
        if statement.orelse is None:
            continue
        body_ids = {id(n) for n in findall(statement.body, m.Assign() | m.AugAssign() | m.AnnAssign())}
        else_ids = {id(n) for n in findall(statement.orelse, m.Assign() | m.AugAssign() | m.AnnAssign())}
        if id(binding.node) in else_ids:
            out.extend(b for b in earlier if id(b.node) in body_ids)
    return out


def _none_test(test: cst.BaseExpression) -> bool:
    """`x is None`, `x is not None`: the test of an optional argument."""
    test = strip_parens(test)
    return (
        isinstance(test, cst.Comparison)
        and len(test.comparisons) == 1
        and isinstance(test.comparisons[0].operator, (cst.Is, cst.IsNot))
        and m.matches(test.comparisons[0].comparator, m.Name("None"))
    )


def _all_confusion_cells(terms: list[cst.BaseExpression]) -> bool:
    """`tp + fp + fn + tn` (or `self.true_positives + ...`, in any order): all four cells of a confusion matrix."""
    names = set()
    for term in terms:
        term = strip_parens(term)
        leaf = term.attr.value if isinstance(term, cst.Attribute) else term.value if isinstance(term, cst.Name) else None
        if leaf is not None:
            names.add(leaf.lower().lstrip("_"))
    return any(cells <= names for cells in CONFUSION_CELLS)


def _complementary_counts(terms: list[cst.BaseExpression], context: FileContext) -> bool:
    """Terms that count a mask and its complement (`mask.sum()`, `(~mask).sum()`, also under sqrt or a scale)."""
    counted: set[str] = set()
    for term in terms:
        for call in findall(term, m.Call()):
            assert isinstance(call, cst.Call)
            leaf = (call_name(call, context) or method_name(call, context) or "").rsplit(".", 1)[-1]
            if leaf not in ("sum", "count_nonzero", "reduce_sum"):
                continue
            operand = getattr(call.func, "value", None) if method_name(call, context) else arg(call, 0)
            if operand is not None:
                counted.add(" ".join(context.code(strip_parens(operand)).split()))
    return any(f"~{c}" in counted or f"~({c})" in counted for c in counted)


def _zero_floor(inner: Denominator, floor: cst.BaseExpression | None, context: FileContext) -> Denominator:
    """Say why a floor is no guard: `clip(d, epsilon)` with `epsilon=0.0`."""
    default = zero_default(strip_parens(floor), context) if floor is not None else None
    if not inner.is_data or default is None:
        return inner
    floor_code = context.code(strip_parens(floor))  # type: ignore[arg-type]
    return Denominator(DATA, f"{inner.why}, and the floor `{floor_code}` defaults to {default}", inner.family, inner.source, inner.elementwise)


def _zero(node: cst.BaseExpression) -> bool:
    return number_value(node) == 0


def _first_data(parts: list[Denominator]) -> Denominator | None:
    # Prefer a reduction over an elementwise value for the message.
    data = [p for p in parts if p.is_data]
    if not data:
        return None
    for p in data:
        if not p.elementwise:
            return p
    return data[0]


def classify(node: cst.BaseExpression, context: FileContext) -> Denominator:
    return _Classifier(context).classify(node)

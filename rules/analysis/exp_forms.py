"""Recognise the pieces of hand-written softmax, log-sum-exp, softplus and sigmoid (EPS501-EPS506).

The rules of the EPS5 family all ask the same questions about an expression: is it `exp(x)` (a function of some
framework, or torch's `x.exp()`), directly or through one local variable? a sum over axes of such a thing? a
`log` of one argument? is `x` shifted by its own maximum, so that exp(x) <= 1? And they all spell their fix in
the framework of the code they rewrite, with the names the file already imports.
"""

from __future__ import annotations

from dataclasses import dataclass

from lint_eps.lazy import libcst as cst
from lint_eps import match as m

from lint_eps.context import FileContext
from lint_eps.nodes import arg, names_in, number_value, simple_operand, strip_parens
from lint_eps.walk import findall
from lint_eps.prefilter import FileText, FunctionFacts, has_word, identifiers_reaching, mentions

from ..tables.activations import LOG_FUNCTIONS
from ..tables.probabilities import CLIP_FUNCTIONS, MAXIMUM_FUNCTIONS, MINIMUM_FUNCTIONS
from ..tables.stable_forms import (
    AXIS_KEYWORD,
    BROADCAST_FUNCTIONS,
    EXP_FUNCTIONS,
    EXP_METHOD,
    KEEPDIMS_KEYWORD,
    MAX_FUNCTIONS,
    MAX_METHODS,
    NEGATIVE_FUNCTIONS,
    NONNEGATIVE_FUNCTIONS,
    NONNEGATIVE_METHODS,
    PASS_THROUGH_METHODS,
    POWER_FUNCTIONS,
    STOP_GRADIENT_FUNCTIONS,
    SUM_FUNCTIONS,
    SUM_METHOD,
)

def writes_exp(text: FileText) -> bool:
    """File gate of EPS501-EPS504: every finding holds an `exp` (a call, a method or an import writes it)."""
    return has_word(text.source, ("exp",))


def writes_exp_and_log(text: FileText) -> bool:
    """File gate of EPS502/EPS503: their findings are a `log` (or `log1p`) of an `exp`; both are written, or an
    alias of them is imported or assigned at module level (`identifiers_reaching`)."""
    return writes_exp(text) and has_word(text.source, identifiers_reaching(text, "log", "log1p"))


def needs_exp(text: FileText, function: FunctionFacts) -> bool:
    """Per-function gate: the function writes `exp` or a module-level alias of it."""
    return mentions(text, function, "exp")


@dataclass(frozen=True)
class Exp:
    call: cst.Call
    operand: cst.BaseExpression  # x in exp(x)
    family: str
    masked: bool = False  # exp(x) * mask


@dataclass(frozen=True)
class Sum:
    call: cst.Call
    operand: cst.BaseExpression
    family: str
    axis: cst.BaseExpression | None
    keepdims: bool
    plain: bool  # only the operand, an axis and keepdims: the rewrite keeps its meaning
    method: bool


@dataclass(frozen=True)
class Log:
    call: cst.Call
    operand: cst.BaseExpression
    family: str
    method: bool


CLIP_METHOD_NAMES = frozenset({"clamp", "clip", "clamp_max", "clamp_min"})
ONE = m.Integer("1") | m.Float("1.0") | m.Float("1.")


def is_one(node: cst.BaseExpression) -> bool:
    return number_value(node) == 1.0


def squashed(context: FileContext, node: cst.CSTNode) -> str:
    return "".join(context.code(strip_parens(node) if isinstance(node, cst.BaseExpression) else node).split())


class ExpForms:
    """The questions, bound to one file's context (cheap: no state beyond the context)."""

    def __init__(self, context: FileContext) -> None:
        self.context = context

    # -- torch methods -----------------------------------------------------------------------------------
    def uses_torch(self) -> bool:
        return self.context.imports.imports_any(("torch",))

    def method(self, node: cst.BaseExpression, names: frozenset[str] | str) -> cst.Call | None:
        """`node` as `<receiver>.<name>(...)` where the method is not a resolvable library function.

        Matching never strips parentheses (a copy would not be a node of the tree, so it could be neither
        reported nor replaced): libcst keeps them on the node itself, so `(f(x))` is a Call all the same."""
        if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)):
            return None
        wanted = node.func.attr.value in names if isinstance(names, frozenset) else node.func.attr.value == names
        if not wanted or self.context.callee(node) is not None:
            return None
        return node

    # -- following one local variable --------------------------------------------------------------------
    def value_of(self, node: cst.BaseExpression) -> cst.BaseExpression:
        """A plain local name's last assigned value (one step, textual order), else the node itself."""
        if isinstance(node, cst.Name):
            scope = self.context.function or self.context.scope
            binding = scope.reaching_binding(node)
            if binding is not None and binding.value is not None and binding.augmented_op is None:
                return binding.value
        return node

    def stable_between(self, operands: list[cst.BaseExpression], start: cst.CSTNode, end: cst.CSTNode) -> bool:
        """The operands can be evaluated at `end` instead of `start`: simple, and none of their names rebound."""
        scope = self.context.function or self.context.scope
        if scope.order_of(start) is None or scope.order_of(end) is None:
            return False
        for operand in operands:
            if not simple_operand(operand):
                return False
            for name in names_in(operand):
                if scope.bindings_between(name, start, end):
                    return False
        return True

    # -- the pieces --------------------------------------------------------------------------------------
    def exp(self, node: cst.BaseExpression, *, follow: bool = True, masks: bool = False) -> Exp | None:
        """`exp(x)`, `x.exp()` (torch), and with `masks` also `exp(x) * mask`; through one local with `follow`."""
        if follow and isinstance(node, cst.Name):
            value = self.value_of(node)
            return None if value is node else self.exp(value, follow=False, masks=masks)
        if isinstance(node, cst.Call):
            family = EXP_FUNCTIONS.get(self.context.callee(node) or "")
            if family is not None:
                operand = arg(node, 0, "x")
                if operand is None or len(node.args) != 1:
                    return None
                return Exp(node, operand, family)
            method = self.method(node, EXP_METHOD)
            if method is not None and not method.args and self.uses_torch():
                return Exp(method, method.func.value, "torch")  # type: ignore[attr-defined]
        if masks and isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply):
            for side in (node.left, node.right):
                found = self.exp(side, follow=follow, masks=False)
                if found is not None:
                    return Exp(found.call, found.operand, found.family, masked=True)
        return None

    def sum(self, node: cst.BaseExpression) -> Sum | None:
        """A sum over axes: `reduce_sum(v, axis, keepdims)`, `torch.sum(v, dim)`, `v.sum(axis)`."""
        if not isinstance(node, cst.Call):
            return None
        family = SUM_FUNCTIONS.get(self.context.callee(node) or "")
        if family is not None:
            operand = arg(node, 0, "input_tensor") or arg(node, 0, "x") or arg(node, 0, "input") or arg(node, 0, "a")
            if operand is None:
                return None
            rest = [a for a in node.args if a.value is not operand]
            return self._sum(node, operand, family, rest, positions=3 if family not in ("numpy", "jax") else 2, method=False)
        method = self.method(node, SUM_METHOD)
        if method is not None:
            receiver = method.func.value  # type: ignore[attr-defined]
            inner = self.exp(receiver, masks=True)
            family = inner.family if inner is not None else ("torch" if self.uses_torch() else "numpy")
            return self._sum(method, receiver, family, list(method.args), positions=2 if family == "torch" else 1, method=True)
        return None

    def _sum(self, call: cst.Call, operand: cst.BaseExpression, family: str, rest: list[cst.Arg], *, positions: int, method: bool) -> Sum:
        """`positions`: how many leading positional arguments (operand included for functions) are the
        operand, the axis and keepdims; anything else (dtype, out, name) makes the sum not plain."""
        axis_keyword = AXIS_KEYWORD.get(family, "axis")
        keep_keyword = KEEPDIMS_KEYWORD.get(family, "keepdims")
        axis: cst.BaseExpression | None = None
        keepdims: cst.BaseExpression | None = None
        plain = True
        positional = [a for a in rest if a.keyword is None]
        offset = 0 if method else 1
        for index, a in enumerate(positional):
            if a.star or index + offset >= positions:
                plain = False
            elif index == 0:
                axis = a.value
            else:
                keepdims = a.value
        for a in rest:
            if a.keyword is None:
                continue
            # Only the family's own keywords: torch's numpy-style `axis=` aliases may not exist on the replacement.
            if a.keyword.value == axis_keyword:
                axis = a.value
            elif a.keyword.value == keep_keyword:
                keepdims = a.value
            else:
                plain = False
        kept = keepdims is not None and m.matches(keepdims, m.Name("True"))
        if keepdims is not None and not kept and not m.matches(keepdims, m.Name("False")):
            plain = False
        return Sum(call, operand, family, axis, kept, plain, method)

    def log(self, call: cst.Call) -> Log | None:
        """`log(v)` of one argument, or torch's `v.log()`."""
        family = LOG_FUNCTIONS.get(self.context.callee(call) or "")
        if family is not None:
            if len(call.args) != 1 or call.args[0].star:
                return None  # math.log(x, base), log(*xs)
            keyword = call.args[0].keyword
            if keyword is not None and keyword.value not in ("x", "input"):
                return None
            return Log(call, call.args[0].value, family, False)
        method = self.method(call, "log")
        if method is not None and not method.args and self.uses_torch():
            return Log(call, method.func.value, "torch", True)  # type: ignore[attr-defined]
        return None

    # -- what makes exp(x) safe --------------------------------------------------------------------------
    def shifted(self, operand: cst.BaseExpression) -> bool:
        """`x - max(x, ...)` (or a local bound to a maximum, a name saying so, a logsumexp): exp of it is <= 1."""
        if isinstance(operand, cst.Name):
            value = self.value_of(operand)
            return value is not operand and self.shifted(value) if not isinstance(value, cst.Name) else False
        if not (isinstance(operand, cst.BinaryOperation) and isinstance(operand.operator, cst.Subtract)):
            return False
        return self._is_maximum(operand.right, follow=True)

    def _is_maximum(self, node: cst.BaseExpression, *, follow: bool) -> bool:
        if isinstance(node, cst.Name):
            if "max" in node.value.lower() or "lse" in node.value.lower() or "logsumexp" in node.value.lower():
                return True
            value = self.value_of(node) if follow else node
            return value is not node and self._is_maximum(value, follow=False)
        if isinstance(node, cst.Attribute):  # torch: x.max(dim).values; self.max_logit
            return node.attr.value in ("values",) and self._is_maximum(node.value, follow=follow) or "max" in node.attr.value.lower()
        if isinstance(node, cst.Subscript):  # x.max(dim)[0]; m[:, None]
            return self._is_maximum(node.value, follow=follow)
        if isinstance(node, cst.Call):
            callee = self.context.callee(node) or ""
            if callee in MAX_FUNCTIONS or callee in MAXIMUM_FUNCTIONS or callee.endswith("logsumexp"):
                return True
            if callee in STOP_GRADIENT_FUNCTIONS or callee in BROADCAST_FUNCTIONS:
                return bool(node.args) and self._is_maximum(node.args[0].value, follow=follow)
            if isinstance(node.func, cst.Attribute) and not callee:
                name = node.func.attr.value
                if name in MAX_METHODS or name == "logsumexp":
                    return True
                if name in PASS_THROUGH_METHODS:
                    return self._is_maximum(node.func.value, follow=follow)
        return False

    def nonpositive(self, operand: cst.BaseExpression, *, follow: bool = True) -> bool:
        """Provably <= 0, so exp of it is <= 1: `-abs(x)`, `-x**2`, a Gaussian's `-0.5 * (x / s) ** 2` and
        `-(x**2) / (2 * s**2)`, `minimum(x, 0)`, `where(x >= 0, -x, x)`. A factor of unknown sign next to a
        negated magnitude (`-abs(d) * scale`) counts as a scale: that is what the code means."""
        node = operand
        if follow and isinstance(node, cst.Name):
            value = self.value_of(node)
            return value is not node and self.nonpositive(value, follow=False)
        value = number_value(node)
        if value is not None:
            return value <= 0
        if m.matches(node, m.UnaryOperation(operator=m.Minus())):
            return self._nonnegative(node.expression)  # type: ignore[attr-defined]
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Multiply, cst.Divide)):
            left, right = node.left, node.right
            if self.nonpositive(left, follow=False) and (self._nonnegative(right) or _scale(right)):
                return True
            if m.matches(left, m.UnaryOperation(operator=m.Minus())) and self._scale_of(left.expression) and self._nonnegative(right):  # type: ignore[attr-defined]
                return True  # a Parzen window's `-self.preterm.to(x) * (x - c) ** 2`: a negated scale times a square
            return isinstance(node.operator, cst.Multiply) and self.nonpositive(right, follow=False) and (self._nonnegative(left) or _scale(left))
        if isinstance(node, cst.Call):
            negated = self.method(node, "neg")  # torch: `x.abs().neg()`
            if negated is not None and not negated.args and isinstance(negated.func, cst.Attribute):
                return self._nonnegative(negated.func.value)
            callee = self.context.callee(node) or ""
            if callee in NEGATIVE_FUNCTIONS and len(node.args) == 1:
                return self._nonnegative(node.args[0].value)
            if callee in MINIMUM_FUNCTIONS and any(number_value(a.value) is not None and number_value(a.value) <= 0 for a in node.args):  # type: ignore[operator]
                return True
            if callee.endswith(".where") and len(node.args) == 3:
                test, yes, no = (a.value for a in node.args)
                if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 and m.matches(yes, m.UnaryOperation(operator=m.Minus())):
                    compared = squashed(self.context, test.left)
                    op = test.comparisons[0].operator
                    return (
                        isinstance(op, (cst.GreaterThan, cst.GreaterThanEqual))
                        and number_value(test.comparisons[0].comparator) == 0
                        and squashed(self.context, yes.expression) == compared == squashed(self.context, no)  # type: ignore[attr-defined]
                    )
        return False

    def _scale_of(self, node: cst.BaseExpression) -> bool:
        """A scale (`_scale`), also moved or cast (`self.preterm.to(x)`, `beta.float()`)."""
        while (moved := self.method(node, _CAST_METHODS)) is not None:
            node = moved.func.value  # type: ignore[attr-defined]
        return _scale(node)

    def _nonnegative(self, node: cst.BaseExpression, *, follow: bool = True) -> bool:
        value = number_value(node)
        if value is not None:
            return value >= 0
        if follow and isinstance(node, cst.Name):  # `sigma2 = sigma * sigma`, then `exp(-sigma2)`
            value = self.value_of(node)
            return value is not node and self._nonnegative(value, follow=False)
        if isinstance(node, cst.Call):
            callee = self.context.callee(node) or ""
            if callee in NONNEGATIVE_FUNCTIONS:
                return True
            if callee in POWER_FUNCTIONS and len(node.args) == 2 and number_value(node.args[1].value) == 2:
                return True
            if self.method(node, NONNEGATIVE_METHODS) is not None:
                return True
            method = self.method(node, "pow")
            return method is not None and len(method.args) == 1 and number_value(method.args[0].value) == 2
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, cst.Power) and number_value(node.right) == 2:
                return True
            if isinstance(node.operator, cst.Multiply) and squashed(self.context, node.left) == squashed(self.context, node.right):
                return True
            if isinstance(node.operator, (cst.Multiply, cst.Divide)):
                return self._nonnegative(node.left, follow=follow) and self._nonnegative(node.right, follow=follow)
        return False

    def bounded(self, operand: cst.BaseExpression) -> bool:
        """`clip(x, lo, hi)`, `minimum(x, c)`, `x.clamp(...)` (or minus one of these): exp of it cannot overflow."""
        node, negated = operand, False
        while m.matches(node, m.UnaryOperation(operator=m.Minus())):
            node, negated = node.expression, not negated  # type: ignore[attr-defined]
        if isinstance(node, cst.Name):
            value = self.value_of(node)
            return value is not node and not isinstance(value, cst.Name) and self.bounded(value if not negated else cst.UnaryOperation(cst.Minus(), value))
        if isinstance(node, cst.Call):
            callee = self.context.callee(node) or ""
            capped = MAXIMUM_FUNCTIONS if negated else MINIMUM_FUNCTIONS
            if callee in CLIP_FUNCTIONS or callee in capped:
                return True
            method = self.method(node, CLIP_METHOD_NAMES)
            return method is not None and method.func.attr.value != ("clamp_max" if negated else "clamp_min")  # type: ignore[attr-defined]
        return False

    def compared(self, operand: cst.BaseExpression) -> bool:
        """A name of `operand` is compared somewhere in the function (`where(x > 0, ...)`, `if x > 20: return x`):
        the code chooses a branch by the value, as the stable implementations of softplus and sigmoid do."""
        scope = self.context.function or self.context.scope
        key = f"exp_forms.compared.{id(scope.node)}"
        names = self.context.shared.get(key)
        if names is None:
            found: set[str] = set()
            for comparison in findall(scope.node, m.Comparison()):
                found |= names_in(comparison)
            self.context.shared[key] = names = frozenset(found)
        used = names_in(operand)
        if isinstance(operand, cst.Name):  # one step back: `neg = where(x >= 0, -x, x)`, then `exp(neg)`
            used |= names_in(self.value_of(operand))
        return not names.isdisjoint(used)  # type: ignore[union-attr]

    # -- spelling fixes ----------------------------------------------------------------------------------
    def spell(self, targets: tuple[str, ...] | str | None) -> str | None:
        if targets is None:
            return None
        for target in (targets,) if isinstance(targets, str) else targets:
            spelled = self.context.spell(target)
            if spelled:
                return spelled
        return None


_CAST_METHODS = frozenset({"to", "type", "type_as", "float", "double", "half", "detach"})


def _scale(node: cst.BaseExpression) -> bool:
    """A plain name or attribute (`log2`, `self.scale`): a factor whose sign the code does not show."""
    return isinstance(node, (cst.Name, cst.Attribute))


def brief(text: str, limit: int = 36) -> str:
    """A code snippet short enough for a one-line message."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""Recognise an epsilon: a small positive constant added or floored in to keep a value away from zero.

Shared by the division rules (a guard in the denominator), the log rules (a guard inside the log) and the epsilon
rules (is the guard big enough for the dtype). An epsilon is: a positive numeric literal; `K.epsilon()`,
`keras.config.epsilon()`, `keras.backend.epsilon()`; `np.finfo(...).eps`/`.tiny`, `torch.finfo(...).eps`,
`jnp.finfo(...).eps`; or a name called like eps/epsilon/smooth/smoothing whose value (a parameter default, a module
constant, a `self.` attribute set from such a name) is positive or unknown.
"""

from __future__ import annotations

import re

from lint_eps.lazy import libcst as cst
from lint_eps import match as m

from lint_eps.context import FileContext
from lint_eps.nodes import number_value, strip_parens

EPSILON_CALLS = frozenset(
    {
        "keras.backend.epsilon",
        "keras.config.epsilon",
        "keras.epsilon",
    }
)
FINFO_CALLS = frozenset({"numpy.finfo", "torch.finfo", "jax.numpy.finfo", "tensorflow.experimental.numpy.finfo", "ml_dtypes.finfo"})
FINFO_ATTRS = frozenset({"eps", "tiny", "smallest_normal", "smallest_subnormal", "epsneg", "resolution"})
EPSILON_NAME_RE = re.compile(r"(^|_)(eps|epsilon|smooth|smoothing|smooth_factor|laplace|tiny|stabili[sz]er|fuzz|fudge|delta)(_|$|\d)", re.IGNORECASE)


def is_epsilon_name(name: str) -> bool:
    return bool(EPSILON_NAME_RE.search(name))


def epsilon_value(node: cst.BaseExpression, context: FileContext) -> float | None:
    """The known value of an epsilon expression (literal or `K.epsilon()` = 1e-7 default), else None."""
    node = strip_parens(node)
    value = number_value(node)
    if value is not None:
        return value
    if isinstance(node, cst.Call) and context.callee(node) in EPSILON_CALLS:
        return 1e-7
    return None


def is_epsilon(node: cst.BaseExpression, context: FileContext) -> bool:
    """True when `node` is a positive guard constant (see module docstring)."""
    node = strip_parens(node)
    value = number_value(node)
    if value is not None:
        return value > 0
    if isinstance(node, cst.Call):
        callee = context.callee(node)
        if callee in EPSILON_CALLS:
            return True
        # tf.constant(1e-7), tf.cast(eps, dtype), torch.tensor(1e-8): look through the wrapper
        if callee is not None and callee.rsplit(".", 1)[-1] in ("constant", "cast", "tensor", "convert_to_tensor", "asarray", "array") and node.args:
            return is_epsilon(node.args[0].value, context)
        return False
    if m.matches(node, m.Attribute(attr=m.Name())) and isinstance(node, cst.Attribute):
        if node.attr.value in FINFO_ATTRS and isinstance(node.value, cst.Call) and context.callee(node.value) in FINFO_CALLS:
            return True
        # self.epsilon, self.smooth
        if m.matches(node.value, m.Name("self")) and is_epsilon_name(node.attr.value):
            return True
        return False
    if isinstance(node, cst.Name):
        return _name_is_epsilon(node, context)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Multiply, cst.Add)):
        # 2 * eps, eps * 10, eps + 1e-8
        return is_epsilon(node.left, context) and (is_epsilon(node.right, context) or (number_value(node.right) or 0) > 0) or (
            (number_value(node.left) or 0) > 0 and is_epsilon(node.right, context)
        )
    return False


def _name_is_epsilon(name: cst.Name, context: FileContext) -> bool:
    if not is_epsilon_name(name.value):
        # A local bound to an epsilon expression: `e = K.epsilon()`.
        scope = context.function or context.scope
        binding = scope.reaching_binding(name)
        if binding is not None and binding.value is not None and binding.augmented_op is None:
            return is_epsilon(binding.value, context) if not isinstance(strip_parens(binding.value), cst.Name) else False
        return False
    # Named like an epsilon: accept unless its known value is not positive.
    for scope in (context.function, context.module_scope):
        if scope is None:
            continue
        param = scope.param(name.value)
        if param is not None:
            if param.default is None:
                return True
            value = number_value(param.default)
            return value is None or value > 0
        bindings = scope.bindings(name.value)
        if bindings:
            values = [number_value(b.value) for b in bindings if b.value is not None]
            known = [v for v in values if v is not None]
            return all(v > 0 for v in known)
    return True


def floored_operand(node: cst.BaseExpression, context: FileContext) -> cst.BaseExpression | None:
    """`p` of `p + eps`, `eps + p`, `p.clamp(min=eps)`, `clamp(p, min=eps)`, `clip(p, eps, ...)`,
    `maximum(p, eps)`: the value an epsilon floors, or None."""
    node = strip_parens(node)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        if is_epsilon(node.right, context):
            return node.left
        if is_epsilon(node.left, context):
            return node.right
        return None
    if not isinstance(node, cst.Call):
        return None
    leaf = node.func.attr.value if isinstance(node.func, cst.Attribute) else node.func.value if isinstance(node.func, cst.Name) else ""
    positional = [a.value for a in node.args if a.keyword is None]
    keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
    method = isinstance(node.func, cst.Attribute) and context.callee(node) is None
    receiver = node.func.value if method else (positional.pop(0) if positional else None)  # type: ignore[attr-defined]
    if receiver is None:
        return None
    if leaf in ("clamp", "clip", "clamp_min", "clip_by_value"):
        floor = keywords.get("min", keywords.get("a_min", keywords.get("clip_value_min", positional[0] if positional else None)))
    elif leaf in ("maximum", "fmax"):
        floor = positional[0] if positional else None
    else:
        return None
    return receiver if floor is not None and is_epsilon(floor, context) else None

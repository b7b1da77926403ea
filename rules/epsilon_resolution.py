"""EPS403: an epsilon below the resolution of the dtype it guards (plus the analyses the epsilon family shares:
constant folding, static dtypes, the module's float type and mixed-precision policy)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from lint_eps.lazy import libcst as cst

from lint_eps.context import FileContext
from lint_eps.nodes import arg, keyword_arg, number_value, strip_parens
from lint_eps.rule import Invalid, Replacement, Rule
from lint_eps.walk import children

from .analysis.epsilon_prefilter import eps403_may_report, eps403_needs_function
from .analysis.library_epsilons import LIBRARY_EPSILON_NAMES, check_library_epsilon
from .tables.dtypes import FLOAT32, FLOAT64, FORMATS, FloatFormat, epsilon_literal, format_of, short
from .tables.epsilon import (
    CAST_FUNCTIONS,
    CAST_METHODS,
    CLIP_FUNCTIONS,
    CLIP_METHODS,
    COMPUTE_DTYPE_ATTRS,
    DEFAULT_DTYPE_BY_PREFIX,
    DTYPE_PRESERVING,
    EPSILON_GETTERS,
    FLOAT32_FRAMEWORK_IMPORTS,
    FLOATX_GETTERS,
    FRAMEWORK_PREFIXES,
    KERAS_DEFAULT_EPSILON,
    LAYER_BASE_PREFIXES,
    LAYER_METHODS,
    MAXIMUM_FUNCTIONS,
    POLICY_CLASSES,
    POLICY_COMPUTE_DTYPE,
    POLICY_SETTERS,
    SET_EPSILON_FUNCTIONS,
    SET_FLOATX_FUNCTIONS,
    TORCH_ONLY_CAST_METHODS,
)
from .tables.epsilon import Arg as _ArgSpec

FINFO_CALLS = frozenset({"numpy.finfo", "torch.finfo", "jax.numpy.finfo", "tensorflow.experimental.numpy.finfo", "ml_dtypes.finfo"})
_FINFO_ATTRS = {
    "eps": lambda f: f.eps,
    "epsneg": lambda f: f.epsneg,
    "tiny": lambda f: f.smallest_normal,
    "smallest_normal": lambda f: f.smallest_normal,
    "smallest_subnormal": lambda f: f.smallest_subnormal,
    "max": lambda f: f.max,
}


# -- What the module sets globally ---------------------------------------------------------------------------
@dataclass
class CallSite:
    call: cst.Call
    callee: str
    ifs: tuple[tuple[cst.If, bool], ...]  # enclosing ifs (outermost first) and whether in the body (True) or else
    in_function: bool


@dataclass
class ModuleFacts:
    calls: list[CallSite] = field(default_factory=list)  # set_epsilon / set_floatx / policy setters
    by_id: dict[int, CallSite] = field(default_factory=dict)
    policy: FloatFormat | None = None  # compute dtype of a mixed-precision policy set in the module
    policy_name: str | None = None
    floatx: FloatFormat | None = None  # a literal set_floatx
    epsilon: float | None = None  # a literal set_epsilon (what epsilon() returns afterwards)


def module_facts(context: FileContext) -> ModuleFacts:
    cached = context.shared.get("epsilon.module_facts")
    if isinstance(cached, ModuleFacts):
        return cached
    facts = ModuleFacts()
    source = context.source
    if any(word in source for word in ("set_epsilon", "set_floatx", "set_global_policy", "set_policy", "set_dtype_policy")):
        _collect(context.module, context, facts, (), False)
    for site in facts.calls:
        value = arg(site.call, 0, "value") or arg(site.call, 0, "e") or arg(site.call, 0, "policy") or arg(site.call, 0, "floatx")
        if value is None:
            continue
        if site.callee in POLICY_SETTERS:
            name = _policy_name(value, context)
            if name in POLICY_COMPUTE_DTYPE:
                compute = FORMATS[POLICY_COMPUTE_DTYPE[name]]
                if compute.name in ("float16", "bfloat16"):
                    facts.policy, facts.policy_name = compute, name
        elif site.callee in SET_FLOATX_FUNCTIONS:
            text = _string(value, context)
            if text and format_of(text):
                facts.floatx = format_of(text)
        elif site.callee in SET_EPSILON_FUNCTIONS:
            folded = constant_value(value, context)
            if folded is not None and folded > 0 and math.isfinite(folded):
                facts.epsilon = folded
    context.shared["epsilon.module_facts"] = facts
    return facts


def _collect(node: cst.CSTNode, context: FileContext, facts: ModuleFacts, ifs: tuple, in_function: bool) -> None:
    kind = type(node)  # (type checks: isinstance on libcst's ABC-based classes is slow, and this sees every node)
    if kind is cst.Call:
        callee = context.imports.resolve(node.func)
        if callee in SET_EPSILON_FUNCTIONS or callee in SET_FLOATX_FUNCTIONS or callee in POLICY_SETTERS:
            site = CallSite(node, callee, ifs, in_function)
            facts.calls.append(site)
            facts.by_id[id(node)] = site
    if kind is cst.If:
        _collect(node.test, context, facts, ifs, in_function)
        _collect(node.body, context, facts, ifs + ((node, True),), in_function)
        if node.orelse is not None:
            _collect(node.orelse, context, facts, ifs + ((node, False),), in_function)
        return
    if kind is cst.FunctionDef or kind is cst.Lambda:
        in_function = True
    for child in children(node, tokens=False):
        _collect(child, context, facts, ifs, in_function)


def _string(node: cst.BaseExpression, context: FileContext, depth: int = 0) -> str | None:
    node = strip_parens(node)
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.Name) and depth < 2:
        binding = _binding(node, context)
        if binding is not None:
            return _string(binding, context, depth + 1)
    return None


def _policy_name(node: cst.BaseExpression, context: FileContext) -> str | None:
    node = strip_parens(node)
    if isinstance(node, cst.Call) and context.callee(node) in POLICY_CLASSES:
        first = arg(node, 0, "name")
        return _string(first, context) if first is not None else None
    return _string(node, context)


def _binding(name: cst.Name, context: FileContext) -> cst.BaseExpression | None:
    """The value a plain name was last assigned (in the function, else at module level when assigned once)."""
    scope = context.function
    if scope is not None:
        if scope.param(name.value) is not None:
            return None
        binding = scope.reaching_binding(name)
        if binding is not None:
            return binding.value if binding.augmented_op is None else None
        if scope.bindings(name.value):
            return None
    module_bindings = context.module_scope.bindings(name.value)
    if scope is None:
        binding = context.module_scope.reaching_binding(name)
        return binding.value if binding is not None and binding.augmented_op is None else None
    if len(module_bindings) == 1 and module_bindings[0].augmented_op is None:
        return module_bindings[0].value
    return None


# -- Constant folding ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Folded:
    value: float
    default_of: str | None = None  # the parameter whose default it is


def constant_value(node: cst.BaseExpression, context: FileContext, depth: int = 0) -> float | None:
    folded = fold(node, context, depth)
    return folded.value if folded is not None else None


def fold(node: cst.BaseExpression, context: FileContext, depth: int = 0) -> Folded | None:
    """The value of a constant expression as Python computes it (in float64): literals, arithmetic on them,
    names bound to them, a parameter's default, `K.epsilon()`, `np.finfo(np.float32).eps`, `float("1e-8")`."""
    if depth > 4:
        return None
    node = strip_parens(node)
    value = number_value(node)
    if value is not None:
        return Folded(value)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = fold(node.expression, context, depth + 1)
        return Folded(-inner.value, inner.default_of) if inner is not None else None
    if isinstance(node, cst.BinaryOperation):
        left = fold(node.left, context, depth + 1)
        if left is None:
            return None
        right = fold(node.right, context, depth + 1)
        if right is None:
            return None
        try:
            if isinstance(node.operator, cst.Add):
                result = left.value + right.value
            elif isinstance(node.operator, cst.Subtract):
                result = left.value - right.value
            elif isinstance(node.operator, cst.Multiply):
                result = left.value * right.value
            elif isinstance(node.operator, cst.Divide):
                result = left.value / right.value
            elif isinstance(node.operator, cst.Power):
                result = float(left.value**right.value)
            else:
                return None
        except (ZeroDivisionError, OverflowError, TypeError):
            return None
        return Folded(result, left.default_of or right.default_of)
    if isinstance(node, cst.Call):
        callee = context.callee(node)
        if callee in EPSILON_GETTERS and not node.args:
            facts = module_facts(context)
            return Folded(facts.epsilon if facts.epsilon is not None else KERAS_DEFAULT_EPSILON)
        if isinstance(node.func, cst.Name) and node.func.value == "float" and context.imports.lookup("float") is None and len(node.args) == 1:
            text = _string(node.args[0].value, context)
            if text is not None:
                try:
                    return Folded(float(text))
                except ValueError:
                    return None
            return fold(node.args[0].value, context, depth + 1)
        return None
    if isinstance(node, cst.Attribute):
        qualified = context.resolve(node)
        if qualified in ("math.inf", "numpy.inf", "torch.inf"):
            return Folded(math.inf)
        if qualified in ("math.nan", "numpy.nan", "torch.nan"):
            return Folded(math.nan)
        if node.attr.value in _FINFO_ATTRS and isinstance(node.value, cst.Call) and context.callee(node.value) in FINFO_CALLS:
            dtype_arg = arg(node.value, 0, "dtype") or arg(node.value, 0, "type")
            fmt = dtype_format(dtype_arg, context) if dtype_arg is not None else None
            return Folded(_FINFO_ATTRS[node.attr.value](fmt)) if fmt is not None else None
        return None
    if isinstance(node, cst.Name):
        scope = context.function
        if scope is not None:
            param = scope.param(node.value)
            if param is not None:
                if param.default is None or scope.bindings(node.value):
                    return None
                inner = fold(param.default, context, depth + 1)
                return Folded(inner.value, node.value) if inner is not None else None
        value_node = _binding(node, context)
        return fold(value_node, context, depth + 1) if value_node is not None else None
    return None


# -- Static dtypes ----------------------------------------------------------------------------------------
def dtype_format(node: cst.BaseExpression, context: FileContext) -> FloatFormat | None:
    """The float format a dtype expression names: `tf.float16`, `torch.half`, `"bfloat16"`, `np.float32`,
    the builtin `float` (float64), `self.compute_dtype` under a module policy."""
    node = strip_parens(node)
    text = _string(node, context)
    if text is not None:
        return format_of(text)
    if isinstance(node, cst.Name) and node.value == "float" and context.imports.lookup("float") is None:
        return FLOAT64
    if isinstance(node, cst.Attribute) and node.attr.value in COMPUTE_DTYPE_ATTRS:
        return module_facts(context).policy
    qualified = context.resolve(node)
    if qualified is not None and qualified.startswith(FRAMEWORK_PREFIXES + ("ml_dtypes.",)):
        return format_of(qualified.rsplit(".", 1)[-1])
    if isinstance(node, cst.Call) and context.callee(node) in FLOATX_GETTERS:
        return module_facts(context).floatx or FLOAT32
    return None


def static_dtype(node: cst.BaseExpression, context: FileContext, depth: int = 0) -> FloatFormat | None:
    """The dtype of a tensor expression when the code fixes it: a cast, a `dtype=` argument, through local
    variables, elementwise arithmetic and dtype-preserving functions. None when unknown."""
    if depth > 6:
        return None
    node = strip_parens(node)
    if isinstance(node, cst.Call):
        callee = context.callee(node)
        if callee is not None:
            if callee in CAST_FUNCTIONS:
                _, dtype_position = CAST_FUNCTIONS[callee]
                dtype_node = arg(node, dtype_position, "dtype") if dtype_position >= 0 else arg(node, 99, "dtype")
                if dtype_node is not None:
                    return dtype_format(dtype_node, context)
                if callee == "keras.backend.cast_to_floatx":
                    return module_facts(context).floatx or FLOAT32
            if callee.startswith(FRAMEWORK_PREFIXES):
                keyword = keyword_arg(node, "dtype")
                if keyword is not None:
                    return dtype_format(keyword.value, context)
                if callee.rsplit(".", 1)[-1] in DTYPE_PRESERVING and node.args:
                    return static_dtype(node.args[0].value, context, depth + 1)
            return None
        if isinstance(node.func, cst.Attribute):
            method = node.func.attr.value
            if method in CAST_METHODS:
                fixed = CAST_METHODS[method]
                if fixed is not None:
                    return FORMATS[fixed] if not node.args else None
                for a in node.args:
                    if a.keyword is None or a.keyword.value == "dtype":
                        fmt = dtype_format(a.value, context)
                        if fmt is not None:
                            return fmt
                return None
            if method in TORCH_ONLY_CAST_METHODS and not node.args and context.imports.imports_any(("torch",)):
                return FORMATS[TORCH_ONLY_CAST_METHODS[method]]
            if method in DTYPE_PRESERVING and context.imports.imports_any(("torch",)):
                return static_dtype(node.func.value, context, depth + 1)
        return None
    if isinstance(node, cst.BinaryOperation):
        return static_dtype(node.left, context, depth + 1) or static_dtype(node.right, context, depth + 1)
    if isinstance(node, cst.UnaryOperation):
        return static_dtype(node.expression, context, depth + 1)
    if isinstance(node, cst.Subscript):
        return static_dtype(node.value, context, depth + 1)
    if isinstance(node, cst.Name):
        value = _binding(node, context)
        return static_dtype(value, context, depth + 1) if value is not None else None
    return None


def in_layer_code(context: FileContext) -> bool:
    """Inside the `call` of a Keras layer or model class (it computes in the policy's compute dtype)."""
    fn = context.function
    if fn is None or fn.name not in LAYER_METHODS:
        return False
    info = context.method_class()
    if info is None:
        return False
    for base in info.bases:
        if base.startswith(LAYER_BASE_PREFIXES) or base.endswith(("Layer", "Model")):
            return True
    return False


def default_format(context: FileContext, callee: str | None) -> FloatFormat:
    """The dtype a value has when nothing in the code fixes it."""
    facts = module_facts(context)
    if facts.policy is not None and in_layer_code(context):
        return facts.policy
    if callee is not None:
        if callee.startswith("keras.") and facts.floatx is not None:
            return facts.floatx
        for prefix, name in DEFAULT_DTYPE_BY_PREFIX:
            if callee.startswith(prefix):
                return FORMATS[name]
    if facts.floatx is not None:
        return facts.floatx
    return FLOAT32 if context.imports.imports_any(FLOAT32_FRAMEWORK_IMPORTS) else FLOAT64


def _arg_of(call: cst.Call, spec: _ArgSpec, offset: int = 0) -> cst.BaseExpression | None:
    position, keywords = spec
    for keyword in keywords:
        found = keyword_arg(call, keyword)
        if found is not None:
            return found.value
    return arg(call, position + offset) if position >= 0 else None


def _one_minus(node: cst.BaseExpression) -> cst.BaseExpression | None:
    """`e` in `1 - e` / `1.0 - e`."""
    node = strip_parens(node)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Subtract) and number_value(node.left) == 1.0:
        return strip_parens(node.right)
    return None


def _where(fmt: FloatFormat, why: str) -> str:
    return f"{fmt.name} ({why})"


# Issue 12: values across function, class and module boundaries (VALID/INVALID examples below).
_ISSUE12_CAST_ABOVE = (
    'import tensorflow as tf\n'
    '\n'
    '\n'
    'def bce16(y_true, y_pred):\n'
    '    p16 = tf.cast(y_pred, tf.float16)\n'
    '    p16 = tf.clip_by_value(p16, 1e-7, 1 - 1e-7)\n'
    '    return -tf.reduce_mean(y_true * tf.math.log(p16) + (1 - y_true) * tf.math.log(1 - p16))\n'
)
_ISSUE12_CAST_ABOVE_FIXED = (
    'import tensorflow as tf\n'
    '\n'
    '\n'
    'def bce16(y_true, y_pred):\n'
    '    p16 = tf.cast(y_pred, tf.float16)\n'
    '    p16 = tf.clip_by_value(p16, 1e-3, 1 - 1e-3)\n'
    '    return -tf.reduce_mean(y_true * tf.math.log(p16) + (1 - y_true) * tf.math.log(1 - p16))\n'
)
_ISSUE12_HALF_ABOVE = (
    'import torch\n'
    '\n'
    '\n'
    'def bce_half(y_true, y_pred):\n'
    '    p = y_pred.half()\n'
    '    p = p.clamp(1e-7, 1 - 1e-7)\n'
    '    return -(y_true * torch.log(p) + (1 - y_true) * torch.log(1 - p)).mean()\n'
)
_ISSUE12_HALF_ABOVE_FIXED = (
    'import torch\n'
    '\n'
    '\n'
    'def bce_half(y_true, y_pred):\n'
    '    p = y_pred.half()\n'
    '    p = p.clamp(1e-3, 1 - 1e-3)\n'
    '    return -(y_true * torch.log(p) + (1 - y_true) * torch.log(1 - p)).mean()\n'
)

class EpsilonBelowResolution(Rule):
    code = "EPS403"
    name = "epsilon-below-dtype-resolution"
    summary = "Epsilon below the resolution of the dtype it guards: the guard rounds away"
    fixable = "sometimes"
    triggers = (b"e-", b"E-", b"float16", b"half", b"finfo", b"epsilon", b"0.0000", b"0.9999", b"**")  # `**`: `2.0 ** -130`
    # A clip or floor call, a half-precision dtype, `(eps + C) - x`, or a value small enough for float32:
    # derived from the report paths in analysis/epsilon_prefilter.py.
    prefilter = staticmethod(eps403_may_report)
    needs_function = staticmethod(eps403_needs_function)
    docs = """
    ## What it does
    Finds guard constants that do nothing in the dtype of the value they guard:

    - a clip whose upper bound `1 - eps` rounds to exactly 1.0 (`clip_by_value(p, 1e-12, 1 - 1e-12)` in
      float32; `clip(p, 1e-7, 1 - 1e-7)` or `K.epsilon()` on a tensor cast to float16/bfloat16, or in the
      `call` of a layer under a `mixed_float16`/`mixed_bfloat16` policy set in the same module) when the
      clipped value reaches `1 - p` or `log1p(-p)` (directly or through the variable it is assigned to), or
      whose lower bound rounds to 0 (`1e-8` in float16); a maximum floor that rounds to 0;
    - an epsilon added to a float16 value below half its smallest subnormal (`h + 1e-8` is `h`), or one that
      survives but whose reciprocal overflows float16 in a denominator (`x / (h + 1e-7)`);
    - an epsilon handed to a framework in float16, explicit or its documented default
      (`rules/tables/library_epsilons.py`): torch optimizers (`Adam`, `AdamW`, `RMSprop`, `Adagrad`, ...) over
      `model.parameters()` of a model converted with `.half()` / `.to(torch.float16)` or built with
      `dtype=torch.float16`; Keras optimizers when the module sets `floatx` or a non-mixed policy to float16;
      `F.normalize` and `F.cosine_similarity` on a float16 tensor; `nn.BatchNorm*d(dtype=torch.float16)`.
      Mixed precision (`torch.autocast` over a float32 model, Keras `mixed_float16`) keeps float32 parameters
      and optimizer state and is not reported;
    - an epsilon absorbed by evaluation order: `log(1e-10 + 1 - p)` is `log((1e-10 + 1) - p)`, and
      `1e-10 + 1` rounds to exactly 1 in float32, so the guard vanishes, while `log(1 - p + 1e-10)` adds it
      to `1 - p`, which is 0 exactly when the guard is needed.

    The epsilon is compared with the magnitude of the operand it is actually added to, not with machine
    epsilon alone: `2.2e-16` added next to 0 works, next to 1 it does not. Dtypes are known statically from
    casts (`tf.cast`, `ops.cast`, `.astype`, `.half()`, `.to(torch.float16)`), `dtype=` arguments, the
    module's `set_floatx` and mixed-precision policy; otherwise Python floats in TensorFlow, Keras, PyTorch
    and JAX code are float32 and in NumPy/`math` code float64. All thresholds are derived from the formats
    (`rules/tables/dtypes.py`). Under a mixed policy only layer `call` methods are taken to compute in
    float16/bfloat16: Keras 3 losses convert their inputs to float32 whatever the policy. Not modelled:
    `torch.autocast` regions, dtypes of function parameters, `1 - p` reached through another function.

    ## Why is this bad?
    The guard rounds away, so the value it was meant to keep away from 0 or 1 reaches it: `log(1 - p)` of
    a saturated prediction is `log(0) = -inf`, the loss is inf and its gradient NaN, and one such step
    writes NaN into every weight. In float32 `1 - 1e-12 == 1`; in float16 and bfloat16 Keras's default
    `1e-7` cannot keep a probability below 1 (`1 - 1e-7 == 1`); in float16 `1e-8` is stored as 0, and
    `1 / 1e-7` overflows to inf.

    Library epsilons, measured on the CPU (torch 2.13.0; Keras 3.15.1 on TensorFlow 2.21): float16
    parameters with torch's `Adam`/`AdamW`/`RMSprop` (default `eps=1e-8`, stored as 0 in float16) or
    `Adagrad` (`1e-10`) are NaN after the first step with a zero gradient (foreach or not); with `eps=1e-6`
    (1.01e-6 in float16, `1/eps` overflows) a gradient of 1e-3 moves a weight by 1.7 per step at `lr=1e-3`
    (v underflows, the update is m / eps), with `eps=1e-4` by 0.017. Keras 3 `Adam` on float16 variables
    (`set_floatx("float16")`; default `epsilon=1e-7`, 1.19e-7 in float16) moves a weight by 0.5 per step for a
    gradient of 1e-3 at `lr=1e-3`, by 0.0006 with `epsilon=1e-4`. `F.normalize` (`eps=1e-12`) and
    `F.cosine_similarity` (`eps=1e-8`) return NaN for a zero vector in float16, 0 with `eps>=1e-7`;
    `nn.BatchNorm1d(eps=1e-12)` in float16 returns NaN on a constant batch. `nn.LayerNorm`/`F.layer_norm`
    compute in float32 inside and stay finite; in bfloat16 (float32's range) none of these defaults underflows.
    A `torch.autocast` region over a float32 model keeps float32 parameters and Adam state (measured).

    ## Example
    ```python
    import tensorflow as tf

    def bce(y_true, p):
        p = tf.clip_by_value(p, 1e-12, 1 - 1e-12)
        return -tf.reduce_mean(y_true * tf.math.log(p) + (1 - y_true) * tf.math.log(1e-10 + 1 - p))
    ```

    ## Use instead
    ```python
    import tensorflow as tf

    def bce(y_true, p):
        p = tf.clip_by_value(p, 1e-7, 1 - 1e-7)
        return -tf.reduce_mean(y_true * tf.math.log(p) + (1 - y_true) * tf.math.log(1 - p + 1e-10))
    ```

    ## Fix safety
    Reordering `eps + 1 - p` into `1 - p + eps` is safe: same intent, and the guard is no longer absorbed.
    Replacing a clip's literal `eps` in both bounds by the smallest power of ten that survives `1 - eps` in
    the dtype (1e-7 for float32, 1e-3 for float16, 1e-2 for bfloat16) is unsafe: it changes the clipped
    range and so the loss values. A library epsilon is set (or its default overridden) to 1e-4 for optimizers,
    the smallest power of ten whose reciprocal is finite in float16, and to the smallest power of ten that float16
    stores as non-zero (1e-7) for `normalize`/`cosine_similarity`/batch norm: unsafe, it changes the update or the
    result near zero. Other findings have no automatic fix (the right epsilon depends on what
    is guarded).
    """

    VALID = [
        # Keras's default epsilon survives `1 - eps` in float32.
        "import tensorflow as tf\ndef bce(y, p):\n    p = tf.clip_by_value(p, 1e-7, 1 - 1e-7)\n    return -tf.math.log(1 - p)\n",
        # The epsilon is added to `1 - p`, which is 0 exactly when the guard matters.
        "import tensorflow as tf\nloss = -tf.math.log(1 - p + 1e-10)\n",
        # NumPy computes in float64, where 1 - 1e-12 is below 1.
        "import numpy as np\np = np.clip(p, 1e-12, 1 - 1e-12)\nll = np.log(1 - p)\n",
        # Explicitly float64 tensors.
        "import tensorflow as tf\np = tf.cast(p, tf.float64)\np = tf.clip_by_value(p, 1e-12, 1 - 1e-12)\n",
        # A tiny epsilon next to a value that can be 0 works: 1e-10 is representable in float32.
        "import torch\nlogp = torch.log(p + 1e-10)\n",
        # float16 with an epsilon that survives.
        "import tensorflow as tf\nh = tf.cast(x, tf.float16)\nh = tf.clip_by_value(h, 1e-3, 1 - 1e-3)\n",
        # The epsilon adapts to the dtype.
        "import torch\np = p.clamp(torch.finfo(p.dtype).eps, 1 - torch.finfo(p.dtype).eps)\n",
        # Mixed policy, but the layer casts to float32 before clipping (the recommended pattern).
        "import keras\nfrom keras import ops\nkeras.mixed_precision.set_global_policy('mixed_float16')\n"
        "class Head(keras.layers.Layer):\n    def call(self, x):\n        p = ops.cast(ops.sigmoid(x), 'float32')\n        return ops.log(ops.clip(p, 1e-7, 1 - 1e-7))\n",
        # Mixed policy: Keras 3 losses convert their inputs to float32, so a loss function is not float16.
        "import keras\nfrom keras import ops\nkeras.mixed_precision.set_global_policy('mixed_float16')\n"
        "def loss(y_true, y_pred):\n    y_pred = ops.clip(y_pred, 1e-7, 1 - 1e-7)\n    return -ops.mean(y_true * ops.log(y_pred))\n",
        # The upper bound is a no-op, but nothing computes 1 - p from the clipped value: no failure.
        "import tensorflow as tf\ndef entropy(p):\n    return -tf.reduce_sum(p * tf.math.log(tf.clip_by_value(p, 1e-10, 1 - 1e-10)))\n",
        # 1 + 1e-7 is 1.00000012 in float32: the guard survives.
        "import tensorflow as tf\nloss = tf.math.log(1 + 1e-7 - p)\n",
        # Library epsilons: a float32 model under autocast keeps float32 parameters and optimizer state.
        "import torch\ndef train(model, x):\n    opt = torch.optim.Adam(model.parameters())\n"
        "    with torch.autocast('cuda', dtype=torch.float16):\n        loss = model(x).mean()\n",
        # A half model with an epsilon that works in float16.
        "import torch\nmodel = Net().half()\nopt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-4)\n",
        # bfloat16 has float32's range: 1e-8 is not 0 there.
        "import torch\nmodel = Net().to(torch.bfloat16)\nopt = torch.optim.AdamW(model.parameters())\n",
        # Keras mixed precision: float32 variables and optimizer state.
        "import keras\nkeras.mixed_precision.set_global_policy('mixed_float16')\nopt = keras.optimizers.Adam()\n",
        # F.normalize on a float32 tensor.
        "import torch.nn.functional as F\ndef embed(x):\n    return F.normalize(x.float(), dim=-1)\n",
        # Another model than the one converted.
        "import torch\ndef train(net, teacher):\n    teacher.half()\n    opt = torch.optim.Adam(net.parameters())\n",
    ]
    INVALID = [
        # Issue 12, dtypes: `p16` cast to float16 two lines up.
        Invalid(_ISSUE12_CAST_ABOVE, _ISSUE12_CAST_ABOVE_FIXED),
        # Issue 12, dtypes: `.half()` one line up.
        Invalid(_ISSUE12_HALF_ABOVE, _ISSUE12_HALF_ABOVE_FIXED),
        # Library epsilons in float16 (pytorch#33596, pyg#2106, keras#11832).
        Invalid(
            "import torch\ndef train(loader):\n    model = Net().cuda().half()\n    opt = torch.optim.Adam(model.parameters(), lr=1e-3)\n",
            "import torch\ndef train(loader):\n    model = Net().cuda().half()\n    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-4)\n",
        ),
        Invalid(
            "import torch\nfrom torch import optim\nmodel = Net()\nmodel.to(torch.float16)\nopt = optim.RMSprop(model.parameters(), 0.01, 0.99, 1e-8)\n",
            "import torch\nfrom torch import optim\nmodel = Net()\nmodel.to(torch.float16)\nopt = optim.RMSprop(model.parameters(), 0.01, 0.99, 1e-4)\n",
        ),
        Invalid(
            "import torch\nmodel = Net().half()\nopt = torch.optim.Adagrad(filter(lambda p: p.requires_grad, model.parameters()))\n",
            "import torch\nmodel = Net().half()\nopt = torch.optim.Adagrad(filter(lambda p: p.requires_grad, model.parameters()), eps=1e-4)\n",
        ),
        Invalid(
            "import torch\nimport torch.nn.functional as F\ndef embed(x):\n    return F.normalize(x.half(), dim=-1)\n",
            "import torch\nimport torch.nn.functional as F\ndef embed(x):\n    return F.normalize(x.half(), dim=-1, eps=1e-7)\n",
        ),
        Invalid(
            "import torch\nimport torch.nn.functional as F\nh = x.to(torch.float16)\nsim = F.cosine_similarity(h, y, dim=1, eps=1e-12)\n",
            "import torch\nimport torch.nn.functional as F\nh = x.to(torch.float16)\nsim = F.cosine_similarity(h, y, dim=1, eps=1e-7)\n",
        ),
        Invalid(
            "import keras\nkeras.config.set_floatx('float16')\ndef build(model):\n    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss='mse')\n",
            "import keras\nkeras.config.set_floatx('float16')\ndef build(model):\n    model.compile(optimizer=keras.optimizers.Adam(1e-3, epsilon=1e-4), loss='mse')\n",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\nnorm = nn.BatchNorm1d(64, eps=1e-12, dtype=torch.float16)\n",
            "import torch\nimport torch.nn as nn\nnorm = nn.BatchNorm1d(64, eps=1e-7, dtype=torch.float16)\n",
        ),
        Invalid(
            "import tensorflow as tf\np = tf.clip_by_value(p, 1e-12, 1 - 1e-12)\nll = tf.math.log(1 - p)\n",
            "import tensorflow as tf\np = tf.clip_by_value(p, 1e-7, 1 - 1e-7)\nll = tf.math.log(1 - p)\n",
        ),
        Invalid(
            "import tensorflow as tf\nloss = -tf.math.log(1e-10 + 1 - p)\n",
            "import tensorflow as tf\nloss = -tf.math.log(1 - p + 1e-10)\n",
        ),
        Invalid(
            "import torch\nll = torch.log(1.0 + 1e-12 - probs)\n",
            "import torch\nll = torch.log(1.0 - probs + 1e-12)\n",
        ),
        Invalid(
            "import tensorflow as tf\nh = tf.cast(x, tf.float16)\nh = tf.clip_by_value(h, 1e-7, 1 - 1e-7)\nll = tf.math.log1p(-h)\n",
            "import tensorflow as tf\nh = tf.cast(x, tf.float16)\nh = tf.clip_by_value(h, 1e-3, 1 - 1e-3)\nll = tf.math.log1p(-h)\n",
        ),
        Invalid(
            "import keras\nfrom keras import ops\nkeras.mixed_precision.set_global_policy('mixed_float16')\n"
            "class Head(keras.layers.Layer):\n    def call(self, x):\n        p = ops.sigmoid(x)\n        return ops.log(1 - ops.clip(p, keras.config.epsilon(), 1 - keras.config.epsilon()))\n",
            None,  # the epsilon is Keras's global: the fix is a choice (cast to float32, or a larger epsilon)
        ),
        Invalid(
            "import torch\nh = x.half()\nlogp = torch.log(h + 1e-8)\n",
            None,
        ),
        Invalid(
            "import numpy as np\nh = x.astype(np.float16)\nr = y / (h + 1e-7)\n",
            None,
        ),
        Invalid(
            "import torch\ndef bce(p, y, eps=1e-12):\n    p = p.clamp(eps, 1 - eps)\n    return -(y * p.log() + (1 - y) * (1 - p).log()).mean()\n",
            None,  # eps is a parameter: callers may pass another value
        ),
        Invalid(
            "import tensorflow as tf\nq = 1 - tf.clip_by_value(tf.cast(p, 'bfloat16'), 1e-7, 1 - 1e-7)\n",
            "import tensorflow as tf\nq = 1 - tf.clip_by_value(tf.cast(p, 'bfloat16'), 1e-2, 1 - 1e-2)\n",
        ),
        Invalid(
            "import torch\nimport numpy as np\ndef nll(p, y):\n    p = torch.clamp(p, np.finfo(float).eps, 1 - np.finfo(float).eps)\n    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p))\n",
            None,
        ),
    ]

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self._calls: list[str | None] = []

    def visit_Module(self, node: cst.Module) -> None:
        module_facts(self.context)  # resolve module-level settings with module-level names

    # -- the framework of the enclosing call decides the default dtype -------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        callee = self.context.callee(node)
        enclosing = callee if callee is not None and callee.startswith(FRAMEWORK_PREFIXES + ("math.", "scipy.")) else None
        self._calls.append(enclosing or (self._calls[-1] if self._calls else None))
        if callee in CLIP_FUNCTIONS:
            operand_spec, low_spec, high_spec = CLIP_FUNCTIONS[callee]
            self._check_clip(node, _arg_of(node, operand_spec), _arg_of(node, low_spec), _arg_of(node, high_spec), callee)
        elif callee in MAXIMUM_FUNCTIONS and len(node.args) == 2:
            self._check_floor(node, node.args[0].value, node.args[1].value, callee)
        elif callee is not None and callee.rsplit(".", 1)[-1] in LIBRARY_EPSILON_NAMES:
            found = check_library_epsilon(node, callee, self.context)
            if found is not None:
                fix = self.fix("unsafe", found.fix_message, Replacement(node, found.replacement)) if found.replacement is not None else None
                self.report(node, found.message, fix=fix, details=found.details)
        elif callee is None and isinstance(node.func, cst.Attribute) and node.func.attr.value in CLIP_METHODS:
            if self.context.imports.imports_any(("torch",)):
                low_spec, high_spec = CLIP_METHODS[node.func.attr.value]
                high = _arg_of(node, high_spec) if high_spec is not None else None
                self._check_clip(node, node.func.value, _arg_of(node, low_spec), high, "torch.")

    def leave_Call(self, original_node: cst.Call) -> None:
        if self._calls:
            self._calls.pop()

    def _format_for(self, operand: cst.BaseExpression | None, callee: str | None) -> tuple[FloatFormat, str]:
        if operand is not None:
            known = static_dtype(operand, self.context)
            if known is not None:
                return known, f"`{self._short_code(operand)}` is {known.name}"
        facts = module_facts(self.context)
        if facts.policy is not None and in_layer_code(self.context):
            return facts.policy, f"layers compute in {facts.policy.name} under the module's `{facts.policy_name}` policy"
        fmt = default_format(self.context, callee)
        return fmt, "the default dtype for this code"

    def _short_code(self, node: cst.CSTNode) -> str:
        text = " ".join(self.context.code(node).split())
        return text if len(text) <= 40 else text[:37] + "..."

    # -- clips -----------------------------------------------------------------------------------------
    def _check_clip(
        self,
        node: cst.Call,
        operand: cst.BaseExpression | None,
        low: cst.BaseExpression | None,
        high: cst.BaseExpression | None,
        callee: str,
    ) -> None:
        fmt, why = self._format_for(operand, callee)
        low_value = fold(low, self.context) if low is not None else None
        high_value = fold(high, self.context) if high is not None else None
        problems = []
        high_bad = high_value is not None and 0.5 < high_value.value < 1.0 and fmt.round(high_value.value) == 1.0
        low_bad = low_value is not None and 0 < low_value.value < 0.5 and fmt.round(low_value.value) == 0.0
        if high_bad and not low_bad and not self._feeds_one_minus(node):
            return  # the upper bound is a no-op, but nothing computes 1 - p from the clipped value
        if not (high_bad or low_bad):
            return
        if high_bad:
            assert high is not None
            problems.append(
                f"the upper bound `{self._short_code(high)}` rounds to exactly 1.0 in {fmt.name} (1 - e == 1 for every "
                f"e <= {short(fmt.absorbed_below_one)}), so p = 1 passes the clip and the `1 - p` computed from it is 0: "
                f"log(1 - p) = log(0) = -inf"
            )
        if low_bad:
            assert low is not None
            problems.append(
                f"the lower bound `{self._short_code(low)}` is stored as 0 in {fmt.name} (smallest subnormal "
                f"{short(fmt.smallest_subnormal)}), so log(p) of p = 0 is -inf"
            )
        defaults = {f.default_of for f in (low_value, high_value) if f is not None and f.default_of}
        note = f" (with the default `{sorted(defaults)[0]}`)" if defaults else ""
        # NumPy has no gradient: the -inf is the result, with a RuntimeWarning.
        effect = "NumPy returns -inf with only a RuntimeWarning" if callee.startswith("numpy") else "the loss is inf and its gradient NaN"
        details = f"Clip does not guard in {_where(fmt, why)}{note}: " + "; ".join(problems) + f"; {effect}"
        bound, value = (high, 1) if high_bad else (low, 0)
        message = f"Clip bound {self.quote(bound, 24)} is {value} in {fmt.name}, so the clip does not guard; use {epsilon_literal(fmt.suggested_epsilon)}"
        self.report(node, message, fix=self._clip_fix(low, high, fmt), details=details)

    def _feeds_one_minus(self, call: cst.Call) -> bool:
        """Whether the clipped value reaches `1 - p` (or `log1p(-p)`): directly, or through the name it is
        assigned to. Without that the no-op upper bound harms nothing (`log(clip(p, 1e-10, 1 - 1e-10))`)."""
        scope = self.context.function or self.context.module_scope
        names: set[str] = set()
        uses: list[cst.Name] = []
        found = False

        def complement_of(node: cst.CSTNode) -> cst.BaseExpression | None:
            if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Subtract) and number_value(node.left) == 1.0:
                return strip_parens(node.right)
            if isinstance(node, cst.Call) and isinstance(node.func, (cst.Attribute, cst.Name)):
                last = node.func.attr.value if isinstance(node.func, cst.Attribute) else node.func.value
                first = strip_parens(node.args[0].value) if node.args else None
                if last == "log1p" and isinstance(first, cst.UnaryOperation) and isinstance(first.operator, cst.Minus):
                    return strip_parens(first.expression)
            return None

        stack: list[cst.CSTNode] = [scope.node]
        while stack and not found:
            current = stack.pop()
            if isinstance(current, cst.Assign) and current.value is call:
                for target in current.targets:
                    if isinstance(target.target, cst.Name):
                        names.add(target.target.value)
            inner = complement_of(current)
            if inner is not None:
                if inner is call or (isinstance(inner, cst.Call) and inner.deep_equals(call)):
                    found = True
                elif isinstance(inner, cst.Name):
                    uses.append(inner)
            stack.extend(children(current, tokens=False))
        if found:
            return True
        for use in uses:
            if use.value in names:
                binding = scope.reaching_binding(use)
                if binding is not None and binding.value is call:
                    return True
        return False

    def _clip_fix(self, low: cst.BaseExpression | None, high: cst.BaseExpression | None, fmt: FloatFormat):
        if low is None or high is None:
            return None
        low_bare = strip_parens(low)
        inner = _one_minus(high)
        if inner is None or not isinstance(low_bare, (cst.Float, cst.Integer)) or not isinstance(inner, (cst.Float, cst.Integer)):
            return None
        if low_bare.value != inner.value:
            return None
        replacement = epsilon_literal(fmt.suggested_epsilon)
        return self.fix(
            "unsafe",
            f"Use {replacement}, the smallest power of ten that survives `1 - eps` in {fmt.name}",
            Replacement(low_bare, replacement),
            Replacement(inner, replacement),
        )

    def _check_floor(self, node: cst.Call, operand: cst.BaseExpression, floor: cst.BaseExpression, callee: str) -> None:
        floor_value = fold(floor, self.context)
        if floor_value is None or not 0 < floor_value.value < 0.5:
            return
        fmt, why = self._format_for(operand, callee)
        if fmt.round(floor_value.value) != 0.0:
            return
        self.report(
            node,
            f"Floor {self.quote(floor, 24)} is 0 in {fmt.name}, so it does not keep x from 0; use {epsilon_literal(fmt.suggested_epsilon)}",
            details=(
                f"The floor `{self._short_code(floor)}` is stored as 0 in {_where(fmt, why)} (smallest subnormal "
                f"{short(fmt.smallest_subnormal)}): maximum(x, 0) does not keep x away from 0, so a log of it is -inf "
                f"and a division by it inf"
            ),
        )

    # -- additions ----------------------------------------------------------------------------------------
    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if isinstance(node.operator, cst.Subtract):
            self._check_evaluation_order(node)
        elif isinstance(node.operator, cst.Add):
            self._check_addition(node)
        elif isinstance(node.operator, cst.Divide):
            self._check_denominator(node)

    def _small_constant(self, node: cst.BaseExpression) -> Folded | None:
        folded = fold(node, self.context)
        if folded is None or not 0 < folded.value < 1e-2:
            return None
        return folded

    def _check_evaluation_order(self, node: cst.BinaryOperation) -> None:
        """`(eps + C) - X`: eps is added to the constant C first and absorbed by it."""
        left = strip_parens(node.left)
        if not isinstance(left, cst.BinaryOperation) or not isinstance(left.operator, cst.Add):
            return
        for eps_node, base_node in ((left.left, left.right), (left.right, left.left)):
            base = number_value(base_node)
            eps = self._small_constant(eps_node)
            if base is None or eps is None or base == 0 or abs(base) < 1e-2:
                continue
            callee = self._calls[-1] if self._calls else None
            fmt, why = self._format_for(node.right, callee)
            if not fmt.absorbs(base, eps.value):
                continue
            new = cst.BinaryOperation(
                left=cst.BinaryOperation(left=base_node.with_changes(lpar=(), rpar=()) if not getattr(base_node, "lpar", None) else base_node,
                                         operator=node.operator, right=node.right),
                operator=left.operator,
                right=eps_node,
                lpar=node.lpar,
                rpar=node.rpar,
            )
            new_code = self.context.code(new)
            self.report(
                node,
                f"{self.quote(eps_node, 16)} is absorbed by `{base:g}` in {fmt.name} before the subtraction; write {self.quote(new_code, 30)}",
                details=f"`{self._short_code(node)}` adds `{self._short_code(eps_node)}` to `{self._short_code(base_node)}` first, and in "
                f"{_where(fmt, why)} that sum rounds to exactly {base:g}, so the guard vanishes: at "
                f"`{self._short_code(node.right)}` = {base:g} the result is 0 (log(0) = -inf, division by it inf); write `{new_code}`",
                fix=self.fix("safe", f"Add the epsilon last: `{new_code}`", Replacement(node, new)),
            )
            return

    def _check_addition(self, node: cst.BinaryOperation) -> None:
        """`h + eps` with h of a known float16 dtype and eps stored as 0."""
        for operand, eps_node in ((node.left, node.right), (node.right, node.left)):
            eps = self._small_constant(eps_node)
            if eps is None or number_value(operand) is not None:
                continue
            known = static_dtype(operand, self.context)
            fmt = known
            if fmt is None:
                facts = module_facts(self.context)
                if facts.policy is not None and in_layer_code(self.context):
                    fmt = facts.policy
            if fmt is None or fmt.round(eps.value) != 0.0:
                continue
            self.report(
                node,
                f"{self.quote(eps_node, 16)} is 0 in {fmt.name}, so {self.quote(node, 24)} does not guard; use a larger eps or float32",
                details=f"`{self._short_code(eps_node)}` is stored as 0 in {fmt.name} (anything <= {short(fmt.rounds_to_zero)} is; smallest "
                f"subnormal {short(fmt.smallest_subnormal)}), so `{self._short_code(node)}` is just `{self._short_code(operand)}`: "
                f"log of it is -inf and a division by it inf where it is 0",
            )
            return

    def _check_denominator(self, node: cst.BinaryOperation) -> None:
        """`x / (h + eps)` with h float16: eps survives but 1 / eps overflows to inf."""
        right = strip_parens(node.right)
        if not isinstance(right, cst.BinaryOperation) or not isinstance(right.operator, cst.Add):
            return
        for operand, eps_node in ((right.left, right.right), (right.right, right.left)):
            eps = self._small_constant(eps_node)
            if eps is None:
                continue
            fmt = static_dtype(operand, self.context)
            if fmt is None:
                facts = module_facts(self.context)
                fmt = facts.policy if facts.policy is not None and in_layer_code(self.context) else None
            if fmt is None:
                continue
            stored = fmt.round(eps.value)
            if stored == 0.0 or fmt.round(1.0 / stored) != math.inf:
                continue  # stored as 0 is reported on the addition itself
            self.report(
                node,
                f"1 / {self.quote(eps_node, 16)} overflows {fmt.name}: inf where {self.quote(operand, 16)} is 0; use eps >= {short(fmt.reciprocal_overflow)}",
                details=f"In {fmt.name} `{self._short_code(eps_node)}` is stored as {short(stored)} and 1 / {short(stored)} = "
                f"{short(1.0 / stored)} overflows (max {short(fmt.max)}): where `{self._short_code(operand)}` is 0 the quotient is inf for any "
                f"numerator above {short(stored * fmt.max)}; use an epsilon >= {short(fmt.reciprocal_overflow)} or compute in float32",
            )
            return

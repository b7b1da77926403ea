"""Elementary functions written out by hand, and the stable functions that compute the same value (EPS501-EPS506).

Every name here was checked to exist on the installed TensorFlow 2.21, Keras 3.15.1 and NumPy 2.4 (`hasattr`),
and in the tf_keras 2.21 wheel's `backend.py` (`def logsumexp`, `softplus`, `sigmoid`, `softmax`; it has no
`log1p`/`expm1`); torch, JAX and SciPy rows come from their documentation (ml-api-facts.md §C) and could not be
run here. Family keys are those of `rules/tables/activations.py`: the framework whose names spell a replacement.
"""

from __future__ import annotations

# -- The elementary functions ------------------------------------------------------------------------------
EXP_FUNCTIONS: dict[str, str] = {
    "tensorflow.exp": "tensorflow",
    "tensorflow.math.exp": "tensorflow",
    "tensorflow.experimental.numpy.exp": "tensorflow",
    "keras.ops.exp": "keras",
    "keras.backend.exp": "keras.backend",
    "torch.exp": "torch",
    "numpy.exp": "numpy",
    "jax.numpy.exp": "jax",
    "jax.lax.exp": "jax",
    "math.exp": "math",
}
# `x.exp()`: a torch tensor method (NumPy and JAX arrays have none).
EXP_METHOD = "exp"

# Sums over axes: the value is the family; the replacement keeps the sum's axis arguments.
SUM_FUNCTIONS: dict[str, str] = {
    "tensorflow.reduce_sum": "tensorflow",
    "tensorflow.math.reduce_sum": "tensorflow",
    "keras.ops.sum": "keras",
    "keras.backend.sum": "keras.backend",
    "torch.sum": "torch",
    "numpy.sum": "numpy",
    "jax.numpy.sum": "jax",
}
SUM_METHOD = "sum"  # x.sum(axis) / x.sum(dim): NumPy, JAX and torch arrays
# The keywords a sum may carry for the rewrite to keep its meaning (`dtype=`, `out=`, `where=`... block a fix),
# and the keyword that names its axis and keepdims flag in each family.
AXIS_KEYWORD: dict[str, str] = {"torch": "dim", "torch-method": "dim"}
KEEPDIMS_KEYWORD: dict[str, str] = {"torch": "keepdim", "torch-method": "keepdim"}

# A maximum over an axis: `x - max(x, axis, keepdims=True)` is the shift that makes exp(x) safe.
MAX_FUNCTIONS = frozenset(
    {
        "tensorflow.reduce_max",
        "tensorflow.math.reduce_max",
        "keras.ops.max",
        "keras.ops.amax",
        "keras.backend.max",
        "torch.max",
        "torch.amax",
        "numpy.max",
        "numpy.amax",
        "numpy.nanmax",
        "jax.numpy.max",
        "jax.numpy.amax",
        "max",
    }
)
MAX_METHODS = frozenset({"max", "amax"})
# Wrappers that keep the value of the maximum (or of a sum, for a broadcast softmax denominator).
STOP_GRADIENT_FUNCTIONS = frozenset({"tensorflow.stop_gradient", "jax.lax.stop_gradient", "keras.ops.stop_gradient", "keras.backend.stop_gradient"})
PASS_THROUGH_METHODS = frozenset({"detach", "values", "unsqueeze", "view", "reshape", "expand_as", "expand"})
BROADCAST_FUNCTIONS = frozenset(
    {
        "tensorflow.tile",
        "tensorflow.expand_dims",
        "tensorflow.reshape",
        "tensorflow.broadcast_to",
        "keras.ops.expand_dims",
        "keras.ops.reshape",
        "keras.ops.tile",
        "keras.ops.broadcast_to",
        "keras.backend.expand_dims",
        "keras.backend.reshape",
        "keras.backend.tile",
        "keras.backend.repeat_elements",
        "torch.unsqueeze",
        "numpy.expand_dims",
        "numpy.tile",
        "numpy.reshape",
        "jax.numpy.expand_dims",
        "jax.numpy.reshape",
    }
)
DIVIDE_FUNCTIONS = frozenset(
    {
        "tensorflow.divide",
        "tensorflow.math.divide",
        "tensorflow.div",
        "tensorflow.truediv",
        "tensorflow.math.truediv",
        "keras.ops.divide",
        "keras.ops.true_divide",
        "torch.div",
        "torch.divide",
        "torch.true_divide",
        "numpy.divide",
        "numpy.true_divide",
        "jax.numpy.divide",
        "jax.numpy.true_divide",
    }
)

# `-abs(x)`, `-relu(x)`: exp of these is at most 1, so log(1 + exp(.)) cannot overflow (the stable softplus).
NONNEGATIVE_FUNCTIONS = frozenset(
    {
        "tensorflow.abs",
        "tensorflow.math.abs",
        "tensorflow.nn.relu",
        "tensorflow.square",
        "tensorflow.math.square",
        "keras.ops.abs",
        "keras.ops.absolute",
        "keras.ops.relu",
        "keras.ops.square",
        "keras.backend.abs",
        "keras.backend.relu",
        "keras.backend.square",
        "torch.abs",
        "torch.relu",
        "torch.nn.functional.relu",
        "torch.square",
        "numpy.abs",
        "numpy.absolute",
        "numpy.fabs",
        "numpy.square",
        "jax.numpy.abs",
        "jax.numpy.absolute",
        "jax.numpy.square",
        "jax.nn.relu",
        "abs",
        "math.fabs",
    }
)
NONNEGATIVE_METHODS = frozenset({"abs", "relu", "square"})

# -- Stable replacements, in order of preference (the first the file can spell is used) ---------------------
LOGSUMEXP_FOR: dict[str, tuple[str, ...]] = {
    "tensorflow": ("tensorflow.reduce_logsumexp", "tensorflow.math.reduce_logsumexp"),
    "keras": ("keras.ops.logsumexp",),
    "keras.backend": ("keras.backend.logsumexp",),
    "torch": ("torch.logsumexp",),
    "numpy": ("scipy.special.logsumexp",),
    "jax": ("jax.nn.logsumexp", "jax.scipy.special.logsumexp"),
}
LOGADDEXP_FOR: dict[str, tuple[str, ...]] = {
    "tensorflow": ("tensorflow.experimental.numpy.logaddexp",),
    "keras": ("keras.ops.logaddexp",),
    "torch": ("torch.logaddexp",),
    "numpy": ("numpy.logaddexp",),
    "jax": ("jax.numpy.logaddexp",),
}
SOFTPLUS_FOR: dict[str, tuple[str, ...]] = {
    "tensorflow": ("tensorflow.math.softplus", "tensorflow.nn.softplus"),
    "keras": ("keras.ops.softplus",),
    "keras.backend": ("keras.backend.softplus",),
    "torch": ("torch.nn.functional.softplus",),
    "jax": ("jax.nn.softplus",),
}
# NumPy has no softplus: `np.logaddexp(0, x)` is the same value, exactly.
SOFTPLUS_AS_LOGADDEXP: dict[str, str] = {"numpy": "numpy.logaddexp", "jax": "jax.numpy.logaddexp"}
SIGMOID_FOR: dict[str, tuple[str, ...]] = {
    "tensorflow": ("tensorflow.sigmoid", "tensorflow.math.sigmoid", "tensorflow.nn.sigmoid"),
    "keras": ("keras.ops.sigmoid",),
    "keras.backend": ("keras.backend.sigmoid",),
    "torch": ("torch.sigmoid",),
    "numpy": ("scipy.special.expit",),
    "jax": ("jax.nn.sigmoid",),
}
SOFTMAX_FOR: dict[str, tuple[str, ...]] = {
    "tensorflow": ("tensorflow.nn.softmax", "tensorflow.math.softmax"),
    "keras": ("keras.ops.softmax",),
    "keras.backend": ("keras.backend.softmax",),
    "torch": ("torch.softmax", "torch.nn.functional.softmax"),
    "numpy": ("scipy.special.softmax",),
    "jax": ("jax.nn.softmax",),
}
LOG_SOFTMAX_FOR: dict[str, tuple[str, ...]] = {
    "tensorflow": ("tensorflow.nn.log_softmax", "tensorflow.math.log_softmax"),
    "keras": ("keras.ops.log_softmax",),
    "torch": ("torch.log_softmax", "torch.nn.functional.log_softmax"),
    "numpy": ("scipy.special.log_softmax",),
    "jax": ("jax.nn.log_softmax",),
}
# The softmax axis keyword: NumPy, SciPy, JAX, TF and Keras say `axis`, torch `dim`.
SOFTMAX_AXIS_KEYWORD: dict[str, str] = {"torch": "dim"}
LOG1P_FOR: dict[str, tuple[str, ...]] = {
    "tensorflow": ("tensorflow.math.log1p",),
    "keras": ("keras.ops.log1p",),
    "keras.backend": ("tensorflow.math.log1p", "keras.ops.log1p"),
    "torch": ("torch.log1p",),
    "numpy": ("numpy.log1p",),
    "jax": ("jax.numpy.log1p",),
    "math": ("math.log1p",),
}
EXPM1_FOR: dict[str, tuple[str, ...]] = {
    "tensorflow": ("tensorflow.math.expm1",),
    "keras": ("keras.ops.expm1",),
    "keras.backend": ("tensorflow.math.expm1", "keras.ops.expm1"),
    "torch": ("torch.expm1",),
    "numpy": ("numpy.expm1",),
    "jax": ("jax.numpy.expm1",),
    "math": ("math.expm1",),
}
LOG1P_FUNCTIONS = frozenset({"tensorflow.math.log1p", "tensorflow.log1p", "keras.ops.log1p", "torch.log1p", "numpy.log1p", "jax.numpy.log1p", "math.log1p"})

# -- Square roots and norms (EPS505) ------------------------------------------------------------------------
SQRT_FUNCTIONS: dict[str, str] = {
    "tensorflow.sqrt": "tensorflow",
    "tensorflow.math.sqrt": "tensorflow",
    "keras.ops.sqrt": "keras",
    "keras.backend.sqrt": "keras.backend",
    "torch.sqrt": "torch",
    "numpy.sqrt": "numpy",
    "jax.numpy.sqrt": "jax",
    "math.sqrt": "math",
}
POWER_FUNCTIONS: dict[str, str] = {"tensorflow.pow": "tensorflow", "tensorflow.math.pow": "tensorflow", "keras.ops.power": "keras", "keras.backend.pow": "keras.backend", "torch.pow": "torch", "jax.numpy.power": "jax", "pow": "builtin"}
# Euclidean norms whose gradient at the zero vector is NaN, measured on TF 2.21 / Keras 3.15 (docs/api-facts-notes.md).
# torch.norm / torch.linalg.norm are not listed: their backward masks the zero norm to a 0 gradient (torch's
# `norm_backward`, not measured here); jnp.linalg.norm could not be measured here.
NORM_FUNCTIONS: dict[str, str] = {"tensorflow.norm": "tensorflow", "tensorflow.linalg.norm": "tensorflow", "keras.ops.norm": "keras"}
SQUARE_FUNCTIONS = frozenset({"tensorflow.square", "tensorflow.math.square", "keras.ops.square", "keras.backend.square", "torch.square", "jax.numpy.square"})
VARIANCE_FUNCTIONS = frozenset(
    {"tensorflow.math.reduce_variance", "tensorflow.reduce_variance", "keras.ops.var", "keras.backend.var", "torch.var", "jax.numpy.var"}
)
VARIANCE_METHODS = frozenset({"var"})
# Frameworks with gradients; NumPy and `math` evaluation code has none, so a zero there is a value, not a NaN.
DIFFERENTIABLE_FAMILIES = frozenset({"tensorflow", "keras", "keras.backend", "torch", "jax"})
MAXIMUM_FOR: dict[str, str] = {
    "tensorflow": "tensorflow.maximum",
    "keras": "keras.ops.maximum",
    "keras.backend": "keras.backend.maximum",
    "jax": "jax.numpy.maximum",
}
# Classes whose methods run inside the forward pass of a model (their values are differentiated).
LAYER_BASES = frozenset(
    {
        "keras.layers.Layer",
        "keras.Layer",
        "keras.Model",
        "keras.models.Model",
        "keras.engine.base_layer.Layer",
        "torch.nn.Module",
        "torch.nn.modules.module.Module",
        "flax.linen.Module",
        "haiku.Module",
        "equinox.Module",
    }
)
LAMBDA_LAYERS = frozenset({"keras.layers.Lambda", "keras.layers.core.Lambda"})

# `negative(x)` / `neg(x)`: -x (a negated magnitude is <= 0, so its exp cannot overflow).
NEGATIVE_FUNCTIONS = frozenset({"torch.neg", "torch.negative", "numpy.negative", "jax.numpy.negative", "tensorflow.negative", "tensorflow.math.negative", "keras.ops.negative"})

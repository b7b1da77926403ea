"""What keeps a probability away from 0 and 1, what passes it through unchanged, and how to spell a clip
(EPS201, EPS203; shared with the logits/probabilities family through `rules/analysis/provenance.py`).

Sources: ml-api-facts.md §C (safe alternatives), §E (guard idioms: clip, maximum, `+ eps`, xlogy; `multiply_no_nan`
does NOT fix the gradient of log(0) — measured again here on TF 2.21: forward 0, gradient NaN), §D4 (float limits).
Signatures checked on the installed packages (TF 2.21, Keras 3.15.1, tf_keras 2.21, NumPy 2.4) with
`inspect.signature`; torch/JAX rows from their documentation (`torch.clamp(input, min=None, max=None)`,
`jnp.clip(arr, min, max)`, `torch.logit(input, eps=None)`).
"""

from __future__ import annotations

# -- Clips: (operand, lower bound, upper bound) as (position, keyword) pairs ----------------------------------
# A bound that is missing, None, or not a positive epsilon / a value below 1 does not guard that side.
ArgSpec = tuple[int, str | None]
CLIP_FUNCTIONS: dict[str, tuple[ArgSpec, ArgSpec, ArgSpec]] = {
    "tensorflow.clip_by_value": ((0, "t"), (1, "clip_value_min"), (2, "clip_value_max")),
    "tensorflow.math.clip_by_value": ((0, "t"), (1, "clip_value_min"), (2, "clip_value_max")),
    "tensorflow.experimental.numpy.clip": ((0, "a"), (1, "a_min"), (2, "a_max")),
    "keras.ops.clip": ((0, "x"), (1, "x_min"), (2, "x_max")),
    "keras.backend.clip": ((0, "x"), (1, "min_value"), (2, "max_value")),
    "torch.clamp": ((0, "input"), (1, "min"), (2, "max")),
    "torch.clip": ((0, "input"), (1, "min"), (2, "max")),
    "numpy.clip": ((0, "a"), (1, "a_min"), (2, "a_max")),
    "jax.numpy.clip": ((0, "x"), (1, "min"), (2, "max")),
}
# NumPy 2 / JAX also accept `min=` / `max=` keywords on clip.
CLIP_ALTERNATE_KEYWORDS: dict[str, tuple[str, str]] = {
    "numpy.clip": ("min", "max"),
    "jax.numpy.clip": ("a_min", "a_max"),
}
# Tensor / ndarray methods: `p.clamp(eps, 1 - eps)`, `p.clip(min=eps)`, `p.clamp_min(eps)`, in place with `_`.
CLIP_METHODS: dict[str, tuple[ArgSpec, ArgSpec]] = {
    "clamp": ((0, "min"), (1, "max")),
    "clip": ((0, "min"), (1, "max")),
    "clamp_": ((0, "min"), (1, "max")),
    "clip_": ((0, "min"), (1, "max")),
    "clamp_min": ((0, "min"), (-1, None)),
    "clamp_min_": ((0, "min"), (-1, None)),
    "clamp_max": ((-1, None), (0, "max")),
    "clamp_max_": ((-1, None), (0, "max")),
}
INPLACE_CLIP_METHODS = frozenset({"clamp_", "clip_", "clamp_min_", "clamp_max_"})

# Elementwise maximum / minimum of two tensors: `maximum(p, eps)` floors, `minimum(p, 1 - eps)` caps.
MAXIMUM_FUNCTIONS = frozenset(
    {
        "tensorflow.maximum",
        "tensorflow.math.maximum",
        "keras.ops.maximum",
        "keras.backend.maximum",
        "torch.maximum",
        "torch.max",  # torch.max(p, other) is elementwise when the second argument is a tensor/number
        "torch.fmax",
        "numpy.maximum",
        "numpy.fmax",
        "jax.numpy.maximum",
        "max",  # builtin, two arguments
    }
)
MINIMUM_FUNCTIONS = frozenset(
    {
        "tensorflow.minimum",
        "tensorflow.math.minimum",
        "keras.ops.minimum",
        "keras.backend.minimum",
        "torch.minimum",
        "torch.min",
        "torch.fmin",
        "numpy.minimum",
        "numpy.fmin",
        "jax.numpy.minimum",
        "min",
    }
)

# -- Selection: functions whose output holds (some of) the values of their first argument ---------------------
# `log(gather(probs, target))` is as unguarded as `log(probs)`; casts and reshapes keep the values.
PASS_THROUGH_FUNCTIONS = frozenset(
    {
        "tensorflow.gather",
        "tensorflow.gather_nd",
        "tensorflow.boolean_mask",
        "tensorflow.reshape",
        "tensorflow.squeeze",
        "tensorflow.expand_dims",
        "tensorflow.transpose",
        "tensorflow.cast",
        "tensorflow.convert_to_tensor",
        "tensorflow.identity",
        "tensorflow.experimental.numpy.take_along_axis",
        "keras.ops.take",
        "keras.ops.take_along_axis",
        "keras.ops.reshape",
        "keras.ops.squeeze",
        "keras.ops.expand_dims",
        "keras.ops.transpose",
        "keras.ops.cast",
        "keras.ops.convert_to_tensor",
        "keras.backend.gather",
        "keras.backend.reshape",
        "keras.backend.squeeze",
        "keras.backend.expand_dims",
        "keras.backend.cast",
        "keras.backend.flatten",
        "torch.gather",
        "torch.index_select",
        "torch.take",
        "torch.take_along_dim",
        "torch.masked_select",
        "torch.squeeze",
        "torch.unsqueeze",
        "torch.reshape",
        "torch.flatten",
        "torch.as_tensor",
        "numpy.take",
        "numpy.take_along_axis",
        "numpy.reshape",
        "numpy.squeeze",
        "numpy.asarray",
        "numpy.array",
        "numpy.ravel",
        "jax.numpy.take",
        "jax.numpy.take_along_axis",
        "jax.numpy.reshape",
        "jax.numpy.squeeze",
        "jax.numpy.asarray",
        "jax.numpy.array",
    }
)
# Conversions recognised by their last name wherever they come from (`keras.src.backend.torch.core.convert_to_tensor`,
# `backend.convert_to_tensor`, `ops.cast`): they keep the values.
PASS_THROUGH_SHORT_NAMES = frozenset({"convert_to_tensor", "asarray", "as_tensor", "cast"})
PASS_THROUGH_METHODS = frozenset(
    {
        "gather",
        "index_select",
        "take",
        "take_along_dim",
        "masked_select",
        "squeeze",
        "unsqueeze",
        "view",
        "view_as",
        "reshape",
        "flatten",
        "ravel",
        "float",
        "double",
        "half",
        "to",
        "type",
        "type_as",
        "contiguous",
        "detach",
        "clone",
        "t",
        "transpose",
        "permute",
        "astype",
    }
)
# Reductions of a value that can be 0 can be 0 (`log(sum(y_true * y_pred, axis=-1))`): the sum picks the
# probability of the true class. mean / min / prod keep a value in [0, 1] in [0, 1].
REDUCTIONS_IN_UNIT = frozenset(
    {
        "tensorflow.reduce_mean",
        "tensorflow.math.reduce_mean",
        "tensorflow.reduce_min",
        "tensorflow.math.reduce_min",
        "tensorflow.reduce_prod",
        "tensorflow.math.reduce_prod",
        "keras.ops.mean",
        "keras.ops.min",
        "keras.ops.prod",
        "keras.backend.mean",
        "keras.backend.min",
        "keras.backend.prod",
        "torch.mean",
        "torch.prod",
        "torch.amin",
        "numpy.mean",
        "numpy.min",
        "numpy.amin",
        "numpy.prod",
        "jax.numpy.mean",
        "jax.numpy.min",
        "jax.numpy.prod",
    }
)
REDUCTIONS_SUM = frozenset(
    {
        "tensorflow.reduce_sum",
        "tensorflow.math.reduce_sum",
        "keras.ops.sum",
        "keras.backend.sum",
        "torch.sum",
        "numpy.sum",
        "jax.numpy.sum",
    }
)
REDUCTION_METHODS_IN_UNIT = frozenset({"mean", "min", "amin", "prod"})
REDUCTION_METHODS_SUM = frozenset({"sum"})

# Elementwise select: `where(cond, a, b)` is a or b.
WHERE_FUNCTIONS = frozenset({"tensorflow.where", "tensorflow.compat.v1.where", "keras.ops.where", "keras.backend.switch", "torch.where", "numpy.where", "jax.numpy.where"})

# -- Values in [0, 1] that are exactly 0 in normal use -------------------------------------------------------
# Library functions returning an overlap ratio: 0 when the boxes / masks do not overlap.
RATIO_FUNCTIONS: dict[str, str] = {
    "torchvision.ops.box_iou": "an IoU",
    "torchvision.ops.boxes.box_iou": "an IoU",
    "torchmetrics.functional.jaccard_index": "a Jaccard index",
    "torchmetrics.functional.dice": "a Dice score",
    "sklearn.metrics.jaccard_score": "a Jaccard score",
}
# Local names holding such a ratio (`iou = inter / union`): a regex matched on the whole lowercased name.
RATIO_NAME_PATTERN = r"(?:.*_)?(?:ious?|iou_score|jaccard(?:_index)?|overlaps?)(?:_.*)?"

# -- Logs ------------------------------------------------------------------------------------------------------
# log1p(-p) == log(1 - p): as unguarded as `log(1 - p)` at p = 1. (`log1p(p)` of a probability is safe.)
LOG1P_FUNCTIONS: dict[str, str] = {
    "tensorflow.math.log1p": "tensorflow",
    "keras.ops.log1p": "keras",
    "torch.log1p": "torch",
    "numpy.log1p": "numpy",
    "jax.numpy.log1p": "jax",
    "math.log1p": "math",
}
LOG1P_METHODS = frozenset({"log1p"})

# -- Fixes: the clip each log family can be rewritten with -----------------------------------------------------
# The family is the value of LOG_FUNCTIONS / LOG_BASE_FUNCTIONS / LOG1P_FUNCTIONS. No row (math): no fix.
CLIP_FOR: dict[str, str] = {
    "tensorflow": "tensorflow.clip_by_value",
    "keras": "keras.ops.clip",
    "keras.backend": "keras.backend.clip",
    "torch": "torch.clamp",
    "numpy": "numpy.clip",
    "jax": "jax.numpy.clip",
}
# The epsilon each family writes, in order of preference; the first one the file can spell is used, else the
# Keras default value as a literal (1e-7, ml-api-facts.md §D1). torch, NumPy and JAX have no global epsilon.
EPSILON_FOR: dict[str, tuple[str, ...]] = {
    "tensorflow": ("keras.backend.epsilon", "keras.config.epsilon"),
    "keras": ("keras.config.epsilon", "keras.backend.epsilon"),
    "keras.backend": ("keras.backend.epsilon",),
}
DEFAULT_EPSILON_LITERAL = "1e-7"
# `torch.logit(p, eps=...)` clamps p to [eps, 1 - eps] before the logit: the exact fix for EPS203 in torch.
LOGIT_WITH_EPS_FOR: dict[str, str] = {"torch": "torch.logit"}

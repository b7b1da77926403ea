"""Division, reductions that make a denominator data dependent, and the guards that keep it away from zero
(EPS101-EPS103).

Names are canonical (`lint_eps.imports.canonical`): `math_ops.reduce_sum` is `tensorflow.math.reduce_sum`,
`K.sum` is `keras.backend.sum`, `tf.keras.ops.x` is `keras.ops.x`. Sources: ml-api-facts.md §C (safe
alternatives), §E (guard idioms and which of them protect the gradient). Adding an API is adding a row.
"""

from __future__ import annotations

# -- True division -------------------------------------------------------------------------------------------
# Function -> framework family (used to spell the fix). The numerator is the first positional argument, the
# denominator the second; the keyword names are listed per family in DIVISION_KEYWORDS.
DIVISION_FUNCTIONS: dict[str, str] = {
    "tensorflow.math.divide": "tensorflow",
    "tensorflow.divide": "tensorflow",
    "tensorflow.math.truediv": "tensorflow",
    "tensorflow.truediv": "tensorflow",
    "tensorflow.math.realdiv": "tensorflow",
    "tensorflow.realdiv": "tensorflow",
    "tensorflow.experimental.numpy.divide": "tensorflow",
    "tensorflow.experimental.numpy.true_divide": "tensorflow",
    "keras.ops.divide": "keras",
    "keras.ops.true_divide": "keras",
    "keras.ops.numpy.divide": "keras",
    "keras.ops.numpy.true_divide": "keras",
    "numpy.divide": "numpy",
    "numpy.true_divide": "numpy",
    "torch.div": "torch",
    "torch.divide": "torch",
    "torch.true_divide": "torch",
    "jax.numpy.divide": "jax",
    "jax.numpy.true_divide": "jax",
    "jax.lax.div": "jax",
    "operator.truediv": "python",
}
# (numerator keyword, denominator keyword) per family.
DIVISION_KEYWORDS: dict[str, tuple[str, str]] = {
    "tensorflow": ("x", "y"),
    "keras": ("x1", "x2"),
    "numpy": ("x1", "x2"),
    "jax": ("x1", "x2"),
    "torch": ("input", "other"),
    "python": ("a", "b"),
}
# torch tensor methods `a.div(b)`, `a.true_divide(b)` (only when the file imports torch).
DIVISION_METHODS: frozenset[str] = frozenset({"div", "divide", "true_divide", "div_", "divide_", "true_divide_"})
# torch.div(..., rounding_mode="floor"|"trunc") is integer division: not what these rules are about.
ROUNDING_KEYWORD = "rounding_mode"

# Division that is already safe at a zero denominator (never reported).
SAFE_DIVISION_FUNCTIONS: frozenset[str] = frozenset(
    {
        "tensorflow.math.divide_no_nan",
        "tensorflow.div_no_nan",
        "tensorflow.math.div_no_nan",
        "keras.ops.divide_no_nan",
        "keras.ops.numpy.divide_no_nan",
        "torchmetrics.utilities.compute._safe_divide",
    }
)

# -- Data-dependent denominators -----------------------------------------------------------------------------
# Reductions and counts of a batch: zero for an empty mask, an all-zero prediction, a class absent from the
# batch, a constant input (std/var).
REDUCTION_FUNCTIONS: frozenset[str] = frozenset(
    {
        f"{prefix}.{name}"
        for prefix, names in {
            "tensorflow": ("reduce_sum", "reduce_mean", "count_nonzero", "norm", "reduce_std", "reduce_variance", "reduce_euclidean_norm"),
            "tensorflow.math": ("reduce_sum", "reduce_mean", "count_nonzero", "reduce_std", "reduce_variance", "reduce_euclidean_norm", "bincount", "confusion_matrix", "segment_sum", "unsorted_segment_sum"),
            "tensorflow.linalg": ("norm",),
            "tensorflow.experimental.numpy": ("sum", "mean", "count_nonzero", "std", "var"),
            "keras.backend": ("sum", "mean", "std", "var"),
            "keras.ops": ("sum", "mean", "count_nonzero", "norm", "std", "var", "bincount"),
            "keras.ops.numpy": ("sum", "mean", "count_nonzero", "std", "var", "bincount"),
            "numpy": ("sum", "mean", "nansum", "nanmean", "count_nonzero", "std", "var", "bincount"),
            "numpy.linalg": ("norm",),
            "torch": ("sum", "mean", "nansum", "nanmean", "count_nonzero", "norm", "std", "var", "bincount"),
            "torch.linalg": ("norm", "vector_norm", "matrix_norm"),
            "jax.numpy": ("sum", "mean", "nansum", "nanmean", "count_nonzero", "std", "var", "bincount"),
            "jax.numpy.linalg": ("norm",),
            "sklearn.metrics": ("confusion_matrix", "multilabel_confusion_matrix"),
            "torchmetrics.functional": ("confusion_matrix",),
        }.items()
        for name in names
    }
)
# Unresolved method calls that reduce: `mask.sum()`, `x.norm(dim=-1)`, `cm.sum(axis=0)` (numpy, torch, jax).
REDUCTION_METHODS: frozenset[str] = frozenset({"sum", "mean", "nansum", "nanmean", "norm", "count_nonzero", "std", "var"})

# Arithmetic spelled as calls: `ops.add(a, b)` is `a + b` for the analysis.
ARITHMETIC_FUNCTIONS: dict[str, str] = {
    f"{prefix}.{name}": op
    for prefix in ("tensorflow", "tensorflow.math", "keras.ops", "keras.ops.numpy", "numpy", "torch", "jax.numpy")
    for name, op in (("add", "+"), ("subtract", "-"), ("multiply", "*"), ("mul", "*"), ("sub", "-"))
}

# Calls that keep "zero-ness": the denominator is zero if their first argument is.
PASSTHROUGH_FUNCTIONS: frozenset[str] = frozenset(
    {
        f"{prefix}.{name}"
        for prefix, names in {
            "tensorflow": ("cast", "sqrt", "abs", "square", "stop_gradient", "convert_to_tensor", "identity", "reshape", "expand_dims", "squeeze", "constant", "pow"),
            "tensorflow.math": ("sqrt", "abs", "square", "pow", "reduce_prod"),
            "tensorflow.linalg": ("diag_part", "tensor_diag_part"),
            "keras.backend": ("cast", "sqrt", "abs", "square", "stop_gradient", "reshape", "expand_dims", "squeeze", "pow", "prod"),
            "keras.ops": ("cast", "sqrt", "abs", "square", "stop_gradient", "convert_to_tensor", "reshape", "expand_dims", "squeeze", "power", "prod", "diag", "diagonal", "absolute"),
            "numpy": ("sqrt", "abs", "absolute", "square", "asarray", "array", "float32", "float64", "diag", "diagonal", "power", "prod"),
            # Selections keep the sign of what they select (`index_select(arange(n) + 1, 0, rank)` stays >= 1).
            "torch": ("sqrt", "abs", "square", "as_tensor", "tensor", "diag", "diagonal", "pow", "prod", "index_select", "gather", "take"),
            "jax.numpy": ("sqrt", "abs", "square", "asarray", "array", "diag", "diagonal", "power", "prod"),
            "jax.lax": ("stop_gradient", "sqrt", "abs"),
            "math": ("sqrt", "fabs"),
        }.items()
        for name in names
    }
    | {"float", "abs"}  # Python builtins (resolved as bare names)
)
PASSTHROUGH_METHODS: frozenset[str] = frozenset(
    {"float", "double", "half", "to", "type", "type_as", "item", "numpy", "read_value", "value", "detach", "cpu", "cuda",
     "sqrt", "abs", "clone", "squeeze", "unsqueeze", "reshape", "view", "astype", "diag", "diagonal", "prod", "pow", "square"}
)

# Never zero in practice: shapes, sizes, lengths. `len(batch)`, `tf.shape(x)[0]`, `x.shape[0]`, `x.numel()` are
# zero only for an empty input, where the framework's own `reduce_mean` is NaN too (so flagging them would flag
# every hand-written mean and no real bug).
SHAPE_FUNCTIONS: frozenset[str] = frozenset(
    {
        "len",
        "tensorflow.shape",
        "tensorflow.size",
        "tensorflow.rank",
        "tensorflow.math.reduce_prod",  # of a shape, by far the common use in denominators
        "tensorflow.python.ops.array_ops.shape",
        "tensorflow.python.ops.array_ops.size",
        "keras.backend.shape",
        "keras.backend.int_shape",
        "keras.ops.shape",
        "keras.ops.size",
        "numpy.size",
        "numpy.shape",
        "torch.numel",
        "jax.numpy.size",
        "jax.numpy.shape",
    }
)
SHAPE_METHODS: frozenset[str] = frozenset({"numel", "nelement", "size", "dim", "get_shape", "num_elements"})
SHAPE_ATTRIBUTES: frozenset[str] = frozenset({"shape", "size", "ndim", "batch_size", "num_elements"})

# Functions whose output is > 0 whatever the input: a sum of them is never 0 (`softmax` written by hand is an
# overflow problem, not a division by zero one).
POSITIVE_FUNCTIONS: frozenset[str] = frozenset(
    {
        "tensorflow.exp", "tensorflow.math.exp", "keras.backend.exp", "keras.ops.exp", "numpy.exp", "torch.exp",
        "jax.numpy.exp", "tensorflow.ones_like", "tensorflow.ones", "keras.ops.ones_like", "keras.ops.ones",
        "numpy.ones_like", "numpy.ones", "torch.ones_like", "torch.ones", "jax.numpy.ones_like", "jax.numpy.ones",
        "tensorflow.math.softplus", "tensorflow.nn.softplus", "keras.ops.softplus", "torch.nn.functional.softplus",
    }
)
POSITIVE_METHODS: frozenset[str] = frozenset({"exp"})

# Names of confusion-matrix counts: a parameter, an unpacked local or a `self.` attribute called like this holds
# a count that is 0 for some batch (no positive predicted, a class absent). Matched on the whole name,
# case-insensitively. Deliberately absent: sample counts (`count`, `total`, `n_samples`, `num_obs`,
# `denominator`), which are 0 only before the first update / for an empty input (like shapes), and the plural
# curve arrays `tps`/`fps` (cumulative counts per threshold, >= 1 by construction in sklearn/torchmetrics).
COUNT_NAMES: frozenset[str] = frozenset(
    {
        "tp", "fp", "fn", "tn",
        "true_positives", "false_positives", "false_negatives", "true_negatives",
        "true_pos", "false_pos", "false_neg", "true_neg",
        "predicted_positives", "possible_positives", "actual_positives", "pred_positives", "num_positives", "num_negatives",
        "n_pos", "n_neg", "num_pos", "num_neg", "positives", "negatives",
        "support", "intersection", "union", "cardinality",
        "total_weight", "sum_weights", "weight_sum", "sum_of_weights",
        # Lengths of target sequences (CTC, RNN-T): 0 for an empty transcript; torch's own ctc_loss divides by
        # `target_lengths.clamp_min(1)` for this reason.
        "target_lengths", "label_lengths", "target_length", "label_length",
        # Counts of the labelled (not ignore_index) tokens of a batch, passed to a summed loss: 0 for a batch whose
        # labels are all masked (prompt-only rows in supervised fine-tuning): transformers' `fixed_cross_entropy`.
        "num_items_in_batch", "num_valid_tokens", "n_valid_tokens", "num_target_tokens", "num_label_tokens",
    }
)
# A confusion/contingency matrix summed over every axis is the number of samples (0 only for an empty input);
# summed over one axis it is a per-class support (0 for an absent class: data dependent).
CONFUSION_MATRIX_NAMES: frozenset[str] = frozenset({"cm", "confmat", "conf_mat", "confusion", "confusion_matrix", "contingency", "cmat"})
AXIS_KEYWORDS: frozenset[str] = frozenset({"axis", "dim", "axes"})
# The four cells of a binary confusion matrix, in each spelling: every sample falls in exactly one, so their sum
# is the number of samples (accuracy's denominator), never 0 for a non-empty batch.
CONFUSION_CELLS: tuple[frozenset[str], ...] = (
    frozenset({"tp", "fp", "fn", "tn"}),
    frozenset({"true_positives", "false_positives", "false_negatives", "true_negatives"}),
    frozenset({"true_pos", "false_pos", "false_neg", "true_neg"}),
)
# One-hot encoders whose every row holds exactly one 1: torch's raises on a negative or out-of-range class, so
# the sum of the whole tensor is its number of rows. (tf.one_hot and jax.nn.one_hot give an all-zero row for an
# ignored label such as -1, so their sums can be 0: not listed.)
ONE_HOT_FUNCTIONS: frozenset[str] = frozenset({"torch.nn.functional.one_hot"})
# Method names whose value is a running count in a class: `self.add_weight(...)` (Keras), `self.add_variable`,
# `self.add_state("name", ...)` (torchmetrics), `self.register_buffer("name", ...)` (torch).
STATE_CREATORS_ASSIGNED: frozenset[str] = frozenset({"add_weight", "add_variable"})
STATE_CREATORS_NAMED: frozenset[str] = frozenset({"add_state", "register_buffer"})
# How running state is updated: `self.x.assign_add(v)`, `self.x.add_(v)`, `self.x += v`, `self.x = self.x + v`.
# A state whose updates are all shape-like (`len(x)`, `x.numel()`, `x.shape[0]`, `1`) is a sample count: nonzero
# after the first update. One data-dependent update (a mask sum, a count of positives) makes it data dependent.
STATE_UPDATE_METHODS: frozenset[str] = frozenset({"assign_add", "add_", "assign", "copy_", "fill_"})

# -- Guards ----------------------------------------------------------------------------------------------------
# maximum(d, floor) / maximum(floor, d): the floor can be either positional argument.
MAXIMUM_FUNCTIONS: frozenset[str] = frozenset(
    {
        "max",  # builtin: max(d, 1)
        "tensorflow.maximum", "tensorflow.math.maximum", "keras.backend.maximum", "keras.ops.maximum",
        "keras.ops.numpy.maximum", "numpy.maximum", "numpy.fmax", "torch.maximum", "torch.fmax",
        "jax.numpy.maximum", "jax.numpy.fmax", "jax.lax.max", "tensorflow.experimental.numpy.maximum",
    }
)
# clip(d, low, high): (function) -> (position of low, keyword of low).
CLIP_FUNCTIONS: dict[str, tuple[int, str]] = {
    "tensorflow.clip_by_value": (1, "clip_value_min"),
    "tensorflow.python.ops.clip_ops.clip_by_value": (1, "clip_value_min"),
    "keras.backend.clip": (1, "min_value"),
    "keras.ops.clip": (1, "x_min"),
    "numpy.clip": (1, "a_min"),
    "torch.clamp": (1, "min"),
    "torch.clip": (1, "min"),
    "torch.clamp_min": (1, "min"),
    "jax.numpy.clip": (1, "a_min"),
    "tensorflow.experimental.numpy.clip": (1, "a_min"),
}
# Tensor methods: `d.clamp(min=eps)`, `d.clamp(eps)`, `d.clamp_min(eps)`, `d.clip(eps, None)`.
CLIP_METHODS: dict[str, tuple[int, str]] = {"clamp": (0, "min"), "clip": (0, "min"), "clamp_min": (0, "min"), "clamp_min_": (0, "min")}

# where(cond, x, y): selects elementwise (tf.where is tf.where_v2 in TF 2). numpy's where is never differentiated.
WHERE_FUNCTIONS: dict[str, str] = {
    "tensorflow.where": "tensorflow",
    "tensorflow.where_v2": "tensorflow",
    "tensorflow.experimental.numpy.where": "tensorflow",
    "keras.ops.where": "keras",
    "keras.ops.numpy.where": "keras",
    "keras.backend.switch": "keras.backend",
    "torch.where": "torch",
    "jax.numpy.where": "jax",
    "jax.lax.select": "jax",
    "numpy.where": "numpy",
    # TensorFlow's own modules spell it through array_ops (not canonicalised by lint_eps.imports).
    "tensorflow.python.ops.array_ops.where": "tensorflow",
    "tensorflow.python.ops.array_ops.where_v2": "tensorflow",
}
DIFFERENTIABLE_WHERE_FAMILIES: frozenset[str] = frozenset({"tensorflow", "keras", "keras.backend", "torch", "jax"})
# Where a scalar `1` can stand for the sanitised operand (EPS103 fix): tf.where and keras.ops.where broadcast a
# Python scalar (checked: `tf.where(c, float_tensor, 1)`), torch.where accepts scalars, jnp.where broadcasts.
# Not K.switch (it takes the rank of both branches) nor jax.lax.select (same shape and dtype required).
WHERE_FIX_FAMILIES: frozenset[str] = frozenset({"tensorflow", "keras", "torch", "jax"})

# Classes whose methods are applied outside autodiff (an optimizer's update step): EPS103 does not apply.
OPTIMIZER_BASE_SUFFIXES: tuple[str, ...] = ("Optimizer", "OptimizerV2", "Optimizer_v1")

# Branching on a value runs only the taken branch (and differentiates only it).
COND_FUNCTIONS: frozenset[str] = frozenset(
    {"tensorflow.cond", "tensorflow.case", "tensorflow.switch_case", "jax.lax.cond", "jax.lax.switch", "torch.cond", "keras.ops.cond",
     "tensorflow.python.ops.cond.cond", "tensorflow.python.ops.control_flow_ops.cond", "tensorflow.python.framework.smart_cond.smart_cond"}
)

# NaN repaired after the fact: forward value fixed, gradient still NaN (ml-api-facts §E).
NAN_REPAIR_FUNCTIONS: frozenset[str] = frozenset(
    {"numpy.nan_to_num", "torch.nan_to_num", "keras.ops.nan_to_num", "keras.ops.numpy.nan_to_num", "jax.numpy.nan_to_num",
     "tensorflow.experimental.numpy.nan_to_num"}
)
NAN_REPAIR_METHODS: frozenset[str] = frozenset({"nan_to_num", "nan_to_num_"})
NAN_TEST_FUNCTIONS: frozenset[str] = frozenset(
    {"tensorflow.math.is_nan", "tensorflow.is_nan", "tensorflow.math.is_finite", "tensorflow.is_finite", "tensorflow.math.is_inf",
     "keras.ops.isnan", "keras.ops.isfinite", "keras.ops.isinf", "numpy.isnan", "numpy.isfinite", "numpy.isinf", "torch.isnan",
     "torch.isfinite", "torch.isinf", "jax.numpy.isnan", "jax.numpy.isfinite", "math.isnan", "math.isfinite"}
)
NAN_TEST_METHODS: frozenset[str] = frozenset({"isnan", "isfinite", "isinf"})
# Run-time assertions that raise on a zero (TF's tf.debugging/tf.compat.v1 and TFP's assert_util spellings).
POSITIVE_ASSERTIONS: frozenset[str] = frozenset({"assert_positive", "assert_greater", "assert_none_equal"})

# Functions whose singular point sits at 0 (EPS103: a single where around them still poisons the gradient).
LOG_LIKE_FUNCTIONS: frozenset[str] = frozenset(
    {
        "tensorflow.math.log", "tensorflow.log", "keras.ops.log", "keras.backend.log", "torch.log", "jax.numpy.log",
        "keras.ops.log2", "keras.ops.log10", "torch.log2", "torch.log10", "jax.numpy.log2", "jax.numpy.log10",
        "tensorflow.experimental.numpy.log", "tensorflow.experimental.numpy.log2", "tensorflow.experimental.numpy.log10",
    }
)
LOG_LIKE_METHODS: frozenset[str] = frozenset({"log", "log2", "log10"})

# -- Fixes -----------------------------------------------------------------------------------------------------
# EPS101: TensorFlow code gets `divide_no_nan` (0 where the denominator is 0, gradient 0 there, exact elsewhere);
# Keras code gets its configured epsilon in the denominator (Keras 3's own Dice/Tversky/F-score idiom, and
# `keras.ops.divide_no_nan` had NaN gradients on JAX < 3.5.0 and torch < 3.15.0); other frameworks get a literal
# that equals Keras's default epsilon (see FALLBACK_EPSILON).
NO_NAN_DIVIDE_FOR: dict[str, tuple[str, ...]] = {"tensorflow": ("tensorflow.math.divide_no_nan",)}
EPSILON_CALL_FOR: dict[str, tuple[str, ...]] = {
    "keras": ("keras.config.epsilon", "keras.backend.epsilon"),
    "keras.backend": ("keras.backend.epsilon", "keras.config.epsilon"),
    "tensorflow": ("keras.backend.epsilon", "keras.config.epsilon"),
}
# 1e-7 = Keras's default epsilon: 1/1e-7 is finite in float32 and bfloat16 and it is far above float32's
# smallest normal; it is NOT a guard in float16 (1/1e-7 overflows there; EPS403 reports that case).
FALLBACK_EPSILON = "1e-7"

# Module prefixes of each family, to pick a fix for `/` from what the file imports.
FAMILY_IMPORT_PREFIXES: tuple[tuple[str, str], ...] = (
    ("tensorflow", "tensorflow"),
    ("keras.backend", "keras.backend"),
    ("keras", "keras"),
    ("torch", "torch"),
    ("jax", "jax"),
    ("numpy", "numpy"),
)

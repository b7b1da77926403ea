"""The epsilon family's API knowledge (EPS401-EPS403): who sets the global epsilon, the float type, the
mixed-precision policy, which calls fix a tensor's dtype, and which calls clip or floor a value.

Names are canonical (`lint_eps.imports.canonical`): `tf.keras.backend.set_epsilon`,
`tf.compat.v1.keras.backend.set_epsilon`, `tf_keras.backend.set_epsilon` and `K.set_epsilon` after
`from keras import backend as K` are all `keras.backend.set_epsilon`.
Sources: ml-api-facts.md §D1-§D4; keras/src/backend/config.py, tf_keras/src/backend_config.py,
keras/src/dtype_policies, tf_keras/src/mixed_precision/policy.py (checked against the installed packages).
"""

from __future__ import annotations

# -- The global fuzz factor (§D1) --------------------------------------------------------------------------
SET_EPSILON_FUNCTIONS: frozenset[str] = frozenset(
    {
        "keras.backend.set_epsilon",  # Keras 3, tf.keras, tf_keras, standalone Keras 2, K.set_epsilon
        "keras.config.set_epsilon",  # Keras 3 public spelling
        "keras.backend.config.set_epsilon",  # keras.src.backend.config
        "keras.backend_config.set_epsilon",  # tf_keras.src.backend_config / tensorflow.python.keras.backend_config
        "keras.backend.common.set_epsilon",  # standalone Keras 2.x
    }
)
EPSILON_GETTERS: frozenset[str] = frozenset(
    {"keras.backend.epsilon", "keras.config.epsilon", "keras.backend.config.epsilon", "keras.backend_config.epsilon", "keras.backend.common.epsilon"}
)
# Keras's default epsilon (keras/src/backend/config.py `_EPSILON = 1e-7`; standalone Keras writes `10e-8`).
KERAS_DEFAULT_EPSILON = 1e-7
# Above this a global epsilon distorts every loss and metric that reads it (the limit; a judgement,
# not a format fact): a perfect prediction still costs -log(1 - eps) per element and the clip to
# [eps, 1 - eps] zeroes the gradient of every prediction beyond it.
MAX_GLOBAL_EPSILON = 1e-3

SET_FLOATX_FUNCTIONS: frozenset[str] = frozenset(
    {"keras.backend.set_floatx", "keras.config.set_floatx", "keras.backend.config.set_floatx", "keras.backend_config.set_floatx", "keras.backend.common.set_floatx"}
)
SET_IMAGE_DATA_FORMAT_FUNCTIONS: frozenset[str] = frozenset(
    {
        "keras.backend.set_image_data_format",
        "keras.config.set_image_data_format",
        "keras.backend.config.set_image_data_format",
        "keras.backend_config.set_image_data_format",
        "keras.backend.common.set_image_data_format",
    }
)
FLOATX_GETTERS: frozenset[str] = frozenset({"keras.backend.floatx", "keras.config.floatx", "keras.backend.config.floatx", "keras.backend_config.floatx"})

# -- Mixed precision ---------------------------------------------------------------------------------------
POLICY_SETTERS: frozenset[str] = frozenset(
    {
        "keras.mixed_precision.set_global_policy",
        "keras.mixed_precision.set_dtype_policy",
        "keras.config.set_dtype_policy",
        "keras.mixed_precision.experimental.set_policy",  # TF 2.1-2.3
        "keras.mixed_precision.set_policy",
    }
)
# Every process-wide Keras setter: assigning to one (EPS404) replaces the function instead of calling it.
GLOBAL_SETTERS: frozenset[str] = SET_EPSILON_FUNCTIONS | SET_FLOATX_FUNCTIONS | SET_IMAGE_DATA_FORMAT_FUNCTIONS | POLICY_SETTERS

POLICY_CLASSES: frozenset[str] = frozenset(
    {"keras.mixed_precision.Policy", "keras.mixed_precision.DTypePolicy", "keras.DTypePolicy", "keras.dtype_policies.DTypePolicy", "keras.mixed_precision.experimental.Policy"}
)
# Policy name -> the dtype layers compute in under it.
POLICY_COMPUTE_DTYPE: dict[str, str] = {
    "mixed_float16": "float16",
    "mixed_bfloat16": "bfloat16",
    "float16": "float16",
    "bfloat16": "bfloat16",
    "float32": "float32",
    "float64": "float64",
}
# Layer attributes that hold the compute dtype (`tf.cast(x, self.compute_dtype)`).
COMPUTE_DTYPE_ATTRS: frozenset[str] = frozenset({"compute_dtype", "_compute_dtype"})
# Bases whose `call` runs in the policy's compute dtype (inputs are autocast to it). Keras 3 losses convert
# their inputs to floatx (float32) whatever the policy, so loss functions are not included.
LAYER_BASE_PREFIXES: tuple[str, ...] = ("keras.layers.", "keras.Layer", "keras.Model", "keras.models.", "keras.engine.")
LAYER_METHODS: frozenset[str] = frozenset({"call"})

# -- Where a tensor's dtype is fixed ---------------------------------------------------------------------
# callee -> (position of the value, position of the dtype argument or -1 for keyword-only `dtype=`).
CAST_FUNCTIONS: dict[str, tuple[int, int]] = {
    "tensorflow.cast": (0, 1),
    "tensorflow.dtypes.cast": (0, 1),
    "tensorflow.saturate_cast": (0, 1),
    "tensorflow.constant": (0, 1),
    "tensorflow.convert_to_tensor": (0, 1),
    "tensorflow.Variable": (0, -1),
    "keras.ops.cast": (0, 1),
    "keras.ops.convert_to_tensor": (0, 1),
    "keras.backend.cast": (0, 1),
    "keras.backend.constant": (0, 1),
    "keras.backend.cast_to_floatx": (0, -1),
    "torch.tensor": (0, -1),
    "torch.as_tensor": (0, 1),
    "numpy.array": (0, 1),
    "numpy.asarray": (0, 1),
    "jax.numpy.array": (0, 1),
    "jax.numpy.asarray": (0, 1),
    "tensorflow.experimental.numpy.asarray": (0, 1),
}
# Tensor methods that set the dtype: name -> dtype (fixed) or None (read from the first argument / `dtype=`).
CAST_METHODS: dict[str, str | None] = {
    "astype": None,  # numpy, jax, keras tensors
    "to": None,  # torch: x.to(torch.float16), x.to(device, dtype), x.to(dtype=...)
    "type": None,  # torch: x.type(torch.float16)
    "half": "float16",
    "bfloat16": "bfloat16",
    "double": "float64",
}
# Methods only torch tensors have (used only when the file imports torch).
TORCH_ONLY_CAST_METHODS: dict[str, str] = {"float": "float32"}
# Elementwise or reducing functions whose result has their first argument's dtype (matched on the last name
# component of a framework callee: `tf.math.sigmoid`, `ops.sigmoid`, `torch.sigmoid`, `K.sum`, ...).
DTYPE_PRESERVING: frozenset[str] = frozenset(
    {
        "sigmoid", "softmax", "exp", "abs", "sqrt", "square", "tanh", "relu", "negative", "log", "log1p",
        "reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "sum", "mean", "max", "min",
        "clip_by_value", "clip", "clamp", "maximum", "minimum", "stop_gradient", "identity", "squeeze",
        "reshape", "flatten", "transpose", "expand_dims",
    }
)
# Module prefixes whose calls are framework tensor operations (for `dtype=` keywords and the table above).
FRAMEWORK_PREFIXES: tuple[str, ...] = ("tensorflow.", "keras.", "torch.", "numpy.", "jax.")

# The dtype a Python float becomes in each framework when nothing says otherwise (first matching prefix).
DEFAULT_DTYPE_BY_PREFIX: tuple[tuple[str, str], ...] = (
    ("numpy.", "float64"),
    ("math.", "float64"),
    ("scipy.", "float64"),
    ("tensorflow.", "float32"),
    ("keras.", "float32"),  # floatx(); `set_floatx` in the module overrides it
    ("torch.", "float32"),  # torch.get_default_dtype()
    ("jax.", "float32"),  # jax_enable_x64 off
)
FLOAT32_FRAMEWORK_IMPORTS: tuple[str, ...] = ("tensorflow", "keras", "torch", "jax")

# -- Clips and floors ---------------------------------------------------------------------------------
# callee -> ((operand position, keywords), (lower position, keywords), (upper position, keywords)).
Arg = tuple[int, tuple[str, ...]]
CLIP_FUNCTIONS: dict[str, tuple[Arg, Arg, Arg]] = {
    "tensorflow.clip_by_value": ((0, ("t",)), (1, ("clip_value_min",)), (2, ("clip_value_max",))),
    "tensorflow.experimental.numpy.clip": ((0, ("a",)), (1, ("a_min",)), (2, ("a_max",))),
    "keras.backend.clip": ((0, ("x",)), (1, ("min_value",)), (2, ("max_value",))),
    "keras.ops.clip": ((0, ("x",)), (1, ("x_min",)), (2, ("x_max",))),
    "torch.clamp": ((0, ("input",)), (1, ("min",)), (2, ("max",))),
    "torch.clip": ((0, ("input",)), (1, ("min",)), (2, ("max",))),
    "numpy.clip": ((0, ("a",)), (1, ("a_min", "min")), (2, ("a_max", "max"))),
    "jax.numpy.clip": ((0, ("x", "a")), (1, ("min", "a_min")), (2, ("max", "a_max"))),
}
# Tensor methods (torch): x.clamp(min, max), x.clip(min, max), x.clamp_min(min).
CLIP_METHODS: dict[str, tuple[Arg, Arg | None]] = {
    "clamp": ((0, ("min",)), (1, ("max",))),
    "clip": ((0, ("min",)), (1, ("max",))),
    "clamp_min": ((0, ("min",)), None),
}
# maximum(x, floor): the floor keeps a value away from 0.
MAXIMUM_FUNCTIONS: frozenset[str] = frozenset(
    {"tensorflow.maximum", "tensorflow.math.maximum", "keras.backend.maximum", "keras.ops.maximum", "torch.maximum", "torch.clamp_min", "numpy.maximum", "jax.numpy.maximum"}
)

# -- Where a finding's file is not an importable module (EPS402) -------------------------------------------
TEST_FILE_PREFIXES: tuple[str, ...] = ("test_",)
TEST_FILE_SUFFIXES: tuple[str, ...] = ("_test.py", "_tests.py")
TEST_FILE_NAMES: frozenset[str] = frozenset({"conftest.py", "tests.py", "test.py"})
TEST_DIRECTORIES: frozenset[str] = frozenset({"tests", "test"})
SCRIPT_FILE_NAMES: frozenset[str] = frozenset({"__main__.py"})

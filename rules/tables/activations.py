"""Log functions, the activations that produce probabilities, and their exact log forms (EPS201-EPS203).

Sources: ml-api-facts.md §0 (name equivalences), §A (activations), §D4 (overflow thresholds).
"""

from __future__ import annotations

# -- Logarithms ------------------------------------------------------------------------------------------
# Functions computing log(x) elementwise; the value is the framework family used to spell replacements.
LOG_FUNCTIONS: dict[str, str] = {
    "tensorflow.math.log": "tensorflow",
    "tensorflow.log": "tensorflow",  # TF 1.x spelling (tf.compat.v1.log)
    "keras.ops.log": "keras",
    "keras.backend.log": "keras.backend",
    "torch.log": "torch",
    "numpy.log": "numpy",
    "jax.numpy.log": "jax",
    "math.log": "math",
}
LOG_BASE_FUNCTIONS: dict[str, str] = {
    "tensorflow.experimental.numpy.log2": "tensorflow",
    "tensorflow.experimental.numpy.log10": "tensorflow",
    "keras.ops.log2": "keras",
    "keras.ops.log10": "keras",
    "torch.log2": "torch",
    "torch.log10": "torch",
    "numpy.log2": "numpy",
    "numpy.log10": "numpy",
    "jax.numpy.log2": "jax",
    "jax.numpy.log10": "jax",
    "math.log2": "math",
    "math.log10": "math",
}
# Tensor methods computing a log (torch): `p.log()`.
LOG_METHODS: frozenset[str] = frozenset({"log", "log2", "log10"})

# -- Activations that output probabilities ---------------------------------------------------------------
SIGMOID_FUNCTIONS: dict[str, str] = {
    "tensorflow.sigmoid": "tensorflow",
    "tensorflow.math.sigmoid": "tensorflow",
    "tensorflow.nn.sigmoid": "tensorflow",
    "keras.activations.sigmoid": "keras.activations",
    "keras.ops.sigmoid": "keras",
    "keras.backend.sigmoid": "keras.backend",
    "torch.sigmoid": "torch",
    "torch.special.expit": "torch",
    "torch.nn.functional.sigmoid": "torch.nn.functional",
    "jax.nn.sigmoid": "jax",
    "jax.scipy.special.expit": "jax",
    "scipy.special.expit": "scipy",
}
SOFTMAX_FUNCTIONS: dict[str, str] = {
    "tensorflow.nn.softmax": "tensorflow",
    "tensorflow.math.softmax": "tensorflow",
    "keras.activations.softmax": "keras.activations",
    "keras.ops.softmax": "keras",
    "keras.backend.softmax": "keras.backend",
    "torch.softmax": "torch",
    "torch.special.softmax": "torch",
    "torch.nn.functional.softmax": "torch.nn.functional",
    "jax.nn.softmax": "jax",
    "scipy.special.softmax": "scipy",
}
# Tensor methods: `x.sigmoid()`, `x.softmax(dim)` (torch).
SIGMOID_METHODS: frozenset[str] = frozenset({"sigmoid"})
SOFTMAX_METHODS: frozenset[str] = frozenset({"softmax"})


def probability_function(qualified: "str | None") -> "str | None":
    """"sigmoid" or "softmax" for a function (by qualified name) that outputs probabilities, else None."""
    if qualified in SIGMOID_FUNCTIONS:
        return "sigmoid"
    if qualified in SOFTMAX_FUNCTIONS:
        return "softmax"
    return None


def probability_method(method: str, has_arguments: bool) -> "str | None":
    """"sigmoid" or "softmax" for a torch tensor method that outputs probabilities (`x.sigmoid()`,
    `x.softmax(dim=1)`), else None."""
    if method in SIGMOID_METHODS and not has_arguments:
        return "sigmoid"
    if method in SOFTMAX_METHODS:
        return "softmax"
    return None

# -- Exact log-activation replacements (EPS202) ----------------------------------------------------------
# For each activation family, the replacements in order of preference; the first one the file can spell with
# the names it already imports is used. Every name here was checked to exist (TF 2.21, Keras 3.15, torch 2.13,
# JAX 0.10, SciPy 1.17); `tf.keras.backend` has `softplus` but neither `log_sigmoid` nor `log_softmax`.
LOG_SIGMOID_FOR: dict[str, tuple[str, ...]] = {
    "tensorflow": ("tensorflow.math.log_sigmoid",),
    "keras": ("keras.ops.log_sigmoid",),
    "keras.activations": ("tensorflow.math.log_sigmoid", "keras.ops.log_sigmoid"),
    "keras.backend": ("tensorflow.math.log_sigmoid",),
    "torch": ("torch.nn.functional.logsigmoid",),
    "torch.nn.functional": ("torch.nn.functional.logsigmoid",),
    "jax": ("jax.nn.log_sigmoid",),
    "scipy": ("scipy.special.log_expit",),
}
LOG_SOFTMAX_FOR: dict[str, tuple[str, ...]] = {
    "tensorflow": ("tensorflow.nn.log_softmax",),
    "keras": ("keras.ops.log_softmax",),
    "keras.activations": ("tensorflow.nn.log_softmax", "keras.ops.log_softmax"),
    "keras.backend": ("tensorflow.nn.log_softmax",),
    "torch": ("torch.log_softmax", "torch.nn.functional.log_softmax"),
    "torch.nn.functional": ("torch.nn.functional.log_softmax", "torch.log_softmax"),
    "jax": ("jax.nn.log_softmax",),
    "scipy": ("scipy.special.log_softmax",),
}
# For the Keras backend (`K`), log(sigmoid(x)) == -softplus(-x) exactly and needs no other import.
NEG_SOFTPLUS_FOR: dict[str, str] = {"keras.backend": "keras.backend.softplus"}

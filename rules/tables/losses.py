"""Loss APIs: where the prediction goes, whether it must be logits or probabilities, and how `from_logits` is
passed (EPS301-EPS303). Also the Keras/torch model-building vocabulary used by `rules/analysis/models.py`.

Sources: ml-api-facts.md §A0-A6 (signatures), §B2/B3 (Keras's logit recovery), §G. Every Keras signature
below was checked with `inspect.signature` against keras 3.15.1, tf_keras 2.21 and TF 2.21's `tf.keras`;
torch/optax rows come from the facts table (torch 2.13, optax 0.2.8), not re-checked here (not installed).

Supporting one more API is one more row.
"""

from __future__ import annotations

from dataclasses import dataclass

# What the prediction argument must hold.
LOGITS = "logits"
PROBS = "probabilities"
LOG_PROBS = "log-probabilities"
SWITCH = "switch"  # decided by `from_logits` (Keras)

# Framework families; they decide what the messages say about run-time rescue (§B2).
KERAS = "keras"  # keras.losses / keras.metrics / keras.ops (Keras 3, tf.keras, tf_keras): rescued on TF only
KERAS_BACKEND = "keras.backend"  # K.* crossentropies: tf_keras rescues, Keras 3's legacy tf.keras.backend does not
TENSORFLOW = "tensorflow"
TORCH = "torch"
OPTAX = "optax"


@dataclass(frozen=True)
class LossAPI:
    name: str  # canonical qualified name
    expects: str  # LOGITS | PROBS | LOG_PROBS | SWITCH
    activation: str  # "sigmoid" | "softmax": the activation that turns its logits into its probabilities
    framework: str
    # Where the prediction is: in the call for a function, in the call of the instance for a class.
    pred_pos: int | None
    pred_kw: str | None
    # Where `from_logits` is: in the call for a function, in the constructor for a class.
    from_logits_pos: int | None = None
    from_logits_kw: str | None = None
    from_logits_default: bool = False
    is_class: bool = False
    # Keras 3 focal losses with from_logits=True apply ops.sigmoid/softmax themselves and then take the
    # clipped probability path: a sigmoid output is squashed twice on *every* backend, TF included
    # (measured: BinaryFocalCrossentropy(from_logits=True) on a Dense(sigmoid) model, TF backend:
    # 0.0992 instead of 3.0e-07 at logit ±5, no warning).
    rescued_on_tf: bool = True
    # For the message: the loss's short spelling.
    label: str = ""

    @property
    def short(self) -> str:
        return self.label or self.name.rsplit(".", 1)[-1]


def _keras_fn(name: str, activation: str, from_logits_pos: int, framework: str = KERAS, pred_kw: str = "y_pred", focal: bool = False) -> LossAPI:
    return LossAPI(name, SWITCH, activation, framework, 1, pred_kw, from_logits_pos, "from_logits", False, False, not focal)


def _keras_cls(name: str, activation: str, from_logits_pos: int, focal: bool = False) -> LossAPI:
    return LossAPI(name, SWITCH, activation, KERAS, 1, "y_pred", from_logits_pos, "from_logits", False, True, not focal)


def _fixed(name: str, expects: str, activation: str, framework: str, pred_pos: int, pred_kw: str, is_class: bool = False) -> LossAPI:
    return LossAPI(name, expects, activation, framework, pred_pos, pred_kw, is_class=is_class, rescued_on_tf=False)


_ROWS: list[LossAPI] = [
    # -- Keras 3 / tf.keras / tf_keras losses (§A1, §A2): (y_true, y_pred, from_logits=False, ...) ------------
    _keras_fn("keras.losses.binary_crossentropy", "sigmoid", 2),
    _keras_fn("keras.losses.categorical_crossentropy", "softmax", 2),
    _keras_fn("keras.losses.sparse_categorical_crossentropy", "softmax", 2),
    _keras_fn("keras.losses.binary_focal_crossentropy", "sigmoid", 5, focal=True),
    _keras_fn("keras.losses.categorical_focal_crossentropy", "softmax", 4, focal=True),
    _keras_fn("keras.metrics.binary_crossentropy", "sigmoid", 2),
    _keras_fn("keras.metrics.categorical_crossentropy", "softmax", 2),
    _keras_fn("keras.metrics.sparse_categorical_crossentropy", "softmax", 2),
    # Classes: from_logits in the constructor, the prediction second in the instance call.
    _keras_cls("keras.losses.BinaryCrossentropy", "sigmoid", 0),
    _keras_cls("keras.losses.CategoricalCrossentropy", "softmax", 0),
    _keras_cls("keras.losses.SparseCategoricalCrossentropy", "softmax", 0),
    _keras_cls("keras.losses.BinaryFocalCrossentropy", "sigmoid", 3, focal=True),
    _keras_cls("keras.losses.CategoricalFocalCrossentropy", "softmax", 2, focal=True),
    # keras.ops: (target, output, from_logits=False, ...)
    _keras_fn("keras.ops.binary_crossentropy", "sigmoid", 2, pred_kw="output"),
    _keras_fn("keras.ops.categorical_crossentropy", "softmax", 2, pred_kw="output"),
    _keras_fn("keras.ops.sparse_categorical_crossentropy", "softmax", 2, pred_kw="output"),
    # K.* (tf.keras.backend / tf_keras.backend; absent from Keras 3's `keras.backend`): (target, output, ...)
    _keras_fn("keras.backend.binary_crossentropy", "sigmoid", 2, KERAS_BACKEND, "output"),
    _keras_fn("keras.backend.categorical_crossentropy", "softmax", 2, KERAS_BACKEND, "output"),
    _keras_fn("keras.backend.sparse_categorical_crossentropy", "softmax", 2, KERAS_BACKEND, "output"),
    _keras_fn("keras.backend.binary_focal_crossentropy", "sigmoid", 5, KERAS_BACKEND, "output", focal=True),
    _keras_fn("keras.backend.categorical_focal_crossentropy", "softmax", 4, KERAS_BACKEND, "output", focal=True),
    # -- TensorFlow core (§A4): (labels, logits, ...) --------------------------------------------------------
    _fixed("tensorflow.nn.sigmoid_cross_entropy_with_logits", LOGITS, "sigmoid", TENSORFLOW, 1, "logits"),
    _fixed("tensorflow.nn.weighted_cross_entropy_with_logits", LOGITS, "sigmoid", TENSORFLOW, 1, "logits"),
    _fixed("tensorflow.nn.softmax_cross_entropy_with_logits", LOGITS, "softmax", TENSORFLOW, 1, "logits"),
    _fixed("tensorflow.nn.softmax_cross_entropy_with_logits_v2", LOGITS, "softmax", TENSORFLOW, 1, "logits"),
    _fixed("tensorflow.nn.sparse_softmax_cross_entropy_with_logits", LOGITS, "softmax", TENSORFLOW, 1, "logits"),
    _fixed("tensorflow.losses.sigmoid_cross_entropy", LOGITS, "sigmoid", TENSORFLOW, 1, "logits"),  # compat.v1
    _fixed("tensorflow.losses.softmax_cross_entropy", LOGITS, "softmax", TENSORFLOW, 1, "logits"),
    _fixed("tensorflow.losses.sparse_softmax_cross_entropy", LOGITS, "softmax", TENSORFLOW, 1, "logits"),
    _fixed("tensorflow.losses.log_loss", PROBS, "sigmoid", TENSORFLOW, 1, "predictions"),
    # -- PyTorch (§A5): (input, target, ...) -----------------------------------------------------------------
    _fixed("torch.nn.functional.binary_cross_entropy_with_logits", LOGITS, "sigmoid", TORCH, 0, "input"),
    _fixed("torch.nn.functional.cross_entropy", LOGITS, "softmax", TORCH, 0, "input"),
    _fixed("torch.nn.functional.multilabel_soft_margin_loss", LOGITS, "sigmoid", TORCH, 0, "input"),
    _fixed("torch.nn.functional.binary_cross_entropy", PROBS, "sigmoid", TORCH, 0, "input"),
    _fixed("torch.nn.functional.nll_loss", LOG_PROBS, "softmax", TORCH, 0, "input"),
    _fixed("torch.nn.BCEWithLogitsLoss", LOGITS, "sigmoid", TORCH, 0, "input", is_class=True),
    _fixed("torch.nn.CrossEntropyLoss", LOGITS, "softmax", TORCH, 0, "input", is_class=True),
    _fixed("torch.nn.MultiLabelSoftMarginLoss", LOGITS, "sigmoid", TORCH, 0, "input", is_class=True),
    _fixed("torch.nn.BCELoss", PROBS, "sigmoid", TORCH, 0, "input", is_class=True),
    _fixed("torch.nn.NLLLoss", LOG_PROBS, "softmax", TORCH, 0, "input", is_class=True),
    _fixed("torchvision.ops.sigmoid_focal_loss", LOGITS, "sigmoid", TORCH, 0, "inputs"),
    # -- Optax (§A6): (logits, labels, ...) ------------------------------------------------------------------
    _fixed("optax.sigmoid_binary_cross_entropy", LOGITS, "sigmoid", OPTAX, 0, "logits"),
    _fixed("optax.sigmoid_focal_loss", LOGITS, "sigmoid", OPTAX, 0, "logits"),
    _fixed("optax.softmax_cross_entropy", LOGITS, "softmax", OPTAX, 0, "logits"),
    _fixed("optax.safe_softmax_cross_entropy", LOGITS, "softmax", OPTAX, 0, "logits"),
    _fixed("optax.softmax_cross_entropy_with_integer_labels", LOGITS, "softmax", OPTAX, 0, "logits"),
    _fixed("optax.poly_loss_cross_entropy", LOGITS, "softmax", OPTAX, 0, "logits"),
]

LOSS_APIS: dict[str, LossAPI] = {row.name: row for row in _ROWS}

# Other spellings of the same objects (ml-api-facts §0: in TF 2.16+ `tf.losses` *is* `tf.keras.losses`;
# `optax.losses.X` is `optax.X`; `torch.nn.modules.loss.X` is `torch.nn.X`).
_PREFIX_ALIASES: tuple[tuple[str, str], ...] = (
    ("tensorflow.metrics.", "keras.metrics."),
    ("optax.losses.", "optax."),
    ("torch.nn.modules.loss.", "torch.nn."),
    ("keras.losses.losses.", "keras.losses."),
)


def loss_api(name: str | None) -> LossAPI | None:
    if name is None:
        return None
    row = LOSS_APIS.get(name)
    if row is not None:
        return row
    if name.startswith("tensorflow.losses."):
        # TF 2.16+: tf.losses.BinaryCrossentropy is keras.losses.BinaryCrossentropy; TF1 names stay TF rows.
        return LOSS_APIS.get("keras.losses." + name[len("tensorflow.losses.") :])
    for prefix, replacement in _PREFIX_ALIASES:
        if name.startswith(prefix):
            return LOSS_APIS.get(replacement + name[len(prefix) :])
    return None


# `compile(loss="...")` strings (keras/src/losses/__init__.py alias dict; tf_keras.losses.get) -> function row.
LOSS_STRINGS: dict[str, str] = {
    "binary_crossentropy": "keras.losses.binary_crossentropy",
    "bce": "keras.losses.binary_crossentropy",
    "BCE": "keras.losses.binary_crossentropy",
    "categorical_crossentropy": "keras.losses.categorical_crossentropy",
    "sparse_categorical_crossentropy": "keras.losses.sparse_categorical_crossentropy",
    "binary_focal_crossentropy": "keras.losses.binary_focal_crossentropy",
    "categorical_focal_crossentropy": "keras.losses.categorical_focal_crossentropy",
}
# The class to write when a fix needs `from_logits=True` on a string or function loss.
LOSS_CLASS_FOR: dict[str, str] = {
    "keras.losses.binary_crossentropy": "keras.losses.BinaryCrossentropy",
    "keras.losses.categorical_crossentropy": "keras.losses.CategoricalCrossentropy",
    "keras.losses.sparse_categorical_crossentropy": "keras.losses.SparseCategoricalCrossentropy",
    "keras.losses.binary_focal_crossentropy": "keras.losses.BinaryFocalCrossentropy",
    "keras.losses.categorical_focal_crossentropy": "keras.losses.CategoricalFocalCrossentropy",
    "keras.metrics.binary_crossentropy": "keras.losses.BinaryCrossentropy",
    "keras.metrics.categorical_crossentropy": "keras.losses.CategoricalCrossentropy",
    "keras.metrics.sparse_categorical_crossentropy": "keras.losses.SparseCategoricalCrossentropy",
}
# Probability (or log-probability) APIs and the API that takes logits instead (EPS302 fixes, torch).
LOGITS_TWIN: dict[str, str] = {
    "torch.nn.functional.binary_cross_entropy": "torch.nn.functional.binary_cross_entropy_with_logits",
    "torch.nn.BCELoss": "torch.nn.BCEWithLogitsLoss",
    "torch.nn.functional.nll_loss": "torch.nn.functional.cross_entropy",  # nll_loss(log_softmax(x)) == cross_entropy(x)
    "torch.nn.NLLLoss": "torch.nn.CrossEntropyLoss",
}
# `Model.compile(optimizer="rmsprop", loss=None, ...)`: loss is the second parameter (Keras 2 and 3).
COMPILE_LOSS_POS = 1

# -- Model building vocabulary (rules/analysis/models.py) -------------------------------------------------
KERAS_SEQUENTIAL = frozenset({"keras.Sequential", "keras.models.Sequential"})
KERAS_MODEL = frozenset({"keras.Model", "keras.models.Model"})
TORCH_SEQUENTIAL = frozenset({"torch.nn.Sequential"})
TORCH_MODULE_BASES = frozenset({"torch.nn.Module", "torch.nn.modules.module.Module", "pytorch_lightning.LightningModule", "lightning.LightningModule", "lightning.pytorch.LightningModule"})
# Layers with an `activation` parameter (linear when absent) and its positional index, if it can be positional.
KERAS_LAYERS_WITH_ACTIVATION: dict[str, int | None] = {
    "Dense": 1,
    "EinsumDense": None,
    "Conv1D": None,
    "Conv2D": None,
    "Conv3D": None,
    "Conv1DTranspose": None,
    "Conv2DTranspose": None,
    "Conv3DTranspose": None,
    "SeparableConv1D": None,
    "SeparableConv2D": None,
    "DepthwiseConv1D": None,
    "DepthwiseConv2D": None,
}
# Layers that do not change whether a value is a logit or a probability (looked through).
# Note: on the TF backend a Reshape after the activation defeats Keras's logit recovery (§B3).
KERAS_PASS_THROUGH_LAYERS = frozenset({"Dropout", "Flatten", "Reshape", "Identity", "Permute", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "ActivityRegularization"})
# Activation layers whose activation is fixed by the class.
KERAS_ACTIVATION_LAYERS: dict[str, str] = {"Softmax": "softmax", "ReLU": "other", "LeakyReLU": "other", "ELU": "other", "PReLU": "other"}
# `activation=` strings (keras.activations.get) and what they produce.
ACTIVATION_STRINGS: dict[str, str] = {"sigmoid": "sigmoid", "softmax": "softmax", "linear": "linear"}
# torch.nn modules that are activations (last element of nn.Sequential, `self.act = nn.Sigmoid()`).
TORCH_ACTIVATION_MODULES: dict[str, str] = {"torch.nn.Sigmoid": "sigmoid", "torch.nn.Softmax": "softmax", "torch.nn.LogSoftmax": "log_softmax", "torch.nn.LogSigmoid": "log_sigmoid"}
TORCH_LINEAR_MODULES = frozenset({"torch.nn.Linear", "torch.nn.LazyLinear", "torch.nn.Bilinear"})
TORCH_PASS_THROUGH_MODULES = frozenset({"torch.nn.Dropout", "torch.nn.Flatten", "torch.nn.Identity", "torch.nn.Unflatten"})
# Log-activations: their outputs are log-probabilities (fine for nll_loss / kl_div).
LOG_ACTIVATIONS: dict[str, str] = {
    "tensorflow.math.log_sigmoid": "log_sigmoid",
    "tensorflow.nn.log_softmax": "log_softmax",
    "tensorflow.math.log_softmax": "log_softmax",
    "keras.ops.log_sigmoid": "log_sigmoid",
    "keras.ops.log_softmax": "log_softmax",
    "torch.nn.functional.logsigmoid": "log_sigmoid",
    "torch.nn.functional.log_softmax": "log_softmax",
    "torch.log_softmax": "log_softmax",
    "torch.special.log_softmax": "log_softmax",
    "jax.nn.log_sigmoid": "log_sigmoid",
    "jax.nn.log_softmax": "log_softmax",
}
# Producers of probabilities whose output carries `_keras_logits` on Keras's TF backend (§B1): Keras's own
# activations. `tf.sigmoid`, torch, JAX, SciPy and NumPy outputs do not.
KERAS_RESCUABLE_PRODUCERS = frozenset({"keras.activations", "keras"})
# `exp` functions for the hand-written sigmoid `1 / (1 + exp(-x))` (NumPy has no sigmoid).
EXP_FUNCTIONS = frozenset({"numpy.exp", "tensorflow.math.exp", "tensorflow.exp", "torch.exp", "jax.numpy.exp", "keras.ops.exp", "math.exp"})

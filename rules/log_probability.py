"""EPS201: log of a probability that can be exactly 0 (or `log(1 - p)` of one that can be exactly 1)."""

from __future__ import annotations

from dataclasses import replace

from lint_eps.lazy import libcst as cst

from lint_eps.context import FileContext
from lint_eps.nodes import strip_parens
from lint_eps.prefilter import FileText, mentions, writes_identifier
from lint_eps.rule import Invalid, Replacement, Rule

from .analysis.provenance import (
    PROBABILITY,
    RATIO,
    LogCall,
    Provenance,
    analysis_for,
    discarded_guards,
    complement_operand,
    compares_operand,
    log_call,
    logit_transform,
)
from .analysis.repairs import repaired_after
from .analysis.roles import Role, add_state_writers, function_role, passes_to_compile
from .log_activation import LogOfActivation
from .tables.probabilities import CLIP_FOR, DEFAULT_EPSILON_LITERAL, EPSILON_FOR, WHERE_FUNCTIONS

_EPSILON_PARAM_NAMES = ("eps", "epsilon")


# -- shared with EPS203 -----------------------------------------------------------------------------------------
def epsilon_text(context: FileContext, family: str) -> str:
    """How this file writes the framework's epsilon: `K.epsilon()`, `keras.config.epsilon()`, the function's own
    `eps`/`epsilon` parameter, or the Keras default 1e-7 as a literal."""
    for qualname in EPSILON_FOR.get(family, ()):
        spelled = context.spell(qualname)
        if spelled:
            return f"{spelled}()"
    function = context.function
    if function is not None:
        for name in _EPSILON_PARAM_NAMES:
            if function.param(name) is not None:
                return name
    return DEFAULT_EPSILON_LITERAL


def clip_text(context: FileContext, family: str, operand: cst.BaseExpression, *, method: bool = False) -> str | None:
    """`operand` clipped to [eps, 1 - eps] in the framework's own spelling, or None when the file cannot spell it."""
    eps = epsilon_text(context, family)
    code = context.code(strip_parens(operand))
    if method:  # torch tensor method
        receiver = context.code(operand) if isinstance(strip_parens(operand), (cst.Name, cst.Attribute, cst.Call, cst.Subscript)) or getattr(operand, "lpar", None) else f"({code})"
        return f"{receiver}.clamp({eps}, 1 - {eps})"
    target = CLIP_FOR.get(family)
    spelled = context.spell(target) if target else None
    if spelled is None:
        return None
    return f"{spelled}({code}, {eps}, 1 - {eps})"


def brief(context: FileContext, node: cst.CSTNode, limit: int = 60) -> str:
    text = " ".join(context.code(node).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_ZERO_WHY = {
    "sigmoid": "sigmoid(x) underflows to 0 below x ≈ -88.7 in float32, -17.3 in float16",
    "softmax": "softmax gives exactly 0 to any class whose logit is ~104 below the largest in float32",
    "prediction": "a saturated sigmoid/softmax output is exactly 0",
    "ratio": "it is 0 whenever the boxes or masks do not overlap",
}
_ONE_WHY = {
    "sigmoid": "sigmoid(x) rounds to 1 from x ≈ 16.6 in float32, 8.3 in float16",
    "softmax": "softmax rounds to 1 once one logit leads the others by ~17 in float32",
    "prediction": "a saturated sigmoid/softmax output is exactly 1",
    "ratio": "it is 1 when the boxes or masks coincide",
}


def consequence(role: Role | None, family: str) -> str:
    what = "the metric" if role is not None and role.is_metric else "the loss" if role is not None else "a loss or metric built on it"
    if family == "math":
        return "and `math.log(0)` raises `ValueError: math domain error`"
    if family == "numpy":
        return f"so `np.log` returns -inf with only a RuntimeWarning and {what} is inf, or NaN where a zero label multiplies it (0 · -inf)"
    if role is not None and role.is_metric and not role.differentiable:
        return "so log(0) = -inf and the metric is inf, or NaN where a zero label multiplies it (0 · -inf)"
    if role is not None:
        text = (
            "so log(0) = -inf: the loss is inf (NaN where a zero label multiplies it, 0 · -inf), its gradient is "
            "NaN, and the next optimizer step writes NaN into the weights"
        )
    else:
        text = "so log(0) = -inf, and a loss or metric built on it is inf or NaN, and so is its gradient"
    if family == "torch":
        text += " (unlike `F.binary_cross_entropy`, which floors each log at -100, `torch.log` has no floor)"
    return text


def _subject(code: str, value: Provenance) -> str:
    """"`y_pred`, the prediction passed to `bce`," / "`p_t` (from the output of `tf.sigmoid`)"."""
    if not value.origin:
        return f"`{code}`"
    if value.origin.startswith(f"`{code}`"):
        return value.origin + ("," if "," in value.origin else "")
    return f"`{code}` (from {value.origin})"


_LOG_NAMES = ("log", "log2", "log10", "log1p")


def _state_writers(text: FileText) -> set[int]:
    """The methods that write the `self.x` a method taking a log reads (a probability kept in state, issue 11)."""

    def compute() -> set[int]:
        outermost = text.outermost or []
        needed = {f.start for f in outermost if mentions(text, f, *_LOG_NAMES)}
        before = set(needed)
        add_state_writers(text, needed)
        return needed - before

    return text.memo("eps201.state_writers", compute)


# Issue 12: values across function, class and module boundaries (VALID/INVALID examples below).
_ISSUE12_FUNCTION_RESULT = (
    'import tensorflow as tf\n'
    '\n'
    '\n'
    'def discriminator(x, w, b):\n'
    '    h = tf.matmul(x, w) + b\n'
    '    return tf.nn.sigmoid(h)\n'
    '\n'
    '\n'
    'def d_loss(real, fake, w, b):\n'
    '    return -tf.reduce_mean(tf.math.log(discriminator(real, w, b)) + tf.math.log(1 - discriminator(fake, w, b)))\n'
)
_ISSUE12_FUNCTION_RESULT_FIXED = (
    'import tensorflow as tf\n'
    '\n'
    '\n'
    'def discriminator(x, w, b):\n'
    '    h = tf.matmul(x, w) + b\n'
    '    return tf.nn.sigmoid(h)\n'
    '\n'
    '\n'
    'def d_loss(real, fake, w, b):\n'
    '    return -tf.reduce_mean(tf.math.log(tf.clip_by_value(discriminator(real, w, b), 1e-7, 1 - 1e-7)) + tf.math.log(1 - tf.clip_by_value(discriminator(fake, w, b), 1e-7, 1 - 1e-7)))\n'
)
_ISSUE12_ACTIVATION_ARGUMENT = (
    'import tensorflow as tf\n'
    '\n'
    '\n'
    'def add_layer(inputs, w, b, activation_function=None):\n'
    '    z = tf.matmul(inputs, w) + b\n'
    '    if activation_function is None:\n'
    '        return z\n'
    '    return activation_function(z)\n'
    '\n'
    '\n'
    'def cross_entropy(xs, ys, w, b):\n'
    '    prediction = add_layer(xs, w, b, activation_function=tf.nn.softmax)\n'
    '    return tf.reduce_mean(-tf.reduce_sum(ys * tf.math.log(prediction), axis=1))\n'
)
_ISSUE12_ACTIVATION_ARGUMENT_FIXED = (
    'import tensorflow as tf\n'
    '\n'
    '\n'
    'def add_layer(inputs, w, b, activation_function=None):\n'
    '    z = tf.matmul(inputs, w) + b\n'
    '    if activation_function is None:\n'
    '        return z\n'
    '    return activation_function(z)\n'
    '\n'
    '\n'
    'def cross_entropy(xs, ys, w, b):\n'
    '    prediction = add_layer(xs, w, b, activation_function=tf.nn.softmax)\n'
    '    return tf.reduce_mean(-tf.reduce_sum(ys * tf.math.log(tf.clip_by_value(prediction, 1e-7, 1 - 1e-7)), axis=1))\n'
)
_ISSUE12_ATTRIBUTE = (
    'import tensorflow as tf\n'
    '\n'
    '\n'
    'class TextCNN:\n'
    '    def build(self, scores):\n'
    '        self.probs = tf.nn.softmax(scores)\n'
    '\n'
    '    def add_loss(self, labels):\n'
    '        self.loss = -tf.reduce_sum(labels * tf.math.log(self.probs))\n'
)
_ISSUE12_ATTRIBUTE_FIXED = (
    'import tensorflow as tf\n'
    '\n'
    '\n'
    'class TextCNN:\n'
    '    def build(self, scores):\n'
    '        self.probs = tf.nn.softmax(scores)\n'
    '\n'
    '    def add_loss(self, labels):\n'
    '        self.loss = -tf.reduce_sum(labels * tf.math.log(tf.clip_by_value(self.probs, 1e-7, 1 - 1e-7)))\n'
)
_ISSUE12_MODULE_OBJECT = (
    'import torch\n'
    'from torch import nn\n'
    '\n'
    '\n'
    'class PolicyNet(nn.Module):\n'
    '    def __init__(self):\n'
    '        super().__init__()\n'
    '        self.body = nn.Sequential(nn.Linear(4, 2), nn.Softmax(dim=-1))\n'
    '\n'
    '    def forward(self, x):\n'
    '        return self.body(x)\n'
    '\n'
    '\n'
    'def policy_loss(states, actions, returns):\n'
    '    net = PolicyNet()\n'
    '    log_probs = torch.log(net(states)).gather(1, actions)\n'
    '    return -(log_probs * returns).mean()\n'
)
_ISSUE12_MODULE_OBJECT_FIXED = (
    'import torch\n'
    'from torch import nn\n'
    '\n'
    '\n'
    'class PolicyNet(nn.Module):\n'
    '    def __init__(self):\n'
    '        super().__init__()\n'
    '        self.body = nn.Sequential(nn.Linear(4, 2), nn.Softmax(dim=-1))\n'
    '\n'
    '    def forward(self, x):\n'
    '        return self.body(x)\n'
    '\n'
    '\n'
    'def policy_loss(states, actions, returns):\n'
    '    net = PolicyNet()\n'
    '    log_probs = torch.log(torch.clamp(net(states), 1e-7, 1 - 1e-7)).gather(1, actions)\n'
    '    return -(log_probs * returns).mean()\n'
)
_ISSUE12_ANNOTATED = (
    'import torch\n'
    'from torch import nn\n'
    '\n'
    '\n'
    'class Discriminator(nn.Module):\n'
    '    def __init__(self):\n'
    '        super().__init__()\n'
    '        self.fc = nn.Linear(8, 1)\n'
    '\n'
    '    def forward(self, x):\n'
    '        return torch.sigmoid(self.fc(x))\n'
    '\n'
    '\n'
    'def d_step(disc: Discriminator, real):\n'
    '    return -torch.log(disc(real)).mean()\n'
)
_ISSUE12_ANNOTATED_FIXED = (
    'import torch\n'
    'from torch import nn\n'
    '\n'
    '\n'
    'class Discriminator(nn.Module):\n'
    '    def __init__(self):\n'
    '        super().__init__()\n'
    '        self.fc = nn.Linear(8, 1)\n'
    '\n'
    '    def forward(self, x):\n'
    '        return torch.sigmoid(self.fc(x))\n'
    '\n'
    '\n'
    'def d_step(disc: Discriminator, real):\n'
    '    return -torch.log(torch.clamp(disc(real), 1e-7, 1 - 1e-7)).mean()\n'
)
_ISSUE12_MODULE_LEVEL_MODEL = (
    'import torch\n'
    'from torch import nn\n'
    '\n'
    'net = nn.Sequential(nn.Linear(4, 1), nn.Sigmoid())\n'
    '\n'
    '\n'
    'def loss(x, y):\n'
    '    return -(y * torch.log(net(x))).mean()\n'
)
_ISSUE12_MODULE_LEVEL_MODEL_FIXED = (
    'import torch\n'
    'from torch import nn\n'
    '\n'
    'net = nn.Sequential(nn.Linear(4, 1), nn.Sigmoid())\n'
    '\n'
    '\n'
    'def loss(x, y):\n'
    '    return -(y * torch.log(torch.clamp(net(x), 1e-7, 1 - 1e-7))).mean()\n'
)
_ISSUE12_VALID = (
    'import tensorflow as tf\n'
    'import torch\n'
    '\n'
    '\n'
    'def safe_probs(z):\n'
    '    return tf.clip_by_value(tf.nn.softmax(z), 1e-7, 1 - 1e-7)\n'
    '\n'
    '\n'
    'def nll(y, z):\n'
    '    return -tf.reduce_sum(y * tf.math.log(safe_probs(z)))\n'
    '\n'
    '\n'
    'def d_step(disc, real):\n'
    '    return -torch.log(disc(real)).mean()\n'
)

class LogOfProbability(Rule):
    code = "EPS201"
    name = "log-of-unclipped-probability"
    summary = "Log of a probability that can be exactly 0: clip it to [eps, 1 - eps] first"
    fixable = "sometimes"
    triggers = (b"log",)
    # The identifier itself, wherever it is spelled: a call `np.log(p)`, a method `p.log()`, and an import or alias
    # (`from numpy import log as ln`) that any other spelling of the call needs.
    prefilter = staticmethod(writes_identifier("log", "log2", "log10", "log1p"))
    # Per function: the functions that write the identifier, and those that may pass a function to compile
    # (`function_role` reads every compile call).
    needs_function = staticmethod(
        lambda text, function: mentions(text, function, *_LOG_NAMES) or passes_to_compile(text, function) or function.start in _state_writers(text)
    )
    specificity = 30
    docs = """
    ## What it does
    Finds `log`, `log2`, `log10` (TensorFlow, Keras `ops`/`K`, PyTorch including `p.log()`, NumPy, JAX, `math`)
    of a value that can be exactly 0, and `log(1 - p)` / `log1p(-p)` of one that can be exactly 1, with no clip,
    `maximum` or epsilon on the way:

    - the prediction of a loss or metric (`y_pred`, `output`, `probs`, the second parameter of a
      `(y_true, y_pred)` function), followed through reassignments, indexing, `gather`, casts and `where`;
    - the output of a sigmoid or softmax, anywhere, when it reaches the log other than as plain
      `log(sigmoid(x))` (that is EPS202): `log(sigmoid(x) * w)`, `log(probs[range(n), target])`, `log(p_t)`
      of a focal loss;
    - an overlap ratio in [0, 1] such as an IoU (`-log(iou)`), in metric or loss code.

    A clip or `maximum` two lines above the log, `log(p + eps)`, `xlogy`, `log1p(p)`, `where(p > 0, …)` around
    the log (EPS103's business in differentiated code), `np.log(p, where=p > 0)` and in-place `p.clamp_(…)` all
    count as guards. `log(1 - p)` needs a bound below 1: `clip(p, eps, 1 - eps)` covers both logs, `p + eps` and
    `maximum(p, eps)` only `log(p)`. Parameters named like logits are not probabilities.

    ## Why is this bad?
    A float32 sigmoid is exactly 0 below x ≈ -88.7 and exactly 1 above x ≈ 16.6; a softmax gives exactly 0 to
    a class about 104 below the top logit; an IoU is 0 for boxes that do not overlap. Then `log(0) = -inf`: the
    loss is `inf`, or `NaN` where a zero label multiplies the log (`0 · -inf`); the gradient of `log` at 0 is
    `inf`, it becomes `NaN` on the way back, and one optimizer step writes NaN into every weight. A metric
    computed with NumPy silently turns into `inf`/`nan` with only a `RuntimeWarning`.
    `tf.math.multiply_no_nan(tf.math.log(p), y)` repairs the forward value only: its gradient is still NaN
    (measured, TF 2.21). PyTorch's `F.binary_cross_entropy` floors each log at -100, so it never returns inf —
    a hand-written `torch.log(p)` has no such floor.

    ## Example
    ```python
    import tensorflow as tf

    def focal_loss(y_true, y_pred, gamma=2.0):
        p_t = tf.where(tf.equal(y_true, 1.0), y_pred, 1.0 - y_pred)
        return -tf.reduce_mean((1.0 - p_t) ** gamma * tf.math.log(p_t))
    ```

    ## Use instead
    ```python
    import tensorflow as tf
    from tensorflow.keras import backend as K

    def focal_loss(y_true, y_pred, gamma=2.0):
        y_pred = tf.clip_by_value(y_pred, K.epsilon(), 1.0 - K.epsilon())
        p_t = tf.where(tf.equal(y_true, 1.0), y_pred, 1.0 - y_pred)
        return -tf.reduce_mean((1.0 - p_t) ** gamma * tf.math.log(p_t))
    ```
    Better still, keep the logits and use `log_sigmoid`/`log_softmax` or a `from_logits=True` loss.

    ## Fix safety
    The fix is unsafe: clipping to [eps, 1 - eps] changes the value (the loss is bounded by -log(eps) ≈ 16.1
    for eps = 1e-7) and zeroes the gradient outside the clip range. It clips the probability in the
    framework's own spelling — `tf.clip_by_value`, `K.clip`, `keras.ops.clip`, `torch.clamp` / `p.clamp`,
    `np.clip`, `jnp.clip` — with `K.epsilon()` / `keras.config.epsilon()` where the file imports them, the
    function's own `eps` parameter, or 1e-7. It is offered only when the value is known to lie in [0, 1] and
    the clip can be spelled with the file's imports (never for `math.log`). In float16/bfloat16, 1 - 1e-7
    rounds to 1, so the upper bound then needs a larger epsilon (EPS403).
    """

    VALID = [
        # Issue 12: a helper that clips its softmax; an untyped parameter is unknown.
        _ISSUE12_VALID,
        # Clipped two lines above the log (the Keras backend's own idiom).
        "import tensorflow as tf\nfrom tensorflow.keras import backend as K\n\n"
        "def bce(y_true, y_pred):\n    y_pred = tf.clip_by_value(y_pred, K.epsilon(), 1.0 - K.epsilon())\n"
        "    return -tf.reduce_mean(y_true * tf.math.log(y_pred) + (1.0 - y_true) * tf.math.log(1.0 - y_pred))\n",
        # Epsilon inside the log (tf.compat.v1.losses.log_loss).
        "import tensorflow as tf\n\ndef log_loss(labels, predictions, epsilon=1e-7):\n"
        "    return -labels * tf.math.log(predictions + epsilon) - (1 - labels) * tf.math.log(1 - predictions + epsilon)\n",
        # The selection keeps only the nonzero values, through a named mask (pytorch-metric-learning's NCA loss).
        "import torch\n\ndef nca_loss(mat, same_labels):\n    exp = torch.sum(torch.softmax(mat, dim=1) * same_labels, dim=1)\n"
        "    non_zero = exp != 0\n    return -torch.log(exp[non_zero]).mean()\n",
        # A maximum floor guards log(p).
        "import numpy as np\n\ndef nll_metric(y_true, y_pred):\n    return -np.mean(y_true * np.log(np.maximum(y_pred, 1e-15)))\n",
        # xlogy and log1p(p) cannot produce log(0) of a probability.
        "import torch\n\ndef kl_loss(target, probs):\n    return (torch.xlogy(target, target) - target * torch.log1p(probs)).sum()\n",
        # Poisson rate with a fuzz factor (keras.losses.poisson).
        "from keras import ops\nfrom keras import backend\n\ndef poisson(y_true, y_pred):\n"
        "    return ops.mean(y_pred - y_true * ops.log(y_pred + backend.epsilon()), axis=-1)\n",
        # In-place clamp before the log.
        "import torch\n\ndef nll_loss(probs, target):\n    probs.clamp_(1e-6, 1 - 1e-6)\n"
        "    return -torch.log(probs.gather(1, target[:, None])).mean()\n",
        # Logits are not probabilities; this is not loss code either.
        "import torch\n\ndef scale(logits):\n    return torch.log(logits)\n",
        # A select on the value itself: forward-safe (EPS103 judges the gradient).
        "import numpy as np\n\ndef entropy_metric(y_true, y_pred):\n"
        "    return -np.sum(np.where(y_pred > 0, y_pred * np.log(y_pred), 0.0))\n",
        # Not metric or loss code, and not a known probability.
        "import numpy as np\n\ndef log_prices(p):\n    return np.log(p)\n",
        # Exactly EPS202's pattern: reported as EPS202, not twice.
        "import tensorflow as tf\n\ndef bce(y_true, logits):\n    return -tf.math.log(tf.sigmoid(logits))\n",
        # Clipped below and above: log(1 - p) is safe too.
        "import jax.numpy as jnp\n\ndef bce_loss(y, p):\n    p = jnp.clip(p, 1e-7, 1 - 1e-7)\n"
        "    return -(y * jnp.log(p) + (1 - y) * jnp.log(1 - p)).mean()\n",
        # Issue 11, a repaired NaN outside loss code: the -inf is replaced before anything uses it.
        "import torch\n\nclass WatermarkLogitsProcessor:\n    def update_scores(self, scores, g_values):\n"
        "        probs = torch.softmax(scores, dim=1)\n        probs = probs * (1 + g_values - (g_values * probs).sum(1, keepdim=True))\n"
        "        log_probs = torch.log(probs)\n"
        "        return torch.where(torch.isfinite(log_probs), log_probs, torch.finfo(log_probs.dtype).min)\n",
        # Issue 11, probabilities kept in state, floored before the log.
        "import torch\nfrom torchmetrics import Metric\n\nclass PredictiveEntropy(Metric):\n    def __init__(self, num_classes):\n"
        "        super().__init__()\n        self.add_state('prob_sum', default=torch.zeros(num_classes), dist_reduce_fx='sum')\n"
        "        self.add_state('count', default=torch.tensor(0), dist_reduce_fx='sum')\n\n    def update(self, logits):\n"
        "        self.prob_sum += torch.softmax(logits, dim=-1).sum(0)\n        self.count += logits.shape[0]\n\n"
        "    def compute(self):\n        mean_probs = self.prob_sum / self.count\n"
        "        return -(mean_probs * torch.log(mean_probs.clamp(min=1e-12))).sum()\n",
    ]
    INVALID = [
        # Issue 12, function results: a sigmoid returned by `discriminator()`, logged in `d_loss`.
        Invalid(_ISSUE12_FUNCTION_RESULT, _ISSUE12_FUNCTION_RESULT_FIXED, count=2),
        # Issue 12: the softmax the caller passes as `activation_function`.
        Invalid(_ISSUE12_ACTIVATION_ARGUMENT, _ISSUE12_ACTIVATION_ARGUMENT_FIXED),
        # Issue 12, attributes: `self.probs` set in `build()`, logged in `add_loss()`.
        Invalid(_ISSUE12_ATTRIBUTE, _ISSUE12_ATTRIBUTE_FIXED),
        # Issue 12, models: a local instance of a module class whose forward ends in a softmax.
        Invalid(_ISSUE12_MODULE_OBJECT, _ISSUE12_MODULE_OBJECT_FIXED),
        # Issue 12, models: a parameter annotated with the module class.
        Invalid(_ISSUE12_ANNOTATED, _ISSUE12_ANNOTATED_FIXED),
        # Issue 12, models: a module-level `nn.Sequential` ending in a sigmoid.
        Invalid(_ISSUE12_MODULE_LEVEL_MODEL, _ISSUE12_MODULE_LEVEL_MODEL_FIXED),
        # Issue 11, probabilities kept in state: a running sum of softmax outputs over a count is a probability.
        Invalid(
            "import torch\nfrom torchmetrics import Metric\n\nclass PredictiveEntropy(Metric):\n    def __init__(self, num_classes):\n"
            "        super().__init__()\n        self.add_state('prob_sum', default=torch.zeros(num_classes), dist_reduce_fx='sum')\n"
            "        self.add_state('count', default=torch.tensor(0), dist_reduce_fx='sum')\n\n    def update(self, logits):\n"
            "        self.prob_sum += torch.softmax(logits, dim=-1).sum(0)\n        self.count += logits.shape[0]\n\n"
            "    def compute(self):\n        mean_probs = self.prob_sum / self.count\n"
            "        return -(mean_probs * torch.log(mean_probs)).sum()\n",
            None,  # a sum of probabilities need not stay in [0, 1]: no clip to offer
        ),
        # An aliased import: the prefilter must still let the file through (no fix: numpy itself is not imported).
        Invalid("from numpy import log as ln\n\ndef log_loss(y_true, y_pred):\n    return -(y_true * ln(y_pred)).mean()\n", None),
        # A hand-written Keras focal loss.
        Invalid(
            "import tensorflow as tf\n\ndef focal_loss(y_true, y_pred, gamma=2.0):\n"
            "    p_t = tf.where(tf.equal(y_true, 1.0), y_pred, 1.0 - y_pred)\n"
            "    return -tf.reduce_mean((1.0 - p_t) ** gamma * tf.math.log(p_t))\n",
            "import tensorflow as tf\n\ndef focal_loss(y_true, y_pred, gamma=2.0):\n"
            "    p_t = tf.where(tf.equal(y_true, 1.0), y_pred, 1.0 - y_pred)\n"
            "    return -tf.reduce_mean((1.0 - p_t) ** gamma * tf.math.log(tf.clip_by_value(p_t, 1e-7, 1 - 1e-7)))\n",
        ),
        # Binary cross-entropy by hand, with K.
        Invalid(
            "from tensorflow.keras import backend as K\n\ndef bce(y_true, y_pred):\n"
            "    return -K.mean(y_true * K.log(y_pred) + (1 - y_true) * K.log(1 - y_pred))\n",
            "from tensorflow.keras import backend as K\n\ndef bce(y_true, y_pred):\n"
            "    return -K.mean(y_true * K.log(K.clip(y_pred, K.epsilon(), 1 - K.epsilon())) + (1 - y_true) * K.log(1 - K.clip(y_pred, K.epsilon(), 1 - K.epsilon())))\n",
            count=2,
        ),
        # A torch NLL written by hand on softmax probabilities.
        Invalid(
            "import torch\n\ndef nll(logits, target):\n    probs = torch.softmax(logits, dim=1)\n"
            "    picked = probs[torch.arange(len(target)), target]\n    return -torch.log(picked).mean()\n",
            "import torch\n\ndef nll(logits, target):\n    probs = torch.softmax(logits, dim=1)\n"
            "    picked = probs[torch.arange(len(target)), target]\n    return -torch.log(torch.clamp(picked, 1e-7, 1 - 1e-7)).mean()\n",
        ),
        # A NumPy log-loss metric.
        Invalid(
            "import numpy as np\n\ndef logloss_score(y_true, y_pred):\n"
            "    return -np.mean(y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred))\n",
            "import numpy as np\n\ndef logloss_score(y_true, y_pred):\n"
            "    return -np.mean(y_true * np.log(np.clip(y_pred, 1e-7, 1 - 1e-7)) + (1 - y_true) * np.log(1 - np.clip(y_pred, 1e-7, 1 - 1e-7)))\n",
            count=2,
        ),
        # Clipped only below: log(p) is safe, log(1 - p) is not.
        Invalid(
            "import tensorflow as tf\n\ndef bce(y_true, y_pred):\n    y_pred = tf.maximum(y_pred, 1e-7)\n"
            "    return -(y_true * tf.math.log(y_pred) + (1 - y_true) * tf.math.log(1 - y_pred))\n",
            "import tensorflow as tf\n\ndef bce(y_true, y_pred):\n    y_pred = tf.maximum(y_pred, 1e-7)\n"
            "    return -(y_true * tf.math.log(y_pred) + (1 - y_true) * tf.math.log(1 - tf.clip_by_value(y_pred, 1e-7, 1 - 1e-7)))\n",
        ),
        # A weighted sigmoid: not EPS202's exact pattern, still log(0).
        Invalid(
            "import torch\n\nweights = torch.ones(3)\nscore = torch.log(torch.sigmoid(z) * weights)\n",
            None,  # sigmoid(z) * weights is not known to lie in [0, 1]
        ),
        # multiply_no_nan fixes the forward value only; the gradient of log(0) is still NaN.
        Invalid(
            "import tensorflow as tf\n\ndef xent_loss(y_true, y_pred):\n"
            "    return -tf.reduce_sum(tf.math.multiply_no_nan(tf.math.log(y_pred), y_true))\n",
            "import tensorflow as tf\n\ndef xent_loss(y_true, y_pred):\n"
            "    return -tf.reduce_sum(tf.math.multiply_no_nan(tf.math.log(tf.clip_by_value(y_pred, 1e-7, 1 - 1e-7)), y_true))\n",
        ),
        # IoU loss (UnitBox): -log(iou) is inf for boxes that do not overlap.
        Invalid(
            "import torch\n\ndef iou_loss(pred, target):\n    inter = (torch.min(pred, target)).prod(dim=1)\n"
            "    union = pred.prod(dim=1) + target.prod(dim=1) - inter\n    iou = inter / union\n    return -torch.log(iou).mean()\n",
            "import torch\n\ndef iou_loss(pred, target):\n    inter = (torch.min(pred, target)).prod(dim=1)\n"
            "    union = pred.prod(dim=1) + target.prod(dim=1) - inter\n    iou = inter / union\n    return -torch.log(torch.clamp(iou, 1e-7, 1 - 1e-7)).mean()\n",
        ),
        # Keras 3 ops, torch-style method, log1p(-p): all the same mistake.
        Invalid(
            "import keras\nfrom keras import ops\n\nclass Focal(keras.losses.Loss):\n    def call(self, y_true, y_pred):\n"
            "        return -ops.mean(y_true * ops.log1p(-y_pred))\n",
            "import keras\nfrom keras import ops\n\nclass Focal(keras.losses.Loss):\n    def call(self, y_true, y_pred):\n"
            "        return -ops.mean(y_true * ops.log1p(-ops.clip(y_pred, keras.config.epsilon(), 1 - keras.config.epsilon())))\n",
        ),
        Invalid(
            "import torch\n\nclass BCELoss(torch.nn.Module):\n    def forward(self, input, target):\n"
            "        return -(target * input.log() + (1 - target) * (1 - input).log()).mean()\n",
            "import torch\n\nclass BCELoss(torch.nn.Module):\n    def forward(self, input, target):\n"
            "        return -(target * input.clamp(1e-7, 1 - 1e-7).log() + (1 - target) * (1 - input).clamp(1e-7, 1 - 1e-7).log()).mean()\n",
            count=2,
        ),
        # A mask on something else (the labels) leaves the underflowed zeros in.
        Invalid(
            "import torch\n\ndef nca_loss(mat, same_labels, labels):\n    exp = torch.sum(torch.softmax(mat, dim=1) * same_labels, dim=1)\n"
            "    labelled = labels > 0\n    return -torch.log(exp[labelled]).mean()\n",
            None,
        ),
        # math.log: the finding stands, but there is no clip to spell.
        Invalid(
            "import math\n\ndef log_loss(y, p):\n    return -(y * math.log(p) + (1 - y) * math.log(1 - p))\n",
            None,
            count=2,
        ),
    ]

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self._eps202 = LogOfActivation(context)
        self._logit_logs: set[int] = set()  # log calls that are part of a logit transform (EPS203's)
        self._selects: list[cst.BaseExpression] = []  # conditions of the enclosing where/if-expressions

    # -- traversal ------------------------------------------------------------------------------------------
    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        transform = logit_transform(node, self.context)
        if transform is not None:
            self._logit_logs.update(id(call) for call in transform.log_calls)

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._selects.append(node.test)

    def leave_IfExp(self, original_node: cst.IfExp) -> None:
        self._selects.pop()

    def leave_Call(self, original_node: cst.Call) -> None:
        if self.context.callee(original_node) in WHERE_FUNCTIONS and original_node.args:
            self._selects.pop()

    def visit_Call(self, node: cst.Call) -> None:
        if self.context.callee(node) in WHERE_FUNCTIONS and node.args:
            self._selects.append(node.args[0].value)
            return
        log = log_call(node, self.context)
        if log is None or id(node) in self._logit_logs:
            return
        if logit_transform(node, self.context) is not None:
            return  # EPS203
        if not log.complement and self._eps202.is_log_of_activation(node):
            return  # EPS202
        if any(compares_operand(condition, [log.operand], self.context) for condition in self._selects):
            return  # where(p > 0, log(p), 0): forward-safe; the gradient is EPS103's
        self._check(log)

    # -- the check ------------------------------------------------------------------------------------------
    def _check(self, log: LogCall) -> None:
        analysis = analysis_for(self.context)
        if log.complement:
            inner = analysis.of(log.operand)
            value = replace(inner, zero=inner.one, one=inner.zero)
            complement_of: cst.BaseExpression | None = log.operand
        else:
            value = analysis.of(log.operand)
            complement_of = complement_operand(log.operand)
        if value.kind not in (PROBABILITY, RATIO) or not value.zero:
            return
        role = function_role(self.context)
        if value.needs_role and role is None:
            return
        if (role is None or not role.differentiable) and repaired_after(log.call, self.context):
            return  # `where(isfinite(r), r, c)` later: outside loss code only the repaired value matters
        self.report(
            log.call,
            self._short_message(log, value, complement_of),
            fix=self._fix(log, value, complement_of),
            related=self._related(value, log),
            details=self._message(log, value, complement_of, role),
        )

    def _short_message(self, log: LogCall, value: Provenance, complement_of: cst.BaseExpression | None) -> str:
        """One line: the log, the value that breaks it, the remedy."""
        source = value.source or "prediction"
        result = "raises ValueError" if log.family == "math" else "is -inf"
        target, at = (complement_of, 1) if complement_of is not None else (log.operand, 0)
        quoted = self.quote(target, 20)
        where = f"where {quoted if not quoted.endswith('…`') else ('its argument' if at == 0 else 'the probability')} is {at}"
        advice = f"use `log_{source}` on the logits" if source in ("sigmoid", "softmax") else "clip it to [eps, 1 - eps]"
        return f"{self.quote(log.call, 30)} {result} {where}; {advice}"

    def _message(self, log: LogCall, value: Provenance, complement_of: cst.BaseExpression | None, role: Role | None) -> str:
        call = brief(self.context, log.call)
        source = value.source or "prediction"
        if complement_of is not None:
            p = brief(self.context, complement_of, 40)
            shifted = isinstance(value.guard, cst.BinaryOperation)  # p + eps: 1 - p goes negative
            below = f"`{p}` is guarded below but not above, so " if value.guard is not None else ""
            what = f"{below}`1 - {p}` is {'0 or negative' if shifted else 'exactly 0'} where {_subject(p, value)} reaches 1 ({_ONE_WHY.get(source, _ONE_WHY['prediction'])})"
        else:
            operand = brief(self.context, log.operand, 40)
            what = f"{_subject(operand, value)} can be exactly 0 ({_ZERO_WHY.get(source, _ZERO_WHY['prediction'])})"
        advice = "clip it to [eps, 1 - eps] before the log"
        if source in ("sigmoid", "softmax"):
            advice = f"keep the logits and use `log_{source}` or a from-logits loss, or {advice}"
        return f"`{call}`: {what}, {consequence(role, log.family)}; {advice}"

    def _related(self, value: Provenance, log: LogCall) -> list[tuple[str, cst.CSTNode]]:
        related: list[tuple[str, cst.CSTNode]] = []
        if value.origin_node is not None:
            related.append((value.origin_note, value.origin_node))
        if value.guard is not None:
            related.append(("guarded on one side only here", value.guard))
        for call in discarded_guards(self.context, log.operand, log.call):
            related.append(("this clip's result is thrown away, so it guards nothing: assign it", call))
        return related

    def _fix(self, log: LogCall, value: Provenance, complement_of: cst.BaseExpression | None):
        if complement_of is not None:
            target = complement_of
            inner = analysis_for(self.context).of(target)
            if not inner.unit and not value.unit:
                return None
        else:
            target = log.operand
            if not value.unit:
                return None
        if log.method and not log.complement:
            # p.log() / (1 - p).log(): clamp the receiver, which lies in [0, 1] either way
            method = log.call.func.attr.value  # type: ignore[attr-defined]
            clamped = clip_text(self.context, log.family, log.operand, method=True)
            text = f"{clamped}.{method}()"
            target = log.call
        else:
            text = clip_text(self.context, log.family, target)
        if text is None:
            return None
        return self.fix("unsafe", f"Clip to [eps, 1 - eps]: `{brief(self.context, cst.parse_expression(text))}`", Replacement(target, text))

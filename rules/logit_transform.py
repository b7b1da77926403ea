"""EPS203: `log(p / (1 - p))` / `log(p) - log(1 - p)` without clipping p first."""

from __future__ import annotations

import libcst as cst

from lint_eps.nodes import simple_operand, strip_parens
from lint_eps.prefilter import mentions, writes_identifier
from lint_eps.rule import Invalid, Replacement, Rule

from .analysis.provenance import LOGITS, PROBABILITY, RATIO, UNKNOWN, LogitTransform, Provenance, analysis_for, logit_transform
from .analysis.roles import function_role, passes_to_compile
from .log_probability import brief, clip_text, epsilon_text
from .tables.probabilities import LOGIT_WITH_EPS_FOR


class UnclippedLogitTransform(Rule):
    code = "EPS203"
    name = "unclipped-logit-transform"
    summary = "Probabilities turned back into logits without clipping: ±inf at p = 0 or 1"
    fixable = "sometimes"
    triggers = (b"log",)
    # The identifier itself, wherever it is spelled: a call `np.log(p)`, a method `p.log()`, and an import or alias
    # (`from numpy import log as ln`) that any other spelling of the call needs.
    prefilter = staticmethod(writes_identifier("log", "log2", "log10"))
    # Per function: the functions that write the identifier, and those that may pass a function to compile
    # (`function_role` reads every compile call).
    needs_function = staticmethod(lambda text, function: mentions(text, function, "log", "log2", "log10") or passes_to_compile(text, function))
    specificity = 20
    supersedes = ("EPS201",)
    docs = """
    ## What it does
    Finds the logit transform written by hand — `log(p / (1 - p))`, `log(p) - log(1 - p)`, and their negations
    `log((1 - p) / p)`, `log(1 - p) - log(p)` — in TensorFlow, Keras, PyTorch (also `.log()`), NumPy, JAX and
    `math`, when `p` is not clipped to [eps, 1 - eps] first. It reports in metric, loss and training code, and
    anywhere when `p` is known to be a probability (a sigmoid or softmax output). A clip two lines above
    (`p = clip(p, eps, 1 - eps)`) makes it clean; a floor alone (`maximum(p, eps)`, `clamp(min=eps)`) does not,
    because `1 - p` can still be 0.

    ## Why is this bad?
    At p = 1 the transform divides by zero and gives +inf; at p = 0 it is log(0) = -inf. A float32 sigmoid
    output is exactly 1 from x ≈ 16.6 (8.3 in float16), so this happens to confident, correct predictions. The
    result is usually fed to a logits loss, which then returns NaN — `tf.nn.sigmoid_cross_entropy_with_logits`
    computes `max(x, 0) - x·z + log(1 + exp(-|x|))`, which is `inf - inf` at x = +inf with label 1 (measured,
    TF 2.21: NaN at (x=+inf, z=1) and (x=-inf, z=0)) — and the gradient of the transform at 0 and 1 is NaN.
    This is the custom loss of the "Keras binary_crossentropy floor" discussion: standalone Keras ≤ 2.2 wrote
    exactly this line, but clipped `output` on the line before.

    ## Example
    ```python
    import tensorflow as tf

    def custom_loss(target, output):
        output = tf.math.log(output / (1 - output))
        return tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=output)
    ```

    ## Use instead
    ```python
    import tensorflow as tf
    from tensorflow.keras import backend as K

    def custom_loss(target, output):
        output = tf.clip_by_value(output, K.epsilon(), 1 - K.epsilon())
        output = tf.math.log(output / (1 - output))
        return tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=output)
    ```
    Better: keep the logits (a linear last layer) and pass them to the logits loss directly.

    ## Fix safety
    The fix is unsafe: clipping bounds the logits to ±log((1 - eps) / eps) ≈ ±16.1 for eps = 1e-7, which
    changes the value and zeroes the gradient outside that range. In PyTorch it becomes
    `torch.logit(p, eps=...)`, which clamps to [eps, 1 - eps] itself; elsewhere each `p` in the pattern is
    wrapped in the framework's clip (`tf.clip_by_value`, `K.clip`, `keras.ops.clip`, `np.clip`, `jnp.clip`)
    with `K.epsilon()` / `keras.config.epsilon()` where imported, the function's `eps`, or 1e-7. No fix when
    `p` is not a plain name, attribute or subscript (it would be computed twice), or for `math.log`.
    """

    VALID = [
        # The Keras ≤ 2.2 backend: clipped on the line before.
        "import tensorflow as tf\n\ndef binary_crossentropy(target, output, epsilon=1e-7):\n"
        "    output = tf.clip_by_value(output, epsilon, 1 - epsilon)\n    output = tf.math.log(output / (1 - output))\n"
        "    return tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=output)\n",
        # torch.logit with eps clamps first.
        "import torch\n\ndef logit_loss(y, p):\n    return torch.logit(p, eps=1e-6) - y\n",
        # Epsilon on both sides of the ratio.
        "import numpy as np\n\ndef logit_score(y_true, y_pred, eps=1e-7):\n    return np.log((y_pred + eps) / (1 - y_pred + eps))\n",
        # Clipped with K.clip, then the two-log form.
        "from tensorflow.keras import backend as K\n\ndef loss(y_true, y_pred):\n"
        "    p = K.clip(y_pred, K.epsilon(), 1 - K.epsilon())\n    return K.mean(K.log(p) - K.log(1 - p))\n",
        # A plain helper outside metric/loss code on an unknown value: the caller's business.
        "import numpy as np\n\ndef logit(x):\n    return np.log(x / (1 - x))\n",
        # Not a logit transform: different operands.
        "import tensorflow as tf\n\ndef loss(y_true, y_pred):\n    return tf.math.log(y_true / (1 - y_pred + 1e-7))\n",
        # Clipped in place (torch).
        "import torch\n\ndef loss(target, probs):\n    probs.clamp_(1e-6, 1 - 1e-6)\n    return (probs / (1 - probs)).log().mean()\n",
    ]
    INVALID = [
        # The seed's custom loss.
        Invalid(
            "import tensorflow as tf\n\ndef customLoss(target, output):\n    output = tf.log(output / (1 - output))\n"
            "    return tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=output)\n",
            "import tensorflow as tf\n\ndef customLoss(target, output):\n"
            "    output = tf.log(tf.clip_by_value(output, 1e-7, 1 - 1e-7) / (1 - tf.clip_by_value(output, 1e-7, 1 - 1e-7)))\n"
            "    return tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=output)\n",
        ),
        # Two-log form with K: one finding (not three).
        Invalid(
            "from tensorflow.keras import backend as K\n\ndef loss(y_true, y_pred):\n    return K.mean(K.log(y_pred) - K.log(1 - y_pred))\n",
            "from tensorflow.keras import backend as K\n\ndef loss(y_true, y_pred):\n"
            "    return K.mean(K.log(K.clip(y_pred, K.epsilon(), 1 - K.epsilon())) - K.log(1 - K.clip(y_pred, K.epsilon(), 1 - K.epsilon())))\n",
        ),
        # torch: the exact replacement is torch.logit(p, eps=...).
        Invalid(
            "import torch\n\ndef bce_loss(probs, target):\n    z = torch.log(probs / (1 - probs))\n"
            "    return torch.nn.functional.binary_cross_entropy_with_logits(z, target)\n",
            "import torch\n\ndef bce_loss(probs, target):\n    z = torch.logit(probs, eps=1e-7)\n"
            "    return torch.nn.functional.binary_cross_entropy_with_logits(z, target)\n",
        ),
        # A sigmoid output, anywhere.
        Invalid(
            "import numpy as np\nfrom scipy.special import expit\n\np = expit(scores)\nz = np.log(p / (1 - p))\n",
            "import numpy as np\nfrom scipy.special import expit\n\np = expit(scores)\nz = np.log(np.clip(p, 1e-7, 1 - 1e-7) / (1 - np.clip(p, 1e-7, 1 - 1e-7)))\n",
        ),
        # A floor alone is not enough: 1 - p is still 0.
        Invalid(
            "import keras\nfrom keras import ops\n\ndef loss(y_true, y_pred):\n    y_pred = ops.maximum(y_pred, keras.config.epsilon())\n"
            "    return ops.log(y_pred / (1 - y_pred))\n",
            "import keras\nfrom keras import ops\n\ndef loss(y_true, y_pred):\n    y_pred = ops.maximum(y_pred, keras.config.epsilon())\n"
            "    return ops.log(ops.clip(y_pred, keras.config.epsilon(), 1 - keras.config.epsilon()) / (1 - ops.clip(y_pred, keras.config.epsilon(), 1 - keras.config.epsilon())))\n",
        ),
        # The negated form, in a torch loss module, via .log().
        Invalid(
            "import torch\n\nclass LogitLoss(torch.nn.Module):\n    def forward(self, input, target):\n"
            "        return ((1 - input) / input).log().mean()\n",
            "import torch\n\nclass LogitLoss(torch.nn.Module):\n    def forward(self, input, target):\n"
            "        return (-torch.logit(input, eps=1e-7)).mean()\n",
        ),
        # A computed p: reported, but no fix (it would be computed twice).
        Invalid(
            "import jax\nimport jax.numpy as jnp\n\ndef loss_fn(params, x, y):\n"
            "    return jnp.mean(jnp.log(jax.nn.sigmoid(x @ params) / (1 - jax.nn.sigmoid(x @ params))))\n",
            None,
        ),
        # math.log: no clip to spell.
        Invalid("import math\n\ndef loss(y, p):\n    return math.log(p / (1 - p)) - y\n", None),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        transform = logit_transform(node, self.context)
        if transform is not None:
            self._check(transform)

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        transform = logit_transform(node, self.context)
        if transform is not None:
            self._check(transform)

    def _check(self, transform: LogitTransform) -> None:
        value = analysis_for(self.context).of(transform.p)
        if value.kind == LOGITS or (value.kind != UNKNOWN and not value.zero and not value.one):
            return  # logits by name, or clipped / epsilon-guarded on both sides
        known_probability = value.kind in (PROBABILITY, RATIO) and not value.needs_role
        if not known_probability and function_role(self.context) is None:
            return  # an unknown value outside metric/loss/training code
        related = [(value.origin_note, value.origin_node)] if value.origin_node is not None else []
        result = "raises" if transform.log.family == "math" else "is ±inf"
        p = self.quote(transform.p, 16)
        message = f"{self.quote(transform.node, 30)} {result} where {p if not p.endswith('…`') else 'p'} is 0 or 1; clip it to [eps, 1 - eps] first"
        self.report(transform.node, message, fix=self._fix(transform), related=related, details=self._message(transform, value))

    def _message(self, transform: LogitTransform, value: Provenance) -> str:
        code = brief(self.context, transform.p, 40)
        p = code if len(code) <= 20 else "p"
        is_ratio = isinstance(transform.node, cst.Call)
        form = ("log((1 - p) / p)" if is_ratio else "log(1 - p) - log(p)") if transform.negated else ("log(p / (1 - p))" if is_ratio else "log(p) - log(1 - p)")
        if value.guard is not None and not value.zero:
            state = f"`{code}` is floored but not capped below 1"
        else:
            state = f"`{code}` is not clipped to [eps, 1 - eps] first"
        origin = f" ({value.origin})" if value.origin and not value.origin.startswith(f"`{code}`") else ""
        family = transform.log.family
        if family == "math":
            effect = f"at {p} = 1 it raises ZeroDivisionError (or is log(0)) and at {p} = 0 `math.log` raises ValueError"
        elif family == "numpy":
            effect = f"at {p} = 1 (a float32 sigmoid rounds to 1 from x ≈ 16.6) it is +inf and at {p} = 0 it is -inf, with only a RuntimeWarning, and a logits loss fed ±inf returns NaN"
        else:
            effect = (
                f"at {p} = 1 (a float32 sigmoid rounds to 1 from x ≈ 16.6) it is +inf, at {p} = 0 it is -inf, its "
                "gradient is NaN there, and a logits loss fed ±inf returns NaN"
            )
        return f"`{brief(self.context, transform.node)}` turns probabilities back into logits with {form}, but {state}{origin}: {effect}; clip first, or keep the model's logits"

    def _fix(self, transform: LogitTransform):
        family = transform.log.family
        p = transform.p
        logit = LOGIT_WITH_EPS_FOR.get(family)
        spelled = self.context.spell(logit) if logit else None
        if spelled is not None:
            eps = epsilon_text(self.context, family)
            text = f"{spelled}({self.context.code(strip_parens(p))}, eps={eps})"
            if transform.negated:
                text = f"(-{text})"
            return self.fix("unsafe", f"Use `{brief(self.context, cst.parse_expression(text))}`", Replacement(transform.node, text))
        if not simple_operand(p) or transform.log.method:
            return None
        clipped = clip_text(self.context, family, p)
        if clipped is None:
            return None
        return self.fix("unsafe", f"Clip `{brief(self.context, p, 30)}` to [eps, 1 - eps] first", *(Replacement(occurrence, clipped) for occurrence in transform.occurrences))

"""EPS503: `log(1 + exp(x))` written by hand, where softplus is exact."""

from __future__ import annotations

import libcst as cst

from lint_eps.nodes import strip_parens
from lint_eps.rule import Invalid, Replacement, Rule

from .analysis.exp_forms import Exp, ExpForms, brief, is_one, needs_exp, writes_exp_and_log
from .tables.stable_forms import LOG1P_FUNCTIONS, SOFTPLUS_AS_LOGADDEXP, SOFTPLUS_FOR


class NaiveSoftplus(Rule):
    code = "EPS503"
    name = "naive-softplus"
    summary = "`log(1 + exp(x))` is inf for x > 88.7 (float32): use softplus"
    fixable = "sometimes"
    triggers = (b"exp",)
    prefilter = staticmethod(writes_exp_and_log)
    needs_function = staticmethod(needs_exp)
    specificity = 20
    supersedes = ("EPS201", "EPS506")
    docs = """
    ## What it does
    Finds `log(1 + exp(x))`, `log(exp(x) + 1)` and `log1p(exp(x))` (functions of TensorFlow, Keras, PyTorch,
    JAX, NumPy and `math`, and torch's `(1 + x.exp()).log()` / `x.exp().log1p()`), the exp directly or through
    one local variable. It stays silent where `exp` cannot overflow: `x` provably at most 0 (`-abs(x)`,
    `-x**2`, `minimum(x, 0)`), clipped, shifted by a maximum, or compared in the same function (the branch
    `where(x > 0, x + log1p(exp(-x)), log1p(exp(x)))` and `if x > 20: return x` of a stable softplus).

    ## Why is this bad?
    `exp(x)` overflows to `inf` for x > 88.72 in float32 (709.78 in float64), so `log(1 + exp(x))` is `inf`
    where the true value is x itself: `tf.math.log(1 + tf.exp(89.0))` is `inf` and `tf.math.softplus(89.0)`
    is 89.0 (measured, TF 2.21). `log1p(exp(x))` overflows at the same point. In an RBM's free energy or a
    softplus-parameterised scale, one large pre-activation makes the loss `inf` and the gradient NaN;
    `math.exp` raises `OverflowError` instead.

    ## Example
    ```python
    import torch

    def free_energy(v, W, b):
        return -torch.log(1 + torch.exp(v @ W + b)).sum(-1)
    ```

    ## Use instead
    ```python
    import torch

    def free_energy(v, W, b):
        return -torch.nn.functional.softplus(v @ W + b).sum(-1)
    ```

    ## Fix safety
    The fix is safe: softplus is the same function, computed without the overflow (torch's `F.softplus`
    returns x itself above its threshold of 20, where `log(1 + exp(x))` equals x to float32 precision).
    It is offered when the replacement can be spelled with the file's imports and, through a variable, `x`
    is a plain name not rebound in between. Replacements: `tf.math.softplus`, `keras.ops.softplus`,
    `K.softplus`, `torch.nn.functional.softplus`, `jax.nn.softplus`, and `np.logaddexp(0, x)` for NumPy
    (`jnp.logaddexp(0, x)` when `jax.nn` cannot be spelled); none for `math`.
    """

    VALID = [
        "import tensorflow as tf\nsp = tf.math.softplus(x)\n",
        # exp of a value <= 0 cannot overflow: the stable form of sigmoid_cross_entropy_with_logits.
        "import tensorflow as tf\n\ndef bce_with_logits(labels, logits):\n"
        "    return tf.nn.relu(logits) - logits * labels + tf.math.log1p(tf.exp(-tf.abs(logits)))\n",
        "import numpy as np\n\ndef softplus(x):\n    return np.maximum(x, 0) + np.log(1 + np.exp(-np.abs(x)))\n",
        # torch's method spelling of the same split (pyro's binomial normaliser).
        "import torch\n\ndef normalizer(logits, n):\n    return n * (logits.clamp(min=0) + logits.abs().neg().exp().log1p())\n",
        # The select of sigmoid_cross_entropy_with_logits (tensorflow/python/ops/nn_impl.py).
        "import tensorflow as tf\n\ndef bce(labels, logits):\n    cond = logits >= tf.zeros_like(logits)\n"
        "    neg_abs_logits = tf.where(cond, -logits, logits)\n    return tf.math.log1p(tf.math.exp(neg_abs_logits))\n",
        # A negated magnitude times a scale (keras' logaddexp2 on TensorFlow).
        "import tensorflow as tf\n\ndef logaddexp2(x1, x2):\n    delta = x1 - x2\n    log2 = tf.cast(tf.math.log(2.0), delta.dtype)\n"
        "    return tf.maximum(x1, x2) + tf.math.log1p(tf.math.exp(-tf.abs(delta) * log2)) / log2\n",
        # A branch on the value: the stable implementation.
        "import numpy as np\n\ndef softplus(x):\n    return np.where(x > 0, x + np.log1p(np.exp(-x)), np.log1p(np.exp(x)))\n",
        "import math\n\ndef softplus(x):\n    if x > 30:\n        return x\n    return math.log(1 + math.exp(x))\n",
        # Clipped first.
        "import torch\nsp = torch.log(1 + torch.exp(torch.clamp(z, max=20.0)))\n",
        # Not 1 + exp.
        "import torch\nv = torch.log(2 + torch.exp(z))\n",
    ]
    INVALID = [
        Invalid(
            "import torch\n\ndef free_energy(v, W, b):\n    return -torch.log(1 + torch.exp(v @ W + b)).sum(-1)\n",
            "import torch\n\ndef free_energy(v, W, b):\n    return -torch.nn.functional.softplus(v @ W + b).sum(-1)\n",
        ),
        Invalid(
            "import tensorflow as tf\n\ndef scale(raw):\n    return tf.math.log(tf.exp(raw) + 1.0)\n",
            "import tensorflow as tf\n\ndef scale(raw):\n    return tf.math.softplus(raw)\n",
        ),
        Invalid(
            "import torch\nimport torch.nn.functional as F\n\ndef scale(raw):\n    return raw.exp().log1p()\n",
            "import torch\nimport torch.nn.functional as F\n\ndef scale(raw):\n    return F.softplus(raw)\n",
        ),
        Invalid(
            "import numpy as np\n\ndef softplus(x):\n    return np.log1p(np.exp(x))\n",
            "import numpy as np\n\ndef softplus(x):\n    return np.logaddexp(0, x)\n",
        ),
        Invalid(
            "from keras import ops\n\ndef sp(z):\n    e = ops.exp(z)\n    return ops.log(1 + e)\n",
            "from keras import ops\n\ndef sp(z):\n    e = ops.exp(z)\n    return ops.softplus(z)\n",
        ),
        Invalid(
            "import jax\nimport jax.numpy as jnp\n\ndef sp(z):\n    return jnp.log(1.0 + jnp.exp(z))\n",
            "import jax\nimport jax.numpy as jnp\n\ndef sp(z):\n    return jax.nn.softplus(z)\n",
        ),
        Invalid(
            "from tensorflow.keras import backend as K\n\ndef sp(z):\n    return K.log(1. + K.exp(z))\n",
            "from tensorflow.keras import backend as K\n\ndef sp(z):\n    return K.softplus(z)\n",
        ),
        # math.exp raises OverflowError above 709.78; there is no math softplus to spell.
        Invalid("import math\n\ndef sp(z):\n    return math.log(1 + math.exp(z))\n", None),
        # Through a variable whose operand is rebound: the finding stands, the fix would read the new value.
        Invalid("import torch\n\ndef sp(z):\n    e = torch.exp(z)\n    z = z * 2\n    return torch.log(1 + e)\n", None),
    ]

    def __init__(self, context) -> None:  # type: ignore[no-untyped-def]
        super().__init__(context)
        self.forms = ExpForms(context)

    def visit_Call(self, node: cst.Call) -> None:
        forms = self.forms
        found = self._exp_of(node)
        if found is None:
            return
        exp, direct = found
        if forms.nonpositive(exp.operand) or forms.bounded(exp.operand) or forms.shifted(exp.operand) or forms.compared(exp.operand):
            return
        replacement = self._replacement(exp)
        if replacement is not None and not direct and not forms.stable_between([exp.operand], exp.call, node):
            replacement = None
        better = brief(replacement) if replacement is not None else "softplus(x)"
        fix = self.fix("safe", f"Replace with `{better}`", Replacement(node, replacement)) if replacement is not None else None
        plain = exp.family in ("numpy", "math")
        limit = "709.8 (float64)" if plain else "88.7 (float32)"
        self.report(
            node,
            f"`log(1 + exp(x))` is inf once x > {limit}; use {self.quote(better, 40)}",
            fix=fix,
            details=(
                f"exp(x) overflows to inf for x above {limit}, so `log(1 + exp(x))` (and `log1p(exp(x))`) is inf where "
                f"the true value is about x"
                + (
                    " (NumPy warns; `math.exp` raises OverflowError); a metric or log-likelihood that sums it is inf."
                    if plain
                    else " (measured with TF 2.21: both inf at x = 89, `tf.math.softplus(89.0)` = 89.0); the loss or free "
                    "energy is inf and its gradient NaN."
                )
                + f" Use `{better}`."
            ),
        )

    def _exp_of(self, node: cst.Call) -> tuple[Exp, bool] | None:
        """The `exp(x)` of `log(1 + exp(x))`, `log(exp(x) + 1)`, `log1p(exp(x))`, and whether it is written inline."""
        forms = self.forms
        if self.context.callee(node) in LOG1P_FUNCTIONS and len(node.args) == 1:
            operand: cst.BaseExpression | None = node.args[0].value
            return self._exp(operand)
        method = forms.method(node, "log1p")
        if method is not None and not method.args and forms.uses_torch():
            return self._exp(method.func.value)  # type: ignore[attr-defined]
        log = forms.log(node)
        if log is None:
            return None
        operand = log.operand
        if not (isinstance(operand, cst.BinaryOperation) and isinstance(operand.operator, cst.Add)):
            return None
        if is_one(operand.left):
            return self._exp(operand.right)
        if is_one(operand.right):
            return self._exp(operand.left)
        return None

    def _exp(self, node: cst.BaseExpression) -> tuple[Exp, bool] | None:
        direct = self.forms.exp(node, follow=False)
        if direct is not None:
            return direct, True
        found = self.forms.exp(node)
        return (found, False) if found is not None else None

    def _replacement(self, exp: Exp) -> str | None:
        x = strip_parens(exp.operand)
        spelled = self.forms.spell(SOFTPLUS_FOR.get(exp.family))
        if spelled is not None:
            return self.context.code(cst.Call(cst.parse_expression(spelled), [cst.Arg(x)]))
        spelled = self.forms.spell(SOFTPLUS_AS_LOGADDEXP.get(exp.family))
        if spelled is not None:
            return self.context.code(cst.Call(cst.parse_expression(spelled), [cst.Arg(cst.Integer("0")), cst.Arg(x)]))
        return None

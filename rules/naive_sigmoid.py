"""EPS504: `1 / (1 + exp(-x))` written by hand, where the framework's sigmoid is exact."""

from __future__ import annotations

import libcst as cst

from lint_eps.nodes import negate, strip_parens
from lint_eps.rule import Invalid, Replacement, Rule
from lint_eps.walk import iter_nodes

from .analysis.exp_forms import Exp, ExpForms, brief, is_one, needs_exp, squashed, writes_exp
from .tables.stable_forms import SIGMOID_FOR

_WHY = {
    "numpy": "exp overflows (warns) for x < -709.8",
    "math": "math.exp raises OverflowError for x < -709.8",
}


class NaiveSigmoid(Rule):
    code = "EPS504"
    name = "naive-sigmoid"
    summary = "`1 / (1 + exp(-x))`: exp overflows for x < -88.7 (float32) and the gradient is NaN; use sigmoid"
    fixable = "sometimes"
    triggers = (b"exp",)
    prefilter = staticmethod(writes_exp)
    needs_function = staticmethod(needs_exp)
    specificity = 20
    supersedes = ("EPS101", "EPS102")
    docs = """
    ## What it does
    Finds a sigmoid written by hand — `1 / (1 + exp(-x))`, `1 / (exp(-x) + 1)` and `exp(x) / (1 + exp(x))`,
    the exp a function of TensorFlow, Keras, PyTorch, JAX, NumPy or `math`, or torch's `x.exp()` — and
    rewrites it as the framework's sigmoid. It stays silent where the exp cannot overflow: its argument
    clipped, provably at most 0, indexed by a mask (`x[pos]`), or compared in the same function (the
    branches of a stable sigmoid).

    ## Why is this bad?
    `exp(-x)` overflows to `inf` for x < -88.72 in float32. The forward value survives (`1 / inf = 0`), but
    the derivative is `exp(-x) / (1 + exp(-x))**2 = inf / inf = NaN`: measured on TF 2.21, the gradient of
    the hand-written form at x = -89 and -100 is NaN, that of `tf.sigmoid` is 0. One such pre-activation
    puts NaN into every weight at the next step. `exp(x) / (1 + exp(x))` is NaN already in the forward pass
    for x > 88.7. In NumPy the overflow is a `RuntimeWarning` (float64 from x < -709.8, float32 from -88.7)
    and the value stays right, so NumPy sigmoids are reported only with `preview = true`;
    with `math.exp` it is an `OverflowError`.

    ## Example
    ```python
    import tensorflow as tf

    def gate(x):
        return x * (1.0 / (1.0 + tf.exp(-x)))
    ```

    ## Use instead
    ```python
    import tensorflow as tf

    def gate(x):
        return x * tf.sigmoid(x)
    ```

    ## Fix safety
    The fix is safe: the sigmoid is the same function, computed without the overflow. It is offered when
    the replacement can be spelled with the file's imports: `tf.sigmoid`, `keras.ops.sigmoid`,
    `K.sigmoid`, `torch.sigmoid`, `jax.nn.sigmoid`, `scipy.special.expit` for NumPy (when `scipy.special`
    is imported); none for `math`.
    """

    VALID = [
        "import tensorflow as tf\ng = x * tf.sigmoid(x)\n",
        # Clipped first: cannot overflow.
        "import numpy as np\n\ndef sigmoid(z):\n    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))\n",
        # The stable two-branch implementation.
        "import numpy as np\n\ndef sigmoid(x):\n    return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))\n",
        "import numpy as np\n\ndef sigmoid(x):\n    out = np.empty_like(x)\n    pos = x >= 0\n"
        "    out[pos] = 1 / (1 + np.exp(-x[pos]))\n    out[~pos] = np.exp(x[~pos]) / (1 + np.exp(x[~pos]))\n    return out\n",
        # exp of a value <= 0.
        "import torch\nw = 1 / (1 + torch.exp(-torch.abs(d)))\n",
        # Something else.
        "import torch\nw = 2 / (1 + torch.exp(-x))\nv = 1 / (2 + torch.exp(-x))\n",
        "import numpy as np\nr = np.exp(a) / (1 + np.exp(b))\n",
        # NumPy without preview: no gradient, and 1 / (1 + inf) = 0 is the right value.
        "import numpy as np\n\ndef sigmoid(x):\n    return 1 / (1 + np.exp(-x))\n",
    ]
    INVALID = [
        Invalid(
            "import tensorflow as tf\n\ndef gate(x):\n    return x * (1.0 / (1.0 + tf.exp(-x)))\n",
            "import tensorflow as tf\n\ndef gate(x):\n    return x * (tf.sigmoid(x))\n",
        ),
        Invalid(
            "import torch\n\ndef gate(h):\n    return 1 / (1 + torch.exp(-(h @ self_w)))\n",
            "import torch\n\ndef gate(h):\n    return torch.sigmoid(h @ self_w)\n",
        ),
        Invalid("import torch\np = 1.0 / (torch.exp(-logits) + 1.0)\n", "import torch\np = torch.sigmoid(logits)\n"),
        Invalid("import torch\np = 1 / (1 + (-z).exp())\n", "import torch\np = torch.sigmoid(z)\n"),
        Invalid("from keras import ops\np = 1 / (1 + ops.exp(a - b))\n", "from keras import ops\np = ops.sigmoid(-(a - b))\n"),
        Invalid("import jax\nimport jax.numpy as jnp\np = jnp.exp(s) / (1 + jnp.exp(s))\n", "import jax\nimport jax.numpy as jnp\np = jax.nn.sigmoid(s)\n"),
        Invalid("from tensorflow.keras import backend as K\np = 1. / (1. + K.exp(-z))\n", "from tensorflow.keras import backend as K\np = K.sigmoid(z)\n"),
        # NumPy: a RuntimeWarning, and no sigmoid to spell without scipy.special.
        Invalid("import numpy as np\n\ndef sigmoid(x):\n    return 1 / (1 + np.exp(-x))\n", None, settings={"preview": True}),
        Invalid(
            "import numpy as np\nimport scipy.special\n\ndef predict(w, x):\n    return 1 / (1 + np.exp(-(x @ w)))\n",
            "import numpy as np\nimport scipy.special\n\ndef predict(w, x):\n    return scipy.special.expit(x @ w)\n",
            settings={"preview": True},
        ),
        Invalid("import math\n\ndef sigmoid(x):\n    return 1 / (1 + math.exp(-x))\n", None),
    ]

    def __init__(self, context) -> None:  # type: ignore[no-untyped-def]
        super().__init__(context)
        self.forms = ExpForms(context)

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if not isinstance(node.operator, cst.Divide):
            return
        denominator = node.right
        if not (isinstance(denominator, cst.BinaryOperation) and isinstance(denominator.operator, cst.Add)):
            return
        other = denominator.right if is_one(denominator.left) else denominator.left if is_one(denominator.right) else None
        if other is None:
            return
        exp = self.forms.exp(other, follow=False)
        if exp is None:
            return
        if is_one(node.left):
            x = negate(exp.operand)  # 1 / (1 + exp(y)) = sigmoid(-y)
            argument = exp.operand
        else:
            top = self.forms.exp(node.left, follow=False)
            if top is None or squashed(self.context, top.operand) != squashed(self.context, exp.operand):
                return
            x = strip_parens(exp.operand)  # exp(x) / (1 + exp(x)) = sigmoid(x)
            argument = negate(exp.operand)
        if self._cannot_overflow(exp, argument):
            return
        if exp.family == "numpy" and not self.context.settings.preview:
            # NumPy has no gradient to poison: 1 / (1 + inf) = 0 is the right value, only a RuntimeWarning is
            # wrong (0 of 3 NumPy findings on corpus2 were worth a change: bench/README.md). Preview only.
            return
        spelled = self.forms.spell(SIGMOID_FOR.get(exp.family))
        replacement = self.context.code(cst.Call(cst.parse_expression(spelled), [cst.Arg(strip_parens(x))])) if spelled else None
        better = brief(replacement) if replacement is not None else "sigmoid(x)"
        why = _WHY.get(exp.family, "NaN gradient for x < -88.7 (float32)")
        fix = self.fix("safe", f"Replace with `{better}`", Replacement(node, replacement)) if replacement is not None else None
        self.report(
            node,
            f"Hand-written sigmoid: {why}; use {self.quote(better, 26)}",
            fix=fix,
            details=(
                f"`1 / (1 + exp(-x))` computes exp(-x), which overflows to inf for x below -709.8 in float64: the value "
                f"is still 0, but NumPy warns (overflow RuntimeWarning) for every such element and `math.exp` raises "
                f"OverflowError. The library's sigmoid evaluates the stable branch for each sign: `{better}`."
            )
            if exp.family in _WHY
            else (
                f"`1 / (1 + exp(-x))` computes exp(-x), which overflows to inf for x below -88.7 in float32. The value "
                f"is then 0, which is right, but the gradient is inf/inf = NaN (measured with TF 2.21: NaN at x = -89) "
                f"and poisons every weight it reaches. The framework's sigmoid evaluates the stable branch for each "
                f"sign: `{better}`."
            ),
        )

    def _cannot_overflow(self, exp: Exp, argument: cst.BaseExpression) -> bool:
        """exp(-x) for the sigmoid's input x: bounded, <= 0, masked or branched on."""
        forms = self.forms
        operand = exp.operand
        if forms.bounded(operand) or forms.nonpositive(operand) or forms.compared(operand):
            return True
        return any(isinstance(node, cst.Subscript) for node in iter_nodes(operand))

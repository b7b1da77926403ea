"""EPS501: `exp(x) / sum(exp(x))` written by hand without subtracting the maximum, where softmax is exact."""

from __future__ import annotations

from dataclasses import dataclass

from lint_eps.lazy import libcst as cst

from lint_eps.nodes import strip_parens
from lint_eps.rule import Invalid, Replacement, Rule

from .analysis.exp_forms import Exp, ExpForms, Sum, brief, needs_exp, squashed, writes_exp
from .tables.stable_forms import BROADCAST_FUNCTIONS, DIVIDE_FUNCTIONS, LOG_SOFTMAX_FOR, SOFTMAX_AXIS_KEYWORD, SOFTMAX_FOR

_BROADCAST_METHODS = frozenset({"unsqueeze", "view", "reshape", "expand_as", "expand", "repeat"})


@dataclass(frozen=True)
class _Softmax:
    node: cst.CSTNode  # the division
    exp: Exp  # the numerator's exp
    total: Sum
    broadcast: bool  # the sum is tiled, reshaped or indexed before dividing
    via: bool  # numerator or sum reached through a local variable


class NaiveSoftmax(Rule):
    code = "EPS501"
    name = "naive-softmax"
    summary = "`exp(x) / sum(exp(x))` without subtracting max(x) overflows to NaN: use softmax"
    fixable = "sometimes"
    triggers = (b"exp",)
    prefilter = staticmethod(writes_exp)
    needs_function = staticmethod(needs_exp)
    specificity = 15
    supersedes = ("EPS101", "EPS102", "EPS103", "EPS201", "EPS202", "EPS502", "EPS506")
    docs = """
    ## What it does
    Finds a softmax written by hand: `exp(x)` divided (`/`, `tf.math.divide`, `torch.div`, ...) by a sum of
    the same `exp(x)` — directly or through local variables, the sum tiled, reshaped or indexed to broadcast,
    the exp possibly masked (`exp(x) * mask`) — where `x` is not first shifted by its maximum
    (`x - max(x, axis, keepdims=True)`, `reduce_max`, `amax`, `stop_gradient(max)` all count), clipped, or
    provably at most 0 (a Gaussian kernel's `exp(-x**2 / (2 * s**2))` is at most 1). Anywhere, not
    only in losses: attention weights, segmentation heads and NumPy evaluation code overflow the same way.
    The log of such a division is reported once, as a hand-written log-softmax.

    ## Why is this bad?
    `exp(x)` overflows to `inf` for x > 88.72 in float32 (709.78 in float64). One logit above that makes
    the sum `inf` too, and the softmax `inf / inf = NaN` for that class and 0 for every other: measured on
    TF 2.21, `exp(x) / reduce_sum(exp(x))` of `[88, 89, 100, -100]` is `[0, nan, nan, 0]`. Attention
    scores and unnormalised logits reach such values in practice, and the NaN spreads through the loss to
    every weight. The library softmax subtracts the maximum first and never overflows; its log is exact in
    `log_softmax`.

    ## Example
    ```python
    import torch

    def attention(q, k, v):
        scores = q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5
        weights = torch.exp(scores) / torch.exp(scores).sum(dim=-1, keepdim=True)
        return weights @ v
    ```

    ## Use instead
    ```python
    import torch

    def attention(q, k, v):
        scores = q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5
        weights = torch.softmax(scores, dim=-1)
        return weights @ v
    ```

    ## Fix safety
    The fix is safe: softmax (and log_softmax) compute the same value without the overflow. It is offered
    only when the numerator and the sum are the same `exp(x)`, the sum runs over one spelled axis with
    keepdims (or, in NumPy with `scipy.special` imported, over the whole array), nothing is masked or
    broadcast by hand, the replacement can be spelled with the file's imports, and, through variables, `x`
    is a plain name not rebound in between. A masked softmax gets no fix; the message shows the shifted
    form. Replacements: `tf.nn.softmax`, `keras.ops.softmax`, `K.softmax`, `torch.softmax` (`dim=`),
    `jax.nn.softmax`, `scipy.special.softmax`, and the `log_softmax` of each.
    """

    VALID = [
        "import tensorflow as tf\np = tf.nn.softmax(logits, axis=-1)\n",
        # Shifted by the maximum: the stable implementation.
        "import numpy as np\n\ndef softmax(x, axis=-1):\n    e = np.exp(x - np.max(x, axis=axis, keepdims=True))\n"
        "    return e / np.sum(e, axis=axis, keepdims=True)\n",
        "import tensorflow as tf\n\ndef softmax(x):\n    x_max = tf.reduce_max(x, axis=-1, keepdims=True)\n"
        "    e = tf.exp(x - x_max)\n    return e / tf.reduce_sum(e, axis=-1, keepdims=True)\n",
        "import torch\n\ndef softmax(x):\n    e = (x - x.max(dim=1, keepdim=True).values).exp()\n    return e / e.sum(dim=1, keepdim=True)\n",
        "import jax\nimport jax.numpy as jnp\n\ndef softmax(x):\n    unnormalized = jnp.exp(x - jax.lax.stop_gradient(x.max(-1, keepdims=True)))\n"
        "    return unnormalized / unnormalized.sum(-1, keepdims=True)\n",
        # Divided by a sum of something else.
        "import numpy as np\nw = np.exp(x) / np.sum(np.exp(y))\nv = np.exp(x) / n\n",
        # Clipped logits.
        "import numpy as np\ne = np.exp(np.clip(x, -50, 50))\np = e / e.sum()\n",
        # A Gaussian kernel: exp of a value <= 0 cannot overflow (keras and torchmetrics image code).
        "from keras import ops\n\ndef gaussian(x, sigma):\n    g = ops.exp(-(x**2) / (2.0 * sigma**2))\n    return g / ops.sum(g)\n",
        "import torch\n\ndef gaussian(d, sigma):\n    g = torch.exp(-torch.pow(d / sigma, 2) / 2)\n    return (g / g.sum()).unsqueeze(dim=0)\n",
        # A negated scale times a square (MONAI's Parzen window), and a negated square bound to a name first
        # (MONAI's scale-space Gaussian kernel): both exponents are <= 0.
        "import torch\n\nclass MutualInformation(torch.nn.Module):\n    def window(self, img):\n"
        "        weight = torch.exp(-self.preterm.to(img) * (img - self.bin_centers.to(img)) ** 2)\n"
        "        return weight / torch.sum(weight, dim=-1, keepdim=True)\n",
        "import torch\n\ndef gaussian_1d(sigma, taps):\n    sigma2 = sigma * sigma\n"
        "    out = torch.stack(taps) * torch.exp(-sigma2)\n    return out / out.sum()\n",
    ]
    INVALID = [
        # A negated scale times scores of either sign is no Gaussian: the scores can be large and negative.
        Invalid(
            "import torch\n\ndef attention(q, k, scale):\n    scores = -scale * (q @ k.transpose(-2, -1))\n"
            "    return torch.exp(scores) / torch.exp(scores).sum(dim=-1, keepdim=True)\n",
            "import torch\n\ndef attention(q, k, scale):\n    scores = -scale * (q @ k.transpose(-2, -1))\n"
            "    return torch.softmax(scores, dim=-1)\n",
        ),
        Invalid(
            "import torch\n\ndef attention(q, k, v):\n    scores = q @ k.transpose(-2, -1)\n"
            "    weights = torch.exp(scores) / torch.exp(scores).sum(dim=-1, keepdim=True)\n    return weights @ v\n",
            "import torch\n\ndef attention(q, k, v):\n    scores = q @ k.transpose(-2, -1)\n"
            "    weights = torch.softmax(scores, dim=-1)\n    return weights @ v\n",
        ),
        Invalid(
            "import tensorflow as tf\n\ndef head(logits):\n    e = tf.exp(logits)\n"
            "    return e / tf.reduce_sum(e, axis=-1, keepdims=True)\n",
            "import tensorflow as tf\n\ndef head(logits):\n    e = tf.exp(logits)\n"
            "    return tf.nn.softmax(logits, axis=-1)\n",
        ),
        Invalid(
            "import tensorflow as tf\n\ndef head(logits):\n    e = tf.exp(logits)\n    s = tf.reduce_sum(e, axis=1, keepdims=True)\n"
            "    return tf.math.divide(e, s)\n",
            "import tensorflow as tf\n\ndef head(logits):\n    e = tf.exp(logits)\n    s = tf.reduce_sum(e, axis=1, keepdims=True)\n"
            "    return tf.nn.softmax(logits, axis=1)\n",
        ),
        # NumPy evaluation code: whole-array softmax, spelled with scipy.special when imported.
        Invalid(
            "import numpy as np\nimport scipy.special\n\ndef probs(scores):\n    return np.exp(scores) / np.sum(np.exp(scores))\n",
            "import numpy as np\nimport scipy.special\n\ndef probs(scores):\n    return scipy.special.softmax(scores)\n",
        ),
        Invalid("import numpy as np\n\ndef probs(scores):\n    return np.exp(scores) / np.exp(scores).sum(axis=1)[:, None]\n", None),
        # A masked softmax: no fix, the message shows the shifted form.
        Invalid(
            "from tensorflow.keras import backend as K\n\ndef attend(a, mask):\n    a = K.exp(a) * mask\n"
            "    return a / K.sum(a, axis=1, keepdims=True)\n",
            None,
        ),
        # Tiled sum (a Keras attention layer of the TF1 era).
        Invalid(
            "import tensorflow as tf\n\ndef attend(e, n):\n    a = tf.exp(e)\n"
            "    return a / tf.tile(tf.reduce_sum(a, axis=1, keepdims=True), [1, n])\n",
            None,
        ),
        Invalid(
            "import jax\nimport jax.numpy as jnp\n\ndef probs(z):\n    return jnp.exp(z) / jnp.sum(jnp.exp(z), axis=-1, keepdims=True)\n",
            "import jax\nimport jax.numpy as jnp\n\ndef probs(z):\n    return jax.nn.softmax(z, axis=-1)\n",
        ),
        # The log of a hand-written softmax: one finding, log_softmax.
        Invalid(
            "import torch\n\ndef nll(z, y):\n    logp = torch.log(torch.exp(z) / torch.exp(z).sum(1, keepdim=True))\n"
            "    return -logp.gather(1, y[:, None]).mean()\n",
            "import torch\n\ndef nll(z, y):\n    logp = torch.log_softmax(z, dim=1)\n"
            "    return -logp.gather(1, y[:, None]).mean()\n",
        ),
        Invalid(
            "from keras import ops\n\ndef probs(z):\n    return ops.exp(z) / ops.sum(ops.exp(z), axis=-1, keepdims=True)\n",
            "from keras import ops\n\ndef probs(z):\n    return ops.softmax(z, axis=-1)\n",
        ),
    ]

    def __init__(self, context) -> None:  # type: ignore[no-untyped-def]
        super().__init__(context)
        self.forms = ExpForms(context)
        self._reported: set[int] = set()  # divisions already reported as the inside of a log-softmax

    # -- traversal ----------------------------------------------------------------------------------------
    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if isinstance(node.operator, cst.Divide) and id(node) not in self._reported:
            self._check(node, node.left, node.right)

    def visit_Call(self, node: cst.Call) -> None:
        log = self.forms.log(node)
        if log is not None:
            softmax = self._division(log.operand)
            if softmax is not None:
                self._reported.add(id(softmax.node))
                self._report(node, softmax, log=True)
            return
        if id(node) not in self._reported and self.context.callee(node) in DIVIDE_FUNCTIONS and len(node.args) >= 2:
            if len(node.args) == 2 and not any(a.keyword or a.star for a in node.args):
                self._check(node, node.args[0].value, node.args[1].value)

    def _division(self, node: cst.BaseExpression) -> _Softmax | None:
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide):
            return self._softmax(node, node.left, node.right)
        if isinstance(node, cst.Call) and self.context.callee(node) in DIVIDE_FUNCTIONS and len(node.args) == 2:
            if not any(a.keyword or a.star for a in node.args):
                return self._softmax(node, node.args[0].value, node.args[1].value)
        return None

    def _check(self, node: cst.CSTNode, numerator: cst.BaseExpression, denominator: cst.BaseExpression) -> None:
        softmax = self._softmax(node, numerator, denominator)
        if softmax is not None:
            self._report(node, softmax, log=False)

    # -- matching -----------------------------------------------------------------------------------------
    def _softmax(self, node: cst.CSTNode, numerator: cst.BaseExpression, denominator: cst.BaseExpression) -> _Softmax | None:
        forms = self.forms
        exp = forms.exp(numerator, follow=False, masks=True)
        via = exp is None
        exp = exp or forms.exp(numerator, masks=True)
        if exp is None:
            return None
        total, broadcast, via_sum = self._sum(denominator)
        if total is None:
            return None
        inner = forms.exp(total.operand, follow=False, masks=True)
        via_sum = via_sum or inner is None
        inner = inner or forms.exp(total.operand, masks=True)
        if inner is None or squashed(self.context, inner.operand) != squashed(self.context, exp.operand):
            return None
        if forms.shifted(exp.operand) or forms.bounded(exp.operand) or forms.nonpositive(exp.operand):
            return None
        return _Softmax(node, Exp(exp.call, exp.operand, exp.family, exp.masked or inner.masked), total, broadcast, via or via_sum)

    def _sum(self, denominator: cst.BaseExpression) -> tuple[Sum | None, bool, bool]:
        """The sum in the denominator, under broadcasting wrappers, and through one local variable."""
        node, broadcast = self._peel(denominator)
        via = False
        if isinstance(node, cst.Name):
            value = self.forms.value_of(node)
            if value is node:
                return None, broadcast, via
            node, more = self._peel(value)
            broadcast, via = broadcast or more, True
        return self.forms.sum(node), broadcast, via

    def _peel(self, node: cst.BaseExpression) -> tuple[cst.BaseExpression, bool]:
        broadcast = False
        while True:
            if isinstance(node, cst.Subscript):
                node = node.value
            elif isinstance(node, cst.Call) and self.context.callee(node) in BROADCAST_FUNCTIONS and node.args:
                node = node.args[0].value
            elif isinstance(node, cst.Call) and self.forms.method(node, _BROADCAST_METHODS) is not None:
                node = node.func.value  # type: ignore[attr-defined]
            else:
                return node, broadcast
            broadcast = True

    # -- reporting ----------------------------------------------------------------------------------------
    def _report(self, node: cst.CSTNode, softmax: _Softmax, *, log: bool) -> None:
        replacement = self._replacement(node, softmax, log=log)
        kind = "log_softmax" if log else "softmax"
        better = brief(replacement) if replacement is not None else f"{kind}(x, axis)"
        limit = "709.8 (float64)" if softmax.exp.family in ("numpy", "math") else "88.7 (float32)"
        if softmax.exp.masked:
            message = f"Hand-written masked softmax: NaN once x > {limit}; subtract `max(x, axis, keepdims=True)`"
        elif log:
            message = f"Log of a hand-written softmax: NaN once x > {limit}; use `{better}`"
        else:
            message = f"Hand-written softmax: inf/inf = NaN once x > {limit}; use `{better}`"
        fix = self.fix("safe", f"Replace with `{better}`", Replacement(node, replacement)) if replacement is not None else None
        self.report(
            node,
            message,
            fix=fix,
            details=(
                "exp(x) overflows to inf for a logit above 88.7 in float32 (709.8 in float64), and the sum with it, so "
                "the division is inf/inf = NaN (measured with TF 2.21: `[88, 89, 100, -100]` gives `[0, nan, nan, 0]`); "
                "when every logit is below -104 all exps underflow to 0 and the result is 0/0. The framework's softmax "
                "subtracts `max(x, axis, keepdims=True)` first, which changes nothing mathematically and keeps every exp "
                f"in [0, 1]: `{better}`."
            ),
        )

    def _replacement(self, node: cst.CSTNode, softmax: _Softmax, *, log: bool) -> str | None:
        total, exp = softmax.total, softmax.exp
        if exp.masked or softmax.broadcast or not total.plain:
            return None
        family = "torch" if total.family == "torch-method" else total.family
        x = strip_parens(exp.operand)
        args = [cst.Arg(x)]
        if total.axis is not None:
            if not total.keepdims or isinstance(strip_parens(total.axis), (cst.Tuple, cst.List)):
                return None
            keyword = SOFTMAX_AXIS_KEYWORD.get(family, "axis")
            args.append(cst.Arg(strip_parens(total.axis), keyword=cst.Name(keyword), equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))))
        elif family != "numpy":
            return None  # only SciPy's softmax sums over the whole array by default
        if softmax.via:
            operands = [exp.operand] + ([total.axis] if total.axis is not None else [])
            if not self.forms.stable_between(operands, exp.call, node):
                return None
        spelled = self.forms.spell((LOG_SOFTMAX_FOR if log else SOFTMAX_FOR).get(family))
        if spelled is None:
            return None
        return self.context.code(cst.Call(cst.parse_expression(spelled), args))

"""EPS502: `log(sum(exp(x)))` and `log(exp(a) + exp(b))` written by hand, where logsumexp/logaddexp are exact."""

from __future__ import annotations

from lint_eps.lazy import libcst as cst

from lint_eps.nodes import parenthesize, strip_parens
from lint_eps.rule import Invalid, Replacement, Rule

from .analysis.exp_forms import Exp, ExpForms, Log, Sum, brief, needs_exp, writes_exp_and_log
from .tables.stable_forms import LOGADDEXP_FOR, LOGSUMEXP_FOR


class NaiveLogSumExp(Rule):
    code = "EPS502"
    name = "naive-logsumexp"
    summary = "`log(sum(exp(x)))` overflows for x > 88.7 (float32): use logsumexp (logaddexp for two terms)"
    fixable = "sometimes"
    triggers = (b"exp",)
    prefilter = staticmethod(writes_exp_and_log)
    needs_function = staticmethod(needs_exp)
    specificity = 20
    supersedes = ("EPS201", "EPS506")
    docs = """
    ## What it does
    Finds `log(sum(exp(x), axis))` — the sum a `reduce_sum`, `sum`, `K.sum`, `ops.sum` or a `.sum(dim)`
    method, the exp a function or torch's `x.exp()`, directly or through one local variable each — and
    `log(exp(a) + exp(b))`, in TensorFlow, Keras, PyTorch, JAX and NumPy. It stays silent when `x` is first
    shifted by its maximum (`x - max(x, axis, keepdims=True)`, `reduce_max`, `amax`, `stop_gradient(max)`),
    which is how logsumexp itself is written, or clipped.

    ## Why is this bad?
    `exp(x)` overflows to `inf` for x > 88.72 in float32 (709.78 in float64) and underflows to 0 for
    x < -103.9, so `log(sum(exp(x)))` is `inf` for one logit above 88.7 and `-inf` when every logit is below
    -104, although the true value is close to the largest logit (`log(sum(exp([89, 0])))` is `inf`;
    `tf.reduce_logsumexp` gives 89.0, measured on TF 2.21). In a loss, the gradient then becomes NaN. The
    library functions subtract the maximum first and never overflow.

    ## Example
    ```python
    import tensorflow as tf

    def free_energy(logits):
        return -tf.math.log(tf.reduce_sum(tf.exp(logits), axis=-1))
    ```

    ## Use instead
    ```python
    import tensorflow as tf

    def free_energy(logits):
        return -tf.reduce_logsumexp(logits, axis=-1)
    ```

    ## Fix safety
    The fix is safe: logsumexp computes the same value, exactly where the hand-written form overflows. It
    keeps the sum's axis and keepdims arguments and is offered only when the sum has no others (`dtype=`,
    `out=`), the replacement can be spelled with the file's imports, and, through a variable, `x` is a plain
    name not rebound in between. Replacements: `tf.reduce_logsumexp`, `keras.ops.logsumexp`, `K.logsumexp`,
    `torch.logsumexp` / `x.logsumexp(dim)` (only with a `dim`, which it requires), `jax.nn.logsumexp`,
    `scipy.special.logsumexp` for NumPy (when `scipy.special` is imported); for two terms
    `tf.experimental.numpy.logaddexp`, `keras.ops.logaddexp`, `torch.logaddexp`, `np.logaddexp`,
    `jnp.logaddexp`. torch and JAX spellings follow their documentation (neither is installed here).
    """

    VALID = [
        # Already the stable form.
        "import tensorflow as tf\nlse = tf.reduce_logsumexp(logits, axis=-1)\n",
        "import torch\nlse = torch.logsumexp(scores, dim=1)\n",
        # Shifted by the maximum first: the standard stable implementation.
        "import numpy as np\n\ndef logsumexp(a, axis=None):\n    a_max = np.max(a, axis=axis, keepdims=True)\n"
        "    out = np.log(np.sum(np.exp(a - a_max), axis=axis, keepdims=True))\n    return out + a_max\n",
        "import jax\nimport jax.numpy as jnp\n\ndef lse(x):\n    m = jax.lax.stop_gradient(x.max(axis=-1, keepdims=True))\n"
        "    return m + jnp.log(jnp.sum(jnp.exp(x - m), axis=-1, keepdims=True))\n",
        "import torch\n\ndef lse(x):\n    m = x.max(dim=1, keepdim=True)[0]\n    return m + (x - m).exp().sum(1, keepdim=True).log()\n",
        # Two terms shifted by their maximum.
        "import numpy as np\n\ndef logaddexp(a, b):\n    m = np.maximum(a, b)\n    return m + np.log(np.exp(a - m) + np.exp(b - m))\n",
        # Log of a sum of something else.
        "import tensorflow as tf\nz = tf.math.log(tf.reduce_sum(probs, axis=-1))\n",
        # Clipped logits cannot overflow.
        "import numpy as np\nlse = np.log(np.sum(np.exp(np.clip(x, -50, 50))))\n",
    ]
    INVALID = [
        Invalid(
            "import tensorflow as tf\n\ndef free_energy(logits):\n    return -tf.math.log(tf.reduce_sum(tf.exp(logits), axis=-1))\n",
            "import tensorflow as tf\n\ndef free_energy(logits):\n    return -tf.reduce_logsumexp(logits, axis=-1)\n",
        ),
        Invalid(
            "import torch\n\ndef nll(scores, target):\n    lse = torch.log(torch.sum(torch.exp(scores), dim=1))\n"
            "    return (lse - scores.gather(1, target[:, None]).squeeze(1)).mean()\n",
            "import torch\n\ndef nll(scores, target):\n    lse = torch.logsumexp(scores, dim=1)\n"
            "    return (lse - scores.gather(1, target[:, None]).squeeze(1)).mean()\n",
        ),
        Invalid(
            "import torch\n\ndef partition(energy):\n    return (-energy).exp().sum(-1).log()\n",
            "import torch\n\ndef partition(energy):\n    return (-energy).logsumexp(-1)\n",
        ),
        Invalid(
            "from keras import ops\n\ndef log_partition(x):\n    e = ops.exp(x)\n    return ops.log(ops.sum(e, axis=1, keepdims=True))\n",
            "from keras import ops\n\ndef log_partition(x):\n    e = ops.exp(x)\n    return ops.logsumexp(x, axis=1, keepdims=True)\n",
        ),
        Invalid(
            "import jax\nimport jax.numpy as jnp\n\ndef log_z(logits):\n    return jnp.log(jnp.sum(jnp.exp(logits), axis=-1))\n",
            "import jax\nimport jax.numpy as jnp\n\ndef log_z(logits):\n    return jax.nn.logsumexp(logits, axis=-1)\n",
        ),
        # NumPy has no logsumexp; SciPy's is spelled only when the file imports scipy.special.
        Invalid("import numpy as np\n\ndef log_z(a):\n    return np.log(np.sum(np.exp(a)))\n", None),
        Invalid(
            "import numpy as np\nimport scipy.special\n\ndef log_z(a):\n    return np.log(np.sum(np.exp(a), axis=0))\n",
            "import numpy as np\nimport scipy.special\n\ndef log_z(a):\n    return scipy.special.logsumexp(a, axis=0)\n",
        ),
        # Two terms: logaddexp.
        Invalid(
            "import numpy as np\n\ndef log_mix(la, lb):\n    return np.log(np.exp(la) + np.exp(lb))\n",
            "import numpy as np\n\ndef log_mix(la, lb):\n    return np.logaddexp(la, lb)\n",
        ),
        Invalid(
            "import torch\n\ndef log_mix(a, b):\n    return torch.log(torch.exp(a) + torch.exp(b - 1.0))\n",
            "import torch\n\ndef log_mix(a, b):\n    return torch.logaddexp(a, b - 1.0)\n",
        ),
        # torch.logsumexp needs a dim: the finding stands, without a fix.
        Invalid("import torch\n\ndef log_z(a):\n    return torch.log(torch.sum(torch.exp(a)))\n", None),
        # The Keras backend has logsumexp.
        Invalid(
            "from tensorflow.keras import backend as K\n\ndef log_z(x):\n    return K.log(K.sum(K.exp(x), axis=-1))\n",
            "from tensorflow.keras import backend as K\n\ndef log_z(x):\n    return K.logsumexp(x, axis=-1)\n",
        ),
    ]

    def __init__(self, context) -> None:  # type: ignore[no-untyped-def]
        super().__init__(context)
        self.forms = ExpForms(context)

    def visit_Call(self, node: cst.Call) -> None:
        forms = self.forms
        log = forms.log(node)
        if log is None:
            return
        total, via_sum = forms.sum(log.operand), False
        if total is None and isinstance(log.operand, cst.Name):
            value = forms.value_of(log.operand)
            total, via_sum = (forms.sum(value), True) if value is not log.operand else (None, False)
        if total is not None:
            direct = forms.exp(total.operand, follow=False)
            found = direct or forms.exp(total.operand)
            if found is not None and not found.masked and not forms.shifted(found.operand) and not forms.bounded(found.operand):
                self._logsumexp(log, total, found, via=via_sum or direct is None)
            return
        operand = log.operand
        if isinstance(operand, cst.BinaryOperation) and isinstance(operand.operator, cst.Add):
            a, b = forms.exp(operand.left, follow=False), forms.exp(operand.right, follow=False)
            if a is None or b is None or any(forms.shifted(e.operand) or forms.bounded(e.operand) for e in (a, b)):
                return
            self._logaddexp(log, a, b)

    def _logsumexp(self, log: Log, total: Sum, found: Exp, *, via: bool) -> None:
        replacement = self._lse_replacement(total, found)
        if replacement is not None and via and not self.forms.stable_between([found.operand, *([total.axis] if total.axis is not None else [])], found.call, log.call):
            replacement = None
        self._report(log, "`log(sum(exp(x)))`", replacement, "logsumexp(x, axis)", found.family)

    def _lse_replacement(self, total: Sum, found: Exp) -> str | None:
        if not total.plain:
            return None
        x = strip_parens(found.operand)
        extra = [a for a in total.call.args if a.value is not total.operand]
        family = total.family
        if family == "torch":
            if total.axis is None:
                return None  # torch.logsumexp requires dim
            if total.method:
                receiver = parenthesize(x)
                return self.context.code(cst.Call(cst.Attribute(receiver, cst.Name("logsumexp")), extra))
        spelled = self.forms.spell(LOGSUMEXP_FOR.get(family))
        if spelled is None:
            return None
        return self.context.code(cst.Call(cst.parse_expression(spelled), [cst.Arg(x), *_as_following(extra)]))

    def _logaddexp(self, log: Log, a: Exp, b: Exp) -> None:
        spelled = self.forms.spell(LOGADDEXP_FOR.get(a.family)) if a.family == b.family else None
        replacement = None
        if spelled is not None:
            replacement = self.context.code(cst.Call(cst.parse_expression(spelled), [cst.Arg(strip_parens(a.operand)), cst.Arg(strip_parens(b.operand))]))
        self._report(log, "`log(exp(a) + exp(b))`", replacement, "logaddexp(a, b)", a.family)

    def _report(self, log: Log, what: str, replacement: str | None, generic: str, family: str) -> None:
        better = brief(replacement) if replacement is not None else generic
        limit = "709.8 (float64)" if family in ("numpy", "math") else "88.7 (float32)"
        message = f"{what} is inf once x > {limit}; use `{better}`"
        fix = self.fix("safe", f"Replace with `{better}`", Replacement(log.call, replacement)) if replacement is not None else None
        self.report(
            log.call,
            message,
            fix=fix,
            details=(
                f"{what} exponentiates before it takes the log: exp overflows to inf for x above {limit}, so the "
                f"result is inf (measured: `log(reduce_sum(exp([89, 0])))` is inf in TF 2.21, "
                f"`reduce_logsumexp` gives 89.0), and for very negative x every exp underflows to 0 and the log is -inf. "
                f"logsumexp subtracts the maximum first and is exact for any finite input: `{better}`."
            ),
        )


def _as_following(args: list[cst.Arg]) -> list[cst.Arg]:
    """Arguments moved after a new first argument: every one but the last keeps (or gets) its comma."""
    out = []
    for index, a in enumerate(args):
        last = index == len(args) - 1
        out.append(a.with_changes(comma=cst.MaybeSentinel.DEFAULT) if last else a)
    return out

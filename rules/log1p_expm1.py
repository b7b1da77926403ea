"""EPS506: `log(1 + x)` and `exp(x) - 1`, which lose every digit of a small x; log1p and expm1 keep them."""

from __future__ import annotations

from lint_eps.lazy import libcst as cst

from lint_eps.nodes import parenthesize, strip_parens
from lint_eps.prefilter import FileText, FunctionFacts, has_word, mentions
from lint_eps.rule import Invalid, Replacement, Rule

from .analysis.exp_forms import ExpForms, brief, is_one
from .tables.stable_forms import EXPM1_FOR, LOG1P_FOR


def _writes_log_or_exp(text: FileText) -> bool:
    return has_word(text.source, ("log", "exp"))


def _needs(text: FileText, function: FunctionFacts) -> bool:
    return mentions(text, function, "log", "exp")


class Log1pExpm1(Rule):
    code = "EPS506"
    # Opt-in: on corpus2 (15 libraries nobody tuned on) 2 of its 21 findings were worth changing; most `log(1 + x)`
    # there take counts, coordinates or frequencies far from 0, where log1p changes nothing (bench/README.md).
    default_enabled = False
    name = "log1p-expm1"
    summary = "`log(1 + x)` / `exp(x) - 1` lose precision for small x: use log1p / expm1"
    fixable = "sometimes"
    triggers = (b"log", b"exp")
    prefilter = staticmethod(_writes_log_or_exp)
    needs_function = staticmethod(_needs)
    specificity = 40
    docs = """
    ## What it does
    Finds `log(1 + x)` (also `log(x + 1)`, `1.0`, torch's `(1 + x).log()`) and `exp(x) - 1` (torch's
    `x.exp() - 1`) in TensorFlow, Keras, PyTorch, JAX, NumPy and `math`, and rewrites them as `log1p(x)`
    and `expm1(x)` in the same framework (parity with TorchFix TOR106/TOR107, with the fix they lack).
    `log(1 - p)` is not this rule's (EPS201 judges the probability), nor `log(1 + exp(x))` (EPS503).

    ## Why is this bad?
    `1 + x` rounds to 1 for |x| < 6e-8 in float32 (1.1e-16 in float64), so `log(1 + x)` is exactly 0 and
    `exp(x) - 1` exactly 0 there, where the true values are x: `np.log(np.float32(1) + np.float32(1e-8))`
    is 0.0 and `np.log1p(np.float32(1e-8))` is 1e-08 (measured, NumPy 2.4). Above that, the result keeps
    only the digits of x that survive the addition: `exp(x) - 1` at x = 1e-4 has a relative error of
    1.2e-4 in float32. A rate, a log-return or a Box-Cox transform of small values loses its precision,
    and its gradient with it.

    ## Example
    ```python
    import numpy as np

    def log_returns(r):
        return np.log(1 + r)
    ```

    ## Use instead
    ```python
    import numpy as np

    def log_returns(r):
        return np.log1p(r)
    ```

    ## Fix safety
    The fix is safe: log1p and expm1 are the same functions, correctly rounded where the hand-written forms
    are not. It is offered when the replacement can be spelled with the file's imports: `tf.math.log1p` /
    `tf.math.expm1` (also for the Keras backend, which has neither), `keras.ops.log1p` / `expm1`,
    `torch.log1p` / `torch.expm1` and the tensor methods, `np.`, `jnp.`, `math.`.
    """

    VALID = [
        "import numpy as np\nr = np.log1p(x)\n",
        "import torch\ny = torch.expm1(x)\n",
        # log(1 - p) of a probability is EPS201's business.
        "import tensorflow as tf\nz = tf.math.log(1 - p)\n",
        # log(1 + exp(x)) is EPS503's.
        "import torch\nsp = torch.log(1 + torch.exp(x))\n",
        # Not 1 + x.
        "import numpy as np\nz = np.log(2 + x)\nw = np.exp(x) - 2\n",
        "import math\nz = math.log(1 + x, 10)\n",
        # exp(x) - 1 inside a larger expression whose first term is not the exp.
        "import numpy as np\nz = x - np.exp(y) - 1\n",
    ]
    INVALID = [
        Invalid("import numpy as np\n\ndef log_returns(r):\n    return np.log(1 + r)\n", "import numpy as np\n\ndef log_returns(r):\n    return np.log1p(r)\n"),
        Invalid("import torch\nz = torch.log(x + 1.0)\n", "import torch\nz = torch.log1p(x)\n"),
        Invalid("import torch\nz = (1 + a * b).log()\n", "import torch\nz = (a * b).log1p()\n"),
        Invalid("import tensorflow as tf\ny = tf.exp(rate * t) - 1\n", "import tensorflow as tf\ny = tf.math.expm1(rate * t)\n"),
        Invalid("import torch\ny = x.exp() - 1\n", "import torch\ny = x.expm1()\n"),
        Invalid("import math\n\ndef growth(r):\n    return math.exp(r) - 1.0\n", "import math\n\ndef growth(r):\n    return math.expm1(r)\n"),
        Invalid("import jax.numpy as jnp\nz = jnp.log(1 + jnp.abs(x))\n", "import jax.numpy as jnp\nz = jnp.log1p(jnp.abs(x))\n"),
        Invalid(
            "from tensorflow.keras import backend as K\nz = K.log(1 + x)\n",
            None,  # the Keras backend has no log1p, and tensorflow itself is not imported
        ),
        Invalid("from keras import ops\nz = ops.log(1 + x) + ops.exp(y) - 1\n", "from keras import ops\nz = ops.log1p(x) + ops.expm1(y)\n", count=2),
    ]

    def __init__(self, context) -> None:  # type: ignore[no-untyped-def]
        super().__init__(context)
        self.forms = ExpForms(context)

    def visit_Call(self, node: cst.Call) -> None:
        log = self.forms.log(node)
        if log is None:
            return
        operand = log.operand
        if not (isinstance(operand, cst.BinaryOperation) and isinstance(operand.operator, cst.Add)):
            return
        x = operand.right if is_one(operand.left) else operand.left if is_one(operand.right) else None
        if x is None or self.forms.exp(x, follow=False) is not None:
            return  # log(1 + exp(x)) is EPS503's
        if log.method:
            replacement = self.context.code(cst.Call(cst.Attribute(parenthesize(strip_parens(x)), cst.Name("log1p")), []))
        else:
            spelled = self.forms.spell(LOG1P_FOR.get(log.family))
            replacement = self.context.code(cst.Call(cst.parse_expression(spelled), [cst.Arg(strip_parens(x))])) if spelled else None
        self._report(node, "`log(1 + x)`", "log1p(x)", replacement)

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if not isinstance(node.operator, cst.Subtract) or not is_one(node.right):
            return
        # `exp(x) - 1`, or `a + exp(x) - 1`, which Python groups as `(a + exp(x)) - 1`.
        left = node.left
        before = None
        if isinstance(left, cst.BinaryOperation) and isinstance(left.operator, cst.Add) and not left.lpar:
            before, left = left.left, left.right
        exp = self.forms.exp(left, follow=False)
        if exp is None:
            return
        x = strip_parens(exp.operand)
        expm1: cst.BaseExpression | None
        if isinstance(exp.call.func, cst.Attribute) and self.context.callee(exp.call) is None:
            expm1 = cst.Call(cst.Attribute(parenthesize(x), cst.Name("expm1")), [])
        else:
            spelled = self.forms.spell(EXPM1_FOR.get(exp.family))
            expm1 = cst.Call(cst.parse_expression(spelled), [cst.Arg(x)]) if spelled else None
        if expm1 is not None and before is not None:
            expm1 = cst.BinaryOperation(before, cst.Add(), expm1)
        self._report(node, "`exp(x) - 1`", "expm1(x)", self.context.code(expm1) if expm1 is not None else None)

    def _report(self, node: cst.CSTNode, what: str, generic: str, replacement: str | None) -> None:
        better = brief(replacement) if replacement is not None else generic
        fix = self.fix("safe", f"Replace with `{better}`", Replacement(node, replacement)) if replacement is not None else None
        self.report(
            node,
            f"{what} is 0 for |x| < 6e-8 (float32), imprecise above; use {self.quote(better, 36)}",
            fix=fix,
            details=(
                f"{what} first rounds 1 + x (or exp(x)) to the float type, which keeps only about 7 significant digits "
                f"in float32: for |x| below 6e-8 the result is exactly 0, and for small x it carries a relative error of "
                f"about 1e-7 / |x|. log1p and expm1 compute the same value to full precision (TorchFix TOR106/TOR107 name "
                f"the same mistake). Use `{better}`."
            ),
        )

"""EPS202: log of a sigmoid or softmax output, where the framework has an exact log-activation."""

from __future__ import annotations

from dataclasses import dataclass

from lint_eps.lazy import libcst as cst
from lint_eps import match as m

from lint_eps.nodes import arg, names_in, negate, simple_operand, strip_parens
from lint_eps.prefilter import mentions, writes_identifier
from lint_eps.rule import Invalid, Replacement, Rule

from .analysis.epsilon import floored_operand
from .analysis.provenance import discarded_guards
from .analysis.roles import function_role

from .tables.activations import (
    LOG_FUNCTIONS,
    LOG_SIGMOID_FOR,
    LOG_SOFTMAX_FOR,
    NEG_SOFTPLUS_FOR,
    SIGMOID_FUNCTIONS,
    SIGMOID_METHODS,
    SOFTMAX_FUNCTIONS,
    SOFTMAX_METHODS,
)


@dataclass(frozen=True)
class _Activation:
    kind: str  # "sigmoid" | "softmax"
    family: str  # key into LOG_*_FOR; "torch-method" for x.sigmoid() / x.softmax()
    call: cst.Call
    operand: cst.BaseExpression | None  # the logits
    complement: bool = False  # log(1 - sigmoid(x))


ONE_MINUS = m.BinaryOperation(left=m.Integer("1") | m.Float("1.0") | m.Float("1."), operator=m.Subtract())


class LogOfActivation(Rule):
    code = "EPS202"
    name = "log-of-activation"
    summary = "Log of a sigmoid/softmax output: use the exact log-activation"
    fixable = "sometimes"
    triggers = (b"sigmoid", b"softmax", b"expit")
    # Every finding is a call of a `log` (LOG_FUNCTIONS, whose names all end with the identifier `log`, or a
    # `.log()` method): the identifier occurs in the file (at the call, or in the import of an alias).
    prefilter = staticmethod(writes_identifier("log"))
    # Per function: the functions that write the identifier.
    needs_function = staticmethod(lambda text, function: mentions(text, function, "log"))
    specificity = 10
    supersedes = ("EPS201", "EPS203")
    docs = """
    ## What it does
    Finds `log(sigmoid(x))`, `log(1 - sigmoid(x))` and `log(softmax(x, axis))` — directly or through one
    local variable — in TensorFlow, Keras (`keras.ops`, `K`), PyTorch, JAX and SciPy, and rewrites them
    as `log_sigmoid(x)`, `log_sigmoid(-x)` and `log_softmax(x, axis)` in the same framework. In loss code it
    also reports, without a fix, the same logs floored by an epsilon (`log(sigmoid(x) + eps)`,
    `log(1 - sigmoid(x) + eps)`, `log(p.clamp(min=eps))`): finite, but saturated, with a zero gradient for
    the most confident mistakes.

    ## Why is this bad?
    The sigmoid saturates long before its log does. In float32 `sigmoid(x)` rounds to exactly 1 from
    x ≈ 16.6, so `log(1 - sigmoid(x))` is `log(0) = -inf` there, and `sigmoid(-x)` underflows to 0 from
    x ≈ 88.7 (x ≈ 17.3 in float16), so `log(sigmoid(x))` is `-inf`. One such element makes the loss
    `inf`, its gradient `NaN`, and the next optimizer step writes NaN into every weight. Long before the
    overflow the gradient through the saturated sigmoid is already rounded away. The same happens to
    `log(softmax(x))` for any class whose logit is about 100 below the largest. The log-activations
    compute the same function in a form that never overflows (`log_sigmoid(x) = -softplus(-x)`,
    `log_softmax(x) = x - logsumexp(x)`).

    ## Example
    ```python
    import tensorflow as tf

    def bce(y_true, logits):
        return -tf.reduce_mean(y_true * tf.math.log(tf.sigmoid(logits))
                               + (1 - y_true) * tf.math.log(1 - tf.sigmoid(logits)))
    ```

    ## Use instead
    ```python
    import tensorflow as tf

    def bce(y_true, logits):
        return -tf.reduce_mean(y_true * tf.math.log_sigmoid(logits)
                               + (1 - y_true) * tf.math.log_sigmoid(-logits))
    ```
    (or `tf.nn.sigmoid_cross_entropy_with_logits`).

    ## Fix safety
    The fix is safe: it computes the same mathematical value, exactly where the original overflows. It is
    offered only when the replacement can be spelled with names the file already imports, and, through a
    variable, only when the logits expression is a plain name not rebound in between. Replacements:
    TensorFlow `tf.math.log_sigmoid` / `tf.nn.log_softmax`; Keras 3 `keras.ops.log_sigmoid` /
    `keras.ops.log_softmax`; `K.log(K.sigmoid(x))` becomes `-K.softplus(-x)`; PyTorch
    `F.logsigmoid` / `torch.log_softmax`; JAX `jax.nn.log_sigmoid` / `jax.nn.log_softmax`; SciPy
    `scipy.special.log_expit` / `scipy.special.log_softmax`.
    """

    VALID = [
        # Already the exact form.
        "import tensorflow as tf\nloss = -tf.math.log_sigmoid(logits)\n",
        "import torch.nn.functional as F\nlogp = F.log_softmax(logits, dim=-1)\n",
        "import jax\nlogp = jax.nn.log_softmax(logits, axis=-1)\n",
        # An epsilon-guarded log is a different value; EPS202 does not rewrite it.
        "import tensorflow as tf\nloss = -tf.math.log(tf.sigmoid(x) + 1e-7)\n",
        # Log of something else.
        "import torch\nlogp = torch.log(probs)\n",
        # A user function called sigmoid is not the framework's.
        "import numpy as np\ndef sigmoid(x):\n    return 1 / (1 + np.exp(-x))\nloss = np.log(np.clip(sigmoid(x), 1e-7, 1))\n",
        # The variable is reassigned (clipped) before the log.
        "import tensorflow as tf\np = tf.sigmoid(z)\np = tf.clip_by_value(p, 1e-7, 1 - 1e-7)\nloss = tf.math.log(p)\n",
        # Method on an object that is not known to be a torch tensor.
        "import numpy as np\nv = model.sigmoid().log()\n",
        # Issue 11: a floored log of a sigmoid outside differentiated code (a matcher's cost under no_grad).
        "import torch\n\nclass HungarianMatcher(torch.nn.Module):\n    @torch.no_grad()\n    def forward(self, outputs, targets):\n"
        "        out_prob = outputs['logits'].flatten(0, 1).sigmoid()\n        return -(out_prob + 1e-8).log()\n",
    ]
    INVALID = [
        # Issue 11, epsilon in the wrong place: a floored log of a sigmoid in a loss module (timm's ASL).
        Invalid(
            "import torch\n\nclass AsymmetricLossMultiLabel(torch.nn.Module):\n    def __init__(self, eps=1e-8):\n"
            "        super().__init__()\n        self.eps = eps\n\n    def forward(self, x, y):\n        x_sigmoid = torch.sigmoid(x)\n"
            "        xs_pos = x_sigmoid\n        return -(y * torch.log(xs_pos.clamp(min=self.eps))).sum()\n",
            None,
        ),
        # corpus3, the complement floored: PyG's ARGA discriminator loss on the fakes.
        Invalid(
            "import torch\n\nEPS = 1e-15\n\nclass ARGA(torch.nn.Module):\n    def discriminator_loss(self, z):\n"
            "        fake = torch.sigmoid(self.discriminator(z.detach()))\n        return -torch.log(1 - fake + EPS).mean()\n",
            None,
        ),
        Invalid(
            "import torch\n\ndef focal_loss(logits, targets, eps=1e-6):\n"
            "    return -(targets * torch.log(eps + torch.sigmoid(logits))).mean()\n",
            None,
        ),
        Invalid(
            "import tensorflow as tf\nloss = -tf.math.log(tf.sigmoid(logits))\n",
            "import tensorflow as tf\nloss = -tf.math.log_sigmoid(logits)\n",
        ),
        Invalid(
            "import tensorflow as tf\nloss = -tf.math.log(1 - tf.nn.sigmoid(logits))\n",
            "import tensorflow as tf\nloss = -tf.math.log_sigmoid(-logits)\n",
        ),
        Invalid(
            "import tensorflow as tf\nlogp = tf.math.log(tf.nn.softmax(logits, axis=-1))\n",
            "import tensorflow as tf\nlogp = tf.nn.log_softmax(logits, axis=-1)\n",
        ),
        Invalid(
            "import torch\nimport torch.nn.functional as F\nlogp = torch.log(F.softmax(scores, dim=1))\n",
            "import torch\nimport torch.nn.functional as F\nlogp = F.log_softmax(scores, dim=1)\n",
        ),
        Invalid(
            "import torch\nlp = torch.log(torch.sigmoid(z))\n",
            "import torch\nlp = torch.nn.functional.logsigmoid(z)\n",
        ),
        Invalid(
            "import torch\nlp = torch.sigmoid(z).log()\n",
            "import torch\nlp = torch.nn.functional.logsigmoid(z)\n",
        ),
        Invalid(
            "import torch\nlp = (a + b).softmax(dim=-1).log()\n",
            "import torch\nlp = (a + b).log_softmax(dim=-1)\n",
        ),
        Invalid(
            "from keras import ops\ndef loss(y, z):\n    p = ops.sigmoid(z)\n    return -(y * ops.log(p) + (1 - y) * ops.log(1 - p))\n",
            "from keras import ops\ndef loss(y, z):\n    p = ops.sigmoid(z)\n    return -(y * ops.log_sigmoid(z) + (1 - y) * ops.log_sigmoid(-z))\n",
            count=2,
        ),
        Invalid(
            "from tensorflow.keras import backend as K\nll = K.log(K.sigmoid(a - b))\n",
            "from tensorflow.keras import backend as K\nll = -K.softplus(-(a - b))\n",
        ),
        Invalid(
            "import jax\nimport jax.numpy as jnp\nlp = jnp.log(jax.nn.sigmoid(x))\n",
            "import jax\nimport jax.numpy as jnp\nlp = jax.nn.log_sigmoid(x)\n",
        ),
        Invalid(
            "import numpy as np\nfrom scipy.special import expit\nll = np.log(expit(z))\n",
            None,  # `scipy.special` itself is not imported, so there is no spelling for log_expit
        ),
        Invalid(
            "import tensorflow as tf\nlog = tf.math.log\nsig = tf.sigmoid\nv = log(sig(u))\n",
            "import tensorflow as tf\nlog = tf.math.log\nsig = tf.sigmoid\nv = tf.math.log_sigmoid(u)\n",
        ),
        Invalid(
            "import tensorflow as tf\np = tf.sigmoid(z)\nz = z * 2\nloss = tf.math.log(p)\n",
            None,  # z was rebound: the finding stands, but the fix would change the value
        ),
    ]

    # -- matching -------------------------------------------------------------------------------------
    def is_log_of_activation(self, node: cst.Call) -> bool:
        """Whether `node` is this rule's pattern (other log rules stay silent on it: one mistake, one finding)."""
        operand = self._log_operand(node)
        return operand is not None and self._activation_of(operand) is not None

    def visit_Call(self, node: cst.Call) -> None:
        operand = self._log_operand(node)
        if operand is None:
            return
        activation = self._activation_of(operand)
        if activation is None:
            self._check_floored(node, operand)
            return
        via_variable = activation.call is not strip_parens(operand) and not m.matches(strip_parens(operand), ONE_MINUS)
        replacement = self._replacement(activation, node, via_variable)
        what = "log(1 - sigmoid(x))" if activation.complement else f"log({activation.kind}(x))"
        if activation.kind == "sigmoid":
            why = (
                "is -inf once sigmoid(x) rounds to 1 (x > 16.6 in float32)"
                if activation.complement
                else "is -inf once sigmoid(x) underflows (x < -88.7 in float32, -17.3 in float16)"
            )
        else:
            why = "is -inf for any class whose probability underflows to 0"
        better = "log_sigmoid(-x)" if activation.complement else f"log_{activation.kind}(x)"
        short_why = (
            "is -inf once sigmoid(x) rounds to 1" if activation.complement
            else "is -inf once sigmoid(x) underflows" if activation.kind == "sigmoid"
            else "is -inf once a probability underflows"
        )
        # NumPy/SciPy have no gradient: the -inf is the result, with a RuntimeWarning.
        callee = self.context.callee(node) or ""
        effect = (
            "so NumPy returns -inf with only a RuntimeWarning, and a loss or metric built on it is inf or NaN"
            if callee.startswith(("numpy", "scipy"))
            else "and the loss and its gradient become inf/NaN"
        )
        fix = None
        if replacement is not None:
            better = self.context.code(replacement)
            fix = self.fix("safe", f"Replace with `{better}`", Replacement(node, replacement))
        message = f"`{what}` {short_why}; use {self.quote(better, 40)}"
        details = f"`{what}` {why}, {effect}; use `{better}`"
        related = [("activation here", activation.call)] if via_variable else []
        related += [("this clip's result is thrown away, so it guards nothing: assign it", call) for call in discarded_guards(self.context, operand, node)]
        self.report(node, message, fix=fix, related=related, details=details)

    def _check_floored(self, node: cst.Call, operand: cst.BaseExpression) -> None:
        """`log(sigmoid(x) + eps)`, `log(sigmoid(x).clamp(min=eps))` in loss code (issue 11): finite, but the floor
        caps the loss at -log(eps) and zeroes its gradient for the most confident mistakes, which are the ones
        the loss is there to correct. Outside loss code (no gradient) the floored value is a fine choice."""
        inner = floored_operand(operand, self.context)
        activation = self._activation_of(inner) if inner is not None else None
        if activation is None:
            return
        role = function_role(self.context)
        if role is None or not role.differentiable:
            return
        # The complement too: a GAN discriminator's `-log(1 - sigmoid(D(fake)) + EPS)` (PyG's ARGA) saturates
        # the same way for the fakes it is most sure are real.
        what = "log(1 - sigmoid(x))" if activation.complement else f"log({activation.kind}(x))"
        better = "log_sigmoid(-x)" if activation.complement else f"log_{activation.kind}(x)"
        self.report(
            node,
            f"`{what}` floored by an epsilon: the loss saturates, no gradient; use `{better}`",
            details=(
                f"`{what}` floored by an epsilon in {role.reason}: the loss saturates at -log(eps) and its gradient is 0 "
                f"for the most confident mistakes, the ones the loss is there to correct; use the exact "
                f"`{better}`, which needs no epsilon."
            ),
        )

    def _log_operand(self, node: cst.Call) -> cst.BaseExpression | None:
        callee = self.context.callee(node)
        if callee in LOG_FUNCTIONS:
            if len(node.args) != 1:
                return None  # math.log(x, base) and the like
            return arg(node, 0, "x") or arg(node, 0, "input")
        # torch tensor method: `<activation>.log()`
        if m.matches(node, m.Call(func=m.Attribute(attr=m.Name("log")), args=())) and self._uses_torch():
            return node.func.value  # type: ignore[attr-defined]
        return None

    def _uses_torch(self) -> bool:
        return self.context.imports.imports_any(("torch",))

    def _activation_of(self, operand: cst.BaseExpression, depth: int = 0) -> _Activation | None:
        operand = strip_parens(operand)
        if m.matches(operand, ONE_MINUS):
            inner = self._activation_of(operand.right, depth)  # type: ignore[attr-defined]
            if inner is not None and inner.kind == "sigmoid" and not inner.complement:
                return _Activation(inner.kind, inner.family, inner.call, inner.operand, complement=True)
            return None
        if isinstance(operand, cst.Call):
            return self._activation_call(operand)
        if isinstance(operand, cst.Name) and depth == 0:
            scope = self.context.function or self.context.scope
            for _ in range(3):  # through plain renames (`xs_pos = x_sigmoid`) to the one local holding the value
                binding = scope.reaching_binding(operand)
                if binding is None or binding.value is None or binding.augmented_op is not None:
                    return None
                value = strip_parens(binding.value)
                if not isinstance(value, cst.Name):
                    return self._activation_of(value, depth + 1)
                operand = value
            return None
        return None

    def _activation_call(self, call: cst.Call) -> _Activation | None:
        callee = self.context.callee(call)
        if callee in SIGMOID_FUNCTIONS:
            return _Activation("sigmoid", SIGMOID_FUNCTIONS[callee], call, arg(call, 0, "x"))
        if callee in SOFTMAX_FUNCTIONS:
            return _Activation("softmax", SOFTMAX_FUNCTIONS[callee], call, None)
        if isinstance(call.func, cst.Attribute) and callee is None and self._uses_torch():
            method = call.func.attr.value
            if method in SIGMOID_METHODS and not call.args:
                return _Activation("sigmoid", "torch-method", call, call.func.value)
            if method in SOFTMAX_METHODS:
                return _Activation("softmax", "torch-method", call, call.func.value)
        return None

    # -- fixing ---------------------------------------------------------------------------------------
    def _replacement(self, activation: _Activation, log_call: cst.Call, via_variable: bool) -> cst.BaseExpression | None:
        call = activation.call
        if activation.kind == "sigmoid":
            # sigmoid(x, name=...) / sigmoid(x, out=...): only the plain one-argument form is rewritten.
            if activation.operand is None or (activation.family != "torch-method" and len(call.args) != 1):
                return None
            logits = activation.operand
        else:
            logits = None
        if via_variable and not self._stable_between(call, log_call):
            return None
        if activation.kind == "sigmoid":
            assert logits is not None
            x = negate(logits) if activation.complement else strip_parens(logits)
            if activation.family == "torch-method":
                spelled = self.context.spell("torch.nn.functional.logsigmoid")
                return cst.Call(cst.parse_expression(spelled), [cst.Arg(x)]) if spelled else None
            if activation.family in NEG_SOFTPLUS_FOR:
                spelled = self.context.spell(NEG_SOFTPLUS_FOR[activation.family])
                if spelled:
                    return negate(cst.Call(cst.parse_expression(spelled), [cst.Arg(negate(x))]))
            for target in LOG_SIGMOID_FOR.get(activation.family, ()):
                spelled = self.context.spell(target)
                if spelled:
                    return cst.Call(cst.parse_expression(spelled), [cst.Arg(x)])
            return None
        # softmax: same arguments, log_ name.
        if activation.family == "torch-method":
            assert isinstance(call.func, cst.Attribute)
            return call.with_changes(func=call.func.with_changes(attr=cst.Name("log_softmax")))
        for target in LOG_SOFTMAX_FOR.get(activation.family, ()):
            spelled = self.context.spell(target)
            if spelled:
                return cst.Call(cst.parse_expression(spelled), call.args)
        return None

    def _stable_between(self, activation_call: cst.Call, log_call: cst.Call) -> bool:
        """Through a variable, the logits must be a simple expression whose names are not rebound between the
        activation and the log (otherwise the rewrite would read a different value)."""
        scope = self.context.function or self.context.scope
        operands = [a.value for a in activation_call.args]
        if isinstance(activation_call.func, cst.Attribute) and self.context.callee(activation_call) is None:
            operands.append(activation_call.func.value)
        for operand in operands:
            if not simple_operand(operand):
                return False
            for name in names_in(operand):
                if scope.bindings_between(name, activation_call, log_call):
                    return False
        return True

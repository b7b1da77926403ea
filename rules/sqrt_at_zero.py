"""EPS505: a square root of a value that can be exactly 0, in differentiated code (its derivative there is
infinite), and `sqrt(exp(v))`, which is `exp(v / 2)` without the overflow and the underflow."""

from __future__ import annotations

import re

from lint_eps.lazy import libcst as cst
from lint_eps import match as m

from lint_eps.nodes import arg, number_value, parenthesize, strip_parens
from lint_eps.prefilter import FileText, FunctionFacts, at_module_level, has_word, identifiers_reaching, mentions, positions, within, word_positions
from lint_eps.rule import Invalid, Replacement, Rule
from lint_eps.walk import findall

from .analysis.exp_forms import ExpForms, brief, squashed
from .analysis.roles import function_role, passes_to_compile, role_candidates
from .log_probability import epsilon_text
from .tables.stable_forms import (
    DIFFERENTIABLE_FAMILIES,
    LAMBDA_LAYERS,
    LAYER_BASES,
    MAXIMUM_FOR,
    NORM_FUNCTIONS,
    POWER_FUNCTIONS,
    SQRT_FUNCTIONS,
    SQUARE_FUNCTIONS,
    VARIANCE_FUNCTIONS,
    VARIANCE_METHODS,
)

_WORDS = ("sqrt", "norm", "pow", "power")
_HALF_POWER = re.compile(r"\*\*\s*\(?\s*0?\.5\b")
_FORWARD_METHODS = frozenset({"call", "forward", "__call__"})
GRADIENT_TAPES = frozenset({"tensorflow.GradientTape"})


def _root_offsets(text: FileText) -> list[int]:
    """Where a square root, a norm or a power of 0.5 may be written (words, aliases, `** 0.5`)."""

    def compute() -> list[int]:
        words = word_positions(text, identifiers_reaching(text, *_WORDS))
        return sorted(words + positions(text, _HALF_POWER))

    return text.memo("eps505.roots", compute)


def _file_gate(text: FileText) -> bool:
    """A root at module level (a lambda given to `Lambda(...)` there, `sqrt(exp(v))`), or in a function the
    per-function gate keeps."""
    if not (has_word(text.source, _WORDS) or _HALF_POWER.search(text.source) is not None):
        return False
    functions = text.outermost
    if functions is None:
        return True
    offsets = _root_offsets(text)
    return at_module_level(text, offsets) or any(_needs(text, function) for function in functions)


def _needs(text: FileText, function: FunctionFacts) -> bool:
    """Functions that write a root and may be differentiated (a role candidate, a forward method, a
    GradientTape block, a function named elsewhere in a file that builds `Lambda` layers) or write `exp` (for
    `sqrt(exp(v))`); and the functions that make another one differentiated: `Lambda(f)` and
    `compile(loss=f)` callers."""
    if within(_root_offsets(text), function.start, function.end):
        candidates = role_candidates(text)
        if candidates is None or mentions(text, function, "exp", "GradientTape"):
            return True
        # The function and the defs nested in it (a loss closure, a class defined in a function).
        inner = [f for f in text.functions or () if function.start <= f.start and f.end <= function.end]
        lambdas = "Lambda" in text.source
        for f in inner:
            if f in candidates or (f.in_class and f.name in _FORWARD_METHODS) or (lambdas and len(word_positions(text, (f.name,))) >= 2):
                return True
    return mentions(text, function, "Lambda") or passes_to_compile(text, function)



_SQRT_DETAILS = (
    "The forward value is fine, but d sqrt(u)/du = 1 / (2 sqrt(u)) is infinite at u = 0, so the gradient is NaN (0 * "
    "inf) exactly when the value is 0: two embeddings that coincide in a contrastive or triplet loss, a constant "
    "feature's standard deviation. Measured with TF 2.21: the gradients of `tf.norm`, `tf.linalg.norm`, "
    "`keras.ops.norm`, `x ** 0.5`, `reduce_std` and `sqrt(reduce_variance)` at the zero vector are NaN. "
    "`sqrt(maximum(x, eps))` (or `clamp(min=eps)`) keeps the gradient finite and changes the value only below eps."
)

class SqrtAtZero(Rule):
    code = "EPS505"
    name = "sqrt-at-zero"
    summary = "`sqrt` of a value that can be 0 in differentiated code: its gradient there is NaN"
    fixable = "sometimes"
    triggers = (b"sqrt", b"norm", b"pow", b"**")
    prefilter = staticmethod(_file_gate)
    needs_function = staticmethod(_needs)
    specificity = 30
    docs = """
    ## What it does
    Finds, in code whose values are differentiated — loss code (as EPS1xx/EPS2xx decide it), the body of a
    `with tf.GradientTape()` block, the `call`/`forward`/`__call__` of Keras layers, models and torch/Flax
    modules, functions passed to `keras.layers.Lambda` — a square root (`sqrt`, `x ** 0.5`, `pow(x, 0.5)`, torch's `x.sqrt()`) of a value
    that is exactly 0 for some inputs: a sum of squares or squared differences (`reduce_sum(square(a - b))`,
    `dx**2 + dy**2`, `(a - b).pow(2).sum(1)`), a square, a variance; and the Euclidean norms whose gradient
    at the zero vector is NaN: `tf.norm`, `tf.linalg.norm`, `keras.ops.norm`. Anywhere, it finds
    `sqrt(exp(v))`. An epsilon or `maximum` inside the root, or a branch on the value, silences it. NumPy and
    `math` code has no gradient and is left alone (except for `sqrt(exp(v))`).

    ## Why is this bad?
    The forward value is fine, but the derivative of `sqrt` at 0 is infinite: `inf · 0 = NaN` flows back
    through the squares, and the gradient is NaN exactly when two embeddings coincide — the diagonal of a
    pairwise-distance matrix, an anchor paired with itself, a Siamese pair of identical images. Measured on
    TF 2.21: the gradient of `sqrt(reduce_sum(square(a - b)))` at a = b is NaN, and so is that of
    `tf.norm`, `tf.linalg.norm`, `keras.ops.norm`, `reduce_sum(z*z) ** 0.5`, `tf.math.reduce_std` and
    `sqrt(reduce_variance)` at zero (`tf.norm(ord=1)` gives 0). torch's norms are not listed: their
    backward masks the zero norm (torch's `norm_backward`; not measured, torch is not installed here); JAX's
    `jnp.linalg.norm` could not be measured and is not listed. `sqrt(exp(v))` is `inf` for v > 88.7 in
    float32 and its gradient NaN for v < -104, where `exp(v)` underflows to 0; `exp(v / 2)` is exact.

    ## Example
    ```python
    from tensorflow.keras import backend as K

    def euclidean_distance(vects):
        x, y = vects
        return K.sqrt(K.sum(K.square(x - y), axis=1, keepdims=True))

    distance = keras.layers.Lambda(euclidean_distance)([left, right])
    ```

    ## Use instead
    ```python
    def euclidean_distance(vects):
        x, y = vects
        return K.sqrt(K.maximum(K.sum(K.square(x - y), axis=1, keepdims=True), K.epsilon()))
    ```

    ## Fix safety
    `sqrt(exp(v))` → `exp(v / 2)` is safe: the same value, without the intermediate overflow. Elsewhere the
    fix is unsafe: `sqrt(maximum(x, eps))` (`torch.clamp(x, min=eps)` in torch) changes the value below
    `eps` (the distance of identical embeddings becomes `sqrt(eps)`, 3.2e-4 for 1e-7). It uses
    `K.epsilon()` / `keras.config.epsilon()` where imported, the function's `eps` parameter, or 1e-7, and
    is offered when the maximum can be spelled with the file's imports; norms get no fix.
    """

    VALID = [
        # Floored, as the Keras Siamese example does.
        "from tensorflow.keras import backend as K\n\ndef contrastive_loss(y_true, y_pred):\n"
        "    d = K.sqrt(K.maximum(K.sum(K.square(y_pred), axis=1), K.epsilon()))\n    return K.mean(d)\n",
        # An epsilon inside the root.
        "import torch\n\nclass RMSNorm(torch.nn.Module):\n    def forward(self, x):\n"
        "        return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)\n",
        # NumPy evaluation code has no gradient.
        "import numpy as np\n\ndef rmse_loss(y_true, y_pred):\n    return np.sqrt(np.sum(np.square(y_true - y_pred)))\n",
        # Not differentiated code.
        "import tensorflow as tf\n\ndef describe(a, b):\n    return tf.sqrt(tf.reduce_sum(tf.square(a - b)))\n",
        # A square root of something that is not 0 at coincident points.
        "import tensorflow as tf\n\ndef scaled_loss(y_true, y_pred, d_k):\n    return tf.reduce_mean(y_pred) / tf.sqrt(tf.cast(d_k, tf.float32))\n",
        # torch's norm masks the zero norm in its backward.
        "import torch\n\ndef triplet_loss(a, p, n):\n    return torch.relu(torch.norm(a - p, dim=1) - torch.norm(a - n, dim=1) + 1).mean()\n",
        # A branch on the value.
        "import tensorflow as tf\n\ndef dist_loss(d2):\n    return tf.reduce_mean(tf.where(d2 > 0, tf.sqrt(d2), tf.zeros_like(d2)))\n",
        # An optimizer's update (not differentiated): the trust ratio of LAMB.
        "from keras import ops\n\nclass Lamb:\n    def update_step(self, gradient, variable):\n"
        "        w_norm = ops.sqrt(ops.sum(ops.power(variable, 2)))\n        return w_norm\n",
        # The L1 norm's gradient at 0 is 0.
        "import tensorflow as tf\n\ndef l1_loss(y_true, y_pred):\n    return tf.norm(y_true - y_pred, ord=1)\n",
    ]
    INVALID = [
        Invalid(
            "import keras\nfrom tensorflow.keras import backend as K\n\ndef euclidean_distance(vects):\n    x, y = vects\n"
            "    return K.sqrt(K.sum(K.square(x - y), axis=1, keepdims=True))\n\n"
            "def build(left, right):\n    return keras.layers.Lambda(euclidean_distance)([left, right])\n",
            "import keras\nfrom tensorflow.keras import backend as K\n\ndef euclidean_distance(vects):\n    x, y = vects\n"
            "    return K.sqrt(K.maximum(K.sum(K.square(x - y), axis=1, keepdims=True), K.epsilon()))\n\n"
            "def build(left, right):\n    return keras.layers.Lambda(euclidean_distance)([left, right])\n",
        ),
        Invalid(
            "import tensorflow as tf\n\ndef contrastive_loss(y_true, emb_a, emb_b, margin=1.0):\n"
            "    d = tf.sqrt(tf.reduce_sum(tf.square(emb_a - emb_b), axis=-1))\n"
            "    return tf.reduce_mean(y_true * d ** 2 + (1 - y_true) * tf.square(tf.maximum(margin - d, 0.0)))\n",
            "import tensorflow as tf\n\ndef contrastive_loss(y_true, emb_a, emb_b, margin=1.0):\n"
            "    d = tf.sqrt(tf.maximum(tf.reduce_sum(tf.square(emb_a - emb_b), axis=-1), 1e-7))\n"
            "    return tf.reduce_mean(y_true * d ** 2 + (1 - y_true) * tf.square(tf.maximum(margin - d, 0.0)))\n",
        ),
        Invalid(
            "import torch\n\nclass PairwiseDistance(torch.nn.Module):\n    def forward(self, x):\n"
            "        d2 = (x[:, None] - x[None]).pow(2).sum(-1)\n        return d2.sqrt()\n",
            "import torch\n\nclass PairwiseDistance(torch.nn.Module):\n    def forward(self, x):\n"
            "        d2 = (x[:, None] - x[None]).pow(2).sum(-1)\n        return d2.clamp(min=1e-7).sqrt()\n",
        ),
        Invalid(
            "import tensorflow as tf\n\ndef triplet_loss(anchor, positive, negative):\n"
            "    return tf.reduce_mean(tf.nn.relu(tf.norm(anchor - positive, axis=-1) - tf.norm(anchor - negative, axis=-1) + 0.2))\n",
            None,
            count=2,
        ),
        Invalid(
            "import jax.numpy as jnp\nimport jax\n\ndef loss(params, a, b):\n    return jnp.sum((a - b) ** 2) ** 0.5\n\ngrads = jax.grad(loss)\n",
            "import jax.numpy as jnp\nimport jax\n\ndef loss(params, a, b):\n    return jnp.maximum(jnp.sum((a - b) ** 2), 1e-7) ** 0.5\n\ngrads = jax.grad(loss)\n",
        ),
        Invalid(
            "import tensorflow as tf\n\ndef train_step(model, x, eps):\n    with tf.GradientTape() as tape:\n"
            "        z = model(x)\n        loss = tf.sqrt(tf.math.reduce_variance(z))\n    grads = tape.gradient(loss, model.trainable_variables)\n"
            "    return grads, tf.sqrt(tf.reduce_sum(tf.square(grads[0])))\n",
            "import tensorflow as tf\n\ndef train_step(model, x, eps):\n    with tf.GradientTape() as tape:\n"
            "        z = model(x)\n        loss = tf.sqrt(tf.maximum(tf.math.reduce_variance(z), eps))\n    grads = tape.gradient(loss, model.trainable_variables)\n"
            "    return grads, tf.sqrt(tf.reduce_sum(tf.square(grads[0])))\n",
        ),
        # A loss closure: the gate keeps the function that defines it.
        Invalid(
            "import tensorflow as tf\n\ndef make_loss(margin):\n    def loss(y_true, y_pred):\n"
            "        d = tf.sqrt(tf.reduce_sum(tf.square(y_pred), axis=-1))\n        return tf.reduce_mean(tf.maximum(margin - d, 0.0))\n    return loss\n",
            "import tensorflow as tf\n\ndef make_loss(margin):\n    def loss(y_true, y_pred):\n"
            "        d = tf.sqrt(tf.maximum(tf.reduce_sum(tf.square(y_pred), axis=-1), 1e-7))\n        return tf.reduce_mean(tf.maximum(margin - d, 0.0))\n    return loss\n",
        ),
        # sqrt(exp(v)) anywhere: exp(v / 2) is exact.
        Invalid(
            "import torch\n\ndef sample(mu, log_var):\n    return mu + torch.sqrt(torch.exp(log_var)) * torch.randn_like(mu)\n",
            "import torch\n\ndef sample(mu, log_var):\n    return mu + torch.exp(log_var / 2) * torch.randn_like(mu)\n",
        ),
        Invalid(
            "import numpy as np\nstd = np.sqrt(np.exp(log_var))\n",
            "import numpy as np\nstd = np.exp(log_var / 2)\n",
        ),
        Invalid(
            "import keras\nfrom keras import ops\n\nclass Dist(keras.layers.Layer):\n    def call(self, a, b):\n"
            "        return ops.sqrt(ops.square(a[:, 0] - b[:, 0]) + ops.square(a[:, 1] - b[:, 1]))\n",
            "import keras\nfrom keras import ops\n\nclass Dist(keras.layers.Layer):\n    def call(self, a, b):\n"
            "        return ops.sqrt(ops.maximum(ops.square(a[:, 0] - b[:, 0]) + ops.square(a[:, 1] - b[:, 1]), keras.config.epsilon()))\n",
        ),
    ]

    def __init__(self, context) -> None:  # type: ignore[no-untyped-def]
        super().__init__(context)
        self.forms = ExpForms(context)
        self._lambdas: tuple[frozenset[str], frozenset[int]] | None = None
        self._tapes: list[cst.With] = []  # enclosing `with tf.GradientTape() as tape:` blocks

    def visit_With(self, node: cst.With) -> None:
        if any(isinstance(item.item, cst.Call) and self.context.callee(item.item) in GRADIENT_TAPES for item in node.items):
            self._tapes.append(node)

    def leave_With(self, original_node: cst.With) -> None:
        if self._tapes and self._tapes[-1] is original_node:
            self._tapes.pop()

    # -- the square roots ---------------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        callee = self.context.callee(node) or ""
        family = SQRT_FUNCTIONS.get(callee)
        if family is not None and len(node.args) == 1 and not node.args[0].keyword and not node.args[0].star:
            self._root(node, node.args[0].value, family, "sqrt")
            return
        method = self.forms.method(node, "sqrt")
        if method is not None and not method.args and self.forms.uses_torch():
            self._root(node, method.func.value, "torch", "method")  # type: ignore[attr-defined]
            return
        family = POWER_FUNCTIONS.get(callee)
        if family is not None and len(node.args) == 2 and number_value(node.args[1].value) == 0.5:
            self._root(node, node.args[0].value, family, "power")
            return
        family = NORM_FUNCTIONS.get(callee)
        if family is not None and self._euclidean(node):
            self._norm(node, callee)

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if isinstance(node.operator, cst.Power) and number_value(node.right) == 0.5:
            self._root(node, node.left, "", "power")

    def _euclidean(self, call: cst.Call) -> bool:
        order = arg(call, 1, "ord")
        if order is None or m.matches(order, m.Name("None")) or number_value(order) == 2:
            return True
        return isinstance(order, cst.SimpleString) and order.evaluated_value in ("euclidean", "fro")

    # -- judging ------------------------------------------------------------------------------------------
    def _root(self, node: cst.CSTNode, operand: cst.BaseExpression, family: str, form: str) -> None:
        exp = self.forms.exp(operand, follow=False)
        if exp is not None and form != "power":
            self._sqrt_exp(node, exp.call, exp.operand, exp.family)
            return
        what, inner_family = self._zero_able(operand)
        family = family if family in DIFFERENTIABLE_FAMILIES else inner_family
        if what is None or family not in DIFFERENTIABLE_FAMILIES or self.forms.compared(operand):
            return
        where = self._differentiated()
        if where is None:
            return
        fix = self._floor_fix(operand, family, form)
        self.report(node, f"`sqrt` of {what}: NaN gradient where it is 0 (identical inputs); floor it at an eps", fix=fix, details=_SQRT_DETAILS)

    def _norm(self, node: cst.Call, callee: str) -> None:
        operand = arg(node, 0, "tensor") or arg(node, 0, "x")
        if operand is None or self.forms.compared(operand) or self._differentiated() is None:
            return
        name = self.context.code(node.func)
        self.report(node, f"`{brief(name, 16)}`: NaN gradient at the zero vector (identical inputs); use sqrt(maximum(sum(x**2), eps))", details=_SQRT_DETAILS)

    def _sqrt_exp(self, node: cst.CSTNode, exp_call: cst.Call, v: cst.BaseExpression, family: str) -> None:
        half = cst.BinaryOperation(parenthesize(strip_parens(v)), cst.Divide(), cst.Integer("2"))
        if isinstance(exp_call.func, cst.Attribute) and self.context.callee(exp_call) is None:
            new: cst.BaseExpression = cst.Call(cst.Attribute(parenthesize(half), cst.Name("exp")), [])
        else:
            new = exp_call.with_changes(args=[cst.Arg(half)])
        better = brief(self.context.code(new))
        fix = self.fix("safe", f"Replace with `{better}`", Replacement(node, new))
        if family in ("numpy", "math"):
            message = f"`sqrt(exp(v))` is inf above v = 709.8 (float64) and 0 below -745; use {self.quote(better, 30)}"
            details = (
                "exp(v) overflows to inf above v = 709.8 in float64 and underflows to 0 below about -745, so the "
                f"standard deviation is inf or 0 where `exp(v / 2)` is still finite and non-zero: `{better}`."
            )
        else:
            message = f"`sqrt(exp(v))` is inf above v = 88.7, NaN gradient below -104; use {self.quote(better, 30)}"
            details = (
                "exp(v) overflows to inf above v = 88.7 in float32 and underflows to 0 below about -104, where the "
                "square root's derivative 1 / (2 sqrt(0)) is inf and the gradient NaN (a log-variance that drifts low). "
                f"`exp(v / 2)` is the same value, never 0 before exp(v) is, with a finite gradient: `{better}`."
            )
        self.report(node, message, fix=fix, details=details)

    def _zero_able(self, operand: cst.BaseExpression) -> tuple[str | None, str]:
        """What makes the operand exactly 0 for some inputs, and the family of the code computing it."""
        node = operand
        if isinstance(node, cst.Name):
            value = self.forms.value_of(node)
            if value is node:
                return None, ""
            node = value
        total = self.forms.sum(node)
        if total is not None:
            if self._square(total.operand):
                return "a sum of squares", total.family
            return None, ""
        if isinstance(node, cst.Call):
            callee = self.context.callee(node) or ""
            if callee in VARIANCE_FUNCTIONS:
                return "a variance", _family_of(callee)
            if self.forms.method(node, VARIANCE_METHODS) is not None:
                return "a variance", "torch" if self.forms.uses_torch() else "numpy"
        family = self._square(node)
        if family:
            return "a square", family
        terms = _terms(node)
        if len(terms) > 1:
            families = [self._square(term) for term in terms]
            if all(families):
                return "a sum of squares", next(f for f in families if f)
        return None, ""

    def _square(self, node: cst.BaseExpression) -> str:
        """The family of `square(y)`, `y ** 2`, `y * y`, `y.pow(2)`, `y.square()` ("" when not a square;
        "builtin" for operators, whose framework the caller knows)."""
        if isinstance(node, cst.Call):
            callee = self.context.callee(node) or ""
            if callee in SQUARE_FUNCTIONS:
                return _family_of(callee)
            if POWER_FUNCTIONS.get(callee) and len(node.args) == 2 and number_value(node.args[1].value) == 2:
                return POWER_FUNCTIONS[callee]
            method = self.forms.method(node, frozenset({"pow", "square"}))
            if method is not None:
                name = method.func.attr.value  # type: ignore[attr-defined]
                if name == "square" and not method.args or name == "pow" and len(method.args) == 1 and number_value(method.args[0].value) == 2:
                    return "torch" if self.forms.uses_torch() else "builtin"
            return ""
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, cst.Power) and number_value(node.right) == 2:
                return "builtin"
            if isinstance(node.operator, cst.Multiply) and squashed(self.context, node.left) == squashed(self.context, node.right):
                return "builtin"
        return ""

    # -- where the gradient flows -------------------------------------------------------------------------
    def _differentiated(self) -> str | None:
        """Why the code being visited is differentiated, or None."""
        names, lambda_ids = self._lambda_targets()
        for scope in reversed(self.context.scopes):
            if not scope.is_function:
                continue
            if isinstance(scope.node, cst.Lambda):
                if id(scope.node) in lambda_ids:
                    return "a Lambda layer"
                continue
            role = function_role(self.context, scope)
            if role is not None and role.kind == "loss":
                return role.reason
            if self._tapes:
                return "a GradientTape block"
            if scope.name in names:
                return "a Lambda layer"
            if scope.class_node is not None and scope.name in _FORWARD_METHODS and self._layer_class(scope.class_node):
                return "a layer's forward pass"
        return None

    def _layer_class(self, class_node: cst.ClassDef) -> bool:
        for info in self.context.classes:
            if info.node is class_node:
                return any(base in LAYER_BASES for base in info.bases)
        return False

    def _lambda_targets(self) -> tuple[frozenset[str], frozenset[int]]:
        """Functions passed to `keras.layers.Lambda` anywhere in the module (by name), and inline lambdas."""
        if self._lambdas is None:
            names: set[str] = set()
            ids: set[int] = set()
            if "Lambda" in self.context.source:
                for call in findall(self.context.module, m.Call()):
                    assert isinstance(call, cst.Call)
                    if self.context.callee(call) in LAMBDA_LAYERS and call.args:
                        target = call.args[0].value
                        if isinstance(target, cst.Name):
                            names.add(target.value)
                        elif isinstance(target, cst.Lambda):
                            ids.add(id(target))
            self._lambdas = (frozenset(names), frozenset(ids))
        return self._lambdas

    # -- fixing -------------------------------------------------------------------------------------------
    def _floor_fix(self, operand: cst.BaseExpression, family: str, form: str):  # type: ignore[no-untyped-def]
        eps = epsilon_text(self.context, family)
        bare = strip_parens(operand)
        if family == "torch":
            if form == "method":
                new = f"{self.context.code(parenthesize(bare))}.clamp(min={eps})"
            else:
                spelled = self.context.spell("torch.clamp")
                if spelled is None:
                    return None
                new = f"{spelled}({self.context.code(bare)}, min={eps})"
        else:
            spelled = self.context.spell(MAXIMUM_FOR.get(family, ""))
            if spelled is None:
                return None
            new = f"{spelled}({self.context.code(bare)}, {eps})"
        return self.fix("unsafe", f"Floor at eps: `{brief(new)}`", Replacement(operand, new))


def _family_of(callee: str) -> str:
    for prefix, family in (("tensorflow.", "tensorflow"), ("keras.backend.", "keras.backend"), ("keras.ops.", "keras"), ("torch.", "torch"), ("jax.", "jax")):
        if callee.startswith(prefix):
            return family
    return ""


def _terms(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The terms of a chain of additions: `a + b + c` -> [a, b, c]."""
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        return _terms(node.left) + _terms(node.right)
    return [node]

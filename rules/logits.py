"""EPS301-EPS303: logits versus probabilities at the loss.

EPS301 probabilities where logits are expected, EPS302 logits where probabilities are expected, EPS303 (opt-in)
the precision floor of a probability loss fed with a probability Keras cannot recover the logits of.

Every rule looks at the same "loss sites": a call of a loss function (`tf.nn.*_with_logits`,
`keras.losses.binary_crossentropy`, `F.cross_entropy`, `optax.*`), a call of a loss object
(`criterion(out, y)` with `criterion = nn.BCEWithLogitsLoss()`), and `model.compile(loss=...)` on a model whose
last layer is known. API knowledge is in `tables/losses.py`; what a value holds is decided by
`analysis/models.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m

from lint_eps.nodes import arg, names_in, simple_operand, strip_parens
from lint_eps.rule import Invalid, Replacement, Rule, Valid

from .analysis.logits_prefilter import logits_needs_function
from .analysis.models import (
    KERAS_LAYER,
    NAME,
    TORCH_MODEL,
    Output,
    keras_backend,
    keras_model_output,
    loss_constructor,
    statements,
    value_output,
)
from .tables.activations import LOG_SOFTMAX_FOR
from .tables.losses import (
    COMPILE_LOSS_POS,
    KERAS,
    KERAS_BACKEND,
    KERAS_RESCUABLE_PRODUCERS,
    LOG_PROBS,
    LOGITS,
    LOGITS_TWIN,
    LOSS_CLASS_FOR,
    LOSS_STRINGS,
    OPTAX,
    PROBS,
    SWITCH,
    TORCH,
    LOSS_APIS,
    LossAPI,
    loss_api,
)


@dataclass(frozen=True)
class LossSite:
    api: LossAPI
    node: cst.CSTNode  # reported on: the loss call, or compile's loss argument
    call: cst.Call | None  # the call that receives the prediction (None for compile)
    pred: cst.BaseExpression | None  # the prediction argument (None for compile)
    output: Output
    from_logits: bool | None  # None: written but not a literal
    flag_call: cst.Call | None  # the call that holds (or would hold) `from_logits`
    compiled: bool = False
    loss_value: cst.BaseExpression | None = None  # compile's loss argument
    tf_spelled: bool = False  # the loss was written through tf.keras / tf_keras (always the TF backend)
    inline_ctor: bool = False  # the loss object is constructed in the same expression

    @property
    def expects(self) -> str:
        if self.api.expects == SWITCH:
            return LOGITS if self.from_logits else PROBS
        return self.api.expects


# -- finding loss sites ------------------------------------------------------------------------------------------


def _literal_bool(node: cst.BaseExpression | None, default: bool) -> bool | None:
    if node is None:
        return default
    node = strip_parens(node)
    if isinstance(node, cst.Name) and node.value in ("True", "False"):
        return node.value == "True"
    return None


def _from_logits(api: LossAPI, call: cst.Call) -> bool | None:
    if api.expects != SWITCH:
        return None
    if any(a.star for a in call.args):
        return None
    return _literal_bool(arg(call, api.from_logits_pos if api.from_logits_pos is not None else 10_000, api.from_logits_kw), api.from_logits_default)


def _tf_spelled(context, node: cst.BaseExpression) -> bool:
    raw = context.imports.resolve_raw(node)
    return bool(raw) and raw.startswith(("tensorflow", "tf_keras"))


def loss_sites(context, call: cst.Call) -> list[LossSite]:
    key = f"logits.sites.{id(call)}"
    cached = context.shared.get(key)
    if cached is None:
        cached = _find_sites(context, call)
        context.shared[key] = cached
    return cached  # type: ignore[return-value]


def _find_sites(context, call: cst.Call) -> list[LossSite]:
    if m.matches(call.func, m.Attribute(attr=m.Name("compile"))):
        site = _compile_site(context, call)
        return [site] if site else []
    callee = context.callee(call)
    api = loss_api(callee)
    if api is not None and not api.is_class:
        flag = _from_logits(api, call)
        if api.expects == SWITCH and flag is None:
            return []
        return _prediction_site(context, api, call, call, flag, _tf_spelled(context, call.func), inline=True)
    # A loss object called on a prediction.
    if callee is not None and api is not None:
        return []  # constructing a loss object is not a loss computation
    func = call.func
    if isinstance(func, cst.Name) and func.value not in _loss_object_names(context):
        return []
    if isinstance(func, cst.Attribute) and func.attr.value not in _loss_object_names(context):
        return []
    ctor = loss_constructor(context, func) if isinstance(func, (cst.Name, cst.Attribute, cst.Call)) else None
    if ctor is None:
        return []
    api = loss_api(context.callee(ctor))
    assert api is not None
    flag = _from_logits(api, ctor)
    if api.expects == SWITCH and flag is None:
        return []
    return _prediction_site(context, api, call, ctor, flag, _tf_spelled(context, ctor.func), inline=ctor is call.func)


_CLASS_SHORT_NAMES = tuple(sorted({row.short for row in LOSS_APIS.values() if row.is_class}))


def _loss_object_names(context) -> frozenset[str]:
    """Names (and `self.` attributes) this file assigns a loss object to: only their calls can be loss calls."""
    cached = context.shared.get("logits.loss_objects")
    if cached is None:
        found = set()
        candidates = statements(context.module) if any(short in context.source for short in _CLASS_SHORT_NAMES) else []
        for assign in candidates:
            if not isinstance(assign, cst.Assign) or not isinstance(assign.value, cst.Call):
                continue
            row = loss_api(context.callee(assign.value))
            if row is None or not row.is_class:
                continue
            for target in assign.targets:
                node = target.target
                if isinstance(node, cst.Name):
                    found.add(node.value)
                elif isinstance(node, cst.Attribute):
                    found.add(node.attr.value)
        context.shared["logits.loss_objects"] = cached = frozenset(found)
    return cached  # type: ignore[return-value]


def _prediction_site(context, api: LossAPI, call: cst.Call, flag_call: cst.Call, flag: bool | None, tf_spelled: bool, inline: bool) -> list[LossSite]:
    if any(a.star for a in call.args):
        return []
    pred = arg(call, api.pred_pos if api.pred_pos is not None else 10_000, api.pred_kw)
    if pred is None:
        return []
    output = value_output(context, pred)
    if output is None:
        return []
    return [LossSite(api, call, call, pred, output, flag, flag_call, tf_spelled=tf_spelled, inline_ctor=inline)]


def _compile_site(context, call: cst.Call) -> LossSite | None:
    loss = arg(call, COMPILE_LOSS_POS, "loss")
    if loss is None or any(a.star for a in call.args):
        return None
    loss = strip_parens(loss)
    api: LossAPI | None = None
    flag_call = None
    flag: bool | None = False
    inline = False
    if isinstance(loss, cst.SimpleString):
        text = loss.evaluated_value
        api = loss_api(LOSS_STRINGS.get(text)) if isinstance(text, str) else None
        tf_spelled = _only_tf_keras(context)
    else:
        named = loss_api(context.resolve(loss)) if isinstance(loss, (cst.Name, cst.Attribute)) else None
        if named is not None and not named.is_class:
            api, flag = named, named.from_logits_default  # a loss function passed by reference
            tf_spelled = _tf_spelled(context, loss)
        else:
            ctor = loss_constructor(context, loss)
            if ctor is None:
                return None
            api = loss_api(context.callee(ctor))
            flag_call, inline = ctor, ctor is loss
            flag = _from_logits(api, ctor) if api else None
            tf_spelled = _tf_spelled(context, ctor.func)
    if api is None or api.framework != KERAS or flag is None:
        return None
    model = call.func.value  # type: ignore[attr-defined]
    output = keras_model_output(context, model, use=call)
    if output is None:
        return None
    return LossSite(api, loss, None, None, output, flag, flag_call, compiled=True, loss_value=loss, tf_spelled=tf_spelled, inline_ctor=inline)


def _plain_keras_imported(context) -> bool:
    return any(full == "keras" or full.startswith("keras.") for _, full in context.imports.bindings())


def _only_tf_keras(context) -> bool:
    """Keras reached only through `tf.keras` / `tf_keras`: always the TensorFlow backend."""
    tf = any(full.startswith(("tensorflow", "tf_keras")) for _, full in context.imports.bindings())
    return tf and not _plain_keras_imported(context)


# -- messages -----------------------------------------------------------------------------------------------------


def _backend_phrase(context, site: LossSite) -> str | None:
    """The effective backend for Keras 3 behaviour, or None when unconfigured (TF by default)."""
    if site.tf_spelled:
        return "tensorflow"
    return keras_backend(context)


def _line_of_activation(site: LossSite) -> str:
    return "sigmoid" if site.output.kind == "sigmoid" else "softmax"


def _double_effect(kind: str) -> str:
    if kind == "sigmoid":
        return (
            "the sigmoid is applied twice: the loss is confined to [0.31, 1.31] (0.506 instead of 0.0067 at "
            "logit 5, 75x off) and its gradient almost vanishes"
        )
    return (
        "the softmax is applied twice: the loss can never fall below log(1 + (C-1)/e) (0.55 for 3 classes) "
        "and its gradient almost vanishes"
    )


def _keras_rescue_text(context, site: LossSite) -> str:
    """For a Keras loss with from_logits=True on a Keras activation: what happens per backend."""
    kind = _line_of_activation(site)
    effect = _double_effect(kind)
    if not site.api.rescued_on_tf:
        return f"{site.api.short} applies its own {kind} when from_logits=True and takes the clipped probability path, so on every backend (TensorFlow included, no warning) {effect}"
    backend = _backend_phrase(context, site)
    if site.api.framework == KERAS_BACKEND:
        return (
            f"tf_keras (and tf.keras up to 2.15) notices the Keras activation and recomputes from its logits with a "
            f"UserWarning, but Keras 3's legacy `tf.keras.backend` does not: there {effect}"
        )
    if backend in ("jax", "torch"):
        return f"on the configured {backend} backend Keras does not recover the logits, so {effect} (only the TensorFlow backend rescues this, with a UserWarning)"
    if backend == "tensorflow":
        return (
            "on the configured TensorFlow backend Keras notices the Keras activation and recomputes from its logits "
            f"with a UserWarning, so only the flag is wrong; on the JAX or torch backends {effect}"
        )
    return (
        "Keras on TensorFlow (the default backend) notices the Keras activation and recomputes from its logits with "
        f"a UserWarning, but on the JAX and torch backends {effect}"
    )


# -- fix helpers ------------------------------------------------------------------------------------------------


def _with_flag(call: cst.Call, api: LossAPI, value: bool | None) -> cst.Call:
    """`call` with from_logits set to `value` (None: removed)."""
    new_args = list(call.args)
    position = api.from_logits_pos
    index = None
    positional = 0
    for i, a in enumerate(call.args):
        if a.keyword is None:
            if positional == position:
                index = i
            positional += 1
        elif a.keyword.value == api.from_logits_kw:
            index = i
    literal = cst.Name("True" if value else "False")
    if index is not None:
        if value is None:
            if call.args[index].keyword is None and index != len(call.args) - 1:
                return call.with_changes(args=[*new_args[:index], new_args[index].with_changes(value=cst.Name("False")), *new_args[index + 1 :]])
            del new_args[index]
            if new_args:
                new_args[-1] = new_args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return call.with_changes(args=new_args)
        new_args[index] = new_args[index].with_changes(value=literal)
        return call.with_changes(args=new_args)
    if value is None:
        return call
    new_arg = cst.Arg(value=literal, keyword=cst.Name(api.from_logits_kw or "from_logits"), equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))
    if new_args:
        last = new_args[-1]
        if last.comma is cst.MaybeSentinel.DEFAULT or isinstance(last.comma, cst.MaybeSentinel):
            new_args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return call.with_changes(args=[*new_args, new_arg])


def _replace_arg_value(call: cst.Call, old: cst.BaseExpression, new: cst.BaseExpression) -> cst.Call:
    return call.with_changes(args=[a.with_changes(value=new) if a.value is old else a for a in call.args])


def _logits_of(context, site: LossSite) -> cst.BaseExpression | None:
    """The logits to pass instead of the activation's output, when the code makes them unambiguous."""
    out = site.output
    if out.call is None or out.operand is None or site.pred is None:
        return None
    call = out.call
    extra = [a for a in call.args if a.value is not out.operand]
    if any(a.keyword is None or a.keyword.value not in ("axis", "dim") for a in extra):
        return None
    if out.call is strip_parens(site.pred) or out.node is strip_parens(site.pred):
        return out.operand
    # Through a variable: the logits must be a simple expression not rebound in between.
    scope = context.function or context.module_scope
    if not simple_operand(out.operand):
        return None
    for name in names_in(out.operand):
        if scope.bindings_between(name, call, site.call):
            return None
    return strip_parens(out.operand)


class _LogitsRule(Rule):
    # The functions a loss site can be in or read from (analysis/logits_prefilter.py).
    needs_function = staticmethod(logits_needs_function)

    def visit_Call(self, node: cst.Call) -> None:
        for site in loss_sites(self.context, node):
            self.check(site)

    def check(self, site: LossSite) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _related(self, site: LossSite) -> list[tuple[str, cst.CSTNode]]:
        out = site.output
        if out.note:
            return [(out.note, out.node)]
        if out.producer == NAME:
            return []
        if out.producer == TORCH_MODEL:
            return [(f"the module's output goes through a {out.kind} here" if out.kind in ("sigmoid", "softmax") else "the module's linear output layer", out.node)]
        if site.compiled or out.producer == KERAS_LAYER:
            what = {"sigmoid": "the model's sigmoid output layer", "softmax": "the model's softmax output layer", "linear": "the model's linear output layer"}
            return [(what.get(out.kind, "the model's output layer"), out.node)]
        if site.pred is not None and out.node is strip_parens(site.pred):
            return []
        return [(f"{out.kind} applied here", out.node)]


# -- EPS301 ------------------------------------------------------------------------------------------------------


# Issue 12: values across function, class and module boundaries (VALID/INVALID examples below).
_ISSUE12_BUILT_ELSEWHERE = (
    'import keras\n'
    'from keras import layers\n'
    '\n'
    '\n'
    'def build_model():\n'
    '    model = keras.Sequential()\n'
    '    model.add(layers.Dense(16, activation="relu"))\n'
    '    model.add(layers.Dense(1, activation="sigmoid"))\n'
    '    return model\n'
    '\n'
    '\n'
    'def train(x, y):\n'
    '    model = build_model()\n'
    '    model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True))\n'
    '    model.fit(x, y)\n'
)
_ISSUE12_BUILT_ELSEWHERE_FIXED = (
    'import keras\n'
    'from keras import layers\n'
    '\n'
    '\n'
    'def build_model():\n'
    '    model = keras.Sequential()\n'
    '    model.add(layers.Dense(16, activation="relu"))\n'
    '    model.add(layers.Dense(1, activation="sigmoid"))\n'
    '    return model\n'
    '\n'
    '\n'
    'def train(x, y):\n'
    '    model = build_model()\n'
    '    model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy())\n'
    '    model.fit(x, y)\n'
)
_ISSUE12_ANNOTATED_MODULE = (
    'import torch\n'
    'from torch import nn\n'
    '\n'
    '\n'
    'class Discriminator(nn.Module):\n'
    '    def __init__(self):\n'
    '        super().__init__()\n'
    '        self.body = nn.Sequential(nn.Linear(8, 1), nn.Sigmoid())\n'
    '\n'
    '    def forward(self, x):\n'
    '        return self.body(x)\n'
    '\n'
    '\n'
    'def d_step(disc: Discriminator, real, ones):\n'
    '    return nn.BCEWithLogitsLoss()(disc(real), ones)\n'
)
_ISSUE12_RETURNED_SIGMOID = (
    'import torch\n'
    'import torch.nn.functional as F\n'
    '\n'
    '\n'
    'def discriminator(x, w, b):\n'
    '    return torch.sigmoid(x @ w + b)\n'
    '\n'
    '\n'
    'def d_loss(x, w, b, labels):\n'
    '    return F.binary_cross_entropy_with_logits(discriminator(x, w, b), labels)\n'
)
_ISSUE12_LOGITS_ELSEWHERE = (
    'import torch\n'
    'from torch import nn\n'
    'import tensorflow as tf\n'
    '\n'
    '\n'
    'class Critic(nn.Module):\n'
    '    def __init__(self):\n'
    '        super().__init__()\n'
    '        self.fc = nn.Linear(8, 1)\n'
    '\n'
    '    def forward(self, x):\n'
    '        return self.fc(x)\n'
    '\n'
    '\n'
    'def c_step(critic: Critic, real, ones):\n'
    '    return nn.BCEWithLogitsLoss()(critic(real), ones)\n'
    '\n'
    '\n'
    'def discriminator(x, w, b):\n'
    '    return tf.matmul(x, w) + b\n'
    '\n'
    '\n'
    'def d_loss(x, w, b, labels):\n'
    '    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=discriminator(x, w, b)))\n'
)

class ProbabilitiesAsLogits(_LogitsRule):
    code = "EPS301"
    name = "probabilities-as-logits"
    summary = "A sigmoid/softmax output is passed where logits are expected"
    fixable = "sometimes"
    triggers = (b"logits", b"Logits", b"cross_entropy", b"CrossEntropyLoss", b"nll_loss", b"NLLLoss")
    specificity = 20
    docs = """
    ## What it does
    Finds probabilities given to an API that applies its own sigmoid or softmax: `tf.nn.*_with_logits`,
    Keras losses with `from_logits=True`, `F.binary_cross_entropy_with_logits` / `nn.BCEWithLogitsLoss`,
    `F.cross_entropy` / `nn.CrossEntropyLoss`, optax's `sigmoid_binary_cross_entropy` /
    `softmax_cross_entropy`, and log-probability APIs (`F.nll_loss`, `nn.NLLLoss`) given a softmax. The
    probability is recognised when it comes from `sigmoid`/`softmax` (TF, Keras, torch, JAX, SciPy, a
    hand-written `1 / (1 + exp(-x))`) directly or through local variables, from a Keras model whose last
    layer has `activation="sigmoid"|"softmax"` (Sequential list, `.add()`, functional API, a trailing
    `Activation` layer; reported on `compile(loss=...)`), or from a torch module that ends in
    `nn.Sigmoid()` / whose `forward` returns a sigmoid.

    ## Why is this bad?
    The activation is applied twice. A second sigmoid maps every probability into [0.5, 0.73], so the
    binary loss is confined to [0.31, 1.31]: at logit 5 it is 0.506 instead of 0.0067 (75x off) and the
    gradient nearly vanishes; training makes little progress and no error is raised. A second softmax
    keeps the loss above log(1 + (C-1)/e). `nll_loss` given probabilities returns -p, a negative loss.
    Keras 3 on the TensorFlow backend (and tf.keras >= 2.4) notices a *Keras* activation's output and
    silently recomputes from its logits, with a `UserWarning`; on the JAX and torch backends, for
    `tf.sigmoid`/`torch.sigmoid` outputs, for Keras 3 focal losses and for every non-Keras API nothing
    does, and the number is simply wrong. The message says which applies to the configured
    `keras-backend` (or `KERAS_BACKEND` set in the file).

    ## Example
    ```python
    model = keras.Sequential([layers.Dense(64, activation="relu"), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True))

    loss = F.binary_cross_entropy_with_logits(torch.sigmoid(logits), target)
    ```

    ## Use instead
    ```python
    model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy())  # the model outputs probabilities

    loss = F.binary_cross_entropy_with_logits(logits, target)
    ```
    The focal-loss pattern — `p = torch.sigmoid(logits)` for the modulating factor and
    `binary_cross_entropy_with_logits(logits, target)` on the raw logits — is correct and not reported.

    ## Fix safety
    The fix is unsafe: it changes the loss value. When the activation is written at the loss (or one
    local variable away, with its input not rebound in between) the activation is dropped and its input
    passed instead; `nll_loss(softmax(x))` becomes `nll_loss(log_softmax(x))`. For a compiled Keras model
    the `from_logits=True` flag is dropped (the model's `predict` keeps returning probabilities, and
    Keras on TensorFlow already computes exactly that); consider a linear last layer with
    `from_logits=True` instead on JAX/torch. Other cases get no fix.
    """

    VALID = [
        # Issue 12: a `Critic` without a final sigmoid, a discriminator returning logits.
        _ISSUE12_LOGITS_ELSEWHERE,
        # Raw logits reach the logits API.
        "import tensorflow as tf\nloss = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits)\n",
        # The focal-loss pattern: the sigmoid is only used for the modulating factor.
        "import torch\nimport torch.nn.functional as F\n\ndef focal_loss(logits, targets, gamma=2.0):\n    p = torch.sigmoid(logits)\n    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')\n    p_t = p * targets + (1 - p) * (1 - targets)\n    return (ce * (1 - p_t) ** gamma).mean()\n",
        # A sigmoid model with a probability loss (EPS303 territory, not a mix-up).
        "import keras\nfrom keras import layers\nmodel = keras.Sequential([layers.Dense(1, activation='sigmoid')])\nmodel.compile(optimizer='adam', loss='binary_crossentropy')\n",
        # A linear model with from_logits=True.
        "import keras\nfrom keras import layers\nmodel = keras.Sequential([layers.Dense(10)])\nmodel.compile(optimizer='adam', loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))\n",
        # The activation is conditional: which value reaches the loss is unknown.
        "import torch\nimport torch.nn.functional as F\n\ndef loss_fn(x, y, probs=False):\n    if probs:\n        x = torch.sigmoid(x)\n    return F.binary_cross_entropy_with_logits(x, y)\n",
        # from_logits is not a literal.
        "import keras\ndef loss(y, z, from_logits):\n    return keras.losses.binary_crossentropy(y, keras.ops.sigmoid(z), from_logits=from_logits)\n",
        # log_softmax into nll_loss is right.
        "import torch.nn.functional as F\nloss = F.nll_loss(F.log_softmax(scores, dim=1), target)\n",
        # The variable was rebound to the logits before the loss.
        "import torch\nimport torch.nn as nn\ncriterion = nn.BCEWithLogitsLoss()\nout = torch.sigmoid(h)\nout = head(h)\nloss = criterion(out, y)\n",
    ]
    INVALID = [
        # Issue 12, models: built in `build_model()`, compiled in `train()`.
        Invalid(_ISSUE12_BUILT_ELSEWHERE, _ISSUE12_BUILT_ELSEWHERE_FIXED),
        # Issue 12, models: a `Discriminator` parameter whose forward ends in a sigmoid.
        Invalid(_ISSUE12_ANNOTATED_MODULE, None),
        # Issue 12, function results: a sigmoid returned by a helper, fed to a from-logits loss.
        Invalid(_ISSUE12_RETURNED_SIGMOID, None),
        Invalid(
            "import tensorflow as tf\nloss = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=tf.sigmoid(z))\n",
            "import tensorflow as tf\nloss = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z)\n",
        ),
        Invalid(
            "import tensorflow as tf\nprobs = tf.nn.softmax(logits)\nloss = tf.nn.softmax_cross_entropy_with_logits(labels, probs)\n",
            "import tensorflow as tf\nprobs = tf.nn.softmax(logits)\nloss = tf.nn.softmax_cross_entropy_with_logits(labels, logits)\n",
        ),
        Invalid(
            "import torch\nimport torch.nn.functional as F\nloss = F.binary_cross_entropy_with_logits(torch.sigmoid(out), target)\n",
            "import torch\nimport torch.nn.functional as F\nloss = F.binary_cross_entropy_with_logits(out, target)\n",
        ),
        Invalid(
            "import torch.nn.functional as F\nloss = F.cross_entropy(F.softmax(scores, dim=1), labels)\n",
            "import torch.nn.functional as F\nloss = F.cross_entropy(scores, labels)\n",
        ),
        Invalid(
            "import torch.nn.functional as F\nloss = F.nll_loss(F.softmax(scores, dim=1), labels)\n",
            "import torch.nn.functional as F\nloss = F.nll_loss(F.log_softmax(scores, dim=1), labels)\n",
        ),
        Invalid(
            "import keras\nfrom keras import layers\nmodel = keras.Sequential([layers.Dense(64, activation='relu'), layers.Dense(1, activation='sigmoid')])\nmodel.compile(optimizer='adam', loss=keras.losses.BinaryCrossentropy(from_logits=True))\n",
            "import keras\nfrom keras import layers\nmodel = keras.Sequential([layers.Dense(64, activation='relu'), layers.Dense(1, activation='sigmoid')])\nmodel.compile(optimizer='adam', loss=keras.losses.BinaryCrossentropy())\n",
        ),
        Invalid(
            "from tensorflow import keras\ninputs = keras.Input((20,))\nx = keras.layers.Dense(32, activation='relu')(inputs)\nx = keras.layers.Dense(3)(x)\noutputs = keras.layers.Activation('softmax')(x)\nmodel = keras.Model(inputs, outputs)\nmodel.compile('adam', keras.losses.CategoricalCrossentropy(from_logits=True))\n",
            "from tensorflow import keras\ninputs = keras.Input((20,))\nx = keras.layers.Dense(32, activation='relu')(inputs)\nx = keras.layers.Dense(3)(x)\noutputs = keras.layers.Activation('softmax')(x)\nmodel = keras.Model(inputs, outputs)\nmodel.compile('adam', keras.losses.CategoricalCrossentropy())\n",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\nmodel = nn.Sequential(nn.Linear(10, 1), nn.Sigmoid())\ncriterion = nn.BCEWithLogitsLoss()\nfor x, y in loader:\n    loss = criterion(model(x), y)\n",
            None,
        ),
        Invalid(
            "import optax\nimport jax\nloss = optax.softmax_cross_entropy(jax.nn.softmax(logits), labels).mean()\n",
            "import optax\nimport jax\nloss = optax.softmax_cross_entropy(logits, labels).mean()\n",
        ),
        Invalid(
            "import keras\nfrom keras import layers\nmodel = keras.Sequential()\nmodel.add(layers.Dense(1, activation='sigmoid'))\nmodel.compile(optimizer='adam', loss=keras.losses.BinaryFocalCrossentropy(from_logits=True))\n",
            "import keras\nfrom keras import layers\nmodel = keras.Sequential()\nmodel.add(layers.Dense(1, activation='sigmoid'))\nmodel.compile(optimizer='adam', loss=keras.losses.BinaryFocalCrossentropy())\n",
        ),
    ]

    def check(self, site: LossSite) -> None:
        if site.expects not in (LOGITS, LOG_PROBS) or not site.output.is_probability:
            return
        if site.expects == LOG_PROBS and site.output.kind != "softmax":
            return
        self.report(site.node, self._short_message(site), fix=self._fix(site), related=self._related(site), details=self._message(site))

    def _short_message(self, site: LossSite) -> str:
        kind = site.output.kind
        if site.compiled:
            return f"`{site.api.short}(from_logits=True)` on a model that ends in a {kind}; drop one of them"
        if site.expects == LOG_PROBS:
            return f"`{site.api.short}` expects log-probabilities but gets a softmax output; use `log_softmax`"
        flag = " (from_logits=True)" if site.api.expects == SWITCH else ""
        return f"`{site.api.short}`{flag} gets a {kind} output, not logits; pass the logits"

    def _message(self, site: LossSite) -> str:
        kind = site.output.kind
        api = site.api
        if site.compiled:
            where = f"the model's last layer applies a {kind}"
            return f"`{self.context.code(site.loss_value)}` expects logits but {where}: {_keras_rescue_text(self.context, site)}"  # type: ignore[arg-type]
        source = "a Keras model's output" if site.output.producer == KERAS_LAYER else ("a torch module that ends in a " + kind if site.output.producer == TORCH_MODEL else f"a {kind} output")
        if site.expects == LOG_PROBS:
            return (
                f"`{api.short}` expects log-probabilities but gets {source}: it returns -p (a negative loss "
                f"whose gradient does not train the classifier); pass `log_softmax(x)` instead"
            )
        if api.framework in (KERAS, KERAS_BACKEND) and site.output.producer in KERAS_RESCUABLE_PRODUCERS | {KERAS_LAYER, "keras.backend"}:
            text = _keras_rescue_text(self.context, site)
        elif api.framework in (KERAS, KERAS_BACKEND):
            text = (
                f"this output carries no Keras logits, so in eager code on every backend {_double_effect(kind)} "
                f"(only inside a traced tf.function can Keras on TensorFlow spot the raw {kind.capitalize()} op)"
            )
        else:
            text = f"{_double_effect(kind)}; nothing in {self._framework_name(api)} detects or warns about it"
        flag = " with from_logits=True" if api.expects == SWITCH else ""
        return f"`{api.short}`{flag} expects logits but gets {source}: {text}"

    @staticmethod
    def _framework_name(api: LossAPI) -> str:
        return {TORCH: "PyTorch", OPTAX: "optax"}.get(api.framework, "TensorFlow")

    def _fix(self, site: LossSite):
        if site.compiled:
            if site.flag_call is None or not site.inline_ctor:
                return None
            new = _with_flag(site.flag_call, site.api, None)
            return self.fix("unsafe", "Drop `from_logits=True`: the model already outputs probabilities", Replacement(site.flag_call, new))
        if site.call is None or site.pred is None:
            return None
        if site.expects == LOG_PROBS:
            return self._log_softmax_fix(site)
        logits = _logits_of(self.context, site)
        if logits is None:
            return None
        new = _replace_arg_value(site.call, site.pred, logits)
        return self.fix("unsafe", f"Pass the logits `{self.context.code(logits)}` instead of their {site.output.kind}", Replacement(site.call, new))

    def _log_softmax_fix(self, site: LossSite):
        out = site.output
        if out.call is None or out.call is not strip_parens(site.pred) or out.producer == "torch-method":  # type: ignore[arg-type]
            return None
        for target in LOG_SOFTMAX_FOR.get(out.producer, ()):
            spelled = self.context.spell(target)
            if spelled:
                new_call = out.call.with_changes(func=cst.parse_expression(spelled))
                return self.fix("unsafe", f"Use `{spelled}`", Replacement(out.call, new_call))
        return None


# -- EPS302 ------------------------------------------------------------------------------------------------------


# Issue 12: values across function, class and module boundaries (VALID/INVALID examples below).
_ISSUE12_LINEAR_HEAD_ELSEWHERE = (
    'import keras\n'
    'from keras import layers\n'
    '\n'
    '\n'
    'def build_model():\n'
    '    model = keras.Sequential([layers.Dense(16, activation="relu"), layers.Dense(1)])\n'
    '    return model\n'
    '\n'
    '\n'
    'def train(x, y):\n'
    '    model = build_model()\n'
    '    model.compile(optimizer="adam", loss="binary_crossentropy")\n'
    '    model.fit(x, y)\n'
)
_ISSUE12_LINEAR_HEAD_ELSEWHERE_FIXED = (
    'import keras\n'
    'from keras import layers\n'
    '\n'
    '\n'
    'def build_model():\n'
    '    model = keras.Sequential([layers.Dense(16, activation="relu"), layers.Dense(1)])\n'
    '    return model\n'
    '\n'
    '\n'
    'def train(x, y):\n'
    '    model = build_model()\n'
    '    model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True))\n'
    '    model.fit(x, y)\n'
)
_ISSUE12_RETURNED_LOGITS = (
    'import torch\n'
    'import torch.nn.functional as F\n'
    '\n'
    '\n'
    'def discriminator(x, w, b):\n'
    '    return x @ w + b\n'
    '\n'
    '\n'
    'def d_loss(x, w, b, labels):\n'
    '    return F.binary_cross_entropy(discriminator(x, w, b), labels)\n'
)
_ISSUE12_RETURNED_LOGITS_FIXED = (
    'import torch\n'
    'import torch.nn.functional as F\n'
    '\n'
    '\n'
    'def discriminator(x, w, b):\n'
    '    return x @ w + b\n'
    '\n'
    '\n'
    'def d_loss(x, w, b, labels):\n'
    '    return F.binary_cross_entropy_with_logits(discriminator(x, w, b), labels)\n'
)
_ISSUE12_SIGMOID_HEAD_ELSEWHERE = (
    'import keras\n'
    'from keras import layers\n'
    '\n'
    '\n'
    'def build_model():\n'
    '    model = keras.Sequential([layers.Dense(16, activation="relu"), layers.Dense(1, activation="sigmoid")])\n'
    '    return model\n'
    '\n'
    '\n'
    'def train(x, y):\n'
    '    model = build_model()\n'
    '    model.compile(optimizer="adam", loss="binary_crossentropy")\n'
    '    model.fit(x, y)\n'
)

class LogitsAsProbabilities(_LogitsRule):
    code = "EPS302"
    name = "logits-as-probabilities"
    summary = "Logits are passed where probabilities are expected"
    fixable = "sometimes"
    triggers = (b"crossentropy", b"Crossentropy", b"binary_cross_entropy", b"BCELoss", b"nll_loss", b"NLLLoss", b"bce", b"BCE")
    specificity = 20
    docs = """
    ## What it does
    Finds logits given to a loss that expects probabilities: a Keras model whose last layer is linear
    (`Dense(n)`, `activation=None`, `"linear"`) compiled with `"binary_crossentropy"`,
    `"categorical_crossentropy"`, `"sparse_categorical_crossentropy"` or a crossentropy class left at its
    `from_logits=False` default; Keras crossentropy functions given such a model's output or a value
    named `logits`; `F.binary_cross_entropy` / `nn.BCELoss` and `F.nll_loss` / `nn.NLLLoss` given a
    linear layer's output or a value named `logits`.

    ## Why is this bad?
    Keras clips the prediction into [1e-7, 1 - 1e-7] before taking logs. Logits outside that range are
    flattened: the loss reported is wrong (1.19e-07 where the true loss is 0.0067 at logit 5) and the
    gradient is exactly zero for every logit outside (0, 1), so training stalls without an error. This
    happens on every Keras backend (there is nothing for Keras to recover). In PyTorch,
    `binary_cross_entropy` raises `RuntimeError` (a device-side assert on CUDA) as soon as one logit is
    outside [0, 1] and is silently wrong otherwise; `nll_loss` on logits is not a cross-entropy at all
    (it returns -x).

    ## Example
    ```python
    model = keras.Sequential([layers.Dense(64, activation="relu"), layers.Dense(1)])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    ```

    ## Use instead
    ```python
    model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True))
    ```

    ## Fix safety
    The fix is unsafe: it changes the loss (to the right one). Keras: the string or function loss becomes
    the class with `from_logits=True` (spelled with the file's imports), and an explicit
    `from_logits=False` becomes `True`. PyTorch: `binary_cross_entropy` becomes
    `binary_cross_entropy_with_logits` (`BCELoss` -> `BCEWithLogitsLoss`) and `nll_loss` becomes
    `cross_entropy` (`NLLLoss` -> `CrossEntropyLoss`), same arguments. Loss objects constructed
    elsewhere are not rewritten (the object may be shared).
    """

    VALID = [
        # Issue 12: a sigmoid head built in another function.
        _ISSUE12_SIGMOID_HEAD_ELSEWHERE,
        "import keras\nfrom keras import layers\nmodel = keras.Sequential([layers.Dense(1, activation='sigmoid')])\nmodel.compile(optimizer='adam', loss='binary_crossentropy')\n",
        "import keras\nfrom keras import layers\nmodel = keras.Sequential([layers.Dense(10)])\nmodel.compile(optimizer='adam', loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))\n",
        # A custom final layer: its output is unknown.
        "import keras\nfrom keras import layers\nmodel = keras.Sequential([layers.Dense(8), MyHead()])\nmodel.compile(optimizer='adam', loss='binary_crossentropy')\n",
        # Regression loss on a linear output is right.
        "import keras\nfrom keras import layers\nmodel = keras.Sequential([layers.Dense(1)])\nmodel.compile(optimizer='adam', loss='mse')\n",
        "import torch\nimport torch.nn.functional as F\nloss = F.binary_cross_entropy(torch.sigmoid(logits), target)\n",
        "import torch.nn.functional as F\nloss = F.nll_loss(F.log_softmax(logits, dim=1), target)\n",
        # The last layer is a Dense with an activation chosen at run time.
        "import keras\nfrom keras import layers\ndef build(act):\n    model = keras.Sequential([layers.Dense(1, activation=act)])\n    model.compile(optimizer='adam', loss='binary_crossentropy')\n    return model\n",
        # Logits named so, but turned into probabilities first.
        "import keras\ndef loss(y, logits):\n    logits = keras.ops.sigmoid(logits)\n    return keras.losses.binary_crossentropy(y, logits)\n",
    ]
    INVALID = [
        # Issue 12, models: a linear head built in another function.
        Invalid(_ISSUE12_LINEAR_HEAD_ELSEWHERE, _ISSUE12_LINEAR_HEAD_ELSEWHERE_FIXED),
        # Issue 12, function results: logits returned by a helper, fed to a probability loss.
        Invalid(_ISSUE12_RETURNED_LOGITS, _ISSUE12_RETURNED_LOGITS_FIXED),
        Invalid(
            "import keras\nfrom keras import layers\nmodel = keras.Sequential([layers.Dense(64, activation='relu'), layers.Dense(1)])\nmodel.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])\n",
            "import keras\nfrom keras import layers\nmodel = keras.Sequential([layers.Dense(64, activation='relu'), layers.Dense(1)])\nmodel.compile(optimizer='adam', loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=['accuracy'])\n",
        ),
        Invalid(
            "import tensorflow as tf\ninputs = tf.keras.Input((20,))\nx = tf.keras.layers.Dense(32, activation='relu')(inputs)\noutputs = tf.keras.layers.Dense(10, activation=None)(x)\nmodel = tf.keras.Model(inputs=inputs, outputs=outputs)\nmodel.compile(optimizer='adam', loss='sparse_categorical_crossentropy')\n",
            "import tensorflow as tf\ninputs = tf.keras.Input((20,))\nx = tf.keras.layers.Dense(32, activation='relu')(inputs)\noutputs = tf.keras.layers.Dense(10, activation=None)(x)\nmodel = tf.keras.Model(inputs=inputs, outputs=outputs)\nmodel.compile(optimizer='adam', loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))\n",
        ),
        Invalid(
            "from keras.models import Sequential\nfrom keras.layers import Dense\nfrom keras.losses import CategoricalCrossentropy\nmodel = Sequential()\nmodel.add(Dense(64, activation='relu'))\nmodel.add(Dense(3, activation='linear'))\nmodel.compile(loss=CategoricalCrossentropy(), optimizer='sgd')\n",
            "from keras.models import Sequential\nfrom keras.layers import Dense\nfrom keras.losses import CategoricalCrossentropy\nmodel = Sequential()\nmodel.add(Dense(64, activation='relu'))\nmodel.add(Dense(3, activation='linear'))\nmodel.compile(loss=CategoricalCrossentropy(from_logits=True), optimizer='sgd')\n",
        ),
        Invalid(
            "import torch.nn.functional as F\ndef step(model, x, y):\n    logits = model(x)\n    return F.binary_cross_entropy(logits, y)\n",
            "import torch.nn.functional as F\ndef step(model, x, y):\n    logits = model(x)\n    return F.binary_cross_entropy_with_logits(logits, y)\n",
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\nloss = nn.NLLLoss()(outputs.logits, labels)\n",
            "import torch\nimport torch.nn as nn\nloss = nn.CrossEntropyLoss()(outputs.logits, labels)\n",
        ),
        Invalid(
            "import keras\ndef bce(y_true, logits):\n    return keras.losses.binary_crossentropy(y_true, logits)\n",
            "import keras\ndef bce(y_true, logits):\n    return keras.losses.binary_crossentropy(y_true, logits, from_logits=True)\n",
        ),
        Invalid(
            "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(10, 1)\n    def forward(self, x):\n        return self.fc(x)\nmodel = Net()\ncriterion = nn.BCELoss()\nloss = criterion(model(x), y)\n",
            None,  # the criterion is built elsewhere: not rewritten
        ),
        Invalid(
            "import keras\nfrom keras import layers\nmodel = keras.Sequential([layers.Dense(1), layers.Flatten()])\nmodel.compile(optimizer='adam', loss=keras.losses.binary_crossentropy)\n",
            "import keras\nfrom keras import layers\nmodel = keras.Sequential([layers.Dense(1), layers.Flatten()])\nmodel.compile(optimizer='adam', loss=keras.losses.BinaryCrossentropy(from_logits=True))\n",
        ),
    ]

    def check(self, site: LossSite) -> None:
        if site.expects not in (PROBS, LOG_PROBS) or not site.output.is_logits:
            return
        if site.api.framework not in (KERAS, KERAS_BACKEND, TORCH):
            return
        if site.expects == LOG_PROBS and site.output.producer == NAME and not isinstance(site.output.node, cst.Attribute):
            return  # log-probabilities are often *named* logits; only `outputs.logits` or a linear layer counts
        self.report(site.node, self._short_message(site), fix=self._fix(site), related=self._related(site), details=self._message(site))

    def _short_message(self, site: LossSite) -> str:
        api = site.api
        if site.compiled:
            return f"{self.quote(site.loss_value, 36)} gets logits from a linear last layer; set from_logits=True"  # type: ignore[arg-type]
        if api.framework == TORCH:
            remedy = "use `cross_entropy`" if api.expects == LOG_PROBS else "use `binary_cross_entropy_with_logits`"
            wanted = "log-probabilities" if api.expects == LOG_PROBS else "probabilities"
            return f"`{api.short}` gets logits, not {wanted}; {remedy}"
        return f"`{api.short}` gets logits, not probabilities; pass from_logits=True"

    def _message(self, site: LossSite) -> str:
        api = site.api
        if site.compiled:
            return (
                f"The model's last layer is linear, so it outputs logits, but `{self.context.code(site.loss_value)}` "  # type: ignore[arg-type]
                "expects probabilities (from_logits=False): Keras clips the logits into [1e-7, 1 - 1e-7], so the loss "
                "is wrong (1.19e-07 reported where 0.0067 is true at logit 5) and the gradient is zero for every logit "
                "outside (0, 1): training stalls without an error, on every backend. Use from_logits=True"
            )
        what = "a linear layer's output" if site.output.producer != NAME else f"`{self.context.code(site.output.node)}`, which by its name holds logits"
        if api.framework == TORCH:
            if api.expects == LOG_PROBS:
                return f"`{api.short}` expects log-probabilities but gets {what}: it returns -x, not a cross-entropy; use `cross_entropy` on logits"
            return (
                f"`{api.short}` expects probabilities but gets {what}: it raises RuntimeError (a device-side assert on "
                "CUDA) for any value outside [0, 1] and is silently wrong inside it; use `binary_cross_entropy_with_logits`"
            )
        return (
            f"`{api.short}` expects probabilities (from_logits=False) but gets {what}: Keras clips them into "
            "[1e-7, 1 - 1e-7], so the loss is wrong and the gradient is zero for every logit outside (0, 1), on "
            "every backend. Pass from_logits=True"
        )

    def _fix(self, site: LossSite):
        api = site.api
        if api.framework == TORCH:
            twin = LOGITS_TWIN.get(api.name)
            target_call = site.call if not api.is_class else (site.flag_call if site.inline_ctor else None)
            if twin is None or target_call is None:
                return None
            spelled = self.context.spell(twin)
            if spelled is None:
                return None
            new = target_call.with_changes(func=cst.parse_expression(spelled))
            return self.fix("unsafe", f"Use `{spelled}`", Replacement(target_call.func, new.func))
        if site.compiled:
            if site.flag_call is not None:
                if not site.inline_ctor:
                    return None
                return self.fix("unsafe", "Set from_logits=True", Replacement(site.flag_call, _with_flag(site.flag_call, api, True)))
            cls = LOSS_CLASS_FOR.get(api.name)
            spelled = self._spell_keras(cls, site) if cls else None
            if spelled is None or site.loss_value is None:
                return None
            return self.fix("unsafe", f"Use `{spelled}(from_logits=True)`", Replacement(site.loss_value, f"{spelled}(from_logits=True)"))
        if site.flag_call is None or (api.is_class and not site.inline_ctor):
            return None
        return self.fix("unsafe", "Pass from_logits=True", Replacement(site.flag_call, _with_flag(site.flag_call, api, True)))

    def _spell_keras(self, qualname: str, site: LossSite) -> str | None:
        spell = self.context.spell
        if site.tf_spelled or not _plain_keras_imported(self.context):
            return spell("tensorflow.keras." + qualname[len("keras.") :]) or spell(qualname)
        return spell(qualname) or spell("tensorflow.keras." + qualname[len("keras.") :])


# -- EPS303 ------------------------------------------------------------------------------------------------------

_RAW_PRODUCERS = frozenset({"tensorflow", "torch", "torch.nn.functional", "jax", "scipy", "numpy", TORCH_MODEL})


class ProbabilityLossFloor(_LogitsRule):
    code = "EPS303"
    name = "probability-loss-floor"
    summary = "A probability Keras cannot recover the logits of is fed to a clipped probability loss"
    default_enabled = False
    fixable = "sometimes"
    triggers = (b"crossentropy", b"Crossentropy", b"binary_cross_entropy", b"BCELoss", b"bce", b"BCE")
    specificity = 30
    docs = """
    ## What it does
    Opt-in (`--select EPS303`). Finds probabilities made outside Keras's own activations — `tf.sigmoid`,
    `tf.nn.softmax`, `torch.sigmoid`, `jax.nn.sigmoid`, `scipy.special.expit`, a hand-written
    `1 / (1 + np.exp(-x))` — fed to a Keras probability loss (`from_logits=False`), and sigmoid outputs
    fed to `F.binary_cross_entropy` / `nn.BCELoss`. A Keras model whose last layer is a Keras
    `sigmoid`/`softmax` activation, compiled with a probability loss, is reported only when the file runs
    on the JAX or torch backend (`keras-backend` setting, or `KERAS_BACKEND` set in the file).

    ## Why is this bad?
    The probability path clips to [1e-7, 1 - 1e-7]: the loss of a confident correct prediction floors at
    1.19e-07 (the true value at logit 30 is 9.4e-14) and the gradient of every prediction beyond the clip
    is exactly zero, so confident mistakes stop being corrected. Keras 3 on TensorFlow avoids this for its
    own activations: they carry their logits (`_keras_logits`, read by `_get_logits` in
    `keras/src/backend/tensorflow/nn.py`), so `Dense(1, activation="sigmoid")` + `"binary_crossentropy"`
    is exact there (1.1254e-07 at logit 16, no floor) and is not reported. `tf.sigmoid(x)` carries
    nothing and floors at 1.19e-07 in eager code (inside a traced `tf.function` Keras spots the raw
    `Sigmoid` op and is exact; such functions are not reported). On the JAX and torch backends nothing
    is recovered. PyTorch's `binary_cross_entropy` floors each log at -100: a saturated sigmoid
    (|x| > 16.6 in float32) gives a loss of 0 or 100 with no gradient, and BCELoss raises under CUDA
    autocast.

    ## Example
    ```python
    loss = keras.losses.binary_crossentropy(y, tf.sigmoid(z))
    ```

    ## Use instead
    ```python
    loss = keras.losses.binary_crossentropy(y, z, from_logits=True)
    ```

    ## Fix safety
    The fix is unsafe (the loss value changes, for the better). It is offered only when the activation is
    written at the loss: the activation's input is passed instead with `from_logits=True` (PyTorch:
    `binary_cross_entropy_with_logits`). Compiled models get no fix (their `predict` output would change).
    """

    VALID = [
        # Keras's own activation on the (default) TensorFlow backend: exact, no floor.
        "import keras\nfrom keras import layers\nmodel = keras.Sequential([layers.Dense(1, activation='sigmoid')])\nmodel.compile(optimizer='adam', loss='binary_crossentropy')\n",
        "import keras\nloss = keras.losses.binary_crossentropy(y, keras.ops.sigmoid(z))\n",
        # The logits path.
        "import tensorflow as tf\nimport keras\nloss = keras.losses.binary_crossentropy(y, z, from_logits=True)\n",
        # Inside a traced tf.function Keras on TF recovers the logits of the raw Sigmoid op.
        "import tensorflow as tf\n\n@tf.function\ndef train_step(x, y):\n    p = tf.sigmoid(model_logits(x))\n    return tf.keras.losses.binary_crossentropy(y, p)\n",
        "import torch\nimport torch.nn.functional as F\nloss = F.binary_cross_entropy_with_logits(z, y)\n",
        # Explicit TF backend setting: Keras's activation is rescued.
        Valid(
            "import keras\nfrom keras import layers\ninputs = keras.Input((4,))\noutputs = layers.Dense(3, activation='softmax')(inputs)\nmodel = keras.Model(inputs, outputs)\nmodel.compile(optimizer='adam', loss='categorical_crossentropy')\n",
            settings={"keras_backend": "tensorflow"},
        ),
    ]
    INVALID = [
        Invalid(
            "import tensorflow as tf\nimport keras\nloss = keras.losses.binary_crossentropy(y, tf.sigmoid(z))\n",
            "import tensorflow as tf\nimport keras\nloss = keras.losses.binary_crossentropy(y, z, from_logits=True)\n",
        ),
        Invalid(
            "import tensorflow as tf\nbce = tf.keras.losses.BinaryCrossentropy()\ndef loss(y, z):\n    p = tf.nn.sigmoid(z)\n    return bce(y, p)\n",
            None,
        ),
        Invalid(
            "import torch\nimport torch.nn.functional as F\nloss = F.binary_cross_entropy(torch.sigmoid(out), target)\n",
            "import torch\nimport torch.nn.functional as F\nloss = F.binary_cross_entropy_with_logits(out, target)\n",
        ),
        Invalid(
            "import numpy as np\nimport keras\np = 1 / (1 + np.exp(-scores))\nloss = keras.losses.binary_crossentropy(y, p)\n",
            None,
        ),
        Invalid(
            "import keras\nfrom keras import layers\nmodel = keras.Sequential([layers.Dense(1, activation='sigmoid')])\nmodel.compile(optimizer='adam', loss='binary_crossentropy')\n",
            None,
            settings={"keras_backend": "jax"},
        ),
        Invalid(
            "import os\nos.environ['KERAS_BACKEND'] = 'torch'\nimport keras\nfrom keras import layers\ninputs = keras.Input((4,))\noutputs = layers.Dense(3, activation='softmax')(inputs)\nmodel = keras.Model(inputs, outputs)\nmodel.compile(optimizer='adam', loss='categorical_crossentropy')\n",
            None,
        ),
        Invalid(
            "import jax\nimport keras\nloss = keras.ops.categorical_crossentropy(y, jax.nn.softmax(z))\n",
            "import jax\nimport keras\nloss = keras.ops.categorical_crossentropy(y, z, from_logits=True)\n",
        ),
    ]

    def check(self, site: LossSite) -> None:
        if site.expects != PROBS or not site.output.is_probability:
            return
        api, out = site.api, site.output
        if api.framework == TORCH:
            if out.kind != "sigmoid":
                return
            short = f"`{api.short}` of a sigmoid saturates; use `binary_cross_entropy_with_logits`"
            message = (
                f"`{api.short}` on a sigmoid output: in float32 the sigmoid rounds to exactly 1 from x = 16.6 (and to 0 "
                "below -88.7) and the log is floored at -100, so confident predictions get a loss of 0 or 100 with no gradient (and BCELoss "
                "raises under CUDA autocast); use `binary_cross_entropy_with_logits` on the logits"
            )
        elif api.framework == KERAS:
            backend = _backend_phrase(self.context, site)
            if out.producer in _RAW_PRODUCERS:
                if backend in (None, "tensorflow") and out.producer == "tensorflow" and self._in_tf_function():
                    return  # Keras on TF recovers the logits of a raw Sigmoid/Softmax op in a traced graph
                rescue = (
                    f" (only inside a traced tf.function can Keras on TensorFlow recover the logits of the raw {out.kind.capitalize()} op)"
                    if out.producer == "tensorflow"
                    else ""
                )
                made = f"a {out.kind} computed outside Keras"
            elif out.producer in KERAS_RESCUABLE_PRODUCERS | {KERAS_LAYER}:
                if backend not in ("jax", "torch"):
                    return
                rescue = f" (the TensorFlow backend recovers the logits of Keras's own {out.kind}; the {backend} backend does not)"
                made = f"the {out.kind} of a Keras activation" if not site.compiled else f"the model's {out.kind} output layer"
            else:
                return
            loss_text = self.context.code(site.loss_value) if site.compiled else api.short  # type: ignore[arg-type]
            short = f"{self.quote(loss_text, 36)} clips the {out.kind} at 1e-7, a loss floor; use from_logits=True"
            message = (
                f"`{loss_text}` clips {made} to [1e-7, 1 - 1e-7]{rescue}: the loss floors at 1.19e-07 and the gradient "
                "of every prediction beyond the clip is zero, so confident mistakes stop being corrected; use a linear "
                "output with from_logits=True"
            )
        else:
            return
        self.report(site.node, short, fix=self._fix(site), related=self._related(site), details=message)

    def _in_tf_function(self) -> bool:
        for scope in reversed(self.context.scopes):
            node = scope.node
            if isinstance(node, cst.FunctionDef):
                for decorator in node.decorators:
                    target = decorator.decorator.func if isinstance(decorator.decorator, cst.Call) else decorator.decorator
                    if self.context.resolve(target) in ("tensorflow.function", "tensorflow.compat.v1.function"):
                        return True
        return False

    def _fix(self, site: LossSite):
        if site.compiled or site.call is None or site.pred is None:
            return None
        out = site.output
        if out.call is None or out.call is not strip_parens(site.pred):
            return None
        logits = _logits_of(self.context, site)
        if logits is None:
            return None
        new = _replace_arg_value(site.call, site.pred, logits)
        if site.api.framework == TORCH:
            twin = LOGITS_TWIN.get(site.api.name)
            spelled = self.context.spell(twin) if twin and not site.api.is_class else None
            if spelled is None:
                return None
            new = new.with_changes(func=cst.parse_expression(spelled))
            return self.fix("unsafe", f"Use `{spelled}` on the logits", Replacement(site.call, new))
        if site.api.is_class:
            return None
        new = _with_flag(new, site.api, True)
        return self.fix("unsafe", "Pass the logits with from_logits=True", Replacement(site.call, new))

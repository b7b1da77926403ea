"""What a value holds, as far as logits versus probabilities go, and what a model's last layer outputs.

Answers, for an expression at the node being visited:
- `value_output(context, expr)`: is it the output of a sigmoid/softmax (a probability), of a log-activation
  (log-probabilities), of a linear layer (logits), or a value *named* like logits? Follows one chain of local
  assignments (unconditional ones only: a binding inside an `if`/loop/`try` that does not also hold the use
  may not be the value that reaches it), calls of Keras layers (functional API), Keras models
  (`Sequential([...])`, `.add()`, `Model(inputs, outputs)`), torch modules (`nn.Sequential(..., nn.Sigmoid())`,
  a local `nn.Module` whose `forward` returns a sigmoid), and torch activation modules (`self.act = nn.Sigmoid()`).
- `keras_model_output(context, model_expr)`: the last layer of a Keras model, for `model.compile(loss=...)`.
- `loss_constructor(context, expr)`: the constructor call behind a loss instance (`criterion = nn.BCELoss()`,
  `self.loss_fn = BinaryCrossentropy(from_logits=True)`).
- `keras_backend(context)`: the Keras backend the file runs on.

Static only: nothing is imported or run. Anything not understood is None ("unknown"), never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from lint_eps.lazy import libcst as cst
from lint_eps import match as m

from . import callees
from lint_eps.walk import children, findall
from lint_eps.context import FileContext
from lint_eps.nodes import arg, number_value, strip_parens
from lint_eps.scope import Binding, Scope

from ..tables.activations import SIGMOID_FUNCTIONS, SIGMOID_METHODS, SOFTMAX_FUNCTIONS, SOFTMAX_METHODS
from ..tables.losses import (
    ACTIVATION_STRINGS,
    EXP_FUNCTIONS,
    KERAS_ACTIVATION_LAYERS,
    KERAS_LAYERS_WITH_ACTIVATION,
    KERAS_MODEL,
    KERAS_PASS_THROUGH_LAYERS,
    KERAS_SEQUENTIAL,
    LOG_ACTIVATIONS,
    TORCH_ACTIVATION_MODULES,
    TORCH_LINEAR_MODULES,
    TORCH_MODULE_BASES,
    TORCH_PASS_THROUGH_MODULES,
    TORCH_SEQUENTIAL,
    loss_api,
)

MAX_DEPTH = 6

# Producers (Output.producer): how the probability was made, which decides Keras's run-time rescue (§B2).
KERAS_LAYER = "keras-layer"  # the activation of a layer in a Keras model
TORCH_MODEL = "torch-model"
NAME = "name"  # only the variable's name says "logits"
RETURNED = "returned"  # returned by a function of the module or the project (issue 12): never rescued by Keras


@dataclass(frozen=True)
class Output:
    kind: str  # "sigmoid" | "softmax" | "linear" | "log_sigmoid" | "log_softmax" | "other"
    node: cst.CSTNode  # where the activation (or the linear layer) is written
    producer: str  # family from tables.activations ("tensorflow", "keras", "torch", ...) or KERAS_LAYER, TORCH_MODEL, NAME
    call: cst.Call | None = None  # the activation call itself, when the value is a plain sigmoid/softmax call
    operand: cst.BaseExpression | None = None  # its input (the logits), when known
    reshaped: bool = False  # a Reshape/Flatten sits between the activation and the model output (defeats TF rescue)
    note: str = ""  # made in another function, class or module (issue 12): where, for the finding's note

    @property
    def is_probability(self) -> bool:
        return self.kind in ("sigmoid", "softmax")

    @property
    def is_logits(self) -> bool:
        return self.kind == "linear"


def statements(root: cst.CSTNode) -> list[cst.CSTNode]:
    """Every small statement (Assign, Expr, Return, ...) under `root`, in source order, looking into compound
    statements (defs, classes, if/for/while/try/with bodies) but never into expressions: cheap. (A loop, not a
    recursive closure: a closure that calls itself is a reference cycle holding the tree, `lint_eps.collector`.)"""
    out: list[cst.CSTNode] = []
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            out.extend(node.body)
            continue
        if isinstance(node, (cst.Module, cst.IndentedBlock)):
            found = list(node.body)
        elif isinstance(node, (cst.BaseCompoundStatement, cst.Else, cst.ExceptHandler, cst.ExceptStarHandler, cst.Finally)):
            found = []
            for name in ("body", "orelse", "handlers", "finalbody"):
                part = getattr(node, name, None)
                if part is None:
                    continue
                if isinstance(part, (list, tuple)):
                    found.extend(part)
                else:
                    found.append(part)
        else:
            continue
        stack.extend(reversed(found))
    return out


def _self_target(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
        return node.attr.value
    return None


# -- scopes and bindings --------------------------------------------------------------------------------------


def _parents(context: FileContext, root: cst.CSTNode) -> dict[int, cst.CSTNode]:
    key = f"models.parents.{id(root)}"
    cached = context.shared.get(key)
    if cached is None:
        parents: dict[int, cst.CSTNode] = {}
        stack = [root]
        while stack:
            node = stack.pop()
            for child in children(node, tokens=False):  # ancestors of names and statements: no token
                parents[id(child)] = node
                stack.append(child)
        context.shared[key] = cached = parents
    return cached  # type: ignore[return-value]


# Class names (none of these libcst classes has subclasses): nothing here reads libcst at import (`lint_eps.lazy`).
_CONDITIONAL = frozenset({"If", "Else", "For", "While", "Try", "TryStar", "ExceptHandler", "Finally", "Match", "IfExp", "BooleanOperation"})


def _conditional_ancestors(parents: dict[int, cst.CSTNode], node: cst.CSTNode) -> list[cst.CSTNode]:
    out = []
    current = parents.get(id(node))
    while current is not None:
        if type(current).__name__ in _CONDITIONAL:
            out.append(current)
        current = parents.get(id(current))
    return out


def _ancestor_ids(parents: dict[int, cst.CSTNode], node: cst.CSTNode) -> set[int]:
    out = set()
    current = parents.get(id(node))
    while current is not None:
        out.add(id(current))
        current = parents.get(id(current))
    return out


def reaches_unconditionally(context: FileContext, scope: Scope, binding: Binding, use: cst.CSTNode) -> bool:
    """The binding is not inside a branch, loop or handler that the use is outside of."""
    parents = _parents(context, scope.node)
    if id(use) not in parents:
        return True  # the use is in another scope (a module-level binding used in a function)
    use_ancestors = _ancestor_ids(parents, use)
    return all(id(block) in use_ancestors for block in _conditional_ancestors(parents, binding.node))


def lookup(context: FileContext, name: cst.Name, scope: Scope) -> tuple[Binding, Scope] | None:
    """The assignment that gives `name` its value at this use: in its own scope, else (for a name a function
    never binds) the module's only assignment of it."""
    binding = scope.reaching_binding(name)
    if binding is not None:
        if binding.value is None or binding.augmented_op is not None:
            return None
        if not reaches_unconditionally(context, scope, binding, name):
            return None
        return binding, scope
    if scope.is_function and not scope.bindings(name.value) and scope.param(name.value) is None:
        module = context.module_scope
        found = module.bindings(name.value)
        if len(found) == 1 and found[0].value is not None and found[0].augmented_op is None:
            return found[0], module
    return None


def _scope_of_use(context: FileContext) -> Scope:
    return context.function or context.module_scope


def self_attribute_values(context: FileContext, attr: cst.Attribute) -> list[cst.BaseExpression] | None:
    """Values assigned to `self.<name>` anywhere in the enclosing class (None when it is not `self.<name>`)."""
    if not m.matches(attr, m.Attribute(value=m.Name("self"), attr=m.Name())):
        return None
    info = context.method_class()
    if info is None:
        return None
    name = attr.attr.value
    key = f"models.selfattrs.{id(info.node)}"
    table = context.shared.get(key)
    if table is None:
        table = {}
        for assign in statements(info.node):
            if isinstance(assign, cst.Assign) and len(assign.targets) == 1:
                attribute = _self_target(assign.targets[0].target)
                if attribute is not None:
                    table.setdefault(attribute, []).append(assign.value)
        context.shared[key] = table
    return table.get(name, [])  # type: ignore[union-attr]


def _single_self_value(context: FileContext, attr: cst.Attribute) -> cst.BaseExpression | None:
    values = self_attribute_values(context, attr)
    if not values or len(values) != 1:
        return None
    return values[0]


# -- loss instances -------------------------------------------------------------------------------------------


def loss_constructor(context: FileContext, expr: cst.BaseExpression, scope: Scope | None = None) -> cst.Call | None:
    """The call constructing the loss object `expr` refers to (a class row of tables.losses)."""
    scope = scope or _scope_of_use(context)
    expr = strip_parens(expr)
    for _ in range(3):
        if isinstance(expr, cst.Call):
            row = loss_api(context.callee(expr))
            return expr if row is not None and row.is_class else None
        if isinstance(expr, cst.Name):
            found = lookup(context, expr, scope)
            if found is None:
                return None
            expr, scope = strip_parens(found[0].value), found[1]  # type: ignore[arg-type]
            continue
        if isinstance(expr, cst.Attribute):
            value = _single_self_value(context, expr)
            if value is None:
                return None
            expr = strip_parens(value)
            continue
        return None
    return None


# -- the Keras backend ------------------------------------------------------------------------------------------


def code_keras_backend(context: FileContext) -> str | None:
    """`os.environ["KERAS_BACKEND"] = "jax"`, `os.environ.setdefault("KERAS_BACKEND", "jax")` or
    `keras.config.set_backend("jax")` in this file."""
    cached = context.shared.get("models.code_backend", "?")
    if cached != "?":
        return cached  # type: ignore[return-value]
    found = None
    if "KERAS_BACKEND" not in context.source and "set_backend" not in context.source:
        context.shared["models.code_backend"] = None  # asked per loss site: scan the text once
        return None
    backend_key = m.SimpleString('"KERAS_BACKEND"') | m.SimpleString("'KERAS_BACKEND'")
    for assign in findall(context.module, m.Assign(targets=[m.AssignTarget(target=m.Subscript(slice=[m.SubscriptElement(slice=m.Index(value=backend_key))]))], value=m.SimpleString())):
        found = assign.value.evaluated_value  # type: ignore[attr-defined]
    for call in findall(context.module, m.Call(func=m.Attribute(attr=m.Name("setdefault")), args=[m.Arg(value=backend_key), m.Arg(value=m.SimpleString())])):
        found = found or call.args[1].value.evaluated_value  # type: ignore[attr-defined]
    for call in findall(context.module, m.Call(args=[m.Arg(value=m.SimpleString())])):
        if context.callee(call) in ("keras.config.set_backend", "keras.utils.set_backend"):  # type: ignore[arg-type]
            found = call.args[0].value.evaluated_value  # type: ignore[attr-defined]
    if found not in ("tensorflow", "jax", "torch"):
        found = None
    context.shared["models.code_backend"] = found
    return found


def keras_backend(context: FileContext) -> str | None:
    """The Keras 3 backend this file runs on, when known: the file's own KERAS_BACKEND assignment (what really
    happens at run time) wins over the `keras-backend` setting. None: not configured (Keras defaults to TF)."""
    return code_keras_backend(context) or context.settings.keras_backend


# -- what a value holds ---------------------------------------------------------------------------------------


def _activation_value(context: FileContext, value: cst.BaseExpression | None) -> tuple[str, str] | None:
    """`activation=` of a Keras layer: (kind, producer) or None when unknown."""
    if value is None:
        return ("linear", KERAS_LAYER)
    value = strip_parens(value)
    if isinstance(value, cst.Name) and value.value == "None":
        return ("linear", KERAS_LAYER)
    if isinstance(value, cst.SimpleString):
        text = value.evaluated_value
        return (ACTIVATION_STRINGS.get(text, "other"), KERAS_LAYER) if isinstance(text, str) else None
    name = context.resolve(value)
    if name in SIGMOID_FUNCTIONS:
        return ("sigmoid", KERAS_LAYER)
    if name in SOFTMAX_FUNCTIONS:
        return ("softmax", KERAS_LAYER)
    if name in ("keras.activations.linear",):
        return ("linear", KERAS_LAYER)
    return None


def _keras_layer_class(context: FileContext, call: cst.Call) -> str | None:
    name = context.callee(call)
    if name and name.startswith("keras.layers."):
        return name.rsplit(".", 1)[-1]
    return None


def keras_layer_output(context: FileContext, layer: cst.Call) -> Output | None:
    """What a Keras layer constructor call outputs (for `Sequential([...])` and `layer(x)`), or None.
    Pass-through layers return Output(kind="pass")."""
    cls = _keras_layer_class(context, layer)
    if cls is None:
        return None
    if cls in KERAS_PASS_THROUGH_LAYERS:
        return Output("pass", layer, KERAS_LAYER, reshaped=cls in ("Reshape", "Flatten", "Permute"))
    if cls == "Activation":
        value = arg(layer, 0, "activation")
        if value is None:
            return None
        found = _activation_value(context, value)
        return Output(found[0], layer, found[1]) if found else None
    if cls in KERAS_ACTIVATION_LAYERS:
        return Output(KERAS_ACTIVATION_LAYERS[cls], layer, KERAS_LAYER)
    if cls == "Lambda":
        fn = arg(layer, 0, "function")
        name = context.resolve(fn) if fn is not None else None
        if name in SIGMOID_FUNCTIONS:
            return Output("sigmoid", layer, KERAS_LAYER)
        if name in SOFTMAX_FUNCTIONS:
            return Output("softmax", layer, KERAS_LAYER)
        return None
    if cls in KERAS_LAYERS_WITH_ACTIVATION:
        position = KERAS_LAYERS_WITH_ACTIVATION[cls]
        if any(a.star for a in layer.args):
            return None
        value = arg(layer, position, "activation") if position is not None else arg(layer, 10_000, "activation")
        found = _activation_value(context, value)
        if found is None:
            return None
        node: cst.CSTNode = value if value is not None else layer
        return Output(found[0], node, found[1])
    return None


def _last_of_layers(context: FileContext, layers: list[cst.BaseExpression]) -> Output | None:
    reshaped = False
    for layer in reversed(layers):
        layer = strip_parens(layer)
        if not isinstance(layer, cst.Call):
            return None
        out = keras_layer_output(context, layer)
        if out is None:
            return None
        if out.kind == "pass":
            reshaped = reshaped or out.reshaped
            continue
        return Output(out.kind, out.node, out.producer, reshaped=reshaped) if reshaped else out
    return None


def _elements(node: cst.BaseExpression | None) -> list[cst.BaseExpression] | None:
    node = strip_parens(node) if node is not None else None
    if isinstance(node, (cst.List, cst.Tuple)):
        if any(isinstance(e, cst.StarredElement) for e in node.elements):
            return None
        return [e.value for e in node.elements]
    return None


def keras_model_output(context: FileContext, model: cst.BaseExpression, scope: Scope | None = None, use: cst.CSTNode | None = None) -> Output | None:
    """The output of the Keras model `model` (a name bound to `Sequential(...)` / `Model(...)`), as seen at `use`."""
    scope = scope or _scope_of_use(context)
    model = strip_parens(model)
    value: cst.BaseExpression | None
    name_node = None
    if isinstance(model, cst.Name):
        found = lookup(context, model, scope)
        if found is None:
            return None
        binding, scope = found
        value, name_node = binding.value, model
    elif isinstance(model, cst.Attribute):
        value = _single_self_value(context, model)
    else:
        value = model
    if not isinstance(value, cst.Call):
        return None
    callee = context.callee(value)
    if callee is None or callee not in KERAS_SEQUENTIAL and callee not in KERAS_MODEL:
        built = callees.model_fact(context, value)  # `model = build_model()` (issue 12)
        if built is not None:
            return _summarised_output(built, value, KERAS_LAYER)
    if callee in KERAS_SEQUENTIAL:
        listed = arg(value, 0, "layers")
        layers = _elements(listed) if listed is not None else []
        if layers is None:
            return None
        if name_node is not None:
            adds = _added_layers(context, scope, name_node.value, value, use or name_node)
            if adds is None:
                return None
            layers = layers + adds
        elif isinstance(model, cst.Attribute):
            return _last_of_layers(context, layers) if layers else None
        return _last_of_layers(context, layers) if layers else None
    if callee in KERAS_MODEL:
        outputs = arg(value, 1, "outputs")
        if outputs is None or _elements(outputs) is not None:
            return None  # subclassed model, or several outputs
        return value_output(context, outputs, scope)
    return None


def _added_layers(context: FileContext, scope: Scope, name: str, ctor: cst.Call, use: cst.CSTNode) -> list[cst.BaseExpression] | None:
    """Layers passed to `name.add(...)` between the constructor and the use, in order; None if any is
    conditional (the last layer would then be unknown)."""
    start, end = scope.order_of(ctor), scope.order_of(use)
    if start is None:
        return []
    added: list[tuple[int, cst.BaseExpression]] = []
    parents = _parents(context, scope.node)
    for statement in statements(scope.node):
        call = statement.value if isinstance(statement, cst.Expr) else None
        if not isinstance(call, cst.Call) or not m.matches(call.func, m.Attribute(value=m.Name(name), attr=m.Name("add"))):
            continue
        order = scope.order_of(call)
        if order is None or order < start or (end is not None and order > end):
            continue
        if _conditional_ancestors(parents, call) and end is not None:
            use_ancestors = _ancestor_ids(parents, use)
            if not all(id(block) in use_ancestors for block in _conditional_ancestors(parents, call)):
                return None
        layer = arg(call, 0, "layer")
        if layer is None:
            return None
        added.append((order, layer))
    return [layer for _, layer in sorted(added, key=lambda pair: pair[0])]


def _local_class(context: FileContext, name: str) -> cst.ClassDef | None:
    key = "models.classes"
    table = context.shared.get(key)
    if table is None:
        table = {s.name.value: s for s in context.module.body if isinstance(s, cst.ClassDef)}
        context.shared[key] = table
    return table.get(name)  # type: ignore[union-attr]


def torch_module_output(context: FileContext, ctor: cst.Call, depth: int = 0) -> Output | None:
    """What a torch module built by `ctor` returns: `nn.Sequential(...)`'s last module, or the value returned
    by the `forward` of a module class defined in this file (every return must agree)."""
    callee = context.callee(ctor)
    if callee in TORCH_SEQUENTIAL:
        modules = [a.value for a in ctor.args if a.keyword is None and not a.star]
        for module in reversed(modules):
            module = strip_parens(module)
            if not isinstance(module, cst.Call):
                return None
            name = context.callee(module)
            if name in TORCH_PASS_THROUGH_MODULES:
                continue
            if name in TORCH_ACTIVATION_MODULES:
                return Output(TORCH_ACTIVATION_MODULES[name], module, TORCH_MODEL)
            if name in TORCH_LINEAR_MODULES:
                return Output("linear", module, TORCH_MODEL)
            return None
        return None
    if callee is None and isinstance(ctor.func, cst.Name) and depth < 2:
        cls = _local_class(context, ctor.func.value)
        if cls is None:
            return None
        bases = {context.resolve(b.value) for b in cls.bases}
        if not bases & TORCH_MODULE_BASES:
            return None
        for statement in cls.body.body:
            if isinstance(statement, cst.FunctionDef) and statement.name.value == "forward":
                return _forward_output(context, statement, cls, depth + 1)
    return None


def _forward_output(context: FileContext, forward: cst.FunctionDef, cls: cst.ClassDef, depth: int) -> Output | None:
    scope = Scope(forward, cls)
    returns = [r for r in statements(forward.body) if isinstance(r, cst.Return)]
    outputs = []
    for ret in returns:
        if ret.value is None:
            return None
        out = value_output(context, ret.value, scope, depth + 2, torch_class=cls)
        if out is None or out.producer == NAME:
            return None
        outputs.append(out)
    if not outputs or len({o.kind for o in outputs}) != 1:
        return None
    first = outputs[0]
    return Output(first.kind, first.node, TORCH_MODEL)


def _sigmoid_formula(context: FileContext, expr: cst.BaseExpression) -> cst.BaseExpression | None:
    """`1 / (1 + exp(-x))` written by hand; returns x."""
    expr = strip_parens(expr)
    if not (isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Divide) and number_value(expr.left) == 1.0):
        return None
    den = strip_parens(expr.right)
    if not (isinstance(den, cst.BinaryOperation) and isinstance(den.operator, cst.Add)):
        return None
    for one, other in ((den.left, den.right), (den.right, den.left)):
        other = strip_parens(other)
        if number_value(one) == 1.0 and isinstance(other, cst.Call) and context.callee(other) in EXP_FUNCTIONS and len(other.args) == 1:
            inner = strip_parens(other.args[0].value)
            if isinstance(inner, cst.UnaryOperation) and isinstance(inner.operator, cst.Minus):
                return inner.expression
    return None


def _name_says_logits(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.Name):
        text = expr.value
    elif isinstance(expr, cst.Attribute):
        text = expr.attr.value
    else:
        return False
    lowered = text.lower()
    if "logit" not in lowered or lowered.startswith(("log_", "logp")):
        return False
    return not any(word in lowered for word in ("prob", "sigmoid", "softmax", "norm", "act", "score"))


def value_output(
    context: FileContext,
    expr: cst.BaseExpression,
    scope: Scope | None = None,
    depth: int = 0,
    torch_class: cst.ClassDef | None = None,
) -> Output | None:
    """What `expr` holds (see the module docstring), or None when unknown."""
    scope = scope or _scope_of_use(context)
    if depth > MAX_DEPTH:
        return None
    original = expr
    expr = strip_parens(expr)
    if isinstance(expr, cst.Call):
        return _call_output(context, expr, scope, depth, torch_class)
    if isinstance(expr, cst.BinaryOperation):
        operand = _sigmoid_formula(context, expr)
        if operand is not None:
            return Output("sigmoid", expr, "numpy", None, operand)
        return None
    if isinstance(expr, cst.Name):
        found = lookup(context, expr, scope)
        if found is not None:
            binding, where = found
            inner = value_output(context, binding.value, where, depth + 1, torch_class)  # type: ignore[arg-type]
            if inner is not None:
                return inner
            if _name_says_logits(expr) and _plain_computation(binding.value):
                return Output("linear", original, NAME)
            return None
        if _name_says_logits(expr) and scope.reaching_binding(expr) is None and not scope.bindings(expr.value):
            return Output("linear", original, NAME)  # a parameter (or a global) named logits
        return None
    if isinstance(expr, cst.Attribute) and _name_says_logits(expr):
        return Output("linear", original, NAME)  # outputs.logits (Hugging Face), self.logits
    return None


def _plain_computation(value: cst.BaseExpression | None) -> bool:
    """A value that is not a call we could not see into: arithmetic, a layer call, a model call."""
    return isinstance(value, (cst.Call, cst.BinaryOperation, cst.Subscript, cst.Attribute, cst.Name))


def _call_output(context: FileContext, call: cst.Call, scope: Scope, depth: int, torch_class: cst.ClassDef | None) -> Output | None:
    callee = context.callee(call)
    if callee in SIGMOID_FUNCTIONS:
        return Output("sigmoid", call, SIGMOID_FUNCTIONS[callee], call, arg(call, 0, "x") or arg(call, 0, "input"))
    if callee in SOFTMAX_FUNCTIONS:
        operand = arg(call, 0, "logits") or arg(call, 0, "x") or arg(call, 0, "input")
        return Output("softmax", call, SOFTMAX_FUNCTIONS[callee], call, operand)
    if callee in LOG_ACTIVATIONS:
        return Output(LOG_ACTIVATIONS[callee], call, "log")
    func = call.func
    if callee is None and isinstance(func, cst.Attribute) and context.imports.imports_any(("torch",)):
        method = func.attr.value
        if method in SIGMOID_METHODS and not call.args:
            return Output("sigmoid", call, "torch", call, func.value)
        if method in SOFTMAX_METHODS:
            return Output("softmax", call, "torch", call, func.value)
        if method in ("log_softmax",):
            return Output("log_softmax", call, "log")
    # A Keras layer applied to a tensor: `Dense(1, activation="sigmoid")(x)`.
    if isinstance(func, cst.Call):
        layer = keras_layer_output(context, func)
        if layer is not None:
            if layer.kind == "pass" and call.args:
                inner = value_output(context, call.args[0].value, scope, depth + 1)
                if inner is not None and layer.reshaped:
                    return Output(inner.kind, inner.node, inner.producer, reshaped=True)
                return inner
            return layer if layer.kind != "pass" else None
        module = context.callee(func)
        if module in TORCH_ACTIVATION_MODULES:
            return Output(TORCH_ACTIVATION_MODULES[module], func, "torch", call, arg(call, 0, "input"))
        return None
    # A function of this module or the project (issue 12): `discriminator(x)` returning a sigmoid or logits.
    if isinstance(func, (cst.Name, cst.Attribute)):
        returned = callees.call_fact(context, call)
        if returned is not None:
            return _summarised_output(returned, call, RETURNED)
    # A model or module object called on a tensor: `model(x)`, `self.net(x)`, `self.sigmoid(x)`.
    if isinstance(func, (cst.Name, cst.Attribute)) and callee is None:
        target: cst.BaseExpression = func
        if isinstance(func, cst.Attribute) and func.attr.value in ("forward", "predict_on_batch"):
            target = func.value
        return _object_call_output(context, target, call, scope, depth, torch_class)
    return None


def _object_call_output(context: FileContext, target: cst.BaseExpression, call: cst.Call, scope: Scope, depth: int, torch_class: cst.ClassDef | None) -> Output | None:
    value: cst.BaseExpression | None = None
    where = scope
    if isinstance(target, cst.Name):
        found = lookup(context, target, scope)
        if found is None:
            param = scope.param(target.value) if scope.is_function else None
            if param is not None and param.annotation is not None:  # `disc: Discriminator` (issue 12)
                typed = callees.annotated_instance_fact(context, param.annotation)
                return _summarised_output(typed, call, TORCH_MODEL) if typed is not None else None
            return None
        value, where = found[0].value, found[1]
    elif isinstance(target, cst.Attribute):
        if torch_class is not None and m.matches(target, m.Attribute(value=m.Name("self"))):
            values = [
                a.value for a in statements(torch_class) if isinstance(a, cst.Assign) and len(a.targets) == 1 and _self_target(a.targets[0].target) == target.attr.value
            ]
            value = values[0] if len(values) == 1 else None
        else:
            value = _single_self_value(context, target)
    value = strip_parens(value) if value is not None else None
    if not isinstance(value, cst.Call):
        return None
    name = context.callee(value)
    if name in TORCH_ACTIVATION_MODULES:
        return Output(TORCH_ACTIVATION_MODULES[name], value, "torch", call, arg(call, 0, "input"))
    if name in TORCH_LINEAR_MODULES:
        return Output("linear", value, TORCH_MODEL)
    if name in KERAS_SEQUENTIAL or name in KERAS_MODEL:
        out = keras_model_output(context, value, where)
        if out is not None and isinstance(target, cst.Name):
            # Re-resolve through the name so that `.add()` calls count.
            out = keras_model_output(context, target, scope, call) or out
        return out
    local = torch_module_output(context, value, depth)
    if local is not None:
        return local
    found = callees.instance_fact(context, value)  # a module class of another module of the project (issue 12)
    if found is None or found.local:
        return None
    return _summarised_output(found, call, TORCH_MODEL)


def _summarised_output(found: "callees.Found", node: cst.CSTNode, producer: str) -> Output | None:
    """A summary's fact (lint_eps.rules.analysis.summaries) as the output of the model or module at `node`."""
    fact = found.fact
    if fact.kind in ("probability", "model") and fact.detail in ("sigmoid", "softmax"):
        kind = fact.detail
    elif fact.kind == "logits" or (fact.kind == "model" and fact.detail == "linear"):
        kind = "linear"
    else:
        return None
    return Output(kind, node, producer, note=f"the output is the {found.origin}")

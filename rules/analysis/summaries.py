"""Facts about a module's functions, classes and attributes, computed once from CPython's `ast` (issue 12).

The libcst rules reason inside one function; real ML code is not written that way: the probability comes out
of `discriminator()` and its log is taken in `train()`, the F1 score divides by `precision + recall` that two
helpers return, `self.probs = softmax(...)` is set in `build()` and logged in `add_loss()`. A summary is the
small fact a call site needs about such a value, computed from the cheap tree of the *whole* file (the libcst
parse may have stubbed the helper's body, see `lint_eps/skeleton.py`), so it costs a tenth of a parse and is
shared by every call site and, through `lint_eps.project`, by every module that imports this one.

Facts are kinds, not trees:

- `probability`: a sigmoid/softmax output (detail: "sigmoid" | "softmax");
- `guarded`: clipped, floored or epsilon-shifted (a guard is on the path: no log finding);
- `logits`: a linear layer's output, `matmul(x, W) + b`;
- `zero`: a count, a sum or a ratio of counts that can be exactly 0 (detail: why, in a few words);
- `param-activation`: the function returns `act(...)` for its parameter `act` (detail: the parameter's name,
  index: its position): the call site decides (`add_layer(..., activation_function=tf.nn.softmax)`);
- `model`: a Keras model whose last layer has the activation in detail ("sigmoid" | "softmax" | "linear").

Every fact carries the line it comes from and a phrase for messages. Anything else is unknown (`None`), and
unknown stays unknown: a call site never reports from a guess. Recursion and cycles stop at a fixed depth.
"""

from __future__ import annotations

import ast
import bisect
import re
from dataclasses import dataclass, field

from lint_eps.cache import digest
from lint_eps.imports import canonical
from lint_eps.prefilter import LINE_END

from ..tables.activations import probability_function, probability_method
from ..tables.losses import (
    ACTIVATION_STRINGS,
    KERAS_ACTIVATION_LAYERS,
    KERAS_LAYERS_WITH_ACTIVATION,
    KERAS_MODEL,
    KERAS_PASS_THROUGH_LAYERS,
    KERAS_SEQUENTIAL,
    TORCH_ACTIVATION_MODULES,
    TORCH_LINEAR_MODULES,
    TORCH_MODULE_BASES,
    TORCH_PASS_THROUGH_MODULES,
    TORCH_SEQUENTIAL,
)
from ..tables.probabilities import CLIP_FUNCTIONS, CLIP_METHODS, MAXIMUM_FUNCTIONS, MINIMUM_FUNCTIONS, REDUCTIONS_SUM

PROBABILITY = "probability"
GUARDED = "guarded"
LOGITS = "logits"
ZERO = "zero"
PARAM_ACTIVATION = "param-activation"
MODEL = "model"

_MAX_DEPTH = 6
_MATMUL_FUNCTIONS = frozenset({"tensorflow.matmul", "tensorflow.linalg.matmul", "torch.matmul", "torch.mm", "numpy.matmul", "numpy.dot", "jax.numpy.matmul", "jax.numpy.dot", "keras.ops.matmul", "keras.backend.dot"})
_COUNT_FUNCTIONS = frozenset({*REDUCTIONS_SUM, "tensorflow.math.count_nonzero", "tensorflow.count_nonzero", "torch.count_nonzero", "numpy.count_nonzero", "jax.numpy.count_nonzero", "keras.ops.count_nonzero"})
# What calling an instance runs.
_CALL_METHODS = ("forward", "call", "__call__")


@dataclass(frozen=True)
class Fact:
    kind: str
    detail: str = ""
    line: int = 0
    what: str = ""  # "`tf.nn.sigmoid` output", for "... returned by `discriminator()` at nets.py:9"
    index: int = -1  # PARAM_ACTIVATION: the parameter's position


@dataclass
class ClassFacts:
    name: str
    torch_module: bool = False
    output: Fact | None = None  # what calling an instance returns (forward / call / __call__)
    attributes: dict[str, Fact] = field(default_factory=dict)  # self.x, when every assignment agrees
    methods: dict[str, Fact] = field(default_factory=dict)  # what self.m(...) returns


@dataclass
class ModuleSummary:
    path: str
    functions: dict[str, Fact] = field(default_factory=dict)
    classes: dict[str, ClassFacts] = field(default_factory=dict)
    objects: dict[str, Fact] = field(default_factory=dict)  # module-level `net = Net()`: what calling it returns
    # Local name -> (level, module, name or None) for imports that may name a module of the project.
    project_imports: dict[str, tuple[int, str, str | None]] = field(default_factory=dict)
    # Call graph for roles (analysis/roles.py): top-level function -> the top-level functions that call it, when
    # those direct calls are its only uses; and the functions handed to a Keras `Lambda` layer.
    callers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    lambdas: frozenset[str] = frozenset()
    digest: str = ""  # of the facts, for cache keys of the files that used them
    # For the module being linted itself: facts computed on first use (`summarise_lazily`), not all at once.
    lazy: "_Summariser | None" = field(default=None, repr=False, compare=False)

    # -- lookups (lazy or eager) -------------------------------------------------------------------------------
    def function(self, name: str) -> Fact | None:
        if self.lazy is not None and name not in self.functions and name in self.lazy.defs:
            fact = self.lazy.function(name)
            if fact is not None:
                self.functions[name] = fact
        return self.functions.get(name)

    def model(self, name: str) -> Fact | None:
        key = f"{name}()"
        if self.lazy is not None and key not in self.functions and name in self.lazy.defs:
            fact = self.lazy.model(name)
            if fact is not None:
                self.functions[key] = fact
        return self.functions.get(key)

    def klass(self, name: str) -> ClassFacts | None:
        if self.lazy is not None and name not in self.classes and name in self.lazy.class_defs:
            facts = self.lazy.klass(name)
            if facts is not None:
                self.classes[name] = facts
        return self.classes.get(name)

    def obj(self, name: str) -> Fact | None:
        if self.lazy is not None and name not in self.objects:
            fact = _object_fact(self.lazy, name)
            if fact is not None:
                self.objects[name] = fact
        return self.objects.get(name)

    def defines(self, name: str) -> bool:
        if self.lazy is not None:
            return name in self.lazy.defs or name in self.lazy.class_defs
        return name in self.functions or name in self.classes or f"{name}()" in self.functions

    def call_graph(self) -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
        if self.lazy is not None and not self.callers and not self.lambdas:
            self.callers, self.lambdas = call_graph(self.lazy.tree, self.lazy.source)
        return self.callers, self.lambdas

    def fingerprint(self) -> str:
        parts = [repr(sorted(self.functions.items())), repr(sorted(self.objects.items())), repr(sorted(self.callers.items())), repr(sorted(self.lambdas))]
        for name in sorted(self.classes):
            facts = self.classes[name]
            parts.append(repr((name, facts.torch_module, facts.output, sorted(facts.attributes.items()), sorted(facts.methods.items()))))
        return repr(parts)


# -- imports ------------------------------------------------------------------------------------------------
def _imports(tree: ast.Module) -> tuple[dict[str, str], dict[str, tuple[int, str, str | None]]]:
    names: dict[str, str] = {}
    project: dict[str, tuple[int, str, str | None]] = {}
    for node in tree.body:
        for statement in _guarded_block(node):
            if isinstance(statement, ast.Import):
                for alias in statement.names:
                    if alias.asname:
                        names[alias.asname] = alias.name
                        project[alias.asname] = (0, alias.name, None)
                    else:
                        top = alias.name.split(".")[0]
                        names[top] = top
            elif isinstance(statement, ast.ImportFrom):
                module = statement.module or ""
                for alias in statement.names:
                    if alias.name == "*":
                        continue
                    local = alias.asname or alias.name
                    if statement.level:
                        project[local] = (statement.level, module, alias.name)
                        names.pop(local, None)
                    else:
                        names[local] = f"{module}.{alias.name}" if module else alias.name
                        project[local] = (0, module, alias.name)
    return names, project


def _guarded_block(node: ast.stmt) -> list[ast.stmt]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [node]
    if isinstance(node, (ast.If, ast.Try)):
        found: list[ast.stmt] = []
        for child in [*node.body, *getattr(node, "orelse", []), *[s for h in getattr(node, "handlers", []) for s in h.body]]:
            found.extend(_guarded_block(child))
        return found
    return []


def _dotted(node: ast.AST) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _number(node: ast.AST | None) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return -inner if inner is not None else None
    return None


def _epsilon_like(node: ast.AST | None) -> bool:
    """A small positive constant, a name/attribute/call that says epsilon, or `1 - eps`."""
    if node is None:
        return False
    value = _number(node)
    if value is not None:
        return 0 < value < 1
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub) and _number(node.left) == 1.0:
        return _epsilon_like(node.right)
    text = _dotted(node.func if isinstance(node, ast.Call) else node)
    if text is None:
        return False
    last = text.rsplit(".", 1)[-1].lower()
    return "eps" in last or last in ("tiny", "smooth", "smoothing")


def _argument(call: ast.Call, position: int, keyword: str | None) -> ast.expr | None:
    if keyword is not None:
        for kw in call.keywords:
            if kw.arg == keyword:
                return kw.value
    if 0 <= position < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args[: position + 1]):
        return call.args[position]
    return None


# -- the summariser -----------------------------------------------------------------------------------------
class _Summariser:
    def __init__(self, tree: ast.Module, path: str, source: str = "") -> None:
        self.tree = tree
        self.path = path
        self.source = source
        self.names, self.project_imports = _imports(tree)
        self.defs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.class_defs: dict[str, ast.ClassDef] = {}
        self.module_assigns: dict[str, ast.expr] = {}
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.defs[node.name] = node
            elif isinstance(node, ast.ClassDef):
                self.class_defs[node.name] = node
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                # A name assigned twice at module level is not one value.
                self.module_assigns[name] = node.value if name not in self.module_assigns else None  # type: ignore[assignment]
        self.uses_torch = any(v.split(".")[0] == "torch" for v in self.names.values())
        self.function_facts: dict[str, Fact | None] = {}
        self.class_facts: dict[str, ClassFacts] = {}
        self._busy: set[str] = set()

    # -- names ------------------------------------------------------------------------------------------
    def resolve(self, node: ast.AST) -> str | None:
        text = _dotted(node)
        if text is None:
            return None
        head, _, rest = text.partition(".")
        bound = self.names.get(head)
        if bound is None:
            return None
        return canonical(f"{bound}.{rest}" if rest else bound)

    # -- functions ----------------------------------------------------------------------------------------
    def function(self, name: str) -> Fact | None:
        if name in self.function_facts:
            return self.function_facts[name]
        node = self.defs.get(name)
        if node is None or name in self._busy:
            return None
        self._busy.add(name)
        try:
            fact = self.returns(node, None)
        finally:
            self._busy.discard(name)
        self.function_facts[name] = fact
        return fact

    def returns(self, node: ast.FunctionDef | ast.AsyncFunctionDef, owner: ClassFacts | None, depth: int = 0) -> Fact | None:
        """The fact every `return` of the function agrees on, or None."""
        facts: list[Fact | None] = []
        env = _Env(node, owner)
        for ret in _returns(node):
            if ret.value is None:
                return None
            facts.append(self.value(ret.value, env, ret.lineno, depth))
        applied = [f for f in facts if f is not None and f.kind == PARAM_ACTIVATION]
        if len(applied) == 1 and all(f is applied[0] or (f is not None and f.kind == LOGITS) for f in facts):
            # `if act is None: return z` / `return act(z)`: the call site's activation decides (None: unknown).
            return applied[0]
        if not facts or any(f is None for f in facts):
            return None
        kinds = {(f.kind, f.detail) for f in facts if f is not None}
        return facts[0] if len(kinds) == 1 else None

    # -- classes ------------------------------------------------------------------------------------------
    def klass(self, name: str) -> ClassFacts | None:
        if name in self.class_facts:
            return self.class_facts[name]
        node = self.class_defs.get(name)
        if node is None or f"class:{name}" in self._busy:
            return None
        self._busy.add(f"class:{name}")
        try:
            facts = ClassFacts(name, torch_module=bool({self.resolve(b) for b in node.bases} & TORCH_MODULE_BASES))
            self.class_facts[name] = facts  # visible (partly filled) to its own methods
            methods = [s for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
            assigned: dict[str, list[Fact | None]] = {}
            for method in methods:
                env = _Env(method, facts)
                for target, value, line in _self_assignments(method):
                    assigned.setdefault(target, []).append(self.value(value, env, line, 1) if value is not None else None)
            for attr, found in assigned.items():
                if found and all(f is not None for f in found) and len({(f.kind, f.detail) for f in found if f}) == 1:
                    facts.attributes[attr] = found[0]  # type: ignore[assignment]
            for method in methods:
                fact = self.returns(method, facts, 1)
                if fact is not None:
                    facts.methods[method.name] = fact
            for method_name in _CALL_METHODS:
                if method_name in facts.methods:
                    facts.output = facts.methods[method_name]
                    break
        finally:
            self._busy.discard(f"class:{name}")
        return facts

    # -- values -------------------------------------------------------------------------------------------
    def value(self, node: ast.expr, env: "_Env", line: int, depth: int) -> Fact | None:
        if depth > _MAX_DEPTH:
            return None
        if isinstance(node, ast.Name):
            bound = env.value_of(node.id, line)
            if bound is not None:
                value, where = bound
                return self.value(value, env, where, depth + 1)
            if env.function is None or node.id not in env.params:
                module_value = self.module_assigns.get(node.id)
                return self.value(module_value, env.at_module(), line, depth + 1) if module_value is not None else None
            return None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self" and env.owner is not None:
            return env.owner.attributes.get(node.attr)
        if isinstance(node, ast.Call):
            return self._call(node, env, line, depth)
        if isinstance(node, ast.BinOp):
            return self._binary(node, env, line, depth)
        if isinstance(node, ast.Subscript):
            inner = self.value(node.value, env, line, depth + 1)
            return inner if inner is not None and inner.kind in (PROBABILITY, LOGITS, GUARDED) else None
        return None

    def _binary(self, node: ast.BinOp, env: "_Env", line: int, depth: int) -> Fact | None:
        if isinstance(node.op, ast.MatMult):
            return Fact(LOGITS, "", node.lineno, "a matrix product")
        if isinstance(node.op, ast.Add):
            for term, other in ((node.left, node.right), (node.right, node.left)):
                if _epsilon_like(other):
                    inner = self.value(term, env, line, depth + 1)
                    return Fact(GUARDED, "", node.lineno, "an epsilon-shifted value") if inner is not None else None
            left = self.value(node.left, env, line, depth + 1)
            if left is not None and left.kind == LOGITS:
                return left  # matmul(x, W) + b
            return None
        if isinstance(node.op, ast.Sub) and _extent(node):
            return Fact(ZERO, "a box has zero width or height", node.lineno, "a box extent")
        if isinstance(node.op, ast.Div):
            numerator = self.value(node.left, env, line, depth + 1)
            if numerator is not None and numerator.kind == ZERO:
                return Fact(ZERO, numerator.detail, node.lineno, "a ratio of counts")
            return None
        if isinstance(node.op, ast.Mult):
            for side in (node.left, node.right):
                inner = self.value(side, env, line, depth + 1)
                if inner is not None and inner.kind == ZERO:
                    return Fact(ZERO, inner.detail, node.lineno, inner.what)
            return None
        return None

    def _call(self, call: ast.Call, env: "_Env", line: int, depth: int) -> Fact | None:
        func = call.func
        callee = self.resolve(func)
        if callee is not None:
            return self._library_call(call, callee, env, line, depth)
        if isinstance(func, ast.Attribute):
            method = func.attr
            receiver = func.value
            kind = probability_method(method, bool(call.args))
            if kind is not None and self.uses_torch:
                return Fact(PROBABILITY, kind, call.lineno, f"`.{method}()` output")
            if method in CLIP_METHODS:
                (lo_pos, lo_kw), (hi_pos, hi_kw) = CLIP_METHODS[method]
                bounds = [_argument(call, lo_pos, lo_kw) if lo_pos >= 0 else None, _argument(call, hi_pos, hi_kw) if hi_pos >= 0 else None]
                if any(_epsilon_like(b) for b in bounds):
                    return Fact(GUARDED, "", call.lineno, f"a value clamped by `.{method}()`")
                return None
            if isinstance(receiver, ast.Name) and receiver.id == "self" and env.owner is not None:
                if method in env.owner.methods:
                    return env.owner.methods[method]
                if method in _CALL_METHODS:
                    return None
                attribute = self._self_module(env.owner.name, method)
                return attribute
            return None
        if isinstance(func, ast.Call):
            return self._layer_call(func, call)
        if isinstance(func, ast.Name):
            name = func.id
            if env.function is not None and name in env.params and env.value_of(name, line) is None:
                index = env.params.index(name)
                return Fact(PARAM_ACTIVATION, name, call.lineno, f"`{name}(...)`", index=index)
            if name in self.defs:
                fact = self.function(name)
                if fact is not None and fact.kind == PARAM_ACTIVATION:
                    return self._applied(fact, call, name)
                return fact
            if name in self.class_defs:
                return Fact(MODEL, "instance", call.lineno, name) if self.klass(name) is not None else None
            bound = env.value_of(name, line)
            instance = self._instance(bound[0] if bound is not None else self.module_assigns.get(name))
            return instance
        return None

    def _applied(self, fact: Fact, call: ast.Call, name: str) -> Fact | None:
        """`add_layer(x, 10, activation_function=tf.nn.softmax)`: the activation the call site passes."""
        passed = _argument(call, fact.index, fact.detail)
        if passed is None:
            return None
        kind = probability_function(self.resolve(passed))
        if kind is not None:
            return Fact(PROBABILITY, kind, call.lineno, f"`{_dotted(passed)}` output of `{name}()`")
        return None

    def _instance(self, value: ast.expr | None) -> Fact | None:
        """What calling the object bound to `value` returns: a module class instance, an `nn.Sequential`."""
        if not isinstance(value, ast.Call):
            return None
        if isinstance(value.func, ast.Name) and value.func.id in self.class_defs:
            facts = self.klass(value.func.id)
            return facts.output if facts is not None else None
        return self._module_output(value)

    def _self_module(self, class_name: str, attr: str) -> Fact | None:
        """`self.fc(x)` where `self.fc = nn.Linear(...)` / `nn.Sequential(..., nn.Sigmoid())` / `Dense(...)`."""
        node = self.class_defs.get(class_name)
        if node is None:
            return None
        values = [value for method in node.body if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)) for target, value, _ in _self_assignments(method) if target == attr]
        if len(values) != 1 or values[0] is None:
            return None
        value = values[0]
        if isinstance(value, ast.Call):
            module = self._module_output(value)
            if module is not None:
                return module
            if isinstance(value.func, ast.Name) and value.func.id in self.class_defs and value.func.id != class_name:
                facts = self.klass(value.func.id)
                return facts.output if facts is not None else None
        return None

    def _module_output(self, ctor: ast.Call) -> Fact | None:
        """What a torch module or Keras layer/model object built by `ctor` returns when called."""
        callee = self.resolve(ctor.func)
        if callee in TORCH_ACTIVATION_MODULES:
            kind = TORCH_ACTIVATION_MODULES[callee]
            return Fact(PROBABILITY, kind, ctor.lineno, f"`{_dotted(ctor.func)}()` output") if kind in ("sigmoid", "softmax") else None
        if callee in TORCH_LINEAR_MODULES:
            return Fact(LOGITS, "", ctor.lineno, f"`{_dotted(ctor.func)}` output")
        if callee in TORCH_SEQUENTIAL:
            for module in reversed([a for a in ctor.args if not isinstance(a, ast.Starred)]):
                if not isinstance(module, ast.Call):
                    return None
                name = self.resolve(module.func)
                if name in TORCH_PASS_THROUGH_MODULES:
                    continue
                return self._module_output(module)
            return None
        if callee in KERAS_SEQUENTIAL:
            return self._keras_sequential(ctor, [])
        return self._layer(ctor)

    def _layer(self, layer: ast.Call) -> Fact | None:
        """A Keras layer object: its activation (`Dense(1, activation="sigmoid")`), linear when none is given."""
        callee = self.resolve(layer.func)
        if callee is None or not callee.startswith("keras."):
            return None
        short = callee.rsplit(".", 1)[-1]
        if short in KERAS_ACTIVATION_LAYERS:
            kind = KERAS_ACTIVATION_LAYERS[short]
            return Fact(PROBABILITY, kind, layer.lineno, f"`{short}` layer output") if kind == "softmax" else None
        if short == "Activation":
            return self._activation(_argument(layer, 0, "activation"), layer, "Activation")
        if short in KERAS_LAYERS_WITH_ACTIVATION:
            position = KERAS_LAYERS_WITH_ACTIVATION[short]
            activation = _argument(layer, position if position is not None else -1, "activation")
            if activation is None or (isinstance(activation, ast.Constant) and activation.value is None):
                return Fact(LOGITS, "", layer.lineno, f"`{short}` layer without an activation")
            return self._activation(activation, layer, short)
        return None

    def _activation(self, activation: ast.expr | None, layer: ast.Call, short: str) -> Fact | None:
        if isinstance(activation, ast.Constant) and isinstance(activation.value, str):
            kind = ACTIVATION_STRINGS.get(activation.value)
        else:
            kind = probability_function(self.resolve(activation)) if activation is not None else None
        if kind in ("sigmoid", "softmax"):
            return Fact(PROBABILITY, kind, layer.lineno, f"`{short}` layer with a {kind} activation")
        if kind == "linear":
            return Fact(LOGITS, "", layer.lineno, f"`{short}` layer with a linear activation")
        return None

    def _layer_call(self, layer: ast.Call, call: ast.Call) -> Fact | None:
        """`Dense(1, activation="sigmoid")(x)`, `nn.Sigmoid()(x)`."""
        callee = self.resolve(layer.func)
        if callee is not None and callee.rsplit(".", 1)[-1] in KERAS_PASS_THROUGH_LAYERS:
            return None
        return self._module_output(layer)

    def _keras_sequential(self, ctor: ast.Call, added: list[ast.expr]) -> Fact | None:
        listed = _argument(ctor, 0, "layers")
        layers = list(listed.elts) if isinstance(listed, (ast.List, ast.Tuple)) else []
        for layer in reversed([*layers, *added]):
            if not isinstance(layer, ast.Call):
                return None
            callee = self.resolve(layer.func)
            if callee is not None and callee.rsplit(".", 1)[-1] in KERAS_PASS_THROUGH_LAYERS:
                continue
            fact = self._layer(layer)
            if fact is None:
                return None
            return Fact(MODEL, fact.detail if fact.kind == PROBABILITY else "linear", fact.line, fact.what)
        return None

    def _library_call(self, call: ast.Call, callee: str, env: "_Env", line: int, depth: int) -> Fact | None:
        kind = probability_function(callee)
        if kind is not None:
            return Fact(PROBABILITY, kind, call.lineno, f"`{_dotted(call.func)}` output")
        if callee in CLIP_FUNCTIONS:
            _, (lo_pos, lo_kw), (hi_pos, hi_kw) = CLIP_FUNCTIONS[callee]
            if _epsilon_like(_argument(call, lo_pos, lo_kw)) or _epsilon_like(_argument(call, hi_pos, hi_kw)):
                return Fact(GUARDED, "", call.lineno, f"a value clipped by `{_dotted(call.func)}`")
            return None
        if callee in MAXIMUM_FUNCTIONS or callee in MINIMUM_FUNCTIONS:
            if any(_epsilon_like(a) for a in call.args):
                return Fact(GUARDED, "", call.lineno, f"a value bounded by `{_dotted(call.func)}`")
            return None
        if callee in _MATMUL_FUNCTIONS:
            return Fact(LOGITS, "", call.lineno, f"`{_dotted(call.func)}` output")
        if callee in _COUNT_FUNCTIONS:
            return Fact(ZERO, f"the sum `{_dotted(call.func)}(...)` is 0", call.lineno, "a sum")
        if callee in KERAS_SEQUENTIAL:
            return None  # a model object: see `_model`
        return None

    # -- Keras model builders -------------------------------------------------------------------------------
    def model(self, name: str) -> Fact | None:
        """The head of the Keras model a module function builds and returns (`return model`)."""
        key = f"model:{name}"
        if key in self.function_facts:
            return self.function_facts[key]
        node = self.defs.get(name)
        fact = None
        if node is not None:
            env = _Env(node, None)
            rets = _returns(node)
            if len(rets) == 1 and isinstance(rets[0].value, ast.Name):
                bound = env.value_of(rets[0].value.id, rets[0].lineno)
                if bound is not None and isinstance(bound[0], ast.Call):
                    ctor = bound[0]
                    callee = self.resolve(ctor.func)
                    if callee in KERAS_SEQUENTIAL:
                        fact = self._keras_sequential(ctor, _added(node, rets[0].value.id))
                    elif callee in KERAS_MODEL:
                        outputs = _argument(ctor, 1, "outputs")
                        if outputs is not None and not isinstance(outputs, (ast.List, ast.Tuple)):
                            out = self.value(outputs, env, rets[0].lineno, 1)
                            if out is not None and out.kind in (PROBABILITY, LOGITS):
                                fact = Fact(MODEL, out.detail if out.kind == PROBABILITY else "linear", out.line, out.what)
        self.function_facts[key] = fact
        return fact


class _Env:
    """Where names are looked up: the assignments of one function, before a line (textual order)."""

    def __init__(self, function: ast.FunctionDef | ast.AsyncFunctionDef | None, owner: ClassFacts | None) -> None:
        self.function = function
        self.owner = owner
        self.params: list[str] = []
        self.assignments: dict[str, list[tuple[int, ast.expr | None]]] = {}
        if function is not None:
            args = function.args
            self.params = [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
            for node in ast.walk(function):
                if node is not function and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                    continue
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            self.assignments.setdefault(target.id, []).append((node.lineno, node.value if len(node.targets) == 1 else None))
                        else:
                            for inner in ast.walk(target):
                                if isinstance(inner, ast.Name):
                                    self.assignments.setdefault(inner.id, []).append((node.lineno, None))
                elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and isinstance(node.target, ast.Name):
                    value = node.value if isinstance(node, ast.AnnAssign) else None
                    self.assignments.setdefault(node.target.id, []).append((node.lineno, value))
                elif isinstance(node, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith, ast.NamedExpr)):
                    targets = [node.target] if isinstance(node, (ast.For, ast.AsyncFor, ast.NamedExpr)) else [i.optional_vars for i in node.items if i.optional_vars]
                    for target in targets:
                        for inner in ast.walk(target):
                            if isinstance(inner, ast.Name):
                                self.assignments.setdefault(inner.id, []).append((node.lineno, None))
            for entries in self.assignments.values():
                entries.sort(key=lambda e: e[0])

    def at_module(self) -> "_Env":
        return _Env(None, None)

    def value_of(self, name: str, line: int) -> tuple[ast.expr, int] | None:
        """The value of the last assignment to `name` before `line`, when it is a plain one."""
        entries = [e for e in self.assignments.get(name, []) if e[0] < line] or [e for e in self.assignments.get(name, []) if e[0] == line]
        if not entries:
            return None
        where, value = entries[-1]
        return (value, where) if value is not None else None


def _extent(node: ast.BinOp) -> bool:
    """`boxes[:, 2] - boxes[:, 0]`: two coordinates of the same boxes (as `denominators._extent` reads it)."""
    left, right = node.left, node.right
    if not (isinstance(left, ast.Subscript) and isinstance(right, ast.Subscript)):
        return False
    if ast.dump(left.value) != ast.dump(right.value):
        return False
    a = left.slice.elts if isinstance(left.slice, ast.Tuple) else [left.slice]
    b = right.slice.elts if isinstance(right.slice, ast.Tuple) else [right.slice]
    if len(a) != len(b) or not a or any(ast.dump(x) != ast.dump(y) for x, y in zip(a[:-1], b[:-1])):
        return False
    first, second = a[-1], b[-1]
    return (
        isinstance(first, ast.Constant) and isinstance(second, ast.Constant)
        and isinstance(first.value, int) and isinstance(second.value, int) and first.value != second.value
    )


def _returns(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.Return]:
    found: list[ast.Return] = []
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Return):
            found.append(node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        elif isinstance(node, (ast.Yield, ast.YieldFrom)):
            return []  # a generator: its return value is not what callers get
        else:
            stack.extend(ast.iter_child_nodes(node))
    return sorted(found, key=lambda r: r.lineno)


def _self_assignments(method: ast.FunctionDef | ast.AsyncFunctionDef) -> list[tuple[str, ast.expr | None, int]]:
    """`self.x = value` (value None when the assignment is augmented, unpacked or chained)."""
    found: list[tuple[str, ast.expr | None, int]] = []
    for node in ast.walk(method):
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value if len(node.targets) == 1 else None
        elif isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        elif isinstance(node, ast.AugAssign):
            targets = [node.target]
        for target in targets:
            for inner in ast.walk(target):
                if isinstance(inner, ast.Attribute) and isinstance(inner.value, ast.Name) and inner.value.id == "self":
                    found.append((inner.attr, value if inner is target else None, node.lineno))
    return found


def _added(function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> list[ast.expr]:
    """Layers passed to `name.add(...)` in the function, in source order (Sequential models built by `.add`)."""
    calls = [
        node
        for node in ast.walk(function)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add" and isinstance(node.func.value, ast.Name) and node.func.value.id == name and node.args
    ]
    return [c.args[0] for c in sorted(calls, key=lambda c: (c.lineno, c.col_offset))]


def call_graph(tree: ast.Module, source: str) -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
    """(private helper -> its callers, Lambda functions) among top-level functions.

    A helper (`_name`) is listed only when every mention of its name in the text, but its `def`, is a direct call
    `_name(` inside a top-level function: passed as a value, called from module code, named in a docstring or a
    comment, its callers cannot all be known, so it is left out (the safe side). Public functions are never
    listed: their callers may live in other modules. Read from the text and the top-level `def` lines only: no
    walk of the tree (this runs for every file with a private helper)."""
    tops = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    private = {node.name for node in tops if node.name.startswith("_") and not node.name.startswith("__")}
    lambdas = frozenset(m.group(1) for m in _LAMBDA_CALL.finditer(source) if m.group(1) in {n.name for n in tops}) if "Lambda" in source else frozenset()
    if not private:
        return {}, lambdas
    starts = [0]
    for match in LINE_END.finditer(source):
        starts.append(match.end())
    spans = sorted(
        (starts[node.lineno - 1] if node.lineno - 1 < len(starts) else len(source), starts[node.end_lineno] if node.end_lineno is not None and node.end_lineno < len(starts) else len(source), node.name)
        for node in tops
    )
    begins = [span[0] for span in spans]
    callers: dict[str, list[str]] = {}
    excluded: set[str] = set()
    # Only the helpers' own names are looked for (an alternation of them): every `_word` of a file is many more.
    mentions = re.compile(r"(?<![\w.])(" + "|".join(re.escape(name) for name in sorted(private, key=len, reverse=True)) + r")\b(\s*\()?")
    for match in mentions.finditer(source):
        name = match.group(1)
        if name in excluded:
            continue
        before = source[max(0, match.start() - 12) : match.start()]
        if re.search(r"\bdef\s+$", before):
            continue  # its own definition
        index = bisect.bisect_right(begins, match.start()) - 1
        holder = spans[index] if index >= 0 and match.start() < spans[index][1] else None
        if match.group(2) is None or holder is None or holder[2] == name:
            excluded.add(name)
            continue
        callers.setdefault(name, []).append(holder[2])
    graph = {name: tuple(dict.fromkeys(found)) for name, found in callers.items() if name not in excluded}
    return graph, lambdas


_LAMBDA_CALL = re.compile(r"\bLambda\s*\(\s*([A-Za-z_]\w*)\s*[,)]")


def summarise(tree: ast.Module, path: str, source: str = "") -> ModuleSummary:
    """Every top-level function's and class's facts (computed eagerly: summaries are small and cached)."""
    summariser = _Summariser(tree, path, source)
    summary = ModuleSummary(path, project_imports=summariser.project_imports)
    summary.callers, summary.lambdas = call_graph(tree, summariser.source)
    for name in summariser.defs:
        fact = summariser.function(name)
        if fact is not None:
            summary.functions[name] = fact
        model = summariser.model(name)
        if model is not None:
            summary.functions[f"{name}()"] = model  # what the function returns is a model with this head
    for name in summariser.class_defs:
        facts = summariser.klass(name)
        if facts is not None and (facts.output or facts.attributes or facts.methods):
            summary.classes[name] = facts
    for name in summariser.module_assigns:
        fact = _object_fact(summariser, name)
        if fact is not None:
            summary.objects[name] = fact
    summary.digest = digest(summary.fingerprint().encode())
    return summary


def _object_fact(summariser: _Summariser, name: str) -> Fact | None:
    """A module-level object (`net = Net()`, `model = build_model()`): what calling it returns."""
    value = summariser.module_assigns.get(name)
    if not isinstance(value, ast.Call):
        return None
    fact = summariser._instance(value)
    if fact is None and isinstance(value.func, ast.Name) and value.func.id in summariser.defs:
        fact = summariser.model(value.func.id)
    return fact


def summarise_lazily(tree: ast.Module, path: str, source: str = "") -> ModuleSummary:
    """The summary of the module being linted: each fact computed when a call site first asks for it (most
    files ask for a few, or none). Never used as another file's dependency: it has no digest."""
    summariser = _Summariser(tree, path, source)
    return ModuleSummary(path, project_imports=summariser.project_imports, lazy=summariser)

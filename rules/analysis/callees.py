"""What a call, an object or an attribute holds when the answer lives in another function, class or module.

The libcst analyses (provenance, denominators, models) see one function. At a call site they ask this module:
`discriminator(x)` / `nets.discriminator(x)` / `precision(y, p)` (a function's summary), `net(x)` where `net`
is an instance of a module class, a module-level model or a parameter annotated with such a class, and
`self.probs` set in another method of the class. The answers are `summaries.Fact`s plus a phrase that says where
the value came from: "`tf.nn.sigmoid` output returned by `discriminator()` at nets.py:9".

Only the current file and the project's own modules (`lint_eps.project`) are read; an untyped parameter, a
third-party callee or a dynamic dispatch is unknown, and unknown is never reported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from lint_eps.lazy import libcst as cst
from lint_eps.walk import children

from lint_eps.context import FileContext
from lint_eps.imports import dotted_name
from lint_eps.nodes import strip_parens

from . import summaries
from .summaries import Fact, ModuleSummary, summarise, summarise_lazily


# Top-level packages that are never the project being linted (their calls are answered by the API tables).
_FRAMEWORKS = frozenset({"tensorflow", "tf_keras", "keras", "torch", "numpy", "jax", "jaxlib", "scipy", "math", "optax", "flax", "sklearn"})


@dataclass(frozen=True)
class Found:
    fact: Fact
    origin: str  # "`tf.nn.sigmoid` output returned by `discriminator()` at nets.py:9"
    local: bool  # defined in this file


def own_summary(context: FileContext) -> ModuleSummary | None:
    key = "callees.summary"
    if key not in context.shared:
        if context.full_tree is not None:  # the prefilter's tree: no second parse
            context.shared[key] = summarise_lazily(context.full_tree, context.path, context.full_source)
        else:
            context.shared[key] = context.project.summary(context.path, summarise_lazily, source=context.full_source)
    return context.shared[key]  # type: ignore[return-value]


def _declared(context: FileContext) -> frozenset[str]:
    """Names bound at the top of the file (defs, classes, assignments, imports), read from the libcst module
    (stubbed bodies keep their `def` lines): a call of anything else needs no summary, so none is computed."""
    key = "callees.declared"
    found = context.shared.get(key)
    if found is None:
        names: set[str] = set()
        for statement in context.module.body:
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                names.add(statement.name.value)
            elif isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, cst.Assign):
                        names.update(t.target.value for t in small.targets if isinstance(t.target, cst.Name))
                    elif isinstance(small, cst.Import):
                        names.update((a.evaluated_alias or a.evaluated_name).split(".")[0] for a in small.names)
                    elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                        names.update(a.evaluated_alias or a.evaluated_name for a in small.names)
            elif isinstance(statement, (cst.If, cst.Try)):
                names.update(_imported_in_block(statement))
        found = context.shared[key] = frozenset(names)
    return found  # type: ignore[return-value]


def _imported_in_block(statement: cst.CSTNode) -> set[str]:
    """Imports guarded by `if`/`try` at the top of the file (`try: from .nets import D except ImportError: ...`)."""
    names: set[str] = set()
    for node in _walk_imports(statement):
        if isinstance(node, cst.Import):
            names.update((a.evaluated_alias or a.evaluated_name).split(".")[0] for a in node.names)
        elif isinstance(node, cst.ImportFrom) and not isinstance(node.names, cst.ImportStar):
            names.update(a.evaluated_alias or a.evaluated_name for a in node.names)
    return names


def _walk_imports(node: cst.CSTNode) -> list[cst.CSTNode]:
    out: list[cst.CSTNode] = []
    for child in children(node, tokens=False):
        if isinstance(child, (cst.Import, cst.ImportFrom)):
            out.append(child)
        elif not isinstance(child, (cst.FunctionDef, cst.ClassDef, cst.BaseExpression)):
            out.extend(_walk_imports(child))
    return out


def _where(context: FileContext, summary: ModuleSummary, line: int) -> str:
    if os.path.abspath(summary.path) == os.path.abspath(context.path):
        return f"line {line}"
    try:
        shown = os.path.relpath(summary.path, os.path.dirname(os.path.abspath(context.path)))
    except ValueError:
        shown = summary.path
    return f"{shown}:{line}"


def _imported(context: FileContext, summary: ModuleSummary, dotted: str) -> tuple[ModuleSummary, str] | None:
    """(the project module's summary, the name inside it) for a dotted name imported from the project."""
    head, _, rest = dotted.partition(".")
    entry = summary.project_imports.get(head)
    if entry is None:
        return None
    level, module, name = entry
    project = context.project
    if name is None:  # `import nets` / `import pkg.nets as nets`: the rest names the member
        path = project.module_file(context.path, level, module)
        member = rest
    else:
        # `from .nets import discriminator`, or `from . import nets` (a submodule) then `nets.discriminator`.
        sub = project.module_file(context.path, level, f"{module}.{name}" if module else name) if rest else None
        if sub is not None:
            path, member = sub, rest
        else:
            path = project.module_file(context.path, level, module)
            member = f"{name}.{rest}" if rest else name
    if path is None or not member or "." in member:
        return None
    other = project.summary(path, summarise)
    return (other, member) if other is not None else None


def _named(context: FileContext, func: cst.BaseExpression) -> tuple[ModuleSummary, str] | None:
    """The summary that defines the function or class `func` names, and its name there."""
    dotted = dotted_name(func)
    if dotted is None:
        return None
    bound = context.imports.lookup(dotted.partition(".")[0])
    if bound is not None and bound.split(".")[0] in _FRAMEWORKS:
        return None  # `tf.foo(...)`, `torch.bar(...)`: third-party, never a project module
    if dotted.partition(".")[0] not in _declared(context):
        return None  # neither defined nor imported at the top of this file: a local or a builtin
    summary = own_summary(context)
    if summary is None:
        return None
    if "." not in dotted and summary.defines(dotted):
        if context.imports.lookup(dotted) is None:
            return summary, dotted
    return _imported(context, summary, dotted)


def call_fact(context: FileContext, call: cst.Call) -> Found | None:
    """What `f(...)` returns, for a function of this module or of the project."""
    found = _named(context, call.func)
    if found is None:
        return None
    summary, name = found
    fact = summary.function(name)
    if fact is None:
        return None
    if fact.kind == summaries.PARAM_ACTIVATION:
        fact = _applied(context, fact, call, name)
        if fact is None:
            return None
    return Found(fact, f"{fact.what} returned by `{name}()` ({_where(context, summary, fact.line)})", summary is own_summary(context))


def _applied(context: FileContext, fact: Fact, call: cst.Call, name: str) -> Fact | None:
    """`add_layer(x, 10, activation_function=tf.nn.softmax)`: the activation this call site passes."""
    from ..tables.activations import probability_function

    passed = next((a.value for a in call.args if a.keyword is not None and a.keyword.value == fact.detail), None)
    if passed is None and 0 <= fact.index < len(call.args) and all(a.keyword is None and not a.star for a in call.args[: fact.index + 1]):
        passed = call.args[fact.index].value
    if passed is None:
        return None
    kind = probability_function(context.resolve(strip_parens(passed)))
    if kind is not None:
        return Fact(summaries.PROBABILITY, kind, fact.line, f"`{context.code(passed)}` output")
    return None


def model_fact(context: FileContext, call: cst.Call) -> Found | None:
    """The Keras model a builder function of this module or the project returns (`model = build_model()`)."""
    found = _named(context, call.func)
    if found is None:
        return None
    summary, name = found
    fact = summary.model(name)
    if fact is None:
        return None
    return Found(fact, f"{fact.what} ending the model returned by `{name}()` ({_where(context, summary, fact.line)})", summary is own_summary(context))


def instance_fact(context: FileContext, ctor: cst.Call) -> Found | None:
    """What calling an instance built by `ctor` (`Discriminator()`, `nets.Critic(...)`) returns."""
    found = _named(context, ctor.func)
    if found is None:
        return None
    summary, name = found
    return _class_output(context, summary, name)


def _class_output(context: FileContext, summary: ModuleSummary, name: str) -> Found | None:
    klass = summary.klass(name)
    if klass is None or klass.output is None:
        return None
    fact = klass.output
    return Found(fact, f"{fact.what} returned by `{name}.forward()` ({_where(context, summary, fact.line)})" if klass.torch_module else f"{fact.what} returned by `{name}` ({_where(context, summary, fact.line)})", summary is own_summary(context))


def annotated_instance_fact(context: FileContext, annotation: cst.BaseExpression) -> Found | None:
    """A parameter annotated with a class (`disc: Discriminator`): calling it runs that class's forward."""
    found = _named(context, strip_parens(annotation))
    if found is None:
        return None
    summary, name = found
    return _class_output(context, summary, name)


def module_object_fact(context: FileContext, name: str) -> Found | None:
    """A module-level object of this file (`net = Net()`), called."""
    summary = own_summary(context)
    fact = summary.obj(name) if summary is not None else None
    if fact is None:
        return None
    return Found(fact, f"{fact.what} returned by calling `{name}` ({_where(context, summary, fact.line)})", True)


def attribute_fact(context: FileContext, class_name: str, attr: str) -> Found | None:
    """`self.attr` of a class of this file, when every assignment to it in the class agrees."""
    summary = own_summary(context)
    if summary is None:
        return None
    klass = summary.klass(class_name)
    if klass is None or attr not in klass.attributes:
        return None
    fact = klass.attributes[attr]
    return Found(fact, f"{fact.what} stored in `self.{attr}` ({_where(context, summary, fact.line)})", True)

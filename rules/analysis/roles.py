"""Which role the code being visited plays: metric code, loss code, training code, or none of these.

Division and log rules only speak about metric, loss and training code (elsewhere a zero denominator is a
different kind of bug, and most divisions are by known-nonzero values). The role is decided from the function's
name, its parameters, the class it is a method of, what the module passes to `compile(loss=..., metrics=...)`,
and whether the function computes gradients. Computed once per function and cached on the scope.
"""

from __future__ import annotations

import ast
import bisect
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from lint_eps.lazy import libcst as cst
from lint_eps import match as m

from lint_eps.walk import findall
from lint_eps.context import FileContext
from lint_eps.scope import Scope

from lint_eps.prefilter import IDENTIFIER_CHARACTER, WORD, expressions, functions_starting_in, has_word, identifiers_reaching, line_starts, statements, statements_covering, within, word_positions

if TYPE_CHECKING:
    from lint_eps.prefilter import FileText, FunctionFacts

from ..tables.division import STATE_CREATORS_NAMED
from ..tables.roles import (
    GRADIENT_CALLS,
    GRADIENT_METHODS,
    KERAS_LOSS_BASES,
    KERAS_METRIC_BASES,
    LABEL_PARAM_NAMES,
    LOGIT_PARAM_NAMES,
    LOSS_BASE_SUFFIXES,
    LOSS_CLASS_SUFFIXES,
    LOSS_METHODS,
    LOSS_NAME_PATTERNS,
    METRIC_BASE_SUFFIXES,
    ROLE_CLASS_METHODS,
    ROLE_FOLDERS,
    METRIC_METHODS,
    METRIC_NAME_PATTERNS,
    PREDICTION_PARAM_NAMES,
    TORCH_MODULE_BASES,
    TORCHMETRICS_BASES,
    TRAINING_NAME_PATTERNS,
)


@dataclass(frozen=True)
class Role:
    kind: str  # "metric" | "loss" | "training"
    # For messages, read after "in": "metric `dice_coef` (by its name)", "`call` of a Keras Loss subclass".
    reason: str
    differentiable: bool  # its values are differentiated (loss and training code)
    # What decided the role: "class" | "gradients" | "compile" | "name" | "signature".
    source: str = "name"

    @property
    def is_metric(self) -> bool:
        return self.kind == "metric"


@lru_cache(maxsize=32)
def _name_regex(patterns: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(f"(?:{p})" for p in patterns)
    # A fragment counts at a word edge: start/end of the name or next to an underscore or a digit.
    return re.compile(rf"(?:^|_|(?<=[0-9]))(?:{alternatives})(?:$|_|(?=[0-9]))")


def _camel_to_snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def name_is_metric(name: str, extra: tuple[str, ...] = ()) -> bool:
    """The built-in fragments match at word edges of the snake-cased name; the user's `metric-name-patterns` are
    plain regexes searched in the name as written (`^kpi_` matches `kpi_conversion`), as a reader expects."""
    return bool(_name_regex(METRIC_NAME_PATTERNS).search(_camel_to_snake(name))) or any(re.search(p, name) for p in extra)


def name_is_loss(name: str) -> bool:
    return bool(_name_regex(LOSS_NAME_PATTERNS).search(_camel_to_snake(name)))


def _compiled_names(context: FileContext) -> dict[str, str]:
    """Names passed as `loss=` / `metrics=` to any `compile(...)` call in the module: name -> "loss"|"metric"."""
    cached = context.shared.get("roles.compiled")
    if cached is not None:
        return cached  # type: ignore[return-value]
    found: dict[str, str] = {}
    if "compile" in context.source:
        for call in findall(context.module, m.Call(func=m.Attribute(attr=m.Name("compile")))):
            assert isinstance(call, cst.Call)
            for a in call.args:
                if a.keyword is None or a.keyword.value not in ("loss", "metrics", "weighted_metrics"):
                    continue
                kind = "loss" if a.keyword.value == "loss" else "metric"
                for name in findall(a.value, m.Name()):
                    assert isinstance(name, cst.Name)
                    found.setdefault(name.value, kind)
    context.shared["roles.compiled"] = found
    return found


def _computes_gradients(context: FileContext, scope: Scope) -> bool:
    for call in findall(scope.node, m.Call()):
        assert isinstance(call, cst.Call)
        callee = context.callee(call)
        if callee in GRADIENT_CALLS:
            return True
        if isinstance(call.func, cst.Attribute) and call.func.attr.value in GRADIENT_METHODS and callee is None:
            return True
    return False


def _class_bases(context: FileContext, scope: Scope) -> list[str]:
    info = None
    for candidate in context.classes:
        if candidate.node is scope.class_node:
            info = candidate
    return info.bases if info else []


def function_role(context: FileContext, scope: Scope | None = None) -> Role | None:
    """The role of `scope` (default: the innermost enclosing function), or None for ordinary code."""
    scope = scope or context.function
    if scope is None or not isinstance(scope.node, cst.FunctionDef):
        return None
    cache_key = f"roles.role.{id(scope.node)}"
    if cache_key in context.shared:
        return context.shared[cache_key]  # type: ignore[return-value]
    role = _decide(context, scope)
    context.shared[cache_key] = role
    return role


def _decide(context: FileContext, scope: Scope) -> Role | None:
    role = _evidence(context, scope)
    if role is not None and role.differentiable and _no_grad(scope):
        # `@torch.no_grad()` (a Hungarian matcher's cost, an EMA update): nothing here is differentiated.
        return Role(role.kind, role.reason, False, role.source)
    return role


def _no_grad(scope: Scope) -> bool:
    node = scope.node
    if not isinstance(node, cst.FunctionDef):
        return False
    for decorator in node.decorators:
        target = decorator.decorator.func if isinstance(decorator.decorator, cst.Call) else decorator.decorator
        leaf = target.attr.value if isinstance(target, cst.Attribute) else target.value if isinstance(target, cst.Name) else ""
        if leaf in ("no_grad", "inference_mode"):
            return True
    return False


def _evidence(context: FileContext, scope: Scope) -> Role | None:
    name = scope.name
    differentiable = _computes_gradients(context, scope)
    if scope.class_node is not None:
        bases = _class_bases(context, scope)
        class_name = scope.class_node.name.value
        if any(b in KERAS_LOSS_BASES for b in bases) and name in LOSS_METHODS:
            return Role("loss", f"`{name}` of a Keras Loss subclass", True, "class")
        if any(b in KERAS_METRIC_BASES for b in bases) and name in METRIC_METHODS:
            return Role("metric", f"`{name}` of a Keras Metric subclass", differentiable, "class")
        if any(b in TORCHMETRICS_BASES for b in bases) and name in METRIC_METHODS:
            return Role("metric", f"`{name}` of a torchmetrics Metric subclass", differentiable, "class")
        if name in LOSS_METHODS and (class_name.endswith(LOSS_CLASS_SUFFIXES) or "loss" in _camel_to_snake(class_name).split("_")) and (any(b in TORCH_MODULE_BASES for b in bases) or any(b.endswith(("Module", "Loss")) for b in bases)):
            return Role("loss", f"`{name}` of the loss module `{class_name}`", True, "class")
        if name in ROLE_CLASS_METHODS:
            for base in bases:
                leaf = base.rsplit(".", 1)[-1]
                if leaf.endswith(LOSS_BASE_SUFFIXES):
                    return Role("loss", f"`{name}` of `{class_name}` (a loss by its base class `{leaf}`)", True, "base")
                if leaf.endswith(METRIC_BASE_SUFFIXES):
                    return Role("metric", f"`{name}` of `{class_name}` (a metric by its base class `{leaf}`)", differentiable, "base")
    if differentiable or _name_regex(TRAINING_NAME_PATTERNS).search(name.lower()):
        return Role("training", f"training code `{name}` (it computes gradients)" if differentiable else f"training step `{name}`", True, "gradients")
    compiled = _compiled_names(context).get(name)
    if compiled == "loss":
        return Role("loss", f"loss `{name}` (passed to compile)", True, "compile")
    if compiled == "metric":
        return Role("metric", f"metric `{name}` (passed to compile)", False, "compile")
    if name_is_loss(name):
        return Role("loss", f"loss `{name}` (by its name)", True, "name")
    if name_is_metric(name, context.settings.metric_name_patterns):
        return Role("metric", f"metric `{name}` (by its name)", False, "name")
    positional = [p for p in scope.params if p.index >= 0 and p.name not in ("self", "cls")]
    if len(positional) >= 2 and (
        (positional[0].name in LABEL_PARAM_NAMES and positional[1].name in PREDICTION_PARAM_NAMES)
        or (positional[0].name in PREDICTION_PARAM_NAMES and positional[1].name in LABEL_PARAM_NAMES)
    ):
        # (y_true, y_pred), or torch's and optax's (predictions, targets), with an uninformative name: treat as a
        # loss (differentiated), the stricter reading.
        return Role("loss", f"`{name}({positional[0].name}, {positional[1].name})`, a loss by its signature", True, "signature")
    if scope.class_node is None and ((name.startswith("_") and not name.startswith("__")) or "Lambda" in context.full_source):
        inherited = _inherited(context).get(name)
        if inherited is not None:
            kind, reason = inherited
            return Role(kind, reason, kind != "metric", "caller")
    # Weak evidence (a folder name alone): only with `preview = true`.
    folder = role_folder(context.path) if context.settings.preview else None
    if folder is not None and scope.class_node is None and not name.startswith("_"):
        kind = ROLE_FOLDERS[folder]
        return Role(kind, f"{kind} `{name}` (in a `{folder}/` folder)", kind == "loss", "folder")
    return None


def inherited_roles(callers: dict[str, tuple[str, ...]], lambdas: frozenset[str], extra: tuple[str, ...] = ()) -> dict[str, tuple[str, str]]:
    """Roles that come from elsewhere (issue 12): a function handed to a Keras `Lambda` layer is layer code, a
    private helper called only from loss (metric) functions, named as such, is loss (metric) code. Decided from the call
    graph of the whole file (`summaries.call_graph`), so the prefilter and the rules agree whatever is stubbed.
    Only private helpers (`_name`) inherit from their callers: a public function's callers may live elsewhere."""
    found: dict[str, tuple[str, str]] = {}
    for name in lambdas:
        found[name] = ("training", f"`{name}` (the function of a Keras `Lambda` layer, differentiated)")
    for name, sites in callers.items():
        # Only a private helper's callers are all in this module: a public function may be called from anywhere.
        if name in found or not sites or not name.startswith("_") or name.startswith("__"):
            continue
        kinds = ["loss" if name_is_loss(c) else "metric" if name_is_metric(c, extra) else None for c in sites]
        if all(kinds):
            kind = "loss" if "loss" in kinds else "metric"
            caller = sites[kinds.index(kind)]
            found[name] = (kind, f"`{name}` (called only from the {kind} `{caller}`)")
    return found


def _inherited(context: FileContext) -> dict[str, tuple[str, str]]:
    cached = context.shared.get("roles.inherited")
    if cached is None:
        from .callees import own_summary  # callees -> summaries; roles is imported by the rules before either

        summary = own_summary(context)
        cached = inherited_roles(*summary.call_graph(), context.settings.metric_name_patterns) if summary is not None else {}
        context.shared["roles.inherited"] = cached
    return cached  # type: ignore[return-value]


def _inherited_in(text: "FileText") -> "dict[str, tuple[str, str]]":
    def compute() -> "dict[str, tuple[str, str]]":
        from .summaries import call_graph

        functions = text.functions or []
        has_private = any(not f.in_class and not f.nested and f.name.startswith("_") and not f.name.startswith("__") for f in functions)
        has_lambda = has_word(text.source, ("Lambda",))
        if text.tree is None or not (has_private or has_lambda):
            return {}
        callers, lambdas = call_graph(text.tree, text.source)
        return inherited_roles(callers, lambdas, text.settings.metric_name_patterns)

    return text.memo("roles.inherited_in", compute)


def role_folder(path: str) -> str | None:
    """The innermost folder of `path` named like `metrics/`, `losses/`, `loss/`, or None."""
    for part in reversed(path.replace("\\", "/").split("/")[:-1]):
        if part in ROLE_FOLDERS:
            return part
    return None


def prediction_params(scope: Scope) -> list[str]:
    """Parameters holding predictions: the second of a `(y_true, y_pred)` pair, or any prediction-named one."""
    positional = [p for p in scope.params if p.index >= 0 and p.name not in ("self", "cls")]
    names = [p.name for p in scope.params if p.name in PREDICTION_PARAM_NAMES]
    if len(positional) >= 2 and positional[0].name in LABEL_PARAM_NAMES and positional[1].name not in names:
        names.append(positional[1].name)
    return names


def is_logit_name(name: str) -> bool:
    return name in LOGIT_PARAM_NAMES or "logit" in name.lower()


# -- prefilter ---------------------------------------------------------------------------------------------
# Kept next to `_decide`, which it mirrors: change both together. Without a libcst parse it answers "can any
# function in this file get a role?", and says no only when `_decide` would return None for every function.
# Between two tokens: whitespace, comments, line continuations.
# A comment runs to the end of its line: `(?![^\r\n])` makes that the only way to match it, since `#[^\r\n]*`
# alone could split `# a # b # c` at every `#`, which backtracks exponentially (`#####` separator lines).
_GAP = r"(?:\s|#[^\r\n]*(?![^\r\n])|\\\r?\n|\\\r)*"
_NOT_IDENT_BEFORE = rf"(?<!{IDENTIFIER_CHARACTER})"
_NOT_IDENT_AFTER = rf"(?!{IDENTIFIER_CHARACTER})"
# `_computes_gradients`: a call whose callee's qualified name ends with one of these identifiers (imports only
# rewrite a name's prefix), or a `.backward(...)` / `.gradient(...)` method call. The function writes the
# identifier, or a module-level alias of it (`from jax import grad as g`): `identifiers_reaching` finds both.
_GRADIENT_NAMES = tuple(sorted({name.rsplit(".", 1)[-1] for name in GRADIENT_CALLS} | set(GRADIENT_METHODS)))
# `_compiled_names`: `x.compile(..., loss=f)` / `metrics=[f]` / `weighted_metrics=[f]`.
_COMPILE_KEYWORD = re.compile(_NOT_IDENT_BEFORE + "(?:loss|metrics|weighted_metrics)" + _GAP + "=")
# Methods of a Keras/torchmetrics metric or loss subclass (a base's canonical name ends with an identifier
# written in the file), or of a class whose name ends with `Loss`.
_ROLE_BASE_NAMES = tuple(sorted({b.rsplit(".", 1)[-1] for b in KERAS_LOSS_BASES | KERAS_METRIC_BASES | TORCHMETRICS_BASES}))
# A class header that may name a role base (`...Metric`, `...Score`, `...Loss`, `...Criterion`) or a loss class
# (`...Objective`, `AsymmetricLossMultiLabel`): a superset of what `_decide` reads from the class's name and bases.
_ROLE_CLASS_WORD = re.compile(r"Metric|Score|Loss|Criterion|Objective")


def may_have_role(text: "FileText") -> bool:
    """Prefilter (sound): False only when no function of the file can have a metric, loss or training role."""
    candidates = role_candidates(text)
    return candidates is None or bool(candidates)


def role_candidates(text: "FileText") -> "list[FunctionFacts] | None":
    """The functions of the file that may have a role (a superset of those `_decide` gives one), or None when
    that cannot be known (no CPython ast). Code inside any other function, and module-level code, has none."""
    return text.memo("roles.role_candidates", lambda: _role_candidates(text))


def _role_candidates(text: "FileText") -> "list[FunctionFacts] | None":
    functions = text.functions
    if functions is None:
        return None  # no CPython ast: nothing can be proved
    if not functions:
        return []
    source = text.source
    gradient_sites = word_positions(text, identifiers_reaching(text, *_GRADIENT_NAMES))
    compiled = _compiled_in(text)
    class_roles = has_word(source, _ROLE_BASE_NAMES) or _ROLE_CLASS_WORD.search(source) is not None
    folder = text.settings.preview and role_folder(text.path) is not None
    role_classes = _role_classes(text) if class_roles else set()
    training = _name_regex(TRAINING_NAME_PATTERNS)
    extra = text.settings.metric_name_patterns
    inherited = _inherited_in(text)
    out = []
    for function in functions:
        name = function.name
        positional = [p for p in function.positional if p not in ("self", "cls")]
        if (
            within(gradient_sites, function.start, function.end)  # gradients
            or (name in compiled if compiled is not None else _occurrences(text, name) >= 2)  # passed to compile
            or (function.owner in role_classes and (name in LOSS_METHODS or name in METRIC_METHODS or name in ROLE_CLASS_METHODS))
            or (folder and not function.in_class and not name.startswith("_"))
            or training.search(name.lower())
            or (name in inherited and not function.in_class and not function.nested)
            or name_is_loss(name)
            or name_is_metric(name, extra)
            or (len(positional) >= 2 and positional[0] in LABEL_PARAM_NAMES and positional[1] in PREDICTION_PARAM_NAMES)
            or (len(positional) >= 2 and positional[0] in PREDICTION_PARAM_NAMES and positional[1] in LABEL_PARAM_NAMES)
        ):
            out.append(function)
    return out


def _role_classes(text: "FileText") -> "set[tuple[int, int]]":
    """Spans of the classes whose header (decorators, name, bases) may make their methods loss or metric code:
    it writes a role base (or an alias of one), or `Loss` (`_decide` reads only the class's own name and bases)."""
    source = text.source
    starts = line_starts(text)
    bases = word_positions(text, identifiers_reaching(text, *_ROLE_BASE_NAMES))
    out = set()
    for statement in statements(text):
        if isinstance(statement, ast.ClassDef):
            first = min([statement.lineno] + [d.lineno for d in statement.decorator_list])
            start = starts[first - 1]
            end = starts[min(statement.body[0].lineno, len(starts) - 1)]
            if within(bases, start, end) or _ROLE_CLASS_WORD.search(source, start, end) is not None:
                out.add((start, starts[min(statement.end_lineno or statement.lineno, len(starts) - 1)]))
    return out


def _compiled_in(text: "FileText") -> "frozenset[str] | None":
    """Every name written in the `loss=` / `metrics=` / `weighted_metrics=` of an `x.compile(...)` call, as
    `_compiled_names` reads them; None when CPython's names may differ from the written ones."""

    def compute() -> "frozenset[str] | None":
        if not has_word(text.source, ("compile",)) or _COMPILE_KEYWORD.search(text.source) is None:
            return frozenset()
        if text.tree is None or text.renames_identifiers:
            return None
        found = set()
        for statement in statements_covering(text, word_positions(text, ("compile",))):
            for node in expressions(statement):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "compile":
                    for keyword in node.keywords:
                        if keyword.arg in ("loss", "metrics", "weighted_metrics"):
                            found.update(n.id for n in ast.walk(keyword.value) if isinstance(n, ast.Name))
        return frozenset(found)

    return text.memo("roles.compiled_in", compute)


def _occurrences(text: "FileText", name: str) -> int:
    """How many times `name` is written as a whole identifier (an upper bound: strings and comments count)."""
    counts: dict[str, int] = text.memo("roles.identifier_counts", lambda: _count_words(text.source))
    return counts.get(name, 0)


_WORD = WORD  # the same identifier characters as _NOT_IDENT_BEFORE/AFTER


def _count_words(source: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for word in _WORD.findall(source):
        counts[word] = counts.get(word, 0) + 1
    return counts


def role_code_contains(text: "FileText", needles: "tuple[bytes, ...]") -> bool:
    """Prefilter helper: whether the code of some function that may have a role contains one of `needles`
    (for rules that report only inside such functions)."""
    candidates = role_candidates(text)
    if candidates is None:
        return True
    words = [needle.decode() for needle in needles]
    source = text.source
    return any(any(word in source[f.start : f.end] for word in words) for f in candidates)


# -- per-function gates (see Rule.needs_function) -----------------------------------------------------------
def passes_to_compile(text: "FileText", function: "FunctionFacts") -> bool:
    """Whether `function` holds a `x.compile(loss=f)` call: `_compiled_names` reads every such call in the
    module, so a rule that asks for roles needs these functions parsed."""
    if not text.memo("roles.compile_keyword", lambda: _COMPILE_KEYWORD.search(text.source) is not None):
        return False
    return within(compile_calls(text), function.start, function.end)


def compile_calls(text: "FileText") -> list[int]:
    """Where `x.compile(...)` calls are (the starts of their lines), from CPython's ast; every written `compile`
    when the ast is missing or its names may differ from the written ones."""

    def compute() -> list[int]:
        words = word_positions(text, ("compile",))
        if text.tree is None or text.renames_identifiers:
            return words
        starts = line_starts(text)
        found = set()
        for statement in statements_covering(text, words):
            for node in expressions(statement):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "compile":
                    found.add(starts[node.lineno - 1])
        return sorted(found)

    return text.memo("roles.compile_calls", compute)


def role_code_needs(text: "FileText", function: "FunctionFacts", needles: "tuple[bytes, ...]") -> bool:
    """Gate for rules that report only in role code on one of `needles` (division): the outermost functions
    holding a role candidate whose code contains a needle; the other methods of its class that write one of
    the `self.x` it reads (the denominator analysis follows `self.x` to the class's state creation and updates,
    and from their values to further `self.y`); and the functions that may call `compile`."""
    needed = text.memo(f"roles.needed:{needles!r}", lambda: _role_code_needed(text, needles))
    return needed is None or function.start in needed or passes_to_compile(text, function)


def _role_code_needed(text: "FileText", needles: "tuple[bytes, ...]") -> "set[int] | None":
    candidates = role_candidates(text)
    outermost = text.outermost
    if candidates is None or outermost is None:
        return None
    words = [needle.decode() for needle in needles]
    source = text.source
    hits = [f for f in candidates if any(word in source[f.start : f.end] for word in words)]
    starts = [f.start for f in outermost]
    needed = {outermost[bisect.bisect_right(starts, hit.start) - 1].start for hit in hits}
    # The callers of a private module-level helper: its guards may be theirs (analysis/callers.py).
    helpers = tuple(f.name for f in hits if f.name.startswith("_") and not f.in_class and not f.nested)
    if helpers:
        needed.update(f.start for f in outermost if within(word_positions(text, helpers), f.start, f.end))
    add_state_writers(text, needed)
    return needed


def add_state_writers(text: "FileText", needed: "set[int]") -> bool:
    """Add to `needed` (outermost function starts), to a fixed point, the methods of a needed method's class
    that write a `self.x` some needed method of that class reads: what an analysis following `self.x` to its
    assignments and updates in the class reads (`state_attributes`, `state_updates`, `self_attribute_values`).
    Returns whether anything was added."""
    outermost = text.outermost or []
    source = text.source
    added = False
    classes = {f.owner for f in outermost if f.owner is not None and f.start in needed}
    for low, high in classes:
        methods = functions_starting_in(text, low, high)
        read: set[str] = set()
        grew = True
        while grew:
            grew = False
            for method in methods:
                if method.start in needed:
                    attrs = set(_SELF_ATTRIBUTE.findall(source, method.start, method.end))
                    if not attrs <= read:
                        read |= attrs
                        grew = True
            if read:
                for method in methods:
                    if method.start not in needed and not read.isdisjoint(_attributes_written(text, method)):
                        needed.add(method.start)
                        grew = added = True
    return added


def _attributes_written(text: "FileText", function: "FunctionFacts") -> set[str]:
    """The `x` of every `self.x = ...`, `self.x += ...`, `self.x.method(...)` and `self.add_state("x", ...)` in
    the function: what `state_attributes` and `state_updates` read (a superset)."""
    sites: list[tuple[int, str]] = text.memo(
        "roles.self_writes",
        lambda: sorted([(m.start(), m.group(1)) for m in _SELF_WRITE.finditer(text.source)] + [(m.start(), m.group(1)) for m in _STATE_NAMED.finditer(text.source)]),
    )
    i = bisect.bisect_left(sites, (function.start, ""))
    out = set()
    while i < len(sites) and sites[i][0] < function.end:
        out.add(sites[i][1])
        i += 1
    return out


_SELF_ATTRIBUTE = re.compile(_NOT_IDENT_BEFORE + r"self" + _GAP + r"\." + _GAP + r"([^\W\d]\w*)")
_SELF_WRITE = re.compile(
    _NOT_IDENT_BEFORE + r"self" + _GAP + r"\." + _GAP + r"([^\W\d]\w*)" + _GAP
    + r"(?:\[[^\]\r\n]*\]" + _GAP + r")?"  # `self.count[...] += n` (state in a mutable box)
    + r"(?:(?:[-+*/%@&|^]|//|\*\*|<<|>>)?=(?!=)|\." + _GAP + r"\w+" + _GAP + r"\()"
)
_STATE_NAMED = re.compile(
    r"\.(?:" + "|".join(sorted(STATE_CREATORS_NAMED)) + r")" + _GAP + r"\(" + _GAP + r"(?:\w+" + _GAP + r"=" + _GAP + r")?[rRbBuUfF]*[\"']+(\w+)"
)

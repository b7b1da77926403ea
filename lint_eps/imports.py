"""Resolve how a file spells library names, once per file, without libcst's metadata providers.

`QualifiedNameProvider` costs about ten times the parse on this codebase's target corpora; rules only need
"what does `K.log` refer to", so a binding table built from import statements (and simple aliases such as
`log = tf.math.log`) answers that in one cheap pass over top-level statements. Function-level imports and
aliases are layered on top while the engine walks into the function.

Qualified names are canonicalised (`tf_keras.` and `tensorflow.keras.` become `keras.`) so that the API
tables in `lint_eps.rules` need one row per function, not one per spelling.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable, Iterator

from lint_eps.lazy import libcst as cst

# Longest prefix first. The right-hand side is what the API tables are written against.
CANONICAL_PREFIXES: tuple[tuple[str, str], ...] = (
    ("tensorflow.compat.v1.keras.", "keras."),
    ("tensorflow.compat.v2.keras.", "keras."),
    ("tensorflow.python.keras.", "keras."),
    ("tensorflow.keras.", "keras."),
    ("keras._tf_keras.keras.", "keras."),
    ("tf_keras.src.", "keras."),
    ("tf_keras.", "keras."),
    ("keras.api.", "keras."),
    ("keras.src.", "keras."),
    ("tensorflow.compat.v1.", "tensorflow."),
    ("tensorflow.compat.v2.", "tensorflow."),
    ("tensorflow.python.ops.math_ops.", "tensorflow.math."),
    ("tensorflow.python.ops.nn.", "tensorflow.nn."),
)

_EXACT_CANONICAL = {
    "tensorflow.keras": "keras",
    "tf_keras": "keras",
    "tensorflow.compat.v1": "tensorflow",
    "tensorflow.compat.v2": "tensorflow",
}


@lru_cache(maxsize=4096)
def canonical(qualname: str) -> str:
    if qualname in _EXACT_CANONICAL:
        return _EXACT_CANONICAL[qualname]
    for prefix, replacement in CANONICAL_PREFIXES:
        if qualname.startswith(prefix):
            return replacement + qualname[len(prefix) :]
    return qualname


def dotted_name(node: cst.BaseExpression) -> str | None:
    """`a.b.c` as text, or None when the expression is not a plain dotted name."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def _module_name(node: cst.BaseExpression | None) -> str:
    if node is None:
        return ""
    return dotted_name(node) or ""


class ImportMap:
    """Local name -> fully qualified (raw, not canonical) name, with scoped overlays."""

    def __init__(self, bindings: dict[str, str] | None = None) -> None:
        self._layers: list[dict[str, str]] = [dict(bindings or {})]

    # -- building -------------------------------------------------------------------------------------
    @classmethod
    def from_module(cls, module: cst.Module) -> "ImportMap":
        imports = cls()
        for statement in _top_level_statements(module.body):
            imports.add_statement(statement)
        return imports

    def add_statement(self, statement: cst.CSTNode) -> None:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                self.add_small_statement(small)

    def add_small_statement(self, small: cst.CSTNode) -> None:
        layer = self._layers[-1]
        if isinstance(small, cst.Import):
            for alias in small.names:
                full = _module_name(alias.name)
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    layer[alias.asname.name.value] = full
                else:
                    top = full.split(".")[0]
                    layer[top] = top
        elif isinstance(small, cst.ImportFrom):
            if small.relative:
                return
            module = _module_name(small.module)
            if isinstance(small.names, cst.ImportStar):
                return
            for alias in small.names:
                name = _module_name(alias.name)
                local = name
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    local = alias.asname.name.value
                layer[local] = f"{module}.{name}" if module else name
        elif isinstance(small, cst.Assign) and len(small.targets) == 1:
            # `log = tf.math.log`: a simple alias of a library name.
            target = small.targets[0].target
            if isinstance(target, cst.Name):
                resolved = self.resolve_raw(small.value) if isinstance(small.value, (cst.Name, cst.Attribute)) else None
                if resolved is not None:
                    layer[target.value] = resolved
                elif target.value in layer:
                    # Rebinding a name to something else shadows the import.
                    del layer[target.value]

    def push(self) -> None:
        self._layers.append({})

    def pop(self) -> None:
        if len(self._layers) > 1:
            self._layers.pop()

    # -- querying -------------------------------------------------------------------------------------
    def lookup(self, local: str) -> str | None:
        for layer in reversed(self._layers):
            if local in layer:
                return layer[local]
        return None

    def resolve_raw(self, node: cst.BaseExpression) -> str | None:
        text = dotted_name(node)
        if text is None:
            return None
        head, _, rest = text.partition(".")
        bound = self.lookup(head)
        if bound is None:
            return None
        return f"{bound}.{rest}" if rest else bound

    def resolve(self, node: cst.BaseExpression) -> str | None:
        """The canonical qualified name of a dotted expression, or None if it is not an imported name."""
        raw = self.resolve_raw(node)
        return canonical(raw) if raw is not None else None

    def bindings(self) -> Iterator[tuple[str, str]]:
        seen: set[str] = set()
        for layer in reversed(self._layers):
            for local, full in layer.items():
                if local not in seen:
                    seen.add(local)
                    yield local, full

    def spell(self, qualname: str) -> str | None:
        """How this file can write `qualname` with the names it already imports (longest binding wins).

        `qualname` is canonical; a binding matches when its canonical form is a prefix.
        Returns None when nothing imported reaches it (the caller then offers no fix).
        """
        best: tuple[int, str] | None = None
        for local, full in self.bindings():
            bound = canonical(full)
            if qualname == bound:
                candidate = local
            elif qualname.startswith(bound + "."):
                candidate = local + qualname[len(bound) :]
            else:
                continue
            score = len(bound)
            if best is None or score > best[0]:
                best = (score, candidate)
        return best[1] if best else None

    def imports_any(self, prefixes: Iterable[str]) -> bool:
        wanted = tuple(prefixes)
        return any(canonical(full).startswith(wanted) or full.startswith(wanted) for _, full in self.bindings())


def _top_level_statements(body: Iterable[cst.CSTNode]) -> Iterator[cst.CSTNode]:
    """Module-level statements, looking inside if/try/with blocks (guarded imports) but not defs."""
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            yield statement
        elif isinstance(statement, (cst.If, cst.Try, cst.With, cst.TryStar)):
            yield from _top_level_statements(blocks_of(statement))


def blocks_of(statement: cst.CSTNode) -> Iterator[cst.CSTNode]:
    body = getattr(statement, "body", None)
    if isinstance(body, cst.IndentedBlock):
        yield from body.body
    orelse = getattr(statement, "orelse", None)
    while orelse is not None:
        if isinstance(orelse, cst.If):
            yield from blocks_of(orelse)
            break
        if isinstance(orelse.body, cst.IndentedBlock):
            yield from orelse.body.body
        break
    for handler in getattr(statement, "handlers", ()) or ():
        if isinstance(handler.body, cst.IndentedBlock):
            yield from handler.body.body
    final = getattr(statement, "finalbody", None)
    if final is not None and isinstance(final.body, cst.IndentedBlock):
        yield from final.body.body

"""What the source says about how a flagged function runs, read without importing it: which framework its
tensors belong to, and which float dtypes the module computes in.

The framework comes from the names the function itself uses, resolved through the module's imports (`jnp.log`
is JAX even in a module that also imports Keras), because a module-wide guess feeds one framework's tensors to
another's functions. The dtypes decide where a failure counts: every module runs in float32 and float64;
float16 and bfloat16 only where the module says so (a mixed-precision policy, `.half()`, `dtype=tf.float16`).
"""

from __future__ import annotations

import ast
from collections import Counter

# Top-level package -> the adapter that makes its tensors.
FRAMEWORK_PACKAGES = {
    "tensorflow": "tensorflow",
    "keras": "tensorflow",
    "tf_keras": "tensorflow",
    "torch": "torch",
    "torchmetrics": "torch",
    "jax": "jax",
    "flax": "jax",
    "optax": "jax",
    "numpy": "numpy",
}
# When a function uses several (or none), the order of preference: NumPy last, since every framework takes arrays.
PREFERENCE = ("tensorflow", "torch", "jax", "numpy")
ALL_DTYPES = ("float32", "float64", "float16", "bfloat16")  # the order of inputs.DTYPES (worker side)
DEFAULT_DTYPES = ("float32", "float64")
LOW_PRECISION = ("float16", "bfloat16")
# Spellings of a low-precision dtype in names and attributes (`torch.half`, `x.half()`, `jnp.bfloat16`).
# `autocast` computes in float16 on GPUs and bfloat16 on CPUs.
LOW_PRECISION_NAMES = {"float16": ("float16",), "half": ("float16",), "bfloat16": ("bfloat16",), "autocast": LOW_PRECISION}


def import_aliases(tree: ast.Module) -> dict[str, str]:
    """Every name an import binds anywhere in the module -> the framework of the package it comes from."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                framework = FRAMEWORK_PACKAGES.get(alias.name.split(".")[0])
                if framework:
                    aliases[alias.asname or alias.name.split(".")[0]] = framework
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            framework = FRAMEWORK_PACKAGES.get(node.module.split(".")[0])
            if framework:
                for alias in node.names:
                    aliases[alias.asname or alias.name] = framework
    return aliases


def _uses(node: ast.AST, aliases: dict[str, str]) -> Counter[str]:
    return Counter(aliases[n.id] for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in aliases)


def _pick(counts: Counter[str]) -> str | None:
    frameworks = [f for f in PREFERENCE[:-1] if counts[f]]
    if frameworks:
        return max(frameworks, key=lambda f: (counts[f], -PREFERENCE.index(f)))
    return "numpy" if counts["numpy"] else None


def framework_of(tree: ast.Module, definition: ast.AST | None = None) -> str:
    """The framework of `definition` (a function or class of `tree`) from the names it uses; a definition that
    uses none is given the one the whole module uses most."""
    aliases = import_aliases(tree)
    if definition is not None:
        picked = _pick(_uses(definition, aliases))
        if picked:
            return picked
    return _pick(_uses(tree, aliases)) or _pick(Counter(aliases.values())) or "numpy"


def dtypes_used(tree: ast.Module, framework: str | None = None) -> tuple[str, ...]:
    """float32 and float64, plus float16/bfloat16 where the module names them: in a name or attribute
    (`tf.float16`, `model.half()`, `torch.bfloat16`, `torch.autocast`), or in a string other than a docstring
    (`"mixed_float16"`, `dtype="bfloat16"`). With `framework` (the target's), only the top-level statements that
    use that framework, or none, count: a Keras `mixed_float16` policy is not the dtype of a JAX function beside
    it."""
    found: set[str] = set()
    docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
    aliases = import_aliases(tree) if framework is not None else {}
    for statement in tree.body:
        if framework is not None and _pick(_uses(statement, aliases)) not in (None, framework):
            continue
        for node in ast.walk(statement):
            name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
            if name in LOW_PRECISION_NAMES:
                found.update(LOW_PRECISION_NAMES[name])
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                text = node.value.lower()
                if "bfloat16" in text:
                    found.add("bfloat16")
                if "float16" in text.replace("bfloat16", ""):
                    found.add("float16")
    return DEFAULT_DTYPES + tuple(d for d in LOW_PRECISION if d in found)

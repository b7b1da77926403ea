"""Per-function gate of the logits rules (EPS301-303), derived from what a loss site reads.

A report sits at a loss site: a `.compile(...)` call, a call of a loss function of `tables.losses` (its last
identifier, or a module-level alias of it, is written there), or a call of a loss object (a name or attribute
assigned a loss-class constructor somewhere in the file). The site then reads:
  - the function it is in (bindings, `.add()` calls) and the module-level code (`models.lookup`);
  - the methods of its class that write a `self.x` it reads (`self_attribute_values`: the `self.x = ...` of
    the class), and transitively what those read;
  - the `forward` of the classes of the file named in any of that code (`_local_class`: a torch module's
    `forward`, and the methods of its class writing the `self.x` it reads), and transitively the classes those
    name;
  - the Keras backend set anywhere in the file (`code_keras_backend`: `KERAS_BACKEND`, `set_backend`).
The functions holding any of these are needed; every other function can be stubbed (lint_eps/skeleton.py).
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from lint_eps.prefilter import functions_starting_in, holding, identifiers_reaching, line_starts, statements, within, word_positions

from ..tables.losses import LOSS_APIS
from .roles import add_state_writers, compile_calls

if TYPE_CHECKING:
    from lint_eps.prefilter import FileText, FunctionFacts

_API_NAMES = tuple(sorted({row.name.rsplit(".", 1)[-1] for row in LOSS_APIS.values()}))
_CLASS_NAMES = tuple(sorted({row.name.rsplit(".", 1)[-1] for row in LOSS_APIS.values() if row.is_class}))
_ALWAYS = ("KERAS_BACKEND", "set_backend")
_CLASS_HEADER = re.compile(r"class(?:[ \t\f]|\\\r?\n|\\\r)+([^\W\d]\w*)")


def logits_needs_function(text: "FileText", function: "FunctionFacts") -> bool:
    needed = text.memo("logits.needed", lambda: _needed(text))
    return needed is None or function.start in needed


def _needed(text: "FileText") -> "set[int] | None":
    tree, outermost = text.tree, text.outermost
    if tree is None or outermost is None:
        return None
    classes = identifiers_reaching(text, *_CLASS_NAMES)
    objects: set[str] = set()
    classes_defined: dict[str, list[tuple[int, int]]] = {}
    definitions: set[int] = set()  # where a class's own name is written in its `class` statement
    starts = line_starts(text)
    for node in statements(text):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            last = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            if last is not None and last in classes:
                for target in node.targets:  # as `_loss_object_names` reads them
                    if isinstance(target, ast.Name):
                        objects.add(target.id)
                    elif isinstance(target, ast.Attribute):
                        objects.add(target.attr)
        elif isinstance(node, ast.ClassDef):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            end = starts[min(node.end_lineno or node.lineno, len(starts) - 1)]
            classes_defined.setdefault(node.name, []).append((starts[first - 1], end))
            header = _CLASS_HEADER.match(text.source, starts[node.lineno - 1] + node.col_offset)
            if header is not None:
                definitions.add(header.start(1))
    if text.renames_identifiers:
        return None  # the names above are CPython's NFKC forms, the code (and the rules) spell them otherwise
    sites = sorted(word_positions(text, identifiers_reaching(text, *_API_NAMES, *_ALWAYS) | objects) + compile_calls(text))
    if not sites:
        return set()
    # Where each local class is named: at module level (None), or the starts of the functions naming it.
    mentions: dict[str, set[int | None]] = {}
    for name in classes_defined:
        holders = (holding(text, p) for p in word_positions(text, (name,)) if p not in definitions)
        mentions[name] = {f.start if f is not None else None for f in holders}
    needed = {f.start for f in outermost if within(sites, f.start, f.end)}
    named: set[str] = set()
    grew = True
    while grew:
        # The `forward` of every class named by module-level or needed code (`_local_class`), then the methods
        # writing the `self.x` needed methods read (`self_attribute_values`, a torch class's `self.` values).
        grew = False
        for name, found in mentions.items():
            if name not in named and (None in found or not found.isdisjoint(needed)):
                named.add(name)
                for low, high in classes_defined[name]:
                    for function in functions_starting_in(text, low, high):
                        if function.name == "forward" and function.start not in needed:
                            needed.add(function.start)
                            grew = True
        grew = add_state_writers(text, needed) or grew
    return needed

"""What a rule can ask about the file being linted, at the node being visited."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lint_eps.lazy import libcst as cst

from .imports import ImportMap, dotted_name
from .scope import ClassInfo, Scope

if TYPE_CHECKING:
    import ast

    from .project import Project
    from .settings import Settings


class FileContext:
    def __init__(self, path: str, source: str, module: cst.Module, settings: "Settings", full_source: str | None = None) -> None:
        self.path = path
        self.source = source
        # The file as written: `source` may have function bodies stubbed (lint_eps/skeleton.py), and summaries of
        # this module's functions (lint_eps/project.py) must see every body.
        self.full_source = source if full_source is None else full_source
        # CPython's ast of `full_source` when the engine already has it (the prefilter's), else None.
        self.full_tree: "ast.Module | None" = None
        self.module = module
        self.settings = settings
        self.imports = ImportMap.from_module(module)
        self.scopes: list[Scope] = [Scope(module)]
        self.classes: list[ClassInfo] = []
        self._frames: list[Scope | ClassInfo] = []
        # Rules may keep per-file notes here for each other (e.g. which models end in a sigmoid).
        self.shared: dict[str, object] = {}

    @property
    def project(self) -> "Project":
        from .project import project_for

        return project_for(self.settings.source_roots())

    # -- where are we ---------------------------------------------------------------------------------
    @property
    def scope(self) -> Scope:
        return self.scopes[-1]

    @property
    def function(self) -> Scope | None:
        """The innermost enclosing function (or lambda) scope, if any."""
        for scope in reversed(self.scopes):
            if scope.is_function:
                return scope
        return None

    @property
    def module_scope(self) -> Scope:
        return self.scopes[0]

    @property
    def in_class(self) -> ClassInfo | None:
        return self.classes[-1] if self.classes else None

    # -- names ----------------------------------------------------------------------------------------
    def resolve(self, node: cst.BaseExpression) -> str | None:
        """Canonical qualified name of an imported dotted name (`K.log` -> `keras.backend.log`)."""
        return self.imports.resolve(node)

    def callee(self, call: cst.Call) -> str | None:
        return self.imports.resolve(call.func)

    def spell(self, qualname: str) -> str | None:
        return self.imports.spell(qualname)

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    @staticmethod
    def dotted(node: cst.BaseExpression) -> str | None:
        return dotted_name(node)

    # -- engine hooks ---------------------------------------------------------------------------------
    def enter_function(self, node: cst.FunctionDef | cst.Lambda) -> None:
        # A def directly inside a class body (no function in between) is a method of that class.
        top = self._frames[-1] if self._frames else None
        enclosing_class = top.node if isinstance(node, cst.FunctionDef) and isinstance(top, ClassInfo) else None
        scope = Scope(node, enclosing_class)
        self.scopes.append(scope)
        self._frames.append(scope)
        self.imports.push()

    def leave_function(self) -> None:
        self.scopes.pop()
        self._frames.pop()
        self.imports.pop()

    def enter_class(self, node: cst.ClassDef) -> None:
        bases = []
        for arg in node.bases:
            name = self.resolve(arg.value) or dotted_name(arg.value)
            if name:
                bases.append(name)
        info = ClassInfo(node, bases)
        self.classes.append(info)
        self._frames.append(info)

    def leave_class(self) -> None:
        self.classes.pop()
        self._frames.pop()

    def method_class(self) -> ClassInfo | None:
        """The class whose method we are directly in, if the innermost function is a method."""
        fn = self.function
        if fn is None or fn.class_node is None:
            return None
        for info in reversed(self.classes):
            if info.node is fn.class_node:
                return info
        return None

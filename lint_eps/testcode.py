"""Which code is test code: test files and folders by the pytest conventions, and `test_*` functions.

Tests divide and take logs on fixed data they chose, so the numerical-stability rules (EPS1, EPS2) say nothing
useful there; `test-ignores` (default `["EPS1", "EPS2", "EPS5"]`) names the codes dropped in test code, as a built-in
per-file ignore. EPS402 uses the same file conventions.
"""

from __future__ import annotations

import os

from lint_eps.lazy import libcst as cst
from lint_eps.walk import children

from .rules.tables.epsilon import TEST_DIRECTORIES, TEST_FILE_NAMES, TEST_FILE_PREFIXES, TEST_FILE_SUFFIXES

TEST_FUNCTION_PREFIX = "test_"
# Sample inputs kept beside the tests (a linter's own cases, verifier fixtures): code to lint, not tests.
FIXTURE_DIRECTORIES = frozenset({"fixtures", "testdata", "test_data"})


def why_test_file(path: str, root: str = ".") -> str | None:
    """"a test file", "in a test folder", or None. Folder names count only below the project root (a checkout
    under /home/me/test/ is not a test folder)."""
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    if relative.startswith(".."):
        relative = path
    normalized = relative.replace("\\", "/")
    base = os.path.basename(normalized)
    if base in TEST_FILE_NAMES or base.startswith(TEST_FILE_PREFIXES) or base.endswith(TEST_FILE_SUFFIXES):
        return "a test file"
    if any(part in TEST_DIRECTORIES for part in normalized.split("/")[:-1]):
        return "in a test folder"
    return None


def is_test_code_file(path: str, root: str = ".") -> bool:
    """A test file or a file in a test folder, but not a sample input under a `fixtures/` folder."""
    if why_test_file(path, root) is None:
        return False
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(root)).replace("\\", "/")
    return not any(part in FIXTURE_DIRECTORIES for part in relative.split("/")[:-1])


def find_test_functions(module: cst.Module) -> list[cst.FunctionDef]:
    """`def test_*` at the top level or in a class (pytest's and unittest's collection), outermost only."""
    found: list[cst.FunctionDef] = []
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        for child in children(node, tokens=False):
            if isinstance(child, cst.FunctionDef) and child.name.value.startswith(TEST_FUNCTION_PREFIX):
                found.append(child)
            elif isinstance(child, (cst.ClassDef, cst.FunctionDef, cst.BaseSuite, cst.BaseCompoundStatement)):
                stack.append(child)
    return found

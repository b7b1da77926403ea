"""EPS401 (a bad value for Keras's global epsilon) and EPS402 (setting it when a module is imported)."""

from __future__ import annotations

import math
import os

from lint_eps.lazy import libcst as cst

from lint_eps.context import FileContext
from lint_eps.imports import blocks_of
from lint_eps.nodes import arg, strip_parens
from lint_eps.rule import Invalid, Replacement, Rule
from lint_eps.testcode import why_test_file

from .analysis.epsilon_prefilter import sets_keras_globals
from .epsilon_resolution import CallSite, dtype_format, fold, module_facts
from .tables.dtypes import FLOAT32, FloatFormat, epsilon_literal, short
from .tables.epsilon import (
    MAX_GLOBAL_EPSILON,
    SCRIPT_FILE_NAMES,
    SET_EPSILON_FUNCTIONS,
)


def _epsilon_argument(call: cst.Call) -> cst.BaseExpression | None:
    return arg(call, 0, "value") or arg(call, 0, "e")


def _module_literal(node: cst.BaseExpression, context: FileContext) -> str | cst.Name | None:
    """A string's value, or the `None`/`True`/`False` name, written here or bound once at module level."""
    if isinstance(node, cst.Name) and node.value not in ("None", "True", "False"):
        bound = [
            small.value
            for statement in context.module.body
            if isinstance(statement, cst.SimpleStatementLine)
            for small in statement.body
            if isinstance(small, cst.Assign) and any(isinstance(t.target, cst.Name) and t.target.value == node.value for t in small.targets)
        ]
        if len(bound) != 1:
            return None
        node = strip_parens(bound[0])
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.Name) and node.value in ("None", "True", "False"):
        return node
    return None


def _as_positive_float(text: str) -> str | None:
    """`"1e-4"` -> `1e-4`: the literal a string spells, when it is a positive finite float."""
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value) or value <= 0:
        return None
    literal = text.strip()
    return literal if "." in literal or "e" in literal.lower() else repr(value)


def _compares_floatx(test: cst.BaseExpression, context: FileContext) -> FloatFormat | None:
    """`floatx == "float64"` / `K.floatx() == "float16"`: the float type a branch runs under."""
    test = strip_parens(test)
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    target = test.comparisons[0]
    if not isinstance(target.operator, cst.Equal):
        return None
    for side in (test.left, target.comparator):
        fmt = dtype_format(side, context) if isinstance(strip_parens(side), cst.SimpleString) else None
        if fmt is not None:
            return fmt
    return None


class BadGlobalEpsilon(Rule):
    code = "EPS401"
    name = "bad-global-epsilon"
    summary = "Global Keras epsilon set to a value that breaks every loss and metric that reads it"
    fixable = "sometimes"
    triggers = (b"set_epsilon",)
    # Per function: the calls of global setters (analysis/epsilon_prefilter.py).
    needs_function = staticmethod(sets_keras_globals)
    docs = f"""
    ## What it does
    Checks the value given to Keras's global fuzz factor — `keras.config.set_epsilon(v)`,
    `keras.backend.set_epsilon(v)`, `tf.keras.backend.set_epsilon(v)`, `tf_keras.backend.set_epsilon(v)`,
    `K.set_epsilon(v)` — when it is known statically (a literal, a constant, `float("1e-12")`), and reports
    `v <= 0` or not finite; `v` so small that `1 - v == 1` in the float type (float32 unless the module sets
    `set_floatx` or the call sits under `if floatx == "float64":`): `v <= {short(FLOAT32.absorbed_below_one)}` in float32; and
    `v > {MAX_GLOBAL_EPSILON:g}`. It also reports values that are not numbers — a string
    (`set_epsilon("1e-4")`), `None`, `True`/`False` — written at the call or bound once to a module constant.

    ## Why is this bad?
    Keras clips probabilities to `[epsilon, 1 - epsilon]` before taking logs and adds epsilon to the
    denominators of Dice, F-scores, IoU, MAPE and other losses and metrics. `set_epsilon` is a bare global
    assignment with no validation.

    - `1 - v == 1`: the clip's upper bound is exactly 1.0, so `log(1 - p)` of a saturated prediction is
      `log(0)`. Measured with Keras 3.15 on TensorFlow after `set_epsilon(1e-12)`: `binary_crossentropy`
      returns NaN for a saturated correct prediction (`0 * log(0)`) and inf for a saturated wrong one (the
      same on JAX; on torch the log is floored at -100, a loss of 100). tf_keras adds epsilon inside the log as
      well and stays finite.
    - `v <= 0`: every clip and every `+ epsilon` guard is off: NaN and inf as above, also in tf_keras.
    - not finite: every loss that reads epsilon is NaN.
    - not a number: `set_epsilon` stores whatever it is given (`_EPSILON = value` in Keras 3.15
      `keras/src/backend/config.py` and tf_keras 2.21 `backend_config.py`; no check, no conversion). Measured
      with Keras 3.15.1 on TensorFlow 2.21: after `set_epsilon("1e-4")` (or `None`), `epsilon()` returns the
      string and `binary_crossentropy` raises `TypeError: unsupported operand type(s) for -: 'float' and
      'str'` — at the first loss, far from the line at fault (keras#16968). Integers are stored unconverted too
      but compute like floats; `0`, negatives and `1` or more are reported by the value checks above.
    - `v > {MAX_GLOBAL_EPSILON:g}`: the clip distorts every probability loss: with `v = 0.1` a perfect
      prediction still costs `-log(0.9) = 0.105` per element, a confident mistake at most `-log(0.1) = 2.3`,
      and predictions outside `[v, 1 - v]` get no gradient.

    ## Example
    ```python
    import keras

    keras.config.set_epsilon(1e-12)  # "more precise losses"
    ```

    ## Use instead
    ```python
    import keras

    keras.config.set_epsilon(1e-7)  # the default; better: train on logits with from_logits=True
    ```

    ## Fix safety
    A string that spells a positive number (`"1e-4"`) is replaced by that number: safe, it is the value the line
    meant. For a literal below the float type's resolution, zero, negative or not finite, the fix replaces it by
    the smallest power of ten that survives `1 - v` in that type (1e-7, Keras's default, in float32). It is
    unsafe: it changes every loss value that depends on epsilon. Values above {MAX_GLOBAL_EPSILON:g} and values
    held in variables are not rewritten.
    """

    VALID = [
        "import keras\nkeras.config.set_epsilon(1e-7)\n",
        "from tensorflow.keras import backend as K\nK.set_epsilon(1e-4)\n",
        # float16 training with a larger epsilon that survives 1 - eps there.
        "import keras\nkeras.config.set_floatx('float16')\nkeras.config.set_epsilon(1e-3)\n",
        # float64 training: 1 - 1e-12 is below 1 in float64.
        "import keras\nkeras.config.set_floatx('float64')\nkeras.config.set_epsilon(1e-12)\n",
        # The branch runs only when floatx is float64.
        "from keras import backend as K\nfloatx = 'float32'\nK.set_floatx(floatx)\nif floatx == 'float64':\n    K.set_epsilon(2.220446049250313e-16)\n",
        # Unknown at lint time.
        "import keras\ndef configure(args):\n    keras.config.set_epsilon(args.eps)\n",
        # Not Keras's set_epsilon.
        "class Solver:\n    def set_epsilon(self, v):\n        self.eps = v\nSolver().set_epsilon(0)\n",
        "import keras\nkeras.config.set_epsilon(1 / 1024)\n",
        # A string converted first is a number.
        'import keras\nkeras.config.set_epsilon(float("1e-4"))\n',
        # A name bound to a string once and to a number later: not known statically.
        'import keras\nEPS = "1e-4"\nEPS = 1e-4\nkeras.config.set_epsilon(EPS)\n',
    ]
    INVALID = [
        Invalid("import keras\nkeras.config.set_epsilon(1e-12)\n", "import keras\nkeras.config.set_epsilon(1e-7)\n"),
        Invalid(
            "import tensorflow as tf\ntf.keras.backend.set_epsilon(0)\n",
            "import tensorflow as tf\ntf.keras.backend.set_epsilon(1e-7)\n",
        ),
        Invalid("from keras import backend as K\nK.set_epsilon(-1e-7)\n", "from keras import backend as K\nK.set_epsilon(1e-7)\n"),
        Invalid("import tf_keras\ntf_keras.backend.set_epsilon(0.1)\n", None),
        Invalid(
            "import keras\nEPS = 1e-10\ndef main():\n    keras.backend.set_epsilon(EPS)\n",
            None,  # the constant may be used elsewhere
        ),
        Invalid("import keras\nkeras.config.set_epsilon(float('nan'))\n", "import keras\nkeras.config.set_epsilon(1e-7)\n"),
        Invalid(
            "import keras\nkeras.config.set_floatx('float16')\nkeras.config.set_epsilon(1e-7)\n",
            "import keras\nkeras.config.set_floatx('float16')\nkeras.config.set_epsilon(1e-3)\n",
        ),
        Invalid(
            "def train():\n    from tensorflow.keras import backend as K\n    K.set_epsilon(1e-9)\n",
            "def train():\n    from tensorflow.keras import backend as K\n    K.set_epsilon(1e-7)\n",
        ),
        # Values that are not numbers: stored as they are, a TypeError in the first loss (keras#16968).
        Invalid('import keras\nkeras.config.set_epsilon("1e-4")\n', "import keras\nkeras.config.set_epsilon(1e-4)\n"),
        Invalid("from keras import backend as K\nK.set_epsilon(None)\n", None),
        Invalid('import tensorflow as tf\nEPSILON = "1e-5"\ndef main():\n    tf.keras.backend.set_epsilon(EPSILON)\n', None),
        Invalid("import keras\nkeras.config.set_epsilon(True)\n", None),
        Invalid("import keras\nkeras.config.set_epsilon('small')\n", None),
    ]

    def visit_Module(self, node: cst.Module) -> None:
        module_facts(self.context)  # resolve module-level settings with module-level names

    def visit_Call(self, node: cst.Call) -> None:
        if self.context.callee(node) not in SET_EPSILON_FUNCTIONS:
            return
        value_node = _epsilon_argument(node)
        if value_node is None:
            return
        if self._reported_non_number(node, value_node):
            return
        folded = fold(value_node, self.context)
        if folded is None or folded.default_of is not None:
            return
        value = folded.value
        fmt = self._float_type(node)
        shown = self.context.code(value_node)
        literal = isinstance(strip_parens(value_node), (cst.Float, cst.Integer, cst.UnaryOperation, cst.Call))
        backend = self.context.settings.keras_backend
        call = self.quote(f"set_epsilon({shown})", 28)
        better = epsilon_literal(fmt.suggested_epsilon)
        if not math.isfinite(value):
            short_message = f"{call}: epsilon is not finite, so Keras losses that read it return NaN"
            message = f"`set_epsilon({shown})`: epsilon is not finite, so every Keras loss and metric that reads epsilon() returns NaN"
        elif value <= 0:
            short_message = f"{call} turns off every Keras epsilon guard; use {better}"
            message = (
                f"`set_epsilon({shown})` turns off every guard that reads epsilon(): the clip to [eps, 1 - eps] lets p = 0 and "
                f"p = 1 through, so binary crossentropy is NaN (0 * log(0)) or inf for saturated predictions "
                f"(Keras 3 and tf_keras alike), and `x / (y + epsilon())` divides by zero"
            )
        elif fmt.round(1.0 - value) == 1.0:
            short_message = f"{call}: 1 - eps rounds to 1 in {fmt.name}, so the clip lets p = 1 through; use {better}"
            message = (
                f"`set_epsilon({shown})`: 1 - {short(value)} rounds to exactly 1.0 in {fmt.name} (1 - e == 1 for every e <= "
                f"{short(fmt.absorbed_below_one)}), so Keras's clip(p, eps, 1 - eps) no longer keeps p below 1 and log(1 - p) "
                f"is log(0) = -inf: {self._per_backend(backend)}"
            )
        elif value > MAX_GLOBAL_EPSILON:
            message = (
                f"`set_epsilon({shown})` distorts every loss and metric that reads epsilon(): probabilities are clipped to "
                f"[{short(value)}, {short(1 - value)}], so a perfect prediction still costs -log(1 - eps) = "
                f"{short(-math.log1p(-value))} per element in Keras 3, a confident mistake at most -log(eps) = "
                f"{short(-math.log(value))}, and predictions beyond the clip get zero gradient"
            )
            short_message = f"{call} clips probabilities to [{short(value)}, {short(1 - value)}] in every Keras loss; use {better}"
            self.report(node, short_message, details=message)
            return
        else:
            return
        fix = None
        if literal:
            fix = self.fix("unsafe", f"Use {better}", Replacement(value_node, better))
        self.report(node, short_message, fix=fix, details=message)

    def _reported_non_number(self, call: cst.Call, value_node: cst.BaseExpression) -> bool:
        """A string, None or a bool: Keras 3 and tf_keras store the value unconverted (`_EPSILON = value`), so
        nothing fails here and every loss that reads epsilon() raises TypeError later (keras#16968)."""
        literal = _module_literal(strip_parens(value_node), self.context)
        if literal is None:
            return False
        shown = self.context.code(value_node)
        if isinstance(literal, str):
            kind = "a string"
        elif literal.value == "None":
            kind = "None"
        else:
            kind = "a bool"
        fix = None
        number = _as_positive_float(literal) if isinstance(literal, str) else None
        if number is not None and isinstance(strip_parens(value_node), (cst.SimpleString, cst.ConcatenatedString)):
            fix = self.fix("safe", f"Pass the number {number}", Replacement(value_node, number))
        self.report(
            call,
            f"{self.quote(f'set_epsilon({shown})', 40)} stores {kind}; every loss reading epsilon() raises TypeError",
            fix=fix,
            details=(
                f"`set_epsilon` stores its argument as it is (`_EPSILON = value` in Keras 3 and tf_keras, no check or "
                f"conversion), so this line succeeds and `epsilon()` then returns {kind}. The first loss or metric that reads "
                f"it (`clip(p, eps, 1 - eps)`, `x / (y + eps)`) raises `TypeError: unsupported operand type(s)`, far from "
                f"this line (keras#16968). Pass a positive float, e.g. `set_epsilon(1e-4)`."
            ),
        )
        return True

    @staticmethod
    def _per_backend(backend: str | None) -> str:
        tf_jax = "binary_crossentropy returns NaN for a saturated correct prediction (0 * log(0)) and inf for a wrong one"
        torch = "binary_crossentropy gives 100 per saturated element (torch floors the log at -100) instead of the true loss"
        if backend in ("tensorflow", "jax"):
            return f"on the Keras 3 {backend} backend {tf_jax}"
        if backend == "torch":
            return f"on the Keras 3 torch backend {torch}"
        return f"in Keras 3 on TensorFlow and JAX {tf_jax}; on torch it {torch.split(' ', 1)[1]}; tf_keras stays finite (it adds eps inside the log)"

    def _float_type(self, node: cst.Call) -> FloatFormat:
        facts = module_facts(self.context)
        site = facts.by_id.get(id(node))
        if site is not None:
            for test, in_body in reversed(site.ifs):
                if in_body:
                    branch = _compares_floatx(test.test, self.context)
                    if branch is not None:
                        return branch
        return facts.floatx or FLOAT32


def script_or_test(path: str, source: str, root: str = ".") -> str | None:
    """Why a file is not an importable library module, or None. See EPS402's docs for the conventions.
    Folder names count only below the project root (a checkout under /home/me/test/ is not a test folder)."""
    test = why_test_file(path, root)
    if test is not None:
        return test
    base = os.path.basename(path.replace("\\", "/"))
    if base in SCRIPT_FILE_NAMES:
        return "a __main__ module"
    if source.startswith("#!"):
        return "a script (shebang)"
    return None


def _is_main_guard(test: cst.BaseExpression) -> bool | None:
    """True for `__name__ == "__main__"`, False for `__name__ != "__main__"`, None otherwise."""
    test = strip_parens(test)
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    target = test.comparisons[0]
    sides = (strip_parens(test.left), strip_parens(target.comparator))
    names = [s for s in sides if isinstance(s, cst.Name) and s.value == "__name__"]
    strings = [s for s in sides if isinstance(s, cst.SimpleString) and s.evaluated_value == "__main__"]
    if not names or not strings:
        return None
    if isinstance(target.operator, cst.Equal):
        return True
    if isinstance(target.operator, cst.NotEqual):
        return False
    return None


def _defines_anything(statements) -> bool:
    """A top-level def or class (looking into if/try/with blocks): something another module could import."""
    for statement in statements:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            return True
        if isinstance(statement, (cst.If, cst.Try, cst.TryStar, cst.With)) and _defines_anything(blocks_of(statement)):
            return True
    return False


class ImportTimeEpsilon(Rule):
    code = "EPS402"
    name = "import-time-epsilon"
    summary = "Global Keras epsilon set when the module is imported"
    fixable = "never"
    triggers = (b"set_epsilon",)
    # Per function: the calls of global setters (analysis/epsilon_prefilter.py).
    needs_function = staticmethod(sets_keras_globals)
    docs = """
    ## What it does
    Finds `set_epsilon(...)` (every Keras spelling, see EPS401) executed when a module is imported: at the
    top level of the module or of a class body, including inside module-level `if`, `try` and `with` blocks —
    not inside a function, and not under `if __name__ == "__main__":`. Only values known statically (a
    literal or a constant) are reported: a module that passes on a value read at run time
    (`set_epsilon(_config["epsilon"])`, as Keras's own keras.json loader does) is a configuration loader.

    Files that are not imported as libraries are exempt:
    - tests: `test_*.py`, `*_test.py`, `*_tests.py`, `test.py`, `tests.py`, `conftest.py`, and any file under a
      folder named `tests` or `test`;
    - scripts: a file starting with a shebang (`#!`), a `__main__.py`, and a file that defines no function or
      class at the top level (nothing in it to import: a notebook export or a training script run as a
      whole), except a package's `__init__.py`, which every import of the package runs. A module that defines functions or classes is importable even if it also has a
      `__main__` block: its top-level statements outside that block run on every import.

    ## Why is this bad?
    The epsilon is one process-wide global. Importing the module silently changes the numerics of every
    program that imports it — every Keras loss, metric and (tf.keras) optimizer that reads `epsilon()` —
    depending on import order. Inside `tf.function`/`jax.jit` the value is read once at trace time, so the
    same model can give different losses depending on whether it was compiled before or after the import.

    ## Example
    ```python
    # losses.py, imported by train.py
    from keras import backend as K

    K.set_epsilon(1e-4)

    def dice_loss(y_true, y_pred):
        ...
    ```

    ## Use instead
    ```python
    from keras import backend as K

    def dice_loss(y_true, y_pred, smooth=1e-4):
        ...  # a local epsilon, or set the global one in the training script's main block
    ```

    ## Fix safety
    No automatic fix: moving the call changes when, and for whom, the value takes effect.
    """

    VALID = [
        "from keras import backend as K\ndef main():\n    K.set_epsilon(1e-4)\n",
        "import keras\ndef build():\n    pass\nif __name__ == '__main__':\n    keras.config.set_epsilon(1e-4)\n",
        "import keras\ndef build():\n    pass\nif '__main__' == __name__:\n    keras.backend.set_epsilon(1e-4)\n",
        "#!/usr/bin/env python\nimport keras\nkeras.config.set_epsilon(1e-4)\ndef helper():\n    pass\n",
        # A training script: nothing to import from it.
        "import keras\nkeras.config.set_epsilon(1e-4)\nmodel = keras.Sequential([keras.layers.Dense(1)])\nmodel.fit(x, y)\n",
        "import keras\nclass Trainer:\n    def setup(self):\n        keras.config.set_epsilon(1e-4)\n",
        # Not Keras's global.
        "class Solver:\n    def set_epsilon(self, v):\n        self.eps = v\nsolver = Solver()\nsolver.set_epsilon(1e-4)\n",
        "import keras\ndef build():\n    pass\nif __name__ != '__main__':\n    pass\nelse:\n    keras.config.set_epsilon(1e-4)\n",
    ]
    INVALID = [
        Invalid("from keras import backend as K\nK.set_epsilon(1e-4)\ndef dice_loss(y_true, y_pred):\n    pass\n"),
        Invalid("import tensorflow as tf\ntf.keras.backend.set_epsilon(1e-5)\nclass F1(tf.keras.metrics.Metric):\n    pass\n"),
        Invalid("import keras\nif keras.config.floatx() == 'float16':\n    keras.config.set_epsilon(1e-3)\ndef build():\n    pass\n"),
        Invalid("import keras\nclass Config:\n    keras.config.set_epsilon(1e-4)\n"),
        Invalid("import tf_keras\ntry:\n    tf_keras.backend.set_epsilon(1e-6)\nexcept AttributeError:\n    pass\ndef f():\n    pass\n"),
        Invalid(
            "import keras\nkeras.config.set_epsilon(1e-4)\ndef build():\n    pass\nif __name__ == '__main__':\n    keras.config.set_epsilon(1e-4)\n"
        ),
        Invalid("from keras.config import set_epsilon\nset_epsilon(1e-6)\n__all__ = ['x']\ndef x():\n    pass\n"),
    ]

    def visit_Module(self, node: cst.Module) -> None:
        if script_or_test(self.context.path, self.context.source, self.context.settings.root) is not None:
            return
        if not _defines_anything(node.body) and os.path.basename(self.context.path) != "__init__.py":
            return  # nothing to import: a script run as a whole (a package's __init__ is always imported)
        facts = module_facts(self.context)
        for site in facts.calls:
            if site.callee not in SET_EPSILON_FUNCTIONS or site.in_function or self._under_main(site):
                continue
            value = _epsilon_argument(site.call)
            if value is None or fold(value, self.context) is None:
                continue  # a value read at run time: a configuration loader (Keras's own keras.json loader)
            self.report(
                site.call,
                f"{self.quote(site.call, 36)} runs at import, for every importer; move it into a function",
                details=(
                    "Global Keras epsilon set at import time: every program that imports this module gets "
                    f"`{' '.join(self.context.code(site.call).split())}` for all its Keras losses and metrics, depending on import "
                    "order (and only for functions traced after the import); set it in a function or under "
                    "`if __name__ == \"__main__\":`, or pass a local epsilon"
                ),
            )

    @staticmethod
    def _under_main(site: CallSite) -> bool:
        for test, in_body in site.ifs:
            guard = _is_main_guard(test.test)
            if guard is not None and guard == in_body:
                return True
        return False

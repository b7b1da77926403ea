"""EPS404: a process-wide Keras setter assigned instead of called (`K.set_epsilon = 1e-3`)."""

from __future__ import annotations

from lint_eps.lazy import libcst as cst

from lint_eps.imports import ImportMap
from lint_eps.rule import Invalid, Replacement, Rule

from .analysis.epsilon_prefilter import GLOBAL_SETTER_NAMES, mentions_global_setter
from .tables.epsilon import GLOBAL_SETTERS


class SetterAssignedNotCalled(Rule):
    code = "EPS404"
    name = "setter-assigned-not-called"
    summary = "Keras global setter assigned instead of called"
    fixable = "always"
    triggers = tuple(name.encode() for name in GLOBAL_SETTER_NAMES)
    needs_function = staticmethod(mentions_global_setter)
    docs = """
    ## What it does
    Finds an assignment to one of Keras's process-wide setters — `set_epsilon`, `set_floatx`,
    `set_image_data_format` and the mixed-precision policy setters, in every spelling (`keras.config.`,
    `keras.backend.`, `tf.keras.backend.`, `tf_keras.backend.`, `K.` after `from keras import backend as K`, or
    the name imported on its own) — where a call was meant: `tf.keras.backend.set_epsilon = 1e-3`.

    ## Why is this bad?
    The assignment raises nothing and changes nothing Keras reads: measured with Keras 3.15 on TensorFlow 2.21,
    `keras.config.epsilon()` is still `1e-07` after `tf.keras.backend.set_epsilon = 1e-3`. It replaces the
    module attribute with a float, so every later `tf.keras.backend.set_epsilon(...)` in the process raises
    `TypeError: 'float' object is not callable` — far from the line that caused it (tensorflow#44604, "keras
    epsilon doesn't change"). The model trains with the default epsilon, or float32, or channels-last, while
    the code says otherwise.

    ## Example
    ```python
    import tensorflow as tf

    tf.keras.backend.set_epsilon = 1e-4
    tf.keras.backend.set_floatx = "float16"
    ```

    ## Use instead
    ```python
    import tensorflow as tf

    tf.keras.backend.set_epsilon(1e-4)
    tf.keras.backend.set_floatx("float16")
    ```

    ## Fix safety
    The fix turns the assignment into the call with the same value. It is safe: it does what the line says.
    (Whether the value itself is a good epsilon is EPS401's question.)
    """

    VALID = [
        "import keras\nkeras.config.set_epsilon(1e-4)\n",
        "from tensorflow.keras import backend as K\nK.set_floatx('float16')\n",
        # Reading the setter is fine: passing it around, or keeping a reference.
        "import keras\nsetter = keras.config.set_epsilon\nsetter(1e-4)\n",
        # Someone else's attribute of the same name.
        "class Solver:\n    def __init__(self):\n        self.set_epsilon = 1e-4\n",
        "import numpy as np\nnp.set_epsilon = 1e-4\n",
        # A local name that is not Keras's setter.
        "set_epsilon = 1e-4\n",
        # Monkeypatching with a function, deliberately (tests do this).
        "import keras\ndef fake(value):\n    pass\nkeras.config.set_epsilon = fake\n",
    ]
    INVALID = [
        Invalid(
            "import tensorflow as tf\ntf.keras.backend.set_epsilon = 1e-3\n",
            "import tensorflow as tf\ntf.keras.backend.set_epsilon(1e-3)\n",
        ),
        Invalid("import keras\nkeras.config.set_floatx = 'float16'\n", "import keras\nkeras.config.set_floatx('float16')\n"),
        Invalid(
            "from keras import backend as K\ndef setup():\n    K.set_epsilon = 1e-4  # float16 training\n",
            "from keras import backend as K\ndef setup():\n    K.set_epsilon(1e-4)  # float16 training\n",
        ),
        Invalid(
            "from tensorflow.keras.backend import set_image_data_format\nset_image_data_format = 'channels_first'\n",
            "from tensorflow.keras.backend import set_image_data_format\nset_image_data_format('channels_first')\n",
        ),
        Invalid(
            "import tensorflow as tf\ntf.keras.mixed_precision.set_global_policy = 'mixed_float16'\n",
            "import tensorflow as tf\ntf.keras.mixed_precision.set_global_policy('mixed_float16')\n",
        ),
        Invalid("import tf_keras\nEPS = 1e-5\ntf_keras.backend.set_epsilon = EPS\n", "import tf_keras\nEPS = 1e-5\ntf_keras.backend.set_epsilon(EPS)\n"),
        # Chained assignment: reported, but no single call spells it.
        Invalid("import keras\nkeras.config.set_epsilon = eps = 1e-4\n", None),
    ]

    _imported: ImportMap | None = None

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            setter = self._setter(target.target)
            if setter not in GLOBAL_SETTERS or self._assigns_function(node.value):
                continue
            spelled = self.context.code(target.target)
            value = self.context.code(node.value)
            fix = None
            if len(node.targets) == 1:
                call = cst.Call(func=target.target, args=[cst.Arg(node.value)])
                fix = self.fix("safe", f"Call `{spelled}({value})`", Replacement(node, cst.Expr(call)))
            self.report(
                target.target,
                f"{self.quote(spelled, 40)} is assigned, not called: nothing changes; call it",
                fix=fix,
                details=(
                    f"`{spelled} = {value}` replaces Keras's setter function with the value instead of calling it: the "
                    f"setting Keras reads is unchanged (measured with Keras 3.15: `epsilon()` stays 1e-07 after "
                    f"`tf.keras.backend.set_epsilon = 1e-3`), no error is raised, and every later call through this "
                    f"spelling raises `TypeError: 'float' object is not callable` (tensorflow#44604). Use `{spelled}({value})`."
                ),
            )

    def _setter(self, target: cst.BaseExpression) -> str | None:
        """The setter a target names. A bare name is looked up among the imports alone: the assignment being
        checked rebinds it, so the file's import map (which drops rebound names) no longer has it."""
        if not isinstance(target, cst.Name):
            return self.context.resolve(target)
        if self._imported is None:
            imports = ImportMap()
            for statement in self.context.module.body:
                if isinstance(statement, cst.SimpleStatementLine) and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body):
                    imports.add_statement(statement)
            self._imported = imports
        return self._imported.resolve(target)

    def _assigns_function(self, value: cst.BaseExpression) -> bool:
        """A deliberate replacement (tests monkeypatch setters): a lambda, a call that builds an object
        (`MagicMock()`, `partial(...)`), a name defined by a `def` in this module, or anything imported."""
        if isinstance(value, (cst.Lambda, cst.Call)):
            return not (isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value in ("float", "str", "int"))
        if self.context.resolve(value) is not None:
            return True
        if isinstance(value, cst.Name):
            return any(isinstance(s, cst.FunctionDef) and s.name.value == value.value for s in self.context.module.body)
        return False

"""The epsilon family (EPS401-EPS403) end to end through the CLI, and the float-format table it relies on
checked against NumPy / ml_dtypes (test dependencies only: the linter itself never imports them)."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

from conftest import run_cli, write
from lint_eps.rules.tables.dtypes import BFLOAT16, FLOAT16, FLOAT32, FLOAT64, FORMATS, epsilon_literal

NUMPY_TYPES = {"float64": np.float64, "float32": np.float32, "float16": np.float16, "bfloat16": ml_dtypes.bfloat16}


def findings(project: Path, *paths: str, select: str = "EPS401,EPS402,EPS403") -> list[dict]:
    result = run_cli(["--select", select, "--output-format", "json", "--no-cache", *paths], project)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


# -- the float formats --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(FORMATS))
def test_format_constants_match_finfo(name: str) -> None:
    fmt = FORMATS[name]
    info = ml_dtypes.finfo(NUMPY_TYPES[name])
    assert fmt.eps == float(info.eps)
    assert fmt.epsneg == float(info.epsneg)
    assert fmt.smallest_normal == float(info.smallest_normal)
    assert fmt.smallest_subnormal == float(info.smallest_subnormal)
    assert fmt.max == float(info.max)
    assert fmt.mantissa_bits == info.nmant and fmt.exponent_bits == info.nexp


def _numpy_stored(values: list[float], name: str) -> list[float]:
    """float32 and float16 rounded once from float64 by NumPy; bfloat16 as the product defines it, float32
    rounded to bfloat16 (ml_dtypes' float32 conversion, which no ml_dtypes version has changed)."""
    with np.errstate(over="ignore"):
        array = np.array(values, dtype=np.float64)
        if name == "bfloat16":
            array = array.astype(np.float32)
        return [float(v) for v in array.astype(NUMPY_TYPES[name]).astype(np.float64)]


def _tf_stored(values: list[float], name: str) -> list[float]:
    """What TensorFlow stores for Python floats in the format `name` (`tf.cast` from float64). For bfloat16 and
    float16 TensorFlow (Eigen) goes float64 -> float32 -> format, two roundings, and on the CPU it flushes
    float32 subnormals to zero. ml_dtypes 0.7 rounds float64 to bfloat16 directly (0.5 did not), so a direct
    float64 conversion by ml_dtypes is no reference for the thresholds TensorFlow applies."""
    tf = pytest.importorskip("tensorflow", reason="the thresholds are checked against TensorFlow (test extra)")
    return [float(v) for v in tf.cast(tf.constant(values, dtype=tf.float64), getattr(tf, name)).numpy().tolist()]


def _random_values(fmt) -> list[float]:
    rng = random.Random(403)
    values = [rng.uniform(-2, 2) * 10 ** rng.randint(-45, 38) for _ in range(3000)]
    values += [1 - fmt.epsneg / 2, 1 + fmt.eps / 2, fmt.smallest_subnormal / 2, fmt.smallest_subnormal * 1.5, fmt.max * 1.01, 1e-7, 1e-8, 1e-12]
    values += [1 - fmt.epsneg * k / 4 for k in range(8)]
    return values


@pytest.mark.parametrize("name", ["float32", "float16", "bfloat16"])
def test_rounding_matches_numpy_including_ties_and_overflow(name: str) -> None:
    fmt = FORMATS[name]
    values = _random_values(fmt)
    for value, expected in zip(values, _numpy_stored(values, name)):
        assert fmt.round(value) == expected or (math.isnan(expected) and math.isnan(fmt.round(value))), (name, value)


@pytest.mark.parametrize("name", ["float32", "float16", "bfloat16"])
def test_rounding_of_normal_values_matches_tensorflow(name: str) -> None:
    """Every value TensorFlow stores as a normal number (it flushes subnormals on the CPU) is the product's."""
    fmt = FORMATS[name]
    values = [v for v in _random_values(fmt) if FLOAT32.smallest_normal <= abs(v) < fmt.max]
    values += [1.0 - fmt.absorbed_below_one, 1.0 + fmt.absorbed_above_one]
    for value, expected in zip(values, _tf_stored(values, name)):
        if expected == 0.0 or abs(expected) < fmt.smallest_normal:
            continue
        assert fmt.round(value) == expected, (name, value)


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_thresholds_are_the_boundaries_tensorflow_applies(name: str) -> None:
    """`absorbed_below_one` is the largest e with `1 - e` stored as exactly 1.0 by TensorFlow (so
    `clip(p, eps, 1 - eps)` does not clip at 1), `absorbed_above_one` likewise for `1 + e`: 0.1 % on either
    side of each boundary, TensorFlow stores the other value. (Right at a tie, conversion paths that round once
    or twice may differ by a unit in the last place; no epsilon anyone writes sits there.)"""
    fmt = FORMATS[name]
    below, above = fmt.absorbed_below_one, fmt.absorbed_above_one
    probes = [1.0 - below, 1.0 - below * 0.999, 1.0 - below * 1.001, 1.0 + above * 0.999, 1.0 + above * 1.001, 1.0 - fmt.suggested_epsilon]
    stored = _tf_stored(probes, name)
    assert stored[:3] == [1.0, 1.0, stored[2]] and stored[2] < 1.0
    assert stored[3] == 1.0 and stored[4] > 1.0
    assert stored[5] < 1.0
    # Up to the double rounding of bfloat16, the boundaries are the textbook ones: half a unit in the last place.
    tol = 1e-6 if name != "bfloat16" else 1e-4
    assert math.isclose(below, float(fmt.epsneg) / 2, rel_tol=tol)
    assert math.isclose(above, float(fmt.eps) / 2, rel_tol=tol)
    # And the same fact in the format's own arithmetic.
    one = NUMPY_TYPES[name](1.0)
    half_step = NUMPY_TYPES[name](float(fmt.epsneg) / 2)
    assert one - half_step == one and one - NUMPY_TYPES[name](float(fmt.epsneg)) < one


@pytest.mark.parametrize("name", ["float32", "float16", "bfloat16"])
def test_rounds_to_zero_is_half_the_smallest_subnormal(name: str) -> None:
    """Where subnormals are kept (NumPy, ml_dtypes, GPUs), values up to `rounds_to_zero` are stored as 0 and
    values 0.1 % above it are not. (TensorFlow on the CPU flushes every float32 subnormal to zero.)"""
    fmt = FORMATS[name]
    zero = fmt.rounds_to_zero
    assert math.isclose(zero, float(ml_dtypes.finfo(NUMPY_TYPES[name]).smallest_subnormal) / 2, rel_tol=1e-4)
    stored = _numpy_stored([zero, zero * 1.001], name)
    assert stored[0] == 0.0 and stored[1] > 0.0


def test_facts_table_d4_numbers() -> None:
    """ml-api-facts.md §D4, to three significant digits."""
    assert f"{FLOAT32.absorbed_below_one:.3g}" == "2.98e-08"
    assert f"{FLOAT16.absorbed_below_one:.3g}" == "0.000244"
    assert f"{BFLOAT16.absorbed_below_one:.3g}" == "0.00195"
    assert f"{FLOAT64.absorbed_below_one:.3g}" == "5.55e-17"
    assert f"{FLOAT16.round(1e-7):.3g}" == "1.19e-07"
    assert f"{BFLOAT16.round(1e-7):.5g}" == "1.0012e-07"
    assert FLOAT16.round(1.0 - 1e-7) == 1.0 and BFLOAT16.round(1.0 - 1e-7) == 1.0 and FLOAT32.round(1.0 - 1e-7) < 1.0
    assert FLOAT16.round(1e-8) == 0.0
    assert f"{FLOAT16.reciprocal_overflow:.3g}" == "1.53e-05"
    assert [epsilon_literal(f.suggested_epsilon) for f in (FLOAT32, FLOAT16, BFLOAT16, FLOAT64)] == ["1e-7", "1e-3", "1e-2", "1e-15"]


def test_linter_does_not_import_numpy_at_run_time(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys
        from lint_eps.engine import lint_source
        from lint_eps.settings import Settings
        found = lint_source("import tensorflow as tf\\np = tf.clip_by_value(p, 1e-12, 1 - 1e-12)\\nq = tf.math.log(1 - p)\\n", "m.py", Settings(select=("EPS4",)))
        assert [d.code for d in found] == ["EPS403"], found
        assert "numpy" not in sys.modules and "ml_dtypes" not in sys.modules
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr


# -- EPS401 / EPS402 through the CLI -------------------------------------------------------------------------
LIBRARY = '''\
"""Segmentation losses shared by every training script of the project."""
from tensorflow.keras import backend as K

K.set_epsilon(1e-12)  # "more precise" Dice


def dice_coef(y_true, y_pred, smooth=1.0):
    intersection = K.sum(y_true * y_pred)
    return (2.0 * intersection + smooth) / (K.sum(y_true) + K.sum(y_pred) + smooth)


def bce_dice_loss(y_true, y_pred):
    return K.binary_crossentropy(y_true, y_pred) + 1.0 - dice_coef(y_true, y_pred)
'''

TRAINING_SCRIPT = '''\
import argparse

import keras

from losses import bce_dice_loss


def build_model():
    return keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])


def main(argv=None):
    args = argparse.ArgumentParser().parse_args(argv)
    model = build_model()
    model.compile(optimizer="adam", loss=bce_dice_loss)
    return model


if __name__ == "__main__":
    keras.config.set_epsilon(1e-4)
    main()
'''


def test_library_module_setting_epsilon_at_import_is_reported_twice(project: Path) -> None:
    write(project, "losses.py", LIBRARY)
    found = findings(project, "losses.py")
    assert [(f["code"], f["location"]["row"]) for f in found] == [("EPS401", 4), ("EPS402", 4)]
    bad_value = found[0]["details"]
    assert "1 - 1e-12 rounds to exactly 1.0 in float32" in bad_value and "NaN" in bad_value
    assert "import time" in found[1]["details"] and "at import" in found[1]["message"]


def test_training_script_setting_epsilon_in_its_main_block_is_clean(project: Path) -> None:
    write(project, "train.py", TRAINING_SCRIPT)
    write(project, "tests/test_losses.py", "from keras import backend as K\nK.set_epsilon(1e-5)\n\ndef test_dice():\n    pass\n")
    write(project, "run_experiment.py", "#!/usr/bin/env python\nimport keras\nkeras.config.set_epsilon(1e-5)\n\ndef go():\n    pass\n")
    assert findings(project, ".") == []


def test_package_init_is_importable_even_without_definitions(project: Path) -> None:
    write(project, "mypkg/__init__.py", "from keras import backend as K\n\nK.set_epsilon(1e-4)\n")
    write(project, "notebook_export.py", "from keras import backend as K\n\nK.set_epsilon(1e-4)\nprint(K.epsilon())\n")
    found = findings(project, ".")
    assert [(f["code"], f["filename"]) for f in found] == [("EPS402", "mypkg/__init__.py")]


def test_same_call_outside_the_main_block_is_reported(project: Path) -> None:
    moved = TRAINING_SCRIPT.replace('if __name__ == "__main__":\n    keras.config.set_epsilon(1e-4)\n', 'keras.config.set_epsilon(1e-4)\nif __name__ == "__main__":\n')
    write(project, "train.py", moved)
    found = findings(project, "train.py")
    assert [f["code"] for f in found] == ["EPS402"]


def test_eps401_fix_needs_unsafe_fixes_and_restores_the_default(project: Path) -> None:
    path = write(project, "config.py", "import keras\n\n\ndef configure():\n    keras.config.set_epsilon(1e-10)\n")
    safe = run_cli(["--select", "EPS401", "--fix", "config.py"], project)
    assert safe.returncode == 1 and "1e-10" in path.read_text()
    unsafe = run_cli(["--select", "EPS401", "--fix", "--unsafe-fixes", "config.py"], project)
    assert unsafe.returncode == 0, unsafe.stdout
    assert path.read_text() == "import keras\n\n\ndef configure():\n    keras.config.set_epsilon(1e-7)\n"


def test_eps401_message_follows_the_configured_keras_backend(project: Path) -> None:
    (project / "pyproject.toml").write_text("[project]\nname = 'demo'\n[tool.lint-eps]\nkeras-backend = 'torch'\n")
    write(project, "config.py", "import keras\n\n\ndef configure():\n    keras.config.set_epsilon(1e-9)\n")
    (finding,) = findings(project, "config.py")
    assert "torch backend" in finding["details"] and "-100" in finding["details"] and "JAX" not in finding["details"]


# -- EPS403 through the CLI ---------------------------------------------------------------------------------
MIXED_PRECISION_MODEL = '''\
import keras
from keras import layers, ops

keras.mixed_precision.set_global_policy("mixed_float16")


class ProbabilityHead(layers.Layer):
    """Turns logits into clipped log-probabilities."""

    def call(self, logits):
        p = ops.sigmoid(logits)
        p = ops.clip(p, 1e-7, 1 - 1e-7)
        return ops.log(p), ops.log(1 - p)


def build():
    inputs = keras.Input((16,))
    x = layers.Dense(1)(inputs)
    return keras.Model(inputs, ProbabilityHead(dtype="float32")(x))
'''


def test_mixed_precision_layer_with_keras_default_clip(project: Path) -> None:
    path = write(project, "model.py", MIXED_PRECISION_MODEL)
    (finding,) = findings(project, "model.py")
    assert finding["code"] == "EPS403" and finding["location"]["row"] == 12
    assert "float16" in finding["message"] and "mixed_float16" in finding["details"] and "log(0) = -inf" in finding["details"]
    assert run_cli(["--select", "EPS403", "--fix", "model.py"], project).returncode == 1  # the fix is unsafe
    assert run_cli(["--select", "EPS403", "--fix", "--unsafe-fixes", "model.py"], project).returncode == 0
    assert "p = ops.clip(p, 1e-3, 1 - 1e-3)" in path.read_text()
    # Without the policy the same layer computes in float32, where 1 - 1e-7 < 1.
    write(project, "model32.py", MIXED_PRECISION_MODEL.replace('keras.mixed_precision.set_global_policy("mixed_float16")\n', ""))
    assert findings(project, "model32.py") == []


EVALUATION_ORDER = '''\
import tensorflow as tf


def binary_crossentropy(y_true, y_pred):
    y_pred = tf.clip_by_value(y_pred, 0.0, 1.0)
    return -tf.reduce_mean(y_true * tf.math.log(y_pred + 1e-10) + (1 - y_true) * tf.math.log(1e-10 + 1 - y_pred))
'''


def test_evaluation_order_is_fixed_by_safe_fix_and_the_fix_removes_the_inf(project: Path) -> None:
    path = write(project, "bce.py", EVALUATION_ORDER)
    (finding,) = findings(project, "bce.py")
    assert finding["code"] == "EPS403" and finding["fix"]["applicability"] == "safe"
    assert "rounds to exactly 1" in finding["details"]
    result = run_cli(["--select", "EPS403", "--fix", "bce.py"], project)
    assert result.returncode == 0, result.stdout
    fixed = path.read_text()
    assert "tf.math.log(1 - y_pred + 1e-10)" in fixed
    assert findings(project, "bce.py") == []
    # What the user notices: the original loss is inf for a saturated wrong prediction, the fixed one is not.
    import tensorflow as tf

    def loss_of(source: str) -> float:
        namespace: dict = {}
        exec(compile(source, "bce.py", "exec"), namespace)
        return float(namespace["binary_crossentropy"](tf.constant([0.0]), tf.constant([1.0])))

    assert loss_of(EVALUATION_ORDER) == math.inf
    assert math.isfinite(loss_of(fixed)) and loss_of(fixed) == pytest.approx(-math.log(1e-10), rel=1e-5)


def test_float16_additive_guard_and_numpy_float64_code(project: Path) -> None:
    write(
        project,
        "norm.py",
        "import tensorflow as tf\n\n\ndef normalize(x):\n    h = tf.cast(x, tf.float16)\n"
        "    mean = tf.reduce_mean(h)\n    return tf.math.log(h + 1e-8) - tf.math.log(mean + 1e-3)\n",
    )
    write(project, "metrics_np.py", "import numpy as np\n\n\ndef log_loss(y, p):\n    p = np.clip(p, 1e-12, 1 - 1e-12)\n    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))\n")
    found = findings(project, ".")
    assert [(f["filename"], f["location"]["row"]) for f in found] == [("norm.py", 7)]
    assert "`1e-8` is stored as 0 in float16" in found[0]["details"]


# -- Issue 16: setters assigned, values of the wrong type, library epsilons in half precision -----------------
HALF_TRAINING = '''\
"""Fine-tune a classifier in float16 to fit the GPU (pytorch#33596, pyg#2106)."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Encoder(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, 128)

    def forward(self, x):
        return F.normalize(self.proj(x), dim=-1)


def finetune(loader, dim: int):
    model = Encoder(dim).cuda().half()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.01)
    for x, y in loader:
        emb = F.normalize(x.cuda().half(), dim=1)
        loss = F.cross_entropy(model(emb), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def finetune_mixed(loader, dim: int):
    model = Encoder(dim).cuda()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
    scaler = torch.cuda.amp.GradScaler()
    for x, y in loader:
        with torch.autocast("cuda", dtype=torch.float16):
            loss = F.cross_entropy(model(x.cuda()), y)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
'''


def test_half_model_with_default_adam_epsilon_and_normalize_are_reported_with_dtype_value_and_fix(project: Path) -> None:
    write(project, "finetune.py", HALF_TRAINING)
    found = findings(project, "finetune.py")
    assert [(f["code"], f["location"]["row"]) for f in found] == [("EPS403", 18), ("EPS403", 20)], found
    adam, normalize = found[0]["message"], found[1]["message"]
    # The dtype, what the epsilon becomes there, and the smallest epsilon that works.
    assert "eps=1e-8 (default) is 0 in float16" in adam and "eps=1e-4" in adam
    assert "eps=1e-12 (default) is 0 in float16" in normalize and "eps>=1e-7" in normalize
    # The mixed-precision loop (float32 parameters and optimizer state) is not reported.
    assert all(f["location"]["row"] < 27 for f in found)
    result = run_cli(["--select", "EPS403", "--no-cache", "--fix", "--unsafe-fixes", "finetune.py"], project)
    fixed = (project / "finetune.py").read_text()
    assert "torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.01, eps=1e-4)" in fixed
    assert "F.normalize(x.cuda().half(), dim=1, eps=1e-7)" in fixed
    assert findings(project, "finetune.py") == [], result.stdout


def test_keras_float16_variables_get_an_optimizer_finding_and_mixed_precision_does_not(project: Path) -> None:
    template = "import keras\n{setting}\n\ndef build(model):\n    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss='mse')\n"
    write(project, "pure.py", template.format(setting="keras.config.set_floatx('float16')"))
    write(project, "mixed.py", template.format(setting="keras.mixed_precision.set_global_policy('mixed_float16')"))
    found = findings(project, "pure.py", "mixed.py")
    assert [(Path(f["filename"]).name, f["code"]) for f in found] == [("pure.py", "EPS403")]
    assert "epsilon=1e-7 (default) is 1.19e-7 in float16" in found[0]["message"]


def test_assigned_setter_is_reported_and_fixed_into_a_call(project: Path) -> None:
    write(project, "setup_precision.py", "import tensorflow as tf\n\n\ndef configure():\n    tf.keras.backend.set_epsilon = 1e-4\n    tf.keras.backend.set_floatx('float16')\n")
    found = findings(project, "setup_precision.py", select="EPS4")
    assert [(f["code"], f["location"]["row"]) for f in found] == [("EPS404", 5)]
    assert "assigned, not called" in found[0]["message"] and "TypeError" in found[0]["details"]
    run_cli(["--select", "EPS404", "--no-cache", "--fix", "setup_precision.py"], project)
    assert "    tf.keras.backend.set_epsilon(1e-4)\n" in (project / "setup_precision.py").read_text()


def test_string_epsilon_is_reported_and_fixed_to_the_number(project: Path) -> None:
    write(project, "train.py", 'import keras\n\n\ndef main():\n    keras.config.set_epsilon("1e-4")\n')
    found = findings(project, "train.py")
    assert [f["code"] for f in found] == ["EPS401"] and "string" in found[0]["message"]
    run_cli(["--select", "EPS401", "--no-cache", "--fix", "train.py"], project)
    assert "keras.config.set_epsilon(1e-4)\n" in (project / "train.py").read_text()

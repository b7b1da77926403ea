"""`lint-eps verify`: real functions of every kind run in worker processes on edge-case tensors.

Each module-scoped fixture runs the CLI once over several functions of a module, so that TensorFlow starts once
per module rather than once per test. Expected failures were derived by hand from the fixture code (see the
comments there) and then checked against the run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from lint_eps.verifier.targets import FindingResolver, resolve_spec, TargetError

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = "tests/fixtures/verify"
HAS_TF = importlib.util.find_spec("tensorflow") is not None
needs_tf = pytest.mark.skipif(not HAS_TF, reason="tensorflow is not installed (pip install 'lint-eps[verify]')")
needs_numpy = pytest.mark.skipif(importlib.util.find_spec("numpy") is None, reason="numpy is not installed (pip install 'lint-eps[verify]')")


def verify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lint_eps", "verify", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=600,
    )


def by_function(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["function"].split("::", 1)[1]: r for r in records}


def spec(module: str, *names: str) -> list[str]:
    return [f"{FIXTURES}/{module}::{name}" for name in names]


NOT_REPRODUCED_TF = "float32, float64, float16, bfloat16; shapes (1,), (1, 4), (8,), (8, 4)"
# After the grid, Hypothesis searches (kinds of inputs, shrunk); how many it tries is its business.
SEARCHED = "N more searched (Hypothesis), none broke it"


def searched(message: str) -> str:
    return re.sub(r"\d+ more searched", "N more searched", message)


# -- TensorFlow / Keras ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tf_run() -> tuple[subprocess.CompletedProcess[str], dict[str, dict[str, Any]]]:
    if not HAS_TF:
        pytest.skip("tensorflow is not installed (pip install 'lint-eps[verify]')")
    losses = spec(
        "tf_losses.py",
        "focal_loss",
        "focal_loss_clipped",
        "bce_tf_sigmoid",
        "bce_keras_sigmoid",
        "ClippedBCE",
        "LogitBCE",
        "scaled_loss",
    )
    metrics = spec("tf_metrics.py", "dice_coef", "dice_coef_smooth", "BinaryPrecision", "SafeBinaryPrecision", "ThresholdedRecall")
    result = verify("--output-format", "json", *losses, *metrics)
    return result, by_function(json.loads(result.stdout))


@needs_tf
def test_tf_run_exit_code_and_shape(tf_run):
    result, records = tf_run
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    record = records["focal_loss"]
    assert set(record) == {"code", "filename", "location", "function", "status", "counterexample", "message"}
    assert record["code"] is None  # named explicitly, not a lint finding
    assert record["filename"] == f"{FIXTURES}/tf_losses.py"
    assert record["location"] == {"row": 16, "column": 1}
    assert record["function"] == f"{FIXTURES}/tf_losses.py::focal_loss"


@needs_tf
def test_plain_loss_nan_at_zero_probability(tf_run):
    record = tf_run[1]["focal_loss"]
    assert record["status"] == "confirmed"
    # y_true = 0, y_pred = 0: -0 * (1 - 0)**2 * log(0) = 0 * inf = NaN, and so is its gradient.
    assert record["counterexample"] == {
        "dtype": "float32",
        "inputs": {"y_true": {"shape": [1], "values": "zeros"}, "y_pred": {"shape": [1], "values": "0"}},
        "failure": "nan output; nan gradient wrt y_pred",
    }
    assert record["message"] == "nan output; nan gradient wrt y_pred with y_true = zeros (1,), y_pred = 0 (1,) in float32"


@needs_tf
def test_guarded_plain_loss_not_reproduced(tf_run):
    record = tf_run[1]["focal_loss_clipped"]
    assert record["status"] == "not-reproduced"
    assert record["counterexample"] is None
    assert searched(record["message"]) == (
        f"finite output on 312 cases ({NOT_REPRODUCED_TF}); gradient wrt y_pred finite; {SEARCHED}; "
        "precision floor not checked: not a binary cross-entropy"
    )


@needs_tf
def test_precision_floor_of_tf_sigmoid_through_keras_bce(tf_run):
    record = tf_run[1]["bce_tf_sigmoid"]
    assert record["status"] == "confirmed"
    # keras clips probabilities to [1e-7, 1 - 1e-7]: the loss stops at -log(1 - 1.19e-7); float32 rounding of
    # sigmoid(15) already puts it 2.6% off.
    assert record["counterexample"]["failure"] == "loss floor 1.19e-07 from a = 15"
    assert record["counterexample"]["dtype"] == "float32"
    assert record["counterexample"]["inputs"]["logits"]["values"] == "+/-a where y_true is 1/0, a = 0..40"


@needs_tf
def test_keras_sigmoid_activation_has_no_floor(tf_run):
    # The same loss with a Keras activation: Keras 3 on TensorFlow reads the activation's logits.
    record = tf_run[1]["bce_keras_sigmoid"]
    assert record["status"] == "not-reproduced"
    assert searched(record["message"]) == f"finite output on 260 cases ({NOT_REPRODUCED_TF}); gradient wrt logits finite; {SEARCHED}; no precision floor for a = 0..40"


@needs_tf
def test_loss_subclass_floor_and_logit_twin(tf_run):
    clipped = tf_run[1]["ClippedBCE"]
    assert clipped["status"] == "confirmed"
    assert clipped["counterexample"]["failure"] == "loss floor 1.19e-07 from a = 15"
    assert clipped["counterexample"]["inputs"]["y_pred"] == {"shape": [1, 4], "values": "tf.sigmoid(+/-a) where y_true is 1/0, a = 0..40"}
    assert clipped["message"].endswith("; the same with keras.activations.sigmoid outputs")
    twin = tf_run[1]["LogitBCE"]
    assert twin["status"] == "not-reproduced"
    assert searched(twin["message"]) == f"finite output on 260 cases ({NOT_REPRODUCED_TF}); gradient wrt logits finite; {SEARCHED}; no precision floor for a = 0..40"


@needs_tf
def test_unfillable_parameter_skipped(tf_run):
    record = tf_run[1]["scaled_loss"]
    assert record["status"] == "skipped"
    assert record["message"] == (
        "cannot fill parameter `scale`: no default, and not a label, prediction, count, mask, confusion matrix or tensor by name; "
        "give it in `lint_eps_inputs()`"
    )


@needs_tf
def test_metric_function_and_smoothed_twin(tf_run):
    dice = tf_run[1]["dice_coef"]
    assert dice["status"] == "confirmed"
    assert dice["counterexample"]["failure"] == "nan output; nan gradient wrt y_pred"
    assert dice["counterexample"]["inputs"] == {"y_true": {"shape": [1], "values": "zeros"}, "y_pred": {"shape": [1], "values": "0"}}
    smooth = tf_run[1]["dice_coef_smooth"]
    assert smooth["status"] == "not-reproduced"
    assert searched(smooth["message"]) == f"finite output on 312 cases ({NOT_REPRODUCED_TF}); gradient wrt y_pred finite; {SEARCHED}"


@needs_tf
def test_metric_subclass_with_state(tf_run):
    record = tf_run[1]["BinaryPrecision"]
    assert record["status"] == "confirmed"
    # tp / (tp + fp) on fresh variables: 0 / 0.
    assert record["counterexample"] == {"dtype": "float32", "inputs": {}, "failure": "nan result before any update"}
    twin = tf_run[1]["SafeBinaryPrecision"]
    assert twin["status"] == "not-reproduced"
    assert searched(twin["message"]) == f"finite result on 312 cases ({NOT_REPRODUCED_TF}); {SEARCHED}"


@needs_tf
def test_metric_subclass_needing_arguments_skipped(tf_run):
    record = tf_run[1]["ThresholdedRecall"]
    assert record["status"] == "skipped"
    assert record["message"] == (
        "cannot instantiate `ThresholdedRecall()` without arguments "
        "(TypeError: ThresholdedRecall.__init__() missing 1 required positional argument: 'threshold'); give them in `lint_eps_inputs()`"
    )


@needs_tf
def test_eps202_findings_confirmed_and_fix_removes_them():
    """Through the linter: EPS202 flags log(sigmoid(logits)); logits of +1e2 make the loss inf, and the fixed
    source (log_sigmoid) is finite on the same inputs."""
    result = verify("--select", "EPS202", "--fixed", "--output-format", "json", f"{FIXTURES}/tf_losses.py")
    assert result.returncode == 0, result.stderr  # with --fixed, the exit code follows the fixed source
    records = json.loads(result.stdout)
    assert [(r["code"], r["location"]["row"], r["location"]["column"]) for r in records] == [("EPS202", 9, 37), ("EPS202", 9, 88)]
    # Each finding gets the first case that breaks its own expression. y_true = 0, logits = -1e2: sigmoid
    # underflows to 0, log(0) = -inf, and 0 * -inf = NaN. Logits = +1e2: sigmoid rounds to 1, log(1 - 1) = -inf,
    # and its gradient is inf * 0 = NaN.
    first, second = records
    assert first["counterexample"] == {
        "dtype": "float32",
        "inputs": {"y_true": {"shape": [1], "values": "zeros"}, "logits": {"shape": [1], "values": "-1e2"}},
        "failure": "nan output; nan gradient wrt logits",
        "evidence": "`tf.math.log(tf.sigmoid(logits))` is -inf",
    }
    assert second["counterexample"] == {
        "dtype": "float32",
        "inputs": {"y_true": {"shape": [1], "values": "zeros"}, "logits": {"shape": [1], "values": "+1e2"}},
        "failure": "inf output; nan gradient wrt logits",
        "evidence": "`tf.math.log(1.0 - tf.sigmoid(logits))` is -inf",
    }
    for record in records:
        assert record["function"] == f"{FIXTURES}/tf_losses.py::bce_from_logits"
        assert record["status"] == "confirmed"
        assert record["fixed"]["status"] == "not-reproduced"
        assert searched(record["fixed"]["message"]) == f"finite output on 260 cases ({NOT_REPRODUCED_TF}); gradient wrt logits finite; {SEARCHED}; no precision floor for a = 0..40"


# -- NumPy, missing frameworks, broken modules ---------------------------------------------------------------
@pytest.fixture(scope="module")
def numpy_run() -> tuple[subprocess.CompletedProcess[str], dict[str, dict[str, Any]]]:
    if importlib.util.find_spec("numpy") is None:
        pytest.skip("numpy is not installed (pip install 'lint-eps[verify]')")
    names = spec("np_metrics.py", "precision_score", "precision_score_safe", "f1_from_counts", "log_loss", "log_loss_float64", "make_ratio_loss.ratio_loss")
    result = verify("--output-format", "json", *names, *spec("broken_import.py", "accuracy"), *spec("torch_loss.py", "soft_dice_loss"))
    return result, by_function(json.loads(result.stdout))


@needs_numpy
def test_numpy_metric_and_guarded_twin(numpy_run):
    result, records = numpy_run
    assert result.returncode == 1
    record = records["precision_score"]
    assert record["status"] == "confirmed"
    # No predicted positives: tp + fp = 0, and 0 / 0 is NaN.
    assert record["counterexample"] == {
        "dtype": "float32",
        "inputs": {"y_true": {"shape": [1], "values": "zeros"}, "y_pred": {"shape": [1], "values": "0"}},
        "failure": "nan output",
    }
    twin = records["precision_score_safe"]
    assert twin["status"] == "not-reproduced"
    assert searched(twin["message"]) == f"finite output on 234 cases (float32, float64, float16; shapes (1,), (1, 4), (8,), (8, 4)); gradient not checked: NumPy has no autodiff; {SEARCHED}"


@needs_numpy
def test_count_parameters_are_filled_with_zero(numpy_run):
    record = numpy_run[1]["f1_from_counts"]
    assert record["status"] == "confirmed"
    assert record["message"] == "nan output with tp = 0 (scalar), fp = 0 (scalar), fn = 0 (scalar) in float32"


@needs_numpy
def test_numpy_log_loss_clip_too_small_for_float32(numpy_run):
    # clip(1, 1e-15, 1 - 1e-15) is 1 in float32, so log(1 - p) = -inf for a wrong-label prediction of 1.
    record = numpy_run[1]["log_loss"]
    assert record["status"] == "confirmed"
    assert record["counterexample"]["failure"] == "inf output"
    assert record["counterexample"]["inputs"] == {"y_true": {"shape": [1], "values": "zeros"}, "y_pred": {"shape": [1], "values": "1"}}
    # Computing in float64 removes the inf, but float32 probabilities still floor the loss near 1e-15.
    floored = numpy_run[1]["log_loss_float64"]
    assert floored["status"] == "confirmed"
    assert floored["counterexample"]["failure"] == "loss floor 9.99e-16 from a = 15"


@needs_numpy
def test_nested_function_built_by_its_factory(numpy_run):
    record = numpy_run[1]["make_ratio_loss.<locals>.ratio_loss"]
    assert record["status"] == "confirmed"
    assert record["counterexample"]["failure"] == "nan output"  # 0 / (0 + 0.0)


@needs_numpy
def test_import_failure_reported_for_the_function(numpy_run):
    record = numpy_run[1]["accuracy"]
    assert record["status"] == "error"
    assert record["message"] == "cannot import the module: ModuleNotFoundError: No module named 'lint_eps_fixture_package_that_does_not_exist'"


@needs_numpy
def test_torch_adapter(numpy_run):
    record = numpy_run[1]["soft_dice_loss"]
    if importlib.util.find_spec("torch") is None:
        assert record["status"] == "skipped"
        assert record["message"] == "PyTorch adapter: `torch` is not installed (pip install torch)"
    else:  # 0 / 0 with all-zero targets and predictions
        assert record["status"] == "confirmed"
        assert record["counterexample"]["failure"].startswith("nan output")


@needs_numpy
def test_hang_exit_kill_and_allocation_are_contained():
    names = spec("misbehaving.py", "hanging_loss", "exiting_metric", "killing_loss", "hoarding_loss", "chatty_mae")
    result = verify("--timeout", "3", "--memory-limit", "2048", *names)
    assert result.returncode == 0  # nothing confirmed
    assert "Traceback" not in result.stderr
    # What the user's code prints stays in the worker.
    assert "importing misbehaving.py" not in result.stdout + result.stderr
    assert "mean absolute error" not in result.stdout + result.stderr
    path = f"{FIXTURES}/misbehaving.py"
    assert [searched(line) for line in result.stdout.splitlines()] == [
        f"{path}:12:1: {path}::hanging_loss: timeout: did not finish within 3 s",
        f"{path}:17:1: {path}::exiting_metric: error: the function called sys.exit(3)",
        f"{path}:21:1: {path}::killing_loss: error: the worker process was killed by SIGKILL while running this function",
        f"{path}:25:1: {path}::hoarding_loss: error: MemoryError: Unable to allocate 256. MiB for an array with shape (268435456,) and data type uint8",
        f"{path}:31:1: {path}::chatty_mae: not-reproduced: finite output on 234 cases (float32, float64, float16; shapes (1,), (1, 4), (8,), (8, 4)); "
        f"gradient not checked: NumPy has no autodiff; {SEARCHED}; precision floor not checked: not a binary cross-entropy",
        "Verified 5 findings: 1 not-reproduced, 3 error, 1 timeout.",
    ]


# -- usage and target resolution (no worker) ---------------------------------------------------------------
def test_usage_errors_exit_2_without_traceback():
    missing = verify(f"{FIXTURES}/no_such_file.py")
    assert missing.returncode == 2
    assert missing.stderr == f"lint-eps: error: path does not exist: {FIXTURES}/no_such_file.py\n"
    unknown = verify(f"{FIXTURES}/np_metrics.py::recall_score")
    assert unknown.returncode == 2
    assert unknown.stderr == f"lint-eps: error: no function or class `recall_score` in {FIXTURES}/np_metrics.py\n"
    bad_timeout = verify("--timeout", "0", f"{FIXTURES}/np_metrics.py::log_loss")
    assert bad_timeout.returncode == 2
    assert "Traceback" not in missing.stderr + unknown.stderr + bad_timeout.stderr


def test_nothing_to_verify(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n", encoding="utf-8")
    (tmp_path / "clean.py").write_text("def add(a, b):\n    return a + b\n", encoding="utf-8")
    result = verify(str(tmp_path))
    assert result.returncode == 0
    assert result.stdout == "Nothing to verify.\n"


def test_findings_map_to_the_enclosing_callable(tmp_path: Path):
    source = tmp_path / "model.py"
    source.write_text(
        textwrap.dedent(
            """\
            import keras
            import numpy as np

            SCALE = np.log(2.0)


            class Precision(keras.metrics.Metric):
                def result(self):
                    return self.tp / (self.tp + self.fp)


            def make_loss(eps=0.0):
                def loss(y_true, y_pred):
                    return np.mean(y_true / (y_pred + eps))

                return loss


            async def evaluate(y_true, y_pred):
                return y_true / y_pred
            """
        ),
        encoding="utf-8",
    )
    resolver = FindingResolver()
    module_level = resolver.resolve(str(source), 4, 9)
    assert (module_level.function, module_level.skip) == (None, "not inside a function or class")
    method = resolver.resolve(str(source), 9, 16)
    assert (method.function, method.kind, method.method, method.framework) == (f"{source}::Precision", "class", "result", "tensorflow")
    nested = resolver.resolve(str(source), 14, 16)
    assert (nested.function, nested.kind, nested.attr, nested.inner, nested.role) == (f"{source}::make_loss.<locals>.loss", "factory", "make_loss", "loss", "loss")
    coroutine = resolver.resolve(str(source), 20, 12)
    assert coroutine.skip == "`evaluate` is an async function"
    assert resolve_spec(str(source), "Precision.result").function == f"{source}::Precision"
    assert resolve_spec(str(source), "make_loss.loss").kind == "factory"
    with pytest.raises(TargetError, match="no function or class `Recall`"):
        resolve_spec(str(source), "Recall")


def test_static_linter_does_not_import_the_verifier_or_frameworks():
    code = "import sys, lint_eps.cli, lint_eps.runner; print(sorted(m for m in ('tensorflow', 'numpy', 'lint_eps.verifier') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- one counterexample per finding (issue #10, item 4) ------------------------------------------------------
@needs_numpy
def test_each_finding_gets_the_case_that_breaks_its_own_expression():
    """balanced_accuracy divides tp / pos and tn / neg: all-zero labels break the first (pos = 0) and leave
    tn / neg = 1; the second needs all-one labels (neg = 0)."""
    result = verify("--output-format", "json", "examples/numpy_eval.py")
    assert result.returncode == 1, result.stderr
    records = {(r["location"]["row"], r["location"]["column"]): r for r in json.loads(result.stdout)}
    tp_pos, tn_neg = records[17, 19], records[17, 30]
    assert tp_pos["status"] == tn_neg["status"] == "confirmed"
    assert tp_pos["counterexample"] == {
        "dtype": "float32",
        "inputs": {"y_true": {"shape": [1], "values": "zeros"}, "y_pred": {"shape": [1], "values": "0"}},
        "failure": "nan output",
        "evidence": "`tp / pos` is nan",
    }
    assert tn_neg["counterexample"] == {
        "dtype": "float32",
        "inputs": {"y_true": {"shape": [1], "values": "ones"}, "y_pred": {"shape": [1], "values": "0"}},
        "failure": "nan output",
        "evidence": "`tn / neg` is nan",
    }
    assert tn_neg["message"] == "nan output with y_true = ones (1,), y_pred = 0 (1,) in float32; `tn / neg` is nan there"


@needs_numpy
def test_finding_is_confirmed_only_by_a_case_that_breaks_its_own_expression(tmp_path: Path):
    """f1_score fails on the grid (precision = 0 / 0 on empty predictions), which does not confirm the last
    division: that needs precision + recall = 0 with both finite, no positive predicted right (tp = 0) while
    both sums are non-zero. No grid case has that; the search finds one and shrinks it."""
    source = tmp_path / "metrics.py"
    source.write_text(
        textwrap.dedent(
            """\
            import numpy as np


            def f1_score(y_true, y_pred):
                tp = np.sum(y_true * y_pred)
                precision = tp / np.sum(y_pred)
                recall = tp / np.sum(y_true)
                return 2 * precision * recall / (precision + recall)
            """
        ),
        encoding="utf-8",
    )
    result = verify("--output-format", "json", str(source))
    assert result.returncode == 1, result.stderr
    records = {r["location"]["row"]: r for r in json.loads(result.stdout)}
    assert sorted(records) == [6, 7, 8]
    assert records[6]["status"] == records[7]["status"] == "confirmed"
    assert records[6]["counterexample"]["evidence"] == "`tp / np.sum(y_pred)` is nan"
    assert records[7]["counterexample"]["evidence"] == "`tp / np.sum(y_true)` is nan"
    last = records[8]
    assert last["status"] == "confirmed"
    assert last["counterexample"]["evidence"] == "`2 * precision * recall / (precision + recall)` is nan"
    inputs = last["counterexample"]["inputs"]
    y_true = json.loads(inputs["y_true"]["values"].removeprefix("searched "))
    y_pred = json.loads(inputs["y_pred"]["values"].removeprefix("searched "))
    flat_true, flat_pred = sum(y_true, []), sum(y_pred, [])
    assert sum(t * p for t, p in zip(flat_true, flat_pred)) == 0 and sum(flat_true) > 0 and sum(flat_pred) > 0


# -- the framework of the function, not of the module (issue #10, item 5) -------------------------------------
JAX_MODULE = f"{FIXTURES}/jax_losses.py"


def test_framework_comes_from_the_names_the_function_uses():
    resolver = FindingResolver()
    assert resolver.resolve(JAX_MODULE, 11, 30).framework == "jax"  # jnp.log in stable_nll
    assert resolver.resolve(JAX_MODULE, 16, 31).framework == "jax"  # jax.nn.sigmoid in sigmoid_bce
    assert resolver.resolve(JAX_MODULE, 22, 34).framework == "tensorflow"  # keras.ops in ClippedBCE
    assert resolve_spec(JAX_MODULE, "ClippedBCE").framework == "tensorflow"


@needs_tf
def test_jax_functions_get_jax_arrays_in_a_module_that_imports_keras():
    result = verify("--output-format", "json", JAX_MODULE, f"{JAX_MODULE}::ClippedBCE")
    records = json.loads(result.stdout)
    assert "TypeError" not in result.stdout + result.stderr
    findings = {(r["location"]["row"], r["location"]["column"]): r for r in records if r["code"]}
    assert sorted(findings) == [(11, 30), (16, 31), (16, 59)]
    keras_class = next(r for r in records if r["code"] is None)
    if importlib.util.find_spec("jax") is None:
        for record in findings.values():
            assert record["status"] == "skipped"
            assert record["message"] == "JAX adapter: `jax` is not installed (pip install jax)"
        assert keras_class["message"] == "JAX adapter: `jax` is not installed, so the module cannot be imported"
        return
    assert result.returncode == 1, result.stderr
    nll = findings[11, 30]
    assert nll["status"] == "confirmed"
    # 1e-10 + 1 is 1 in float32, so probs = 1 gives log(0) = -inf, times 1 - labels = 1.
    assert nll["counterexample"] == {
        "dtype": "float32",
        "inputs": {"labels": {"shape": [1], "values": "zeros"}, "probs": {"shape": [1], "values": "1"}},
        "failure": "inf output; inf gradient wrt probs",
        "evidence": "`1e-10 + 1 - probs` is 0",
    }
    assert findings[16, 31]["counterexample"]["evidence"] == "`jnp.log(p)` is -inf"
    assert findings[16, 31]["counterexample"]["inputs"]["logits"] == {"shape": [1], "values": "-1e2"}
    assert findings[16, 59]["counterexample"]["evidence"] == "`jnp.log(1 - p)` is -inf"
    assert findings[16, 59]["counterexample"]["inputs"]["logits"] == {"shape": [1], "values": "+1e2"}
    # The Keras loss in the same module still gets TensorFlow tensors (and has Keras's 1e-7 floor).
    assert keras_class["status"] == "confirmed"
    assert keras_class["counterexample"]["failure"] == "loss floor 1.19e-07 from a = 15"


# -- bad input (issue #10, item 8) -------------------------------------------------------------------------------
@needs_numpy
def test_unparsable_file_is_named_and_exits_2(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n", encoding="utf-8")
    (tmp_path / "broken.py").write_text("def dice(y_true, y_pred:\n    return 1\n", encoding="utf-8")
    (tmp_path / "metrics.py").write_text(
        "import numpy as np\n\n\ndef precision(y_true, y_pred):\n    return np.sum(y_true * y_pred) / np.sum(y_pred)\n", encoding="utf-8"
    )
    result = verify(str(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (error,) = result.stderr.splitlines()
    assert error.startswith(f"lint-eps: error: {tmp_path / 'broken.py'}:1:")
    assert error.endswith("(nothing in this file was verified)")
    # The other file is still verified.
    assert f"{tmp_path / 'metrics.py'}::precision: confirmed: nan output" in result.stdout


# -- the dtypes the code computes in (issue #10, item 10) ---------------------------------------------------------
LOG_LOSS = """\
import numpy as np
{extra}

def log_loss(y_true, y_prob):
    return float(-np.mean(y_true * np.log(y_prob) + (1 - y_true) * np.log(1 - y_prob)))
"""


@pytest.fixture(scope="module")
def dtype_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[subprocess.CompletedProcess[str], dict[str, Any]]]:
    """`verify --fixed` of log(1 - p): the clip fix to [1e-7, 1 - 1e-7] still fails in float16, where
    1 - 1e-7 rounds to 1. Plain float32 code, the same with --dtypes, and code that stores float16."""
    if importlib.util.find_spec("numpy") is None:
        pytest.skip("numpy is not installed (pip install 'lint-eps[verify]')")
    folder = tmp_path_factory.mktemp("dtypes")
    plain = folder / "plain.py"
    plain.write_text(LOG_LOSS.format(extra=""), encoding="utf-8")
    half = folder / "half.py"
    half.write_text(LOG_LOSS.format(extra="\n\ndef to_storage(probs):\n    return probs.astype(np.float16)\n"), encoding="utf-8")
    runs = {}
    for name, args in {"plain": [str(plain)], "flag": ["--dtypes", "float32,float16", str(plain)], "half": [str(half)]}.items():
        result = verify("--fixed", "--select", "EPS201", "--output-format", "json", *args)
        runs[name] = (result, next(r for r in json.loads(result.stdout) if r["location"]["column"] == 68))  # np.log(1 - y_prob)
    return runs


@needs_numpy
def test_failure_only_in_an_unused_dtype_is_not_confirmed(dtype_runs):
    result, record = dtype_runs["plain"]
    assert result.returncode == 0, result.stderr
    assert record["status"] == "confirmed"  # before the fix: y_prob = 1 in float32
    assert record["fixed"]["status"] == "unused-dtype"
    assert record["fixed"]["counterexample"]["dtype"] == "float16"
    assert record["fixed"]["message"].startswith(
        "only in float16, which this code does not compute in (--dtypes float16 counts it): inf output with y_true = zeros (1,), y_prob = 1 (1,) in float16"
    )


@needs_numpy
@pytest.mark.parametrize("run", ["flag", "half"])
def test_failure_in_a_dtype_the_code_uses_is_confirmed(dtype_runs, run):
    result, record = dtype_runs[run]
    assert result.returncode == 1, result.stderr
    assert record["fixed"]["status"] == "confirmed"
    assert record["fixed"]["message"].startswith("inf output with y_true = zeros (1,), y_prob = 1 (1,) in float16")


def test_unknown_dtype_is_a_usage_error():
    result = verify("--dtypes", "float32,float8", f"{FIXTURES}/np_metrics.py::log_loss")
    assert result.returncode == 2
    assert result.stderr == "lint-eps: error: --dtypes: unknown dtype 'float8'; expected some of float32, float64, float16, bfloat16\n"


@needs_numpy
def test_readme_verifier_example_is_the_real_output():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = "$ lint-eps verify examples/numpy_eval.py\n"
    shown = readme[readme.index(command) + len(command) :].split("```", 1)[0]
    result = verify("examples/numpy_eval.py")
    assert result.returncode == 1, result.stderr
    assert result.stdout == shown


@needs_tf
def test_overflow_family_is_confirmed_with_large_logits_and_the_fixes_are_clean():
    """EPS501-EPS503 (issue 13): each hand-written form is confirmed on its own expression with logits of ±1e2,
    and where a fix exists (the framework's softmax and softplus), the fixed source is finite on every case."""
    result = verify("--select", "EPS5", "--fixed", "--output-format", "json", f"{FIXTURES}/overflow_forms.py")
    records = {r["code"]: r for r in json.loads(result.stdout)}
    assert set(records) == {"EPS501", "EPS502", "EPS503"}, result.stderr
    for code, record in records.items():
        assert record["status"] == "confirmed", record
        assert "1e2" in json.dumps(record["counterexample"]["inputs"]), record
    assert records["EPS502"]["counterexample"]["evidence"] == "`np.log(np.sum(np.exp(logits), axis=-1))` is inf"
    assert records["EPS503"]["counterexample"]["evidence"] == "`tf.math.log(1 + tf.exp(visible_logits))` is inf"
    assert records["EPS501"]["fixed"]["status"] == "not-reproduced"
    assert records["EPS503"]["fixed"]["status"] == "not-reproduced"
    assert records["EPS502"]["fixed"]["status"] == "confirmed"  # NumPy code without scipy imported: no fix to apply


@needs_numpy
def test_a_function_defined_in_a_notebook_cell(tmp_path: Path):
    """`verify nb.ipynb::fn` runs the notebook's code cells as a module (IPython lines do nothing; the markdown is
    not code), and `verify nb.ipynb` finds each finding's function from its cell."""
    nbformat = pytest.importorskip("nbformat", reason="the test writes a real notebook with nbformat")
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    notebook = new_notebook(
        cells=[
            new_markdown_cell("# Evaluation"),
            new_code_cell("%matplotlib inline\n!pip install -q numpy\nimport numpy as np"),
            new_code_cell("%%time\nraise SystemExit('a cell magic is not run')"),
            new_code_cell(
                "def balanced_accuracy(y_true, y_pred):\n"
                "    tp = np.sum((y_true == 1) & (y_pred == 1))\n"
                "    tn = np.sum((y_true == 0) & (y_pred == 0))\n"
                "    pos = np.sum(y_true == 1)\n"
                "    neg = np.sum(y_true == 0)\n"
                "    return 0.5 * (tp / pos + tn / neg)"
            ),
        ]
    )
    path = tmp_path / "eval.ipynb"
    nbformat.write(notebook, str(path))
    one = verify("--output-format", "json", f"{path}::balanced_accuracy")
    assert one.returncode == 1, one.stdout + one.stderr
    (record,) = json.loads(one.stdout)
    assert record["status"] == "confirmed" and record["function"] == f"{path}::balanced_accuracy"

    every = verify("--output-format", "json", str(path))
    assert every.returncode == 1, every.stdout + every.stderr
    evidence = sorted((r["function"].split("::")[1], r["status"], r["counterexample"]["evidence"]) for r in json.loads(every.stdout))
    assert evidence == [
        ("balanced_accuracy", "confirmed", "`tn / neg` is nan"),
        ("balanced_accuracy", "confirmed", "`tp / pos` is nan"),
    ]
    # Each finding is shown where the linter shows it: in its cell (the fourth; row 6 of that cell).
    assert sorted((r["location"]["cell"], r["location"]["row"], r["location"]["column"]) for r in json.loads(every.stdout)) == [(4, 6, 19), (4, 6, 30)]
    text = verify(str(path)).stdout
    assert f"{path}:cell 4:6:19: EPS101" in text and f"{path}:cell 4:6:30: EPS101" in text

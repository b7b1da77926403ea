"""`lint-eps verify` on every framework, on inputs beyond `(y_true, y_pred)` and on global settings (issue 14).

The project's own examples are the realistic code: one run of `verify --fixed` over examples/ runs real PyTorch
modules and functions, JAX and optax functions, Keras functions, a Keras layer under a mixed-precision policy,
NumPy metrics of a confusion matrix, and the module-level `set_epsilon`. Expected failures were derived by hand
from the example code (see the comments) and then checked against the run.
"""

from __future__ import annotations

import importlib.util
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from test_verifier import verify

HAS_ALL = all(importlib.util.find_spec(m) is not None for m in ("tensorflow", "torch", "jax", "optax", "hypothesis"))
needs_all = pytest.mark.skipif(not HAS_ALL, reason="needs the test extra: tensorflow, torch, jax, optax, hypothesis (pip install -e '.[test]')")
# Findings about a model and its loss (EPS301-EPS303), a training step that takes a model and an optimizer, and
# the gradient claims of EPS504/EPS505: verified by the model-level and gradient checks (models.py,
# gradients.py), not by feeding a function edge cases.
MODEL_LEVEL = {
    ("examples/jax_mixed_precision.py", 21),  # optax_loss: EPS301, sigmoid probabilities fed to a logits loss
    ("examples/keras_segmentation.py", 63),  # build_classifier: EPS302
    ("examples/keras_segmentation.py", 72),  # build_segmenter: EPS301
    ("examples/torch_training.py", 45),  # train_step(model, batch, optimizer): EPS301
    ("examples/torch_training.py", 55),  # train_step_multiclass(model, batch, optimizer): EPS202
    ("examples/torch_energy_models.py", 52),  # SiameseDistance: EPS505, a NaN gradient of sqrt at 0
    ("examples/torch_energy_models.py", 37),  # RBM.sample_hidden: EPS504, decided by the gradient checks
}


@pytest.fixture(scope="module")
def examples() -> dict[tuple[str, int, int, str], dict[str, Any]]:
    if not HAS_ALL:
        pytest.skip("needs the test extra: tensorflow, torch, jax, optax, hypothesis (pip install -e '.[test]')")
    # JAX compiles every primitive again for each new shape and dtype (op by op, for the probes): a loaded machine
    # needs more than the default 20 s for a JAX function.
    result = verify("--fixed", "--timeout", "60", "--output-format", "json", "examples/")
    assert "Traceback" not in result.stderr, result.stderr
    return {(r["filename"], r["location"]["row"], r["location"]["column"], r["code"]): r for r in json.loads(result.stdout)}


@needs_all
def test_every_example_finding_outside_the_model_level_ones_is_run(examples):
    for (filename, row, _, _), record in examples.items():
        if (filename, row) in MODEL_LEVEL:
            continue
        assert record["status"] == "confirmed", record


@needs_all
def test_torch_modules_are_built_and_called(examples):
    # SelfAttention(dim=4): scores of x = 1e2 overflow exp, and inf / inf is NaN.
    attention = examples["examples/torch_energy_models.py", 16, 19, "EPS501"]
    assert attention["counterexample"]["inputs"] == {"x": {"shape": [1, 4], "values": "+1e2"}}
    assert attention["counterexample"]["evidence"].endswith("is nan")
    # RBM(visible=4, hidden=4).free_energy(v): its weights are 0.01 * randn (seeded by the verifier), so it takes
    # v = ±1e4 to overflow.
    rbm = examples["examples/torch_energy_models.py", 33, 23, "EPS503"]
    assert rbm["counterexample"]["inputs"]["v"] in ({"shape": [1, 4], "values": "+1e4"}, {"shape": [1, 4], "values": "-1e4"})
    assert rbm["counterexample"]["evidence"] == "`torch.log(1 + torch.exp(v @ self.W + self.c))` is inf"
    # FocalLoss gathers with its targets: they are class indices (int64), one axis fewer than the logits.
    focal = examples["examples/torch_training.py", 24, 21, "EPS202"]
    assert focal["counterexample"]["inputs"]["target"] == {"shape": [1], "values": "class 0"}
    assert focal["counterexample"]["evidence"] == "`torch.log(probs)` is -inf"
    # Boolean masks: no pixel in either, 0 / 0.
    iou = examples["examples/torch_training.py", 33, 12, "EPS101"]
    assert iou["counterexample"]["inputs"] == {"pred_mask": {"shape": [1], "values": "zeros"}, "true_mask": {"shape": [1], "values": "zeros"}}
    # A where that guards count > 0 still back-propagates 0 / 0 from the untaken branch.
    masked = examples["examples/torch_training.py", 39, 12, "EPS103"]
    assert masked["counterexample"]["failure"] == "nan gradient wrt pred"
    assert masked["counterexample"]["inputs"]["mask"] == {"shape": [1], "values": "zeros"}


@needs_all
def test_jax_params_dict_is_read_from_the_code(examples):
    # sigmoid_bce(params, x, y) reads params["w"] as the right side of `x @`: a (4, 4) matrix.
    record = examples["examples/jax_mixed_precision.py", 12, 49, "EPS202"]
    assert record["counterexample"]["inputs"] == {
        "y": {"shape": [1, 4], "values": "zeros"},
        "params": {"shape": {"w": [4, 4]}, "values": "ones"},
        "x": {"shape": [1, 4], "values": "+1e2"},
    }
    assert record["counterexample"]["evidence"] == "`jnp.log(1 - p)` is -inf"
    assert record["fixed"]["status"] == "not-reproduced"


@needs_all
def test_keras_layer_under_mixed_precision(examples):
    # mixed_float16: the layer computes in float16, where 1 - 1e-7 is 1, so the clip returns 1 and log(0) = -inf.
    record = examples["examples/jax_mixed_precision.py", 29, 13, "EPS403"]
    assert record["counterexample"]["evidence"] == "`keras.ops.clip(p, 1e-7, 1 - 1e-7)` reaches 1"
    assert record["counterexample"]["failure"].startswith("inf output")


@needs_all
def test_confusion_matrix_with_an_empty_class(examples):
    record = examples["examples/numpy_eval.py", 9, 26, "EPS101"]
    assert record["counterexample"]["inputs"] == {"confusion": {"shape": [4, 4], "values": "zeros"}}
    assert record["counterexample"]["evidence"] == "`intersection / union` is nan"


@needs_all
def test_module_level_epsilon_changes_keras_losses(examples):
    # K.set_epsilon(1e-12): 1 - 1e-12 is 1 in float32, so the clip lets p = 1 through: 0 * log(0) = NaN.
    bad_value = examples["examples/keras_segmentation.py", 13, 1, "EPS401"]
    assert bad_value["function"] is None
    assert bad_value["message"].startswith(
        "with epsilon = 1e-12: binary_crossentropy(y_true=1, y_pred=1) is nan (with the default 1e-07: 1.19e-07); "
        "binary_crossentropy(y_true=0, y_pred=1) is inf (with the default 1e-07: 15.9)"
    )
    assert bad_value["counterexample"]["failure"] == "nan binary_crossentropy"
    import_time = examples["examples/keras_segmentation.py", 13, 1, "EPS402"]
    assert import_time["status"] == "confirmed"
    assert import_time["message"].startswith("importing the module changes keras.config.epsilon() from 1e-07 to 1e-12 for the whole process; ")


@needs_all
def test_assigned_setter_changes_nothing_and_breaks_the_setter(examples):
    record = examples["examples/keras_segmentation.py", 52, 5, "EPS404"]
    assert record["status"] == "confirmed"
    assert record["message"] == (
        "after `use_half_precision_epsilon()`, keras.config.epsilon() is still 1e-12, not the 0.0001 assigned; "
        "`tf.keras.backend.set_epsilon` is now a float, so a later `tf.keras.backend.set_epsilon(...)` raises "
        "TypeError: 'float' object is not callable"
    )
    assert record["fixed"]["status"] == "not-reproduced"  # the fix calls it


@needs_all
def test_fixed_source_is_clean_wherever_a_fix_applies(examples):
    for key, record in examples.items():
        if key[:2] in MODEL_LEVEL:
            continue
        fixed = record["fixed"]
        if key == ("examples/jax_mixed_precision.py", 16, 30, "EPS403"):
            # The fix moves 1e-10 after the subtraction: finite in float32, but 1e-10 is 0 in float16, which this
            # module computes in (mixed_float16), so log(0) stays.
            assert fixed["status"] == "confirmed", fixed
            assert fixed["counterexample"]["dtype"] == "float16"
            continue
        # Clean, or failing only in float16 where this code does not compute (clip bounds of 1e-7).
        assert fixed["status"] in ("not-reproduced", "unused-dtype"), (key, fixed)


@needs_all
def test_optax_loss_on_jax_arrays():
    result = verify("--timeout", "60", "--output-format", "json", "tests/fixtures/verify/jax_optax.py")
    (record,) = json.loads(result.stdout)
    assert result.returncode == 1, result.stderr
    # No positive label: the average over positives is 0 / 0.
    assert record["status"] == "confirmed"
    assert record["counterexample"]["inputs"]["labels"] == {"shape": [1], "values": "zeros"}
    assert record["counterexample"]["failure"].startswith("nan output")


@needs_all
def test_hypothesis_finds_and_shrinks_what_the_grid_misses(tmp_path: Path):
    """Cohen's kappa, guarded against an empty matrix, still divides by zero when every sample is in one cell
    (expected agreement 1). No fixed confusion matrix has that; the search finds one and shrinks it to a 1."""
    source = tmp_path / "agreement.py"
    source.write_text(
        textwrap.dedent(
            """\
            import numpy as np


            def cohen_kappa(confusion):
                total = confusion.sum()
                if total == 0:
                    return 0.0
                observed = np.trace(confusion) / total
                expected = np.sum(confusion.sum(axis=0) * confusion.sum(axis=1)) / total**2
                return (observed - expected) / (1 - expected)
            """
        ),
        encoding="utf-8",
    )
    result = verify("--output-format", "json", str(source))
    (record,) = json.loads(result.stdout)
    assert record["status"] == "confirmed", record
    values = record["counterexample"]["inputs"]["confusion"]["values"]
    assert values.startswith("searched [[")
    assert values.count("1") == 1 and set(values.replace("searched", "")) <= set("[], 01"), values
    assert record["counterexample"]["evidence"] == "`(observed - expected) / (1 - expected)` is nan"


@needs_all
def test_inputs_given_next_to_the_code():
    result = verify("--output-format", "json", "tests/fixtures/verify/given_inputs.py")
    records = json.loads(result.stdout)
    assert [r["status"] for r in records] == ["confirmed", "confirmed"], records
    assert records[0]["counterexample"]["inputs"] == {"y_true": {"shape": [1], "values": "zeros"}, "y_prob": {"shape": [1], "values": "0"}}


@needs_all
def test_inputs_function_that_raises_is_reported(tmp_path: Path):
    source = tmp_path / "broken_inputs.py"
    source.write_text("import numpy as np\n\n\ndef ratio(y_true, y_pred):\n    return np.sum(y_true) / np.sum(y_pred)\n\n\ndef lint_eps_inputs():\n    return 1 / 0\n", encoding="utf-8")
    result = verify("--output-format", "json", str(source))
    (record,) = json.loads(result.stdout)
    assert record["status"] == "error"
    assert record["message"] == "`lint_eps_inputs()` raised ZeroDivisionError: division by zero"


@needs_all
def test_readme_shows_the_examples_run(examples):
    """The README's `lint-eps verify examples/` block is that run: every line of a finding this verifier decides
    is the text form of its record (the model-level lines are the model-level checks' to keep)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    command = "$ lint-eps verify examples/\n"
    shown = readme[readme.index(command) + len(command) :].split("```", 1)[0].splitlines()
    for (filename, row, column, code), record in examples.items():
        if (filename, row) in MODEL_LEVEL:
            continue
        line = f"{filename}:{row}:{column}: {code} {record['function'] or '(module level)'}: {record['status']}: {record['message']}"
        assert line in shown, line
    assert shown[-1].startswith(f"Verified {len(examples)} findings: ")

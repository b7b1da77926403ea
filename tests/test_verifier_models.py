"""`lint-eps verify` on model-level findings (EPS301-EPS303: the model is built and its loss compared with the
exact loss of its logits) and on gradient findings (EPS504/EPS505: the gradient is NaN where the value is fine).

The numbers are those of ../shared/reference/measured-behaviour.md, measured on keras 3.15.1 / TF 2.21 and torch
2.13: a linear head under `"binary_crossentropy"` reports 1.1921e-07 where the loss of its logits at ±5 is
0.0067153, with a zero gradient; a double sigmoid reports 0.50578 for the same logits.
"""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import pytest

from test_verifier import FIXTURES, HAS_TF, needs_tf, verify

HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed (pip install torch==2.13.0)")


def records_of(result: Any) -> dict[tuple[str | None, str], dict[str, Any]]:
    """(code, function name) -> record, for the functions of the fixtures."""
    return {(r["code"], r["function"].split("::", 1)[1]): r for r in json.loads(result.stdout) if r["filename"].startswith(FIXTURES)}


# -- Keras models -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def keras_run() -> tuple[Any, dict[tuple[str | None, str], dict[str, Any]]]:
    if not HAS_TF:
        pytest.skip("tensorflow is not installed (pip install 'lint-eps[verify]')")
    result = verify("--fixed", "--output-format", "json", f"{FIXTURES}/keras_models.py", f"{FIXTURES}/keras_models.py::build_linear_head_fixed")
    return result, records_of(result)


@needs_tf
def test_linear_head_reports_the_clip_floor_and_a_zero_gradient(keras_run):
    result, records = keras_run
    assert "Traceback" not in result.stderr
    record = records["EPS302", "build_linear_head"]
    assert record["status"] == "confirmed", record
    assert record["message"].startswith(
        "reported loss 1.1921e-07, exact loss 0.0067153 at logits ±5 (labels 1/0; the last layer `score` set to output them, float32); "
        "gradient wrt the last layer's kernel is 0 (exact loss: max |g| "
    )
    assert record["message"].endswith("model built by build_linear_head()")
    assert record["counterexample"]["failure"] == "reported loss 1.1921e-07, exact loss 0.0067153"
    assert record["counterexample"]["inputs"]["x"] == {"shape": [2, 32], "values": "random normal"}
    # The fix (BinaryCrossentropy(from_logits=True)) makes the reported loss the exact one.
    assert record["fixed"]["status"] == "not-reproduced"
    assert "(0.0067153 = 0.0067153 at ±5;" in record["fixed"]["message"]


@needs_tf
def test_builder_arguments_come_from_its_signature(keras_run):
    record = keras_run[1]["EPS302", "build_tagger"]
    assert record["status"] == "confirmed", record
    # Three classes, logits (5, 0, 0), label 0: the exact loss is log(1 + 2 exp(-5)).
    assert record["message"].startswith("reported loss 1.1921e-07, exact loss 0.013386 at logits ±5 (label 0 of 3;")
    assert record["message"].endswith("model built by build_tagger(input_shape=(16,))")
    assert record["fixed"]["status"] == "not-reproduced"


@needs_tf
def test_sigmoid_head_with_from_logits_is_recovered_by_keras_on_tensorflow(keras_run):
    record = keras_run[1]["EPS301", "build_sigmoid_head"]
    assert record["status"] == "not-reproduced", record
    assert "(0.0067153 = 0.0067153 at ±5; labels 1/0; the last layer `conv2d" in record["message"]
    assert "received `from_logits=True`, but the `output` argument was produced by a Sigmoid activation" in record["message"]
    assert "Keras 3 on TensorFlow reads back (not on the JAX or torch backends)" in record["message"]


@needs_tf
def test_a_named_builder_without_findings_is_checked_too(keras_run):
    record = keras_run[1][None, "build_linear_head_fixed"]
    assert record["status"] == "not-reproduced", record
    assert record["message"].startswith(
        "reported loss equals the exact loss from the logits at ±5, ±10, ±20, ±30, with right and with wrong labels (0.0067153 = 0.0067153 at ±5;"
    )


@needs_tf
def test_a_builder_that_never_finishes_is_a_timeout():
    result = verify("--timeout", "2", f"{FIXTURES}/slow_model.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{FIXTURES}/slow_model.py:12:42: EPS302 {FIXTURES}/slow_model.py::build_slowly: timeout: did not finish within 2 s",
        "Verified 1 finding: 1 timeout.",
    ]


# -- gradients ----------------------------------------------------------------------------------------------
@needs_tf
def test_gradient_findings_are_confirmed_at_large_logits_and_coincident_inputs_and_the_fixes_are_clean():
    result = verify("--fixed", "--output-format", "json", f"{FIXTURES}/gradient_forms.py")
    records = records_of(result)
    assert result.returncode == 0, result.stderr  # the fixed source decides the exit code
    sigmoid = records["EPS504", "swish_gate"]
    assert sigmoid["status"] == "confirmed", sigmoid
    assert sigmoid["message"] == "gradient is nan at x = -100 (4,) in float32 (the output is finite); `1.0 / (1.0 + tf.exp(-x))` makes inf there"
    assert sigmoid["counterexample"] == {
        "dtype": "float32",
        "inputs": {"x": {"shape": [4], "values": "-100"}},
        "failure": "nan gradient wrt x",
        "evidence": "`1.0 / (1.0 + tf.exp(-x))` makes inf",
    }
    assert sigmoid["fixed"]["status"] == "not-reproduced"
    # The fixed sigmoid never overflows at ±100, so the check goes on to ±1e4 before calling it clean.
    assert sigmoid["fixed"]["message"].startswith("gradient finite on 6 cases (logits ±100 and ±1e4, float32, shape (4,))")
    root = records["EPS505", "contrastive_loss"]
    assert root["status"] == "confirmed", root
    assert root["message"].startswith("gradient is nan at anchor = positive (coincident, random normal (4,)) in float32 (the output is finite); `tf.sqrt(")
    assert root["message"].endswith("` is 0 there")
    assert root["counterexample"]["inputs"]["positive"] == {"shape": [4], "values": "coincident: one random normal array"}
    assert root["fixed"]["status"] == "not-reproduced"
    assert root["fixed"]["message"].startswith("gradient finite on 2 cases (coincident inputs, float32, shape (4,))")


# -- PyTorch ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def torch_run() -> tuple[Any, dict[tuple[str | None, str], dict[str, Any]]]:
    if not HAS_TORCH:
        pytest.skip("torch is not installed (pip install torch==2.13.0)")
    result = verify(
        "--fixed", "--output-format", "json", "--select", "EPS3,EPS303,EPS5",
        f"{FIXTURES}/torch_models.py", f"{FIXTURES}/torch_models.py::train_step_fixed", "examples/torch_training.py", "examples/torch_energy_models.py",
    )  # fmt: skip
    return result, records_of(result)


@needs_torch
def test_double_sigmoid_in_a_training_step(torch_run):
    result, records = torch_run
    assert "Traceback" not in result.stderr
    record = records["EPS301", "train_step"]
    assert record["status"] == "confirmed", record
    assert record["message"].startswith(
        "reported loss 0.50578, exact loss 0.0067153 (75.3x) at logits ±5 (labels 1/0; a linear head set to output them, float32); "
        "gradient wrt the last layer's kernel max |g| 0.0026 (exact loss: max |g| 0.0067); "
        "train_step(model=Linear head, batch=(x, y), optimizer=SGD(lr=0))"
    )
    assert record["counterexample"]["inputs"] == {
        "x": {"shape": [2, 4], "values": "-1/+1 in feature 0, else 0"},
        "logits": {"shape": [2, 1], "values": "±5 (labels 1/0)"},
    }
    fixed = records[None, "train_step_fixed"]
    assert fixed["status"] == "not-reproduced"
    assert fixed["message"].startswith(
        "reported loss equals the exact loss from the logits at ±5, ±10, ±20, ±30, with right and with wrong labels (0.0067153 = 0.0067153 at ±5;"
    )


@needs_torch
def test_double_softmax_and_saturated_sigmoid_in_training_steps(torch_run):
    records = torch_run[1]
    softmax = records["EPS301", "multiclass_step"]
    assert softmax["status"] == "confirmed", softmax
    # Logits (5, 0, 0, 0), label 0: exact log(1 + 3 exp(-5)); the second softmax keeps the loss near log(4).
    assert softmax["message"].startswith("reported loss 0.75762, exact loss 0.020012 (37.9x) at logits ±5 (label i at class i of 4;")
    assert softmax["counterexample"]["inputs"]["x"] == {"shape": [4, 4], "values": "one-hot rows"}
    saturated = records["EPS303", "train_step_saturating"]
    assert saturated["status"] == "confirmed", saturated
    # Right labels: the float32 with-logits loss rounds the same. Wrong labels at ±20: sigmoid(20) is 1.0 in float32,
    # so the label-0 row's log(1 - p) is clamped at -100 (loss 100, no gradient) where the exact loss is 20.
    assert saturated["message"].startswith(
        "reported loss 60, exact loss 20 (3x) at logits ±20 (labels 0/1: confident mistakes; a linear head set to output them, float32); "
        "gradient wrt the last layer's kernel max |g| 0.5 (exact loss: max |g| 1)"
    )


@needs_torch
def test_a_loss_function_fed_probabilities_reports_the_wrong_loss_and_the_fix_is_exact(torch_run):
    """bce_on_scores(logits, targets) passes sigmoid(logits) to a with-logits loss: finite on every edge case, so the
    claim is checked by value, logits ±5 against the with-logits loss of the same logits."""
    record = torch_run[1]["EPS301", "bce_on_scores"]
    assert record["status"] == "confirmed", record
    assert record["message"].startswith(
        "reported loss 0.50578, exact loss 0.0067153 (75.3x) at logits ±5 (labels 1/0; the loss gets a sigmoid of `logits`, "
        "driven there by logits = +a/-a rows, float32); gradient wrt logits max |g| 0.00042 (exact loss: max |g| 0.00084)"
    )
    assert record["fixed"]["status"] == "not-reproduced"  # binary_cross_entropy_with_logits(logits, targets)
    assert record["fixed"]["message"].startswith("reported loss equals the exact loss from the logits at ±5, ±10, ±20, ±30, with right and with wrong labels")


@needs_torch
def test_logits_into_binary_cross_entropy_raise_and_the_fix_is_exact(torch_run):
    record = torch_run[1]["EPS302", "eval_step"]
    assert record["status"] == "confirmed", record
    assert record["message"] == (
        "RuntimeError: all elements of input should be between 0 and 1 at logits ±5 (labels 1/0, float32); "
        "eval_step(model=Linear head, inputs=x, targets=y)"
    )
    assert record["fixed"]["status"] == "not-reproduced"  # binary_cross_entropy_with_logits
    assert "(0.0067153 = 0.0067153 at ±5;" in record["fixed"]["message"]


@needs_torch
def test_modules_are_built_from_their_constructor_and_their_gradients_checked(torch_run):
    records = torch_run[1]
    siamese = records["EPS505", "SiameseDistance"]
    assert siamese["status"] == "confirmed", siamese
    assert siamese["message"] == (
        "gradient is nan at a = b (coincident, random normal (2, 4)) in float32 (the output is finite); "
        "`torch.sqrt(torch.sum((za - zb) ** 2, dim=1))` is 0 there; SiameseDistance(encoder=Identity())"
    )
    assert siamese["fixed"]["status"] == "not-reproduced"
    swish = records["EPS504", "Swish"]
    assert swish["status"] == "confirmed", swish
    assert swish["message"] == "gradient is nan at x = -100 (4,) in float32 (the output is finite); `1 / (1 + torch.exp(-self.beta * x))` makes inf there; Swish(channels=4)"
    assert swish["fixed"]["status"] == "not-reproduced"


@needs_torch
def test_modules_with_constructor_arguments_run_the_flagged_method(torch_run):
    """EPS501/EPS503 in modules that take sizes (the examples' `SelfAttention(dim)`) or hold the finding outside
    `forward` (`EnergyModel.free_energy`): built with small sizes, the flagged method fed logits of ±1e2."""
    records = torch_run[1]
    attention = next(r for r in json.loads(torch_run[0].stdout) if r["function"] == "examples/torch_energy_models.py::SelfAttention")
    assert attention["status"] == "confirmed", attention
    assert attention["message"].startswith("nan output; nan gradient wrt x with x = +1e2 (1, 4) in float32; `torch.exp(scores) / ")
    assert attention["fixed"]["status"] == "not-reproduced"
    # Built as SelfAttention(dim=4) (by checks.subject_for_class since the verify merge): inputs of 4 features.
    assert attention["counterexample"]["inputs"] == {"x": {"shape": [1, 4], "values": "+1e2"}}
    energy = records["EPS503", "EnergyModel"]
    assert energy["status"] == "confirmed", energy
    assert energy["message"] == "inf output; nan gradient wrt v with v = +1e2 (1, 4) in float32; `torch.log(1 + torch.exp(v + self.bias))` is inf there"
    assert energy["fixed"]["status"] == "not-reproduced"
    assert energy["counterexample"]["inputs"] == {"v": {"shape": [1, 4], "values": "+1e2"}}  # EnergyModel(visible=4)


@needs_torch
def test_the_examples_training_step_is_confirmed(torch_run):
    record = torch_run[1]["EPS301", "train_step"]
    example = [r for r in json.loads(torch_run[0].stdout) if r["filename"] == "examples/torch_training.py" and r["code"].startswith("EPS3")]
    assert [(r["code"], r["status"]) for r in example] == [("EPS301", "confirmed")]
    assert example[0]["message"] == record["message"]  # the same step, the same numbers


# -- JAX ----------------------------------------------------------------------------------------------------
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed (pip install jax)")
def test_jax_gradients_through_a_function_and_a_factory():
    result = verify("--fixed", "--output-format", "json", f"{FIXTURES}/jax_gradient_forms.py")
    records = records_of(result)
    assert result.returncode == 0, result.stderr
    root = records["EPS505", "triplet_distance_loss"]
    assert root["status"] == "confirmed", root
    assert root["message"] == (
        "gradient is nan at anchor = positive (coincident, random normal (4,)) in float32 (the output is finite); "
        "`jnp.sqrt(jnp.sum((anchor - positive) ** 2, axis=-1))` is 0 there"
    )
    gate = records["EPS504", "make_gate.<locals>.gate"]
    assert gate["status"] == "confirmed", gate
    assert gate["message"] == "gradient is nan at x = -100 (4,) in float32 (the output is finite); `1.0 / (1.0 + jnp.exp(-x))` makes inf there; built by make_gate()"
    assert (root["fixed"]["status"], gate["fixed"]["status"]) == ("not-reproduced", "not-reproduced")

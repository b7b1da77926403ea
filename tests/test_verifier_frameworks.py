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
# The one example finding that is not confirmed: `build_segmenter` compiles BinaryCrossentropy(from_logits=True)
# on a sigmoid head, and Keras 3 on TensorFlow reads the sigmoid's logits back, so the loss it reports is exact.
EXPLAINED = {("examples/keras_segmentation.py", 72, 42, "EPS301")}
# The fixed source still fails here: the fix moves 1e-10 after the subtraction, finite in float32, but 1e-10 is 0 in
# float16, which this module computes in (mixed_float16), so log(0) stays.
JAX_BESIDE_A_KERAS_POLICY = ("examples/jax_mixed_precision.py", 16, 30, "EPS403")


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
def test_every_example_finding_is_decided(examples):
    """No finding of the examples is skipped: each is confirmed with a counterexample, or explained."""
    assert len(examples) == 30
    for key, record in examples.items():
        if key in EXPLAINED:
            assert record["status"] == "not-reproduced", record
            assert "the sigmoid is a Keras activation: its output carries its logits" in record["message"]
            continue
        assert record["status"] == "confirmed", (key, record)
        assert record["counterexample"], (key, record)


@needs_all
def test_a_training_steps_own_finding_runs_through_the_step(examples):
    """train_step_multiclass(model, batch, optimizer) is filled as the model-level check fills train_step: a linear
    head, the batch (x, y), SGD with learning rate 0. At logits ±1e4 the other classes' softmax is 0 in float32, so
    log(softmax) is -inf there, and backward() leaves a NaN on the head's weight even with the right labels."""
    record = examples["examples/torch_training.py", 55, 23, "EPS202"]
    assert record["status"] == "confirmed", record
    assert record["message"] == (
        "nan gradient wrt the head's weight at logits ±10000 (label i at class i of 4, float32) in "
        "train_step_multiclass(model=Linear head, batch=(x, y), optimizer=SGD(lr=0)); `torch.log(F.softmax(logits, dim=1))` is -inf there"
    )
    assert record["counterexample"]["inputs"] == {
        "x": {"shape": [4, 4], "values": "one-hot rows"},
        "logits": {"shape": [4, 4], "values": "±10000 (label i at class i of 4)"},
    }
    # The fix, F.log_softmax: the same step, the same inputs, finite with right and with wrong labels.
    assert record["fixed"]["status"] == "not-reproduced"
    assert record["fixed"]["fix"] is True
    assert record["fixed"]["message"].startswith("loss and gradient wrt the head's weight finite at logits ±100, ±10000, with right and with wrong labels")


@needs_all
def test_a_hand_written_sigmoid_behind_small_weights_is_driven_to_overflow(examples):
    """RBM.sample_hidden: W is 0.01 * randn, so v = ±100 keeps `v @ W + c` within ±5; the gradient check goes on to
    ±1e4, where the pre-activation passes -89 and exp(-x) overflows: the gradient of 1 / (1 + inf) is inf / inf."""
    record = examples["examples/torch_energy_models.py", 37, 13, "EPS504"]
    assert record["status"] == "confirmed", record
    assert record["message"] == (
        "gradient is nan at v = +1e4 (4,) in float32 (the output is finite); "
        "`1 / (1 + torch.exp(-(v @ self.W + self.c)))` makes inf there; RBM(visible=4, hidden=4).sample_hidden"
    )
    assert record["fixed"]["status"] == "not-reproduced"  # torch.sigmoid
    assert record["fixed"]["message"].startswith("gradient finite on 6 cases (logits ±100 and ±1e4, float32, shape (4,))")


@needs_all
def test_an_optax_loss_fed_probabilities_reports_the_wrong_loss(examples):
    """optax_loss: sigmoid_binary_cross_entropy(sigmoid(x @ w), y) is finite everywhere; its claim is the value. With
    x @ w driven to ±5 (w the identity), it reports the double sigmoid's 0.50578 where the exact loss of those logits
    is log1p(exp(-5)) = 0.0067153: the numbers of the seed's measured double sigmoid."""
    record = examples["examples/jax_mixed_precision.py", 21, 12, "EPS301"]
    assert record["status"] == "confirmed", record
    assert record["message"].startswith(
        "reported loss 0.50578, exact loss 0.0067153 (75.3x) at logits ±5 (labels 1/0; the loss gets a sigmoid of `x @ params[\"w\"]`, "
        "driven there by x = +a/-a rows and params[\"w\"] = identity, float32); gradient wrt x "
    )
    assert record["counterexample"]["failure"] == "reported loss 0.50578, exact loss 0.0067153 (75.3x)"


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
        fixed = record["fixed"]
        if key == JAX_BESIDE_A_KERAS_POLICY:
            # The module sets Keras's mixed_float16 policy for its Keras layer; the JAX function beside it does not
            # compute in float16, where the moved 1e-10 still underflows: a failure in a dtype it does not use.
            assert fixed["status"] == "unused-dtype", fixed
            assert fixed["counterexample"]["dtype"] == "float16"
            continue
        if fixed["fix"] is False:
            continue  # no fix to apply: the next test
        # Clean, or failing only in float16 where this code does not compute (clip bounds of 1e-7).
        assert fixed["status"] in ("not-reproduced", "unused-dtype"), (key, fixed)


@needs_all
def test_findings_without_a_fix_say_so_after_the_fix(examples):
    """A double sigmoid on a call (`torch.sigmoid(model(x))`, `jax.nn.sigmoid(x @ w)`) gets no fix (its logits are no
    simple expression to move into the loss): after --fixed the code there is unchanged, and the record says so."""
    unfixed = {key: record["fixed"]["rewritten"] for key, record in examples.items() if record["fixed"]["fix"] is False}
    assert unfixed == {
        ("examples/torch_training.py", 45, 12, "EPS301"): False,
        ("examples/jax_mixed_precision.py", 21, 12, "EPS301"): False,
        # `K.set_epsilon(1e-12)` at import: no fix moves it into a function, but EPS401's fix rewrites its value.
        ("examples/keras_segmentation.py", 13, 1, "EPS402"): True,
    }
    step = examples["examples/torch_training.py", 45, 12, "EPS301"]
    assert step["fixed"]["status"] == "confirmed"  # the same double sigmoid, still there
    assert step["fixed"]["message"] == step["message"]


@needs_all
def test_a_clip_floor_left_after_the_fix_is_named_as_eps303s(examples):
    """log_loss after --fixed clips y_prob to [1e-7, 1 - 1e-7]: no NaN any more, but the loss cannot go below
    -log(1 - 1e-7) = 1.19e-07. That floor is the clipped-probability finding (EPS303), not a failure of EPS201's fix."""
    fixed = examples["examples/numpy_eval.py", 21, 36, "EPS201"]["fixed"]
    assert fixed["status"] == "not-reproduced"
    assert fixed["message"].startswith(
        "no failing case triggers `np.log(np.clip(y_prob, 1e-7, 1 - 1e-7))`; the function keeps the loss floor of a clipped "
        "probability, which is EPS303's finding (probability-loss-floor), not this one's: loss floor 1.19e-07 from a = 15"
    )


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
def test_a_function_level_double_sigmoid_and_its_fix_through_the_cli(tmp_path: Path):
    """A JAX logistic regression whose optax loss gets sigmoid(logits), in text form with --fixed: confirmed by its
    loss against the exact loss of its logits; the fix passes `logits`, and the two agree. Its neighbour's
    log(softmax(x @ w)) has no fix, which the after-fix line and the summary say."""
    result = verify("--fixed", "--timeout", "60", "tests/fixtures/verify/jax_double_sigmoid.py")
    lines = result.stdout.splitlines()
    assert result.returncode == 1, result.stderr  # the neighbour, unfixed, is still confirmed
    assert lines[0].startswith(
        "tests/fixtures/verify/jax_double_sigmoid.py:11:12: EPS301 tests/fixtures/verify/jax_double_sigmoid.py::logistic_loss: confirmed: "
        "reported loss 0.50578, exact loss 0.0067153 (75.3x) at logits ±5 (labels 1/0; the loss gets a sigmoid of "
        "`logits` = `x @ params['w'] + params['b']`, driven there by x = +a/-a rows and params[\"w\"] = identity, float32)"
    )
    assert lines[1].startswith(
        "    after fix: not-reproduced: reported loss equals the exact loss from the logits at ±5, ±10, ±20, ±30, with right and with wrong labels"
    )
    assert lines[3].startswith("    after fix: no fix for this finding, the code is unchanged there: confirmed: nan output")
    assert lines[-1] == "Verified 2 findings: 2 confirmed. After fixes: 1 confirmed (1 with no fix), 1 not-reproduced."


@needs_all
def test_readme_shows_the_examples_run(examples):
    """The README's `lint-eps verify examples/` block is that run: every line is the text form of its record, and
    it ends with the summary, nothing skipped."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    command = "$ lint-eps verify examples/\n"
    shown = readme[readme.index(command) + len(command) :].split("```", 1)[0].splitlines()
    for (filename, row, column, code), record in examples.items():
        line = f"{filename}:{row}:{column}: {code} {record['function'] or '(module level)'}: {record['status']}: {record['message']}"
        assert line in shown, line
    assert shown[-1] == "Verified 30 findings: 29 confirmed, 1 not-reproduced."

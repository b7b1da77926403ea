"""EPS301-EPS303 (logits versus probabilities) end to end, through the CLI, on realistic training scripts."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli, write

SELECT = ["--no-cache", "--select", "EPS301,EPS302"]

KERAS_SIGMOID_FROM_LOGITS = '''\
import keras
from keras import layers


def build_classifier(n_features):
    model = keras.Sequential(
        [
            keras.Input((n_features,)),
            layers.Dense(64, activation="relu"),
            layers.Dropout(0.2),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer="adam",
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model
'''

KERAS_LINEAR_WITH_PROBABILITY_LOSS = '''\
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential()
model.add(layers.Dense(64, activation="relu", input_shape=(20,)))
model.add(layers.Dense(1))
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=10)
'''

FUNCTIONAL_SOFTMAX = '''\
import keras
from keras import layers

inputs = keras.Input(shape=(28, 28, 1))
x = layers.Conv2D(32, 3, activation="relu")(inputs)
x = layers.Flatten()(x)
x = layers.Dense(10)(x)
outputs = layers.Activation("softmax")(x)
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
'''

TORCH_LOOP = '''\
import torch
import torch.nn as nn


class Classifier(nn.Module):
    def __init__(self, n_in):
        super().__init__()
        self.hidden = nn.Linear(n_in, 32)
        self.out = nn.Linear(32, 1)

    def forward(self, x):
        h = torch.relu(self.hidden(x))
        return torch.sigmoid(self.out(h))


model = Classifier(16)
criterion = nn.BCEWithLogitsLoss()
optimizer = torch.optim.Adam(model.parameters())


def train(loader):
    for xb, yb in loader:
        optimizer.zero_grad()
        preds = model(xb)
        loss = criterion(preds, yb)
        loss.backward()
        optimizer.step()
'''

FOCAL_LOSS = '''\
import torch
import torch.nn.functional as F


def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0):
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    return (alpha_t * loss).mean()


class FocalLoss(torch.nn.Module):
    def forward(self, logits, target):
        probs = logits.softmax(dim=1)
        ce = F.cross_entropy(logits, target, reduction="none")
        pt = probs.gather(1, target[:, None]).squeeze(1)
        return ((1 - pt) ** 2 * ce).mean()
'''

KERAS_SIGMOID_PROBABILITY_LOSS = '''\
import keras
from keras import layers

model = keras.Sequential([keras.Input((1,)), layers.Dense(1, activation="sigmoid")])
model.compile(loss="binary_crossentropy", optimizer="adam")
'''


def _findings(result) -> list[str]:
    """Each finding's line, followed (when run with --show-details) by its explanation joined back into one line."""
    found: list[str] = []
    in_details = False
    for line in result.stdout.splitlines():
        if ": EPS30" in line:
            found.append(line)
            in_details = False
        elif found and line.startswith("  = why: "):
            found[-1] += " | " + line[len("  = why: "):]
            in_details = True
        elif found and in_details and line.startswith("    "):
            found[-1] += " " + line.strip()
        else:
            in_details = False
    return found


def test_sigmoid_model_compiled_with_from_logits_is_reported_on_the_loss_with_the_activation_line(project: Path) -> None:
    write(project, "model.py", KERAS_SIGMOID_FROM_LOGITS)
    result = run_cli([*SELECT, "--show-details", "model.py"], project)
    assert result.returncode == 1, result.stderr
    found = _findings(result)
    assert len(found) == 1
    assert found[0].startswith("model.py:16:14: EPS301 ")
    assert "UserWarning" in found[0] and "JAX and torch" in found[0] and "75x off" in found[0]
    assert "note: the model's sigmoid output layer at model.py:11:40" in result.stdout


def test_sigmoid_model_fix_drops_the_flag_and_the_result_is_clean(project: Path) -> None:
    path = write(project, "model.py", KERAS_SIGMOID_FROM_LOGITS)
    result = run_cli([*SELECT, "--fix", "--unsafe-fixes", "model.py"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "loss=keras.losses.BinaryCrossentropy()," in path.read_text()
    assert run_cli([*SELECT, "model.py"], project).returncode == 0


def test_linear_model_with_binary_crossentropy_string_is_reported_and_fixed_to_from_logits(project: Path) -> None:
    path = write(project, "train.py", KERAS_LINEAR_WITH_PROBABILITY_LOSS)
    result = run_cli([*SELECT, "--show-details", "train.py"], project)
    found = _findings(result)
    assert len(found) == 1 and found[0].startswith("train.py:7:38: EPS302 ")
    assert "stalls" in found[0] and "on every backend" in found[0]
    assert "note: the model's linear output layer at train.py:6:11" in result.stdout
    fixed = run_cli([*SELECT, "--fix", "--unsafe-fixes", "train.py"], project)
    assert fixed.returncode == 0, fixed.stdout
    assert 'loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=["accuracy"]' in path.read_text()
    # Without --unsafe-fixes the file is left alone.
    path.write_text(KERAS_LINEAR_WITH_PROBABILITY_LOSS)
    assert run_cli([*SELECT, "--fix", "train.py"], project).returncode == 1
    assert path.read_text() == KERAS_LINEAR_WITH_PROBABILITY_LOSS


def test_functional_model_with_trailing_activation_layer(project: Path) -> None:
    write(project, "cnn.py", FUNCTIONAL_SOFTMAX)
    result = run_cli([*SELECT, "--output-format", "json", "cnn.py"], project)
    data = json.loads(result.stdout)
    assert [d["code"] for d in data] == ["EPS301"]
    assert data[0]["location"]["row"] == 10
    assert "softmax" in data[0]["message"]
    assert data[0]["fix"]["applicability"] == "unsafe"


def test_torch_loop_with_bce_with_logits_on_a_sigmoid_module(project: Path) -> None:
    write(project, "loop.py", TORCH_LOOP)
    result = run_cli([*SELECT, "--show-details", "loop.py"], project)
    found = _findings(result)
    assert len(found) == 1
    assert found[0].startswith("loop.py:25:16: EPS301 `BCEWithLogitsLoss` gets a sigmoid output, not logits")
    assert "nothing in PyTorch detects" in found[0]
    assert "at loop.py:13:16" in result.stdout  # the sigmoid in forward()


def test_torch_loop_is_clean_once_forward_returns_logits(project: Path) -> None:
    write(project, "loop.py", TORCH_LOOP.replace("return torch.sigmoid(self.out(h))", "return self.out(h)"))
    assert run_cli([*SELECT, "loop.py"], project).returncode == 0


def test_focal_loss_pattern_stays_clean(project: Path) -> None:
    write(project, "focal.py", FOCAL_LOSS)
    result = run_cli(["--no-cache", "--select", "EPS301,EPS302,EPS303", "focal.py"], project)
    assert result.returncode == 0, result.stdout


def test_keras_backend_setting_changes_the_message(project: Path) -> None:
    write(project, "model.py", KERAS_SIGMOID_FROM_LOGITS)
    default = _findings(run_cli([*SELECT, "--show-details", "model.py"], project))[0]
    assert "TensorFlow (the default backend)" in default
    (project / "pyproject.toml").write_text("[project]\nname = 'demo'\n\n[tool.lint-eps]\nkeras-backend = \"jax\"\n")
    jax = _findings(run_cli([*SELECT, "--show-details", "model.py"], project))[0]
    assert "on the configured jax backend Keras does not recover the logits" in jax
    (project / "pyproject.toml").write_text("[project]\nname = 'demo'\n\n[tool.lint-eps]\nkeras-backend = \"tensorflow\"\n")
    tf = _findings(run_cli([*SELECT, "--show-details", "model.py"], project))[0]
    assert "on the configured TensorFlow backend" in tf and "only the flag is wrong" in tf


def test_precision_floor_rule_is_opt_in_and_depends_on_the_backend(project: Path) -> None:
    write(project, "model.py", KERAS_SIGMOID_PROBABILITY_LOSS)
    # Off by default, and on the TF backend Keras recovers its own sigmoid's logits: nothing to report.
    assert run_cli(["--no-cache", "model.py"], project).returncode == 0
    assert run_cli(["--no-cache", "--select", "EPS303", "model.py"], project).returncode == 0
    # The file itself selects the torch backend: the clip floors the loss there.
    write(project, "torch_backend.py", 'import os\nos.environ["KERAS_BACKEND"] = "torch"\n' + KERAS_SIGMOID_PROBABILITY_LOSS)
    result = run_cli(["--no-cache", "--show-details", "--select", "EPS303", "torch_backend.py"], project)
    found = _findings(result)
    assert len(found) == 1 and "EPS303" in found[0] and "the torch backend does not" in found[0]
    # Configured for JAX: the plain model is reported too.
    (project / "pyproject.toml").write_text("[project]\nname = 'demo'\n\n[tool.lint-eps]\nkeras-backend = \"jax\"\n")
    assert "the jax backend does not" in _findings(run_cli(["--no-cache", "--show-details", "--select", "EPS303", "model.py"], project))[0]


def test_precision_floor_on_a_raw_tf_sigmoid_is_fixed_to_from_logits(project: Path) -> None:
    source = "import tensorflow as tf\n\n\ndef loss(y_true, z):\n    return tf.keras.losses.binary_crossentropy(y_true, tf.sigmoid(z))\n"
    path = write(project, "loss.py", source)
    assert run_cli(["--no-cache", "loss.py"], project).returncode == 0  # opt-in only
    result = run_cli(["--no-cache", "--show-details", "--select", "EPS303", "loss.py"], project)
    assert "floors at 1.19e-07" in _findings(result)[0]
    run_cli(["--no-cache", "--select", "EPS303", "--fix", "--unsafe-fixes", "loss.py"], project)
    assert "binary_crossentropy(y_true, z, from_logits=True)" in path.read_text()

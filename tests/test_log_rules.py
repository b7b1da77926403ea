"""EPS201 (log of an unclipped probability) and EPS203 (unclipped logit transform) on realistic code, end to end:
what a user sees from `lint-eps check`, what `--fix --unsafe-fixes` writes, and that one mistake gives one finding
next to EPS202."""

from __future__ import annotations

import textwrap
from pathlib import Path

from lint_eps.engine import lint_source
from lint_eps.fixes import fix_source
from lint_eps.settings import Settings

from conftest import write

DEFAULT = Settings()  # the rules a user gets without configuration


def findings(source: str, settings: Settings = DEFAULT):
    return lint_source(textwrap.dedent(source), "train.py", settings)


def codes_and_rows(source: str, settings: Settings = DEFAULT) -> list[tuple[str, int]]:
    return [(d.code, d.location.row) for d in findings(source, settings) if d.code.startswith("EPS2")]


KERAS_FOCAL = '''\
import keras
from keras import ops


class BinaryFocalLoss(keras.losses.Loss):
    def __init__(self, gamma=2.0, alpha=0.25, **kwargs):
        super().__init__(**kwargs)
        self.gamma = gamma
        self.alpha = alpha

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        p_t = y_true * y_pred + (1 - y_true) * (1 - y_pred)
        alpha_t = y_true * self.alpha + (1 - y_true) * (1 - self.alpha)
        return -ops.mean(alpha_t * ops.power(1 - p_t, self.gamma) * ops.log(p_t))
'''

TORCH_NLL = '''\
import torch
import torch.nn.functional as F


def manual_nll(logits, target):
    probs = F.softmax(logits, dim=-1)
    picked = probs.gather(1, target.unsqueeze(1)).squeeze(1)
    return -torch.log(picked).mean()
'''

NUMPY_METRIC = '''\
import numpy as np


def binary_logloss_score(y_true, y_prob):
    y_true = np.asarray(y_true, dtype=np.float64)
    return float(-np.mean(y_true * np.log(y_prob) + (1 - y_true) * np.log(1 - y_prob)))
'''

TF_CLIPPED = '''\
import tensorflow as tf
from tensorflow.keras import backend as K


def weighted_bce(y_true, y_pred, pos_weight=3.0):
    y_pred = tf.clip_by_value(y_pred, K.epsilon(), 1.0 - K.epsilon())
    pos = pos_weight * y_true * tf.math.log(y_pred)
    neg = (1.0 - y_true) * tf.math.log(1.0 - y_pred)
    logits = tf.math.log(y_pred / (1.0 - y_pred))
    return -tf.reduce_mean(pos + neg) + 0.0 * tf.reduce_mean(logits)


model.compile(optimizer="adam", loss=weighted_bce)
'''

SEED_CUSTOM_LOSS = '''\
import tensorflow as tf
from keras.models import Sequential
from keras.layers import Dense


def customLoss(target, output):
    output = tf.log(output / (1 - output))
    return tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=output)


model_m = Sequential()
model_m.add(Dense(units=1, activation="sigmoid", input_shape=(1,)))
model_m.compile(loss=customLoss, optimizer="adam", metrics=["accuracy"])
'''


# -- EPS201 ---------------------------------------------------------------------------------------------------
def test_keras_focal_loss_log_of_p_t_is_found_and_clipped_with_keras_epsilon() -> None:
    found = [d for d in findings(KERAS_FOCAL) if d.code.startswith("EPS2")]
    assert [(d.code, d.location.row) for d in found] == [("EPS201", 15)]
    message = found[0].details
    assert "`p_t` (from `y_pred`, the prediction passed to `call`)" in message
    assert "-inf" in message and "NaN" in message
    fixed = fix_source(KERAS_FOCAL, "train.py", DEFAULT, unsafe=True)
    assert "ops.log(ops.clip(p_t, keras.config.epsilon(), 1 - keras.config.epsilon()))" in fixed.text
    assert codes_and_rows(fixed.text) == []


def test_focal_loss_is_clean_once_y_pred_is_clipped_two_lines_above() -> None:
    clipped = KERAS_FOCAL.replace(
        "        y_true = ops.cast(y_true, y_pred.dtype)\n",
        "        y_true = ops.cast(y_true, y_pred.dtype)\n"
        "        y_pred = ops.clip(y_pred, keras.config.epsilon(), 1 - keras.config.epsilon())\n",
    )
    assert codes_and_rows(clipped) == []


def test_a_floor_alone_leaves_the_complement_unguarded() -> None:
    # p_t = y*p + (1-y)*(1-p) is 0 where p = 1 and y = 0: a maximum() floor does not prevent it.
    floored = KERAS_FOCAL.replace(
        "        y_true = ops.cast(y_true, y_pred.dtype)\n",
        "        y_true = ops.cast(y_true, y_pred.dtype)\n        y_pred = ops.maximum(y_pred, 1e-7)\n",
    )
    assert codes_and_rows(floored) == [("EPS201", 16)]


def test_hand_written_torch_nll_on_softmax_probabilities() -> None:
    found = [d for d in findings(TORCH_NLL) if d.code.startswith("EPS2")]
    assert [(d.code, d.location.row) for d in found] == [("EPS201", 8)]
    message = found[0].details
    assert "`picked` (from the output of `F.softmax`)" in message
    assert "log_softmax" in message
    assert "floors each log at -100" in message  # why this is worse than F.binary_cross_entropy
    # the related note points at the softmax line
    assert any(location.row == 6 for _, location in found[0].related)
    fixed = fix_source(TORCH_NLL, "train.py", DEFAULT, unsafe=True)
    assert "-torch.log(torch.clamp(picked, 1e-7, 1 - 1e-7)).mean()" in fixed.text


def test_numpy_logloss_metric_reports_both_logs_without_gradient_talk() -> None:
    found = [d for d in findings(NUMPY_METRIC) if d.code.startswith("EPS2")]
    assert [(d.code, d.location.row) for d in found] == [("EPS201", 6), ("EPS201", 6)]
    assert all("RuntimeWarning" in d.details and "gradient" not in d.message + d.details for d in found)
    assert "`1 - y_prob` is exactly 0" in found[1].details
    fixed = fix_source(NUMPY_METRIC, "metrics.py", DEFAULT, unsafe=True)
    assert "np.log(np.clip(y_prob, 1e-7, 1 - 1e-7))" in fixed.text
    assert "np.log(1 - np.clip(y_prob, 1e-7, 1 - 1e-7))" in fixed.text
    assert codes_and_rows(fixed.text) == []


def test_tf_loss_that_clips_first_is_clean_for_every_log_rule() -> None:
    assert codes_and_rows(TF_CLIPPED) == []


def test_a_later_reassignment_undoes_the_clip() -> None:
    source = '''\
    import tensorflow as tf

    def masked_bce(y_true, y_pred, mask):
        y_pred = tf.clip_by_value(y_pred, 1e-7, 1 - 1e-7)
        y_pred = tf.gather(y_pred, mask)
        probs = tf.squeeze(y_pred)
        return -tf.reduce_mean(tf.math.log(probs))

    def masked_bce_unclipped(y_true, y_pred, mask):
        probs = tf.squeeze(tf.gather(y_pred, mask))
        return -tf.reduce_mean(tf.math.log(probs))
    '''
    assert codes_and_rows(source) == [("EPS201", 11)]


def test_multiply_no_nan_is_not_a_guard_but_xlogy_is() -> None:
    source = '''\
    import tensorflow as tf

    def xent_loss(y_true, y_pred):
        return -tf.reduce_sum(tf.math.multiply_no_nan(tf.math.log(y_pred), y_true), axis=-1)

    def xent_loss_xlogy(y_true, y_pred):
        return -tf.reduce_sum(tf.math.xlogy(y_true, y_pred), axis=-1)
    '''
    assert codes_and_rows(source) == [("EPS201", 4)]


def test_logits_parameters_and_ordinary_code_are_left_alone() -> None:
    source = '''\
    import numpy as np
    import torch

    def bce_with_logits_loss(y_true, logits):
        return torch.log1p(torch.exp(-logits))

    def log_returns(prices):
        return np.log(prices[1:] / prices[:-1])

    def to_log_space(probs):  # not metric or loss code, and not known to come from an activation
        return np.log(probs)
    '''
    assert codes_and_rows(source) == []


def test_iou_loss_without_overlap_guard() -> None:
    source = '''\
    import torch
    from torchvision.ops import box_iou

    def iou_loss(pred_boxes, target_boxes):
        iou = box_iou(pred_boxes, target_boxes).diagonal()
        return -torch.log(iou).mean()

    def smooth_iou_loss(pred_boxes, target_boxes, eps=1e-6):
        iou = box_iou(pred_boxes, target_boxes).diagonal().clamp(min=eps)
        return -torch.log(iou).mean()
    '''
    found = [d for d in findings(source) if d.code == "EPS201"]
    assert [d.location.row for d in found] == [6]
    assert "do not overlap" in found[0].details


# -- EPS203 ---------------------------------------------------------------------------------------------------
def test_seed_custom_loss_is_one_eps203_finding(project: Path, cli) -> None:
    write(project, "seed.py", SEED_CUSTOM_LOSS)
    result = cli(["check", "--no-cache", "--no-show-source", "--show-details", "seed.py"], cwd=project)
    lines = [line for line in result.output.splitlines() if ": EPS" in line]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("seed.py:7:14: EPS203")
    assert "±inf" in lines[0]
    explanation = " ".join(line.strip() for line in result.output.split(lines[0], 1)[1].split("\n\n", 1)[0].splitlines()).strip()
    assert explanation.startswith("= why:") and "+inf" in explanation and "NaN" in explanation


def test_seed_custom_loss_fix_clips_before_the_transform(project: Path, cli) -> None:
    path = write(project, "seed.py", SEED_CUSTOM_LOSS)
    cli(["check", "--no-cache", "--fix", "--unsafe-fixes", "seed.py"], cwd=project)
    text = path.read_text(encoding="utf-8")
    assert "tf.log(tf.clip_by_value(output, 1e-7, 1 - 1e-7) / (1 - tf.clip_by_value(output, 1e-7, 1 - 1e-7)))" in text
    assert codes_and_rows(text) == []


def test_two_log_form_is_one_finding_not_three() -> None:
    source = '''\
    import torch

    def logit_margin_loss(target, probs):
        margin = torch.log(probs) - torch.log(1 - probs)
        return torch.nn.functional.softplus(-target * margin).mean()
    '''
    found = [d for d in findings(source) if d.code.startswith("EPS2")]
    assert [(d.code, d.location.row) for d in found] == [("EPS203", 4)]
    fixed = fix_source(textwrap.dedent(source), "train.py", DEFAULT, unsafe=True)
    assert "margin = torch.logit(probs, eps=1e-7)" in fixed.text


def test_log_of_sigmoid_stays_eps202_and_only_eps202() -> None:
    source = '''\
    import tensorflow as tf

    def bce_loss(y_true, logits):
        p = tf.sigmoid(logits)
        return -tf.reduce_mean(y_true * tf.math.log(p) + (1 - y_true) * tf.math.log(1 - p))
    '''
    assert codes_and_rows(source) == [("EPS202", 5), ("EPS202", 5)]
    # With EPS202 switched off, EPS201 does not step in with a second opinion on the same expression.
    assert codes_and_rows(source, Settings(ignore=("EPS202",))) == []

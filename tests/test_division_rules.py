"""EPS101 (unguarded division), EPS102 (misplaced epsilon) and EPS103 (single-where guard) on realistic metric
and loss files, end to end through `lint-eps check`: what a user sees, what `--fix` / `--fix --unsafe-fixes`
writes, and that the result lints clean."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import write

DIVISION = "EPS101,EPS102,EPS103"


def report(cli, folder: Path, *args: str) -> list[dict]:
    result = cli(["check", "--select", DIVISION, "--no-cache", "--exit-zero", "--output-format", "json", *args], folder)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def rows(found: list[dict]) -> list[tuple[str, int]]:
    return sorted((d["code"], d["location"]["row"]) for d in found)


# -- Keras F1 metric: the classic StackOverflow functions -----------------------------------------------------
KERAS_F1 = '''\
from tensorflow.keras import backend as K


def recall_m(y_true, y_pred):
    true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))
    possible_positives = K.sum(K.round(K.clip(y_true, 0, 1)))
    return true_positives / possible_positives


def precision_m(y_true, y_pred):
    true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))
    predicted_positives = K.sum(K.round(K.clip(y_pred, 0, 1)))
    return true_positives / predicted_positives + K.epsilon()


def f1_m(y_true, y_pred):
    precision = precision_m(y_true, y_pred)
    recall = recall_m(y_true, y_pred)
    return 2 * ((precision * recall) / (precision + recall + K.epsilon()))


def batch_summary(values):
    # Not metric code: a plain helper.
    return values / K.sum(values)
'''


def test_keras_f1_metrics_are_reported_and_fixed(cli, project: Path) -> None:
    path = write(project, "metrics.py", KERAS_F1)
    found = report(cli, project)
    # recall: unguarded; precision: the epsilon is added after the division; f1 is guarded; the helper is not
    # metric code.
    assert rows(found) == [("EPS101", 7), ("EPS102", 13)]
    by_code = {d["code"]: d for d in found}
    assert "possible_positives" in by_code["EPS101"]["message"] and "NaN" in by_code["EPS101"]["details"]
    assert by_code["EPS101"]["fix"]["applicability"] == "unsafe"
    assert by_code["EPS102"]["fix"]["applicability"] == "safe"

    # Safe fixes only: EPS102 is repaired, EPS101 waits for --unsafe-fixes.
    cli(["check", "--select", DIVISION, "--no-cache", "--fix", "--exit-zero"], project)
    text = path.read_text()
    assert "return true_positives / (predicted_positives + K.epsilon())" in text
    assert "return true_positives / possible_positives\n" in text

    cli(["check", "--select", DIVISION, "--no-cache", "--fix", "--unsafe-fixes", "--exit-zero"], project)
    text = path.read_text()
    assert "return true_positives / (possible_positives + K.epsilon())" in text
    assert report(cli, project) == []


# -- Dice losses with smooth terms ---------------------------------------------------------------------------
DICE = '''\
import tensorflow as tf


def dice_coef(y_true, y_pred, smooth=1.0):
    y_true_f = tf.reshape(y_true, [-1])
    y_pred_f = tf.reshape(y_pred, [-1])
    intersection = tf.reduce_sum(y_true_f * y_pred_f)
    return (2.0 * intersection + smooth) / (tf.reduce_sum(y_true_f) + tf.reduce_sum(y_pred_f) + smooth)


def dice_loss(y_true, y_pred, smooth=1.0):
    intersection = tf.reduce_sum(y_true * y_pred, axis=[1, 2, 3])
    union = tf.reduce_sum(y_true, axis=[1, 2, 3]) + tf.reduce_sum(y_pred, axis=[1, 2, 3])
    return 1.0 - tf.reduce_mean((2.0 * intersection + smooth) / union)


def iou_loss(y_true, y_pred):
    intersection = tf.reduce_sum(y_true * y_pred)
    union = tf.reduce_sum(y_true) + tf.reduce_sum(y_pred) - intersection
    return 1.0 - intersection / union
'''


def test_dice_smooth_both_sides_is_clean_and_one_sided_smooth_is_fixed(cli, project: Path) -> None:
    path = write(project, "losses.py", DICE)
    found = report(cli, project)
    assert rows(found) == [("EPS101", 20), ("EPS102", 14)]
    eps101 = next(d for d in found if d["code"] == "EPS101")
    # A loss: the message says what the NaN does to training, and the TF fix is divide_no_nan.
    assert "gradient" in eps101["details"] and "divide_no_nan" in eps101["message"]

    cli(["check", "--select", DIVISION, "--no-cache", "--fix", "--unsafe-fixes", "--exit-zero"], project)
    text = path.read_text()
    # The smoothing term is kept in the numerator and added to the denominator (Dice convention).
    assert "(2.0 * intersection + smooth) / (union + smooth)" in text
    assert "return 1.0 - tf.math.divide_no_nan(intersection, union)" in text
    assert report(cli, project) == []


# -- torchmetrics-like metric with running state -------------------------------------------------------------
TORCHMETRIC = '''\
import torch
from torchmetrics import Metric


class MeanAbsoluteError(Metric):
    def __init__(self):
        super().__init__()
        self.add_state("sum_abs_error", default=torch.tensor(0.0), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0), dist_reduce_fx="sum")

    def update(self, preds, target):
        self.sum_abs_error += torch.sum(torch.abs(preds - target))
        self.total += target.numel()

    def compute(self):
        return self.sum_abs_error / self.total


class PositiveRate(Metric):
    def __init__(self, threshold=0.5):
        super().__init__()
        self.threshold = threshold
        self.add_state("hits", default=torch.tensor(0.0), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0.0), dist_reduce_fx="sum")

    def update(self, preds, target):
        positive = target > 0
        self.hits += ((preds > self.threshold) & positive).sum()
        self.total += positive.sum()

    def compute(self):
        return self.hits / self.total
'''


def test_torchmetrics_state_counts_samples_or_positives(cli, project: Path) -> None:
    path = write(project, "my_metrics.py", TORCHMETRIC)
    found = report(cli, project)
    # `total` counting elements (numel) is nonzero after one update: not reported. `total` counting positive
    # targets is 0 for a batch without positives: reported in `compute`.
    assert rows(found) == [("EPS101", 32)]
    assert "self.total" in found[0]["message"] and "torchmetrics" in found[0]["details"]
    cli(["check", "--select", DIVISION, "--no-cache", "--fix", "--unsafe-fixes", "--exit-zero"], project)
    assert "return self.hits / (self.total + 1e-7)" in path.read_text()


# -- Keras Metric subclass: divide_no_nan vs plain division ---------------------------------------------------
KERAS_METRIC = '''\
import keras
import tensorflow as tf


class BalancedRecall(keras.metrics.Metric):
    def __init__(self, name="balanced_recall", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_weight(name="tp", initializer="zeros")
        self.false_negatives = self.add_weight(name="fn", initializer="zeros")
        self.seen = self.add_weight(name="seen", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = tf.cast(y_pred > 0.5, self.dtype)
        y_true = tf.cast(y_true, self.dtype)
        self.true_positives.assign_add(tf.reduce_sum(y_true * y_pred))
        self.false_negatives.assign_add(tf.reduce_sum(y_true * (1 - y_pred)))
        self.seen.assign_add(tf.cast(tf.size(y_true), self.dtype))

    def result(self):
        recall = tf.math.divide_no_nan(self.true_positives, self.true_positives + self.false_negatives)
        coverage = self.true_positives / self.seen
        return recall, coverage, self.true_positives / (self.true_positives + self.false_negatives)
'''


def test_keras_metric_subclass(cli, project: Path) -> None:
    path = write(project, "keras_metric.py", KERAS_METRIC)
    found = report(cli, project)
    # `seen` accumulates tf.size: a sample count. The last ratio is tp / (tp + fn) without a guard.
    assert rows(found) == [("EPS101", 22)]
    cli(["check", "--select", DIVISION, "--no-cache", "--fix", "--unsafe-fixes", "--exit-zero"], project)
    text = path.read_text()
    assert "tf.math.divide_no_nan(self.true_positives, self.true_positives + self.false_negatives)\n" in text
    assert report(cli, project) == []


# -- Single where: a loss (gradient NaN) versus a metric (fine) -----------------------------------------------
WHERE = '''\
import tensorflow as tf


def coverage_loss(y_true, y_pred):
    denom = tf.reduce_sum(y_true, axis=-1)
    ratio = tf.where(denom > 0, tf.reduce_sum(y_true * y_pred, axis=-1) / denom, 0.0)
    return 1.0 - tf.reduce_mean(ratio)


def coverage_score(y_true, y_pred):
    denom = tf.reduce_sum(y_true, axis=-1)
    return tf.where(denom > 0, tf.reduce_sum(y_true * y_pred, axis=-1) / denom, 0.0)
'''


def test_single_where_in_loss_only_and_double_where_fix(cli, project: Path) -> None:
    path = write(project, "coverage.py", WHERE)
    found = report(cli, project)
    # One mistake, one finding: EPS103 on the loss; the metric's single where is fine.
    assert rows(found) == [("EPS103", 6)]
    assert "gradient is NaN" in found[0]["details"]
    assert found[0]["fix"]["applicability"] == "safe"
    cli(["check", "--select", DIVISION, "--no-cache", "--fix", "--exit-zero"], project)
    text = path.read_text()
    assert "/ tf.where(denom > 0, denom, 1), 0.0)" in text.splitlines()[5]
    assert report(cli, project) == []


# -- PyTorch loss module, JAX training code, NumPy metric ------------------------------------------------------
MIXED = '''\
import jax
import jax.numpy as jnp
import numpy as np
import torch


class TokenLoss(torch.nn.Module):
    def forward(self, logits, target, mask):
        nll = torch.nn.functional.cross_entropy(logits, target, reduction="none")
        return (nll * mask).sum() / mask.sum()


class ClampedTokenLoss(torch.nn.Module):
    def forward(self, logits, target, mask):
        nll = torch.nn.functional.cross_entropy(logits, target, reduction="none")
        return (nll * mask).sum() / mask.sum().clamp(min=1)


def train_step(params, x, y):
    def loss_fn(p):
        err = jnp.abs(x @ p - y)
        return jnp.sum(err) / jnp.count_nonzero(y)

    return jax.grad(loss_fn)(params)


def per_class_accuracy(cm):
    # Mean of the per-class recall: a class absent from the data has a zero row.
    return np.mean(np.diag(cm) / cm.sum(axis=1))


def overall_accuracy(cm):
    # The total of a confusion matrix is the number of samples.
    return np.trace(cm) / cm.sum()
'''


def test_torch_jax_numpy(cli, project: Path) -> None:
    write(project, "mixed.py", MIXED)
    found = report(cli, project)
    assert rows(found) == [("EPS101", 10), ("EPS101", 22), ("EPS101", 29)]
    messages = {d["location"]["row"]: d["details"] for d in found}
    assert "in a loss the NaN reaches the gradient" in messages[10]
    assert "metric reports NaN" in messages[29]


# -- NumPy: no autodiff, and ufuncs that skip the zero denominators ------------------------------------------------
NUMPY_EVALUATION = '''\
import numpy as np


def weighted_mse_loss(errors, weights):
    # A NumPy "loss" (evaluation code): it has no gradient to poison.
    return np.sum(errors ** 2 * weights) / np.sum(weights)


def precision(tp, fp):
    return np.divide(tp, tp + fp, out=np.zeros_like(tp, dtype=float), where=(tp + fp) != 0)


def recall(tp, fn):
    denom = tp + fn
    valid = denom > 0
    return np.true_divide(tp, denom, out=np.zeros(tp.shape), where=valid)


def f1_score(tp, fp, fn, selected):
    # The mask says nothing about the denominator: slots it keeps still divide by 0.
    return np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros(tp.shape), where=selected)
'''


def test_numpy_loss_message_says_what_numpy_does_not_gradient(cli, project: Path) -> None:
    write(project, "evaluation.py", NUMPY_EVALUATION)
    found = report(cli, project)
    loss = next(d for d in found if d["location"]["row"] == 6)
    text = loss["message"] + " " + loss["details"]
    assert "RuntimeWarning" in loss["details"] and "gradient" not in text and "optimizer" not in text


def test_numpy_divide_with_a_where_mask_on_the_denominator_is_a_guard(cli, project: Path) -> None:
    write(project, "evaluation.py", NUMPY_EVALUATION)
    # precision (row 10) and recall (row 16) skip the zero denominators; f1 (row 21) masks something else.
    assert rows(report(cli, project)) == [("EPS101", 6), ("EPS101", 21)]


# -- Guards recognised through local variables and control flow -----------------------------------------------
GUARDS = '''\
import tensorflow as tf


def precision_score(tp, fp):
    denom = tp + fp
    if denom == 0:
        return 0.0
    return tp / denom


def masked_mse_loss(y_true, y_pred, mask):
    count = tf.reduce_sum(mask)
    count = tf.maximum(count, 1.0)
    return tf.reduce_sum(tf.square(y_true - y_pred) * mask) / count


def recall_score(tp, fn):
    return tf.cond(tp + fn > 0, lambda: tp / (tp + fn), lambda: 0.0)


def distill_loss(student, teacher, temperature=4.0, warmup_steps=1000, step=0):
    scale = min(step / warmup_steps, 1.0)
    return scale * tf.reduce_mean(tf.square(student / temperature - teacher / temperature))


def mae_loss(y_true, y_pred):
    return tf.reduce_sum(tf.abs(y_true - y_pred)) / tf.cast(tf.shape(y_true)[0], tf.float32)
'''


def test_guards_are_recognised(cli, project: Path) -> None:
    write(project, "guarded.py", GUARDS)
    assert report(cli, project) == []


NONE_CHECK = '''\
import tensorflow as tf


def weighted_mse_loss(y_true, y_pred, sample_weight=None):
    losses = tf.square(y_true - y_pred)
    if sample_weight is not None:
        return tf.reduce_sum(losses * sample_weight) / tf.reduce_sum(sample_weight)
    return tf.reduce_mean(losses)
'''


def test_a_none_check_is_not_a_zero_guard(cli, project: Path) -> None:
    path = write(project, "weighted.py", NONE_CHECK)
    found = report(cli, project)
    assert rows(found) == [("EPS101", 7)]
    cli(["check", "--select", DIVISION, "--no-cache", "--fix", "--unsafe-fixes", "--exit-zero"], project)
    assert "tf.math.divide_no_nan(tf.reduce_sum(losses * sample_weight), tf.reduce_sum(sample_weight))" in path.read_text()


# -- corpus3: class weights moved to the device and indexed by the selected classes (segmentation_models_pytorch) --
CLASS_WEIGHTED = '''\
import torch
from torch import nn


class DiceLoss(nn.Module):
    def __init__(self, classes=None, class_weights=None):
        super().__init__()
        self.classes = classes
        self.class_weights = torch.tensor(class_weights, dtype=torch.float) if class_weights is not None else None

    def forward(self, y_pred, y_true):
        loss = 1.0 - (2 * (y_pred * y_true).sum(0)) / (y_pred + y_true).sum(0).clamp_min(1e-7)
        if self.classes is not None:
            loss = loss[self.classes]
        if self.class_weights is not None:
            weights = self.class_weights.to(loss.device)
            if self.classes is not None:
                weights = weights[self.classes]
            return (loss * weights).sum() / weights.sum()
        return loss.mean()

    def token_weighted(self, logits, target):
        weights = self.class_weights.to(logits.device)[target[target != -100]]
        nll = -logits.log_softmax(-1).gather(1, target[:, None])
        return nll.sum() / weights.sum()
'''


def test_constructor_class_weights_moved_and_indexed_stay_hyperparameters(cli, project: Path) -> None:
    # forward: the user's class weights, cast and sliced by the configured classes, are no data (row 19);
    # token_weighted: the same weights gathered by the non-ignored labels can be an empty selection (row 25).
    write(project, "dice.py", CLASS_WEIGHTED)
    assert rows(report(cli, project)) == [("EPS101", 25)]


# -- corpus3: the total of a torch one-hot tensor is its number of rows (speechbrain's distillation loss) ----------
ONE_HOT = '''\
import torch
import torch.nn.functional as F


class ClassificationKDLoss(torch.nn.Module):
    def forward(self, outputs, targets):
        targets = F.one_hot(targets.long(), outputs.shape[1]).float()
        predictions = F.log_softmax(outputs, dim=1)
        loss = self.criterion(predictions, targets) / targets.sum()
        per_class = (predictions * targets).sum(0) / targets.sum(0)
        return loss + per_class.mean()
'''


def test_one_hot_total_is_a_count_of_rows_but_its_class_sums_are_not(cli, project: Path) -> None:
    # row 9 divides by the whole one-hot sum (one 1 per sample); row 10 by per-class counts, 0 for a class
    # absent from the batch.
    write(project, "kd.py", ONE_HOT)
    assert rows(report(cli, project)) == [("EPS101", 10)]


# -- corpus3: accuracy's four confusion cells, and a ratio only compared with a threshold (smp, kornia) ---------
COUNTS_AND_THRESHOLDS = '''\
import torch


def accuracy_score(tp, fp, fn, tn):
    return (tp + tn) / (tp + fp + fn + tn)


def iou_score(tp, fp, fn, tn):
    return tp / (tp + fp + fn)


def disparity_outlier_rate(input, target, abs_threshold=3.0, rel_threshold=0.05):
    error = (input - target).abs()
    outlier = ((error > abs_threshold) & (error / target.abs() > rel_threshold)).float()
    return outlier.mean()


def relative_error_metric(input, target):
    ratio = (input - target).abs() / target.abs()
    return (ratio > 0.05).float().mean() + ratio.mean()
'''


def test_all_four_confusion_cells_and_a_thresholded_ratio_are_not_reported(cli, project: Path) -> None:
    # Row 5: tp + fp + fn + tn counts every sample. Row 9: tp + fp + fn is 0 for a class absent from both
    # prediction and target. Row 14: the ratio only decides a boolean. Row 19: the same ratio is also averaged.
    write(project, "scores.py", COUNTS_AND_THRESHOLDS)
    assert rows(report(cli, project)) == [("EPS101", 9), ("EPS101", 19)]


# -- corpus3: a conditional expression on an optional argument is no guard (kornia's disparity error) ----------
OPTIONAL_MASK = '''\
import torch


def _reduce_disparity_error(error, valid_mask, reduction="mean"):
    if valid_mask is not None:
        error = torch.where(valid_mask, error, 0)
    if reduction == "mean":
        count = error.numel() if valid_mask is None else valid_mask.sum()
        return error.sum() / count
    return error.sum()


def disparity_loss(pred, target, valid_mask=None):
    return _reduce_disparity_error((pred - target).abs(), valid_mask)


def masked_loss(error, mask):
    count = mask.sum() if mask.sum() > 0 else 1
    return error.sum() / count
'''


def test_a_none_test_in_a_conditional_expression_is_not_a_zero_guard(cli, project: Path) -> None:
    # Row 9: an all-False valid_mask (a frame without ground truth) makes the count 0. Row 19 tests the count.
    write(project, "disparity.py", OPTIONAL_MASK)
    assert rows(report(cli, project)) == [("EPS101", 9)]

"""Offline evaluation with NumPy: metrics over a validation set, written by hand."""

import numpy as np


def mean_iou(confusion: np.ndarray) -> float:
    intersection = np.diag(confusion)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - intersection
    return float(np.mean(intersection / union))


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    tp = np.sum((y_true == 1) & (y_pred == 1))
    tn = np.sum((y_true == 0) & (y_pred == 0))
    pos = np.sum(y_true == 1)
    neg = np.sum(y_true == 0)
    return 0.5 * (tp / pos + tn / neg)


def log_loss(y_true: np.ndarray, y_prob: np.ndarray) -> float:
    return float(-np.mean(y_true * np.log(y_prob) + (1 - y_true) * np.log(1 - y_prob)))

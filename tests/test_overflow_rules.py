"""EPS5xx through the CLI on realistic files of each framework: what is found, what `--fix` writes (and that
it parses and lints clean), and one finding per mistake when several rules could speak."""

from __future__ import annotations

import json
from pathlib import Path

import libcst as cst

from conftest import run_cli, write

TF_MODEL = '''\
import tensorflow as tf


class Attention(tf.keras.layers.Layer):
    def call(self, query, keys):
        scores = tf.matmul(query, keys, transpose_b=True)
        e = tf.exp(scores)
        return e / tf.reduce_sum(e, axis=-1, keepdims=True)


def rbm_free_energy(v, W, b, c):
    hidden = tf.reduce_sum(tf.math.log(1.0 + tf.exp(tf.matmul(v, W) + c)), axis=1)
    return -tf.linalg.matvec(v, b) - hidden


def gate(x):
    return x * (1.0 / (1.0 + tf.exp(-x)))


def contrastive_loss(y_true, emb_a, emb_b, margin=1.0):
    d = tf.sqrt(tf.reduce_sum(tf.square(emb_a - emb_b), axis=-1))
    return tf.reduce_mean(y_true * tf.square(d) + (1.0 - y_true) * tf.square(tf.maximum(margin - d, 0.0)))


def log_partition(logits):
    return tf.math.log(tf.reduce_sum(tf.exp(logits), axis=-1))


def stable_bce(labels, logits):
    return tf.nn.relu(logits) - logits * labels + tf.math.log1p(tf.exp(-tf.abs(logits)))
'''
TF_FIXED = '''\
import tensorflow as tf


class Attention(tf.keras.layers.Layer):
    def call(self, query, keys):
        scores = tf.matmul(query, keys, transpose_b=True)
        e = tf.exp(scores)
        return tf.nn.softmax(scores, axis=-1)


def rbm_free_energy(v, W, b, c):
    hidden = tf.reduce_sum(tf.math.softplus(tf.matmul(v, W) + c), axis=1)
    return -tf.linalg.matvec(v, b) - hidden


def gate(x):
    return x * (tf.sigmoid(x))


def contrastive_loss(y_true, emb_a, emb_b, margin=1.0):
    d = tf.sqrt(tf.reduce_sum(tf.square(emb_a - emb_b), axis=-1))
    return tf.reduce_mean(y_true * tf.square(d) + (1.0 - y_true) * tf.square(tf.maximum(margin - d, 0.0)))


def log_partition(logits):
    return tf.reduce_logsumexp(logits, axis=-1)


def stable_bce(labels, logits):
    return tf.nn.relu(logits) - logits * labels + tf.math.log1p(tf.exp(-tf.abs(logits)))
'''

TORCH_MODEL = '''\
import torch
import torch.nn as nn
import torch.nn.functional as F


class SelfAttention(nn.Module):
    def forward(self, q, k, v):
        scores = q @ k.transpose(-2, -1)
        weights = torch.exp(scores) / torch.exp(scores).sum(dim=-1, keepdim=True)
        return weights @ v


class PairwiseDistance(nn.Module):
    def forward(self, x):
        d2 = (x[:, None] - x[None]).pow(2).sum(-1)
        return d2.sqrt()


def nll(logits, target):
    logp = torch.log(torch.exp(logits) / torch.exp(logits).sum(1, keepdim=True))
    return -logp.gather(1, target[:, None]).mean()


def reparameterize(mu, log_var):
    return mu + torch.sqrt(torch.exp(log_var)) * torch.randn_like(mu)


def elu(x, alpha=1.0):
    return torch.where(x > 0, x, alpha * (x.exp() - 1))


def triplet_loss(a, p, n):
    return F.relu(torch.norm(a - p, dim=1) - torch.norm(a - n, dim=1) + 1.0).mean()
'''
TORCH_FIXED = '''\
import torch
import torch.nn as nn
import torch.nn.functional as F


class SelfAttention(nn.Module):
    def forward(self, q, k, v):
        scores = q @ k.transpose(-2, -1)
        weights = torch.softmax(scores, dim=-1)
        return weights @ v


class PairwiseDistance(nn.Module):
    def forward(self, x):
        d2 = (x[:, None] - x[None]).pow(2).sum(-1)
        return d2.sqrt()


def nll(logits, target):
    logp = torch.log_softmax(logits, dim=1)
    return -logp.gather(1, target[:, None]).mean()


def reparameterize(mu, log_var):
    return mu + torch.exp(log_var / 2) * torch.randn_like(mu)


def elu(x, alpha=1.0):
    return torch.where(x > 0, x, alpha * (x.expm1()))


def triplet_loss(a, p, n):
    return F.relu(torch.norm(a - p, dim=1) - torch.norm(a - n, dim=1) + 1.0).mean()
'''

JAX_MODEL = '''\
import jax
import jax.numpy as jnp


def attention(q, k, v):
    logits = q @ k.T
    return jnp.exp(logits) / jnp.sum(jnp.exp(logits), axis=-1, keepdims=True) @ v


def stable_softmax(x):
    unnormalized = jnp.exp(x - jax.lax.stop_gradient(x.max(-1, keepdims=True)))
    return unnormalized / unnormalized.sum(-1, keepdims=True)


def mixture_log_prob(log_w, log_p):
    return jnp.log(jnp.sum(jnp.exp(log_w + log_p), axis=-1))


def scale(raw):
    return jnp.log(1.0 + jnp.exp(raw))
'''
JAX_FIXED = '''\
import jax
import jax.numpy as jnp


def attention(q, k, v):
    logits = q @ k.T
    return jax.nn.softmax(logits, axis=-1) @ v


def stable_softmax(x):
    unnormalized = jnp.exp(x - jax.lax.stop_gradient(x.max(-1, keepdims=True)))
    return unnormalized / unnormalized.sum(-1, keepdims=True)


def mixture_log_prob(log_w, log_p):
    return jax.nn.logsumexp(log_w + log_p, axis=-1)


def scale(raw):
    return jax.nn.softplus(raw)
'''

NUMPY_EVAL = '''\
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax_scores(scores):
    return np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)


def log_mix(la, lb):
    return np.log(np.exp(la) + np.exp(lb))


def log_returns(prices):
    return np.log(1 + np.diff(prices) / prices[:-1])


def rmse(y_true, y_pred):
    return np.sqrt(np.mean(np.square(y_true - y_pred)))


def stable_sigmoid(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))
'''
NUMPY_FIXED = '''\
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax_scores(scores):
    return np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)


def log_mix(la, lb):
    return np.logaddexp(la, lb)


def log_returns(prices):
    return np.log1p(np.diff(prices) / prices[:-1])


def rmse(y_true, y_pred):
    return np.sqrt(np.mean(np.square(y_true - y_pred)))


def stable_sigmoid(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))
'''


def _findings(project: Path, name: str, *extra: str) -> list[tuple[str, int]]:
    result = run_cli(["--no-cache", "--select", "EPS5,EPS506", "--output-format", "json", *extra, name], project)
    assert result.returncode in (0, 1), result.stderr
    return [(d["code"], d["location"]["row"]) for d in json.loads(result.stdout)]


def _fix_and_check(project: Path, name: str, expected: str) -> None:
    result = run_cli(["--no-cache", "--select", "EPS5,EPS506", "--fix", name], project)
    assert result.returncode in (0, 1), result.stderr
    fixed = (project / name).read_text(encoding="utf-8")
    assert fixed == expected
    cst.parse_module(fixed)


def test_tensorflow_model_code(project: Path) -> None:
    write(project, "model.py", TF_MODEL)
    assert _findings(project, "model.py") == [("EPS501", 8), ("EPS503", 12), ("EPS504", 17), ("EPS505", 21), ("EPS502", 26)]
    _fix_and_check(project, "model.py", TF_FIXED)
    # What is left is the unsafe floor of the contrastive distance.
    assert _findings(project, "model.py") == [("EPS505", 21)]
    result = run_cli(["--no-cache", "--select", "EPS505", "--fix", "--unsafe-fixes", "model.py"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tf.sqrt(tf.maximum(tf.reduce_sum(tf.square(emb_a - emb_b), axis=-1), 1e-7))" in (project / "model.py").read_text(encoding="utf-8")


def test_torch_model_code(project: Path) -> None:
    write(project, "model.py", TORCH_MODEL)
    # One finding for the log of the hand-written softmax (log-softmax), none for torch.norm (its backward is
    # masked at 0), a square root at zero in the module's forward.
    assert _findings(project, "model.py") == [("EPS501", 9), ("EPS505", 16), ("EPS501", 20), ("EPS505", 25), ("EPS506", 29)]
    _fix_and_check(project, "model.py", TORCH_FIXED)
    assert _findings(project, "model.py") == [("EPS505", 16)]


def test_jax_code(project: Path) -> None:
    write(project, "model.py", JAX_MODEL)
    assert _findings(project, "model.py") == [("EPS501", 7), ("EPS502", 16), ("EPS503", 20)]
    _fix_and_check(project, "model.py", JAX_FIXED)
    assert _findings(project, "model.py") == []


def test_numpy_evaluation_code(project: Path) -> None:
    write(project, "metrics.py", NUMPY_EVAL)
    # No gradient in NumPy: the RMSE's square root is fine; the two-branch sigmoid is the stable one. Without
    # scipy.special imported, the sigmoid and the softmax have no spelling, so no fix. The hand-written NumPy
    # sigmoid only warns (no gradient, and 1 / (1 + inf) = 0 is right): reported with preview only.
    assert _findings(project, "metrics.py") == [("EPS501", 9), ("EPS502", 13), ("EPS506", 17)]
    assert _findings(project, "metrics.py", "--preview") == [("EPS504", 5), ("EPS501", 9), ("EPS502", 13), ("EPS506", 17)]
    _fix_and_check(project, "metrics.py", NUMPY_FIXED)
    assert _findings(project, "metrics.py") == [("EPS501", 9)]


def test_log_of_a_hand_written_softmax_is_one_finding_with_every_rule(project: Path) -> None:
    write(
        project,
        "losses.py",
        """\
        import tensorflow as tf


        def categorical_loss(y_true, logits):
            probs_log = tf.math.log(tf.exp(logits) / tf.reduce_sum(tf.exp(logits), axis=-1, keepdims=True))
            return -tf.reduce_mean(tf.reduce_sum(y_true * probs_log, axis=-1))
        """,
    )
    result = run_cli(["--no-cache", "--select", "ALL", "--output-format", "json", "losses.py"], project)
    found = [(d["code"], d["location"]["row"], d["message"]) for d in json.loads(result.stdout)]
    assert [(code, row) for code, row, _ in found] == [("EPS501", 5)]
    assert "tf.nn.log_softmax(logits, axis=-1)" in found[0][2]


def test_log1p_is_not_offered_for_the_complement_of_a_probability_or_a_softplus(project: Path) -> None:
    write(
        project,
        "losses.py",
        """\
        import tensorflow as tf


        def bce(y_true, y_pred):
            return -tf.reduce_mean(y_true * tf.math.log(y_pred + 1e-7) + (1 - y_true) * tf.math.log(1 - y_pred))


        def softplus_loss(y_true, z):
            return tf.reduce_mean(tf.math.log(1 + tf.exp(z)) - y_true * z)
        """,
    )
    result = run_cli(["--no-cache", "--select", "ALL", "--output-format", "json", "losses.py"], project)
    found = [(d["code"], d["location"]["row"]) for d in json.loads(result.stdout)]
    assert found == [("EPS201", 5), ("EPS503", 9)]


def test_the_sigmoid_fix_of_a_negated_product_does_not_negate_twice(project: Path) -> None:
    """`-v @ W` is `(-v) @ W` in Python: sigmoid's argument is `v @ W`, not `-(-v @ W)`; and the fixed code
    computes what the original computed wherever the original was finite."""
    write(
        project,
        "rbm.py",
        """\
        import torch


        def hidden_probabilities(v, W, scale):
            return 1.0 / (1.0 + torch.exp(-v @ W)), 1.0 / (1.0 + torch.exp(-scale * v / 2.0))
        """,
    )
    _fix_and_check(
        project,
        "rbm.py",
        "import torch\n\n\ndef hidden_probabilities(v, W, scale):\n    return torch.sigmoid(v @ W), torch.sigmoid(scale * v / 2.0)\n",
    )
    import numpy as np

    v, W, scale = np.array([[0.5, -2.0, 3.0]]), np.array([[1.0], [0.25], [-0.75]]), 1.5
    original = (1.0 / (1.0 + np.exp(-v @ W)), 1.0 / (1.0 + np.exp(-scale * v / 2.0)))
    fixed = (1.0 / (1.0 + np.exp(-(v @ W))), 1.0 / (1.0 + np.exp(-(scale * v / 2.0))))
    for before, after in zip(original, fixed):
        assert np.array_equal(before, after)

"""Shared fixtures: run the real CLI (as a subprocess, or through click's runner) on real files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from lint_eps.cli import main

ROOT = Path(__file__).resolve().parents[1]


def write(folder: Path, relative: str, text: str) -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project folder (with a pyproject.toml so config discovery stops here)."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n", encoding="utf-8")
    return tmp_path


def run_cli(args: list[str], cwd: Path, input: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m lint_eps ARGS` in `cwd`, as a user would run it."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "lint_eps", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        input=input,
        env=full_env,
        timeout=300,
    )


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch):
    """Invoke the CLI in-process with click's runner, in a given folder: cli(["--select", ...], cwd=path)."""

    def invoke(args: list[str], cwd: Path):
        monkeypatch.chdir(cwd)
        return CliRunner().invoke(main, args, catch_exceptions=False)

    return invoke


# Realistic snippets shared by several test modules.
TF_LOSS = '''\
import tensorflow as tf


def sigmoid_bce(y_true, logits):
    probs = tf.sigmoid(logits)
    return -tf.reduce_mean(y_true * tf.math.log(probs) + (1.0 - y_true) * tf.math.log(1.0 - tf.sigmoid(logits)))
'''
TF_LOSS_FIXED = '''\
import tensorflow as tf


def sigmoid_bce(y_true, logits):
    probs = tf.sigmoid(logits)
    return -tf.reduce_mean(y_true * tf.math.log_sigmoid(logits) + (1.0 - y_true) * tf.math.log_sigmoid(-logits))
'''
CLEAN = '''\
import tensorflow as tf


def sigmoid_bce(y_true, logits):
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y_true, logits=logits))
'''

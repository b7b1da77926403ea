"""The catalogue as a whole: one mistake gets one finding, and examples/ shows every default rule."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import ROOT, run_cli, write
from lint_eps.registry import all_rules

OVERLAPS = '''\
import tensorflow as tf


def bce(y_true, y_pred):
    return -tf.reduce_mean(y_true * tf.math.log(tf.sigmoid(y_pred)))


def masked_loss(y_true, y_pred, mask):
    total = tf.reduce_sum(mask)
    return tf.where(total > 0, tf.reduce_sum(y_true * mask) / total, 0.0)


def logit_loss(y_true, y_pred):
    return tf.reduce_mean(tf.math.log(y_pred / (1 - y_pred)))
'''


def test_one_mistake_one_finding_with_every_rule_selected(project: Path) -> None:
    """log(sigmoid) is EPS202 not also EPS201; a single-where division is EPS103 not also EPS101; a logit
    transform is EPS203 not also EPS201."""
    write(project, "losses.py", OVERLAPS)
    result = run_cli(["--select", "ALL", "--extend-select", "EPS303", "--output-format", "json", "losses.py"], project)
    found = [(d["code"], d["location"]["row"]) for d in json.loads(result.stdout)]
    assert found == [("EPS202", 5), ("EPS103", 10), ("EPS203", 14)]


def test_examples_show_every_default_rule() -> None:
    """The README's main command lints examples/: it must show a realistic case of every default rule."""
    result = run_cli(["--no-cache", "--output-format", "json", "examples"], ROOT)
    assert result.returncode == 1, result.stderr
    shown = {d["code"] for d in json.loads(result.stdout)}
    default = {code for code, rule in all_rules().items() if rule.default_enabled and not rule.engine_only}
    assert default <= shown, f"examples/ lacks a case of {sorted(default - shown)}"
    assert not any(code.startswith("EPS00") for code in shown), "examples/ must parse and lint without errors"


def test_lint_eps_lints_its_own_code_clean() -> None:
    """pyproject.toml says so: every default rule is silent on lint-eps's own engine, rules, tests and bench (a new
    rule that fires here is either wrong or has found a real bug to fix)."""
    result = run_cli(["--no-cache", "--output-format", "json", "lint_eps", "rules", "tests", "bench"], ROOT)
    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stdout

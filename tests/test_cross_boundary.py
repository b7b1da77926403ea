"""Values across function, class and module boundaries (issue 12), on two-file projects linted as a user does.

The single-file patterns are VALID/INVALID examples of the rules (tests/test_rule_examples.py); here: imports
inside the project, the notes that say where a value came from, the cache that must re-lint a file when a module
it used changes, and the language server refreshing an importer when the imported module is saved.
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli, write

NETS = """\
import torch
from torch import nn


def discriminator(x, w):
    h = x @ w
    return torch.sigmoid(h)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, 1), nn.Sigmoid())

    def forward(self, x):
        return self.body(x)


class Critic(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 1)

    def forward(self, x):
        return self.fc(x)
"""

TRAIN = """\
import torch
from torch import nn

from .nets import Critic, Discriminator, discriminator


def d_loss(x, w):
    return -torch.log(discriminator(x, w)).mean()


def d_step(disc: Discriminator, x, ones):
    return nn.BCEWithLogitsLoss()(disc(x), ones)


def c_step(critic: Critic, x, ones):
    return nn.BCEWithLogitsLoss()(critic(x), ones)


def untyped_step(disc, x):
    return -torch.log(disc(x)).mean()
"""


def _lint(project: Path, *args: str) -> list[dict]:
    result = run_cli(["--output-format", "json", *args], project)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return json.loads(result.stdout)


def _gan(project: Path) -> None:
    write(project, "gan/__init__.py", "")
    write(project, "gan/nets.py", NETS)
    write(project, "gan/train.py", TRAIN)


def test_a_gan_split_across_two_modules_is_one_program(project: Path) -> None:
    _gan(project)
    found = _lint(project, "--no-cache", "gan")
    assert [(Path(d["filename"]).name, d["code"], d["location"]["row"]) for d in found] == [
        ("train.py", "EPS201", 8),  # log of the sigmoid discriminator() returns
        ("train.py", "EPS301", 12),  # BCEWithLogitsLoss on a Discriminator, whose forward ends in nn.Sigmoid()
    ]  # the Critic returns logits, and an untyped parameter is unknown: no finding
    notes = [r["message"] for d in found for r in d["related"]]
    assert notes == [
        "the probability is the `torch.sigmoid` output returned by `discriminator()` (nets.py:7)",
        "the output is the `nn.Sigmoid()` output returned by `Discriminator.forward()` (nets.py:13)",
    ]


def test_absolute_imports_under_the_project_root_cross_too(project: Path) -> None:
    write(project, "nets.py", NETS)
    write(project, "train.py", TRAIN.replace("from .nets import", "from nets import"))
    found = _lint(project, "--no-cache", ".")
    assert [(d["code"], d["location"]["row"]) for d in found] == [("EPS201", 8), ("EPS301", 12)]


def test_third_party_modules_are_never_read(project: Path) -> None:
    # `nets` is not a file of the project: nothing is known about what it returns.
    write(project, "train.py", TRAIN.replace("from .nets import", "from nets import"))
    assert _lint(project, "--no-cache", "train.py") == []


def test_editing_the_imported_module_relints_the_importer_from_the_cache(project: Path) -> None:
    _gan(project)
    assert len(_lint(project, "gan")) == 2  # fills the cache
    nets = project / "gan" / "nets.py"
    # A comment changes the content but not what the module says: the cached findings still hold.
    nets.write_text(NETS + "# tuned on 2026-12-01\n", encoding="utf-8")
    assert len(_lint(project, "gan")) == 2
    # discriminator() now returns logits: the log of it is no longer a finding, without --no-cache.
    nets.write_text(NETS.replace("return torch.sigmoid(h)", "return h"), encoding="utf-8")
    assert [(d["code"], d["location"]["row"]) for d in _lint(project, "gan")] == [("EPS301", 12)]
    nets.write_text(NETS, encoding="utf-8")
    assert len(_lint(project, "gan")) == 2


def test_a_discarded_clip_is_named_in_the_finding(project: Path) -> None:
    write(
        project,
        "loss.py",
        """\
        import tensorflow as tf


        def cross_entropy(y_true, logits):
            pred = tf.nn.softmax(logits)
            tf.clip_by_value(pred, 1e-10, 1.0)
            return -tf.reduce_sum(y_true * tf.math.log(pred))


        def cross_entropy_clipped(y_true, logits):
            pred = tf.nn.softmax(logits)
            pred = tf.clip_by_value(pred, 1e-10, 1.0)
            return -tf.reduce_sum(y_true * tf.math.log(pred))
        """,
    )
    found = _lint(project, "--no-cache", "--select", "EPS2", "loss.py")
    assert [(d["code"], d["location"]["row"]) for d in found] == [("EPS202", 7)]
    assert ("this clip's result is thrown away, so it guards nothing: assign it", 6) in [
        (r["message"], r["location"]["row"]) for r in found[0]["related"]
    ]


def test_a_helper_some_callers_guard_names_one_that_does_not(project: Path) -> None:
    write(
        project,
        "metrics.py",
        """\
        import numpy as np


        def _deviance(y, p):
            return np.sum((y - p) ** 2) / np.sum(y)


        def deviance_score(y, p):
            if np.sum(y) <= 0:
                raise ValueError("y must have a positive sum")
            return _deviance(y, p)


        def d2_score(y, p):
            return 1 - _deviance(y, p)
        """,
    )
    found = _lint(project, "--no-cache", "metrics.py")
    assert [(d["code"], d["location"]["row"]) for d in found] == [("EPS101", 5)]
    assert [(r["message"], r["location"]["row"]) for r in found[0]["related"]] == [("`d2_score()` calls `_deviance` here without a guard", 15)]
    # Once every caller guards, the helper is guarded.
    source = (project / "metrics.py").read_text(encoding="utf-8")
    (project / "metrics.py").write_text(source[: source.index("\n\ndef d2_score")] + "\n", encoding="utf-8")
    assert _lint(project, "--no-cache", "metrics.py") == []


def test_sarif_carries_the_notes_as_related_locations(project: Path) -> None:
    _gan(project)
    result = run_cli(["--no-cache", "--output-format", "sarif", "gan"], project)
    results = json.loads(result.stdout)["runs"][0]["results"]
    related = results[0]["relatedLocations"]
    assert related[0]["message"]["text"] == "the probability is the `torch.sigmoid` output returned by `discriminator()` (nets.py:7)"
    assert related[0]["physicalLocation"]["region"]["startLine"] == 8

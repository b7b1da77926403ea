"""Parsing only the functions a rule can need (lint_eps/skeleton.py): the stubbed text keeps every position,
and a finding that depends on another function's body survives because that function's gate keeps it."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings
import hypothesmith

from conftest import run_cli
from lint_eps import lint_source
from lint_eps.engine import rules_for, triggered
from lint_eps.prefilter import FileText
from lint_eps.registry import all_rules, selected_codes
from lint_eps.settings import Settings
from lint_eps.skeleton import needed_functions, skeleton

pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")

EVERY_CODE = frozenset(all_rules())


def _key(diagnostics) -> list[tuple]:
    return [(d.code, d.location.row, d.location.column, d.end_location.row, d.message, d.fix.edits if d.fix else None) for d in diagnostics]


def _stubbed(source: str, codes: frozenset[str] = EVERY_CODE) -> tuple[str, list[bool]]:
    text = FileText(source, "m.py")
    rules = triggered(rules_for(codes), text)
    needed = needed_functions(text, (rule.needs_function for rule in rules))
    assert needed is not None, "nothing was stubbed: the test would not exercise the skeleton"
    return skeleton(text, needed), needed


# -- the stubbed text -----------------------------------------------------------------------------------
MIXED = textwrap.dedent(
    '''\
    import numpy as np


    @decorator(
        arg=1,
    )
    def unrelated(a, b=2):
        """A docstring
        over lines."""
        @inner_decorator
        def nested():
            return a
        return nested() + b  # comment


    def one_liner(x): return x / 2


    class Holder:
        attribute = 1

        def method(self,
                   other):
            if other:
                return other
            return self.attribute


    def dice(y_true, y_pred):
        return np.sum(y_true * y_pred) / np.sum(y_pred)
    '''
)


def test_the_skeleton_keeps_lines_signatures_and_the_needed_functions_as_written() -> None:
    stubbed, needed = _stubbed(MIXED)
    assert needed == [False, True, False, True]  # unrelated, one_liner (cannot be stubbed), method, dice
    original_lines = MIXED.splitlines()
    stubbed_lines = stubbed.splitlines()
    assert len(stubbed_lines) == len(original_lines)
    assert "def unrelated(a, b=2):" in stubbed and "    ..." in stubbed and "nested" not in stubbed
    assert "    def method(self,\n               other):\n        ...\n" in stubbed and "return other" not in stubbed
    assert "attribute = 1" in stubbed
    # Every line of the needed function is where it was.
    start = original_lines.index("def dice(y_true, y_pred):")
    assert stubbed_lines[start:] == original_lines[start:]
    cst.parse_module(stubbed)


def test_the_skeleton_keeps_crlf_and_tab_indentation() -> None:
    source = "import numpy as np\r\n\r\ndef helper(x):\r\n\tif x:\r\n\t\treturn 1\r\n\treturn 2\r\n\r\ndef dice(y_true, y_pred):\r\n\treturn np.sum(y_true * y_pred) / np.sum(y_pred)\r\n"
    stubbed, needed = _stubbed(source)
    assert needed == [False, True]
    assert stubbed == "import numpy as np\r\n\r\ndef helper(x):\r\n\t...\r\n\r\n\r\n\r\ndef dice(y_true, y_pred):\r\n\treturn np.sum(y_true * y_pred) / np.sum(y_pred)\r\n"
    findings = lint_source(source, "m.py")
    assert [(d.code, d.location.row) for d in findings] == [("EPS101", 9)]
    assert _key(findings) == _key(lint_source(source, "m.py", prefilter=False))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_grammar())
def test_stubbing_every_function_of_a_generated_program_parses_and_keeps_its_lines(source: str) -> None:
    text = FileText(source, "generated.py")
    if not text.outermost:
        return
    stubbed = skeleton(text, [False] * len(text.outermost))
    assert stubbed.count("\n") == source.count("\n") and stubbed.count("\r") == source.count("\r")
    cst.parse_module(stubbed)


# -- findings that read another function ----------------------------------------------------------------
CROSS_FUNCTION = {
    # The denominator is running state: the division's method is kept, and so is the method updating it.
    "division reads the class's state updates": (
        "EPS101",
        '''\
        import tensorflow as tf
        import keras


        class Agreement(keras.metrics.Metric):
            def __init__(self, name="agreement", **kwargs):
                super().__init__(name=name, **kwargs)
                self.hits = self.add_weight(name="hits", initializer="zeros")
                self.seen = self.add_weight(name="seen", initializer="zeros")

            def update_state(self, y_true, y_pred, sample_weight=None):
                positive = tf.cast(y_pred > 0.5, tf.float32)
                self.hits.assign_add(tf.reduce_sum(positive * y_true))
                self.seen.assign_add(tf.reduce_sum(positive))

            def result(self):
                return self.hits / self.seen

            def describe(self):
                return {"name": self.name, "kind": "agreement", "version": 3}


        def unrelated_helper(rows):
            total = 0
            for row in rows:
                total += len(row)
            return total
        ''',
    ),
    # `agree` has a metric role only because another function passes it to compile.
    "a role given by compile in another function": (
        "EPS101",
        '''\
        import tensorflow as tf


        def agree(reference, y_pred):
            tp = tf.reduce_sum(reference * y_pred)
            fp = tf.reduce_sum((1 - reference) * y_pred)
            return tp / (tp + fp)


        def train(model, data):
            model.compile(optimizer="adam", loss="mse", metrics=[agree])
            model.fit(data)


        def unrelated_helper(rows):
            return [row.strip() for row in rows]
        ''',
    ),
    # The loss object is built in __init__, the model in build, both called in training_step; the sigmoid is in
    # the forward of a class defined in the file.
    "a torch loss object and module class": (
        "EPS301",
        '''\
        import torch
        from torch import nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Linear(8, 1)

            def forward(self, x):
                return torch.sigmoid(self.body(x))


        class Trainer:
            def __init__(self):
                self.criterion = nn.BCEWithLogitsLoss()

            def build(self):
                self.net = Net()

            def training_step(self, x, y):
                return self.criterion(self.net(x), y)

            def summary(self):
                return "trainer with " + str(self.net)


        def unrelated_helper(rows):
            return sorted(rows)
        ''',
    ),
    # The alias is imported at module level; the call spells only the alias.
    "a log through a module-level alias": (
        "EPS201",
        '''\
        from numpy import log as ln
        import numpy as np


        def cross_entropy_loss(y_true, y_pred):
            return -np.mean(y_true * ln(y_pred))


        def unrelated_helper(rows):
            return [r * 2 for r in rows]
        ''',
    ),
    # The epsilon is a module constant, the dtype a module-level dtype; the division is in the function.
    "a float16 reciprocal with module-level epsilon and dtype": (
        "EPS403",
        '''\
        import numpy as np

        EPS = 1e-7
        HALF = np.float16


        def normalise(x, y):
            h = x.astype(HALF)
            return y / (h + EPS)


        def unrelated_helper(rows):
            return [r * 2 for r in rows]
        ''',
    ),
    # A float32-tiny epsilon that only a power computes, bound at module level: the power folds (both operands
    # are numbers), so the function that divides by the name is kept.
    "a float32-tiny epsilon a module-level power computes": (
        "EPS403",
        '''\
        import numpy as np

        TINY = 2.0 ** -130


        def normalise(x, y):
            h = x.astype(np.float32)
            return y / (h + TINY)


        def unrelated_helper(rows):
            return [r * 2 for r in rows]
        ''',
    ),
    # The float type comes from a set_floatx call in another function.
    "a global epsilon judged in the floatx another function sets": (
        "EPS401",
        '''\
        import keras


        def configure_precision():
            keras.config.set_floatx("float16")


        def main():
            keras.config.set_epsilon(1e-5)


        def unrelated_helper(rows):
            return [r * 2 for r in rows]
        ''',
    ),
    # The distance is differentiated because another function passes it to a Lambda layer.
    "a distance made differentiable by a Lambda layer built elsewhere": (
        "EPS505",
        '''\
        from tensorflow import keras
        from tensorflow.keras import backend as K


        def euclidean_distance(vects):
            x, y = vects
            return K.sqrt(K.sum(K.square(x - y), axis=1, keepdims=True))


        def build_siamese(encoder, left, right):
            return keras.layers.Lambda(euclidean_distance)([encoder(left), encoder(right)])


        def unrelated_helper(rows):
            return [r * 2 for r in rows]
        ''',
    ),
    # The exp is imported under another name; the function spells only the alias.
    "an exp through a module-level alias": (
        "EPS503",
        '''\
        from torch import exp as texp
        import torch


        def free_energy(v, W):
            return -torch.log(1 + texp(v @ W)).sum(-1)


        def unrelated_helper(rows):
            return [r * 2 for r in rows]
        ''',
    ),
}


@pytest.mark.parametrize("code, source", list(CROSS_FUNCTION.values()), ids=list(CROSS_FUNCTION))
def test_a_finding_that_reads_another_function_survives_the_skeleton(code: str, source: str) -> None:
    source = textwrap.dedent(source)
    stubbed, needed = _stubbed(source)
    assert not all(needed)
    assert "unrelated_helper(rows):\n    ..." in stubbed
    with_skeleton = lint_source(source, "m.py", codes=EVERY_CODE)
    assert code in {d.code for d in with_skeleton}
    assert _key(with_skeleton) == _key(lint_source(source, "m.py", codes=EVERY_CODE, prefilter=False))


def test_the_sqrt_rule_s_own_gate_keeps_the_function_that_builds_the_lambda_layer() -> None:
    source = textwrap.dedent(CROSS_FUNCTION["a distance made differentiable by a Lambda layer built elsewhere"][1])
    only = frozenset({"EPS505"})
    stubbed, needed = _stubbed(source, only)
    assert needed == [True, True, False]
    findings = lint_source(source, "m.py", codes=only)
    assert [(d.code, d.location.row) for d in findings] == [("EPS505", 7)]
    assert _key(findings) == _key(lint_source(source, "m.py", codes=only, prefilter=False))


def test_each_rule_s_own_gate_keeps_what_it_reads() -> None:
    # With EPS401 alone, only its own gate decides what is parsed (EPS403 would also keep the setter).
    source = textwrap.dedent(CROSS_FUNCTION["a global epsilon judged in the floatx another function sets"][1])
    only = frozenset({"EPS401"})
    stubbed, needed = _stubbed(source, only)
    assert needed == [True, True, False]
    findings = lint_source(source, "m.py", codes=only)
    assert [d.code for d in findings] == ["EPS401"]
    assert _key(findings) == _key(lint_source(source, "m.py", codes=only, prefilter=False))


def test_powers_of_tensors_and_tiny_words_in_strings_do_not_keep_a_function_for_eps403() -> None:
    """EPS403 needs a value below float32's range: `diff ** 2` cannot fold to one, nor can a model named
    `vit_tiny` in a table of configurations; a power of module constants can."""
    source = textwrap.dedent(
        '''\
        import numpy as np

        EPS = 1e-20
        CONFIGS = {"vit_tiny.in1k": {"mean": 0.485, "scale": 0.0000312}}


        def normalise(x, y):
            h = x.astype(np.float32)
            return y / (h + EPS ** 2)


        def mse(pred, target):
            diff = pred - target
            return (diff ** 2).mean() + 1


        def config_for(name):
            return CONFIGS[name]["mean"] + 0.5
        '''
    )
    only = frozenset({"EPS403"})
    stubbed, needed = _stubbed(source, only)
    assert needed == [True, False, True]  # config_for writes CONFIGS, which holds a long decimal fraction
    findings = lint_source(source, "m.py", codes=only)
    assert [(d.code, d.location.row) for d in findings] == [("EPS403", 9)]
    assert _key(findings) == _key(lint_source(source, "m.py", codes=only, prefilter=False))


def test_the_cli_reports_positions_in_a_large_file_where_most_functions_are_stubbed(project) -> None:
    helpers = "".join(f"def helper_{i}(rows):\n    total = 0\n    for row in rows:\n        total += row\n    return total\n\n\n" for i in range(300))
    metric = "import numpy as np\n\n\n" + helpers + "def precision(tp, fp):\n    return tp / (tp + fp)\n"
    path = project / "metrics.py"
    path.write_text(metric, encoding="utf-8")
    text = FileText(metric, str(path))
    codes = selected_codes(Settings(), str(path))
    needed = needed_functions(text, (rule.needs_function for rule in triggered(rules_for(codes), text)))
    assert needed is not None and sum(needed) == 1
    result = run_cli(["--no-cache", str(path)], cwd=project)
    assert result.returncode == 1
    assert f"metrics.py:{metric.count(chr(10))}:12: EPS101" in result.stdout

"""Speed-ups that must not change a single finding, and inputs at scale: generated programs, a 5 MB file, the
installed tensorflow and keras packages end to end (slow)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import libcst as cst
import libcst.matchers as m
import pytest
from hypothesis import HealthCheck, given, settings
import hypothesmith

from conftest import run_cli

# hypothesmith's generated programs make CPython warn ("'int' object is not callable"): noise, not findings.
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")
from lint_eps import lint_source
from lint_eps.engine import SYNTAX_ERROR, rules_for, triggered
from lint_eps.fixes import fix_source
from lint_eps.prefilter import FileText
from lint_eps.registry import all_rules
from lint_eps.rule import Invalid
from lint_eps.settings import Settings
from lint_eps import match
from lint_eps.walk import findall, walk

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(cst.__file__).resolve().parents[1]


def _key(diagnostics) -> list[tuple]:
    return [(d.code, d.location.row, d.location.column, d.message, d.fix.edits if d.fix else None) for d in diagnostics]


EVERY_CODE = frozenset(all_rules())


def _examples() -> list:
    return [
        pytest.param(code, example, id=f"{code}-{index}")
        for code, rule in sorted(all_rules().items())
        for index, example in enumerate(rule.INVALID)
    ]


@pytest.mark.parametrize("code,example", _examples())
def test_prefilter_never_drops_a_finding_of_an_invalid_example(code: str, example: Invalid) -> None:
    settings = Settings(**dict(example.settings))
    with_prefilter = lint_source(example.code, "example.py", settings, codes=EVERY_CODE)
    without = lint_source(example.code, "example.py", settings, codes=EVERY_CODE, prefilter=False)
    assert _key(with_prefilter) == _key(without)
    assert any(d.code == code for d in with_prefilter), f"{code}: the example's own rule must report"


def test_prefilter_spares_files_no_rule_can_report_on() -> None:
    # A numerics module with divisions and a norm, but no metric, loss or training function and no log.
    plain = "import numpy as np\n\ndef normalize(v):\n    return v / np.linalg.norm(v)\n"
    rules = rules_for(EVERY_CODE)
    assert triggered(rules, FileText(plain)) == []
    assert lint_source(plain, "ops.py", codes=EVERY_CODE) == lint_source(plain, "ops.py", codes=EVERY_CODE, prefilter=False) == []
    # A softmax writes `exp`: only the rules about hand-written exp forms (EPS5xx) read it, and the stable
    # (max-shifted) form is clean. No log: the log-sum-exp and softplus rules spare it too.
    plain += "\ndef softmax(x):\n    e = np.exp(x - x.max())\n    return e / e.sum()\n"
    read_by = {r.code for r in triggered(rules, FileText(plain))}
    assert read_by and all(code.startswith("EPS5") for code in read_by) and not read_by & {"EPS502", "EPS503"}
    assert lint_source(plain, "ops.py", codes=EVERY_CODE) == lint_source(plain, "ops.py", codes=EVERY_CODE, prefilter=False) == []
    # The same file with a loss dividing by a data-dependent sum is parsed, and the division reported.
    loss = plain + "\n\ndef dice_loss(y_true, y_pred):\n    return 1 - 2 * (y_true * y_pred).sum() / (y_true + y_pred).sum()\n"
    assert "EPS101" in {r.code for r in triggered(rules, FileText(loss))}
    assert [d.code for d in lint_source(loss, "losses.py")] == ["EPS101"]


def test_prefilter_sees_a_gradient_function_through_an_import_alias() -> None:
    source = (
        "import jax\nfrom jax import grad as g\n\n"
        "def step(params, x, y):\n    def f(p):\n        return (p * x - y).sum() / y.sum()\n    return g(f)(params)\n"
    )
    assert lint_source(source, "train.py", prefilter=True) == lint_source(source, "train.py", prefilter=False)
    assert "EPS101" in {r.code for r in triggered(rules_for(EVERY_CODE), FileText(source))}


def test_prefilter_reads_identifiers_as_written_not_nfkc_normalised() -> None:
    # CPython's ast normalises `ｌoss` to `loss`; libcst (and the rules) see the name as written.
    source = "def ｄice(y_true, y_pred):\n    return (y_true * y_pred).sum() / y_pred.sum()\n"
    facts = FileText(source).functions
    assert facts is not None and facts[0].name == "ｄice"
    assert lint_source(source, "m.py") == lint_source(source, "m.py", prefilter=False)


def test_fast_walk_visits_in_libcsts_order_on_real_files() -> None:
    class Recorder(cst.CSTVisitor):
        def __init__(self) -> None:
            self.seen: list[tuple[str, int]] = []

        def on_visit(self, node: cst.CSTNode) -> bool:
            self.seen.append(("visit", id(node)))
            return True

        def on_leave(self, original_node: cst.CSTNode) -> None:
            self.seen.append(("leave", id(original_node)))

    for path in [ROOT / "lint_eps" / "engine.py", ROOT / "rules" / "division.py", SITE / "libcst" / "_nodes" / "expression.py"]:
        module = cst.parse_module(path.read_text(encoding="utf-8"))
        expected, got = Recorder(), Recorder()
        module.visit(expected)
        walk(module, got, tokens=True)
        assert got.seen == expected.seen, path
        for build in (lambda m: m.Call(), lambda m: m.If() | m.Assert(), lambda m: m.BinaryOperation(operator=m.Divide()), lambda m: m.Name("self")):
            assert list(findall(module, build(match))) == list(m.findall(module, build(m))), (path, build(match))


# -- generated programs ---------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_grammar())
def test_generated_programs_never_crash_the_linter_and_fixes_are_idempotent(source: str) -> None:
    every = frozenset(all_rules())
    diagnostics = lint_source(source, "generated.py", codes=every)
    assert all(d.code != "EPS002" for d in diagnostics), [d.message for d in diagnostics]
    assert _key(diagnostics) == _key(lint_source(source, "generated.py", codes=every, prefilter=False))
    outcome = fix_source(source, "generated.py", Settings(), unsafe=True, codes=every)
    assert outcome.error is None
    if outcome.changed(source):
        cst.parse_module(outcome.text)
        again = fix_source(outcome.text, "generated.py", Settings(), unsafe=True, codes=every)
        assert not again.changed(outcome.text)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_node())
def test_generated_statements_never_crash_the_linter(source: str) -> None:
    diagnostics = lint_source(source, "generated.py", codes=frozenset(all_rules()))
    assert all(d.code not in ("EPS002",) for d in diagnostics)
    assert not any(d.code == SYNTAX_ERROR for d in diagnostics)  # from_node generates valid code


# -- big inputs -------------------------------------------------------------------------------------------
LOSS_TEMPLATE = '''

class Block{i}(keras.layers.Layer):
    """A residual block with its own loss term ({i})."""

    def __init__(self, units={units}, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(units, activation="relu")
        self.scale = 1.0 / units

    def call(self, inputs, training=False):
        hidden = self.dense(inputs)
        if training:
            hidden = hidden * self.scale
        return inputs + hidden


def dice_loss_{i}(y_true, y_pred):
    intersection = tf.reduce_sum(y_true * y_pred)
    return 1 - 2 * intersection / (tf.reduce_sum(y_true) + tf.reduce_sum(y_pred))


def log_loss_{i}(y_true, logits):
    probs = tf.sigmoid(logits)
    return -tf.reduce_mean(y_true * tf.math.log(probs))


def helper_{i}(values, count):
    total = sum(v * {units} for v in values)
    return [total / max(count, 1), "{text}"]
'''


@pytest.mark.slow  # about 2 minutes: libcst needs ~850 bytes of memory per byte of source
def test_five_megabyte_file_is_linted_whole(project: Path) -> None:
    parts = ["import keras\nimport tensorflow as tf\n"]
    size, i = 0, 0
    while size < 5_000_000:
        part = LOSS_TEMPLATE.format(i=i, units=16 + i % 50, text="x" * (i % 40))
        parts.append(part)
        size += len(part)
        i += 1
    (project / "big.py").write_text("".join(parts), encoding="utf-8")
    # Minutes of work: over the default time budget (file-timeout), which this test is not about.
    result = run_cli(["--output-format", "json", "--no-cache", "--statistics", "--file-timeout", "0", "big.py"], project)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    counts = {row["code"]: row["count"] for row in json.loads(result.stdout)}
    # Each of the i copies has one unguarded division in a loss and one log of a sigmoid.
    assert counts.get("EPS101") == i and counts.get("EPS202") == i, (counts, i)
    assert "EPS002" not in counts


def test_fix_keeps_crlf_and_tab_indentation_together_in_a_multi_rule_file(project: Path) -> None:
    source = (
        "import torch\n"
        "import tensorflow as tf\n"
        "\n"
        "class Head(torch.nn.Module):\n"
        "\tdef forward(self, z):\n"
        "\t\tp = torch.sigmoid(z)\n"
        "\t\treturn torch.log(p)\n"
        "\n"
        "def bce(y_true, y_pred):\n"
        "\ty_pred = tf.clip_by_value(y_pred, 1e-12, 1 - 1e-12)\n"
        "\treturn -tf.reduce_mean(y_true * tf.math.log(y_pred) + (1 - y_true) * tf.math.log(1 - y_pred))\n"
    ).replace("\n", "\r\n")
    path = project / "mixed.py"
    path.write_bytes(source.encode())
    result = run_cli(["--fix", "--unsafe-fixes", "--exit-zero", "mixed.py"], project)
    assert result.returncode == 0, result.stderr
    data = path.read_bytes()
    assert data != source.encode(), "both rules have fixes here"
    assert b"\n" not in data.replace(b"\r\n", b""), "every line still ends with CRLF"
    assert all(line.startswith((b"\t", b"import", b"class", b"def", b"")) and not line.startswith(b" ") for line in data.split(b"\r\n"))
    assert b"log_sigmoid" in data or b"logsigmoid" in data
    assert b"1e-07" in data or b"1e-7" in data
    cst.parse_module(data.decode())
    second = run_cli(["--fix", "--unsafe-fixes", "--exit-zero", "mixed.py"], project)
    assert second.returncode == 0 and path.read_bytes() == data


# -- the installed frameworks, end to end ----------------------------------------------------------------
@pytest.mark.slow
def test_installed_tensorflow_and_keras_lint_end_to_end_without_internal_errors(tmp_path: Path) -> None:
    import importlib.util

    folders = []
    for package in ("tensorflow", "keras"):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            pytest.fail(f"{package} is not installed (pip install -e '.[test]')")
        folders.append(list(spec.submodule_search_locations)[0])
    (tmp_path / "lint-eps.toml").write_text("respect-gitignore = false\n", encoding="utf-8")
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "lint_eps", "--output-format", "json", "--no-cache", "--exit-zero", "--config", str(tmp_path / "lint-eps.toml"), *folders],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    data = json.loads(result.stdout)
    internal = [d for d in data if d["code"] == "EPS002"]
    assert internal == [], internal[:5]
    counts: dict[str, int] = {}
    for d in data:
        counts[d["code"]] = counts.get(d["code"], 0) + 1
    print(f"\ntensorflow+keras: {len(data)} findings {sorted(counts.items())} in {elapsed:.0f} s", file=sys.stderr)

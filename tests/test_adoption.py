"""Adopting lint-eps on an existing codebase: `--add-noqa` suppresses today's findings in place (idempotent,
keeping existing noqa codes and the rest of the line), EPS004 reports them once they suppress nothing, and
`--exit-non-zero-on-fix` makes a pre-commit `--fix` run fail when it changed a file."""

from __future__ import annotations

from pathlib import Path

from conftest import TF_LOSS, run_cli, write

LEGACY_METRICS = '''\
import tensorflow as tf
from tensorflow.keras import backend as K


def recall(y_true, y_pred):
    tp = K.sum(y_true * K.round(y_pred))
    return tp / K.sum(y_true)  # positives in the batch


def precision(y_true, y_pred):
    tp = K.sum(y_true * K.round(y_pred))
    return tp / K.sum(y_pred)  # noqa: E501


def bce(y_true, logits):
    return -tf.reduce_mean(y_true * tf.math.log(tf.sigmoid(logits)) + (1 - y_true) * tf.math.log(1 - tf.sigmoid(logits)))


def specificity(y_true, y_pred):
    note = """the true negatives
    over all negatives"""; return K.sum((1 - y_true) * (1 - K.round(y_pred))) / K.sum(1 - y_true)


def npv(tn, fn):
    return tn / \\
        (tn + fn)
'''


def test_add_noqa_suppresses_every_finding_in_place_and_is_idempotent(project: Path) -> None:
    path = write(project, "metrics.py", LEGACY_METRICS)
    path.chmod(0o640)
    before = run_cli(["--no-cache", "--output-format", "json", "metrics.py"], project)
    assert before.returncode == 1
    added = run_cli(["--add-noqa", "metrics.py"], project)
    text = path.read_text()
    assert "    return tp / K.sum(y_true)  # positives in the batch  # noqa: EPS101\n" in text
    assert "    return tp / K.sum(y_pred)  # noqa: E501, EPS101\n" in text  # other linters' codes kept, in order
    assert "(1 - tf.sigmoid(logits)))  # noqa: EPS202\n" in text  # two findings, one code
    # The row where a multi-line string ends, after the string: a comment can go there.
    assert 'over all negatives"""; return K.sum((1 - y_true) * (1 - K.round(y_pred))) / K.sum(1 - y_true)  # noqa: EPS101\n' in text
    # After a backslash continuation a comment would break the file: that finding stays, reported, and the run
    # fails so it is not silently left.
    assert "    return tn / \\\n" in text
    assert added.returncode == 1, added.stderr
    assert "Added 4 noqa directives." in added.stderr
    assert "metrics.py: no `# noqa` added on line 25: the line ends inside a string or with a backslash" in added.stderr
    compile(text, "metrics.py", "exec")
    assert path.stat().st_mode & 0o777 == 0o640
    # Idempotent: a second run adds nothing and changes no byte.
    again = run_cli(["--add-noqa", "metrics.py"], project)
    assert "Added 0 noqa directives." in again.stderr and path.read_text() == text
    # The suppressed findings are gone; the unsuppressable one remains.
    after = run_cli(["--no-cache", "--output-format", "json", "metrics.py"], project)
    assert after.stdout.count('"code": "EPS101"') == 1 and "EPS202" not in after.stdout


def test_noqa_added_code_becomes_unused_when_the_finding_is_fixed(project: Path) -> None:
    path = write(project, "losses.py", TF_LOSS)
    run_cli(["--add-noqa", "losses.py"], project)
    assert "# noqa: EPS202" in path.read_text()
    # Fix the code by hand (what the team does over time): EPS004 now reports the stale code and removes it.
    path.write_text(path.read_text().replace("tf.math.log(1.0 - tf.sigmoid(logits))", "tf.math.log_sigmoid(-logits)").replace("tf.math.log(probs)", "tf.math.log_sigmoid(logits)"))
    stale = run_cli(["--no-cache", "--extend-select", "EPS004", "--output-format", "json", "losses.py"], project)
    assert '"code": "EPS004"' in stale.stdout
    run_cli(["--no-cache", "--extend-select", "EPS004", "--fix", "losses.py"], project)
    assert "noqa" not in path.read_text()


def test_add_noqa_cannot_be_combined_with_fix(project: Path) -> None:
    write(project, "losses.py", TF_LOSS)
    result = run_cli(["--add-noqa", "--fix", "losses.py"], project)
    assert result.returncode == 2 and "--add-noqa cannot be combined" in result.stderr


def test_exit_non_zero_on_fix_fails_a_run_that_changed_files(project: Path) -> None:
    path = write(project, "losses.py", TF_LOSS)
    plain = run_cli(["--no-cache", "--fix", "losses.py"], project)
    assert plain.returncode == 0 and "log_sigmoid" in path.read_text()  # everything fixed: ruff's exit 0
    write(project, "losses.py", TF_LOSS)
    strict = run_cli(["--no-cache", "--fix", "--exit-non-zero-on-fix", "losses.py"], project)
    assert strict.returncode == 1 and "log_sigmoid" in path.read_text()
    # Nothing left to change: success again.
    assert run_cli(["--no-cache", "--fix", "--exit-non-zero-on-fix", "losses.py"], project).returncode == 0

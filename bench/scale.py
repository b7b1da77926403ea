"""Linearity check: lint time of one generated file, as a ratio to parsing it, must not grow with its size.

    .venv/bin/python bench/scale.py [--sizes 1,2,4] [--families log,division,epsilon,model,script] [--max-growth 1.5]

For each rule family it generates a file in that family's style (small functions with log calls; divisions in
losses and metrics; clip/epsilon code; torch modules and Keras models with `compile`; module-level script code),
at each size in MB, and measures in one run `lint-eps --no-cache --jobs 1 --exit-zero FILE` (a subprocess: CPU
seconds from its rusage less lint-eps's start-up, and the peak RSS polled from /proc) against
`libcst.parse_module` of the same text (CPU seconds in another process, the file already read). CPU time, not
wall time, because the machine is shared. It prints lint/parse per size and exits 1 if, for some family, the
ratio at the largest size exceeds the ratio at the smallest by more than --max-growth times: an analysis that
is quadratic in the file doubles that ratio with every doubling of the size.

`--old` measures a lint-eps without the per-file budget options (an older checkout put first on PYTHONPATH).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

HEADER = "import numpy as np\nimport tensorflow as tf\nimport torch\nimport keras\nfrom torch.nn import functional as F\n"

# One template per rule family; every copy holds findings of that family, so the gates keep it and the rules run.
FAMILIES: dict[str, str] = {
    "log": '''

def log_loss_{i}(y_true, logits):
    probs = tf.sigmoid(logits)
    return -tf.reduce_mean(y_true * tf.math.log(probs))


def nll_{i}(p, target):
    logp = torch.log(p)
    return -(target * logp).sum() + {i}


def entropy_{i}(weights):
    w = weights / weights.sum()
    return -np.sum(w * np.log(w))
''',
    "division": '''

def dice_loss_{i}(y_true, y_pred):
    intersection = tf.reduce_sum(y_true * y_pred)
    return 1 - 2 * intersection / (tf.reduce_sum(y_true) + tf.reduce_sum(y_pred))


def precision_metric_{i}(tp, fp):
    total = tp + fp
    return tp / total


def normalized_loss_{i}(x, y):
    diff = (x - y) ** 2
    return diff.sum() / (y.sum() + 1e-8 * {i})
''',
    "epsilon": '''

def bce_{i}(y_true, y_pred):
    y_pred = tf.clip_by_value(y_pred, 1e-12, 1 - 1e-12)
    return -tf.reduce_mean(y_true * tf.math.log(y_pred) + (1 - y_true) * tf.math.log(1 - y_pred))


def half_loss_{i}(x, y):
    x = x.astype(np.float16)
    return np.mean(x / (y.astype(np.float16) + 1e-8))


def clamp_loss_{i}(p, t):
    p.clamp_(1e-7, 1 - 1e-7)
    q = np.clip(p, 1e-9, 1.0, out=p)
    return -(t * torch.log(p)).mean() + q.sum() * {i}
''',
    "model": '''

class Head{i}(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear({units}, 1)
        self.loss = torch.nn.BCEWithLogitsLoss()

    def forward(self, x, y):
        p = torch.sigmoid(self.fc(x))
        return self.loss(p, y)


def build_{i}():
    model = keras.Sequential([keras.layers.Dense({units}, activation="softmax")])
    model.compile(optimizer="adam", loss=keras.losses.CategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def keras_loss_{i}(y, z):
    return keras.losses.binary_crossentropy(y, tf.nn.sigmoid(z), from_logits=True)
''',
    # Module-level code (a notebook exported as a script): every lookup is in the module scope.
    "script": '''
probs_{i} = tf.sigmoid(logits_{i})
loss_{i} = -tf.reduce_mean(labels * tf.math.log(probs_{i}))
ratio_{i} = hits_{i} / total_{i}
p_{i} = torch.softmax(z, dim=-1)
p_{i}.clamp_(1e-7, 1 - 1e-7)
nll_{i} = -torch.log(p_{i}).mean() + {units}
''',
}

PARSE = r"""
import sys, time, libcst
text = open(sys.argv[1], encoding="utf-8").read()
start = time.process_time()
libcst.parse_module(text)
print(time.process_time() - start)
"""


def generate(family: str, size: int) -> str:
    """A module of at least `size` bytes: the header, then copies of the family's template."""
    template = FAMILIES[family]
    parts, total, i = [HEADER], len(HEADER), 0
    while total < size:
        part = template.format(i=i, units=16 + i % 50)
        parts.append(part)
        total += len(part)
        i += 1
    return "".join(parts)


def _tree_rss_kb(pid: int) -> int:
    """RSS of a process and its descendants, in kB (from /proc; 0 once it is gone)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        stack.extend(children.get(current, []))
        try:
            with open(f"/proc/{current}/status", encoding="utf-8") as handle:
                total += next((int(line.split()[1]) for line in handle if line.startswith("VmRSS:")), 0)
        except OSError:
            pass
    return total


def timed(command: list[str], cwd: Path) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds (user + system, from the exit's rusage), peak RSS of the process tree in MB,
    stdout. The machine this runs on is shared: CPU time is what the ratios use, wall time only for show."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err, text=True)
        peak = 0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _tree_rss_kb(process.pid))
            time.sleep(0.05)
        process.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if process.returncode not in (0, 1):
            raise SystemExit(f"{command} failed ({process.returncode}):\n{err.read()[-2000:]}")
        return elapsed, usage.ru_utime + usage.ru_stime, peak // 1024, out.read()


def parse_seconds(path: Path) -> float:
    """CPU seconds of `libcst.parse_module` on the file's text (already read), in a fresh process."""
    return float(subprocess.run([PYTHON, "-c", PARSE, str(path)], capture_output=True, text=True, check=True).stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,2,4", help="file sizes in MB, comma-separated")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--max-growth", type=float, default=1.5, help="largest/smallest ratio allowed")
    parser.add_argument("--keep", type=Path, help="also write the generated files into this folder")
    parser.add_argument("--old", action="store_true", help="lint-eps without --file-timeout / --max-file-size")
    args = parser.parse_args()
    sizes = [float(s) for s in args.sizes.split(",")]
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "lint-eps.toml").write_text("respect-gitignore = false\n", encoding="utf-8")
        (folder / "empty.py").write_text("", encoding="utf-8")
        command = [PYTHON, "-m", "lint_eps", "--no-cache", "--jobs", "1", "--exit-zero", "--statistics", "--quiet"]
        if not args.old:
            command += ["--file-timeout", "0", "--max-file-size", "0"]  # the budget would stop the largest files
        startup = min(timed([*command, "empty.py"], folder)[1] for _ in range(3))
        print(f"start-up of lint-eps (CPU s, subtracted from every lint): {startup:.2f}")
        print(f"{'family':<9} {'MB':>5} {'lines':>8} {'parse s':>8} {'lint s':>8} {'lint/parse':>10} {'wall s':>8} {'peak MB':>8} {'findings':>8}")
        for family in args.families.split(","):
            ratios = []
            for size in sizes:
                text = generate(family, int(size * 1_000_000))
                path = folder / f"{family}_{size:g}mb.py"
                path.write_text(text, encoding="utf-8")
                if args.keep:
                    args.keep.mkdir(parents=True, exist_ok=True)
                    (args.keep / path.name).write_text(text, encoding="utf-8")
                parse = parse_seconds(path)
                wall, cpu, peak, out = timed([*command, path.name], folder)
                lint = max(cpu - startup, 0.0)
                findings = sum(int(line.split()[0]) for line in out.splitlines() if line.split() and line.split()[0].isdigit())
                ratios.append(lint / parse)
                print(
                    f"{family:<9} {size:>5g} {text.count(chr(10)):>8} {parse:>8.2f} {lint:>8.2f} {lint / parse:>10.2f} {wall:>8.1f} {peak:>8} {findings:>8}",
                    flush=True,
                )
                path.unlink()
            growth = ratios[-1] / ratios[0]
            print(f"{family:<9} growth of lint/parse from {sizes[0]:g} to {sizes[-1]:g} MB: {growth:.2f}x", flush=True)
            if growth > args.max_growth:
                failed.append(f"{family}: {growth:.2f}x")
    if failed:
        print(f"super-linear (growth > {args.max_growth}x): {', '.join(failed)}")
        return 1
    print(f"linear: every family's lint/parse ratio grew by at most {args.max_growth}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

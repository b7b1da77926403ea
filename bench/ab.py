"""Compare two installs of lint-eps (say, main and a branch), interleaved, on the measures a change usually moves.

    .venv/bin/python bench/ab.py BASE_PYTHON [NEW_PYTHON] [--runs 11] [--file examples/keras_segmentation.py]

Each PYTHON is the interpreter of a virtual environment with lint-eps installed (for the code before a change:
`git worktree add /tmp/base REV`, then a venv there with `pip install -e /tmp/base`). NEW_PYTHON defaults to this
one. Printed, for each install:

- one file: `lint-eps --no-cache FILE` against the floor of any libcst linter (start Python, import libcst, parse
  the file), wall seconds, medians of --runs interleaved runs (floor, base, new, floor, ...);
- the dense corpus (corpus2.DENSE, when downloaded) in one process: CPU seconds of `lint-eps --no-cache --jobs 1`
  against the CPU seconds of parsing every file with libcst in one process; CPU time, which the load of a shared
  machine distorts less than wall time, one interleaved run each.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import corpus2  # noqa: E402

SCRATCH = tempfile.gettempdir()  # not "/": `python -m` puts the working folder first on sys.path
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
FLOOR = "import libcst, sys; libcst.parse_module(open(sys.argv[1], encoding='utf-8').read())"
PARSE_CPU = r"""
import os, sys, time, libcst
files = sorted(os.path.join(d, f) for p in sys.argv[1:] for d, _, fs in os.walk(p) for f in fs if f.endswith((".py", ".pyi")))
texts = [open(path, "rb").read().decode("utf-8") for path in files]
start = time.process_time()
for text in texts:
    libcst.parse_module(text)
print(time.process_time() - start)
"""


def run(command: list[str], cwd: Path | str) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the child, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=ENV, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pythons", nargs="+", help="BASE_PYTHON [NEW_PYTHON]")
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--file", default=str(BENCH.parent / "examples" / "keras_segmentation.py"))
    options = parser.parse_args()
    pythons = options.pythons if len(options.pythons) > 1 else [options.pythons[0], sys.executable]
    file = os.path.abspath(options.file)

    floor_command = [pythons[-1], "-c", FLOOR, file]
    lint_commands = [[python, "-m", "lint_eps", "--no-cache", "--exit-zero", "--output-format", "json", file] for python in pythons]
    for command in (floor_command, *lint_commands):
        run(command, SCRATCH)  # bytecode written, caches warm
    floors: list[float] = []
    lints: list[list[float]] = [[] for _ in pythons]
    for _ in range(options.runs):
        floors.append(run(floor_command, SCRATCH)[0])
        for times, command in zip(lints, lint_commands):
            times.append(run(command, SCRATCH)[0])
    floor = statistics.median(floors)
    print(f"one file ({os.path.basename(file)}): floor {floor:.3f} s")
    for python, times in zip(pythons, lints):
        print(f"  {python}: {statistics.median(times):.3f} s = {statistics.median(times) / floor:.2f}x the floor")

    paths = [f"src/{folder}" for folder in corpus2.DENSE]
    if not all((corpus2.CORPUS / path).is_dir() for path in paths):
        print("dense corpus: not downloaded (bench/corpus2.py)")
        return 0
    print("dense corpus, one process, CPU seconds:")
    for python in pythons:
        parse = float(run([python, "-c", PARSE_CPU, *paths], corpus2.CORPUS)[2].strip().splitlines()[-1])
        _, cpu, out = run([python, "-m", "lint_eps", "--no-cache", "--jobs", "1", "--exit-zero", "--output-format", "json", *paths], corpus2.CORPUS)
        print(f"  {python}: parse-only {parse:.1f} s, lint-eps --jobs 1 {cpu:.1f} s = {cpu / parse:.3f}x; {len(json.loads(out))} findings")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

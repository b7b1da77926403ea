"""lint-eps latency: the first answer on one file, a warm run, and the language server's first diagnostics.

    .venv/bin/python bench/startup.py [--runs 9] [--corpus-runs 3] [--no-corpus] [--no-server]

What a user waits for when nothing is running yet (a pre-commit hook on one file, an editor task, a warm CI
cache), measured in one run, each as a ratio to the floor of any libcst-based linter:

- one file: `lint-eps --no-cache FILE` against `python -c "import libcst; libcst.parse_module(open(FILE).read())"`
  (start Python, import libcst, parse the file: what a libcst linter cannot skip), on a loss file with findings,
  a clean file the rules parse, and a clean file the prefilter proves clean without libcst. Medians of --runs
  interleaved pairs (floor, lint-eps, floor, ...), so that a busy second on the shared machine slows both sides.
- warm run: `lint-eps` over bench/corpus/src with the cache filled and nothing changed, against parse-only
  (libcst.parse_module on every file, one process; the same measure as bench/run.py), medians of --corpus-runs.
- language server: seconds from starting `lint-eps server` to the first textDocument/publishDiagnostics, with a
  client speaking LSP over the server's stdio (initialize, initialized, didOpen of the loss file), and the same
  floor for scale.

Commands run with bytecode caching on (the `__pycache__` an installed package has): one unmeasured run of each
first writes the .pyc files, as the first run after `pip install` does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CORPUS = BENCH / "corpus"
SOURCE = CORPUS / "src"
PYTHON = sys.executable
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}

# (what it is, path, a path under bench/corpus/src used when the corpus is there)
KERAS = "keras-3.15.1-py3-none-any/keras/src"
TORCHMETRICS = "torchmetrics-1.9.0-py3-none-any/torchmetrics"
FILES = (
    ("loss file, findings (bundled example)", ROOT / "examples" / "keras_segmentation.py"),
    ("metrics file, findings (keras correlation_metrics.py)", SOURCE / KERAS / "metrics" / "correlation_metrics.py"),
    ("clean file, parsed (torchmetrics pearson.py)", SOURCE / TORCHMETRICS / "functional" / "regression" / "pearson.py"),
    ("clean file, prefiltered (keras utils/naming.py)", SOURCE / KERAS / "utils" / "naming.py"),
)
FLOOR = "import libcst, sys; libcst.parse_module(open(sys.argv[1], encoding='utf-8').read())"

PARSE_ONLY = r"""
import os, sys, time, libcst
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(sys.argv[1]) for f in fs if f.endswith((".py", ".pyi")))
texts = [open(path, "rb").read().decode("utf-8") for path in files]
start = time.perf_counter()
for text in texts:
    libcst.parse_module(text)
print(time.perf_counter() - start)
"""


def timed(command: list[str], cwd: Path = ROOT) -> tuple[float, int, str]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, done.returncode, done.stdout.decode("utf-8", "replace")


def lint_eps(*args: str) -> list[str]:
    return [PYTHON, "-m", "lint_eps", *args]


# -- one file ---------------------------------------------------------------------------------------------
def one_file(path: Path, runs: int) -> tuple[float, float, int]:
    """(median floor seconds, median lint-eps seconds, findings)."""
    floor_command = [PYTHON, "-c", FLOOR, str(path)]
    lint_command = lint_eps("--no-cache", "--exit-zero", "--output-format", "json", str(path))
    timed(floor_command)
    _, _, out = timed(lint_command)  # writes the .pyc files; its findings are reported
    findings = len(json.loads(out or "[]"))
    floors, lints = [], []
    for _ in range(runs):
        floors.append(timed(floor_command)[0])
        lints.append(timed(lint_command)[0])
    return statistics.median(floors), statistics.median(lints), findings


# -- warm run ---------------------------------------------------------------------------------------------
def warm_run(runs: int) -> tuple[float, float]:
    """(median parse-only seconds, median warm lint-eps seconds) over bench/corpus/src."""
    shutil.rmtree(CORPUS / ".lint_eps_cache", ignore_errors=True)
    fill = lint_eps("--exit-zero", "--quiet", "src")
    timed(fill, CORPUS)
    parses, warms = [], []
    for _ in range(runs):
        wall, code, out = timed([PYTHON, "-c", PARSE_ONLY, str(SOURCE)])
        if code != 0:
            raise SystemExit("parse-only failed")
        parses.append(float(out.strip().splitlines()[-1]))
        warms.append(timed(fill, CORPUS)[0])
    return statistics.median(parses), statistics.median(warms)


# -- language server --------------------------------------------------------------------------------------
def _send(stream, message: dict) -> None:
    body = json.dumps(message).encode()
    stream.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    stream.flush()


def _receive(stream) -> dict:
    length = 0
    while True:
        line = stream.readline()
        if not line:
            raise EOFError("the server closed its output")
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return json.loads(stream.read(length))


def first_diagnostics(path: Path) -> float:
    """Seconds from starting `lint-eps server` to its first publishDiagnostics for `path` (opened at once; a file
    outside the repository, whose configuration excludes examples/)."""
    start = time.perf_counter()
    server = subprocess.Popen(lint_eps("server"), cwd=path.parent, env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert server.stdin is not None and server.stdout is not None
    try:
        uri = path.resolve().as_uri()
        _send(server.stdin, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": os.getpid(), "rootUri": path.parent.as_uri(), "capabilities": {}}})
        _send(server.stdin, {"jsonrpc": "2.0", "method": "initialized", "params": {}})
        text = path.read_text(encoding="utf-8")
        _send(server.stdin, {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}})
        while True:
            message = _receive(server.stdout)
            if message.get("method") == "textDocument/publishDiagnostics" and message["params"]["uri"] == uri:
                elapsed = time.perf_counter() - start
                if not message["params"]["diagnostics"]:
                    raise SystemExit(f"the server published no diagnostics for {path}")
                return elapsed
            if "id" in message and "method" in message:  # a request from the server: answer it
                _send(server.stdin, {"jsonrpc": "2.0", "id": message["id"], "result": None})
    finally:
        server.kill()
        server.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9, help="interleaved pairs per file (medians reported)")
    parser.add_argument("--corpus-runs", type=int, default=3, help="parse-only / warm pairs over the corpus")
    parser.add_argument("--no-corpus", action="store_true", help="skip the warm run (and the corpus files)")
    parser.add_argument("--no-server", action="store_true", help="skip the language server")
    options = parser.parse_args()
    have_corpus = SOURCE.is_dir() and not options.no_corpus

    print("| measure | floor s | lint-eps s | x floor | findings |")
    print("|---|---:|---:|---:|---:|")
    ratios = []
    for name, path in FILES:
        if not path.is_file():
            print(f"| {name} | | | skipped: {path.relative_to(ROOT)} missing (bench/run.py downloads it) | |")
            continue
        floor, lint, findings = one_file(path, options.runs)
        ratios.append(lint / floor)
        print(f"| {name} | {floor:.3f} | {lint:.3f} | {lint / floor:.2f} | {findings} |", flush=True)

    server_ratio = None
    if not options.no_server:
        scratch = Path(tempfile.mkdtemp(prefix="lint-eps-startup-"))
        loss_file = scratch / FILES[0][1].name
        shutil.copyfile(FILES[0][1], loss_file)
        floor_command = [PYTHON, "-c", FLOOR, str(loss_file)]
        first_diagnostics(loss_file)  # writes the .pyc files
        floors, servers = [], []
        for _ in range(max(3, options.runs // 3)):
            floors.append(timed(floor_command)[0])
            servers.append(first_diagnostics(loss_file))
        floor, first = statistics.median(floors), statistics.median(servers)
        server_ratio = first / floor
        print(f"| language server: start to first publishDiagnostics ({loss_file.name}) | {floor:.3f} | {first:.3f} | {server_ratio:.2f} | |", flush=True)
        shutil.rmtree(scratch, ignore_errors=True)

    warm_ratio = None
    if have_corpus:
        parse_only, warm = warm_run(options.corpus_runs)
        warm_ratio = warm / parse_only
        print(f"| warm run over bench/corpus/src (cache filled, nothing changed) vs parse-only | {parse_only:.2f} | {warm:.2f} | {warm_ratio:.3f} | |")

    print()
    if ratios:
        print(f"target one file <= 1.5 x floor: {'met' if max(ratios) <= 1.5 else 'NOT met'} (worst {max(ratios):.2f})")
    if warm_ratio is not None:
        print(f"target warm <= 0.05 x parse-only: {'met' if warm_ratio <= 0.05 else 'NOT met'} ({warm_ratio:.3f})")
    if server_ratio is not None:
        print(f"language server first diagnostics: {server_ratio:.2f} x floor")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""lint-eps benchmark: one run, one table, every number a ratio to "parse every file once with libcst".

    .venv/bin/python bench/run.py [--runs 3] [--no-peers] [--skip-download] [--no-dense]

Downloads the pinned corpus (the keras 3.15.1, tf-keras 2.21.0 and torchmetrics 1.9.0 wheels, unpacked into
bench/corpus/, gitignored), then measures in one run: parse-only (libcst.parse_module on every file, one
process), lint-eps cold (--no-cache, default jobs), warm (cache, nothing changed), --jobs 1 and --jobs 2 cold,
the peak memory of each lint-eps process tree (RSS summed over the process and its workers, polled from
/proc), the findings, and the peers Fixit 2 and flake8 (installed into bench/.venv-peers). It checks that the
findings are identical with and without every speed-up: prefilter off (`lint_paths(..., prefilter=False)`),
cache, --jobs 1 / 2. Timings are medians of --runs runs (parse-only and cold interleaved, --jobs 1 and 2 interleaved).

Then the same on the dense corpus (issue 15): the loss, metric, layer and model folders of bench/corpus2
(`corpus2.DENSE`, pinned with its wheels; `bench/corpus2.py` downloads them), where the prefilter skips little:
parse-only, cold with the default jobs and with --jobs 1 (medians of --runs, interleaved), and identical findings
across them and with the prefilter off.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CORPUS = BENCH / "corpus"
SOURCE = CORPUS / "src"
WHEELS = CORPUS / "wheels"
PEERS = BENCH / ".venv-peers"
PINNED = ("keras==3.15.1", "tf-keras==2.21.0", "torchmetrics==1.9.0")
PYTHON = sys.executable
LINT_EPS = [PYTHON, "-m", "lint_eps"]

PARSE_ONLY = r"""
import os, sys, time, libcst
files = sorted(os.path.join(d, f) for root in sys.argv[1:] for d, _, fs in os.walk(root) for f in fs if f.endswith((".py", ".pyi")))
texts = []
for path in files:
    with open(path, "rb") as handle:
        texts.append(handle.read().decode("utf-8"))
start = time.perf_counter()
for text in texts:
    libcst.parse_module(text)
print(time.perf_counter() - start)
"""

NO_PREFILTER = r"""
import json, sys
from lint_eps.runner import lint_paths
result = lint_paths(sys.argv[2:], jobs=int(sys.argv[1]), use_cache=False, prefilter=False)
json.dump([d.to_dict() for d in result.diagnostics], sys.stdout)
"""


# -- corpus -----------------------------------------------------------------------------------------------
def prepare_corpus(download: bool) -> None:
    if download and not all(any(WHEELS.glob(spec.split("==")[0].replace("-", "_") + "-" + spec.split("==")[1] + "-*.whl")) for spec in PINNED):
        WHEELS.mkdir(parents=True, exist_ok=True)
        subprocess.run([PYTHON, "-m", "pip", "download", "-q", "--no-deps", *PINNED, "-d", str(WHEELS)], check=True)
    for wheel in sorted(WHEELS.glob("*.whl")):
        target = SOURCE / wheel.stem
        if not target.exists():
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(target)
    # bench/corpus/ is gitignored, and lint-eps honours .gitignore: lint it as an ordinary project.
    (CORPUS / "lint-eps.toml").write_text("# Written by bench/run.py.\nrespect-gitignore = false\n", encoding="utf-8")


def corpus_size() -> tuple[int, int]:
    files = lines = 0
    for folder, _, names in os.walk(SOURCE):
        for name in names:
            if name.endswith((".py", ".pyi")):
                files += 1
                with open(os.path.join(folder, name), "rb") as handle:
                    lines += handle.read().count(b"\n")
    return files, lines


# -- measuring --------------------------------------------------------------------------------------------
def _tree_rss_kb(pid: int) -> int:
    """RSS of `pid` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read().decode(errors="replace")
            fields = stat[stat.rindex(")") + 2 :].split()
            ppid = int(fields[1])
            rss_pages = int(fields[21])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = rss_pages * (os.sysconf("SC_PAGE_SIZE") // 1024)
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += rss.get(current, 0)
        stack.extend(children.get(current, []))
    return total


def measure(command: list[str], cwd: Path, timeout: float | None = None, env: dict[str, str] | None = None) -> tuple[float, int, str, int]:
    """(wall seconds, peak tree RSS in KB, stdout, exit code)."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})})
        peak = 0
        while process.poll() is None:
            peak = max(peak, _tree_rss_kb(process.pid))
            time.sleep(0.05)
            if timeout is not None and time.perf_counter() - start > timeout:
                process.kill()
                process.wait()
                return float("inf"), peak, "", -9
        wall = time.perf_counter() - start
        out.seek(0)
        return wall, peak, out.read().decode("utf-8", "replace"), process.returncode


def findings(json_text: str, corpus: Path = CORPUS) -> list[tuple]:
    data = json.loads(json_text) if json_text.strip() else []
    out = []
    for d in data:
        filename = os.path.normpath(os.path.join(str(corpus), d["filename"])) if not os.path.isabs(d["filename"]) else d["filename"]
        out.append((os.path.relpath(filename, corpus), d["code"], d["location"]["row"], d["location"]["column"], d["message"]))
    return sorted(out)


def lint(args: list[str], corpus: Path = CORPUS, paths: tuple[str, ...] = ("src",)) -> tuple[float, int, list[tuple]]:
    wall, peak, out, code = measure([*LINT_EPS, "--exit-zero", "--output-format", "json", *args, *paths], corpus)
    if code != 0:
        raise SystemExit(f"lint-eps {' '.join(args)} failed with exit code {code}")
    return wall, peak, findings(out, corpus)


# -- the dense corpus -------------------------------------------------------------------------------------
def dense_table(runs: int, cores: int) -> bool | None:
    """Print the dense corpus's table; whether its targets are met (None when corpus2 is not downloaded)."""
    sys.path.insert(0, str(BENCH))
    import corpus2

    paths = tuple(f"src/{folder}" for folder in corpus2.DENSE)
    if not all((corpus2.CORPUS / path).is_dir() for path in paths):
        print(f"\ndense corpus: {corpus2.SOURCE} lacks some of corpus2.DENSE; run `.venv/bin/python bench/corpus2.py` first")
        return None
    files = lines = 0
    for path in paths:
        for folder, _, names in os.walk(corpus2.CORPUS / path):
            for name in names:
                if name.endswith(".py"):
                    files += 1
                    with open(os.path.join(folder, name), "rb") as handle:
                        lines += handle.read().count(b"\n")
    print(f"\ndense corpus: {files} files, {lines} lines ({len(paths)} folders of corpus2.DENSE)", flush=True)
    parse_runs, cold_runs, one_runs = [], [], []
    for _ in range(runs):
        out = subprocess.run([PYTHON, "-c", PARSE_ONLY, *paths], cwd=corpus2.CORPUS, capture_output=True, text=True, check=True)
        parse_runs.append(float(out.stdout.strip().splitlines()[-1]))
        cold_runs.append(lint(["--no-cache"], corpus2.CORPUS, paths))
        one_runs.append(lint(["--no-cache", "--jobs", "1"], corpus2.CORPUS, paths))
        print(f"parse-only: {parse_runs[-1]:.1f} s, cold: {cold_runs[-1][0]:.1f} s, --jobs 1: {one_runs[-1][0]:.1f} s", flush=True)
    wall, peak, out, code = measure([PYTHON, "-c", NO_PREFILTER, str(cores), *paths], corpus2.CORPUS)
    if code != 0:
        raise SystemExit("the prefilter-off run failed on the dense corpus")
    no_prefilter = findings(out, corpus2.CORPUS)
    parse_only = statistics.median(parse_runs)
    cold = statistics.median(w for w, _, _ in cold_runs)
    one = statistics.median(w for w, _, _ in one_runs)
    reference = cold_runs[0][2]
    print()
    print("| measure (dense corpus) | seconds | x parse-only | peak MB (process tree) | note |")
    print("|---|---:|---:|---:|---|")
    print(f"| files / lines | | | | {files} / {lines} |")
    print(f"| parse-only (libcst.parse_module, 1 process; median of {runs}) | {parse_only:.1f} | 1.00 | | {lines / parse_only / 1000:.1f} k lines/s |")
    print(f"| lint-eps cold (--no-cache, {cores} jobs; median of {runs}) | {cold:.1f} | {cold / parse_only:.3f} | {max(p for _, p, _ in cold_runs) / 1024:.0f} | |")
    print(f"| lint-eps --jobs 1 (--no-cache; median of {runs}) | {one:.1f} | {one / parse_only:.3f} | {max(p for _, p, _ in one_runs) / 1024:.0f} | {one / cold:.2f}x the default jobs |")
    print(f"| lint-eps without prefilter (API, {cores} jobs, no cache) | {wall:.1f} | {wall / parse_only:.3f} | {peak / 1024:.0f} | |")
    print(f"| findings | | | | {len(reference)} |")
    checks = [
        ("parallelism (--jobs 1 = default)", all(f == reference for _, _, f in cold_runs + one_runs)),
        ("prefilter (off via lint_paths(prefilter=False))", no_prefilter == reference),
    ]
    print()
    for name, ok in checks:
        print(f"dense corpus: identical findings with/without {name}: {'yes' if ok else 'NO'}")
    targets = [
        (f"dense cold ({cores} jobs) <= 0.5 x parse-only", cold <= 0.5 * parse_only),
        ("dense --jobs 1 < 1.0 x parse-only", one < parse_only),
    ]
    for name, ok in targets:
        print(f"target {name}: {'met' if ok else 'NOT met'}")
    return all(ok for _, ok in checks)


# -- peers ------------------------------------------------------------------------------------------------
def peers_python() -> Path | None:
    python = PEERS / "bin" / "python"
    if not python.exists():
        try:
            subprocess.run([PYTHON, "-m", "venv", str(PEERS)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", "fixit>=2,<3", "flake8"], check=True)
        except subprocess.CalledProcessError as exc:
            print(f"peers not installed: {exc}", file=sys.stderr)
            shutil.rmtree(PEERS, ignore_errors=True)
            return None
    return python


def version_of(python: Path, package: str) -> str:
    out = subprocess.run([str(python), "-c", f"import importlib.metadata as m; print(m.version({package!r}))"], capture_output=True, text=True)
    return out.stdout.strip() or "?"


# -- table ------------------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs of each timed measurement (interleaved); medians reported")
    parser.add_argument("--no-peers", action="store_true", help="skip Fixit and flake8")
    parser.add_argument("--peer-timeout", type=float, default=1200, help="seconds before a peer run is abandoned")
    parser.add_argument("--skip-download", action="store_true", help="use bench/corpus/ as it is")
    parser.add_argument("--no-dense", action="store_true", help="skip the dense corpus (bench/corpus2, corpus2.DENSE)")
    options = parser.parse_args()

    prepare_corpus(download=not options.skip_download)
    files, lines = corpus_size()
    cores = os.cpu_count() or 1
    print(f"corpus: {files} files, {lines} lines; machine: {cores} cores, {_memory()}, Python {platform.python_version()}", flush=True)

    # The machine is shared and noisy (±20 % between single runs): the ratios that the targets judge come from
    # medians of --runs interleaved runs (parse-only next to cold, --jobs 1 next to --jobs 2), so that a busy
    # minute slows both sides of a ratio rather than one.
    runs = max(1, options.runs)
    parse_runs: list[float] = []
    cold_runs: list[tuple[float, int, list[tuple]]] = []
    for _ in range(runs):
        parse_out = subprocess.run([PYTHON, "-c", PARSE_ONLY, str(SOURCE)], capture_output=True, text=True, check=True)
        parse_runs.append(float(parse_out.stdout.strip().splitlines()[-1]))
        cold_runs.append(lint(["--no-cache"]))
        print(f"parse-only: {parse_runs[-1]:.1f} s, cold: {cold_runs[-1][0]:.1f} s", flush=True)
    parse_only = statistics.median(parse_runs)
    cold_wall = statistics.median(w for w, _, _ in cold_runs)
    cold_peak = max(p for _, p, _ in cold_runs)
    cold = cold_runs[0][2]

    rows: list[tuple[str, float, int | None, str]] = []
    rows.append((f"lint-eps cold (--no-cache, {cores} jobs; median of {runs})", cold_wall, cold_peak, ""))

    shutil.rmtree(CORPUS / ".lint_eps_cache", ignore_errors=True)
    fill_wall, fill_peak, filled = lint([])
    warm_runs = [lint([]) for _ in range(runs)]
    warm_wall = statistics.median(w for w, _, _ in warm_runs)
    warm_peak = max(p for _, p, _ in warm_runs)
    rows.append(("lint-eps cold, filling the cache", fill_wall, fill_peak, ""))
    rows.append((f"lint-eps warm (cache, nothing changed; median of {len(warm_runs)})", warm_wall, warm_peak, ""))

    pairs = []
    for _ in range(runs):
        pairs.append((lint(["--no-cache", "--jobs", "1"]), lint(["--no-cache", "--jobs", "2"])))
        print(f"jobs 1: {pairs[-1][0][0]:.1f} s, jobs 2: {pairs[-1][1][0]:.1f} s", flush=True)
    j1_wall = statistics.median(one[0] for one, _ in pairs)
    j2_wall = statistics.median(two[0] for _, two in pairs)
    j1_peak = max(one[1] for one, _ in pairs)
    j2_peak = max(two[1] for _, two in pairs)
    jobs1, jobs2 = pairs[0][0][2], pairs[0][1][2]
    rows.append((f"lint-eps --jobs 1 (--no-cache; median of {runs})", j1_wall, j1_peak, ""))
    rows.append((f"lint-eps --jobs 2 (--no-cache; median of {runs})", j2_wall, j2_peak, f"{j1_wall / j2_wall:.2f}x faster than --jobs 1"))

    nopf_wall, nopf_peak, nopf_out, code = measure([PYTHON, "-c", NO_PREFILTER, str(cores), "src"], CORPUS)
    if code != 0:
        raise SystemExit("the prefilter-off run failed")
    no_prefilter = findings(nopf_out)
    rows.append((f"lint-eps without prefilter (API, {cores} jobs, no cache)", nopf_wall, nopf_peak, ""))

    peers: list[tuple[str, float, int | None, str]] = []
    if not options.no_peers:
        python = peers_python()
        if python is not None:
            # Fixit skips what .gitignore lists, and bench/corpus/ is gitignored: peers lint a copy outside the
            # repository.
            with tempfile.TemporaryDirectory(prefix="lint-eps-bench-") as scratch:
                shutil.copytree(SOURCE, Path(scratch) / "src")
                fixit_version = version_of(python, "fixit")
                wall, peak, out, code = measure([str(PEERS / "bin" / "fixit"), "lint", "src"], Path(scratch), timeout=options.peer_timeout)
                note = "timed out" if code == -9 else f"{out.count(chr(10))} output lines"
                peers.append((f"Fixit {fixit_version} (fixit lint, its default rules)", wall, peak, note))
                flake8_version = version_of(python, "flake8")
                wall, peak, out, code = measure([str(PEERS / "bin" / "flake8"), "--jobs", str(cores), "src"], Path(scratch), timeout=options.peer_timeout)
                peers.append((f"flake8 {flake8_version} (--jobs {cores}, default checks)", wall, peak, f"{out.count(chr(10))} findings"))

    checks = [
        ("cache (cold, cache filled, warm)", cold == filled and all(f == cold for _, _, f in warm_runs)),
        ("parallelism (--jobs 1 = --jobs 2 = default)", all(one[2] == two[2] == cold for one, two in pairs) and all(c == cold for _, _, c in cold_runs)),
        ("prefilter (off via lint_paths(prefilter=False))", no_prefilter == cold),
    ]

    print()
    print(f"| measure | seconds | x parse-only | peak MB (process tree) | note |")
    print(f"|---|---:|---:|---:|---|")
    print(f"| files / lines | | | | {files} / {lines} |")
    print(f"| parse-only (libcst.parse_module, 1 process; median of {runs}) | {parse_only:.1f} | 1.00 | | {lines / parse_only / 1000:.1f} k lines/s |")
    for name, wall, peak, note in rows + peers:
        ratio = wall / parse_only if wall != float("inf") else float("inf")
        peak_text = f"{peak / 1024:.0f}" if peak else ""
        print(f"| {name} | {wall:.1f} | {ratio:.3f} | {peak_text} | {note} |")
    print(f"| findings | | | | {len(cold)} |")
    print()
    for name, ok in checks:
        print(f"identical findings with/without {name}: {'yes' if ok else 'NO'}")
    print()
    per_code = Counter(code for _, code, _, _, _ in cold)
    print("| code | findings | per kLOC |")
    print("|---|---:|---:|")
    for code, count in sorted(per_code.items()):
        print(f"| {code} | {count} | {count / (lines / 1000):.4f} |")
    targets = [
        ("cold <= 0.5 x parse-only", cold_wall <= 0.5 * parse_only),
        ("warm <= 0.05 x parse-only", warm_wall <= 0.05 * parse_only),
        ("--jobs 2 >= 1.7 x faster than --jobs 1", j1_wall / j2_wall >= 1.7),
        ("peak < 400 MB", max(cold_peak, warm_peak, j1_peak, j2_peak) < 400 * 1024),
        ("identical findings", all(ok for _, ok in checks)),
    ]
    print()
    for name, ok in targets:
        print(f"target {name}: {'met' if ok else 'NOT met'}")
    dense_identical = None if options.no_dense else dense_table(runs, cores)
    return 0 if all(ok for _, ok in checks) and dense_identical is not False else 1


def _memory() -> str:
    try:
        with open("/proc/meminfo") as handle:
            kb = int(handle.readline().split()[1])
        return f"{kb / 1024 / 1024:.1f} GiB memory"
    except (OSError, ValueError, IndexError):
        return "memory unknown"


if __name__ == "__main__":
    sys.exit(main())

"""The second noise corpus (issue 11): ML libraries lint-eps was never tuned on, to measure precision and recall.

    .venv/bin/python bench/corpus2.py            # download the pinned wheels, unpack their .py files
    .venv/bin/python bench/corpus2.py --lint     # ... then write bench/corpus2/findings.json (default rules)

bench/corpus/ (keras, tf_keras, torchmetrics) is what the rules were tuned on; this corpus is PyTorch, JAX,
NumPy and TF libraries with plenty of metric, loss and training code that nobody tuned on. The wheels are pinned
and fetched with `pip download --no-deps` into bench/corpus2/wheels/; only their .py files are unpacked, into
bench/corpus2/src/<wheel name>/ (gitignored). Huge packages are cut to their metric-, loss- and training-heavy
parts so that the corpus stays near one million lines: `KEEP` lists, per package, the folders kept (all when
absent) and the folders dropped. The hand labels of the findings and misses live in bench/labels/, and
bench/precision.py turns them and a fresh run into the precision/recall table of bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
CORPUS = BENCH / "corpus2"
SOURCE = CORPUS / "src"
WHEELS = CORPUS / "wheels"
FINDINGS = CORPUS / "findings.json"
PYTHON = sys.executable

# torchvision 0.29.2 is the newest, but this machine's pip constraints cap it at 0.29.1.
PINNED = (
    "torchvision==0.29.1",
    "transformers==5.24.0",
    "lightning==2.6.6",
    "torchaudio==2.11.1",
    "keras-hub==0.32.0",
    "tensorflow-probability==0.25.0",
    "flax==0.12.8",
    "pyro-ppl==1.9.2",
    "gpytorch==1.15.2",
    "evaluate==0.4.6",
    "statsmodels==0.15.0",
    "sktime==1.2.0",
    "optax==0.2.8",
    "timm==1.0.31",
    "scikit-learn==1.9.1",
)

# package -> (folders kept, folders dropped), as paths inside the wheel. Kept: () means everything.
KEEP: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # 1.05M of its 1.22M lines are model architectures; the rest holds loss/, generation/, trainer, pipelines.
    "transformers": ((), ("transformers/models/",)),
    # src/models is 135k lines of architectures (and presets); metrics, layers, samplers and utils stay.
    "keras_hub": ((), ("keras_hub/src/models/",)),
    # substrates/ are generated JAX/NumPy copies of python/; internal/ and experimental/ are plumbing and 106k.
    "tensorflow_probability": (
        ("tensorflow_probability/python/",),
        ("tensorflow_probability/python/internal/", "tensorflow_probability/python/experimental/"),
    ),
    "scikit_learn": (("sklearn/metrics/",), ()),
    "statsmodels": (("statsmodels/stats/", "statsmodels/tools/"), ()),
    "sktime": (("sktime/performance_metrics/", "sktime/dists_kernels/"), ()),
}


# The dense corpus of bench/run.py (issue 15): the loss, metric, layer and model folders of corpus2, where the
# prefilter skips little (most files divide, take logs or build models), unlike the mixed libraries of
# bench/corpus/. Paths under bench/corpus2/src/, pinned with the wheels above.
DENSE = (
    "timm-1.0.31/timm/loss",
    "timm-1.0.31/timm/layers",
    "timm-1.0.31/timm/models",
    "torchvision-0.29.1/torchvision/models",
    "transformers-5.24.0/transformers/loss",
    "optax-0.2.8/optax/losses",
    "keras_hub-0.32.0/keras_hub/src/layers",
    "keras_hub-0.32.0/keras_hub/src/metrics",
    "scikit_learn-1.9.1/sklearn/metrics",
    "sktime-1.2.0/sktime/performance_metrics",
    "torchaudio-2.11.1/torchaudio/models",
    "flax-0.12.8/flax/nnx/nn",
    "flax-0.12.8/flax/metrics",
    "gpytorch-1.15.2/gpytorch/metrics",
    "gpytorch-1.15.2/gpytorch/models",
)


@dataclass(frozen=True)
class Corpus:
    """One pinned noise corpus under bench/: what to download, what to keep of each wheel, where it all goes.
    corpus2 and corpus3 (bench/corpus3.py) differ only in these, so they share the functions below."""

    folder: Path
    pinned: tuple[str, ...]
    keep: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]

    @property
    def source(self) -> Path:
        return self.folder / "src"

    @property
    def wheels(self) -> Path:
        return self.folder / "wheels"

    @property
    def findings(self) -> Path:
        return self.folder / "findings.json"


CORPUS2 = Corpus(CORPUS, PINNED, KEEP)


def _package(wheel: Path) -> str:
    return wheel.name.split("-")[0]


def _kept(package: str, name: str, keep_table: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = KEEP) -> bool:
    if not name.endswith(".py"):
        return False
    keep, drop = keep_table.get(package, ((), ()))
    if keep and not name.startswith(keep):
        return False
    return not name.startswith(drop) if drop else True


def download(corpus: Corpus = CORPUS2) -> None:
    corpus.wheels.mkdir(parents=True, exist_ok=True)
    have = {wheel.name.split("-")[0].lower() + "==" + wheel.name.split("-")[1] for wheel in corpus.wheels.glob("*.whl")}
    missing = [spec for spec in corpus.pinned if spec.replace("-", "_").lower() not in have]
    if missing and subprocess.run([PYTHON, "-m", "pip", "download", "-q", "--no-deps", "-d", str(corpus.wheels), *missing]).returncode != 0:
        raise SystemExit(f"pip download failed for {' '.join(missing)}")


def unpack(corpus: Corpus = CORPUS2) -> None:
    for wheel in sorted(corpus.wheels.glob("*.whl")):
        target = corpus.source / wheel.stem.split("-py")[0].split("-cp")[0]
        if target.exists():
            continue
        package = _package(wheel)
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                if _kept(package, name, corpus.keep):
                    archive.extract(name, target)
    # The corpus folder is gitignored, and lint-eps honours .gitignore: lint it as an ordinary project.
    (corpus.folder / "lint-eps.toml").write_text(f"# Written by bench/{corpus.folder.name}.py.\nrespect-gitignore = false\n", encoding="utf-8")


def size(corpus: Corpus = CORPUS2) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for library in sorted(os.listdir(corpus.source)):
        files = lines = 0
        for folder, _, names in os.walk(corpus.source / library):
            for name in names:
                if name.endswith(".py"):
                    files += 1
                    with open(os.path.join(folder, name), "rb") as handle:
                        lines += handle.read().count(b"\n")
        out[library] = (files, lines)
    return out


def lint(target: Path | None = None, corpus: Corpus = CORPUS2) -> None:
    """Write the default rules' findings on the corpus to `target` (default: its findings.json)."""
    target = target or corpus.findings
    if not corpus.source.is_dir():
        raise SystemExit(f"{corpus.source} does not exist: run `python bench/{corpus.folder.name}.py` first to download the corpus")
    with open(target, "wb") as out:
        code = subprocess.run([PYTHON, "-m", "lint_eps", "--no-cache", "--exit-zero", "--output-format", "json", "src"], cwd=corpus.folder, stdout=out).returncode
    if code != 0:
        raise SystemExit(f"lint-eps failed with exit code {code}")


def main(corpus: Corpus = CORPUS2, description: str | None = __doc__) -> int:
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lint", action="store_true", help=f"also lint the corpus into bench/{corpus.folder.name}/findings.json")
    options = parser.parse_args()
    download(corpus)
    unpack(corpus)
    sizes = size(corpus)
    for library, (files, lines) in sizes.items():
        print(f"{library}: {files} files, {lines} lines")
    print(f"total: {sum(f for f, _ in sizes.values())} files, {sum(n for _, n in sizes.values())} lines")
    if options.lint:
        lint(corpus=corpus)
        print(f"findings written to {corpus.findings.relative_to(BENCH.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

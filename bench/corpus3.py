"""The third noise corpus: loss, metric and layer code of ML libraries in neither bench/corpus nor bench/corpus2.

    .venv/bin/python bench/corpus3.py            # download the pinned wheels, unpack their .py files
    .venv/bin/python bench/corpus3.py --lint     # ... then write bench/corpus3/findings.json (default rules)
    .venv/bin/python bench/precision.py --corpus 3

corpus2 was labelled while rules were being fixed against it, so its precision is no longer a measure on unseen
code. This corpus is the check on that: medical imaging (MONAI), differentiable vision (kornia), segmentation
(segmentation-models-pytorch), metric learning (pytorch-metric-learning), speech (speechbrain), TensorFlow add-ons
and graph networks (PyTorch Geometric). Only their loss, metric, distance and layer folders are kept (`KEEP`),
some 195k lines. Same mechanics as corpus2 (bench/corpus2.py's `Corpus`): wheels in bench/corpus3/wheels/, .py
files in bench/corpus3/src/<wheel name>/ (gitignored), hand labels in bench/labels/corpus3-*.tsv.
tensorflow-addons is no pure-python wheel (it ships compiled ops); only its .py files are unpacked.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus2 import BENCH, Corpus, main  # noqa: E402

PINNED = (
    "monai==1.6.1",
    "kornia==0.9.0",
    "segmentation-models-pytorch==0.6.0",
    "pytorch-metric-learning==2.9.0",
    "speechbrain==1.1.2",
    "tensorflow-addons==0.23.0",
    "torch-geometric==2.8.1",
)

# package -> (folders kept, folders dropped), as paths inside the wheel.
KEEP: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "monai": (("monai/losses/", "monai/metrics/", "monai/networks/"), ()),
    # color/, enhance/ and geometry/ normalise images and project points: divisions by norms, sums and depths.
    "kornia": (("kornia/losses/", "kornia/metrics/", "kornia/color/", "kornia/enhance/", "kornia/geometry/"), ()),
    "segmentation_models_pytorch": (("segmentation_models_pytorch/losses/", "segmentation_models_pytorch/metrics/"), ()),
    "pytorch_metric_learning": (("pytorch_metric_learning/losses/", "pytorch_metric_learning/distances/", "pytorch_metric_learning/miners/"), ()),
    "speechbrain": (("speechbrain/nnet/", "speechbrain/utils/metric_stats.py"), ()),
    "tensorflow_addons": (("tensorflow_addons/losses/", "tensorflow_addons/metrics/", "tensorflow_addons/layers/"), ()),
    "torch_geometric": (
        ("torch_geometric/utils/", "torch_geometric/nn/", "torch_geometric/metrics/", "torch_geometric/transforms/", "torch_geometric/explain/"),
        (),
    ),
}

CORPUS3 = Corpus(BENCH / "corpus3", PINNED, KEEP)

if __name__ == "__main__":
    sys.exit(main(CORPUS3, __doc__))

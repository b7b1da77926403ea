"""Epsilons that frameworks take as arguments, with their documented defaults (EPS403 in half precision).

Each row: canonical callee -> (keyword, position of the argument counting the parameters/tensor as 0, default,
what goes wrong); positions checked with `inspect.signature` on the installed packages. `what` is the failure the value causes in float16 when it is too small:
- "zero": the value is only ever a floor or an addend of a possibly-zero quantity (`x / max(norm, eps)`,
  `rsqrt(var + eps)`): it breaks when it rounds to 0 (below 2.98e-8 in float16) -> 0/0 = NaN.
- "reciprocal": an optimizer's `update = m / (sqrt(v) + eps)`: once v underflows (g**2 below 6e-8, so any
  gradient below 2.4e-4), the update is m / eps: NaN when eps rounds to 0, and a step hundreds of times the
  learning rate while 1/eps overflows float16 (eps below 1.53e-5).

Measured on the CPU with torch 2.13.0 and Keras 3.15.1 / TensorFlow 2.21 (docs/api-facts-notes.md, "Library
epsilons in half precision"): float16 parameters with Adam/AdamW/RMSprop (eps 1e-8) and Adagrad (1e-10) are NaN
after the first step with a zero gradient, foreach or not; `F.normalize` (1e-12) and `F.cosine_similarity` (1e-8)
are NaN on a zero vector; `nn.BatchNorm1d(eps=1e-12)` is NaN on a constant batch; `nn.LayerNorm` and
`F.layer_norm` compute in float32 inside and stay finite (no row). bfloat16 keeps float32's range: none of these
epsilons underflows there (no finding). Defaults: torch/optim/*.py and torch/nn/functional.py of torch 2.13,
keras/src/optimizers/*.py of Keras 3.15.
"""

from __future__ import annotations

LibraryEpsilon = tuple[str, int, float, str]

# Optimizers: the parameters are their first argument; they run in the parameters' dtype.
TORCH_OPTIMIZERS: dict[str, LibraryEpsilon] = {
    "torch.optim.Adam": ("eps", 3, 1e-8, "reciprocal"),
    "torch.optim.AdamW": ("eps", 3, 1e-8, "reciprocal"),
    "torch.optim.Adamax": ("eps", 3, 1e-8, "reciprocal"),
    "torch.optim.NAdam": ("eps", 3, 1e-8, "reciprocal"),
    "torch.optim.RAdam": ("eps", 3, 1e-8, "reciprocal"),
    "torch.optim.RMSprop": ("eps", 3, 1e-8, "reciprocal"),
    "torch.optim.Adagrad": ("eps", 5, 1e-10, "reciprocal"),
    "torch.optim.Adadelta": ("eps", 3, 1e-6, "reciprocal"),
    "torch.optim.SparseAdam": ("eps", 3, 1e-8, "reciprocal"),
}
# Keras 3 optimizers: they run in the variables' dtype, float16 only when floatx or the (non-mixed) policy says
# so; `mixed_float16` keeps float32 variables and optimizer state (measured: Dense kernel float32).
KERAS_OPTIMIZERS: dict[str, LibraryEpsilon] = {
    "keras.optimizers.Adam": ("epsilon", 3, 1e-7, "reciprocal"),
    "keras.optimizers.AdamW": ("epsilon", 4, 1e-7, "reciprocal"),
    "keras.optimizers.Adamax": ("epsilon", 3, 1e-7, "reciprocal"),
    "keras.optimizers.Nadam": ("epsilon", 3, 1e-7, "reciprocal"),
    "keras.optimizers.RMSprop": ("epsilon", 3, 1e-7, "reciprocal"),
    "keras.optimizers.Adagrad": ("epsilon", 2, 1e-7, "reciprocal"),
    "keras.optimizers.Adadelta": ("epsilon", 2, 1e-7, "reciprocal"),
}
# Functions whose tensor argument (position 0) decides the dtype.
TORCH_FUNCTIONS: dict[str, LibraryEpsilon] = {
    "torch.nn.functional.normalize": ("eps", 3, 1e-12, "zero"),
    "torch.nn.functional.cosine_similarity": ("eps", 3, 1e-8, "zero"),
}
# Layers built with `dtype=torch.float16` (or converted with the model).
TORCH_LAYERS: dict[str, LibraryEpsilon] = {
    "torch.nn.BatchNorm1d": ("eps", 1, 1e-5, "zero"),
    "torch.nn.BatchNorm2d": ("eps", 1, 1e-5, "zero"),
    "torch.nn.BatchNorm3d": ("eps", 1, 1e-5, "zero"),
}
# The value to suggest in float16: the smallest power of ten whose reciprocal is finite there (1/eps <= 65504).
FLOAT16_SUGGESTED = "1e-4"

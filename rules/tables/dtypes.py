"""Floating-point formats, derived with the standard library only (the static linter must not import NumPy).

Every threshold the epsilon rules use is computed here from the formats themselves, never typed in by hand:
rounding to float32 and float16 goes through `struct` ('f' and 'e' round to nearest, ties to even); bfloat16
is float32 with its low 16 bits rounded to nearest even (how TensorFlow, JAX and ml_dtypes convert);
float64 is Python's float. `tests/test_epsilon_rules.py` compares every derived value with
`numpy.finfo` / `ml_dtypes.finfo` (ml-api-facts.md §D4).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable


def _f32(x: float) -> float:
    try:
        return struct.unpack("<f", struct.pack("<f", x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


def _f16(x: float) -> float:
    try:
        return struct.unpack("<e", struct.pack("<e", x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


def _f32_bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def _bf16(x: float) -> float:
    x = _f32(x)
    if math.isnan(x) or math.isinf(x):
        return x
    bits = _f32_bits(x)
    # Round the low 16 bits to nearest, ties to even (the bias trick used by TF, JAX and ml_dtypes).
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    if bits & 0x7F800000 == 0x7F800000:  # rounded up past the largest finite value
        return math.copysign(math.inf, x)
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def _f64(x: float) -> float:
    return float(x)


@dataclass(frozen=True)
class FloatFormat:
    """A binary floating-point format: its exponent and stored-mantissa widths and its rounding function."""

    name: str
    exponent_bits: int
    mantissa_bits: int
    round: Callable[[float], float]

    # -- values that define the format (bit patterns decoded by the rounding function's own format) -----
    def _decode(self, exponent: int, mantissa: int) -> float:
        bias = (1 << (self.exponent_bits - 1)) - 1
        if exponent == 0:
            return math.ldexp(mantissa, 1 - bias - self.mantissa_bits)
        return math.ldexp((1 << self.mantissa_bits) + mantissa, exponent - bias - self.mantissa_bits)

    @property
    def smallest_subnormal(self) -> float:
        return self._decode(0, 1)

    @property
    def smallest_normal(self) -> float:
        return self._decode(1, 0)

    @property
    def max(self) -> float:
        return self._decode((1 << self.exponent_bits) - 2, (1 << self.mantissa_bits) - 1)

    @property
    def eps(self) -> float:
        """Machine epsilon: the gap between 1 and the next larger value."""
        return self._next_up(1.0) - 1.0

    @property
    def epsneg(self) -> float:
        """The gap between 1 and the next smaller value."""
        return 1.0 - self._next_down(1.0)

    # -- derived thresholds, each found by rounding in the format and checked at its boundary -------------
    @property
    def absorbed_below_one(self) -> float:
        """The largest e with `1 - e == 1` in this format (epsneg / 2: the tie rounds to the even value 1)."""
        return _largest(lambda e: self.round(1.0 - e) == 1.0, self.epsneg)

    @property
    def absorbed_above_one(self) -> float:
        """The largest e with `1 + e == 1` in this format (eps / 2)."""
        return _largest(lambda e: self.round(1.0 + e) == 1.0, self.eps)

    @property
    def rounds_to_zero(self) -> float:
        """The largest positive value stored as 0 (smallest subnormal / 2, the tie rounding to even 0)."""
        return _largest(lambda e: self.round(e) == 0.0, self.smallest_subnormal)

    @property
    def reciprocal_overflow(self) -> float:
        """Below this, `1 / e` overflows to inf in this format."""
        return 1.0 / self.max

    @property
    def suggested_epsilon(self) -> float:
        """The smallest power of ten that is at least one whole step below 1 (`1 - e` stays below 1 with a
        margin): 1e-7 for float32, 1e-3 for float16, 1e-2 for bfloat16, 1e-15 for float64."""
        value = float(f"1e{math.ceil(math.log10(self.epsneg))}")
        assert self.round(1.0 - value) < 1.0
        return value

    def _next_up(self, x: float) -> float:
        # The first float64 above x that does not round back to x is past the midpoint; step by halving.
        step = 1.0
        while self.round(x + step) != x:
            candidate = self.round(x + step)
            step /= 2
        return candidate

    def _next_down(self, x: float) -> float:
        step = 1.0
        while self.round(x - step) != x:
            candidate = self.round(x - step)
            step /= 2
        return candidate

    # -- questions the rules ask ----------------------------------------------------------------------
    def absorbs(self, base: float, addend: float) -> bool:
        """`base + addend` (computed in Python, then stored in this format) equals `base` stored in it."""
        return addend != 0 and self.round(base + addend) == self.round(base)


def _largest(predicate: Callable[[float], bool], hint: float) -> float:
    """The largest positive float64 e for which `predicate(e)` holds, given that the predicate is monotone
    (true below the threshold) and the threshold lies in (hint / 4, hint * 4)."""
    low, high = hint / 4, hint * 4
    assert predicate(low) and not predicate(high)
    while True:
        middle = (low + high) / 2
        if middle in (low, high):
            return low
        if predicate(middle):
            low = middle
        else:
            high = middle


FLOAT64 = FloatFormat("float64", 11, 52, _f64)
FLOAT32 = FloatFormat("float32", 8, 23, _f32)
FLOAT16 = FloatFormat("float16", 5, 10, _f16)
BFLOAT16 = FloatFormat("bfloat16", 8, 7, _bf16)

FORMATS: dict[str, FloatFormat] = {f.name: f for f in (FLOAT64, FLOAT32, FLOAT16, BFLOAT16)}

# Every spelling of a float dtype that appears in code, by its last dotted component or as a string literal
# (`tf.float16`, `torch.half`, `np.float16`, `jnp.bfloat16`, `"float16"`, `ml_dtypes.bfloat16`).
DTYPE_NAMES: dict[str, str] = {
    "float64": "float64",
    "double": "float64",
    "float32": "float32",
    "float": "float32",  # torch.float; the builtin `float` (float64) is handled separately
    "single": "float32",
    "float16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
}


@lru_cache(maxsize=None)
def format_of(name: str) -> FloatFormat | None:
    canonical = DTYPE_NAMES.get(name)
    return FORMATS.get(canonical) if canonical else None


def short(value: float) -> str:
    """A value as messages print it: 3 significant digits, exact for powers of ten."""
    if value == 0 or math.isinf(value) or math.isnan(value):
        return repr(value)
    text = f"{value:.3g}"
    return text.replace("e-0", "e-").replace("e+0", "e+").replace("e+", "e")


def epsilon_literal(value: float) -> str:
    """How a fix writes an epsilon: `1e-7`, `1e-3`, not `1e-07` or `0.001`."""
    mantissa, _, exponent = f"{value:e}".partition("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"

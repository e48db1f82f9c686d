"""Generated inputs for proving an export (numpy only, deterministic).

Every case fills each floating-point input with one pattern: a gradient, a checkerboard, uniform noise,
and value extremes (dark ~0, bright ~1, small ~1e-3 signed, large ~1e3 signed), so a branch on a value
(a mean, a max, a sign) sees both sides. A float input with a declared range gets the same patterns
mapped into it (small: near the middle; large: the two ends). Integer inputs get seeded values in their
[low, high) range. With dynamic axes, noise is also run at other sizes of each dynamic dimension (+1 and
x2, x3 for a dimension of 1, and the ends of a declared range), tied axes following their dimension.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from depaudit.port.request import DimSpec, DynamicAxis, InputSpec, dynamic_dims

PATTERNS = ("gradient", "checkerboard", "noise", "dark", "bright", "small", "large")
EXAMPLE = "noise"  # the case the model is exported (traced) with
EXPORT_EXAMPLE = "noise-export"  # the example widened to 2 on dynamic dimensions of size 1
_GROWTH: tuple[tuple[str, Callable[[int], int]], ...] = (
    ("plus1", lambda n: n + 1),
    ("double", lambda n: 2 * n),
    ("triple", lambda n: 3 * n),
)


@dataclass(frozen=True)
class Case:
    """One named set of inputs, in the model's positional order."""

    name: str
    arrays: tuple[np.ndarray, ...]


def _planes(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates in [0, 1] over the last two axes, broadcast to `shape`."""
    h = shape[-2] if len(shape) >= 2 else 1
    w = shape[-1]
    yy, xx = np.meshgrid(np.linspace(0.0, 1.0, h), np.linspace(0.0, 1.0, w), indexing="ij")
    if len(shape) < 2:
        return np.broadcast_to(xx[0], shape), np.broadcast_to(xx[0], shape)
    return np.broadcast_to(yy, shape), np.broadcast_to(xx, shape)


def _channel_offset(shape: tuple[int, ...]) -> np.ndarray:
    """A small per-channel offset (axis 1) so channels differ; zero for inputs of rank < 3."""
    if len(shape) < 3:
        return np.zeros(shape)
    ramp = np.arange(shape[1], dtype=np.float64).reshape(1, -1, *([1] * (len(shape) - 2)))
    return np.broadcast_to(0.1 * ramp / max(shape[1], 1), shape)


def _noise(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random(shape)


def _float_pattern(pattern: str, shape: tuple[int, ...], seed: int) -> np.ndarray:
    yy, xx = _planes(shape)
    builders: dict[str, Callable[[], np.ndarray]] = {
        "gradient": lambda: np.clip(0.5 * (xx + yy) + _channel_offset(shape), 0.0, 1.0),
        "checkerboard": lambda: 0.1 + 0.8 * ((np.floor(yy * 8) + np.floor(xx * 8)) % 2),
        "noise": lambda: _noise(shape, seed),
        "dark": lambda: 0.02 * _noise(shape, seed + 1),
        "bright": lambda: 1.0 - 0.02 * _noise(shape, seed + 2),
        "small": lambda: 2e-3 * (_noise(shape, seed + 3) - 0.5),
        "large": lambda: 2e3 * (_noise(shape, seed + 4) - 0.5),
    }
    return np.asarray(builders[pattern](), dtype=np.float64)


def _ranged_pattern(pattern: str, shape: tuple[int, ...], seed: int, span: tuple[float, float]) -> np.ndarray:
    """A pattern inside [low, high]: the unit patterns scaled into it, `small` a hair around the middle,
    `large` the two ends."""
    low, high = span
    if pattern == "small":
        return (low + high) / 2 + (high - low) * 1e-3 * (_noise(shape, seed + 3) - 0.5)
    if pattern == "large":
        return np.where(_noise(shape, seed + 4) < 0.5, low, high)
    return low + (high - low) * _float_pattern(pattern, shape, seed)


def make_array(spec: InputSpec, pattern: str, shape: tuple[int, ...], seed: int) -> np.ndarray:
    """The array for one input in one case (dtype as the spec says)."""
    if spec.is_float and spec.float_range is not None:
        return _ranged_pattern(pattern, shape, seed, spec.float_range).astype(spec.dtype)
    if spec.is_float:
        return _float_pattern(pattern, shape, seed).astype(spec.dtype)
    rng = np.random.default_rng(seed + PATTERNS.index(pattern) if pattern in PATTERNS else seed)
    values = rng.integers(spec.low, spec.high, size=shape)
    return values.astype(bool) if spec.dtype == "bool" else values.astype(spec.dtype)


def shapes_at(
    inputs: tuple[InputSpec, ...], dynamic: tuple[DynamicAxis, ...], sizes: dict[str, int]
) -> list[tuple[int, ...]]:
    """Every input's shape when each dynamic dimension has the size in `sizes` (tied axes follow)."""
    shapes = []
    for spec in inputs:
        shape = list(spec.shape)
        for axis in (a for a in dynamic if a.input == spec.name and a.dim in sizes):
            shape[axis.axis] = axis.size(sizes[axis.dim])
        shapes.append(tuple(shape))
    return shapes


def other_sizes(dims: dict[str, DimSpec]) -> list[tuple[str, dict[str, int]]]:
    """(label, size of each dimension) of the dynamic-size cases: the first two growths that change
    some dimension and differ from each other, then a declared range's ends."""
    found: list[tuple[str, dict[str, int]]] = []
    for label, grow in _GROWTH:
        sizes = {d.name: grow(d.example) if d.allows(grow(d.example)) else d.example for d in dims.values()}
        if len(found) < 2 and _new(sizes, dims, found):
            found.append((label, sizes))
    ends: tuple[tuple[str, Callable[[DimSpec], int]], ...] = (
        ("min", lambda d: d.example if d.low is None else max(d.low, 1)),
        ("max", lambda d: d.example if d.high is None else d.high),
    )
    for label, end in ends:
        sizes = {d.name: end(d) for d in dims.values()}
        if _new(sizes, dims, found):
            found.append((label, sizes))
    return found


def _new(sizes: dict[str, int], dims: dict[str, DimSpec], found: list[tuple[str, dict[str, int]]]) -> bool:
    return any(sizes[n] != d.example for n, d in dims.items()) and all(sizes != s for _, s in found)


def make_cases(inputs: tuple[InputSpec, ...], dynamic: tuple[DynamicAxis, ...] = ()) -> list[Case]:
    """The base cases at the example shapes, then noise at other sizes of the dynamic dimensions."""
    cases = [Case(p, tuple(make_array(s, p, s.shape, 10 * i) for i, s in enumerate(inputs))) for p in PATTERNS]
    for label, sizes in other_sizes(dynamic_dims(inputs, dynamic)):
        shapes = shapes_at(inputs, dynamic, sizes)
        arrays = tuple(
            make_array(s, EXAMPLE, shape, 10 * i + 7) for i, (s, shape) in enumerate(zip(inputs, shapes, strict=True))
        )
        cases.append(Case(f"{EXAMPLE}-{label}", arrays))
    return cases


def size_one_dims(inputs: tuple[InputSpec, ...], dynamic: tuple[DynamicAxis, ...]) -> list[str]:
    """The dynamic dimensions whose example size is 1 (torch specialises those: 0/1 specialisation)."""
    return [d.name for d in dynamic_dims(inputs, dynamic).values() if d.example <= 1]


def widened(case: Case, inputs: tuple[InputSpec, ...], dynamic: tuple[DynamicAxis, ...], dims: list[str]) -> Case:
    """`case` with each dimension in `dims` made 2 by repeating the user's values along its axes (tied
    axes follow: K*1+C entries become K*2+C, cycling through the originals)."""
    sizes = dict.fromkeys(dims, 2)
    arrays = []
    for array, shape in zip(case.arrays, shapes_at(inputs, dynamic, sizes), strict=True):
        for axis, (old, new) in enumerate(zip(array.shape, shape, strict=True)):
            if new != old:
                array = np.take(array, np.arange(new) % old, axis=axis)
        arrays.append(np.ascontiguousarray(array))
    return Case(EXPORT_EXAMPLE, tuple(arrays))


def scaled_variants(case: Case, inputs: tuple[InputSpec, ...]) -> list[Case]:
    """Inputs that push values further than the base cases (zeros, negated, x1e3, +/-1e6, +/-10), for
    finding the other side of a value-dependent branch the base cases all took the same way. A float
    input with a declared range stays inside it (the pushed values are clipped)."""
    variants: list[tuple[str, Callable[[np.ndarray], np.ndarray]]] = [
        ("zeros", lambda a: a * 0),
        ("negated", lambda a: -a),
        ("times1e3", lambda a: a * 1e3),
        ("plus10", lambda a: a + 10),
        ("minus10", lambda a: a - 10),
        ("big", lambda a: np.full_like(a, 1e6)),
        ("bignegative", lambda a: np.full_like(a, -1e6)),
    ]
    out = []
    for label, change in variants:
        arrays = tuple(
            _clip(change(a.astype(np.float64)), s).astype(a.dtype) if s.is_float else a
            for s, a in zip(inputs, case.arrays, strict=True)
        )
        out.append(Case(f"{case.name}-{label}", arrays))
    return out


def _clip(array: np.ndarray, spec: InputSpec) -> np.ndarray:
    return array if spec.float_range is None else np.clip(array, *spec.float_range)

"""Generated inputs for proving an export (numpy only, deterministic).

Every case fills each floating-point input with one pattern: a gradient, a checkerboard, uniform noise,
and value extremes (dark ~0, bright ~1, small ~1e-3 signed, large ~1e3 signed), so a branch on a value
(a mean, a max, a sign) sees both sides. Integer inputs get seeded values in their [low, high) range.
With dynamic axes, noise is also run at other sizes on those axes (+1, and x2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from depaudit.port.request import DynamicAxis, InputSpec

PATTERNS = ("gradient", "checkerboard", "noise", "dark", "bright", "small", "large")
EXAMPLE = "noise"  # the case the model is exported (traced) with


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


def make_array(spec: InputSpec, pattern: str, shape: tuple[int, ...], seed: int) -> np.ndarray:
    """The array for one input in one case (dtype as the spec says)."""
    if spec.is_float:
        return _float_pattern(pattern, shape, seed).astype(spec.dtype)
    rng = np.random.default_rng(seed + PATTERNS.index(pattern) if pattern in PATTERNS else seed)
    values = rng.integers(spec.low, spec.high, size=shape)
    return values.astype(bool) if spec.dtype == "bool" else values.astype(spec.dtype)


def make_cases(inputs: tuple[InputSpec, ...], dynamic: tuple[DynamicAxis, ...] = ()) -> list[Case]:
    """The base cases at the example shapes, then noise at other sizes on the dynamic axes."""
    cases = [Case(p, tuple(make_array(s, p, s.shape, 10 * i) for i, s in enumerate(inputs))) for p in PATTERNS]
    if dynamic:
        growth: tuple[tuple[str, Callable[[int], int]], ...] = (("plus1", lambda n: n + 1), ("double", lambda n: 2 * n))
        for label, grow in growth:
            shapes = [
                tuple(
                    grow(n) if any(d.input == s.name and d.axis == a for d in dynamic) else n
                    for a, n in enumerate(s.shape)
                )
                for s in inputs
            ]
            arrays = tuple(
                make_array(s, EXAMPLE, shape, 10 * i + 7)
                for i, (s, shape) in enumerate(zip(inputs, shapes, strict=True))
            )
            cases.append(Case(f"{EXAMPLE}-{label}", arrays))
    return cases


def scaled_variants(case: Case, inputs: tuple[InputSpec, ...]) -> list[Case]:
    """Inputs that push values further than the base cases (zeros, negated, x1e3, +/-1e6, +/-10), for
    finding the other side of a value-dependent branch the base cases all took the same way."""
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
            change(a.astype(np.float64)).astype(a.dtype) if s.is_float else a
            for s, a in zip(inputs, case.arrays, strict=True)
        )
        out.append(Case(f"{case.name}-{label}", arrays))
    return out

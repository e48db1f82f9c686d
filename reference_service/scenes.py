"""Procedural SDR -> HDR scene pairs with gain maps as the GMNet paper defines them (numpy + Pillow only).

Used to train the bundled weights (``training/train_gmnet.py``), to evaluate them on held-out scenes, for
the pictures in ``reports/`` and to calibrate the INT8 model. Nothing here needs torch.

**Scenes.** Each scene is rendered in scene-referred linear radiance, where a white diffuse surface in
direct light is 1.0: a sky (brighter than white near the horizon), a sun disc of 200-2000 with a glow,
clouds, textured ground, cast shadows (illumination x0.1-0.35), glossy spheres whose Phong highlights
reach 5-60, lamps of 30-600 with glows and the pools of light they throw, bright windows. Three kinds:
``outdoor`` (daylight), ``night`` (dark ambient, street lamps, lit windows) and ``indoor`` (walls, a
window, a lamp, glossy objects).

**SDR and HDR renditions of the same radiance** (the physically motivated expansion). One exposure,
chosen from the scene's log-average luminance (with a random offset of up to one stop either way), then
a luminance tone curve that is the identity up to a knee ``k`` (0.55-0.8) and rolls off smoothly above
it (slope 1 at the knee, exponential approach to the ceiling):

* SDR: ceiling 1.0 (SDR white), then gamma 1/2.2 and 8-bit quantisation, as an SDR JPEG/PNG holds it;
* HDR: the same curve with the ceiling at ``PEAK`` = 8 (an 800-nit display over 100-nit SDR white, the
  paper's synthetic set), linear.

Below the knee the two renditions are identical, so shadows and mid-tones gain (almost) nothing; the
sky gains up to about one stop; speculars, lamps and the sun, which the SDR curve squeezed against 1.0,
gain up to log2(8) = 3 stops. Colours are scaled by the luminance ratio (hue kept), clipped per channel.

**Gain map and qmax** as in the paper (Liao et al., ICLR 2025) and its code: the gain in stops
``G = log2((Y_hdr + k) / (Y_sdr + k))`` with ``Y`` the Rec. 709 luminance, ``Y_sdr`` taken from the
*decoded* 8-bit SDR (``sdr ** 2.2``) and ``k = 1/64`` (the offset of the Adobe/ISO gain-map
definition), clipped to [0, log2 PEAK]; ``Qmax`` = max G over the image (the "Gain Map Max" metadata);
the normalized gain map ``NGM = G / Qmax`` in [0, 1]. GMNet's outputs are ``NGM`` and
``Qmax / log2(PEAK)`` (the original training normalises its second target by log2 of the dataset
peak). HDR is recovered as ``sdr ** 2.2 * 2 ** (NGM * Qmax)``: :func:`reconstruct_hdr`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

PEAK = 8.0  # HDR peak over SDR white: 800 nit / 100 nit, as the paper's synthetic dataset
LOG2_PEAK = float(np.log2(PEAK))
GAMMA = 2.2  # SDR encoding; the paper linearises SDR with the same power
OFFSET = 1.0 / 64.0  # k_sdr = k_hdr in the gain definition
KINDS = ("outdoor", "night", "indoor")
_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


@dataclass(frozen=True)
class ScenePair:
    """One rendered scene: the SDR input, its HDR target and the gain map between them."""

    kind: str
    sdr: np.ndarray  # float32 (H, W, 3) in [0, 1], gamma 1/2.2, 8-bit quantised
    hdr: np.ndarray  # float32 (H, W, 3) linear, SDR white = 1, at most PEAK
    gain_stops: np.ndarray  # float32 (H, W): G, in [0, LOG2_PEAK]
    qmax_stops: float  # max of gain_stops ("Gain Map Max")

    @property
    def ngm(self) -> np.ndarray:
        """The normalized gain map G / Qmax in [0, 1] (zeros when the scene gains nothing)."""
        if self.qmax_stops <= 0:
            return np.zeros_like(self.gain_stops)
        return (self.gain_stops / self.qmax_stops).astype(np.float32)

    @property
    def qmax_net(self) -> float:
        """GMNet's second output for this scene: Qmax / log2(PEAK), in [0, 1]."""
        return self.qmax_stops / LOG2_PEAK


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Rec. 709 luminance of linear (..., 3) RGB."""
    return np.tensordot(rgb, _LUMA, axes=([-1], [0])).astype(np.float32)


def reconstruct_hdr(sdr: np.ndarray, ngm: np.ndarray, qmax_net: float) -> np.ndarray:
    """Linear HDR from the SDR image and GMNet's outputs: ``sdr**2.2 * 2**(ngm * qmax_net * log2 PEAK)``.

    ``ngm`` is clipped to [0, 1] first (what a quantised gain map can hold).
    """
    stops = np.clip(ngm, 0.0, 1.0) * float(qmax_net) * LOG2_PEAK
    return (np.power(np.clip(sdr, 0.0, 1.0), GAMMA) * np.exp2(stops)[..., None]).astype(np.float32)


def tone_curve(y: np.ndarray, knee: float, ceiling: float) -> np.ndarray:
    """Identity below ``knee``; above it ``knee + (c - knee)(1 - exp(-(y - knee)/(c - knee)))``."""
    span = ceiling - knee
    over = np.maximum(y - knee, 0.0)
    return np.where(y < knee, y, knee + span * (1.0 - np.exp(-over / span))).astype(np.float32)


# ----------------------------------------------------------------------------- building blocks
class _Canvas:
    """Normalised pixel coordinates (the short side spans [0, 1]) and the random source."""

    def __init__(self, rng: np.random.Generator, height: int, width: int) -> None:
        self.rng, self.h, self.w = rng, height, width
        scale = float(min(height, width))
        self.y, self.x = np.meshgrid((np.arange(height) + 0.5) / scale, (np.arange(width) + 0.5) / scale, indexing="ij")
        self.y = self.y.astype(np.float32)
        self.x = self.x.astype(np.float32)
        self.ymax, self.xmax = height / scale, width / scale

    def noise(self, cells: int, octaves: int = 3) -> np.ndarray:
        """Smooth value noise in [0, 1]: random grids resized bicubically, summed over octaves."""
        total = np.zeros((self.h, self.w), np.float32)
        weight = 0.0
        for octave in range(octaves):
            n = cells * 2**octave
            grid = self.rng.random((max(2, round(n * self.ymax)), max(2, round(n * self.xmax)))).astype(np.float32)
            plane = Image.fromarray(grid, mode="F").resize((self.w, self.h), Image.Resampling.BICUBIC)
            amp = 0.5**octave
            total += amp * np.asarray(plane, dtype=np.float32)
            weight += amp
        return np.clip(total / weight, 0.0, 1.0)

    def point(self, y_range: tuple[float, float] = (0.0, 1.0)) -> tuple[float, float]:
        """A random (y, x) inside the canvas, y within the given fraction of its height."""
        return (float(self.rng.uniform(*y_range)) * self.ymax, float(self.rng.uniform(0, self.xmax)))

    def dist(self, cy: float, cx: float, ry: float = 1.0, rx: float = 1.0) -> np.ndarray:
        """Elliptical distance from (cy, cx) with radii (ry, rx)."""
        return np.sqrt(((self.y - cy) / ry) ** 2 + ((self.x - cx) / rx) ** 2)


def _colour(rng: np.random.Generator, base: tuple[float, float, float], spread: float) -> np.ndarray:
    tint = np.asarray(base, np.float32) * (1.0 + spread * rng.uniform(-1, 1, 3).astype(np.float32))
    return np.clip(tint, 0.02, None)


def _add_glow(
    img: np.ndarray, cv: _Canvas, cy: float, cx: float, radius: float, radiance: float, colour: np.ndarray
) -> None:
    """A bright disc with a soft halo (light scattered around a source)."""
    d = cv.dist(cy, cx)
    core = d < radius
    halo = 0.04 * radiance * np.exp(-np.maximum(d - radius, 0.0) / (2.5 * radius))
    img += halo[..., None] * colour
    img[core] = radiance * colour


def _sphere(
    img: np.ndarray, cv: _Canvas, light: tuple[float, float, float], illum: float, ground_y: float | None = None
) -> None:
    """A glossy sphere: Lambert shading plus a Phong highlight of 5-60, and its cast shadow."""
    rng = cv.rng
    radius = float(rng.uniform(0.05, 0.16))
    cy = float(rng.uniform(0.35, 0.9)) * cv.ymax if ground_y is None else ground_y - radius * 0.6
    cx = float(rng.uniform(radius, cv.xmax - radius))
    if ground_y is not None:  # its shadow on the ground, offset away from the light
        shadow = cv.dist(ground_y + radius * 0.1, cx - light[0] * radius * 1.5, radius * 0.35, radius * 1.3) < 1
        img[shadow] *= float(rng.uniform(0.1, 0.3))
    dy, dx = (cv.y - cy) / radius, (cv.x - cx) / radius
    inside = dy**2 + dx**2 < 1.0
    nz = np.sqrt(np.clip(1.0 - dy**2 - dx**2, 0.0, 1.0))
    lx, ly, lz = light
    lambert = np.clip(dx * lx + dy * ly + nz * lz, 0.0, 1.0)
    # Phong with the viewer at +z: reflect the light about the normal, compare with +z
    rz = 2.0 * (dx * lx + dy * ly + nz * lz) * nz - lz
    shininess = float(rng.uniform(20, 120))
    spec = float(rng.choice([rng.uniform(0.3, 3), rng.uniform(5, 60)])) * np.clip(rz, 0.0, 1.0) ** shininess
    albedo = _colour(rng, (0.5, 0.45, 0.4), 0.6) * float(rng.uniform(0.2, 0.8))
    shade = albedo * (0.15 + illum * lambert)[..., None] + spec[..., None]
    img[inside] = shade[inside]


def _light_dir(rng: np.random.Generator) -> tuple[float, float, float]:
    v = np.array([rng.uniform(-0.8, -0.1), rng.uniform(-0.7, 0.7), rng.uniform(0.3, 0.9)])
    v /= np.linalg.norm(v)
    return float(v[1]), float(v[0]), float(v[2])  # (x, y, z) with y pointing down the image


def _outdoor(cv: _Canvas) -> np.ndarray:
    rng = cv.rng
    horizon = float(rng.uniform(0.35, 0.7)) * cv.ymax + 0.05 * np.sin(float(rng.uniform(2, 9)) * cv.x)
    t = np.clip(cv.y / np.maximum(horizon, 1e-3), 0.0, 1.0)[..., None]
    zenith, low = _colour(rng, (0.45, 0.7, 1.4), 0.2), _colour(rng, (1.6, 1.8, 2.2), 0.15)
    img = (zenith * (1 - t) + low * t) * float(rng.uniform(0.8, 2.0))
    clouds = np.clip(cv.noise(3, 4) - float(rng.uniform(0.45, 0.65)), 0.0, None) * 4.0
    img = img + (clouds * float(rng.uniform(1.5, 5.0)))[..., None]
    if rng.random() < 0.55:  # the sun, somewhere in the sky
        cy, cx = float(rng.uniform(0.05, 0.3)) * cv.ymax, float(rng.uniform(0.1, 0.9)) * cv.xmax
        _add_glow(
            img,
            cv,
            cy,
            cx,
            float(rng.uniform(0.015, 0.04)),
            float(rng.uniform(200, 2000)),
            _colour(rng, (1.0, 0.95, 0.85), 0.05),
        )
    ground = cv.y >= horizon
    texture = cv.noise(6, 4)
    albedo = _colour(rng, (0.3, 0.35, 0.2), 0.5) * (0.3 + 0.9 * texture)[..., None]
    img[ground] = albedo[ground] * float(rng.uniform(0.8, 1.2))
    for _ in range(int(rng.integers(0, 3))):  # shadows of things outside the frame
        cy, cx = cv.point((0.6, 1.0))
        patch = (cv.dist(cy, cx, float(rng.uniform(0.05, 0.2)), float(rng.uniform(0.1, 0.4))) < 1) & ground
        img[patch] *= float(rng.uniform(0.1, 0.35))
    light = _light_dir(rng)
    for _ in range(int(rng.integers(1, 4))):
        gy = float(rng.uniform(0.75, 0.98)) * cv.ymax
        _sphere(img, cv, light, 1.0, ground_y=gy)
    return img


def _night(cv: _Canvas) -> np.ndarray:
    rng = cv.rng
    ambient = float(rng.uniform(0.01, 0.05))
    img = (ambient * (0.4 + cv.noise(5, 3)))[..., None] * _colour(rng, (0.5, 0.6, 1.0), 0.3)
    for _ in range(int(rng.integers(1, 6))):  # lit windows
        cy, cx = cv.point((0.1, 0.7))
        hy, hx = float(rng.uniform(0.03, 0.1)), float(rng.uniform(0.03, 0.1))
        rect = (np.abs(cv.y - cy) < hy) & (np.abs(cv.x - cx) < hx)
        img[rect] = _colour(rng, (1.0, 0.75, 0.45), 0.2) * float(rng.uniform(0.8, 5.0))
    for _ in range(int(rng.integers(0, 5))):  # street lamps and the pools of light below them
        cy, cx = cv.point((0.05, 0.6))
        colour = _colour(rng, (1.0, 0.8, 0.55), 0.25)
        pool_y = min(cy + float(rng.uniform(0.2, 0.6)), cv.ymax)
        pool = float(rng.uniform(0.5, 2.5)) / (1.0 + (cv.dist(pool_y, cx, 0.1, 0.3)) ** 2)
        img += (pool * (0.2 + 0.3 * cv.noise(8, 2)))[..., None] * colour
        _add_glow(img, cv, cy, cx, float(rng.uniform(0.008, 0.03)), float(rng.uniform(30, 600)), colour)
    return img


def _indoor(cv: _Canvas) -> np.ndarray:
    rng = cv.rng
    wall = _colour(rng, (0.7, 0.65, 0.55), 0.3) * float(rng.uniform(0.3, 0.8))
    light_level = float(rng.uniform(0.3, 0.9))
    img = wall * (light_level * (0.6 + 0.4 * cv.noise(2, 3)))[..., None]
    floor = cv.y > float(rng.uniform(0.6, 0.85)) * cv.ymax
    img[floor] = (_colour(rng, (0.4, 0.3, 0.2), 0.4) * light_level * (0.5 + 0.5 * cv.noise(10, 3))[..., None])[floor]
    if rng.random() < 0.6:  # a window onto a bright outside
        cy, cx = cv.point((0.15, 0.45))
        hy, hx = float(rng.uniform(0.1, 0.25)), float(rng.uniform(0.08, 0.25))
        rect = (np.abs(cv.y - cy) < hy) & (np.abs(cv.x - cx) < hx)
        outside = float(rng.uniform(4, 30)) * (0.7 + 0.3 * cv.noise(4, 2))
        img[rect] = (outside[..., None] * _colour(rng, (0.9, 0.95, 1.1), 0.1))[rect]
        bars = rect & ((np.abs(cv.x - cx) < 0.006) | (np.abs(cv.y - cy) < 0.006))
        img[bars] = wall * 0.2
    if rng.random() < 0.5:  # a lamp
        cy, cx = cv.point((0.05, 0.5))
        _add_glow(
            img,
            cv,
            cy,
            cx,
            float(rng.uniform(0.01, 0.04)),
            float(rng.uniform(30, 300)),
            _colour(rng, (1.0, 0.85, 0.65), 0.1),
        )
    light = _light_dir(rng)
    for _ in range(int(rng.integers(1, 4))):
        _sphere(img, cv, light, light_level * 1.5)
    return img


_RENDER: dict[str, Callable[[_Canvas], np.ndarray]] = {"outdoor": _outdoor, "night": _night, "indoor": _indoor}


# ----------------------------------------------------------------------------- rendering
def render_radiance(seed: int, height: int, width: int, kind: str | None = None) -> tuple[str, np.ndarray]:
    """Scene-referred linear radiance (H, W, 3) for ``seed``; ``kind`` defaults to one drawn from the seed."""
    rng = np.random.default_rng(seed)
    kind = kind or KINDS[int(rng.integers(len(KINDS)))]
    if kind not in _RENDER:
        raise ValueError(f"unknown scene kind {kind!r}; kinds: {', '.join(KINDS)}")
    radiance = _RENDER[kind](_Canvas(rng, height, width))
    return kind, np.clip(radiance, 0.0, None).astype(np.float32)


def expose(radiance: np.ndarray, rng: np.random.Generator, kind: str) -> np.ndarray:
    """Scale radiance so its log-average luminance (brightest 2 % left out) lands near middle grey."""
    y = luminance(radiance)
    body = y[y <= np.quantile(y, 0.98)]
    key = float(np.exp(np.mean(np.log(body + 1e-4))))
    target = (0.08 if kind == "night" else 0.18) * 2.0 ** float(rng.uniform(-1.0, 1.0))
    return radiance * np.float32(target / max(key, 1e-6))


def make_pair(seed: int, height: int, width: int, kind: str | None = None) -> ScenePair:
    """Render scene ``seed`` at ``height`` x ``width``: SDR input, HDR target, gain map, Qmax."""
    kind, radiance = render_radiance(seed, height, width, kind)
    rng = np.random.default_rng([seed, 1])
    scene = expose(radiance, rng, kind)
    knee = float(rng.uniform(0.55, 0.8))
    y = np.maximum(luminance(scene), 1e-8)
    sdr_lin = np.clip(scene * (tone_curve(y, knee, 1.0) / y)[..., None], 0.0, 1.0)
    hdr = np.clip(scene * (tone_curve(y, knee, PEAK) / y)[..., None], 0.0, PEAK).astype(np.float32)
    sdr = (np.rint(np.power(sdr_lin, 1.0 / GAMMA) * 255.0) / 255.0).astype(np.float32)
    decoded = np.power(sdr, GAMMA)
    gain = np.log2((luminance(hdr) + OFFSET) / (luminance(decoded) + OFFSET))
    gain = np.clip(gain, 0.0, LOG2_PEAK).astype(np.float32)
    return ScenePair(kind=kind, sdr=sdr, hdr=hdr, gain_stops=gain, qmax_stops=float(gain.max()))


def hdr_psnr(reference: np.ndarray, test: np.ndarray, peak: float = PEAK) -> float:
    """PSNR (dB) of linear HDR ``test`` against ``reference`` with the display peak as the signal."""
    mse = float(np.mean((np.asarray(reference, np.float64) - np.asarray(test, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * float(np.log10(peak * peak / mse))

"""The pure parts of `depaudit bench` (statistics, inputs, agreement, targets, report rendering) and the
local PEP 503 index it serves torch's CPU wheels from, exercised with a real pip install."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from depaudit.images.bench import Answer, VariantResult, agreement, percentile, sample_png, targets
from depaudit.images.wheel_index import serve_wheel_index
from depaudit.render.bench import charts, grouped_bar_chart_svg, render_markdown


def test_percentile_matches_numpy_linear_interpolation():
    rng = np.random.default_rng(1)
    for n in (1, 2, 5, 17):
        samples = list(rng.random(n) * 1000)
        for q in (50, 95):
            assert percentile(samples, q) == pytest.approx(float(np.percentile(samples, q)))
    with pytest.raises(ValueError):
        percentile([], 50)


def test_sample_images_are_deterministic_pngs_of_the_asked_size():
    first, second = sample_png(64, 48), sample_png(64, 48)
    assert first == second
    image = Image.open(io.BytesIO(first))
    assert image.format == "PNG" and image.size == (64, 48) and image.mode == "RGB"
    assert len(np.unique(np.asarray(image))) > 50  # texture, not a flat colour


def _gain_png(values: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.rint(values * 65535).astype(np.uint16)).save(out, format="PNG")
    return out.getvalue()


def test_agreement_psnr_and_qmax():
    ref = np.linspace(0, 1, 32 * 32).reshape(32, 32)
    same = agreement("32x32", "torch-cuda", Answer(_gain_png(ref), 2.0, -1.0, 3.0), Answer(_gain_png(ref), 2.0, -1.0, 3.0))
    assert same.identical and same.psnr_db is None and same.max_abs_err == 0 and same.qmax_rel_err == 0
    assert same.range_rel_err == 0
    noisy = ref.copy()
    noisy[0, :8] += 0.01
    result = agreement("32x32", "torch-cuda", Answer(_gain_png(ref), 2.0, -1.0, 3.0),
                       Answer(_gain_png(noisy), 2.002, -1.0, 3.02))
    a = np.rint(ref * 65535) / 65535
    b = np.rint(noisy * 65535) / 65535
    assert result.psnr_db == pytest.approx(10 * np.log10(1 / np.mean((a - b) ** 2)))
    assert result.qmax_rel_err == pytest.approx(0.001)
    assert result.range_rel_err == pytest.approx(0.02 / 4.0)  # |3.02 - 3.0| over the reference range 4.0
    assert agreement("32x32", "t", Answer(_gain_png(ref), 1.0), Answer(_gain_png(ref), 1.0)).range_rel_err is None
    other = agreement("32x32", "torch-cuda", Answer(_gain_png(ref), 1.0), Answer(_gain_png(ref[:16]), 1.0))
    assert other.psnr_db is None and "shape" in other.note


def test_targets_are_computed_from_the_measurements():
    cuda = VariantResult("torch-cuda", "a", "f", build_seconds=600.0, size=5_000_000_000)
    ort = VariantResult("onnxruntime", "b", "f", build_seconds=100.0, size=240_000_000)
    t = targets([cuda, ort])
    assert t["size_ratio"] == round(5_000_000_000 / 240_000_000, 2)
    assert t["ort_at_most_1_20th"] and t["ort_within_250MB"]
    assert t["build_speedup"] == 6.0 and t["ort_build_5x_faster"]
    slow = targets([cuda, VariantResult("onnxruntime", "b", "f", build_seconds=200.0, size=260_000_000)])
    assert not slow["ort_build_5x_faster"] and not slow["ort_within_250MB"] and not slow["ort_at_most_1_20th"]


def _report() -> dict:
    variants = []
    for name, size, build, lat in (("torch-cuda", 5e9, 500.0, 900.0), ("onnxruntime", 2.4e8, 30.0, None)):
        variants.append({"variant": name, "size": int(size), "compressed_size": None, "accelerator_bytes": 0,
                         "build_seconds": build, "ready_seconds": 2.0, "error": None, "agreement": [],
                         "latency": [{"size": "256x256", "requests": 3, "p50_ms": lat, "p95_ms": lat,
                                      "warmup_ms": lat, "error": None if lat else "timed out"}]})
    return {"command": "depaudit bench", "started": "2026-01-01T00:00:00Z", "duration_seconds": 60.0,
            "machine": {"cpu": "Test CPU", "vcpus": 2, "memory_gib": 24, "os": "Debian", "python": "3.11.7",
                        "docker_engine": "20.10"},
            "base_image": "depaudit/python:3.11-slim", "settings": {"sizes": ["256x256"]},
            "variants": variants, "targets": targets([])}


def test_charts_are_svg_with_one_bar_per_measured_value():
    svgs = charts(_report())
    assert set(svgs) == {"images-size.svg", "images-build-time.svg", "images-latency.svg"}
    ns = {"s": "http://www.w3.org/2000/svg"}
    for name, expected_bars in (("images-size.svg", 2), ("images-build-time.svg", 2), ("images-latency.svg", 1)):
        root = ET.fromstring(svgs[name])
        bars = [r for r in root.findall("s:rect", ns) if r.get("fill") != "white"]
        assert len(bars) == expected_bars, name
    latency = ET.fromstring(svgs["images-latency.svg"])
    assert any(t.text == "n/a" for t in latency.findall("s:text", ns))
    widths = [float(r.get("width")) for r in ET.fromstring(svgs["images-size.svg"]).findall("s:rect", ns)
              if r.get("fill") != "white"]
    assert widths[0] / widths[1] == pytest.approx(5e9 / 2.4e8, rel=0.02)  # bars to scale


def test_bar_labels_are_escaped():
    svg = grouped_bar_chart_svg("a <b> & c", "ms", ["g"], [("x&y", [1.0])])
    ET.fromstring(svg)  # well-formed


def test_markdown_names_machine_and_command():
    text = render_markdown(_report())
    assert "2 vCPU Test CPU" in text and "Command: `depaudit bench`" in text
    assert "| onnxruntime | 256x256 | 3 (timed out) |" in text


@pytest.fixture(scope="module")
def tiny_wheel(tmp_path_factory) -> Path:
    """A real wheel built by pip from a two-file project (no network: setuptools from this venv)."""
    root = tmp_path_factory.mktemp("wheelproj")
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "Depaudit_Probe.Pkg"\nversion = "1.0+cpu"\n')
    (root / "depaudit_probe_pkg.py").write_text("VALUE = 42\n")
    out = root / "dist"
    env = dict(os.environ, PIP_CONFIG_FILE=os.devnull)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(root)], check=True, env=env, timeout=120)
    return out


def test_local_index_serves_a_wheel_pip_installs(tiny_wheel, tmp_path):
    with serve_wheel_index([tiny_wheel]) as url:
        assert url.startswith("http://127.0.0.1:")
        page = urllib.request.urlopen(url + "/depaudit-probe-pkg/", timeout=10).read().decode()
        assert "%2Bcpu" in page  # the local version's '+' is escaped in the link
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(url + "/numpy/", timeout=10)
        env = dict(os.environ, PIP_CONFIG_FILE=os.devnull)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--index-url", url,
                        "--target", str(tmp_path / "site"), "depaudit_probe.pkg==1.0+cpu"],
                       check=True, env=env, timeout=120)
    assert (tmp_path / "site" / "depaudit_probe_pkg.py").read_text() == "VALUE = 42\n"

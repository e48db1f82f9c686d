"""The pure parts of `depaudit bench` (reference_service.bench): statistics, round order, the load log, the
input, agreement, targets, report rendering of full and partial runs, and where reports are written."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reference_service.bench.gmnet import Answer, agreement, sample_png, targets
from reference_service.bench.render import charts, grouped_bar_chart_svg, render_markdown
from reference_service.bench.report_files import report_folder, write_report
from reference_service.bench.run import LoadLog, VariantResult, percentile, round_order


def test_percentile_matches_numpy_linear_interpolation():
    rng = np.random.default_rng(1)
    for n in (1, 2, 5, 17):
        samples = list(rng.random(n) * 1000)
        for q in (50, 95):
            assert percentile(samples, q) == pytest.approx(float(np.percentile(samples, q)))
    with pytest.raises(ValueError):
        percentile([], 50)


def test_rounds_rotate_so_every_variant_leads_once():
    variants = ["a", "b", "c"]
    orders = [round_order(variants, r) for r in range(3)]
    assert orders == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]]
    assert {order[0] for order in orders} == set(variants)
    assert all(sorted(order) == variants for order in orders)
    assert round_order([], 4) == []


def test_load_log_warns_once_and_marks_the_run(monkeypatch):
    messages: list[str] = []
    figures = iter([[0.5, 0.4, 0.3], [3.5, 1.0, 0.5], [3.9, 1.2, 0.6], [1.0, 1.0, 1.0], [4.1, 2.0, 1.0]])
    monkeypatch.setattr("reference_service.bench.run.load_average", lambda: next(figures))
    log = LoadLog(messages.append, cpus=2)
    log.sample("start")
    assert not messages
    log.sample("round 1")
    log.sample("round 1")
    log.sample("round 2")
    log.sample("end")
    assert len(messages) == 1 and "3.5 exceeds the 2 logical CPUs" in messages[0]
    summary = log.to_dict()
    assert summary["overloaded"] and summary["max_load1"] == 4.1 and len(summary["samples"]) == 5


def test_sample_images_are_deterministic_photo_like_pngs():
    first, second = sample_png(96, 64), sample_png(96, 64)
    assert first == second
    image = Image.open(io.BytesIO(first))
    assert image.format == "PNG" and image.size == (96, 64) and image.mode == "RGB"
    pixels = np.asarray(image)
    assert len(np.unique(pixels)) > 50  # texture, not a flat colour
    assert pixels.max() == 255  # a highlight clipped in the SDR rendition: something for a gain map to do


def _gain_png(values: np.ndarray, bits: int = 16) -> bytes:
    scale, dtype = (65535, np.uint16) if bits == 16 else (255, np.uint8)
    out = io.BytesIO()
    Image.fromarray(np.rint(values * scale).astype(dtype)).save(out, format="PNG")
    return out.getvalue()


def test_agreement_counts_levels_and_differing_pixels():
    ref = np.linspace(0, 1, 32 * 32).reshape(32, 32)
    same = agreement(
        "32x32", "torch-cuda", Answer(_gain_png(ref), 2.0, -1.0, 3.0), Answer(_gain_png(ref), 2.0, -1.0, 3.0)
    )
    assert same.identical and same.psnr_db is None and same.max_level_diff == 0 and same.differing_pixels == 0
    assert same.levels == 1024 and same.note is None and same.range_rel_err == 0
    off = ref.copy()
    off[0, :8] += 1.0 / 65535  # one level on 8 pixels
    off[1, 0] += 3.0 / 65535
    result = agreement(
        "32x32", "torch-cuda", Answer(_gain_png(ref), 2.0, -1.0, 3.0), Answer(_gain_png(off), 2.002, -1.0, 3.02)
    )
    assert result.max_level_diff == 3 and result.differing_pixels == 9 and result.pixels == 1024
    assert result.psnr_db == pytest.approx(10 * np.log10(1 / ((8 * 1 + 9) / 65535**2 / 1024)))
    assert result.qmax_rel_err == pytest.approx(0.001)
    assert result.range_rel_err == pytest.approx(0.02 / 4.0)
    flat = agreement("8x8", "t", Answer(_gain_png(np.zeros((8, 8))), 1.0), Answer(_gain_png(np.zeros((8, 8))), 1.0))
    assert flat.levels == 1 and "constant" in flat.note  # said, not passed off as agreement
    other = agreement("32x32", "t", Answer(_gain_png(ref), 1.0), Answer(_gain_png(ref[:16]), 1.0))
    assert other.psnr_db is None and "shape" in other.note


def test_targets_include_the_ten_percent_headroom():
    cuda = VariantResult("torch-cuda", "a", "f", build_seconds=600.0, size=5_000_000_000)
    ort = VariantResult("onnxruntime", "b", "f", build_seconds=100.0, size=224_000_000)
    t = targets([cuda, ort])
    assert t["size_ratio"] == round(5_000_000_000 / 224_000_000, 2)
    assert t["ort_at_most_1_20th"] and t["ort_within_250MB"] and t["ort_headroom_10pct"]
    assert t["build_speedup"] == 6.0 and t["ort_build_5x_faster"]
    tight = targets([cuda, VariantResult("onnxruntime", "b", "f", build_seconds=200.0, size=247_600_000)])
    assert tight["ort_within_250MB"] and not tight["ort_headroom_10pct"] and not tight["ort_build_5x_faster"]


def _variant(name: str, size: float | None, build: float | None, lat: float | None, error: str | None = None) -> dict:
    latency = (
        []
        if lat is None
        else [
            {
                "size": "256x256",
                "requests": 3,
                "p50_ms": lat,
                "p95_ms": lat,
                "warmup_ms": lat,
                "load1": [0.5, 0.7],
                "error": None,
            }
        ]
    )
    return {
        "variant": name,
        "size": None if size is None else int(size),
        "compressed_size": None,
        "accelerator_bytes": 0,
        "build_seconds": build,
        "ready_seconds": 2.0 if lat else None,
        "error": error,
        "agreement": [],
        "latency": latency,
    }


def _report(variants: list[dict], *, provisional: bool = False) -> dict:
    return {
        "command": "depaudit bench",
        "started": "2026-01-01T00:00:00Z",
        "duration_seconds": 60.0,
        "machine": {
            "cpu": "Test CPU",
            "vcpus": 2,
            "memory_gib": 24,
            "os": "Debian",
            "python": "3.11.7",
            "docker_engine": "20.10",
        },
        "load": {
            "cpus": 2,
            "max_load1": 5.2 if provisional else 0.8,
            "overloaded": provisional,
            "samples": [{"phase": "start", "time": 0, "load": [0.8, 0.5, 0.4]}],
        },
        "provisional": provisional,
        "base_image": "depaudit/python:3.11-slim",
        "settings": {"sizes": ["256x256"], "rounds": 3},
        "variants": variants,
        "targets": targets([]),
    }


def test_charts_are_svg_with_one_bar_per_measured_value():
    svgs = charts(_report([_variant("torch-cuda", 5e9, 500.0, 900.0), _variant("onnxruntime", 2.4e8, 30.0, 400.0)]))
    assert set(svgs) == {"images-size.svg", "images-build-time.svg", "images-latency.svg"}
    ns = {"s": "http://www.w3.org/2000/svg"}
    for name, expected_bars in (("images-size.svg", 2), ("images-build-time.svg", 2), ("images-latency.svg", 2)):
        bars = [r for r in ET.fromstring(svgs[name]).findall("s:rect", ns) if r.get("fill") != "white"]
        assert len(bars) == expected_bars, name
    widths = [
        float(r.get("width"))
        for r in ET.fromstring(svgs["images-size.svg"]).findall("s:rect", ns)
        if r.get("fill") != "white"
    ]
    assert widths[0] / widths[1] == pytest.approx(5e9 / 2.4e8, rel=0.02)  # bars to scale


def test_bar_labels_are_escaped():
    ET.fromstring(grouped_bar_chart_svg("a <b> & c", "ms", ["g"], [("x&y", [1.0])]))  # well-formed


def test_a_partial_run_renders_without_empty_tables_or_charts():
    # the build failed for every variant: no sizes, no latency, no agreement
    report = _report(
        [
            _variant("torch-cuda", None, None, None, error="docker build of torch-cuda failed"),
            _variant("onnxruntime", None, None, None, error="docker build of onnxruntime failed"),
        ]
    )
    assert charts(report) == {}
    text = render_markdown(report)
    assert "| variant |" not in text  # no table header without rows
    assert "- torch-cuda: docker build of torch-cuda failed" in text and "## Targets" in text
    one = _report([_variant("onnxruntime", 2.2e8, 30.0, None), _variant("tinygrad", None, None, None, "x")])
    text = render_markdown(one)
    assert "| onnxruntime |" in text and "Latency of" not in text and "Agreement" not in text
    assert set(charts(one)) == {"images-size.svg", "images-build-time.svg"}


def test_markdown_names_machine_command_load_and_marks_provisional_runs():
    calm = render_markdown(_report([_variant("onnxruntime", 2.2e8, 30.0, 400.0)]))
    assert "2 vCPU Test CPU" in calm and "Command: `depaudit bench`" in calm and "Provisional" not in calm
    assert "| onnxruntime | 256x256 | 3 | 400 | 400 | 400 | 0.6 |" in calm
    busy = render_markdown(_report([_variant("onnxruntime", 2.2e8, 30.0, 400.0)], provisional=True))
    assert "**Provisional.**" in busy and "5.2 on 2 logical CPUs" in busy


def test_reports_go_to_a_new_folder_unless_told_to_overwrite(tmp_path: Path):
    assert report_folder(tmp_path, overwrite=False) == tmp_path  # nothing there yet
    written = write_report(_report([_variant("onnxruntime", 2.2e8, 30.0, 400.0)]), tmp_path)
    assert {p.name for p in written} == {"images.md", "images-size.svg", "images-build-time.svg", "images-latency.svg"}
    (tmp_path / "images.json").write_text("{}")
    fresh = report_folder(tmp_path, overwrite=False, now=0)
    assert fresh == tmp_path / "bench-19700101T000000Z" and not fresh.exists()
    fresh.mkdir()
    assert report_folder(tmp_path, overwrite=False, now=0) == tmp_path / "bench-19700101T000000Z-2"
    assert report_folder(tmp_path, overwrite=True) == tmp_path

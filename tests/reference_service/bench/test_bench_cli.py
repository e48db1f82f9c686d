"""`depaudit bench` exits 4 when a variant failed, including a service that answered no request."""

from __future__ import annotations

from depaudit.cli.bench import bench_failures


def _variant(name: str, error: str | None = None, latency_errors: tuple[str | None, ...] = (None,)) -> dict:
    return {
        "variant": name,
        "error": error,
        "latency": [{"size": f"{256 * (i + 1)}x256", "error": e} for i, e in enumerate(latency_errors)],
    }


def test_a_clean_report_has_no_failures(capsys) -> None:
    assert bench_failures({"variants": [_variant("onnxruntime"), _variant("tinygrad")]}) == []
    assert capsys.readouterr().err == ""


def test_requests_answered_500_are_failures_named_per_size(capsys) -> None:
    report = {"variants": [_variant("onnxruntime"), _variant("tinygrad", latency_errors=("answered 500", None))]}
    assert bench_failures(report) == ["tinygrad at 256x256: answered 500"]
    assert "bench: tinygrad at 256x256: answered 500" in capsys.readouterr().err


def test_a_build_that_failed_is_a_failure() -> None:
    report = {"variants": [_variant("torch-cuda", error="docker build failed", latency_errors=())]}
    assert bench_failures(report) == ["torch-cuda: docker build failed"]

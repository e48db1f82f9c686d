"""Shared inputs of the renderer tests: a lint report, a gate report and a scan report whose data is
stated here (findings and budget checks made by hand; the scan from a real fixture lock, offline, with
the committed size cache)."""

from __future__ import annotations

from pathlib import Path

import pytest

from depaudit.budgets import BudgetCheck
from depaudit.gate import GATE_RULES, GateReport, GateResult
from depaudit.lint import LintReport
from depaudit.model import Finding
from depaudit.render.formats import RenderOptions
from depaudit.rules.base import describe
from depaudit.rules.run_budgets import budget_findings
from depaudit.settings import Settings

LINES = {
    ("docker/Dockerfile", 1): "FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04",
    ("docker/Dockerfile", 3): "RUN pip install torch",
    ("requirements.txt", 2): "torch==2.8.0",
}


@pytest.fixture
def options(tmp_path: Path, monkeypatch) -> RenderOptions:
    """Paths relative to tmp_path (made the working folder and the repository root); lines from LINES."""
    monkeypatch.chdir(tmp_path)
    return RenderOptions(
        source_root=tmp_path,
        docs_url="https://docs.example/rules/{id}.html",
        read_line=lambda path, line: LINES.get((path, line)),
    )


@pytest.fixture
def lint_report() -> LintReport:
    findings = (
        Finding(
            "DA301",
            "error",
            "final image builds on a CUDA image: nvidia/cuda:12.4.1-runtime-ubuntu22.04",
            "docker/Dockerfile",
            1,
        ),
        Finding("DA302", "error", "torch is installed from PyPI | with a pipe", "docker/Dockerfile", 3, fixable=True),
        Finding(
            "DA202",
            "info",
            "torch is a runtime dependency beside onnxruntime\x1b[31m (escaped)",
            "requirements.txt",
            2,
            fixable=True,
        ),
    )
    rules = tuple(d for family in ("DA2", "DA3") for d in describe(family))
    return LintReport(("docker/Dockerfile", "requirements.txt"), findings, rules)


@pytest.fixture
def gate_report() -> GateReport:
    checks = (
        BudgetCheck(
            "download",
            "uv.lock linux-x86_64",
            3.9e9,
            5e8,
            "fail",
            "bytes",
            (("torch", 8.88e8), ("nvidia-cudnn-cu12", 7.07e8)),
            path="uv.lock",
            line=40,
            target="linux-x86_64",
        ),
        BudgetCheck(
            "download",
            "uv.lock macos-arm64",
            1.5e7,
            5e8,
            "unknown",
            "bytes",
            (("sympy", 6.3e6),),
            "2 sizes unknown: the total is a lower bound",
            "uv.lock",
            12,
            "macos-arm64",
        ),
        BudgetCheck(
            "accelerator", "uv.lock macos-arm64", 0.0, 0.0, "pass", "bytes", path="uv.lock", target="macos-arm64"
        ),
        BudgetCheck("latency", "onnxruntime 512x512 p95", 1700.0, 1500.0, "fail", "ms", path="images.json"),
    )
    settings = Settings(
        Path("/nonexistent/state"),  # a report renders settings; nothing here writes state
        origins=(("max-download", "--max-download"), ("max-latency-ms", "pyproject.toml [tool.depaudit]")),
    )
    rules = tuple(d for d in describe("DA5") if d.id in GATE_RULES)
    return GateReport(GateResult(checks), settings, tuple(budget_findings(checks)), rules)

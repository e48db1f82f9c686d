"""docs/performance.md names every speed special case benchmarks/special_cases.py measures, and the
committed report measures every one of them (a case added to the script needs its line and its figure)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def case_ids() -> list[str]:
    spec = importlib.util.spec_from_file_location("special_cases", ROOT / "benchmarks" / "special_cases.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return [case.id for case in module.CASES]


def test_every_case_is_named_in_the_performance_doc():
    doc = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    missing = [case for case in case_ids() if f"`{case}`" not in doc]
    assert missing == []


def test_the_committed_report_measures_every_case():
    report = json.loads((ROOT / "reports" / "special_cases.json").read_text(encoding="utf-8"))
    assert [row["id"] for row in report["cases"]] == case_ids()
    assert all(not row["verdict"].startswith("drop") for row in report["cases"])

"""The diff contract: `diff` before/after totals equal `scan`'s totals for the same lock and options, and
what they leave out (unknown sizes, builds, packages that cannot install) is listed the same way. Real lock
pairs, offline with an empty size cache, so sizes the locks lack stay unknown on purpose."""

from __future__ import annotations

import json

import pytest

from depaudit.diff import diff_locks
from depaudit.scan import scan_lock

from childrun import run_depaudit
from fixture_paths import FIXTURES, LOCKS

PAIRS = [
    (LOCKS / "torch-2.8" / "uv.lock", LOCKS / "torch-2.8-sizes" / "uv.lock"),  # 249 then 10 wheels without size
    (FIXTURES / "diff" / "cpu-index" / "before" / "uv.lock", FIXTURES / "diff" / "cpu-index" / "after" / "uv.lock"),
    (LOCKS / "jax-cuda-plugin" / "uv.lock", LOCKS / "torch-beside-ort-gpu" / "uv.lock"),
    (LOCKS / "torch-1.12" / "uv.lock", LOCKS / "torch-no-nvidia-edges" / "uv.lock"),  # requires-python differ
    (LOCKS / "docling" / "uv.lock", LOCKS / "transitive-torch" / "uv.lock"),  # a build (openai-whisper) on one side
]


def _side(report):
    return {
        t.target.name: (
            t.total_bytes if t.supported else None,
            t.accelerator_bytes if t.supported else None,
            t.unknown_size,
            t.builds,
            t.not_installable,
        )
        for t in report.targets
    }


@pytest.mark.parametrize(("base", "head"), PAIRS, ids=lambda p: p.parent.name)
def test_diff_totals_and_unknowns_equal_two_scans(base, head, tmp_path):
    diff = diff_locks(base, head, offline=True, cache_dir=tmp_path)
    before = _side(scan_lock(base, python=diff.python, offline=True, cache_dir=tmp_path))
    after = _side(scan_lock(head, python=diff.python, offline=True, cache_dir=tmp_path))
    for t in diff.targets:
        assert (t.before_bytes, t.before_accelerator_bytes, t.before_unknown, t.before_builds) == before[t.target][:4]
        assert (t.after_bytes, t.after_accelerator_bytes, t.after_unknown, t.after_builds) == after[t.target][:4]
        assert (t.before_not_installable, t.after_not_installable) == (before[t.target][4], after[t.target][4])
        nothing_left_out = not any(before[t.target][2:] + after[t.target][2:])
        assert t.exact == nothing_left_out


def test_the_commands_agree_too(tmp_path):
    """`depaudit diff --format json` against `depaudit scan --format json` of each side, in subprocesses."""
    base, head = PAIRS[0]
    cache = ["--offline", "--cache-dir", str(tmp_path)]
    diff = json.loads(run_depaudit("diff", str(base), str(head), *cache, "--format", "json").stdout)
    scans = [json.loads(run_depaudit("scan", str(p), *cache, "--format", "json").stdout) for p in (base, head)]
    for i, side in enumerate(("before", "after")):
        for t, s in zip(diff["targets"], scans[i]["targets"], strict=True):
            assert t["target"] == s["target"]
            assert t[f"{side}_bytes"] == s["total_bytes"] and t[f"{side}_accelerator_bytes"] == s["accelerator_bytes"]
            assert t[f"{side}_unknown_size"] == s["unknown_size"] and t[f"{side}_builds"] == s["builds"]
            assert t[f"{side}_not_installable"] == s["not_installable"]

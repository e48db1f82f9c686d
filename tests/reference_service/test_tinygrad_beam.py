"""Shipped BEAM results: exported from tinygrad's cache without machine code, applied without searching."""

from __future__ import annotations

import json
import pickle
import sqlite3
from importlib.metadata import version

import numpy as np
import pytest
from tinygrad.codegen.opt import Opt, OptOps
from tinygrad.helpers import VERSION

from reference_service import tinygrad_beam
from reference_service.backends import beam_table_setting


def test_opts_survive_json():
    opts = [Opt(OptOps.UPCAST, 0, 4), Opt(OptOps.UNROLL, 1, 3), Opt(OptOps.LOCAL, None, (2, 2))]
    rows = json.loads(json.dumps(tinygrad_beam.opts_to_json(opts)))
    assert tinygrad_beam.opts_from_json(rows) == opts


def test_export_copies_only_the_search_results(tmp_path):
    db = tmp_path / "cache.db"
    with sqlite3.connect(db) as c:
        c.execute(
            f"CREATE TABLE 'beam_search_{VERSION}' (ast blob, amt int, allow_test_size int, device text, "
            "suffix text, val blob, PRIMARY KEY (ast, amt, allow_test_size, device, suffix))"
        )
        c.execute(f"CREATE TABLE 'compile_clang_obj_x86_64_native_{VERSION}' (key text, val blob)")
        c.execute(f"INSERT INTO 'compile_clang_obj_x86_64_native_{VERSION}' VALUES ('src', x'7f454c46')")
        for amt in (2, 4):
            c.execute(
                f"INSERT INTO 'beam_search_{VERSION}' VALUES (?, ?, 1, 'CPU', '', ?)",
                (b"\x01\x02", amt, pickle.dumps([Opt(OptOps.UPCAST, 0, amt)])),
            )
    out = tmp_path / "beam.json"
    assert tinygrad_beam.export(db, out, 2) == 1
    data = json.loads(out.read_text())
    assert data["tinygrad"] == version("tinygrad") and data["amt"] == 2
    assert data["kernels"] == {"0102|2|1|CPU|": [["UPCAST", 0, 2]]}
    assert "7f454c46" not in out.read_text() and "ELF" not in out.read_text()
    assert tinygrad_beam.load(out)["kernels"]


def test_a_table_from_another_tinygrad_is_refused(tmp_path):
    path = tmp_path / "beam.json"
    path.write_text(json.dumps({"schema": 1, "tinygrad": "0.0.1", "amt": 2, "kernels": {}}))
    with pytest.raises(ValueError, match=r"tinygrad 0\.0\.1"):
        tinygrad_beam.load(path)


def test_the_backend_finds_its_table_from_the_environment(tmp_path):
    assert beam_table_setting({"GMNET_TINYGRAD_BEAM": "off"}) is None
    (tmp_path / "t.json").write_text("{}")
    assert beam_table_setting({"GMNET_TINYGRAD_BEAM": str(tmp_path / "t.json")}) == tmp_path / "t.json"
    with pytest.raises(FileNotFoundError, match=r"GMNET_TINYGRAD_BEAM=auto: no such file"):
        beam_table_setting({"GMNET_TINYGRAD_BEAM": "auto"})


def test_an_installed_table_never_searches(tmp_path, monkeypatch):
    # An empty table: every kernel misses and must get tinygrad's heuristics, instantly, with BEAM set.
    from tinygrad import Tensor
    from tinygrad.codegen.opt import search
    from tinygrad.helpers import BEAM

    path = tmp_path / "beam.json"
    path.write_text(json.dumps({"schema": 1, "tinygrad": version("tinygrad"), "amt": 2, "kernels": {}}))
    original, beam = search.beam_search, BEAM.value
    try:
        assert tinygrad_beam.install(path) == 0 and BEAM.value == 2
        monkeypatch.setattr(search, "_time_program", lambda *a, **k: pytest.fail("a kernel was timed: a search ran"))
        x = np.arange(64, dtype=np.float32).reshape(8, 8)
        assert (Tensor(x) * 2 + 1).sum().item() == float((x * 2 + 1).sum())
    finally:
        search.beam_search, BEAM.value = original, beam


def test_a_bundled_table_from_another_tinygrad_is_skipped_but_a_named_one_fails(tmp_path, monkeypatch, caplog):
    from reference_service import backends

    stale = tmp_path / "beam.json"
    stale.write_text(json.dumps({"schema": 1, "tinygrad": "0.0.1", "amt": 2, "kernels": {}}))
    monkeypatch.setattr(backends, "DEFAULT_BEAM_TABLE", stale)
    monkeypatch.delenv("GMNET_TINYGRAD_BEAM", raising=False)
    with caplog.at_level("WARNING", logger="reference_service.backends"):
        backend = backends.TinygradBackend()
    assert backend.beam_kernels == 0
    assert "tinygrad 0.0.1" in caplog.text and "heuristic" in caplog.text
    named = tmp_path / "named.json"
    named.write_text(stale.read_text())
    monkeypatch.setenv("GMNET_TINYGRAD_BEAM", str(named))
    with pytest.raises(ValueError, match=r"tinygrad 0\.0\.1"):
        backends.TinygradBackend()

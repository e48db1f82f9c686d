"""PEP 751 pylock.toml, as `uv export --format pylock.toml` writes it, gives the same answer as uv.lock."""

from __future__ import annotations

from depaudit.scan import scan_lock
from depaudit.sources.uvlock import load_lock

from fixture_paths import LOCKS


def test_pylock_and_uv_lock_agree_per_target(size_cache):
    a = scan_lock(LOCKS / "torch-2.8" / "uv.lock", offline=True, cache_dir=size_cache)
    b = scan_lock(LOCKS / "torch-2.8" / "pylock.toml", offline=True, cache_dir=size_cache)
    for x, y in zip(a.targets, b.targets, strict=True):
        assert {(p.name, p.package.version, p.wheel.filename) for p in x.packages} == {
            (p.name, p.package.version, p.wheel.filename) for p in y.packages
        }
        assert x.total_bytes == y.total_bytes and x.accelerator_bytes == y.accelerator_bytes


def test_pylock_sources_archive_vcs_directory():
    lock = load_lock(LOCKS / "sources" / "pylock.toml")
    kinds = {p.name: p.source.kind for p in lock.packages}
    assert kinds["gitlib"] == "git" and kinds["editlib"] == "editable" and kinds["dirlib"] == "directory"
    assert kinds["six"] == "url" and kinds["wheellib"] == "path"
    assert lock.format == "pylock.toml" and lock.roots == ("<pylock>",)


def test_prod_export_excludes_the_dev_group(size_cache):
    prod = scan_lock(
        LOCKS / "extras-dev" / "pylock.prod.toml", offline=True, cache_dir=size_cache, targets=["linux-x86_64"]
    )
    everything = scan_lock(
        LOCKS / "extras-dev" / "pylock.toml", offline=True, cache_dir=size_cache, targets=["linux-x86_64"]
    )
    assert "torch" not in {p.name for p in prod.targets[0].packages}
    assert "torch" in {p.name for p in everything.targets[0].packages}

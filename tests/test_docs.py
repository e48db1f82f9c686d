"""The README and docs/ stay true and small.

- README.md fits a screen or three: under 15,000 bytes (issue 18).
- Every relative link in README.md and docs/ (and the reference service's pages) names a file that
  exists, and every `#anchor` a heading of that file.
- The README's five invocations show what the commands print today: each is run again here (offline;
  the scan from the committed size cache, so only its "looking up" line differs) and its output compared
  with the block under it.
- The README's exit-code table lists exactly the codes `depaudit.errors` defines.
- docs/configuration.md's key table names every key of `settings.SCHEMA`, with its variable and option.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from depaudit.errors import EXIT_CODES
from depaudit.settings import SCHEMA, env_name

from childrun import cli_env, run_depaudit
from fixture_paths import SIZE_CACHE

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = sorted(
    [README, *(ROOT / "docs").rglob("*.md"), ROOT / "reference_service" / "README.md", ROOT / "docker" / "README.md"]
)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def test_readme_is_under_15_kb() -> None:
    size = len(README.read_bytes())
    assert size < 15_000, f"README.md is {size:,} bytes; move detail to a docs/ page"


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.MULTILINE)}


def links(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return [m.group(1) for m in LINK.finditer(text)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, file: ...
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading #{anchor} in {file.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_every_page_in_docs_is_linked_from_the_readme_or_another_page() -> None:
    linked = {(page.parent / t.partition("#")[0]).resolve() for page in PAGES for t in links(page)}
    orphans = [p.relative_to(ROOT) for p in (ROOT / "docs").glob("*.md") if p.resolve() not in linked]
    assert not orphans, f"pages nothing links to: {orphans}"


def readme_block(command: str) -> list[str]:
    """The lines of the fenced block that follows the README line holding `command` in backticks."""
    text = README.read_text(encoding="utf-8")
    at = text.index(f"`{command}`")
    block = re.compile(r"^```[a-z]*\n(.*?)^```", re.MULTILINE | re.DOTALL).search(text, at)
    assert block is not None, command
    return block.group(1).splitlines()


DIFF_FIXTURE = ROOT / "tests" / "fixtures" / "diff" / "cpu-index"
INVOCATIONS = [
    (ROOT, "depaudit fix examples/hdr-service --to cpu-index --dry-run --offline", 0),
    (
        DIFF_FIXTURE,
        "depaudit gate --lock before/uv.lock --max-accelerator 0 --offline -t linux-x86_64 -t macos-arm64",
        1,
    ),
    (DIFF_FIXTURE, "depaudit diff before/uv.lock after/uv.lock --offline -t linux-x86_64 --top 3", 0),
    (ROOT, "depaudit lint docker/ --format gnu", 1),
]


@pytest.mark.parametrize(("cwd", "command", "code"), INVOCATIONS, ids=lambda v: v if isinstance(v, str) else None)
def test_readme_invocation_prints_what_the_readme_shows(cwd: Path, command: str, code: int) -> None:
    done = run_depaudit(*command.split()[1:], cwd=cwd, timeout=120)
    assert done.returncode == code, done.stderr
    printed = done.stdout.splitlines() + done.stderr.splitlines()
    assert sorted(printed) == sorted(readme_block(command))


def test_readme_scan_prints_what_the_readme_shows(tmp_path: Path) -> None:
    """Online, the README's scan looks up the sizes the lock lacks; the committed size cache holds PyPI's
    answers for this lock, so offline from it everything but the look-up line is the same."""
    command = "depaudit scan examples/hdr-service/uv.lock -t linux-x86_64 --top 8"
    cache = tmp_path / "cache"
    shutil.copytree(SIZE_CACHE, cache)
    done = run_depaudit(*command.split()[1:], "--offline", cwd=ROOT, env=cli_env(DEPAUDIT_CACHE_DIR=str(cache)))
    assert done.returncode == 0, done.stderr
    shown = [line for line in readme_block(command) if not line.startswith("depaudit: looking up")]
    assert sorted(done.stdout.splitlines() + done.stderr.splitlines()) == sorted(shown)


def test_readme_exit_codes_are_the_ones_depaudit_defines() -> None:
    text = README.read_text(encoding="utf-8").split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    codes = [int(m) for m in re.findall(r"^\| (\d) \|", text, re.MULTILINE)]
    assert codes == sorted(EXIT_CODES)


def test_configuration_page_names_every_setting() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([a-z-]+)` \| .*$", page, re.MULTILINE)}
    missing = [k.name for k in SCHEMA if k.name not in rows]
    assert not missing, f"keys not in docs/configuration.md: {missing}"
    for key in SCHEMA:
        assert f"`{env_name(key.name)}`" in rows[key.name], key.name
        if key.option.startswith("-"):
            assert f"`{key.option}`" in rows[key.name], key.name
    extra = set(rows) - {k.name for k in SCHEMA}
    assert not extra, f"docs/configuration.md lists keys that are not settings: {sorted(extra)}"

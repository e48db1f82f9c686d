"""Each rule's documentation page (docs/rules/DAxxx.md) as outputs use it: the absolute URL of the page
(SARIF `helpUri`, markdown links), its full description (the first paragraph of "Why") and its help
text in markdown and plain text (SARIF `help`).

The pages ship inside the wheel (`depaudit/_rule_docs/`, see `[tool.hatch.build]` in pyproject.toml)
and are read from `docs/rules/` in a source checkout. The base URL of the pages comes from, in order:
`--docs-url`, `[tool.depaudit] docs-url`, the `Rules` entry of the package's project URLs, and
`DEFAULT_RULES_URL`. A base may contain `{id}` (`https://example.com/rules/{id}.html`); otherwise the
page is `<base>/<ID>.md`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT_RULES_URL = "https://github.com/depaudit/depaudit/blob/main/docs/rules/"
"""Where the rule pages live; equals `[project.urls] Rules` in pyproject.toml (a test keeps them equal)."""

_PACKAGED = Path(__file__).resolve().parent.parent / "_rule_docs"
_CHECKOUT = Path(__file__).resolve().parents[2] / "docs" / "rules"


def docs_dir() -> Path | None:
    """The folder holding DAxxx.md pages (inside the wheel, or the checkout's docs/rules)."""
    for folder in (_PACKAGED, _CHECKOUT):
        if folder.is_dir():
            return folder
    return None


@lru_cache(maxsize=1)
def installed_rules_url() -> str:
    """The `Rules` project URL of the installed distribution, else DEFAULT_RULES_URL."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        entries: list[str] = metadata("depaudit").get_all("Project-URL") or []
    except PackageNotFoundError:
        return DEFAULT_RULES_URL
    for entry in entries:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "rules" and url.strip():
            return url.strip()
    return DEFAULT_RULES_URL


def rule_url(rule_id: str, docs_url: str | None = None) -> str:
    """The absolute URL of a rule's page under `docs_url` (or the default base)."""
    base = docs_url or installed_rules_url()
    if "{id}" in base:
        return base.replace("{id}", rule_id)
    return base.rstrip("/") + f"/{rule_id}.md"


@dataclass(frozen=True)
class RuleHelp:
    """A rule page as SARIF wants it: a one-paragraph description and the page as markdown and text."""

    full_description: str
    markdown: str
    text: str


_FENCE = re.compile(r"^```\w*\s*$", re.MULTILINE)
_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")


def plain(markdown: str) -> str:
    """Markdown as readable plain text: code blocks kept verbatim (fences dropped); elsewhere heading
    marks, emphasis, link targets and backticks removed."""
    out: list[str] = []
    in_code = False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            in_code = not in_code
            continue
        if in_code:
            out.append("    " + line)
            continue
        line = re.sub(r"^#+\s*", "", line)
        out.append(_LINK.sub(r"\1", line).replace("`", "").replace("**", ""))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip() + "\n"


def _why(markdown: str) -> str:
    match = re.search(r"^## Why\s*\n(.*?)(?:\n\s*\n|\Z)", markdown, re.MULTILINE | re.DOTALL)
    return " ".join(match.group(1).split()) if match else ""


def rule_help(rule_id: str, summary: str) -> RuleHelp:
    """The help of one rule from its page; just the summary when the page cannot be found."""
    folder = docs_dir()
    page = folder / f"{rule_id}.md" if folder is not None else None
    try:
        markdown = page.read_text(encoding="utf-8") if page is not None else ""
    except OSError:
        markdown = ""
    if not markdown:
        return RuleHelp(summary, summary, summary)
    description = plain(_why(markdown)).strip() or summary
    return RuleHelp(description, markdown, plain(markdown))

"""Each rule's documentation page (docs/rules/DAxxx.md) as outputs use it: where the page is (SARIF
`helpUri`, markdown links), its full description (the first paragraph of "Why") and its help text in
markdown and plain text (SARIF `help`).

The pages ship inside the wheel (`depaudit/_rule_docs/`, see `[tool.hatch.build]` in pyproject.toml)
and are read from `docs/rules/` in a source checkout. A page's address is the configured docs URL
(`--docs-url`, `DEPAUDIT_DOCS_URL`, `[tool.depaudit] docs-url`; a base may contain `{id}`:
`https://example.com/rules/{id}.html`, otherwise the page is `<base>/<ID>.md`), else the shipped page
itself (a `file:` URI). Never a made-up repository: the project URLs in pyproject.toml are placeholders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_PACKAGED = Path(__file__).resolve().parent.parent / "_rule_docs"
_CHECKOUT = Path(__file__).resolve().parents[2] / "docs" / "rules"


def docs_dir() -> Path | None:
    """The folder holding DAxxx.md pages (inside the wheel, or the checkout's docs/rules)."""
    for folder in (_PACKAGED, _CHECKOUT):
        if folder.is_dir():
            return folder
    return None


def rule_url(rule_id: str, docs_url: str | None = None) -> str | None:
    """The absolute URL of a rule's page under `docs_url`, else the `file:` URI of the page shipped with
    depaudit, or None when neither exists."""
    if docs_url:
        if "{id}" in docs_url:
            return docs_url.replace("{id}", rule_id)
        return docs_url.rstrip("/") + f"/{rule_id}.md"
    return shipped_page(rule_id)


def shipped_page(rule_id: str) -> str | None:
    """The `file:` URI of the rule's page shipped with depaudit, or None when it has none."""
    folder = docs_dir()
    page = folder / f"{rule_id}.md" if folder is not None else None
    return page.as_uri() if page is not None and page.is_file() else None


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

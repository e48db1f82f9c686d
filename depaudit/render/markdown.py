"""Markdown pieces every pull-request comment and step summary shares: names from a lock as code spans, and
the verdict and cause lines a report leads with.

A lock, a pyproject.toml or a Dockerfile comes from whoever opened the pull request. Everything taken from
one (package names, versions, paths, URLs, messages that quote them) is written as a code span: inside
one, markdown and GitHub render no HTML, link, image, emphasis or @mention. Control characters are
escaped first (`render.escaping`), so a span stays on its line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from depaudit.analysis.causes import Cause
from depaudit.budgets import BudgetCheck, show
from depaudit.render.escaping import escape_control
from depaudit.units import format_size

_TICKS = re.compile(r"`+")


def code(text: str) -> str:
    """`text` as one inline code span ("" for empty text): delimited by one more backtick than the
    longest run of backticks inside it, padded with a space where it starts or ends with one."""
    text = escape_control(text)
    if not text:
        return ""
    fence = "`" * (max((len(m) for m in _TICKS.findall(text)), default=0) + 1)
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def code_cell(text: str) -> str:
    """`code(text)` for a table cell: GitHub splits cells on `|` before reading code spans, so pipes are
    escaped (the escape is removed again when the cell is read)."""
    return code(text.replace("\n", " ")).replace("|", "\\|")


def path_text(names: Sequence[str], shown: int = 6) -> str:
    """A path `a` → `b` → `c`, each name a code span; a long path keeps its two first and three last."""
    if len(names) > shown:
        names = [*names[:2], f"… {len(names) - 5} more …", *names[-3:]]
        return " → ".join(n if n.startswith("… ") else code(n) for n in names)
    return " → ".join(code(n) for n in names)


def cause_line(cause: Cause, binary: bool = False, what: str = "accelerator packages") -> str:
    """`torch` (a direct dependency) brings 16 accelerator packages, 3.9 GB + 1 of unknown size: path."""
    unknown = f" + {cause.unknown} of unknown size" if cause.unknown else ""
    noun = what if cause.packages != 1 else what.removesuffix("s")
    return (
        f"{code(cause.direct)} brings {cause.packages} {noun}, {format_size(cause.bytes, binary)}{unknown}: "
        f"{path_text(cause.path)}"
    )


def check_line(check: BudgetCheck, binary: bool = False) -> str:
    """One verdict line: which budget, on what, and by how much (or why it cannot be verified)."""
    measured = check.measured_text(binary)
    limit = show(check.limit, check.unit, binary)
    head = f"{code(check.subject)} {check.check}"
    if check.check == "new-accelerator" and not check.passed:
        listed = ", ".join(code(name) for name, _ in check.offenders)
        return f"❌ **FAIL** {head}: {len(check.offenders)} new accelerator packages: {listed}"
    if check.check == "new-accelerator":
        return f"✅ **PASS** {head}: no new accelerator package"
    if check.verdict == "pass":
        return f"✅ **PASS** {head}: {measured} within the budget of {limit}"
    if check.verdict == "unknown":
        why = f" ({code(check.note)})" if check.note else ""
        return f"⚠️ **UNKNOWN** {head}: at least {measured}, budget {limit}: cannot verify{why}"
    if check.exceeded and check.measured is not None:
        over = show(check.measured - check.limit, check.unit, binary)
        return f"❌ **FAIL** {head}: {measured}, {over} over the budget of {limit}"
    if check.count:
        return f"❌ **FAIL** {head}: {check.count} accelerator packages install ({measured}), budget {limit}"
    return f"❌ **FAIL** {head}: {measured}, budget {limit}" + (f" ({code(check.note)})" if check.note else "")


def verdict_lines(checks: Iterable[BudgetCheck], binary: bool = False) -> list[str]:
    """The lines a report leads with: each check that did not pass, with the causes under it, or one
    line saying every check passed."""
    checks = list(checks)
    failing = [c for c in checks if not c.passed]
    if not failing:
        return [f"✅ **PASS**: all {len(checks)} budget checks passed."] if checks else []
    lines = []
    for check in failing:
        lines.append(f"- {check_line(check, binary)}")
        what = "packages" if check.check == "download" else "accelerator packages"
        lines += [f"  - cause: {cause_line(c, binary, what)}" for c in check.causes]
    return lines

"""Planning edits of pip requirements files toward the PyTorch CPU index (the pip form).

pip cannot pin an index per package, so the CPU index goes in as `--extra-index-url` and each exact
torch-family pin gains the `+cpu` local version, which only that index serves. A direct reference to a
CUDA (or plain PyPI, CUDA on Linux) wheel (`torch @ https://…/torch-2.1.0+cu121-…whl`) becomes the pin
`torch==2.1.0+cpu`, its marker kept. A `-f/--find-links` naming a PEP 503 index (which pip cannot read as
a links page) becomes `--extra-index-url`.

Refused (FixRefused, nothing written): a CUDA index without --force, `--hash` pins, and one package pinned
on two lines that can both apply (`torch @ …+cu121…whl` next to `torch==2.1.0`). Every planned line is
checked after the edit: a pin that could not be rewritten is refused, never reported as done.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from depaudit.analysis.index_urls import DEFAULT_CPU_INDEX_URL, is_cuda_index, is_pep503_index, same_url
from depaudit.analysis.torch_reach import is_torch_family
from depaudit.errors import FixRefused
from depaudit.fixers.textstyle import join_style, split_style
from depaudit.model import Edit
from depaudit.sources.requirements import RequirementLine, RequirementsFile, parse_requirements


@dataclass(frozen=True)
class _Pin:
    """A planned rewrite of one requirement: the version it must pin afterwards, and what to say."""

    req: RequirementLine
    version: str
    note: str


def plan_requirements_text(
    text: str, path: str, *, index_url: str = DEFAULT_CPU_INDEX_URL, force: bool = False
) -> Edit:
    """The edit for one requirements file. Raises InputError for an unparseable file and FixRefused
    when it asks for a CUDA index (unless `force`), pins torch with hashes (which `+cpu` would break),
    pins one package twice, or a planned pin cannot be rewritten."""
    style, body = split_style(text, path)
    parsed = parse_requirements(body, path)
    torch_lines = [r for r in parsed.requirements if r.name and is_torch_family(r.name)]
    if not torch_lines:
        return Edit(str(path), text, text)
    _refuse_unsafe(parsed, torch_lines, path, force, index_url)
    lines = body.splitlines(keepends=True)
    summary: list[str] = []
    _rewrite_options(parsed, lines, index_url, summary)
    pins = [pin for pin in (_plan_pin(r, summary) for r in torch_lines) if pin is not None]
    for pin in pins:
        _rewrite_pin(lines, pin, path)
        summary.append(pin.note)
    if not _has_index(parsed, index_url) and not _has_index(parse_requirements("".join(lines), path), index_url):
        lines.insert(_insert_at(parsed, lines), f"--extra-index-url {index_url}\n")
        summary.append(f"add --extra-index-url {index_url}")
    after = "".join(lines)
    _verify(parse_requirements(after, path), pins, path)
    changed = after != body
    return Edit(str(path), text, join_style(style, after) if changed else text, tuple(summary) if changed else ())


def _refuse_unsafe(
    parsed: RequirementsFile, torch_lines: list[RequirementLine], path: str, force: bool, index_url: str
) -> None:
    for option in parsed.options("--index-url") + parsed.options("--extra-index-url") + parsed.options("--find-links"):
        if is_cuda_index(option.value) and not force:
            raise FixRefused(
                f"{path}:{option.line}: {option.option} {option.value} serves CUDA builds; the "
                f"project asks for CUDA on purpose, pass --force to switch it to CPU"
            )
    hashed = [r for r in torch_lines if r.hashes]
    if hashed:
        raise FixRefused(
            f"{path}:{hashed[0].line}: {hashed[0].name} is pinned with --hash; a +cpu build has "
            f"other hashes: regenerate the file (pip-compile) against {index_url} instead"
        )
    for i, one in enumerate(torch_lines):
        for other in torch_lines[i + 1 :]:
            if one.name == other.name and (one.marker is None or other.marker is None or one.marker == other.marker):
                raise FixRefused(
                    f"{path}:{other.line}: {one.name} is required twice, on line {one.line} "
                    f"({_short(one)}) and line {other.line} ({_short(other)}); pip cannot "
                    f"install both: keep one and run the fix again"
                )


def _short(req: RequirementLine) -> str:
    text = req.requirement or req.raw.strip()
    return text if len(text) <= 90 else text[:87] + "..."


def _rewrite_options(parsed: RequirementsFile, lines: list[str], index_url: str, summary: list[str]) -> None:
    for option in parsed.options("--find-links"):
        if is_pep503_index(option.value or ""):
            lines[option.line - 1] = _replace_line(lines[option.line - 1], f"--extra-index-url {option.value}")
            summary.append(f"line {option.line}: -f {option.value} is a PEP 503 index: use --extra-index-url")
    for option in parsed.options("--index-url") + parsed.options("--extra-index-url"):
        if is_cuda_index(option.value):
            lines[option.line - 1] = _replace_line(lines[option.line - 1], f"{option.option} {index_url}")
            summary.append(f"line {option.line}: replace the CUDA index with {index_url}")


def _plan_pin(req: RequirementLine, summary: list[str]) -> _Pin | None:
    """The pin a torch-family requirement needs, or None (already CPU, or nothing safe to do: noted)."""
    if req.url is not None:
        version = req.url_version
        if version is None:
            summary.append(f"line {req.line}: {req.name} comes from {req.url} (not a wheel): left as it is")
            return None
        if version.endswith("+cpu"):
            return None
        public = _public(version)
        return _Pin(
            req,
            f"{public}+cpu",
            f"line {req.line}: replace the direct reference to the {version} wheel "
            f"of {req.name} with {req.name}=={public}+cpu (from the CPU index)",
        )
    version = req.pinned_version
    if version is None:
        summary.append(
            f"line {req.line}: {req.name} is not pinned; pin it (==X.Y.Z+cpu) so a newer "
            f"PyPI release cannot win over the CPU index"
        )
        return None
    if version.endswith("+cpu"):
        return None
    note = (
        f"line {req.line}: pin {req.name}=={version}+cpu (only the CPU index has it)"
        if "+" not in version
        else f"line {req.line}: pin {req.name} to the +cpu build"
    )
    return _Pin(req, f"{_public(version)}+cpu", note)


def _public(version: str) -> str:
    try:
        return Version(version).public
    except InvalidVersion:
        return version.split("+", 1)[0]


def _rewrite_pin(lines: list[str], pin: _Pin, path: str) -> None:
    """Rewrite the requirement's own text on its physical line(s). Raises FixRefused when it cannot be
    found there (never report a change that was not made)."""
    req = pin.req
    if req.url is not None:
        pattern = re.compile(r"^(\s*)(?:[A-Za-z0-9._-]+\s*(?:\[[^\]]*\])?\s*@\s*)?" + re.escape(req.url))
        replacement = rf"\g<1>{req.name}=={pin.version}"
    else:
        pattern = re.compile(r"(==\s*)" + re.escape(req.pinned_version or "") + r"(?![\w.+!-])")
        replacement = rf"\g<1>{pin.version}"
    for number in range(req.line - 1, req.end_line):
        new, count = pattern.subn(replacement, lines[number], count=1)
        if count:
            lines[number] = new
            return
    raise FixRefused(
        f"{path}:{req.line}: cannot find the pin of {req.name} in the line's text to rewrite it; "
        f"nothing changed — pin {req.name}=={pin.version} by hand"
    )


def _verify(after: RequirementsFile, pins: list[_Pin], path: str) -> None:
    """Every planned pin is in the re-parsed file, as a plain `==` pin with the marker kept."""
    for pin in pins:
        found = [r for r in after.requirements if r.name == pin.req.name and r.marker == pin.req.marker]
        if not any(r.pinned_version == pin.version and r.url is None for r in found):
            raise FixRefused(
                f"{path}:{pin.req.line}: the rewritten line would not pin {pin.req.name}=={pin.version}; "
                f"nothing changed"
            )


def _has_index(parsed: RequirementsFile, url: str) -> bool:
    return any(
        same_url(o.value or "", url) for o in parsed.options("--index-url") + parsed.options("--extra-index-url")
    )


def _replace_line(line: str, new: str) -> str:
    ending = "\n" if line.endswith("\n") else ""
    comment = re.search(r"\s+#.*$", line.rstrip("\n"))
    return new + (comment.group(0) if comment else "") + ending


def _insert_at(parsed: RequirementsFile, lines: list[str]) -> int:
    """Just before the first requirement, so the option sits with the other options."""
    first = parsed.requirements[0].line - 1 if parsed.requirements else len(lines)
    if lines and first == len(lines) and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return first

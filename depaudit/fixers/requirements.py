"""Planning edits of pip requirements files toward the PyTorch CPU index (the pip form).

pip cannot pin an index per package, so the CPU index goes in as `--extra-index-url` and each exact
torch-family pin gains the `+cpu` local version, which only that index serves. A `-f/--find-links`
naming a PEP 503 index (which pip cannot read as a links page) becomes `--extra-index-url`.
"""

from __future__ import annotations

import re

from depaudit.analysis.torch_reach import is_torch_family
from depaudit.errors import FixError
from depaudit.analysis.index_urls import DEFAULT_CPU_INDEX_URL, is_cuda_index, is_pep503_index, same_url
from depaudit.model import Edit
from depaudit.sources.requirements import RequirementsFile, parse_requirements


def plan_requirements_text(text: str, path: str, *, index_url: str = DEFAULT_CPU_INDEX_URL,
                           force: bool = False) -> Edit:
    """The edit for one requirements file. Raises InputError for an unparseable file and FixError when
    it asks for a CUDA index (unless `force`) or pins torch with hashes (which `+cpu` would break)."""
    parsed = parse_requirements(text, path)
    torch_lines = [r for r in parsed.requirements if is_torch_family(r.name)]
    if not torch_lines:
        return Edit(str(path), text, text)
    for option in parsed.options("--index-url") + parsed.options("--extra-index-url") + parsed.options("--find-links"):
        if is_cuda_index(option.value) and not force:
            raise FixError(f"{path}:{option.line}: {option.option} {option.value} serves CUDA builds; the "
                           f"project asks for CUDA on purpose, pass --force to switch it to CPU")
    hashed = [r for r in torch_lines if r.hashes]
    if hashed:
        raise FixError(f"{path}:{hashed[0].line}: {hashed[0].name} is pinned with --hash; a +cpu build has "
                       f"other hashes: regenerate the file (pip-compile) against {index_url} instead")
    lines = text.splitlines(keepends=True)
    summary: list[str] = []
    for option in parsed.options("--find-links"):
        if is_pep503_index(option.value):
            lines[option.line - 1] = _replace_line(lines[option.line - 1], f"--extra-index-url {option.value}")
            summary.append(f"line {option.line}: -f {option.value} is a PEP 503 index: use --extra-index-url")
    for option in parsed.options("--index-url") + parsed.options("--extra-index-url"):
        if is_cuda_index(option.value):
            lines[option.line - 1] = _replace_line(lines[option.line - 1], f"{option.option} {index_url}")
            summary.append(f"line {option.line}: replace the CUDA index with {index_url}")
    for req in torch_lines:
        version = req.pinned_version
        if version and "+" not in version:
            lines[req.line - 1] = lines[req.line - 1].replace(f"=={version}", f"=={version}+cpu", 1)
            summary.append(f"line {req.line}: pin {req.name}=={version}+cpu (only the CPU index has it)")
        elif version and not version.endswith("+cpu"):
            lines[req.line - 1] = lines[req.line - 1].replace(f"=={version}", f"=={version.split('+')[0]}+cpu", 1)
            summary.append(f"line {req.line}: pin {req.name} to the +cpu build")
        elif not version:
            summary.append(f"line {req.line}: {req.name} is not pinned; pin it (==X.Y.Z+cpu) so a newer "
                           f"PyPI release cannot win over the CPU index")
    if not _has_index(parsed, index_url) and not _has_index(parse_requirements("".join(lines), path), index_url):
        at = _insert_at(parsed, lines)
        lines.insert(at, f"--extra-index-url {index_url}\n")
        summary.append(f"add --extra-index-url {index_url}")
    after = "".join(lines)
    return Edit(str(path), text, after, tuple(summary) if after != text else ())


def _has_index(parsed: RequirementsFile, url: str) -> bool:
    return any(same_url(o.value or "", url) for o in parsed.options("--index-url") + parsed.options("--extra-index-url"))


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

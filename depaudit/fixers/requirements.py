"""Planning edits of pip requirements files toward the PyTorch CPU index (the pip form).

pip cannot pin an index per package, so the CPU index goes in as `--extra-index-url` and each exact
torch-family pin gains the `+cpu` local version, which only that index serves. The CPU index has no
`+cpu` build for macOS (PyPI's macOS wheels are the CPU build), so a pin whose marker can hold on macOS
is split in two: `+cpu` under `sys_platform != "darwin"`, the plain version under `sys_platform ==
"darwin"`; a macOS-only pin is left as it is. A direct reference to a CUDA (or plain PyPI, CUDA on
Linux) wheel (`torch @ https://…/torch-2.1.0+cu121-…whl`) becomes the pin `torch==2.1.0+cpu`, its
marker kept. A `-f/--find-links` naming a PEP 503 index (which pip cannot read as a links page) becomes
`--extra-index-url`.

`plan_requirements_files` follows `-r`/`-c` includes inside the project and fixes them too; what it
cannot fix or read (an include outside the project or at a URL, a source build of torch) is returned as
`unfixed`, `path:line` first, so the command never says "fixed" while it still installs.

Refused (FixRefused, nothing written): a CUDA index without --force, `--hash` pins, and one package pinned
on two lines that can both apply (`torch @ …+cu121…whl` next to `torch==2.1.0`). Every planned line is
checked after the edit: a pin that could not be rewritten is refused, never reported as done.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

from depaudit.analysis.index_urls import DEFAULT_CPU_INDEX_URL, is_cuda_index, is_pep503_index, same_url
from depaudit.analysis.markers import MarkerError, MarkerEvaluator
from depaudit.errors import FixRefused, InputError
from depaudit.families import is_torch_family
from depaudit.fileio import project_root, read_text
from depaudit.fixers.textstyle import join_style, split_style
from depaudit.model import Edit
from depaudit.sources.requirements import RequirementLine, RequirementsFile, parse_requirements
from depaudit.targets import make_target

NOT_MACOS = 'sys_platform != "darwin"'
ON_MACOS = 'sys_platform == "darwin"'
MACOS_TARGETS = ("macos-arm64", "x86_64-apple-darwin")
OTHER_TARGETS = ("linux-x86_64", "linux-aarch64", "windows-amd64", "aarch64-pc-windows-msvc")


@dataclass(frozen=True)
class _Pin:
    """A planned rewrite of one requirement: the version it must pin afterwards, and what to say;
    `split`: its marker can hold on macOS and elsewhere, so it becomes a +cpu line off macOS and a
    plain one on macOS."""

    req: RequirementLine
    version: str
    note: str
    split: bool = False

    @property
    def public(self) -> str:
        return _public(self.version)


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
    for pin in sorted(pins, key=lambda p: -p.req.line):  # bottom up: a split adds a line below its own
        if pin.split:
            _split_pin(lines, pin, path)
        else:
            _rewrite_pin(lines, pin, path)
    summary += [pin.note for pin in pins]
    off_macos = any(_reaches(r.marker, OTHER_TARGETS) for r in torch_lines)
    if (
        off_macos
        and not _has_index(parsed, index_url)
        and not _has_index(parse_requirements("".join(lines), path), index_url)
    ):
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
    """The pin a torch-family requirement needs, or None (already CPU, macOS only, or nothing safe to
    do: noted)."""
    version = _wanted_version(req, summary)
    if version is None:
        return None
    off_macos, on_macos = _reaches(req.marker, OTHER_TARGETS), _reaches(req.marker, MACOS_TARGETS)
    if not off_macos:
        summary.append(f"line {req.line}: {req.name} installs on macOS only, where PyPI's build is the CPU one: kept")
        return None
    public = _public(version)
    if req.url is not None:
        note = (
            f"line {req.line}: replace the direct reference to the {version} wheel "
            f"of {req.name} with {req.name}=={public}+cpu (from the CPU index)"
        )
    elif "+" not in version:
        note = f"line {req.line}: pin {req.name}=={version}+cpu (only the CPU index has it)"
    else:
        note = f"line {req.line}: pin {req.name} to the +cpu build"
    if on_macos:
        note += f"; macOS (no +cpu build there) keeps {req.name}=={public} on a line of its own"
    return _Pin(req, f"{public}+cpu", note, split=on_macos)


def _wanted_version(req: RequirementLine, summary: list[str]) -> str | None:
    """The version a torch-family line pins (from its == pin or its wheel URL); None, noted, when it
    pins none, is a source build, or is the +cpu build already."""
    if req.url is not None:
        version = req.url_version
        if version is None:
            summary.append(f"line {req.line}: {req.name} comes from {req.url} (not a wheel): left as it is")
            return None
    else:
        version = req.pinned_version
        if version is None:
            summary.append(
                f"line {req.line}: {req.name} is not pinned; pin it (==X.Y.Z+cpu) so a newer "
                f"PyPI release cannot win over the CPU index"
            )
            return None
    return None if version.endswith("+cpu") else version


def _reaches(marker: str | None, targets: tuple[str, ...]) -> bool:
    """Whether a line with `marker` may install on one of `targets` (a marker depaudit cannot read: yes)."""
    return any(_may_hold(marker, name) for name in targets)


@cache
def _may_hold(marker: str | None, target: str) -> bool:
    try:
        return MarkerEvaluator(make_target(target).marker_environment)(marker)
    except MarkerError:
        return True


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


def _split_pin(lines: list[str], pin: _Pin, path: str) -> None:
    """Replace the requirement's physical lines with its +cpu pin off macOS (keeping its comment) and
    its plain pin on macOS. Raises FixRefused when the requirement text does not parse back."""
    req = pin.req
    name, extras = req.name or "", ""
    try:
        parsed = Requirement(req.requirement or "")
        name, extras = parsed.name, f"[{','.join(sorted(parsed.extras))}]" if parsed.extras else ""
    except ValueError:
        if req.url is None:  # only a bare URL line (no name to re-read, no extras) may fail here
            raise FixRefused(f"{path}:{req.line}: cannot rewrite {req.name}'s line; nothing changed") from None
    last = lines[req.end_line - 1]
    ending = "\r\n" if last.endswith("\r\n") else "\n"
    comment = re.search(r"\s+#.*$", last.rstrip("\r\n"))
    cpu = f"{name}{extras}=={pin.version}; {_and(req.marker, NOT_MACOS)}"
    mac = f"{name}{extras}=={pin.public}; {_and(req.marker, ON_MACOS)}"
    lines[req.line - 1 : req.end_line] = [cpu + (comment.group(0) if comment else "") + ending, mac + ending]


def _and(marker: str | None, clause: str) -> str:
    """`marker and clause` in packaging's spelling (as the re-parsed line will carry it)."""
    return str(Marker(clause if marker is None else f"({marker}) and {clause}"))


def _verify(after: RequirementsFile, pins: list[_Pin], path: str) -> None:
    """Every planned pin is in the re-parsed file, as a plain `==` pin with the marker kept (and, for a
    split pin, narrowed off macOS, with its macOS line beside it)."""
    for pin in pins:
        wanted = [(pin.version, pin.req.marker)]
        if pin.split:
            wanted = [(pin.version, _and(pin.req.marker, NOT_MACOS)), (pin.public, _and(pin.req.marker, ON_MACOS))]
        for version, marker in wanted:
            found = [r for r in after.requirements if r.name == pin.req.name and r.marker == marker]
            if not any(r.pinned_version == version and r.url is None for r in found):
                raise FixRefused(
                    f"{path}:{pin.req.line}: the rewritten line would not pin {pin.req.name}=={version}; "
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


@dataclass(frozen=True)
class RequirementsPlan:
    """The fix of a requirements file and the `-r`/`-c` files it includes: one edit per file read,
    what to tell the user, and what still installs torch that this fix did not switch (`path:line: …`;
    non-empty means "not fixed")."""

    edits: tuple[Edit, ...]
    notes: tuple[str, ...]
    unfixed: tuple[str, ...]


Reader = Callable[[Path, Path], str]  # (file, project root) -> its text; raises InputError


def read_inside(path: Path, root: Path) -> str:
    """A requirements file's text, read only where it really lies inside `root`."""
    return read_text(path, "requirements file", root=root)


def plan_requirements_files(
    path: Path,
    *,
    index_url: str = DEFAULT_CPU_INDEX_URL,
    force: bool = False,
    read: Reader = read_inside,
) -> RequirementsPlan:
    """Plan the fix of `path` and of every file it includes with -r/-c (recursively, each once), read
    only inside its project (`fileio.project_root`). Raises InputError (the file itself unreadable or
    invalid) and FixRefused as `plan_requirements_text` does, for any file."""
    root = project_root(path)
    todo: list[tuple[Path, str | None]] = [(Path(path), None)]
    seen: set[Path] = set()
    edits: list[Edit] = []
    notes: list[str] = []
    unfixed: list[str] = []
    while todo:
        file, included_by = todo.pop(0)
        key = Path(file).resolve()
        if key in seen:
            continue
        seen.add(key)
        try:
            text = read(file, root)
        except InputError as exc:
            if included_by is None:
                raise
            unfixed.append(f"{included_by}: not read ({exc.what}): it may still pin CUDA torch")
            continue
        edit = plan_requirements_text(text, str(file), index_url=index_url, force=force)
        edits.append(edit)
        notes += list(edit.summary) if included_by is None else [f"{file}: {note}" for note in edit.summary]
        after = parse_requirements(edit.after.removeprefix("\ufeff"), file)
        unfixed += _source_builds(after)
        for option in after.options("--requirement") + after.options("--constraint"):
            where = f"{file}:{option.line}: {option.option} {option.value}"
            if option.value and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", option.value):
                unfixed.append(f"{where}: a URL, not read: it may still pin CUDA torch")
            elif option.value:
                todo.append((Path(file).parent / option.value, where))
    return RequirementsPlan(tuple(edits), tuple(notes), tuple(unfixed))


def _source_builds(parsed: RequirementsFile) -> list[str]:
    """Torch-family lines built from source (VCS, a folder, an sdist, `-e`): left alone, and said."""
    out = []
    for req in parsed.requirements:
        if req.name and is_torch_family(req.name) and req.url is not None and req.url_version is None:
            out.append(
                f"{parsed.path}:{req.line}: {req.name} is built from {req.url}: left alone (a source build: "
                f"which build it makes depends on the machine that builds it)"
            )
    for option in parsed.options("--editable"):
        if option.value and re.search(r"(?:#|&)egg=(torch\w*)", option.value):
            out.append(f"{parsed.path}:{option.line}: -e {option.value}: an editable source build, left alone")
    return out

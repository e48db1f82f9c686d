"""`depaudit lint`: run the rules that apply to each file through the one engine — DA3xx on
Dockerfiles, DA2xx on requirements files and pyproject.toml, DA1xx (plus the pyproject's DA2xx) on
uv.lock / pylock.toml. Library entry points:

    from depaudit.lint import lint_dockerfile, lint_paths
    findings = lint_dockerfile("docker/Dockerfile.torch-cuda")
    report = lint_paths(["requirements.txt", "docker/"])

Lint never touches the network: a lock is scanned offline (sizes in DA101's message come from the
lock and the size cache only).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

from depaudit.analysis.docker_stages import DockerSubject
from depaudit.analysis.install_commands import wanted_context_files
from depaudit.errors import InputError
from depaudit.logs import get_logger
from depaudit.model import Finding, RunReport, Selection
from depaudit.rules.base import RuleDoc, describe
from depaudit.rules.config import PathRule
from depaudit.rules.engine import run, sort_key
from depaudit.rules.run_lock import lock_findings
from depaudit.rules.run_project import is_requirements_name, project_findings
from depaudit.rules.subjects import LockSubject
from depaudit.scan import InputOptions, scan_input, scan_lock
from depaudit.sources.dockerfile import context_dirs, parse_dockerfile, read_context, read_dockerfile
from depaudit.sources.uvlock import load_lock
from depaudit.sources.workspace import layout
from depaudit.units import format_size

log = get_logger(__name__)


class FileKind(StrEnum):
    """The kinds of file lint reads, and the rule families each gets."""

    dockerfile = "Dockerfile"
    requirements = "requirements file"
    pyproject = "pyproject.toml"
    lock = "lock file"


FAMILIES_OF: dict[FileKind, tuple[str, ...]] = {
    FileKind.dockerfile: ("DA3",),
    FileKind.requirements: ("DA2",),
    FileKind.pyproject: ("DA2",),
    FileKind.lock: ("DA1", "DA2"),
}


def is_dockerfile_name(name: str) -> bool:
    """Dockerfile, Dockerfile.*, *.Dockerfile, *.dockerfile — not BuildKit's per-Dockerfile ignore files
    (`Dockerfile.dockerignore`, `api.Dockerfile.dockerignore`)."""
    if name.endswith(".dockerignore"):
        return False
    return name == "Dockerfile" or name.startswith("Dockerfile.") or name.endswith((".Dockerfile", ".dockerfile"))


def is_lock_name(name: str) -> bool:
    """uv.lock, pylock.toml, pylock.*.toml (PEP 751)."""
    return name == "uv.lock" or name == "pylock.toml" or (name.startswith("pylock.") and name.endswith(".toml"))


def file_kind(path: Path, *, explicit: bool = True) -> FileKind | None:
    """The kind of `path` by its name. A file named explicitly on the command line whose name says
    nothing is read as a Dockerfile (as `docker build -f` would); found in a folder, it is skipped."""
    name = path.name
    if is_dockerfile_name(name):
        return FileKind.dockerfile
    if name == "pyproject.toml":
        return FileKind.pyproject
    if is_lock_name(name):
        return FileKind.lock
    if is_requirements_name(name) and (explicit or name.startswith(("requirements", "constraints"))):
        return FileKind.requirements
    return FileKind.dockerfile if explicit else None


@dataclass(frozen=True)
class LintOptions:
    """How to lint: rule prefixes to run (`select`, empty for all) and skip (`ignore`), per-path rules
    from `[tool.depaudit.lint]`, the Docker build context and build args, and the targets/Python a
    lock is scanned for (None: the presets and the lowest Python the lock allows) and what installs."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_path: tuple[PathRule, ...] = ()
    context: Path | None = None
    build_args: Mapping[str, str] = field(default_factory=dict)
    targets: tuple[str, ...] | None = None
    python: str | None = None
    selection: Selection = field(default_factory=Selection)
    sizes: bool = False  # resolve each Dockerfile RUN line (uv, the index) so DA302 quotes what it installs
    allow_hosts: tuple[str, ...] = ()
    project_hosts: tuple[str, ...] = ()
    cpu_index_url: str | None = None
    cache_dir: Path | None = None


@dataclass(frozen=True)
class LintReport:
    """What `depaudit lint` found: the files linted (as named), the findings, and the rules that ran."""

    files: tuple[str, ...]
    findings: tuple[Finding, ...]
    rules: tuple[RuleDoc, ...]


# ---------------------------------------------------------------- Dockerfiles


def load_subject(
    path: Path | str, context: Path | str | None = None, build_args: Mapping[str, str] | None = None
) -> DockerSubject:
    """Parse a Dockerfile and read the build-context files its RUNs name. Raises InputError."""
    df = read_dockerfile(path, dict(build_args or {}))
    files = read_context(context_dirs(path, context), wanted_context_files(df))
    return DockerSubject(df, files)


def lint_subject(
    subject: DockerSubject, select: Iterable[str] = (), ignore: Iterable[str] = (), per_path: Sequence[PathRule] = ()
) -> list[Finding]:
    """Findings of the DA3xx rules for one parsed Dockerfile (see `depaudit.rules.engine.run`)."""
    return run("DA3", subject, tuple(select), tuple(ignore), per_path=per_path)


def lint_dockerfile(
    path: Path | str,
    *,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    context: Path | str | None = None,
    build_args: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Lint one Dockerfile. Raises InputError when it cannot be read or parsed."""
    return lint_subject(load_subject(path, context, build_args), select, ignore)


def dockerfile_context(
    path: Path | str, text: str, context: Path | str | None = None, build_args: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The build-context files (requirements files, pyproject.toml) Dockerfile `text` at `path`
    names, read from `context` or the Dockerfile's folder and its parent. Raises InputError."""
    df = parse_dockerfile(text, str(path), dict(build_args or {}))
    return read_context(context_dirs(path, context), wanted_context_files(df))


def run_sizes(path: Path, options: LintOptions) -> dict[int, str]:
    """What each RUN line that installs Python packages installs for the image's platform, in words
    (`this line downloads 3.9 GB, 99% accelerator; from the CPU index 192 MB`), keyed by its line.
    Resolves with uv and asks the index (`scan.scan_input`); raises ToolError when it cannot."""
    report, _ = scan_input(
        path,
        "dockerfile",
        allow_hosts=options.allow_hosts,
        project_hosts=options.project_hosts,
        cache_dir=options.cache_dir,
        inputs=InputOptions(cpu_index_url=options.cpu_index_url, context=options.context),
    )
    return {run.line: describe_run(run) for run in report.runs if run.problem is None}


def describe_run(run: RunReport) -> str:
    """One RUN line's figures for a finding's message."""
    share = run.accelerator_share
    text = f"this line downloads {format_size(run.download)} on {run.target}"
    text += f", {share:.0%} accelerator" if share is not None else ""
    text += f", {format_size(run.installed)} installed" if run.installed is not None else ""
    if run.cpu_download is not None:
        text += f"; from the CPU index {format_size(run.cpu_download)}"
    return text


# ---------------------------------------------------------------- every kind


def lint_lock(path: Path, options: LintOptions = LintOptions()) -> list[Finding]:
    """DA1xx findings of a lock (scanned offline) and DA2xx of the pyproject.toml above it."""
    lock = load_lock(path)
    targets = list(options.targets) if options.targets else None
    report = scan_lock(lock, targets=targets, python=options.python, selection=options.selection, offline=True)
    found = layout(path.parent)
    pyproject = found.root / "pyproject.toml" if found.project is not None else None
    subject = LockSubject(lock, report, pyproject)
    return lock_findings(subject, options.select, options.ignore, options.per_path)


def lint_file(path: Path, kind: FileKind, options: LintOptions = LintOptions()) -> list[Finding]:
    """The findings of one file of a known kind. Raises InputError for an unreadable/invalid file."""
    if kind is FileKind.dockerfile:
        subject = load_subject(path, options.context, options.build_args)
        if options.sizes:
            subject = replace(subject, run_sizes=run_sizes(path, options))
        return lint_subject(subject, options.select, options.ignore, options.per_path)
    if kind is FileKind.lock:
        return lint_lock(path, options)
    return project_findings(path, options.select, options.ignore, options.per_path)


def lint_paths(paths: Iterable[Path | str], options: LintOptions = LintOptions()) -> LintReport:
    """Lint files and folders (see `find_lint_files`). Raises InputError for a missing path, a folder
    with nothing to lint, or an unreadable/invalid file."""
    files = find_lint_files(paths)
    found: dict[Finding, None] = {}
    families: set[str] = set()
    for path, kind in files:
        log.info("lint: %s as a %s (rules %s)", path, kind.value, ", ".join(f"{f}xx" for f in FAMILIES_OF[kind]))
        families.update(FAMILIES_OF[kind])
        found.update(dict.fromkeys(lint_file(path, kind, options)))
    docs = [d for family in sorted(families) for d in describe(family)]
    return LintReport(tuple(str(p) for p, _ in files), tuple(sorted(found, key=sort_key)), tuple(docs))


_SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache", ".pytest_cache"}


def find_lint_files(paths: Iterable[Path | str]) -> list[tuple[Path, FileKind]]:
    """Expand paths into (file, kind): files are taken as given; folders are searched (recursively,
    skipping VCS and virtualenv folders) for Dockerfiles, requirements*/constraints* .txt/.in files,
    pyproject.toml and locks. Raises InputError for a path that does not exist or a folder holding
    none of these."""
    out: dict[Path, FileKind] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = [(p, k) for p in sorted(_walk(path)) if (k := file_kind(p, explicit=False)) is not None]
            if not found:
                raise InputError(
                    path,
                    "nothing to lint in this directory (no Dockerfile, Dockerfile.*, "
                    "*.Dockerfile, requirements*.txt, pyproject.toml, uv.lock or pylock.toml)",
                )
            out.update(found)
        elif path.exists():
            out[path] = file_kind(path) or FileKind.dockerfile
        else:
            raise InputError(path, "no such file or directory")
    return list(out.items())


def _walk(root: Path) -> Iterator[Path]:
    for child in sorted(root.iterdir()):
        if child.is_dir():
            if child.name not in _SKIP_DIRS and not child.is_symlink():
                yield from _walk(child)
        elif child.is_file():
            yield child

"""`depaudit lint`: run the Dockerfile rules (DA3xx) over Dockerfiles. Library entry points:

    from depaudit.lint import lint_dockerfile
    findings = lint_dockerfile("docker/Dockerfile.torch-cuda")
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from depaudit.analysis.dockerfile import DockerSubject, wanted_context_files
from depaudit.errors import InputError
from depaudit.model import Finding
import re

from depaudit.rules.base import rules
from depaudit.sources.dockerfile import Dockerfile, context_dirs, read_context, read_dockerfile


def load_subject(path: Path | str, context: Path | str | None = None,
                 build_args: dict[str, str] | None = None) -> DockerSubject:
    """Parse a Dockerfile and read the build-context files its RUNs name. Raises InputError."""
    df = read_dockerfile(path, build_args)
    files = read_context(context_dirs(path, context), wanted_context_files(df))
    return DockerSubject(df, files)


def inline_ignores(df: Dockerfile, line: int | None) -> set[str]:
    """Rule IDs ignored for the instruction at `line` by `# depaudit: ignore=…` comments directly
    above it, inside its continuation lines, or at the end of one of its lines."""
    if line is None:
        return set()
    for ins in df.instructions:
        if ins.line <= line <= ins.end_line:
            ids: set[str] = set()
            for text in (*ins.comments, *df.text[ins.start : ins.end].splitlines()):
                for match in _IGNORE.finditer(text):
                    ids.update(m.upper() for m in _RULE_ID.findall(match.group(1)))
            return ids
    return set()


# One line at a time, so an ignore comment never swallows the next line; text after the IDs
# (`# depaudit: ignore=DA302 GPU build on purpose`) is allowed.
_IGNORE = re.compile(r"#\s*depaudit:\s*ignore\s*=\s*([A-Za-z0-9_, \t]+)", re.IGNORECASE)
_RULE_ID = re.compile(r"\b(DA\d{3})\b", re.IGNORECASE)


def lint_subject(subject: DockerSubject, select: Iterable[str] = (), ignore: Iterable[str] = ()) -> list[Finding]:
    """Findings of the DA3xx rules for one parsed Dockerfile, sorted by line then rule. `select`
    (ID prefixes) keeps only matching rules; `ignore` (ID prefixes) and inline comments drop some."""
    select = tuple(s.upper() for s in select)
    ignore = tuple(s.upper() for s in ignore)
    findings: list[Finding] = []
    for rule in rules("DA3"):
        if select and not rule.id.startswith(select):
            continue
        if ignore and rule.id.startswith(ignore):
            continue
        for finding in rule.check(subject):
            if finding.rule not in inline_ignores(subject.dockerfile, finding.line):
                findings.append(finding)
    return sorted(findings, key=lambda f: (f.path, f.line or 0, f.rule))


def lint_dockerfile(path: Path | str, *, select: Iterable[str] = (), ignore: Iterable[str] = (),
                    context: Path | str | None = None, build_args: dict[str, str] | None = None) -> list[Finding]:
    """Lint one Dockerfile. Raises InputError when it cannot be read or parsed."""
    return lint_subject(load_subject(path, context, build_args), select, ignore)


def is_dockerfile_name(name: str) -> bool:
    return name == "Dockerfile" or name.startswith("Dockerfile.") or name.endswith(".Dockerfile") \
        or name.endswith(".dockerfile")


_SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache", ".pytest_cache"}


def find_dockerfiles(paths: Iterable[Path | str]) -> list[Path]:
    """Expand paths: files are taken as given; directories are searched (recursively, skipping VCS and
    virtualenv folders) for Dockerfile, Dockerfile.*, *.Dockerfile. Raises InputError for a path that
    does not exist or a directory without Dockerfiles."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in _walk(path) if is_dockerfile_name(p.name))
            if not found:
                raise InputError(path, "no Dockerfile (Dockerfile, Dockerfile.*, *.Dockerfile) in this directory")
            out += found
        elif path.exists():
            out.append(path)
        else:
            raise InputError(path, "no such file or directory")
    return list(dict.fromkeys(out))


def _walk(root: Path):
    for child in sorted(root.iterdir()):
        if child.is_dir():
            if child.name not in _SKIP_DIRS and not child.is_symlink():
                yield from _walk(child)
        elif child.is_file():
            yield child


def dockerfile_context(path: Path | str, text: str, context: Path | str | None = None,
                       build_args: dict[str, str] | None = None) -> dict[str, str]:
    """The build-context files (requirements files, pyproject.toml) Dockerfile `text` at `path`
    names, read from `context` or the Dockerfile's folder and its parent. Raises InputError."""
    from depaudit.sources.dockerfile import parse_dockerfile

    df = parse_dockerfile(text, str(path), build_args)
    return read_context(context_dirs(path, context), wanted_context_files(df))

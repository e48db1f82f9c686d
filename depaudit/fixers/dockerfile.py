"""Plan fixes for the auto-fixable Dockerfile rules, format-preserving: text is only inserted inside
(or, for USER, between) the instructions a rule flags; every other byte stays. Planning is pure.

- DA302: `--index-url URL` (the install names only torch-family packages) or `--extra-index-url URL`
  (mixed, or a requirements file) after `pip install` / `uv pip install`.
- DA304: `--no-cache-dir` (pip) / `--no-cache` (uv) after the install verb; `&& rm -rf
  /var/lib/apt/lists/*` at the end of a RUN that runs apt-get update/install.
- DA307: `USER 10001:10001` before the final stage's CMD/ENTRYPOINT (after its last RUN), or at the end.

Inline `# depaudit: ignore=DA3xx` comments are honoured: an ignored finding is not fixed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from depaudit.analysis.docker_stages import DockerSubject, shipping_stages
from depaudit.analysis.index_urls import DEFAULT_CPU_INDEX_URL
from depaudit.analysis.install_commands import (
    apt_lists_kept,
    installed_specs,
    python_installs,
    requirement_name,
    torch_source,
)
from depaudit.families import TORCH_FAMILY
from depaudit.lint import lint_subject
from depaudit.model import Edit
from depaudit.sources.dockerfile import Dockerfile, Instruction, parse_dockerfile

DEFAULT_USER = "10001:10001"
FIXABLE = ("DA302", "DA304", "DA307")

Flagged = set[tuple[str, int | None]]  # (rule, line) of the findings to fix
Inserts = list[tuple[int, int, str]]  # (offset, order, text) to insert


def plan_dockerfile_fix(
    path: Path | str,
    text: str,
    *,
    context: Mapping[str, str] | None = None,
    cpu_index_url: str = DEFAULT_CPU_INDEX_URL,
    user: str = DEFAULT_USER,
    build_args: dict[str, str] | None = None,
) -> Edit:
    """The Edit that fixes every auto-fixable finding in Dockerfile `text` (unchanged when none).
    `context` holds build-context files (requirements files) keyed by context-relative path, as
    `depaudit.lint.load_subject` reads them; without it only what the Dockerfile itself says is used.
    Raises InputError when `text` is not a valid Dockerfile."""
    df = parse_dockerfile(text, str(path), build_args)
    subject = DockerSubject(df, dict(context or {}))
    flagged = {(f.rule, f.line) for f in lint_subject(subject, select=FIXABLE) if f.fixable}
    inserts: Inserts = []
    notes: list[str] = []
    _no_cache(subject, flagged, inserts, notes)
    _cpu_index(subject, flagged, inserts, notes, cpu_index_url)
    _apt_lists(df, flagged, inserts, notes)
    if any(rule == "DA307" for rule, _ in flagged):
        _user(df, inserts, notes, user)
    after = text
    for offset, _, piece in sorted(inserts, key=lambda x: (x[0], x[1]), reverse=True):
        after = after[:offset] + piece + after[offset:]
    notes.sort(key=lambda n: int(n.split(":")[0].split()[-1]) if n.startswith("line ") else 1 << 30)
    return Edit(str(path), text, after, tuple(notes))


def _no_cache(subject: DockerSubject, flagged: Flagged, inserts: Inserts, notes: list[str]) -> None:
    df = subject.dockerfile
    for inst in python_installs(df, shipping_stages(df)):
        ins = inst.instruction
        if inst.no_cache or not _editable(ins) or ("DA304", ins.line) not in flagged:
            continue
        flag = "--no-cache-dir" if inst.tool == "pip" else "--no-cache"
        inserts.append((inst.verb.end, 0, f" {flag}"))
        what = " ".join(inst.command.argv[: inst.command.words.index(inst.verb) + 1])
        notes.append(f"line {ins.line}: add {flag} to `{what}`")


def _cpu_index(subject: DockerSubject, flagged: Flagged, inserts: Inserts, notes: list[str], url: str) -> None:
    done: set[int] = set()
    for item in installed_specs(subject):
        inst = item.install
        ins = inst.instruction
        if (
            item.name not in TORCH_FAMILY
            or inst.tool not in ("pip", "uv")
            or not _editable(ins)
            or ("DA302", ins.line) not in flagged
            or inst.verb.end in done
            or torch_source(item, subject) != "pypi"
        ):
            continue
        done.add(inst.verb.end)
        only_torch = not inst.requirement_files and all(requirement_name(s) in TORCH_FAMILY for s in inst.specs)
        option = "--index-url" if only_torch else "--extra-index-url"
        inserts.append((inst.verb.end, 1, f" {option} {url}"))
        notes.append(f"line {ins.line}: install torch from the CPU index ({option} {url})")


def _apt_lists(df: Dockerfile, flagged: Flagged, inserts: Inserts, notes: list[str]) -> None:
    for ins in apt_lists_kept(df, shipping_stages(df)):
        if not _editable(ins) or ("DA304", ins.line) not in flagged:
            continue
        commands = ins.commands()
        if not commands:
            continue
        inserts.append((commands[-1].end, 2, " && rm -rf /var/lib/apt/lists/*"))
        notes.append(f"line {ins.line}: remove /var/lib/apt/lists in the same RUN")


def _editable(ins: Instruction) -> bool:
    """Only shell-form RUNs whose quoting we fully understand are edited."""
    return ins.exec_form is None and ins.shell_ok


def _user(df: Dockerfile, inserts: Inserts, notes: list[str], user: str) -> None:
    newline = "\r\n" if "\r\n" in df.text else "\n"
    final = df.final_stage.instructions
    last_run = max((i for i, ins in enumerate(final) if ins.keyword in ("RUN", "USER")), default=0)
    start = next((ins for ins in final[last_run + 1 :] if ins.keyword in ("CMD", "ENTRYPOINT")), None)
    if start is None:
        tail = "" if df.text.endswith("\n") else newline
        inserts.append((len(df.text), 3, f"{tail}USER {user}{newline}"))
        notes.append(f"end of file: add USER {user}")
        return
    offset = _comment_block_start(df, start)
    inserts.append((offset, 3, f"USER {user}{newline}"))
    notes.append(f"line {start.line}: add USER {user} before {start.keyword}")


def _comment_block_start(df: Dockerfile, ins: Instruction) -> int:
    """The offset of the comment lines directly above `ins` (so a new line goes above its comment)."""
    line = ins.line
    while line > 1:
        begin = df.line_starts[line - 2]
        content = df.text[begin : df.line_starts[line - 1]].strip()
        if not content.startswith("#") or content.lower().startswith("# depaudit:"):
            break
        line -= 1
    return df.line_starts[line - 1]

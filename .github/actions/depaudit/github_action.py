"""The logic behind `action.yml` (the composite GitHub Action), so its shell steps stay one line each.

    python -I .github/actions/depaudit/github_action.py cache-key   # before depaudit is installed
    python -I .github/actions/depaudit/github_action.py install
    python -I .github/actions/depaudit/github_action.py run
    python -I .github/actions/depaudit/github_action.py comment

Each mode reads the action's inputs from `INPUT_*` environment variables (action.yml maps them) and
the runner's variables (`GITHUB_ACTION_PATH`, `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`, `RUNNER_TEMP`,
`GITHUB_API_URL`, `GITHUB_REPOSITORY`, `GITHUB_EVENT_PATH`). Only the standard library is imported at
module level, and the script lives outside the package: `cache-key` and `install` run on a bare
interpreter before depaudit exists, and nothing here is part of what a user installs. It is run by path
with `-I` (no user site, no PYTHON* variables, this folder not on sys.path).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shlex
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

COMMANDS = ("scan", "diff", "gate", "lint")
EXTENSIONS = {"markdown": "md", "json": "json", "sarif": "sarif", "gnu": "txt", "table": "txt", "text": "txt"}
MARKER = "<!-- depaudit-diff -->"  # the same text as depaudit.render.diff.MARKER (a test checks)
COMMENT_LIMIT = 65_000  # GitHub refuses comment bodies over 65,536 characters
RUN_TIMEOUT = float(os.environ.get("DEPAUDIT_ACTION_TIMEOUT", "3600"))
HTTP_TIMEOUT = 30.0


class ActionError(Exception):
    """A problem with the action's inputs or environment: shown as a workflow error annotation."""


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ActionError(f"{name} is not set (is this running inside a GitHub Actions step?)")
    return value


def _set_output(name: str, value: str) -> None:
    with open(_env("GITHUB_OUTPUT"), "a", encoding="utf-8") as handle:
        handle.write(f"{name}={value}\n")


# ------------------------------------------------------------------------------------------- install


def action_root() -> Path:
    return Path(_env("GITHUB_ACTION_PATH"))


def source_digest(root: Path) -> str:
    """sha256 over the files that make the installed package: the cache is rebuilt when they change,
    whatever ref (tag, branch or commit) the workflow names."""
    digest = hashlib.sha256()
    files = [root / "pyproject.toml", *sorted((root / "depaudit").rglob("*"))]
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_key() -> int:
    """Write `key` (OS, arch, Python, source digest) and `venv` (where the venv lives) to GITHUB_OUTPUT."""
    python = ".".join(platform.python_version_tuple()[:3])
    digest = source_digest(action_root())
    key = f"depaudit-action-{platform.system()}-{platform.machine()}-py{python}-{digest[:24]}"
    _set_output("key", key)
    _set_output("venv", str(Path(_env("RUNNER_TEMP")) / f"depaudit-venv-{digest[:12]}"))
    return 0


def install() -> int:
    """Create the venv at DEPAUDIT_ACTION_VENV and pip-install the action's own checkout into it."""
    venv = Path(_env("DEPAUDIT_ACTION_VENV"))
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
    # the `uv` extra: scanning a requirements file, an unlocked pyproject or a Dockerfile resolves with uv
    subprocess.run([*pip, f"{action_root()}[uv]"], check=True, timeout=1800)
    return 0


# ------------------------------------------------------------------------------------------------ run


def command_line(report: Path) -> list[str]:
    """The depaudit command the inputs ask for, writing `report` in the chosen format."""
    command = _env("INPUT_COMMAND", "").strip()
    if command not in COMMANDS:
        raise ActionError(f"input `command` must be one of {', '.join(COMMANDS)}, got {command!r}")
    raw = _env("INPUT_ARGS", "")
    try:
        args = shlex.split(raw)
    except ValueError as exc:  # an unbalanced quote
        raise ActionError(f"input `args`: {exc} in {raw}") from None
    fmt = _env("INPUT_FORMAT", "markdown").strip() or "markdown"
    return [sys.executable, "-m", "depaudit", command, *args, "--format", fmt, "--output", str(report)]


def report_path() -> Path:
    given = _env("INPUT_OUTPUT", "").strip()
    if given:
        return Path(given).resolve()
    fmt = _env("INPUT_FORMAT", "markdown").strip() or "markdown"
    command = _env("INPUT_COMMAND", "").strip()
    return Path(_env("RUNNER_TEMP")) / f"depaudit-{command}.{EXTENSIONS.get(fmt, 'txt')}"


def run() -> int:
    """Run depaudit, then set `exit-code` and `report-path` and write the step summary. Exits 0 even
    when depaudit fails: the action's last step fails the job, after the summary and the comment."""
    report = report_path()
    argv = command_line(report)
    print("depaudit " + shlex.join(argv[3:]), flush=True)
    child_env = {k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"}  # written once, below
    try:
        code = subprocess.run(argv, env=child_env, timeout=RUN_TIMEOUT).returncode
    except subprocess.TimeoutExpired:
        print(f"::error::depaudit did not finish within {RUN_TIMEOUT:.0f} s", flush=True)
        code = 4
    _set_output("exit-code", str(code))
    _set_output("report-path", str(report) if report.is_file() else "")
    write_summary(argv[3], code, report, _env("INPUT_FORMAT", "markdown").strip() or "markdown")
    return 0


def write_summary(command: str, code: int, report: Path, fmt: str) -> None:
    """Append the markdown report (or, for other formats, where the report is) to GITHUB_STEP_SUMMARY."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary:
        return
    verdict = {0: "passed", 1: "over budget or findings"}.get(code, "failed (see the log)")
    lines = [f"**depaudit {command}**: exit {code}, {verdict}", ""]
    if report.is_file() and fmt == "markdown":
        lines.append(report.read_text(encoding="utf-8"))
    elif report.is_file():
        lines.append(f"Report ({fmt}): `{report}`")
    with open(summary, "a", encoding="utf-8") as handle:
        handle.write("\n".join(lines).rstrip("\n") + "\n\n")


# -------------------------------------------------------------------------------------------- comment


def pull_request_number() -> int | None:
    """The pull request this run belongs to, from the event payload; None for other events."""
    path = os.environ.get("GITHUB_EVENT_PATH")
    if not path or not Path(path).is_file():
        return None
    event = json.loads(Path(path).read_text(encoding="utf-8"))
    number = (event.get("pull_request") or {}).get("number")
    return number if isinstance(number, int) else None


def _api(method: str, url: str, token: str, body: dict[str, str] | None = None) -> object:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "depaudit-action",
            **({"Content-Type": "application/json"} if data is not None else {}),
        },
    )
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
        return json.loads(response.read() or b"null")


def token_login(api: str, token: str) -> str | None:
    """The account a personal token belongs to; None for the workflow's GITHUB_TOKEN or an app's token
    (they cannot read /user), whose comments are written by a bot account."""
    try:
        me = _api("GET", f"{api}/user", token)
    except (urllib.error.URLError, OSError, ValueError):
        return None
    login = me.get("login") if isinstance(me, dict) else None
    return login if isinstance(login, str) else None


def is_ours(comment: object, login: str | None) -> bool:
    """True for a comment carrying MARKER that this token's account wrote: the token may edit anyone's
    comment, and anyone can post the marker."""
    if not isinstance(comment, dict) or MARKER not in str(comment.get("body") or ""):
        return False
    user = comment.get("user") if isinstance(comment.get("user"), dict) else {}
    return user.get("login") == login if login else user.get("type") == "Bot"


def find_comment(base: str, token: str, number: int, login: str | None = None) -> dict[str, object] | None:
    """The pull request's comment carrying MARKER written by this token's account (the first, oldest),
    or None."""
    page = 1
    while True:
        comments = _api("GET", f"{base}/issues/{number}/comments?per_page=100&page={page}", token)
        if not isinstance(comments, list) or not comments:
            return None
        for comment in comments:
            if is_ours(comment, login):
                return comment
        page += 1


def comment() -> int:
    """Create the pull request's diff comment, or update the one a previous run made."""
    number = pull_request_number()
    if number is None:
        print("depaudit: not a pull_request event: no comment posted", flush=True)
        return 0
    report = Path(_env("INPUT_REPORT_PATH", ""))
    if not report.is_file():
        print("::warning::depaudit: no report to post (did the diff fail? see the log above)", flush=True)
        return 0
    body = report.read_text(encoding="utf-8")
    if MARKER not in body:
        raise ActionError("comment: true needs command: diff with format: markdown (the report has no marker)")
    if len(body) > COMMENT_LIMIT:  # keep the marker (the last line): later runs find this comment by it
        note = "\n\n… (cut to fit a comment; the job summary has the whole diff)\n\n" + MARKER + "\n"
        body = body[: COMMENT_LIMIT - len(note)] + note
    api = _env("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    base = f"{api}/repos/{_env('GITHUB_REPOSITORY')}"
    token = _env("INPUT_GITHUB_TOKEN")
    try:
        found = find_comment(base, token, number, token_login(api, token))
        if found is None:
            made = _api("POST", f"{base}/issues/{number}/comments", token, {"body": body})
        else:
            made = _api("PATCH", f"{base}/issues/comments/{found['id']}", token, {"body": body})
    except (urllib.error.URLError, OSError, ValueError) as exc:
        # A read-only token (pull requests from forks) must not fail the budget check itself.
        print(f"::warning::depaudit: could not post the pull-request comment: {exc}", flush=True)
        return 0
    url = made.get("html_url", "") if isinstance(made, dict) else ""
    print(f"depaudit: {'updated' if found else 'created'} comment {url}", flush=True)
    _set_output("comment-url", url)
    return 0


MODES = {"cache-key": cache_key, "install": install, "run": run, "comment": comment}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in MODES:
        print(f"usage: github_action.py {{{'|'.join(MODES)}}}", file=sys.stderr)
        return 2
    try:
        return MODES[argv[0]]()
    except ActionError as exc:
        print(f"::error::depaudit action: {exc}", flush=True)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"::error::depaudit action: {shlex.join(map(str, exc.cmd))} exited {exc.returncode}", flush=True)
        return 4


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

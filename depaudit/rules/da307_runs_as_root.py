"""DA307: the container runs as root (no USER in the final stage, or the last USER is root)."""

from __future__ import annotations

from collections.abc import Iterator

from depaudit.analysis.docker_stages import DockerSubject, last_user
from depaudit.model import Finding
from depaudit.rules.base import Rule, register


@register
class RunsAsRootRule(Rule[DockerSubject]):
    id = "DA307"
    severity = "warning"
    summary = "container runs as root"
    fixable = True

    def check(self, subject: DockerSubject) -> Iterator[Finding]:
        df = subject.dockerfile
        user = last_user(df)
        if user is None:
            final = df.final_stage
            yield self.finding(
                "no USER in the final stage: the service runs as root; add a non-root USER before CMD/ENTRYPOINT",
                df.path,
                final.line,
            )
        elif is_root(user.arguments):
            yield self.finding(f"the last USER is {user.arguments!r}: the service runs as root", df.path, user.line)


def is_root(value: str) -> bool:
    name = value.strip().strip('"').split(":", 1)[0].strip()
    return name in ("root", "0", "")

"""DA309: a secret in ARG or ENV: values are stored in the image config and `docker history`."""

from __future__ import annotations

import re
from collections.abc import Iterator

from depaudit.analysis.docker_stages import DockerSubject
from depaudit.model import Finding
from depaudit.rules.base import Rule, register

SECRET_NAME = re.compile(
    r"(^|_)(PASSWORD|PASSWD|PASS|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?|AUTH)$|_KEY$",
    re.IGNORECASE,
)
NOT_SECRET = re.compile(r"(^GPG_KEY$|PUBLIC|_FILE$|_PATH$|_ID$)", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name)) and not NOT_SECRET.search(name)


@register
class SecretInArgEnvRule(Rule[DockerSubject]):
    id = "DA309"
    severity = "error"
    summary = "secret in ARG or ENV"

    def check(self, subject: DockerSubject) -> Iterator[Finding]:
        df = subject.dockerfile
        for ins in df.instructions:
            if ins.keyword not in ("ARG", "ENV"):
                continue
            words = [w.value for w in ins.words]
            pairs: list[tuple[str, str | None]]
            if ins.keyword == "ENV" and words and "=" not in words[0]:
                pairs = [(words[0], " ".join(words[1:]))]  # legacy `ENV NAME value`
            else:
                pairs = [(w.partition("=")[0], w.partition("=")[2] if "=" in w else None) for w in words]
            for name, value in pairs:
                if not is_secret_name(name):
                    continue
                if ins.keyword == "ENV" and not value:
                    continue
                how = "with a value" if value else "as a build argument"
                yield self.finding(
                    f"{ins.keyword} {name} passes a secret {how}; it stays in the image metadata and "
                    "`docker history`; use a secret mount or a runtime environment variable",
                    df.path,
                    ins.line,
                )

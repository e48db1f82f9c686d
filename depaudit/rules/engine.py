"""The one rule runner: `run(family, subject, select, ignore)` for every rule family.

It applies, in one place and in this order: the `select`/`ignore` ID prefixes (command line, then
`[tool.depaudit]`, resolved by the caller), each selected rule's `check`, and the inline pragmas of the
files the findings point at (`depaudit.rules.pragmas`). Findings come back de-duplicated and sorted by
path, line, rule and target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol, runtime_checkable

from depaudit.errors import InputError
from depaudit.fileio import read_text
from depaudit.logs import get_logger
from depaudit.model import Finding
from depaudit.rules.base import FAMILIES, rules
from depaudit.rules.config import PathRule
from depaudit.rules.pragmas import NO_PRAGMAS, Pragmas, parse_pragmas

log = get_logger(__name__)


@runtime_checkable
class PragmaSource(Protocol):
    """A subject that holds the texts of the files it read and knows which lines a statement spans."""

    def source_texts(self) -> Mapping[str, str]: ...

    def statement_lines(self, path: str, line: int) -> tuple[int, int]: ...


class RuleSelection(NamedTuple):
    """Which rules run: IDs or ID prefixes to keep (`select`, empty for all) and to drop (`ignore`)."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    def wants(self, rule_id: str) -> bool:
        """True when `rule_id` is selected and not ignored."""
        if self.select and not rule_id.startswith(self.select):
            return False
        return not (self.ignore and rule_id.startswith(self.ignore))


class PragmaIndex:
    """The pragmas of each file findings point at, parsed once per run: from texts a subject already
    holds, else read from disk (a file that cannot be read has no pragmas)."""

    def __init__(self, texts: Mapping[str, str] | None = None, *, enabled: bool = True) -> None:
        self._texts = dict(texts or {})
        self._parsed: dict[str, Pragmas] = {}
        self._enabled = enabled

    def add_texts(self, texts: Mapping[str, str]) -> None:
        """Make more already-read texts known (a subject's files)."""
        for path, text in texts.items():
            self._texts.setdefault(path, text)

    def of(self, path: str) -> Pragmas:
        """The pragmas of the file at `path` (none when this index is disabled)."""
        if not self._enabled:
            return NO_PRAGMAS
        if path not in self._parsed:
            text = self._texts.get(path)
            if text is None:
                try:
                    text = read_text(Path(path), "file")
                except InputError:
                    text = ""
            self._parsed[path] = parse_pragmas(text) if text else NO_PRAGMAS
        return self._parsed[path]


def _lines(subject: object, finding: Finding) -> tuple[int | None, int | None]:
    if finding.line is None:
        return None, None
    if isinstance(subject, PragmaSource):
        return subject.statement_lines(finding.path, finding.line)
    return finding.line, finding.line


def suppressed(finding: Finding, subject: object, pragmas: PragmaIndex) -> bool:
    """True when an inline pragma silences `finding`."""
    first, last = _lines(subject, finding)
    silenced = pragmas.of(finding.path).suppresses(finding.rule, first, last)
    if silenced:
        log.info("%s:%s: %s silenced by a `# depaudit: ignore` comment", finding.path, finding.line or "", finding.rule)
    return silenced


def sort_key(finding: Finding) -> tuple[str, int, str, str]:
    """The one order of findings in every output: path, line, rule, target."""
    return (finding.path, finding.line or 0, finding.rule, finding.target or "")


def run(
    family: str,
    subject: object,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    *,
    per_path: Sequence[PathRule] = (),
    pragmas: PragmaIndex | None = None,
) -> list[Finding]:
    """Every finding of the rules of `family` (an ID prefix such as "DA3") for `subject`, minus the
    rules `select`/`ignore` (ID prefixes) leave out, the findings a per-path rule of the configuration
    drops (matched on the finding's path) and those inline pragmas silence. Errors a rule raises
    (InputError for a file it reads) propagate."""
    if family[:3] not in FAMILIES:
        raise ValueError(f"unknown rule family {family!r}")
    chosen = RuleSelection(tuple(s.upper() for s in select), tuple(i.upper() for i in ignore))
    index = pragmas if pragmas is not None else PragmaIndex()
    if isinstance(subject, PragmaSource):
        index.add_texts(subject.source_texts())
    found: dict[Finding, None] = {}
    for rule in rules(family):
        if not chosen.wants(rule.id):
            log.debug("%s not run (--select/--ignore or configuration)", rule.id)
            continue
        for finding in rule.check(subject):
            if all(p.allows(finding) for p in per_path) and not suppressed(finding, subject, index):
                found[finding] = None
    return sorted(found, key=sort_key)

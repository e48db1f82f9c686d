"""`--verbose`: the core's `depaudit.*` log records on stderr, control characters escaped and credentials
in URLs redacted.

Imported only when `--verbose` is given (or `logging` is already loaded), so a plain run never pays for
importing `logging` (see depaudit.logs).
"""

from __future__ import annotations

import logging
import sys

from depaudit.render.escaping import escape_lines, redact_userinfo


class _EscapingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return escape_lines(redact_userinfo(super().format(record)))


def attach(verbose: bool) -> None:
    """Remove the handler an earlier call attached; with `verbose`, attach a fresh one at DEBUG."""
    logger = logging.getLogger("depaudit")
    for handler in list(logger.handlers):
        if getattr(handler, "_depaudit_cli", False):
            logger.removeHandler(handler)
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_EscapingFormatter("depaudit: %(message)s"))
        handler._depaudit_cli = True  # type: ignore[attr-defined]  # marks the handler as ours
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False

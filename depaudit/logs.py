"""The core's `--verbose` records, without importing `logging` on every run.

Importing `logging` costs a scan about 3 ms of its start-up (it pulls in threading, traceback, string and
more), and a run without `--verbose` never shows an INFO or DEBUG record. So the core logs through
`get_logger(name)`: while nothing has imported `logging`, no handler can exist, and a record below WARNING
is dropped exactly as `logging` would drop it; once something has (`--verbose` sets up its handler with it,
and httpx imports it), every call goes to `logging.getLogger(name)` unchanged.
"""

from __future__ import annotations

import sys


class LazyLogger:
    """The subset of `logging.Logger` the core uses: `debug` and `info`, %-style arguments."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def debug(self, message: str, *args: object) -> None:
        self._log("debug", message, args)

    def info(self, message: str, *args: object) -> None:
        self._log("info", message, args)

    def _log(self, level: str, message: str, args: tuple[object, ...]) -> None:
        logging = sys.modules.get("logging")
        if logging is None:  # nobody imported logging, so nobody attached a handler: the record goes nowhere
            return
        getattr(logging.getLogger(self.name), level)(message, *args)


def get_logger(name: str) -> LazyLogger:
    """A logger for module `name` (pass `__name__`)."""
    return LazyLogger(name)

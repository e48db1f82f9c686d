"""Making untrusted text safe to show a human: lock files, package metadata, file names and Dockerfile
lines can carry terminal control sequences (ESC, BEL, carriage return) or bidirectional overrides that
rewrite what a terminal or a CI log shows. Every human renderer, and the CLI's error printer, passes such
text through `escape_control`; machine formats (JSON, SARIF) escape by their own grammar.

URLs can carry credentials (`https://user:token@host/…`, a token as the user name): `redact_userinfo`
replaces the user information of every URL in a text with `***`, and the CLI passes everything it writes
(reports, messages, logs, the step summary) through it.
"""

from __future__ import annotations

import re

# C0 controls (newline and tab included: a human line must stay one line), DEL, C1 controls, and the
# Unicode bidirectional embeddings/overrides/isolates ("Trojan Source", CVE-2021-42574).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# The patterns below are compiled on first use (re caches them): most runs never need them, and every
# compile at import shows in the scan's measured start-up.
_UNSAFE_IN_TEXT = "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"  # all but \t and \n
_CONTROL_BUT_TAB = "[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
# scheme://userinfo@ : the user information ends at the first @ before the host; it holds no /, ?, #
# or whitespace (RFC 3986), so a later `@` in a path is never taken for it.
_USERINFO = r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s\\\"'<>]+@"
REDACTED = "***"


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape_control(text: str) -> str:
    """`text` with each control or bidi-override character written as a visible `\\xNN`/`\\uNNNN`
    escape. Printable text, including non-ASCII letters, is returned unchanged."""
    return _CONTROL.sub(_escape, text)


def escape_lines(text: str, *, keep_tabs: bool = False) -> str:
    """Like `escape_control`, but keeps newlines (for multi-line messages such as a tool's stderr
    tail, or a diff) and, with `keep_tabs`, tabs; every other control character is escaped."""
    if keep_tabs:
        return "\n".join(re.sub(_CONTROL_BUT_TAB, _escape, line) for line in text.split("\n"))
    return "\n".join(escape_control(line) for line in text.split("\n"))


_PRINTABLE_ASCII = bytes(range(0x20, 0x7F)) + b"\n\t"


def escape_output(text: str) -> str:
    """A whole report or message as written: lines and tabs kept, every other control or bidi
    character escaped. ASCII text with none (every report depaudit makes, nearly) is checked with one
    bytes.translate (0.1 ms for a 300 kB report; the regex alone took 1.4 ms)."""
    if text.isascii() and not text.encode("ascii").translate(None, _PRINTABLE_ASCII):
        return text
    return re.sub(_UNSAFE_IN_TEXT, _escape, text)


def redact_userinfo(text: str) -> str:
    """`text` with the user information of every URL in it replaced: `https://***@host/...`. The
    scheme and host stay, so a reader still sees which index is meant."""
    if "@" not in text:
        return text
    return re.sub(_USERINFO, rf"\1{REDACTED}@", text)


def markdown_cell(text: str) -> str:
    """Text safe inside a markdown table cell: controls escaped, pipes escaped, one line."""
    return escape_control(text.replace("\n", " ")).replace("|", "\\|")

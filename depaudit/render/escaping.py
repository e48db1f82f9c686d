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
_UNSAFE_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # all but \t and \n
_CONTROL_BUT_TAB = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# scheme://userinfo@ : the user information ends at the first @ before the host; it holds no /, ?, #
# or whitespace (RFC 3986), so a later `@` in a path is never taken for it.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s\\\"'<>]+@")
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
        return "\n".join(_CONTROL_BUT_TAB.sub(_escape, line) for line in text.split("\n"))
    return "\n".join(escape_control(line) for line in text.split("\n"))


def escape_output(text: str) -> str:
    """A whole report or message as written: lines and tabs kept, every other control or bidi
    character escaped (one scan of the text when there is none, as in every report depaudit makes)."""
    if _UNSAFE_IN_TEXT.search(text) is None:
        return text
    return _UNSAFE_IN_TEXT.sub(_escape, text)


def redact_userinfo(text: str) -> str:
    """`text` with the user information of every URL in it replaced: `https://***@host/...`. The
    scheme and host stay, so a reader still sees which index is meant."""
    if "@" not in text:
        return text
    return _USERINFO.sub(rf"\1{REDACTED}@", text)


def markdown_cell(text: str) -> str:
    """Text safe inside a markdown table cell: controls escaped, pipes escaped, one line."""
    return escape_control(text.replace("\n", " ")).replace("|", "\\|")

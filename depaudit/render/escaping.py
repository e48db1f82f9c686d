"""Making untrusted text safe to show a human: lock files, package metadata, file names and Dockerfile
lines can carry terminal control sequences (ESC, BEL, carriage return) or bidirectional overrides that
rewrite what a terminal or a CI log shows. Every human renderer, and the CLI's error printer, passes such
text through `escape_control`; machine formats (JSON, SARIF) escape by their own grammar.
"""

from __future__ import annotations

import re

# C0 controls (newline and tab included: a human line must stay one line), DEL, C1 controls, and the
# Unicode bidirectional embeddings/overrides/isolates ("Trojan Source", CVE-2021-42574).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape_control(text: str) -> str:
    """`text` with each control or bidi-override character written as a visible `\\xNN`/`\\uNNNN`
    escape. Printable text, including non-ASCII letters, is returned unchanged."""
    return _CONTROL.sub(_escape, text)


def escape_lines(text: str) -> str:
    """Like `escape_control`, but keeps newlines (for multi-line messages such as a tool's stderr
    tail); every other control character is escaped."""
    return "\n".join(escape_control(line) for line in text.split("\n"))


def markdown_cell(text: str) -> str:
    """Text safe inside a markdown table cell: controls escaped, pipes escaped, one line."""
    return escape_control(text.replace("\n", " ")).replace("|", "\\|")

"""A text file's style outside its content, kept through an edit: a UTF-8 BOM and the line ending.

A CRLF file is edited as LF text and turned back into CRLF, so inserted lines get the file's own line
ending too. Mixed line endings are refused: there is no right ending for a new line.
"""

from __future__ import annotations

from dataclasses import dataclass

from depaudit.errors import FixRefused

BOM = "\ufeff"


@dataclass(frozen=True)
class TextStyle:
    """How the file spells itself outside its content: a leading BOM and the line ending."""

    bom: str
    newline: str


def split_style(text: str, path: str) -> tuple[TextStyle, str]:
    """(style, the body as LF text without BOM). Raises FixRefused for mixed line endings."""
    bom = BOM if text.startswith(BOM) else ""
    body = text[len(bom) :]
    crlf = body.count("\r\n")
    if crlf and crlf != body.count("\n"):
        raise FixRefused(
            f"{path}: mixes CRLF and LF line endings; depaudit will not guess which to use "
            f"for the lines it adds (normalise the file first); nothing changed"
        )
    if crlf:
        return TextStyle(bom, "\r\n"), body.replace("\r\n", "\n")
    return TextStyle(bom, "\n"), body


def join_style(style: TextStyle, body: str) -> str:
    """The body (LF text) in the file's own style."""
    return style.bom + (body.replace("\n", style.newline) if style.newline != "\n" else body)

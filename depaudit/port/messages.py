"""Error and log text from torch, onnx and ONNX Runtime made fit for a report (torch-free): ANSI colour
codes removed, lines joined, nothing cut that could hold the answer (ONNX Runtime puts the axis indices
of a shape error on its second and third lines)."""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
MESSAGE_LIMIT = 2000  # characters of one message in a report; the whole text goes to the export log


def strip_ansi(text: str) -> str:
    """`text` without ANSI escape sequences and other control characters (tabs and newlines kept)."""
    return _CONTROL.sub("", _ANSI.sub("", text))


def one_line(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text` on one line: ANSI codes removed, whitespace runs (newlines included) made one space; cut
    only past `limit` characters, saying how much was left out."""
    flat = " ".join(strip_ansi(text).split())
    if len(flat) <= limit:
        return flat
    return f"{flat[:limit]} ... ({len(flat) - limit} more characters)"


def exception_text(exc: BaseException, limit: int = MESSAGE_LIMIT) -> str:
    """`Type: message` of an exception, on one line."""
    message = one_line(str(exc), limit)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def chain(exc: BaseException) -> list[BaseException]:
    """`exc` and every exception it was raised from, outermost first."""
    found = [exc]
    cause = exc.__cause__
    while cause is not None and all(cause is not e for e in found):
        found.append(cause)
        cause = cause.__cause__
    return found


def root_cause(exc: BaseException) -> BaseException:
    """The innermost exception of a `raise ... from ...` chain (the one that names the problem)."""
    return chain(exc)[-1]


class ExportLog:
    """What torch and the exporters printed, and the full text of errors shown cut or summarised in
    the report: written to `export.log` in the output folder, never to the terminal."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, str]] = []

    def add(self, title: str, text: str) -> None:
        """Keep `text` (ANSI codes removed) under `title`; empty text is dropped."""
        if text.strip():
            self.parts.append((title, strip_ansi(text).rstrip() + "\n"))

    def text(self) -> str:
        """The whole log, one section per part."""
        return "".join(f"== {title} ==\n{text}\n" for title, text in self.parts)

    def lines_of(self, title: str) -> int:
        """How many lines the parts with `title` hold."""
        return sum(text.count("\n") for t, text in self.parts if t == title)


_FIXES: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("complex", "polar", "view_as_real", "view_as_complex"),
        "ONNX has no complex tensors: carry real and imaginary parts as two real tensors and write the "
        "arithmetic out ((a+bi)(c+di) = (ac-bd) + (ad+bc)i)",
    ),
    (
        ("stft", "istft", "fft"),
        "export with the dynamo exporter (it translates STFT/FFT at opset 17+), compute it as a Conv1d over a "
        "fixed Fourier basis, or keep it outside the exported model",
    ),
    (
        ("nonzero", "unique", "masked_select", "data-dependent"),
        "the result's size depends on the values: keep a fixed size (a mask and torch.where) or do it outside the model",
    ),
)
_GENERIC_FIXES = {
    "dynamo": "rewrite it with ops ONNX has, or give torch.onnx.export a custom_translation_table entry for it",
    "torchscript": "the TorchScript exporter has no translation for it at this opset: try a newer --opset, or "
    "rewrite it with ops ONNX has",
    "torch.export": "rewrite it with plain tensor ops (torch.export runs forward on fake tensors: every op needs a "
    "meta kernel and no Python code may need a concrete value)",
}


def usual_fix(text: str, exporter: str) -> str:
    """The usual fix for an op or construct an exporter refuses, from what the error and the line say
    (`exporter`: 'dynamo', 'torchscript' or 'torch.export')."""
    lowered = text.lower()
    for words, fix in _FIXES:
        if any(word in lowered for word in words):
            return fix
    return _GENERIC_FIXES.get(exporter, _GENERIC_FIXES["dynamo"])

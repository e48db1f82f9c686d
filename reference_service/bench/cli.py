"""The bench's command line: `python -m reference_service.bench` (and `depaudit bench` in a clone, which
passes its arguments here unread).

`run(argv, prog)` reads the arguments, runs the bench (or re-renders a report) and returns the exit code:
0, or 4 when a variant failed to build, start or answer. Bad options exit 2 (argparse); an unreadable
report or a failed tool raises depaudit's errors, which `main` turns into one line and their exit code
(`depaudit bench` lets its own error printer do it).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from depaudit.errors import EXIT_TOOL, DepauditError
from depaudit.fileio import write_text
from depaudit.gate import load_bench_report
from depaudit.render.escaping import escape_lines
from reference_service.bench.gmnet import VARIANTS
from reference_service.bench.render import render_markdown
from reference_service.bench.report_files import report_folder, write_report
from reference_service.bench.run import DEFAULT_SIZES, DEFAULT_WHEEL_DIRS, BenchConfig, run_bench

PROG = "python -m reference_service.bench"
DEFAULT_BASE_IMAGE = "python:3.11-slim"
Say = Callable[[str], None]


def _sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)x(\d+)\s*", part)
        if not match or int(match.group(1)) < 16 or int(match.group(2)) < 16:
            raise argparse.ArgumentTypeError(f"{part.strip()!r} is not WIDTHxHEIGHT (each at least 16)")
        sizes.append((int(match.group(1)), int(match.group(2))))
    return sizes


def _requests(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"{text} is not in the range 1-1000")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 1:
        raise argparse.ArgumentTypeError(f"{text} is less than 1")
    return value


def parser(prog: str = PROG, environ: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    """The bench's options; `environ` gives --base-image's default (DEPAUDIT_BASE_IMAGE)."""
    env = os.environ if environ is None else environ
    p = argparse.ArgumentParser(
        prog=prog,
        description="Cold build time, image size, start-to-ready, interleaved latency and agreement with torch, "
        "per variant of the GMNet reference service (docker/Dockerfile.<variant>). Writes images.json, "
        "images.md and the SVG charts; prints images.md. Exit 0, 4 when a variant failed.",
    )
    sizes = ",".join(f"{w}x{h}" for w, h in DEFAULT_SIZES)
    base = env.get("DEPAUDIT_BASE_IMAGE") or DEFAULT_BASE_IMAGE
    for flags, metavar, options, text in (
        (("--variant", "-v"), "VARIANT", {"action": "append", "choices": VARIANTS}, f"{', '.join(VARIANTS)} (repeatable; default all)"),
        (("--base-image",), "IMAGE", {"default": base}, f"BASE_IMAGE build argument (default: DEPAUDIT_BASE_IMAGE, else {DEFAULT_BASE_IMAGE}; no registry here: build depaudit/python:3.11-slim with docker/base/build-base.sh)"),
        (("--sizes",), "WxH,...", {"type": _sizes, "default": _sizes(sizes)}, f"input sizes (default {sizes})"),
        (("--requests",), "N", {"type": _requests, "default": 5}, "interleaved rounds: timed requests per variant and size (after one warm-up; 1-1000; default 5)"),
        (("--size-budget",), "SECONDS", {"type": _seconds, "default": 90.0}, "seconds of timed requests per variant and size; at least one request is made (default 90)"),
        (("--torch-index-url",), "URL", {}, "CPU index for torch-cpu (default: serve --wheels on 127.0.0.1)"),
        (("--wheels",), "DIR", {"type": Path, "action": "append"}, "folder of +cpu wheels served as the CPU index (repeatable; default /opt/wheels)"),
        (("--repo",), "DIR", {"type": Path, "default": Path(".")}, "repository root, the build context holding docker/ (default .)"),
        (("--output-dir",), "DIR", {"type": Path, "default": Path("reports")}, "report folder (default reports); when it already holds a bench report, a new bench-<time> folder inside it is used (see --overwrite)"),
        (("--from-json",), "FILE", {"type": Path}, "re-render images.md and the charts from an images.json (no builds)"),
    ):  # fmt: skip
        p.add_argument(*flags, metavar=metavar, help=text, **options)
    for flags, text in (
        (("--overwrite",), "replace the report already in --output-dir"),
        (("--keep",), "keep the final images it built (builder stages are always removed)"),
        (("--no-compressed",), "skip the gzip pass (faster; compressed size unknown)"),
        (("--quiet", "-q"), "print only errors and the report itself"),
        (("--verbose",), "also print what is looked up and decided"),
    ):
        p.add_argument(*flags, action="store_true", help=text)
    return p


def run(argv: Sequence[str], prog: str = PROG) -> int:
    """Run the bench as the command line `argv` asks; returns 0, or 4 when a variant failed. Raises
    DepauditError (an unreadable report, no engine, a missing base image); argparse exits 2."""
    args = parser(prog).parse_args(list(argv))
    say = _sayer(prog, quiet=args.quiet)
    if args.verbose and not args.quiet:
        _log_to_stderr()
    if args.from_json is not None:
        written = write_report(load_bench_report(args.from_json), args.output_dir)
        say(f"re-rendered {', '.join(str(p) for p in written)} from {args.from_json}")
        return 0
    cfg = BenchConfig(
        repo=args.repo.resolve(),
        variants=tuple(dict.fromkeys(args.variant or VARIANTS)),
        base_image=args.base_image,
        sizes=args.sizes,
        requests=args.requests,
        size_budget_seconds=args.size_budget,
        torch_index_url=args.torch_index_url,
        keep=args.keep,
        measure_compressed=not args.no_compressed,
        wheel_dirs=tuple(args.wheels) if args.wheels else DEFAULT_WHEEL_DIRS,
        command=" ".join([prog, *(shlex.quote(a) for a in argv)]),
    )
    return _bench(cfg, args.output_dir, args.overwrite, say)


def _bench(cfg: BenchConfig, output_dir: Path, overwrite: bool, say: Say) -> int:
    folder = report_folder(output_dir, overwrite)
    if folder != output_dir:
        say(f"{output_dir} already holds a report; this run writes to {folder} (--overwrite replaces it)")
    report = run_bench(cfg, say=say)
    folder.mkdir(parents=True, exist_ok=True)
    write_text(folder / "images.json", json.dumps(report, indent=2, allow_nan=False) + "\n")
    written = write_report(report, folder)
    say(f"wrote {folder / 'images.json'}, " + ", ".join(p.name for p in written))
    if report.get("provisional"):
        say("the load average exceeded the CPU count: the report is marked provisional")
    sys.stdout.write(render_markdown(report))
    return EXIT_TOOL if bench_failures(report, say) else 0


def bench_failures(report: dict[str, Any], say: Say) -> list[str]:
    """What went wrong, one line a variant: a build or start that failed, or inputs its service did not
    answer (a bench whose variant answered 500 to every request is not a measurement). Each is said."""
    lines = []
    for v in report["variants"]:
        if v.get("error"):
            lines.append(f"{v['variant']}: {v['error']}")
        for lat in v.get("latency") or []:
            if lat.get("error"):
                lines.append(f"{v['variant']} at {lat['size']}: {lat['error']}")
    for line in lines:
        say(f"warning: {line}")
    return lines


def _sayer(prog: str, quiet: bool) -> Say:
    """Progress and status lines on stderr, prefixed with `prog`, control characters escaped; none when quiet."""

    def say(message: str) -> None:
        if not quiet:
            print(f"{prog}: {escape_lines(message)}", file=sys.stderr)

    return say


def _log_to_stderr() -> None:
    """--verbose: depaudit's and the bench's log records at DEBUG on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    for name in ("depaudit", "reference_service"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m reference_service.bench`: `run`, with depaudit's errors as one line and their exit code."""
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except DepauditError as exc:
        print(f"{PROG}: error: {escape_lines(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130

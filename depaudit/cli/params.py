"""Every command-line option, declared once, and two ways to read a command line with them.

`OPTIONS` is the one table: each option's flags, type, default, help and the settings key it feeds
(`depaudit.settings.SCHEMA`). A command lists the options it takes (`pick`) plus its own positional
arguments. `register` turns that list into a typer command (help, usage, errors: typer stays the CLI
framework). `parse_fast` reads the common, well-formed command lines itself, from the same `Param`s, so
`depaudit scan` in a CI loop does not import typer and click (measured: typer is the largest single
start-up cost). Anything it is not sure of — `--help`, an unknown option, a value that does not convert,
`--`, a flag bundle — makes it answer None, and the command line goes to typer, which gives the proper
message. Both paths call the command with the same `Given` values; tests/cli/test_scan_fastpath.py runs
both on the same arguments and compares. DEPAUDIT_FAST_PATH=0 turns the fast path off.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import Any, NamedTuple

from depaudit.cli.common import FORMAT_CHOICES, FailOn
from depaudit.errors import UsageError
from depaudit.render.formats import OutputFormat, check_supported, offered, parse_format


class Param(NamedTuple):
    """A command parameter: keyword `name`, its `flags` (empty for a positional argument), the Python
    `kind` (bool, str, int, float, Path, an Enum, or any type `parse` builds from the text: it raises
    ValueError for a value to refuse), `default`, `help`, repeatable when `multiple`; `setting` names
    the settings key the value is the command-line layer of; `metavar` and `complete` (shell
    completion) are for typer's help and completion only."""

    name: str
    flags: tuple[str, ...]
    kind: type
    default: Any
    help: str
    multiple: bool = False
    parse: Callable[[str], Any] | None = None
    metavar: str | None = None
    complete: Callable[[str], list[str]] | None = None
    setting: str | None = None

    @property
    def is_flag(self) -> bool:
        return self.kind is bool and bool(self.flags)


class Given(dict[str, Any]):
    """The values of one command line, by parameter name, read as attributes (`given.offline`)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _format(value: str) -> OutputFormat:
    """`--format` text as an OutputFormat; ValueError (typer's usage error) for an unknown format."""
    try:
        return parse_format(value)
    except UsageError as exc:
        raise ValueError(str(exc).removeprefix("--format: ")) from None


def _complete_format(incomplete: str) -> list[str]:
    return [f.value for f in OutputFormat if f.value.startswith(incomplete)]


def _seconds(text: str) -> float:
    """A positive, finite number of seconds; ValueError (typer's usage error) for anything else."""
    value = float(text)
    if not 0 < value < float("inf"):
        raise ValueError(f"{text!r}: give a positive number of seconds")
    return value


def _positive_int(text: str) -> int:
    value = int(text, 10)
    if value < 1:
        raise ValueError(f"{text} is not a positive number")
    return value


HELP: dict[str, str] = {
    "package": "Install this workspace member instead of the root project (repeatable), as uv sync --package.",
    "all_packages": "Install every workspace member, as uv sync --all-packages.",
    "extra": "Include an optional-dependency extra of the selected members (repeatable).",
    "all_extras": "Include every extra of the selected members.",
    "group": "Include a dependency group (repeatable; default none: the production install).",
    "all_groups": "Include every dependency group.",
    "dev": "Include the `dev` dependency group.",
    "target": "A platform: linux-x86_64, linux-aarch64, macos-arm64, windows-amd64 (the default set) or a uv --python-platform name such as x86_64-unknown-linux-musl, aarch64-pc-windows-msvc (repeatable).",
    "python": "CPython version, e.g. 3.12 or free-threaded 3.13t (default: lowest requires-python allows).",
    "glibc": "glibc of Linux targets whose name fixes none (default 2.28, as uv).",
    "macos": "macOS version of macos-arm64 (default 14.0) and the apple-darwin targets (default $MACOSX_DEPLOYMENT_TARGET, else 13.0, as uv).",
    "offline": "Never touch the network; unknown sizes stay unknown (and budgets on them UNKNOWN).",
    "cache_dir": "Size cache folder (default: user cache).",
    "lookup_deadline": "Seconds all size look-ups of the run may take together (default 60); what has no answer by then stays unknown (and a budget that needs it is UNKNOWN).",
    "allow_host": "Let size look-ups reach HOST even when it is not one of the lock's registries or resolves to a loopback/private/link-local address (repeatable; also DEPAUDIT_ALLOW_HOSTS; allow-hosts in [tool.depaudit] reaches global addresses only).",
    "allow_build": "Accept that PACKAGE is built from source on a target with no wheel for it (repeatable; :all: for every build); without it a target that builds a package has UNKNOWN budgets, which fail. Command line or DEPAUDIT_ALLOW_BUILDS only.",
    "installed": "Installed size: the wheels' uncompressed contents, read from their zip central directories by HTTP ranges (what uv installs: no bytecode).",
    "bytecode": "Installed size plus an estimate of the .pyc files pip compiles at install time.",
    "max_download": "Download budget for every target (500MB) or one (linux-aarch64=3GB); repeatable; exit 1 above it.",
    "max_accelerator": "Accelerator-wheel budget, for every target or TARGET=SIZE (0 forbids them); repeatable.",
    "no_accelerator_target": "A target that must install no accelerator wheel (repeatable).",
    "max_image_size": "Budget for each IMAGE, e.g. 250MB.",
    "lock": "What the download and accelerator budgets measure: uv.lock, pylock.toml, poetry.lock, pdm.lock, a requirements file, a pyproject.toml without a lock or a Dockerfile (default: the lock uv finds).",
    "bench_report": "A depaudit bench images.json for --max-latency-ms.",
    "max_latency_ms": "Latency budget per variant and input size.",
    "latency_percentile": "p50 or p95 (default p95).",
    "max_increase": "Exit 1 when any target's download grows by more than SIZE (e.g. 50MB).",
    "fail_on_new_accelerator": "Exit 1 when HEAD installs an accelerator package BASE did not.",
    "select": "Run only these rule IDs or prefixes (DA3, DA302); repeatable or comma-separated.",
    "ignore": "Skip these rule IDs or prefixes; repeatable or comma-separated.",
    "fail_on": "Exit 1 on findings at or above this severity.",
    "pyproject": "pyproject.toml with [tool.depaudit] (default: the project's, found as uv finds it).",
    "fmt": "Output format (default table): table, json, markdown, sarif, gnu (path:line:col: DAxxx message).",
    "output": "Write to FILE ('-' for stdout); a file is replaced atomically, a device or FIFO written in place; never one of the inputs.",
    "binary": "Show MiB/GiB instead of MB/GB.",
    "top": "Rows per target in the table.",
    "show_all": "Show every row.",
    "docs_url": "Base URL of the rule pages for SARIF helpUri (default: [tool.depaudit] docs-url, else the rule pages shipped in the package).",
    "quiet": "Print only errors and the report itself.",
    "verbose": "Also print what is looked up and decided (settings, rules, files, checks).",
    # arguments and options of one command
    "lockfile": "uv.lock, pylock.toml, poetry.lock, pdm.lock, a requirements file, a pyproject.toml without a lock, a Dockerfile, or a project folder (default: the lock uv finds from the current folder, else what the folder holds).",
    "baseline": "Show the change from the lock at git revision REV instead (as `depaudit diff REV:LOCK LOCK`).",
    "images": "Images whose size on disk is checked against --max-image-size: a reference on the engine, a docker save archive or OCI layout (read without the engine), or a Dockerfile (predicted, not built).",
    "base": "The lock before: a path, or REV:path from git (origin/main:uv.lock).",
    "head": "The lock after: a path or REV:path (default: uv.lock).",
    "files": "uv.lock / pylock.toml / poetry.lock / pdm.lock files (pre-commit passes the staged ones).",
    "paths": "Dockerfiles, requirements files, pyproject.toml, uv.lock/pylock.toml, or folders to search (default: .).",
    "context": "A Dockerfile's build context, for the files its RUN lines name (default: the Dockerfile's folder, then its parent); nothing outside it is read.",
    "run_sizes": "Resolve each Dockerfile RUN line for the image's platform (uv and the package index) so DA302 says what it downloads and what the CPU index would.",
    "exclude_newer": "For a requirements file or a pyproject.toml without a lock: resolve with packages published before DATE (2026-01-31), reproducibly (default: a fresh resolution as of now).",
    "build_arg": "NAME=VALUE overriding an ARG default, as docker build takes it (repeatable).",
    "path": "Project folder, pyproject.toml, requirements.txt/.in or Dockerfile.",
    "to": "cpu-index: torch from the PyTorch CPU index; onnxruntime/tinygrad: torch to the dev group.",
    "cpu_index_url": "The PyTorch CPU index (default https://download.pytorch.org/whl/cpu): fix points torch at it; scan and lint --sizes compare a Dockerfile's installs with it.",
    "dry_run": "Print the unified diff; change nothing.",
    "relock": "Re-lock with uv and show before/after per target (in a temp copy with --dry-run).",
    "force": "Switch a project that asks for CUDA on purpose.",
    "allow_torch": "--to onnxruntime/tinygrad: exit 0 even when runtime dependencies still bring torch in.",
    "refs": "Image references on the local engine.",
    "before": "The image before the change.",
    "after": "The image after the change.",
    "no_compressed": "Skip the gzip pass (faster; compressed size unknown).",
    "model": "path/to/file.py:callable or package.module:callable (an nn.Module, a class built without arguments, or a function returning one).",
    "inputs": "NAME=SHAPE[:DTYPE[:LOW..HIGH]] per forward argument, in order (e.g. image=1x3x224x224, "
    "audio=1x16000:float32:-1..1).",
    "checkpoint": "A state_dict to load (weights_only).",
    "out": "Folder for model.onnx, goldens.npz, port.json, runtime.py and the torch-free test.",
    "opset": "ONNX opset (default 18).",
    "dynamic": "NAME:AXIS[=DIM][:MIN..MAX] left dynamic, or NAME:AXIS=K*DIM+C tied to another axis "
    "(e.g. image:0=batch:1..64, f0:2=2*frames; repeatable).",
    "min_psnr": "An absolute PSNR bar in dB against torch float32 for every output. Default: 100 dB passes; below "
    "it ONNX Runtime must be as close to a float64 torch reference as torch float32 is (6 dB margin).",
    "output_name": "Names of the outputs, in order (default output_0, output_1, ...).",
    "bench_args": "The bench's own options, passed on unread (depaudit bench -h in a clone lists them).",
    "image": "A `docker save` archive (.tar, .tar.gz), an OCI image-layout folder, or a reference on the local engine (exported with docker save as it is read).",
    "image_max_accelerator": "Budget for accelerator runtime bytes in the image (0 forbids them).",
    "max_waste": "Budget for wasted bytes (files later layers delete or overwrite).",
    "compressed": "Also count each plain layer gzip-compressed (slow on GB images).",
    "image_platform": "The os/arch to read from a multi-platform OCI index (linux/amd64).",
    "dockerfile": "The Dockerfile to predict.",
    "base_archive": "[REF=]PATH: read base image REF (every base without REF) from a docker save archive or OCI layout.",
    "base_size": "The base image's size when it cannot be read (no engine, no archive).",
    "stage": "The stage to build, as docker build --target.",
    "build_target": "The stage a Dockerfile IMAGE builds (docker build --target).",
    "predict_platform": "uv's --python-platform for installs (default: from the base image, e.g. x86_64-manylinux_2_36).",
    "wheel_dir": "A folder of wheels read before any index (repeatable).",
}


def flag(name: str, *flags: str, setting: str | None = None) -> Param:
    """An on/off option (default off); its help is HELP[name], as for every constructor here."""
    return Param(name, flags, bool, False, HELP[name], setting=setting)


def value(
    name: str, *flags: str, kind: type = str, default: Any = None, help: str | None = None, **extra: Any
) -> Param:
    """An option taking one value (`help`: this command's own wording, else HELP[name])."""
    return Param(name, flags, kind, default, help or HELP[name], **extra)


def values(name: str, *flags: str, kind: type = str, **extra: Any) -> Param:
    """A repeatable option."""
    return Param(name, flags, kind, None, HELP[name], multiple=True, **extra)


_ALL: tuple[Param, ...] = (
    # what installs: the same selection everywhere (uv sync's flags)
    values("package", "--package", setting="package"),
    flag("all_packages", "--all-packages", setting="all-packages"),
    values("extra", "--extra", setting="extras"),
    flag("all_extras", "--all-extras", setting="all-extras"),
    values("group", "--group", setting="groups"),
    flag("all_groups", "--all-groups", setting="all-groups"),
    flag("dev", "--dev"),
    # where it installs
    values("target", "--target", "-t", setting="targets"),
    value("python", "--python", setting="python"),
    value("glibc", "--glibc"),
    value("macos", "--macos"),
    # size look-ups
    flag("offline", "--offline", setting="offline"),
    value("cache_dir", "--cache-dir", kind=Path, setting="cache-dir"),
    value(
        "lookup_deadline", "--lookup-deadline", kind=float, parse=_seconds, metavar="SECONDS", setting="lookup-deadline"
    ),
    values("allow_host", "--allow-host", metavar="HOST", setting="allow-hosts"),
    values("allow_build", "--allow-build", metavar="PACKAGE", setting="allow-builds"),
    flag("installed", "--installed"),
    flag("bytecode", "--bytecode"),
    # budgets
    values("max_download", "--max-download", setting="max-download"),
    values("max_accelerator", "--max-accelerator", setting="max-accelerator"),
    values("no_accelerator_target", "--no-accelerator-target", setting="no-accelerator-targets"),
    value("max_image_size", "--max-image-size", setting="max-image-size"),
    value("lock", "--lock", kind=Path, setting="lock"),
    value("bench_report", "--bench-report", kind=Path, setting="bench-report"),
    value("max_latency_ms", "--max-latency-ms", kind=float, parse=float, setting="max-latency-ms"),
    value("latency_percentile", "--latency-percentile", setting="latency-percentile"),
    value("max_increase", "--max-increase", setting="max-increase"),
    flag("fail_on_new_accelerator", "--fail-on-new-accelerator", setting="fail-on-new-accelerator"),
    # Dockerfiles and the CPU index
    value("context", "--context", kind=Path, metavar="DIR"),
    values("build_arg", "--build-arg"),
    value("cpu_index_url", "--cpu-index-url", metavar="URL", setting="cpu-index-url"),
    # findings
    values("select", "--select", setting="select"),
    values("ignore", "--ignore", setting="ignore"),
    value("fail_on", "--fail-on", kind=FailOn, default=FailOn.never),
    value("pyproject", "--pyproject", kind=Path),
    # output
    value(
        "fmt",
        "--format",
        "-f",
        kind=OutputFormat,
        default=OutputFormat.table,
        parse=_format,
        metavar=f"[{FORMAT_CHOICES}]",
        complete=_complete_format,
    ),
    value("output", "--output", "-o"),
    flag("binary", "--binary"),
    value("top", "--top", kind=int, default=15, parse=_positive_int),
    flag("show_all", "--all"),
    value("docs_url", "--docs-url", setting="docs-url"),
    flag("quiet", "--quiet", "-q"),
    flag("verbose", "--verbose"),
)
OPTIONS: dict[str, Param] = {p.name: p for p in _ALL}

SELECTION = ("package", "all_packages", "extra", "all_extras", "group", "all_groups", "dev")
PLATFORM = ("target", "python", "glibc", "macos")
LOOKUPS = ("offline", "cache_dir", "allow_host", "lookup_deadline")
LOCK_BUDGETS = ("max_download", "max_accelerator", "no_accelerator_target")
VERBOSITY = ("quiet", "verbose")
REPORT = ("fmt", "output", "binary", "docs_url", *VERBOSITY)


def pick(*names: str, **changes: dict[str, Any]) -> tuple[Param, ...]:
    """The options `names` from the one table; `changes` adjusts one for a command (its default or
    help: `top={"default": 20}`)."""
    return tuple(OPTIONS[n]._replace(**changes[n]) if n in changes else OPTIONS[n] for n in names)


def format_param(table: Mapping[OutputFormat, object]) -> Param:
    """`--format` for a command whose renderer table refuses some formats: its help, metavar and
    completion offer only the formats the table writes, and another is refused when the command line is
    read (exit 2), in the table's own words."""
    have = offered(table)

    def parse(text: str) -> OutputFormat:
        choice = _format(text)
        try:
            check_supported(table, choice)
        except UsageError as exc:
            raise ValueError(str(exc).removeprefix("--format: ")) from None
        return choice

    listed = ", ".join("gnu (path:line:col: DAxxx message)" if f is OutputFormat.gnu else f.value for f in have)
    return OPTIONS["fmt"]._replace(
        help=f"Output format (default table): {listed}.",
        parse=parse,
        metavar=f"[{'|'.join(f.value for f in have)}]",
        complete=lambda incomplete: [f.value for f in have if f.value.startswith(incomplete)],
    )


def argument(name: str, kind: type = str, default: Any = ..., *, multiple: bool = False, **extra: Any) -> Param:
    """A positional argument of one command (default `...`: required), shown as NAME, [NAME] or NAME..."""
    shown = name.upper() + ("..." if multiple else "")
    extra.setdefault("metavar", shown if default is ... else f"[{shown}]")
    return Param(name, (), kind, default, HELP[name], multiple=multiple, **extra)


def cli_layer(params: Sequence[Param], given: Given) -> dict[str, Any]:
    """The settings keys `given` sets on the command line (the layer above the environment)."""
    layer = {p.setting: given.get(p.name) for p in params if p.setting}
    if given.get("dev"):
        layer["groups"] = [*(layer.get("groups") or []), "dev"]
    if isinstance(layer.get("cache-dir"), Path):
        layer["cache-dir"] = str(layer["cache-dir"])
    return {k: v for k, v in layer.items() if v is not None and v != [] and v is not False}


def fast_path_enabled() -> bool:
    return os.environ.get("DEPAUDIT_FAST_PATH", "1") not in ("0", "false", "no")


def _convert(param: Param, raw: str) -> Any:
    """`raw` as the parameter's kind; raises ValueError when typer would reject it."""
    if param.parse is not None:
        return param.parse(raw)
    if param.kind is Path:
        return Path(raw)
    if param.kind is int:
        return int(raw, 10)
    if isinstance(param.kind, type) and issubclass(param.kind, Enum):
        return param.kind(raw)
    return raw


def parse_fast(argv: Sequence[str], params: Sequence[Param]) -> Given | None:
    """The values of `argv` (the command's own arguments), or None when typer should read it."""
    by_flag = {flag: p for p in params for flag in p.flags}
    positional = [p for p in params if not p.flags]
    values = Given({p.name: p.default for p in params})
    given: set[str] = set()
    args = list(argv)
    while args:
        arg = args.pop(0)
        param: Param | None
        if not arg.startswith("-") or arg == "-":
            if not positional or positional[0].multiple:
                return None
            param = positional.pop(0)
        else:
            name, eq, inline = arg.partition("=")
            param = by_flag.get(name)
            if param is None or (not name.startswith("--") and len(name) != 2):
                return None  # unknown option, --help, a bundle of short flags: typer decides
            if param.is_flag:
                if eq:
                    return None
                values[param.name] = True
                continue
            if eq:
                arg = inline
            elif not args or (args[0].startswith("-") and args[0] != "-"):
                return None  # a missing value, or one that looks like an option
            else:
                arg = args.pop(0)
        try:
            value = _convert(param, arg)
        except ValueError:
            return None
        if param.multiple:
            values[param.name] = [*(values[param.name] if param.name in given else []), value]
        elif param.name in given:
            return None  # repeated single-value option: leave the rule to typer
        else:
            values[param.name] = value
        given.add(param.name)
    return values


def _typer_parser(parse: Callable[[str], Any]) -> Callable[[Any], Any]:
    """`parse` for typer: a default passes through, ValueError becomes typer's usage error."""
    import typer

    def convert(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return parse(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None

    return convert


def _typer_info(p: Param) -> Any:
    import typer

    if not p.flags:
        return typer.Argument(help=p.help, show_default=False, metavar=p.metavar)
    extra: dict[str, Any] = {}
    if p.parse is not None:
        extra = {"parser": _typer_parser(p.parse), "show_default": False}
    if p.metavar is not None:
        extra["metavar"] = p.metavar
    if p.complete is not None:
        extra["autocompletion"] = p.complete
    return typer.Option(*p.flags, help=p.help, **extra)


def register(
    app: Any,
    name: str,
    params: Sequence[Param],
    body: Callable[[Given], int],
    epilog: str | None = None,
    context_settings: Mapping[str, Any] | None = None,
) -> None:
    """Add `body` to the typer `app` as command `name`, its options built from `params`; `body` gets
    the values as one `Given`. `context_settings` go to click as they are (`bench` passes unknown
    options through to the bench it runs)."""
    import inspect
    from typing import Annotated

    parameters = []
    annotations: dict[str, Any] = {}
    for p in params:
        base: Any = list[p.kind] if p.multiple else p.kind  # type: ignore[name-defined]
        if p.default is None:
            base = base | None
        annotations[p.name] = Annotated[base, _typer_info(p)]
        parameters.append(
            inspect.Parameter(
                p.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=p.default, annotation=annotations[p.name]
            )
        )

    def command(**kwargs: Any) -> int:
        return body(Given(kwargs))

    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = annotations
    command.__name__ = name
    command.__doc__ = body.__doc__
    app.command(name, epilog=epilog, context_settings=dict(context_settings or {}))(command)

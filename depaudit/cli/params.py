"""One definition per command option, two ways to read a command line with it.

A command declares its parameters once, as `Param`s. `register` turns them into a typer command
(help, usage, errors: typer stays the CLI framework). `parse_fast` reads the common, well-formed
command lines itself, from the same `Param`s, so `depaudit scan` in a CI loop does not import typer
and click (measured: typer is the largest single start-up cost). Anything it is not sure of — `--help`,
an unknown option, a value that does not convert, `--`, a flag bundle — makes it answer None, and the
command line goes to typer, which gives the proper message. Both paths call the same function with the
same keyword arguments; tests/cli/test_scan_fastpath.py runs both on the same arguments and compares.
Setting DEPAUDIT_FAST_PATH=0 turns the fast path off.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Param:
    """A command parameter: keyword `name`, its `flags` (empty for the positional argument), the
    Python `kind` (bool, str, int, Path, an Enum, or any type `parse` builds from the text: it raises
    ValueError for a value to refuse), `default`, `help`, repeatable when `multiple`; `metavar` and
    `complete` (shell completion) are for typer's help and completion only."""

    name: str
    flags: tuple[str, ...]
    kind: type
    default: Any
    help: str
    multiple: bool = False
    parse: Callable[[str], Any] | None = None
    metavar: str | None = None
    complete: Callable[[str], list[str]] | None = None

    @property
    def is_flag(self) -> bool:
        return self.kind is bool and bool(self.flags)


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


def parse_fast(argv: Sequence[str], params: Sequence[Param]) -> dict[str, Any] | None:
    """Keyword arguments for `argv` (the command's own arguments), or None when typer should read it."""
    by_flag = {flag: p for p in params for flag in p.flags}
    positional = [p for p in params if not p.flags]
    values: dict[str, Any] = {p.name: p.default for p in params}
    given: set[str] = set()
    args = list(argv)
    while args:
        arg = args.pop(0)
        param: Param | None
        if not arg.startswith("-") or arg == "-":
            if not positional:
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


def register(app: Any, name: str, params: Sequence[Param], body: Callable[..., Any], epilog: str | None = None) -> None:
    """Add `body` to the typer `app` as command `name`, its options built from `params`."""
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

    def command(**kwargs: Any) -> Any:
        return body(**kwargs)

    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = annotations
    command.__name__ = name
    command.__doc__ = body.__doc__
    app.command(name, epilog=epilog)(command)

"""Settings resolution, the one implementation of the precedence rule:
defaults < `[tool.depaudit]` in pyproject.toml < `DEPAUDIT_*` environment < command line.

Keys are spelled as in pyproject (`max-download`); the environment spells them `DEPAUDIT_MAX_DOWNLOAD`.
`resolve` returns raw values (strings or lists, as written) and `resolve_layers` says where each came
from; `convert` turns a raw value into a typed one, raising the error of the layer it came from:
InputError for the pyproject (exit 3), UsageError for the environment or the command line (exit 2).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from depaudit.errors import DepauditError, InputError, UsageError
from depaudit.fileio import read_text
from depaudit.logs import get_logger
from depaudit.sources.tomlparse import parse_toml
from depaudit.units import parse_size

ENV_PREFIX = "DEPAUDIT_"
log = get_logger(__name__)
Kind = Literal["size", "float", "percentile", "list", "path", "str"]


def env_name(key: str) -> str:
    """`max-download` -> `DEPAUDIT_MAX_DOWNLOAD`."""
    return ENV_PREFIX + key.upper().replace("-", "_")


def find_pyproject(start: Path) -> Path | None:
    """The pyproject.toml beside `start` (a file or directory), or in the nearest parent that has one."""
    here = start if start.is_dir() else start.parent
    for folder in [here, *here.resolve().parents]:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def default_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """depaudit's own state folder (the `fix --lock` journal): DEPAUDIT_STATE_DIR, else
    $XDG_STATE_HOME/depaudit, else ~/.local/state/depaudit. Never from the checkout."""
    env = os.environ if environ is None else environ
    if env.get("DEPAUDIT_STATE_DIR"):
        return Path(env["DEPAUDIT_STATE_DIR"]).expanduser()
    if env.get("XDG_STATE_HOME"):
        return Path(env["XDG_STATE_HOME"]).expanduser() / "depaudit"
    return Path.home() / ".local" / "state" / "depaudit"


def source_root(start: Path) -> Path:
    """The repository root above `start` (the nearest folder holding `.git`), else `start` itself:
    what SARIF paths are relative to."""
    here = start.resolve()
    for folder in [here, *here.parents]:
        if (folder / ".git").exists():
            return folder
    return here


def project_settings(pyproject: Path | None) -> dict[str, Any]:
    """The `[tool.depaudit]` table of a pyproject.toml ({} when absent). Raises InputError if invalid."""
    if pyproject is None:
        return {}
    data = parse_toml(read_text(pyproject, "pyproject.toml", allow_empty=False), pyproject)
    tool = data.get("tool", {})
    table = tool.get("depaudit", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise InputError(pyproject, "[tool.depaudit] must be a table")
    log.debug("settings file %s: [tool.depaudit] has %s", pyproject, ", ".join(sorted(table)) or "no keys")
    return table


def subtable(table: Mapping[str, Any], name: str, pyproject: Path | None) -> dict[str, Any]:
    """`[tool.depaudit.<name>]` ({} when absent). Raises InputError when it is not a table."""
    value = table.get(name, {})
    if not isinstance(value, dict):
        raise InputError(pyproject or "pyproject.toml", f"[tool.depaudit.{name}] must be a table")
    return value


@dataclass(frozen=True)
class Layer:
    """A setting's raw value and where it came from: `pyproject`, `env` or `cli`, with a label for
    humans (`pyproject.toml [tool.depaudit]`, `DEPAUDIT_MAX_DOWNLOAD`, `--max-download`)."""

    value: Any
    origin: Literal["pyproject", "env", "cli"]
    label: str


def _given(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != ()


@dataclass(frozen=True)
class SettingSources:
    """Where settings come from below the command line: the `[tool.depaudit]` table of `pyproject` and
    the environment. `layers`/`winner` apply the precedence rule to one key."""

    table: Mapping[str, Any]
    environ: Mapping[str, str]
    pyproject: Path | None = None

    @classmethod
    def load(cls, pyproject: Path | None, environ: Mapping[str, str] | None = None) -> SettingSources:
        """The sources for `pyproject` (None: no file) and `environ` (default os.environ). Raises
        InputError when the pyproject is invalid."""
        return cls(project_settings(pyproject), os.environ if environ is None else environ, pyproject)

    def layers(self, key: str, cli_value: Any = None, option: str | None = None) -> list[Layer]:
        """Every layer that sets `key`, lowest precedence first: pyproject, environment, command line."""
        found = []
        if key in self.table:
            found.append(Layer(self.table[key], "pyproject", f"{self.pyproject} [tool.depaudit]"))
        name = env_name(key)
        if self.environ.get(name, "") != "":
            found.append(Layer(self.environ[name], "env", name))
        if _given(cli_value):
            found.append(Layer(cli_value, "cli", option or f"--{key}"))
        return found

    def winner(self, key: str, cli_value: Any = None, option: str | None = None) -> Layer | None:
        """The layer that sets `key` with the highest precedence, or None when no layer sets it."""
        found = self.layers(key, cli_value, option)
        return found[-1] if found else None


def resolve_layers(
    keys: Mapping[str, Any],
    pyproject: Path | None,
    environ: Mapping[str, str] | None = None,
    *,
    options: Mapping[str, str] | None = None,
    table: Mapping[str, Any] | None = None,
) -> dict[str, Layer]:
    """The winning layer of each key of `keys` (name -> command-line value or None) that is set.
    `options` names each key's command-line option for messages. Raises InputError for a bad pyproject."""
    env = os.environ if environ is None else environ
    sources = SettingSources(project_settings(pyproject) if table is None else table, env, pyproject)
    found: dict[str, Layer] = {}
    for key, cli_value in keys.items():
        hit = sources.winner(key, cli_value, (options or {}).get(key))
        if hit is not None:
            found[key] = hit
            log.info("setting %s = %r from %s", key, hit.value, hit.label)
    return found


def resolve(
    keys: Mapping[str, Any], pyproject: Path | None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Raw values of `keys` (name -> command-line value or None) in precedence order; None when unset."""
    layers = resolve_layers(keys, pyproject, environ)
    return {key: layers[key].value if key in layers else None for key in keys}


def layer_error(found: Layer, pyproject: Path | None) -> Callable[[str], DepauditError]:
    """The error to raise for a bad value of `found`: InputError naming the pyproject for a value from
    the file, UsageError naming the variable or option otherwise."""
    if found.origin == "pyproject":
        return lambda what: InputError(pyproject or "pyproject.toml", f"[tool.depaudit] {what}")
    return lambda what: UsageError(f"{found.label}: {what}")


def convert(kind: Kind, key: str, value: Any, error: Callable[[str], DepauditError]) -> Any:
    """A raw setting value as `kind`: size -> int bytes, float -> positive float, percentile -> "p50" or
    "p95", list -> tuple of strings (a string is split on commas), path -> Path, str -> str. Raises
    `error(what)` for a value that is not one."""
    if kind == "size":
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise error(f"{key}: expected a size such as 250MB, got {value!r}")
        try:
            return parse_size(str(value))
        except ValueError as exc:
            raise error(f"{key}: {exc}") from None
    if kind == "float":
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise error(f"{key}: expected a number, got {value!r}") from None
        if not number > 0:
            raise error(f"{key}: must be positive, got {value!r}")
        return number
    if kind == "percentile":
        text = str(value).lower()
        if text not in ("p50", "p95"):
            raise error(f"{key}: use p50 or p95, got {value!r}")
        return text
    if kind == "list":
        return as_strings(key, value, error)
    if kind == "path":
        if not isinstance(value, (str, Path)) or not str(value):
            raise error(f"{key}: expected a path, got {value!r}")
        return Path(value)
    if not isinstance(value, str):
        raise error(f"{key}: expected a string, got {value!r}")
    return value


def as_strings(key: str, value: Any, error: Callable[[str], DepauditError]) -> tuple[str, ...]:
    """A list setting: a list of strings, or one string of comma-separated items."""
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value if v.strip())
    raise error(f"{key}: expected a list of strings, got {value!r}")


def truthy(value: Any) -> bool:
    """A boolean setting given as a bool or as text (`1`, `true`, `yes`)."""
    return value is True or str(value).strip().lower() in ("1", "true", "yes", "on")

"""Settings resolution: defaults < `[tool.depaudit]` in pyproject.toml < `DEPAUDIT_*` env < command line.

Keys are spelled as in pyproject (`max-download`); the environment spells them `DEPAUDIT_MAX_DOWNLOAD`.
Values stay strings or lists here; each command converts and validates what it uses.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from depaudit.errors import InputError


def find_pyproject(start: Path) -> Path | None:
    """The pyproject.toml beside `start` (a file or directory), or in the nearest parent that has one."""
    here = start if start.is_dir() else start.parent
    for folder in [here, *here.resolve().parents]:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def project_settings(pyproject: Path | None) -> dict[str, Any]:
    """The `[tool.depaudit]` table of a pyproject.toml ({} when absent). Raises InputError if invalid."""
    if pyproject is None:
        return {}
    from depaudit.sources.tomlread import parse_toml, read_text

    data = parse_toml(read_text(pyproject, "pyproject.toml"), pyproject)
    table = data.get("tool", {}).get("depaudit", {}) if isinstance(data.get("tool"), dict) else {}
    if not isinstance(table, dict):
        raise InputError(pyproject, "[tool.depaudit] must be a table")
    return table


def string_list(value: Any, key: str = "allow-hosts") -> list[str]:
    """A list setting given as a TOML array, a comma-separated string (environment) or repeated
    options. Raises InputError for anything else."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise InputError("[tool.depaudit]", f"{key} must be a list of strings")


def resolve(keys: Mapping[str, Any], pyproject: Path | None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Merge settings for `keys` (name -> command-line value or None) in precedence order."""
    env = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    table = project_settings(pyproject)
    for key, cli_value in keys.items():
        value = table.get(key)
        env_value = env.get("DEPAUDIT_" + key.upper().replace("-", "_"))
        if env_value is not None and env_value != "":
            value = env_value
        if cli_value is not None and cli_value != [] and cli_value != ():
            value = cli_value
        merged[key] = value
    return merged

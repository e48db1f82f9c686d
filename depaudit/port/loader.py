"""Load the user's model: `path/to/file.py:callable` or `package.module:callable`, then a checkpoint.

The callable is an `nn.Module` instance, an `nn.Module` subclass built without arguments, or a function
taking no arguments that returns an `nn.Module`. Every failure is an InputError naming the file.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import nn

from depaudit.errors import InputError


def load_model(spec: str, checkpoint: Path | None = None) -> tuple[nn.Module, str]:
    """The model in eval mode and the file it was defined in. Raises InputError."""
    target, _, attr = spec.rpartition(":")
    module, where = _import(target)
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise InputError(where, f"has no attribute {attr!r}")
        obj = getattr(obj, part)
    model = _instantiate(obj, where, attr)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint)
    return model.eval(), where


def _import(target: str) -> tuple[ModuleType, str]:
    if target.endswith(".py") or "/" in target or "\\" in target:
        path = Path(target)
        if not path.is_file():
            raise InputError(path, "no such model file")
        name = path.stem
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise InputError(path, "cannot be imported as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(path.resolve().parent))  # the model's own sibling imports
        sys.modules[name] = module
        loader = spec.loader
        _exec(lambda: loader.exec_module(module), str(path))
        return module, str(path)
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # as `python -m` would, so project packages import
    holder: list[ModuleType] = []
    _exec(lambda: holder.append(importlib.import_module(target)), target)
    return holder[0], getattr(holder[0], "__file__", None) or target


def _exec(action: Callable[[], object], where: str) -> None:
    try:
        action()
    except ModuleNotFoundError as exc:
        raise InputError(where, f"import failed: {exc}") from exc
    except SyntaxError as exc:
        raise InputError(exc.filename or where, f"syntax error: {exc.msg}", exc.lineno) from exc
    except Exception as exc:  # the user's module raised while importing
        raise InputError(where, f"import failed: {type(exc).__name__}: {exc}") from exc


def _instantiate(obj: Any, where: str, attr: str) -> nn.Module:
    if isinstance(obj, nn.Module):
        return obj
    if not callable(obj):
        raise InputError(where, f"{attr} is neither an nn.Module nor callable")
    try:
        built = obj()
    except TypeError as exc:
        raise InputError(where, f"{attr}() needs arguments ({exc}); give a callable that builds the model") from exc
    except Exception as exc:
        raise InputError(where, f"{attr}() failed: {type(exc).__name__}: {exc}") from exc
    if not isinstance(built, nn.Module):
        raise InputError(where, f"{attr}() returned {type(built).__name__}, not an nn.Module")
    return built


def load_checkpoint(model: nn.Module, path: Path) -> None:
    """Load a state_dict (weights_only, so no code in the file runs). Raises InputError."""
    if not Path(path).is_file():
        raise InputError(path, "no such checkpoint file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InputError(path, f"not a loadable state_dict ({type(exc).__name__}: {str(exc).splitlines()[0]})") from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise InputError(path, f"holds a {type(state).__name__}, not a state_dict")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise InputError(path, f"does not fit the model: {str(exc).splitlines()[0]} {_first_key_problem(exc)}") from exc


def _first_key_problem(exc: RuntimeError) -> str:
    lines = [line.strip() for line in str(exc).splitlines()[1:] if line.strip()]
    return lines[0][:200] if lines else ""

"""Model entry points `depaudit fix --to onnxruntime` can see, and the `depaudit port` command for each.

Only files that import torch at run time (found by `find_torch_imports`) are read. An entry point is a
module-level `nn.Module` subclass whose `__init__` needs no arguments (port builds it without any), or a
module-level function whose name says it builds a model (`build_model`, `load_model`, `create_model`,
`get_model`, `make_model`) and takes no required arguments. Input names come from `forward`'s
parameters; the shapes are for the user to fill in.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from depaudit import fileio
from depaudit.errors import InputError

_BUILDERS = {"build_model", "load_model", "create_model", "get_model", "make_model"}
_MODULE_BASES = {"Module", "nn.Module", "torch.nn.Module"}


@dataclass(frozen=True)
class ModelEntry:
    """One model `depaudit port` can load: `path:name`, its line, and forward's input names."""

    path: str
    line: int
    name: str
    inputs: tuple[str, ...]

    @property
    def port_command(self) -> str:
        """The command to run, with SHAPE placeholders for each input."""
        inputs = " ".join(f"--input {n}=SHAPE" for n in self.inputs) or "--input x=SHAPE"
        return f"depaudit port {self.path}:{self.name} {inputs} --out port-out/{self.name.lower()}"


def find_model_entries(project_dir: Path, files: list[str]) -> list[ModelEntry]:
    """Entry points in `files` (paths relative to `project_dir`), sorted by path and line."""
    entries: list[ModelEntry] = []
    for rel in sorted(set(files)):
        try:  # the bounded reader: a checkout's file, inside the project, regular, not too large
            tree = ast.parse(fileio.read_bytes(Path(project_dir) / rel, "Python file"), filename=rel)
        except (SyntaxError, ValueError, InputError):
            continue
        modules = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef) and _is_module(n)}
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name in modules and _no_required_args(_method(node, "__init__")):
                entries.append(ModelEntry(rel, node.lineno, node.name, _forward_inputs(node)))
            elif isinstance(node, ast.FunctionDef) and node.name in _BUILDERS and _no_required_args(node, bound=False):
                entries.append(ModelEntry(rel, node.lineno, node.name, ()))
    return sorted(entries, key=lambda e: (e.path, e.line))


def _is_module(node: ast.ClassDef) -> bool:
    return any(ast.unparse(base) in _MODULE_BASES for base in node.bases)


def _method(node: ast.ClassDef, name: str) -> ast.FunctionDef | None:
    return next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == name), None)


def _no_required_args(func: ast.FunctionDef | None, bound: bool = True) -> bool:
    if func is None:
        return True
    args = func.args
    positional = args.posonlyargs + args.args
    required = len(positional) - len(args.defaults) - (1 if bound else 0)
    kw_required = sum(d is None for d in args.kw_defaults)
    return required <= 0 and kw_required == 0


def _forward_inputs(node: ast.ClassDef) -> tuple[str, ...]:
    forward = _method(node, "forward")
    if forward is None:
        return ()
    return tuple(a.arg for a in (forward.args.posonlyargs + forward.args.args)[1:])

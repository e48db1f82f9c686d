"""What `depaudit port` is asked to do, parsed from the command line (torch-free).

`--input NAME=SHAPE[:DTYPE[:LOW..HIGH]]` names one positional input of the model's `forward`, in
order: `image=1x3x128x160`, `tokens=1x16:int64:0..1000`. `--dynamic NAME:AXIS[=DIM]` makes one axis
of one input dynamic in the exported graph (`image:2=height`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from depaudit.errors import UsageError

FLOAT_DTYPES = ("float32", "float64", "float16")
INT_DTYPES = ("int64", "int32", "uint8", "bool")
DEFAULT_OPSET = 18  # what torch 2.13's dynamo exporter targets by default (TORCHLIB_OPSET)
DEFAULT_MIN_PSNR = 100.0
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class InputSpec:
    """One model input: its name, example shape, dtype and (for integer inputs) the value range [low, high)."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"
    low: int = 0
    high: int = 2

    @property
    def is_float(self) -> bool:
        """True for floating-point inputs (the ones the generated cases vary in value)."""
        return self.dtype in FLOAT_DTYPES


@dataclass(frozen=True)
class DynamicAxis:
    """One axis of one input left dynamic in the exported graph, and the name it gets there."""

    input: str
    axis: int
    dim: str


@dataclass(frozen=True)
class PortRequest:
    """Everything `run_port` needs. `model` is a spec string (`file.py:callable`, `pkg.mod:callable`)."""

    model: str
    inputs: tuple[InputSpec, ...]
    out: Path
    checkpoint: Path | None = None
    opset: int = DEFAULT_OPSET
    dynamic: tuple[DynamicAxis, ...] = ()
    min_psnr: float = DEFAULT_MIN_PSNR
    output_names: tuple[str, ...] = ()
    name: str | None = None  # model name used in file names; default: the callable's name
    extra: dict[str, object] = field(default_factory=dict, compare=False)


def parse_input(text: str) -> InputSpec:
    """Parse `NAME=SHAPE[:DTYPE[:LOW..HIGH]]`. Raises UsageError naming the bad part."""
    name, eq, rest = text.partition("=")
    name = name.strip()
    if not eq or not _NAME.match(name):
        raise UsageError(f"--input {text!r}: expected NAME=SHAPE[:DTYPE], e.g. image=1x3x224x224")
    parts = rest.split(":")
    shape = _parse_shape(text, parts[0])
    dtype = parts[1].strip().lower() if len(parts) > 1 and parts[1].strip() else "float32"
    if dtype not in FLOAT_DTYPES + INT_DTYPES:
        raise UsageError(f"--input {text!r}: dtype {dtype!r} is not one of {', '.join(FLOAT_DTYPES + INT_DTYPES)}")
    low, high = (0, 2) if dtype == "bool" else (0, 10)
    if len(parts) > 2:
        low, high = _parse_range(text, parts[2], dtype)
    if len(parts) > 3:
        raise UsageError(f"--input {text!r}: too many ':' parts")
    return InputSpec(name, shape, dtype, low, high)


def _parse_shape(text: str, raw: str) -> tuple[int, ...]:
    dims = [d.strip() for d in re.split(r"[x,]", raw.strip()) if d.strip()]
    if not dims or not all(d.isdigit() and int(d) > 0 for d in dims):
        raise UsageError(f"--input {text!r}: SHAPE must be positive integers joined by 'x', e.g. 1x3x224x224")
    return tuple(int(d) for d in dims)


def _parse_range(text: str, raw: str, dtype: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*", raw)
    if dtype in FLOAT_DTYPES or not match or int(match.group(1)) >= int(match.group(2)):
        raise UsageError(f"--input {text!r}: a value range LOW..HIGH (LOW < HIGH) applies to integer inputs only")
    return int(match.group(1)), int(match.group(2))


def parse_dynamic(text: str, inputs: tuple[InputSpec, ...]) -> DynamicAxis:
    """Parse `NAME:AXIS[=DIM]` against the declared inputs. Raises UsageError."""
    target, _, dim = text.partition("=")
    name, colon, axis_text = target.partition(":")
    spec = next((i for i in inputs if i.name == name.strip()), None)
    if not colon or spec is None:
        known = ", ".join(i.name for i in inputs) or "none declared"
        raise UsageError(f"--dynamic {text!r}: expected NAME:AXIS with NAME one of the --input names ({known})")
    try:
        axis = int(axis_text)
    except ValueError:
        raise UsageError(f"--dynamic {text!r}: AXIS must be an integer") from None
    rank = len(spec.shape)
    if not -rank <= axis < rank:
        raise UsageError(f"--dynamic {text!r}: input {spec.name} has {rank} axes")
    axis %= rank
    dim = dim.strip() or f"{spec.name}_{axis}"
    if not _NAME.match(dim):
        raise UsageError(f"--dynamic {text!r}: DIM must be an identifier")
    return DynamicAxis(spec.name, axis, dim)


def build_request(model: str, inputs: list[str], dynamic: list[str], out: Path, **options: object) -> PortRequest:
    """A PortRequest from command-line strings; raises UsageError on any malformed part."""
    specs = tuple(parse_input(i) for i in inputs)
    if not specs:
        raise UsageError("port needs at least one --input NAME=SHAPE (the example inputs to export with)")
    if len({s.name for s in specs}) != len(specs):
        raise UsageError("--input names must be unique")
    axes = tuple(parse_dynamic(d, specs) for d in dynamic)
    if len({(a.input, a.axis) for a in axes}) != len(axes):
        raise UsageError("--dynamic: the same axis is named twice")
    if ":" not in model or not model.rpartition(":")[2].strip():
        raise UsageError(f"MODEL {model!r}: expected path/to/file.py:callable or package.module:callable")
    return PortRequest(model=model, inputs=specs, dynamic=axes, out=out, **options)  # type: ignore[arg-type]

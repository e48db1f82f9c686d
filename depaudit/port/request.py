"""What `depaudit port` is asked to do, parsed from the command line (torch-free).

`--input NAME=SHAPE[:DTYPE[:LOW..HIGH]]` names one positional input of the model's `forward`, in
order: `image=1x3x128x160`, `tokens=1x16:int64:0..1000`, `audio=1x16000:float32:-1..1`. A range on an
integer input is where its values are drawn ([LOW, HIGH)); on a float input it is the values the model
expects, and every generated case stays inside it.

`--dynamic NAME:AXIS[=DIM][:MIN..MAX]` makes one axis of one input dynamic in the exported graph:
`image:0` (the dimension is called `image_0`), `image:0=batch`, `image:0=batch:1..64`, `image:0=1..64`.
The same DIM on several axes ties them: they are one size. `NAME:AXIS=K*DIM+C` ties an axis to K times
DIM plus C (`f0:2=2*frames`, `x:1=frames+1`); DIM must be a plain axis of some input, and the range
goes on that axis. Either end of a range may be left open (`2..`, `..512`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from depaudit.errors import UsageError

FLOAT_DTYPES = ("float32", "float64", "float16")
INT_DTYPES = ("int64", "int32", "uint8", "bool")
DEFAULT_OPSET = 18  # what torch 2.13's dynamo exporter targets by default (TORCHLIB_OPSET)
DEFAULT_MIN_PSNR = 100.0  # ONNX Runtime this close to torch float32 passes without a float64 reference
PRECISION_MARGIN_DB = 6.0  # ONNX Runtime may be this much further from float64 than torch float32 is (2x the error)
FLOAT64_FLOOR_DB = 90.0  # this close to float64 (RMS error 3e-5 of the output's scale) is float32-accurate anyway
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RANGE = re.compile(r"^\s*(-?\d+(?:\.\d*)?(?:e-?\d+)?)?\s*\.\.\s*(-?\d+(?:\.\d*)?(?:e-?\d+)?)?\s*$")
_TIE = re.compile(r"^(?:(\d+)\s*\*\s*)?([A-Za-z_]\w*)(?:\s*\*\s*(\d+))?(?:\s*([+-])\s*(\d+))?$")


@dataclass(frozen=True)
class InputSpec:
    """One model input: its name, example shape, dtype, the value range [low, high) of an integer
    input, and the declared value range of a float input (None: the generated patterns, extremes included)."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"
    low: int = 0
    high: int = 2
    float_range: tuple[float, float] | None = None

    @property
    def is_float(self) -> bool:
        """True for floating-point inputs (the ones the generated cases vary in value)."""
        return self.dtype in FLOAT_DTYPES


@dataclass(frozen=True)
class DynamicAxis:
    """One axis of one input left dynamic in the exported graph. Its size is `scale * DIM + offset`
    (1 and 0 for a plain axis, which names DIM); `low`/`high` bound DIM (None: open)."""

    input: str
    axis: int
    dim: str
    scale: int = 1
    offset: int = 0
    low: int | None = None
    high: int | None = None

    @property
    def is_root(self) -> bool:
        """True for a plain axis: its size is DIM itself."""
        return self.scale == 1 and self.offset == 0

    def size(self, dim_size: int) -> int:
        """This axis's size when DIM is `dim_size`."""
        return self.scale * dim_size + self.offset

    @property
    def label(self) -> str:
        """How the command line wrote it, e.g. `f0:2=2*frames`."""
        if self.is_root:
            return f"{self.input}:{self.axis}={self.dim}"
        scale = f"{self.scale}*" if self.scale != 1 else ""
        offset = f"{self.offset:+d}" if self.offset else ""
        return f"{self.input}:{self.axis}={scale}{self.dim}{offset}"


@dataclass(frozen=True)
class DimSpec:
    """One dynamic dimension: its size in the user's example and its allowed range."""

    name: str
    example: int
    low: int | None = None
    high: int | None = None

    def allows(self, size: int) -> bool:
        """True when `size` is inside the range (and at least 1)."""
        return size >= max(self.low or 1, 1) and (self.high is None or size <= self.high)


@dataclass(frozen=True)
class PortRequest:
    """Everything `run_port` needs. `model` is a spec string (`file.py:callable`, `pkg.mod:callable`).
    `min_psnr` None: ONNX Runtime is judged against float64 relative to torch float32's own distance;
    a number: every output must be within that many dB of torch float32 (an absolute bar)."""

    model: str
    inputs: tuple[InputSpec, ...]
    out: Path
    checkpoint: Path | None = None
    opset: int = DEFAULT_OPSET
    dynamic: tuple[DynamicAxis, ...] = ()
    min_psnr: float | None = None
    output_names: tuple[str, ...] = ()
    name: str | None = None  # model name used in file names; default: the callable's name
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def dims(self) -> dict[str, DimSpec]:
        """Each dynamic dimension by name (checked consistent by build_request)."""
        return dynamic_dims(self.inputs, self.dynamic)

    @property
    def absolute_bar(self) -> float:
        """The PSNR against torch float32 that passes a case outright."""
        return DEFAULT_MIN_PSNR if self.min_psnr is None else self.min_psnr


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
    if len(parts) > 3:
        raise UsageError(f"--input {text!r}: too many ':' parts")
    if dtype in FLOAT_DTYPES:
        span = _parse_float_range(text, parts[2]) if len(parts) > 2 else None
        return InputSpec(name, shape, dtype, float_range=span)
    low, high = (0, 2) if dtype == "bool" else (0, 10)
    if len(parts) > 2:
        low, high = _parse_int_range(text, parts[2])
    return InputSpec(name, shape, dtype, low, high)


def _parse_shape(text: str, raw: str) -> tuple[int, ...]:
    dims = [d.strip() for d in re.split(r"[x,]", raw.strip()) if d.strip()]
    if not dims or not all(d.isdigit() and int(d) > 0 for d in dims):
        raise UsageError(f"--input {text!r}: SHAPE must be positive integers joined by 'x', e.g. 1x3x224x224")
    return tuple(int(d) for d in dims)


def _parse_int_range(text: str, raw: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*", raw)
    if not match or int(match.group(1)) >= int(match.group(2)):
        raise UsageError(f"--input {text!r}: an integer input's range is LOW..HIGH with LOW < HIGH, e.g. 0..1000")
    return int(match.group(1)), int(match.group(2))


def _parse_float_range(text: str, raw: str) -> tuple[float, float]:
    match = _RANGE.match(raw)
    if not match or match.group(1) is None or match.group(2) is None or float(match.group(1)) >= float(match.group(2)):
        raise UsageError(f"--input {text!r}: a float input's range is LOW..HIGH with LOW < HIGH, e.g. -1..1")
    return float(match.group(1)), float(match.group(2))


def parse_dynamic(text: str, inputs: tuple[InputSpec, ...]) -> DynamicAxis:
    """Parse `NAME:AXIS[=DIM|=K*DIM+C][:MIN..MAX]` against the declared inputs. Raises UsageError."""
    target, _, rhs = text.partition("=")
    name, colon, rest = target.partition(":")
    axis_text, _, bare_range = rest.partition(":")  # `image:0:1..64` reads like `image:0=1..64`
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
    expr, range_text = _split_range(rhs.strip() if rhs else bare_range.strip())
    low, high = _parse_dim_range(text, range_text)
    if not expr:
        return DynamicAxis(spec.name, axis, f"{spec.name}_{axis}", low=low, high=high)
    match = _TIE.match(expr)
    if not match or (match.group(1) and match.group(3)):
        raise UsageError(
            f"--dynamic {text!r}: DIM must be a name, or K*NAME+C to tie this axis to another (e.g. 2*frames)"
        )
    scale = int(match.group(1) or match.group(3) or 1)
    offset = int(match.group(5) or 0) * (-1 if match.group(4) == "-" else 1)
    if scale < 1:
        raise UsageError(f"--dynamic {text!r}: K in K*NAME must be at least 1")
    axis_spec = DynamicAxis(spec.name, axis, match.group(2), scale, offset, low, high)
    if not axis_spec.is_root and range_text:
        raise UsageError(f"--dynamic {text!r}: a tied axis takes its range from {match.group(2)}; put MIN..MAX there")
    return axis_spec


def _split_range(rhs: str) -> tuple[str, str]:
    """(expression, range text) of the part after '='."""
    if _RANGE.match(rhs):
        return "", rhs
    expr, _, range_text = rhs.partition(":")
    return expr.strip(), range_text.strip()


def _parse_dim_range(text: str, raw: str) -> tuple[int | None, int | None]:
    if not raw:
        return None, None
    match = re.fullmatch(r"\s*(\d+)?\s*\.\.\s*(\d+)?\s*", raw)
    if not match or (match.group(1) is None and match.group(2) is None):
        raise UsageError(f"--dynamic {text!r}: a range is MIN..MAX of whole sizes, either end open (e.g. 1..64, 2..)")
    low = int(match.group(1)) if match.group(1) else None
    high = int(match.group(2)) if match.group(2) else None
    if (high is not None and high < 2) or (low is not None and high is not None and high <= low):
        raise UsageError(f"--dynamic {text!r}: the range must allow at least two sizes, the largest at least 2")
    return low, high


def dynamic_dims(inputs: tuple[InputSpec, ...], axes: tuple[DynamicAxis, ...]) -> dict[str, DimSpec]:
    """Each dimension named by a plain axis, with its example size and range. Raises UsageError when
    the axes disagree: two example sizes for one dimension, two ranges, a tie to an unknown dimension,
    a tied axis whose example size is not K*DIM+C, or an example outside its range."""
    shapes = {s.name: s.shape for s in inputs}
    dims: dict[str, DimSpec] = {}
    for axis in (a for a in axes if a.is_root):
        size = shapes[axis.input][axis.axis]
        seen = dims.get(axis.dim)
        if seen is not None and seen.example != size:
            raise UsageError(
                f"--dynamic {axis.label}: {axis.dim} is {seen.example} on another axis but {size} here in the example"
            )
        if (
            seen is not None
            and (axis.low, axis.high) != (None, None)
            and (seen.low, seen.high)
            not in (
                (None, None),
                (axis.low, axis.high),
            )
        ):
            raise UsageError(f"--dynamic {axis.label}: {axis.dim} has two different ranges")
        if seen is None or (axis.low, axis.high) != (None, None):
            dims[axis.dim] = DimSpec(axis.dim, size, axis.low, axis.high)
    for dim in dims.values():
        if not dim.allows(dim.example):
            raise UsageError(f"--dynamic: the example's {dim.name} ({dim.example}) is outside its range")
    _check_ties(shapes, axes, dims)
    return dims


def _check_ties(shapes: dict[str, tuple[int, ...]], axes: tuple[DynamicAxis, ...], dims: dict[str, DimSpec]) -> None:
    """Raise UsageError for a tied axis whose dimension is unknown or whose example size is not K*DIM+C."""
    for axis in (a for a in axes if not a.is_root):
        root = dims.get(axis.dim)
        if root is None:
            raise UsageError(
                f"--dynamic {axis.label}: {axis.dim} is not a dynamic axis of any input; declare it too "
                f"(e.g. --dynamic INPUT:AXIS={axis.dim})"
            )
        if axis.size(root.example) != shapes[axis.input][axis.axis]:
            raise UsageError(
                f"--dynamic {axis.label}: the example has {shapes[axis.input][axis.axis]} there, "
                f"not {axis.size(root.example)} ({axis.scale}*{root.example}{axis.offset:+d})"
            )


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
    dynamic_dims(specs, axes)
    if ":" not in model or not model.rpartition(":")[2].strip():
        raise UsageError(f"MODEL {model!r}: expected path/to/file.py:callable or package.module:callable")
    return PortRequest(model=model, inputs=specs, dynamic=axes, out=out, **options)  # type: ignore[arg-type]

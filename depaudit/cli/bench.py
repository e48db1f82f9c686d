"""`depaudit bench`: the GMNet reference service's image benchmark is not part of depaudit. It lives in a
clone of the repository (`python -m reference_service.bench`); there, where an editable install puts the
repository root on sys.path, this command runs it with its arguments unread. Elsewhere it says where the
bench lives and exits 4 (an external component is missing). `gate --bench-report` reads its reports
either way (depaudit.gate)."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

from depaudit.cli.app import app
from depaudit.cli.params import Given, argument, register
from depaudit.errors import ToolError

BENCH = "reference_service.bench"
WHERE = (
    "the GMNet service benchmark is not part of the depaudit package: it runs from a clone of the depaudit "
    f"repository, as python -m {BENCH}"
)


def bench_module(package: str = "reference_service") -> ModuleType | None:
    """The bench's command line when `package` sits beside depaudit's own package (a clone), else None.
    A `reference_service` found anywhere else on sys.path (the current folder under `python -m`) is never
    imported: a checkout does not get to run its code through depaudit."""
    spec = importlib.util.find_spec(package)  # finds without importing (a top-level name)
    if spec is None or spec.origin is None:
        return None
    clone = Path(__file__).resolve().parents[2]
    if Path(spec.origin).resolve().parent.parent != clone:
        return None
    return importlib.import_module(f"{package}.bench.cli")


def bench(given: Given) -> int:
    """Benchmark the GMNet reference service's image variants: from a clone of the depaudit repository, as
    python -m reference_service.bench (this command runs it there with the same arguments; elsewhere it
    exits 4)."""
    module = bench_module()
    if module is None:
        raise ToolError(f"python -m {BENCH}", what=WHERE)
    code: int = module.run(list(given.bench_args or ()), prog="depaudit bench")
    return code


register(
    app,
    "bench",
    (argument("bench_args", multiple=True, default=None, metavar="[ARGS]..."),),
    bench,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)

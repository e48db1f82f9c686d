"""What each speed special case in depaudit buys on a scan of the docling lock, measured side by side.

Every special case (code that is there for speed, not for behaviour) is measured with it (A, the code as
it ships) and without it (B, the plain way), on the same input in one run, A and B interleaved (ABBA
order), several repeats, medians. The gain is the median of the paired differences B - A; a case whose
gain is under 1 ms of CPU time on the docling scan is not worth its lines (docs/performance.md).

How a case is measured (the `how` column of the report):
- `process`: the real `depaudit scan` of tests/fixtures/locks/docling/uv.lock in a child process
  (`--offline --format json`, an empty size cache), end to end, start-up and exit included. B runs the
  same command with the special case switched off before the CLI starts (an environment variable, or a
  few lines given to `python -c` that replace one function or module).
- `in-process`: the same scan, run in this process by `depaudit.cli.main` with every memo emptied first
  (as in a new process), A and B toggled by replacing one function, method or module attribute. It
  leaves start-up aside.
- `import`: a child process runs the scan, then imports what the special case defers; the time of that
  import is what a scan would pay without it (A pays nothing).
- `replay`: every call a docling scan makes to the function that holds the special case is recorded
  (arguments in order, from an in-process scan), then replayed on the function as it ships (A, a memo
  starting empty) and on the plain way (B); both must return the same values. A whole scan varies by
  a few milliseconds from run to run on a busy machine; a replay measures sub-millisecond differences.
- `micro`: the two code paths timed on one piece of work a scan does (or, for a bound on the worst
  case, on a large generated input).

Timings are CPU time (user + system; the child's for `process`, this process's otherwise), which moves
far less than wall time when other work shares the machine; wall time is recorded beside it. Every
report names the machine (from /proc/cpuinfo) and the load average before and after; when the 1-minute
load exceeds the CPU count the figures are provisional. B must print what A prints: the outputs of the
two sides are compared (column `same`: the report file, or the values a replay returns).

Usage:

    python benchmarks/special_cases.py [--runs 15] [--only ID[,ID...]] [--report reports/special_cases]

Regenerate the committed report with `python benchmarks/special_cases.py --report reports/special_cases`.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import importlib
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "depaudit" / "rules"
DOCLING = ROOT / "tests" / "fixtures" / "locks" / "docling"
LOCK = DOCLING / "uv.lock"
THRESHOLD_MS = 1.0
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "DEPAUDIT_FAST_PATH")}
ENV["NO_COLOR"] = "1"

Sample = tuple[float, float]  # (CPU seconds, wall seconds)


@dataclass
class Micro:
    """A's and B's code path over one pass of some work, what the work is, and whether both passes
    returned the same values (None: not compared)."""

    a: Callable[[], object]
    b: Callable[[], object]
    note: str
    same: bool | None = None


@dataclass
class Case:
    """One special case: an ID the docs cite, where it lives, how it is measured, and the two sides."""

    id: str
    where: str
    what: str
    how: str  # process, in-process, import, micro
    # process: the `python -c` prelude and environment of each side
    prelude_a: str = ""
    prelude_b: str = ""
    env_b: dict[str, str] = field(default_factory=dict)
    argv: tuple[str, ...] = ()  # process: another command than the docling scan
    # in-process: a context manager that switches the special case off
    toggle: Callable[[], contextlib.AbstractContextManager[None]] | None = None
    # import: the modules a scan would import without the special case
    modules: tuple[str, ...] = ()
    fresh_process: bool = False  # import: time the import in a new interpreter, not after a scan
    # replay and micro: builds the two code paths (from a recorded scan, for a replay)
    micro: Callable[[], Micro] | None = None
    pinned: str = ""  # why it stays whatever it measures (a test pins it)
    scaling: bool = False  # a bound on the worst case, measured on a large generated input, not docling
    kept_for: str = ""  # the scaling case that keeps it when the docling scan alone would not


# ------------------------------------------------------------------------------------------- the scan


def scan_argv(out: Path, cache: Path, lock: Path = LOCK, fmt: str = "json") -> list[str]:
    return ["scan", str(lock), "--offline", "--format", fmt, "--cache-dir", str(cache), "-o", str(out)]


def fresh_memos() -> None:
    """Empty every memo in depaudit's modules, as a new process starts with none; collect garbage."""
    for name, module in list(sys.modules.items()):
        if not name.startswith("depaudit") or module is None:
            continue
        for value in list(vars(module).values()):
            clear = getattr(value, "cache_clear", None)
            if callable(clear):
                clear()
        ranks = vars(module).get("_TAG_RANKS")
        if isinstance(ranks, dict):
            ranks.clear()
    gc.collect()


def scan_in_process(out: Path, cache: Path, lock: Path = LOCK, fmt: str = "json") -> None:
    from depaudit.cli import main

    fresh_memos()
    with contextlib.redirect_stderr(io.StringIO()), contextlib.suppress(SystemExit):
        main(scan_argv(out, cache, lock, fmt))


def timed(run: Callable[[], object]) -> Sample:
    cpu, wall = time.process_time(), time.perf_counter()
    run()
    return time.process_time() - cpu, time.perf_counter() - wall


def child_timed(cmd: list[str], env: dict[str, str]) -> Sample:
    """CPU (user + system of the child) and wall seconds of one command; exits when it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT, check=False)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr.decode(errors='replace')}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


# ----------------------------------------------------------------------------------- switching off


@contextlib.contextmanager
def replaced(owner: Any, name: str, value: Any) -> Iterator[None]:
    """`owner.name` is `value` inside the block."""
    old = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, old)


@contextlib.contextmanager
def replaced_everywhere(old: Any, new: Any) -> Iterator[None]:
    """Every depaudit module attribute that is `old` (a function imported by name, under any alias) is
    `new` inside the block."""
    swapped = [
        (module, attr)
        for name, module in list(sys.modules.items())
        if name.startswith("depaudit") and module is not None
        for attr, value in list(vars(module).items())
        if value is old
    ]
    for module, attr in swapped:
        setattr(module, attr, new)
    try:
        yield
    finally:
        for module, attr in swapped:
            setattr(module, attr, old)


def _toggle(
    module: str, attr: str, make: Callable[[Any], Any]
) -> Callable[[], contextlib.AbstractContextManager[None]]:
    """A toggle that sets `module.attr` (or `module.Class.attr` for `Class.attr`) to `make(module)`."""

    def toggle() -> contextlib.AbstractContextManager[None]:
        owner, name = _owner(module, attr)
        return replaced(owner, name, make(sys.modules[module]))

    return toggle


def _owner(module: str, attr: str) -> tuple[Any, str]:
    """(the module or class that holds `attr`, the attribute's own name)."""
    owner_name, _, name = attr.rpartition(".")
    mod = importlib.import_module(module)
    return (getattr(mod, owner_name) if owner_name else mod), name


def general() -> contextlib.AbstractContextManager[None]:
    """The lock is read by the general reader: no wheel lines lifted out before the TOML parser."""
    return _toggle("depaudit.sources.uvlock", "_parse_lifted", lambda mod: lambda text, path: None)()


# ---------------------------------------------------------------------------------------- replays

Call = tuple[tuple[Any, ...], dict[str, Any]]
Make = Callable[[Callable[..., Any], list[Call]], Callable[..., Any]]


def recorded(module: str, attr: str, unlifted: bool = False, shape: str | None = None, fmt: str = "json") -> list[Call]:
    """Every call of `module.attr` (a function, or `Class.method`) during one in-process scan of the
    docling lock (or of a generated lock of `shape`, see `FORKS`) in format `fmt`, calls from inside
    depaudit's own modules included, in order."""
    owner, name = _owner(module, attr)
    original = getattr(owner, name)
    calls: list[Call] = []

    def recording(*args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        return original(*args, **kwargs)

    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        if unlifted:
            stack.enter_context(general())
        if owner is sys.modules[module]:
            stack.enter_context(replaced_everywhere(original, recording))
        else:
            stack.enter_context(replaced(owner, name, recording))
        (Path(tmp) / "cache").mkdir()
        lock = LOCK if shape is None else generated(shape, Path(tmp))
        scan_in_process(Path(tmp) / "out.json", Path(tmp) / "cache", lock, fmt)
    return calls


FORKS = 5000  # packages of the generated `forks` lock: one name in 5,000 versions, each with its own marker


def generated(shape: str, folder: Path) -> Path:
    """A lock of benchmarks/lockshapes.py's `shape` with FORKS packages, written in `folder`."""
    script = ROOT / "benchmarks" / "lockshapes.py"
    subprocess.run([sys.executable, str(script), shape, str(FORKS), str(folder)], check=True, capture_output=True)
    return folder / "uv.lock"


def replay(
    module: str,
    attr: str,
    make_a: Make,
    make_b: Make,
    unlifted: bool = False,
    shape: str | None = None,
    fmt: str = "json",
) -> Callable[[], Micro]:
    """A micro-benchmark that replays a scan's calls of `module.attr` on `make_a(f, calls)` and on
    `make_b(f, calls)`, each made anew for every pass (a memo starts empty, as in a new process)."""

    def build() -> Micro:
        calls = recorded(module, attr, unlifted, shape, fmt)
        owner, name = _owner(module, attr)
        shipped = getattr(owner, name)

        def one_pass(make: Make) -> Callable[[], list[Any]]:
            def run() -> list[Any]:
                impl = make(shipped, calls)
                return [impl(*args, **kwargs) for args, kwargs in calls]

            return run

        a, b = one_pass(make_a), one_pass(make_b)
        where = "" if shape is None else f" in a scan of a generated `{shape}` lock of {FORKS:,} packages"
        where += "" if fmt == "json" else f" (`--format {fmt}`)"
        return Micro(a, b, f"{len(calls):,} calls of `{attr}`{where}", _same(a(), b()))

    return build


def _same(a: list[Any], b: list[Any]) -> bool | None:
    """Whether two passes returned the same values (None when they are functions: compiled markers)."""
    if any(callable(x) for x in a):
        return None
    return a == b


def replays(*builders: Callable[[], Micro]) -> Callable[[], Micro]:
    """Several replays as one case: a pass is a pass of each."""

    def build() -> Micro:
        micros = [b() for b in builders]
        same = None if any(m.same is None for m in micros) else all(m.same for m in micros)
        return Micro(
            lambda: [m.a() for m in micros], lambda: [m.b() for m in micros], "; ".join(m.note for m in micros), same
        )

    return build


def memo(f: Any, calls: list[Call]) -> Callable[..., Any]:
    """The function as it ships, with its memo empty."""
    return functools.lru_cache(**f.cache_parameters())(f.__wrapped__)


def bare(f: Any, calls: list[Call]) -> Callable[..., Any]:
    """The function without its memo."""
    return f.__wrapped__  # type: ignore[no-any-return]


def shipped(f: Any, calls: list[Call]) -> Callable[..., Any]:
    return f  # type: ignore[no-any-return]


def plain(function: Callable[..., Any]) -> Make:
    """B is `function`."""
    return lambda f, calls: function


def with_globals(f: Any, **names: Any) -> Callable[..., Any]:
    """`f`'s code with some of its module's names replaced."""
    return types.FunctionType(f.__code__, {**f.__globals__, **names}, f.__name__, f.__defaults__, f.__closure__)


# The plain ways (B): what the code would say without the special case.


@functools.lru_cache(maxsize=65536)
def _plain_wheel_tags_raw(filename: str) -> tuple[str, ...]:
    if filename.count("-") < 4:
        return ()
    _, py, abi, plat = filename[:-4].rsplit("-", 3)
    return tuple(f"{p}-{a}-{q}" for p in py.split(".") for a in abi.split(".") for q in plat.split("."))


def _one_tag_memo(f: Any, calls: list[Call]) -> Callable[..., Any]:
    return functools.lru_cache(maxsize=65536)(f.__wrapped__)


def _general_memo(f: Any, calls: list[Call]) -> Callable[..., Any]:
    return functools.lru_cache(maxsize=65536)(_plain_wheel_tags_raw.__wrapped__)


def _facts_kept(f: Any, calls: list[Call]) -> Callable[..., Any]:
    for args, _ in calls:  # a new process: no lock holds its facts yet
        args[0].__dict__.pop("_name_facts", None)
    return f  # type: ignore[no-any-return]


def _facts_each_time(f: Any, calls: list[Call]) -> Callable[..., Any]:
    mod = sys.modules["depaudit.analysis.install_set"]

    def name_facts(lock: Any) -> tuple[list[Any], list[bool]]:
        return (
            [mod.name_label(p.name, p.version) for p in lock.packages],
            [mod.is_cuda_runtime(p.name) for p in lock.packages],
        )

    return name_facts


def _evaluators(method: Callable[..., bool | None]) -> Make:
    """Replays MarkerEvaluator calls on a new evaluator per recorded one (for each pass), through `method`."""

    def make(f: Any, calls: list[Call]) -> Callable[..., Any]:
        cls = sys.modules["depaudit.analysis.markers"].MarkerEvaluator
        fresh: dict[int, Any] = {}

        def call(self: Any, marker: str | None, extras: frozenset[str] = frozenset()) -> bool | None:
            evaluator = fresh.get(id(self))
            if evaluator is None:
                evaluator = fresh[id(self)] = cls(self._env, self._unknowable)
            return method(evaluator, marker, extras)

        return call

    return make


def _answers_each_time(self: Any, marker: str | None, extras: frozenset[str] = frozenset()) -> bool | None:
    if not marker:
        return True
    active = extras if ("extra" in marker or "dependency_groups" in marker) else frozenset()
    return self._evaluate(marker, active)


def _evaluator_as_shipped(self: Any, marker: str | None, extras: frozenset[str] = frozenset()) -> bool | None:
    return sys.modules["depaudit.analysis.markers"].MarkerEvaluator.decide(self, marker, extras)


def _char_loop(f: Any, calls: list[Call]) -> Callable[..., Any]:
    return with_globals(f, _UNSAFE_CHARACTER=_CharLoop())


def _urlsplit_basename(url: str) -> str:
    from urllib.parse import unquote, urlsplit

    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


class _CharLoop:
    """The URL check without the regex: a generator over every character."""

    @staticmethod
    def search(url: str) -> bool | None:
        return any(ch <= " " or ch == "\x7f" for ch in url) or None


# ------------------------------------------------------------------------------------------- micro


def _pragma_pretest() -> Micro:
    import depaudit.rules.pragmas as pragmas

    texts = [args[0] for args, _ in recorded("depaudit.rules.pragmas", "parse_pragmas")]
    mention = pragmas._MENTION

    def with_pretest() -> object:
        return [("depaudit" not in t.lower() or mention.search(t) is None) for t in texts]

    def regex_only() -> object:
        return [mention.search(t) is None for t in texts]

    note = f"the {len(texts)} texts a scan hands it, {sum(map(len, texts)):,} characters"
    return Micro(with_pretest, regex_only, note, with_pretest() == regex_only())


def _forward_lines(count: int) -> Micro:
    """Line numbers of `count` dependencies of a generated pyproject.toml: searched forward from the
    previous hit, and each from the top (what `line_of` alone does)."""
    from depaudit.sources.pyproject import _ForwardLines, line_of

    items = [f"package-{i}>=1.{i}" for i in range(count)]
    text = '[project]\nname = "big"\ndependencies = [\n' + "".join(f'  "{item}",\n' for item in items) + "]\n"

    def forward() -> object:
        lines = _ForwardLines(text)
        return [lines.find(f'"{item}"', f"'{item}'") for item in items]

    def from_the_top() -> object:
        return [line_of(text, f'"{item}"') or line_of(text, f"'{item}'") for item in items]

    note = f"a generated pyproject.toml with {count:,} dependencies (the docling one has 2)"
    return Micro(forward, from_the_top, note, forward() == from_the_top())


def _namedtuples() -> Micro:
    """Build every Source, Wheel, Dependency and InstalledPackage a docling scan builds, from the same
    values, as the model's NamedTuples and as frozen dataclasses with the same fields and defaults, the
    four classes made too (once per process, at import: a dataclass generates and compiles its methods)."""
    import dataclasses
    from collections import namedtuple

    from depaudit import model
    from depaudit.scan import scan_lock
    from depaudit.sources.lockread import all_edges
    from depaudit.sources.uvlock import load_lock

    lock = load_lock(LOCK)
    report = scan_lock(lock, offline=True)
    edges = [d for p in lock.packages for d in all_edges(p)]
    values = {
        model.Source: [tuple(p.source) for p in lock.packages] + [tuple(d.source) for d in edges if d.source],
        model.Wheel: [tuple(w) for p in lock.packages for w in p.wheels],
        model.Dependency: [tuple(d) for d in edges],
        model.InstalledPackage: [tuple(i) for t in report.targets for i in t.packages],
    }

    def as_namedtuples() -> object:
        made = {c: namedtuple(c.__name__, c._fields, defaults=tuple(c._field_defaults.values())) for c in values}
        return [[cls(*v) for v in values[c]] for c, cls in made.items()]

    def as_dataclasses() -> object:
        made = {c: dataclasses.make_dataclass(c.__name__, _fields_of(c), frozen=True) for c in values}
        return [[cls(*v) for v in values[c]] for c, cls in made.items()]

    records = _scan_records()

    def namedtuple_classes() -> object:
        return [namedtuple(c.__name__, c._fields, defaults=tuple(c._field_defaults.values())) for c in records]

    def dataclass_classes() -> object:
        return [dataclasses.make_dataclass(c.__name__, _fields_of(c), frozen=True) for c in records]

    counts = ", ".join(f"{len(v):,} {c.__name__}" for c, v in values.items())
    return Micro(
        lambda: (as_namedtuples(), namedtuple_classes()),
        lambda: (as_dataclasses(), dataclass_classes()),
        f"{counts} built, four classes made, and the {len(records)} other record classes a scan defines made",
    )


def _scan_records() -> list[Any]:
    """The NamedTuple classes of every depaudit module a scan has imported (the warm-up scan ran)."""
    per_entry = ("Source", "Wheel", "Dependency", "InstalledPackage")
    found = []
    for name, module in sorted(sys.modules.items()):
        if not name.startswith("depaudit.") or module is None:
            continue
        for value in vars(module).values():
            record = isinstance(value, type) and value.__bases__ == (tuple,) and hasattr(value, "_fields")
            if record and value.__module__ == name and value.__name__ not in per_entry:
                found.append(value)
    return found


def _fields_of(cls: Any) -> list[tuple[str, Any, Any]]:
    defaults = cls._field_defaults

    def spec(name: str) -> Any:
        if name not in defaults:
            return field()
        value = defaults[name]
        if value.__class__.__hash__ is None:  # a dataclass takes an unhashable default through a factory
            return field(default_factory=lambda: value)
        return field(default=value)

    return [(f, Any, spec(f)) for f in cls._fields]


# ------------------------------------------------------------------------------------------ the cases

_NEUTRAL = (  # the fast path as shipped, minus the two tweaks that ride on it (measured on their own)
    "import gc, sys, depaudit.cli as c\ngc.disable = lambda: None\nc._exit_now = lambda code: sys.exit(code)\n"
)
_PIN = "tests/cli/test_scan_fastpath.py"
_MARKERS = "depaudit.analysis.markers"
_READER = "depaudit.sources.lockread"
_INSTALL = "depaudit.analysis.install_set"

CASES: list[Case] = [
    # start-up and exit
    Case(
        "fast-path",
        "cli/__init__.py `_fast_command`, cli/params.py `parse_fast`",
        "a plain `depaudit scan` command line is read without typer and click (DEPAUDIT_FAST_PATH=0 is B)",
        "process",
        prelude_a=_NEUTRAL,
        prelude_b=_NEUTRAL,
        env_b={"DEPAUDIT_FAST_PATH": "0"},
    ),
    Case(
        "gc-off",
        "cli/__init__.py `main`",
        "the cyclic garbage collector is off during a fast-path scan",
        "process",
        prelude_b="import gc\ngc.disable = lambda: None\n",
    ),
    Case(
        "gc-off-in-process",
        "cli/__init__.py `main`",
        "the same, the scan alone (no start-up)",
        "in-process",
        toggle=lambda: replaced(gc, "disable", lambda: None),
    ),
    Case(
        "exit-now",
        "cli/__init__.py `_exit_now`",
        "the process ends with os._exit after exit functions and a flush, skipping interpreter teardown",
        "process",
        prelude_b="import sys, depaudit.cli as c\nc._exit_now = lambda code: sys.exit(code)\n",
    ),
    Case(
        "register-named-command",
        "cli/__init__.py `_register`",
        "any command but scan imports only its own command module (measured on `depaudit lint` of the "
        "docling project: scan never registers)",
        "process",
        prelude_b=(
            "import depaudit.cli as c\nclass _All(tuple):\n    def __contains__(self, item): return False\n"
            "c.COMMAND_MODULES = _All(c.COMMAND_MODULES)\n"
        ),
        argv=("lint", str(DOCLING.relative_to(ROOT))),
    ),
    # reading the lock and the pyproject
    Case(
        "rtoml",
        "sources/tomlparse.py",
        "rtoml (Rust) parses TOML; tomllib only when rtoml refuses a document",
        "process",
        prelude_b="import sys\nsys.modules['rtoml'] = None\n",
    ),
    Case(
        "rtoml-in-process",
        "sources/tomlparse.py",
        "the same, the scan alone (rtoml's import left out)",
        "in-process",
        toggle=_toggle("depaudit.sources.tomlparse", "rtoml", lambda mod: None),
    ),
    Case(
        "lifted-wheels",
        "sources/uvlock.py `_parse_lifted`",
        "uv's one-line wheel entries are read by one regex before the TOML parser sees the text",
        "in-process",
        toggle=general,
    ),
    Case(
        "reader-wheel-inline",
        "sources/lockread.py `LockReader.wheel`",
        "the usual wheel entry is checked inline before the general checks (replayed from a scan with "
        "`lifted-wheels` off: the path of a pylock.toml, or of a uv.lock not in uv's one-line form)",
        "replay",
        micro=replay(
            _READER, "LockReader.wheel", shipped, lambda f, calls: sys.modules[_READER].LockReader._wheel, True
        ),
    ),
    Case(
        "basename",
        "sources/lockread.py `basename`",
        "a wheel's file name is cut from its URL by str.split, not urlsplit (replayed as `reader-wheel-inline`)",
        "replay",
        micro=replay(_READER, "basename", shipped, plain(_urlsplit_basename), True),
    ),
    Case(
        "plain-requirements",
        "sources/pyproject.py `_plain_requirement`",
        "a requirement with only a name, extras and versions is read without `packaging`",
        "process",
        prelude_b="import depaudit.sources.pyproject as p\np._plain_requirement = lambda item: None\n",
    ),
    Case(
        "namedtuples",
        "model.py",
        "Source, Wheel, Dependency and InstalledPackage, and every other record class a scan defines, are NamedTuples",
        "micro",
        micro=lambda: _namedtuples(),
    ),
    Case(
        "canonical-name-memo",
        "names.py `canonical_name`",
        "name normalisation is memoised (lru_cache)",
        "replay",
        micro=replay("depaudit.names", "canonical_name", memo, bare),
    ),
    # install sets and markers
    Case(
        "own-pep508",
        "analysis/markers.py, versions.py",
        "markers and versions are evaluated by depaudit's own PEP 508/440 code, not `packaging`",
        "process",
        prelude_b=(
            "import functools, depaudit.analysis.markers as m\n"
            "m.compile_marker = functools.cache(m._packaging_marker)\n"
        ),
    ),
    Case(
        "own-pep508-in-process",
        "analysis/markers.py, versions.py",
        "the same, the scan alone (packaging's import left out: see `packaging-import`)",
        "in-process",
        toggle=_toggle(_MARKERS, "compile_marker", lambda m: functools.cache(m._packaging_marker)),
    ),
    Case(
        "marker-memo",
        "analysis/markers.py `compile_marker`",
        "each distinct marker is parsed once per process (functools.cache)",
        "replay",
        micro=replay(_MARKERS, "compile_marker", memo, bare),
        kept_for="marker-memo-forks",
    ),
    Case(
        "marker-answer-memo",
        "analysis/markers.py `MarkerEvaluator.decide`",
        "each (marker, active extras) answer is kept per target",
        "replay",
        micro=replay(
            _MARKERS, "MarkerEvaluator.decide", _evaluators(_evaluator_as_shipped), _evaluators(_answers_each_time)
        ),
    ),
    *(
        Case(
            f"{name.replace('_', '-')}-memo",
            f"versions.py `{name}`",
            f"`{name}` is memoised (lru_cache)",
            "replay",
            micro=replay("depaudit.versions", name, memo, bare),
            kept_for=f"{name.replace('_', '-')}-memo-forks",
        )
        for name in ("parse_version",)
    ),
    Case(
        "wheel-tags-memo",
        "model.py `wheel_tags`",
        "a wheel file name's expanded tags are memoised (lru_cache)",
        "replay",
        micro=replay("depaudit.model", "wheel_tags", memo, bare),
    ),
    Case(
        "wheel-tags-one-tag",
        "model.py `wheel_tags`",
        "a file name with one tag (most wheels) skips the expansion",
        "replay",
        micro=replay("depaudit.model", "wheel_tags", _one_tag_memo, _general_memo),
    ),
    Case(
        "name-facts-per-lock",
        "analysis/install_set.py `_name_facts`",
        "accelerator facts per package are worked out once per lock and kept on it",
        "replay",
        micro=replay(_INSTALL, "_name_facts", _facts_kept, _facts_each_time),
    ),
    Case(
        "url-check-regex",
        "analysis/host_policy.py `url_problem`",
        "spaces and control characters in a URL are found by one regex search, not a loop over characters",
        "replay",
        micro=replay("depaudit.analysis.host_policy", "url_problem", shipped, _char_loop),
    ),
    Case(
        "pragma-pretest",
        "rules/pragmas.py `parse_pragmas`",
        "a substring test before the case-insensitive regex that finds pragmas",
        "micro",
        micro=_pragma_pretest,
    ),
    # imports a scan does not make
    Case(
        "packaging-import",
        "analysis/markers.py, sources/requirements.py, sources/pyproject.py",
        "`packaging` is imported only for a marker or requirement the own readers leave to it",
        "import",
        modules=("packaging.requirements", "packaging.markers", "packaging.specifiers", "packaging.version"),
    ),
    Case(
        "rich-import",
        "render/ (scan_table, formats, diff, findings)",
        "rich is imported where a table is printed",
        "import",
        modules=("rich.console", "rich.table", "rich.text"),
        pinned=_PIN,
    ),
    Case(
        "httpx-import",
        "analysis/size_lookup.py",
        "httpx, asyncio and ssl are imported where a size is fetched",
        "import",
        modules=("httpx", "asyncio", "ssl"),
        pinned=_PIN,
    ),
    Case(
        "socket-import",
        "analysis/host_policy.py `resolve`",
        "socket is imported where a host is resolved",
        "import",
        modules=("socket",),
        pinned=_PIN,
    ),
    Case(
        "lazy-logging",
        "logs.py, cli/output.py",
        "the core logs through a stand-in that drops records until something imports logging",
        "import",
        modules=("logging",),
        pinned=_PIN,
    ),
    Case(
        "urandom-token",
        "sources/uvlock.py `_parse_lifted`",
        "the lifting token is os.urandom, not secrets",
        "import",
        modules=("secrets",),
        pinned=_PIN,
    ),
    Case(
        "requirements-import",
        "rules/subjects.py",
        "the requirements parser is named for annotations only",
        "import",
        modules=("depaudit.sources.requirements",),
        pinned=_PIN,
    ),
    Case(
        "dataclasses-import",
        "rules/base.py `load_rules`, the scan path's records",
        "no class on the scan path is a dataclass (dataclasses imports inspect), and the rule modules are "
        "found by listing their folder, not with pkgutil (whose iter_modules imports inspect)",
        "import",
        modules=("dataclasses", "inspect", "pkgutil"),
        pinned=_PIN,
    ),
    Case(
        "tomllib-import",
        "sources/tomlparse.py `_parse`",
        "tomllib is imported only when rtoml is missing or refuses a document",
        "import",
        modules=("tomllib",),
        pinned=_PIN,
    ),
    Case(
        "lockdiff-import",
        "audit.py, budgets.py",
        "the lock comparison is named for annotations only (a scan compares locks for --baseline only)",
        "import",
        modules=("depaudit.analysis.lockdiff",),
    ),
    Case(
        "tempfile-import",
        "fileio.py `_temp_beside`",
        "the temp file beside a target is made with os.open, not tempfile",
        "import",
        modules=("tempfile",),
    ),
    Case(
        "sarif-import",
        "render/scan.py `scan_sarif`",
        "the SARIF renderer (hashlib and friends) is imported for --format sarif only",
        "import",
        modules=("depaudit.render.sarif",),
    ),
    Case(
        "rule-help-import",
        "render/findings.py `findings_markdown`",
        "rule pages are imported for markdown links only",
        "import",
        modules=("depaudit.render.rule_help",),
    ),
    Case(
        "baseline-import",
        "audit.py `run_scan`",
        "the diff (git, subprocess) is imported for --baseline only",
        "import",
        modules=("depaudit.diff",),
    ),
    Case(
        "rule-family-import",
        "rules/base.py `load_rules`",
        "a scan imports the rule modules of its own families (DA1xx, DA2xx, DA5xx) only",
        "import",
        modules=tuple(f"depaudit.rules.{p.stem}" for p in sorted(RULES.glob("da[34]*.py"))),
    ),
    Case(
        "lazy-scan-lock",
        "depaudit/__init__.py `__getattr__`",
        "`import depaudit` does not load the scan (every command imports depaudit first; scan needs it "
        "anyway, so this is measured in a new process)",
        "import",
        modules=("depaudit.scan",),
        fresh_process=True,
    ),
    # bounds on the worst case
    Case(
        "forward-lines",
        "sources/pyproject.py `_ForwardLines`",
        "each dependency's line is searched forward from the previous one, not from the top",
        "micro",
        micro=lambda: _forward_lines(3000),
        scaling=True,
    ),
    Case(
        "marker-memo-forks",
        "analysis/markers.py `compile_marker`",
        "`marker-memo` on a lock that forks one name into many versions, each under its own marker",
        "replay",
        micro=replay(_MARKERS, "compile_marker", memo, bare, shape="forks"),
        scaling=True,
    ),
    *(
        Case(
            f"{name.replace('_', '-')}-memo-forks",
            f"versions.py `{name}`",
            f"`{name.replace('_', '-')}-memo` on the same forked lock",
            "replay",
            micro=replay("depaudit.versions", name, memo, bare, shape="forks"),
            scaling=True,
        )
        for name in ("parse_version",)
    ),
]


# ------------------------------------------------------------------------------------------ measuring


def paired(run_a: Callable[[], Sample], run_b: Callable[[], Sample], runs: int) -> dict[str, Any]:
    """Interleaved runs in ABBA order after one warm-up of each; the samples and their medians."""
    run_a(), run_b()
    a: list[Sample] = []
    b: list[Sample] = []
    for i in range(runs):
        if i % 2 == 0:
            a.append(run_a())
            b.append(run_b())
        else:
            b.append(run_b())
            a.append(run_a())
    return summary(a, b)


def summary(a: list[Sample], b: list[Sample]) -> dict[str, Any]:
    def ms(xs: list[float]) -> list[float]:
        return [round(x * 1000, 3) for x in xs]

    cpu_a, cpu_b = [s[0] for s in a], [s[0] for s in b]
    wall_a, wall_b = [s[1] for s in a], [s[1] for s in b]
    diffs = [y - x for x, y in zip(cpu_a, cpu_b, strict=True)]
    wall_diffs = [y - x for x, y in zip(wall_a, wall_b, strict=True)]
    return {
        "a_cpu_ms": round(statistics.median(cpu_a) * 1000, 3),
        "b_cpu_ms": round(statistics.median(cpu_b) * 1000, 3),
        "gain_cpu_ms": round(statistics.median(diffs) * 1000, 3),
        "gain_cpu_iqr_ms": round(_iqr(diffs) * 1000, 3),
        "a_wall_ms": round(statistics.median(wall_a) * 1000, 3),
        "b_wall_ms": round(statistics.median(wall_b) * 1000, 3),
        "gain_wall_ms": round(statistics.median(wall_diffs) * 1000, 3),
        "samples": {"a_cpu_ms": ms(cpu_a), "b_cpu_ms": ms(cpu_b), "a_wall_ms": ms(wall_a), "b_wall_ms": ms(wall_b)},
    }


def _iqr(xs: list[float]) -> float:
    if len(xs) < 4:
        return 0.0
    q = statistics.quantiles(xs, n=4)
    return q[2] - q[0]


def measure_process(case: Case, runs: int, work: Path) -> dict[str, Any]:
    cache = work / "cache"
    outs = {side: work / f"{case.id}-{side}.json" for side in "ab"}

    def command(side: str) -> list[str]:
        prelude = case.prelude_a if side == "a" else case.prelude_b
        code = prelude + "import sys\nfrom depaudit.cli import main\nmain()\n"
        argv = list(case.argv) if case.argv else scan_argv(outs[side], cache)
        return [sys.executable, "-c", code, *argv]

    env_b = {**ENV, **case.env_b}
    result = paired(lambda: child_timed(command("a"), ENV), lambda: child_timed(command("b"), env_b), runs)
    result["same_output"] = None if case.argv else outs["a"].read_bytes() == outs["b"].read_bytes()
    return result


def measure_in_process(case: Case, runs: int, work: Path) -> dict[str, Any]:
    assert case.toggle is not None
    cache = work / "cache"
    outs = {side: work / f"{case.id}-{side}.json" for side in "ab"}

    toggle = case.toggle

    def run_b() -> Sample:
        with toggle():
            return timed(lambda: scan_in_process(outs["b"], cache))

    result = paired(lambda: timed(lambda: scan_in_process(outs["a"], cache)), run_b, runs)
    result["same_output"] = outs["a"].read_bytes() == outs["b"].read_bytes()
    return result


_IMPORT_CHILD = """
import sys, time
if {after_scan}:
    import contextlib, io
    from depaudit.cli import main
    with contextlib.redirect_stderr(io.StringIO()), contextlib.suppress(SystemExit):
        main(sys.argv[1:])
print(",".join(m for m in {modules!r} if m in sys.modules))
cpu, wall = time.process_time(), time.perf_counter()
for name in {modules!r}:
    __import__(name)
print(time.process_time() - cpu, time.perf_counter() - wall)
"""


def measure_import(case: Case, runs: int, work: Path) -> dict[str, Any]:
    """A new process runs the scan in-process (or nothing, for `fresh_process`), then imports the
    modules the special case defers: the time of that import is B's extra cost; A's is none."""
    code = _IMPORT_CHILD.format(after_scan=not case.fresh_process, modules=case.modules)
    cmd = [sys.executable, "-c", code, *scan_argv(work / f"{case.id}.json", work / "cache")]
    samples: list[Sample] = []
    already: list[str] = []
    for _ in range(runs + 1):  # the first one warms the page cache
        done = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=ROOT, check=True)
        first, second = done.stdout.splitlines()[-2:]
        already = [m for m in first.split(",") if m]
        cpu, wall = (float(x) for x in second.split())
        samples.append((cpu, wall))
    result = summary([(0.0, 0.0)] * runs, samples[1:])
    result["already_imported"] = already
    return result


def measure_micro(case: Case, runs: int, work: Path) -> dict[str, Any]:
    """Time one pass of each code path (interleaved), each sample the mean of several passes."""
    assert case.micro is not None
    micro = case.micro()
    # A sample is several passes, divided: about 50 ms of work (a sub-millisecond task timed once is noise).
    once = min(timed(micro.a)[0], timed(micro.a)[0])
    repeat = max(1, min(50, round(0.05 / max(once, 1e-6))))

    def one_pass(fn: Callable[[], object]) -> Callable[[], Sample]:
        def run() -> Sample:
            cpu, wall = timed(lambda: [fn() for _ in range(repeat)])
            return cpu / repeat, wall / repeat

        return run

    result = paired(one_pass(micro.a), one_pass(micro.b), runs)
    result["note"] = micro.note
    result["same_output"] = micro.same
    return result


MEASURE = {
    "process": measure_process,
    "in-process": measure_in_process,
    "import": measure_import,
    "replay": measure_micro,
    "micro": measure_micro,
}


def verdict(case: Case, result: dict[str, Any], gains: dict[str, float]) -> str:
    """keep or drop by the threshold; a case kept by a bound on the worst case says which."""
    if case.how == "import" and result.get("already_imported"):
        return "no gain: the scan imports it anyway"
    gain = result["gain_cpu_ms"]
    if gain >= THRESHOLD_MS:
        return "scaling: keep" if case.scaling else "keep"
    if case.kept_for:
        other = gains.get(case.kept_for)
        if other is None:
            return f"under 1 ms here; see `{case.kept_for}`"
        if other >= THRESHOLD_MS:
            return f"under 1 ms here; kept: `{case.kept_for}`"
    if case.pinned:
        return f"under 1 ms; kept: {case.pinned} pins the import set"
    return "drop: under 1 ms"


# ------------------------------------------------------------------------------------------- report


def describe_machine() -> str:
    from reference_service.bench.machine import machine_description

    m = machine_description(docker=False)
    return f"{m['cpu']}, {m['vcpus']} vCPUs, {m['memory_gib']} GiB, {m['os']}, Python {m['python']}"


def render(command: str, machine: str, load: dict[str, list[float]], rows: list[dict[str, Any]]) -> str:
    cpus = os.cpu_count() or 1
    busy = max(load["before"][0], load["after"][0]) > cpus
    lines = [
        "# Speed special cases: what each buys on a docling scan",
        "",
        f"Command: `{command}`  ",
        f"Machine: {machine}  ",
        f"Load average (1/5/15 min): {load['before']} before, {load['after']} after"
        + (
            f" — above the CPU count ({cpus}): other work shared the machine, **figures provisional**."
            if busy
            else f" — below the CPU count ({cpus}): a quiet machine."
        ),
        "",
        "A is the code as it ships, B the same with the special case switched off; gain = median of the "
        "paired differences B − A in CPU milliseconds per docling scan (interquartile range of those "
        "differences beside it), wall time for reference. `same`: B wrote byte for byte the report A wrote. "
        "How each case is switched off and measured: benchmarks/special_cases.py (docstring and `CASES`). "
        f"Threshold: {THRESHOLD_MS:g} ms of CPU per scan.",
        "",
        "| case | where | how | A CPU ms | B CPU ms | gain CPU ms (IQR) | gain wall ms | same | verdict |",
        "|---|---|---|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        r = row["result"]
        same = {True: "yes", False: "**no**", None: "—"}[r.get("same_output")]
        lines.append(
            f"| `{row['id']}` | {row['where']} | {row['how']} | {r['a_cpu_ms']:.2f} | {r['b_cpu_ms']:.2f} | "
            f"**{r['gain_cpu_ms']:.2f}** ({r['gain_cpu_iqr_ms']:.2f}) | {r['gain_wall_ms']:.1f} | {same} | "
            f"{row['verdict']} |"
        )
    lines += ["", "## What each case is", ""]
    for row in rows:
        r = row["result"]
        extra = ""
        if "note" in r:
            extra = f" Measured on {r['note']}."
        if r.get("already_imported"):
            extra += f" Already imported by the scan: {', '.join(r['already_imported'])}."
        lines.append(f"- `{row['id']}`: {row['what']}.{extra}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="paired runs per case (default 15)")
    parser.add_argument("--only", default="", help="comma-separated case IDs (default: all)")
    parser.add_argument("--report", default=None, help="write REPORT.md and REPORT.json")
    args = parser.parse_args()
    wanted = {x for x in args.only.split(",") if x}
    unknown = wanted - {c.id for c in CASES}
    if unknown:
        parser.error(f"unknown case IDs: {', '.join(sorted(unknown))}")
    import depaudit.cli  # noqa: F401 - the modules the toggles reach into

    load_before = [round(x, 2) for x in os.getloadavg()]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "cache").mkdir()
        scan_in_process(work / "warm.json", work / "cache")  # import the scan's modules once
        for case in CASES:
            if wanted and case.id not in wanted:
                continue
            print(f"{case.id} ({case.how}) ...", file=sys.stderr, flush=True)
            result = MEASURE[case.how](case, args.runs, work)
            rows.append({"id": case.id, "where": case.where, "what": case.what, "how": case.how, "result": result})
            print(f"  gain {result['gain_cpu_ms']:.3f} ms CPU", file=sys.stderr, flush=True)
    gains = {row["id"]: row["result"]["gain_cpu_ms"] for row in rows}
    for case, row in zip([c for c in CASES if not wanted or c.id in wanted], rows, strict=True):
        row["verdict"] = verdict(case, row["result"], gains)
    load = {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]}
    command = "python benchmarks/special_cases.py " + " ".join(sys.argv[1:])
    machine = describe_machine()
    text = render(command.strip(), machine, load, rows)
    print(text)
    if args.report:
        Path(args.report + ".md").write_text(text)
        data = {
            "schema": 1,
            "command": command.strip(),
            "machine": machine,
            "cpus": os.cpu_count(),
            "loadavg": load,
            "provisional": max(load["before"][0], load["after"][0]) > (os.cpu_count() or 1),
            "threshold_ms": THRESHOLD_MS,
            "cases": rows,
        }
        Path(args.report + ".json").write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()

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
  leaves start-up aside, so sub-millisecond differences stand out of the noise.
- `import`: a child process runs the scan, then imports what the special case defers; the time of that
  import is what a scan would pay without it (A pays nothing).
- `micro`: the two code paths timed on the inputs a docling scan hands them (recorded from a real scan),
  times the number of calls that scan makes.

Timings are CPU time (user + system; the child's for `process`, this process's otherwise), which moves
far less than wall time when other work shares the machine; wall time is recorded beside it. Every
report names the machine (from /proc/cpuinfo) and the load average before and after; when the 1-minute
load exceeds the CPU count the figures are provisional. B must print what A prints: the outputs of the
two sides are compared for every `process` and `in-process` case (column `same`).

Usage:

    python benchmarks/special_cases.py [--runs 15] [--only ID[,ID...]] [--report reports/special_cases]

Regenerate the committed report with `python benchmarks/special_cases.py --report reports/special_cases`.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
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
# A micro-benchmark: A's and B's code path over some work, how many times a docling scan does that
# work (a fraction when the work is a sample of it, 0 when the scan never does it), and a note.
Micro = tuple[Callable[[], object], Callable[[], object], float, str]


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
    # in-process: both sides read the lock through the general reader (`lifted-wheels` off), the path a
    # pylock.toml, or a uv.lock not in uv's own one-line form, takes; the lifted scan never reaches it
    unlifted: bool = False
    # import: the modules a scan would import without the special case
    modules: tuple[str, ...] = ()
    fresh_process: bool = False  # import: time the import in a new interpreter, not after a scan
    # micro: the two code paths, how many times a scan runs them, a note; built from a recorded scan
    micro: Callable[[], Micro] | None = None
    pinned: str = ""  # why it stays whatever it measures (a test pins it)
    scaling: bool = False  # a bound on the worst case, measured on a large generated input, not docling


# ------------------------------------------------------------------------------------------- the scan


def scan_argv(out: Path, cache: Path) -> list[str]:
    return ["scan", str(LOCK), "--offline", "--format", "json", "--cache-dir", str(cache), "-o", str(out)]


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


def scan_in_process(out: Path, cache: Path) -> None:
    from depaudit.cli import main

    fresh_memos()
    with contextlib.redirect_stderr(io.StringIO()), contextlib.suppress(SystemExit):
        main(scan_argv(out, cache))


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


def unmemoised(module: str, *names: str) -> Callable[[], contextlib.AbstractContextManager[None]]:
    """A toggle that replaces each lru_cache'd function by the function it wraps."""

    @contextlib.contextmanager
    def toggle() -> Iterator[None]:
        mod = sys.modules[module]
        with contextlib.ExitStack() as stack:
            for name in names:
                memo = getattr(mod, name)
                stack.enter_context(replaced_everywhere(memo, memo.__wrapped__))
            yield

    return toggle


def _toggle(
    module: str, attr: str, make: Callable[[Any], Any]
) -> Callable[[], contextlib.AbstractContextManager[None]]:
    """A toggle that sets `module.attr` (or `module.Class.attr` for `Class.attr`) to `make(module)`."""

    def toggle() -> contextlib.AbstractContextManager[None]:
        mod = sys.modules[module]
        owner_name, _, name = attr.rpartition(".")
        owner = getattr(mod, owner_name) if owner_name else mod
        return replaced(owner, name, make(mod))

    return toggle


def _everywhere(
    module: str, attr: str, make: Callable[[Any], Any]
) -> Callable[[], contextlib.AbstractContextManager[None]]:
    def toggle() -> contextlib.AbstractContextManager[None]:
        mod = sys.modules[module]
        return replaced_everywhere(getattr(mod, attr), make(mod))

    return toggle


def general() -> contextlib.AbstractContextManager[None]:
    """The lock is read by the general reader: no wheel lines lifted out before the TOML parser."""
    return _toggle("depaudit.sources.uvlock", "_parse_lifted", lambda mod: lambda text, path: None)()


# The plain ways (B): what the code would say without the special case.


def _plain_string(
    self: Any, table: dict[str, Any], key: str, where: str, index: int | None, required: bool = True
) -> Any:
    value = table.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise self.fail(f"{where}: `{key}` must be a string", index)
    return value


def _plain_wheel_tags(mod: Any) -> Callable[[str], tuple[str, ...]]:
    @functools.lru_cache(maxsize=65536)
    def wheel_tags(filename: str) -> tuple[str, ...]:
        if filename.count("-") < 4:
            return ()
        _, py, abi, plat = filename[:-4].rsplit("-", 3)
        return tuple(f"{p}-{a}-{q}" for p in py.split(".") for a in abi.split(".") for q in plat.split("."))

    return wheel_tags


def _plain_name_facts(mod: Any) -> Callable[[Any], tuple[list[str | None], list[bool]]]:
    def name_facts(lock: Any) -> tuple[list[str | None], list[bool]]:
        return (
            [mod.accelerator_family(p.name, p.version) for p in lock.packages],
            [mod.is_cuda_runtime(p.name) for p in lock.packages],
        )

    return name_facts


def _plain_tag_ranks(mod: Any) -> Callable[[Any], dict[str, int]]:
    return lambda target: {tag: rank for rank, tag in enumerate(target.tags)}


def _plain_choose_wheel(mod: Any) -> Callable[..., Any]:
    def choose_wheel(wheels: Any, ranks: dict[str, int]) -> Any:
        best, best_rank = None, len(ranks)
        for wheel in wheels:
            rank = best_rank + 1
            for tag in mod.wheel_tags(wheel.filename):
                r = ranks.get(tag)
                if r is not None and r < rank:
                    rank = r
            if rank < best_rank:
                best, best_rank = wheel, rank
            elif rank == best_rank and best is not None and mod._build_key(wheel) < mod._build_key(best):
                best = wheel
        return best

    return choose_wheel


def _unmemoised_evaluator(mod: Any) -> Callable[..., bool]:
    def call(self: Any, marker: str | None, extras: frozenset[str] = frozenset()) -> bool:
        if not marker:
            return True
        active = extras if ("extra" in marker or "dependency_groups" in marker) else frozenset()
        env = {**self._env, "extra": active, "extras": active, "dependency_groups": active}
        try:
            return bool(mod.compile_marker(marker)(env))
        except KeyError as exc:
            raise mod.MarkerError(f"cannot evaluate marker {marker!r}: no value for {exc}") from None

    return call


def _urlsplit_basename(url: str) -> str:
    from urllib.parse import unquote, urlsplit

    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


class _CharLoop:
    """The URL check without the regex: a generator over every character."""

    @staticmethod
    def search(url: str) -> bool | None:
        return any(ch <= " " or ch == "\x7f" for ch in url) or None


# ------------------------------------------------------------------------------------- micro inputs


def recorded(module: str, name: str) -> list[tuple[Any, ...]]:
    """The positional arguments of every call of `module.name` during one in-process docling scan."""
    mod = sys.modules[module]
    original = getattr(mod, name)
    calls: list[tuple[Any, ...]] = []

    def recording(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return original(*args, **kwargs)

    with tempfile.TemporaryDirectory() as tmp, replaced_everywhere(original, recording):
        (Path(tmp) / "cache").mkdir()
        scan_in_process(Path(tmp) / "out.json", Path(tmp) / "cache")
    return calls


def _pragma_pretest() -> Micro:
    import depaudit.rules.pragmas as pragmas

    texts = [args[0] for args in recorded("depaudit.rules.pragmas", "parse_pragmas")]
    mention = pragmas._MENTION

    def with_pretest() -> object:
        return [("depaudit" not in t.lower() or mention.search(t) is None) for t in texts]

    def regex_only() -> object:
        return [mention.search(t) is None for t in texts]

    assert with_pretest() == regex_only()
    return with_pretest, regex_only, 1.0, f"the {len(texts)} texts a scan hands it, {sum(map(len, texts)):,} characters"


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

    assert forward() == from_the_top()
    return forward, from_the_top, 1.0, f"a generated pyproject.toml with {count:,} dependencies (the docling one has 2)"


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

    counts = ", ".join(f"{len(v):,} {c.__name__}" for c, v in values.items())
    return as_namedtuples, as_dataclasses, 1.0, f"{counts} built, four classes made"


def _fields_of(cls: Any) -> list[tuple[str, Any, Any]]:
    defaults = cls._field_defaults
    return [(f, Any, field(default=defaults[f])) if f in defaults else (f, Any, field()) for f in cls._fields]


# ------------------------------------------------------------------------------------------ the cases

_NEUTRAL = (  # the fast path as shipped, minus the two tweaks that ride on it (measured on their own)
    "import gc, sys, depaudit.cli as c\ngc.disable = lambda: None\nc._exit_now = lambda code: sys.exit(code)\n"
)

CASES: list[Case] = [
    Case(
        "fast-path",
        "cli/__init__.py `_fast_command`, cli/params.py `parse_fast`",
        "a plain `depaudit scan` command line is read without typer and click",
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
        "`depaudit lint` (any command but scan) imports only its own command module",
        "process",
        prelude_b=(
            "import depaudit.cli as c\nclass _All(tuple):\n    def __contains__(self, item): return False\n"
            "c.COMMAND_MODULES = _All(c.COMMAND_MODULES)\n"
        ),
        argv=("lint", str(DOCLING.relative_to(ROOT))),
    ),
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
        toggle=lambda: general(),
    ),
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
        toggle=_toggle("depaudit.analysis.markers", "compile_marker", lambda m: functools.cache(m._packaging_marker)),
    ),
    Case(
        "packaging-import",
        "analysis/markers.py, sources/requirements.py",
        "`packaging` is imported only for a marker the own parser does not read",
        "import",
        modules=("packaging.markers", "packaging.specifiers", "packaging.version"),
    ),
    Case(
        "header-lines-find",
        "sources/lockread.py `exact_header_lines`",
        "`Package.line` comes from str.find over the text, not from splitting it into lines",
        "in-process",
        toggle=_toggle("depaudit.sources.lockread", "exact_header_lines", lambda mod: mod.header_lines),
    ),
    Case(
        "reader-string-first",
        "sources/lockread.py `LockReader.string`",
        "the common case (a non-empty string) is tested first",
        "in-process",
        toggle=_toggle("depaudit.sources.lockread", "LockReader.string", lambda mod: _plain_string),
    ),
    Case(
        "reader-wheel-inline",
        "sources/lockread.py `LockReader.wheel`",
        "the usual wheel entry is checked inline before the general checks (general reader only)",
        "in-process",
        toggle=_toggle("depaudit.sources.lockread", "LockReader.wheel", lambda mod: mod.LockReader._wheel),
        unlifted=True,
    ),
    Case(
        "basename",
        "sources/lockread.py `basename`",
        "a wheel's file name is cut from its URL by str.split, not urlsplit (general reader only)",
        "in-process",
        toggle=_toggle("depaudit.sources.lockread", "basename", lambda mod: _urlsplit_basename),
        unlifted=True,
    ),
    Case(
        "plain-requirements",
        "sources/pyproject.py `_plain_requirement`",
        "a requirement with only a name, extras and versions is read without `packaging`",
        "process",
        prelude_b="import depaudit.sources.pyproject as p\np._plain_requirement = lambda item: None\n",
    ),
    Case(
        "forward-lines",
        "sources/pyproject.py `_ForwardLines`",
        "each dependency's line is searched forward from the previous one, not from the top",
        "micro",
        micro=lambda: _forward_lines(3000),
        scaling=True,
    ),
    Case(
        "namedtuples",
        "model.py",
        "Source, Wheel, Dependency, InstalledPackage (and TopLevelCost, InstallScope) are NamedTuples",
        "micro",
        micro=_namedtuples,
    ),
    Case(
        "canonical-name-memo",
        "names.py `canonical_name`",
        "name normalisation is memoised (lru_cache)",
        "in-process",
        toggle=unmemoised("depaudit.names", "canonical_name"),
    ),
    Case(
        "wheel-tags-memo",
        "model.py `wheel_tags`",
        "a wheel file name's expanded tags are memoised (lru_cache)",
        "in-process",
        toggle=unmemoised("depaudit.model", "wheel_tags"),
    ),
    Case(
        "wheel-tags-one-tag",
        "model.py `wheel_tags`",
        "a file name with one tag (most wheels) skips the expansion",
        "in-process",
        toggle=_everywhere("depaudit.model", "wheel_tags", _plain_wheel_tags),
    ),
    Case(
        "choose-wheel-local",
        "analysis/install_set.py `choose_wheel`",
        "`ranks.get` is bound to a local name before the loop",
        "in-process",
        toggle=_everywhere("depaudit.analysis.install_set", "choose_wheel", _plain_choose_wheel),
    ),
    Case(
        "tag-ranks-memo",
        "analysis/install_set.py `tag_ranks`",
        "each target's tag ranks are kept in a module-level dict",
        "in-process",
        toggle=_everywhere("depaudit.analysis.install_set", "tag_ranks", _plain_tag_ranks),
    ),
    Case(
        "name-facts-per-lock",
        "analysis/install_set.py `_name_facts`",
        "accelerator facts per package are worked out once per lock and kept on it",
        "in-process",
        toggle=_toggle("depaudit.analysis.install_set", "_name_facts", _plain_name_facts),
    ),
    Case(
        "accelerator-memo",
        "analysis/accelerators.py `accelerator_family`, `is_cuda_runtime`",
        "the two are memoised (lru_cache)",
        "in-process",
        toggle=unmemoised("depaudit.analysis.accelerators", "accelerator_family", "is_cuda_runtime"),
    ),
    Case(
        "marker-memo",
        "analysis/markers.py `compile_marker`",
        "each distinct marker is parsed once per process (functools.cache)",
        "in-process",
        toggle=unmemoised("depaudit.analysis.markers", "compile_marker"),
    ),
    Case(
        "marker-answer-memo",
        "analysis/markers.py `MarkerEvaluator.__call__`",
        "each (marker, active extras) answer is kept per target",
        "in-process",
        toggle=_toggle("depaudit.analysis.markers", "MarkerEvaluator.__call__", _unmemoised_evaluator),
    ),
    Case(
        "version-memo",
        "versions.py `parse_version`, `parse_specifier`, `parse_specifier_set`",
        "versions and specifiers are memoised (lru_cache)",
        "in-process",
        toggle=unmemoised("depaudit.versions", "parse_version", "parse_specifier", "parse_specifier_set"),
    ),
    Case(
        "make-target-memo",
        "targets.py `make_target`",
        "a Target is memoised (lru_cache)",
        "in-process",
        toggle=unmemoised("depaudit.targets", "make_target"),
    ),
    Case(
        "url-check-regex",
        "analysis/host_policy.py `url_problem`",
        "spaces and control characters in a URL are found by one regex search",
        "in-process",
        toggle=_toggle("depaudit.analysis.host_policy", "_UNSAFE_CHARACTER", lambda mod: _CharLoop()),
    ),
    Case(
        "pragma-pretest",
        "rules/pragmas.py `parse_pragmas`",
        "a substring test before the case-insensitive regex that finds pragmas",
        "micro",
        micro=_pragma_pretest,
    ),
    Case(
        "rich-import",
        "render/ (scan_table, formats, diff, findings)",
        "rich is imported where a table is printed",
        "import",
        modules=("rich.console", "rich.table", "rich.text"),
        pinned="tests/cli/test_scan_fastpath.py",
    ),
    Case(
        "httpx-import",
        "analysis/size_lookup.py",
        "httpx, asyncio and ssl are imported where a size is fetched",
        "import",
        modules=("httpx", "asyncio", "ssl"),
        pinned="tests/cli/test_scan_fastpath.py",
    ),
    Case(
        "socket-import",
        "analysis/host_policy.py `resolve`",
        "socket is imported where a host is resolved",
        "import",
        modules=("socket",),
        pinned="tests/cli/test_scan_fastpath.py",
    ),
    Case(
        "lazy-logging",
        "logs.py, cli/output.py",
        "the core logs through a stand-in that drops records until something imports logging",
        "import",
        modules=("logging",),
        pinned="tests/cli/test_scan_fastpath.py",
    ),
    Case(
        "urandom-token",
        "sources/uvlock.py `_parse_lifted`",
        "the lifting token is os.urandom, not secrets",
        "import",
        modules=("secrets",),
        pinned="tests/cli/test_scan_fastpath.py",
    ),
    Case(
        "requirements-import",
        "rules/subjects.py",
        "the requirements parser is named for annotations only",
        "import",
        modules=("depaudit.sources.requirements",),
        pinned="tests/cli/test_scan_fastpath.py",
    ),
    Case(
        "tempfile-import",
        "fileio.py `_temp_beside`",
        "the temp file beside a target is made with os.open, not tempfile",
        "import",
        modules=("tempfile",),
    ),
    Case(
        "difflib-import",
        "settings.py",
        "difflib is imported only to name the nearest key of a misspelt one",
        "import",
        modules=("difflib",),
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
        "bytecode-import",
        "analysis/size_lookup.py `_bytecode_size`",
        "the bytecode estimate is imported for --bytecode only",
        "import",
        modules=("depaudit.analysis.bytecode",),
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
        "`import depaudit` does not load the scan (commands other than scan import depaudit first)",
        "import",
        modules=("depaudit.scan",),
        fresh_process=True,
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

    def run_a() -> Sample:
        with general() if case.unlifted else contextlib.nullcontext():
            return timed(lambda: scan_in_process(outs["a"], cache))

    def run_b() -> Sample:
        with general() if case.unlifted else contextlib.nullcontext(), case.toggle():  # type: ignore[misc]
            return timed(lambda: scan_in_process(outs["b"], cache))

    result = paired(run_a, run_b, runs)
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
    """Time one pass of each code path over its work (interleaved), then scale to one docling scan."""
    assert case.micro is not None
    run_a, run_b, scale, note = case.micro()
    repeat = 20  # a sample: the work 20 times, divided (a sub-millisecond task timed once is noise)

    def one_pass(fn: Callable[[], object]) -> Callable[[], Sample]:
        def run() -> Sample:
            cpu, wall = timed(lambda: [fn() for _ in range(repeat)])
            return cpu / repeat, wall / repeat

        return run

    unit = paired(one_pass(run_a), one_pass(run_b), runs)
    result = {k: round(v * scale, 3) for k, v in unit.items() if isinstance(v, float)}
    result["samples"] = {k: [round(x * scale, 3) for x in xs] for k, xs in unit["samples"].items()}
    if scale != 1.0:
        note += f"; one pass: A {unit['a_cpu_ms']:.2f} ms, B {unit['b_cpu_ms']:.2f} ms CPU"
    result["note"] = note
    return result


MEASURE = {
    "process": measure_process,
    "in-process": measure_in_process,
    "import": measure_import,
    "micro": measure_micro,
}


def verdict(case: Case, result: dict[str, Any]) -> str:
    if case.how == "import" and result.get("already_imported"):
        return "no gain: the scan imports it anyway"
    gain = result["gain_cpu_ms"]
    if case.scaling:
        return "keep: bounds the worst case (not on docling's path)"
    if gain >= THRESHOLD_MS:
        return "keep"
    if case.pinned:
        return f"under 1 ms; kept: {case.pinned} pins the import set"
    return "drop: under 1 ms"


# ------------------------------------------------------------------------------------------- report


def describe_machine() -> str:
    from depaudit.images.machine import machine_description

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
            row = {"id": case.id, "where": case.where, "what": case.what, "how": case.how, "result": result}
            row["verdict"] = verdict(case, result)
            rows.append(row)
            print(f"  gain {result['gain_cpu_ms']:.3f} ms CPU: {row['verdict']}", file=sys.stderr, flush=True)
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

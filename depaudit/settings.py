"""Settings: one schema, read once at the edge into one frozen `Settings`.

Layers, lowest first: defaults < `[tool.depaudit]` of the workspace root's pyproject.toml < that of the
selected member's own pyproject.toml < `DEPAUDIT_*` environment < command line. Keys are spelled as in
pyproject (`max-download`); the environment spells them `DEPAUDIT_MAX_DOWNLOAD`.

The two kinds of layer are not equal (docs/SECURITY.md): the command line and the environment belong to
whoever runs depaudit (a CI workflow); the pyproject files are data from the checkout (a pull request).
So a key's `trust` decides how a file value meets a value from the command line or environment:
- `limit`: budgets. The smaller wins; a file can add a budget or tighten one, never raise one.
- `union`: lists of things to check (no-accelerator targets): the file can add, never remove.
- `targets`: the file's targets are added to those the command line names; when the command line names a
  check but no target, the check covers every default target plus the file's.
- `flag`: a file can switch a check on (fail-on-new-accelerator), never off.
- `rules`: select/ignore. A rule the command line selects, and the DA5xx rule of a budget it sets, runs
  whatever a file ignores or leaves unselected.
- `hosts`: hosts a file allows are looked up only at global addresses; loopback, private, link-local and
  metadata addresses need the command line or environment.
- `loosen`: what accepts an otherwise failing case (allow-builds), or picks the file a gate measures (the
  lock, the bench report: a checkout could point them at a file nobody installs): the command line or
  environment only.
- `machine`: where and how depaudit works on this machine (offline, cache and state folders, deadlines,
  input limits): never from a file.
- `choice`: what to measure and how to show it (python, extras, groups, docs URL): the highest layer wins.
Whenever a file value is set aside, `Settings.notes` says so in one line. Unknown keys in a file are an
error naming the nearest valid key (exit 3); a `DEPAUDIT_*` variable close to a known name is a warning.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

from depaudit.analysis.index_urls import DEFAULT_CPU_INDEX_URL
from depaudit.analysis.size_lookup import DEFAULT_DEADLINE
from depaudit.budgets import LockLimits, allowed_builds
from depaudit.errors import DepauditError, InputError, UsageError
from depaudit.model import Selection
from depaudit.rules.config import PathRule, RuleConfig, rule_prefixes
from depaudit.targets import DEFAULT_TARGETS
from depaudit.units import format_size, parse_size

ENV_PREFIX = "DEPAUDIT_"
RULE_ID_LENGTH = len("DA101")
Kind = Literal["size", "sizes", "float", "percentile", "list", "targets", "path", "str", "bool", "rules", "seconds"]
Trust = Literal["limit", "union", "targets", "flag", "rules", "hosts", "loosen", "machine", "choice"]
Origin = Literal["default", "file", "env", "cli"]


class Key(NamedTuple):
    """One setting: its pyproject name, value kind, how a file value meets a trusted one, the
    command-line option that sets it (for messages), and a line of help."""

    name: str
    kind: Kind
    trust: Trust
    option: str
    help: str

    @property
    def env(self) -> str:
        return env_name(self.name)


SCHEMA: tuple[Key, ...] = (
    Key("targets", "targets", "targets", "--target", "platforms to scan and check (default: the four presets)"),
    Key("python", "str", "choice", "--python", "CPython version (default: the lowest requires-python admits)"),
    Key("package", "list", "choice", "--package", "workspace members to install, as uv sync --package"),
    Key("all-packages", "bool", "choice", "--all-packages", "install every workspace member"),
    Key("extras", "list", "choice", "--extra", "optional-dependency extras to include"),
    Key("all-extras", "bool", "choice", "--all-extras", "include every extra"),
    Key("groups", "list", "choice", "--group", "dependency groups to include"),
    Key("all-groups", "bool", "choice", "--all-groups", "include every dependency group"),
    Key("max-download", "sizes", "limit", "--max-download", "download budget per target ([TARGET=]SIZE)"),
    Key("max-accelerator", "sizes", "limit", "--max-accelerator", "accelerator-wheel budget ([TARGET=]SIZE)"),
    Key("no-accelerator-targets", "targets", "union", "--no-accelerator-target", "targets with no accelerator"),
    Key("max-image-size", "size", "limit", "--max-image-size", "budget for each image"),
    Key("images", "list", "choice", "IMAGE", "images gate checks"),
    Key("max-latency-ms", "float", "limit", "--max-latency-ms", "latency budget per variant and size"),
    Key("latency-percentile", "percentile", "limit", "--latency-percentile", "p50 or p95 (default p95)"),
    Key("bench-report", "path", "loosen", "--bench-report", "a depaudit bench images.json"),
    Key("lock", "path", "loosen", "--lock", "the lock gate measures (default: found as uv finds it)"),
    Key("max-increase", "size", "limit", "--max-increase", "diff: the most any target's download may grow"),
    Key("fail-on-new-accelerator", "bool", "flag", "--fail-on-new-accelerator", "diff: no new accelerator"),
    Key("select", "rules", "rules", "--select", "rule IDs or prefixes to run"),
    Key("ignore", "rules", "rules", "--ignore", "rule IDs or prefixes to skip"),
    Key("docs-url", "str", "choice", "--docs-url", "base URL of the rule pages (SARIF helpUri)"),
    Key("cpu-index-url", "str", "choice", "--cpu-index-url", "the PyTorch CPU index fix points torch at"),
    Key("exclude-newer", "str", "choice", "--exclude-newer", "resolve requirements with packages before DATE"),
    Key("allow-hosts", "list", "hosts", "--allow-host", "hosts size look-ups may reach"),
    Key("allow-builds", "list", "loosen", "--allow-build", "packages accepted to build from source (:all:)"),
    Key("offline", "bool", "machine", "--offline", "never touch the network"),
    Key("lookup-deadline", "seconds", "limit", "--lookup-deadline", "seconds all size look-ups may take"),
    Key("cache-dir", "path", "machine", "--cache-dir", "size cache folder"),
    Key("state-dir", "path", "machine", "DEPAUDIT_STATE_DIR", "depaudit's state (fix --lock journals)"),
    Key("max-input-bytes", "size", "machine", "DEPAUDIT_MAX_INPUT_BYTES", "the largest file depaudit reads"),
    Key("docker", "str", "machine", "DEPAUDIT_DOCKER", "the docker client to run"),
)
KEYS: dict[str, Key] = {k.name: k for k in SCHEMA}
COMMAND_SECTIONS = ("scan", "gate", "diff", "hook", "lint", "port")
SECTION_KEYS = ("select", "ignore")
PER_TARGET_KEYS = ("max-download", "max-accelerator", "no-accelerator")
PER_PACKAGE_KEYS = ("max-download", "max-accelerator", "no-accelerator-targets")
TABLES = ("per-target", "per-package", *COMMAND_SECTIONS)
# Checks a trusted layer can ask for: naming any of them pins its targets and its DA5xx rule.
CHECK_RULES: dict[str, str] = {
    "max-download": "DA501",
    "max-accelerator": "DA502",
    "no-accelerator-targets": "DA503",
    "max-image-size": "DA504",
    "max-latency-ms": "DA505",
    "max-increase": "DA506",
    "fail-on-new-accelerator": "DA507",
}


def env_name(key: str) -> str:
    """`max-download` -> `DEPAUDIT_MAX_DOWNLOAD`."""
    return ENV_PREFIX + key.upper().replace("-", "_")


def nearest(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to a misspelt one (one that starts with it first: `no-accelerator` ->
    `no-accelerator-targets`), or None when nothing is close."""
    names = list(known)
    longer = [k for k in names if k.startswith(name) or name.startswith(k)]
    found = longer or difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return found[0] if found else None


# ---------------------------------------------------------------- files


class SettingsFile(NamedTuple):
    """The `[tool.depaudit]` table of one pyproject.toml, as parsed once by the project context, with
    the file's text for the line of a key in messages."""

    path: Path
    table: Mapping[str, Any]
    text: str = ""

    @property
    def label(self) -> str:
        return f"{self.path} [tool.depaudit]"

    def line_of(self, key: str, section: str = "tool.depaudit") -> int | None:
        """The line of `key = ...` inside `[section]` (None when not found: dotted or inline forms)."""
        inside = False
        for number, line in enumerate(self.text.splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith("["):
                inside = stripped.strip("[] ") == section
            elif inside and stripped.split("=", 1)[0].strip().strip("\"'") == key:
                return number
        return None

    def error(self, what: str, key: str | None = None, section: str = "tool.depaudit") -> InputError:
        """An InputError naming this file (and the key's line when found)."""
        return InputError(self.path, what, line=self.line_of(key, section) if key else None)


def check_table(file: SettingsFile) -> None:
    """Raise InputError for the first key of `[tool.depaudit]` (or one of its tables) that is not a
    setting, naming the nearest valid key."""
    _check_keys(file, file.table, (*KEYS, *TABLES), "tool.depaudit")
    tables: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("per-target", PER_TARGET_KEYS),
        ("per-package", PER_PACKAGE_KEYS),
    )
    for name, allowed in tables:
        for entry, body in _table(file, name).items():
            where = f"tool.depaudit.{name}.{entry}"
            if not isinstance(body, dict):
                raise file.error(f"[{where}] must be a table of {', '.join(allowed)}", entry, f"tool.depaudit.{name}")
            _check_keys(file, body, allowed, where)
    for section in COMMAND_SECTIONS:
        keys = (*SECTION_KEYS, "per-path") if section == "lint" else SECTION_KEYS
        _check_keys(file, _table(file, section), keys, f"tool.depaudit.{section}")


def _check_keys(file: SettingsFile, table: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            guess = nearest(key, allowed)
            hint = f"; did you mean {guess!r}?" if guess else f" (known: {', '.join(allowed)})"
            raise file.error(f"[{where}] {key!r} is not a depaudit setting{hint}", key, where)


def _table(file: SettingsFile, name: str) -> Mapping[str, Any]:
    value = file.table.get(name, {})
    if not isinstance(value, dict):
        raise file.error(f"[tool.depaudit.{name}] must be a table", name)
    return value


# ---------------------------------------------------------------- values


class Layer(NamedTuple):
    """A raw value of one key and where it came from."""

    value: Any
    origin: Origin
    label: str
    file: SettingsFile | None = None

    @property
    def trusted(self) -> bool:
        """Set by whoever runs depaudit (command line, environment), not by the checkout."""
        return self.origin in ("cli", "env")

    def error(self, key: str) -> Callable[[str], DepauditError]:
        """The error for a bad value of this layer: InputError naming the file, UsageError otherwise."""
        if self.file is not None:
            file = self.file
            return lambda what: file.error(f"[tool.depaudit] {what}", key)
        return lambda what: UsageError(f"{self.label}: {what}")


def convert(kind: Kind, key: str, value: Any, error: Callable[[str], DepauditError]) -> Any:
    """A raw value as `kind`: size -> int bytes, float -> positive float, seconds -> positive float,
    percentile -> "p50"/"p95", list/targets/rules -> tuple of strings (a string splits on commas),
    path -> Path, bool -> bool, str -> str. Raises `error(what)` for a value that is not one."""
    if kind == "size":
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise error(f"{key}: expected a size such as 250MB, got {value!r}")
        try:
            return parse_size(str(value))
        except ValueError as exc:
            raise error(f"{key}: {exc}") from None
    if kind in ("float", "seconds"):
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
    if kind in ("list", "targets", "rules", "sizes"):
        return as_strings(key, value, error)
    if kind == "path":
        if not isinstance(value, (str, Path)) or not str(value):
            raise error(f"{key}: expected a path, got {value!r}")
        return Path(value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.strip().lower() in ("1", "true", "yes", "on")
        raise error(f"{key}: expected true or false, got {value!r}")
    if not isinstance(value, str):
        raise error(f"{key}: expected a string, got {value!r}")
    return value


def as_strings(key: str, value: Any, error: Callable[[str], DepauditError]) -> tuple[str, ...]:
    """A list setting: a list of strings (or sizes), or one string of comma-separated items."""
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (str(value),)
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) for v in value):
        return tuple(str(v).strip() for v in value if str(v).strip())
    raise error(f"{key}: expected a list of strings, got {value!r}")


def _target(name: str, error: Callable[[str], DepauditError], key: str) -> str:
    if name not in DEFAULT_TARGETS:
        raise error(f"{key}: unknown target {name!r} (known: {', '.join(DEFAULT_TARGETS)})")
    return name


def size_entries(key: str, value: Any, error: Callable[[str], DepauditError]) -> tuple[int | None, dict[str, int]]:
    """`[TARGET=]SIZE` entries (a list, or one comma-separated string) as (budget for every target,
    budgets per target). Raises `error` for a bad size or an unknown target."""
    every: int | None = None
    named: dict[str, int] = {}
    for text in as_strings(key, value, error):
        target, eq, size = text.partition("=")
        amount = convert("size", key, size if eq else text, error)
        if eq:
            named[_target(target.strip(), error, key)] = amount
        else:
            every = amount
    return every, named


# ---------------------------------------------------------------- the value


class HostAllowance(NamedTuple):
    """Hosts size look-ups may reach besides the lock's registries: `trusted` (command line or
    environment: any address) and `project` (a checkout's allow-hosts: global addresses only)."""

    trusted: tuple[str, ...] = ()
    project: tuple[str, ...] = ()


class Settings(NamedTuple):
    """Every setting of one command, resolved and converted. None or empty means "not set"."""

    state_dir: Path  # depaudit's own state (the fix journal): always resolved, never "not set"
    command: str = "scan"
    targets: tuple[str, ...] | None = None
    python: str | None = None
    selection: Selection = Selection()
    limits: LockLimits = LockLimits()
    max_image_size: int | None = None
    images: tuple[str, ...] = ()
    max_latency_ms: float | None = None
    latency_percentile: str = "p95"
    bench_report: Path | None = None
    lock: Path | None = None
    max_increase: int | None = None
    fail_on_new_accelerator: bool = False
    rules: RuleConfig = RuleConfig()
    docs_url: str | None = None
    cpu_index_url: str = DEFAULT_CPU_INDEX_URL
    exclude_newer: str | None = None
    hosts: HostAllowance = HostAllowance()
    allow_builds: tuple[str, ...] = ()
    offline: bool = False
    lookup_deadline: float = DEFAULT_DEADLINE
    cache_dir: Path | None = None
    macos_deployment: str | None = None
    origins: tuple[tuple[str, str], ...] = ()
    given: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()

    def origin(self, key: str) -> str | None:
        """Where `key`'s value came from (`--max-download`, `DEPAUDIT_OFFLINE`, a file), None: default."""
        return dict(self.origins).get(key)

    def describe(self) -> list[str]:
        """`--verbose` lines: each setting that is not a default, its value as given, and its origin."""
        given = dict(self.given)
        return [f"setting {key} = {given.get(key, '?')} from {label}" for key, label in self.origins]


def early_machine_settings(environ: Mapping[str, str]) -> tuple[int | None, str | None]:
    """(max-input-bytes, docker) from the environment: the machine settings the lowest layers need
    before any file is read (the edge applies them first). Raises UsageError for a bad value."""
    values: list[Any] = []
    for key in ("max-input-bytes", "docker"):
        raw = environ.get(env_name(key), "")
        layer = Layer(raw, "env", env_name(key))
        values.append(convert(KEYS[key].kind, key, raw, layer.error(key)) if raw else None)
    return values[0], values[1]


def default_state_dir(environ: Mapping[str, str]) -> Path:
    """depaudit's own state folder: $XDG_STATE_HOME/depaudit, else ~/.local/state/depaudit."""
    if environ.get("XDG_STATE_HOME"):
        return Path(environ["XDG_STATE_HOME"]).expanduser() / "depaudit"
    return Path.home() / ".local" / "state" / "depaudit"


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    """The size cache: $XDG_CACHE_HOME/depaudit, else ~/.cache/depaudit."""
    if environ.get("XDG_CACHE_HOME"):
        return Path(environ["XDG_CACHE_HOME"]).expanduser() / "depaudit"
    return Path.home() / ".cache" / "depaudit"


# ---------------------------------------------------------------- loading


class _Sources:
    """The layers of every key: files (lowest first), the environment, the command line."""

    def __init__(self, files: Sequence[SettingsFile], environ: Mapping[str, str], cli: Mapping[str, Any]) -> None:
        self.files = tuple(files)
        self.environ = environ
        self.cli = cli
        self.notes: list[str] = []
        self.origins: dict[str, str] = {}
        self.raw: dict[str, str] = {}

    def chose(self, key: str, layer: Layer) -> None:
        """Record that `key`'s value comes from `layer` (for --verbose and reports)."""
        self.origins[key] = layer.label
        self.raw[key] = (
            str(layer.value) if not isinstance(layer.value, (list, tuple)) else ", ".join(map(str, layer.value))
        )

    def layers(self, key: str) -> list[Layer]:
        """Every layer that sets `key`, lowest precedence first."""
        found = [Layer(f.table[key], "file", f.label, f) for f in self.files if key in f.table]
        if self.environ.get(env_name(key), "") != "":
            found.append(Layer(self.environ[env_name(key)], "env", env_name(key)))
        value = self.cli.get(key)
        if value is not None and value != "" and value != [] and value != () and value is not False:
            found.append(Layer(value, "cli", KEYS[key].option))
        return found

    def value(self, key: str) -> Any:
        """The converted value of a `choice` key (highest layer), or None."""
        found = self.layers(key)
        if not found:
            return None
        top = found[-1]
        self.chose(key, top)
        return convert(KEYS[key].kind, key, top.value, top.error(key))

    def trusted_and_file(self, key: str) -> tuple[list[Layer], list[Layer]]:
        found = self.layers(key)
        return [f for f in found if f.trusted], [f for f in found if not f.trusted]

    def trusted_only(self, key: str) -> Any:
        """A key only the command line or environment may set (it loosens a check); a file value is set
        aside, said once."""
        trusted, files = self.trusted_and_file(key)
        for layer in files:
            self.notes.append(
                f"{layer.label} {key}: ignored (it would loosen a check; only {KEYS[key].option} or "
                f"{env_name(key)} may set it)"
            )
        if not trusted:
            return None
        self.chose(key, trusted[-1])
        return convert(KEYS[key].kind, key, trusted[-1].value, trusted[-1].error(key))

    def machine(self, key: str) -> Any:
        """A machine key: the command line or environment only; a file value is set aside, said once."""
        trusted, files = self.trusted_and_file(key)
        option = KEYS[key].option
        how = f"{option} or {env_name(key)}" if option.startswith("-") else env_name(key)
        for layer in files:
            self.notes.append(
                f"{layer.label} {key}: ignored (how depaudit works on this machine is set by {how}, "
                f"never by the project)"
            )
        if not trusted:
            return None
        self.chose(key, trusted[-1])
        return convert(KEYS[key].kind, key, trusted[-1].value, trusted[-1].error(key))


def load_settings(
    command: str,
    files: Sequence[SettingsFile] = (),
    environ: Mapping[str, str] | None = None,
    cli: Mapping[str, Any] | None = None,
    *,
    member_files: Callable[[Selection], Sequence[SettingsFile]] | None = None,
    member: str | None = None,
) -> Settings:
    """Resolve every setting of `command`. `files`: the `[tool.depaudit]` tables, lowest precedence
    first (workspace root, then a member's own); `member_files(selection)` adds the tables of the members
    a selection installs. `member`: the workspace member uv installs from the working folder, which is
    the selection unless the command line or environment names packages. `cli`: command-line values
    keyed like the schema (None/empty: not given).
    Raises InputError for a bad file value or unknown file key (exit 3), UsageError for a bad
    environment or command-line value (exit 2)."""
    env = os.environ if environ is None else environ
    for file in files:
        check_table(file)
    sources = _Sources(files, env, cli or {})
    _warn_misspelt_environment(env, sources.notes)
    selection = _selection(sources, member)
    if member_files is not None:
        extra = [f for f in member_files(selection) if f.path not in {g.path for g in files}]
        for file in extra:
            check_table(file)
        sources.files = (*sources.files, *extra)
    limits = _lock_limits(sources, selection)
    targets = _targets(sources, limits)
    state = sources.machine("state-dir")
    cache = sources.machine("cache-dir")
    for key in ("max-input-bytes", "docker"):  # applied by the edge from the environment, before any read
        sources.machine(key)
    return Settings(
        command=command,
        targets=targets,
        python=sources.value("python"),
        selection=selection,
        limits=limits,
        max_image_size=_limit(sources, "max-image-size"),
        images=sources.value("images") or (),
        max_latency_ms=_limit(sources, "max-latency-ms"),
        latency_percentile=_percentile(sources),
        bench_report=sources.trusted_only("bench-report"),
        lock=sources.trusted_only("lock"),
        max_increase=_limit(sources, "max-increase"),
        fail_on_new_accelerator=_flag(sources, "fail-on-new-accelerator"),
        rules=_rules(sources, command, limits),
        docs_url=sources.value("docs-url"),
        cpu_index_url=sources.value("cpu-index-url") or DEFAULT_CPU_INDEX_URL,
        exclude_newer=sources.value("exclude-newer"),
        hosts=_hosts(sources),
        allow_builds=allowed_builds(sources.trusted_only("allow-builds") or ()),
        offline=bool(sources.machine("offline")),
        lookup_deadline=_limit(sources, "lookup-deadline") or DEFAULT_DEADLINE,
        cache_dir=cache if cache is not None else default_cache_dir(env),
        state_dir=state if state is not None else default_state_dir(env),
        macos_deployment=env.get("MACOSX_DEPLOYMENT_TARGET") or None,
        origins=tuple(sorted(sources.origins.items())),
        given=tuple(sorted(sources.raw.items())),
        notes=tuple(dict.fromkeys(sources.notes)),
    )


# DEPAUDIT_* variables that are not settings: read by the command line before settings exist
# (FAST_PATH), by the repository's scripts (docker/engine.sh, scripts/test) and by the test harness.
OTHER_VARIABLES = ("DEPAUDIT_FAST_PATH", "DEPAUDIT_DOCKERD_LOG", "DEPAUDIT_DOCKERD_WAIT", "DEPAUDIT_TORCH_CPU_INDEX")


def _warn_misspelt_environment(environ: Mapping[str, str], notes: list[str]) -> None:
    known = [k.env for k in SCHEMA]
    for name in environ:
        if name in OTHER_VARIABLES or name.startswith(("DEPAUDIT_TEST_", "DEPAUDIT_CRASH_")):
            continue
        if name.startswith(ENV_PREFIX) and name not in known:
            guess = difflib.get_close_matches(name, known, n=1, cutoff=0.85)
            if guess:
                notes.append(f"{name} is not a depaudit setting (did you mean {guess[0]}?); ignored")


def _selection(sources: _Sources, member: str | None) -> Selection:
    trusted, _ = sources.trusted_and_file("package")
    packages = sources.value("package") or ()
    if member is not None and not trusted and not sources.value("all-packages"):
        packages = (member,)  # uv sync in a member's folder installs that member
    return Selection(
        extras=sources.value("extras") or (),
        all_extras=bool(sources.value("all-extras")),
        groups=tuple(dict.fromkeys(sources.value("groups") or ())),
        packages=tuple(packages),
        all_packages=bool(sources.value("all-packages")),
        all_groups=bool(sources.value("all-groups")),
    )


def _loosens(trusted: Layer, file: Layer, shown: str) -> str:
    return (
        f"{file.label} {shown} would loosen {trusted.label} {trusted.value!r}: "
        f"the command line's stricter value is kept"
    )


def _limit(sources: _Sources, key: str) -> Any:
    """A single budget: the smallest of the trusted value and the files' values."""
    trusted, files = sources.trusted_and_file(key)
    kind = KEYS[key].kind
    best: Any = None
    best_trusted: Layer | None = None
    if trusted:
        best_trusted = trusted[-1]
        best = convert(kind, key, best_trusted.value, best_trusted.error(key))
        sources.chose(key, best_trusted)
    if files:
        top = files[-1]  # a member's table over the root's
        value = convert(kind, key, top.value, top.error(key))
        if best is None or value <= best:
            best = value
            sources.chose(key, top)
        elif best_trusted is not None:
            sources.notes.append(_loosens(best_trusted, top, f"{key} = {top.value!r}"))
    return best


def _flag(sources: _Sources, key: str) -> bool:
    """A check a file may switch on but never off."""
    trusted, files = sources.trusted_and_file(key)
    values = [convert("bool", key, layer.value, layer.error(key)) for layer in (*trusted[-1:], *files[-1:])]
    if trusted and values[0] and files and not values[-1]:
        sources.notes.append(_loosens(trusted[-1], files[-1], f"{key} = false"))
    if any(values):
        sources.chose(key, (trusted or files)[-1])
    return any(values)


def _percentile(sources: _Sources) -> str:
    """p95 is the stricter percentile: a file can ask for it, never drop a trusted p95 to p50."""
    trusted, files = sources.trusted_and_file("latency-percentile")
    chosen = [convert("percentile", "latency-percentile", x.value, x.error("latency-percentile")) for x in trusted[-1:]]
    picked = [convert("percentile", "latency-percentile", x.value, x.error("latency-percentile")) for x in files[-1:]]
    if chosen and picked and chosen[0] == "p95" and picked[0] == "p50":
        sources.notes.append(_loosens(trusted[-1], files[-1], "latency-percentile = 'p50'"))
        picked = []
    values = chosen + picked
    if not values:
        return "p95"
    return "p95" if "p95" in values else "p50"


def _lock_limits(sources: _Sources, selection: Selection) -> LockLimits:
    """Lock budgets: one layer from the command line and environment, one per file (root, member, and
    the root's per-package tables of the selected members). Every layer applies: the smallest limit per
    target wins, and no-accelerator targets add up."""
    trusted = _trusted_limits(sources)
    layers = [_file_limits(sources, file, selection) for file in sources.files]
    layers = [layer for layer in layers if layer.any]
    for layer in layers:
        _note_loosened(sources, trusted, layer)
    listed = [*trusted.no_accelerator_targets, *(t for layer in layers for t in layer.no_accelerator_targets)]
    no_accel = tuple(dict.fromkeys(listed))
    return trusted._replace(no_accelerator_targets=no_accel, tighter=tuple(layers))


def _trusted_limits(sources: _Sources) -> LockLimits:
    every: dict[str, int | None] = {}
    named: list[tuple[str, str, int]] = []
    for key in ("max-download", "max-accelerator"):
        trusted, _ = sources.trusted_and_file(key)
        every[key] = None
        for layer in trusted:  # environment, then command line: a higher "every target" replaces lower entries
            layer_every, layer_named = size_entries(key, layer.value, layer.error(key))
            if layer_every is not None:
                every[key] = layer_every
                named = [n for n in named if n[1] != key]
            named += [(target, key, value) for target, value in layer_named.items()]
            sources.chose(key, layer)
    listed: tuple[str, ...] = ()
    trusted_targets, _ = sources.trusted_and_file("no-accelerator-targets")
    if trusted_targets:
        top = trusted_targets[-1]
        listed = tuple(
            _target(t, top.error("no-accelerator-targets"), top.label)
            for t in as_strings(top.label, top.value, top.error("no-accelerator-targets"))
        )
        sources.chose("no-accelerator-targets", top)
    return LockLimits(every["max-download"], every["max-accelerator"], listed, tuple(named), label="command line")


def _file_limits(sources: _Sources, file: SettingsFile, selection: Selection) -> LockLimits:
    """The lock budgets one file sets: its top-level keys, `[tool.depaudit.per-target.<t>]` tables, and
    `[tool.depaudit.per-package.<member>]` tables of the selected members."""
    every: dict[str, int | None] = {"max-download": None, "max-accelerator": None}
    named: list[tuple[str, str, int]] = []
    no_accel: list[str] = []
    layer = Layer(None, "file", file.label, file)
    for key in every:
        if key in file.table:
            every[key], per = size_entries(key, file.table[key], layer.error(key))
            if key not in sources.origins:
                sources.chose(key, Layer(file.table[key], "file", file.label, file))
            named += [(t, key, v) for t, v in per.items()]
    if "no-accelerator-targets" in file.table:
        error = layer.error("no-accelerator-targets")
        no_accel += [
            _target(t, error, "no-accelerator-targets")
            for t in as_strings("no-accelerator-targets", file.table["no-accelerator-targets"], error)
        ]
    for target, entry in _table(file, "per-target").items():
        error = _sub_error(file, f"per-target.{target}")
        _target(target, error, "table")
        named += [
            (target, k, convert("size", k, entry[k], error)) for k in ("max-download", "max-accelerator") if k in entry
        ]
        if convert("bool", "no-accelerator", entry.get("no-accelerator", False), error):
            no_accel.append(target)
    chosen = set(selection.packages)
    for member, entry in _table(file, "per-package").items():
        if member not in chosen and not selection.all_packages:
            continue
        error = _sub_error(file, f"per-package.{member}")
        for key in ("max-download", "max-accelerator"):
            if key in entry:
                member_every, per = size_entries(key, entry[key], error)
                known = [v for v in (every[key], member_every) if v is not None]
                every[key] = min(known) if known else None
                named += [(t, key, v) for t, v in per.items()]
        if "no-accelerator-targets" in entry:
            no_accel += [
                _target(t, error, "no-accelerator-targets")
                for t in as_strings("no-accelerator-targets", entry["no-accelerator-targets"], error)
            ]
    return LockLimits(
        every["max-download"], every["max-accelerator"], tuple(dict.fromkeys(no_accel)), tuple(named), label=file.label
    )


def _sub_error(file: SettingsFile, table: str) -> Callable[[str], DepauditError]:
    return lambda what: file.error(f"[tool.depaudit.{table}] {what}")


def _note_loosened(sources: _Sources, trusted: LockLimits, layer: LockLimits) -> None:
    """One note per size budget a file sets above the trusted one (the trusted one still applies)."""
    for key in ("max-download", "max-accelerator"):
        for target in DEFAULT_TARGETS:
            mine, theirs = trusted.own_limit(key, target), layer.own_limit(key, target)
            if mine is not None and theirs is not None and theirs > mine:
                sources.notes.append(
                    f"{layer.label} {key} {format_size(theirs)} would loosen the command line's "
                    f"{format_size(mine)}: the stricter budget is kept"
                )
                break


def _targets(sources: _Sources, limits: LockLimits) -> tuple[str, ...] | None:
    """The targets to scan and check. The file's are added to the command line's; when the command
    line (or environment) asks for a check but names no target, the check covers every default target
    plus the file's (a file cannot narrow it)."""
    trusted, files = sources.trusted_and_file("targets")

    def names(layer: Layer) -> list[str]:
        return list(convert("targets", "targets", layer.value, layer.error("targets")))

    named = names(trusted[-1]) if trusted else []
    from_file = names(files[-1]) if files else []
    if trusted:
        sources.chose("targets", trusted[-1])
    if named:
        return tuple(dict.fromkeys([*named, *from_file]))
    if from_file and _trusted_check(sources):
        if set(DEFAULT_TARGETS) - set(from_file):
            sources.notes.append(
                f"{files[-1].label} targets = {from_file!r} would narrow the checks the command line asks "
                f"for: every default target is checked too"
            )
        return tuple(dict.fromkeys([*DEFAULT_TARGETS, *from_file]))
    if from_file:
        sources.chose("targets", files[-1])
        return tuple(from_file)
    return None


def _trusted_check(sources: _Sources) -> bool:
    """True when the command line or environment asks for a check or selects rules."""
    return any(sources.trusted_and_file(key)[0] for key in (*CHECK_RULES, "select"))


def _hosts(sources: _Sources) -> HostAllowance:
    trusted, files = sources.trusted_and_file("allow-hosts")
    mine = convert("list", "allow-hosts", trusted[-1].value, trusted[-1].error("allow-hosts")) if trusted else ()
    theirs = tuple(h for f in files for h in convert("list", "allow-hosts", f.value, f.error("allow-hosts")))
    if trusted:
        sources.chose("allow-hosts", trusted[-1])
    return HostAllowance(tuple(mine), tuple(dict.fromkeys(theirs)))


def _rules(sources: _Sources, command: str, limits: LockLimits) -> RuleConfig:
    """select/ignore for `command`: the command line's replace the environment's; the files' (their
    `[tool.depaudit.<command>]` over their top level) apply where no trusted value is given, and their
    ignores add to the trusted ones. Pinned: the rule IDs the command line or environment selects by
    name and the DA5xx rules of the checks they ask for; no file value drops them."""
    values: dict[str, tuple[str, ...]] = {}
    labels: list[tuple[str, str]] = []
    for key in ("select", "ignore"):
        trusted = [x for x in sources.layers(key) if x.trusted]
        if trusted:
            top = trusted[-1]
            raw = top.value if isinstance(top.value, (list, tuple)) else [str(top.value)]
            values[key] = rule_prefixes(raw, top.label)
            labels.append((key, top.label))
    file_values: dict[str, tuple[str, ...]] = {}
    per_path: tuple[PathRule, ...] = ()
    for file in sources.files:
        section = _table(file, command) if command in COMMAND_SECTIONS else {}
        for key in ("select", "ignore"):
            table, where = (
                (section, f"[tool.depaudit.{command}]") if key in section else (file.table, "[tool.depaudit]")
            )
            if key in table:
                error = (
                    _sub_error(file, command) if table is section else Layer(None, "file", file.label, file).error(key)
                )
                file_values[key] = rule_prefixes(as_strings(key, table[key], error), f"{where} {key}", error)
                if key not in values or key == "ignore":
                    labels.insert(0, (key, f"{file.path} {where}"))
        if command == "lint":
            per_path = per_path + _per_path(file, section)
    select = values.get("select", file_values.get("select", ()))
    ignore = tuple(dict.fromkeys([*values.get("ignore", ()), *file_values.get("ignore", ())]))
    trusted_ignore = values.get("ignore", ())
    # Pinned: full rule IDs the command line or environment selects (a prefix such as DA3 picks a scope,
    # where the project's own ignores still apply) and the DA5xx rules of the checks they ask for.
    named = [p for p in values.get("select", ()) if len(p) == RULE_ID_LENGTH]
    pinned = tuple(p for p in (*named, *_pinned_checks(sources)) if not p.startswith(trusted_ignore or ("\0",)))
    _note_dropped(sources, pinned, file_values, per_path)
    return RuleConfig(select, ignore, per_path, tuple(labels), pinned=tuple(dict.fromkeys(pinned)))


def _pinned_checks(sources: _Sources) -> list[str]:
    """The rules of the checks the command line or environment asks for; with a size budget, DA105 too
    (a lock whose sizes differ from the index's is said, whatever the checkout ignores)."""
    rules = [rule for key, rule in CHECK_RULES.items() if sources.trusted_and_file(key)[0]]
    if any(rule in rules for rule in ("DA501", "DA502", "DA503", "DA506")):
        rules.append("DA105")
    return rules


def _note_dropped(
    sources: _Sources,
    pinned: tuple[str, ...],
    file_values: Mapping[str, tuple[str, ...]],
    per_path: tuple[PathRule, ...],
) -> None:
    for rule in pinned:
        ignored = any(rule.startswith(p) or p.startswith(rule) for p in file_values.get("ignore", ()))
        unselected = "select" in file_values and not any(rule.startswith(p) for p in file_values["select"])
        by_path = any(rule.startswith(p.ignore) for p in per_path if p.ignore) or any(
            p.select and not rule.startswith(p.select) for p in per_path
        )
        if ignored or unselected or by_path:
            sources.notes.append(f"[tool.depaudit] would drop {rule}, which the command line asks for: it runs")


def _per_path(file: SettingsFile, lint: Mapping[str, Any]) -> tuple[PathRule, ...]:
    entries = lint.get("per-path", {})
    if not isinstance(entries, dict):
        raise file.error("[tool.depaudit.lint.per-path] must be a table", "per-path", "tool.depaudit.lint")
    out = []
    for pattern, entry in entries.items():
        where = f"[tool.depaudit.lint.per-path] {pattern!r}:"
        error = _sub_error(file, "lint.per-path")
        if not isinstance(entry, dict) or set(entry) - {"select", "ignore"}:
            raise error(f"{pattern!r}: expected {{ select = [...], ignore = [...] }}")
        parts = {
            k: rule_prefixes(as_strings(k, entry[k], error), f"{where} {k}", error)
            for k in ("select", "ignore")
            if k in entry
        }
        out.append(PathRule(pattern, file.path.parent, parts.get("select", ()), parts.get("ignore", ())))
    return tuple(out)


def scan_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of `depaudit.scan.scan_lock` that come from the settings (one place for
    every command that scans)."""
    return {
        "targets": list(settings.targets) if settings.targets else None,
        "python": settings.python,
        "selection": settings.selection,
        "offline": settings.offline,
        "cache_dir": settings.cache_dir,
        "allow_hosts": settings.hosts.trusted,
        "project_hosts": settings.hosts.project,
        "deployment": settings.macos_deployment,
        "lookup_deadline": settings.lookup_deadline,
    }

"""depaudit.settings: one schema read once. Precedence (defaults < [tool.depaudit] < DEPAUDIT_* < command
line) for what to measure; the trust rules (a checkout's file may tighten what the command line or the
environment asked, never loosen it); unknown keys refused with the nearest valid key; machine settings
never from a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from depaudit.errors import InputError
from depaudit.project import open_project
from depaudit.rules.engine import RuleSelection
from depaudit.settings import Settings, SettingsFile, default_cache_dir, default_state_dir, load_settings


def _file(tmp_path: Path, body: str) -> SettingsFile:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "demo"\nversion = "0"\n\n[tool.depaudit]\n' + body)
    root = open_project(tmp_path).root_file
    assert root is not None
    return root.settings


def _load(
    tmp_path: Path, body: str, cli: dict | None = None, env: dict | None = None, command: str = "gate"
) -> Settings:
    return load_settings(command, [_file(tmp_path, body)], env or {}, cli or {})


def _wants(settings: Settings, rule: str) -> bool:
    rules = settings.rules.effective()
    return RuleSelection(rules.select, rules.ignore).wants(rule)


# ---------------------------------------------------------------- precedence for choices


def test_choices_follow_file_then_environment_then_command_line(tmp_path):
    body = 'python = "3.12"\ndocs-url = "https://docs.example/rules/"\n'
    assert _load(tmp_path, body).python == "3.12"
    assert _load(tmp_path, body, env={"DEPAUDIT_PYTHON": "3.13"}).python == "3.13"
    settings = _load(tmp_path, body, cli={"python": "3.11"}, env={"DEPAUDIT_PYTHON": "3.13"})
    assert settings.python == "3.11" and settings.origin("python") == "--python"
    assert settings.docs_url == "https://docs.example/rules/" and settings.origin("docs-url").endswith(
        "[tool.depaudit]"
    )


def test_selection_keys_and_the_member_of_the_working_folder(tmp_path):
    body = 'package = "svc"\nextras = ["cpu"]\ngroups = ["serve"]\n'
    settings = _load(tmp_path, body)
    assert settings.selection.packages == ("svc",) and settings.selection.extras == ("cpu",)
    assert settings.selection.groups == ("serve",)
    # uv sync in a member's folder installs that member; the command line still names any member
    inside = load_settings("scan", [_file(tmp_path, body)], {}, {}, member="worker")
    assert inside.selection.packages == ("worker",)
    named = load_settings("scan", [_file(tmp_path, body)], {}, {"package": ["svc"]}, member="worker")
    assert named.selection.packages == ("svc",)


def test_the_lock_and_bench_report_a_gate_measures_come_from_the_command_line_only(tmp_path):
    """A checkout could point them at a lock nobody installs or a report it wrote itself."""
    settings = _load(tmp_path, 'lock = "locks/uv.lock"\nbench-report = "reports/images.json"\n')
    assert settings.lock is None and settings.bench_report is None
    assert sum("it would loosen a check" in note for note in settings.notes) == 2
    assert _load(tmp_path, 'lock = "a.lock"\n', cli={"lock": "b.lock"}).lock == Path("b.lock")


def test_cache_and_state_folders(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg-cache"), "XDG_STATE_HOME": str(tmp_path / "xdg-state")}
    assert default_cache_dir(env) == tmp_path / "xdg-cache" / "depaudit"
    assert default_state_dir(env) == tmp_path / "xdg-state" / "depaudit"
    assert default_cache_dir({}) == Path.home() / ".cache" / "depaudit"
    assert default_state_dir({}) == Path.home() / ".local" / "state" / "depaudit"
    explicit = load_settings("scan", [], {**env, "DEPAUDIT_CACHE_DIR": str(tmp_path / "c"), "DEPAUDIT_STATE_DIR": "s"})
    assert (explicit.cache_dir, explicit.state_dir) == (tmp_path / "c", Path("s"))
    assert load_settings("scan", [], env, {"cache-dir": str(tmp_path / "cli")}).cache_dir == tmp_path / "cli"


# ---------------------------------------------------------------- unknown keys


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            'max-acclerator = "0"\n',
            r"pyproject.toml:6: \[tool.depaudit\] 'max-acclerator' is not a depaudit setting; did you mean 'max-accelerator'\?",
        ),
        (
            '\n[tool.depaudit.per-target.linux-x86_64]\nmax-downlod = "1GB"\n',
            r"\[tool.depaudit.per-target.linux-x86_64\] 'max-downlod' .* did you mean 'max-download'",
        ),
        ('\n[tool.depaudit.lint]\nignor = ["DA301"]\n', r"\[tool.depaudit.lint\] 'ignor' .* did you mean 'ignore'"),
        (
            "\n[tool.depaudit.per-package.svc]\nno-accelerator = true\n",
            r"'no-accelerator' .* did you mean 'no-accelerator-targets'",
        ),
        ('\n[tool.depaudit.gat]\nselect = ["DA5"]\n', r"'gat' is not a depaudit setting; did you mean 'gate'"),
        ("zzz = 1\n", r"'zzz' is not a depaudit setting \(known: "),
    ],
)
def test_unknown_keys_are_errors_naming_the_nearest_key(tmp_path, body, message):
    with pytest.raises(InputError, match=message) as info:
        _load(tmp_path, body)
    assert info.value.exit_code == 3


def test_a_misspelt_environment_variable_is_said(tmp_path):
    settings = load_settings("gate", [], {"DEPAUDIT_MAX_ACCELRATOR": "0", "DEPAUDIT_DOCKERD_LOG": "/x"})
    assert settings.notes == (
        "DEPAUDIT_MAX_ACCELRATOR is not a depaudit setting (did you mean DEPAUDIT_MAX_ACCELERATOR?); ignored",
    )


# ---------------------------------------------------------------- the checkout may tighten, never loosen


def test_a_file_budget_tightens_and_never_raises_the_command_lines(tmp_path):
    tighter = _load(tmp_path, 'max-download = "300MB"\n', cli={"max-download": ["500MB"]})
    assert tighter.limits.limit("max-download", "linux-x86_64") == 300 * 10**6 and not tighter.notes
    looser = _load(
        tmp_path,
        'max-download = "5GB"\nmax-image-size = "9GB"\n',
        cli={"max-download": ["500MB"], "max-image-size": "250MB"},
    )
    assert looser.limits.limit("max-download", "linux-x86_64") == 500 * 10**6
    assert looser.max_image_size == 250 * 10**6
    assert any("max-download 5.0 GB would loosen" in n for n in looser.notes)
    assert any("max-image-size = '9GB' would loosen --max-image-size '250MB'" in n for n in looser.notes)
    per_target = _load(
        tmp_path,
        '\n[tool.depaudit.per-target.linux-x86_64]\nmax-accelerator = "3GB"\n',
        env={"DEPAUDIT_MAX_ACCELERATOR": "0"},
    )
    assert per_target.limits.limit("max-accelerator", "linux-x86_64") == 0


def test_a_file_adds_to_what_must_be_checked_and_never_removes(tmp_path):
    settings = _load(
        tmp_path,
        'no-accelerator-targets = ["macos-arm64"]\nfail-on-new-accelerator = false\n',
        cli={"no-accelerator-targets": ["linux-x86_64"], "fail-on-new-accelerator": True},
    )
    assert settings.limits.no_accelerator_targets == ("linux-x86_64", "macos-arm64")
    assert settings.fail_on_new_accelerator
    assert _load(tmp_path, "fail-on-new-accelerator = true\n").fail_on_new_accelerator
    assert (
        _load(tmp_path, 'latency-percentile = "p50"\n', cli={"latency-percentile": "p95"}).latency_percentile == "p95"
    )


def test_targets_from_a_file_cannot_narrow_a_check_the_command_line_asks_for(tmp_path):
    body = 'targets = ["macos-arm64"]\n'
    narrowed = _load(tmp_path, body, cli={"max-accelerator": ["0"], "no-accelerator-targets": ["linux-x86_64"]})
    assert narrowed.targets is not None and {"linux-x86_64", "linux-aarch64", "macos-arm64", "windows-amd64"} <= set(
        narrowed.targets
    )
    assert any("would narrow the checks" in n for n in narrowed.notes)
    assert _load(tmp_path, body, cli={"targets": ["linux-x86_64"]}).targets == ("linux-x86_64", "macos-arm64")
    assert _load(tmp_path, body).targets == ("macos-arm64",)  # no check from the command line: the project chooses


@pytest.mark.parametrize(
    "body",
    [
        'ignore = ["DA502", "DA503"]\n',
        'select = ["DA1"]\n',
        'ignore = ["DA5"]\n',
        '\n[tool.depaudit.gate]\nignore = ["DA50"]\n',
    ],
)
def test_a_file_cannot_drop_the_rule_of_a_budget_the_command_line_sets(tmp_path, body):
    settings = _load(tmp_path, body, cli={"max-accelerator": ["0"], "no-accelerator-targets": ["linux-x86_64"]})
    assert _wants(settings, "DA502") and _wants(settings, "DA503")
    assert any("would drop DA502" in n for n in settings.notes)


def test_a_file_still_silences_rules_the_command_line_did_not_ask_for(tmp_path):
    settings = _load(tmp_path, 'ignore = ["DA1", "DA501"]\n', cli={"max-accelerator": ["0"]}, command="scan")
    assert not _wants(settings, "DA101") and not _wants(settings, "DA501") and _wants(settings, "DA502")
    scoped = _load(tmp_path, 'ignore = ["DA302"]\n', cli={"select": ["DA3"]}, command="lint")
    assert not _wants(scoped, "DA302") and _wants(scoped, "DA301")  # a prefix picks a scope
    named = _load(tmp_path, 'ignore = ["DA302"]\n', cli={"select": ["DA302", "DA301"]}, command="lint")
    assert _wants(named, "DA302") and any("would drop DA302" in n for n in named.notes)  # a rule by name runs


def test_rule_layers(tmp_path):
    body = 'ignore = ["DA202"]\nselect = ["DA1", "DA2"]\n\n[tool.depaudit.lint]\nselect = ["DA3"]\n\n[tool.depaudit.lint.per-path]\n"docker/*" = { ignore = ["DA301"] }\n'
    lint = _load(tmp_path, body, command="lint").rules
    assert lint.select == ("DA3",) and lint.ignore == ("DA202",) and lint.per_path[0].ignore == ("DA301",)
    scan = _load(tmp_path, body, command="scan").rules
    assert scan.select == ("DA1", "DA2") and scan.per_path == ()
    env = _load(tmp_path, body, env={"DEPAUDIT_IGNORE": "DA101,DA102"}, command="scan").rules
    assert env.ignore == ("DA101", "DA102", "DA202")  # ignores add up; a file's cannot be undone by it
    cli = _load(tmp_path, body, cli={"select": ["DA104"]}, env={"DEPAUDIT_SELECT": "DA1"}, command="scan").rules
    assert cli.select == ("DA104",) and dict(cli.sources)["select"] == "--select"
    with pytest.raises(InputError, match=r"\[tool.depaudit\] ignore: 'DA1O1' is not a rule ID"):
        _load(tmp_path, 'ignore = ["DA1O1"]\n', command="lint")


def test_allowed_hosts_from_a_file_are_the_projects_not_the_runners(tmp_path):
    settings = _load(
        tmp_path, 'allow-hosts = ["mirror.internal", "127.0.0.1"]\n', env={"DEPAUDIT_ALLOW_HOSTS": "pypi.corp"}
    )
    assert settings.hosts.trusted == ("pypi.corp",)
    assert settings.hosts.project == ("mirror.internal", "127.0.0.1")


@pytest.mark.parametrize(
    "key", ["offline = true", 'cache-dir = ".git/hooks"', 'state-dir = "/"', 'max-input-bytes = "1TB"']
)
def test_machine_settings_never_come_from_a_file(tmp_path, key):
    settings = _load(tmp_path, key + "\n")
    assert not settings.offline and settings.cache_dir == default_cache_dir({})
    assert settings.state_dir == default_state_dir({})
    assert len(settings.notes) == 1 and "ignored (how depaudit works on this machine is set by" in settings.notes[0]


# ---------------------------------------------------------------- workspaces


def test_a_members_own_table_and_per_package_budgets_apply_to_it(tmp_path):
    root = tmp_path / "ws"
    (root / "svc").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "ws"\nversion = "0"\n\n[tool.uv.workspace]\nmembers = ["svc"]\n\n'
        '[tool.depaudit]\nmax-download = "2GB"\n\n[tool.depaudit.per-package.svc]\nmax-accelerator = "0"\n'
    )
    (root / "svc" / "pyproject.toml").write_text(
        '[project]\nname = "svc"\nversion = "0"\n\n[tool.depaudit]\nmax-download = "1GB"\n'
    )
    (root / "uv.lock").write_text("version = 1\n")
    from_root = open_project(root)
    plain = load_settings("gate", from_root.settings_files, {}, {}, member_files=from_root.member_settings)
    assert plain.limits.limit("max-download", "linux-x86_64") == 2 * 10**9
    assert plain.limits.limit("max-accelerator", "linux-x86_64") is None
    named = load_settings(
        "gate", from_root.settings_files, {}, {"package": ["svc"]}, member_files=from_root.member_settings
    )
    assert named.limits.limit("max-download", "linux-x86_64") == 10**9
    assert named.limits.limit("max-accelerator", "linux-x86_64") == 0
    inside = open_project(root / "svc")
    assert inside.member == "svc" and [f.path for f in inside.settings_files] == [
        root / "pyproject.toml",
        root / "svc" / "pyproject.toml",
    ]
    from_member = load_settings(
        "gate", inside.settings_files, {}, {}, member_files=inside.member_settings, member=inside.member
    )
    assert from_member.selection.packages == ("svc",)
    assert from_member.limits.limit("max-download", "linux-x86_64") == 10**9
    assert from_member.limits.limit("max-accelerator", "linux-x86_64") == 0

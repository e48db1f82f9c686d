def test_flags_missing_user(lint_fixture):
    assert lint_fixture("no-user.Dockerfile", "DA307") == [(1, "DA307")]


def test_flags_last_user_root(lint_fixture):
    assert lint_fixture("root-user.Dockerfile", "DA307") == [(5, "DA307")]


def test_non_root_user_passes(lint_fixture):
    assert lint_fixture("clean-multistage.Dockerfile", "DA307") == []


def test_user_in_builder_stage_does_not_count_but_parent_stage_does(lint_text):
    text = 'FROM python:3.11-slim AS b\nUSER 1000\nFROM python:3.11-slim\nCMD ["x"]\n'
    assert lint_text(text, rule="DA307") == [(3, "DA307")]
    text = 'FROM python:3.11-slim AS b\nUSER 1000\nFROM b\nCMD ["x"]\n'
    assert lint_text(text, rule="DA307") == []


def test_uid_zero_with_group_is_root(lint_text):
    assert lint_text("FROM python:3.11-slim\nUSER 0:1000\n", rule="DA307") == [(2, "DA307")]


def test_inline_ignore_above_from(lint_text):
    text = '# depaudit: ignore=DA307\nFROM python:3.11-slim\nCMD ["x"]\n'
    assert lint_text(text, rule="DA307") == []

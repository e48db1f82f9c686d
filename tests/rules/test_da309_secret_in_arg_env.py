from depaudit.rules.da309_secret_in_arg_env import is_secret_name


def test_flags_secret_args_and_envs(lint_fixture):
    assert lint_fixture("secrets.Dockerfile", "DA309") == [(1, "DA309"), (3, "DA309"), (4, "DA309"), (6, "DA309")]


def test_clean_file_passes(lint_fixture):
    assert lint_fixture("clean-multistage.Dockerfile", "DA309") == []


def test_names():
    for name in (
        "HF_TOKEN",
        "API_KEY",
        "OPENAI_API_KEY",
        "AWS_SECRET_ACCESS_KEY",
        "DB_PASSWORD",
        "PASSWORD",
        "GITHUB_TOKEN",
        "SECRET",
        "PIP_INDEX_PASSWORD",
        "SSH_PRIVATE_KEY",
    ):
        assert is_secret_name(name), name
    for name in (
        "GPG_KEY",
        "TOKEN_FILE",
        "HF_TOKEN_PATH",
        "SSH_PUBLIC_KEY",
        "PORT",
        "KEYBOARD",
        "TOKENIZERS_PARALLELISM",
        "CLIENT_ID",
    ):
        assert not is_secret_name(name), name


def test_env_with_empty_value_passes(lint_text):
    assert lint_text('FROM python:3.11-slim\nENV HF_TOKEN=""\nUSER 1\n', rule="DA309") == []


def test_inline_ignore(lint_text):
    text = "FROM python:3.11-slim\nARG NPM_TOKEN  # depaudit: ignore=DA309\nUSER 1\n"
    assert lint_text(text, rule="DA309") == []

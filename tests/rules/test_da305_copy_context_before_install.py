def test_flags_copy_all_before_install(lint_fixture):
    assert lint_fixture("copy-all-first.Dockerfile", "DA305") == [(3, "DA305")]


def test_copy_all_after_install_passes(lint_fixture):
    assert lint_fixture("copy-all-last.Dockerfile", "DA305") == []


def test_add_dot_and_apt_install_after(lint_text):
    text = "FROM python:3.11-slim\nADD . /src\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\nUSER 1\n"
    assert lint_text(text, rule="DA305") == [(2, "DA305")]


def test_copy_from_stage_and_install_in_other_stage_pass(lint_text):
    text = (
        "FROM python:3.11-slim AS src\nCOPY . /src\n"
        "FROM python:3.11-slim\nRUN pip install --no-cache-dir numpy\nCOPY --from=src /src /app\nUSER 1\n"
    )
    assert lint_text(text, rule="DA305") == []


def test_local_project_install_with_deps_after_copy_all(lint_text):
    text = "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nRUN pip install --no-cache-dir .\nUSER 1\n"
    assert lint_text(text, rule="DA305") == [(3, "DA305")]


def test_inline_ignore(lint_text):
    text = (
        "FROM python:3.11-slim\nCOPY . .  # depaudit: ignore=DA305\nRUN pip install --no-cache-dir -r r.txt\nUSER 1\n"
    )
    assert lint_text(text, rule="DA305") == []

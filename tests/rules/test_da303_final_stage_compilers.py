def test_flags_compilers_in_single_stage(lint_fixture):
    assert lint_fixture("single-stage-compilers.Dockerfile", "DA303") == [(2, "DA303")]


def test_compilers_in_builder_stage_pass(lint_fixture):
    assert lint_fixture("clean-multistage.Dockerfile", "DA303") == []


def test_compilers_purged_pass(lint_fixture):
    assert lint_fixture("compilers-purged.Dockerfile", "DA303") == []


def test_clang_in_a_tinygrad_runtime_is_required_not_flagged(lint_fixture, lint_text):
    assert lint_fixture("tinygrad-clang.Dockerfile", "DA303") == []
    single = (
        "FROM python:3.11-slim\nRUN apt-get update && apt-get install -y clang-16 && rm -rf /var/lib/apt/lists/*\n"
        "RUN pip install --no-cache-dir tinygrad==0.14.0\nUSER 1\n"
    )
    assert lint_text(single, rule="DA303") == []


def test_clang_without_tinygrad_is_flagged_and_gcc_with_tinygrad_still_is(lint_text):
    text = (
        "FROM python:3.11-slim\nRUN apt-get update && apt-get install -y clang gcc && rm -rf /var/lib/apt/lists/*\n"
        "USER 1\n"
    )
    assert lint_text(text, rule="DA303") == [(2, "DA303")]
    tiny = text.replace("USER 1", "RUN pip install --no-cache-dir tinygrad\nUSER 1")
    assert lint_text(tiny, rule="DA303") == [(2, "DA303")]


def test_alpine_and_other_packages(lint_text):
    text = "FROM python:3.11-alpine\nRUN apk add --no-cache build-base\nUSER 1\n"
    assert lint_text(text, rule="DA303") == [(2, "DA303")]
    text = "FROM python:3.11-slim\nRUN apt-get update && apt-get install -y libgomp1 && rm -rf /var/lib/apt/lists/*\nUSER 1\n"
    assert lint_text(text, rule="DA303") == []


def test_inline_ignore(lint_text):
    text = (
        "FROM python:3.11-slim\n# depaudit: ignore=DA303\n"
        "RUN apt-get update && apt-get install -y gcc && rm -rf /var/lib/apt/lists/*\nUSER 1\n"
    )
    assert lint_text(text, rule="DA303") == []

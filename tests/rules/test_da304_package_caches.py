def test_flags_pip_uv_and_apt_caches(lint_fixture):
    assert lint_fixture("caches.Dockerfile", "DA304") == [
        (2, "DA304"),
        (3, "DA304"),
        (4, "DA304"),
        (5, "DA304"),
        (6, "DA304"),
    ]


def test_env_settings_builder_stages_and_cache_mounts_pass(lint_fixture):
    assert lint_fixture("caches-off.Dockerfile", "DA304") == []


def test_flags_are_recognised(lint_text):
    text = (
        "FROM python:3.11-slim\nRUN pip install --no-cache-dir numpy\nRUN uv --no-cache pip install --system x\n"
        "RUN uv sync --no-cache\nRUN PIP_NO_CACHE_DIR=1 pip install y\nUSER 1\n"
    )
    assert lint_text(text, rule="DA304") == []


def test_uv_flag_does_not_count_for_pip(lint_text):
    text = "FROM python:3.11-slim\nENV UV_NO_CACHE=1\nRUN pip install numpy\nUSER 1\n"
    assert lint_text(text, rule="DA304") == [(3, "DA304")]


def test_pip_no_cache_dir_false_keeps_the_cache(lint_text):
    text = "FROM python:3.11-slim\nENV PIP_NO_CACHE_DIR=0\nRUN pip install numpy\nUSER 1\n"
    assert lint_text(text, rule="DA304") == [(3, "DA304")]


def test_apt_lists_removed_in_a_later_run_still_flagged(lint_text):
    text = (
        "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y curl\n"
        "RUN rm -rf /var/lib/apt/lists/*\nUSER 1\n"
    )
    assert lint_text(text, rule="DA304") == [(2, "DA304")]


def test_inline_ignore_inside_continuation(lint_fixture):
    assert lint_fixture("ignored.Dockerfile", "DA304") == []

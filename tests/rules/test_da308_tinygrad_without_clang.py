def test_flags_tinygrad_copied_from_builder_without_clang(lint_fixture):
    assert lint_fixture("tinygrad-no-clang.Dockerfile", "DA308") == [(5, "DA308")]


def test_clang_in_runtime_stage_passes(lint_fixture):
    assert lint_fixture("tinygrad-clang.Dockerfile", "DA308") == []


def test_clang_only_in_builder_is_not_enough(lint_text):
    text = (
        "FROM python:3.11-slim AS b\nRUN apt-get update && apt-get install -y clang && rm -rf /var/lib/apt/lists/*\n"
        "RUN pip install --no-cache-dir --target /deps tinygrad\n"
        "FROM python:3.11-slim\nCOPY --from=b /deps /deps\nUSER 1\n"
    )
    assert lint_text(text, rule="DA308") == [(4, "DA308")]


def test_tinygrad_via_requirements_file(lint_text):
    text = "FROM python:3.11-slim\nCOPY req.txt .\nRUN pip install --no-cache-dir -r req.txt\nUSER 1\n"
    assert lint_text(text, {"req.txt": "tinygrad==0.14.0\n"}, rule="DA308") == [(1, "DA308")]
    assert lint_text(text, {"req.txt": "onnxruntime==1.32.0\n"}, rule="DA308") == []


def test_tinygrad_only_in_an_unshipped_stage_passes(lint_text):
    text = "FROM python:3.11-slim AS export\nRUN pip install --no-cache-dir tinygrad\nFROM python:3.11-slim\nUSER 1\n"
    assert lint_text(text, rule="DA308") == []


def test_inline_ignore(lint_text):
    text = "# depaudit: ignore=DA308\nFROM python:3.11-slim\nRUN pip install --no-cache-dir tinygrad\nUSER 1\n"
    assert lint_text(text, rule="DA308") == []

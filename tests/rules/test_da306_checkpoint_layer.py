from depaudit.analysis.docker_stages import is_checkpoint_path


def test_flags_checkpoint_before_install_and_with_code(lint_fixture):
    assert lint_fixture("checkpoint-early.Dockerfile", "DA306") == [(3, "DA306"), (6, "DA306")]


def test_checkpoint_in_its_own_late_layer_passes(lint_fixture):
    assert lint_fixture("clean-multistage.Dockerfile", "DA306") == []


def test_checkpoint_paths():
    for path in (
        "gmnet.pth",
        "models/x.pt",
        "./assets/gmnet.onnx",
        "m.safetensors",
        "a.ckpt",
        "weights/pytorch_model.bin",
        "models/",
        "checkpoints",
    ):
        assert is_checkpoint_path(path), path
    for path in ("app.py", "data.bin", "assets/", "requirements.txt", ".", "src/models.py"):
        assert not is_checkpoint_path(path), path


def test_copy_from_another_stage_is_not_judged(lint_text):
    text = (
        "FROM python:3.11-slim AS fetch\nRUN echo\nFROM python:3.11-slim\nCOPY --from=fetch /m/model.onnx /app/\n"
        "RUN pip install --no-cache-dir numpy\nUSER 1\n"
    )
    assert lint_text(text, rule="DA306") == []


def test_inline_ignore(lint_text):
    text = "FROM python:3.11-slim\n# depaudit: ignore=DA306\nCOPY model.onnx app.py /app/\nUSER 1\n"
    assert lint_text(text, rule="DA306") == []
    assert lint_text(text.replace("# depaudit: ignore=DA306\n", ""), rule="DA306") == [(2, "DA306")]

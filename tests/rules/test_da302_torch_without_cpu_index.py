"""DA302: torch installed from PyPI (the CUDA build on Linux) by pip, uv pip or `uv sync` in a Dockerfile."""

from __future__ import annotations

from pathlib import Path

from depaudit.lint import lint_dockerfile


def test_flags_torch_from_pypi_once_per_install(lint_fixture):
    assert lint_fixture("torch-pypi.Dockerfile", "DA302") == [(3, "DA302")]


def test_cpu_index_plus_cpu_pin_torch_backend_and_env_index_pass(lint_fixture):
    assert lint_fixture("torch-cpu-index.Dockerfile", "DA302") == []


def test_flags_torch_reached_through_nested_requirements_files(lint_fixture):
    # docker/Dockerfile copies docker/req-runtime.txt -> /tmp/req.txt, which -r's base.txt (torchvision)
    assert lint_fixture("torch-reqfile/docker/Dockerfile", "DA302") == [(4, "DA302")]


def test_requirements_file_naming_the_cpu_index_passes(lint_text):
    files = {"requirements.txt": "--extra-index-url https://download.pytorch.org/whl/cpu\ntorch==2.13.0\n"}
    text = (
        "FROM python:3.11-slim\nCOPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\nUSER 1\n"
    )
    assert lint_text(text, files, rule="DA302") == []
    files = {"requirements.txt": "numpy\ntorch==2.13.0\n"}
    assert lint_text(text, files, rule="DA302") == [(3, "DA302")]


def test_missing_requirements_file_is_not_guessed(lint_text):
    text = "FROM python:3.11-slim\nRUN pip install --no-cache-dir -r requirements.txt\nUSER 1\n"
    assert lint_text(text, rule="DA302") == []


def test_index_from_a_build_arg_default(lint_text):
    text = (
        "FROM python:3.11-slim\nARG TORCH_INDEX=https://download.pytorch.org/whl/cpu\n"
        "RUN pip install --no-cache-dir --index-url $TORCH_INDEX torch\nUSER 1\n"
    )
    assert lint_text(text, rule="DA302") == []
    cuda = text.replace("/whl/cpu", "/whl/cu121")
    assert lint_text(cuda, rule="DA302") == []  # a CUDA index is a choice, not the PyPI default


def test_uv_pip_and_python_m_pip_are_recognised(lint_text):
    text = (
        "FROM python:3.11-slim\nRUN uv pip install --system --no-cache torchaudio\n"
        "RUN python3.11 -m pip install --no-cache-dir 'torch>=2'\nUSER 1\n"
    )
    assert lint_text(text, rule="DA302") == [(2, "DA302"), (3, "DA302")]


def test_uv_sync_of_a_pyproject_with_torch(lint_text):
    pyproject = '[project]\nname = "svc"\nversion = "1"\ndependencies = ["torch>=2.3", "numpy"]\n'
    text = "FROM python:3.11-slim\nCOPY . .\nRUN uv sync --frozen --no-cache\nUSER 1\n"
    assert lint_text(text, {"pyproject.toml": pyproject}, rule="DA302") == [(3, "DA302")]
    configured = (
        pyproject
        + '[[tool.uv.index]]\nname = "pytorch-cpu"\nurl = "https://download.pytorch.org/whl/cpu"\nexplicit = true\n'
    )
    assert lint_text(text, {"pyproject.toml": configured}, rule="DA302") == []


def test_other_packages_named_like_torch_are_not_flagged(lint_text):
    text = "FROM python:3.11-slim\nRUN pip install --no-cache-dir torchmetrics pytorch-lightning-bolts\nUSER 1\n"
    assert lint_text(text, rule="DA302") == []


def test_inline_ignore_at_end_of_line(lint_text):
    text = "FROM python:3.11-slim\nRUN pip install --no-cache-dir torch  # depaudit: ignore=DA302\nUSER 1\n"
    assert lint_text(text, rule="DA302") == []


# --- `uv sync` installs what uv.lock locks: the rule reads the lock in the build context -------------------

LOCKS = Path(__file__).resolve().parents[1] / "fixtures" / "locks"
UV_SYNC = "FROM python:3.11-slim\nCOPY . .\nRUN uv sync --frozen --no-cache\nUSER 1\n"


def _project(name: str) -> dict[str, str]:
    folder = LOCKS / name
    return {f: (folder / f).read_text() for f in ("pyproject.toml", "uv.lock")}


def _messages(tmp_path: Path, files: dict[str, str]) -> list[str]:
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    (tmp_path / "Dockerfile").write_text(UV_SYNC)
    return [f.message for f in lint_dockerfile(tmp_path / "Dockerfile", context=tmp_path) if f.rule == "DA302"]


def test_uv_sync_of_a_lock_that_takes_torch_from_a_cuda_index_is_a_choice_not_pypi(tmp_path):
    # torch-indexes/cu128: `uv lock` took torch 2.8.0+cu128 from the (stand-in) cu128 index
    assert _messages(tmp_path, _project("torch-indexes/cu128")) == []


def test_uv_sync_names_the_index_the_lock_uses(tmp_path):
    (message,) = _messages(tmp_path, _project("torch-2.8"))
    assert "torch (from pyproject.toml) is installed from https://pypi.org/simple (as uv.lock locks it)" in message


def test_uv_sync_of_a_lock_with_the_cpu_build_on_linux_passes(tmp_path):
    # torch-indexes/cpu-on-linux: the CPU index on Linux (a marker), PyPI's CPU build elsewhere
    assert _messages(tmp_path, _project("torch-indexes/cpu-on-linux")) == []
    files = _project("torch-indexes/cu128")
    files["uv.lock"] = "not a lock ["  # an unreadable lock says nothing: the pyproject's CUDA source decides
    (tmp_path / "x").mkdir()
    assert _messages(tmp_path / "x", files) == []

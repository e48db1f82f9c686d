"""DA201/DA202 on requirements files and pyproject.toml."""

from __future__ import annotations

from pathlib import Path

from depaudit.rules.run_project import project_findings


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_da201_find_links_to_a_pep503_index(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "requirements.txt",
        "-f https://download.pytorch.org/whl/cpu\n"
        "--find-links https://download.pytorch.org/whl/torch_stable.html\n"
        "--find-links ./wheels\n-f https://mirror.example/simple/\ntorch==2.8.0\n",
    )
    assert [(f.rule, f.line) for f in project_findings(path) if f.rule == "DA201"] == [("DA201", 1), ("DA201", 4)]


def test_da201_respects_ignore(tmp_path: Path) -> None:
    path = _write(tmp_path, "requirements.in", "-f https://mirror.example/simple  # depaudit: ignore=DA201\ntorch\n")
    assert project_findings(path) == []


def test_da202_torch_beside_onnxruntime(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "pyproject.toml",
        '[project]\nname = "x"\ndependencies = [\n  "onnxruntime",\n  "torch>=2",\n]\n'
        '[dependency-groups]\ndev = ["torchvision"]\n',
    )
    found = project_findings(path)
    assert [(f.rule, f.line, f.severity) for f in found] == [("DA202", 5, "info")]
    assert "--to onnxruntime" in found[0].message


def test_da202_silent_without_an_inference_runtime(tmp_path: Path) -> None:
    path = _write(tmp_path, "requirements.txt", "torch==2.8.0\nnumpy\n")
    assert project_findings(path) == []

"""depaudit.analysis.index_urls: the one place index URLs are judged. The two regexes it replaced
disagreed on `…/whl/xpu` (an Intel GPU index: accelerator) and `…/whl/cu121/torch/` (a page under the
cu121 index: CUDA); both answers are pinned here."""

from __future__ import annotations

import pytest

from depaudit.analysis.index_urls import (
    DEFAULT_CPU_INDEX_URL,
    is_accelerator_name,
    is_cpu_index,
    is_cuda_index,
    is_pep503_index,
    same_url,
)
from depaudit.analysis.install_commands import installed_specs, torch_source
from depaudit.lint import load_subject

ACCELERATOR = [
    "https://download.pytorch.org/whl/cu121",
    "https://download.pytorch.org/whl/cu121/",
    "https://download.pytorch.org/whl/cu130",
    "https://download.pytorch.org/whl/xpu",
    "https://download.pytorch.org/whl/rocm6.2.4",
    "https://download.pytorch.org/whl/nightly/cu128",
    "https://download.pytorch.org/whl/cu121/torch/",
    "https://download.pytorch.org/whl/cu113/torch_stable.html",
    "https://mirror.example/pytorch/cu124/simple",
]
NOT_ACCELERATOR = [
    DEFAULT_CPU_INDEX_URL,
    "https://download.pytorch.org/whl/cpu-cxx11-abi",
    "https://download.pytorch.org/whl/torch_stable.html",
    "https://pypi.org/simple",
    "https://mirror.example/cuda-docs/simple",  # a segment merely containing "cu"
    "https://cu121.example.com/simple",  # the host is not a path segment
]


@pytest.mark.parametrize("url", ACCELERATOR)
def test_accelerator_indexes(url):
    assert is_cuda_index(url) and not is_cpu_index(url)


@pytest.mark.parametrize("url", NOT_ACCELERATOR)
def test_not_accelerator_indexes(url):
    assert not is_cuda_index(url)


@pytest.mark.parametrize(
    "url, expected",
    [
        (DEFAULT_CPU_INDEX_URL, True),
        ("https://download.pytorch.org/whl/nightly/cpu/", True),
        ("https://download.pytorch.org/whl/cpu-cxx11-abi", True),
        ("https://pypi.org/simple", False),
        ("https://mirror.example/cpus/simple", False),
        (None, None),
    ],
)
def test_cpu_indexes(url, expected):
    assert is_cpu_index(url) is expected


@pytest.mark.parametrize(
    "name, expected",
    [
        ("pytorch-cu121", True),
        ("cuda", True),
        ("gpu", True),
        ("torch-xpu", True),
        ("rocm6.2", True),
        ("pytorch-cpu", False),
        ("cubic", False),
        (None, False),
    ],
)
def test_index_and_extra_names(name, expected):
    assert is_accelerator_name(name) is expected
    assert is_cuda_index(None, name) is expected


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://download.pytorch.org/whl/cpu", True),
        ("https://download.pytorch.org/whl", True),
        ("https://mirror.example/simple/", True),
        ("https://download.pytorch.org/whl/torch_stable.html", False),
        ("./wheels", False),
        ("https://example.com/links/", False),
    ],
)
def test_pep503_roots(url, expected):
    assert is_pep503_index(url) is expected


def test_same_url_ignores_case_and_trailing_slash():
    assert same_url("https://Download.pytorch.org/whl/cpu/", "https://download.pytorch.org/whl/cpu")
    assert not same_url("https://download.pytorch.org/whl/cpu", "https://download.pytorch.org/whl/cu121")


@pytest.mark.parametrize(
    "index, expected",
    [
        ("https://download.pytorch.org/whl/xpu", "cuda"),
        ("https://download.pytorch.org/whl/cu121/torch/", "cuda"),
        (DEFAULT_CPU_INDEX_URL, "cpu"),
    ],
)
def test_dockerfile_analysis_uses_the_same_patterns(tmp_path, index, expected):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"FROM python:3.11-slim\nRUN pip install --index-url {index} torch\n")
    subject = load_subject(dockerfile)
    (item,) = installed_specs(subject)
    assert torch_source(item, subject) == expected

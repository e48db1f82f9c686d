def test_flags_nvidia_wheels_on_cuda_base(lint_fixture):
    assert lint_fixture("cuda-base.Dockerfile", "DA310") == [(3, "DA310")]


def test_flags_default_torch_on_cuda_base(lint_fixture):
    assert lint_fixture("cuda-twice.Dockerfile", "DA310") == [(3, "DA310")]


def test_cpu_torch_on_cuda_base_is_not_twice(lint_fixture):
    assert lint_fixture("cuda-cpu-torch.Dockerfile", "DA310") == []


def test_default_torch_on_slim_base_is_not_twice(lint_fixture):
    assert lint_fixture("torch-pypi.Dockerfile", "DA310") == []


def test_cuda_index_torch_on_cuda_base(lint_text):
    text = (
        "FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04\n"
        "RUN pip install --no-cache-dir torch --index-url https://download.pytorch.org/whl/cu121\nUSER 1\n"
    )
    assert lint_text(text, rule="DA310") == [(2, "DA310")]


def test_inline_ignore(lint_fixture):
    assert lint_fixture("ignored.Dockerfile", "DA310") == []

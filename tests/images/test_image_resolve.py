"""What a pip line installs for the image's platform (depaudit.images.resolve): uv's pylock.toml read back,
and the trust boundary: a Dockerfile and its requirement files are data from the checkout, so nothing in
them makes the resolver read this machine's files or reach a non-global address."""

from __future__ import annotations

import pytest

from depaudit.images.resolve import (
    InstallRequest,
    ResolveError,
    check_requirements,
    index_problem,
    read_pylock,
    resolve_install,
)

PYLOCK = """\
lock-version = "1.0"
created-by = "uv"
requires-python = ">=3.11"

[[packages]]
name = "Typing_Extensions"
version = "4.16.0"
wheels = [{ url = "https://files.pythonhosted.org/packages/aa/bb/typing_extensions-4.16.0-py3-none-any.whl", size = 45000, hashes = { sha256 = "00" } }]

[[packages]]
name = "numpy"
version = "2.4.6"
wheels = [{ url = "https://files.pythonhosted.org/packages/cc/dd/numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", hashes = { sha256 = "11" } }]
"""


def test_a_pylock_for_one_platform_gives_one_wheel_per_package():
    wheels = read_pylock(PYLOCK)
    assert [(w.name, w.version, w.size) for w in wheels] == [
        ("typing-extensions", "4.16.0", 45000),
        ("numpy", "2.4.6", None),
    ]
    assert wheels[1].filename == "numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"
    with pytest.raises(ResolveError, match="only a source distribution"):
        read_pylock(
            'lock-version = "1.0"\n[[packages]]\nname = "x"\nversion = "1"\nsdist = { url = "https://h/x.tar.gz" }\n'
        )


def _request(*, specs: tuple[str, ...] = (), text: str | None = None, index: str | None = None) -> InstallRequest:
    files = (("/tmp/requirements.txt", text),) if text is not None else ()
    roots = ("/tmp/requirements.txt",) if text is not None else ()
    return InstallRequest(specs, roots, (), files, "3.11", "x86_64-manylinux_2_28", index)


@pytest.mark.parametrize(
    "text",
    [
        "-f /etc\nnumpy\n",
        "--find-links=https://example.org/wheels\nnumpy\n",
        "/home/user/secret-1.0-py3-none-any.whl\n",
        "pkg @ file:///etc/passwd\n",
        "-e .\n",
        "--index-url http://169.254.169.254/latest/meta-data/\nnumpy\n",
        "pkg @ http://127.0.0.1:8080/pkg-1.0-py3-none-any.whl\n",
    ],
)
def test_requirement_files_cannot_make_the_resolver_read_or_reach_beyond_the_policy(text):
    with pytest.raises(ResolveError):
        check_requirements(_request(text=text), allow_hosts=())


def test_ordinary_requirement_files_pass_and_the_command_line_may_allow_a_host():
    check_requirements(
        _request(text="numpy==2.4.6  # pinned\n-r base.txt\n--only-binary :all:\nscipy>=1 \\\n  --hash=sha256:00\n"), ()
    )
    check_requirements(_request(text="--extra-index-url http://127.0.0.1:9/simple\nx\n"), allow_hosts=("127.0.0.1",))
    assert index_problem("http://127.0.0.1:9/simple", ()) is not None
    assert index_problem("http://127.0.0.1:9/simple", ("127.0.0.1",)) is None
    assert index_problem("ftp://pypi.org/simple", ()) is not None


def test_a_refused_index_is_never_handed_to_uv():
    with pytest.raises(ResolveError, match="index refused"):
        resolve_install(_request(specs=("numpy",), index="http://10.0.0.1/simple"), uv=["/nonexistent/uv"])


@pytest.mark.network
def test_resolving_a_pinned_line_for_a_platform():
    (wheel,) = resolve_install(_request(specs=("idna==3.20",)))
    assert (wheel.name, wheel.version) == ("idna", "3.20") and wheel.filename.endswith("py3-none-any.whl")
    assert wheel.url.startswith("https://") and wheel.size

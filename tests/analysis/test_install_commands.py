"""depaudit.analysis.install_commands: the pip/uv installs of a Dockerfile's RUNs, with the variables
each RUN sees."""

from __future__ import annotations

import pytest

from depaudit.analysis import docker_stages, install_commands
from depaudit.analysis.install_commands import python_installs
from depaudit.lint import lint_subject
from depaudit.sources.dockerfile import parse_dockerfile


def test_installs_see_the_args_and_envs_before_them():
    df = parse_dockerfile(
        "ARG INDEX=https://download.pytorch.org/whl/cpu\n"
        "FROM python:3.11-slim AS base\nARG INDEX\nENV PIP_NO_CACHE_DIR=1\n"
        "FROM base\nRUN pip install --index-url $INDEX torch\n"
        "ENV PIP_INDEX_URL=https://mirror.example/simple\nRUN pip install numpy\n"
        "RUN FOO=1 pip install $FOO\n"
    )
    found = python_installs(df)
    assert [(i.specs, i.index_urls) for i in found[:2]] == [
        (("torch",), ("https://download.pytorch.org/whl/cpu",)),
        (("numpy",), ("https://mirror.example/simple",)),
    ]


@pytest.mark.parametrize("count", [100, 400])
def test_variables_are_expanded_once_per_instruction(monkeypatch, count):
    # N ARGs then N RUNs: walking the ARGs again for every RUN (and again in every rule) made lint
    # quadratic — a 150 kB Dockerfile took minutes. Count the expansions instead of timing them.
    calls = []

    def counting(value, env):
        calls.append(value)
        return original(value, env)

    original = docker_stages.expand
    monkeypatch.setattr(docker_stages, "expand", counting)
    monkeypatch.setattr(install_commands, "expand", counting)
    lines = ["FROM python:3.11-slim", *(f"ARG A{i}=x" for i in range(count))]
    lines += [f"RUN pip install --no-cache-dir pkg{i}" for i in range(count)] + ["USER app"]
    subject = docker_stages.DockerSubject(parse_dockerfile("\n".join(lines) + "\n"))
    assert lint_subject(subject) == []
    assert len(calls) <= 20 * count, len(calls)
    # the same for a chain of stages each built FROM the one before (a stage's variables are its
    # ancestors' too: they are carried along, not walked again for every stage)
    calls.clear()
    chain = ["FROM python:3.11-slim AS s0"]
    chain += [f"FROM s{i} AS s{i + 1}\nARG A{i}=x\nRUN pip install --no-cache-dir p{i}" for i in range(count)]
    subject = docker_stages.DockerSubject(parse_dockerfile("\n".join([*chain, "USER app"]) + "\n"))
    assert lint_subject(subject) == []
    assert len(calls) <= 20 * count, len(calls)

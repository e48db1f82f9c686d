"""`image predict` without network or engine: a base image given as an OCI layout, a build context with a
.dockerignore, two stages joined by COPY --from, deletions and a chmod copy-up. Every expected size is
computed here from the files the test wrote, not from depaudit. And `gate --max-image-size` on a
Dockerfile runs with no Docker engine at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from depaudit.errors import UsageError
from depaudit.images.context import BuildContext, excluded, parse_dockerignore
from depaudit.images.lookups import PredictOptions, predict_dockerfile
from depaudit.images.reader import read_image

from childrun import env_without_settings
from image_builders import layer_tar, oci_layout

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = """\
ARG BASE=local/base:1
FROM ${BASE} AS build
WORKDIR /src
COPY . .
RUN rm -rf /src/docs && mkdir -p /out && cp -r /src/app /out/app
FROM ${BASE} AS runtime
COPY --from=build /out/app /srv/app
COPY data/*.bin /data/
RUN chmod 600 /data/model.bin
FROM runtime AS debug
RUN curl -o /opt/tool https://example.invalid/tool
"""
CONTEXT = {
    "app/main.py": 100,
    "app/util.py": 200,
    "docs/readme.txt": 300,
    "data/model.bin": 5000,
    "data/other.bin": 7,
    "notes.md": 50,
}


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    context = tmp_path / "ctx"
    for rel, size in CONTEXT.items():
        (context / rel).parent.mkdir(parents=True, exist_ok=True)
        (context / rel).write_bytes(b"x" * size)
    (context / ".dockerignore").write_text("*.md\n")
    (context / "Dockerfile").write_text(DOCKERFILE)
    base = oci_layout(tmp_path / "base", [layer_tar([("bin/sh", b"s" * 1000), ("etc/passwd", b"root:x:0:0\n")])])
    return context, base


def _predict(project: tuple[Path, Path], **kwargs: object):
    context, base = project
    options = PredictOptions(archives={None: base}, engine=False, offline=True)
    return predict_dockerfile(context / "Dockerfile", context=context, options=options, **kwargs)


def test_a_multi_stage_prediction_counts_only_what_reaches_the_final_stage(project):
    _context, base = project
    prediction = _predict(project, target="runtime")
    base_size = read_image(str(base)).size
    app = CONTEXT["app/main.py"] + CONTEXT["app/util.py"]
    data = CONTEXT["data/model.bin"] + CONTEXT["data/other.bin"]
    copy_up = CONTEXT["data/model.bin"]  # chmod writes a whole new copy of the file into its layer
    assert prediction.size == base_size + app + data + copy_up
    assert prediction.complete and prediction.wasted == copy_up
    shipped = [(i.line, i.size) for s in prediction.stages if s.ships for i in s.instructions]
    assert shipped == [(7, app), (8, data), (9, copy_up)]
    build = next(s for s in prediction.stages if s.name == "build")
    # the builder copied the whole context but the ignored notes.md (the Dockerfile and .dockerignore are
    # files of the context too), then removed docs/ in a later layer
    sent = sum(CONTEXT.values()) - CONTEXT["notes.md"] + len(DOCKERFILE) + len("*.md\n")
    assert not build.ships and build.instructions[1].size == sent


def test_a_step_not_followed_makes_the_prediction_a_lower_bound(project):
    prediction = _predict(project)  # the last stage, `debug`, downloads a tool
    assert not prediction.complete
    assert prediction.unknowns == ("line 11: `curl` is not followed",)


def test_unknown_target_and_unset_base_are_usage_errors(project):
    context, _base = project
    with pytest.raises(UsageError, match="no such stage"):
        _predict(project, target="nope")
    (context / "Dockerfile").write_text("ARG BASE\nFROM ${BASE}\n")
    with pytest.raises(UsageError, match="build argument has no value"):
        _predict(project)


def test_dockerignore_rules_follow_the_engine():
    rules = parse_dockerignore(
        "*\n!reference_service/\n!docker/requirements/\nreference_service/**/__pycache__\n**/*.md\n"
    )
    assert excluded("README.md", rules) and excluded("src/x.py", rules)
    assert not excluded("reference_service/server.py", rules)
    assert excluded("reference_service/a/__pycache__/x.pyc", rules) and excluded("reference_service/b/NOTES.md", rules)
    assert not excluded("docker/requirements/torch-cpu.txt", rules) and excluded("docker/Dockerfile.x", rules)


def test_the_context_never_follows_a_link_out_of_it(tmp_path):
    (tmp_path / "ctx").mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    os.symlink(secret, tmp_path / "ctx" / "requirements.txt")
    context = BuildContext.open(tmp_path / "ctx")
    assert context.files == {"requirements.txt": len(str(secret))}  # sized as a link, as the engine sends it
    assert context.read("requirements.txt") is None


def _gate(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = env_without_settings()
    env.update(PYTHONPATH=str(REPO), DEPAUDIT_DOCKER=str(cwd / "no-docker-here"))
    return subprocess.run(
        [sys.executable, "-m", "depaudit", "gate", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_gate_checks_a_dockerfile_with_no_engine(project):
    context, base = project
    size = _predict(project, target="runtime").size
    args = ["Dockerfile", "--base-image", str(base), "--build-target", "runtime", "--offline"]
    passed = _gate([*args, "--max-image-size", str(size)], context)
    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.startswith("PASS    Dockerfile (target runtime): image-size")
    assert "predicted from the Dockerfile, not built" in passed.stdout
    failed = _gate([*args, "--max-image-size", str(size - 1), "--format", "json"], context)
    assert failed.returncode == 1
    (finding,) = json.loads(failed.stdout)["findings"]
    assert finding["rule"] == "DA504" and finding["path"] == "Dockerfile" and finding["line"] == 8  # COPY data, biggest
    unknown = _gate(["Dockerfile", "--base-image", str(base), "--offline", "--max-image-size", "1GB"], context)
    assert unknown.returncode == 1 and unknown.stdout.startswith("UNKNOWN Dockerfile: image-size")


def test_an_image_file_the_pyproject_names_must_be_inside_its_project(project, tmp_path):
    context, base = project
    (context / "pyproject.toml").write_text(f'[tool.depaudit]\nimages = ["{base}"]\nmax-image-size = "1GB"\n')
    done = _gate(["--offline", "--pyproject", "pyproject.toml"], context)
    assert done.returncode == 3 and "outside" in done.stderr and "Traceback" not in done.stderr
    (context / "pyproject.toml").write_text('[tool.depaudit]\nimages = ["Dockerfile"]\nmax-image-size = "1GB"\n')
    inside = _gate(
        ["--offline", "--pyproject", "pyproject.toml", "--base-image", str(base), "--build-target", "runtime"], context
    )
    assert inside.returncode == 0, inside.stdout + inside.stderr

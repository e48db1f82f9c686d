"""Parsing of real `docker history` / `docker image inspect` / `docker build` output captured from this
project's own images (tests/fixtures/docker/README.md says how each was made)."""

from __future__ import annotations

import json

import pytest

from depaudit.errors import ToolError
from depaudit.images import engine
from depaudit.images.engine import clean_created_by, parse_history, parse_inspect
from reference_service.bench.build import stage_images

from fixture_paths import FIXTURES

DOCKER = FIXTURES / "docker"


def _history(name: str):
    return parse_history((DOCKER / name).read_text())


def test_history_is_base_first_and_sums_to_the_inspected_size():
    for image in ("onnxruntime", "torch-cuda", "tiny"):
        entries = _history(f"history-{image}.jsonl")
        info = parse_inspect((DOCKER / f"inspect-{image}.json").read_text())
        assert sum(e.size for e in entries) == info.size
        raw = [json.loads(line) for line in (DOCKER / f"history-{image}.jsonl").read_text().splitlines()]
        assert entries[0].size == int(raw[-1]["Size"])  # docker prints newest first
        assert entries[-1].created_by == clean_created_by(raw[0]["CreatedBy"])


def test_history_instructions_are_readable():
    entries = _history("history-onnxruntime.jsonl")
    texts = [e.created_by for e in entries]
    assert not any(t.startswith("/bin/sh -c") for t in texts)
    assert any(t.startswith("RUN useradd") for t in texts)
    assert texts[-1].startswith("CMD [")
    copy = next(t for t in texts if "--chown=10001:10001" in t)
    assert "--chown=10001:10001 file:" in copy and "…" in copy  # flag split from the source, hash shortened


def test_human_history_sizes_parse_approximately():
    exact = {e.created_by[:30]: e.size for e in _history("history-onnxruntime.jsonl")}
    human = _history("history-onnxruntime-human.jsonl")
    assert len(human) == len(exact)
    biggest = max(human, key=lambda e: e.size)
    assert abs(biggest.size - max(exact.values())) / max(exact.values()) < 0.01


def test_malformed_history_names_the_line():
    text = (DOCKER / "history-tiny.jsonl").read_text().splitlines()
    text.insert(1, "{not json")
    with pytest.raises(ValueError, match="line 2"):
        parse_history("\n".join(text))


def test_inspect_reads_user_healthcheck_and_layers():
    ort = parse_inspect((DOCKER / "inspect-onnxruntime.json").read_text())
    assert ort.user == "10001:10001" and ort.healthcheck
    # every filesystem-changing step (COPY/RUN/WORKDIR; WORKDIR's is empty) made one layer
    steps = [e for e in _history("history-onnxruntime.jsonl") if e.created_by.split()[0] in ("COPY", "RUN", "WORKDIR")]
    assert len(ort.layers) == len(steps) and all(layer.startswith("sha256:") for layer in ort.layers)
    tiny = parse_inspect((DOCKER / "inspect-tiny.json").read_text())
    assert tiny.user == "" and not tiny.healthcheck and tiny.tags == ("depaudit-fixture/tiny:1",)
    with pytest.raises(ValueError):
        parse_inspect("[]")


@pytest.mark.parametrize(
    "raw, cleaned",
    [
        ("/bin/sh -c #(nop)  EXPOSE 8000", "EXPOSE 8000"),
        ("/bin/sh -c apt-get update", "RUN apt-get update"),
        (
            "|1 TORCH_INDEX_URL=http://127.0.0.1:1/simple /bin/sh -c python3 -m venv /opt/venv",
            "RUN python3 -m venv /opt/venv",
        ),
        ("COPY file:abc in / ", "COPY file:abc in /"),
    ],
)
def test_clean_created_by(raw, cleaned):
    assert clean_created_by(raw) == cleaned


def test_stage_images_from_a_real_multi_stage_build_log():
    log = (DOCKER / "build-multistage.log").read_text()
    # the builder stage's last step and the final image, never the FROM lines
    assert stage_images(log) == ["d5494a8a1858", "62744deadb16"]


def test_missing_docker_client_is_a_tool_error(monkeypatch):
    monkeypatch.setitem(engine._client, "command", "/nonexistent/docker-client")  # the DEPAUDIT_DOCKER setting
    with pytest.raises(ToolError, match="docker-client: not found on PATH; install Docker") as info:
        engine.run_docker(["info"], timeout=10)
    assert info.value.exit_code == 4
    assert engine.engine_available() is not None


def test_failing_command_carries_command_and_stderr(monkeypatch, tmp_path):
    # A stand-in client: a real executable that fails the way docker does without an engine.
    fake = tmp_path / "docker"
    fake.write_text(
        "#!/bin/sh\necho 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setitem(engine._client, "command", str(fake))  # the DEPAUDIT_DOCKER setting
    with pytest.raises(ToolError) as info:
        engine.inspect_image("some:image")
    assert info.value.command == [str(fake), "image", "inspect", "some:image"]
    assert "Cannot connect" in info.value.stderr
    assert "cannot reach the Docker engine" in str(info.value)

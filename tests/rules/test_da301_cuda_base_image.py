from depaudit.analysis.docker_stages import is_cuda_image, is_devel_image


def test_flags_cuda_base_image(lint_fixture):
    assert lint_fixture("cuda-base.Dockerfile", "DA301") == [(1, "DA301")]


def test_flags_devel_base_image(lint_fixture):
    assert lint_fixture("devel-base.Dockerfile", "DA301") == [(1, "DA301")]


def test_slim_base_passes(lint_fixture):
    assert lint_fixture("clean-multistage.Dockerfile", "DA301") == []


def test_base_image_from_build_arg_default_is_expanded(lint_text):
    text = "ARG BASE=nvidia/cuda:12.4.1-runtime-ubuntu22.04\nFROM ${BASE}\nUSER 1\n"
    assert lint_text(text, rule="DA301") == [(2, "DA301")]
    assert lint_text(text, rule="DA301", build_args={"BASE": "python:3.11-slim"}) == []


def test_cuda_builder_stage_with_slim_final_stage_passes(lint_text):
    text = (
        "FROM nvidia/cuda:12.4.1-devel-ubuntu22.04 AS build\nRUN make\n"
        "FROM python:3.11-slim\nCOPY --from=build /out /out\nUSER 1\n"
    )
    assert lint_text(text, rule="DA301") == []


def test_final_stage_built_on_a_cuda_stage_is_flagged_at_the_root_stage(lint_text):
    text = "FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04 AS base\nRUN true\nFROM base\nUSER 1\n"
    assert lint_text(text, rule="DA301") == [(1, "DA301")]


def test_unknown_base_variable_is_not_guessed(lint_text):
    assert lint_text("ARG BASE\nFROM $BASE\nUSER 1\n", rule="DA301") == []


def test_inline_ignore(lint_text):
    text = "# depaudit: ignore=DA301 GPU service on purpose\nFROM nvidia/cuda:12.4.1-base-ubuntu22.04\nUSER 1\n"
    assert lint_text(text, rule="DA301") == []


def test_image_classifiers():
    assert is_cuda_image("nvidia/cuda:12.4.1-runtime-ubuntu22.04")
    assert is_cuda_image("pytorch/pytorch:2.3.0-cuda12.1-cudnn8-runtime")
    assert is_cuda_image("nvcr.io/nvidia/pytorch:24.05-py3")
    assert is_cuda_image("localhost:5000/base:cuda12")
    assert not is_cuda_image("python:3.11-slim")
    assert not is_cuda_image("localhost:5000/cudaless/python:3.11")
    assert is_devel_image("nvidia/cuda:12.4.1-devel-ubuntu22.04")
    assert not is_devel_image("python:3.11-slim")
    assert not is_devel_image("mydevelopers/python:3.11")

"""`depaudit port` end to end on small models: the hand-over files, port.json, the CLI's formats and
exit codes, loading forms and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from port_helpers import MODELS, marker_line

from depaudit.cli import main
from depaudit.port.rewrites import ExplicitAdaptiveAvgPool, adaptive_bins

from sarif_schema import validate_sarif

ROOT = Path(__file__).resolve().parents[2]
DEPAUDIT = [sys.executable, "-m", "depaudit"]

pytestmark = pytest.mark.slow  # every test exports a model (2-10 s each)


def _cli(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*DEPAUDIT, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
    )


def test_handover_files_and_port_json(port_model, tmp_path):
    report = port_model("build_two_outputs", ["x=1x3x16x16"], ["x:2=height"], output_names=("features", "pooled"))
    out = tmp_path / "build_two_outputs"
    assert report.passed
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["model.onnx", "goldens.npz", "port.json", "runtime.py", "test_build_two_outputs_onnx.py", "export.log"]
    )
    doc = json.loads((out / "port.json").read_text())
    assert doc["schema"] == 1 and doc["exported"] is True and doc["exporter"] == "dynamo" and doc["opset"] == 18
    assert doc["onnx_bytes"] == (out / "model.onnx").stat().st_size
    assert {"name", "psnr_db", "ssim", "max_abs_err", "max_rel_err", "passed"} <= set(doc["cases"][0])
    assert len(doc["cases"]) == 9 and all(c["passed"] for c in doc["cases"])
    model = onnx.load(str(out / "model.onnx"))
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["x"] and [o.name for o in model.graph.output] == [
        "features",
        "pooled",
    ]
    assert model.graph.input[0].type.tensor_type.shape.dim[2].dim_param == "height"
    assert not any(p.key == "pkg.torch.onnx.stack_trace" for n in model.graph.node for p in n.metadata_props)
    goldens = np.load(out / "goldens.npz")
    assert {"noise.in.x", "noise.out.features", "noise.out.pooled", "noise-double.in.x"} <= set(goldens.files)
    assert oct((out / "model.onnx").stat().st_mode & 0o777) == oct(0o644 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_written_test_and_runtime_run_with_pytest(port_model, tmp_path):
    port_model("TwoOutputs", ["x=1x3x12x12"])
    out = tmp_path / "TwoOutputs"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 passed" in result.stdout  # the verdict check + 7 cases


def test_failed_port_hands_over_a_failing_test(port_model, tmp_path):
    port_model("ValueBranch", ["x=1x3x8x8"])
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "ValueBranch")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 1
    assert "DA401" in result.stdout and "test_port_passed" in result.stdout


def test_cli_value_branch_exits_1_naming_the_line(tmp_path):
    result = _cli(
        "port", f"{MODELS}:ValueBranch", "--input", "x=1x3x8x8", "--out", str(tmp_path / "o"), "--format", "markdown"
    )
    assert result.returncode == 1, result.stderr
    assert f"tests/port/hazard_models.py:{marker_line('DA401')}" in result.stdout  # relative to the working directory
    assert "| dark |" in result.stdout and "FAIL" in result.stdout


def test_cli_passing_model_json_and_sarif(tmp_path):
    ok = _cli(
        "port",
        f"{MODELS}:UnevenPool",
        "-i",
        "x=1x4x64x64",
        "--out",
        str(tmp_path / "o"),
        "-f",
        "json",
        "-o",
        str(tmp_path / "report.json"),
    )
    assert ok.returncode == 0, ok.stderr
    doc = json.loads((tmp_path / "report.json").read_text())
    assert doc["passed"] and doc["findings"][0]["rule"] == "DA407"
    sarif = _cli("port", f"{MODELS}:UnevenPool", "-i", "x=1x4x64x64", "--out", str(tmp_path / "o"), "-f", "sarif")
    log = json.loads(sarif.stdout)
    validate_sarif(log)
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["DA407"]
    assert {r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]} == {f"DA40{n}" for n in range(1, 10)}
    gnu = _cli("port", f"{MODELS}:UnevenPool", "-i", "x=1x4x64x64", "--out", str(tmp_path / "o"), "-f", "gnu")
    assert gnu.stdout.startswith(f"tests/port/hazard_models.py:{marker_line('DA407')}:")


def test_cli_table_and_module_form(tmp_path):
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "__init__.py").write_text("")
    (tmp_path / "mypkg" / "net.py").write_text("import torch\nnet = torch.nn.Linear(4, 2)\n")
    result = _cli("port", "mypkg.net:net", "-i", "x=2x4", "--out", "o", "--min-psnr", "120", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS: exported with dynamo at opset 18" in result.stdout
    assert (tmp_path / "o" / "test_net_onnx.py").is_file()


def test_checkpoint_loads_weights(tmp_path, port_model):
    torch.manual_seed(5)
    from hazard_models import TwoOutputs

    state = TwoOutputs().state_dict()
    torch.save(state, tmp_path / "w.pt")
    port_model("TwoOutputs", ["x=1x3x12x12"], checkpoint=tmp_path / "w.pt")
    goldens = np.load(tmp_path / "TwoOutputs" / "goldens.npz")
    with torch.no_grad():
        model = TwoOutputs()
        model.load_state_dict(state)
        want = model(torch.from_numpy(goldens["noise.in.x"]))[0].numpy()
    np.testing.assert_array_equal(goldens["noise.out.output_0"], want)


@pytest.mark.parametrize(
    "args,code,message",
    [
        (["nope.py:Net", "-i", "x=1"], 3, "nope.py: no such model file"),
        (["{models}:Missing", "-i", "x=1"], 3, "has no attribute 'Missing'"),
        (["{models}:math", "-i", "x=1"], 3, "neither an nn.Module nor callable"),
        (
            ["{models}:TwoOutputs", "-i", "x=1x3x8x8", "--checkpoint", "{tmp}/junk.pt"],
            3,
            "junk.pt: not a loadable state_dict",
        ),
        (
            ["{models}:TwoOutputs", "-i", "x=1x3x8x8", "--checkpoint", "{tmp}/other.pt"],
            3,
            "other.pt: does not fit the model",
        ),
        (["{models}:TwoOutputs", "-i", "x=1x5x8x8"], 3, "the model raised on the example inputs"),
        (["{models}:TwoOutputs", "-i", "x=1x3x8x8", "--output-name", "a"], 2, "1 names for 2 outputs"),
        (["{models}:TwoOutputs", "-i", "x=1x3x8x8", "--dynamic", "y:1"], 2, "--dynamic"),
        (["{models}:TwoOutputs", "-i", "x=1x3x8x8", "--opset", "99"], 2, "--opset 99"),
    ],
)
def test_cli_bad_input(tmp_path, capsys, args, code, message):
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    torch.save({"weight": torch.zeros(1)}, tmp_path / "other.pt")
    filled = [a.format(models=MODELS, tmp=tmp_path) for a in args]
    with pytest.raises(SystemExit) as exit_info:  # in-process: the same main() the console script runs
        main(["port", *filled, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert exit_info.value.code == code, err
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 2


def test_cli_syntax_error_names_file_and_line(tmp_path):
    (tmp_path / "bad.py").write_text("import torch\ndef broken(:\n")
    result = _cli("port", f"{tmp_path}/bad.py:broken", "-i", "x=1", "--out", str(tmp_path / "o"))
    assert result.returncode == 3 and f"{tmp_path}/bad.py:2: syntax error" in result.stderr


def test_missing_torch_is_exit_4_with_an_install_hint(tmp_path):
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from depaudit.cli import main\n"
        f"main(['port', '{MODELS}:TwoOutputs', '-i', 'x=1x3x8x8', '--out', '{tmp_path}/o'])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 4
    assert "depaudit port needs torch" in result.stderr and "pip install 'depaudit[port]'" in result.stderr
    assert not (tmp_path / "o").exists()


def test_other_commands_never_import_torch():
    code = (
        "import sys\nfrom depaudit.cli import main\ntry:\n    main(['lint', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'onnx', 'onnxruntime', 'onnxscript')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_out_must_be_a_directory(tmp_path):
    (tmp_path / "file").write_text("x")
    result = _cli("port", f"{MODELS}:TwoOutputs", "-i", "x=1x3x8x8", "--out", str(tmp_path / "file"))
    assert result.returncode == 3 and "exists and is not a directory" in result.stderr
    assert (tmp_path / "file").read_text() == "x"


@pytest.mark.parametrize("size,out", [((64,), (3,)), ((64, 64), (3, 3)), ((10, 7), (4, 3)), ((9, 8, 7), (2, 3, 4))])
def test_explicit_pool_matches_torch(size, out):
    x = torch.from_numpy(np.random.default_rng(len(size)).standard_normal((1, 2, *size)).astype(np.float32))
    pool = {
        1: torch.nn.functional.adaptive_avg_pool1d,
        2: torch.nn.functional.adaptive_avg_pool2d,
        3: torch.nn.functional.adaptive_avg_pool3d,
    }[len(size)]
    np.testing.assert_allclose(
        ExplicitAdaptiveAvgPool(size, out)(x).numpy(), pool(x, out).numpy(), rtol=1e-5, atol=1e-6
    )
    assert adaptive_bins(64, 3) == [(0, 22), (21, 43), (42, 64)]


def test_torchscript_exporter_refuses_the_pool_and_accepts_the_rewrite(tmp_path):
    from depaudit.port.exporter import export_torchscript

    x = (torch.rand(1, 4, 64, 64),)
    with pytest.raises(Exception, match="not factor of input size"):
        export_torchscript(torch.nn.AdaptiveAvgPool2d(3), x, ["x"], ["y"], 18, {})
    model = export_torchscript(ExplicitAdaptiveAvgPool((64, 64), (3, 3)), x, ["x"], ["y"], 18, {})
    assert {n.op_type for n in model.graph.node} >= {"Slice", "ReduceMean"}

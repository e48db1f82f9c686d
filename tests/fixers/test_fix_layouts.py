"""Property tests: `depaudit fix` on pyproject layouts people really write — `[project]` as a table or
as top-level dotted keys, `[tool.uv]` as headers, dotted keys (`tool.uv.index = …`, `uv.managed` inside
`[tool]`), inline `index = [{…}]` / `sources = {…}`, tables out of order, CRLF, a UTF-8 BOM.

For every generated document the fix either refuses (only for the one layout it does not edit: an
inline `tool.uv = {…}`) or returns text that
  * parses, and means exactly the original plus the planned keys (computed here, independently),
  * keeps the BOM and the line ending of every line (inserted lines included),
  * keeps every comment line, and is accepted by depaudit's own pyproject reader,
  * changes nothing when fixed again.

Default profile: 700 + 500 + 300 generated documents (~1,500 cases, well under a minute). The thorough
profile runs 10x as many: `HYPOTHESIS_PROFILE=depaudit-thorough pytest tests/fixers/test_fix_layouts.py`.
"""

from __future__ import annotations

import copy
import os
import tomllib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from depaudit.errors import FixRefused
from depaudit.fixers.pyproject import CpuIndexNeeds, plan_cpu_index_text, plan_runtime_swap_text
from depaudit.sources.pyproject import parse_pyproject

settings.register_profile("depaudit-default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("depaudit-thorough", deadline=None, suppress_health_check=[HealthCheck.too_slow])
SCALE = 10 if os.environ.get("HYPOTHESIS_PROFILE") == "depaudit-thorough" else 1

CPU_URL = "https://download.pytorch.org/whl/cpu"
MIRROR = '{ name = "mirror", url = "https://mirror.example/simple" }'
DEPS = st.lists(
    st.sampled_from(['"numpy>=1"', '"torch==2.8.0"', "'httpx'", '"torchvision"', '"fastapi"']), unique=True, max_size=4
)
COMMENT = st.sampled_from(["", "  # keep me", "\t# pinned"])


@st.composite
def project_part(draw) -> tuple[list[str], list[str]]:
    """([root dotted lines], [header sections]) declaring the project."""
    deps = draw(DEPS)
    array = "[" + ", ".join(deps) + "]" if draw(st.booleans()) else "[\n" + "".join(f"    {d},\n" for d in deps) + "]"
    comment = draw(COMMENT)
    if draw(st.booleans()):  # top-level dotted keys (must precede every header)
        return [f'project.name = "svc"{comment}', 'project.version = "0.1.0"', f"project.dependencies = {array}"], []
    return [], [f'[project]{comment}\nname = "svc"\nversion = "0.1.0"\ndependencies = {array}\n']


UV_LAYOUTS = {
    "absent": ([], []),
    "table": ([], ["[tool.uv]\nmanaged = true  # uv settings\n"]),
    "inline-index": ([], [f"[tool.uv]\nindex = [{MIRROR}]\n"]),
    "inline-index-multiline": ([], [f"[tool.uv]\nindex = [\n    {MIRROR},\n]\n"]),
    "inline-sources": ([], ['[tool.uv]\nsources = { numpy = { index = "mirror" } }\n' + f"index = [{MIRROR}]\n"]),
    "aot-and-sources": (
        [],
        [
            f"[[tool.uv.index]]\n{MIRROR[2:-2].replace(', ', chr(10))}\n",
            '[tool.uv.sources]\nnumpy = { index = "mirror" }  # ours\n',
        ],
    ),
    "dotted-root": (["tool.uv.managed = true"], []),
    "dotted-root-index": ([f"tool.uv.index = [{MIRROR}]"], []),
    "dotted-root-other-tool": (["tool.ruff.line-length = 100"], []),
    "dotted-in-tool": ([], ["[tool]\nuv.managed = true\nruff.line-length = 100\n"]),
    "dotted-sources": ([], ['[tool.uv]\nsources.numpy = { index = "mirror" }\n' + f"index = [{MIRROR}]\n"]),
    "inline-uv": ([], ["[tool]\nuv = { managed = true }\n"]),
}
REFUSED = {"inline-uv"}
OTHERS = [
    '[build-system]\nrequires = ["hatchling"]\n',
    "# lint settings\n[tool.ruff]\nline-length = 110\n",
    '[tool.pytest.ini_options]\naddopts = "-q"\n',
    '[dependency-groups]\ndev = ["pytest"]\n',
]


@st.composite
def pyproject(draw) -> tuple[str, str]:
    """(text, uv layout name)."""
    root, sections = draw(project_part())
    layout = draw(st.sampled_from(sorted(UV_LAYOUTS)))
    uv_root, uv_sections = UV_LAYOUTS[layout]
    others = draw(st.lists(st.sampled_from(OTHERS), unique=True, max_size=3))
    if any(s.startswith("[tool]") for s in uv_sections):
        others = [o for o in others if "[tool.ruff]" not in o]  # one owner for tool.ruff
    if any("tool.ruff" in r for r in uv_root):
        others = [o for o in others if "[tool.ruff]" not in o]
    ordered = draw(st.permutations(sections + uv_sections + others))
    head = "\n".join(draw(st.permutations(root + uv_root)))
    text = draw(st.sampled_from(["", "# service\n"])) + (head + "\n\n" if head else "") + "\n".join(ordered)
    if not draw(st.booleans()):
        text = text.rstrip("\n")  # no newline at the end of the file
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    if draw(st.booleans()):
        text = "\ufeff" + text
    return text, layout


def _data(text: str) -> dict:
    return tomllib.loads(text.removeprefix("\ufeff"))


def _expected_cpu(before: dict, packages: tuple[str, ...], promote: bool) -> dict:
    want = copy.deepcopy(before)
    uv = want.setdefault("tool", {}).setdefault("uv", {})
    index = uv.setdefault("index", [])
    cpu = next((i for i in index if i.get("url") == CPU_URL), None)
    if cpu is None:
        index.append({"name": "pytorch-cpu", "url": CPU_URL, "explicit": True})
    for name in packages:
        uv.setdefault("sources", {})[name] = {"index": "pytorch-cpu"}
    deps = want["project"].setdefault("dependencies", [])
    if promote and not any(d.split("=")[0].split(">")[0].strip() == "torch" for d in deps):
        deps.append("torch==2.8.0")
    return want


def _check_style(before: str, after: str) -> None:
    assert after.startswith("\ufeff") == before.startswith("\ufeff")
    if "\r\n" in before:
        assert after.count("\n") == after.count("\r\n"), "an LF line in a CRLF file"
    else:
        assert "\r" not in after
    for line in before.splitlines():
        if line.strip().startswith("#"):
            assert line in after.splitlines(), f"comment line lost: {line!r}"


@settings(settings.get_profile("depaudit-default"), max_examples=700 * SCALE)
@given(pyproject(), st.sampled_from([("torch",), ("torch", "torchvision")]), st.booleans())
def test_cpu_index_fix_on_any_layout(doc, packages, promote) -> None:
    text, layout = doc
    needs = CpuIndexNeeds(packages, ((("dependencies", None), "torch==2.8.0"),) if promote else ())
    try:
        edit = plan_cpu_index_text(text, "pyproject.toml", needs, index_url=CPU_URL)
    except FixRefused as refused:
        assert layout in REFUSED, f"{layout} refused: {refused}\n{text}"
        return
    assert layout not in REFUSED
    assert _data(edit.after) == _expected_cpu(_data(text), packages, promote), edit.after
    _check_style(text, edit.after)
    parse_pyproject(edit.after.removeprefix("\ufeff"))
    assert not plan_cpu_index_text(edit.after, "pyproject.toml", needs, index_url=CPU_URL).changed


@settings(settings.get_profile("depaudit-default"), max_examples=500 * SCALE)
@given(pyproject(), st.sampled_from(["onnxruntime", "tinygrad"]))
def test_runtime_swap_on_any_layout(doc, runtime) -> None:
    text, _layout = doc
    before = _data(text)
    edit = plan_runtime_swap_text(text, "pyproject.toml", runtime)
    after = _data(edit.after)
    deps = before["project"].get("dependencies", [])
    torch = [d for d in deps if d.strip("'\"").startswith(("torch", "torchvision"))]
    assert after["project"]["dependencies"] == [d for d in deps if d not in torch] + [runtime]
    dev = after.get("dependency-groups", {}).get("dev", [])
    assert all(t in dev for t in torch)
    assert {k: v for k, v in after.items() if k not in ("project", "dependency-groups")} == {
        k: v for k, v in before.items() if k not in ("project", "dependency-groups")
    }
    _check_style(text, edit.after)
    assert not plan_runtime_swap_text(edit.after, "pyproject.toml", runtime).changed


@settings(settings.get_profile("depaudit-default"), max_examples=300 * SCALE)
@given(pyproject(), st.data())
def test_a_mangled_edit_is_refused_never_written(doc, data) -> None:
    """The verifier itself: any edit whose meaning is not the plan (here, the plan with one planned
    key dropped or a foreign key added) is refused."""
    from depaudit.fixers.tomledit import Op, verify

    text, _layout = doc
    body = text.removeprefix("\ufeff").replace("\r\n", "\n")
    ops = [Op("set", ("tool", "uv", "sources", "torch"), {"index": "pytorch-cpu"})]
    stray = data.draw(st.sampled_from(["[tool.uv.sources]\nx = 1\n", '[tool.depaudit]\nmax-download = "1GB"\n']))
    candidate = body + ("\n" if body and not body.endswith("\n") else "") + stray
    with pytest.raises(FixRefused, match=r"cannot edit this layout safely|would not parse"):
        verify("pyproject.toml", body, candidate, ops)


# --- the layouts from the issue, one by one, through the CLI -------------------------------------------


def _fix(path, *args: str):
    from childrun import run_depaudit

    return run_depaudit("fix", str(path), "--cpu-index-url", CPU_URL, *args)


def test_inline_index_under_tool_uv_stays_valid(tmp_path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(f'[project]\nname = "x"\ndependencies = ["torch"]\n\n[tool.uv]\nindex = [{MIRROR}]\n')
    result = _fix(path)
    assert result.returncode == 0, result.stderr
    data = tomllib.loads(path.read_text())
    assert data["tool"]["uv"]["index"] == [
        {"name": "mirror", "url": "https://mirror.example/simple"},
        {"name": "pytorch-cpu", "url": CPU_URL, "explicit": True},
    ]
    assert _fix(path).stdout.startswith("nothing to change in pyproject.toml\nlock: no uv.lock to confirm it")


def test_top_level_dotted_keys_keep_the_project_metadata(tmp_path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('tool.ruff.line-length = 100\nproject.name = "x"\nproject.dependencies = ["torch"]\n')
    assert _fix(path).returncode == 0
    data = tomllib.loads(path.read_text())
    assert data["project"] == {"name": "x", "dependencies": ["torch"]}
    assert data["tool"]["ruff"] == {"line-length": 100}
    assert data["tool"]["uv"]["sources"] == {"torch": {"index": "pytorch-cpu"}}


def test_crlf_and_bom_are_kept_in_every_line(tmp_path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_bytes(b'\xef\xbb\xbf[project]\r\nname = "x"\r\ndependencies = ["torch"]\r\n')
    assert _fix(path).returncode == 0
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf[project]\r\n") and data.count(b"\n") == data.count(b"\r\n") > 8


def test_symlinked_pyproject_is_written_through(tmp_path) -> None:
    """A link that stays inside the project is followed and written through (mode and owner kept); one
    that leads out of it is refused (tests/security/test_files_stay_inside.py)."""
    project = tmp_path / "project"
    shared = project / "shared"
    shared.mkdir(parents=True)
    real = shared / "pyproject.toml"
    real.write_text('[project]\nname = "x"\ndependencies = ["torch"]\n')
    real.chmod(0o640)
    if os.geteuid() == 0:
        os.chown(real, 4321, 4321)
    (project / ".git").mkdir()  # the project root: links may lead anywhere inside the work tree
    (project / "pyproject.toml").symlink_to("shared/pyproject.toml")
    assert _fix(project).returncode == 0
    link = project / "pyproject.toml"
    assert link.is_symlink() and "pytorch-cpu" in real.read_text()
    st = real.stat()
    assert st.st_mode & 0o777 == 0o640 and (os.geteuid() != 0 or (st.st_uid, st.st_gid) == (4321, 4321))
    assert sorted(p.name for p in shared.iterdir()) == ["pyproject.toml"]


def test_a_layout_the_editor_cannot_handle_is_refused_with_exit_5(tmp_path) -> None:
    path = tmp_path / "pyproject.toml"
    text = '[project]\nname = "x"\ndependencies = ["torch"]\n\n[tool]\nuv = { managed = true }\n'
    path.write_text(text)
    result = _fix(path)
    assert result.returncode == 5 and "inline table" in result.stderr and "nothing changed" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and path.read_text() == text

"""The shell reader (depaudit.images.shell) and what RUN commands do to a predicted file system
(depaudit.images.steps, depaudit.images.vfs): expansion as the shell does it, deletions by rm and find
(the reference images' slim-venv.sh included), copies, chmod copy-ups, layers counted as the engine counts
them, and what cannot be followed reported rather than guessed."""

from __future__ import annotations

from pathlib import Path

import pytest

from depaudit.images.shell import Command, ShellError, ShellState, expand_word, lex, parse, walk
from depaudit.images.steps import RunStep
from depaudit.images.vfs import Tree

REPO = Path(__file__).resolve().parents[2]
SITE = "opt/venv/lib/python3.11/site-packages"


class Recorder:
    def __init__(self) -> None:
        self.commands: list[Command] = []
        self.unknowns: list[str] = []

    def run(self, command: Command, state: ShellState) -> None:
        self.commands.append(command)

    def unknown(self, what: str) -> None:
        self.unknowns.append(what)


def commands(text: str, env: dict[str, str | None] | None = None, positional: list[str] | None = None) -> Recorder:
    recorder = Recorder()
    walk(parse(text), ShellState(positional=positional or []), env or {}, recorder, lambda pattern, cwd: [])
    return recorder


def test_words_are_expanded_as_the_shell_does():
    r = commands(
        'A=1 pip install "x==${V:-2}" \'$HOME\' $LIST; for f in $LIST; do rm -rf "/tmp/$f"; done',
        {"LIST": "a b", "HOME": "/root"},
    )
    argv = [c.argv for c in r.commands]
    assert argv[0] == ("pip", "install", "x==2", "$HOME", "a", "b") and r.commands[0].assignments == (("A", "1"),)
    assert argv[1:] == [("rm", "-rf", "/tmp/a"), ("rm", "-rf", "/tmp/b")]


def test_or_branches_and_redirections():
    r = commands("rm -f /x 2>/dev/null || true; echo hi > /etc/motd && cat /etc/motd")
    assert [c.argv for c in r.commands] == [("rm", "-f", "/x"), ("echo", "hi"), ("cat", "/etc/motd")]
    assert r.commands[0].redirects == (("2>", "/dev/null"),) and r.commands[1].redirects == ((">", "/etc/motd"),)


def test_what_cannot_be_known_is_reported():
    r = commands('pip install "$(cat reqs)"; while true; do rm -rf /; done; echo $NOVALUE', {"NOVALUE": None})
    assert r.commands == [] and len(r.unknowns) == 3
    with pytest.raises(ShellError):
        parse("echo 'unterminated")


def test_positional_parameters_and_globs_keep_quoting():
    tokens = lex("""x "a*b" 'c*' d*""")
    state = ShellState(positional=["/opt/venv"])
    seen: list[str] = []

    def glob(pattern: str, cwd: str) -> list[str]:
        seen.append(pattern)
        return []

    assert [f for t in tokens for f in expand_word(t.word, state, {}, glob)] == ["x", "a*b", "c*", "d*"]  # no match
    assert seen == ["d*"]  # only the unquoted star is a pattern
    assert commands('venv="$1"; echo "$venv"/lib', positional=["/opt/venv"]).commands[0].argv == (
        "echo",
        "/opt/venv/lib",
    )


def _step(tree: Tree) -> RunStep:
    class NoInstallers:
        def handles(self, argv: object) -> bool:
            return False

        def apply(self, step: object, command: object, state: object) -> None:
            raise AssertionError("no installer expected")

    return RunStep(tree, {"HOME": "/root", "PATH": "/usr/bin"}, "/", NoInstallers(), lambda origin: None)


def _venv_tree() -> Tree:
    tree = Tree()
    for path, size in {
        f"{SITE}/numpy/__init__.py": 100,
        f"{SITE}/numpy/tests/test_a.py": 1000,
        f"{SITE}/numpy/_core/include/numpy/arrayobject.h": 2000,
        f"{SITE}/numpy/_core/__init__.pyi": 300,
        f"{SITE}/numpy/__pycache__/__init__.cpython-311.pyc": 50,
        f"{SITE}/numpy/f2py/x.py": 400,
        f"{SITE}/PIL/_avif.cpython-311-x86_64-linux-gnu.so": 5000,
        f"{SITE}/PIL/Image.py": 700,
        f"{SITE}/torch/include/ATen/x.h": 9000,
        "opt/venv/bin/python3": 16,
    }.items():
        tree.write(path, size)
    return tree


def test_the_reference_slim_venv_script_removes_what_it_says():
    tree = _venv_tree()
    tree.write("tmp/slim-venv.sh", 100, origin="docker/slim-venv.sh")
    step = _step(tree)
    step.read_origin = lambda origin: (REPO / origin).read_text()
    tree.begin(1)
    step.run_text(
        "sh /tmp/slim-venv.sh /opt/venv && find /opt/venv -name __pycache__ -prune -exec rm -rf {} +", ShellState()
    )
    assert step.unknowns == []
    left = {p.removeprefix(SITE + "/") for p in tree.entries if p.startswith(SITE)}
    assert left == {"numpy/__init__.py", "PIL/Image.py"}
    assert sum(e.size for _, e in tree.layer_entries(1)) == 0  # only deletions: whiteouts cost nothing
    assert tree.wasted == 1000 + 2000 + 300 + 50 + 400 + 5000 + 9000  # lower layers still carry them


def test_a_layer_counts_what_it_leaves_and_a_copy_up_wastes_the_old_copy():
    tree = Tree()
    tree.write("app/data.bin", 1000)
    tree.write("app/code.py", 10)
    step = _step(tree)
    tree.begin(1)
    step.run_text(
        "mkdir -p /scratch && cp /app/data.bin /scratch/ && rm -rf /scratch && chmod -R 600 /app && ln -s /app/code.py /usr/bin/code",
        ShellState(),
    )
    assert sum(e.size for _, e in tree.layer_entries(1)) == 1000 + 10 + len(
        "/app/code.py"
    )  # the copy made and deleted in the step: nothing
    assert tree.wasted == 1010


def test_commands_not_followed_are_named():
    step = _step(Tree())
    step.run_text("curl -o /opt/model.bin https://example.invalid/m && make install && ls /", ShellState())
    assert step.unknowns == ["`curl` is not followed", "`make` is not followed"]


def test_useradd_rewrites_the_account_files_and_makes_the_home():
    tree = Tree()
    for name, size in (("passwd", 800), ("group", 400), ("shadow", 450), ("gshadow", 350), ("skel/.bashrc", 3500)):
        tree.write(f"etc/{name}", size)
    step = _step(tree)
    tree.begin(1)
    step.run_text("useradd --create-home app", ShellState())
    written = {p: e.size for p, e in tree.layer_entries(1)}
    assert written["home/app/.bashrc"] == 3500 and written["etc/passwd-"] == 800 and written["etc/passwd"] > 800
    assert {"etc/subuid", "etc/subgid"} <= set(written)

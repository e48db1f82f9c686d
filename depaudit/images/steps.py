"""What the commands of a RUN line do to a predicted file system (`depaudit.images.vfs.Tree`).

`RunStep` receives each simple command the shell walk (`depaudit.images.shell`) expands and applies the
ones it knows: file commands here (`rm`, `find`, `mkdir`, `ln`, `cp`, `mv`, `touch`, `chmod`/`chown`,
`useradd`, a script copied into the image and run), installers through `depaudit.images.installers`
(`python -m venv`, `pip`, `uv`, `apt-get`). A command known to change no file (`echo`, `test`, `ldconfig`)
is skipped; anything else is recorded as not followed, and the prediction then says it is a lower bound.
"""

from __future__ import annotations

import fnmatch
import itertools
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from depaudit.images.shell import Command, ShellError, ShellState, parse, walk
from depaudit.images.vfs import Tree, clean, has_magic

READ_ONLY = frozenset(
    "true false : echo printf test [ [[ exit return set export unset shopt ulimit umask alias type hash which command "
    "ls cat head tail grep egrep fgrep wc id whoami uname env printenv sleep date pwd basename dirname readlink "
    "realpath stat file du df free nproc getent ldconfig ldd sync trap wait yes seq sort uniq tr cut awk diff cmp "
    "sha256sum md5sum sha1sum gpg gpgv dpkg-query apt-cache apt-config locale nvidia-smi".split()
)
"""Commands that change no file (their output redirected to a file still writes that file)."""

SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh"})
MAX_SCRIPT_DEPTH = 8


class Installers(Protocol):
    """The package installers a RUN may call (`depaudit.images.installers`)."""

    def handles(self, argv: Sequence[str]) -> bool:
        """True when the command is an installer this object applies."""

    def apply(self, step: RunStep, command: Command, state: ShellState) -> None:
        """Apply an installer command to `step.tree`."""


@dataclass
class RunStep:
    """One RUN instruction being applied to `tree` (the stage's file system, writing layer `layer`).
    `env` holds the stage's ENV and ARG values (None: a build argument with no value); `read_origin`
    returns the text of a build-context file. What the step could not follow lands in `unknowns`; what
    it did in `notes`; every package it installed in `packages` (label, bytes)."""

    tree: Tree
    env: dict[str, str | None]
    cwd: str
    installers: Installers
    read_origin: Callable[[str], str | None]
    unknowns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    packages: list[tuple[str, int, int]] = field(default_factory=list)  # (name==version, bytes, accelerator bytes)
    depth: int = 0

    # -- the shell walk's callbacks ------------------------------------------------------------------

    def unknown(self, what: str) -> None:
        if what not in self.unknowns:
            self.unknowns.append(what)

    def note(self, what: str) -> None:
        if what not in self.notes:
            self.notes.append(what)

    def glob(self, pattern: str, cwd: str) -> list[str]:
        """Pathname expansion as the shell prints it (absolute when the pattern is)."""
        matches = self.tree.glob(clean(pattern, cwd))
        if pattern.startswith("/"):
            return ["/" + m for m in matches]
        base = clean(".", cwd)
        prefix = "" if base == "." else base + "/"
        return [m[len(prefix) :] if m.startswith(prefix) else "/" + m for m in matches]

    def run_text(self, text: str, state: ShellState) -> None:
        """Walk shell text (a RUN line, `sh -c`, a script) with this step."""
        try:
            body = parse(text)
        except ShellError as exc:
            self.unknown(f"shell text not followed: {exc}")
            return
        walk(body, state, self.env, self, self.glob)

    def run(self, command: Command, state: ShellState) -> None:
        argv = list(command.argv)
        for op, target in command.redirects:
            if op.endswith((">", ">>", ">|")) and target and target not in ("/dev/null", "/dev/stdout", "/dev/stderr"):
                self._redirected(argv, clean(target, state.cwd), op.endswith(">>"))
        name = posixpath.basename(argv[0])
        if name == "cd":
            target = argv[1] if len(argv) > 1 else (self.env.get("HOME") or "/root")
            state.cwd = "/" + clean(target, state.cwd) if clean(target, state.cwd) != "." else "/"
        elif name == "export":
            for item in argv[1:]:
                key, eq, value = item.partition("=")
                if eq:
                    state.variables[key] = value
        elif name in READ_ONLY or (name.startswith("python") and argv[1:2] in (["-c"], ["-V"], ["--version"])):
            return
        elif self.installers.handles(argv):
            self.installers.apply(self, command, state)
        elif name in SHELLS or name in (".", "source") or self._is_script(argv[0], state):
            self._script(argv, state)
        else:
            handler = _FILE_COMMANDS.get(name)
            if handler is None:
                self.unknown(f"`{name}` is not followed")
            else:
                handler(self, argv[1:], state)

    # -- helpers -------------------------------------------------------------------------------------

    def path(self, word: str, state: ShellState) -> str:
        return clean(word, state.cwd)

    def _redirected(self, argv: Sequence[str], target: str, append: bool) -> None:
        # `echo text > file`: the words written; other output: unknown, but small in every build we know
        known = posixpath.basename(argv[0]) in ("echo", "printf")
        size = len(" ".join(argv[1:])) + 1 if known else 0
        old = self.tree.entries.get(target)
        self.tree.write(target, size + (old.size if append and old else 0), unknown=not known)

    def _is_script(self, word: str, state: ShellState) -> bool:
        if "/" not in word:
            return False
        entry = self.tree.entries.get(clean(word, state.cwd))
        return entry is not None and entry.origin is not None

    def _script(self, argv: Sequence[str], state: ShellState) -> None:
        args = list(argv)
        if posixpath.basename(args[0]) in SHELLS:
            args = args[1:]
            while args and args[0].startswith("-") and args[0] != "-c":
                args = args[1:]
            if args[:1] == ["-c"]:
                if len(args) > 1:
                    self.run_text(args[1], ShellState(dict(state.variables), args[2:], state.cwd))
                return
        elif args[0] in (".", "source"):
            args = args[1:]
        if not args:
            return
        entry = self.tree.entries.get(clean(args[0], state.cwd))
        text = self.read_origin(entry.origin) if entry is not None and entry.origin else None
        if text is None:
            self.unknown(f"script {args[0]} (not a file of the build context) is not followed")
            return
        if self.depth >= MAX_SCRIPT_DEPTH:
            self.unknown("scripts nested too deeply")
            return
        self.depth += 1
        try:
            self.run_text(text, ShellState(dict(state.variables), args[1:], state.cwd))
        finally:
            self.depth -= 1


# ---------------------------------------------------------------------------------------------- file commands


def _options(args: Sequence[str]) -> tuple[set[str], list[str]]:
    """Short and long options (`-rf` -> r, f) and operands; `--` ends the options."""
    flags: set[str] = set()
    operands: list[str] = []
    done = False
    for arg in args:
        if done or not arg.startswith("-") or arg == "-":
            operands.append(arg)
        elif arg == "--":
            done = True
        elif arg.startswith("--"):
            flags.add(arg)
        else:
            flags.update(arg[1:])
    return flags, operands


def _rm(step: RunStep, args: Sequence[str], state: ShellState) -> None:
    flags, paths = _options(args)
    recursive = bool({"r", "R", "--recursive"} & flags)
    for word in paths:
        path = step.path(word, state)
        if path == "." or (has_magic(word) and not step.tree.exists(path)):
            continue  # an unmatched pattern: rm complains, -f ignores
        if step.tree.is_dir(path) and not recursive:
            continue
        step.tree.remove(path)


def _rmdir(step: RunStep, args: Sequence[str], state: ShellState) -> None:
    for word in _options(args)[1]:
        path = step.path(word, state)
        if not list(step.tree.walk(path)):
            step.tree.remove(path)


def _mkdir(step: RunStep, args: Sequence[str], state: ShellState) -> None:
    flags, paths = _options(args)
    for word in paths:
        if not ("m" in flags and word.isdigit()):
            step.tree.mkdir(step.path(word, state))


def _touch(step: RunStep, args: Sequence[str], state: ShellState) -> None:
    for word in _options(args)[1]:
        path = step.path(word, state)
        if path in step.tree.entries:
            step.tree.touch_again(path)
        elif not step.tree.is_dir(path):
            step.tree.write(path, 0)


def _ln(step: RunStep, args: Sequence[str], state: ShellState) -> None:
    flags, operands = _options(args)
    if len(operands) < 2:
        return
    *targets, link = operands
    for target in targets:
        where = step.path(link, state)
        if step.tree.is_dir(where):
            where = posixpath.join(where, posixpath.basename(target))
        if "s" in flags or "--symbolic" in flags:
            step.tree.write(where, len(target))
        else:
            step.tree.write(where, 0)  # a hard link: a second name, no new bytes


def _rewrite(step: RunStep, args: Sequence[str], state: ShellState) -> None:
    """chmod/chown/chgrp: every file they touch is copied whole into the new layer."""
    flags, operands = _options(args)
    recursive = bool({"R", "--recursive"} & flags)
    for word in operands[1:]:
        path = step.path(word, state)
        for item in list(step.tree.walk(path)) if recursive else [path]:
            step.tree.touch_again(item)


def _copy(step: RunStep, args: Sequence[str], state: ShellState, *, move: bool = False) -> None:
    _flags, operands = _options(args)
    if len(operands) < 2:
        return
    *sources, dest = operands
    target = step.path(dest, state)
    into = step.tree.is_dir(target) or len(sources) > 1 or dest.endswith("/")
    for source in sources:
        src = step.path(source, state)
        base = posixpath.join(target, posixpath.basename(src)) if into else target
        copy_subtree(step.tree, step.tree, src, base)
        if move:
            step.tree.remove(src)


def copy_subtree(source: Tree, tree: Tree, src: str, dest: str) -> int:
    """Copy file `src`, or everything under folder `src`, of `source` to `dest` of `tree` (in its
    current layer); returns the bytes written."""
    written = 0
    entries = list(source.walk(src))
    for path in entries:
        entry = source.entries[path]
        rel = "" if path == src else path[len(src) + 1 :] if src != "." else path
        target = posixpath.join(dest, rel) if rel else dest
        tree.write(target, entry.size, owner=entry.owner, accelerator=entry.accelerator, origin=entry.origin)
        written += entry.size
    for folder in source._dirs_under(src):
        rel = "" if folder == src else folder[len(src) + 1 :] if src != "." else folder
        tree.mkdir(posixpath.join(dest, rel) if rel else dest)
    return written


def _useradd(step: RunStep, args: Sequence[str], state: ShellState) -> None:
    """useradd/groupadd/adduser: the account files are rewritten (each with its `-` backup); with
    `-m`/`--create-home`, /etc/skel is copied into the new home."""
    flags, operands = _options(args)
    for name in ("passwd", "group", "shadow", "gshadow"):
        path = f"etc/{name}"
        entry = step.tree.entries.get(path)
        size = (entry.size if entry else 0) + 40
        step.tree.write(path, size)
        step.tree.write(path + "-", entry.size if entry else 0)
    if not ({"r", "--system"} & flags) and posixpath.basename(args[0] if args else "") != "groupadd":
        for name in ("subuid", "subgid"):  # a login user gets subordinate id ranges
            entry = step.tree.entries.get(f"etc/{name}")
            step.tree.write(f"etc/{name}", (entry.size if entry else 0) + 20)
            step.tree.write(f"etc/{name}-", entry.size if entry else 0)
    if ("m" in flags or "--create-home" in flags) and operands:
        home = _home_of(args) or f"home/{operands[-1]}"
        copy_subtree(step.tree, step.tree, "etc/skel", home)


def _home_of(args: Sequence[str]) -> str | None:
    for i, arg in enumerate(args):
        if arg in ("-d", "--home-dir", "--home") and i + 1 < len(args):
            return clean(args[i + 1])
        if arg.startswith("--home-dir="):
            return clean(arg.partition("=")[2])
    return None


# ---------------------------------------------------------------------------------------------- find


Predicate = Callable[[str, str, bool], bool]
"""A `find` test: (image path, path as find prints it, is a folder) -> matches."""
_FIND_TESTS = frozenset(
    {"-name", "-iname", "-path", "-wholename", "-ipath", "-regex", "-type", "-mindepth", "-maxdepth"}
)
_FIND_FLAGS = frozenset({"-depth", "-xdev", "-mount", "-print", "-print0", "-true", "-ignore_readdir_race", "-noleaf"})


def _always(path: str, shown: str, is_dir: bool) -> bool:
    return True


def _find_test(token: str, value: str) -> Predicate:
    """The test a `find` primary with a value makes (-mindepth/-maxdepth are applied by the walk)."""
    if token in ("-name", "-iname"):
        fold = token == "-iname"
        wanted = value.lower() if fold else value
        return lambda p, s, d: fnmatch.fnmatchcase(
            posixpath.basename(s).lower() if fold else posixpath.basename(s), wanted
        )
    if token in ("-path", "-wholename", "-ipath"):
        return lambda p, s, d: fnmatch.fnmatchcase(s, value)
    if token == "-regex":
        regex = re.compile(value)
        return lambda p, s, d: bool(regex.fullmatch(s))
    if token == "-type":
        return lambda p, s, d: (value == "d" and d) or (value in "fl" and not d)
    return _always


@dataclass
class _Find:
    """A parsed `find` expression over its operands, with the actions it ends in."""

    tokens: list[str]
    pos: int = 0

    def parse_or(self) -> Predicate:
        left = self.parse_and()
        while self.pos < len(self.tokens) and self.tokens[self.pos] in ("-o", "-or"):
            self.pos += 1
            right = self.parse_and()
            left = (lambda a, b: lambda p, s, d: a(p, s, d) or b(p, s, d))(left, right)
        return left

    def parse_and(self) -> Predicate:
        left = self.parse_not()
        while self.pos < len(self.tokens) and self.tokens[self.pos] not in ("-o", "-or", ")"):
            if self.tokens[self.pos] in ("-a", "-and"):
                self.pos += 1
            right = self.parse_not()
            left = (lambda a, b: lambda p, s, d: a(p, s, d) and b(p, s, d))(left, right)
        return left

    def parse_not(self) -> Predicate:
        if self.pos < len(self.tokens) and self.tokens[self.pos] in ("!", "-not"):
            self.pos += 1
            inner = self.parse_not()
            return lambda p, s, d: not inner(p, s, d)
        if self.pos < len(self.tokens) and self.tokens[self.pos] == "(":
            self.pos += 1
            inner = self.parse_or()
            if self.pos < len(self.tokens) and self.tokens[self.pos] == ")":
                self.pos += 1
            return inner
        return self.primary()

    def primary(self) -> Predicate:
        token = self.tokens[self.pos]
        self.pos += 1
        if token in ("-delete", "-prune"):
            self.actions.append(token)
            return _always
        if token in ("-exec", "-execdir", "-ok"):
            end = self.pos
            while end < len(self.tokens) and self.tokens[end] not in (";", "+"):
                end += 1
            self.actions.append("exec-rm" if self.tokens[self.pos : self.pos + 1] == ["rm"] else "exec-other")
            self.pos = end + 1
            return _always
        if token in _FIND_FLAGS:
            return _always
        if token not in _FIND_TESTS or self.pos >= len(self.tokens):
            raise ValueError(token)
        self.pos += 1
        return _find_test(token, self.tokens[self.pos - 1])

    actions: list[str] = field(default_factory=list)


def _find(step: RunStep, args: Sequence[str], state: ShellState) -> None:
    starts: list[str] = []
    rest = list(args)
    while rest and not rest[0].startswith(("-", "(", "!")):
        starts.append(rest.pop(0))
    options = dict(itertools.pairwise(rest))
    mindepth = int(options["-mindepth"]) if options.get("-mindepth", "x").isdigit() else 0
    maxdepth = int(options["-maxdepth"]) if options.get("-maxdepth", "x").isdigit() else 1 << 30
    parser = _Find(rest)
    try:
        test = parser.parse_or() if rest else (lambda p, s, d: True)
    except (ValueError, IndexError, re.error) as exc:
        step.unknown(f"`find` expression not followed ({exc})")
        return
    removes = "-delete" in parser.actions or "exec-rm" in parser.actions
    if "exec-other" in parser.actions:
        step.unknown("`find -exec` of a command other than rm is not followed")
    if not removes:
        return
    prune = "-prune" in parser.actions
    for start in starts or ["."]:
        for path, _shown, is_dir in _walk(step.tree, step.path(start, state), start, mindepth, maxdepth, prune, test):
            if step.tree.exists(path) and (not is_dir or "exec-rm" in parser.actions or not list(step.tree.walk(path))):
                step.tree.remove(path)


def _walk(
    tree: Tree, root: str, shown: str, mindepth: int, maxdepth: int, prune: bool, test: Predicate
) -> Iterator[tuple[str, str, bool]]:
    """The paths `find` reports under `root` (files and folders), deepest first, as (path, shown, dir)."""
    matched: list[tuple[str, str, bool]] = []
    stack = [(root, shown.rstrip("/") or shown, 0)]
    while stack:
        path, text, depth = stack.pop()
        is_dir = tree.is_dir(path)
        hit = mindepth <= depth <= maxdepth and test(path, text, is_dir)
        if hit:
            matched.append((path, text, is_dir))
        if is_dir and depth < maxdepth and not (hit and prune):
            base = "" if path == "." else path + "/"
            stack.extend((base + name, f"{text}/{name}", depth + 1) for name in tree.list_dir(path))
    return iter(reversed(matched))


def _chmod_like(step: RunStep, args: Sequence[str], state: ShellState) -> None:
    _rewrite(step, args, state)


_FILE_COMMANDS: Mapping[str, Callable[[RunStep, Sequence[str], ShellState], None]] = {
    "rm": _rm,
    "rmdir": _rmdir,
    "mkdir": _mkdir,
    "touch": _touch,
    "ln": _ln,
    "chmod": _chmod_like,
    "chown": _chmod_like,
    "chgrp": _chmod_like,
    "cp": lambda step, args, state: _copy(step, args, state),
    "mv": lambda step, args, state: _copy(step, args, state, move=True),
    "find": _find,
    "useradd": _useradd,
    "groupadd": _useradd,
    "adduser": _useradd,
    "addgroup": _useradd,
    "usermod": _useradd,
}

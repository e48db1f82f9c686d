"""Dockerfile parser: instructions with their lines and byte offsets, stages, flags, exec vs shell
form, parser directives (`# escape=`), comments (kept for inline ignores), heredocs, and a small shell
lexer that splits `RUN` lines into commands whose words know where they sit in the file (so fixers can
insert text without touching any other byte).

Nothing here analyses; `depaudit.analysis.docker_stages` and `depaudit.analysis.install_commands` do
that over what this returns.
"""

from __future__ import annotations

import bisect
import json
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from depaudit.errors import InputError, UsageError, excerpt
from depaudit.fileio import inside, read_text, work_tree

Line = tuple[int, int, str]  # (1-based line number, start offset, content without the line ending)
RawInstruction = dict[str, Any]  # an instruction being assembled, before `_finish` types it

INSTRUCTIONS = frozenset(
    [
        "FROM",
        "RUN",
        "CMD",
        "LABEL",
        "MAINTAINER",
        "EXPOSE",
        "ENV",
        "ADD",
        "COPY",
        "ENTRYPOINT",
        "VOLUME",
        "USER",
        "WORKDIR",
        "ARG",
        "ONBUILD",
        "STOPSIGNAL",
        "HEALTHCHECK",
        "SHELL",
    ]
)
_DIRECTIVE = re.compile(r"^#\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(.*?)\s*$")
_KNOWN_DIRECTIVES = {"escape", "syntax", "check"}
_HEREDOC = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_OPERATORS = ("&&", "||", ";;", ";", "|", "&", "(", ")", "\n")
MAX_BYTES = 5_000_000
MAX_EXPANDED = 4096  # characters of one expanded ARG/ENV value; longer is unknown (no real value comes near)


@dataclass(frozen=True)
class Token:
    """A shell word (quotes removed) or operator, with the file offsets of its raw text [start, end)."""

    value: str
    start: int
    end: int
    operator: bool = False


@dataclass(frozen=True)
class ShellCommand:
    """One simple command of a RUN line: leading `NAME=value` assignments and the words after them."""

    assignments: tuple[Token, ...]
    words: tuple[Token, ...]
    end: int  # file offset just past the command's last token

    @property
    def argv(self) -> tuple[str, ...]:
        return tuple(w.value for w in self.words)

    @property
    def env(self) -> dict[str, str]:
        return dict(a.value.split("=", 1) for a in self.assignments)


@dataclass(frozen=True)
class Instruction:
    """One instruction. `line`/`end_line` are 1-based; `start`/`end` are file offsets of its first
    character and just past its last one (heredoc bodies included; the final newline excluded).
    `logical` is the text after continuation lines are joined and inner comment lines dropped;
    `offsets[i]` is the file offset of `logical[i]`."""

    keyword: str
    line: int
    end_line: int
    start: int
    end: int
    logical: str = field(repr=False)
    offsets: tuple[int, ...] = field(repr=False)
    args_start: int  # index into `logical` where arguments (after flags) begin
    flags: tuple[tuple[str, str | None], ...] = ()
    exec_form: tuple[str, ...] | None = None
    comments: tuple[str, ...] = ()
    heredocs: tuple[str, ...] = ()
    stage: int = -1

    @property
    def arguments(self) -> str:
        """The argument text after the keyword and its `--flags` (continuations joined)."""
        return self.logical[self.args_start :].strip()

    def flag(self, name: str) -> str | None:
        for key, value in self.flags:
            if key == name:
                return value if value is not None else ""
        return None

    @cached_property
    def words(self) -> tuple[Token, ...]:
        """The argument words (shell quoting rules, no operators), for ENV/ARG/COPY/FROM/USER."""
        if self.exec_form is not None:
            return tuple(Token(w, self.start, self.start) for w in self.exec_form)
        return tuple(_lex(self.logical, self.offsets, self.args_start, False)[0])

    def commands(self) -> tuple[ShellCommand, ...]:
        """The simple commands of a shell-form RUN (split on && || ; | & and newlines in heredocs).
        Exec-form RUN gives one command whose tokens sit at the instruction start."""
        return self._shell[0]

    @property
    def shell_ok(self) -> bool:
        """False when the shell text has an unterminated quote: fixers leave such a RUN alone."""
        return self._shell[1]

    @cached_property
    def _shell(self) -> tuple[tuple[ShellCommand, ...], bool]:
        if self.exec_form is not None:
            words = tuple(Token(w, self.start, self.start) for w in self.exec_form)
            return ((ShellCommand((), words, self.end),) if words else ()), True
        tokens, ok = _lex(self.logical, self.offsets, self.args_start, True)
        return _split_commands(tokens), ok


@dataclass(frozen=True)
class Stage:
    """A build stage: `FROM image [AS name]`. `base` is the image with build-arg defaults expanded
    (None if a variable has no value); `parent` is the index of an earlier stage it builds on."""

    index: int
    name: str | None
    image: str
    base: str | None
    parent: int | None
    line: int
    instructions: tuple[Instruction, ...]

    @property
    def from_instruction(self) -> Instruction:
        return self.instructions[0]


@dataclass(frozen=True)
class Dockerfile:
    """A parsed Dockerfile. `global_args` are the `ARG`s before the first FROM with their values
    (defaults, overridden by build args given to the parser)."""

    path: str
    text: str
    escape: str
    instructions: tuple[Instruction, ...]
    stages: tuple[Stage, ...]
    global_args: tuple[tuple[str, str | None], ...] = ()
    line_starts: tuple[int, ...] = field(default=(), repr=False)

    @property
    def final_stage(self) -> Stage:
        return self.stages[-1]

    def stage_named(self, ref: str) -> Stage | None:
        """The stage a `--from=` / `FROM` reference names (by name or index), or None (an image)."""
        for stage in self.stages:
            if stage.name is not None and stage.name == ref.lower():
                return stage
        if ref.isdigit() and int(ref) < len(self.stages):
            return self.stages[int(ref)]
        return None

    def line_of(self, offset: int) -> int:
        """The 1-based line holding file offset `offset`."""
        return bisect.bisect_right(self.line_starts, offset)


# --------------------------------------------------------------------------------------------------
# Reading


def read_dockerfile(path: Path | str, build_args: dict[str, str] | None = None) -> Dockerfile:
    """Read and parse a Dockerfile. Raises InputError (exit 3) naming the path when it is missing, a
    directory, unreadable, not UTF-8, empty, or not a valid Dockerfile."""
    path = Path(path)
    text = read_text(path, "Dockerfile", limit=MAX_BYTES)  # the bounded reader: regular files only
    return parse_dockerfile(text, str(path), build_args)


def parse_dockerfile(text: str, path: str = "Dockerfile", build_args: dict[str, str] | None = None) -> Dockerfile:
    """Parse Dockerfile `text`. Raises InputError with the path and line on invalid input."""
    text_body_offset = 1 if text.startswith("\ufeff") else 0
    if "\x00" in text:
        raise InputError(path, "contains NUL bytes; not a Dockerfile", text[: text.index("\x00")].count("\n") + 1)
    lines = _split_lines(text, text_body_offset)
    escape, first = _directives(lines, path)
    instructions = _instructions(lines, first, escape, path)
    if not instructions:
        raise InputError(path, "empty Dockerfile (no instructions)")
    starts = tuple(start for _, start, _ in lines)
    return _stages(text, path, escape, instructions, build_args or {}, starts)


def _split_lines(text: str, skip: int) -> list[Line]:
    """(line number, start offset, content without the line ending) for every line."""
    lines: list[Line] = []
    pos, number = skip, 1
    while pos <= len(text):
        nl = text.find("\n", pos)
        end = len(text) if nl < 0 else nl
        content = text[pos:end]
        if content.endswith("\r"):
            content = content[:-1]
        lines.append((number, pos, content))
        if nl < 0:
            break
        pos, number = nl + 1, number + 1
    if lines and lines[-1][2] == "" and lines[-1][1] == len(text) and len(lines) > 1:
        lines.pop()  # the empty "line" after a final newline
    return lines


def _directives(lines: list[tuple[int, int, str]], path: str) -> tuple[str, int]:
    """Parser directives at the top of the file: returns the escape character and the index of the
    first line that is not a directive."""
    escape, index, seen = "\\", 0, set()
    for number, _, content in lines:
        match = _DIRECTIVE.match(content.strip())
        if not match or match.group(1).lower() not in _KNOWN_DIRECTIVES:
            break
        name, value = match.group(1).lower(), match.group(2)
        if name in seen:
            raise InputError(path, f"parser directive {excerpt(name)} given twice", number)
        seen.add(name)
        if name == "escape":
            if value not in ("\\", "`"):
                raise InputError(path, f"invalid escape character {excerpt(value)} (use \\ or `)", number)
            escape = value
        index += 1
    return escape, index


def _continues(content: str, escape: str) -> int | None:
    """If `content` ends with the escape character (optionally followed by blanks), its index."""
    stripped = content.rstrip(" \t")
    if stripped.endswith(escape):
        return len(stripped) - 1
    return None


def _instructions(lines: list[Line], first: int, escape: str, path: str) -> list[RawInstruction]:
    """Group lines into raw instructions (dicts, finished into Instructions by `_stages`)."""
    out: list[RawInstruction] = []
    above: list[str] = []
    i = first
    while i < len(lines):
        number, start, content = lines[i]
        stripped = content.strip()
        if not stripped:
            above = []
            i += 1
            continue
        if stripped.startswith("#"):
            above.append(stripped)
            i += 1
            continue
        logical: list[str] = []
        offsets: list[int] = []
        comments = list(above)
        above = []
        end_line, end = number, start + len(content)
        while True:
            number_i, start_i, content_i = lines[i]
            cut = _continues(content_i, escape)
            piece = content_i if cut is None else content_i[:cut]
            logical.append(piece)
            offsets.extend(range(start_i, start_i + len(piece)))
            end_line, end = number_i, start_i + len(content_i)
            i += 1
            if cut is None:
                break
            # Continuation: skip comment lines and empty lines inside it, as Docker does.
            while i < len(lines) and (not lines[i][2].strip() or lines[i][2].strip().startswith("#")):
                if lines[i][2].strip():
                    comments.append(lines[i][2].strip())
                i += 1
            if i >= len(lines):
                break
        text = "".join(logical)
        raw = {
            "line": number,
            "start": start,
            "end": end,
            "end_line": end_line,
            "logical": text,
            "offsets": offsets,
            "comments": comments,
            "heredocs": [],
        }
        i = _heredocs(raw, lines, i, path)
        out.append(raw)
    return out


def _heredocs(raw: RawInstruction, lines: list[Line], i: int, path: str) -> int:
    """Consume heredoc bodies (`RUN <<EOF … EOF`) following a RUN/COPY/ADD; returns the next line."""
    head = raw["logical"].lstrip().split(None, 1)
    if not head or head[0].upper() not in ("RUN", "COPY", "ADD"):
        return i
    for match in _HEREDOC.finditer(raw["logical"]):
        strip_tabs, word = match.group(1) == "-", match.group(3)
        body: list[str] = []
        body_offsets: list[int] = []
        while True:
            if i >= len(lines):
                raise InputError(path, f"heredoc <<{word} is never closed", raw["line"])
            number, start, content = lines[i]
            i += 1
            check = content.lstrip("\t") if strip_tabs else content
            if check == word:
                raw["end_line"], raw["end"] = number, start + len(content)
                break
            body.append(content + "\n")
            body_offsets.extend(range(start, start + len(content) + 1))
        raw["heredocs"].append("".join(body))
        if head[0].upper() == "RUN":
            raw.setdefault("run_body", []).append(("".join(body), body_offsets))
    return i


def _split_flags(logical: str, offsets: list[int], after_keyword: int) -> tuple[list[tuple[str, str | None]], int]:
    """Leading `--name[=value]` flags of an instruction; returns them and where the arguments start."""
    flags: list[tuple[str, str | None]] = []
    pos = after_keyword
    while True:
        while pos < len(logical) and logical[pos] in " \t":
            pos += 1
        if not logical.startswith("--", pos):
            return flags, pos
        end = pos
        while end < len(logical) and logical[end] not in " \t":
            end += 1
        word = logical[pos + 2 : end]
        name, eq, value = word.partition("=")
        flags.append((name.lower(), value if eq else None))
        pos = end


def _finish(raw: RawInstruction, path: str) -> Instruction:
    logical, offsets = raw["logical"], raw["offsets"]
    lead = len(logical) - len(logical.lstrip())
    match = re.match(r"[A-Za-z]+", logical[lead:])
    keyword = match.group(0).upper() if match else ""
    after = lead + (match.end() if match else 0)
    if not match or (after < len(logical) and logical[after] not in " \t"):
        what = logical.strip().split(None, 1)[0] if logical.strip() else logical
        raise InputError(path, f"not an instruction: {excerpt(what)}", raw["line"])
    if keyword not in INSTRUCTIONS:
        raise InputError(path, f"unknown instruction {excerpt(keyword)}", raw["line"])
    flags, args_start = _split_flags(logical, offsets, after)
    exec_form = None
    rest = logical[args_start:].strip()
    if keyword in ("RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME") and rest.startswith("["):
        try:
            parsed = json.loads(rest)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(p, str) for p in parsed):
            exec_form = tuple(parsed)
    body = raw.get("run_body")
    if body and exec_form is None:
        # Lex the heredoc scripts as part of the command stream (newline separates commands).
        for text, body_offsets in body:
            offsets = [*list(offsets), offsets[-1] if offsets else raw["start"]]
            logical = logical + "\n"
            logical += text
            offsets.extend(body_offsets)
    return Instruction(
        keyword,
        raw["line"],
        raw["end_line"],
        raw["start"],
        raw["end"],
        logical,
        tuple(offsets),
        args_start,
        tuple(flags),
        exec_form,
        tuple(raw["comments"]),
        tuple(raw["heredocs"]),
    )


# --------------------------------------------------------------------------------------------------
# Stages and build arguments

_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def expand(value: str, env: Mapping[str, str | None]) -> str | None:
    """Expand `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}`, `${VAR+alt}`
    with `env`. Returns None when a variable has no value and no default, or when the result would
    be longer than MAX_EXPANDED characters (unknown result)."""
    unknown = False
    inserted = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal unknown, inserted
        text = _substitute(match, env)
        if text is None:
            unknown = True
            return ""
        inserted += len(text)
        if inserted > MAX_EXPANDED:  # stop growing: `ARG X=${X}${X}` repeated doubles X each time
            unknown = True
            return ""
        return text

    result = _VAR.sub(replace, value)
    return None if unknown or len(result) > MAX_EXPANDED else result


def _substitute(match: re.Match[str], env: Mapping[str, str | None]) -> str | None:
    """The text one `$VAR`/`${VAR…}` stands for, or None when the variable has no value."""
    name = match.group(1) or match.group(4)
    op, word = match.group(2), match.group(3) or ""
    present = name in env and env[name] is not None
    current = env.get(name) or ""
    if op in (":-", "-"):
        use_default = not present or (op == ":-" and current == "")
        return word if use_default else current
    if op in (":+", "+"):
        set_ = present and (op == "+" or current != "")
        return word if set_ else ""
    return current if present else None


def _arg_pairs(instruction: Instruction) -> list[tuple[str, str | None]]:
    """`ARG NAME[=default] …` as (name, default or None)."""
    pairs: list[tuple[str, str | None]] = []
    for word in instruction.words:
        name, eq, value = word.value.partition("=")
        if name:
            pairs.append((name, value if eq else None))
    return pairs


def _stages(
    text: str, path: str, escape: str, raws: list[RawInstruction], build_args: dict[str, str], starts: tuple[int, ...]
) -> Dockerfile:
    env: dict[str, str | None] = {}
    global_args: list[tuple[str, str | None]] = []
    instructions: list[Instruction] = []
    stages: list[Stage] = []
    current: list[Instruction] = []
    head: dict[str, Any] | None = None

    def close() -> None:
        if head is not None:
            stages.append(
                Stage(
                    len(stages), head["name"], head["image"], head["base"], head["parent"], head["line"], tuple(current)
                )
            )

    for raw in raws:
        ins = _finish(raw, path)
        if ins.keyword == "FROM":
            close()
            current = []
            head = _from(ins, path, env, stages)
        elif head is None:
            if ins.keyword != "ARG":
                raise InputError(path, f"{ins.keyword} before the first FROM (only ARG may come first)", ins.line)
            for name, default in _arg_pairs(ins):
                value = build_args.get(name, default)
                value = expand(value, env) if value is not None else None
                env[name] = value
                global_args.append((name, value))
        ins = replace(ins, stage=len(stages) if head is not None else -1)
        instructions.append(ins)
        if head is not None:
            current.append(ins)
    if head is None:
        raise InputError(path, "no FROM instruction")
    close()
    return Dockerfile(path, text, escape, tuple(instructions), tuple(stages), tuple(global_args), starts)


def _from(ins: Instruction, path: str, env: dict[str, str | None], stages: list[Stage]) -> dict[str, Any]:
    words = [w.value for w in ins.words]
    if not words:
        raise InputError(path, "FROM needs an image", ins.line)
    name = None
    if len(words) == 3 and words[1].lower() == "as":
        name = words[2].lower()
    elif len(words) != 1:
        raise InputError(path, "FROM takes `image [AS name]`", ins.line)
    image = words[0]
    base = expand(image, env)
    parent = None
    if base is not None:
        for stage in stages:
            if stage.name is not None and stage.name == base.lower():
                parent = stage.index
    return {"name": name, "image": image, "base": base, "parent": parent, "line": ins.line}


# --------------------------------------------------------------------------------------------------
# Shell lexing


def _lex(logical: str, offsets: tuple[int, ...] | list[int], begin: int, operators: bool) -> tuple[list[Token], bool]:
    """Split `logical[begin:]` into shell words (quotes and backslashes removed) and, when
    `operators`, operator tokens. Unterminated quotes run to the end (the build would fail; we only
    read; the second value is then False). Offsets map back to the file."""
    tokens: list[Token] = []
    ok = True
    i, n = begin, len(logical)
    buf: list[str] = []
    start = -1
    last = -1

    def flush() -> None:
        nonlocal buf, start
        if start >= 0:
            tokens.append(Token("".join(buf), offsets[start], offsets[last] + 1))
        buf, start = [], -1

    while i < n:
        ch = logical[i]
        if ch in " \t\r" or (ch == "\n" and not operators):
            flush()
            i += 1
            continue
        if operators and ch in "&|;()\n#":
            op = next((o for o in _OPERATORS if logical.startswith(o, i)), None)
            if op is not None and not (op == "&" and i > 0 and logical[i - 1] in "<>"):
                flush()
                tokens.append(Token(op, offsets[i], offsets[i + len(op) - 1] + 1, True))
                i += len(op)
                continue
            if ch == "#" and start < 0:
                while i < n and logical[i] != "\n":  # a shell comment runs to the end of the line
                    i += 1
                continue
        if start < 0:
            start = i
        if ch == "'":
            j = logical.find("'", i + 1)
            if j < 0:
                ok, j = False, n - 1
            buf.append(logical[i + 1 : j])
            last, i = j, j + 1
        elif ch == '"':
            j = i + 1
            while j < n and logical[j] != '"':
                if logical[j] == "\\" and j + 1 < n and logical[j + 1] in '"\\$`':
                    j += 1
                buf.append(logical[j])
                j += 1
            ok = ok and j < n
            last, i = min(j, n - 1), j + 1
        elif ch == "\\" and i + 1 < n:
            buf.append(logical[i + 1])
            last, i = i + 1, i + 2
        else:
            buf.append(ch)
            last, i = i, i + 1
    flush()
    return tokens, ok


_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def _split_commands(tokens: list[Token]) -> tuple[ShellCommand, ...]:
    commands: list[ShellCommand] = []
    current: list[Token] = []

    def close() -> None:
        if not current:
            return
        k = 0
        while k < len(current) and _ASSIGNMENT.match(current[k].value):
            k += 1
        commands.append(ShellCommand(tuple(current[:k]), tuple(current[k:]), current[-1].end))
        current.clear()

    for token in tokens:
        if token.operator:
            close()
        else:
            current.append(token)
    close()
    return tuple(commands)


# --------------------------------------------------------------------------------------------------
# Build context


def context_dirs(dockerfile: Path | str, context: Path | str | None = None) -> list[Path]:
    """Where build-context files are looked for: `context` when given, else the Dockerfile's directory
    and its parent (the common `docker/Dockerfile.x` built from the repository root) when that parent is
    still inside the project — the git work tree, or outside git the current folder: a Dockerfile at the
    top of a checkout never makes lint read the folder above it."""
    if context is not None:
        return [Path(context)]
    here = Path(dockerfile).resolve().parent
    if here.parent == here or not inside(here.parent, work_tree(dockerfile) or Path.cwd()):
        return [here]
    return [here, here.parent]


_NESTED = re.compile(r"^\s*(?:-r|--requirement|-c|--constraint)[\s=]+(\S+)", re.MULTILINE)


def read_context(dirs: list[Path], wanted: list[str], limit: int = 1_000_000) -> dict[str, str]:
    """Read the context-relative files in `wanted` (and requirements files they nest with -r) from the
    first of `dirs` holding each. Only files really inside that context folder are read: an absolute
    name, a `..` that leaves it, or a link out of it is skipped. Files missing, unreadable, too large or
    not UTF-8 are left out too: a rule that needs one then reports nothing rather than guessing."""
    found: dict[str, str] = {}
    todo = list(wanted)
    while todo:
        key = posixpath.normpath(todo.pop(0)) if todo[0] else ""
        if key in found or not key or key == "." or key.startswith(("/", "../")) or key == "..":
            continue
        for base in dirs:
            candidate = base / key
            # never outside the context: not through a symlink, not through an absolute -r path
            if not candidate.is_file() or not candidate.resolve().is_relative_to(base.resolve()):
                continue
            try:
                text = read_text(candidate, "build-context file", limit=limit, root=base)
            except InputError:
                continue
            found[key] = text
            if key not in ("pyproject.toml", "uv.lock"):
                todo += [posixpath.normpath(posixpath.join(posixpath.dirname(key), m)) for m in _NESTED.findall(text)]
            break
    return found


def parse_build_args(values: Iterable[str] | None) -> dict[str, str]:
    """`--build-arg NAME=VALUE` values as a mapping (as docker build takes them). Raises UsageError for
    one without `=` or without a name."""
    args: dict[str, str] = {}
    for item in values or ():
        name, eq, val = item.partition("=")
        if not eq or not name:
            raise UsageError(f"--build-arg: expected NAME=VALUE, got {item!r}")
        args[name] = val
    return args

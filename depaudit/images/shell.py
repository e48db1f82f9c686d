"""A small POSIX shell reader for predicting what a RUN line (or a script it runs) does to the file system.

It lexes and parses the shell text a RUN instruction or a copied script holds (quotes, `$VAR`/`${VAR:-x}`,
`&&`/`||`/`;`/`|`, redirections, comments, `for … do … done`, `if … then … fi`, `{ … }`/`( … )`) and walks it,
handing each simple command, expanded as the shell would (variables, positional parameters, `~`, word
splitting, pathname expansion against the predicted file system) to the caller. Nothing is executed.
What cannot be known without running it (`$(...)`, a `while` loop, a `case`) is reported, not guessed.

`A || B` walks A only (a build step is assumed to succeed); `if` walks its first branch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

_OPERATORS = ("&&", "||", ";;", ";", "|", "&", "(", ")", "\n")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
MAX_WORDS = 200_000  # a RUN line or script longer than this is not read (no real one comes near)


class ShellError(ValueError):
    """Shell text this reader cannot follow (the message says what); the caller treats it as unknown."""


@dataclass(frozen=True)
class Part:
    """A piece of a word: its text and how it was quoted ("" unquoted, "'" single, '"' double)."""

    text: str
    quote: str = ""


@dataclass(frozen=True)
class Word:
    """A shell word as written, made of quoted and unquoted parts."""

    parts: tuple[Part, ...]

    @property
    def literal(self) -> str:
        """The word with quotes removed and nothing expanded."""
        return "".join(p.text for p in self.parts)


@dataclass(frozen=True)
class Token:
    word: Word | None = None
    operator: str | None = None


# ---------------------------------------------------------------------------------------------- lexing


def _read_single(text: str, i: int) -> tuple[str, int]:
    end = text.find("'", i + 1)
    if end < 0:
        raise ShellError("unterminated single quote")
    return text[i + 1 : end], end + 1


def _read_double(text: str, i: int) -> tuple[str, int]:
    out, j = [], i + 1
    while j < len(text) and text[j] != '"':
        if text[j] == "\\" and j + 1 < len(text) and text[j + 1] in '"\\$`\n':
            if text[j + 1] != "\n":
                out.append(text[j + 1])
            j += 2
            continue
        if text[j] == "$" and text.startswith("$(", j):
            close = _matching_paren(text, j + 1)
            out.append(text[j : close + 1])
            j = close + 1
            continue
        out.append(text[j])
        j += 1
    if j >= len(text):
        raise ShellError("unterminated double quote")
    return "".join(out), j + 1


def _matching_paren(text: str, i: int) -> int:
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "(":
            depth += 1
        elif text[j] == ")":
            depth -= 1
            if depth == 0:
                return j
    raise ShellError("unterminated $(")


@dataclass
class _Lexer:
    """Splits shell text into tokens; `parts` is the word being read, `plain` its unquoted text."""

    text: str
    tokens: list[Token] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    plain: list[str] = field(default_factory=list)

    def flush_plain(self) -> None:
        if self.plain:
            self.parts.append(Part("".join(self.plain)))
            self.plain.clear()

    def flush(self) -> None:
        self.flush_plain()
        if self.parts:
            self.tokens.append(Token(word=Word(tuple(self.parts))))
            self.parts.clear()
            if len(self.tokens) > MAX_WORDS:
                raise ShellError(f"more than {MAX_WORDS} words")

    def quoted(self, i: int) -> int:
        self.flush_plain()
        quote = self.text[i]
        value, i = _read_single(self.text, i) if quote == "'" else _read_double(self.text, i)
        self.parts.append(Part(value, quote))
        return i

    def redirect(self, i: int) -> int:
        """A redirection (`>`, `>>`, `2>`, `&>`, `<`): one word of its own, before its target."""
        self.flush_plain()
        start = i
        while i < len(self.text) and self.text[i] in "<>&|":
            i += 1
        redirect = self.text[start:i]
        if self.parts and all(p.quote == "" and p.text.isdigit() for p in self.parts):
            redirect = "".join(p.text for p in self.parts) + redirect
            self.parts.clear()
        self.flush()
        self.tokens.append(Token(word=Word((Part(redirect, "<>"),))))
        return i

    def substitution(self, i: int) -> int:
        """`$(...)` or a backquoted command, kept as `$(...)` text (its value is never known)."""
        if self.text[i] == "`":
            end = self.text.find("`", i + 1)
            if end < 0:
                raise ShellError("unterminated backquote")
            self.plain.append("$(" + self.text[i + 1 : end] + ")")
            return end + 1
        close = _matching_paren(self.text, i + 1)
        self.plain.append(self.text[i : close + 1])
        return close + 1

    def step(self, i: int) -> int:
        text, ch = self.text, self.text[i]
        if ch == "\\" and i + 1 < len(text):
            if text[i + 1] != "\n":  # an escaped character; a backslash-newline joins lines
                self.flush_plain()
                self.parts.append(Part(text[i + 1], "'"))
            return i + 2
        if ch in " \t\r":
            self.flush()
            return i + 1
        if ch == "#" and not self.parts and not self.plain:
            end = text.find("\n", i)
            return len(text) if end < 0 else end
        if ch in "'\"":
            return self.quoted(i)
        if ch == "`" or text.startswith("$(", i):
            return self.substitution(i)
        if ch in "<>":
            return self.redirect(i)
        found = next((o for o in _OPERATORS if text.startswith(o, i)), None)
        if found is not None and not (found == "&" and text.startswith("&>", i)):
            self.flush()
            self.tokens.append(Token(operator=found))
            return i + len(found)
        self.plain.append(ch)
        return i + 1


def lex(text: str) -> list[Token]:
    """Shell tokens: words and operators (redirections are words starting with `<`/`>` or `N>`)."""
    lexer = _Lexer(text)
    i = 0
    while i < len(text):
        i = lexer.step(i)
    lexer.flush()
    return lexer.tokens


# ---------------------------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class Simple:
    """A simple command: its words and redirections (operator, target) in order."""

    words: tuple[Word, ...]
    redirects: tuple[tuple[str, Word | None], ...] = ()


@dataclass(frozen=True)
class ForLoop:
    name: str
    items: tuple[Word, ...]
    body: Sequence_


@dataclass(frozen=True)
class IfBlock:
    branches: tuple[tuple[Sequence_, Sequence_], ...]
    otherwise: Sequence_ | None


@dataclass(frozen=True)
class Unsupported:
    """A construct this reader does not follow (`while`, `case`, a function)."""

    what: str


Node = Simple | ForLoop | IfBlock | Unsupported


@dataclass(frozen=True)
class Sequence_:
    """Commands joined by operators: (operator before it, node); the first has None."""

    items: tuple[tuple[str | None, Node], ...] = ()


@dataclass
class _Parser:
    tokens: list[Token]
    pos: int = 0

    def peek_word(self) -> str | None:
        if self.pos < len(self.tokens) and self.tokens[self.pos].word is not None:
            word = self.tokens[self.pos].word
            assert word is not None
            if all(p.quote == "" for p in word.parts):
                return word.literal
        return None

    def skip_separators(self) -> None:
        while self.pos < len(self.tokens) and self.tokens[self.pos].operator in (";", "\n", "&"):
            self.pos += 1

    def sequence(self, stop: frozenset[str]) -> Sequence_:
        items: list[tuple[str | None, Node]] = []
        op: str | None = None
        while self.pos < len(self.tokens):
            token = self.tokens[self.pos]
            if token.operator is not None:
                if token.operator == ")" and ")" in stop:
                    break
                op = token.operator if token.operator not in ("\n",) else ";"
                self.pos += 1
                continue
            if self.peek_word() in stop:
                break
            items.append((op if items else None, self.command()))
            op = None
        return Sequence_(tuple(items))

    def expect(self, word: str) -> None:
        self.skip_separators()
        if self.peek_word() != word:
            raise ShellError(f"expected `{word}`")
        self.pos += 1

    def command(self) -> Node:
        keyword = self.peek_word()
        if keyword == "for":
            return self.for_loop()
        if keyword == "if":
            return self.if_block()
        if keyword in ("while", "until", "case"):
            self.skip_block()
            return Unsupported(f"`{keyword}`")
        if keyword == "{":
            self.pos += 1
            body = self.sequence(frozenset({"}"}))
            self.expect("}")
            return _flatten(body)
        if self.pos < len(self.tokens) and self.tokens[self.pos].operator == "(":
            self.pos += 1
            body = self.sequence(frozenset({")"}))
            if self.pos >= len(self.tokens) or self.tokens[self.pos].operator != ")":
                raise ShellError("unterminated (")
            self.pos += 1
            return _flatten(body)
        return self.simple()

    def skip_block(self) -> None:
        """Step over a block this reader does not follow, nested blocks included."""
        ends = {"for": "done", "while": "done", "until": "done", "case": "esac", "if": "fi"}
        stack: list[str] = []
        while self.pos < len(self.tokens):
            word = self.peek_word()
            self.pos += 1
            if word in ends:
                stack.append(ends[word])
            elif stack and word == stack[-1]:
                stack.pop()
                if not stack:
                    return
        raise ShellError("a block without its end")

    def simple(self) -> Simple:
        words: list[Word] = []
        redirects: list[tuple[str, Word | None]] = []
        while self.pos < len(self.tokens) and self.tokens[self.pos].word is not None:
            word = self.tokens[self.pos].word
            assert word is not None
            self.pos += 1
            if word.parts and word.parts[0].quote == "<>":
                op = word.parts[0].text
                target = None
                if not op.endswith("&") and not op.startswith("<<") and self.pos < len(self.tokens):
                    target = self.tokens[self.pos].word
                    self.pos += 1 if target is not None else 0
                redirects.append((op, target))
                continue
            words.append(word)
        if self.pos < len(self.tokens) and self.tokens[self.pos].operator == "(" and len(words) == 1:
            raise ShellError("shell functions are not followed")
        return Simple(tuple(words), tuple(redirects))

    def for_loop(self) -> ForLoop:
        self.pos += 1
        name = self.peek_word()
        if not name or not _NAME.fullmatch(name):
            raise ShellError("`for` without a variable name")
        self.pos += 1
        items: list[Word] = []
        if self.peek_word() == "in":
            self.pos += 1
            while self.pos < len(self.tokens) and self.tokens[self.pos].word is not None:
                word = self.tokens[self.pos].word
                assert word is not None
                items.append(word)
                self.pos += 1
        self.expect("do")
        body = self.sequence(frozenset({"done"}))
        self.expect("done")
        return ForLoop(name, tuple(items), body)

    def if_block(self) -> IfBlock:
        branches: list[tuple[Sequence_, Sequence_]] = []
        otherwise = None
        self.pos += 1
        while True:
            condition = self.sequence(frozenset({"then"}))
            self.expect("then")
            body = self.sequence(frozenset({"elif", "else", "fi"}))
            branches.append((condition, body))
            word = self.peek_word()
            self.pos += 1
            if word == "elif":
                continue
            if word == "else":
                otherwise = self.sequence(frozenset({"fi"}))
                self.expect("fi")
            elif word != "fi":
                raise ShellError("`if` without `fi`")
            return IfBlock(tuple(branches), otherwise)


def _flatten(body: Sequence_) -> Node:
    if len(body.items) == 1:
        return body.items[0][1]
    return IfBlock(((Sequence_(), body),), None)  # a group: walked like an `if` that always holds


def parse(text: str) -> Sequence_:
    """Parse shell text. Raises ShellError for what it cannot follow (an unterminated quote, say)."""
    parser = _Parser(lex(text))
    body = parser.sequence(frozenset())
    if parser.pos < len(parser.tokens):
        raise ShellError("unexpected `" + (parser.peek_word() or parser.tokens[parser.pos].operator or "?") + "`")
    return body


# ---------------------------------------------------------------------------------------------- walking


@dataclass
class ShellState:
    """Where a walk stands: variables, positional parameters, the working directory."""

    variables: dict[str, str | None] = field(default_factory=dict)
    positional: list[str] = field(default_factory=list)
    cwd: str = "/"


Glob = Callable[[str, str], list[str]]
"""Pathname expansion: (pattern, working directory) -> matching paths as the shell prints them."""

_EXPANSION = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*|[0-9@#*])(?:(:?[-+=?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*|[0-9@#*]))"
)


class Unknown(ValueError):
    """A word whose value cannot be known without running the build (`$(...)`, an unset variable)."""


def _variable(name: str, state: ShellState) -> str | None:
    if name.isdigit():
        index = int(name)
        return state.positional[index - 1] if 0 < index <= len(state.positional) else ("sh" if index == 0 else "")
    if name in ("@", "*"):
        return " ".join(state.positional)
    if name == "#":
        return str(len(state.positional))
    return state.variables.get(name) if name in state.variables else None


_UNSET = object()


def _lookup(name: str, state: ShellState, env: Mapping[str, str | None]) -> object:
    """A variable's value: a string, None when it is set to something unknowable, _UNSET when unset."""
    if not _NAME.fullmatch(name):
        return _variable(name, state)
    if name in state.variables:
        return state.variables[name]
    if name in env:
        return env[name]
    return _UNSET


def expand_text(text: str, state: ShellState, env: Mapping[str, str | None]) -> str:
    """`$VAR`, `${VAR}`, `${VAR:-x}`, `${VAR:+x}`... expanded (shell variables first, then `env`); an
    unset variable expands to nothing, as in the shell. Raises Unknown for `$(...)` or a variable whose
    value cannot be known (a build argument without a value)."""
    if "$(" in text:
        raise Unknown("command substitution")

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(4)
        op, word = match.group(2), match.group(3) or ""
        value = _lookup(name, state, env)
        if value is None:
            raise Unknown(f"${name} has no known value")
        text = "" if value is _UNSET else str(value)
        if op in (":-", "-", ":=", "="):
            return word if value is _UNSET or (op.startswith(":") and not text) else text
        if op in (":+", "+"):
            return word if value is not _UNSET and (op == "+" or text) else ""
        if op in (":?", "?"):
            return text
        return text

    return _EXPANSION.sub(replace, text)


def _glob_pattern(parts: list[tuple[str, bool]]) -> str | None:
    """The pattern of an expanded word when it has an unquoted glob character (quoted ones escaped)."""
    if not any(active and re.search(r"[*?\[]", text) for text, active in parts):
        return None
    return "".join(text if active else re.sub(r"([*?\[])", r"[\1]", text) for text, active in parts)


def expand_word(word: Word, state: ShellState, env: Mapping[str, str | None], glob: Glob | None) -> list[str]:
    """The fields a word becomes: expanded, split (unquoted expansions only) and pathname-expanded."""
    fields: list[list[tuple[str, bool]]] = [[]]
    for index, part in enumerate(word.parts):
        if part.quote == "'" or part.quote == "<>":
            fields[-1].append((part.text, False))
            continue
        text = part.text
        if part.quote == "" and index == 0 and (text == "~" or text.startswith("~/")):
            text = (state.variables.get("HOME") or env.get("HOME") or "/root") + text[1:]
        value = expand_text(text, state, env)
        if part.quote == '"':
            fields[-1].append((value, False))
            continue
        pieces = value.split() if value != text else [value]
        if value != text and value[:1].isspace():
            fields.append([])
        for k, piece in enumerate(pieces):
            if k:
                fields.append([])
            fields[-1].append((piece, True))
        if value != text and value[-1:].isspace():
            fields.append([])
    out: list[str] = []
    for field_parts in fields:
        if not field_parts:
            continue
        text = "".join(t for t, _ in field_parts)
        pattern = _glob_pattern(field_parts)
        matches = glob(pattern, state.cwd) if pattern is not None and glob is not None else []
        out.extend(matches or [text])
    return out


@dataclass(frozen=True)
class Command:
    """A simple command ready to run: its expanded words, the `NAME=value` assignments before them and
    its redirections (operator, expanded target)."""

    argv: tuple[str, ...]
    assignments: tuple[tuple[str, str], ...] = ()
    redirects: tuple[tuple[str, str | None], ...] = ()


class Runner(Protocol):
    """What a walk hands its commands to."""

    def run(self, command: Command, state: ShellState) -> None:
        """Apply one command (its effect on the file system, a script it runs...)."""

    def unknown(self, what: str) -> None:
        """Record something the walk could not follow."""


MAX_DEPTH = 16  # nested scripts and loops


def _command(node: Simple, state: ShellState, env: Mapping[str, str | None], glob: Glob) -> Command:
    words = list(node.words)
    assignments: list[tuple[str, str]] = []
    while words and all(p.quote == "" for p in words[0].parts[:1]) and _ASSIGNMENT.match(words[0].literal):
        name, _, _ = words[0].literal.partition("=")
        first = words.pop(0)
        value = "".join(expand_word(first, state, env, None))
        assignments.append((name, value.partition("=")[2]))
    argv = [field for word in words for field in expand_word(word, state, env, glob)]
    redirects = tuple(
        (op, None if target is None else " ".join(expand_word(target, state, env, None)))
        for op, target in node.redirects
    )
    return Command(tuple(argv), tuple(assignments), redirects)


def walk(
    body: Sequence_, state: ShellState, env: Mapping[str, str | None], runner: Runner, glob: Glob, depth: int = 0
) -> None:
    """Walk `body`, handing every simple command to `runner` (see the module docstring)."""
    if depth > MAX_DEPTH:
        runner.unknown("scripts or loops nested too deeply")
        return
    for op, node in body.items:
        if op == "||":
            continue  # the build step before it succeeded
        try:
            if isinstance(node, Simple):
                command = _command(node, state, env, glob)
                if command.argv:
                    runner.run(command, state)
                else:
                    state.variables.update(command.assignments)
            elif isinstance(node, ForLoop):
                items = [f for word in node.items for f in expand_word(word, state, env, glob)]
                for item in items:
                    state.variables[node.name] = item
                    walk(node.body, state, env, runner, glob, depth + 1)
            elif isinstance(node, IfBlock):
                condition, branch = node.branches[0]
                walk(condition, state, env, runner, glob, depth + 1)
                walk(branch, state, env, runner, glob, depth + 1)
            else:
                runner.unknown(f"{node.what} is not followed")
        except Unknown as exc:
            runner.unknown(str(exc))

"""`apt-get` in a RUN line, applied to a predicted file system.

`apt-get update` writes the index files the image's sources name (their sizes from the mirror's
InRelease), `apt-get install` the packages apt would choose (dependencies followed from the mirror's
Packages index, recommends unless `--no-install-recommends` or the image's apt configuration says
otherwise, whatever dpkg already lists as installed skipped) with the files of each `.deb`'s data archive
that the image's dpkg path filters keep (`/etc/dpkg/dpkg.cfg.d`), and dpkg's own records beside them
(`info/*.list`, the control scripts, `status` and its backup, debconf's databases, apt's
`extended_states`). The `.deb` files stay in `/var/cache/apt/archives` unless the image's apt
configuration removes them (Debian's official images do), and `apt-get clean` removes them.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from depaudit.analysis.apt_index import AptClient, AptSource, DebPackage, merge_indexes, parse_sources
from depaudit.errors import DepauditError
from depaudit.images.shell import Command, ShellState
from depaudit.images.steps import RunStep
from depaudit.images.vfs import Tree

_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}
_STATUS_LINE = len("Status: install ok installed\n")


@dataclass(frozen=True)
class AptConfig:
    """The parts of an image's apt and dpkg configuration that change what apt leaves behind."""

    keeps_debs: bool = True
    pkgcache: bool = True
    gzip_indexes: bool = False
    languages: bool = True
    install_recommends: bool = True
    filters: tuple[tuple[bool, str], ...] = ()  # (include, pattern) in order


def read_config(captured: Mapping[str, bytes]) -> AptConfig:
    """An image's apt configuration from its captured `/etc/apt/apt.conf.d` and `/etc/dpkg/dpkg.cfg.d` files."""
    apt = "\n".join(
        v.decode("utf-8", "replace") for k, v in sorted(captured.items()) if k.startswith("etc/apt/apt.conf.d/")
    )
    dpkg = "\n".join(
        v.decode("utf-8", "replace") for k, v in sorted(captured.items()) if k.startswith("etc/dpkg/dpkg.cfg.d/")
    )
    filters = []
    for line in dpkg.splitlines():
        match = re.match(r"^\s*path-(include|exclude)[=\s]+(\S+)", line)
        if match:
            filters.append((match.group(1) == "include", match.group(2)))
    return AptConfig(
        keeps_debs=not re.search(r"Post-Invoke[^;]*rm -f /var/cache/apt/archives/\*\.deb", apt),
        pkgcache=not re.search(r'Dir::Cache::pkgcache\s+""', apt),
        gzip_indexes=bool(re.search(r'Acquire::GzipIndexes\s+"?(true|1)', apt, re.I)),
        languages=not re.search(r'Acquire::Languages\s+"none"', apt),
        install_recommends=not re.search(r'APT::Install-Recommends\s*"?(false|0)', apt, re.I),
        filters=tuple(filters),
    )


def kept(path: str, filters: Sequence[tuple[bool, str]]) -> bool:
    """Whether dpkg unpacks `path` (absolute) under the path filters (the last matching one decides)."""
    keep = True
    for include, pattern in filters:
        if fnmatch.fnmatchcase(path, pattern):
            keep = include
    return keep


def list_name(url: str, suite: str, rest: str) -> str:
    """The file name apt gives an index under /var/lib/apt/lists (`deb.debian.org_debian_dists_...`)."""
    parts = urlsplit(url)
    return (parts.netloc + parts.path).replace("/", "_") + f"_dists_{suite}_{rest.replace('/', '_')}"


@dataclass
class AptModel:
    """apt for one base image (its sources, configuration and architecture). Indexes are read once."""

    client: AptClient
    sources: list[AptSource]
    arch: str
    config: AptConfig
    _packages: dict[str, DebPackage] | None = None
    _providers: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def for_image(cls, client: AptClient, captured: Mapping[str, bytes], platform: str) -> AptModel:
        texts = {k: v.decode("utf-8", "replace") for k, v in captured.items() if k.startswith("etc/apt/sources.list")}
        arch = _ARCH.get(platform.split("-", 1)[0], "amd64")
        return cls(client, parse_sources(texts), arch, read_config(captured))

    def index(self) -> tuple[dict[str, DebPackage], dict[str, list[str]]]:
        if self._packages is None:
            indexes = [self.client.packages(s, c, self.arch) for s in self.sources for c in s.components]
            self._packages, self._providers = merge_indexes(indexes)
        return self._packages, self._providers

    # -- commands ------------------------------------------------------------------------------------

    def __call__(self, step: RunStep, command: Command, state: ShellState) -> None:
        args = list(command.argv[1:])
        options = [a for a in args if a.startswith("-")]
        words = [a for a in args if not a.startswith("-") and not re.match(r"^[A-Za-z:]+::", a)]
        verb = words[0] if words else ""
        try:
            if verb == "update":
                self.update(step)
            elif verb in ("install", "reinstall"):
                recommends = self.config.install_recommends and "--no-install-recommends" not in options
                recommends = recommends and not any(re.search(r"Install-Recommends=(false|0)", a, re.I) for a in args)
                self.install(step, [re.split(r"[=/]", w)[0] for w in words[1:]], recommends)
            elif verb in ("clean", "autoclean"):
                for path in step.tree.glob("var/cache/apt/archives/*.deb") + step.tree.glob("var/cache/apt/*.bin"):
                    step.tree.remove(path)
            elif verb in ("purge", "remove"):
                self.remove(step, words[1:])
            elif verb in ("autoremove", "check", "policy", "show", "search", "download", "source", "-v", ""):
                return
            else:
                step.unknown(f"`apt-get {verb}` is not followed")
        except DepauditError as exc:
            step.unknown(str(exc).splitlines()[0])

    def update(self, step: RunStep) -> None:
        folder = "var/lib/apt/lists"
        step.tree.write(f"{folder}/lock", 0)
        step.tree.mkdir(f"{folder}/partial")
        for source in self.sources:
            sizes = self.client.release_sizes(source)
            step.tree.write(
                f"{folder}/{list_name(source.url, source.suite, 'InRelease')}", _inrelease_size(self.client, source)
            )
            for component in source.components:
                index = f"{component}/binary-{self.arch}/Packages"
                self._list_file(step, folder, source, index, sizes)
                if self.config.languages:
                    self._list_file(step, folder, source, f"{component}/i18n/Translation-en", sizes)
        if self.config.pkgcache:
            step.tree.write("var/cache/apt/pkgcache.bin", 0, unknown=True)
            step.tree.write("var/cache/apt/srcpkgcache.bin", 0, unknown=True)

    def _list_file(self, step: RunStep, folder: str, source: AptSource, index: str, sizes: Mapping[str, int]) -> None:
        name = index + (".gz" if self.config.gzip_indexes else "")
        if name in sizes:
            step.tree.write(f"{folder}/{list_name(source.url, source.suite, name)}", sizes[name])

    def install(self, step: RunStep, names: Sequence[str], recommends: bool) -> None:
        packages, providers = self.index()
        installed = installed_names(step.tree)
        chosen: dict[str, DebPackage] = {}
        todo = list(names)
        while todo:
            name = todo.pop(0)
            package = packages.get(name) or next((packages[p] for p in providers.get(name, ()) if p in packages), None)
            if package is None:
                step.unknown(f"apt: no package {name} in the image's sources")
                continue
            if package.name in installed or package.name in chosen:
                continue
            chosen[package.name] = package
            for alternatives in package.depends + (package.recommends if recommends else ()):
                if any(
                    a in installed or a in chosen or any(p in installed or p in chosen for p in providers.get(a, ()))
                    for a in alternatives
                ):
                    continue
                pick = next((a for a in alternatives if a in packages), None) or next(
                    (p for a in alternatives for p in providers.get(a, ()) if p in packages), None
                )
                if pick is None:
                    step.unknown(f"apt: {package.name} needs {' | '.join(alternatives)}, not in the sources")
                else:
                    todo.append(pick)
        for package in chosen.values():
            self._unpack(step, package)
        self._records(step, list(chosen.values()), [n for n in chosen if n not in names])
        if chosen:
            step.note(f"apt installs {len(chosen)} packages: " + ", ".join(sorted(chosen)))

    def _unpack(self, step: RunStep, package: DebPackage) -> None:
        contents = self.client.contents(package)
        owner = f"deb:{package.name}=={package.version}"
        listed = ["/."]
        for path, size, kind in contents.files:
            absolute = "/" + path.rstrip("/")
            if kind == "d":
                step.tree.mkdir(path.rstrip("/"))
                listed.append(absolute)
            elif kept(absolute, self.config.filters):
                step.tree.write(path, size, owner=owner)
                listed.append(absolute)
        info = f"var/lib/dpkg/info/{package.name}"
        step.tree.write(f"{info}.list", sum(len(p) + 1 for p in listed))
        for member, size in contents.control:
            if member != "control":
                step.tree.write(f"{info}.{member}", size)
        step.packages.append(
            (f"{package.name}=={package.version} (deb)", sum(s for p, s, k in contents.files if k != "d"), 0)
        )
        if self.config.keeps_debs:
            step.tree.write(f"var/cache/apt/archives/{posixpath.basename(package.filename)}", package.size)

    def _records(self, step: RunStep, packages: Sequence[DebPackage], automatic: Sequence[str]) -> None:
        if not packages:
            return
        tree = step.tree
        status = tree.entries.get("var/lib/dpkg/status")
        old = status.size if status else 0
        added = sum(self.client.contents(p).control_size + _STATUS_LINE + 1 for p in packages)
        tree.write("var/lib/dpkg/status", old + added)
        tree.write("var/lib/dpkg/status-old", old)
        states = tree.entries.get("var/lib/apt/extended_states")
        tree.write("var/lib/apt/extended_states", (states.size if states else 0) + sum(50 + len(n) for n in automatic))
        for path in ("var/cache/debconf/templates.dat", "var/cache/debconf/config.dat"):
            tree.touch_again(path)
        if any(
            path.endswith(".so") or ".so." in path for p in packages for path, _, _ in self.client.contents(p).files
        ):
            tree.touch_again("etc/ld.so.cache")
            tree.touch_again("var/cache/ldconfig/aux-cache")
        log = tree.entries.get("var/log/dpkg.log")
        tree.write("var/log/dpkg.log", (log.size if log else 0) + 420 * len(packages))

    def remove(self, step: RunStep, names: Sequence[str]) -> None:
        for name in names:
            prefix = f"deb:{name}=="
            for path, entry in list(step.tree.entries.items()):
                if entry.owner and entry.owner.startswith(prefix) and path in step.tree.entries:
                    step.tree.remove(path)
            for path in step.tree.glob(f"var/lib/dpkg/info/{name}.*"):
                step.tree.remove(path)


def installed_names(tree: Tree) -> set[str]:
    """Packages dpkg lists as installed in a predicted file system (its `info/NAME[:ARCH].list` files)."""
    return {name[:-5].split(":")[0] for name in tree.list_dir("var/lib/dpkg/info") if name.endswith(".list")}


def _inrelease_size(client: AptClient, source: AptSource) -> int:
    url = f"{source.url}/dists/{source.suite}/InRelease"
    return len(client.get(url, limit=16 << 20, ttl=24 * 3600.0))

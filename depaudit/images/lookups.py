"""The outside world a prediction asks: base images (an archive the command line names, the local engine,
or only a size), the resolver, wheel listings (a local wheel folder, else the index's zip central
directory, cached) and the wheels a uv.lock installs (depaudit's own scan)."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from depaudit.analysis.apt_index import AptClient
from depaudit.analysis.host_policy import HostPolicy
from depaudit.analysis.install_set import installed_packages, plan_install, select_members
from depaudit.analysis.size_lookup import IndexClient
from depaudit.errors import InputError, ToolError
from depaudit.images import engine
from depaudit.images.apt import AptModel
from depaudit.images.installers import Members, Services
from depaudit.images.predict import BaseImage, Prediction, base_from_archive, capture, predict
from depaudit.images.reader import read_image
from depaudit.images.resolve import InstallRequest, ResolvedWheel, resolve_install
from depaudit.model import Selection
from depaudit.sources.uvlock import lock_from_text
from depaudit.targets import make_target

Say = Callable[[str], None]


@dataclass(frozen=True)
class PredictOptions:
    """How a prediction reaches the outside. `archives`: base image reference -> archive path (key None:
    every base); `base_size`: the base's size when it cannot be read; `python`/`platform`: override what
    the base image says (`3.11`, `x86_64-manylinux_2_36`); `wheel_dirs`: folders of wheels read locally
    before an index is asked; `engine`: read local base images through the engine when one answers."""

    archives: Mapping[str | None, Path] = field(default_factory=dict)
    base_size: int | None = None
    python: str | None = None
    platform: str | None = None
    wheel_dirs: Sequence[Path] = ()
    allow_hosts: Sequence[str] = ()
    offline: bool = False
    cache_dir: Path | None = None
    engine: bool = True


def load_base(options: PredictOptions, say: Say) -> Callable[[str], BaseImage]:
    """A base-image loader: the archive named for it, the engine's copy, else only `base_size`."""
    engine_ok: list[bool] = []

    def engine_has(ref: str) -> bool:
        if not options.engine:
            return False
        if not engine_ok:
            engine_ok.append(engine.engine_available(timeout=10) is None)
        try:
            return engine_ok[0] and engine.image_exists(ref)
        except ToolError:
            return False

    def load(ref: str) -> BaseImage:
        path = options.archives.get(ref) or options.archives.get(None)
        if path is not None:
            say(f"depaudit: reading base image {ref} from {path}")
            return base_from_archive(ref, read_image(str(path), capture=capture), f"archive {path}")
        if engine_has(ref):
            say(f"depaudit: reading base image {ref} from the local engine (docker save)")
            return base_from_archive(ref, read_image(ref, capture=capture), "local engine")
        if options.base_size is not None:
            return BaseImage(ref, options.base_size, "--base-size")
        return BaseImage(ref, None, "unknown: not on a local engine; give --base-size or --base-image")

    return load


def _local_listing(path: Path) -> Members | None:
    try:
        if not path.is_file() or path.is_symlink():
            return None
        with zipfile.ZipFile(path) as wheel:
            return tuple((i.filename, i.file_size) for i in wheel.infolist() if not i.is_dir())
    except (zipfile.BadZipFile, OSError, ValueError):
        return None


def listings(options: PredictOptions) -> Callable[[Sequence[ResolvedWheel]], dict[str, Members | str]]:
    client = IndexClient(options.cache_dir, offline=options.offline, hosts=HostPolicy.make(None, options.allow_hosts))

    def lookup(wheels: Sequence[ResolvedWheel]) -> dict[str, Members | str]:
        found: dict[str, Members | str] = {}
        remote = []
        for wheel in wheels:
            local = next((m for d in options.wheel_dirs if (m := _local_listing(Path(d) / wheel.filename))), None)
            if local is not None:
                found[wheel.url] = local
            else:
                remote.append(wheel.url)
        for url, answer in client.wheel_listings(remote).items():
            found[url] = answer.members if answer.members is not None else (answer.error or "unknown")
        return found

    return lookup


def lock_wheels(options: PredictOptions, platform: str) -> Callable[[str, str, str, Selection], list[ResolvedWheel]]:
    def wheels(text: str, path: str, python: str, selection: Selection) -> list[ResolvedWheel]:
        lock = lock_from_text(text, path)
        plan = plan_install(lock, make_target(platform, python), selection, select_members(lock, selection))
        if not plan.supported:
            raise InputError(path, f"the lock does not support {platform} ({plan.reason})")
        found = []
        for item in installed_packages(lock, plan):
            if item.wheel is not None and item.wheel.url:
                found.append(
                    ResolvedWheel(
                        item.name, item.package.version or "", item.wheel.url, item.wheel.filename, item.wheel.size
                    )
                )
        return found

    return wheels


def services_for(options: PredictOptions) -> Callable[[BaseImage], Services]:
    lookup = listings(options)
    client = IndexClient(None, offline=options.offline, hosts=HostPolicy.make(None, options.allow_hosts))

    def make(base: BaseImage) -> Services:
        python = options.python or base.python or "3.11"
        platform = options.platform or base.platform or "x86_64-manylinux_2_28"

        def resolve(request: InstallRequest) -> list[ResolvedWheel]:
            if options.offline:
                raise ToolError(["uv", "pip", "compile"], what="offline: the install is not resolved")
            return resolve_install(request, allow_hosts=options.allow_hosts)

        return Services(
            resolve, lookup, lock_wheels(options, platform), base.bundled, client.cacheable, python, platform
        )

    return make


def apt_for(options: PredictOptions) -> Callable[[BaseImage], AptModel | None]:
    """apt for each base image that has Debian sources (one model per base, its indexes read once)."""
    client = AptClient(options.cache_dir, offline=options.offline, allow_hosts=tuple(options.allow_hosts))
    models: dict[str, AptModel | None] = {}

    def model(base: BaseImage) -> AptModel | None:
        if base.ref not in models:
            found = AptModel.for_image(client, base.captured, options.platform or base.platform or "x86_64")
            models[base.ref] = found if found.sources else None
        return models[base.ref]

    return model


def predict_dockerfile(
    dockerfile: Path,
    *,
    context: Path,
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
    options: PredictOptions = PredictOptions(),
    say: Say = lambda message: None,
) -> Prediction:
    """`depaudit image predict`'s core call: the image `docker build -f DOCKERFILE CONTEXT` would make,
    with the outside world reached as `options` allow. Raises InputError, UsageError (see `predict`)."""
    return predict(
        dockerfile,
        context=context,
        load_base=load_base(options, say),
        services_for=services_for(options),
        apt=apt_for(options),
        build_args=build_args,
        target=target,
    )

"""Where `image scan` and `image predict` get an image from: an archive file (`docker save`, plain or
gzip-compressed), an OCI image-layout folder, or (when neither exists by that name) a reference on the
local engine, exported with `docker save` and read as it streams (nothing is written to disk)."""

from __future__ import annotations

import os
import stat
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from depaudit.errors import InputError, ToolError
from depaudit.images import engine
from depaudit.images.archive import ArchiveError, Capture, ImageArchive, never, read_layout, read_saved

StreamWrapper = Callable[[IO[bytes]], IO[bytes]]


def is_local(source: str) -> bool:
    """True when `source` names a file or folder here rather than an image reference."""
    return os.path.lexists(source)


def read_image(
    source: str,
    *,
    capture: Capture = never,
    compress: bool = False,
    platform: str | None = None,
    wrap: StreamWrapper | None = None,
) -> ImageArchive:
    """Read the image `source` names (see the module docstring). Raises InputError for an archive that
    cannot be read or is no image (exit 3), ToolError when the engine is needed and fails (exit 4)."""
    if is_local(source):
        return _read_path(Path(source), capture, compress, platform, wrap)
    engine.require_engine()
    with engine.docker_stream(["save", source]) as stream:
        try:
            return read_saved(
                wrap(stream) if wrap else stream, source, capture=capture, compress=compress, platform=platform
            )
        except (ArchiveError, tarfile.TarError, EOFError, OSError) as exc:
            raise ToolError(["docker", "save", source], "", what=f"docker save {source}: {exc}") from None


def _read_path(
    path: Path, capture: Capture, compress: bool, platform: str | None, wrap: StreamWrapper | None
) -> ImageArchive:
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            return read_layout(path, capture=capture, compress=compress, platform=platform)
        if not stat.S_ISREG(mode):
            raise InputError(
                path, "not a regular file or folder: an image archive is a `docker save` tar or an OCI layout"
            )
        with path.open("rb") as handle:
            stream: IO[bytes] = wrap(handle) if wrap else handle
            return read_saved(stream, str(path), capture=capture, compress=compress, platform=platform)
    except ArchiveError as exc:
        raise InputError(path, str(exc)) from None
    except (tarfile.TarError, EOFError) as exc:
        raise InputError(path, f"not a readable image archive ({exc or 'it ends too early'})") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None

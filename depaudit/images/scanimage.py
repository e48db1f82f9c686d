"""`depaudit image scan`'s core: read an image without running it and say what it carries."""

from __future__ import annotations

from depaudit.images.archive import Capture, never
from depaudit.images.contents import ImageContents, analyse
from depaudit.images.reader import StreamWrapper, read_image


def scan_image(
    source: str,
    *,
    top: int = 15,
    compress: bool = False,
    platform: str | None = None,
    wrap: StreamWrapper | None = None,
    capture: Capture = never,
) -> ImageContents:
    """What image `source` (an archive, an OCI layout, or a reference on the local engine) carries.
    Raises InputError for an archive that cannot be read, ToolError when the engine fails."""
    return analyse(
        read_image(source, capture=capture, compress=compress, platform=platform, wrap=wrap), top=top, image=source
    )

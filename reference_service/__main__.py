"""``python -m reference_service``: serve GMNet over HTTP (settings from the environment).

Exit codes: 0 clean shutdown, 1 accepted jobs left unfinished at shutdown (drain timeout),
2 invalid configuration, 3 the backend/model failed to load, 4 could not bind or serve.
"""

from __future__ import annotations

import logging
import sys

from .config import ConfigError, load_settings
from .server import serve


def main() -> int:
    """Parse the environment, configure logging to stderr and run the server."""
    if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help"):
        print(
            __doc__.strip() + "\n\nSettings: see reference_service/SERVER.md "
            "(PORT, HOST, GMNET_BACKEND, GMNET_ONNX, GMNET_CHECKPOINT, GMNET_WORKERS, ...)."
        )
        return 0
    if len(sys.argv) > 1:
        print(
            f"reference_service: error: unexpected argument {sys.argv[1]!r}; "
            "settings come from environment variables (see --help)",
            file=sys.stderr,
        )
        return 2
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"reference_service: configuration error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())

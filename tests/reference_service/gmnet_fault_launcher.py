"""Run the real service with a deliberately faulty wrapper around the real ONNX Runtime backend.

Used only for faults the real backend cannot produce on demand (see test_http_service.py):
- GMNET_FAULT_LOAD_DELAY=<seconds>: the loader sleeps first, so /healthz can be seen answering 503
  while the backend is "loading";
- GMNET_FAULT_RAISE_WIDTH=<n>: predict() raises RuntimeError for images exactly n pixels wide
  (every other image goes to the real backend).
The server itself (routes, limits, queue, shutdown) is the unmodified reference_service.server.
"""

from __future__ import annotations

import logging
import os
import sys
import time

from reference_service.config import ConfigError, load_settings
from reference_service.server import load_configured_backend, serve


class RaisingBackend:
    def __init__(self, real, width: int) -> None:
        self.real, self.width, self.name = real, width, real.name

    def predict(self, image, thumbnail):
        if image.shape[1] == self.width:
            raise RuntimeError(f"injected fault for width {self.width}")
        return self.real.predict(image, thumbnail)


def loader(settings):
    time.sleep(float(os.environ.get("GMNET_FAULT_LOAD_DELAY", "0")))
    backend = load_configured_backend(settings)
    width = os.environ.get("GMNET_FAULT_RAISE_WIDTH")
    return RaisingBackend(backend, int(width)) if width else backend


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"fault launcher: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level="INFO", stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return serve(settings, loader)


if __name__ == "__main__":
    sys.exit(main())

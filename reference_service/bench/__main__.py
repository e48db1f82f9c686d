"""`python -m reference_service.bench`: the GMNet reference service's image benchmark (see `--help`)."""

from __future__ import annotations

import sys

from reference_service.bench.cli import main

if __name__ == "__main__":
    sys.exit(main())

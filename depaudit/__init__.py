"""depaudit: measure and remove the accelerator wheels an ML service installs but never uses.

The core is a library; the CLI is a thin shell over it::

    from depaudit import scan_lock
    report = scan_lock("uv.lock", targets=["linux-x86_64"], offline=True)
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "scan_lock"]


def __getattr__(name: str) -> Any:
    # Lazy so `import depaudit` (and CLI start-up) stays cheap.
    if name == "scan_lock":
        from depaudit.scan import scan_lock

        return scan_lock
    raise AttributeError(name)

"""Fail (exit 1) when the Python environment running this holds an accelerator distribution.

`scripts/test` runs it with the test venv's interpreter after installing: depaudit's own test setup must
never install what depaudit exists to remove (nvidia-*, cuda-*, triton: the CUDA build of torch brings
them). Standard library only.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys

ACCELERATOR = re.compile(r"^(nvidia-.*|cuda-.*|triton|pytorch-triton.*)$")


def accelerator_distributions() -> list[str]:
    """`name version` of each installed distribution whose name is an accelerator family's."""
    found = set()
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if ACCELERATOR.match(name):
            found.add(f"{name} {dist.version}")
    return sorted(found)


def main() -> int:
    found = accelerator_distributions()
    if found:
        print(
            f"scripts/test: error: the environment at {sys.prefix} holds accelerator wheels: "
            f"{', '.join(found)}. torch must be the CPU build (from https://download.pytorch.org/whl/cpu or "
            f"a local torch-*+cpu wheel); remove .venv and run scripts/test again.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

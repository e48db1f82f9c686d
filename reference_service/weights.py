"""GMNet checkpoints in the original ``state_dict`` key layout: where the bundled one lives, saving, loading.

The bundled ``reference_service/assets/gmnet_synthetic.pth`` was trained by ``python -m training.train_gmnet``
on procedural SDR -> HDR scenes (``reference_service/scenes.py``; ``reports/training.md`` has how and how well).
The trained GMNet checkpoints of the paper (``G_realworld.pth``) use the same keys (``down1.conv.0.weight``,
``res1.0.conv1.bias``, ``sq_ker.conv.4.weight``, ...) and drop in unchanged (``GMNET_CHECKPOINT``; re-export the
ONNX model for ONNX Runtime).

Saving and loading with torch (``torch.load(weights_only=True)``) is for dev steps and the torch backend; the
tinygrad backend reads the same file without torch.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

ASSETS = Path(__file__).resolve().parent / "assets"
DEFAULT_CHECKPOINT = ASSETS / "gmnet_synthetic.pth"


# torch is imported where a checkpoint is read or written: the ONNX Runtime and tinygrad images have no
# torch, and the tinygrad backend reads the checkpoint path from here.


def save_state_dict(state_dict: dict[str, Any], path: Path) -> None:
    """Write ``state_dict`` with ``torch.save`` atomically (temp file in the same folder + os.replace)."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        torch.save(state_dict, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_state_dict(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint with torch (safe ``weights_only`` unpickling). Accepts a bare state_dict or
    one wrapped under ``"state_dict"``/``"params"``. Opens the file read-only."""
    import torch

    with open(path, "rb") as fh:
        obj = torch.load(fh, map_location="cpu", weights_only=True)
    return unwrap_state_dict(obj)


def unwrap_state_dict(obj: dict[str, Any]) -> dict[str, Any]:
    """Strip common wrappers (``state_dict``, ``params``) and a DataParallel ``module.`` prefix."""
    for key in ("state_dict", "params"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    return {(k[len("module.") :] if k.startswith("module.") else k): v for k, v in obj.items()}

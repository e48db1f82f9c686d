"""Deterministic stand-in checkpoint for GMNet, in the original ``state_dict`` key layout.

THE BUNDLED WEIGHTS ARE UNTRAINED STAND-INS. The trained GMNet checkpoints cannot be fetched here, so
``reference_service/assets/gmnet_standin.pth`` is produced by the original initialisation (Kaiming-normal,
fan_in, scaled by 0.1; biases 0) from a fixed seed. Its outputs are numerically meaningful for checking
that three runtimes agree, but they are not useful gain maps. A trained ``G_realworld.pth`` uses the same
keys (``down1.conv.0.weight``, ``res1.0.conv1.bias``, ``sq_ker.conv.4.weight``, ...) and drops in unchanged.

Generating (``python -m reference_service.weights``) needs torch (a dev dependency). Loading for the torch
backend uses ``torch.load(weights_only=True)``; the tinygrad backend reads the same file without torch.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"
DEFAULT_CHECKPOINT = ASSETS / "gmnet_standin.pth"
SEED = 20250122
INIT_SCALE = 0.1


def build_standin_state_dict(seed: int = SEED) -> dict:
    """Return GMNet's state_dict after the original initialisation, drawn from ``seed``.

    Every Conv2d weight: Kaiming-normal (a=0, mode='fan_in', ReLU gain) times 0.1; every bias: 0.
    Parameters are initialised in ``named_parameters`` order from one ``torch.Generator``.
    """
    import torch
    from torch import nn

    from reference_service.model_torch import GMNet

    generator = torch.Generator().manual_seed(seed)
    model = GMNet()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, a=0, mode="fan_in", generator=generator)
                module.weight.mul_(INIT_SCALE)
                nn.init.zeros_(module.bias)
    return {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}


def save_state_dict(state_dict: dict, path: Path) -> None:
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


def load_state_dict(path: str | Path) -> dict:
    """Load a checkpoint with torch (safe ``weights_only`` unpickling). Accepts a bare state_dict or
    one wrapped under ``"state_dict"``/``"params"``. Opens the file read-only."""
    import torch

    with open(path, "rb") as fh:
        obj = torch.load(fh, map_location="cpu", weights_only=True)
    return unwrap_state_dict(obj)


def unwrap_state_dict(obj: dict) -> dict:
    """Strip common wrappers (``state_dict``, ``params``) and a DataParallel ``module.`` prefix."""
    for key in ("state_dict", "params"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in obj.items()}


def main(argv: list[str] | None = None) -> int:
    """CLI: regenerate the stand-in checkpoint."""
    parser = argparse.ArgumentParser(description="Write the deterministic GMNet stand-in checkpoint (needs torch).")
    parser.add_argument("--output", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    save_state_dict(build_standin_state_dict(args.seed), args.output)
    print(f"wrote {args.output} ({args.output.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

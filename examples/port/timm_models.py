"""timm's image models as teams use them, random init (no weight download), for `depaudit port`:
resnet50, convnext_tiny, efficientnet_b0, mobilenetv3_large_100, vit_small_patch16 and swin_tiny_patch4
(the two transformers built for 64x64 inputs, the size the tests and the benchmark use).

    depaudit port examples/port/timm_models.py:resnet50 --input image=1x3x64x64 --dynamic image:0=batch

timm imports torchvision. PyPI's torchvision wheel beside a CPU-only torch fails to load its C++ ops
("operator torchvision::nms does not exist"), though timm's models use none of them: when that is the
error, the two op schemas torchvision registers fake kernels for are declared and the import retried.
A torchvision that loads is left alone.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

import torch

TORCHVISION_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_LIBRARIES: list[torch.library.Library] = []  # kept alive: a dropped Library unregisters its schemas


def import_timm() -> ModuleType:
    """timm, importable beside a torchvision whose C++ ops do not load."""
    try:
        return importlib.import_module("timm")
    except RuntimeError as exc:
        if "torchvision::" not in str(exc):
            raise
    for name in [m for m in sys.modules if m.split(".")[0] in ("torchvision", "timm")]:
        del sys.modules[name]
    library = torch.library.Library("torchvision", "DEF")
    for schema in TORCHVISION_SCHEMAS:
        library.define(schema)
    _LIBRARIES.append(library)
    return importlib.import_module("timm")


def create(name: str, **kwargs: object) -> torch.nn.Module:
    """timm.create_model(name) with random weights (seed 0), in eval mode."""
    torch.manual_seed(0)
    model: torch.nn.Module = import_timm().create_model(name, pretrained=False, **kwargs)
    return model.eval()


def resnet50() -> torch.nn.Module:
    return create("resnet50")


def convnext_tiny() -> torch.nn.Module:
    return create("convnext_tiny")


def efficientnet_b0() -> torch.nn.Module:
    return create("efficientnet_b0")


def mobilenetv3() -> torch.nn.Module:
    return create("mobilenetv3_large_100")


def vit_small() -> torch.nn.Module:
    """ViT-S/16 for 64x64 inputs (4x4 patches + a class token)."""
    return create("vit_small_patch16_224", img_size=64)


def swin_tiny() -> torch.nn.Module:
    """Swin-T (patch 4, window 7) for 64x64 inputs (timm shrinks the windows to the 16/8/4/2 grids)."""
    return create("swin_tiny_patch4_window7_224", img_size=64)


MODELS = ("resnet50", "convnext_tiny", "efficientnet_b0", "mobilenetv3", "vit_small", "swin_tiny")

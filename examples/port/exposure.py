"""A model with a value-dependent branch, the kind `depaudit port` exists to catch: it brightens dark
images with a Python `if` on the mean. The exporters see one example input, so the exported graph keeps
one side of the branch."""

from __future__ import annotations

import torch
from torch import nn


class AutoExposure(nn.Module):
    """Conv features, doubled for dark images (mean < 0.25)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, image):
        if image.mean() < 0.25:
            image = image * 2.0
        return self.conv(image)

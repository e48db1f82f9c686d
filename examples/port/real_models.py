"""Real architectures from installed packages, random init (no weight download): monai's 2-D ResNet-18
and torch's own TransformerEncoder (2 layers of self-attention + feed-forward)."""

from __future__ import annotations

import torch
from monai.networks.nets import resnet18 as monai_resnet18


def resnet18() -> torch.nn.Module:
    """ResNet-18 (BasicBlock [2, 2, 2, 2]) for 3-channel 2-D images, 10 classes."""
    torch.manual_seed(0)
    return monai_resnet18(spatial_dims=2, n_input_channels=3, num_classes=10)


def encoder() -> torch.nn.Module:
    """A 2-layer transformer encoder, d_model 64, 4 heads, batch first."""
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, batch_first=True)
    return torch.nn.TransformerEncoder(layer, num_layers=2)

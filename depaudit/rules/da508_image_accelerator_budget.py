"""DA508: an image carries more accelerator runtime bytes (CUDA, cuDNN, NCCL, ROCm libraries) than its
budget (`depaudit image scan --max-accelerator`)."""

from __future__ import annotations

from depaudit.rules.base import register
from depaudit.rules.run_budgets import BudgetRule


@register
class ImageAcceleratorBudgetRule(BudgetRule):
    id = "DA508"
    summary = "image accelerator-runtime budget exceeded"
    kind = "image-accelerator"

"""Training losses: cross-entropy (in the model's precision or in float64) and StableMax
cross-entropy (Prieto et al. 2025)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def stablemax(logits: torch.Tensor) -> torch.Tensor:
    """s(x) = x + 1 for x >= 0, 1 / (1 - x) for x < 0: grows linearly, not exponentially.

    Prieto et al. replace exp in softmax with s to avoid "softmax collapse", where
    float32 rounding zeroes the gradient of correctly classified examples.
    """
    return torch.where(logits >= 0, logits + 1, 1 / (1 - logits.clamp(max=0)))


def stablemax_cross_entropy(
    logits: torch.Tensor, labels: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """-log(s(z_y) / sum_j s(z_j)), computed in float64 as in the paper's code."""
    s = stablemax(logits.double())
    log_probs = torch.log(s / s.sum(dim=-1, keepdim=True))
    return F.nll_loss(log_probs, labels, reduction=reduction)


def cross_entropy_fp64(
    logits: torch.Tensor, labels: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """Cross-entropy with the log-softmax in float64, the model itself in its own precision:
    Nanda et al.'s "high precision" loss. Near zero loss, float32's log-softmax rounds the
    correct class's gradient away (the softmax collapse); float64 keeps it."""
    return F.cross_entropy(logits.double(), labels, reduction=reduction)


LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "cross_entropy": F.cross_entropy,
    "cross_entropy_fp64": cross_entropy_fp64,
    "stablemax": stablemax_cross_entropy,
}

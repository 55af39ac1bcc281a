"""Training losses: cross-entropy (its softmax in the model's precision, in float16 or in
float64) and StableMax cross-entropy (Prieto et al. 2025)."""

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


def cross_entropy_fp16(
    logits: torch.Tensor, labels: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """Cross-entropy with the log-softmax in float16: Prieto et al.'s softmax precision 16
    (their Fig. 2), where softmax collapse comes soonest. Only the log-softmax is float16;
    the per-example losses are summed or averaged in float32, so that an evaluation's sum
    over thousands of examples cannot overflow float16 (65,504)."""
    log_probs = F.log_softmax(logits.to(torch.float16), dim=-1)
    return F.nll_loss(log_probs.float(), labels, reduction=reduction)


LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "cross_entropy": F.cross_entropy,
    "cross_entropy_fp16": cross_entropy_fp16,
    "cross_entropy_fp64": cross_entropy_fp64,
    "stablemax": stablemax_cross_entropy,
}


SOFTMAX_DTYPES: dict[str, torch.dtype | None] = {
    "cross_entropy": None,
    "cross_entropy_fp16": torch.float16,
    "cross_entropy_fp64": torch.float64,
    "stablemax": torch.float64,
}
"""The precision each loss computes its softmax in (None: the logits' own, at least float32):
where softmax collapse is counted."""

"""Weight and gradient norms over a run: per parameter tensor from the kept weights, and the
global parameter and gradient norms the engine recorded in metrics.jsonl."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch


def layer_norms(state: Mapping[str, torch.Tensor]) -> dict[str, float]:
    """The L2 (Frobenius) norm of every floating-point tensor of a state dict.

    A tensor shared by two modules (MLP ``shared_hidden``) is listed under each name.
    """
    return {
        name: float(t.detach().double().norm())
        for name, t in state.items()
        if torch.is_tensor(t) and t.is_floating_point()
    }


def total_norm(norms: Mapping[str, float], names: Sequence[str] | None = None) -> float:
    """The global L2 norm from per-tensor norms, over `names` (e.g. the model's parameters,
    where a shared tensor appears once, as in the engine's param_norm) or over all."""
    chosen = norms.keys() if names is None else [n for n in names if n in norms]
    return sum(norms[n] ** 2 for n in chosen) ** 0.5


def record_curves(records: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """step, param_norm and grad_norm of every record (None where a record has none)."""
    keys = ("step", "param_norm", "grad_norm", "train_loss", "test_loss", "train_acc", "test_acc")
    return {key: [record.get(key) for record in records] for key in keys}

"""Weight and gradient norms over a run: per parameter tensor from the kept weights, and the
global parameter and gradient norms the engine recorded in metrics.jsonl."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:  # only the type
    from grok_tui.analysis.loading import LoadedRun


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


def norms_section(
    loaded: LoadedRun, steps: Sequence[int], records: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """analysis.json's norms: the recorded global norms (every evaluation) and per-tensor
    norms (every kept step), so the view shows which layers shrink as the run groks."""
    param_names = [n for n, _ in loaded.model.named_parameters()]
    layers: dict[str, list[float]] = {}
    totals = []
    for s in steps:
        per_tensor = layer_norms(loaded.weights(s))
        for tensor_name, value in per_tensor.items():
            layers.setdefault(tensor_name, []).append(value)
        totals.append(total_norm(per_tensor, param_names))
    return {
        "records": record_curves(records),
        "checkpoints": {"step": list(steps), "param_norm": totals, "layers": layers},
    }

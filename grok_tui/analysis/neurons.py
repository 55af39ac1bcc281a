"""Neurons over the input grid: the Fourier frequency each hidden unit works at.

Nanda et al. (2023) found the one-layer transformer's MLP neurons falling into clusters,
each built on one key frequency; the report's Fig. 13d shows the MLP's "cyclic" neuron
weights. Here every hidden unit of every activation layer (MLP hidden layers, transformer
feed-forward blocks, at the predicted position) is read over all p x p inputs (x, y), and
a 2-D DFT over (x, y) splits its variance by frequency. A unit's *share* of frequency k
is the fraction of its variance (the constant removed) in the components (a, b) with a, b
in {0, k, -k}: the terms in cos/sin(w_k x), (w_k y) and (w_k (x ± y)), w_k = 2πk/p, that
the Fourier algorithm is built from. A unit belongs to the cluster of its dominant
frequency when that share is at least CLUSTER_SHARE (Nanda et al.'s 0.85); a unit whose
activation does not vary over the grid is *dead*.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from grok_tui.training.data import enumerate_operands, tokenize
from grok_tui.training.models.transformer import ACTIVATIONS

if TYPE_CHECKING:  # only the type
    from grok_tui.analysis.loading import LoadedRun

CLUSTER_SHARE = 0.85
DEAD_VARIANCE = 1e-12  # variance per input below this: a unit that never varies
CHUNK = 8192  # grid rows per forward pass
ACTIVATION_TYPES = tuple(ACTIVATIONS.values())


def activation_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's activation layers (their outputs are the hidden units), in order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, ACTIVATION_TYPES)]


def grid_activations(model: nn.Module, tokens: torch.Tensor, p: int) -> dict[str, torch.Tensor]:
    """Each activation layer's units over the p x p grid: {layer: (p, p, units)} in float64.

    `tokens` are the grid's p * p sequences, x slowest. A unit with a sequence axis is read
    at the last position, the one the model predicts from.
    """
    modules = activation_modules(model)
    captured: dict[str, list[torch.Tensor]] = {name: [] for name, _ in modules}

    def hook_for(name: str) -> Callable[..., None]:
        def hook(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
            out = output[:, -1] if output.dim() == 3 else output
            captured[name].append(out.detach().double().cpu())

        return hook

    handles = [module.register_forward_hook(hook_for(name)) for name, module in modules]
    try:
        with torch.no_grad():
            for chunk in tokens.split(CHUNK):
                model(chunk)
    finally:
        for handle in handles:
            handle.remove()
    return {name: torch.cat(parts).view(p, p, -1) for name, parts in captured.items() if parts}


def frequency_shares(acts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(shares (K, units), variance (units,)) of activations (p, p, units), K = (p-1)/2.

    shares[k-1, n] is the fraction of unit n's variance in the 2-D DFT components (a, b)
    with a, b in {0, k, p-k}, (a, b) != (0, 0). Over k they sum to at most 1 (the rest
    mixes two frequencies, as cos(w_j x + w_k y) with j != k would).
    """
    p = acts.shape[0]
    centred = acts - acts.mean(dim=(0, 1), keepdim=True)
    power = torch.fft.fft2(centred, dim=(0, 1)).abs().pow(2)  # (p, p, units)
    total = power.sum(dim=(0, 1))  # Parseval: p^2 * p^2 * variance
    shares = []
    for k in range(1, (p - 1) // 2 + 1):
        idx = torch.tensor([0, k, p - k])
        block = power[idx][:, idx].sum(dim=(0, 1))  # includes (0, 0), which is 0 after centring
        shares.append(block / total.clamp_min(1e-300))
    return torch.stack(shares), total / (p**4)


def layer_summary(acts: torch.Tensor) -> dict[str, Any]:
    """One layer's units: dominant frequency and share each, cluster sizes, dead units."""
    shares, variance = frequency_shares(acts)
    alive = variance > DEAD_VARIANCE
    share, index = shares.max(dim=0)
    dominant = (index + 1).tolist()
    clustered = alive & (share >= CLUSTER_SHARE)
    clusters: dict[int, int] = {}
    for k, in_cluster in zip(dominant, clustered.tolist(), strict=True):
        if in_cluster:
            clusters[k] = clusters.get(k, 0) + 1
    n_alive = int(alive.sum())
    return {
        "units": acts.shape[2],
        "dead": acts.shape[2] - n_alive,
        "dominant": [k if a else None for k, a in zip(dominant, alive.tolist(), strict=True)],
        "share": [round(float(s), 4) if a else None for s, a in zip(share, alive, strict=True)],
        "clusters": dict(sorted(clusters.items(), key=lambda kv: -kv[1])),
        "clustered_fraction": float(clustered.sum()) / max(1, n_alive),
        "mean_share": float(share[alive].mean()) if n_alive else None,
    }


def example_unit(acts: torch.Tensor, summary: dict[str, Any]) -> dict[str, Any] | None:
    """The unit of the largest cluster with the highest share, with its p x p activations."""
    if not summary["clusters"]:
        return None
    k = next(iter(summary["clusters"]))
    candidates = [
        (s, n)
        for n, (d, s) in enumerate(zip(summary["dominant"], summary["share"], strict=True))
        if d == k and s is not None
    ]
    share, unit = max(candidates)
    grid = acts[:, :, unit]
    return {
        "unit": unit,
        "frequency": k,
        "share": share,
        "grid": [[round(float(v), 5) for v in row] for row in grid],
    }


# --- the section of analysis.json -------------------------------------------------------


def neurons_section(loaded: LoadedRun, step: int, steps: Sequence[int]) -> dict[str, Any]:
    """Each hidden layer's units at `step` (frequency clusters) and its clustered fraction
    over `steps`: when the units fall into clusters is when the Fourier algorithm forms."""
    data = loaded.preset.data
    p = data.p
    tokens = tokenize(enumerate_operands(data), data).to(loaded.device)  # x slowest
    acts = grid_activations(loaded.load(step), tokens, p)
    layers = {name: layer_summary(a) for name, a in acts.items()}
    # the example: the layer whose units cluster most, its clearest unit
    best = max(layers, key=lambda name: layers[name]["clustered_fraction"])
    example = example_unit(acts[best], layers[best])
    over_time: dict[str, list[Any]] = {"step": [], **{name: [] for name in layers}}
    for s in steps:
        at = acts if s == step else grid_activations(loaded.load(s), tokens, p)
        over_time["step"].append(s)
        for name in layers:
            over_time[name].append(
                layers[name]["clustered_fraction"]
                if s == step
                else layer_summary(at[name])["clustered_fraction"]
            )
    return {
        "threshold": CLUSTER_SHARE,
        "layers": layers,
        "example": {"layer": best, **example} if example else None,
        "over_time": over_time,
    }

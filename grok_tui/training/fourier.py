"""Fourier maths over Z_p: the embeddings' spectrum, key frequencies, Nanda et al.'s losses.

The live progress measures (measures.py) and the post-hoc analysis (analysis/fourier.py)
both compute with it; it lives here so that training never imports the analysis.

Spectrum. The number embeddings E (p, d) are a function of n in Z_p per dimension; a DFT
along n gives, for each frequency k in 1..(p-1)/2, the energy of the cos(2πkn/p) and
sin(2πkn/p) components summed over the d dimensions (k and p-k are one real frequency).
The constant component (k = 0) is reported apart. The *key frequencies* are those whose
energy is well above a uniform spread: at least KEY_FACTOR times 1/(number of
frequencies), the dominant one always, at most MAX_KEYS.

Restricted and excluded losses (Nanda et al. 2023, "Progress measures for grokking via
mechanistic interpretability", and their progress-measures code). The logits over the whole
p x p input grid are, per output class, a function of (x, y). For each key frequency k
the unit vectors cos(w_k (x+y)) and sin(w_k (x+y)) over the grid (w_k = 2πk/p) span the
part of that function the Fourier algorithm uses. The *restricted* logits keep only the
projection onto those directions, plus the mean over inputs of everything removed (their
"bias correction", which here is the per-class mean logit); the *restricted loss* is their
loss on every pair. The *excluded* logits remove that projection; the *excluded loss* is
their loss on the training pairs. Our simplifications, stated plainly:
- the key frequencies come from the embeddings' spectrum at the analysed step (the paper
  found them from the embedding and the neurons' 2-D DFT; for the mainline both agree),
  and are held fixed across the kept checkpoints, as the paper held its final key
  frequencies fixed over training;
- the loss is the run's own loss function (cross-entropy, or StableMax where the run
  used it), in float64; the paper used float64 cross-entropy;
- for 'sub' the directions are cos/sin(w_k (x-y)); the paper treated addition only;
- we compute them for every model family on add/sub (and 2-term sum), not only for the
  one-layer transformer of the paper; only logits are needed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

KEY_FACTOR = 3.0  # a key frequency holds at least three times a uniform share of the energy
MAX_KEYS = 8
TOP_K_MAX = 5


def n_frequencies(p: int) -> int:
    """Real frequencies 1..(p-1)/2 of Z_p for an odd prime p (none for p = 2)."""
    return (p - 1) // 2


def frequency_energy(embedding: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Energy per frequency 1..(p-1)/2 of E (p, d), summed over dims, and the constant's energy.

    With F = DFT along n, frequency k pairs F[k] and F[p-k] = conj(F[k]): energy 2|F[k]|^2,
    which is p/2 * (a_k^2 + b_k^2) for E = a_k cos(2πkn/p) + b_k sin(2πkn/p). Units are
    Parseval's: the energies and the constant sum to p * ||E||^2.
    """
    p = embedding.shape[0]
    spectrum = torch.fft.rfft(embedding.detach().double(), dim=0)  # (p//2 + 1, d)
    power = spectrum.abs().pow(2).sum(dim=1)  # (p//2 + 1,)
    k = n_frequencies(p)
    return 2 * power[1 : k + 1], float(power[0])


def key_frequencies(energy_fraction: torch.Tensor) -> list[int]:
    """Frequencies (1-based) holding well above a uniform share; the dominant one always."""
    n = len(energy_fraction)
    if n == 0:
        return []
    order = torch.argsort(energy_fraction, descending=True).tolist()
    keys = [i + 1 for i in order[:MAX_KEYS] if float(energy_fraction[i]) >= KEY_FACTOR / n]
    return keys or [order[0] + 1]


def top_k_for(n_freqs: int) -> int:
    """How many top frequencies "concentration" counts: 5 for large p, fewer for small p."""
    return max(1, min(TOP_K_MAX, n_freqs // 4))


def spectrum(embedding: torch.Tensor) -> dict[str, Any]:
    """The Fourier spectrum of number embeddings E (p, d) over Z_p, as plain numbers."""
    p = embedding.shape[0]
    energy, constant = frequency_energy(embedding)
    total = float(energy.sum())
    fraction = energy / total if total > 0 else torch.zeros_like(energy)
    n = len(energy)
    top_k = top_k_for(n)
    top = torch.sort(fraction, descending=True).values[:top_k]
    keys = key_frequencies(fraction)
    return {
        "p": p,
        "frequencies": list(range(1, n + 1)),
        "energy_fraction": fraction.tolist(),
        "constant_fraction": constant / (constant + total) if constant + total > 0 else 0.0,
        "key_frequencies": keys,
        "dominant_frequency": keys[0] if keys else None,
        "top_k": top_k,
        "concentration": float(top.sum()),
        "concentration_uniform": top_k / n if n else 0.0,
        "key_fraction": float(sum(fraction[k - 1] for k in keys)),
    }


# --- Nanda et al.'s restricted and excluded losses -------------------------------------


def grid_directions(p: int, operation: str, frequencies: list[int]) -> torch.Tensor:
    """Orthonormal columns cos(w_k s), sin(w_k s) over the p*p grid (x slowest), s = x±y.

    (p*p, 2 * len(frequencies)), float64. Over the whole grid each column has squared norm
    p^2 / 2 before normalising, and columns of different k (or cos vs sin) are orthogonal.
    """
    numbers = torch.arange(p, dtype=torch.float64)
    x, y = torch.meshgrid(numbers, numbers, indexing="ij")
    s = (x - y if operation == "sub" else x + y).reshape(-1)
    columns = []
    for k in frequencies:
        angle = 2 * math.pi * k * s / p
        columns += [torch.cos(angle), torch.sin(angle)]
    if not columns:
        return torch.zeros(p * p, 0, dtype=torch.float64)
    basis = torch.stack(columns, dim=1)
    return basis / basis.norm(dim=0, keepdim=True)


def nanda_losses(
    logits: torch.Tensor,
    labels: torch.Tensor,
    train_mask: torch.Tensor,
    basis: torch.Tensor,
    loss_fn: Callable[..., torch.Tensor],
) -> dict[str, float]:
    """Restricted loss (all pairs), excluded loss (train pairs) and the logits' key share.

    logits (p*p, p) over the full grid in the order of ``grid_directions``; labels (p*p,);
    train_mask (p*p,) bool; basis (p*p, m) orthonormal columns.
    """
    logits = logits.detach().double()
    basis = basis.to(logits.device)
    projection = basis @ (basis.T @ logits)  # (p*p, p): the key-frequency part per class
    mean = logits.mean(dim=0, keepdim=True)  # the projection has zero mean over inputs
    restricted = projection + mean
    excluded = logits - projection
    centred = logits - mean
    variance = float(centred.pow(2).sum())
    return {
        "restricted_loss": float(loss_fn(restricted, labels)),
        "excluded_loss": float(loss_fn(excluded[train_mask], labels[train_mask])),
        "key_logit_fraction": float(projection.pow(2).sum()) / variance if variance else 0.0,
    }

"""The Fourier sections of analysis.json: the embeddings' spectrum over the kept steps, and
Nanda et al.'s progress measures with fixed key frequencies.

The maths (spectrum, key frequencies, the restricted and excluded losses, and what we
simplified) is in training/fourier.py, which the live progress measures share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch

from grok_tui.training.data import compute_labels, enumerate_operands, split_masks, tokenize
from grok_tui.training.fourier import (
    grid_directions,
    key_frequencies,
    n_frequencies,
    nanda_losses,
    spectrum,
)

if TYPE_CHECKING:
    from grok_tui.analysis.loading import LoadedRun


def circle_step(frequency: int, p: int) -> int:
    """The step s that makes n and n+s neighbours on the circle n -> 2πkn/p.

    On that circle n sits at angle 2πkn/p, so n+s sits 2πks/p further on; neighbours are
    2π/p apart, i.e. k*s ≡ ±1 (mod p): s is k's inverse mod p (or p minus it, the same
    circle walked the other way; we give the smaller). The seed report linked n and n+11
    on its p = 59 t-SNE: 11 is the inverse of 16 (or of 43 ≡ -16) mod 59.
    """
    if p < 3 or frequency % p == 0:
        return 1
    s = pow(frequency, -1, p)
    return min(s, p - s)


def logit_spectrum(logits: torch.Tensor, p: int, operation: str) -> list[float]:
    """Share of the (centred) logits' variance along cos/sin(w_k (x±y)) for each k."""
    logits = logits.detach().double()
    centred = logits - logits.mean(dim=0, keepdim=True)
    total = float(centred.pow(2).sum())
    basis = grid_directions(p, operation, list(range(1, n_frequencies(p) + 1))).to(logits.device)
    coefficients = (basis.T @ centred).pow(2).sum(dim=1)  # (2 * n_freqs,)
    per_k = coefficients.view(-1, 2).sum(dim=1)
    return (per_k / total).tolist() if total else [0.0] * len(per_k)


# --- the sections of analysis.json ------------------------------------------------------


def fourier_section(
    embedding_at: Callable[[int], torch.Tensor], step: int, steps: Sequence[int], source: str
) -> dict[str, Any]:
    """The spectrum of the number embeddings at `step`, and how it formed over `steps`.

    ``embedding_at(s)`` gives the (p, d) number embeddings kept at step s. The over-time
    key share follows the analysed step's key frequencies, so the curve tracks one set.
    """
    section = spectrum(embedding_at(step))
    history: dict[str, list[Any]] = {
        "step": [],
        "energy_fraction": [],
        "concentration": [],
        "key_fraction": [],
        "dominant_frequency": [],
        "key_frequencies": [],
    }
    for s in steps:
        at = spectrum(embedding_at(s))
        history["step"].append(s)
        history["energy_fraction"].append(at["energy_fraction"])
        history["concentration"].append(at["concentration"])
        history["key_fraction"].append(
            sum(at["energy_fraction"][k - 1] for k in section["key_frequencies"])
        )
        history["dominant_frequency"].append(at["dominant_frequency"])
        history["key_frequencies"].append(at["key_frequencies"])
    section["over_time"] = history
    section["source"] = source
    return section


def nanda_section(
    loaded: LoadedRun, step: int, steps: Sequence[int], keys: list[int] | None
) -> dict[str, Any]:
    """Nanda et al.'s progress measures over the kept steps, with fixed key frequencies
    (those of the embeddings; without an embedding, those of the logits at `step`)."""
    data = loaded.preset.data
    p = data.p
    operands = enumerate_operands(data)  # (p*p, 2), x slowest: the order grid_directions uses
    labels = compute_labels(data.operation, operands, p).to(loaded.device)
    tokens = tokenize(operands, data).to(loaded.device)
    train_mask, test_mask = (m.to(loaded.device) for m in split_masks(data, operands))

    def grid_logits(s: int) -> torch.Tensor:
        model = loaded.load(s)
        with torch.no_grad():
            return torch.cat([model(chunk) for chunk in tokens.split(8192)]).double()

    logits = grid_logits(step)
    logit_share = logit_spectrum(logits, p, data.operation)
    source = "embedding spectrum"
    if keys is None:  # no embedding: take them from the logits, as the paper's logit view
        keys = key_frequencies(torch.tensor(logit_share))
        source = "logit spectrum"
    basis = grid_directions(p, data.operation, keys)
    loss_fn = loaded.trainer.loss_fn
    series: dict[str, list[Any]] = {
        "step": [],
        "train_loss": [],
        "test_loss": [],
        "restricted_loss": [],
        "excluded_loss": [],
        "key_logit_fraction": [],
    }
    for s in steps:
        at = grid_logits(s) if s != step else logits
        measures = nanda_losses(at, labels, train_mask, basis, loss_fn)
        series["step"].append(s)
        series["train_loss"].append(float(loss_fn(at[train_mask], labels[train_mask])))
        series["test_loss"].append(float(loss_fn(at[test_mask], labels[test_mask])))
        for key, value in measures.items():
            series[key].append(value)
    return {
        "key_frequencies": keys,
        "key_frequencies_from": source,
        "logit_energy_fraction": logit_share,
        "direction": "x-y" if data.operation == "sub" else "x+y",
        **series,
    }

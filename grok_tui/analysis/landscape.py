"""The loss around a solution: a 2-D grid along filter-normalised random directions, and the
seed report's Gaussian perturbation of two layers placed by their top singular values.

Grid (Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets"): two random Gaussian
directions d1, d2 shaped like the weights; each row of every matrix (a neuron's or a
token's weights: Li et al.'s "filter") is rescaled to the norm of the same row of the
weights, and 1-D tensors (biases, LayerNorm) get no direction (their ``ignore biasbn``).
The loss is evaluated at theta + a*d1 + b*d2 on a square grid of (a, b), so (0, 0) is the
trained model.

Perturbation (the seed report, task 5): for growing scales s, two chosen weight matrices
get W + s*G with G a matrix of independent N(0, 1) entries; each sample is placed at the
top singular values of the two perturbed matrices (the report's "largest eigenvalues")
and coloured by its loss. The report's code drew ``rng.normal(*w.shape)``, which is ONE
scalar (loc = rows, scale = cols), so every weight moved by the same constant; here G is
a full Gaussian matrix, and analysis.json records the method.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn
from torch.func import functional_call

from grok_tui.analysis.loading import AnalysisError, LoadedRun
from grok_tui.training.trainer import eval_chunk

LossFn = Callable[..., torch.Tensor]
Batch = tuple[torch.Tensor, torch.Tensor]


@torch.no_grad()
def mean_loss_and_accuracy(
    model: nn.Module,
    batch: Batch,
    loss_fn: LossFn,
    params: Mapping[str, torch.Tensor] | None = None,
) -> tuple[float, float]:
    """Mean loss and accuracy of the model (or of it with `params` swapped in) on (x, y).

    The same reduction as the engine's ``Trainer.evaluate``: chunked, a float64 sum, so
    at the trained weights it gives the loss the run recorded.
    """
    x, y = batch
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device=x.device)
    correct = torch.zeros((), dtype=torch.int64, device=x.device)
    chunk = eval_chunk(x.device)
    for start in range(0, len(x), chunk):
        xb, yb = x[start : start + chunk], y[start : start + chunk]
        logits = model(xb) if params is None else functional_call(model, dict(params), (xb,))
        logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
        loss_sum += loss_fn(logits, yb, reduction="sum").double()
        correct += (logits.argmax(-1) == yb).sum()
    n = max(1, len(x))
    return float(loss_sum) / n, int(correct) / n


def subset(batch: Batch, max_examples: int, seed: int = 0) -> Batch:
    """At most max_examples rows of (x, y), drawn without replacement by a seeded generator."""
    x, y = batch
    if len(x) <= max_examples:
        return x, y
    generator = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(x), generator=generator)[:max_examples].to(x.device)
    return x[idx], y[idx]


def trainable(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's parameters by name, detached (tied weights appear once)."""
    return {name: p.detach() for name, p in model.named_parameters()}


def filter_normalized_direction(
    params: Mapping[str, torch.Tensor], generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """A Gaussian direction with each row rescaled to the norm of the weights' row.

    Rows are along the first axis (a Linear's output neurons, an Embedding's tokens, an
    RNN's gate units); 1-D tensors get zeros, as in Li et al.'s ``ignore='biasbn'``.
    """
    direction = {}
    for name, weight in params.items():
        noise = torch.randn(weight.shape, generator=generator, dtype=torch.float64)
        noise = noise.to(device=weight.device, dtype=weight.dtype)
        if weight.dim() <= 1:
            direction[name] = torch.zeros_like(weight)
            continue
        rows_w = weight.reshape(weight.shape[0], -1)
        rows_d = noise.reshape(weight.shape[0], -1)
        scale = rows_w.norm(dim=1, keepdim=True) / rows_d.norm(dim=1, keepdim=True).clamp_min(1e-12)
        direction[name] = (rows_d * scale).reshape(weight.shape)
    return direction


def loss_grid(
    model: nn.Module,
    batches: Mapping[str, Batch],
    loss_fn: LossFn,
    *,
    points: int = 11,
    span: float = 1.0,
    seed: int = 0,
) -> dict[str, Any]:
    """Loss on a points x points grid of theta + a*d1 + b*d2, a and b in [-span, span].

    Returns the coordinates and, for each named batch, a matrix loss[i][j] at
    (a = coords[i], b = coords[j]). An odd number of points puts the trained weights
    exactly at the centre.
    """
    params = trainable(model)
    generator = torch.Generator().manual_seed(seed)
    d1 = filter_normalized_direction(params, generator)
    d2 = filter_normalized_direction(params, generator)
    coords = torch.linspace(-span, span, points, dtype=torch.float64).tolist()
    losses = {name: [[0.0] * points for _ in range(points)] for name in batches}
    for i, a in enumerate(coords):
        for j, b in enumerate(coords):
            moved = {n: w + a * d1[n] + b * d2[n] for n, w in params.items()}
            for name, batch in batches.items():
                losses[name][i][j] = mean_loss_and_accuracy(model, batch, loss_fn, moved)[0]
    return {
        "method": "filter_normalized_random_directions",
        "seed": seed,
        "span": span,
        "coords": coords,
        "loss": losses,
    }


def weight_matrices(model: nn.Module) -> list[str]:
    """Names of the trainable matrices that are not embeddings, in module order."""
    embeddings = {
        f"{name}.weight" for name, m in model.named_modules() if isinstance(m, nn.Embedding)
    }
    return [
        name
        for name, p in model.named_parameters()
        if p.dim() == 2 and name not in embeddings and name != "rnn.weight_ih_l0"
    ] or [name for name, p in model.named_parameters() if p.dim() == 2]


def default_perturbed_layers(model: nn.Module) -> list[str]:
    """Two matrices to perturb: an MLP's first two linears (the report's linear1 and
    linear2); a recurrent model's first hidden-to-hidden matrix and its head; a
    transformer's last feed-forward pair; otherwise the first two matrices."""
    names = weight_matrices(model)
    if hasattr(model, "net"):  # MLP: net.0 is the first hidden linear, its output layer last
        return names[:2]
    if hasattr(model, "rnn") and "rnn.weight_hh_l0" in names:  # recurrent: the recurrence, the head
        return ["rnn.weight_hh_l0", names[-1]]
    ffn = [n for n in names if ".ffn." in n]
    if len(ffn) >= 2:
        return ffn[-2:]
    return names[:2] if len(names) >= 2 else names * 2


def top_singular_value(matrix: torch.Tensor) -> float:
    """sigma_1 as the root of the top eigenvalue of the smaller Gram matrix: a symmetric
    eigensolve is several times cheaper than an SVD, and float64 keeps sigma_1 exact."""
    m = matrix.detach().double().reshape(matrix.shape[0], -1)
    gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    return float(torch.linalg.eigvalsh(gram)[-1].clamp_min(0).sqrt())


def gaussian_perturbation(
    model: nn.Module,
    batches: Mapping[str, Batch],
    loss_fn: LossFn,
    layers: list[str],
    *,
    samples: int = 200,
    max_scale: float = 0.5,
    relative: bool = True,
    seed: int = 0,
) -> dict[str, Any]:
    """Losses of `samples` draws W + s*G of two layers, s from 0 to max_scale.

    With ``relative`` (the default) the scale is in units of each layer's RMS entry
    (s * rms(W) * G), so one setting fits any model; otherwise it is absolute, as in the
    report (0..0.01, which barely moves the loss of a well-trained small model).
    Each sample records its scale, the perturbed layers' top singular values and its
    loss on each named batch.
    """
    params = trainable(model)
    missing = [name for name in layers if name not in params]
    if missing:
        raise KeyError(f"no parameter {', '.join(missing)}; matrices: {weight_matrices(model)}")
    generator = torch.Generator().manual_seed(seed)
    scales = torch.linspace(0.0, max_scale, samples, dtype=torch.float64).tolist()
    units = {
        name: (params[name].double().pow(2).mean().sqrt().item() if relative else 1.0)
        for name in layers
    }
    out: dict[str, Any] = {
        "method": "gaussian_matrix",
        "method_note": "every entry an independent N(0, 1) draw times the scale; the seed "
        "report's code drew one scalar per layer (rng.normal(*w.shape)), shifting every "
        "weight by the same constant",
        "layers": layers,
        "scale_mode": "relative_rms" if relative else "absolute",
        "max_scale": max_scale,
        "seed": seed,
        "unperturbed_sv": [top_singular_value(params[name]) for name in layers],
        "scale": scales,
        "sv": [[] for _ in layers],
        "loss": {name: [] for name in batches},
    }
    for s in scales:
        moved = dict(params)
        for i, name in enumerate(layers):
            w = params[name]
            noise = torch.randn(w.shape, generator=generator, dtype=torch.float64)
            moved[name] = w + (s * units[name] * noise).to(device=w.device, dtype=w.dtype)
            out["sv"][i].append(top_singular_value(moved[name]))
        for name, batch in batches.items():
            out["loss"][name].append(mean_loss_and_accuracy(model, batch, loss_fn, moved)[0])
    out["summary"] = {
        name: perturbation_summary(scales, losses) for name, losses in out["loss"].items()
    }
    return out


def perturbation_summary(scales: Sequence[float], losses: Sequence[float]) -> dict[str, Any]:
    """The seed report's two readings of its Fig. 13e-f as numbers: how steeply the loss
    rises (the median loss of the largest tenth of the scales over the unperturbed loss, the
    sample at scale 0) and whether "better choices" were missed (the share of perturbed
    samples whose loss is below the unperturbed one)."""
    center, moved = losses[0], list(zip(scales[1:], losses[1:], strict=True))
    finite = [(s, loss) for s, loss in moved if math.isfinite(loss)]
    top = [loss for s, loss in finite if s >= 0.9 * scales[-1]]
    rise = statistics.median(top) / center if top and center > 0 else None
    below = sum(loss < center for _, loss in finite) / len(moved) if moved else None
    return {"center": center, "rise_at_max_scale": rise, "below_center": below}


# --- the section of analysis.json -------------------------------------------------------


def landscape_section(
    loaded: LoadedRun,
    step: int,
    records: Sequence[Mapping[str, Any]],
    notes: list[str],
    *,
    points: int = 11,
    span: float = 1.0,
    samples: int = 200,
    scale: float = 0.5,
    relative: bool = True,
    layers: list[str] | None = None,
    max_examples: int = 1024,
    seed: int = 0,
) -> dict[str, Any]:
    """The loss around the weights at `step`: the centre (checked against the recorded
    loss), the filter-normalised grid and the Gaussian perturbation of two layers."""
    model = loaded.load(step)
    task, loss_fn = loaded.task, loaded.trainer.loss_fn
    full = {"train": (task.train_x, task.train_y), "test": (task.test_x, task.test_y)}
    center: dict[str, Any] = {}
    for split, batch in full.items():
        loss, acc = mean_loss_and_accuracy(model, batch, loss_fn)
        center[f"{split}_loss"], center[f"{split}_acc"] = loss, acc
    recorded = next((r for r in reversed(records) if r.get("step") == step), None)
    center["recorded_step"] = recorded["step"] if recorded else None
    center["recorded_train_loss"] = recorded.get("train_loss") if recorded else None
    center["recorded_test_loss"] = recorded.get("test_loss") if recorded else None
    batches = {split: subset(batch, max_examples, seed) for split, batch in full.items()}
    sizes = {f"n_{split}": len(batch[1]) for split, batch in batches.items()}
    if any(len(b[1]) < len(full[s][1]) for s, b in batches.items()):
        notes.append(f"landscape losses on at most {max_examples} examples per split")
    odd = points if points % 2 else points + 1  # the trained weights exactly at the centre
    grid = loss_grid(model, batches, loss_fn, points=odd, span=span, seed=seed)
    chosen = layers or default_perturbed_layers(model)
    try:
        perturbation = gaussian_perturbation(
            model,
            batches,
            loss_fn,
            chosen,
            samples=samples,
            max_scale=scale,
            relative=relative,
            seed=seed,
        )
    except KeyError as exc:
        raise AnalysisError(f"--perturb-layers: {exc.args[0]}") from None
    return {"center": center, **sizes, "grid": grid, "perturbation": perturbation}

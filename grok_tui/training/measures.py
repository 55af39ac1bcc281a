"""Progress measures during training: what a record can hold besides loss and accuracy.

``[train] measures = [...]`` names them; every ``measure_every`` steps (default: at each
evaluation) the engine adds their numbers to the record, so they are written with it,
plotted live and exported like any other field. Each is cheap beside an evaluation
except ``sharpness`` (a few dozen Hessian-vector products). When the list is empty
nothing here runs.

- ``layer_norms``: the L2 norm of each layer's weights (``norm.<layer>``: the embedding,
  each block or hidden layer, the output layer), and ``last_layer_norm``, the output
  layer's norm, whose growth goes with the slingshot's loss spikes (Thilak et al.).
- ``fourier``: the number embedding's spectrum over Z_p (fourier.py):
  ``key_frequency_share`` (energy share of the top frequencies, Nanda et al.'s sparsity)
  and ``dominant_frequency``.
- ``nanda``: Nanda et al.'s ``restricted_loss`` (logits kept on the key frequencies,
  every pair) and ``excluded_loss`` (logits without them, training pairs), with
  ``key_logit_fraction``. The key frequencies are those of the embedding at the
  measured step (the paper fixed its final ones; live, the final ones are not known).
- ``softmax_collapse``: the fraction of training examples whose softmax, in the precision
  the loss computes it in (float16, float32 or float64: losses.SOFTMAX_DTYPES), gives the
  correct class a probability of exactly 1, so that their gradient is exactly zero
  (Prieto et al. 2025's Softmax Collapse).
- ``sharpness``: the top eigenvalue of the training loss's Hessian (power iteration
  with Hessian-vector products on at most SHARPNESS_EXAMPLES training examples).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from grok_tui.config import Preset
from grok_tui.training import fourier
from grok_tui.training.data import compute_labels, enumerate_operands, split_masks, tokenize
from grok_tui.training.losses import SOFTMAX_DTYPES
from grok_tui.training.models import embedding_name

MEASURES = ("layer_norms", "fourier", "nanda", "softmax_collapse", "sharpness")
# What the Fourier measures need: one number per token over Z_p, and x + y or x - y.
FOURIER_OPERATIONS = ("add", "sub")
SHARPNESS_EXAMPLES = 2048
SHARPNESS_ITERATIONS = 20


def fourier_problem(preset: Preset) -> str | None:
    """Why the Fourier measures do not apply to this preset, or None when they do."""
    data = preset.data
    if data.operation not in FOURIER_OPERATIONS or data.k != 2:
        return f"needs operation 'add' or 'sub' with 2 operands, not {data.operation!r}"
    if data.p < 3:
        return "needs p >= 3"
    if preset.model.type not in ("mlp", "transformer"):
        return f"needs a token embedding; model {preset.model.type!r} has none"
    return None


def layer_of(name: str) -> str:
    """The layer a parameter belongs to: 'blocks.0.attn.qkv.weight' -> 'blocks.0'."""
    parts = name.split(".")
    if len(parts) > 2 and parts[1].isdigit():
        return ".".join(parts[:2])
    return parts[0]


def layer_norms(model: nn.Module) -> dict[str, float]:
    """``norm.<layer>`` for every layer, and ``last_layer_norm`` (the last one registered)."""
    squares: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            layer = layer_of(name)
            value = parameter.detach().double().pow(2).sum()
            squares[layer] = squares[layer] + value if layer in squares else value
    norms = {f"norm.{layer}": float(total.sqrt()) for layer, total in squares.items()}
    if squares:
        norms["last_layer_norm"] = norms[f"norm.{next(reversed(squares))}"]
    return norms


def softmax_collapse(
    logits: torch.Tensor, labels: torch.Tensor, dtype: torch.dtype | None = None
) -> float:
    """The share of examples whose softmax, in ``dtype`` (default: the logits' own, at least
    float32, as the plain loss computes it), puts exactly 1.0 on the correct class."""
    dtype = dtype or torch.promote_types(logits.dtype, torch.float32)
    probabilities = torch.softmax(logits.to(dtype), dim=-1)
    correct = probabilities.gather(1, labels[:, None]).squeeze(1)
    return float((correct == 1.0).double().mean()) if len(labels) else 0.0


def top_hessian_eigenvalue(
    loss_of: Callable[[], torch.Tensor],
    parameters: list[torch.Tensor],
    *,
    iterations: int = SHARPNESS_ITERATIONS,
    seed: int = 0,
    epsilon: float = 1e-3,
) -> float:
    """Power iteration on Hessian-vector products: the eigenvalue of largest magnitude.

    Hv is the central difference of gradients (g(w + εv) - g(w - εv)) / 2ε: exact for a
    quadratic, and it needs no double backward, which the engine's fast paths (the MLP's
    embedding-bag lookup) do not have. The weights are restored bit for bit afterwards.
    """
    generator = torch.Generator(device="cpu").manual_seed(seed)
    vector = [torch.randn(p.shape, generator=generator).to(p) for p in parameters]
    saved = [p.detach().clone() for p in parameters]

    def gradient_at(scale: float) -> list[torch.Tensor]:
        with torch.no_grad():
            for p, w, v in zip(parameters, saved, vector, strict=True):
                p.copy_(w + scale * v)
        return list(torch.autograd.grad(loss_of(), parameters))

    eigenvalue = 0.0
    try:
        for _ in range(iterations):
            norm = torch.sqrt(sum((v.double() ** 2).sum() for v in vector))
            vector = [v / norm.to(v.dtype) for v in vector]
            plus, minus = gradient_at(epsilon), gradient_at(-epsilon)
            hvp = [(a - b) / (2 * epsilon) for a, b in zip(plus, minus, strict=True)]
            eigenvalue = float(
                sum((h.double() * v.double()).sum() for h, v in zip(hvp, vector, strict=True))
            )
            vector = hvp
    finally:
        with torch.no_grad():
            for p, w in zip(parameters, saved, strict=True):
                p.copy_(w)
    return eigenvalue


@dataclass
class ProgressMeasures:
    """The measures a preset asked for, with what they need prepared once."""

    preset: Preset
    model: nn.Module
    forward: Callable[[torch.Tensor], torch.Tensor]
    loss_fn: Callable[..., torch.Tensor]
    train_x: torch.Tensor
    train_y: torch.Tensor
    device: torch.device

    def __post_init__(self) -> None:
        self.names = tuple(self.preset.train.measures)
        self._grid: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        if {"fourier", "nanda"} & set(self.names):
            problem = fourier_problem(self.preset)
            if problem:  # the schema refuses this: a second guard for presets built in code
                raise ValueError(f"train.measures: fourier and nanda {problem}")
            self.embedding = embedding_name(self.model)

    def _full_grid(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Tokens and labels of every pair in grid order (x slowest), and the train mask."""
        if self._grid is None:
            data = self.preset.data
            operands = enumerate_operands(data)
            labels = compute_labels(data.operation, operands, data.p)
            tokens = tokenize(operands, data)
            mask, _ = split_masks(data, operands)
            self._grid = (tokens.to(self.device), labels.to(self.device), mask.to(self.device))
        return self._grid

    def _numbers(self, p: int) -> torch.Tensor:
        """The vectors of the numbers 0..p-1 (p, d): the token embedding's rows, or for a
        one-hot MLP the first layer's columns of the first position."""
        if self.embedding is not None:
            weights = dict(self.model.named_parameters())[self.embedding]
            return weights.detach()[:p].double().cpu()
        first = next(m for m in self.model.modules() if isinstance(m, nn.Linear))
        T, V = self.train_x.shape[1], first.in_features // self.train_x.shape[1]
        return first.weight.detach().view(-1, T, V)[:, 0, :p].T.double().cpu()

    def _logits(self, tokens: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.forward(chunk) for chunk in tokens.split(8192)])

    def measure(self) -> dict[str, Any]:
        """Every asked-for measure at the current weights (the model left in train mode)."""
        out: dict[str, Any] = {}
        was_training = self.model.training
        self.model.eval()
        try:
            if "layer_norms" in self.names:
                out.update(layer_norms(self.model))
            with torch.no_grad():
                if "fourier" in self.names or "nanda" in self.names:
                    out.update(self._fourier())
                if "softmax_collapse" in self.names:
                    logits = self._logits(self.train_x)
                    dtype = SOFTMAX_DTYPES[self.preset.train.loss]  # every loss has one
                    out["softmax_collapse"] = softmax_collapse(logits, self.train_y, dtype)
            if "sharpness" in self.names:
                out["sharpness"] = self._sharpness()
        finally:
            self.model.train(was_training)
        return out

    def _fourier(self) -> dict[str, Any]:
        p = self.preset.data.p
        spectrum = fourier.spectrum(self._numbers(p))
        out: dict[str, Any] = {}
        if "fourier" in self.names:
            out["key_frequency_share"] = spectrum["concentration"]
            out["dominant_frequency"] = spectrum["dominant_frequency"]
        if "nanda" in self.names:
            tokens, labels, mask = self._full_grid()
            basis = fourier.grid_directions(
                p, self.preset.data.operation, spectrum["key_frequencies"]
            )
            losses = fourier.nanda_losses(self._logits(tokens), labels, mask, basis, self.loss_fn)
            out.update(losses)
        return out

    def _sharpness(self) -> float:
        n = min(len(self.train_x), SHARPNESS_EXAMPLES)
        x, y = self.train_x[:n], self.train_y[:n]
        parameters = [p for p in self.model.parameters() if p.requires_grad]
        return top_hessian_eigenvalue(
            lambda: self.loss_fn(self.forward(x).float(), y),
            parameters,
            seed=self.preset.train.seed,
        )

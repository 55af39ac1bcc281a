"""Minibatches drawn by index on the device, one permutation per epoch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class Batcher:
    """Minibatches by index: each epoch is a permutation of the training set.

    The last incomplete batch of an epoch is dropped so every step has the same shape
    (static shapes keep CUDA graphs and torch.compile happy). Full batch skips the
    permutation altogether: the order of a full batch does not change the gradient.
    """

    n: int
    batch_size: int
    generator: torch.Generator
    device: torch.device
    epoch: int = 0
    position: int = 0
    perm: torch.Tensor | None = None
    # (perm, x[perm], y[perm]): this epoch's shuffled copy of the training set
    shuffled: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = field(
        default=None, repr=False
    )

    @property
    def full_batch(self) -> bool:
        return self.batch_size >= self.n

    @property
    def batches_per_epoch(self) -> int:
        return max(1, self.n // self.batch_size)

    def advance(self) -> int | None:
        """Move on one batch; return where it starts in this epoch's permutation (None: the
        whole set). An epoch's first batch draws the permutation, on the device."""
        if self.full_batch:
            self.epoch += 1
            return None
        if self.position == 0:
            self.perm = torch.randperm(self.n, generator=self.generator, device=self.device)
        start = self.position * self.batch_size
        self.position += 1
        if self.position == self.batches_per_epoch:
            self.position = 0
            self.epoch += 1
        return start

    def next(self) -> torch.Tensor | None:
        """Indices of the next batch (None: the whole set, in order)."""
        start = self.advance()
        if start is None or self.perm is None:
            return None
        return self.perm[start : start + self.batch_size]

    def take(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The next batch of (x, y): one gather per epoch, then each batch is a slice of it."""
        start = self.position * self.batch_size
        idx = self.next()
        if idx is None:
            return x, y
        if self.shuffled is None or self.shuffled[0] is not self.perm:
            self.shuffled = (self.perm, x[self.perm], y[self.perm])
        _, x_shuffled, y_shuffled = self.shuffled
        end = start + self.batch_size
        return x_shuffled[start:end], y_shuffled[start:end]

    def state_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "position": self.position,
            "perm": self.perm.cpu() if self.perm is not None else None,
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.position = state["epoch"], state["position"]
        self.perm = state["perm"].to(self.device) if state["perm"] is not None else None
        self.generator.set_state(state["generator"])

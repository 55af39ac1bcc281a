"""N members' parameters as one flat buffer that their solo models also train through.

Each member's trainable parameters live in row i of one (N, total) buffer, its gradients
in row i of another. The batched forward reads them as (N, *shape) views; each member's
solo model is rebound so that its nn.Parameters *are* row i's slices (and their .grad row
i's gradient slices). So the member's own solo optimizer, scheduler, Grokfast filter,
clipping and ⊥Grad (grok_tui.training.optim, trainer.Trainer) act on the group's buffer in place,
exactly as in its solo run, and its state_dict is a solo checkpoint with no copy step.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class GroupParams:
    """N members' trainable parameters, stacked: views (N, *shape) of one (N, total) buffer."""

    def __init__(self, models: Sequence[nn.Module]) -> None:
        template = models[0]
        named = [(n, p) for n, p in template.named_parameters() if p.requires_grad]
        self.names = [n for n, _ in named]
        self.shapes = [tuple(p.shape) for _, p in named]
        self.sizes = [p.numel() for _, p in named]
        first = named[0][1]
        N, total = len(models), sum(self.sizes)
        self.flat = torch.empty(N, total, dtype=first.dtype, device=first.device)
        self.grad = torch.zeros_like(self.flat)
        self.views: dict[str, torch.Tensor] = {}
        self.grads: dict[str, torch.Tensor] = {}
        start = 0
        for name, shape, size in zip(self.names, self.shapes, self.sizes, strict=True):
            view = self.flat[:, start : start + size].view(N, *shape)
            view.requires_grad_()  # a leaf: its base does not require grad
            self.views[name] = view
            self.grads[name] = self.grad[:, start : start + size].view(N, *shape)
            start += size
        with torch.no_grad():
            for i, model in enumerate(models):
                params = [p for p in model.parameters() if p.requires_grad]
                for p, name in zip(params, self.names, strict=True):
                    self.views[name][i].copy_(p)
                    p.data = self.views[name].detach()[i]  # the solo parameter is row i's slice
                    p.grad = self.grads[name][i]

    @property
    def n(self) -> int:
        return self.flat.shape[0]

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.views[name]

    def list(self) -> list[torch.Tensor]:
        return [self.views[n] for n in self.names]

    def grad_list(self) -> list[torch.Tensor]:
        return [self.grads[n] for n in self.names]

    def collect_grads(self) -> None:
        """Move what backward() left in each view's .grad into the flat gradient buffer.

        (A .grad that is a strided view of a shared buffer breaks autograd's layout
        contract, so backward writes fresh tensors and one foreach copy gathers them.)
        """
        views = self.list()
        fresh = [v.grad if v.grad is not None else torch.zeros_like(v) for v in views]
        torch._foreach_copy_(self.grad_list(), fresh)
        for view in views:
            view.grad = None

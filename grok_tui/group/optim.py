"""Per-member optimizers, learning rates, Grokfast filters, ⊥Grad and clipping over stacked tensors.

Not used by the group trainer, whose members step with their own solo optimizers
(group/trainer.py: bit-exact, where these batched forms agree to float rounding only);
kept for grok_tui/bench/groups.py's comparison of batched updates.

Every member keeps its own hyperparameters: the update works on the flat (N, total)
buffers of group/models.py with per-member coefficients (N, 1), computed on the host in
float64 each step as torch's own implementation computes its Python scalars. The
algorithms are torch's (torch.optim.AdamW, Adam, SGD; grok_tui.optim's filters),
operation for operation, so a member follows its solo run up to float rounding.
`member_state` gives each member's state in the solo object's format, so a member's
checkpoint is a solo checkpoint.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from grok_tui.config import OptimConfig
from grok_tui.optim import lr_factor


def learning_rates(cfgs: Sequence[OptimConfig], step: int, total_steps: int) -> list[float]:
    """Each member's learning rate for optimizer step `step`: what its solo LambdaLR sets."""
    return [cfg.lr * lr_factor(step, cfg, total_steps) for cfg in cfgs]


def column(values: Sequence[float], like: torch.Tensor) -> torch.Tensor:
    """Per-member numbers as an (N, 1) tensor that broadcasts over a flat buffer's rows."""
    return torch.tensor(values, dtype=torch.float64).to(like.device, like.dtype).view(-1, 1)


def row_norms(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Per member, the L2 norm over its slices of `tensors` (each (N, ...)): engine.total_norm's
    norm of per-tensor norms, member by member -> (N,)."""
    norms = [t.flatten(1).norm(dim=1) for t in tensors]  # each (N,)
    dtype = torch.float64 if any(t.dtype == torch.float64 for t in tensors) else torch.float32
    return torch.linalg.vector_norm(torch.stack([n.to(dtype) for n in norms], dim=1), dim=1)


class GroupOptimizer:
    """An optimizer step for N members at once; state tensors are (N, total)."""

    def __init__(self, cfgs: Sequence[OptimConfig], flat: torch.Tensor) -> None:
        self.cfgs = list(cfgs)
        self.flat = flat
        self.steps = [0] * len(cfgs)  # optimizer steps taken, per member

    def state_tensors(self) -> list[torch.Tensor]:
        return []

    def step(self, grad: torch.Tensor, lrs: Sequence[float], active: Sequence[bool]) -> None:
        raise NotImplementedError

    def member_state(
        self, i: int, params: Sequence[torch.Tensor], split: Sequence[int]
    ) -> dict[torch.Tensor, dict[str, Any]]:
        """Member i's state per solo parameter (torch's keys), for its solo optimizer."""
        raise NotImplementedError

    @staticmethod
    def _rows(t: torch.Tensor, i: int, params: Sequence[torch.Tensor], split: Sequence[int]):
        parts = t[i].split(list(split))
        return [part.view_as(p).clone() for part, p in zip(parts, params, strict=True)]


class GroupAdam(GroupOptimizer):
    """torch.optim.Adam / AdamW (amsgrad off, not maximising), per member."""

    def __init__(self, cfgs: Sequence[OptimConfig], flat: torch.Tensor, decoupled: bool) -> None:
        super().__init__(cfgs, flat)
        self.decoupled = decoupled
        self.exp_avg = torch.zeros_like(flat)
        self.exp_avg_sq = torch.zeros_like(flat)
        self.beta1 = column([c.betas[0] for c in cfgs], flat)
        self.beta2 = column([c.betas[1] for c in cfgs], flat)
        self.one_minus_beta1 = column([1 - c.betas[0] for c in cfgs], flat)
        self.one_minus_beta2 = column([1 - c.betas[1] for c in cfgs], flat)
        self.eps = column([c.eps for c in cfgs], flat)
        self.weight_decay = column([c.weight_decay for c in cfgs], flat)

    def state_tensors(self) -> list[torch.Tensor]:
        return [self.exp_avg, self.exp_avg_sq]

    @torch.no_grad()
    def step(self, grad: torch.Tensor, lrs: Sequence[float], active: Sequence[bool]) -> None:
        self.steps = [s + 1 if a else s for s, a in zip(self.steps, active, strict=True)]
        param = self.flat
        decay, step_size, bc2_sqrt = [], [], []
        for cfg, lr, t in zip(self.cfgs, lrs, self.steps, strict=True):
            t = max(t, 1)
            beta1, beta2 = cfg.betas
            decay.append(1 - lr * cfg.weight_decay)
            step_size.append(lr / (1 - beta1**t))
            bc2_sqrt.append(math.sqrt(1 - beta2**t))
        if self.decoupled:
            param.mul_(column(decay, param))
        else:  # Adam's weight decay is L2: in the gradient
            grad = torch.addcmul(grad, param, self.weight_decay)
        self.exp_avg.lerp_(grad, self.one_minus_beta1)
        self.exp_avg_sq.mul_(self.beta2).addcmul_(grad, grad * self.one_minus_beta2)
        denom = (self.exp_avg_sq.sqrt() / column(bc2_sqrt, param)).add_(self.eps)
        param.sub_(self.exp_avg.div(denom).mul_(column(step_size, param)))

    def member_state(
        self, i: int, params: Sequence[torch.Tensor], split: Sequence[int]
    ) -> dict[torch.Tensor, dict[str, Any]]:
        avgs = self._rows(self.exp_avg, i, params, split)
        sqs = self._rows(self.exp_avg_sq, i, params, split)
        return {
            p: {
                # fused and capturable optimizers keep the count on the device, others on the host
                "step": torch.tensor(float(self.steps[i]), dtype=torch.float32, device=p.device),
                "exp_avg": a,
                "exp_avg_sq": s,
            }
            for p, a, s in zip(params, avgs, sqs, strict=True)
        }


class GroupSGD(GroupOptimizer):
    """torch.optim.SGD (no dampening), momentum and nesterov shared by the group."""

    def __init__(self, cfgs: Sequence[OptimConfig], flat: torch.Tensor) -> None:
        super().__init__(cfgs, flat)
        self.momentum = cfgs[0].momentum
        self.nesterov = cfgs[0].nesterov
        self.buffer = torch.zeros_like(flat) if self.momentum else None
        self.weight_decay = column([c.weight_decay for c in cfgs], flat)
        self.decays = any(c.weight_decay for c in cfgs)

    def state_tensors(self) -> list[torch.Tensor]:
        return [] if self.buffer is None else [self.buffer]

    @torch.no_grad()
    def step(self, grad: torch.Tensor, lrs: Sequence[float], active: Sequence[bool]) -> None:
        first = not any(self.steps)
        self.steps = [s + 1 if a else s for s, a in zip(self.steps, active, strict=True)]
        param = self.flat
        d_p = torch.addcmul(grad, param, self.weight_decay) if self.decays else grad
        if self.buffer is not None:
            if first:
                self.buffer.copy_(d_p)
            else:
                self.buffer.mul_(self.momentum).add_(d_p)
            d_p = d_p.add(self.buffer, alpha=self.momentum) if self.nesterov else self.buffer
        param.addcmul_(d_p, column([-lr for lr in lrs], param))

    def member_state(
        self, i: int, params: Sequence[torch.Tensor], split: Sequence[int]
    ) -> dict[torch.Tensor, dict[str, Any]]:
        if self.buffer is None or not self.steps[i]:
            return {}
        buffers = self._rows(self.buffer, i, params, split)
        return {p: {"momentum_buffer": b} for p, b in zip(params, buffers, strict=True)}


def build_group_optimizer(cfgs: Sequence[OptimConfig], flat: torch.Tensor) -> GroupOptimizer:
    name = cfgs[0].name
    if name in ("adam", "adamw"):
        return GroupAdam(cfgs, flat, decoupled=name == "adamw")
    if name == "sgd":
        return GroupSGD(cfgs, flat)
    raise ValueError(f"no batched '{name}' optimizer (grouping refuses it)")


class GroupEMAFilter:
    """grok_tui.optim.EMAFilter per member: ema = alpha ema + (1 - alpha) g; g += lamb ema."""

    def __init__(self, alphas: Sequence[float], lambs: Sequence[float], like: torch.Tensor) -> None:
        self.alpha = column(alphas, like)
        self.one_minus_alpha = column([1 - a for a in alphas], like)
        self.lamb = column(lambs, like)
        self.alphas, self.lambs = list(alphas), list(lambs)
        self.ema: torch.Tensor | None = None

    def state_tensors(self) -> list[torch.Tensor]:
        return [] if self.ema is None else [self.ema]

    @torch.no_grad()
    def apply(self, grad: torch.Tensor) -> None:
        if self.ema is None:  # the reference starts from the first gradient
            self.ema = grad.clone()
        self.ema.mul_(self.alpha).add_(grad * self.one_minus_alpha)
        grad.add_(self.ema * self.lamb)

    def member_state(
        self, i: int, params: Sequence[torch.Tensor], split: Sequence[int]
    ) -> dict[str, Any]:
        ema = None if self.ema is None else GroupOptimizer._rows(self.ema, i, params, split)
        return {"kind": "ema", "alpha": self.alphas[i], "lamb": self.lambs[i], "ema": ema}


class GroupMAFilter:
    """grok_tui.optim.MAFilter per member: g += lamb * mean(last window gradients), once full."""

    def __init__(self, window: int, lambs: Sequence[float], like: torch.Tensor) -> None:
        self.window = window
        self.lamb = column(lambs, like)
        self.lambs = list(lambs)
        self.buffers = like.new_zeros((like.shape[0], window, like.shape[1]))
        self.count = 0

    def state_tensors(self) -> list[torch.Tensor]:
        return [self.buffers]

    @torch.no_grad()
    def apply(self, grad: torch.Tensor) -> None:
        self.buffers[:, self.count % self.window].copy_(grad)
        self.count += 1
        if self.count >= self.window:
            grad.add_(self.buffers.mean(dim=1) * self.lamb)

    def member_state(
        self, i: int, params: Sequence[torch.Tensor], split: Sequence[int]
    ) -> dict[str, Any]:
        if self.count == 0:
            buffers = None
        else:
            parts = self.buffers[i].split(list(split), dim=1)
            buffers = [
                part.reshape(self.window, *p.shape).clone()
                for part, p in zip(parts, params, strict=True)
            ]
        return {
            "kind": "ma",
            "window": self.window,
            "lamb": self.lambs[i],
            "count": self.count,
            "buffers": buffers,
        }


def build_group_filter(
    cfgs: Sequence[OptimConfig], like: torch.Tensor
) -> GroupEMAFilter | GroupMAFilter | None:
    first = cfgs[0].grokfast
    if first is None:
        return None
    lambs = [c.grokfast.lamb for c in cfgs]  # type: ignore[union-attr]
    if first.kind == "ema":
        return GroupEMAFilter([c.grokfast.alpha for c in cfgs], lambs, like)  # type: ignore[union-attr]
    return GroupMAFilter(first.window, lambs, like)


@torch.no_grad()
def orthogonalize_rows(params: Sequence[torch.Tensor], grads: Sequence[torch.Tensor]) -> None:
    """grok_tui.optim.orthogonalize_gradients per member and tensor: g <- g_perp ||g|| / ||g_perp||."""
    eps = 1e-30
    for w, g in zip(params, grads, strict=True):
        wf, gf = w.detach().flatten(1).double(), g.flatten(1).double()  # (N, n)
        coef = (wf * gf).sum(1, keepdim=True) / ((wf * wf).sum(1, keepdim=True) + eps)
        g_perp = gf - coef * wf
        g_perp = g_perp * (gf.norm(dim=1, keepdim=True) / (g_perp.norm(dim=1, keepdim=True) + eps))
        g.copy_(g_perp.view_as(g).to(g.dtype))


@torch.no_grad()
def clip_rows(
    grads: Sequence[torch.Tensor], flat_grad: torch.Tensor, max_norms: Sequence[float | None]
) -> torch.Tensor:
    """torch.nn.utils.clip_grad_norm_ per member: each member's own norm and its own limit
    (None: not clipped). Returns the norms before clipping (N,)."""
    norms = row_norms(grads)
    if any(m is not None for m in max_norms):
        limit = torch.tensor(
            [math.inf if m is None else m for m in max_norms], dtype=norms.dtype
        ).to(norms.device)
        coef = torch.clamp(limit / (norms + 1e-6), max=1.0)  # inf / x = inf -> 1
        flat_grad.mul_(coef.to(flat_grad.dtype).view(-1, 1))
    return norms

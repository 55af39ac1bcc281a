"""Optimizers, the learning-rate schedule and Grokfast gradient filters, built from OptimConfig."""

from __future__ import annotations

import inspect
import math
from typing import Any

import torch
from torch import nn

from grok_tui.config import OptimConfig

FUSED = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}


def build_optimizer(model: nn.Module, cfg: OptimConfig) -> torch.optim.Optimizer:
    """The optimizer cfg.name names, weight decay on every parameter (as the classic code).

    Adam, AdamW and SGD get torch's fused kernel (one pass over all parameters per step,
    on CUDA and, since torch 2.4, on CPU); where this torch or device has none, and for
    the other optimizers, the multi-tensor (foreach) kernels.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    lr, wd = cfg.lr, cfg.weight_decay
    if cfg.name in ("adam", "adamw"):  # adam's weight_decay is coupled: L2 in the gradient
        kwargs: dict[str, Any] = {"lr": lr, "betas": cfg.betas, "eps": cfg.eps, "weight_decay": wd}
    elif cfg.name == "sgd":
        kwargs = {"lr": lr, "momentum": cfg.momentum, "nesterov": cfg.nesterov, "weight_decay": wd}
    if cfg.name in FUSED:
        try:
            return FUSED[cfg.name](params, fused=True, **kwargs)
        except RuntimeError:  # torch < 2.4 on CPU, or a device without the fused kernel
            return FUSED[cfg.name](params, foreach=True, **kwargs)
    if cfg.name == "nadam":
        return torch.optim.NAdam(
            params, lr=lr, betas=cfg.betas, eps=cfg.eps, weight_decay=wd, foreach=True
        )
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(
            params, lr=lr, eps=cfg.eps, momentum=cfg.momentum, weight_decay=wd, foreach=True
        )
    if cfg.name == "adagrad":  # cfg.eps is documented for Adam-family and RMSprop only
        return torch.optim.Adagrad(params, lr=lr, weight_decay=wd, foreach=True)
    raise ValueError(f"unknown optimizer '{cfg.name}'")


def step_optimizer(optimizer: torch.optim.Optimizer) -> None:
    """``optimizer.step()`` without importing torch._dynamo on the way.

    torch wraps every optimizer's step in one that imports torch._dynamo (1.2-2 s on a
    2-core CPU: as long as torch's own import) to mark graph breaks for torch.compile,
    which never traces this step ([train] compile compiles the model's forward only),
    and in a profiler scope. This runs the class's own step under no_grad, as the
    wrapper does, and tells the LR scheduler the optimizer stepped: the same arithmetic.
    Where hooks are registered or the optimizer is differentiable, torch's step runs.
    """
    from torch.optim import optimizer as torch_optimizer

    hooks = (
        getattr(torch_optimizer, "_global_optimizer_pre_hooks", None),
        getattr(torch_optimizer, "_global_optimizer_post_hooks", None),
        getattr(optimizer, "_optimizer_step_pre_hooks", None),
        getattr(optimizer, "_optimizer_step_post_hooks", None),
    )
    own = inspect.unwrap(type(optimizer).step)
    if any(h is None or h for h in hooks) or optimizer.defaults.get("differentiable"):
        optimizer.step()
        return
    with torch.no_grad():
        own(optimizer)
    optimizer._opt_called = True  # type: ignore[attr-defined]  # read by lr_scheduler.step


def lr_factor(step: int, cfg: OptimConfig, total_steps: int) -> float:
    """Multiplier of cfg.lr for the optimizer step `step` (0-based).

    Warm-up: warmup_start at step 0 rising linearly to 1.0 at warmup_steps (torch's
    LinearLR(start_factor=warmup_start); 0 is Nanda et al.'s min(step / 10, 1)). Then constant, or cosine / linear decay that reaches
    min_lr / lr at total_steps and stays there.
    """
    warmup = cfg.warmup_steps
    if step < warmup:
        start = cfg.warmup_start
        return start + (1.0 - start) * step / warmup
    if cfg.schedule == "constant":
        return 1.0
    floor = cfg.min_lr / cfg.lr
    progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
    if cfg.schedule == "cosine":
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
    if cfg.schedule == "linear":
        return 1.0 - (1.0 - floor) * progress
    raise ValueError(f"unknown schedule '{cfg.schedule}'")


def lr_factor_tensor(step: torch.Tensor, cfg: OptimConfig, total_steps: int) -> torch.Tensor:
    """lr_factor on the device, for a step held in a tensor (a captured CUDA graph's).

    float64, and the same operations in the same order as lr_factor, so that both round
    alike (cosine may still differ in the last bit where torch's cos and math.cos do).
    """
    s = step.to(torch.float64)
    warmup = cfg.warmup_steps
    if cfg.schedule == "constant":
        after = torch.ones_like(s)
    else:
        floor = cfg.min_lr / cfg.lr
        progress = ((s - warmup) / max(1, total_steps - warmup)).clamp(max=1.0)
        if cfg.schedule == "cosine":
            after = floor + (1.0 - floor) * 0.5 * (1.0 + torch.cos(math.pi * progress))
        elif cfg.schedule == "linear":
            after = 1.0 - (1.0 - floor) * progress
        else:
            raise ValueError(f"unknown schedule '{cfg.schedule}'")
    if warmup == 0:
        return after
    start = cfg.warmup_start
    return torch.where(s < warmup, start + (1.0 - start) * s / warmup, after)


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: OptimConfig, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """LambdaLR over lr_factor; call .step() after each optimizer step.

    The factor is a plain closure, so state_dict() holds only counters (no config
    object): it loads with torch.load(weights_only=True) into a scheduler built alike.
    """

    def factor(step: int) -> float:
        return lr_factor(step, cfg, total_steps)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


# ---------------------------------------------------------------------------
# Grokfast (Lee et al. 2024): amplify the slow, low-frequency part of the gradient.


class GradFilter:
    """Rewrites parameters' .grad in place between backward() and optimizer.step().

    Works with device tensors only (no .item(), no host synchronisation). State is
    kept per position in the parameter list, so pass the same list every step.
    """

    def apply(self, params: list[torch.Tensor]) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raise NotImplementedError


def _grads(params: list[torch.Tensor]) -> list[torch.Tensor]:
    grads = [p.grad for p in params]
    if any(g is None for g in grads):
        # Grokfast's reference skips such parameters; per-position state cannot.
        raise ValueError("every parameter needs a .grad before the filter is applied")
    return grads  # type: ignore[return-value]


class EMAFilter(GradFilter):
    """ema = alpha * ema + (1 - alpha) * g;  g = g + lamb * ema  (gradfilter_ema)."""

    def __init__(self, alpha: float, lamb: float) -> None:
        self.alpha = alpha
        self.lamb = lamb
        self.ema: list[torch.Tensor] | None = None

    def apply(self, params: list[torch.Tensor]) -> None:
        grads = _grads(params)
        if self.ema is None:  # the reference starts from the first gradient
            self.ema = [g.detach().clone() for g in grads]
        elif self.ema[0].device != grads[0].device:  # state loaded with another map_location
            self.ema = [e.to(g.device) for e, g in zip(self.ema, grads, strict=True)]
        torch._foreach_mul_(self.ema, self.alpha)
        torch._foreach_add_(self.ema, grads, alpha=1.0 - self.alpha)
        torch._foreach_add_(grads, self.ema, alpha=self.lamb)

    def state_dict(self) -> dict[str, Any]:
        return {"kind": "ema", "alpha": self.alpha, "lamb": self.lamb, "ema": self.ema}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("kind") != "ema":
            raise ValueError(f"not an EMA filter state: kind = {state.get('kind')!r}")
        self.alpha, self.lamb = state["alpha"], state["lamb"]
        self.ema = None if state["ema"] is None else [e.clone() for e in state["ema"]]


class MAFilter(GradFilter):
    """Once `window` gradients are held: g = g + lamb * mean(last window gradients) (gradfilter_ma).

    The window includes the current gradient; before it is full, g passes unchanged.
    Each parameter has a preallocated ring buffer (window, *shape).
    """

    def __init__(self, window: int, lamb: float) -> None:
        self.window = window
        self.lamb = lamb
        self.buffers: list[torch.Tensor] | None = None
        self.count = 0  # gradients seen; a Python int, so no device read-back

    def apply(self, params: list[torch.Tensor]) -> None:
        grads = _grads(params)
        if self.buffers is None:
            self.buffers = [g.new_zeros((self.window, *g.shape)) for g in grads]
        elif self.buffers[0].device != grads[0].device:
            self.buffers = [b.to(g.device) for b, g in zip(self.buffers, grads, strict=True)]
        slot = self.count % self.window
        torch._foreach_copy_([b[slot] for b in self.buffers], grads)
        self.count += 1
        if self.count >= self.window:
            means = [b.mean(dim=0) for b in self.buffers]
            torch._foreach_add_(grads, means, alpha=self.lamb)

    def state_dict(self) -> dict[str, Any]:
        return {
            "kind": "ma",
            "window": self.window,
            "lamb": self.lamb,
            "count": self.count,
            "buffers": self.buffers,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("kind") != "ma":
            raise ValueError(f"not an MA filter state: kind = {state.get('kind')!r}")
        self.window, self.lamb, self.count = state["window"], state["lamb"], state["count"]
        self.buffers = None if state["buffers"] is None else [b.clone() for b in state["buffers"]]


def build_grad_filter(cfg: OptimConfig) -> GradFilter | None:
    """The Grokfast filter cfg.grokfast describes, or None without one."""
    gf = cfg.grokfast
    if gf is None:
        return None
    if gf.kind == "ema":
        return EMAFilter(alpha=gf.alpha, lamb=gf.lamb)
    return MAFilter(window=gf.window, lamb=gf.lamb)


@torch.no_grad()
def orthogonalize_gradients(params: list[torch.Tensor], eps: float = 1e-30) -> None:
    """⊥Grad (Prieto et al. 2025): remove each gradient's component along its weight.

    g <- g_perp * ||g|| / ||g_perp|| with g_perp = g - (<w, g> / <w, w>) w, per tensor, so
    the update cannot simply scale the weights up (the naive-loss-minimisation direction).
    Everything stays on the device.
    """
    for w in params:
        g = w.grad
        if g is None:
            continue
        wf, gf = w.flatten().to(torch.float64), g.flatten().to(torch.float64)
        g_perp = gf - (wf @ gf) / (wf @ wf + eps) * wf
        g_perp = g_perp * (gf.norm() / (g_perp.norm() + eps))
        g.copy_(g_perp.view_as(g).to(g.dtype))

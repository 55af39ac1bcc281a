"""Member-steps/s of a vectorised group against solo runs, and against torch.func's vmap.

Not wired to the CLI: call ``compare_group(...)`` or run ``python -m grok_tui.bench.groups``.
The three loops train the same N presets (seeds 0..N-1) in one process, in alternating
timed rounds, so a busy machine slows each alike:
- ``solo``: N engine Trainers, one train_step each per round step (the solo engine);
- ``group``: grok_tui.group's explicit member-dimension models, one step for all N;
- ``vmap``: torch.func (stack_module_state + functional_call + vmap over grad) of the solo
  model, with the same per-member AdamW arithmetic as the group.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from torch.func import functional_call, grad, stack_module_state, vmap

from grok_tui.bench.plan import MLP, TRANSFORMER, make_preset
from grok_tui.bench.timing import synchronize
from grok_tui.config import Preset
from grok_tui.engine import build_trainer
from grok_tui.group import GroupTrainer
from grok_tui.group.optim import GroupAdam

# p = 23 transformer at batch 128: small enough that per-step overhead, not arithmetic, rules
SMALL_TRANSFORMER = {
    **TRANSFORMER,
    "data": {**TRANSFORMER["data"], "p": 23},
}
WORKLOADS: dict[str, tuple[dict[str, Any], int]] = {
    "transformer": (TRANSFORMER, 512),
    "mlp": (MLP, 512),
    "transformer-p23": (SMALL_TRANSFORMER, 128),
}


def member_presets(workload: str, n: int, device: str) -> list[Preset]:
    spec, batch = WORKLOADS[workload]
    base = make_preset(spec, eval_every=10_000_000)
    presets = []
    for seed in range(n):
        preset = base.model_copy(deep=True)
        preset.train.batch_size = batch
        preset.train.seed = seed
        preset.train.device = device
        presets.append(preset)
    return presets


def vmap_step(presets: list[Preset]) -> Callable[[], None]:
    """One training step of every member through torch.func, AdamW per member."""
    trainers = [build_trainer(p) for p in presets]
    models = [t.model for t in trainers]
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")
    loss_fn = trainers[0].loss_fn
    names = list(params)
    flat = torch.cat([params[k].flatten(1) for k in names], dim=1).contiguous()
    sizes = [params[k][0].numel() for k in names]
    optimizer = GroupAdam([p.optim for p in presets], flat, decoupled=True)
    lrs = [p.optim.lr for p in presets]

    def loss_of(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor], x, y):
        logits = functional_call(base, (p, b), (x,))
        return loss_fn(logits, y)

    grad_fn = vmap(grad(loss_of), randomness="error")

    def step() -> None:
        pairs = [t.batcher.take(t.task.train_x, t.task.train_y) for t in trainers]
        x = torch.stack([x for x, _ in pairs])
        y = torch.stack([y for _, y in pairs])
        views = dict(
            zip(
                names,
                (v.view_as(params[k]) for k, v in zip(names, flat.split(sizes, 1), strict=True)),
                strict=True,
            )
        )
        grads = grad_fn(views, buffers, x, y)
        optimizer.step(
            torch.cat([grads[k].flatten(1) for k in names], dim=1), lrs, [True] * len(presets)
        )

    return step


def compare_group(
    workload: str = "transformer",
    n: int = 8,
    rounds: int = 3,
    steps: int = 10,
    device: str = "cpu",
    with_vmap: bool = True,
) -> dict[str, float]:
    """Median member-steps/s of each loop over alternating timed rounds (one warm-up first)."""
    presets = member_presets(workload, n, device)
    solos = [build_trainer(p) for p in presets]
    group = GroupTrainer(presets)
    dev = group.device
    loops: dict[str, Callable[[], None]] = {
        "solo": lambda: [t.train_step(want_grad_norm=False) for t in solos] and None,
        "group": lambda: group.train_step(want_grad_norm=False) and None,
    }
    if with_vmap:
        loops["vmap"] = vmap_step(presets)
    rates: dict[str, list[float]] = {name: [] for name in loops}
    for r in range(rounds + 1):
        for name, step in loops.items():
            synchronize(dev)
            start = time.perf_counter()
            for _ in range(steps):
                step()
            synchronize(dev)
            if r:  # round 0 warms up
                rates[name].append(n * steps / (time.perf_counter() - start))
    result = {name: statistics.median(v) for name, v in rates.items()}
    return {**result, **{f"{k}/solo": v / result["solo"] for k, v in result.items() if k != "solo"}}


def main() -> None:
    for workload in WORKLOADS:
        result = compare_group(workload)
        print(workload, " ".join(f"{k}={v:.2f}" for k, v in result.items()), flush=True)


if __name__ == "__main__":
    main()

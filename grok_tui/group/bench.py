"""Member-steps/s of a vectorised group against the solo engine, in one process.

``vectorize_speedup(n, quick)`` trains n presets (seeds 0..n-1) of each workload three
ways, in alternating timed rounds so that a busy machine slows each alike:
- ``solo``: n engine Trainers, one train_step each per round step (the solo engine);
- ``group``: one GroupTrainer step for all n (explicit member dimension, group/models.py);
- ``vmap``: torch.func (stack_module_state + functional_call + vmap over grad) of the solo
  model for the forward and backward, then the same per-member updates as the group.
The figure is a loop's median member-steps/s over its timed rounds (one warm-up first).
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from torch.func import functional_call, grad, vmap

from grok_tui.bench.plan import MLP, TRANSFORMER, make_preset
from grok_tui.bench.timing import synchronize
from grok_tui.config import Preset
from grok_tui.engine import build_trainer
from grok_tui.group.trainer import GroupTrainer

# The bench's configurations (bench/plan.py: p = 97, batch 512), and a p = 23 transformer
# at batch 128, small enough that per-step overhead rather than arithmetic rules.
SMALL_TRANSFORMER = {**TRANSFORMER, "data": {**TRANSFORMER["data"], "p": 23}}
WORKLOADS: dict[str, tuple[dict[str, Any], int]] = {
    "transformer": (TRANSFORMER, 512),
    "mlp": (MLP, 512),
    "transformer-p23": (SMALL_TRANSFORMER, 128),
}
# (timed rounds, steps per round): quick for a smoke test, else for numbers to report
ROUNDS = {True: (2, 3), False: (3, 5)}


def member_presets(workload: str, n: int, device: str) -> list[Preset]:
    """n presets of a workload that differ in train.seed alone, never evaluating."""
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


def vmap_step(group: GroupTrainer) -> Callable[[], None]:
    """A group step whose forward and backward are torch.func's vmap of the solo model."""
    template = copy.deepcopy(group.members[0].model)
    buffers = dict(template.named_buffers())
    names = group.params.names
    loss_fn = group.loss_fn

    def loss_of(params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor):
        return loss_fn(functional_call(template, (params, buffers), (x,)), y)

    grads_of = vmap(grad(loss_of), randomness="error")

    def step() -> None:
        x, y = group.batch()
        params = {name: view.detach() for name, view in group.params.views.items()}
        grads = grads_of(params, x, y)
        torch._foreach_copy_(group.params.grad_list(), [grads[name] for name in names])
        for member in group.members:
            member.apply_gradients(want_grad_norm=False)

    return step


def vectorize_speedup(
    n: int = 8,
    quick: bool = False,
    workloads: tuple[str, ...] = tuple(WORKLOADS),
    device: str = "cpu",
    with_vmap: bool = True,
) -> dict[str, dict[str, float]]:
    """Per workload: median member-steps/s of each loop, and group/solo (vmap/solo) ratios."""
    rounds, steps = ROUNDS[quick]
    results: dict[str, dict[str, float]] = {}
    for workload in workloads:
        presets = member_presets(workload, n, device)
        solos = [build_trainer(p) for p in presets]
        group = GroupTrainer(presets)
        loops: dict[str, Callable[[], object]] = {
            "solo": lambda solos=solos: [t.train_step(want_grad_norm=False) for t in solos],
            "group": lambda group=group: group.train_step(want_grad_norm=False),
        }
        if with_vmap:
            loops["vmap"] = vmap_step(GroupTrainer(presets))
        rates: dict[str, list[float]] = {name: [] for name in loops}
        for r in range(rounds + 1):
            for name, step in loops.items():
                synchronize(group.device)
                start = time.perf_counter()
                for _ in range(steps):
                    step()
                synchronize(group.device)
                if r:  # round 0 warms up
                    rates[name].append(n * steps / (time.perf_counter() - start))
        result = {name: statistics.median(v) for name, v in rates.items()}
        for name in loops:
            if name != "solo":
                result[f"{name}/solo"] = result[name] / result["solo"]
        results[workload] = result
    return results


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=8, help="members per group")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workload", action="append", choices=list(WORKLOADS))
    parser.add_argument("--no-vmap", action="store_true")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    results = vectorize_speedup(
        args.n,
        args.quick,
        tuple(args.workload or WORKLOADS),
        device=args.device,
        with_vmap=not args.no_vmap,
    )
    for workload, result in results.items():
        print(workload, " ".join(f"{k}={v:.2f}" for k, v in result.items()), flush=True)


if __name__ == "__main__":
    main()

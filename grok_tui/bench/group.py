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
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.func import functional_call, grad, vmap

from grok_tui import files
from grok_tui.bench.plan import MLP, TRANSFORMER, make_preset
from grok_tui.bench.timing import synchronize
from grok_tui.config import Preset
from grok_tui.training.group.trainer import GroupTrainer
from grok_tui.training.trainer import build_trainer

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


def member_presets(
    workload: str,
    n: int,
    device: str,
    *,
    spec: dict[str, Any] | None = None,
    batch: int | None = None,
) -> list[Preset]:
    """n presets of a workload that differ in train.seed alone, never evaluating."""
    if spec is None or batch is None:
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


# The scaling table: the quickstart MLP in fp32, the default transformer in tf32
# (its target) and fp32 (compute-bound on CUDA cores), as groups of these sizes.
SCALING: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "mlp": (MLP, ("fp32",)),
    "transformer": (TRANSFORMER, ("tf32", "fp32")),
}
SCALING_STEPS = {True: 5, False: 50}


def group_scaling(sizes: Sequence[int], device: str, quick: bool = False) -> list[dict[str, Any]]:
    """Seconds per group step for each workload, precision and group size, and the ratio
    to a group of one: how much more wall time N members take than one. (tf32 is a CUDA
    precision: elsewhere fp32 alone.)"""
    from grok_tui.training.group.memory import max_members

    steps = SCALING_STEPS[quick]
    rows: list[dict[str, Any]] = []
    for workload, (spec, precisions) in SCALING.items():
        for precision in precisions if device.startswith("cuda") else ("fp32",):
            one: float | None = None
            for n in sizes:
                row: dict[str, Any] = {"workload": workload, "precision": precision, "n": n}
                rows.append(row)
                presets = member_presets(workload, n, device, spec=spec, batch=512)
                for preset in presets:
                    preset.train.precision = precision  # type: ignore[assignment]
                limit, why = max_members(presets, device)
                if n > limit:
                    row["error"] = f"does not fit: at most {limit} ({why})"
                    continue
                try:
                    row.update(_time_group(presets, steps))
                except RuntimeError as exc:  # torch.cuda.OutOfMemoryError is one
                    row["error"] = str(exc).splitlines()[0][:200]
                    continue
                if n == 1:
                    one = row["seconds_per_step"]
                if one is not None:
                    row["time_ratio"] = row["seconds_per_step"] / one
    return rows


def _time_group(presets: Sequence[Preset], steps: int) -> dict[str, Any]:
    """Seconds per group step as training takes it: one replayed CUDA graph where the
    presets allow one (group/graphs.py), else eager steps."""
    from grok_tui.training.graphs import WARMUP_STEPS
    from grok_tui.training.group.graphs import GroupSteps

    group = GroupTrainer(presets)
    group_steps = GroupSteps(group)
    summary: dict[str, Any] = {}
    group_steps.report_to(summary)
    want = [False] * group.n
    for _ in range(WARMUP_STEPS + 2):  # the warm-up, then the capture and its check
        group_steps.step(want)
    synchronize(group.device)
    start = time.perf_counter()
    for _ in range(steps):
        group_steps.step(want)
    synchronize(group.device)
    seconds = (time.perf_counter() - start) / steps
    del group, group_steps
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return {
        "seconds_per_step": seconds,
        "member_steps_per_s": len(presets) / seconds,
        "cuda_graphs": summary["cuda_graphs"],
    }


def scaling_command(
    sizes: Sequence[int],
    *,
    quick: bool = False,
    device: str = "auto",
    json_path: Path | None = None,
) -> int:
    """``grok-tui bench --scaling 1,8,64,256``: the table, then one line per workload."""
    from grok_tui.errors import RunError
    from grok_tui.training.trainer import resolve_device

    try:
        dev = resolve_device(device)
    except RunError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"vectorised groups of {', '.join(map(str, sizes))} on {dev}", flush=True)
    rows = group_scaling(sizes, str(dev), quick)
    print(
        f"{'workload':<12} {'precision':<9} {'N':>5} {'ms/step':>9} {'member-steps/s':>15} "
        f"{'x one':>7} graphs"
    )
    for row in rows:
        if "error" in row:
            print(f"{row['workload']:<12} {row['precision']:<9} {row['n']:>5}  {row['error']}")
            continue
        ratio = f"{row['time_ratio']:.2f}x" if "time_ratio" in row else "-"
        print(
            f"{row['workload']:<12} {row['precision']:<9} {row['n']:>5} "
            f"{1000 * row['seconds_per_step']:>9.2f} {row['member_steps_per_s']:>15,.0f} {ratio:>7} "
            f"{'yes' if row['cuda_graphs'] else 'no'}"
        )
    if json_path is not None:
        files.write_text_atomic(json_path, json.dumps({"device": str(dev), "rows": rows}, indent=2))
    return 0


def vectorize_command(
    n: int, *, quick: bool = False, device: str = "auto", json_path: Path | None = None
) -> int:
    """``grok-tui bench --vectorize N``: a line per workload, then the figure's line
    ``vectorize=N speedup: transformer=R1x mlp=R2x`` (member-steps/s of the group over
    steps/s of the solo engine, timed alternately in this process)."""
    from grok_tui.errors import RunError
    from grok_tui.training.trainer import resolve_device

    try:
        dev = resolve_device(device)
    except RunError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rounds, steps = ROUNDS[quick]
    print(
        f"vectorised groups of {n} against {n} solo engine runs on {dev} · "
        f"{rounds} timed rounds of {steps} steps, alternating, after one warm-up",
        flush=True,
    )
    with warnings.catch_warnings():  # vmap's "no batching rule" notes, on every call
        warnings.simplefilter("ignore", UserWarning)
        results = vectorize_speedup(n, quick, device=str(dev), with_vmap=dev.type != "mps")
    for workload, result in results.items():
        spec, batch = WORKLOADS[workload]
        p = spec.get("data", {}).get("p", 97)
        cells = [
            f"solo {result['solo']:,.0f}",
            f"group {result['group']:,.0f} ({result['group/solo']:.2f}x)",
        ]
        if "vmap" in result:
            cells.append(f"torch.func vmap {result['vmap']:,.0f} ({result['vmap/solo']:.2f}x)")
        print(
            f"  {workload:<16} p={p} batch {batch}: member-steps/s " + " · ".join(cells),
            flush=True,
        )
    if json_path is not None:
        files.write_text_atomic(
            json_path, json.dumps({"n": n, "device": str(dev), "results": results}, indent=2)
        )
    print(
        f"vectorize={n} speedup: transformer={results['transformer']['group/solo']:.2f}x "
        f"mlp={results['mlp']['group/solo']:.2f}x",
        flush=True,
    )
    return 0

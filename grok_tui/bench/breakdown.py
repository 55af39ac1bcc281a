"""Where the engine's step spends its time: torch.profiler's ops, grouped by what they do.

One profiled stretch of the engine's loop (steps and evaluations at the preset's
schedule). Each op's own time (its time less that of the ops it called) goes to one part:
the matmuls of the linear layers, attention's small matrices (batched products of 2-4
tokens), softmax, LayerNorm, the activation, the loss, the optimizer, embeddings and
batching, other elementwise work and the autograd engine; everything inside an
evaluation goes to "evaluation". What no op covers is Python and dispatch overhead, so
the parts add up to the stretch's wall time. Under a profiler each op costs a little
more; the shares, not the absolute figures, are the point.
"""

from __future__ import annotations

import time
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile

from grok_tui.bench.loops import EVALUATION, EngineLoop
from grok_tui.config import Preset

MATMUL = "matmuls (linear layers)"
ATTENTION = "attention's small matrices"
PYTHON = "Python and dispatch"
EVAL = "evaluation"
PARTS: dict[str, tuple[str, ...]] = {
    MATMUL: ("aten::mm", "aten::addmm", "aten::linear", "aten::matmul"),
    ATTENTION: ("aten::bmm", "aten::baddbmm", "aten::einsum", "aten::_scaled_dot_product"),
    "softmax": ("aten::_softmax", "aten::_softmax_backward_data", "aten::masked_fill"),
    "LayerNorm": ("aten::native_layer_norm", "aten::native_layer_norm_backward"),
    "activation": (
        "aten::clamp_min",
        "aten::relu",
        "aten::threshold_backward",
        "aten::gelu",
        "aten::tanh",
        "aten::silu",
    ),
    "loss": ("aten::_log_softmax", "aten::nll_loss", "aten::_log_softmax_backward_data"),
    "optimizer": ("Optimizer.", "aten::_fused_adam", "aten::_foreach_"),
    "embeddings and batching": (
        "aten::embedding",
        "aten::index_select",
        "aten::index",
        "aten::randperm",
        "aten::slice",
    ),
    "autograd engine": ("autograd::", "torch::autograd::"),
}
ELEMENTWISE = "elementwise, copies, sums"


def part_of(name: str, ancestors: list[str]) -> str:
    """The part an op belongs to, from its own name or an enclosing range's."""
    if any(a == EVALUATION for a in ancestors):
        return EVAL
    if any(a.startswith("Optimizer.") for a in ancestors):
        return "optimizer"
    for part, prefixes in PARTS.items():
        if name.startswith(prefixes):
            return part
    if name.endswith("Backward0") or name.endswith("Backward1"):
        return "autograd engine"
    return ELEMENTWISE


def breakdown(preset: Preset, device: torch.device, steps: int, warmup: int = 5) -> dict:
    """Seconds per training step of each part, over `steps` profiled steps of the engine."""
    loop = EngineLoop(preset, device)
    loop.run(warmup)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        loop.run(steps)
        wall = time.perf_counter() - start
    seconds: dict[str, float] = dict.fromkeys([MATMUL, ATTENTION, *PARTS, ELEMENTWISE, EVAL], 0.0)
    main_thread = None
    for event in prof.events():
        if main_thread is None:
            main_thread = event.thread
        if event.thread != main_thread:
            continue  # helper threads' ops overlap the main thread's: counted there
        ancestors, parent = [], event.cpu_parent
        while parent is not None:
            ancestors.append(parent.name)
            parent = parent.cpu_parent
        seconds[part_of(event.name, ancestors)] += event.self_cpu_time_total / 1e6
    seconds[PYTHON] = wall - sum(seconds.values())
    return {
        "steps": steps,
        "wall_s": wall,
        "per_step_s": {part: s / steps for part, s in seconds.items()},
        "share": {part: s / wall for part, s in seconds.items()},
    }


def format_breakdown(result: dict[str, Any]) -> str:
    """The parts, largest first: ms per step and share of the wall time."""
    lines = [
        "",
        f"where the engine's transformer step goes (torch.profiler, {result['steps']} steps,"
        " evaluations at the preset's schedule):",
    ]
    per_step, share = result["per_step_s"], result["share"]
    for part in sorted(per_step, key=per_step.__getitem__, reverse=True):
        lines.append(f"  {part:<28} {1e3 * per_step[part]:8.2f} ms/step {100 * share[part]:5.1f}%")
    lines.append(f"  {'total':<28} {1e3 * result['wall_s'] / result['steps']:8.2f} ms/step")
    return "\n".join(lines)

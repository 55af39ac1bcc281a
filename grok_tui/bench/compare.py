"""`grok-tui bench`: the engine's training loop against a loop written the common way.

Two configurations of the investigation report (plan.py), each trained by two loops
(loops.py) in one process. Every round runs every loop once, in reversed order on odd
rounds (engine, baseline, engine, baseline, then baseline, engine, ...), so that noise
from other work on the machine hits all loops alike; the figure of a loop is the median
of its timed rounds' steps/s (one untimed warm-up round first; timing.py). The machine's
matmul throughput, measured before and between rounds, is the denominator of the
engine's FLOP/s (flops.py). Last, one profiled stretch of the engine's transformer says
where its step's time goes (breakdown.py). The command line lives in cli/bench.py, which calls bench_command.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from grok_tui import files
from grok_tui.bench.breakdown import breakdown
from grok_tui.bench.flops import achieved_flops, engine_transformer_flops, matmul_gflops
from grok_tui.bench.loops import BaselineLoop, EngineLoop
from grok_tui.bench.plan import (
    BATCH_SIZE,
    CUDA_MATMUL_SIZES,
    FULL,
    MLP,
    QUICK,
    TRANSFORMER,
    Plan,
    make_preset,
)
from grok_tui.bench.report import format_report
from grok_tui.bench.timing import Timed
from grok_tui.errors import RunError
from grok_tui.training.trainer import resolve_device


def build_loops(plan: Plan, device: torch.device, compile_mode: str | None) -> list[Timed]:
    """Engine (eager) and baseline, and engine+graphs on CUDA and engine+compile when
    asked, for each model, checked equal in size."""
    loops: list[Timed] = []
    for model_name, spec in (("transformer", TRANSFORMER), ("mlp", MLP)):
        preset = make_preset(spec, plan.eval_every)
        steps = plan.steps[model_name]
        engine = EngineLoop(preset, device)
        baseline = BaselineLoop(preset, device, engine.trainer.task.to("cpu"))
        loops.append(Timed(f"{model_name} engine", model_name, "engine", engine, steps))
        loops.append(Timed(f"{model_name} baseline", model_name, "baseline", baseline, steps))
        if device.type == "cuda":  # the step replayed from a CUDA graph (graphs.py)
            graphed = EngineLoop(make_preset(spec, plan.eval_every, cuda_graphs=True), device)
            loops.append(
                Timed(f"{model_name} engine+graphs", model_name, "engine+graphs", graphed, steps)
            )
        if compile_mode:
            compiled = EngineLoop(make_preset(spec, plan.eval_every, compile_mode), device)
            loops.append(
                Timed(f"{model_name} engine+compile", model_name, "engine+compile", compiled, steps)
            )
    for model_name in ("transformer", "mlp"):
        counts = {t.kind: t.param_count for t in loops if t.model == model_name}
        if len(set(counts.values())) != 1:
            raise RuntimeError(f"{model_name}: parameter counts differ: {counts}")
    return loops


def run_bench(
    plan: Plan, device: torch.device, compile_mode: str | None, log: Callable[[str], Any] = print
) -> dict:
    """Every round of every loop, logged as it goes; every number in one JSON-able dict."""
    torch.manual_seed(0)
    log(
        f"device {device}{' (' + torch.cuda.get_device_name(device) + ')' if device.type == 'cuda' else ''}"
        f", torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    matmul = matmul_gflops(device, plan.matmul_sizes, plan.matmul_repeats)
    log(
        f"matmul float32: {matmul['gflops']:.1f} GFLOP/s (best of {plan.matmul_repeats}, sizes "
        + ", ".join(f"{n}: {g:.1f}" for n, g in matmul["by_size"].items())
        + ")"
    )
    loops = build_loops(plan, device, compile_mode)
    flops = engine_transformer_flops(make_preset(TRANSFORMER, plan.eval_every), device)

    log(f"{plan.rounds} timed rounds after 1 warm-up, eval every {plan.eval_every} steps")
    for r in range(plan.rounds + 1):
        order = loops if r % 2 == 0 else loops[::-1]  # alternate who goes first
        for timed in order:
            timed.round(timed=r > 0)
        if r > 0:
            load = [t.others_load[-1] for t in loops if t.others_load]
            busy = f" (others kept {100 * max(load):.0f}% of the CPUs busy)" if load else ""
            log(f"  round {r}: " + "  ".join(f"{t.name} {t.rates[-1]:.1f}" for t in loops) + busy)
        # measured again between rounds; the best figure is the machine's throughput
        again = matmul_gflops(device, plan.matmul_sizes[-1:], 2)
        if again["gflops"] > matmul["gflops"]:
            matmul["gflops"] = again["gflops"]
            matmul["by_size"][str(plan.matmul_sizes[-1])] = again["gflops"]

    by_name = {t.name: t for t in loops}
    parts = breakdown(make_preset(TRANSFORMER, plan.eval_every), device, plan.steps["transformer"])

    def ratio(model_name: str, kind: str = "engine") -> float:
        return by_name[f"{model_name} {kind}"].median / by_name[f"{model_name} baseline"].median

    result: dict[str, Any] = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or platform.machine(),
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "plan": {
            "rounds": plan.rounds,
            "eval_every": plan.eval_every,
            "steps_per_round": plan.steps,
            "batch_size": BATCH_SIZE,
        },
        "matmul_gflops": matmul["gflops"],
        "matmul_gflops_by_size": matmul["by_size"],
        "loops": {
            t.name: {
                "model": t.model,
                "kind": t.kind,
                "param_count": t.param_count,
                "steps_per_s": t.median,
                "rounds_steps_per_s": t.rates,
                "rounds_others_load": t.others_load,
                "last_record": t.loop.last_record,
            }
            for t in loops
        },
        "transformer_flops": {
            **flops,
            **achieved_flops(flops, by_name["transformer engine"].median, matmul["gflops"]),
        },
        "speedup": {"transformer": ratio("transformer"), "mlp": ratio("mlp")},
        "transformer_breakdown": parts,
    }
    if "transformer engine+graphs" in by_name:
        result["speedup_graphs"] = {
            "transformer": ratio("transformer", "engine+graphs"),
            "mlp": ratio("mlp", "engine+graphs"),
        }
    if compile_mode:
        result["compile_mode"] = compile_mode
        result["speedup_compile"] = {
            "transformer": ratio("transformer", "engine+compile"),
            "mlp": ratio("mlp", "engine+compile"),
        }
    return result


def bench_command(
    *, quick: bool, device: str, json_path: Path | None, compile_choice: str, rounds: int | None
) -> int:
    """`grok-tui bench` with its parsed options: print the rounds and the report, write JSON.

    compile_choice: auto (reduce-overhead on CUDA, none elsewhere), none, or a torch.compile mode.
    """
    plan = QUICK if quick else FULL
    if rounds is not None:
        if rounds < 1:
            print("grok-tui bench: --rounds must be at least 1", file=sys.stderr)
            return 2
        plan = Plan(rounds, plan.eval_every, plan.steps, plan.matmul_sizes, plan.matmul_repeats)
    try:
        resolved = resolve_device(device)
    except (RunError, RuntimeError) as exc:
        print(f"grok-tui bench: {exc}", file=sys.stderr)
        return 2
    if resolved.type == "cuda" and not quick:
        plan = Plan(
            plan.rounds, plan.eval_every, plan.steps, CUDA_MATMUL_SIZES, plan.matmul_repeats
        )
    compile_mode = {
        "auto": "reduce-overhead" if resolved.type == "cuda" else None,
        "none": None,
    }.get(compile_choice, compile_choice)
    result = run_bench(plan, resolved, compile_mode, log=lambda s: print(s, flush=True))
    print(format_report(result), flush=True)
    if json_path is not None:
        files.make_dirs(json_path.parent)
        files.write_text_atomic(json_path, json.dumps(result, indent=2) + "\n")
    return 0

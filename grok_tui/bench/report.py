"""The training bench's report: the table of loops and the FLOP/s lines, as printed.

Its last line is `speedup: transformer=R1x mlp=R2x`.
"""

from __future__ import annotations

import statistics
from typing import Any

from grok_tui.bench.breakdown import format_breakdown


def format_report(result: dict[str, Any]) -> str:
    """The table and summary lines of a result of compare.run_bench."""
    lines = []
    loops = result["loops"]
    lines.append("")
    lines.append(
        f"{'loop':<28} {'params':>9} {'steps/s':>9} {'min':>8} {'max':>8} {'vs baseline':>12}"
        f" {'others':>7}"
    )
    for name, info in loops.items():
        base = loops[f"{info['model']} baseline"]["steps_per_s"]
        rates = info["rounds_steps_per_s"]
        load = info["rounds_others_load"]
        others = f"{100 * statistics.median(load):>6.0f}%" if load else f"{'-':>7}"
        lines.append(
            f"{name:<28} {info['param_count']:>9,} {info['steps_per_s']:>9.2f} "
            f"{min(rates):>8.2f} {max(rates):>8.2f} {info['steps_per_s'] / base:>11.2f}x"
            f" {others}"
        )
    f = result["transformer_flops"]
    lines.append(
        "(steps/s: median of the rounds; others: median share of the machine's CPUs that"
        " other processes kept busy during the rounds)"
    )
    lines.append("")
    lines.append(f"matmul throughput (float32):     {result['matmul_gflops']:8.1f} GFLOP/s")
    lines.append(
        f"transformer FLOPs per step:      {f['train_step'] / 1e9:8.3f} GFLOP executed by the engine"
        f" (+ {f['evaluation'] / 1e9:.2f} GFLOP per evaluation,"
        f" {f['per_step_with_eval'] / 1e9:.3f} GFLOP/step amortised)"
    )
    lines.append(
        f"                                 {f['nominal_full_model_train_step'] / 1e9:8.3f} GFLOP nominal"
        " (full model: every position through every block and the unembedding)"
    )
    lines.append(
        f"engine model FLOP/s (MFU):       {f['model_gflops']:8.1f} GFLOP/s ="
        f" {100 * f['model_flops_fraction']:.0f}% of matmul throughput"
        " (nominal FLOPs, evaluation included)"
    )
    lines.append(
        f"engine executed FLOP/s:          {f['achieved_gflops']:8.1f} GFLOP/s ="
        f" {100 * f['achieved_fraction']:.0f}% of matmul throughput"
        f" (training steps alone: {100 * f['achieved_fraction_train_step_only']:.0f}%)"
    )
    if "speedup_graphs" in result:
        s = result["speedup_graphs"]
        lines.append(
            f"engine+graphs (CUDA graphs):     transformer={s['transformer']:.2f}x"
            f" mlp={s['mlp']:.2f}x"
        )
    if "speedup_compile" in result:
        s = result["speedup_compile"]
        lines.append(
            f"engine+compile ({result['compile_mode']}): transformer={s['transformer']:.2f}x"
            f" mlp={s['mlp']:.2f}x"
        )
    if "transformer_breakdown" in result:
        lines.append(format_breakdown(result["transformer_breakdown"]))
    s = result["speedup"]
    lines.append(f"speedup: transformer={s['transformer']:.2f}x mlp={s['mlp']:.2f}x")
    return "\n".join(lines)

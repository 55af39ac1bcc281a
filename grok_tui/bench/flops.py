"""FLOPs and the machine's matmul throughput: what MFU is computed from.

The engine's achieved FLOP/s on the transformer is reported as a fraction of the
machine's float32 matmul throughput, counted two ways: model FLOPs (the nominal full
model at every position, 5.0 GFLOP per training step, what the common loop computes and
what "MFU" counts, the usual "about 5 GFLOP per step") and executed FLOPs (what the
engine really runs, counted by torch.utils.flop_counter on one real step and one real
evaluation; its shortcuts skip most of the nominal work: on the default transformer the
last block at one position and the first block's q, k, v table 40%, the shared-prefix
table of positions 0 and 1 a further third of what was left).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from grok_tui.bench.timing import synchronize
from grok_tui.config import Preset, TransformerConfig
from grok_tui.training.trainer import build_trainer


def matmul_gflops(device: torch.device, sizes: tuple[int, ...], repeats: int) -> dict[str, Any]:
    """Best float32 GFLOP/s of n x n @ n x n over sizes and repeats."""
    by_size: dict[str, float] = {}
    for n in sizes:
        a = torch.randn(n, n, device=device)
        b = torch.randn(n, n, device=device)
        c = a @ b  # warm-up
        synchronize(device)
        best = math.inf
        for _ in range(repeats):
            start = time.perf_counter()
            torch.matmul(a, b, out=c)
            synchronize(device)
            best = min(best, time.perf_counter() - start)
        by_size[str(n)] = 2 * n**3 / best / 1e9
        del a, b, c
    return {"gflops": max(by_size.values()), "by_size": by_size}


def transformer_flops(
    cfg: TransformerConfig,
    batch: int,
    seq_len: int,
    n_classes: int,
    vocab_size: int,
    shared: int = 0,
) -> dict[str, float]:
    """Analytic matmul FLOPs (2 per multiply-add) of one forward pass over `batch` examples.

    `full`: the nominal model, every position through every block and the unembedding
    (what the common loop computes; the usual "about 5 GFLOP per step" counts this).
    `engine`: what grok_tui's transformer computes: the first block's q, k, v from a
    (T * V, 3C) table when the batch has more rows than the vocabulary (V) has tokens,
    the last block's query, attention output and feed-forward at the last position only
    (keys and values at every position), the unembedding at the last position only; and
    with `shared` > 0 (Transformer.prefix_positions) the first `shared` positions once
    per token in a table of V rows, the batch's rows from position `shared` on.
    Attention score/value products are included in both.
    """
    C, Fd, T, V, P = cfg.d_model, cfg.d_ff, seq_len, n_classes, shared
    S = T - P  # positions computed per batch row
    qkv, proj, ffn, kv = 2 * C * 3 * C, 2 * C * C, 2 * 2 * C * Fd, 2 * C * 2 * C  # per position
    full_block = T * (qkv + proj + ffn) + 2 * 2 * T * T * C  # with scores and values
    L = cfg.layers
    full = batch * (L * full_block + T * 2 * C * V)
    # per batch row: S queries over T keys; the last block's query at the last position
    row_block = S * (qkv + proj + ffn) + 2 * 2 * S * T * C
    row_last = S * kv + 2 * C * C + proj + ffn + 2 * 2 * T * C
    # the prefix table: V rows of P positions; the last block needs its keys and values
    table = vocab_size * ((L - 1) * (P * (qkv + proj + ffn) + 2 * 2 * P * P * C) + P * kv)
    engine = batch * ((L - 1) * row_block + row_last + 2 * C * V) + table
    if batch > vocab_size:  # the first block's q, k, v: a table instead of a matmul per row
        # the matmul replaced: q, k, v everywhere, or (one block) the last query and the keys
        replaced = qkv if L > 1 else kv
        engine += T * vocab_size * qkv - batch * (S * replaced + (2 * C * C if L == 1 else 0))
        engine -= vocab_size * P * replaced
    return {"full": float(full), "engine": float(engine)}


def counted_flops(fn: Callable[[], Any]) -> int:
    """Matmul FLOPs torch's flop counter sees while fn runs.

    It sees every matmul the engine runs (on CPU its short-sequence attention is einsums,
    or for a single query a product and sum, a few MFLOP the counter leaves out).
    """
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def engine_transformer_flops(preset: Preset, device: torch.device) -> dict[str, float]:
    """FLOPs of one training step and one evaluation (train + test sets): executed and nominal.

    Counted on a trainer of their own, so the timed loops are not disturbed. Executed:
    what the engine runs (the flop counter). Nominal ("model FLOPs", as in MFU): the
    full model at every position, forward and backward (3x forward) per training step and
    forward per evaluated example; the common loop computes exactly that.
    """
    tr = build_trainer(preset, device)
    cfg = tr.preset.model
    assert isinstance(cfg, TransformerConfig)
    task = tr.task
    step_flops = counted_flops(lambda: tr.train_step(want_grad_norm=False))
    eval_flops = counted_flops(
        lambda: (tr.evaluate(task.train_x, task.train_y), tr.evaluate(task.test_x, task.test_y))
    )
    batch = tr.batcher.batch_size
    n_eval = len(task.train_y) + len(task.test_y)
    sizes = (task.seq_len, task.n_classes, task.vocab_size)
    shared = tr.model.prefix_positions(task.train_x[:batch])
    nominal_step = 3 * transformer_flops(cfg, batch, *sizes)["full"]
    nominal_eval = transformer_flops(cfg, n_eval, *sizes)["full"]
    every = preset.train.eval_every
    return {
        "train_step": float(step_flops),
        "evaluation": float(eval_flops),
        "per_step_with_eval": float(step_flops + eval_flops / every),
        "analytic_train_step": 3 * transformer_flops(cfg, batch, *sizes, shared)["engine"],
        "nominal_full_model_train_step": nominal_step,
        "nominal_evaluation": nominal_eval,
        "nominal_per_step_with_eval": nominal_step + nominal_eval / every,
    }


def achieved_flops(flops: dict[str, float], steps_per_s: float, peak_gflops: float) -> dict:
    """The engine's FLOP/s at `steps_per_s`, and each as a share of the matmul throughput.

    `model_flops_fraction` is the MFU (nominal FLOPs, evaluation included);
    `achieved_fraction` the same with the FLOPs the engine executes.
    """
    executed = flops["per_step_with_eval"] * steps_per_s
    step_only = flops["train_step"] * steps_per_s
    model = flops["nominal_per_step_with_eval"] * steps_per_s
    peak = peak_gflops * 1e9
    return {
        "achieved_gflops": executed / 1e9,
        "achieved_fraction": executed / peak,
        "achieved_gflops_train_step_only": step_only / 1e9,
        "achieved_fraction_train_step_only": step_only / peak,
        "model_gflops": model / 1e9,
        "model_flops_fraction": model / peak,
    }

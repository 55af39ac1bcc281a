"""`grok-tui bench`: the engine's training loop against a loop written the common way.

Two configurations of the investigation report, each trained by two loops in one
process. Every round runs every loop once, in reversed order on odd rounds (engine,
baseline, engine, baseline, then baseline, engine, ...), so that noise from other work
on the machine hits all loops alike; the figure of a loop is the median of its timed
rounds' steps/s (one untimed warm-up round first). Each round also records how busy
other processes kept the machine's CPUs (Linux), so a contended figure shows as such.

- engine: grok_tui's own Trainer (build_trainer + train_step; on CPU the MLP takes its
  hand-written step, models/mlp_step.py), with the same evaluation cadence as `engine.train` (whole train and test sets every
  `eval_every` steps, parameter and gradient norms, the on-device divergence check).
  Checkpoints and sinks are left out of both loops.
- baseline: the same task, a model of the same size written the common way
  (danielmamay-style post-LN blocks with nn.MultiheadAttention, the unembedding at
  every position and then the last one taken; an MLP of embedding, concatenation
  and Linear layers), torch.utils.data.DataLoader(TensorDataset, shuffle=True), a
  `.item()` per step for logging, torch.optim.AdamW with its default settings and
  evaluation through DataLoaders over the train and test sets.

It also measures the machine's float32 matmul throughput and reports the engine's
achieved FLOP/s on the transformer as a fraction of it, counted two ways: model FLOPs
(the nominal full model at every position, 5.0 GFLOP per training step, what the
common loop computes and what "MFU" counts; issue 2's "about 5 GFLOP per step") and
executed FLOPs (what the engine really runs, counted by torch.utils.flop_counter on one
real step and one real evaluation; its shortcuts skip about 40% of the nominal work).

The last line of output is `speedup: transformer=R1x mlp=R2x`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.flop_counter import FlopCounterMode

from grok_tui.config import Preset, TransformerConfig
from grok_tui.engine import RunError, Trainer, build_trainer, resolve_device, total_norm
from grok_tui.models import count_parameters

BATCH_SIZE = 512
P = 97

# The report's configurations (issue 2, section 6).
TRANSFORMER = {
    "data": {"operation": "add", "p": P, "train_fraction": 0.5, "include_op_tokens": True},
    "model": {"type": "transformer", "layers": 2, "d_model": 128, "heads": 4, "d_ff": 512},
    "optim": {"name": "adamw", "lr": 1e-3, "weight_decay": 1.0, "betas": [0.9, 0.98]},
}
MLP = {
    "data": {"operation": "add", "p": P, "train_fraction": 0.5, "include_op_tokens": False},
    "model": {"type": "mlp", "embed_dim": 128, "widths": [256, 256]},
    "optim": {"name": "adamw", "lr": 1e-3, "weight_decay": 1.0, "betas": [0.9, 0.98]},
}


@dataclass(frozen=True)
class Plan:
    """How long each loop runs per round, how often it evaluates, how many rounds."""

    rounds: int  # timed rounds (after one untimed warm-up round)
    eval_every: int
    steps: dict[str, int]  # steps per round, by model ("transformer", "mlp")
    matmul_sizes: tuple[int, ...]
    matmul_repeats: int


FULL = Plan(
    rounds=5,
    eval_every=100,
    steps={"transformer": 200, "mlp": 400},
    matmul_sizes=(1024, 2048),
    matmul_repeats=5,
)
QUICK = Plan(
    rounds=2,
    eval_every=10,
    steps={"transformer": 10, "mlp": 20},
    matmul_sizes=(1024,),
    matmul_repeats=3,
)
CUDA_MATMUL_SIZES = (4096, 8192)


def cpu_busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (Linux), else None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")


def synchronize(device: torch.device) -> None:
    """Wait for queued device work, so that a host timer reads the real time."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def make_preset(spec: dict[str, Any], eval_every: int, compile_mode: str | bool = False) -> Preset:
    return Preset.model_validate(
        {
            "name": f"bench-{spec['model']['type']}",
            **spec,
            "train": {
                # long enough that no schedule or end-of-run logic ever kicks in
                "steps": 10_000_000,
                "batch_size": BATCH_SIZE,
                "eval_every": eval_every,
                "checkpoint_every": 10_000_000,
                "seed": 0,
                "compile": compile_mode,
            },
        }
    )


# ---------------------------------------------------------------------------
# The engine's loop


class EngineLoop:
    """grok_tui's Trainer driven the way `engine.train` drives it (minus sinks and checkpoints)."""

    def __init__(self, preset: Preset, device: torch.device) -> None:
        self.trainer: Trainer = build_trainer(preset, device)
        self.model = self.trainer.model
        self.device = self.trainer.device
        self.eval_every = preset.train.eval_every
        self.first_bad = torch.full((), -1, dtype=torch.int64, device=self.device)
        self.step_t = torch.zeros((), dtype=torch.int64, device=self.device)
        self.last_record: dict[str, float] = {}

    def run(self, n_steps: int) -> None:
        tr = self.trainer
        for _ in range(n_steps):
            eval_next = (tr.step + 1) % self.eval_every == 0
            loss, grad_norm = tr.train_step(want_grad_norm=eval_next)
            self.step_t += 1
            self.first_bad = torch.where(
                (self.first_bad < 0) & ~torch.isfinite(loss), self.step_t, self.first_bad
            )
            if eval_next:
                if int(self.first_bad) >= 0:
                    raise RuntimeError(f"the engine diverged at step {int(self.first_bad)}")
                train_loss, train_acc = tr.evaluate(tr.task.train_x, tr.task.train_y)
                test_loss, test_acc = tr.evaluate(tr.task.test_x, tr.task.test_y)
                self.last_record = {
                    "train_loss": train_loss,
                    "train_acc": train_acc,
                    "test_loss": test_loss,
                    "test_acc": test_acc,
                    "param_norm": float(total_norm([p.detach() for p in tr.params])),
                    "grad_norm": float(grad_norm) if grad_norm is not None else math.nan,
                }


# ---------------------------------------------------------------------------
# The baseline: models and loop written the common way


class CommonDecoderBlock(nn.Module):
    """danielmamay/grokking's block: nn.MultiheadAttention, post-LN, sequence first."""

    def __init__(self, d_model: int, heads: int, d_ff: int) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, heads)
        self.self_attn_norm = nn.LayerNorm(d_model)
        self.ffn = nn.Sequential(nn.Linear(d_model, d_ff), nn.ReLU(), nn.Linear(d_ff, d_model))
        self.ffn_norm = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (T, B, C)
        attn_mask = torch.full((len(x), len(x)), -float("inf"), device=x.device, dtype=x.dtype)
        attn_mask = torch.triu(attn_mask, diagonal=1)
        a1, _ = self.self_attn(x, x, x, attn_mask=attn_mask)
        a1 = self.self_attn_norm(x + a1)
        a2 = self.ffn(a1)
        return self.ffn_norm(a1 + a2)


class CommonTransformer(nn.Module):
    """Token + position embeddings, decoder blocks, the unembedding at every position."""

    def __init__(self, cfg: TransformerConfig, vocab_size: int, seq_len: int, n_classes: int):
        super().__init__()
        self.token_embeddings = nn.Embedding(vocab_size, cfg.d_model)
        self.position_embeddings = nn.Embedding(seq_len, cfg.d_model)
        self.model = nn.Sequential(
            *[CommonDecoderBlock(cfg.d_model, cfg.heads, cfg.d_ff) for _ in range(cfg.layers)],
            nn.Linear(cfg.d_model, n_classes),
        )

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:  # (B, T) -> (T, B, n_classes)
        batch_size, context_len = inputs.shape
        positions = torch.arange(context_len, device=inputs.device).expand(batch_size, -1)
        embedding = self.token_embeddings(inputs) + self.position_embeddings(positions)
        return self.model(embedding.transpose(0, 1))


class CommonMLP(nn.Module):
    """Embed each token, concatenate, Linear/ReLU stack, Linear to the classes."""

    def __init__(
        self, embed_dim: int, widths: list[int], vocab_size: int, seq_len: int, n_classes: int
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        layers: list[nn.Module] = []
        width = seq_len * embed_dim
        for hidden in widths:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, n_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:  # (B, T) -> (B, n_classes)
        return self.layers(self.embedding(inputs).view(inputs.shape[0], -1))


class BaselineLoop:
    """A training loop as most grokking repositories write it."""

    def __init__(self, preset: Preset, device: torch.device, task_cpu: Any) -> None:
        torch.manual_seed(preset.train.seed)
        self.device = device
        self.eval_every = preset.train.eval_every
        sizes = (task_cpu.vocab_size, task_cpu.seq_len, task_cpu.n_classes)
        cfg = preset.model
        if isinstance(cfg, TransformerConfig):
            self.model: nn.Module = CommonTransformer(cfg, *sizes)
            self.logits: Callable[[torch.Tensor], torch.Tensor] = lambda x: self.model(x)[-1]
        else:
            self.model = CommonMLP(cfg.embed_dim, list(cfg.widths), *sizes)
            self.logits = self.model
        self.model.to(device)
        oc = preset.optim
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=oc.lr, weight_decay=oc.weight_decay, betas=oc.betas
        )
        warmup = oc.warmup_steps
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: min(1.0, 0.1 + 0.9 * s / warmup) if warmup else 1.0
        )
        train_ds = TensorDataset(task_cpu.train_x, task_cpu.train_y)
        test_ds = TensorDataset(task_cpu.test_x, task_cpu.test_y)
        self.train_loader = DataLoader(train_ds, batch_size=BATCH_SIZE, shuffle=True)
        self.train_eval_loader = DataLoader(train_ds, batch_size=BATCH_SIZE)
        self.test_loader = DataLoader(test_ds, batch_size=BATCH_SIZE)
        self.batches: Iterator[Any] = iter(self.train_loader)
        self.step = 0
        self.losses: list[float] = []
        self.last_record: dict[str, float] = {}

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        try:
            return next(self.batches)
        except StopIteration:  # a new epoch
            self.batches = iter(self.train_loader)
            return next(self.batches)

    def run(self, n_steps: int) -> None:
        self.model.train()
        for _ in range(n_steps):
            inputs, labels = self.next_batch()
            inputs, labels = inputs.to(self.device), labels.to(self.device)
            self.optimizer.zero_grad()
            loss = F.cross_entropy(self.logits(inputs), labels)
            loss.backward()
            self.optimizer.step()
            self.scheduler.step()
            self.losses.append(loss.item())
            self.step += 1
            if self.step % self.eval_every == 0:
                train_loss, train_acc = self.evaluate(self.train_eval_loader)
                test_loss, test_acc = self.evaluate(self.test_loader)
                self.last_record = {
                    "train_loss": train_loss,
                    "train_acc": train_acc,
                    "test_loss": test_loss,
                    "test_acc": test_acc,
                }
                self.model.train()

    @torch.no_grad()
    def evaluate(self, loader: DataLoader) -> tuple[float, float]:
        self.model.eval()
        loss_sum, correct, n = 0.0, 0, 0
        for inputs, labels in loader:
            inputs, labels = inputs.to(self.device), labels.to(self.device)
            logits = self.logits(inputs)
            loss_sum += F.cross_entropy(logits, labels, reduction="sum").item()
            correct += (logits.argmax(-1) == labels).sum().item()
            n += len(labels)
        return loss_sum / n, correct / n


# ---------------------------------------------------------------------------
# FLOPs and the machine's matmul throughput


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
    cfg: TransformerConfig, batch: int, seq_len: int, n_classes: int, vocab_size: int
) -> dict[str, float]:
    """Analytic matmul FLOPs (2 per multiply-add) of one forward pass over `batch` examples.

    `full`: the nominal model, every position through every block and the unembedding
    (what the common loop computes; issue 2's "about 5 GFLOP per step" counts this).
    `engine`: what grok_tui's transformer computes: the first block's q, k, v from a
    (T * V, 3C) table when the batch has more rows than the vocabulary (V) has tokens,
    the last block's query, attention output and feed-forward at the last position only
    (keys and values at every position), the unembedding at the last position only.
    Attention score/value products are included in both.
    """
    C, Fd, T, V = cfg.d_model, cfg.d_ff, seq_len, n_classes
    qkv, proj, ffn = 2 * C * 3 * C, 2 * C * C, 2 * 2 * C * Fd  # per position
    attn_all = 2 * 2 * T * T * C  # scores and values, every query
    full_block = T * (qkv + proj + ffn) + attn_all
    last_block = T * 2 * C * 2 * C + 2 * C * C + proj + ffn + 2 * 2 * T * C
    L = cfg.layers
    full = batch * (L * full_block + T * 2 * C * V)
    engine = batch * ((L - 1) * full_block + last_block + 2 * C * V)
    if batch > vocab_size:  # the first block's q, k, v: a table instead of a matmul per row
        # per row, the matmul replaced: q, k, v everywhere, or (one block) q at the last position
        first_qkv = batch * (T * qkv if L > 1 else 2 * C * C + T * 2 * C * 2 * C)
        engine += T * vocab_size * qkv - first_qkv
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
    nominal_step = 3 * transformer_flops(cfg, batch, *sizes)["full"]
    nominal_eval = transformer_flops(cfg, n_eval, *sizes)["full"]
    every = preset.train.eval_every
    return {
        "train_step": float(step_flops),
        "evaluation": float(eval_flops),
        "per_step_with_eval": float(step_flops + eval_flops / every),
        "analytic_train_step": 3 * transformer_flops(cfg, batch, *sizes)["engine"],
        "nominal_full_model_train_step": nominal_step,
        "nominal_evaluation": nominal_eval,
        "nominal_per_step_with_eval": nominal_step + nominal_eval / every,
    }


# ---------------------------------------------------------------------------
# The benchmark


@dataclass
class Timed:
    name: str
    model: str  # "transformer" or "mlp"
    kind: str  # "engine", "baseline" or "engine+compile"
    loop: EngineLoop | BaselineLoop
    steps_per_round: int
    rates: list[float] = field(default_factory=list)
    # share of the machine's CPUs that other processes kept busy during each round
    others_load: list[float] = field(default_factory=list)

    @property
    def param_count(self) -> int:
        return count_parameters(self.loop.model)

    @property
    def median(self) -> float:
        return statistics.median(self.rates) if self.rates else math.nan

    def round(self, timed: bool) -> None:
        device = self.loop.device
        synchronize(device)
        busy, own = cpu_busy_seconds(), time.process_time()
        start = time.perf_counter()
        self.loop.run(self.steps_per_round)
        synchronize(device)
        elapsed = time.perf_counter() - start
        if timed:
            self.rates.append(self.steps_per_round / elapsed)
            busy_after = cpu_busy_seconds()
            if busy is not None and busy_after is not None:
                others = (busy_after - busy) - (time.process_time() - own)
                cpus = os.cpu_count() or 1
                self.others_load.append(min(1.0, max(0.0, others / (cpus * elapsed))))


def build_loops(plan: Plan, device: torch.device, compile_mode: str | None) -> list[Timed]:
    loops: list[Timed] = []
    for model_name, spec in (("transformer", TRANSFORMER), ("mlp", MLP)):
        preset = make_preset(spec, plan.eval_every)
        steps = plan.steps[model_name]
        engine = EngineLoop(preset, device)
        baseline = BaselineLoop(preset, device, engine.trainer.task.to("cpu"))
        loops.append(Timed(f"{model_name} engine", model_name, "engine", engine, steps))
        loops.append(Timed(f"{model_name} baseline", model_name, "baseline", baseline, steps))
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


def run_bench(plan: Plan, device: torch.device, compile_mode: str | None, log=print) -> dict:
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

    def ratio(model_name: str, kind: str = "engine") -> float:
        return by_name[f"{model_name} {kind}"].median / by_name[f"{model_name} baseline"].median

    engine_tf = by_name["transformer engine"]
    achieved = flops["per_step_with_eval"] * engine_tf.median
    achieved_step_only = flops["train_step"] * engine_tf.median
    model_flops = flops["nominal_per_step_with_eval"] * engine_tf.median
    peak = matmul["gflops"] * 1e9
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
            "achieved_gflops": achieved / 1e9,
            "achieved_fraction": achieved / peak,
            "achieved_gflops_train_step_only": achieved_step_only / 1e9,
            "achieved_fraction_train_step_only": achieved_step_only / peak,
            "model_gflops": model_flops / 1e9,
            "model_flops_fraction": model_flops / peak,
        },
        "speedup": {"transformer": ratio("transformer"), "mlp": ratio("mlp")},
    }
    if compile_mode:
        result["compile_mode"] = compile_mode
        result["speedup_compile"] = {
            "transformer": ratio("transformer", "engine+compile"),
            "mlp": ratio("mlp", "engine+compile"),
        }
    return result


def format_report(result: dict[str, Any]) -> str:
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
    if "speedup_compile" in result:
        s = result["speedup_compile"]
        lines.append(
            f"engine+compile ({result['compile_mode']}): transformer={s['transformer']:.2f}x"
            f" mlp={s['mlp']:.2f}x"
        )
    s = result["speedup"]
    lines.append(f"speedup: transformer={s['transformer']:.2f}x mlp={s['mlp']:.2f}x")
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="grok-tui bench",
        description="Steps/s of the engine against a training loop written the common way, "
        "on the report's transformer and MLP configurations.",
    )
    parser.add_argument("--quick", action="store_true", help="a few seconds instead of minutes")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--json", type=Path, help="write every number to this JSON file")
    parser.add_argument(
        "--compile",
        default="auto",
        choices=["auto", "none", "default", "reduce-overhead", "max-autotune"],
        help="an extra engine variant with [train] compile = MODE "
        "(auto: reduce-overhead on CUDA, none elsewhere)",
    )
    parser.add_argument("--rounds", type=int, help="timed rounds (default 5, quick 2)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.rounds is not None:
        if args.rounds < 1:
            print("grok-tui bench: --rounds must be at least 1", file=sys.stderr)
            return 2
        plan = Plan(
            args.rounds, plan.eval_every, plan.steps, plan.matmul_sizes, plan.matmul_repeats
        )
    try:
        device = resolve_device(args.device)
    except (RunError, RuntimeError) as exc:
        print(f"grok-tui bench: {exc}", file=sys.stderr)
        return 2
    if device.type == "cuda" and not args.quick:
        plan = Plan(
            plan.rounds, plan.eval_every, plan.steps, CUDA_MATMUL_SIZES, plan.matmul_repeats
        )
    compile_mode = {"auto": "reduce-overhead" if device.type == "cuda" else None, "none": None}.get(
        args.compile, args.compile
    )
    result = run_bench(plan, device, compile_mode, log=lambda s: print(s, flush=True))
    print(format_report(result), flush=True)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0

"""What the training bench trains and for how long: the report's two configurations.

One place for the workload, so that both loops, the FLOP count and the report all
measure the same thing: the investigation report's transformer and MLP at batch 512,
and how many rounds and steps a full or quick bench runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grok_tui.config import Preset

BATCH_SIZE = 512
P = 97

# The investigation report's configurations.
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
# The common replication's default (presets/classic/danielmamay-default.toml): what
# `bench --against` trains beside danielmamay/grokking's own code.
DANIELMAMAY = {
    "data": {"operation": "div", "p": P, "train_fraction": 0.5, "include_op_tokens": True},
    "model": {
        "type": "transformer",
        "layers": 2,
        "d_model": 128,
        "heads": 4,
        "d_ff": 512,
        "attn_bias": False,
        "ffn_bias": False,
        "unembed_bias": False,
        "positions": "learned",
        "output_classes": "vocab",
    },
    "optim": {
        "name": "adamw",
        "lr": 1e-3,
        "weight_decay": 1.0,
        "betas": [0.9, 0.98],
        "warmup_steps": 10,
        "warmup_start": 0.0,
    },
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


def make_preset(
    spec: dict[str, Any],
    eval_every: int,
    compile_mode: str | bool = False,
    cuda_graphs: bool = False,
) -> Preset:
    """A bench preset; eager steps unless ``cuda_graphs`` (the graphed row on CUDA)."""
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
                "cuda_graphs": cuda_graphs,
            },
        }
    )

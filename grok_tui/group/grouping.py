"""Which presets can train as one vectorised group, and why a preset cannot.

Torch-free (the sweep planner and the TUI may ask). Members of a group share every
shape and every switch of the computation; what may differ is what the batched step
holds per member as a number: seeds, the learning rate and its schedule, the
optimizer's hyperparameters, Grokfast's alpha and lamb, clipping, the initial scale,
the initialisation scheme, the evaluation and checkpoint cadence and the event
thresholds. A field that is not listed here must be equal, so a new schema field is
"must be equal" until someone proves the batched step exact with it varying.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from grok_tui.config import Preset

# Dotted preset fields that may differ between the members of one group.
VARYING: frozenset[str] = frozenset(
    {
        "name",
        "description",
        "data.split_seed",
        "model.init",  # an initialisation scheme: same shapes, another draw
        "optim.lr",
        "optim.weight_decay",
        "optim.betas",
        "optim.eps",
        "optim.warmup_steps",
        "optim.warmup_start",
        "optim.schedule",
        "optim.min_lr",
        "optim.grad_clip",  # None is "no clipping": a factor of exactly 1
        "optim.grokfast.alpha",
        "optim.grokfast.lamb",
        "train.seed",
        "train.init_scale",
        "train.eval_every",
        "train.dense_eval_every",
        "train.checkpoint_every",
        "train.keep_checkpoints",
        "train.keep_checkpoint_every",
        "train.stop_after_grok",
        "train.fit_threshold",
        "train.grok_threshold",
        "train.epochs",  # steps (derived from it) must still be equal
    }
)

# The optimizers the batched step implements (group/optim.py).
GROUPED_OPTIMIZERS = ("adamw", "adam", "sgd")


def ungroupable(preset: Preset) -> str | None:
    """Why this preset must train alone (one line), or None when it can join a group."""
    model, optim, train = preset.model, preset.optim, preset.train
    if model.type not in ("mlp", "transformer"):
        return (
            f"model.type = '{model.type}': a recurrent model runs cuDNN/oneDNN's sequential "
            "kernels, which have no member dimension; it trains one process per point"
        )
    if model.dropout > 0:
        return (
            f"model.dropout = {model.dropout}: a solo run draws its dropout masks from the "
            "global RNG in an order a batched step cannot reproduce per member"
        )
    if optim.name not in GROUPED_OPTIMIZERS:
        return f"optim.name = '{optim.name}': the batched step implements {', '.join(GROUPED_OPTIMIZERS)} only"
    if train.compile:
        return "train.compile: the batched step is not compiled (it would change the rounding)"
    if train.measures:
        return "train.measures: progress measures evaluate one model at a time"
    return None


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def shared_fields(preset: Preset) -> dict[str, Any]:
    """The fields that must be equal inside a group, dotted, with their values."""
    fields = _flatten(preset.model_dump(mode="json"))
    fields["train.steps"] = preset.train.steps  # derived from epochs when given
    if preset.optim.grokfast is None:
        fields["optim.grokfast"] = None
    return {k: v for k, v in fields.items() if k not in VARYING}


def group_key(preset: Preset) -> str | None:
    """Equal for two presets exactly when they may train in one group; None: it trains alone."""
    if ungroupable(preset) is not None:
        return None
    return json.dumps(shared_fields(preset), sort_keys=True, separators=(",", ":"))


def differences(a: Preset, b: Preset) -> list[str]:
    """The shared fields in which two presets differ: why they are not one group."""
    fa, fb = shared_fields(a), shared_fields(b)
    return sorted(k for k in fa.keys() | fb.keys() if fa.get(k) != fb.get(k))


def pack(presets: Sequence[Preset], max_size: int) -> list[list[int]]:
    """Indices of presets in groups of at most max_size, in order of first appearance.

    Presets with the same key are cut into the fewest groups of near-equal size (10
    members with max_size 8 give 5 + 5, not 8 + 2: the slowest group sets the wall time).
    A preset that cannot be grouped is a group of its own, after the groups.
    """
    if max_size < 1:
        raise ValueError(f"max_size must be >= 1, got {max_size}")
    by_key: dict[str, list[int]] = {}
    alone: list[list[int]] = []
    for i, preset in enumerate(presets):
        key = group_key(preset)
        if key is None:
            alone.append([i])
        else:
            by_key.setdefault(key, []).append(i)
    groups: list[list[int]] = []
    for members in by_key.values():
        n_groups = -(-len(members) // max_size)
        size, extra = divmod(len(members), n_groups)
        start = 0
        for g in range(n_groups):
            end = start + size + (1 if g < extra else 0)
            groups.append(members[start:end])
            start = end
    return groups + alone

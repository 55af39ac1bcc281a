"""Which presets can train as one vectorised group, and why a preset cannot.

Torch-free (the sweep planner and the TUI may ask). Members of a group share every
shape and every switch of the computation; what may differ is what each member's own
solo code holds as a number: its seeds, its learning rate and warm-up, its optimizer's
hyperparameters, Grokfast's alpha and lamb, its clipping limit and its initial scale. A
field not listed here must be equal, so a new schema field is "must be equal" until
someone shows the batched step exact with it varying.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar

from grok_tui.config import Preset

T = TypeVar("T")

# Dotted preset fields that may differ between the members of one group.
VARYING: frozenset[str] = frozenset(
    {
        "name",
        "description",
        "train.seed",
        "data.split_seed",
        "optim.lr",
        "optim.weight_decay",
        "optim.betas",
        "optim.eps",
        "optim.warmup_steps",
        "optim.warmup_start",
        "optim.grad_clip",  # each member clips by the norm of its own gradient
        "optim.grokfast.alpha",
        "optim.grokfast.lamb",
        "train.init_scale",
    }
)

# Each member steps with its own solo optimizer (group/trainer.py), so any would be exact;
# these are the ones tests/unit/test_group_exact.py trains against solo runs.
GROUPED_OPTIMIZERS = ("adamw", "adam", "sgd")

# The model switches the batched models implement, with the values they reproduce exactly
# (group/models.py; tests/unit/test_group_exact.py trains each against solo runs). Any other value,
# or a switch added to the schema later, is refused until it is added here.
SUPPORTED_SWITCHES: dict[str, dict[str, tuple[Any, ...]]] = {
    "transformer": {
        "attn_bias": (True, False),
        "ffn_bias": (True, False),
        "unembed_bias": (True, False),
        "positions": ("learned", "sinusoidal"),
        "init": ("torch", "nanda"),
        "residual": ("input", "norm"),
        "output_classes": ("p", "vocab"),
    },
    "mlp": {
        "input": ("embedding", "one_hot"),
        "bias": (True, False),
        "shared_hidden": (False, True),
        "output_classes": ("p", "vocab"),
    },
}


def why_not(preset: Preset) -> str | None:
    """Why this preset must train alone (one line), or None when it can join a group."""
    model, train = preset.model, preset.train
    if model.type not in SUPPORTED_SWITCHES:
        return (
            f"model.type = '{model.type}': a recurrent model runs cuDNN/oneDNN's sequential "
            "kernels, which have no member dimension; it trains one process per point"
        )
    if preset.optim.name not in GROUPED_OPTIMIZERS:
        return (
            f"optim.name = '{preset.optim.name}': groups take "
            f"{', '.join(GROUPED_OPTIMIZERS)} (the optimizers tested against solo runs)"
        )
    for switch, values in SUPPORTED_SWITCHES[model.type].items():
        value = getattr(model, switch)
        if value not in values:
            return f"model.{switch} = {value!r}: the batched {model.type} does not implement it"
    if model.dropout > 0:
        return (
            f"model.dropout = {model.dropout}: a solo run draws its dropout masks from the "
            "global RNG in an order a batched step cannot reproduce per member"
        )
    if train.compile:
        return "train.compile: the batched step is not compiled (it would change the rounding)"
    if train.measures:
        return "train.measures: progress measures evaluate one model at a time"
    if train.precision == "bf16":
        return (
            "train.precision = 'bf16': autocast picks per-op kernels whose batched forms "
            "round differently from a solo run's"
        )
    return None


# The first version's name, which tests/unit/test_group_exact.py imports.
ungroupable = why_not


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
    if why_not(preset) is not None:
        return None
    return json.dumps(shared_fields(preset), sort_keys=True, separators=(",", ":"))


def differences(a: Preset, b: Preset) -> list[str]:
    """The shared fields in which two presets differ: why they are not one group."""
    fa, fb = shared_fields(a), shared_fields(b)
    return sorted(k for k in fa.keys() | fb.keys() if fa.get(k) != fb.get(k))


def split_evenly(members: Sequence[T], max_size: int) -> list[list[T]]:
    """Members cut into the fewest parts of at most max_size, of near-equal size (10 with
    max_size 8 give 5 + 5, not 8 + 2: the slowest group sets the wall time)."""
    if max_size < 1:
        raise ValueError(f"max_size must be >= 1, got {max_size}")
    if not members:
        return []
    n_parts = -(-len(members) // max_size)
    size, extra = divmod(len(members), n_parts)
    parts, start = [], 0
    for g in range(n_parts):
        end = start + size + (1 if g < extra else 0)
        parts.append(list(members[start:end]))
        start = end
    return parts


def pack(presets: Sequence[Preset], max_size: int) -> list[list[int]]:
    """Indices of presets in groups of at most max_size, in order of first appearance.

    Presets with the same key are cut evenly (split_evenly). A preset that cannot be
    grouped is a group of its own, after the groups.
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
    groups = [part for members in by_key.values() for part in split_evenly(members, max_size)]
    return groups + alone

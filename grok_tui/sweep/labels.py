"""How a sweep's coordinates and axes read as text: run names, table headers, messages.

Kept apart from parsing so that every reader of a sweep (the sweep file, the sweep
directory, the report, the TUI) names points and axes the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence, Sized
from typing import Any, Protocol

from grok_tui.config import cut_text

# Short names for run names and table headers: optim.weight_decay -> wd.
SHORT_NAMES = {
    "weight_decay": "wd",
    "train_fraction": "frac",
    "learning_rate": "lr",
    "split_seed": "split",
    "embed_dim": "emb",
    "hidden_size": "hidden",
    "batch_size": "batch",
    "include_op_tokens": "optok",
    "equals_token": "eq",
}


def format_value(value: Any, _depth: int = 0) -> str:
    """A coordinate as a short word: 1e-4, 0.1, 256-256, mlp, true.

    Never raises: an int too long for str() is shown in hex, cut short; nesting beyond a
    few levels is shown as '...'.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and value.bit_length() > 256:
        return cut_text(f"{value:#x}", 20)
    if _depth > 4 and isinstance(value, list | tuple | Mapping):
        return "..."
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        plain = f"{value:.6g}"
        mantissa, _, exponent = f"{value:.6e}".partition("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        sci = f"{mantissa}e{int(exponent)}"
        return sci if len(sci) < len(plain) else plain
    if isinstance(value, list | tuple):
        return "-".join(format_value(v, _depth + 1) for v in value)
    if isinstance(value, Mapping):
        if "type" in value and len(value) == 1:
            return format_value(value["type"], _depth + 1)
        return "_".join(format_value(v, _depth + 1) for v in value.values())
    return str(value)


def short_names(fields: Sequence[str]) -> dict[str, str]:
    """Field -> short name (last part, abbreviated); the full name where two would clash."""
    short = {f: SHORT_NAMES.get(f.rsplit(".", 1)[-1], f.rsplit(".", 1)[-1]) for f in fields}
    counts: dict[str, int] = {}
    for name in short.values():
        counts[name] = counts.get(name, 0) + 1
    return {f: (name if counts[name] == 1 else f) for f, name in short.items()}


def point_label(coords: Mapping[str, Any], names: Mapping[str, str] | None = None) -> str:
    """lr=1e-4-wd=0.1: the part of a point's run name that tells it apart."""
    names = names or short_names(list(coords))
    return "-".join(f"{names.get(k, k)}={format_value(v)}" for k, v in coords.items())


def coords_text(coords: Mapping[str, Any]) -> str:
    """optim.lr=1e-4, optim.weight_decay=0.1: coordinates for messages."""
    return ", ".join(f"{k}={format_value(v)}" for k, v in coords.items())


def axis_units(fields: Sequence[str], zip_groups: Sequence[Sequence[str]] = ()) -> list[list[str]]:
    """The axes a grid varies: each zip group as one (its fields in file order, at the place
    of its first field), every other field on its own. Linear in the number of fields."""
    group_of = {f: number for number, group in enumerate(zip_groups) for f in group}
    placed: dict[int, list[str]] = {}
    units: list[list[str]] = []
    for f in fields:
        number = group_of.get(f)
        if number is None:
            units.append([f])
            continue
        if number not in placed:
            placed[number] = []
            units.append(placed[number])
        placed[number].append(f)
    return units


def describe_axes(
    mode: str, axes: Mapping[str, Sequence[Any]], zip_groups: Sequence[Sequence[str]] = ()
) -> str:
    """'optim.lr (2) x optim.weight_decay (2)'; a zipped group as '(a + b) (2)'."""
    if mode != "grid":
        return " + ".join(f"{f} ({len(v)})" for f, v in axes.items())
    return " x ".join(
        f"{unit[0] if len(unit) == 1 else '(' + ' + '.join(unit) + ')'} ({len(axes[unit[0]])})"
        for unit in axis_units(list(axes), zip_groups)
    )


class Axes(Protocol):
    """What describe reads of a sweep (spec.Sweep): labels imports nothing of the package."""

    @property
    def mode(self) -> str: ...

    @property
    def axes(self) -> Mapping[str, Sequence[Any]]: ...

    @property
    def zip_groups(self) -> Sequence[Sequence[str]]: ...


def describe(sweep: Axes, points: Sized) -> str:
    """'grid of 4 points over optim.lr (2) x optim.weight_decay (2)'."""
    axes = describe_axes(sweep.mode, sweep.axes, sweep.zip_groups)
    return f"{sweep.mode} of {len(points)} points over {axes}"

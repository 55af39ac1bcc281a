"""Which sweep points train together as vectorised groups (``--vectorize N|auto``).

Torch-free: the sweep driver plans from the points' frozen presets and summaries, and
hands each group to one process (``grok-tui --resume RUN RUN...``, group/runner.py),
which cuts a group that would not fit its device's memory. Points that may not share a
group (group/grouping.py says why) train one process each, said in one line per reason.

``auto`` groups where the benchmark shows that it pays (README, Speed): on a GPU up to
AUTO_GPU members; on the CPU, where these models are compute-bound, MLPs and small
transformers up to AUTO_CPU members (measured on 2 cores with N = 8: MLP 1.06x, a p = 23
transformer at batch 128 1.22x, the p = 97 transformer at batch 512 0.96x, so that one
trains alone).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from grok_tui.config import Preset
from grok_tui.config.devices import cuda_present
from grok_tui.errors import OptionError, UserError
from grok_tui.rundirs import store
from grok_tui.sweep.jobs import PointJob
from grok_tui.training.group.grouping import group_key, split_evenly, why_not

Vectorize = int | Literal["auto"]

AUTO_GPU = 64
AUTO_CPU = 8
# On the CPU a transformer group pays where a member's step is small: batch x d_model up
# to this (p = 23, batch 128, d_model 128 is 16,384 and paid 1.22x; p = 97 at batch 512,
# 65,536, did not).
CPU_TRANSFORMER_WORK = 32_768


def parse_vectorize(text: str | None) -> Vectorize | None:
    """'auto' or a group size >= 1 (None: not given)."""
    if text is None:
        return None
    if text.strip().lower() == "auto":
        return "auto"
    try:
        size = int(text)
    except ValueError:
        size = 0
    if size < 1:
        raise OptionError(f"--vectorize takes auto or a group size >= 1, got '{text}'")
    return size


def auto_size(preset: Preset, device: str) -> int:
    """The group size ``auto`` gives a preset on a device (1: it trains alone)."""
    on_gpu = device.startswith("cuda") or (device == "auto" and cuda_present())
    if on_gpu:
        return AUTO_GPU
    if device == "mps":
        return 1  # not measured: one process per point, as before
    model = preset.model
    if model.type == "mlp":
        return AUTO_CPU
    if model.type == "transformer":
        n_train = preset.data.n_train
        batch = n_train if preset.train.batch_size == "full" else preset.train.batch_size
        if min(int(batch), n_train) * model.d_model <= CPU_TRANSFORMER_WORK:
            return AUTO_CPU
    return 1


def plan(
    jobs: Sequence[PointJob],
    vectorize: Vectorize,
    device: str | None = None,
) -> tuple[list[list[PointJob]], list[str]]:
    """(the jobs in groups, lines to print about points that train alone).

    Points group when group/grouping.py says they may and they stand at one step (their
    checkpoints'; a kill -9 can leave a group's members one checkpoint apart).
    """
    if vectorize == 1:
        return [[job] for job in jobs], []
    keyed: dict[tuple[str, int], list[PointJob]] = {}
    sizes: dict[tuple[str, int], int] = {}
    alone: list[list[PointJob]] = []
    reasons: dict[str, list[int]] = {}
    for job in jobs:
        try:
            preset = store.load_run_preset(job.run)
        except UserError:
            alone.append([job])  # it fails on its own, with its own message
            continue
        reason = why_not(preset)
        key = group_key(preset)
        if reason is not None or key is None:
            reasons.setdefault(reason or "cannot be grouped", []).append(job.index)
            alone.append([job])
            continue
        size = (
            auto_size(preset, device or preset.train.device) if vectorize == "auto" else vectorize
        )
        if size == 1:
            alone.append([job])
            continue
        step = int(job.run.summary().get("checkpoint_step") or 0)
        keyed.setdefault((key, step), []).append(job)
        sizes[(key, step)] = size
    groups = [part for key, members in keyed.items() for part in split_evenly(members, sizes[key])]
    notes = [
        f"not vectorised, a process each ({_numbers(points)}): {reason}"
        for reason, points in reasons.items()
    ]
    return groups + alone, notes


def describe_plan(groups: Sequence[Sequence[PointJob]]) -> str:
    """'4 groups (8, 8, 8, 6) and 2 single points' for the sweep's header."""
    sizes = [len(g) for g in groups if len(g) > 1]
    singles = sum(1 for g in groups if len(g) == 1)
    parts = []
    if sizes:
        parts.append(
            f"{len(sizes)} vectorised group{'s' if len(sizes) != 1 else ''} "
            f"({', '.join(map(str, sizes))})"
        )
    if singles:
        parts.append(f"{singles} single point{'s' if singles != 1 else ''}")
    return " and ".join(parts)


def _numbers(indices: Sequence[int]) -> str:
    shown = ", ".join(f"#{i}" for i in indices[:12])
    return shown + (f" and {len(indices) - 12} more" if len(indices) > 12 else "")

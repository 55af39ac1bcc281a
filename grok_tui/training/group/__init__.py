"""Vectorised groups: N presets of one shape trained as one batched computation.

grouping.py (torch-free) says which presets may share a group and why one may not;
params.py stacks the members' parameters into one buffer their solo models train through;
models.py and mlp_step.py are the batched MLP and transformer; trainer.py steps the
group; loop.py reports each member to its own sinks as its solo run would; runner.py
trains run directories as a group (``grok-tui --resume RUN RUN...``); memory.py sizes a
group to its device; bench/group.py times a group against solo runs.

Importing the package stays torch-free (the sweep planner asks grouping.py); the
torch-side names load on first use.
"""

from __future__ import annotations

from typing import Any

from grok_tui.training.group.grouping import group_key, pack, ungroupable, why_not

__all__ = ["GroupTrainer", "group_key", "pack", "train_group", "ungroupable", "why_not"]


def __getattr__(name: str) -> Any:
    if name == "GroupTrainer":
        from grok_tui.training.group.trainer import GroupTrainer

        return GroupTrainer
    if name == "train_group":
        from grok_tui.training.group.loop import train_group

        return train_group
    raise AttributeError(f"module 'grok_tui.training.group' has no attribute {name!r}")

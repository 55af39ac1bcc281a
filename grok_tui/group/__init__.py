"""Vectorised groups: N presets of one shape trained as one batched computation.

grouping.py (torch-free) says which presets may share a group and why one may not;
models.py holds the batched MLP and transformer, optim.py the per-member optimizers,
trainer.py the group trainer, loop.py its loop reporting each member to its own sinks.
"""

from grok_tui.group.grouping import group_key, pack, ungroupable
from grok_tui.group.loop import train_group
from grok_tui.group.trainer import GroupTrainer

__all__ = ["GroupTrainer", "group_key", "pack", "train_group", "ungroupable"]

"""Vectorised groups: N presets of one shape trained as one batched computation.

grouping.py (torch-free) says which presets may share a group and why one may not;
params.py stacks the members' parameters into one buffer their solo models train through;
models.py and mlp_step.py are the batched MLP and transformer; trainer.py steps the
group; loop.py reports each member to its own sinks as its solo run would; bench.py
times a group against solo runs.
"""

from grok_tui.group.grouping import group_key, pack, ungroupable, why_not
from grok_tui.group.loop import train_group
from grok_tui.group.trainer import GroupTrainer

__all__ = ["GroupTrainer", "group_key", "pack", "train_group", "ungroupable", "why_not"]

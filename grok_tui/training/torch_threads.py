"""Torch's side of the CPU thread share: the one place that reads and sets its threads.

``rundirs.threads.ThreadShare`` chooses how many threads a CPU run takes without
importing torch (rundirs never does); the trainer hands it these two calls.
"""

from __future__ import annotations

from pathlib import Path

import torch

from grok_tui.rundirs.threads import ThreadShare


def torch_threads() -> int:
    """Torch's intra-op threads now."""
    return torch.get_num_threads()


def set_torch_threads(n: int) -> None:
    torch.set_num_threads(n)


def thread_share(runs_dir: Path, *, members: int = 1) -> ThreadShare:
    """A ThreadShare sink that sets this process's torch threads."""
    return ThreadShare(runs_dir, members=members, apply=set_torch_threads, current=torch_threads)

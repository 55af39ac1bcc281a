"""Checkpoints on disk: the one place that reads and writes torch files of a run.

Kept apart from store.py so that the run-directory module (and the TUI through it)
never imports torch. Everything is loaded with ``weights_only=True``: opening
someone else's run can never execute code (DESIGN.md rule 6).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from grok_tui.config import PresetError
from grok_tui.store import CHECKPOINT_FILE, snapshot_path, snapshot_steps


def save_checkpoint(run_path: str | Path, state: dict[str, Any]) -> None:
    """Atomically write checkpoint.pt (a crash mid-write leaves the previous one)."""
    path = Path(run_path) / CHECKPOINT_FILE
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(run_path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """Load checkpoint.pt with weights_only=True: someone else's run never executes code."""
    path = Path(run_path) / CHECKPOINT_FILE
    if not path.exists():
        raise PresetError(f"no checkpoint in {run_path}")
    return torch.load(path, map_location=map_location, weights_only=True)


def save_snapshot(run_path: str | Path, step: int, weights: dict[str, Any]) -> None:
    """Keep the model's weights at one step (``[train] keep_checkpoints``), atomically."""
    path = snapshot_path(run_path, step)
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save({"step": step, "model": weights}, tmp)
    os.replace(tmp, path)


def load_snapshot(run_path: str | Path, step: int, map_location: Any = "cpu") -> dict[str, Any]:
    """The kept weights of one step (weights_only: loading never executes code)."""
    path = snapshot_path(run_path, step)
    if not path.exists():
        kept = snapshot_steps(run_path)
        raise PresetError(
            f"no weights kept at step {step} in {run_path}; kept steps: "
            + (", ".join(map(str, kept)) if kept else "none (set [train] keep_checkpoints)")
        )
    return torch.load(path, map_location=map_location, weights_only=True)

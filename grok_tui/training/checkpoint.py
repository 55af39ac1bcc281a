"""Checkpoints on disk: the one place that reads and writes torch files of a run.

Kept apart from store.py so that the run-directory module (and the TUI through it)
never imports torch. Everything is loaded with ``weights_only=True``: opening
someone else's run can never execute code (DESIGN.md rule 6).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import torch

from grok_tui import files
from grok_tui.config import Preset, PresetError
from grok_tui.errors import UserError
from grok_tui.rundirs.store import CHECKPOINT_FILE, snapshot_path, snapshot_steps

# What every checkpoint holds (Trainer.state_dict), checked before a resume or an analysis.
CHECKPOINT_KEYS = ("step", "model", "optimizer", "scheduler", "batcher", "events")


class CheckpointError(UserError):
    """A checkpoint that cannot be read: truncated, not a checkpoint, or a crafted payload."""


def _save_atomic(path: Path, obj: Any) -> None:
    """torch.save to a fresh temporary file (never through a planted link), then rename:
    a crash or a full disk leaves the previous file and no partial temporary one."""
    # Serialised in memory first: torch.save on a full disk reports an opaque RuntimeError
    # ("unexpected pos"), a plain write reports ENOSPC or EFBIG, which the user can act on.
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    files.write_atomic(path, buffer.getbuffer())


def _load(path: Path, map_location: Any) -> Any:
    """torch.load of a regular file inside the run, with weights_only=True: a pickle
    payload is refused, never run; any damage becomes one CheckpointError."""
    try:
        fd = files.open_regular(path, os.O_RDONLY)
    except FileNotFoundError:
        raise CheckpointError("file not found", file=path) from None
    except OSError as exc:
        raise CheckpointError(f"cannot read: {files.describe_os_error(exc)}", file=path) from None
    with os.fdopen(fd, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size > files.MAX_CHECKPOINT_BYTES:
            raise CheckpointError(f"is {size:,} bytes, too large for a checkpoint", file=path)
        try:
            return torch.load(f, map_location=map_location, weights_only=True)
        except Exception as exc:  # torch raises many kinds on damaged or crafted files
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise CheckpointError(
                f"not a readable checkpoint ({type(exc).__name__}: {reason})", file=path
            ) from None


def save_checkpoint(run_path: str | Path, state: dict[str, Any]) -> None:
    """Atomically write checkpoint.pt (a crash mid-write leaves the previous one)."""
    _save_atomic(Path(run_path) / CHECKPOINT_FILE, state)


def load_checkpoint(run_path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """Load checkpoint.pt with weights_only=True: someone else's run never executes code."""
    path = Path(run_path) / CHECKPOINT_FILE
    if not os.path.lexists(path):
        raise PresetError(f"no checkpoint in {run_path}")
    return _load(path, map_location)


def save_snapshot(run_path: str | Path, step: int, weights: dict[str, Any]) -> None:
    """Keep the model's weights at one step (``[train] keep_checkpoints``), atomically."""
    path = snapshot_path(run_path, step)
    files.mkdir(path.parent)  # a link planted as checkpoints/ is refused, never followed
    _save_atomic(path, {"step": step, "model": weights})


def load_snapshot(run_path: str | Path, step: int, map_location: Any = "cpu") -> dict[str, Any]:
    """The kept weights of one step (weights_only: loading never executes code)."""
    path = snapshot_path(run_path, step)
    if not path.exists():
        kept = snapshot_steps(run_path)
        raise PresetError(
            f"no weights kept at step {step} in {run_path}; kept steps: "
            + (", ".join(map(str, kept)) if kept else "none (set [train] keep_checkpoints)")
        )
    data = _load(path, map_location)
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
        raise CheckpointError("not a kept-weights file (no model table)", file=path)
    return data


def check_checkpoint(state: Any, preset: Preset, path: Path) -> dict[str, Any]:
    """A checkpoint that fits its run's preset, or a PresetError saying how it does not."""
    hint = "; move it away to restart the run from step 0"
    if not isinstance(state, dict) or any(key not in state for key in CHECKPOINT_KEYS):
        missing = [k for k in CHECKPOINT_KEYS if not isinstance(state, dict) or k not in state]
        raise PresetError(
            f"not a grok-tui checkpoint (missing {', '.join(missing)}){hint}", file=path
        )
    step = state["step"]
    if not isinstance(step, int) or isinstance(step, bool):
        raise PresetError(f"step is {type(step).__name__}, not a number{hint}", file=path)
    if not 0 <= step <= preset.train.steps:
        raise PresetError(f"claims step {step} of a {preset.train.steps}-step run{hint}", file=path)
    if not isinstance(state["model"], dict) or not isinstance(state["events"], dict):
        raise PresetError(f"model or events are not tables{hint}", file=path)
    return state

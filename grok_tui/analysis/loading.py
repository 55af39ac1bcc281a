"""Rebuild a run's task and model from its run directory, with the weights kept at any step.

The preset is the run's frozen one; the model is built the way the engine builds it
(``build_trainer``: same seed, so a fresh build *is* the step-0 weights), on the CPU by
default, without torch.compile or autocast so that losses are plain fp32 (fp64 runs stay
fp64). Weights come from ``checkpoints/step-N.pt`` (kept over time) and ``checkpoint.pt``
(the latest).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from grok_tui.config import Preset, with_overrides
from grok_tui.errors import RunError, UserError
from grok_tui.rundirs import store
from grok_tui.training.checkpoint import check_checkpoint, load_checkpoint, load_snapshot
from grok_tui.training.data import Task
from grok_tui.training.trainer import Trainer, build_trainer


class AnalysisError(Exception):
    """A user's mistake (no weights, a step that was not kept): a message, exit status 2."""


@dataclass
class LoadedRun:
    """A run directory with its preset, task and model, and where each kept step's weights are."""

    run: store.RunDir
    preset: Preset
    trainer: Trainer
    sources: dict[int, str]  # step -> "snapshot" | "checkpoint" | "init"
    init_state: dict[str, torch.Tensor]
    _checkpoint_model: dict[str, torch.Tensor] | None = None
    _cache: dict[int, dict[str, torch.Tensor]] = field(default_factory=dict)

    @property
    def model(self) -> nn.Module:
        return self.trainer.model

    @property
    def task(self) -> Task:
        return self.trainer.task

    @property
    def device(self) -> torch.device:
        return self.trainer.device

    @property
    def steps(self) -> list[int]:
        """Every step whose weights can be analysed, in order."""
        return sorted(self.sources)

    @property
    def trained_steps(self) -> list[int]:
        """Steps with weights on disk (a rebuilt initialisation does not count)."""
        return [s for s in self.steps if self.sources[s] != "init"]

    def weights(self, step: int) -> dict[str, torch.Tensor]:
        """The model's state dict at a kept step (on the CPU)."""
        if step not in self.sources:
            kept = ", ".join(map(str, self.trained_steps)) or "none"
            raise AnalysisError(
                f"no weights kept at step {step} in {self.run.path}; steps with weights: {kept}"
                " (keep more with [train] keep_checkpoints or keep_checkpoint_every)"
            )
        source = self.sources[step]
        if source == "init":
            return self.init_state
        if source == "checkpoint":
            assert self._checkpoint_model is not None
            return self._checkpoint_model
        if step not in self._cache:
            try:
                weights = load_snapshot(self.run.path, step)["model"]
            except (OSError, RuntimeError, KeyError, UserError) as exc:
                raise AnalysisError(f"cannot read the weights of step {step}: {exc}") from None
            check_weights(weights, self.init_state, f"the weights of step {step}")
            self._cache = {step: weights}
        return self._cache[step]

    def load(self, step: int) -> nn.Module:
        """The model with the weights of `step`, in eval mode."""
        try:
            self.model.load_state_dict(self.weights(step))
        except (RuntimeError, KeyError, TypeError, ValueError) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise AnalysisError(
                f"the weights of step {step} in {self.run.path} do not fit its preset ({reason})"
            ) from None
        self.model.eval()
        return self.model


def check_weights(
    weights: Any, reference: dict[str, torch.Tensor], what: str
) -> dict[str, torch.Tensor]:
    """Weights with the model's names and shapes, or an AnalysisError: a file from another
    model (or a crafted one) must not reach the analyses as garbage."""
    if not isinstance(weights, dict) or set(weights) != set(reference):
        raise AnalysisError(f"{what} are not this run's model (other tensor names)")
    for name, tensor in weights.items():
        if not isinstance(tensor, torch.Tensor) or tensor.shape != reference[name].shape:
            shape = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor)
            raise AnalysisError(
                f"{what} do not fit this run's model: {name} is {shape}, "
                f"expected {tuple(reference[name].shape)}"
            )
    return weights


def open_run(ref: str | Path, device: str = "cpu", runs_dir: str | Path | None = None) -> LoadedRun:
    """A run directory (a path, or a run id under runs_dir) ready for analysis."""
    try:
        run = store.find_run(ref, store.resolve_runs_dir(runs_dir))
        preset = store.load_run_preset(run)
    except UserError as exc:
        raise AnalysisError(str(exc)) from None
    train = preset.train
    overrides: list[tuple[str, Any]] = [("train.device", device), ("train.compile", False)]
    if train.precision in ("tf32", "bf16"):
        overrides.append(("train.precision", "fp32"))
    try:
        preset = with_overrides(preset, overrides)
        trainer = build_trainer(preset)
    except (UserError, RunError) as exc:
        raise AnalysisError(str(exc)) from None
    init_state = copy.deepcopy({k: v.detach().cpu() for k, v in trainer.model.state_dict().items()})

    sources: dict[int, str] = {step: "snapshot" for step in store.snapshot_steps(run.path)}
    checkpoint_model = None
    if os.path.lexists(run.checkpoint_path):
        try:
            checkpoint = check_checkpoint(load_checkpoint(run.path), preset, run.checkpoint_path)
        except (OSError, UserError) as exc:
            raise AnalysisError(str(exc)) from None
        checkpoint_model = check_weights(
            checkpoint["model"], init_state, f"the weights in {run.checkpoint_path}"
        )
        sources.setdefault(checkpoint["step"], "checkpoint")
    if not sources:
        raise AnalysisError(
            f"no weights to analyse in {run.path}: no {store.CHECKPOINT_FILE} and no "
            f"{store.SNAPSHOT_DIR}/ (train the run first; keep weights over time with "
            "[train] keep_checkpoint_every = N)"
        )
    # The engine seeds before building, so a fresh build is exactly the initialisation.
    sources.setdefault(0, "init")
    return LoadedRun(run, preset, trainer, sources, init_state, checkpoint_model)

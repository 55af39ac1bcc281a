"""The training loop: steps, full-set evaluations, records, checkpoints. Knows no UI.

``train(preset, sinks)`` runs one preset and reports to sinks (the run directory, the
headless progress display, the trackers). The task lives on the device as tensors and
batches are drawn by index from a per-epoch permutation (batches.py); nothing is read
back to the host inside a step (DESIGN.md rule 5).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch

from grok_tui.config import Preset
from grok_tui.training import graphs
from grok_tui.training.events import Reporter, Sink
from grok_tui.training.measures import ProgressMeasures
from grok_tui.training.trainer import Trainer, build_trainer, resume_trainer, run_info, total_norm


class Session(Reporter):
    """One training session of a run: its clock, its summary, its sinks (events.Reporter),
    and what needs the model: a record (evaluate, measure), checkpoints and kept weights.
    """

    trainer: Trainer

    def __init__(self, trainer: Trainer, sinks: list[Sink], resumed: bool) -> None:
        super().__init__(trainer, sinks, trainer.preset.train, run_info(trainer), resumed=resumed)
        self.grad_norm: torch.Tensor | None = None  # of the last step before an evaluation
        self.measures = (
            ProgressMeasures(
                trainer.preset,
                trainer.model,
                trainer.forward,
                trainer.loss_fn,
                trainer.task.train_x,
                trainer.task.train_y,
                trainer.device,
            )
            if self.tc.measures
            else None
        )

    def record(self) -> dict[str, Any]:
        """Evaluate on the whole train and test sets (and measure, when asked): a record."""
        trainer = self.trainer
        train_loss, train_acc = trainer.evaluate(trainer.task.train_x, trainer.task.train_y)
        test_loss, test_acc = trainer.evaluate(trainer.task.test_x, trainer.task.test_y)
        record: dict[str, Any] = {
            "step": trainer.step,
            "epoch": trainer.batcher.epoch,
            "train_loss": train_loss,
            "train_acc": train_acc,
            "test_loss": test_loss,
            "test_acc": test_acc,
            "lr": trainer.lr,
            "param_norm": float(total_norm([p.detach() for p in trainer.params])),
            "grad_norm": float(self.grad_norm) if self.grad_norm is not None else None,
            "elapsed_s": round(self.elapsed(), 3),
        }
        every = self.tc.measure_every or self.tc.eval_every
        if self.measures is not None and trainer.step % every == 0:
            record.update(self.measures.measure())
        return record

    def checkpoint(self) -> None:
        state = self.trainer.state_dict()
        state["elapsed_s"] = self.elapsed()
        for sink in self.sinks:
            sink.on_checkpoint(state)

    def keep_weights(self) -> None:
        """The weights at this step, for analysis, when the preset keeps this step's."""
        if self.tc.keeps_weights_at(self.trainer.step):
            model = self.trainer.model
            weights = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            for sink in self.sinks:
                if hasattr(sink, "on_snapshot"):
                    sink.on_snapshot(self.trainer.step, weights)


def train(
    preset: Preset,
    sinks: Iterable[Sink] = (),
    *,
    resume: dict[str, Any] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    device: str | None = None,
    capture: graphs.Capture | None = None,
) -> dict[str, Any]:
    """Train one preset to its end (or a stop); return the final summary.

    Status is ``completed``, ``stopped`` (should_stop turned true: checkpointed),
    ``diverged`` (a non-finite loss) or ``failed`` (an exception, re-raised after the
    sinks heard of it). ``capture``: how the step becomes a CUDA graph (None: CUDA's;
    tests pass a stand-in that runs on the CPU).
    """
    trainer = build_trainer(preset, device)
    if resume is not None:
        resume_trainer(trainer, resume)
    steps = graphs.Steps(trainer, capture)  # eager, or a CUDA graph once warmed up and checked
    session = Session(trainer, list(sinks), resumed=resume is not None)
    steps.report_to(session.summary)
    tc = preset.train
    stop_at = math.inf  # set once grok_step is known and stop_after_grok asks for it
    status = "running"
    try:
        if resume is None:
            session.emit(session.record())
            session.keep_weights()
        while trainer.step < tc.steps:
            if should_stop():
                status = "stopped"
                break
            evaluate = session.evaluates_after(trainer.step + 1)
            norm = steps.step(want_grad_norm=evaluate)
            if norm is not None:
                session.grad_norm = norm
            if evaluate:
                bad = int(steps.first_bad)  # the divergence check stayed on the device till now
                if bad >= 0:
                    status = "diverged"
                    session.summary["diverged_step"] = bad
                    session.summary["error"] = (
                        f"non-finite training loss ({float(steps.loss)}) at step {bad}"
                    )
                    break
                session.emit(session.record())
                if trainer.events.grok_step is not None and tc.stop_after_grok is not None:
                    stop_at = trainer.events.grok_step + tc.stop_after_grok
            session.keep_weights()
            if trainer.step % tc.checkpoint_every == 0 and trainer.step < tc.steps:
                session.checkpoint()
            if trainer.step >= stop_at:
                session.summary["stopped_early"] = f"stop_after_grok = {tc.stop_after_grok}"
                break
        if status == "running":
            status = "completed"
        if status != "diverged":
            session.checkpoint()
    except BaseException as exc:
        session.fail(exc)
        raise
    return session.end(status)

"""What a run reports, and to whom: the grokking events, the summary, the sinks.

Torch-free on purpose: ``Reporter`` is the reporting half of a training session (the
fit and grok detection, the smoothed rate, the summary, the sinks' calls) and a test
double that makes up its records goes through it exactly as the trainer does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from grok_tui.config import TrainConfig

# Weight of the newest evaluation interval in the smoothed steps/s (and so the ETA).
RATE_SMOOTHING = 0.3
# With dense_eval_every, evaluations turn dense once test accuracy passes this share of
# the grok threshold, so that grok_step is found to within dense_eval_every steps.
DENSE_FROM = 0.5


class Sink(Protocol):
    """Where a run reports. Every method is optional in spirit: implement them all, do nothing."""

    def on_start(self, info: dict[str, Any]) -> None: ...

    def on_record(self, record: dict[str, Any], summary: dict[str, Any]) -> None: ...

    def on_checkpoint(self, state: dict[str, Any]) -> None: ...

    def on_snapshot(self, step: int, weights: dict[str, Any]) -> None: ...

    def on_end(self, summary: dict[str, Any]) -> None: ...


class NullSink:
    def on_start(self, info: dict[str, Any]) -> None:
        pass

    def on_record(self, record: dict[str, Any], summary: dict[str, Any]) -> None:
        pass

    def on_checkpoint(self, state: dict[str, Any]) -> None:
        pass

    def on_snapshot(self, step: int, weights: dict[str, Any]) -> None:
        pass

    def on_end(self, summary: dict[str, Any]) -> None:
        pass


@dataclass
class Events:
    """The grokking events, found at evaluations."""

    fit_step: int | None = None
    grok_step: int | None = None
    best_test_acc: float = 0.0
    best_test_acc_step: int | None = None
    last_test_acc: float = 0.0
    last_eval_step: int | None = None
    # grok_step lies in (grok_step - precision, grok_step]: the evaluation interval there
    grok_step_precision: int | None = None

    @property
    def grok_gap(self) -> int | None:
        if self.fit_step is None or self.grok_step is None:
            return None
        return self.grok_step - self.fit_step

    def update(
        self, record: dict[str, Any], fit_threshold: float, grok_threshold: float
    ) -> list[str]:
        """Fold in one record; return the names of the events it triggered."""
        new = []
        if self.fit_step is None and record["train_acc"] >= fit_threshold:
            self.fit_step = record["step"]
            new.append("fit_step")
        if self.grok_step is None and record["test_acc"] >= grok_threshold:
            self.grok_step = record["step"]
            if self.last_eval_step is not None:
                self.grok_step_precision = record["step"] - self.last_eval_step
            new.append("grok_step")
        if record["test_acc"] > self.best_test_acc or self.best_test_acc_step is None:
            self.best_test_acc = record["test_acc"]
            self.best_test_acc_step = record["step"]
        self.last_test_acc = record["test_acc"]
        self.last_eval_step = record["step"]
        return new

    def as_dict(self) -> dict[str, Any]:
        return {
            "fit_step": self.fit_step,
            "grok_step": self.grok_step,
            "grok_gap": self.grok_gap,
            "best_test_acc": self.best_test_acc,
            "best_test_acc_step": self.best_test_acc_step,
            "grok_step_precision": self.grok_step_precision,
        }


class Progress(Protocol):
    """Where a run stands: a Trainer, or a test double that makes up its records."""

    step: int
    events: Events
    elapsed_before: float  # seconds spent in earlier sessions of a resumed run


class Reporter:
    """A session's reporting: its clock, its summary, its events, its sinks.

    ``emit`` folds a record into the events and the summary and hands both to every
    sink; ``end`` and ``fail`` close the session. The Session of the training loop
    (loop.py) adds what needs the model: the records themselves and the checkpoints.
    """

    def __init__(
        self,
        progress: Progress,
        sinks: list[Sink],
        tc: TrainConfig,
        info: dict[str, Any],
        *,
        resumed: bool,
    ) -> None:
        self.trainer = progress
        self.sinks = sinks
        self.tc = tc
        self.summary: dict[str, Any] = {"status": "running", "steps": tc.steps, **info}
        for sink in sinks:
            sink.on_start({**info, "resumed_from": progress.step if resumed else None})
        self.started = time.perf_counter()
        self.first_step = progress.step  # this session's start, for its average rate at the end
        self.window = (self.started, progress.step)  # the last evaluation interval
        self.smoothed_rate: float | None = None  # steps/s, an exponential average

    def elapsed(self) -> float:
        return self.trainer.elapsed_before + time.perf_counter() - self.started

    def emit(self, record: dict[str, Any]) -> None:
        """Fold a record into the events and the summary, and hand both to every sink."""
        now = time.perf_counter()
        if record["step"] > self.first_step:  # the step-0 record has no interval behind it
            rate = (record["step"] - self.window[1]) / max(now - self.window[0], 1e-9)
            # one slow interval (a checkpoint, a busy core) must not swing the ETA: smooth
            self.smoothed_rate = (
                rate
                if self.smoothed_rate is None
                else RATE_SMOOTHING * rate + (1 - RATE_SMOOTHING) * self.smoothed_rate
            )
        self.window = (now, record["step"])
        self.trainer.events.update(record, self.tc.fit_threshold, self.tc.grok_threshold)
        self.summary.update(
            step=record["step"],
            epoch=record["epoch"],
            elapsed_s=record["elapsed_s"],
            steps_per_s=round(self.smoothed_rate, 2) if self.smoothed_rate is not None else None,
            final={k: record[k] for k in ("train_acc", "test_acc", "train_loss", "test_loss")},
            **self.trainer.events.as_dict(),
        )
        for sink in self.sinks:
            sink.on_record(record, self.summary)

    def evaluates_after(self, step: int) -> bool:
        """Whether the step about to end is evaluated: every eval_every steps, the last one,
        and every dense_eval_every steps while test accuracy climbs towards grokking."""
        tc, events = self.tc, self.trainer.events
        dense = (
            tc.dense_eval_every is not None
            and events.grok_step is None
            and events.last_test_acc >= DENSE_FROM * tc.grok_threshold
        )
        every = tc.dense_eval_every if dense else tc.eval_every
        return step % every == 0 or step % tc.eval_every == 0 or step == tc.steps

    def end(self, status: str) -> dict[str, Any]:
        self.summary.update(
            status=status, step=self.trainer.step, elapsed_s=round(self.elapsed(), 3)
        )
        session_s = time.perf_counter() - self.started
        if self.trainer.step > self.first_step and session_s > 0:  # a finished run: its average
            self.summary["steps_per_s"] = round(
                (self.trainer.step - self.first_step) / session_s, 2
            )
        for sink in self.sinks:
            sink.on_end(self.summary)
        return self.summary

    def fail(self, exc: BaseException) -> None:
        self.summary.update(
            status="failed", error=f"{type(exc).__name__}: {exc}", step=self.trainer.step
        )
        for sink in self.sinks:
            sink.on_end(self.summary)

"""The training loop: steps, full-set evaluations, grokking events. Knows no UI.

``train(preset, sinks)`` runs one preset and reports to sinks (the run directory, the
headless progress display). The task lives on the device as tensors and batches are
drawn by index from a per-epoch permutation; nothing is read back to the host inside
a step (DESIGN.md rule 5): losses, norms and the divergence check stay on the device
until an evaluation reads them.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from grok_tui.config import Preset
from grok_tui.errors import RunError
from grok_tui.training import graphs
from grok_tui.training.data import Task, build_task
from grok_tui.training.losses import LOSSES
from grok_tui.training.measures import ProgressMeasures
from grok_tui.training.models import build_model, count_parameters
from grok_tui.training.models.mlp_step import FusedMLPStep
from grok_tui.training.optim import (
    build_grad_filter,
    build_optimizer,
    build_scheduler,
    orthogonalize_gradients,
)

# Rows per forward pass when evaluating the whole train/test sets: a GPU wants large
# chunks; on CPU, 2048-row chunks evaluated the p = 97 MLP 1.2-1.9x faster than 16384.
EVAL_CHUNK = {"cpu": 2048}
EVAL_CHUNK_DEFAULT = 16384
# Weight of the newest evaluation interval in the smoothed steps/s (and so the ETA).
RATE_SMOOTHING = 0.3
# With dense_eval_every, evaluations turn dense once test accuracy passes this share of
# the grok threshold, so that grok_step is found to within dense_eval_every steps.
DENSE_FROM = 0.5


def eval_chunk(device: torch.device) -> int:
    return EVAL_CHUNK.get(device.type, EVAL_CHUNK_DEFAULT)


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


def resolve_device(name: str) -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; an explicit device must exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RunError(f"device '{name}' asked for, but this torch has no CUDA device")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise RunError(
                f"device '{name}' asked for, but only {torch.cuda.device_count()} GPUs exist"
            )
    if device.type == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise RunError("device 'mps' asked for, but MPS is not available")
    return device


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


@dataclass
class Batcher:
    """Minibatches by index: each epoch is a permutation of the training set.

    The last incomplete batch of an epoch is dropped so every step has the same shape
    (static shapes keep CUDA graphs and torch.compile happy). Full batch skips the
    permutation altogether: the order of a full batch does not change the gradient.
    """

    n: int
    batch_size: int
    generator: torch.Generator
    device: torch.device
    epoch: int = 0
    position: int = 0
    perm: torch.Tensor | None = None
    # (perm, x[perm], y[perm]): this epoch's shuffled copy of the training set
    shuffled: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = field(
        default=None, repr=False
    )

    @property
    def full_batch(self) -> bool:
        return self.batch_size >= self.n

    @property
    def batches_per_epoch(self) -> int:
        return max(1, self.n // self.batch_size)

    def advance(self) -> int | None:
        """Move on one batch; return where it starts in this epoch's permutation (None: the
        whole set). An epoch's first batch draws the permutation, on the device."""
        if self.full_batch:
            self.epoch += 1
            return None
        if self.position == 0:
            self.perm = torch.randperm(self.n, generator=self.generator, device=self.device)
        start = self.position * self.batch_size
        self.position += 1
        if self.position == self.batches_per_epoch:
            self.position = 0
            self.epoch += 1
        return start

    def next(self) -> torch.Tensor | None:
        """Indices of the next batch (None: the whole set, in order)."""
        start = self.advance()
        if start is None or self.perm is None:
            return None
        return self.perm[start : start + self.batch_size]

    def take(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The next batch of (x, y): one gather per epoch, then each batch is a slice of it."""
        start = self.position * self.batch_size
        idx = self.next()
        if idx is None:
            return x, y
        if self.shuffled is None or self.shuffled[0] is not self.perm:
            self.shuffled = (self.perm, x[self.perm], y[self.perm])
        _, x_shuffled, y_shuffled = self.shuffled
        end = start + self.batch_size
        return x_shuffled[start:end], y_shuffled[start:end]

    def state_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "position": self.position,
            "perm": self.perm.cpu() if self.perm is not None else None,
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.position = state["epoch"], state["position"]
        self.perm = state["perm"].to(self.device) if state["perm"] is not None else None
        self.generator.set_state(state["generator"])


@dataclass
class Trainer:
    """Everything one run needs, built from a preset; `train()` drives it."""

    preset: Preset
    device: torch.device
    task: Task
    model: nn.Module
    forward: Callable[[torch.Tensor], torch.Tensor]
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    grad_filter: Any
    batcher: Batcher
    autocast_dtype: torch.dtype | None
    loss_fn: Callable[..., torch.Tensor] = F.cross_entropy
    # the MLP's hand-written step (models/mlp_step.py) where it covers the preset, else None
    fused_step: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    target_norm: torch.Tensor | None = None  # Omnigrok: the weights' norm is held here
    step: int = 0
    events: Events = field(default_factory=Events)
    elapsed_before: float = 0.0  # seconds spent in earlier sessions of a resumed run

    @property
    def lr(self) -> float:
        """The learning rate of the next step: the scheduler sets it after each step."""
        return self.optimizer.param_groups[0]["lr"]

    @property
    def params(self) -> list[torch.Tensor]:
        return [p for p in self.model.parameters() if p.requires_grad]

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def train_step(self, want_grad_norm: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One optimizer step; returns device tensors only (the loss, and the grad norm if asked)."""
        x, y = self.batcher.take(self.task.train_x, self.task.train_y)
        loss = self.compute_gradients(x, y)
        return loss, self.apply_gradients(want_grad_norm)

    def compute_gradients(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Forward, loss and backward of one batch: every .grad written; the loss (device)."""
        if self.fused_step is not None:
            return self.fused_step(x, y).detach()  # writes every .grad
        self.model.train()
        with self._autocast():
            logits = self.forward(x)
        loss = self.loss_fn(logits.to(torch.promote_types(logits.dtype, torch.float32)), y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        return loss.detach()

    def apply_gradients(self, want_grad_norm: bool) -> torch.Tensor | None:
        """Everything after backward, with every .grad written: filter, ⊥Grad, clip,
        optimizer step, norm constraint, schedule. Returns the grad norm (device) if
        clipped or asked. Vectorised groups call it per member after a batched backward."""
        grad_norm = self.update_weights(want_grad_norm)
        self.scheduler.step()
        self.step += 1
        return grad_norm

    def update_weights(self, want_grad_norm: bool) -> torch.Tensor | None:
        """The device work of apply_gradients, no host state touched: a captured CUDA graph
        replays it (graphs.py), with the learning rate in a device tensor."""
        params = self.params
        if self.grad_filter is not None:
            self.grad_filter.apply(params)
        if self.preset.optim.orthogonal_grad:
            orthogonalize_gradients(params)
        grad_norm = None
        clip = self.preset.optim.grad_clip
        if clip is not None:
            grad_norm = nn.utils.clip_grad_norm_(params, clip, foreach=True)
        elif want_grad_norm:
            grad_norm = total_norm([p.grad for p in params if p.grad is not None])
        self.optimizer.step()
        if self.target_norm is not None:
            with torch.no_grad():
                torch._foreach_mul_(params, self.target_norm / total_norm(params))
        return grad_norm

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        """Mean loss and accuracy over a whole split (two host reads, at evaluation only)."""
        self.model.eval()
        loss_sum = torch.zeros((), device=self.device, dtype=torch.float64)
        correct = torch.zeros((), device=self.device, dtype=torch.int64)
        chunk = eval_chunk(self.device)
        for start in range(0, len(x), chunk):
            xb, yb = x[start : start + chunk], y[start : start + chunk]
            with self._autocast():
                logits = self.forward(xb)
            logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
            loss_sum += self.loss_fn(logits, yb, reduction="sum").double()
            correct += (logits.argmax(-1) == yb).sum()
        n = max(1, len(x))
        return float(loss_sum) / n, int(correct) / n

    def state_dict(self) -> dict[str, Any]:
        state = {
            "step": self.step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "batcher": self.batcher.state_dict(),
            "grad_filter": self.grad_filter.state_dict() if self.grad_filter else None,
            "events": self.events.__dict__.copy(),
            "elapsed_s": self.elapsed_before,
            "torch_rng": torch.get_rng_state(),
        }
        if self.device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step = state["step"]
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.batcher.load_state_dict(state["batcher"])
        if self.grad_filter is not None and state.get("grad_filter") is not None:
            self.grad_filter.load_state_dict(state["grad_filter"])
        self.events = Events(**state["events"])
        self.elapsed_before = state.get("elapsed_s", 0.0)
        torch.set_rng_state(state["torch_rng"])
        if self.device.type == "cuda" and "cuda_rng" in state:
            torch.cuda.set_rng_state(state["cuda_rng"], self.device)


def total_norm(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """L2 norm of a list of tensors, on the device (no sync)."""
    if not tensors:
        return torch.zeros(())
    norms = torch._foreach_norm(list(tensors))
    dtype = torch.float64 if any(t.dtype == torch.float64 for t in tensors) else torch.float32
    return torch.linalg.vector_norm(torch.stack([n.to(dtype) for n in norms]))


def defer_dynamo_import() -> None:
    """Let the first record come before torch._dynamo is imported (1.9 s on this CPU).

    torch.optim.Optimizer.add_param_group is wrapped by torch._compile._disable_dynamo,
    which imports torch._dynamo on its first call, only to wrap the method so that dynamo
    never traces it; nothing here compiles an optimizer's construction. Handing the
    wrapper its own method as the cached result skips that import; the first optimizer
    step imports dynamo anyway, after the step-0 record is on disk (its latency is what
    a user watches, from the TUI). Where torch changes, nothing happens.
    """
    method = getattr(torch.optim.Optimizer.add_param_group, "__wrapped__", None)
    if method is not None and getattr(method, "__dynamo_disable", None) is None:
        with contextlib.suppress(AttributeError, TypeError):
            method.__dynamo_disable = method


def build_trainer(preset: Preset, device: str | torch.device | None = None) -> Trainer:
    """Seeded construction of the task, model, optimizer and batcher of a preset."""
    train = preset.train
    if not train.compile:
        defer_dynamo_import()
    dev = resolve_device(str(device) if device is not None else train.device)
    if train.precision == "tf32":
        if dev.type != "cuda":
            raise RunError(f"precision 'tf32' needs a CUDA device, not {dev.type}")
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if train.precision == "fp64" and dev.type == "mps":
        raise RunError("precision 'fp64' is not supported on MPS")
    torch.manual_seed(train.seed)
    task = build_task(preset.data, dev)
    model = build_model(
        preset.model, vocab_size=task.vocab_size, seq_len=task.seq_len, n_classes=task.n_classes
    )
    if train.precision == "fp64":
        model = model.double()
    model = model.to(dev)
    if train.init_scale != 1.0:
        with torch.no_grad():
            for param in model.parameters():
                param.mul_(train.init_scale)
    target_norm = None
    if train.constrain_norm:
        target_norm = total_norm([p.detach() for p in model.parameters()]).clone()
    optimizer = build_optimizer(model, preset.optim)
    scheduler = build_scheduler(optimizer, preset.optim, train.steps)
    n_train = len(task.train_y)
    batch_size = n_train if train.batch_size == "full" else min(int(train.batch_size), n_train)
    generator = torch.Generator(device=dev)
    generator.manual_seed(train.seed + 1)
    forward: Callable[[torch.Tensor], torch.Tensor] = model
    if train.compile:
        mode = "default" if train.compile is True else train.compile
        forward = torch.compile(model, mode=mode)
    return Trainer(
        preset=preset,
        device=dev,
        task=task,
        model=model,
        forward=forward,
        optimizer=optimizer,
        scheduler=scheduler,
        grad_filter=build_grad_filter(preset.optim),
        batcher=Batcher(n_train, batch_size, generator, dev),
        autocast_dtype=torch.bfloat16 if train.precision == "bf16" else None,
        loss_fn=LOSSES[train.loss],
        fused_step=FusedMLPStep.build(model, preset, batch_size, dev),
        target_norm=target_norm,
    )


def run_info(trainer: Trainer) -> dict[str, Any]:
    """Facts about the run for the summary: where, with what, how big."""
    info = {
        "device": str(trainer.device),
        "torch_version": torch.__version__,
        "param_count": count_parameters(trainer.model),
        "n_train": len(trainer.task.train_y),
        "n_test": len(trainer.task.test_y),
        "batch_size": trainer.batcher.batch_size,
    }
    if trainer.device.type == "cuda":
        info["device_name"] = torch.cuda.get_device_name(trainer.device)
    return info


class Session:
    """One training session of a run: its clock, its summary, its sinks.

    What ``train`` does besides stepping lives here, one method per job: a record
    (evaluate, measure), emitting it (events, smoothed rate, summary), checkpoints and
    kept weights, and the end.
    """

    def __init__(self, trainer: Trainer, sinks: list[Sink], resumed: bool) -> None:
        self.trainer = trainer
        self.sinks = sinks
        self.tc = trainer.preset.train
        info = run_info(trainer)
        self.summary: dict[str, Any] = {"status": "running", "steps": self.tc.steps, **info}
        for sink in sinks:
            sink.on_start({**info, "resumed_from": trainer.step if resumed else None})
        self.started = time.perf_counter()
        self.first_step = trainer.step  # this session's start, for its average rate at the end
        self.window = (self.started, trainer.step)  # the last evaluation interval
        self.smoothed_rate: float | None = None  # steps/s, an exponential average
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

    def elapsed(self) -> float:
        return self.trainer.elapsed_before + time.perf_counter() - self.started

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


def resume_trainer(trainer: Trainer, state: dict[str, Any]) -> None:
    """Load a checkpoint into a freshly built trainer, or say in one line why it does not fit."""
    try:
        trainer.load_state_dict(state)
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError, AttributeError) as exc:
        # a checkpoint of another model, or a damaged one: say so, train nothing
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RunError(
            f"the checkpoint does not fit this run's preset ({reason[:300]}); "
            "move checkpoint.pt away to restart the run from step 0"
        ) from None


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

"""CUDA graphs for the training step: one replay per step instead of hundreds of launches.

A small grokking model on a modern GPU is launch-bound: a step is hundreds of kernels of
a few microseconds each. ``StaticStep`` shapes the step so that it can be captured once
and replayed: the batch is gathered on the device from this epoch's permutation, the
learning rate lives in a device tensor that the step itself advances, the divergence
check and the grad norm are computed inside it, and everything the host decides per
step (the batcher's position, a new permutation per epoch, the scheduler's counters,
``Trainer.step``) stays outside. Run eagerly, it gives ``Trainer.train_step``'s records
bit for bit (tests/unit/test_graphs.py).

``Steps`` is what ``loop.train`` calls once per step. With ``[train] cuda_graphs``
``auto`` on CUDA (or ``true``) and a preset whose features allow it, the first
``WARMUP_STEPS`` steps run the static step eagerly on a side stream; then the step is
captured, and one replay is compared with one eager step from the same state before
the graph is trusted. A difference beyond float tolerance, or a capture that fails,
means eager steps from there on under ``auto`` (one line on stderr, and
``cuda_graphs: false`` with ``cuda_graphs_reason`` in the summary), and a RunError
under ``true``: nobody gets different numbers without being told.
"""

from __future__ import annotations

import contextlib
import copy
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import torch

from grok_tui.config import Preset, cuda_graph_blocker
from grok_tui.errors import RunError
from grok_tui.training.optim import lr_factor_tensor

if TYPE_CHECKING:
    from grok_tui.training.trainer import Trainer

# Eager steps before the capture: PyTorch's whole-network capture warms up a few
# iterations on a side stream (autograd, cuBLAS handles, the allocator); they also
# create the optimizer's and the Grokfast filter's state, which the graph then updates.
WARMUP_STEPS = 3
# Graph against eager from one state, one step: the same kernels on the same device, so
# any difference is a capture gone wrong, not rounding; these bounds only forgive rounding.
RTOL, ATOL = 1e-5, 1e-7


class Capture(Protocol):
    """How a step becomes a replayable graph: CUDA's, or a stand-in for tests on the CPU."""

    device_types: frozenset[str]

    def warm(self, body: Callable[[], None]) -> None:
        """Run one warm-up step eagerly, as the capture wants it run."""
        ...

    def capture(self, body: Callable[[], None]) -> Callable[[], None]:
        """Record `body` without running it; return what replays it."""
        ...


class CudaCapture:
    """torch.cuda.CUDAGraph: warm-up and capture on one side stream, replay on the current."""

    device_types = frozenset({"cuda"})

    def __init__(self) -> None:
        self.stream: Any = None

    def _side_stream(self) -> Any:
        if self.stream is None:
            self.stream = torch.cuda.Stream()
        return self.stream

    def warm(self, body: Callable[[], None]) -> None:
        stream = self._side_stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            body()
        torch.cuda.current_stream().wait_stream(stream)

    def capture(self, body: Callable[[], None]) -> Callable[[], None]:
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, stream=self._side_stream()):
            body()
        return graph.replay


def reason_not_to_capture(trainer: Trainer, capture: Capture) -> str | None:
    """Why this run's steps stay eager, or None. ``cuda_graphs = true`` where a graph
    cannot be is a RunError (the schema refuses what it can see: a CPU device, a feature)."""
    return capture_blocker(trainer.preset, trainer.device, [trainer.optimizer], capture)


def capture_blocker(
    preset: Preset,
    device: torch.device,
    optimizers: Sequence[torch.optim.Optimizer],
    capture: Capture,
) -> str | None:
    """Why steps with these optimizers (a run's, or each member's of a group) stay eager."""
    mode = preset.train.cuda_graphs
    if mode is False:
        return "train.cuda_graphs = false"
    if device.type not in capture.device_types:
        if mode is True:
            raise RunError(
                f"train.cuda_graphs = true needs a CUDA device; this run trains on {device}"
            )
        return f"not a CUDA device ({device})"
    reason = cuda_graph_blocker(preset)
    fused = all(g.get("fused") for opt in optimizers for g in opt.param_groups)
    if reason is None and not fused:
        reason = "the optimizer has no fused kernel here (a tensor learning rate needs one)"
    if reason is not None and mode is True:
        raise RunError(f"train.cuda_graphs = true, but {reason}")
    return reason


def lr_tensor(lr: float, device: torch.device) -> torch.Tensor:
    """The learning rate as the static step holds it: CUDA's fused Adam reads a tensor
    learning rate as float32 (as it rounds a float one); the CPU's reads it as a double:
    either way the eager step's value."""
    dtype = torch.float32 if device.type == "cuda" else torch.float64
    return torch.tensor(lr, dtype=dtype, device=device)


@contextlib.contextmanager
def tensor_lr(optimizer: torch.optim.Optimizer, lr: torch.Tensor) -> Iterator[None]:
    """The optimizer reads the device learning rate while inside; the checkpointed
    param_groups keep their float and flags (so the checkpoint format does not change)."""
    groups = optimizer.param_groups
    saved = [(g["lr"], g["capturable"]) for g in groups]
    capturing = lr.is_cuda and torch.cuda.is_current_stream_capturing()
    for g in groups:
        g["lr"], g["capturable"] = lr, capturing
    try:
        yield
    finally:
        for g, (old, capturable) in zip(groups, saved, strict=True):
            g["lr"], g["capturable"] = old, capturable


class StaticStep:
    """One training step on fixed memory, with no host decision inside (see the module doc).

    ``body`` is what a graph captures; ``advance_batch`` before it and ``finish`` after it
    are the host's part of each step.
    """

    def __init__(self, trainer: Trainer, step_t: torch.Tensor, first_bad: torch.Tensor) -> None:
        self.trainer = trainer
        device = trainer.device
        self.step_t, self.first_bad = step_t, first_bad
        self.loss = torch.zeros((), dtype=torch.float64, device=device)
        self.grad_norm = torch.zeros((), dtype=torch.float64, device=device)
        self.lr = lr_tensor(trainer.lr, device)
        self.base_lr = float(trainer.scheduler.base_lrs[0])
        batcher = trainer.batcher
        self.full_batch = batcher.full_batch
        self.batch_size, self.batches_per_epoch = batcher.batch_size, batcher.batches_per_epoch
        # this epoch's permutation, and the batch's position in it (advanced by the step)
        self.perm = torch.arange(batcher.n, device=device)
        if batcher.perm is not None:
            self.perm.copy_(batcher.perm)
        self.position = torch.full((), batcher.position, dtype=torch.int64, device=device)
        self.rows = torch.arange(self.batch_size, device=device)

    def advance_batch(self) -> None:
        """Host: the batcher moves on; an epoch's new permutation is copied in (device)."""
        batcher = self.trainer.batcher
        if batcher.advance() == 0 and batcher.perm is not None:
            self.perm.copy_(batcher.perm)

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        task = self.trainer.task
        if self.full_batch:
            return task.train_x, task.train_y
        idx = self.perm.index_select(0, self.rows + self.position * self.batch_size)
        self.position.add_(1).remainder_(self.batches_per_epoch)
        return task.train_x.index_select(0, idx), task.train_y.index_select(0, idx)

    def body(self) -> None:
        """Batch, forward, loss, backward, filter, ⊥Grad, clip, optimizer, norm constraint,
        the divergence check and the schedule: device work only, results in fixed tensors."""
        trainer = self.trainer
        loss = trainer.compute_gradients(*self.batch())
        with tensor_lr(trainer.optimizer, self.lr):
            norm = trainer.update_weights(want_grad_norm=True)
        self.loss.copy_(loss)
        if norm is not None:
            self.grad_norm.copy_(norm)
        self.step_t.add_(1)
        bad = (self.first_bad < 0) & ~torch.isfinite(loss)
        self.first_bad.copy_(torch.where(bad, self.step_t, self.first_bad))
        factor = lr_factor_tensor(self.step_t, trainer.preset.optim, trainer.preset.train.steps)
        self.lr.copy_(self.base_lr * factor)

    def finish(self) -> None:
        """Host: the counters a checkpoint and the records read (the scheduler holds a float)."""
        self.trainer.step += 1
        self.trainer.scheduler.step()

    def state(self) -> list[torch.Tensor]:
        """Every tensor a step changes (but the gradients, which it overwrites)."""
        trainer = self.trainer
        tensors = [*trainer.model.parameters(), *trainer.model.buffers()]
        for per_param in trainer.optimizer.state.values():
            tensors += [v for v in per_param.values() if isinstance(v, torch.Tensor)]
        for value in (trainer.grad_filter.state_dict() if trainer.grad_filter else {}).values():
            if isinstance(value, list):
                tensors += [v for v in value if isinstance(v, torch.Tensor)]
        own = [self.step_t, self.first_bad, self.loss, self.grad_norm, self.lr, self.position]
        return tensors + own


class Steps:
    """The run's steps, one call each: eager (Trainer.train_step) or a replayed graph.

    The warm-up, capture, check and fall-back are the same for a vectorised group
    (group/graphs.py): what differs sits in the few methods it overrides.
    """

    def __init__(self, trainer: Trainer, capture: Capture | None = None) -> None:
        self.trainer = trainer
        self._setup(trainer.device, trainer.step, (), capture)

    def _setup(
        self, device: torch.device, step: int, shape: tuple[int, ...], capture: Capture | None
    ) -> None:
        self.capture: Capture = capture if capture is not None else CudaCapture()
        # the divergence check stays on the device: the first step whose loss was not finite
        self.first_bad = torch.full(shape, -1, dtype=torch.int64, device=device)
        self.step_t = torch.full((), step, dtype=torch.int64, device=device)
        self.loss: torch.Tensor | None = None
        self.reason = self._reason()
        self.static = None if self.reason else self._static()
        self.replay: Callable[[], None] | None = None
        self.warmups_left = WARMUP_STEPS
        self.summaries: list[dict[str, Any]] = []

    # what a vectorised group overrides
    @property
    def preset(self) -> Preset:
        return self.trainer.preset

    def _reason(self) -> str | None:
        return reason_not_to_capture(self.trainer, self.capture)

    def _static(self) -> Any:
        return StaticStep(self.trainer, self.step_t, self.first_bad)

    def _eager(self, want_grad_norm: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.trainer.train_step(want_grad_norm)

    def _static_norm(self, want_grad_norm: Any) -> torch.Tensor | None:
        wanted = want_grad_norm or self.preset.optim.grad_clip is not None
        return self.static.grad_norm if wanted else None

    def _release_grads(self) -> None:
        """Before a capture: gradients become the graph's own memory."""
        self.trainer.optimizer.zero_grad(set_to_none=True)

    def _save(self) -> Any:
        return copy.deepcopy(self.trainer.state_dict())

    def _restore(self, saved: Any) -> None:
        self.trainer.optimizer.zero_grad(set_to_none=True)
        self.trainer.load_state_dict(saved)
        self.step_t.fill_(self.trainer.step)

    def _grads(self) -> list[torch.Tensor | None]:
        return [p.grad for p in self.trainer.model.parameters()]

    def _set_grads(self, grads: list[torch.Tensor | None]) -> None:
        for p, g in zip(self.trainer.model.parameters(), grads, strict=True):
            p.grad = g  # the graph's gradient memory again, not the eager step's

    # the shared machinery
    def report_to(self, summary: dict[str, Any] | Sequence[dict[str, Any]]) -> None:
        """Say in the summary (or each member's) whether graphs are used, now and when decided."""
        self.summaries = [summary] if isinstance(summary, dict) else list(summary)
        if self.static is None:
            self._say(cuda_graphs=False, cuda_graphs_reason=self.reason)
        else:
            reason = f"the first {WARMUP_STEPS} steps of a session are eager (warm-up)"
            self._say(cuda_graphs=False, cuda_graphs_reason=reason)

    def _say(self, **fields: Any) -> None:
        for summary in self.summaries:
            summary.update(fields)
            if fields.get("cuda_graphs") is True:
                summary.pop("cuda_graphs_reason", None)

    def step(self, want_grad_norm: Any) -> torch.Tensor | None:
        """One optimizer step; the grad norm (device) when clipped or asked."""
        if self.static is not None and self.replay is None and self.warmups_left == 0:
            self._decide()
        static = self.static
        if static is None:
            loss, norm = self._eager(want_grad_norm)
            self.step_t += 1
            bad = (self.first_bad < 0) & ~torch.isfinite(loss)
            self.first_bad.copy_(torch.where(bad, self.step_t, self.first_bad))
            self.loss = loss
            return norm
        if self.replay is not None:
            static.advance_batch()
            self.replay()
        elif not self._warm_up(static):
            return self.step(want_grad_norm)  # the static step failed: eager from here
        static.finish()
        self.loss = static.loss
        return self._static_norm(want_grad_norm)

    def _warm_up(self, static: Any) -> bool:
        """One warm-up step of the static step; False when it raised under ``auto``.

        Its first step is the first ever run of the tensor-lr, capturable optimizer path
        on this device; should it fail, the trainer is put back as it was before the
        step (a copy taken first) and the run goes on eagerly, said as a capture failure
        is. Under ``true`` the error stands.
        """
        saved = self._save() if self._may_fall_back() else None
        try:
            static.advance_batch()
            self.capture.warm(static.body)
        except Exception as exc:
            if saved is None:
                raise
            self._restore(saved)
            lines = str(exc).strip().splitlines() or [""]
            self._fall_back(f"the static step failed ({type(exc).__name__}: {lines[0][:200]})")
            return False
        self.warmups_left -= 1
        return True

    def _may_fall_back(self) -> bool:
        return self.preset.train.cuda_graphs != True  # noqa: E712 - "auto" or True

    def _fall_back(self, reason: str) -> None:
        self.static = None
        self._say(cuda_graphs=False, cuda_graphs_reason=reason)
        print(f"cuda graphs off, eager steps instead: {reason}", file=sys.stderr, flush=True)

    def _decide(self) -> None:
        """Capture, compare one replay with one eager step, then keep the graph or drop it."""
        static = self.static
        assert static is not None
        self._release_grads()
        try:
            replay = self.capture.capture(static.body)
            difference = self._compare(replay)
        except Exception as exc:  # a capture that fails for any reason: eager it is
            lines = str(exc).strip().splitlines() or [""]
            difference = f"the capture failed ({type(exc).__name__}: {lines[0][:200]})"
        if difference is None:
            self.replay = replay
            self._say(cuda_graphs=True)
            return
        if not self._may_fall_back():
            raise RunError(f"train.cuda_graphs = true, but {difference}; set it to 'auto' or false")
        self._fall_back(difference)

    def _compare(self, replay: Callable[[], None]) -> str | None:
        """One replay and one eager step from the same state (the state restored after
        each): what differs beyond float tolerance, or None."""
        static = self.static
        assert static is not None
        state = static.state()
        before = [t.detach().clone() for t in state]
        grads = self._grads()
        replay()
        graphed = [t.detach().clone() for t in state]
        with torch.no_grad():
            torch._foreach_copy_(state, before)
        static.body()
        eager = [t.detach().clone() for t in state]
        with torch.no_grad():
            torch._foreach_copy_(state, before)
        self._set_grads(grads)
        for i, (a, b) in enumerate(zip(graphed, eager, strict=True)):
            if a.is_floating_point():
                same = torch.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True)
            else:
                same = torch.equal(a, b)
            if not same:
                gap = float((a.double() - b.double()).abs().nan_to_num(float("inf")).max())
                return f"a replay differs from an eager step (state tensor {i}, by up to {gap:.3g})"
        return None

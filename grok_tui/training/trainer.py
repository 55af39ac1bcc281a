"""The trainer of one run: its task, model, optimizer and batcher, built from a preset.

``build_trainer`` makes one (seeded: a fresh build is the run's step-0 weights);
``resume_trainer`` loads a checkpoint into it. One step, one evaluation and the
checkpointed state are its methods; the loop that drives it is loop.py. Nothing is read
back to the host inside a step (DESIGN.md rule 5): losses, norms and the divergence
check stay on the device until an evaluation reads them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from grok_tui.config import Preset
from grok_tui.config.devices import AUTO, CPU, CUDA, MPS
from grok_tui.errors import RunError
from grok_tui.training.batches import Batcher
from grok_tui.training.data import Task, build_task
from grok_tui.training.events import Events
from grok_tui.training.losses import LOSSES
from grok_tui.training.models import build_model, count_parameters
from grok_tui.training.models.mlp_step import FusedMLPStep
from grok_tui.training.optim import (
    build_grad_filter,
    build_optimizer,
    build_scheduler,
    orthogonalize_gradients,
    step_optimizer,
)

# Rows per forward pass when evaluating the whole train/test sets: a GPU wants large
# chunks; on CPU, 2048-row chunks evaluated the p = 97 MLP 1.2-1.9x faster than 16384.
EVAL_CHUNK = {"cpu": 2048}
EVAL_CHUNK_DEFAULT = 16384


def eval_chunk(device: torch.device) -> int:
    return EVAL_CHUNK.get(device.type, EVAL_CHUNK_DEFAULT)


def resolve_device(name: str) -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; an explicit device must exist."""
    if name == AUTO:
        if torch.cuda.is_available():
            return torch.device(CUDA)
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device(MPS)
        return torch.device(CPU)
    device = torch.device(name)
    if device.type == CUDA:
        if not torch.cuda.is_available():
            raise RunError(f"device '{name}' asked for, but this torch has no CUDA device")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise RunError(
                f"device '{name}' asked for, but only {torch.cuda.device_count()} GPUs exist"
            )
    if device.type == MPS and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise RunError("device 'mps' asked for, but MPS is not available")
    return device


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
        step_optimizer(self.optimizer)  # no torch._dynamo import (optim.py)
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
    """Keep torch._dynamo unimported (1.2-2 s on a 2-core CPU) where nothing compiles.

    torch.optim.Optimizer.add_param_group is wrapped by torch._compile._disable_dynamo,
    which imports torch._dynamo on its first call, only to wrap the method so that dynamo
    never traces it; nothing here compiles an optimizer's construction. Handing the
    wrapper its own method as the cached result skips that import; zero_grad, state_dict
    and load_state_dict likewise, and the step goes round its wrapper
    (optim.step_optimizer), so a run that compiles nothing never imports dynamo. Where
    torch changes, nothing happens.
    """
    optimizer = torch.optim.Optimizer
    for wrapped in (
        optimizer.add_param_group,
        optimizer.zero_grad,
        optimizer.state_dict,  # a checkpoint
        optimizer.load_state_dict,  # a resume, before its first step
    ):
        method = getattr(wrapped, "__wrapped__", None)
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

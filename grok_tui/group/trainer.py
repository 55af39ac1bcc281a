"""N presets of one shape trained as one batched computation, each member as its solo run.

Each member is first built exactly as its solo run (engine.build_trainer: its seed, its
split, its model's initial weights, its batch order), then its parameters are stacked
into the group's buffers (group/models.py). The solo Trainer stays the member's record
keeper: its batcher draws the member's batches, its events are the member's events, and
`sync(i)` writes the member's weights and optimizer state back into it, so a member's
checkpoint is `members[i].state_dict()`, the solo format, loadable by the solo engine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import torch

from grok_tui.config import Preset
from grok_tui.engine import RunError, Trainer, build_trainer, eval_chunk
from grok_tui.group.grouping import differences, ungroupable
from grok_tui.group.models import GroupParams, group_model
from grok_tui.group.optim import (
    build_group_filter,
    build_group_optimizer,
    clip_rows,
    learning_rates,
    orthogonalize_rows,
    row_norms,
)


def check_group(presets: Sequence[Preset]) -> None:
    """Raise RunError, in one line, when these presets cannot train as one group."""
    if not presets:
        raise RunError("a group needs at least one preset")
    for preset in presets:
        reason = ungroupable(preset)
        if reason is not None:
            raise RunError(f"{preset.name}: cannot join a group: {reason}")
    for preset in presets[1:]:
        differ = differences(presets[0], preset)
        if differ:
            raise RunError(
                f"{preset.name} and {presets[0].name} differ in {', '.join(differ)}: not one group"
            )


class GroupTrainer:
    """Everything N runs of one shape need; `train_step` steps them all at once."""

    def __init__(self, presets: Sequence[Preset], device: str | torch.device | None = None) -> None:
        check_group(presets)
        self.presets = list(presets)
        self.members: list[Trainer] = [build_trainer(p, device) for p in presets]
        first = self.members[0]
        self.device = first.device
        self.steps = presets[0].train.steps
        self.step = 0
        models = [m.model for m in self.members]
        self.params = GroupParams(models)
        self.forward = group_model(first.model, self.params, presets[0].model.activation)
        self.loss_fn = first.loss_fn
        self.autocast_dtype = first.autocast_dtype
        optims = [p.optim for p in presets]
        self.optimizer = build_group_optimizer(optims, self.params.flat)
        self.grad_filter = build_group_filter(optims, self.params.flat)
        self.orthogonal_grad = presets[0].optim.orthogonal_grad
        self.grad_clip = [p.optim.grad_clip for p in presets]
        self.target_norm: torch.Tensor | None = None
        if presets[0].train.constrain_norm:
            self.target_norm = torch.stack([m.target_norm for m in self.members])  # type: ignore[misc]
        self.active = [True] * len(presets)  # a diverged or finished member stops updating

        def stacked(name: str) -> torch.Tensor:
            return torch.stack([getattr(m.task, name) for m in self.members])

        self.train_x, self.train_y = stacked("train_x"), stacked("train_y")
        self.test_x, self.test_y = stacked("test_x"), stacked("test_y")

    @property
    def n(self) -> int:
        return len(self.members)

    def lrs(self) -> list[float]:
        """Each member's learning rate for the next step, as its solo scheduler has set it."""
        return learning_rates([p.optim for p in self.presets], self.step, self.steps)

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Every member's next batch from its own batcher: (N, B, T) tokens, (N, B) labels."""
        if self.members[0].batcher.full_batch:
            for m in self.members:
                m.batcher.next()  # counts the epoch, as the solo batcher does
            return self.train_x, self.train_y
        pairs = [m.batcher.take(m.task.train_x, m.task.train_y) for m in self.members]
        return torch.stack([x for x, _ in pairs]), torch.stack([y for _, y in pairs])

    def losses(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per member, the mean loss over its rows: logits (N, B, C), labels (N, B) -> (N,)."""
        logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
        per_row = self.loss_fn(logits.flatten(0, 1), y.flatten(), reduction="none")
        return per_row.view(y.shape).mean(1)

    def train_step(self, want_grad_norm: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One optimizer step of every member; device tensors only: losses (N,), grad norms (N,)."""
        x, y = self.batch()
        params = self.params
        with self._autocast():
            logits = self.forward(x)
        losses = self.losses(logits, y)
        losses.sum().backward()  # members share no parameter: each gets its own gradient
        params.collect_grads()
        grads = params.grad_list()
        if self.grad_filter is not None:
            self.grad_filter.apply(params.grad)
        if self.orthogonal_grad:
            orthogonalize_rows(params.list(), grads)
        grad_norm = None
        if any(c is not None for c in self.grad_clip) or want_grad_norm:
            grad_norm = clip_rows(grads, params.grad, self.grad_clip)
        with self._frozen():
            self.optimizer.step(params.grad, self.lrs(), self.active)
            if self.target_norm is not None:
                with torch.no_grad():
                    scale = self.target_norm / row_norms(params.list())
                    params.flat.mul_(scale.to(params.flat.dtype).view(-1, 1))
        self.step += 1
        return losses.detach(), grad_norm

    @contextlib.contextmanager
    def _frozen(self) -> Any:
        """Members that no longer train keep their parameters and optimizer state."""
        idle = [i for i, a in enumerate(self.active) if not a]
        if not idle:
            yield
            return
        rows = torch.tensor(idle, device=self.device)
        held = [self.params.flat, *self.optimizer.state_tensors()]
        saved = [t[rows].clone() for t in held]
        yield
        for t, s in zip(held, saved, strict=True):
            t[rows] = s

    def stop(self, i: int) -> None:
        """Member i stops updating (diverged, or done): its weights stay as they are now."""
        self.active[i] = False

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[list[float], list[float]]:
        """Per member, mean loss and accuracy over its whole split x (N, n, T), y (N, n)."""
        N, n = y.shape
        loss_sum = torch.zeros(N, device=self.device, dtype=torch.float64)
        correct = torch.zeros(N, device=self.device, dtype=torch.int64)
        chunk = eval_chunk(self.device)
        for start in range(0, n, chunk):
            xb, yb = x[:, start : start + chunk], y[:, start : start + chunk]
            with self._autocast():
                logits = self.forward(xb)
            logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
            per_row = self.loss_fn(logits.flatten(0, 1), yb.flatten(), reduction="none")
            loss_sum += per_row.view(yb.shape).double().sum(1)
            correct += (logits.argmax(-1) == yb).sum(1)
        count = max(1, n)
        return [s / count for s in loss_sum.tolist()], [c / count for c in correct.tolist()]

    @torch.no_grad()
    def param_norms(self) -> list[float]:
        return row_norms([p.detach() for p in self.params.list()]).tolist()

    def sync(self, i: int) -> Trainer:
        """Write member i's state into its solo Trainer (weights, optimizer, schedule, filter)."""
        member = self.members[i]
        self.params.write_member(i, member.model)
        solo_params = [p for p in member.model.parameters() if p.requires_grad]
        split = self.params.sizes
        member.optimizer.state.clear()
        member.optimizer.state.update(self.optimizer.member_state(i, solo_params, split))
        lr = self.lrs()[i]
        for group in member.optimizer.param_groups:
            group["lr"] = lr
        scheduler = member.scheduler
        scheduler.last_epoch = self.step
        scheduler._step_count = self.step + 1  # type: ignore[attr-defined]
        scheduler._last_lr = [lr]  # type: ignore[attr-defined]
        if self.grad_filter is not None and member.grad_filter is not None:
            member.grad_filter.load_state_dict(self.grad_filter.member_state(i, solo_params, split))
        member.step = self.step
        return member

    def state_dict(self, i: int) -> dict[str, Any]:
        """Member i's checkpoint in the solo engine's format (engine.Trainer.state_dict)."""
        return self.sync(i).state_dict()

    def member_weights(self, i: int) -> dict[str, torch.Tensor]:
        """Member i's weights as its solo model's state_dict (CPU copies)."""
        member = self.members[i]
        self.params.write_member(i, member.model)
        return {k: v.detach().cpu().clone() for k, v in member.model.state_dict().items()}

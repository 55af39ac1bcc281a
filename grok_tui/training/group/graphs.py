"""CUDA graphs for a vectorised group: one replay steps every member.

A group's step is one batched forward and backward, then each member's own optimizer
step (group/trainer.py): N fused optimizer calls whose launches a graph removes. The
group's static step is the solo one's (grok_tui/training/graphs.py) with a leading member axis:
each member's batch gathered on the device from its own epoch permutation, each
member's learning rate in a device tensor of its own advanced by its own schedule, the
losses, grad norms and divergence checks in (N,) tensors. ``GroupSteps`` warms up,
captures, compares a replay with an eager step and falls back exactly as ``Steps``
does, and says so in every member's summary.

A member that ends (diverged, or stopped after grokking) stops updating: the graph that
stepped it is dropped and the next step captures the remaining members (and is checked
again).
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from grok_tui.config import Preset
from grok_tui.training.graphs import Capture, Steps, capture_blocker, lr_tensor, tensor_lr
from grok_tui.training.group.trainer import GroupTrainer
from grok_tui.training.optim import lr_factor_tensor


class GroupStaticStep:
    """One step of every active member on fixed memory, with no host decision inside."""

    def __init__(self, group: GroupTrainer, step_t: torch.Tensor, first_bad: torch.Tensor) -> None:
        self.group = group
        device, N = group.device, group.n
        self.step_t, self.first_bad = step_t, first_bad
        self.loss = torch.zeros(N, dtype=torch.float64, device=device)
        self.grad_norm = torch.zeros(N, dtype=torch.float64, device=device)
        members = group.members
        self.lrs = [lr_tensor(m.lr, device) for m in members]
        self.base_lrs = [float(m.scheduler.base_lrs[0]) for m in members]
        batchers = [m.batcher for m in members]
        first = batchers[0]
        if len({(b.n, b.batch_size, b.position) for b in batchers}) != 1:
            raise ValueError("a group's members draw batches of one shape at one position")
        self.full_batch = first.full_batch
        self.batch_size, self.batches_per_epoch = first.batch_size, first.batches_per_epoch
        # each member's permutation of this epoch, and the batch's (shared) position in it
        self.perms = torch.arange(first.n, device=device).repeat(N, 1)
        for row, b in zip(self.perms, batchers, strict=True):
            if b.perm is not None:
                row.copy_(b.perm)
        self.position = torch.full((), first.position, dtype=torch.int64, device=device)
        self.rows = torch.arange(self.batch_size, device=device)

    def advance_batch(self) -> None:
        """Host: every batcher moves on; a new epoch's permutations are copied in (device)."""
        for row, m in zip(self.perms, self.group.members, strict=True):
            if m.batcher.advance() == 0 and m.batcher.perm is not None:
                row.copy_(m.batcher.perm)

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        group = self.group
        if self.full_batch:
            return group.train_x, group.train_y
        idx = self.perms.index_select(1, self.rows + self.position * self.batch_size)
        self.position.add_(1).remainder_(self.batches_per_epoch)
        tokens = idx.unsqueeze(-1).expand(-1, -1, group.train_x.shape[-1])
        return group.train_x.gather(1, tokens), group.train_y.gather(1, idx)

    def body(self) -> None:
        """Batched forward and backward, each active member's update, the divergence
        checks and the schedules: device work only, results in fixed tensors."""
        group = self.group
        losses = group.compute_gradients(*self.batch())
        for i, member in enumerate(group.members):
            if group.active[i]:
                with tensor_lr(member.optimizer, self.lrs[i]):
                    norm = member.update_weights(want_grad_norm=True)
                assert norm is not None
                self.grad_norm[i].copy_(norm)
        self.loss.copy_(losses)
        self.step_t.add_(1)
        bad = (self.first_bad < 0) & ~torch.isfinite(self.loss)
        self.first_bad.copy_(torch.where(bad, self.step_t, self.first_bad))
        for i, member in enumerate(group.members):
            if group.active[i]:
                optim, steps = member.preset.optim, member.preset.train.steps
                self.lrs[i].copy_(self.base_lrs[i] * lr_factor_tensor(self.step_t, optim, steps))

    def finish(self) -> None:
        """Host: the counters a checkpoint and the records read, as apply_gradients keeps them."""
        group = self.group
        for i, member in enumerate(group.members):
            if group.active[i]:
                member.step += 1
                member.scheduler.step()
        group.step += 1

    def state(self) -> list[torch.Tensor]:
        """Every tensor a step changes (but the gradients, which it overwrites)."""
        tensors = [self.group.params.flat]
        for member in self.group.members:
            tensors += list(member.model.buffers())
            for per_param in member.optimizer.state.values():
                tensors += [v for v in per_param.values() if isinstance(v, torch.Tensor)]
            filt = member.grad_filter.state_dict() if member.grad_filter else {}
            for value in filt.values():
                if isinstance(value, list):
                    tensors += [v for v in value if isinstance(v, torch.Tensor)]
        own = [self.step_t, self.first_bad, self.loss, self.grad_norm, self.position]
        return tensors + own + self.lrs


class GroupSteps(Steps):
    """A group's steps: eager (GroupTrainer.train_step) or one replayed graph for all."""

    def __init__(self, group: GroupTrainer, capture: Capture | None = None) -> None:
        self.group = group
        self._setup(group.device, group.step, (group.n,), capture)

    @property
    def preset(self) -> Preset:
        return self.group.presets[0]  # cuda_graphs and every blocker are equal in a group

    def _reason(self) -> str | None:
        optimizers = [m.optimizer for m in self.group.members]
        return capture_blocker(self.preset, self.group.device, optimizers, self.capture)

    def _static(self) -> GroupStaticStep:
        return GroupStaticStep(self.group, self.step_t, self.first_bad)

    def _eager(self, want_grad_norm: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.group.train_step(want_grad_norm)

    def _static_norm(self, want_grad_norm: Any) -> torch.Tensor | None:
        return self.static.grad_norm  # every member's (the loop reads the ones it wants)

    def _release_grads(self) -> None:
        """The members' gradients are rows of the group's flat buffer already: kept."""

    def _save(self) -> Any:
        return copy.deepcopy([m.state_dict() for m in self.group.members])

    def _restore(self, saved: Any) -> None:
        group = self.group
        for view in group.params.list():
            view.grad = None  # a backward cut short leaves nothing to accumulate onto
        for member, state in zip(group.members, saved, strict=True):
            member.load_state_dict(state)
        group.step = group.members[0].step
        self.step_t.fill_(group.step)

    def _grads(self) -> list[torch.Tensor | None]:
        return []

    def _set_grads(self, grads: list[torch.Tensor | None]) -> None:
        pass

    def freeze(self, i: int) -> None:
        """Member i stops updating; a graph that stepped it is recaptured without it."""
        self.group.freeze(i)
        self.replay = None

"""N presets of one shape trained as one batched computation, each member as its solo run.

Each member is built exactly as its solo run (trainer.build_trainer: its seed, its split,
its initial weights, its batch order, its optimizer, schedule and Grokfast filter); then
its parameters are rebound onto the group's flat buffer (group/params.py). A step is one
batched forward and backward for every member (group/models.py, group/mlp_step.py), then
each member's own gradient processing and optimizer step on its row: the very code of
its solo run. So its hyperparameters (lr and warm-up, weight decay, betas, eps, Grokfast,
grad_clip over its own parameters, ⊥Grad) need no batched re-implementation and round as
in its solo run. That costs one fused optimizer call per member and step instead of one
batched update: small next to the forward and backward (bench/group.py).

The member Trainers stay the members' record keepers: their batchers, events, step
counts and state_dict (a solo checkpoint, loadable by the solo engine).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import torch

from grok_tui.config import Preset
from grok_tui.errors import RunError
from grok_tui.training.group.grouping import differences, why_not
from grok_tui.training.group.mlp_step import GroupFusedMLPStep
from grok_tui.training.group.models import group_model
from grok_tui.training.group.params import GroupParams
from grok_tui.training.trainer import Trainer, build_trainer, eval_chunk, resume_trainer


def check_group(presets: Sequence[Preset]) -> None:
    """Raise RunError, in one line, when these presets cannot train as one group."""
    if not presets:
        raise RunError("a group needs at least one preset")
    for preset in presets:
        reason = why_not(preset)
        if reason is not None:
            raise RunError(f"{preset.name}: cannot join a group: {reason}")
    for preset in presets[1:]:
        differ = differences(presets[0], preset)
        if differ:
            raise RunError(
                f"{preset.name} and {presets[0].name} differ in {', '.join(differ)}: not one group"
            )


@dataclasses.dataclass
class MemberTrainer(Trainer):
    """A member's solo Trainer whose steps and evaluations its group makes.

    loop.Session reports it as a solo run: its record() calls evaluate(), which hands
    back this member's share of the group's one batched evaluation at this step.
    """

    group: GroupTrainer | None = None
    index: int = 0

    def train_step(self, want_grad_norm: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        raise RuntimeError("a group member is stepped by its GroupTrainer")

    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        assert self.group is not None
        return self.group.member_evaluation(self.index, x is self.task.train_x)


class GroupTrainer:
    """Everything N runs of one shape need; `train_step` steps them all at once."""

    def __init__(
        self,
        presets: Sequence[Preset],
        device: str | torch.device | None = None,
        resume: Sequence[dict[str, Any] | None] | None = None,
    ) -> None:
        """``resume``: per member, its checkpoint (trainer.Trainer.state_dict) or None for
        step 0; every member of a group stands at one step."""
        check_group(presets)
        self.presets = list(presets)
        solos = [build_trainer(p, device) for p in presets]
        if resume is not None:
            if len(resume) != len(solos):
                raise ValueError(f"{len(resume)} checkpoints for {len(solos)} members")
            for solo, state in zip(solos, resume, strict=True):
                if state is not None:
                    resume_trainer(solo, state)
            steps = sorted({solo.step for solo in solos})
            if len(steps) > 1:
                raise RunError(
                    f"members stand at steps {', '.join(map(str, steps))}: a group resumes "
                    "from one step (group them by their checkpoints' steps)"
                )
        self.members: list[MemberTrainer] = [
            MemberTrainer(
                **{f.name: getattr(t, f.name) for f in dataclasses.fields(Trainer)},
                group=self,
                index=i,
            )
            for i, t in enumerate(solos)
        ]
        first = self.members[0]
        self.device = first.device
        self.steps = presets[0].train.steps
        self.step = first.step
        self.params = GroupParams([m.model for m in self.members])
        self.forward = group_model(first.model, self.params, presets[0].model.activation)
        self.fused_step = GroupFusedMLPStep.build(self.members, self.params)
        self.loss_fn = first.loss_fn
        self.autocast_dtype = first.autocast_dtype
        self.active = [True] * len(presets)  # a diverged or finished member stops updating
        self._evaluation: tuple[int, dict[bool, tuple[list[float], list[float]]]] | None = None

        def stacked(name: str) -> torch.Tensor:
            return torch.stack([getattr(m.task, name) for m in self.members])

        self.train_x, self.train_y = stacked("train_x"), stacked("train_y")
        self.test_x, self.test_y = stacked("test_x"), stacked("test_y")

    @property
    def n(self) -> int:
        return len(self.members)

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

    def train_step(
        self, want_grad_norm: bool | Sequence[bool]
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One optimizer step of every active member; device tensors only.

        Returns the losses (N,) and the grad norms (N,) before clipping, or None when no
        member computed one: a member computes its norm when it clips or when asked
        (want_grad_norm, for all or per member); the others' entries are NaN.
        """
        want = (
            [want_grad_norm] * self.n if isinstance(want_grad_norm, bool) else list(want_grad_norm)
        )
        losses = self.compute_gradients(*self.batch())
        norms = [
            member.apply_gradients(want[i]) if self.active[i] else None
            for i, member in enumerate(self.members)
        ]
        self.step += 1
        if all(n is None for n in norms):
            return losses.detach(), None
        dtype = next(n for n in norms if n is not None).dtype
        nan = torch.full((), math.nan, dtype=dtype, device=self.device)
        return losses.detach(), torch.stack([nan if n is None else n.to(dtype) for n in norms])

    def compute_gradients(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Batched forward, losses and backward: every member's gradient in the flat
        buffer; the losses (N,) on the device. No host read (group/graphs.py captures it)."""
        if self.fused_step is not None:
            return self.fused_step(x, y)  # writes the flat gradient
        with self._autocast():
            logits = self.forward(x)
        losses = self.losses(logits, y)
        losses.sum().backward()  # members share no parameter: each gets its own gradient
        self.params.collect_grads()
        return losses.detach()

    def freeze(self, i: int) -> None:
        """Member i stops updating (diverged, or done): its weights stay as they are now."""
        self.active[i] = False

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[list[float], list[float]]:
        """Per member, mean loss and accuracy over its whole split x (N, n, T), y (N, n).

        Chunked and summed as trainer.Trainer.evaluate does, member by member, so the
        numbers are its solo run's.
        """
        N, n = y.shape
        loss_sum = torch.zeros(N, device=self.device, dtype=torch.float64)
        correct = torch.zeros(N, device=self.device, dtype=torch.int64)
        chunk = eval_chunk(self.device)
        for start in range(0, n, chunk):
            xb, yb = x[:, start : start + chunk], y[:, start : start + chunk]
            with self._autocast():
                logits = self.forward(xb)
            logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
            for i in range(N):
                loss_sum[i] += self.loss_fn(logits[i], yb[i], reduction="sum").double()
            correct += (logits.argmax(-1) == yb).sum(1)
        count = max(1, n)
        return [s / count for s in loss_sum.tolist()], [c / count for c in correct.tolist()]

    def member_evaluation(self, i: int, train: bool) -> tuple[float, float]:
        """Member i's (loss, accuracy) on its train or test split at this step; the whole
        group is evaluated once per step, when the first member asks."""
        if self._evaluation is None or self._evaluation[0] != self.step:
            self._evaluation = (
                self.step,
                {
                    True: self.evaluate(self.train_x, self.train_y),
                    False: self.evaluate(self.test_x, self.test_y),
                },
            )
        losses, accs = self._evaluation[1][train]
        return losses[i], accs[i]

    def member_state_dict(self, i: int) -> dict[str, torch.Tensor]:
        """Member i's weights as its solo model's state_dict (copies), loadable by the solo engine."""
        state = self.members[i].model.state_dict()
        return {k: v.detach().clone() for k, v in state.items()}

    member_weights = member_state_dict  # the first version's name

    def state_dict(self, i: int) -> dict[str, Any]:
        """Member i's checkpoint in the solo engine's format (trainer.Trainer.state_dict)."""
        return self.members[i].state_dict()

"""The training loop of a group: one batched step, N members' records, events and sinks.

Each member reports through an engine.Session of its own, to its own sinks, exactly as
its solo run reports: the same records at the same steps, the same events, summaries,
checkpoints (in the solo format) and kept weights. A member that diverges, or stops
after grokking, ends there with the solo run's status and stops updating; the others
go on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from grok_tui.engine import Session, Sink
from grok_tui.group.trainer import GroupTrainer


class MemberSession(Session):
    """A member's Session; the group trainer evaluates, this one reports."""

    def __init__(self, group: GroupTrainer, i: int, sinks: list[Sink]) -> None:
        super().__init__(group.members[i], sinks, resumed=False)
        self.group = group
        self.i = i
        self.status = "running"
        self.stop_at = math.inf  # set once grok_step is known and stop_after_grok asks for it

    def member_record(
        self, train: tuple[float, float], test: tuple[float, float], param_norm: float
    ) -> dict[str, Any]:
        """The record its solo run writes at this step (engine.Session.record's keys)."""
        return {
            "step": self.group.step,
            "epoch": self.trainer.batcher.epoch,
            "train_loss": train[0],
            "train_acc": train[1],
            "test_loss": test[0],
            "test_acc": test[1],
            "lr": self.group.lrs()[self.i],
            "param_norm": param_norm,
            "grad_norm": float(self.grad_norm) if self.grad_norm is not None else None,
            "elapsed_s": round(self.elapsed(), 3),
        }

    def checkpoint(self) -> None:
        self.group.sync(self.i)
        super().checkpoint()

    def keep_weights(self) -> None:
        if self.tc.keeps_weights_at(self.group.step):
            self.group.sync(self.i)
            super().keep_weights()

    def finish(self, status: str) -> dict[str, Any]:
        """End this member's run with `status`; it trains no more."""
        self.status = status
        self.group.stop(self.i)
        self.trainer.step = self.group.step
        return self.end(status)


def train_group(
    group: GroupTrainer,
    sinks: Sequence[Sink | Sequence[Sink]],
    *,
    should_stop: Callable[[], bool] = lambda: False,
) -> list[dict[str, Any]]:
    """Train every member to its end (or a stop); return each member's final summary.

    sinks[i] are member i's sinks (one Sink, or a list). Statuses are the solo engine's:
    ``completed``, ``stopped`` (should_stop turned true: every member checkpointed),
    ``diverged`` (that member alone) or ``failed`` (an exception, re-raised after every
    member's sinks heard of it).
    """
    if len(sinks) != group.n:
        raise ValueError(f"{len(sinks)} sinks for {group.n} members")
    members = [
        MemberSession(group, i, list(s) if isinstance(s, Sequence) else [s])
        for i, s in enumerate(sinks)
    ]
    summaries: list[dict[str, Any] | None] = [None] * group.n
    running = lambda: [m for m in members if m.status == "running"]  # noqa: E731
    # The divergence check stays on the device: each member's first step with a non-finite loss.
    first_bad = torch.full((group.n,), -1, dtype=torch.int64, device=group.device)
    losses = torch.zeros(group.n, device=group.device)
    try:
        report(group, members)
        for m in members:
            m.keep_weights()
        while group.step < group.steps and running():
            if should_stop():
                for m in running():
                    m.status = "stopped"
                break
            evaluating = [m for m in running() if m.evaluates_after(group.step + 1)]
            losses, norms = group.train_step(want_grad_norm=bool(evaluating))
            step = torch.full((), group.step, dtype=torch.int64, device=group.device)
            first_bad = torch.where((first_bad < 0) & ~torch.isfinite(losses), step, first_bad)
            if norms is not None:
                for m in members:
                    m.grad_norm = norms[m.i]
            if evaluating:
                bad = first_bad.tolist()
                for m in evaluating:
                    if bad[m.i] >= 0:
                        m.summary["diverged_step"] = bad[m.i]
                        m.summary["error"] = (
                            f"non-finite training loss ({float(losses[m.i])}) at step {bad[m.i]}"
                        )
                        summaries[m.i] = m.finish("diverged")
                report(group, [m for m in evaluating if m.status == "running"])
            for m in running():
                m.keep_weights()
                tc = m.tc
                if group.step % tc.checkpoint_every == 0 and group.step < tc.steps:
                    m.checkpoint()
                if group.step >= m.stop_at:
                    m.summary["stopped_early"] = f"stop_after_grok = {tc.stop_after_grok}"
                    m.checkpoint()
                    summaries[m.i] = m.finish("completed")
        for m in members:
            if m.status in ("running", "stopped"):
                status = "completed" if m.status == "running" else "stopped"
                m.checkpoint()
                summaries[m.i] = m.finish(status)
    except BaseException as exc:
        for m in members:
            if m.status in ("running", "stopped"):
                m.trainer.step = group.step
                m.fail(exc)
        raise
    return [s for s in summaries if s is not None]


def report(group: GroupTrainer, members: Sequence[MemberSession]) -> None:
    """Evaluate the group once and hand each of `members` its record."""
    if not members:
        return
    train_loss, train_acc = group.evaluate(group.train_x, group.train_y)
    test_loss, test_acc = group.evaluate(group.test_x, group.test_y)
    norms = group.param_norms()
    for m in members:
        i = m.i
        m.emit(
            m.member_record((train_loss[i], train_acc[i]), (test_loss[i], test_acc[i]), norms[i])
        )
        tc, events = m.tc, m.trainer.events
        if events.grok_step is not None and tc.stop_after_grok is not None:
            m.stop_at = events.grok_step + tc.stop_after_grok

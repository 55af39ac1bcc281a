"""The training loop of a group: one batched step, N members' records, events and sinks.

Each member reports through a loop.Session of its own, to its own sinks, as
loop.train reports a solo run: the same records at the same steps, the same events,
summaries, checkpoints (in the solo format) and kept weights, in the same order. A
member that diverges, or stops after grokking, ends there with the solo run's status
and stops updating; the others go on. So does a member whose files cannot be written
(its run directory removed while it trains, a full disk): it ends ``failed`` alone.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from typing import Any

from grok_tui.config import Preset
from grok_tui.files import describe_os_error
from grok_tui.training.events import Sink
from grok_tui.training.graphs import Capture
from grok_tui.training.group.graphs import GroupSteps
from grok_tui.training.group.trainer import GroupTrainer
from grok_tui.training.loop import Session


def train_group(
    presets: Sequence[Preset] | GroupTrainer,
    sinks_per_member: Sequence[Sink | Sequence[Sink]],
    *,
    should_stop: Callable[[], bool] = lambda: False,
    device: str | None = None,
    resumed: bool = False,
    capture: Capture | None = None,
) -> list[dict[str, Any]]:
    """Train every member to its end (or a stop); return each member's final summary.

    sinks_per_member[i] are member i's sinks (one Sink, or a list). Statuses are the solo
    engine's: ``completed``, ``stopped`` (should_stop turned true: every running member
    checkpointed), ``diverged`` (that member alone) or ``failed`` (an exception,
    re-raised after every running member's sinks heard of it). ``resumed``: the members
    were loaded from their checkpoints (GroupTrainer's ``resume``), whose records through
    that step are on disk already. ``capture``: how the step becomes a CUDA graph (None:
    CUDA's; tests pass a stand-in that runs on the CPU), as in loop.train.
    """
    group = presets if isinstance(presets, GroupTrainer) else GroupTrainer(presets, device)
    if len(sinks_per_member) != group.n:
        raise ValueError(f"{len(sinks_per_member)} sink lists for {group.n} members")
    sessions = [
        Session(member, list(s) if isinstance(s, Sequence) else [s], resumed=resumed)
        for member, s in zip(group.members, sinks_per_member, strict=True)
    ]
    status = ["running"] * group.n
    summaries: list[dict[str, Any]] = [{} for _ in sessions]
    stop_at = [math.inf] * group.n  # set once grok_step is known and stop_after_grok asks
    clips = [m.preset.optim.grad_clip is not None for m in group.members]
    # eager, or one CUDA graph for the group once warmed up and checked; the divergence
    # check stays on the device (each member's first step with a non-finite loss)
    steps = GroupSteps(group, capture)
    steps.report_to([session.summary for session in sessions])

    def running() -> list[int]:
        return [i for i, s in enumerate(status) if s == "running"]

    def finish(i: int, how: str) -> None:
        status[i] = how
        steps.freeze(i)
        if how != "diverged":
            sessions[i].checkpoint()
        summaries[i] = sessions[i].end(how)

    def drop(i: int, exc: OSError) -> None:
        """Member i's files cannot be written (its run directory was removed, its disk is
        full): it ends failed, alone, as far as its sinks can still hear; the others go on."""
        status[i] = "failed"
        steps.freeze(i)
        session = sessions[i]
        where = f" {exc.filename}" if exc.filename else ""
        session.summary.update(
            status="failed",
            step=session.trainer.step,
            error=f"cannot write{where}: {describe_os_error(exc)}; the others go on",
        )
        for sink in session.sinks:
            with contextlib.suppress(OSError):  # its own directory: gone, most likely
                sink.on_end(session.summary)
        summaries[i] = session.summary

    def after_step(i: int, evaluating: bool, norms: Any, losses: Any, bad: list[int]) -> None:
        """Member i after the group's step: its record, events, weights and end."""
        session, tc = sessions[i], group.members[i].preset.train
        if norms is not None and (evaluating or clips[i]):
            session.grad_norm = norms[i]
        if evaluating:
            if bad[i] >= 0:
                session.summary["diverged_step"] = bad[i]
                session.summary["error"] = (
                    f"non-finite training loss ({float(losses[i])}) at step {bad[i]}"
                )
                finish(i, "diverged")
                return
            session.emit(session.record())
            events = group.members[i].events
            if events.grok_step is not None and tc.stop_after_grok is not None:
                stop_at[i] = events.grok_step + tc.stop_after_grok
        session.keep_weights()
        if group.step % tc.checkpoint_every == 0 and group.step < tc.steps:
            session.checkpoint()
        if group.step >= stop_at[i]:
            session.summary["stopped_early"] = f"stop_after_grok = {tc.stop_after_grok}"
            finish(i, "completed")
        elif group.step >= tc.steps:
            finish(i, "completed")

    try:
        for i, session in enumerate(sessions if not resumed else ()):
            try:
                session.emit(session.record())
                session.keep_weights()
            except OSError as exc:
                drop(i, exc)
        while running():
            if should_stop():
                for i in running():
                    try:
                        finish(i, "stopped")
                    except OSError as exc:
                        drop(i, exc)
                break
            live = running()
            ahead = group.step + 1
            evaluating = [i in live and sessions[i].evaluates_after(ahead) for i in range(group.n)]
            norms = steps.step(want_grad_norm=evaluating)
            losses = steps.loss
            assert losses is not None
            bad = steps.first_bad.tolist() if any(evaluating) else []
            for i in live:
                try:
                    after_step(i, evaluating[i], norms, losses, bad)
                except OSError as exc:
                    drop(i, exc)
    except BaseException as exc:
        for i in running():
            sessions[i].fail(exc)
        raise
    return summaries

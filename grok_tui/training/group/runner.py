"""Run directories trained as vectorised groups: ``grok-tui --resume RUN RUN...``.

The sweep executor starts one such process per group it plans (sweep/groups.py); a user
may too. Each member is an ordinary run directory with its own lock, frozen preset,
records, summary, log and checkpoint (the solo format, so ``grok-tui --resume`` of one
member works alone); its summary gains ``group: {id, index, size}``. Members are
regrouped here by the step of their checkpoints (a kill -9 can leave a group between two
members' checkpoint writes), and a group larger than its device's memory is cut in
parts (group/memory.py), each said in one line.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from grok_tui.config import Preset
from grok_tui.errors import UserError
from grok_tui.rundirs import layout, store
from grok_tui.text import safe_text
from grok_tui.training.runner import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_STOPPED,
    RunDirSink,
    StopFlag,
    check_device,
    claim,
    end_code,
    failure,
    load_resume,
)


@dataclass
class Member:
    """A run directory to train in a group: its frozen preset and its checkpoint."""

    run: store.RunDir
    preset: Preset
    checkpoint: dict[str, Any] | None

    @property
    def step(self) -> int:
        return int(self.checkpoint["step"]) if self.checkpoint else 0


class EventLines:
    """A member's sink for the group's output: its events and its end, one line each."""

    def __init__(self, label: str, out: TextIO) -> None:
        self.label, self.out = label, out
        self.seen: set[str] = set()

    def on_start(self, info: dict[str, Any]) -> None:
        pass

    def on_record(self, record: dict[str, Any], summary: dict[str, Any]) -> None:
        for name in ("fit_step", "grok_step"):
            if summary.get(name) == record["step"] and name not in self.seen:
                self.seen.add(name)
                self._say(f"{self.label} event {name} = {record['step']}")

    def on_checkpoint(self, state: dict[str, Any]) -> None:
        pass

    def on_end(self, summary: dict[str, Any]) -> None:
        final = summary.get("final") or {}
        accs = (
            f" · train {final['train_acc']:.3f} test {final['test_acc']:.3f}"
            if "train_acc" in final and "test_acc" in final
            else ""
        )
        error = f" · {summary['error']}" if summary.get("error") else ""
        self._say(
            f"{self.label} {summary.get('status')} at step {summary.get('step')} · "
            f"fit {_opt(summary.get('fit_step'))} grok {_opt(summary.get('grok_step'))}"
            f"{accs}{error}"
        )

    def _say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()


def _opt(value: Any) -> str:
    return "-" if value is None else str(value)


def by_step(members: Sequence[Member]) -> list[list[Member]]:
    """Members in groups of one step each (a group resumes from one step), in order."""
    steps: dict[int, list[Member]] = {}
    for member in members:
        steps.setdefault(member.step, []).append(member)
    return list(steps.values())


def execute_group(
    runs: Sequence[store.RunDir],
    *,
    device: str | None = None,
    stop: StopFlag | None = None,
    force: bool = False,
    out: TextIO | None = None,
) -> int:
    """Train (or continue) these run directories as vectorised groups; the exit code.

    0 when every member completed, 130 when stopped, 1 when one failed or diverged, 2
    when the runs cannot be trained here (locked, completed, not one group: nothing is
    trained then).
    """
    from grok_tui.training.group.grouping import differences, why_not

    out = out or sys.stdout
    own_stop = stop is None  # then Ctrl-C and SIGTERM stop the group (installed below)
    stop = stop or StopFlag()
    with contextlib.ExitStack() as locks:
        try:
            members: list[Member] = []
            for run in runs:
                locks.enter_context(claim(run))
                preset, checkpoint = load_resume(run, force=force)
                if device:
                    from grok_tui.config import with_overrides

                    with_overrides(preset, [("train.device", device)])
                members.append(Member(run, preset, checkpoint))
            check_device(members[0].preset, device)
            for member in members:
                reason = why_not(member.preset)
                if reason is not None:
                    raise UserError(f"{member.run.run_id} cannot join a group: {reason}")
                differ = differences(members[0].preset, member.preset)
                if differ:
                    raise UserError(
                        f"{member.run.run_id} and {members[0].run.run_id} differ in "
                        f"{', '.join(differ)}: they are not one group"
                    )
        except UserError as exc:
            print(f"error: {safe_text(str(exc), multiline=True)}", file=sys.stderr)
            return EXIT_BAD_INPUT
        if own_stop:
            stop.install()
        codes: list[int] = []
        parts = [p for same_step in by_step(members) for p in _fit(same_step, device, out)]
        if len(parts) > 1:
            out.write(
                f"{len(members)} members train as {len(parts)} groups, one after another: "
                + ", ".join(f"{len(p)} from step {p[0].step}" for p in parts)
                + "\n"
            )
        for part in parts:
            if stop():
                break
            codes.append(_train_part(part, device, stop, out))
    if not codes:
        return EXIT_STOPPED
    return max(codes, key=lambda c: (c == EXIT_FAILED, c == EXIT_STOPPED, c))


def _fit(members: list[Member], device: str | None, out: TextIO) -> list[list[Member]]:
    """The members cut in parts that fit the device's memory, said when cut."""
    from grok_tui.training.group.memory import max_members

    limit, why = max_members([m.preset for m in members], device)
    if len(members) <= limit:
        return [members]
    parts = [members[i : i + limit] for i in range(0, len(members), limit)]
    out.write(
        f"a group of {len(members)} does not fit ({why}): {len(parts)} groups of <= {limit}\n"
    )
    return parts


def _train_part(members: list[Member], device: str | None, stop: StopFlag, out: TextIO) -> int:
    from grok_tui.training.group.loop import train_group
    from grok_tui.training.group.trainer import GroupTrainer
    from grok_tui.training.progress import ProgressSink
    from grok_tui.training.torch_threads import thread_share
    from grok_tui.training.trackers import tracker_sinks

    group_id = f"group-{members[0].run.run_id}"
    resumed = members[0].checkpoint is not None
    sinks: list[list[Any]] = []
    run_sinks: list[RunDirSink] = []
    # one thread share for the group's process (its step is every member's work); each
    # member's summary says its choice, so it comes before the member's run sink
    threads = thread_share(_threads_dir(members[0].run), members=len(members))
    for index, member in enumerate(members):
        run_sink = RunDirSink(member.run, resumed_step=member.step if resumed else -1)
        run_sink.summary["group"] = {"id": group_id, "index": index, "size": len(members)}
        run_sinks.append(run_sink)
        label = safe_text(f"#{index} {member.run.run_id}")
        extra: list[Any] = [EventLines(label, out)]
        if index == 0:  # one progress line for the group's process
            extra.append(ProgressSink(member.preset.train.steps, out))
        # each member logs to its preset's trackers as its solo run would (after its files)
        runs_dir = _threads_dir(member.run)
        in_sweep = runs_dir != member.run.path.parent
        group_name = member.run.path.parent.name if in_sweep else None
        live = tracker_sinks(member.preset, member.run, runs_dir, group=group_name)
        sinks.append([threads if index == 0 else threads.echo(), run_sink, *extra, *live])
    where = f"step {members[0].step}" if resumed else "step 0"
    out.write(safe_text(f"group {group_id} · {len(members)} members · from {where}") + "\n")
    out.flush()
    try:
        group = GroupTrainer(
            [m.preset for m in members],
            device,
            resume=[m.checkpoint for m in members] if resumed else None,
        )
        summaries = train_group(group, sinks, should_stop=stop, resumed=resumed)
    except BaseException as exc:
        for run_sink in run_sinks:
            run_sink.metrics.close()
        code, message, _ = failure(exc, _out_of_memory)
        print(f"error: {safe_text(message, multiline=True)}", file=sys.stderr)
        for member in members:
            with contextlib.suppress(OSError):
                summary = member.run.summary()
                if summary.get("status") != store.FAILED or not summary.get("error"):
                    store.update_summary(
                        member.run.path,
                        status=store.FAILED,
                        error=message,
                        ended_at=store.now_iso(),
                    )
        if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: on their way
            raise
        return code
    # a member's status as the group process's exit code: the worst wins (as execute_group)
    return max((end_code(s.get("status", "")) for s in summaries), default=0)


def _out_of_memory(exc: BaseException) -> str:
    """What to do when a group does not fit its device (runner.failure's one line)."""
    return (
        f"the device ran out of memory: {str(exc).splitlines()[0][:200]}; "
        "resume with a smaller --vectorize"
    )


def _threads_dir(run: store.RunDir) -> Any:
    return layout.runs_folder(run.path)

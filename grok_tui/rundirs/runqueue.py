"""The run queue: runs that wait in a runs directory for a free slot on their device.

``RUNS/queue.json`` holds the order and the slots per device (how many runs may be live
there at once; runs started by hand count too). Each entry is a run directory already
made with status ``queued``, so its frozen preset is on disk and History lists it. One
detached queue runner per runs directory (``grok-tui queue run``, an OS lock) starts the
first entry whose device has a free slot, as ``--resume`` of a run without a checkpoint,
and ends when the queue is empty; being its own process, the queue goes on after the TUI
closes. Every edit of queue.json is a read-modify-write under a second lock, so the TUI,
the CLI and the runner never undo each other's edits. A damaged queue.json is an error
that names it, and nothing rewrites it until it is fixed or rebuilt. Torch-free.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, StringConstraints, ValidationError, field_validator

from grok_tui import files
from grok_tui.config import Preset, with_overrides
from grok_tui.config.devices import DEVICE_KEY, DEVICE_KEYS, DEVICE_NAME, DEVICE_NAMES, device_key
from grok_tui.errors import UserError
from grok_tui.rundirs import launch, ondisk, ownership, store, watch
from grok_tui.rundirs.layout import QUEUE_FILE

LOCK_NAME = ".queue.lock"  # held for one read-modify-write of queue.json
RUNNER_LOCK = ".queue-runner.lock"  # held by the one queue runner of a runs directory
DEFAULT_SLOTS = 1
MAX_SLOTS = 1024
MAX_DEVICE_KEY = 32  # characters of a slot pool's name: cuda:N
POLL_S = 1.0
LOCK_TIMEOUT_S = 10.0


class QueueError(UserError):
    """The queue cannot be used as asked: queue.json damaged, an entry that is not there."""


class QueueBusyError(QueueError):
    """Another process kept the queue's lock for too long."""


# queue.json is read from disk (ondisk.py): every field is bounded, other fields pass
# through bounded as free JSON.
DeviceKey = Annotated[str, StringConstraints(max_length=MAX_DEVICE_KEY)]


class QueueEntry(ondisk.Untrusted):
    """One waiting run, by the id of its run directory (directly under the runs directory)."""

    run: ondisk.DirName = Field(
        description="the queued run's directory name, under the runs directory"
    )
    device: DeviceKey = Field(description="the slot pool it waits for: cpu, mps or cuda:N")
    added_at: ondisk.Word | None = Field(None, description="when it was queued (ISO 8601)")

    @field_validator("run")
    @classmethod
    def _plain_name(cls, run: str) -> str:
        # queue.json is read from disk: an entry never leads out of the runs directory
        if run in ("", ".", "..") or "/" in run or "\\" in run or "\0" in run:
            raise ValueError(f"not a run directory's name: {run!r}")
        return run

    @field_validator("device")
    @classmethod
    def _device_key(cls, device: str) -> str:
        if not DEVICE_KEY.fullmatch(device):
            raise ValueError(f"device must be {DEVICE_KEYS}, got {device!r}")
        return device


class QueueState(ondisk.Untrusted):
    """queue.json: the entries in the order they start, and the slots of each device."""

    slots: dict[DeviceKey, Annotated[int, Field(ge=0, le=MAX_SLOTS)]] = Field(
        default_factory=dict,
        max_length=ondisk.MAX_ITEMS,
        description=f"runs live at once per device (a device not named: {DEFAULT_SLOTS})",
    )
    entries: list[QueueEntry] = Field(
        default_factory=list, max_length=ondisk.MAX_ITEMS, description="first starts first"
    )

    @field_validator("entries")
    @classmethod
    def _each_run_once(cls, entries: list[QueueEntry]) -> list[QueueEntry]:
        seen: set[str] = set()
        for entry in entries:
            if entry.run in seen:
                raise ValueError(f"run {entry.run!r} is queued twice")
            seen.add(entry.run)
        return entries

    def slots_for(self, device: str) -> int:
        return self.slots.get(device, DEFAULT_SLOTS)

    def index(self, run_id: str) -> int:
        """Where a run waits (0 first); QueueError when it does not wait here."""
        for index, entry in enumerate(self.entries):
            if entry.run == run_id:
                return index
        raise QueueError(f"run {run_id} is not in the queue (started, or removed, meanwhile?)")


# -- devices -------------------------------------------------------------------------


def checked_device(device: str) -> str:
    """A device the user named, as a slot pool; QueueError for anything else."""
    if not DEVICE_NAME.fullmatch(device.strip()):
        raise QueueError(f"device must be {DEVICE_NAMES}, got {device!r}")
    return device_key(device.strip())


def run_device(run: store.RunDir, summary: dict[str, Any]) -> str:
    """The slot pool a run takes: the device its trainer reported (or the queue wrote),
    else its preset's train.device."""
    device = summary.get("device")
    if not isinstance(device, str) or not device.strip():
        try:
            device = store.read_run_preset_raw(run).get("train", {}).get("device", "auto")
        except (UserError, AttributeError):
            device = "auto"
    return device_key(str(device))


def live_devices(runs_dir: str | Path, scanner: watch.LiveRunScanner | None = None) -> list[str]:
    """The slot pool of each live run of the runs directory (sweep points included)."""
    scanner = scanner or watch.LiveRunScanner(Path(runs_dir))
    return [run_device(run, run.summary()) for run in scanner.scan()]


# -- queue.json ------------------------------------------------------------------------


def queue_path(runs_dir: str | Path) -> Path:
    return Path(runs_dir) / QUEUE_FILE


def _damaged(path: Path, reason: str, line: int | None = None) -> QueueError:
    return QueueError(
        f"{reason}; the queue is left as it is: fix the file, or run `grok-tui queue "
        "rebuild` to queue again every run that waits (the damaged file is kept)",
        file=path,
        line=line,
    )


def read_queue(runs_dir: str | Path) -> QueueState:
    """The queue (empty when there is no queue.json); QueueError when it is damaged."""
    path = queue_path(runs_dir)
    try:
        text = files.read_text(path, files.MAX_JSON_BYTES)
    except FileNotFoundError:
        return QueueState()
    except OSError as exc:
        raise _damaged(path, f"cannot read: {files.describe_os_error(exc)}") from None
    except UnicodeDecodeError:
        raise _damaged(path, "not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _damaged(path, f"not valid JSON ({exc.msg})", exc.lineno) from None
    except (ValueError, RecursionError):
        raise _damaged(path, "not valid JSON") from None
    if not isinstance(data, dict):
        raise _damaged(path, f"holds a {type(data).__name__}, not an object")
    try:
        return QueueState.model_validate(data)
    except ValidationError as exc:
        raise _damaged(path, store.validation_reason(exc)) from None


def write_queue(runs_dir: str | Path, state: QueueState) -> None:
    store.write_json_atomic(queue_path(runs_dir), state.model_dump(mode="json"))


@contextlib.contextmanager
def locked(runs_dir: str | Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the queue's lock for one read-modify-write (never nested in one process: a
    second flock of the same file waits for the first)."""
    runs_dir = Path(runs_dir)
    lock = ownership.FileLock(runs_dir, LOCK_NAME)
    deadline = time.monotonic() + timeout
    while True:
        try:
            files.make_dirs(runs_dir)
            lock.acquire()
            break
        except ownership.LockedError as exc:
            if time.monotonic() > deadline:
                raise QueueBusyError(
                    f"the queue is busy ({exc}); try again", file=queue_path(runs_dir)
                ) from None
            time.sleep(0.02)
        except OSError as exc:
            raise QueueError(
                f"cannot lock the queue: {files.describe_os_error(exc)}", file=runs_dir / LOCK_NAME
            ) from None
    try:
        yield
    finally:
        lock.release()


# -- edits -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Queued:
    """A run just queued: its directory, its place (1 first) and its slot pool."""

    run: store.RunDir
    position: int
    device: str


def enqueue(runs_dir: str | Path, preset: Preset, *, device: str | None = None) -> Queued:
    """Make the run directory (status queued, frozen preset) and put it last in the queue.

    ``device`` overrides the preset's train.device (frozen so). A damaged queue raises
    before anything is made.
    """
    if device is not None:
        checked_device(device)
        preset = with_overrides(preset, [("train.device", device.strip())])
    key = device_key(preset.train.device)
    with locked(runs_dir):
        state = read_queue(runs_dir)
        run = store.create_run(preset, runs_dir, extra={"status": store.QUEUED, "device": key})
        state.entries.append(QueueEntry(run=run.run_id, device=key, added_at=store.now_iso()))
        try:
            write_queue(runs_dir, state)
        except OSError:
            with contextlib.suppress(OSError):  # not queued: no stray run directory
                files.rmtree(run.path)
            raise
    return Queued(run, len(state.entries), key)


def move(runs_dir: str | Path, run_id: str, delta: int) -> int:
    """Move an entry ``delta`` places later (negative: sooner), within the queue; its new
    position (1 first). Relative to where it is now, as the runner may have started the
    entries before it meanwhile."""
    with locked(runs_dir):
        state = read_queue(runs_dir)
        index = state.index(run_id)
        entry = state.entries.pop(index)
        new = max(0, min(len(state.entries), index + delta))
        state.entries.insert(new, entry)
        if new != index:
            write_queue(runs_dir, state)
    return new + 1


def take(runs_dir: str | Path, run_id: str) -> store.RunDir:
    """Take an entry out of the queue and keep its run directory (to start it now)."""
    with locked(runs_dir):
        state = read_queue(runs_dir)
        state.entries.pop(state.index(run_id))
        write_queue(runs_dir, state)
    return store.RunDir(Path(runs_dir) / run_id)


def remove(runs_dir: str | Path, run_id: str) -> bool:
    """Take an entry out of the queue and delete its run directory, which never trained
    (a frozen preset and a summary); False when the directory was kept (it trained
    meanwhile, or is gone)."""
    with locked(runs_dir):
        state = read_queue(runs_dir)
        state.entries.pop(state.index(run_id))
        write_queue(runs_dir, state)
        run = store.RunDir(Path(runs_dir) / run_id)
        if not run.exists() or run.summary().get("status") != store.QUEUED:
            return False
        try:
            store.delete_run(run)  # under the run's lock: never one that a trainer holds
        except (UserError, OSError):
            return False
    return True


def set_slots(runs_dir: str | Path, device: str, count: int) -> str:
    """How many runs may be live at once on a device (0 pauses it); its slot pool."""
    key = checked_device(device)
    if not 0 <= count <= MAX_SLOTS:
        raise QueueError(f"slots must be 0 (paused) to {MAX_SLOTS}, got {count}")
    with locked(runs_dir):
        state = read_queue(runs_dir)
        state.slots[key] = count
        write_queue(runs_dir, state)
    return key


def run_at(runs_dir: str | Path, position: int) -> str:
    """The run id at a position (1 first), for commands that name entries by number."""
    entries = read_queue(runs_dir).entries
    if not 1 <= position <= len(entries):
        held = f"holds {len(entries)}" if entries else "is empty"
        raise QueueError(f"no entry {position}: the queue {held}")
    return entries[position - 1].run


def rebuild(runs_dir: str | Path) -> tuple[int, Path | None]:
    """Queue again every run directory with status queued, oldest first, after a
    queue.json that does not read is moved aside (kept); (entries, where it was moved).

    The slots of a readable queue.json are kept; a damaged one's are lost (set them again).
    """
    runs_dir = Path(runs_dir)
    with locked(runs_dir):
        kept: Path | None = None
        try:
            state = read_queue(runs_dir)
        except QueueError:
            path = queue_path(runs_dir)
            kept = path.with_name(f"{QUEUE_FILE}.damaged-{datetime.now():%Y%m%d-%H%M%S}")
            files.rename(path, kept.name)
            state = QueueState()
        known = {entry.run for entry in state.entries}
        for run in store.iter_run_dirs(runs_dir):
            summary = run.summary()
            waits_here = run.path.parent == runs_dir and run.run_id not in known
            if waits_here and summary.get("status") == store.QUEUED:
                state.entries.append(QueueEntry(run=run.run_id, device=run_device(run, summary)))
        write_queue(runs_dir, state)
    return len(state.entries), kept


# -- what starts next --------------------------------------------------------------------


def next_to_start(state: QueueState, live: Sequence[str]) -> QueueEntry | None:
    """The first entry whose device has fewer live runs (``live``: one slot pool per live
    run) than slots; None when every device it waits for is full. Each device keeps its
    own order: a GPU entry need not wait behind a full CPU."""
    busy = Counter(live)
    for entry in state.entries:
        if busy[entry.device] < state.slots_for(entry.device):
            return entry
    return None


def waits(state: QueueState, live: Sequence[str]) -> list[str]:
    """Why each entry waits, in order: 'next' for those that start at the next look."""
    busy = Counter(live)
    reasons = []
    for entry in state.entries:
        slots = state.slots_for(entry.device)
        if slots == 0:
            reasons.append(f"paused: {entry.device} has 0 slots")
        elif busy[entry.device] < slots:
            busy[entry.device] += 1
            reasons.append("next")
        else:
            reasons.append(f"waits for a {entry.device} slot")
    return reasons


def slots_line(state: QueueState, live: Sequence[str]) -> str:
    """'cpu 1/2 live, cuda:0 0/1 live': each device that the queue or a live run names."""
    devices = sorted({*state.slots, *(e.device for e in state.entries), *live})
    shown = devices or [device_key("auto")]
    return ", ".join(f"{d} {list(live).count(d)}/{state.slots_for(d)} live" for d in shown)


def _no_longer_waits(runs_dir: Path, entry: QueueEntry) -> str | None:
    """Why an entry is to be dropped (its run was deleted, or started by hand), or None."""
    run = store.RunDir(runs_dir / entry.run)
    if not run.exists():
        return "its run directory is gone"
    summary = run.summary()
    if summary.get("status") != store.QUEUED:
        return f"it is {store.effective_status(summary, run.path)} now"
    return None


# -- the runner ------------------------------------------------------------------------


def tick(
    runs_dir: str | Path,
    start: Callable[[store.RunDir], object],
    live: Callable[[], list[str]],
    log: Callable[[str], None] = print,
    on_empty: Callable[[], None] | None = None,
) -> int:
    """One look at the queue: drop entries that no longer wait, start each that has a
    slot; the entries left. ``on_empty`` runs under the queue's lock when none is left
    (the runner lets go of its own lock there, so an entry added just after finds no
    runner and starts one)."""
    runs_dir = Path(runs_dir)
    with locked(runs_dir):
        state = read_queue(runs_dir)
        waiting = []
        for entry in state.entries:
            why = _no_longer_waits(runs_dir, entry)
            if why:
                log(f"dropped {entry.run}: {why}")
            else:
                waiting.append(entry)
        changed = len(waiting) != len(state.entries)
        state.entries = waiting
        busy = live() if waiting else []
        while (entry := next_to_start(state, busy)) is not None:
            state.entries.remove(entry)
            changed = True
            busy.append(entry.device)
            in_use = f"{busy.count(entry.device)}/{state.slots_for(entry.device)}"
            _start(runs_dir, entry, start, log, in_use)
        if changed:
            write_queue(runs_dir, state)
        if not state.entries and on_empty is not None:
            on_empty()
        return len(state.entries)


def check_startable(run: store.RunDir) -> None:
    """QueueError saying why a queued run cannot start: its frozen preset no longer reads
    or validates (edited, damaged, replaced by a link), as 'preset.toml:6: data.p: ...'.
    Its trainer would end at once, before it reports, and the run would read ``crashed``
    with no reason; the runner marks it failed with this one instead."""
    try:
        store.load_run_preset(run)
    except UserError as exc:  # a schema error per line: the first one, and how many more
        text = str(exc).replace(str(run.preset_path), store.PRESET_FILE)  # its own: short
        lines = text.splitlines() or [type(exc).__name__]
        more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
        raise QueueError(f"{lines[0]}{more}") from None


def _start(
    runs_dir: Path,
    entry: QueueEntry,
    start: Callable[[store.RunDir], object],
    log: Callable[[str], None],
    use: str,
) -> None:
    run = store.RunDir(runs_dir / entry.run)
    try:
        check_startable(run)
        start(run)
    except (OSError, RuntimeError, UserError) as exc:
        log(f"could not start {entry.run}: {exc}")
        with contextlib.suppress(OSError):
            store.update_summary(
                run.path,
                status=store.FAILED,
                error=f"the queue could not start it: {exc}",
                ended_at=store.now_iso(),
            )
        return
    log(f"started {entry.run} on {entry.device} ({use} slots in use)")


def serve(
    runs_dir: str | Path,
    *,
    start: Callable[[store.RunDir], object] = launch.resume_run,
    live: Callable[[], list[str]] | None = None,
    poll_s: float = POLL_S,
    should_stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = print,
) -> int:
    """The queue runner: look every ``poll_s`` seconds, start what fits, end when the
    queue is empty (0), on a damaged queue (2, the error logged) or when asked (130).
    A second runner of the same runs directory ends at once (0)."""
    runs_dir = Path(runs_dir)
    runner_lock = ownership.DirLock(runs_dir, RUNNER_LOCK, user_folder=True)
    try:
        files.make_dirs(runs_dir)
        runner_lock.acquire()
    except ownership.LockedError as exc:
        who = exc.holder.describe() if exc.holder else "another process"
        log(f"a queue runner already serves {runs_dir} ({who})")
        return 0
    if live is None:
        scanner = watch.LiveRunScanner(runs_dir)

        def live() -> list[str]:
            return live_devices(runs_dir, scanner)

    log(f"queue runner {os.getpid()}: serving {runs_dir} ({store.now_iso()})")
    try:
        while not should_stop():
            try:
                left = tick(runs_dir, start, live, log, on_empty=runner_lock.release)
            except QueueBusyError as exc:
                log(f"{exc}: looking again")
                left = -1
            except QueueError as exc:
                log(f"error: {exc}")
                return 2
            launch.reap_children()
            if left == 0:
                log(f"the queue is empty: the runner ends ({store.now_iso()})")
                return 0
            sleep(poll_s)
        log("stopped: the queue waits for the next runner")
        return 130
    finally:
        runner_lock.release()


def runner_pid(runs_dir: str | Path) -> int | None:
    """The pid of the runner that provably serves the runs directory now, else None."""
    holder = ownership.live_holder(runs_dir, RUNNER_LOCK)
    return holder.pid if holder else None


def wants_runner(runs_dir: str | Path) -> bool:
    """Entries wait and no runner serves them (QueueError when queue.json is damaged)."""
    if not os.path.lexists(queue_path(runs_dir)):
        return False
    return bool(read_queue(runs_dir).entries) and runner_pid(runs_dir) is None


# Runners this process started, by runs directory: one counts as serving while it lives,
# since it takes its lock only once its interpreter is up.
_started: dict[Path, ownership.Identity] = {}


_starting = threading.Lock()


def ensure_runner(runs_dir: str | Path, start: Callable[[Path], int] | None = None) -> int | None:
    """Start a queue runner (``start(runs_dir)`` gives its pid; start_runner when None) when
    entries wait and none serves them; the new runner's pid, else None. QueueError when
    queue.json is damaged."""
    start = start or start_runner
    key = Path(runs_dir).resolve()
    with _starting:  # the TUI asks from its poll and from a queueing worker at once
        mine = _started.get(key)
        if mine is not None and ownership.is_alive(mine):
            return None
        if not wants_runner(runs_dir):
            return None
        pid = start(Path(runs_dir))
        _started[key] = ownership.identity_of(pid)
        return pid


# The queue runner of a runs directory (serve() in `grok-tui queue run`); the directory follows.
QUEUE_COMMAND: list[str] = [sys.executable, "-m", "grok_tui", "queue", "run", "--runs-dir"]


def start_runner(runs_dir: Path) -> int:
    """Start the queue runner of a runs directory, detached, so that the queue goes on
    after the TUI closes; its pid. Its lines go to RUNS/logs/queue.log."""
    logs = launch.logs_dir(runs_dir)
    return launch.spawn_detached(
        [*QUEUE_COMMAND, str(Path(runs_dir).resolve())], logs / "queue.log"
    )


def stop_runner(runs_dir: Path) -> bool:
    """SIGTERM the queue runner of a runs directory (proven: its lock's live holder): it
    starts nothing more and ends; the queue waits, its run directories kept, for the next
    runner."""
    pid = runner_pid(runs_dir)
    return pid is not None and launch.terminate(pid)

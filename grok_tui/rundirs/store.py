"""The run directory on disk: the single source of truth for a run (DESIGN.md rule 1).

A run is a folder ``<runs_dir>/<run_id>/`` holding ``preset.toml`` (resolved),
``metrics.jsonl`` (one record per evaluation, appended and flushed), ``summary.json``
(rewritten atomically), ``checkpoint.pt`` and ``log.txt`` for a detached run.
This module never imports torch at import time: the TUI reads runs through it. Nor
pydantic: the presets (grok_tui.config) and the models of what is read back (ondisk.py)
are imported by the functions that read or validate a file, and ownership.py (processes,
locks) by those that ask about a live run or a lock, so that a listing served by the
runs index (``grok-tui runs``) loads none of them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from grok_tui import files
from grok_tui.errors import RunBusyError, RunNotFoundError, UserError
from grok_tui.rundirs.layout import (  # the names of a run directory (kept importable here)
    CHECKPOINT_FILE,
    DEFAULT_RUNS_DIR,
    LOG_FILE,
    METRICS_FILE,
    NOTE_FILE,
    PRESET_FILE,
    SNAPSHOT_DIR,
    SUMMARY_FILE,
)

# Statuses a summary can hold. "running" is only true while its process lives:
# see effective_status().
CREATED, STARTING, RUNNING, COMPLETED, STOPPED, FAILED, DIVERGED, CRASHED = (
    "created",
    "starting",  # a launcher spawned its process, which has not reported yet
    "running",
    "completed",
    "stopped",
    "failed",
    "diverged",
    "crashed",
)
# Waits in the runs directory's queue (grok_tui/rundirs/runqueue.py): neither live nor finished;
# the queue runner starts it (as --resume of a run without a checkpoint) when a slot frees.
QUEUED = "queued"
FINISHED_STATUSES = (COMPLETED, STOPPED, FAILED, DIVERGED, CRASHED)
LIVE_STATUSES = (STARTING, RUNNING)
UNREADABLE = "unreadable"  # a run directory whose files are not what grok-tui writes


# What is read from a run directory is checked to its bounds before anything uses it: the
# models live in ondisk.py, beside those of every other file the product reads. They are
# pydantic models, loaded on first use: store.RunSummary, store.MetricsRecord,
# store.RECORD_FIELDS (the keys of a record, in order: the one list the engine writes
# and the CSV export follows) and store.PresetError are this module's lazy attributes.
if TYPE_CHECKING:
    from pydantic import ValidationError

    from grok_tui.config import Preset
    from grok_tui.rundirs import ownership
    from grok_tui.rundirs.ondisk import MetricsRecord as MetricsRecord
    from grok_tui.rundirs.ondisk import RunSummary as RunSummary

    RECORD_FIELDS: tuple[str, ...]

_ondisk: ModuleType | None = None


def _models() -> ModuleType:
    """grok_tui.rundirs.ondisk, imported on first use (a record is validated per line:
    a global, not an import statement, on that path)."""
    global _ondisk
    if _ondisk is None:
        from grok_tui.rundirs import ondisk

        _ondisk = ondisk
    return _ondisk


def __getattr__(name: str) -> Any:
    if name in ("MetricsRecord", "RunSummary"):
        return getattr(_models(), name)
    if name == "_Untrusted":
        return _models().Untrusted
    if name == "RECORD_FIELDS":
        return tuple(_models().MetricsRecord.model_fields)
    if name == "PresetError":
        from grok_tui.config import PresetError

        return PresetError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def validation_reason(exc: ValidationError) -> str:
    """The first problem of a validation error in one short line: 'step: Input should be ...'."""
    return _models().validation_reason(exc)


def resolve_runs_dir(runs_dir: str | Path | None = None) -> Path:
    """The runs directory: the one given, else $GROK_TUI_RUNS_DIR, else ./runs."""
    return Path(runs_dir or os.environ.get("GROK_TUI_RUNS_DIR") or DEFAULT_RUNS_DIR)


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")[:60] or "run"


@dataclass(frozen=True)
class RunDir:
    """Paths of one run directory."""

    path: Path

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def preset_path(self) -> Path:
        return self.path / PRESET_FILE

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS_FILE

    @property
    def summary_path(self) -> Path:
        return self.path / SUMMARY_FILE

    @property
    def checkpoint_path(self) -> Path:
        return self.path / CHECKPOINT_FILE

    @property
    def log_path(self) -> Path:
        return self.path / LOG_FILE

    def exists(self) -> bool:
        return files.is_real_dir(self.path) and os.path.lexists(self.preset_path)

    def load_preset(self) -> Preset:
        return load_run_preset(self)

    def summary(self) -> dict[str, Any]:
        return read_summary(self.path)

    def records(self) -> list[dict[str, Any]]:
        return read_records(self.path)

    @property
    def note_path(self) -> Path:
        return self.path / NOTE_FILE

    def note(self) -> str:
        """The user's note on this run ('' when none, or when note.txt is not a plain file)."""
        try:
            return files.read_text(self.note_path, files.MAX_NOTE_BYTES).strip()
        except (OSError, UnicodeDecodeError):
            return ""

    def set_note(self, text: str) -> None:
        """Write the note atomically (a link at note.txt is replaced, never written through);
        an empty note removes the file."""
        text = text.strip()
        if not text:
            files.unlink(self.note_path)
            return
        if len(text.encode("utf-8")) >= files.MAX_NOTE_BYTES:
            from grok_tui.config import PresetError

            raise PresetError(
                f"a note holds at most {files.MAX_NOTE_BYTES // 1024} KiB", file="note"
            )
        files.write_text_atomic(self.note_path, text + "\n")

    @property
    def lock(self) -> ownership.DirLock:
        """The lock that makes one process at a time train this run."""
        from grok_tui.rundirs import ownership

        return ownership.DirLock(self.path)


def new_run_id(name: str, runs_dir: Path, when: datetime | None = None) -> str:
    """Ids sort by start time (to the millisecond) and carry the preset's name."""
    when = when or datetime.now()
    stamp = when.strftime("%Y%m%d-%H%M%S-") + f"{when.microsecond // 1000:03d}"
    run_id = f"{stamp}-{slug(name)}"
    suffix = 1
    while (runs_dir / run_id).exists():
        suffix += 1
        run_id = f"{stamp}-{slug(name)}-{suffix}"
    return run_id


def create_run(
    preset: Preset, runs_dir: str | Path = DEFAULT_RUNS_DIR, *, extra: dict[str, Any] | None = None
) -> RunDir:
    """Make a new run directory with the frozen, fully resolved preset and a first summary.

    Its status is ``created`` until the process that trains it starts and records its pid.
    """
    runs_dir = Path(runs_dir)
    files.make_dirs(runs_dir)
    for _ in range(100):
        run = RunDir(runs_dir / new_run_id(preset.name, runs_dir))
        try:
            files.make_new_dir(run.path)
            break
        except FileExistsError:  # two processes picked the same millisecond
            continue
    else:  # pragma: no cover
        raise RuntimeError(f"could not create a run directory in {runs_dir}")
    try:
        files.write_text_atomic(run.preset_path, preset.to_toml())
        summary = {
            "run_id": run.run_id,
            "name": preset.name,
            "status": CREATED,
            "steps": preset.train.steps,
            "step": 0,
            "created_at": now_iso(),
            **(extra or {}),
        }
        write_summary(run.path, summary)
    except BaseException:
        discard_new_dir(run.path)
        raise
    return run


def discard_new_dir(path: Path) -> None:
    """Remove a run or sweep directory that the failing call made moments ago (a full disk,
    Ctrl-C): never an empty run, a run without a summary or a sweep without sweep.json
    left behind. Only a directory that call made itself (an exclusive mkdir of a fresh
    id): whatever it holds, that call wrote. The caller's error is what the user sees."""
    with contextlib.suppress(OSError):
        files.rmtree(path)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write to a temporary file, then rename over: readers never see half a file."""
    files.write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False))


def write_summary(run_path: str | Path, summary: dict[str, Any]) -> None:
    summary = {**summary, "updated_at": now_iso()}
    write_json_atomic(Path(run_path) / SUMMARY_FILE, summary)


def read_summary(run_path: str | Path) -> dict[str, Any]:
    """The summary, or {} when it is missing or unreadable (a run being created)."""
    return read_summary_checked(run_path)[0]


def read_summary_checked(run_path: str | Path) -> tuple[dict[str, Any], str | None]:
    """(summary, None), or ({}, why it cannot be read): a missing file, a link, a FIFO, a
    file over the size cap, bad JSON, or JSON that is not a summary's (a list, wrong types)."""
    path = Path(run_path) / SUMMARY_FILE
    try:
        data = json.loads(files.read_text(path, files.MAX_JSON_BYTES))
    except FileNotFoundError:
        return {}, f"no {SUMMARY_FILE}"
    except OSError as exc:
        return {}, f"{SUMMARY_FILE} {exc.strerror or exc}"
    except (ValueError, RecursionError):
        return {}, f"{SUMMARY_FILE} is not valid JSON"
    if not isinstance(data, dict):
        return {}, f"{SUMMARY_FILE} holds a {type(data).__name__}, not an object"
    from pydantic import ValidationError

    try:
        _models().RunSummary.model_validate(data)
    except ValidationError as exc:
        return {}, f"{SUMMARY_FILE}: {validation_reason(exc)}"
    return data, None


def update_summary(run_path: str | Path, **changes: Any) -> dict[str, Any]:
    summary = read_summary(run_path)
    summary.update(changes)
    write_summary(run_path, summary)
    return summary


class MetricsWriter:
    """Appends one JSON line per record and flushes it, so followers see it at once.

    ``keep_through_step``: a resumed run restarts after that step (its checkpoint's, or
    -1 when it restarts from scratch), so the records past it, which will be produced
    again, are dropped first: a run's records never repeat a step (DESIGN.md rule 7).
    """

    def __init__(self, run_path: str | Path, *, keep_through_step: int | None = None) -> None:
        path = Path(run_path) / METRICS_FILE
        if keep_through_step is not None and os.path.lexists(path):
            records = read_records(run_path)
            kept = [r for r in records if r["step"] <= keep_through_step]
            if len(kept) != len(records) or not files.is_regular(path):
                files.write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in kept))
        self.path = path
        self._fd = files.open_append(path)

    def append(self, record: dict[str, Any]) -> None:
        data = (json.dumps(record) + "\n").encode("utf-8")
        try:
            while data:  # a short write (rare) is continued, a failed one raises OSError
                data = data[os.write(self._fd, data) :]
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(self.path)) from None

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def read_records(run_path: str | Path, start: int = 0) -> list[dict[str, Any]]:
    """All records (from line ``start``); a half-written last line is skipped."""
    records, _ = read_records_from(Path(run_path) / METRICS_FILE, 0)
    return records[start:]


def read_records_from(path: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Records appended after byte ``offset``, and the offset to continue from.

    Used to follow a growing metrics.jsonl cheaply: only complete lines are consumed.
    """
    try:
        chunk = files.read_from(path, offset, files.MAX_METRICS_BYTES)
    except OSError:
        return [], offset
    end = chunk.rfind(b"\n") + 1
    records = []
    for line in chunk[:end].splitlines():
        record = parse_record(line)
        if record is not None:
            records.append(record)
    return records, offset + end


def parse_record(line: bytes | str) -> dict[str, Any] | None:
    """One metrics.jsonl line as a record, or None when it is not one (skipped by readers)."""
    try:
        record = json.loads(line)
        (_ondisk or _models()).MetricsRecord.model_validate(record)
    except (ValueError, RecursionError):  # ValidationError is a ValueError
        return None
    return record


def pid_alive(pid: int) -> bool:
    from grok_tui.rundirs import ownership

    return ownership.pid_alive(pid)


def owner_of(summary: dict[str, Any]) -> ownership.Identity | None:
    """The process that a summary says trains the run (as its trainer or launcher recorded)."""
    from grok_tui.rundirs import ownership  # only for a live run: a listing's are few

    owner = ownership.Identity.from_dict(summary.get("owner"))
    if owner is not None:
        return owner
    pid, host = summary.get("pid"), summary.get("host")
    if isinstance(pid, int) and not isinstance(pid, bool) and isinstance(host, str):
        return ownership.Identity(host, pid, None)  # written before identities were recorded
    return None


def effective_status(summary: dict[str, Any], run_path: str | Path | None = None) -> str:
    """The status to show: a running (or starting) run whose process is gone has crashed.

    Gone means: on this host, no live process with the recorded pid *and* start time (a
    reused pid is another process); for a summary without a start time, given the run's
    directory, no process holding its lock. A run recorded on another host keeps its status.
    """
    status = summary.get("status", "unknown")
    if not isinstance(status, str):
        return UNREADABLE
    if status not in LIVE_STATUSES:
        return status
    from grok_tui.rundirs import ownership

    owner = owner_of(summary)
    if owner is None or not ownership.is_local(owner):
        return status
    if owner.started is None:  # a legacy or crafted record: only the pid is known
        if not ownership.pid_alive(owner.pid):
            return CRASHED
        # a live pid proves nothing (reused, or planted): the trainer holds the run's lock
        held = ownership.holds_lock(None, run_path) if run_path else None
        return CRASHED if held is False else status
    return status if ownership.is_alive(owner) else CRASHED


@dataclass
class RunInfo:
    """One row of the run history: where the run is, its summary and its preset."""

    run: RunDir
    summary: dict[str, Any]
    preset: dict[str, Any] = field(default_factory=dict)
    preset_error: str | None = None
    note: str = ""
    unreadable: str | None = None  # why summary.json cannot be read: shown, never fatal

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def folder(self) -> str:
        """The run directory's path as a string: a key for caches of listed runs."""
        return str(self.run.path)

    @property
    def status(self) -> str:
        if self.unreadable:
            return UNREADABLE
        status = self.summary.get("status", "unknown")
        if type(status) is str and status not in LIVE_STATUSES:  # no process to ask
            return status  # effective_status's answer, without the run's path (listings)
        return effective_status(self.summary, self.run.path)


def iter_run_dirs(runs_dir: str | Path = DEFAULT_RUNS_DIR) -> Iterator[RunDir]:
    """Run directories under runs_dir, also one level down (sweeps), oldest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return
    for entry in _entries(runs_dir):
        if not files.is_real_dir(entry):  # a link never leads out of the runs directory
            continue
        if os.path.lexists(entry / PRESET_FILE):
            yield RunDir(entry)
        else:
            for sub in _entries(entry):
                if files.is_real_dir(sub) and os.path.lexists(sub / PRESET_FILE):
                    yield RunDir(sub)


def _entries(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


def read_run_preset_raw(run: RunDir) -> dict[str, Any]:
    """A run's frozen preset as a raw dict: a regular file inside the run, never a link."""
    from grok_tui.config import PresetError, parse_toml

    try:
        text = files.read_text(run.preset_path, files.MAX_TOML_BYTES)
    except FileNotFoundError:
        raise PresetError("file not found", file=run.preset_path) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise PresetError(f"cannot read: {reason}", file=run.preset_path) from None
    return parse_toml(text, file=run.preset_path)


def list_runs(runs_dir: str | Path = DEFAULT_RUNS_DIR) -> list[RunInfo]:
    """Every run with its summary and its raw preset (no validation: fast and never fails).

    A run whose files are damaged or crafted is listed as unreadable with the reason;
    it never hides the others.
    """
    return [run_info(run) for run in iter_run_dirs(runs_dir)]


def run_info(run: RunDir) -> RunInfo:
    """One run of list_runs: its summary, raw preset and note, read now (never raises)."""
    try:
        preset, error = read_run_preset_raw(run), None
    except UserError as exc:
        preset, error = {}, str(exc)
    summary, unreadable = read_summary_checked(run.path)
    if unreadable and unreadable == f"no {SUMMARY_FILE}":
        unreadable = None  # a run directory being created: not damaged
    return RunInfo(run, summary, preset, error, run.note(), unreadable)


def find_run(ref: str | Path, runs_dir: str | Path = DEFAULT_RUNS_DIR) -> RunDir:
    """A run by path, by id, or by a unique id prefix/suffix."""
    path = Path(ref)
    if RunDir(path).exists():
        return RunDir(path)
    matches = [r for r in iter_run_dirs(runs_dir) if r.run_id == str(ref)]
    matches = matches or [r for r in iter_run_dirs(runs_dir) if str(ref) in r.run_id]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunNotFoundError(f"no run directory '{ref}' (looked in {runs_dir})")
    raise RunNotFoundError(
        f"'{ref}' matches {len(matches)} runs: {', '.join(r.run_id for r in matches[:5])}"
    )


def delete_run(run: RunDir) -> None:
    """Remove a run directory, and nothing else: a directory (not a link) that holds a
    preset.toml, and that no process trains (its lock is taken for the removal).

    Raises RunNotFoundError, RunBusyError (a live trainer holds it) or OSError.
    """
    from grok_tui.rundirs import ownership

    if not run.exists():
        raise RunNotFoundError(f"{run.path} is not a run directory")
    try:
        with run.lock as lock:
            assert lock.folder is not None
            lock.folder.clear()  # emptied while no trainer can start in it
    except ownership.LockedError as exc:
        raise RunBusyError(f"run {run.run_id} is being trained ({exc}): stop it first") from None
    files.rmtree(run.path)


def load_run_preset(run: RunDir) -> Preset:
    from grok_tui.config import validate_preset

    return validate_preset(read_run_preset_raw(run), files=[run.preset_path], check_memory=False)


def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> bool:
    """Poll until predicate() is true (tests and launch.py wait on files this way)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def snapshot_path(run_path: str | Path, step: int) -> Path:
    return Path(run_path) / SNAPSHOT_DIR / f"step-{step:08d}.pt"


def snapshot_steps(run_path: str | Path) -> list[int]:
    """Steps whose weights were kept, in order."""
    try:
        with files.opened(run_path) as folder:
            names = folder.names(SNAPSHOT_DIR) if folder.is_dir(SNAPSHOT_DIR) else []
    except OSError:
        return []
    steps = []
    for name in names:
        if name.startswith("step-") and name.endswith(".pt"):
            with contextlib.suppress(ValueError):
                steps.append(int(name[len("step-") : -len(".pt")]))
    return sorted(steps)

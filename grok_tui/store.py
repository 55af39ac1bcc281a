"""The run directory on disk: the single source of truth for a run (DESIGN.md rule 1).

A run is a folder ``<runs_dir>/<run_id>/`` holding ``preset.toml`` (resolved),
``metrics.jsonl`` (one record per evaluation, appended and flushed), ``summary.json``
(rewritten atomically), ``checkpoint.pt`` and ``log.txt`` for a detached run.
This module never imports torch at import time: the TUI reads runs through it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from grok_tui.config import Preset, PresetError, load_preset, read_toml, validate_preset

PRESET_FILE = "preset.toml"
METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"
CHECKPOINT_FILE = "checkpoint.pt"
LOG_FILE = "log.txt"
NOTE_FILE = "note.txt"  # the user's note on a run: its own file, so training never overwrites it
SNAPSHOT_DIR = "checkpoints"  # kept weights over time: checkpoints/step-00001000.pt
DEFAULT_RUNS_DIR = Path("runs")

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
FINISHED_STATUSES = (COMPLETED, STOPPED, FAILED, DIVERGED, CRASHED)
LIVE_STATUSES = (STARTING, RUNNING)
RECORD_FIELDS = (
    "step",
    "epoch",
    "train_loss",
    "train_acc",
    "test_loss",
    "test_acc",
    "lr",
    "param_norm",
    "grad_norm",
    "elapsed_s",
)


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
        return self.preset_path.exists()

    def load_preset(self) -> Preset:
        return load_preset(self.preset_path)

    def summary(self) -> dict[str, Any]:
        return read_summary(self.path)

    def records(self) -> list[dict[str, Any]]:
        return read_records(self.path)

    @property
    def note_path(self) -> Path:
        return self.path / NOTE_FILE

    def note(self) -> str:
        """The user's note on this run ('' when none)."""
        try:
            return self.note_path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return ""

    def set_note(self, text: str) -> None:
        """Write the note atomically; an empty note removes the file."""
        text = text.strip()
        if not text:
            self.note_path.unlink(missing_ok=True)
            return
        tmp = self.note_path.with_name(f".{NOTE_FILE}.{os.getpid()}.tmp")
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, self.note_path)


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
    runs_dir.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        run = RunDir(runs_dir / new_run_id(preset.name, runs_dir))
        try:
            run.path.mkdir()
            break
        except FileExistsError:  # two processes picked the same millisecond
            continue
    else:  # pragma: no cover
        raise RuntimeError(f"could not create a run directory in {runs_dir}")
    run.preset_path.write_text(preset.to_toml(), encoding="utf-8")
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
    return run


def write_json_atomic(path: Path, data: Any) -> None:
    """Write to a temporary file, then rename over: readers never see half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False), encoding="utf-8")
    os.replace(tmp, path)


def write_summary(run_path: str | Path, summary: dict[str, Any]) -> None:
    summary = {**summary, "updated_at": now_iso()}
    write_json_atomic(Path(run_path) / SUMMARY_FILE, summary)


def read_summary(run_path: str | Path) -> dict[str, Any]:
    """The summary, or {} when it is missing or unreadable (a run being created)."""
    try:
        return json.loads((Path(run_path) / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def update_summary(run_path: str | Path, **changes: Any) -> dict[str, Any]:
    summary = read_summary(run_path)
    summary.update(changes)
    write_summary(run_path, summary)
    return summary


class MetricsWriter:
    """Appends one JSON line per record and flushes it, so followers see it at once."""

    def __init__(self, run_path: str | Path, *, truncate_after_step: int | None = None) -> None:
        path = Path(run_path) / METRICS_FILE
        if truncate_after_step is not None and path.exists():
            # Resuming from a checkpoint: records past it will be produced again.
            kept = [r for r in read_records(run_path) if r["step"] <= truncate_after_step]
            with path.open("w", encoding="utf-8") as out:
                out.writelines(json.dumps(r) + "\n" for r in kept)
        self._file = path.open("a", encoding="utf-8")

    def append(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def read_records(run_path: str | Path, start: int = 0) -> list[dict[str, Any]]:
    """All records (from line ``start``); a half-written last line is skipped."""
    records, _ = read_records_from(Path(run_path) / METRICS_FILE, 0)
    return records[start:]


def read_records_from(path: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Records appended after byte ``offset``, and the offset to continue from.

    Used to follow a growing metrics.jsonl cheaply: only complete lines are consumed.
    """
    try:
        with path.open("rb") as f:
            f.seek(offset)
            chunk = f.read()
    except OSError:
        return [], offset
    end = chunk.rfind(b"\n") + 1
    records = []
    for line in chunk[:end].splitlines():
        with contextlib.suppress(ValueError):
            records.append(json.loads(line))
    return records, offset + end


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    # A zombie (exited child not yet reaped) is not alive.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def effective_status(summary: dict[str, Any]) -> str:
    """The status to show: a running (or starting) run whose process is gone has crashed."""
    status = summary.get("status", "unknown")
    if status not in LIVE_STATUSES:
        return status
    pid, host = summary.get("pid"), summary.get("host")
    if isinstance(pid, int) and host == socket.gethostname() and not pid_alive(pid):
        return CRASHED
    return status


@dataclass
class RunInfo:
    """One row of the run history: where the run is, its summary and its preset."""

    run: RunDir
    summary: dict[str, Any]
    preset: dict[str, Any] = field(default_factory=dict)
    preset_error: str | None = None
    note: str = ""

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def status(self) -> str:
        return effective_status(self.summary)


def iter_run_dirs(runs_dir: str | Path = DEFAULT_RUNS_DIR) -> Iterator[RunDir]:
    """Run directories under runs_dir, also one level down (sweeps), oldest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return
    for entry in sorted(runs_dir.iterdir()):
        if not entry.is_dir():
            continue
        if (entry / PRESET_FILE).exists():
            yield RunDir(entry)
        else:
            for sub in sorted(entry.iterdir()):
                if sub.is_dir() and (sub / PRESET_FILE).exists():
                    yield RunDir(sub)


def list_runs(runs_dir: str | Path = DEFAULT_RUNS_DIR) -> list[RunInfo]:
    """Every run with its summary and its raw preset (no validation: fast and never fails)."""
    infos = []
    for run in iter_run_dirs(runs_dir):
        try:
            preset, error = read_toml(run.preset_path), None
        except PresetError as exc:
            preset, error = {}, str(exc)
        infos.append(RunInfo(run, read_summary(run.path), preset, error, run.note()))
    return infos


def find_run(ref: str | Path, runs_dir: str | Path = DEFAULT_RUNS_DIR) -> RunDir:
    """A run by path, by id, or by a unique id prefix/suffix."""
    path = Path(ref)
    if (path / PRESET_FILE).exists():
        return RunDir(path)
    matches = [r for r in iter_run_dirs(runs_dir) if r.run_id == str(ref)]
    matches = matches or [r for r in iter_run_dirs(runs_dir) if str(ref) in r.run_id]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise PresetError(f"no run directory '{ref}' (looked in {runs_dir})")
    raise PresetError(
        f"'{ref}' matches {len(matches)} runs: {', '.join(r.run_id for r in matches[:5])}"
    )


def load_run_preset(run: RunDir) -> Preset:
    return validate_preset(read_toml(run.preset_path), files=[run.preset_path])


def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> bool:
    """Poll until predicate() is true (tests and the launcher wait on files this way)."""
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
    folder = Path(run_path) / SNAPSHOT_DIR
    steps = []
    for path in folder.glob("step-*.pt") if folder.is_dir() else ():
        with contextlib.suppress(ValueError):
            steps.append(int(path.stem.removeprefix("step-")))
    return sorted(steps)

"""The sweep side of ``grok-tui --run`` and ``--resume``: what cli.py hands a sweep to.

``grok-tui --run SWEEP.toml`` validates every point, creates the sweep directory with one
run directory per point (status ``created``), then hands the points to an executor;
``grok-tui --resume SWEEP_DIR`` hands over the points that are not finished yet. Here
the command line's values become a checked device list, a job count, signal handlers
and an exit code. Only ``check_devices`` imports torch, on demand.
"""

from __future__ import annotations

import re
import signal
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from grok_tui import files
from grok_tui.config import PresetError
from grok_tui.sweep.executor import Executor, ProcessExecutor, execute
from grok_tui.sweep.labels import describe
from grok_tui.sweep.spec import error_text, is_sweep_file, load_sweep
from grok_tui.sweep.sweepdir import create_sweep_dir, is_sweep_dir, read_sweep_dir, recreate_missing

EXIT_BAD_INPUT = 2
_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def parse_devices(text: str | None) -> list[str]:
    """'cuda:0,cuda:1' -> ['cuda:0', 'cuda:1']; each must be a device name."""
    if not text:
        return []
    devices = [d.strip() for d in text.split(",") if d.strip()]
    for device in devices:
        if not _DEVICE.fullmatch(device):
            raise PresetError(
                f"--devices: '{device}' is not a device (auto, cpu, mps, cuda or cuda:N)"
            )
    return devices


def resolve_jobs(jobs: int | None, devices: Sequence[str]) -> int:
    if jobs is None:
        return max(1, len(devices))
    if jobs < 1:
        raise PresetError(f"--jobs must be at least 1, got {jobs}")
    return jobs


def check_devices(devices: Iterable[str]) -> None:
    """Fail before anything is created when a device cannot be had (imports torch if asked)."""
    odd = sorted({d for d in devices if d not in ("auto", "cpu")})
    if not odd:
        return
    from grok_tui.engine import RunError, resolve_device

    for device in odd:
        try:
            resolve_device(device)
        except RunError as exc:
            raise PresetError(str(exc)) from None


def install_stop(executor: Executor) -> Callable[[], str]:
    """SIGINT/SIGTERM stop the sweep cleanly; the name of the signal that did."""
    caught: list[str] = []

    def handle(signum: int, frame: Any) -> None:
        caught.append(signal.Signals(signum).name)
        executor.stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handle)
    return lambda: caught[0] if caught else ""


def _announce_stop(out: TextIO) -> Callable[[int], None]:
    calls = [0]

    def announce(running: int) -> None:
        calls[0] += 1
        if calls[0] == 1:
            out.write(
                f"stopping: {running} running point(s) checkpoint and stop "
                "(Ctrl-C again kills them)\n"
            )
        else:
            out.write(f"killing {running} running point(s)\n")
        out.flush()

    return announce


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def sweep_ref(ref: str, runs_dir: Path) -> Path | None:
    """The sweep directory a --resume argument names (a path or an id), or None."""
    for candidate in (Path(ref), runs_dir / ref):
        if is_sweep_dir(candidate):
            return candidate
    return None


def dispatch(args: Any, runs_dir: Path) -> int | None:
    """cli.py: run --run of a sweep file or --resume of a sweep directory; None otherwise."""
    if getattr(args, "run", None) and is_sweep_file(args.run):
        return run_command(
            Path(args.run), args.overrides, runs_dir, args.device, args.jobs, args.devices
        )
    if getattr(args, "resume", None):
        path = sweep_ref(args.resume, runs_dir)
        if path is not None:
            if args.overrides:
                return _error("--set applies to --run only: a resumed sweep keeps its presets")
            return resume_command(path, args.device, args.jobs, args.devices)
    return None


def device_choice(device: str | None, devices: str | None) -> list[str]:
    """The --devices list; --device and --devices together are a user's mistake."""
    device_list = parse_devices(devices)
    if device and device_list:
        raise PresetError("give --device or --devices, not both")
    return device_list


def run_command(
    path: Path,
    overrides: Sequence[str],
    runs_dir: Path,
    device: str | None,
    jobs: int | None,
    devices: str | None,
    *,
    out: TextIO | None = None,
) -> int:
    """``grok-tui --run SWEEP.toml``: validate every point, create the sweep, train it."""
    out = out or sys.stdout
    try:
        device_list = device_choice(device, devices)
        n_jobs = resolve_jobs(jobs, device_list)
        sweep = load_sweep(path, [*overrides, *([("train.device", device)] if device else [])])
        points = sweep.points()
        check_devices(device_list or {p.preset.train.device for p in points})
    except PresetError as exc:
        return _error(error_text(exc))
    executor = ProcessExecutor(n_jobs, device_list, on_stop=_announce_stop(out))
    stopped_by = install_stop(executor)
    try:
        sweep_dir = create_sweep_dir(sweep, points, runs_dir)
    except OSError as exc:
        return _error(
            f"cannot create the sweep directory in {runs_dir}: {files.describe_os_error(exc)}"
        )
    try:
        return execute(
            sweep_dir, executor, out=out, header=describe(sweep, points), stopped_by=stopped_by
        )
    except PresetError as exc:  # the lock could not be taken
        return _error(error_text(exc))


def resume_command(
    path: Path,
    device: str | None,
    jobs: int | None,
    devices: str | None,
    *,
    out: TextIO | None = None,
) -> int:
    """``grok-tui --resume SWEEP_DIR``: train the points that are not finished."""
    out = out or sys.stdout
    try:
        sweep_dir = read_sweep_dir(path)
        device_list = device_choice(device, devices) or ([device] if device else [])
        n_jobs = resolve_jobs(jobs, device_list)
        check_devices(device_list)
        missing = recreate_missing(sweep_dir)
    except PresetError as exc:
        return _error(error_text(exc))
    except OSError as exc:
        return _error(f"cannot write {path}: {files.describe_os_error(exc)}")
    if missing:
        out.write(f"recreated the deleted run directories of points {missing}\n")
    executor = ProcessExecutor(n_jobs, device_list, on_stop=_announce_stop(out))
    stopped_by = install_stop(executor)
    try:
        return execute(sweep_dir, executor, out=out, header="resuming", stopped_by=stopped_by)
    except PresetError as exc:  # locked by another process
        return _error(error_text(exc))

"""The sweep side of ``grok-tui --run`` and ``--resume``: what cli.py hands a sweep to.

``grok-tui --run SWEEP.toml`` validates every point, creates the sweep directory with one
run directory per point (status ``created``), then hands the points to an executor;
``grok-tui --resume SWEEP_DIR`` hands over the points that are not finished yet. Here
the command line's values become a checked device list, a job count, signal handlers
and an exit code. Only ``check_devices`` imports torch, on demand, and only
``--executor ray`` imports ray (ray_executor.py), so a machine without it runs every
other sweep.
"""

from __future__ import annotations

import math
import re
import signal
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from grok_tui import files
from grok_tui.config import PresetError
from grok_tui.errors import UserError
from grok_tui.sweep.executor import DONE_STATUSES, Executor, ProcessExecutor, execute
from grok_tui.sweep.groups import Vectorize, parse_vectorize
from grok_tui.sweep.labels import describe
from grok_tui.sweep.progress import SweepProgress
from grok_tui.sweep.spec import error_text, is_sweep_file, load_sweep, with_seeds
from grok_tui.sweep.sweepdir import create_sweep_dir, is_sweep_dir, read_sweep_dir, recreate_missing
from grok_tui.text import SafeStream, safe_text

EXIT_BAD_INPUT, EXIT_STOPPED = 2, 130
_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
RAY_INSTALL = "pip install 'grok-tui[cluster]'"
# A point's Ray resources: Ray counts them in steps of 0.0001 (a smaller fraction is an
# error when the task is submitted, after the sweep directory exists).
RAY_RESOURCE_UNIT = 1e-4
MAX_CPUS_PER_RUN, MAX_GPUS_PER_RUN = 1024.0, 64.0


@dataclass(frozen=True)
class RayOptions:
    """``--executor ray`` and its options, as given on the command line."""

    address: str = "local"
    gpus_per_run: float = 0.0
    cpus_per_run: float = 1.0
    shared_fs: bool = True

    def check(self) -> None:
        """Before anything is created or Ray is imported (run_command, resume_command).
        Written as `not (in range)`: nan fails every comparison, so `cpus <= 0` let it
        through, and Ray refused the task after the sweep directory was made."""
        cpus, gpus = self.cpus_per_run, self.gpus_per_run
        if not (math.isfinite(cpus) and RAY_RESOURCE_UNIT <= cpus <= MAX_CPUS_PER_RUN):
            raise PresetError(
                f"--cpus-per-run must be above 0: a number from {RAY_RESOURCE_UNIT:g} to "
                f"{MAX_CPUS_PER_RUN:g}, got {cpus:g}"
            )
        if not (math.isfinite(gpus) and gpus <= MAX_GPUS_PER_RUN) or 0 < gpus < RAY_RESOURCE_UNIT:
            raise PresetError(
                f"--gpus-per-run must be 0 or more: 0 or a number from {RAY_RESOURCE_UNIT:g} "
                f"to {MAX_GPUS_PER_RUN:g}, got {gpus:g}"
            )
        if not self.address.strip():
            raise PresetError("--address is empty (local, auto, ray://HOST:PORT or HOST:PORT)")


def ray_options(args: Any) -> RayOptions | None:
    """The Ray options of parsed arguments; None for the local process pool."""
    if getattr(args, "executor", None) != "ray":
        return None
    return RayOptions(
        address=args.address or "local",
        gpus_per_run=0.0 if args.gpus_per_run is None else args.gpus_per_run,
        cpus_per_run=1.0 if args.cpus_per_run is None else args.cpus_per_run,
        shared_fs=not args.no_shared_fs,
    )


def ray_only_options(args: Any) -> list[str]:
    """The ray-only options given (cli.py refuses them without --executor ray)."""
    given = {
        "--address": getattr(args, "address", None) is not None,
        "--gpus-per-run": getattr(args, "gpus_per_run", None) is not None,
        "--cpus-per-run": getattr(args, "cpus_per_run", None) is not None,
        "--no-shared-fs": bool(getattr(args, "no_shared_fs", False)),
    }
    return [name for name, on in given.items() if on]


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
    from grok_tui.training.engine import RunError, resolve_device

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
    # Messages quote sweep files, sweep directories and run ids, which may come from
    # someone else: never an escape sequence to the terminal.
    print(f"error: {safe_text(message, multiline=True)}", file=sys.stderr)
    return EXIT_BAD_INPUT


def sweep_ref(ref: str, runs_dir: Path) -> Path | None:
    """The sweep directory a --resume argument names (a path or an id), or None."""
    for candidate in (Path(ref), runs_dir / ref):
        if is_sweep_dir(candidate):
            return candidate
    return None


def sweep_options(args: Any) -> list[str]:
    """The sweep-only options given (cli.py refuses them for a single run)."""
    given = {
        "--jobs": getattr(args, "jobs", None) is not None,
        "--devices": bool(getattr(args, "devices", None)),
        "--vectorize": getattr(args, "vectorize", None) is not None,
    }
    return [name for name, on in given.items() if on]


def dispatch(args: Any, runs_dir: Path) -> int | None:
    """cli.py: run --run of a sweep file (or of a preset with --seeds / --split-seeds) or
    --resume of a sweep directory; None otherwise."""
    ray = ray_options(args)
    seeds, split_seeds = getattr(args, "seeds", None), getattr(args, "split_seeds", None)
    try:
        vectorize = parse_vectorize(getattr(args, "vectorize", None))
    except UserError as exc:
        return _error(str(exc))
    resume = getattr(args, "resume", None) or []
    if getattr(args, "run", None) and (
        seeds is not None or split_seeds is not None or is_sweep_file(args.run)
    ):
        return run_command(
            Path(args.run),
            args.overrides,
            runs_dir,
            args.device,
            args.jobs,
            args.devices,
            ray=ray,
            vectorize=vectorize,
            seeds=seeds,
            split_seeds=split_seeds,
        )
    if seeds is not None or split_seeds is not None:
        return _error("--seeds and --split-seeds apply to --run (a preset or a sweep file)")
    if len(resume) == 1:
        path = sweep_ref(resume[0], runs_dir)
        if path is not None:
            if args.overrides:
                return _error("--set applies to --run only: a resumed sweep keeps its presets")
            return resume_command(
                path, args.device, args.jobs, args.devices, ray=ray, vectorize=vectorize
            )
    return None


def check_vectorize(vectorize: Vectorize | None, ray: RayOptions | None) -> Vectorize:
    """The group size to plan with: auto by default; Ray trains one point per task."""
    if ray is None:
        return "auto" if vectorize is None else vectorize
    if vectorize not in (None, 1, "auto"):
        raise PresetError(
            f"--vectorize {vectorize} applies to --executor local: Ray trains one point per task"
        )
    return 1


def device_choice(device: str | None, devices: str | None) -> list[str]:
    """The --devices list; --device and --devices together are a user's mistake."""
    device_list = parse_devices(devices)
    if device and device_list:
        raise PresetError("give --device or --devices, not both")
    return device_list


def check_ray_jobs(jobs: int | None) -> int | None:
    """--jobs with Ray: points in flight at once (None: every point, Ray queues them)."""
    if jobs is not None and jobs < 1:
        raise PresetError(f"--jobs must be at least 1, got {jobs}")
    return jobs


def check_ray_devices(ray: RayOptions, devices: Iterable[str], device_list: Sequence[str]) -> None:
    """The driver may have no GPU while the cluster's nodes do: no local check, but a
    CUDA point needs a GPU from Ray (it hides every GPU from a task that asks for none)."""
    if device_list:
        raise PresetError(
            "--devices applies to --executor local: Ray places each point (--gpus-per-run)"
        )
    cuda = sorted({d for d in devices if d.startswith("cuda")})
    if cuda and ray.gpus_per_run == 0:
        raise PresetError(
            f"points train on {', '.join(cuda)} but --gpus-per-run is 0, so Ray would give "
            "them no GPU: give --gpus-per-run 1 (or a fraction, to share a GPU)"
        )


def _sweep_devices(sweep_dir: Any, device: str | None) -> set[str]:
    """The devices the points of a sweep directory train on (--device overrides them)."""
    from grok_tui.rundirs import store

    if device:
        return {device}
    found = set()
    for point in sweep_dir.points():
        if point.run is None:
            continue
        try:
            train = store.read_run_preset_raw(point.run).get("train") or {}
        except UserError:
            continue  # the point fails on its own, with its own message
        found.add(str(train.get("device", "auto")))
    return found


def _on_ray(
    ray: RayOptions,
    jobs: int | None,
    device: str | None,
    out: TextIO,
    body: Callable[[Executor, Callable[[], str]], int],
) -> int:
    """Connect to Ray (starting it for ``local``), run ``body`` with a RayExecutor, disconnect."""
    try:
        from grok_tui.sweep import ray_executor
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] == "ray":
            return _error(f"--executor ray needs Ray, which is not installed: {RAY_INSTALL}")
        raise
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with ray_executor.ray_session(ray.address) as resources:
            out.write(ray_executor.describe_cluster(ray.address, resources) + "\n")
            out.flush()
            executor = ray_executor.RayExecutor(
                jobs,
                cpus_per_run=ray.cpus_per_run,
                gpus_per_run=ray.gpus_per_run,
                shared_fs=ray.shared_fs,
                device=device,
                on_stop=_announce_stop(out),
            )
            stopped_by = install_stop(executor)
            return _stop_code(body(executor, stopped_by), stopped_by)
    except UserError as exc:  # the cluster cannot be reached, or the sweep is locked
        return _error(error_text(exc))
    except KeyboardInterrupt:  # Ctrl-C while Ray started, before the sweep's own handler
        print("stopped while connecting to Ray; nothing was trained", file=sys.stderr)
        return EXIT_STOPPED
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def say_unfinished(sweep_dir: Any, out: TextIO) -> None:
    """Which points did not complete: the tally says how many, this line says which."""
    others = {i: s for i, s in sweep_dir.statuses().items() if s != "completed"}
    if others and any(s in DONE_STATUSES or s in ("failed", "crashed") for s in others.values()):
        out.write(
            "not completed: " + ", ".join(f"#{i} {s}" for i, s in sorted(others.items())) + "\n"
        )
        out.flush()


def run_command(
    path: Path,
    overrides: Sequence[str],
    runs_dir: Path,
    device: str | None,
    jobs: int | None,
    devices: str | None,
    *,
    ray: RayOptions | None = None,
    out: TextIO | None = None,
    vectorize: Vectorize | None = None,
    seeds: int | None = None,
    split_seeds: int | None = None,
) -> int:
    """``grok-tui --run SWEEP.toml``: validate every point, create the sweep, train it.

    With ``seeds`` / ``split_seeds`` the file (a preset or a sweep) is crossed with that
    many seeds first (spec.with_seeds)."""
    # point lines carry names, labels and errors from disk; the progress line goes between
    out = progress = SweepProgress(SafeStream(out or sys.stdout))
    try:
        device_list = device_choice(device, devices)
        if ray:
            ray.check()
            n_jobs = check_ray_jobs(jobs)
        else:
            n_jobs = resolve_jobs(jobs, device_list)
        group_size = check_vectorize(vectorize, ray)
        pinned = [*overrides, *([("train.device", device)] if device else [])]
        if seeds is not None or split_seeds is not None:
            sweep = with_seeds(path, pinned, seeds=seeds, split_seeds=split_seeds)
        else:
            sweep = load_sweep(path, pinned)
        points = sweep.points()
        if ray:
            check_ray_devices(ray, {p.preset.train.device for p in points}, device_list)
        else:
            check_devices(device_list or {p.preset.train.device for p in points})
    except UserError as exc:
        return _error(error_text(exc))

    def train(executor: Executor, stopped_by: Callable[[], str]) -> int:
        try:
            sweep_dir = create_sweep_dir(sweep, points, runs_dir, vectorize=group_size)
        except OSError as exc:
            return _error(
                f"cannot create the sweep directory in {runs_dir}: {files.describe_os_error(exc)}"
            )
        try:
            code = execute(
                sweep_dir,
                executor,
                header=describe(sweep, points),
                stopped_by=stopped_by,
                progress=progress,
            )
        except UserError as exc:  # the lock could not be taken
            return _error(error_text(exc))
        say_unfinished(sweep_dir, out)
        return code

    return _train_with(ray, n_jobs, None, device_list, group_size, out, train)


def _train_with(
    ray: RayOptions | None,
    n_jobs: int | None,
    ray_device: str | None,
    device_list: list[str],
    group_size: Vectorize,
    out: TextIO,
    train: Callable[[Executor, Callable[[], str]], int],
) -> int:
    """Run ``train`` with Ray's executor or with local processes (groups as asked)."""
    if ray:
        return _on_ray(ray, n_jobs, ray_device, out, train)
    executor = ProcessExecutor(
        n_jobs or 1,
        device_list,
        on_stop=_announce_stop(out),
        vectorize=group_size,
        on_note=_say(out),
    )
    stopped_by = install_stop(executor)
    return _stop_code(train(executor, stopped_by), stopped_by)


def _stop_code(code: int, stopped_by: Callable[[], str]) -> int:
    """A stopped sweep exits as a stopped run: 143 after SIGTERM, 130 after Ctrl-C."""
    from grok_tui.training.runner import STOPPED_CODES, stop_exit_code

    return stop_exit_code(stopped_by()) if code in STOPPED_CODES else code


def _say(out: TextIO) -> Callable[[str], None]:
    def say(text: str) -> None:
        out.write(text + "\n")
        out.flush()

    return say


def resume_command(
    path: Path,
    device: str | None,
    jobs: int | None,
    devices: str | None,
    *,
    ray: RayOptions | None = None,
    out: TextIO | None = None,
    vectorize: Vectorize | None = None,
) -> int:
    """``grok-tui --resume SWEEP_DIR``: train the points that are not finished, regrouped
    (the sweep's own --vectorize unless another is given)."""
    # point lines carry names, labels and errors from disk; the progress line goes between
    out = progress = SweepProgress(SafeStream(out or sys.stdout))
    try:
        sweep_dir = read_sweep_dir(path)
        recorded = sweep_dir.info.get("vectorize")  # the sweep's own, unless another is given
        if vectorize is None and (recorded == "auto" or (type(recorded) is int and recorded >= 1)):
            vectorize = recorded
        group_size = check_vectorize(vectorize, ray)
        device_list = device_choice(device, devices) or ([device] if device else [])
        if ray:
            ray.check()
            n_jobs = check_ray_jobs(jobs)
            check_ray_devices(ray, _sweep_devices(sweep_dir, device), device_choice(None, devices))
        else:
            n_jobs = resolve_jobs(jobs, device_list)
            check_devices(device_list)
        missing = recreate_missing(sweep_dir)
    except UserError as exc:
        return _error(error_text(exc))
    except OSError as exc:
        return _error(f"cannot write {path}: {files.describe_os_error(exc)}")
    if missing:
        out.write(f"recreated the deleted run directories of points {missing}\n")

    def train(executor: Executor, stopped_by: Callable[[], str]) -> int:
        if ray:
            from grok_tui.sweep.ray_executor import release_orphans

            released = release_orphans(sweep_dir)
            if released:
                out.write(f"points {released} were left running by a Ray driver that ended\n")
        try:
            code = execute(
                sweep_dir, executor, header="resuming", stopped_by=stopped_by, progress=progress
            )
        except UserError as exc:  # locked by another process
            return _error(error_text(exc))
        say_unfinished(sweep_dir, out)
        return code

    return _train_with(ray, n_jobs, device, device_list, group_size, out, train)

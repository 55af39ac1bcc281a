"""The sweep side of ``grok-tui --run`` and ``--resume``: what the cli hands a sweep to.

``grok-tui --run SWEEP.toml`` validates every point, creates the sweep directory with one
run directory per point (status ``created``), then hands the points to an executor;
``grok-tui --resume SWEEP_DIR`` hands over the points that are not finished yet. Here
the command line's values (``SweepOptions``, typed: the cli builds them from its
namespace) become a checked device list, a job count, a stop flag and an exit code. Only ``check_devices`` imports torch, on demand, and only
``--executor ray`` imports ray (the ray_executor package), so a machine without it runs every
other sweep.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from grok_tui import files
from grok_tui.config import PresetError
from grok_tui.config.devices import DEVICE_NAMES, is_device_name
from grok_tui.errors import UserError, user_error
from grok_tui.rundirs.stopping import EXIT_STOPPED, StopFlag
from grok_tui.sweep.executor import DONE_STATUSES, Executor, ProcessExecutor, execute
from grok_tui.sweep.groups import Vectorize, parse_vectorize
from grok_tui.sweep.labels import describe
from grok_tui.sweep.progress import SweepProgress
from grok_tui.sweep.spec import error_text, is_sweep_file, load_sweep, with_seeds
from grok_tui.sweep.sweepdir import create_sweep_dir, is_sweep_dir, read_sweep_dir, recreate_missing
from grok_tui.text import SafeStream

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


@dataclass(frozen=True)
class SweepOptions:
    """What ``grok-tui run`` / ``resume`` was given, as far as a sweep cares (None: not
    given). The cli builds it from its parsed arguments; ``dispatch`` reads it."""

    run: str | None = None  # run: a preset or sweep file
    resume: tuple[str, ...] = ()  # resume: runs or one sweep directory
    overrides: tuple[str, ...] = ()  # --set K=V
    device: str | None = None
    jobs: int | None = None
    devices: str | None = None
    vectorize: str | None = None
    seeds: int | None = None
    split_seeds: int | None = None
    executor: str | None = None  # local or ray
    address: str | None = None
    gpus_per_run: float | None = None
    cpus_per_run: float | None = None
    no_shared_fs: bool = False

    def ray(self) -> RayOptions | None:
        """The Ray options; None for the local process pool."""
        if self.executor != "ray":
            return None
        return RayOptions(
            address=self.address or "local",
            gpus_per_run=0.0 if self.gpus_per_run is None else self.gpus_per_run,
            cpus_per_run=1.0 if self.cpus_per_run is None else self.cpus_per_run,
            shared_fs=not self.no_shared_fs,
        )

    def ray_only(self) -> list[str]:
        """The ray-only options given (the cli refuses them without --executor ray)."""
        given = {
            "--address": self.address is not None,
            "--gpus-per-run": self.gpus_per_run is not None,
            "--cpus-per-run": self.cpus_per_run is not None,
            "--no-shared-fs": self.no_shared_fs,
        }
        return [name for name, on in given.items() if on]

    def sweep_only(self) -> list[str]:
        """The sweep-only options given (the cli refuses them for a single run)."""
        given = {
            "--jobs": self.jobs is not None,
            "--devices": bool(self.devices),
            "--vectorize": self.vectorize is not None,
        }
        return [name for name, on in given.items() if on]


def parse_devices(text: str | None) -> list[str]:
    """'cuda:0,cuda:1' -> ['cuda:0', 'cuda:1']; each must be a device name."""
    if not text:
        return []
    devices = [d.strip() for d in text.split(",") if d.strip()]
    for device in devices:
        if not is_device_name(device):
            raise PresetError(f"--devices: '{device}' is not a device ({DEVICE_NAMES})")
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
    from grok_tui.errors import RunError
    from grok_tui.training.trainer import resolve_device

    for device in odd:
        try:
            resolve_device(device)
        except RunError as exc:
            raise PresetError(str(exc)) from None


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


def sweep_ref(ref: str, runs_dir: Path) -> Path | None:
    """The sweep directory a --resume argument names (a path or an id), or None."""
    for candidate in (Path(ref), runs_dir / ref):
        if is_sweep_dir(candidate):
            return candidate
    return None


def dispatch(options: SweepOptions, runs_dir: Path) -> int | None:
    """The cli's run of a sweep file (or of a preset with --seeds / --split-seeds) or its
    resume of a sweep directory: the exit code; None for anything else."""
    ray = options.ray()
    seeds, split_seeds = options.seeds, options.split_seeds
    try:
        vectorize = parse_vectorize(options.vectorize)
    except UserError as exc:
        return user_error(str(exc))
    if options.run and (seeds is not None or split_seeds is not None or is_sweep_file(options.run)):
        return run_command(
            Path(options.run),
            options.overrides,
            runs_dir,
            options.device,
            options.jobs,
            options.devices,
            ray=ray,
            vectorize=vectorize,
            seeds=seeds,
            split_seeds=split_seeds,
        )
    if seeds is not None or split_seeds is not None:
        return user_error("--seeds and --split-seeds apply to --run (a preset or a sweep file)")
    if len(options.resume) == 1:
        path = sweep_ref(options.resume[0], runs_dir)
        if path is not None:
            if options.overrides:
                return user_error("--set applies to --run only: a resumed sweep keeps its presets")
            return resume_command(
                path, options.device, options.jobs, options.devices, ray=ray, vectorize=vectorize
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
    """Connect to Ray (starting it for ``local``), run ``body`` with a RayExecutor, disconnect.

    One stop flag throughout: while Ray starts, a signal ends the command at once (nothing
    is trained yet); then it stops the executor cleanly. Ray installs a SIGTERM handler of
    its own as it starts: the flag is installed again over it, and the handlers from
    before Ray come back after its session."""
    try:
        from grok_tui.sweep import ray_executor
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] == "ray":
            return user_error(f"--executor ray needs Ray, which is not installed: {RAY_INSTALL}")
        raise
    executors: list[Executor] = []

    def stop_executor() -> None:
        if not executors:  # Ctrl-C while Ray starts
            raise KeyboardInterrupt
        executors[0].stop()

    stop = StopFlag(on_stop=stop_executor)
    try:
        with stop.installed(), ray_executor.ray_session(ray.address) as resources:
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
            executors.append(executor)
            with stop.installed():  # over Ray's own
                return stop.exit_code(body(executor, lambda: stop.signal_name))
    except UserError as exc:  # the cluster cannot be reached, or the sweep is locked
        return user_error(error_text(exc))
    except KeyboardInterrupt:  # Ctrl-C (or SIGTERM) while Ray started
        print("stopped while connecting to Ray; nothing was trained", file=sys.stderr)
        return stop.exit_code(EXIT_STOPPED)


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
        return user_error(error_text(exc))

    def train(executor: Executor, stopped_by: Callable[[], str]) -> int:
        try:
            sweep_dir = create_sweep_dir(sweep, points, runs_dir, vectorize=group_size)
        except OSError as exc:
            return user_error(
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
            return user_error(error_text(exc))
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
    stop = StopFlag(on_stop=executor.stop)
    with stop.installed():
        return stop.exit_code(train(executor, lambda: stop.signal_name))


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
        return user_error(error_text(exc))
    except OSError as exc:
        return user_error(f"cannot write {path}: {files.describe_os_error(exc)}")
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
            return user_error(error_text(exc))
        say_unfinished(sweep_dir, out)
        return code

    return _train_with(ray, n_jobs, device, device_list, group_size, out, train)

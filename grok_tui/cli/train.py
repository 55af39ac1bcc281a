"""``grok-tui run``, ``resume`` and ``tui``, and their older spellings ``--run PRESET``
and ``--resume RUN...`` (rundirs/launch.py, the sweep executor and the queue start runs with
them): the options, and the hand-over to a sweep (sweep/commands.py), a run or a group
(training/runner.py, training/group/runner.py) or the TUI.

The options are declared here for every command line (the top-level parser takes the
older spelling's); what runs them (presets, sweeps, the run store) is imported by the
functions that run, so that declaring them costs nothing."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grok_tui.cli.options import DIRECTORIES, complete
from grok_tui.errors import UserError, user_error
from grok_tui.rundirs.stopping import EXIT_OK, StopFlag
from grok_tui.text import safe_text

# The options of run and resume (and of --run / --resume): (dest, option, commands).
TRAINING_OPTIONS = (
    ("overrides", "--set", ("run",)),
    ("force", "--force", ("resume",)),
    ("seeds", "--seeds", ("run",)),
    ("split_seeds", "--split-seeds", ("run",)),
    ("vectorize", "--vectorize", ("run", "resume")),
    ("jobs", "--jobs", ("run", "resume")),
    ("devices", "--devices", ("run", "resume")),
    ("executor", "--executor", ("run", "resume")),
    ("address", "--address", ("run", "resume")),
    ("gpus_per_run", "--gpus-per-run", ("run", "resume")),
    ("cpus_per_run", "--cpus-per-run", ("run", "resume")),
    ("no_shared_fs", "--no-shared-fs", ("run", "resume")),
    ("presets", "--presets", ("tui",)),
    ("log_to", "--log-to", ("run", "resume")),
)


TRAINING_DEFAULTS: dict[str, Any] = {
    "overrides": [],
    "force": False,
    "no_shared_fs": False,
    "presets": [],
}


# The top-level parser keeps the older spelling's options under these dests: an option
# given before a command is told to go after it.
LEGACY = "legacy_"


def training_options(
    parser: argparse.ArgumentParser, command: str, *, prefix: str = "", hidden: bool = False
) -> None:
    """The options of `command` (run, resume or tui); all three for the top-level parser
    (`command` "*": the older spelling), where they are hidden from --help."""

    def takes(dest: str) -> bool:
        return command == "*" or any(
            d == dest and command in commands for d, _, commands in TRAINING_OPTIONS
        )

    def shown(text: str) -> str:
        return argparse.SUPPRESS if hidden else text

    def add(dest: str, *flags: str, group: Any = parser, **kwargs: Any) -> argparse.Action | None:
        if not takes(dest):
            return None
        kwargs["help"] = shown(kwargs.get("help", ""))
        return group.add_argument(*flags, dest=prefix + dest, **kwargs)

    add(
        "overrides",
        "--set",
        action="append",
        default=[],
        metavar="K=V",
        help="override a preset field, e.g. --set optim.lr=3e-4 (value parsed as TOML)",
    )
    add(
        "force",
        "--force",
        action="store_true",
        help="continue a run marked running on another host (it must have stopped there)",
    )
    presets = add(
        "presets",
        "--presets",
        action="append",
        default=[],
        metavar="DIR",
        help="another preset folder",
    )
    if presets is not None:
        complete(presets, DIRECTORIES)
    add(
        "seeds",
        "--seeds",
        type=int,
        metavar="N",
        help="train seeds train.seed .. train.seed+N-1 of the preset as one sweep",
    )
    add(
        "split_seeds",
        "--split-seeds",
        type=int,
        metavar="M",
        help="cross M split seeds (data.split_seed onwards) into that sweep",
    )
    add(
        "vectorize",
        "--vectorize",
        metavar="N|auto",
        help="sweeps: train points that differ only in seeds, lr, weight decay... as "
        "vectorised groups of at most N (default auto; 1: a process per point)",
    )
    add("jobs", "--jobs", type=int, metavar="N", help="sweeps: processes at once")
    add(
        "devices",
        "--devices",
        metavar="LIST",
        help="sweeps: one job per device, e.g. cuda:0,cuda:1",
    )
    add(
        "log_to",
        "--log-to",
        metavar="LIST",
        help="log live to trackers: tensorboard,wandb,mlflow (run: sets [train] log_to; "
        "resume: adds to it for this session)",
    )
    if not takes("executor"):
        return
    cluster = parser if hidden else parser.add_argument_group("sweeps on a Ray cluster")
    add(
        "executor",
        "--executor",
        group=cluster,
        choices=["local", "ray"],
        help="sweeps: local (default: a process per point on this machine) or ray",
    )
    add(
        "address",
        "--address",
        group=cluster,
        metavar="ADDR",
        help="ray: local (start Ray here for the sweep; default), auto (this machine's "
        "cluster), ray://HOST:PORT or HOST:PORT",
    )
    # Their range (nan and inf out) is RayOptions.check's: one line, exit 2, before the
    # sweep directory is made or Ray imported.
    add(
        "gpus_per_run",
        "--gpus-per-run",
        group=cluster,
        type=float,
        metavar="F",
        help="ray: GPUs per point (default 0)",
    )
    add(
        "cpus_per_run",
        "--cpus-per-run",
        group=cluster,
        type=float,
        metavar="C",
        help="ray: CPUs per point (default 1)",
    )
    add(
        "no_shared_fs",
        "--no-shared-fs",
        group=cluster,
        action="store_true",
        help="ray: nodes do not share the runs directory; workers send everything here",
    )


def older_spelling(args: argparse.Namespace) -> argparse.Namespace:
    """`grok-tui [--run PRESET | --resume RUN...] [options]`: the namespace of run, resume
    or the TUI, from the top-level parser's own options."""
    for dest in ("run", "resume", *(dest for dest, _, _ in TRAINING_OPTIONS)):
        setattr(args, dest, getattr(args, LEGACY + dest))
    return args


def _training_namespace(args: argparse.Namespace) -> argparse.Namespace:
    """run / resume / tui: every option of the older spelling, defaults where not given."""
    for dest, _, _ in TRAINING_OPTIONS:
        if not hasattr(args, dest):
            setattr(args, dest, TRAINING_DEFAULTS.get(dest))
    args.run = args.preset if args.command == "run" else None
    args.resume = args.refs if args.command == "resume" else None
    return args


def training_handler(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    return train_or_open(_training_namespace(args), parser)


def train_or_open(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """run, resume and the TUI, from either spelling: what `grok-tui --run/--resume` did."""
    from grok_tui.cli.presets import resolve_preset
    from grok_tui.cli.sweep import sweep_options
    from grok_tui.rundirs.store import resolve_runs_dir
    from grok_tui.sweep.commands import dispatch, sweep_ref

    ray_only = sweep_options(args).ray_only()
    if ray_only and args.executor != "ray":
        parser.error(f"{', '.join(ray_only)} apply to --executor ray")
    runs_dir = resolve_runs_dir(args.runs_dir)
    log_to: list[str] = []
    if args.log_to is not None:  # run: the preset's [train] log_to; resume: added to it
        from grok_tui.training.trackers import parse_log_to

        try:
            log_to = parse_log_to(args.log_to)
        except ValueError as exc:
            parser.error(str(exc))
        if args.run:
            args.overrides = [*args.overrides, f"train.log_to={json.dumps(log_to)}"]
        elif args.resume and (len(args.resume) > 1 or sweep_ref(args.resume[0], runs_dir)):
            parser.error("--log-to resumes one run: a sweep or a group keeps its [train] log_to")
    if args.run:
        try:  # a shipped preset's name: its file
            args.run = resolve_preset(args.run)
        except UserError as exc:
            return user_error(str(exc))
    options = sweep_options(args)
    code = dispatch(options, runs_dir)  # torch-free: a sweep file or sweep directory?
    if code is not None:
        return code
    if options.sweep_only():
        parser.error(
            f"{', '.join(options.sweep_only())} apply to sweeps (a file with a [sweep] table, "
            "--seeds, or a sweep directory)"
        )
    if args.executor is not None:
        parser.error(
            "--executor and its options apply to sweeps (a file with a [sweep] table "
            "or a sweep directory)"
        )
    if args.run:
        return cmd_run(Path(args.run), args.overrides, runs_dir, args.device)
    if args.resume:
        if args.overrides:
            parser.error("--set applies to --run only: a resumed run keeps its frozen preset")
        if len(args.resume) > 1:
            return cmd_resume_group(args.resume, runs_dir, args.device, args.force)
        if log_to:  # trackers for this session, besides the frozen preset's
            return cmd_resume(args.resume[0], runs_dir, args.device, args.force, log_to)
        return cmd_resume(args.resume[0], runs_dir, args.device, args.force)
    if args.overrides or args.device:
        parser.error("--set and --device need --run (or --resume for --device)")
    if args.force:
        parser.error("--force applies to --resume only")
    return open_tui(runs_dir, [Path(d) for d in args.presets])


def open_tui(runs_dir: Path, preset_dirs: list[Path]) -> int:
    """The TUI until it is closed; its exit code (run_app's, where it returns one)."""
    from grok_tui.tui.app import run_app  # Textual only when the TUI is wanted

    code = run_app(runs_dir, preset_dirs)
    return code if isinstance(code, int) else EXIT_OK


def load_preset(path: Path, overrides: Sequence[Any]) -> Any:
    """config.load_preset, imported once a preset is read (pydantic), not for declaring
    the options; a function of this module (bench --startup-run marks its return)."""
    from grok_tui.config import load_preset as load

    return load(path, overrides)


def cmd_run(path: Path, overrides: list[str], runs_dir: Path, device: str | None) -> int:
    try:
        preset = load_preset(path, [*overrides, *([("train.device", device)] if device else [])])
    except UserError as exc:
        return user_error(str(exc))
    # torch (seconds to import) only for a preset that loads: a typo's error comes at once
    from grok_tui.training import runner

    try:
        return runner.run(preset, runs_dir, label=str(path))
    except UserError as exc:
        return user_error(str(exc))


def cmd_resume(
    ref: str, runs_dir: Path, device: str | None, force: bool = False, log_to: Sequence[str] = ()
) -> int:
    from grok_tui.rundirs import store
    from grok_tui.training import runner

    try:
        run = store.find_run(ref, runs_dir)
        lock = runner.claim(run)  # before reading its state: one writer per run
    except UserError as exc:
        return user_error(str(exc))
    from grok_tui.training.progress import describe_end  # torch: once there is a run to train

    stop = runner.StopFlag()

    def ready(preset: Any, checkpoint: dict[str, Any] | None) -> None:
        stop.install()
        where = f"step {checkpoint['step']}" if checkpoint else "step 0 (no checkpoint yet)"
        print(safe_text(f"run {run.run_id} · resuming from {where} · {run.path}"), flush=True)

    with lock:
        try:
            code, summary = runner.resume(
                run,
                device=device,
                force=force,
                stop=stop,
                log_to=log_to,
                progress=sys.stdout,
                on_ready=ready,
            )
        except UserError as exc:
            return user_error(str(exc))
    print(safe_text(describe_end(str(run.path), summary), multiline=True), flush=True)
    return code


def cmd_resume_group(refs: list[str], runs_dir: Path, device: str | None, force: bool) -> int:
    """``--resume RUN RUN...``: these runs continue as one vectorised group (group/runner)."""
    from grok_tui.rundirs import store

    try:
        runs = [store.find_run(ref, runs_dir) for ref in refs]
    except UserError as exc:
        return user_error(str(exc))
    if len({run.path.resolve() for run in runs}) < len(runs):
        return user_error("a run is named twice")
    from grok_tui.training.group.runner import execute_group

    # Our own stop flag, to tell Ctrl-C (exit 130) from SIGTERM (143): the group says 130.
    stop = StopFlag()
    stop.install()
    return stop.exit_code(execute_group(runs, device=device, force=force, stop=stop))

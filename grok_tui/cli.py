"""The ``grok-tui`` command: argument parsing and dispatch only.

Exit codes: 0 done, 1 failed or diverged, 2 bad input, 130 stopped (Ctrl-C / SIGTERM).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from grok_tui import __version__, store
from grok_tui.config import (
    MAX_EXAMPLES,
    MAX_P,
    MAX_STEPS,
    PresetError,
    load_preset,
    task_size_label,
    with_overrides,
)
from grok_tui.errors import UserError, cut_text
from grok_tui.runner import EXIT_BAD_INPUT, EXIT_OK
from grok_tui.store import resolve_runs_dir
from grok_tui.sweep import is_sweep_file, validation_verdict
from grok_tui.sweep.sweepdir import SweepDir, find_sweep, is_sweep_dir
from grok_tui.text import safe_text

SUBCOMMANDS = (
    "validate",
    "runs",
    "note",
    "export",
    "bench",
    "gpu-check",
    "analyze",
    "sweep-report",
    "queue",
)

DESCRIPTION = """\
A terminal workbench for grokking research.

  grok-tui                              open the TUI (presets, live runs, history, compare)
  grok-tui --run PRESET [--set K=V]...  train one preset headless
  grok-tui --resume RUN_DIR             continue a stopped run from its checkpoint
  grok-tui --run PRESET --seeds N [--split-seeds M]
                                        N seeds (x M split seeds) of a preset as one sweep,
                                        trained as vectorised groups where that pays
  grok-tui --resume RUN_DIR RUN_DIR...  continue runs of one shape as one vectorised group
  grok-tui validate FILE...             check presets, one verdict per file
  grok-tui runs                         list the runs of the runs directory
  grok-tui note RUN [TEXT] [--clear]    show, set or clear a run's note
  grok-tui export RUN|SWEEP... [--csv FILE] [--tensorboard DIR]
                                        records of runs (or sweeps) as one CSV, or for TensorBoard
  grok-tui bench [--quick]              measure the engine against a plain training loop
  grok-tui bench --vectorize N          a vectorised group of N against N solo runs
  grok-tui gpu-check [--out DIR]        prove the CUDA path: GPU tests, bench, quickstart, speed
  grok-tui analyze RUN_DIR [--step S]   embeddings, Fourier, landscape, norms -> RUN_DIR/analysis/
  grok-tui --run SWEEP [--jobs N] [--devices cuda:0,cuda:1] [--vectorize N|auto]
                                        train every point of a sweep file (a [sweep] table)
  grok-tui --run SWEEP --executor ray [--address local|auto|ray://HOST:PORT]
                [--jobs N] [--gpus-per-run F] [--cpus-per-run C] [--no-shared-fs]
                                        train a sweep's points as Ray tasks (pip install 'grok-tui[cluster]')
  grok-tui --resume SWEEP_DIR           continue a sweep without redoing finished points
  grok-tui sweep-report SWEEP_DIR [--metric M] [--csv PATH]   a sweep's table and heatmap
  grok-tui queue [list | add PRESET [--device D] | remove N | move N up|down|top|bottom
                 | slots [DEVICE N] | rebuild]
                                        runs that start when a slot of their device is free
"""


# Bounds of the analysis options: each one sizes a loop, a tensor or a thread pool, so an
# unbounded value hangs (--landscape-points 100000: 10^10 loss evaluations), crashes
# (--seed 2**64: t-SNE's seed is below 2^32) or starts 100,000 threads (--threads).
MAX_LANDSCAPE_POINTS = 101
MAX_PERTURB_SAMPLES = 100_000
MAX_SCALE = 100.0  # --landscape-span, --perturb-scale: in units of the weights' norm
MAX_CHECKPOINTS = 100_000
MAX_ANALYSIS_SEED = 2**32 - 1  # scikit-learn's t-SNE takes a seed below 2^32
MAX_HEATMAP_WIDTH = 1000  # sweep-report --width; below 30 the heatmap has no room


def _given(text: str) -> str:
    """What the user typed, for an option's error: cut short and terminal-safe."""
    return safe_text(cut_text(text, 40))


def int_in(low: int, high: int, note: str = "") -> Callable[[str], int]:
    """An argparse ``type``: an integer in low..high, else argparse's one-line error
    naming the option (``argument --threads: takes an integer from 1 to 16 ...``)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"takes an integer from {low:,} to {high:,}{note}, got {_given(text)}"
            )
        return value

    return parse


def number_in(low: float, high: float, *, above: bool = False) -> Callable[[str], float]:
    """An argparse ``type``: a finite number from `low` (above it when `above`) to `high`;
    nan and inf are refused (every comparison with nan is false: it passed `x <= 0`)."""
    allowed = (
        f"a number above {low:g} and at most {high:g}"
        if above
        else f"a number from {low:g} to {high:g}"
    )

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        in_range = (low < value if above else low <= value) and value <= high
        if not (math.isfinite(value) and in_range):
            raise argparse.ArgumentTypeError(f"takes {allowed}, got {_given(text)}")
        return value

    return parse


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        command, rest = argv[0], argv[1:]
        return {
            "validate": cmd_validate,
            "runs": cmd_runs,
            "note": cmd_note,
            "export": cmd_export,
            "bench": cmd_bench,
            "gpu-check": cmd_gpu_check,
            "analyze": cmd_analyze,
            "sweep-report": cmd_sweep_report,
            "queue": cmd_queue,
        }[command](rest)
    parser = argparse.ArgumentParser(
        prog="grok-tui",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"grok-tui {__version__}")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--run", metavar="PRESET", help="train a preset (TOML file) headless")
    mode.add_argument(
        "--resume",
        metavar="RUN_DIR",
        nargs="+",
        help="continue a stopped run (or a sweep directory) from its checkpoint; several "
        "runs of one shape continue as one vectorised group",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="K=V",
        help="override a preset field, e.g. --set optim.lr=3e-4 (value parsed as TOML)",
    )
    parser.add_argument(
        "--runs-dir", help="where runs live (default: ./runs or $GROK_TUI_RUNS_DIR)"
    )
    parser.add_argument("--device", help="override train.device (cpu, cuda, cuda:1, mps)")
    parser.add_argument(
        "--force",
        action="store_true",
        help="--resume: continue a run marked running on another host (it must have stopped there)",
    )
    parser.add_argument(
        "--presets", action="append", default=[], metavar="DIR", help="TUI: another preset folder"
    )
    parser.add_argument(
        "--seeds",
        type=int,
        metavar="N",
        help="train seeds train.seed .. train.seed+N-1 of the preset as one sweep",
    )
    parser.add_argument(
        "--split-seeds",
        type=int,
        metavar="M",
        help="cross M split seeds (data.split_seed onwards) into that sweep",
    )
    parser.add_argument(
        "--vectorize",
        metavar="N|auto",
        help="sweeps: train points that differ only in seeds, lr, weight decay... as "
        "vectorised groups of at most N (default auto; 1: a process per point)",
    )
    parser.add_argument("--jobs", type=int, metavar="N", help="sweeps: processes at once")
    parser.add_argument(
        "--devices", metavar="LIST", help="sweeps: one job per device, e.g. cuda:0,cuda:1"
    )
    cluster = parser.add_argument_group("sweeps on a Ray cluster (--executor ray)")
    cluster.add_argument(
        "--executor",
        choices=["local", "ray"],
        help="sweeps: local (default: a process per point on this machine) or ray",
    )
    cluster.add_argument(
        "--address",
        metavar="ADDR",
        help="ray: local (start Ray here for the sweep; default), auto (this machine's "
        "cluster), ray://HOST:PORT or HOST:PORT",
    )
    # Their range (nan and inf out) is RayOptions.check's: one line, exit 2, before the
    # sweep directory is made or Ray imported.
    cluster.add_argument(
        "--gpus-per-run", type=float, metavar="F", help="ray: GPUs per point (default 0)"
    )
    cluster.add_argument(
        "--cpus-per-run", type=float, metavar="C", help="ray: CPUs per point (default 1)"
    )
    cluster.add_argument(
        "--no-shared-fs",
        action="store_true",
        help="ray: nodes do not share the runs directory; workers send everything here",
    )
    args = parser.parse_args(argv)
    from grok_tui.sweep.commands import ray_only_options  # torch-free, ray-free

    ray_only = ray_only_options(args)
    if ray_only and args.executor != "ray":
        parser.error(f"{', '.join(ray_only)} apply to --executor ray")
    runs_dir = resolve_runs_dir(args.runs_dir)
    from grok_tui.sweep.commands import dispatch  # torch-free: a sweep file or sweep directory?

    code = dispatch(args, runs_dir)
    if code is not None:
        return code
    from grok_tui.sweep.commands import sweep_options

    if sweep_options(args):
        parser.error(
            f"{', '.join(sweep_options(args))} apply to sweeps (a file with a [sweep] table, "
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
        return cmd_resume(args.resume[0], runs_dir, args.device, args.force)
    if args.overrides or args.device:
        parser.error("--set and --device need --run (or --resume for --device)")
    if args.force:
        parser.error("--force applies to --resume only")
    from grok_tui.tui.app import run_app  # Textual only when the TUI is wanted

    run_app(runs_dir, [Path(d) for d in args.presets])
    return EXIT_OK


def _error(message: str) -> int:
    # Messages quote presets and run directories, which may come from someone else.
    print(f"error: {safe_text(message, multiline=True)}", file=sys.stderr)
    return EXIT_BAD_INPUT


def cmd_run(path: Path, overrides: list[str], runs_dir: Path, device: str | None) -> int:
    try:
        preset = load_preset(path, [*overrides, *([("train.device", device)] if device else [])])
    except UserError as exc:
        return _error(str(exc))
    # torch (seconds to import) only for a preset that loads: a typo's error comes at once
    from grok_tui import files, runner
    from grok_tui.engine import RunError
    from grok_tui.progress import ProgressSink, describe_end

    try:
        runner.check_device(preset)
    except (UserError, RunError) as exc:
        return _error(str(exc))
    stop = runner.StopFlag()
    stop.install()
    try:
        run = store.create_run(preset, runs_dir)
        lock = runner.claim(run)
    except OSError as exc:
        return _error(
            f"cannot create a run directory in {runs_dir}: {files.describe_os_error(exc)}"
        )
    except UserError as exc:
        return _error(str(exc))
    print(safe_text(f"run {run.run_id} · preset {path} · {run.path}"), flush=True)
    with lock:
        code, summary = runner.execute(
            preset, run, sinks=[ProgressSink(preset.train.steps)], stop=stop
        )
    print(safe_text(describe_end(str(run.path), summary), multiline=True), flush=True)
    if code == runner.EXIT_STOPPED:
        print(
            f"stopped by {stop.signal_name or 'request'}; continue with: "
            f"grok-tui --resume {safe_text(run.path)}"
        )
    return code


def cmd_resume(ref: str, runs_dir: Path, device: str | None, force: bool = False) -> int:
    from grok_tui import runner

    try:
        run = store.find_run(ref, runs_dir)
        lock = runner.claim(run)  # before reading its state: one writer per run
    except UserError as exc:
        return _error(str(exc))
    from grok_tui.engine import RunError  # torch: once there is a run to train
    from grok_tui.progress import ProgressSink, describe_end

    with lock:
        try:
            preset, checkpoint = runner.load_resume(run, force=force)
            if device:  # only where the run trains, not what it trains: the frozen preset stays
                with_overrides(preset, [("train.device", device)])
            runner.check_device(preset, device)
        except (UserError, RunError) as exc:
            return _error(str(exc))
        stop = runner.StopFlag()
        stop.install()
        where = f"step {checkpoint['step']}" if checkpoint else "step 0 (no checkpoint yet)"
        print(safe_text(f"run {run.run_id} · resuming from {where} · {run.path}"), flush=True)
        code, summary = runner.execute(
            preset,
            run,
            sinks=[ProgressSink(preset.train.steps)],
            resume=checkpoint,
            restart=checkpoint is None,
            device=device,
            stop=stop,
        )
    print(safe_text(describe_end(str(run.path), summary), multiline=True), flush=True)
    return code


def cmd_resume_group(refs: list[str], runs_dir: Path, device: str | None, force: bool) -> int:
    """``--resume RUN RUN...``: these runs continue as one vectorised group (group/runner)."""
    try:
        runs = [store.find_run(ref, runs_dir) for ref in refs]
    except UserError as exc:
        return _error(str(exc))
    if len({run.path.resolve() for run in runs}) < len(runs):
        return _error("a run is named twice")
    from grok_tui.group.runner import execute_group

    return execute_group(runs, device=device, force=force)


def cmd_validate(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="grok-tui validate", description="check preset files")
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V")
    args = parser.parse_args(argv)
    bad = 0
    # Every line goes through safe_text: a preset's name, a file name and an error that
    # quotes a file's content may hold escapes (an OSC that retitles the terminal).
    for name in args.files:
        if is_sweep_file(name):
            ok, lines = validation_verdict(name, args.overrides)
            bad += not ok
            for line in lines:
                print(safe_text(line))
            continue
        try:
            preset = load_preset(name, args.overrides)
        except UserError as exc:
            bad += 1
            print(f"INVALID {safe_text(name)}")
            for line in str(exc).splitlines():
                print(f"  {safe_text(line)}")
        else:
            model = preset.model.type
            task_size = task_size_label(preset.data.operation, preset.data.p)
            print(
                safe_text(
                    f"ok      {name}: {preset.name} · {preset.data.operation} {task_size} · "
                    f"{model} · {preset.optim.name} lr={preset.optim.lr:g} · "
                    f"{preset.train.steps} steps"
                )
            )
    return EXIT_BAD_INPUT if bad else EXIT_OK


# A run that ended so shows its summary's error where it has no note of the user's.
_ENDED_BADLY = (store.FAILED, store.CRASHED, store.DIVERGED)


def cmd_runs(argv: list[str]) -> int:
    """List the runs; every field read from a run directory goes through safe_text.

    A run directory may come from someone else: its id, status, numbers and note must
    not carry escape sequences (or bidi overrides) to the terminal, nor break the table.
    """
    parser = argparse.ArgumentParser(prog="grok-tui runs", description="list runs")
    parser.add_argument("--runs-dir")
    args = parser.parse_args(argv)
    runs = store.list_runs(resolve_runs_dir(args.runs_dir))
    if not runs:
        print("no runs")
        return EXIT_OK
    print(
        f"{'run':44} {'status':10} {'step':>9} {'fit':>7} {'grok':>7} {'test_acc':>8}  "
        f"{'device':24}  note"
    )
    for info in runs:
        s = info.summary
        final = s.get("final") if isinstance(s.get("final"), dict) else {}
        test_acc = final.get("test_acc")
        note = info.note.splitlines()[0] if info.note else ""
        if info.unreadable:  # shown, never fatal: one damaged run must not hide the others
            note = f"unreadable: {info.unreadable}"
        elif info.preset_error:  # its own preset.toml, named so: the reason fits the column
            own = info.preset_error.replace(str(info.run.preset_path), store.PRESET_FILE)
            note = f"preset unreadable: {own}"
        elif not note and info.status in _ENDED_BADLY and isinstance(s.get("error"), str):
            note = f"error: {s['error']}"  # why it failed (the queue could not start it...)
        line = (
            f"{safe_text(info.run_id):44} {safe_text(info.status):10} "
            f"{_opt(s.get('step', 0)):>9} "
            f"{_opt(s.get('fit_step')):>7} {_opt(s.get('grok_step')):>7} "
            f"{_acc(test_acc):>8}  {safe_text(device_label(s)):24}  {safe_text(note[:100])}"
        )
        print(line.rstrip())
    return EXIT_OK


def device_label(summary: dict[str, object]) -> str:
    """'cuda:0 H100 80GB HBM3' (the GPU's name without its vendor), 'cpu', or ''."""
    device = str(summary.get("device") or "")
    name = str(summary.get("device_name") or "").removeprefix("NVIDIA ").strip()
    return f"{device} {name}"[:24].strip() if name else device[:24]


def cmd_note(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="grok-tui note",
        description="show a run's note, or set it (TEXT) or clear it (--clear); "
        "the note lives in RUN_DIR/note.txt and shows in the TUI's history",
    )
    parser.add_argument("run", metavar="RUN", help="run directory, id, or a unique part of an id")
    parser.add_argument("text", nargs="*", metavar="TEXT", help="the new note")
    parser.add_argument("--clear", action="store_true", help="remove the note")
    parser.add_argument("--runs-dir")
    args = parser.parse_intermixed_args(argv)  # RUN --runs-dir DIR TEXT... too
    try:
        run = store.find_run(args.run, resolve_runs_dir(args.runs_dir))
    except UserError as exc:
        return _error(exc.message)
    if args.clear and args.text:
        return _error("give TEXT or --clear, not both")
    text = " ".join(args.text)
    problem = _note_problem(text) if args.text else None
    if problem is not None:
        return _error(f"TEXT: {problem}; the note of {safe_text(run.run_id)} is unchanged")
    if args.clear or args.text:
        from grok_tui.files import describe_os_error

        where = safe_text(run.note_path)  # one line, whatever the run directory is called
        try:
            run.set_note(text)
        except UserError as exc:  # the store's own check of the note
            return _error(f"{where}: {safe_text(exc.message)}; the note is unchanged")
        except OSError as exc:  # a full or read-only disk, note.txt a directory
            what = "remove" if args.clear else "write"
            return _error(f"cannot {what} {where}: {describe_os_error(exc)}; the note is unchanged")
    note = safe_text(run.note(), multiline=True)  # the run may come from someone else
    run_id = safe_text(run.run_id)
    print(f"{run_id}: {note}" if note else f"{run_id}: (no note)")
    return EXIT_OK


def _note_problem(text: str) -> str | None:
    """Why TEXT cannot be a note, or None: a note is UTF-8 text of less than 64 KiB.

    An argument that is not UTF-8 reaches Python as lone surrogates (os.fsdecode's
    stand-ins for its bytes), which cannot be written as UTF-8; a TEXT of spaces would
    remove the note, which is what --clear is for.
    """
    from grok_tui.files import MAX_NOTE_BYTES

    try:
        size = len(text.strip().encode("utf-8"))
    except UnicodeEncodeError as exc:
        return (
            f"not UTF-8 text ({safe_text(text[exc.start : exc.end])} at character "
            f"{exc.start + 1}); a note is UTF-8"
        )
    if size == 0:
        return "only spaces; --clear removes a note"
    if size >= MAX_NOTE_BYTES:
        return f"a note holds less than {MAX_NOTE_BYTES // 1024} KiB, this one is {size:,} bytes"
    return None


def cmd_export(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="grok-tui export",
        description="write runs' records for other tools: one CSV of every record of every "
        "run named (a sweep stands for its points), with the run id and the preset fields "
        "that differ between the runs as the first columns; or TensorBoard event files, "
        "one sub-directory per run (tensorboard --logdir DIR)",
    )
    parser.add_argument(
        "refs", nargs="+", metavar="RUN", help="run or sweep: directory, id or a unique part"
    )
    parser.add_argument("--csv", type=Path, metavar="FILE", help="write one CSV here")
    parser.add_argument("--tensorboard", type=Path, metavar="DIR", help="write event files here")
    parser.add_argument("--runs-dir")
    args = parser.parse_intermixed_args(argv)
    if args.csv is None and args.tensorboard is None:
        parser.error("give --csv FILE, --tensorboard DIR, or both")
    from grok_tui.export import write_runs_csv, write_tensorboard

    try:
        runs = _runs_named(args.refs, resolve_runs_dir(args.runs_dir))
    except UserError as exc:
        return _error(str(exc))

    def warn(line: str) -> None:  # a value clamped, records past the size cap: never silent
        print(f"warning: {safe_text(line)}", file=sys.stderr)

    try:
        if args.csv is not None:
            rows = write_runs_csv(runs, args.csv, warn=warn)
            print(f"wrote {rows} records of {len(runs)} run(s) to {safe_text(args.csv)}")
        if args.tensorboard is not None:
            for run in runs:
                write_tensorboard(run, args.tensorboard, warn=warn)
            print(
                f"wrote {len(runs)} run(s) to {safe_text(args.tensorboard)}: "
                f"tensorboard --logdir {safe_text(args.tensorboard)}"
            )
    except OSError as exc:
        from grok_tui.files import describe_os_error

        return _error(f"cannot write: {describe_os_error(exc)}")
    return EXIT_OK


def _runs_named(refs: list[str], runs_dir: Path) -> list[store.RunDir]:
    """Runs by directory, id or unique part; a sweep stands for its trained points."""
    runs: list[store.RunDir] = []
    for ref in refs:
        if is_sweep_dir(ref):
            found = _trained(find_sweep(ref, runs_dir))
        else:
            try:
                found = [store.find_run(ref, runs_dir)]
            except UserError:
                try:  # not a run: perhaps a sweep's id
                    found = _trained(find_sweep(ref, runs_dir))
                except UserError:
                    raise PresetError(f"no run or sweep '{ref}' (looked in {runs_dir})") from None
        runs.extend(r for r in found if r.path not in {known.path for known in runs})
    return runs


def _trained(sweep: SweepDir) -> list[store.RunDir]:
    return [p.run for p in sweep.points() if p.run is not None and p.run.exists()]


def _opt(value: object) -> str:
    """A summary value for a column: '-' when absent, terminal-safe whatever it holds."""
    return "-" if value is None else safe_text(value)


def _acc(value: object) -> str:
    """An accuracy to 4 decimals; anything else a summary might hold, shown safely."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.4f}"
    return safe_text(value)


def cmd_queue(argv: list[str]) -> int:
    """``grok-tui queue ...``: list, add to, reorder and serve the runs directory's queue."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--runs-dir", help="where runs live (default: ./runs or $GROK_TUI_RUNS_DIR)"
    )
    parser = argparse.ArgumentParser(
        prog="grok-tui queue",
        parents=[common],
        description="Runs that wait for a free slot on their device (RUNS/queue.json). A "
        "detached queue runner, started by `add` and by the TUI, starts the next one when "
        "fewer runs than the device's slots are live (runs started by hand count too) and "
        "ends when the queue is empty. Queued runs show in History with status queued.",
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.add_parser("list", parents=[common], help="the queue in order (the default)")
    add = sub.add_parser("add", parents=[common], help="queue a preset (last)")
    add.add_argument("preset", metavar="PRESET", help="a preset file (TOML)")
    add.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V")
    add.add_argument("--device", help="train here instead of train.device (cpu, cuda:1, ...)")
    remove = sub.add_parser(
        "remove", parents=[common], help="take entry N out (its run directory, never trained, goes)"
    )
    remove.add_argument("position", type=int, metavar="N")
    move = sub.add_parser("move", parents=[common], help="move entry N: up, down, top, bottom")
    move.add_argument("position", type=int, metavar="N")
    move.add_argument("where", choices=["up", "down", "top", "bottom"])
    slots = sub.add_parser(
        "slots", parents=[common], help="show, or set, the runs live at once on DEVICE (0 pauses)"
    )
    slots.add_argument("device", nargs="?", metavar="DEVICE")
    slots.add_argument("count", nargs="?", type=int, metavar="N")
    sub.add_parser(
        "rebuild",
        parents=[common],
        help="a new queue.json from the runs with status queued (a damaged one is kept aside)",
    )
    serve = sub.add_parser(
        "run", parents=[common], help="serve the queue here until it is empty (what add starts)"
    )
    serve.add_argument("--poll", type=float, default=1.0, metavar="S", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from grok_tui import launcher, runqueue

    runs_dir = resolve_runs_dir(args.runs_dir)
    try:
        if args.action == "add":
            preset = load_preset(args.preset, args.overrides)
            queued = runqueue.enqueue(runs_dir, preset, device=args.device)
            runqueue.ensure_runner(runs_dir, launcher.start_queue_runner)
            print(
                f"queued {safe_text(queued.run.run_id)} at position {queued.position} on "
                f"{queued.device}; it starts when a {queued.device} slot is free "
                f"(grok-tui queue lists the queue)"
            )
        elif args.action in ("remove", "move"):
            run_id = runqueue.run_at(runs_dir, args.position)
            if args.action == "remove":
                deleted = runqueue.remove(runs_dir, run_id)
                gone = " and deleted its run directory" if deleted else ""
                print(f"removed {safe_text(run_id)} from the queue{gone}")
            else:
                delta = {"up": -1, "down": 1, "top": -(10**9), "bottom": 10**9}[args.where]
                position = runqueue.move(runs_dir, run_id, delta)
                print(f"{safe_text(run_id)} is now at position {position}")
        elif args.action == "slots":
            if args.device is not None and args.count is None:
                parser.error("slots takes DEVICE and N (or nothing, to show them)")
            if args.device is not None:
                key = runqueue.set_slots(runs_dir, args.device, args.count)
                runqueue.ensure_runner(runs_dir, launcher.start_queue_runner)
                print(f"{key}: {args.count} slot(s)")
            else:
                state = runqueue.read_queue(runs_dir)
                print(f"slots: {runqueue.slots_line(state, runqueue.live_devices(runs_dir))}")
        elif args.action == "rebuild":
            count, kept = runqueue.rebuild(runs_dir)
            if kept is not None:
                print(f"the damaged queue file is kept as {safe_text(kept)}")
            print(f"{count} run(s) in the queue")
            runqueue.ensure_runner(runs_dir, launcher.start_queue_runner)
        elif args.action == "run":
            return _serve_queue(runs_dir, args.poll)
        else:
            _print_queue(runs_dir)
    except UserError as exc:
        return _error(str(exc))
    except OSError as exc:
        from grok_tui.files import describe_os_error

        return _error(f"cannot write the queue in {runs_dir}: {describe_os_error(exc)}")
    return EXIT_OK


def _print_queue(runs_dir: Path) -> None:
    from grok_tui import runqueue

    state = runqueue.read_queue(runs_dir)
    live = runqueue.live_devices(runs_dir)
    pid = runqueue.runner_pid(runs_dir)
    runner = f"runner pid {pid}" if pid else "no runner (add, or the TUI, starts one)"
    print(f"queue of {safe_text(runs_dir)} · {runner}")
    print(f"slots: {runqueue.slots_line(state, live)}")
    if not state.entries:
        print("the queue is empty")
        return
    print(f"{'#':>3}  {'run':44} {'device':8} {'steps':>8}  state")
    reasons = runqueue.waits(state, live)
    for n, (entry, why) in enumerate(zip(state.entries, reasons, strict=True), 1):
        steps = store.read_summary(runs_dir / entry.run).get("steps")
        print(f"{n:>3}  {safe_text(entry.run):44} {entry.device:8} {_opt(steps):>8}  {why}")


def _serve_queue(runs_dir: Path, poll: float) -> int:
    """The detached queue runner: its lines go to RUNS/logs/queue.log."""
    import signal

    from grok_tui import runqueue

    stop: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: stop.append(signum))
    return runqueue.serve(
        runs_dir,
        poll_s=max(0.05, poll),
        should_stop=lambda: bool(stop),
        log=lambda line: print(safe_text(line), flush=True),
    )


def cmd_bench(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="grok-tui bench",
        description="Steps/s of the engine against a training loop written the common way, "
        "on the report's transformer and MLP configurations.",
    )
    parser.add_argument("--quick", action="store_true", help="a few seconds instead of minutes")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--json", type=Path, help="write every number to this JSON file")
    parser.add_argument(
        "--compile",
        default="auto",
        choices=["auto", "none", "default", "reduce-overhead", "max-autotune"],
        help="an extra engine variant with [train] compile = MODE "
        "(auto: reduce-overhead on CUDA, none elsewhere)",
    )
    parser.add_argument("--rounds", type=int, help="timed rounds (default 5, quick 2)")
    parser.add_argument(
        "--vectorize",
        type=int,
        metavar="N",
        help="time a vectorised group of N against N solo runs instead (member-steps/s)",
    )
    parser.add_argument(
        "--scaling",
        metavar="N,N,...",
        help="wall time per step of vectorised groups of these sizes against one member, "
        "e.g. 1,8,64,256 (on a GPU)",
    )
    startup = parser.add_argument_group(
        "start-up", "--startup times the TUI instead: no training, no torch"
    )
    startup.add_argument(
        "--startup",
        action="store_true",
        help="seconds to the TUI's first frame and to History listing every run, "
        "with a temporary runs directory of finished runs",
    )
    startup.add_argument("--runs", type=int, metavar="N", help="runs on disk (default 200)")
    startup.add_argument("--repeat", type=int, metavar="N", help="starts timed (default 3)")
    args = parser.parse_args(argv)
    if args.startup:
        training_options = (args.quick, args.device, args.json, args.compile, args.rounds)
        if training_options != (False, "auto", None, "auto", None):  # not the defaults
            parser.error(
                "--quick, --device, --json, --compile and --rounds do not apply to --startup"
            )
        runs = 200 if args.runs is None else args.runs
        repeat = 3 if args.repeat is None else args.repeat
        if runs < 1 or repeat < 1:
            parser.error("--runs and --repeat must be at least 1")
        from grok_tui.bench.startup import startup_command  # torch-free

        return startup_command(runs, repeat)
    if args.runs is not None or args.repeat is not None:
        parser.error("--runs and --repeat apply to --startup only")
    if args.scaling is not None:
        try:
            sizes = [int(n) for n in args.scaling.split(",")]
        except ValueError:
            sizes = []
        if not sizes or min(sizes) < 1:
            parser.error(f"--scaling takes group sizes >= 1 such as 1,8,64; got {args.scaling}")
        from grok_tui.group.bench import scaling_command

        return scaling_command(sizes, quick=args.quick, device=args.device, json_path=args.json)
    if args.vectorize is not None:
        if args.vectorize < 1:
            parser.error("--vectorize takes a group size >= 1")
        if args.compile != "auto" or args.rounds is not None:
            parser.error("--compile and --rounds do not apply to --vectorize")
        from grok_tui.group.bench import vectorize_command

        return vectorize_command(
            args.vectorize, quick=args.quick, device=args.device, json_path=args.json
        )
    from grok_tui.bench.compare import bench_command  # torch: only when training is timed

    return bench_command(
        quick=args.quick,
        device=args.device,
        json_path=args.json,
        compile_choice=args.compile,
        rounds=args.rounds,
    )


def cmd_gpu_check(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="grok-tui gpu-check",
        description="on a GPU box: the GPU tests, the bench on CUDA, the quickstart to grok "
        "and the default transformer's speed, written to DIR/report.md and DIR/report.json; "
        "exit 1 when a part failed, 2 at once without CUDA",
    )
    parser.add_argument("--out", type=Path, default=Path("gpu-check"), metavar="DIR")
    parser.add_argument("--device", default="cuda", help="cuda or cuda:N (default cuda)")
    parser.add_argument(
        "--steps", type=int, default=20_000, help="steps of the default transformer (20,000)"
    )
    args = parser.parse_args(argv)
    if not args.device.startswith("cuda") or args.steps < 100:
        parser.error("--device must be cuda or cuda:N and --steps at least 100")
    from grok_tui.bench.gpu_check import gpu_check_command

    return gpu_check_command(args.out, args.device, steps=args.steps)


def cmd_sweep_report(argv: list[str]) -> int:
    from grok_tui.sweep.metrics import METRICS
    from grok_tui.sweep.report import report_command

    parser = argparse.ArgumentParser(
        prog="grok-tui sweep-report",
        description="a sweep's table (and heatmap for two varying fields); "
        "without SWEEP, list the sweeps of the runs directory",
    )
    parser.add_argument("sweep", nargs="?", metavar="SWEEP_DIR", help="path or id of a sweep")
    parser.add_argument(
        "--metric",
        default="final_test_acc",
        choices=list(METRICS),
        help="the heatmap's figure, also a column of the table and, with --ci, of the "
        "intervals (default: final_test_acc). Beyond the summary's figures: "
        "test_acc_drop (best minus final test accuracy), test_acc_jitter (mean change "
        "of test accuracy between evaluations over the run's second half), "
        "test_acc_at_fit (test accuracy at fit_step: near chance when there is a "
        "grokking gap), test_acc_rise (steps from test accuracy 0.1 to 0.9: how "
        "gradual the rise is), "
        "min_test_loss_step / min_test_loss_epoch (where test loss was lowest)",
    )
    parser.add_argument("--x", metavar="FIELD", help="heatmap x axis (default: first varying)")
    parser.add_argument("--y", metavar="FIELD", help="heatmap y axis (default: second varying)")
    parser.add_argument(
        "--over",
        metavar="FIELD[,FIELD]",
        help="summarise across these axes: the spread of fit_step and grok_step per setting"
        " of the others (default: train.seed / data.split_seed when they vary; 'none': off)",
    )
    parser.add_argument("--csv", metavar="PATH", help="also write the table as CSV")
    parser.add_argument(
        "--ci",
        action="store_true",
        help="95%% bootstrap confidence intervals over the seeds of each setting: mean "
        "fit_step, grok_step, grok_gap, --metric and the fraction that grokked (with "
        "--csv, also written to PATH-ci.csv)",
    )
    parser.add_argument("--plain", action="store_true", help="no colours even on a terminal")
    parser.add_argument(
        "--width",
        type=int_in(30, MAX_HEATMAP_WIDTH),
        metavar="N",
        help=f"heatmap width in columns (30 to {MAX_HEATMAP_WIDTH}; default: the terminal's)",
    )
    parser.add_argument(
        "--runs-dir", help="where runs live (default: ./runs or $GROK_TUI_RUNS_DIR)"
    )
    args = parser.parse_args(argv)
    return report_command(
        args.sweep,
        resolve_runs_dir(args.runs_dir),
        metric=args.metric,
        x=args.x,
        y=args.y,
        over=None
        if args.over is None
        else [f.strip() for f in args.over.split(",") if f.strip() not in ("", "none")],
        csv_path=args.csv,
        plain=args.plain,
        width=args.width,
        ci=args.ci,
    )


def cmd_analyze(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="grok-tui analyze",
        description="Analyse a run's kept weights: norms, embeddings (PCA, t-SNE, heatmaps), "
        "their Fourier spectrum, Nanda et al.'s restricted/excluded losses, the loss "
        "landscape. Writes RUN_DIR/analysis/analysis.json and PNG figures.",
    )
    parser.add_argument("run", metavar="RUN_DIR", help="a run directory (or a run id)")
    parser.add_argument(
        "--step",
        metavar="S",
        type=int_in(0, MAX_STEPS),
        help="the kept step to analyse (default: the latest)",
    )
    parser.add_argument(
        "--landscape-points",
        type=int_in(1, MAX_LANDSCAPE_POINTS),
        default=11,
        metavar="N",
        help=f"grid points per axis of the 2-D landscape (odd; default 11, at most "
        f"{MAX_LANDSCAPE_POINTS})",
    )
    parser.add_argument(
        "--landscape-span",
        metavar="S",
        type=number_in(0, MAX_SCALE, above=True),
        default=1.0,
        help="grid half-width in filter-normalised units (default 1)",
    )
    parser.add_argument(
        "--perturb-samples",
        metavar="N",
        type=int_in(1, MAX_PERTURB_SAMPLES),
        default=200,
        help="Gaussian perturbations of two layers (default 200; the report used 2000)",
    )
    parser.add_argument(
        "--perturb-scale",
        metavar="S",
        type=number_in(0, MAX_SCALE, above=True),
        default=0.5,
        help="largest noise std, in units of each layer's RMS weight (default 0.5)",
    )
    parser.add_argument(
        "--perturb-absolute",
        action="store_true",
        help="take --perturb-scale as an absolute std (the report: --perturb-scale 0.01)",
    )
    parser.add_argument(
        "--perturb-layers", metavar="A,B", help="two parameter names (default: chosen per model)"
    )
    parser.add_argument(
        "--max-examples",
        metavar="N",
        type=int_in(1, MAX_EXAMPLES),
        default=1024,
        help="examples per split for landscape losses (default 1024)",
    )
    parser.add_argument("--no-tsne", action="store_true", help="skip t-SNE")
    parser.add_argument(
        "--link-step",
        metavar="N",
        type=int_in(1, MAX_P),
        help="link n and n+STEP in projections (default: from Fourier)",
    )
    parser.add_argument(
        "--max-checkpoints",
        metavar="N",
        type=int_in(1, MAX_CHECKPOINTS),
        default=100,
        help="at most this many kept steps in the over-time analyses (default 100)",
    )
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument(
        "--seed",
        type=int_in(0, MAX_ANALYSIS_SEED),
        default=0,
        help="seed of directions, noise, t-SNE (0 to 2^32 - 1)",
    )
    cpus = os.cpu_count() or 1
    parser.add_argument(
        "--threads",
        metavar="N",
        type=int_in(1, cpus, " (this machine's CPUs)"),
        default=1,
        help="CPU threads for torch (default 1: as fast for these small models, and it "
        f"leaves the other cores to training runs; at most {cpus}, the CPUs here)",
    )
    parser.add_argument("--no-figures", action="store_true", help="write analysis.json only")
    parser.add_argument("--runs-dir", help="where to look up a run id")
    args = parser.parse_args(argv)
    if args.perturb_layers is not None and len(args.perturb_layers.split(",")) != 2:
        parser.error("--perturb-layers takes two parameter names separated by a comma")
    try:  # a mistyped run's error at once, before torch's seconds of import
        store.find_run(args.run, resolve_runs_dir(args.runs_dir))
    except UserError as exc:
        return _error(str(exc))
    from grok_tui.analysis.report import Options, analyze_command  # torch: after the parsing

    options = Options(
        step=args.step,
        grid_points=args.landscape_points,
        grid_span=args.landscape_span,
        perturb_samples=args.perturb_samples,
        perturb_scale=args.perturb_scale,
        perturb_relative=not args.perturb_absolute,
        perturb_layers=args.perturb_layers.split(",") if args.perturb_layers else None,
        max_examples=args.max_examples,
        tsne=not args.no_tsne,
        link_step=args.link_step,
        max_checkpoints=args.max_checkpoints,
        device=args.device,
        seed=args.seed,
        figures=not args.no_figures,
    )
    return analyze_command(args.run, options, args.threads, args.runs_dir)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

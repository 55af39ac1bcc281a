"""``grok-tui export``: runs' records as one CSV, or as TensorBoard event files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grok_tui.cli.options import DIRECTORIES, FILES, complete
from grok_tui.config import PresetError
from grok_tui.errors import UserError, user_error
from grok_tui.rundirs import store
from grok_tui.rundirs.stopping import EXIT_OK
from grok_tui.rundirs.store import resolve_runs_dir
from grok_tui.sweep.sweepdir import SweepDir, find_sweep, is_sweep_dir
from grok_tui.text import safe_text

EXPORT_HELP = (
    "write runs' records for other tools: one CSV of every record of every "
    "run named (a sweep stands for its points), with the run id and the preset fields "
    "that differ between the runs as the first columns; or TensorBoard event files, "
    "one sub-directory per run (tensorboard --logdir DIR)"
)


def add_export(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "refs", nargs="+", metavar="RUN", help="run or sweep: directory, id or a unique part"
    )
    complete(
        parser.add_argument("--csv", type=Path, metavar="FILE", help="write one CSV here"),
        FILES,
    )
    complete(
        parser.add_argument(
            "--tensorboard", type=Path, metavar="DIR", help="write event files here"
        ),
        DIRECTORIES,
    )


def export_handler(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.csv is None and args.tensorboard is None:
        parser.error("give --csv FILE, --tensorboard DIR, or both")
    from grok_tui.export import write_tensorboard
    from grok_tui.export.stream import write_runs_csv  # row by row: long runs in little memory

    try:
        runs = _runs_named(args.refs, resolve_runs_dir(args.runs_dir))
    except UserError as exc:
        return user_error(str(exc))

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

        return user_error(f"cannot write: {describe_os_error(exc)}")
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

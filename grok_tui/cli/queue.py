"""``grok-tui queue``: list, add to, reorder and serve the runs directory's queue."""

from __future__ import annotations

import argparse
from pathlib import Path

from grok_tui.cli.options import PRESETS, CommandParser, complete, parent_parser
from grok_tui.cli.presets import resolve_preset
from grok_tui.cli.table import Column, dash, print_table
from grok_tui.config import load_preset
from grok_tui.errors import UserError, user_error
from grok_tui.rundirs import store
from grok_tui.rundirs.stopping import EXIT_OK, StopFlag
from grok_tui.rundirs.store import resolve_runs_dir
from grok_tui.text import safe_text

QUEUE_HELP = (
    "Runs that wait for a free slot on their device (RUNS/queue.json). A "
    "detached queue runner, started by `add` and by the TUI, starts the next one when "
    "fewer runs than the device's slots are live (runs started by hand count too) and "
    "ends when the queue is empty. Queued runs show in History with status queued."
)


def add_queue(parser: CommandParser) -> None:
    runs_only, with_device = parent_parser(device=False), parent_parser(device=True)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=CommandParser)

    def action(name: str, help: str, device: bool = False) -> CommandParser:
        return actions.add_parser(  # type: ignore[no-any-return]
            name,
            prog=f"grok-tui queue {name}",
            help=help,
            parents=[with_device if device else runs_only],
            intermixed=True,
        )

    action("list", "the queue in order (the default)")
    add = action("add", "queue a preset (last)", device=True)
    complete(
        add.add_argument(
            "preset", metavar="PRESET", help="a preset file (TOML) or a shipped preset's name"
        ),
        PRESETS,
    )
    add.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V")
    remove = action("remove", "take entry N out (its run directory, never trained, goes)")
    remove.add_argument("position", type=int, metavar="N")
    move = action("move", "move entry N: up, down, top, bottom")
    move.add_argument("position", type=int, metavar="N")
    move.add_argument("where", choices=["up", "down", "top", "bottom"])
    slots = action("slots", "show, or set, the runs live at once on DEVICE (0 pauses)")
    slots.add_argument("slot_device", nargs="?", metavar="DEVICE")
    slots.add_argument("count", nargs="?", type=int, metavar="N")
    action(
        "rebuild",
        "a new queue.json from the runs with status queued (a damaged one is kept aside)",
    )
    serve = action("run", "serve the queue here until it is empty (what add starts)")
    serve.add_argument("--poll", type=float, default=1.0, metavar="S", help=argparse.SUPPRESS)


def queue_handler(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``grok-tui queue ...``: list, add to, reorder and serve the runs directory's queue."""
    from grok_tui.rundirs import runqueue

    runs_dir = resolve_runs_dir(args.runs_dir)
    try:
        if args.action == "add":
            preset = load_preset(resolve_preset(args.preset), args.overrides)
            queued = runqueue.enqueue(runs_dir, preset, device=args.device)
            runqueue.ensure_runner(runs_dir, runqueue.start_runner)
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
            if args.slot_device is not None and args.count is None:
                parser.error("slots takes DEVICE and N (or nothing, to show them)")
            if args.slot_device is not None:
                key = runqueue.set_slots(runs_dir, args.slot_device, args.count)
                runqueue.ensure_runner(runs_dir, runqueue.start_runner)
                print(f"{key}: {args.count} slot(s)")
            else:
                state = runqueue.read_queue(runs_dir)
                print(f"slots: {runqueue.slots_line(state, runqueue.live_devices(runs_dir))}")
        elif args.action == "rebuild":
            count, kept = runqueue.rebuild(runs_dir)
            if kept is not None:
                print(f"the damaged queue file is kept as {safe_text(kept)}")
            print(f"{count} run(s) in the queue")
            runqueue.ensure_runner(runs_dir, runqueue.start_runner)
        elif args.action == "run":
            return _serve_queue(runs_dir, args.poll)
        else:
            _print_queue(runs_dir)
    except UserError as exc:
        return user_error(str(exc))
    except OSError as exc:
        from grok_tui.files import describe_os_error

        return user_error(f"cannot write the queue in {runs_dir}: {describe_os_error(exc)}")
    return EXIT_OK


# The columns of `grok-tui queue`.
QUEUE_TABLE = (
    Column("#", 3, right=True),
    Column("run", 44, gap=2),
    Column("device", 8),
    Column("steps", 8, right=True),
    Column("state", gap=2),
)


def _print_queue(runs_dir: Path) -> None:
    from grok_tui.rundirs import runqueue

    state = runqueue.read_queue(runs_dir)
    live = runqueue.live_devices(runs_dir)
    pid = runqueue.runner_pid(runs_dir)
    runner = f"runner pid {pid}" if pid else "no runner (add, or the TUI, starts one)"
    print(f"queue of {safe_text(runs_dir)} · {runner}")
    print(f"slots: {runqueue.slots_line(state, live)}")
    if not state.entries:
        print("the queue is empty")
        return
    reasons = runqueue.waits(state, live)
    rows = [
        (
            n,
            entry.run,
            entry.device,
            dash(store.read_summary(runs_dir / entry.run).get("steps")),
            why,
        )
        for n, (entry, why) in enumerate(zip(state.entries, reasons, strict=True), 1)
    ]
    print_table(QUEUE_TABLE, rows)


def _serve_queue(runs_dir: Path, poll: float) -> int:
    """The detached queue runner: its lines go to RUNS/logs/queue.log."""
    from grok_tui.rundirs import runqueue

    stop = StopFlag()
    with stop.installed():
        code = runqueue.serve(
            runs_dir,
            poll_s=max(0.05, poll),
            should_stop=stop,
            log=lambda line: print(safe_text(line), flush=True),
        )
    # asked to stop: 128 + the signal's number, as for a run (130 Ctrl-C, 143 SIGTERM)
    return stop.exit_code(code)

"""``grok-tui runs`` (the runs of a runs directory: a table, JSON or CSV) and ``grok-tui
note`` (a run's note). Every field read from a run directory goes through safe_text."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from grok_tui.cli.options import FILES, complete
from grok_tui.cli.table import Column, print_table
from grok_tui.errors import UserError, user_error
from grok_tui.rundirs import store
from grok_tui.rundirs.layout import INDEX_FILE
from grok_tui.rundirs.stopping import EXIT_OK
from grok_tui.rundirs.store import resolve_runs_dir
from grok_tui.text import safe_text

NOTE_HELP = (
    "show a run's note, or set it (TEXT) or clear it (--clear); "
    "the note lives in RUN_DIR/note.txt and shows in the TUI's history"
)


def add_runs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reindex",
        action="store_true",
        help=f"read every run directory again and rebuild the runs index (RUNS_DIR/{INDEX_FILE})",
    )
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="every run as a JSON list")
    complete(
        shape.add_argument(
            "--csv",
            nargs="?",
            const="-",
            metavar="FILE",
            help="every run as CSV, to FILE (or printed, without FILE)",
        ),
        FILES,
    )


def add_note(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="run directory, id, or a unique part of an id")
    parser.add_argument("text", nargs="*", metavar="TEXT", help="the new note")
    parser.add_argument("--clear", action="store_true", help="remove the note")


# A run that ended so shows its summary's error where it has no note of the user's.
_ENDED_BADLY = (store.FAILED, store.CRASHED, store.DIVERGED)


# The fields of `grok-tui runs --json / --csv`: the table's, each in full.
RUN_FIELDS = (
    "id",
    "status",
    "name",
    "step",
    "steps",
    "fit_step",
    "grok_step",
    "final_train_acc",
    "final_test_acc",
    "device",
    "note",
    "error",
    "path",
)


# The columns of `grok-tui runs`.
RUNS_TABLE = (
    Column("run", 44),
    Column("status", 10),
    Column("step", 9, right=True),
    Column("fit", 7, right=True),
    Column("grok", 7, right=True),
    Column("test_acc", 8, right=True),
    Column("device", 24, gap=2),
    Column("note", gap=2),
)


def _problem(info: store.RunInfo, status: str | None = None) -> str | None:
    """Why a run shows no note of its own: unreadable, its preset unreadable, its error.
    ``status``: the run's, when the caller has it already."""
    s = info.summary
    if info.unreadable:  # shown, never fatal: one damaged run must not hide the others
        return f"unreadable: {info.unreadable}"
    if info.preset_error:  # its own preset.toml, named so: the reason fits the column
        own = info.preset_error.replace(str(info.run.preset_path), store.PRESET_FILE)
        return f"preset unreadable: {own}"
    status = info.status if status is None else status
    if status in _ENDED_BADLY and isinstance(s.get("error"), str):
        return f"error: {s['error']}"  # why it failed (the queue could not start it...)
    return None


def _scalar(value: Any) -> Any:
    """A summary value for JSON and CSV: numbers, text, true/false; anything else (a
    table where a number belongs, nan from a crafted file) is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value if isinstance(value, str | int | float | bool) else None


def run_record(info: store.RunInfo) -> dict[str, Any]:
    """One run as `runs --json` writes it (RUN_FIELDS)."""
    s = info.summary
    final = s.get("final") if isinstance(s.get("final"), dict) else {}
    name = s.get("name") or info.preset.get("name") or info.run_id
    return {
        "id": info.run_id,
        "status": info.status,
        "name": _scalar(name),
        "step": _scalar(s.get("step")),
        "steps": _scalar(s.get("steps")),
        "fit_step": _scalar(s.get("fit_step")),
        "grok_step": _scalar(s.get("grok_step")),
        "final_train_acc": _scalar(final.get("train_acc")),
        "final_test_acc": _scalar(final.get("test_acc")),
        "device": device_label(s) or None,
        "note": info.note or None,
        "error": _problem(info),
        "path": str(info.run.path),
    }


def runs_handler(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """List the runs; every field read from a run directory goes through safe_text.

    A run directory may come from someone else: its id, status, numbers and note must
    not carry escape sequences (or bidi overrides) to the terminal, nor break the table.
    """
    from grok_tui.rundirs import index  # sqlite3: only for the commands that list

    with index.collector_paused():  # tens of thousands of objects, no cycle (index.py)
        # through the runs index: only the run directories that changed are read; a
        # preset only where a summary has no name (--json, --csv): from its directory
        folder = resolve_runs_dir(args.runs_dir)
        runs = index.list_runs(folder, reindex=args.reindex, presets=False)
        return _show(runs, args)


def _show(runs: list[store.RunInfo], args: argparse.Namespace) -> int:
    """The runs as a table, JSON or CSV."""
    if args.json:  # json.dumps escapes every control character: safe on a terminal
        print(json.dumps([run_record(info) for info in runs], indent=2))
        return EXIT_OK
    if args.csv is not None:
        return _runs_csv([run_record(info) for info in runs], args.csv)
    if not runs:
        print("no runs")
        return EXIT_OK
    print_table(RUNS_TABLE, [_row(info) for info in runs])  # print_table makes it safe
    return EXIT_OK


def _row(info: store.RunInfo) -> tuple[object, ...]:
    """One run's cells in the table of `grok-tui runs` (print_table makes them safe)."""
    s = info.summary
    final = s.get("final")
    test_acc = final.get("test_acc") if isinstance(final, dict) else None
    status = info.status
    note = info.note.splitlines()[0] if info.note else ""
    if info.unreadable or info.preset_error or not note:
        note = _problem(info, status) or note
    step, fit, grok = s.get("step", 0), s.get("fit_step"), s.get("grok_step")
    return (
        info.run_id,
        status,
        "-" if step is None else step,
        "-" if fit is None else fit,
        "-" if grok is None else grok,
        _acc(test_acc),
        device_label(s),
        note[:100],
    )


def _runs_csv(records: list[dict[str, Any]], target: str) -> int:
    """`runs --csv [FILE]`: the cells through the CSV rule of every CSV (formats/csvfile.py);
    printed, each text cell is one terminal-safe line too."""
    from grok_tui.formats.csvfile import csv_text, write_csv

    rows = [[record[field] for field in RUN_FIELDS] for record in records]
    if target == "-":
        shown = [[safe_text(v) if isinstance(v, str) else v for v in row] for row in rows]
        sys.stdout.write(csv_text(RUN_FIELDS, shown))
        return EXIT_OK
    try:
        write_csv(target, RUN_FIELDS, rows)
    except OSError as exc:
        from grok_tui.files import describe_os_error

        return user_error(f"cannot write {target}: {describe_os_error(exc)}")
    print(f"wrote {len(rows)} run(s) to {safe_text(target)}")
    return EXIT_OK


def device_label(summary: dict[str, object]) -> str:
    """'cuda:0 H100 80GB HBM3' (the GPU's name without its vendor), 'cpu', or ''."""
    device = str(summary.get("device") or "")
    name = str(summary.get("device_name") or "").removeprefix("NVIDIA ").strip()
    return f"{device} {name}"[:24].strip() if name else device[:24]


def note_handler(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        run = store.find_run(args.run, resolve_runs_dir(args.runs_dir))
    except UserError as exc:
        return user_error(exc.message)
    if args.clear and args.text:
        return user_error("give TEXT or --clear, not both")
    text = " ".join(args.text)
    problem = _note_problem(text) if args.text else None
    if problem is not None:
        return user_error(f"TEXT: {problem}; the note of {safe_text(run.run_id)} is unchanged")
    if args.clear or args.text:
        from grok_tui.files import describe_os_error

        where = safe_text(run.note_path)  # one line, whatever the run directory is called
        try:
            run.set_note(text)
        except UserError as exc:  # the store's own check of the note
            return user_error(f"{where}: {safe_text(exc.message)}; the note is unchanged")
        except OSError as exc:  # a full or read-only disk, note.txt a directory
            what = "remove" if args.clear else "write"
            return user_error(
                f"cannot {what} {where}: {describe_os_error(exc)}; the note is unchanged"
            )
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


def _acc(value: object) -> str:
    """An accuracy to 4 decimals; anything else a summary might hold, shown safely."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.4f}"
    return safe_text(value)

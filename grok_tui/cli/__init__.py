"""The ``grok-tui`` command: one argparse parser with a sub-parser per command, and dispatch.

``grok-tui COMMAND ...`` (parser.COMMANDS; bare ``grok-tui`` opens the TUI). ``--runs-dir``
and ``--device`` come from a shared parent parser and go before or after the command.
``--run PRESET`` and ``--resume RUN...`` are the older spellings of ``run`` and ``resume``,
kept as aliases: rundirs/launch.py, the sweep executor and the queue start runs with them.
A preset argument is a file or the name of a shipped preset (``quickstart``,
``classic/nanda-p113``: ``grok-tui presets`` lists them).

Exit codes: 0 done, 1 failed or diverged, 2 bad input, 130 stopped by Ctrl-C (SIGINT),
143 stopped by SIGTERM (128 + the signal's number, as shells count them).

The top layer: it parses, then hands over to training, sweep, analysis, bench, export
or the TUI; nothing below imports it. parser.py holds the one parser and the dispatch,
each command family its own module (train.py: run, resume, tui; runs.py: runs, note;
presets.py, export.py, sweep.py, analyze.py, queue.py, bench.py), table.py the one table
printer of every listing.
"""

from __future__ import annotations

from grok_tui.cli.parser import (
    COMMANDS,
    SUBCOMMANDS,
    build_parser,
    cmd_analyze,
    cmd_bench,
    cmd_export,
    cmd_gpu_check,
    cmd_note,
    cmd_queue,
    cmd_runs,
    cmd_sweep_report,
    cmd_validate,
    main,
)
from grok_tui.cli.presets import find_shipped, resolve_preset, shipped_presets
from grok_tui.cli.runs import RUN_FIELDS, device_label, run_record

__all__ = [
    "COMMANDS",
    "RUN_FIELDS",
    "SUBCOMMANDS",
    "build_parser",
    "cmd_analyze",
    "cmd_bench",
    "cmd_export",
    "cmd_gpu_check",
    "cmd_note",
    "cmd_queue",
    "cmd_runs",
    "cmd_sweep_report",
    "cmd_validate",
    "device_label",
    "find_shipped",
    "main",
    "resolve_preset",
    "run_record",
    "shipped_presets",
]

"""The names of what lies in a runs folder, in one place.

A runs folder holds run directories, sweep directories (each a folder of run
directories with a ``sweep.json``), the queue and logs. Whoever writes a name and
whoever reads it back (the TUI, the sweep driver, a trainer choosing its thread share)
take it from here, so that the layout on disk cannot drift between them. Nothing here
reads a file's contents: only names, and which folder a path stands in.
"""

from __future__ import annotations

from pathlib import Path

from grok_tui import files

# -- a run directory ---------------------------------------------------------------------
PRESET_FILE = "preset.toml"
METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"
CHECKPOINT_FILE = "checkpoint.pt"
LOG_FILE = "log.txt"
NOTE_FILE = "note.txt"  # the user's note on a run: its own file, so training never overwrites it
SNAPSHOT_DIR = "checkpoints"  # kept weights over time: checkpoints/step-00001000.pt

# -- a sweep directory -------------------------------------------------------------------
SWEEP_JSON = "sweep.json"  # what makes a folder a sweep directory
SWEEP_TOML = "sweep.toml"
SWEEP_LOCK = ".sweep.lock"  # held by the process that trains the sweep

# -- a runs folder -----------------------------------------------------------------------
DEFAULT_RUNS_DIR = Path("runs")
QUEUE_FILE = "queue.json"
LOGS_DIR = "logs"  # sweeps' and the queue runner's logs: RUNS/logs/
INDEX_FILE = ".grok-tui-index.sqlite"  # the runs index, a cache (rundirs/index.py)


def in_sweep(run_path: str | Path) -> bool:
    """Whether a run directory is a point of a sweep (its folder holds sweep.json)."""
    return (Path(run_path).parent / SWEEP_JSON).exists()


def runs_folder(run_path: str | Path) -> Path:
    """The runs folder that a run directory belongs to: its parent, or its sweep's parent.

    The runs that share the CPUs of a machine are counted there (threads.ThreadShare),
    so a sweep's points and the runs beside the sweep count each other.
    """
    run_path = Path(run_path)
    return run_path.parent.parent if in_sweep(run_path) else run_path.parent


def is_sweep_dir(path: str | Path) -> bool:
    """A real folder (never a link) with a regular sweep.json in it."""
    return files.is_real_dir(path) and files.is_regular(Path(path) / SWEEP_JSON)

"""Where an analysis lives in a run directory and how to start one; torch-free (the TUI uses it)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from grok_tui import files
from grok_tui.rundirs import ondisk

ANALYSIS_DIR = "analysis"
ANALYSIS_FILE = "analysis.json"
ANALYSIS_LOG = "analyze.log"
SCHEMA = ondisk.ANALYSIS_SCHEMA  # "grok-tui.analysis/1"
# A p = 1409 transformer's analysis (heatmaps, the example unit's p x p grid) takes ~30 MiB.
MAX_ANALYSIS_BYTES = 64 * files.MiB


def analysis_dir(run_path: str | Path) -> Path:
    return Path(run_path) / ANALYSIS_DIR


def analysis_path(run_path: str | Path) -> Path:
    return analysis_dir(run_path) / ANALYSIS_FILE


def read_analysis(run_path: str | Path) -> dict[str, Any] | None:
    """The run's analysis.json, or None when there is none (or it cannot be read)."""
    return read_analysis_checked(run_path)[0]


def read_analysis_checked(run_path: str | Path) -> tuple[dict[str, Any] | None, str | None]:
    """(analysis, None), or (None, why it cannot be used): none there, a link, a FIFO, a
    file over MAX_ANALYSIS_BYTES, not JSON, or JSON whose sections are not the shapes the
    analysis views draw (ondisk.AnalysisFile). A run directory may come from someone else."""
    try:  # the analysis folder is reached without following a link, as its writer does
        with files.subfolder(analysis_dir(run_path)) as folder:
            data = json.loads(folder.read_text(ANALYSIS_FILE, MAX_ANALYSIS_BYTES))
    except FileNotFoundError:
        return None, f"no {ANALYSIS_FILE}"
    except OSError as exc:
        return None, f"{ANALYSIS_FILE} {files.describe_os_error(exc)}"
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None, f"{ANALYSIS_FILE} is not valid JSON"
    if not isinstance(data, dict):
        return None, f"{ANALYSIS_FILE} holds a {type(data).__name__}, not an object"
    if reason := ondisk.problem(ondisk.AnalysisFile, data):
        return None, f"{ANALYSIS_FILE}: {reason}"
    return data, None


def analysis_command(run_path: str | Path, *options: str) -> list[str]:
    """The command that analyses a run in its own process (the TUI never imports torch)."""
    return [sys.executable, "-m", "grok_tui", "analyze", str(run_path), *options]

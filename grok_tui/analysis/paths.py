"""Where an analysis lives in a run directory and how to start one; torch-free (the TUI uses it)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ANALYSIS_DIR = "analysis"
ANALYSIS_FILE = "analysis.json"
ANALYSIS_LOG = "analyze.log"
SCHEMA = "grok-tui.analysis/1"


def analysis_dir(run_path: str | Path) -> Path:
    return Path(run_path) / ANALYSIS_DIR


def analysis_path(run_path: str | Path) -> Path:
    return analysis_dir(run_path) / ANALYSIS_FILE


def read_analysis(run_path: str | Path) -> dict[str, Any] | None:
    """The run's analysis.json, or None when there is none (or it cannot be read)."""
    try:
        data = json.loads(analysis_path(run_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("schema") == SCHEMA else None


def analysis_command(run_path: str | Path, *options: str) -> list[str]:
    """The command that analyses a run in its own process (the TUI never imports torch)."""
    return [sys.executable, "-m", "grok_tui", "analyze", str(run_path), *options]

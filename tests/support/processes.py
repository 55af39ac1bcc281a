"""The command line as a user runs it: ``python -m grok_tui ...`` in a real process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def grok(
    *args: str, timeout: float = 180, cwd: Path | None = REPO, **kw: Any
) -> subprocess.CompletedProcess[str]:
    """Run grok-tui with these arguments to its end; output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "grok_tui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        **kw,
    )

"""A preset text's verdict as if it were saved, without touching the file it would replace."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from grok_tui import files

if TYPE_CHECKING:
    from grok_tui.tui.catalog import PresetEntry

# grok_tui.config and the catalog (pydantic) are imported when a text is first checked,
# after the first frame: they are a third of the app's import time.


def check_preset_text(text: str, path: Path) -> PresetEntry:
    """The list's verdict (catalog.load_entry: a preset, a sweep or the error) on ``text``
    as if it were saved at ``path``, without touching ``path``.

    The text is written beside the file, under a name the folder scan never lists and with
    the same stem, so that ``extends`` and the default name resolve as they will once it is
    saved; the messages name ``path``. A relative ``path`` (no file: a run's copy), or a
    folder that cannot be written, is checked in a temporary folder instead.
    """
    from grok_tui.tui.catalog import PresetEntry

    if path.is_absolute():
        entry = _check_at(text, path.with_suffix(f".grok-tui-check-{os.getpid()}"), path)
        if entry is not None:
            return entry
    folder = Path(tempfile.mkdtemp(prefix="grok-tui-check-"))
    try:
        entry = _check_at(text, folder / path.name, path)
    finally:
        with contextlib.suppress(OSError):
            files.rmtree(folder)
    return entry or PresetEntry(path, "check", error=f"{path}: cannot write a copy to check")


def _check_at(text: str, draft: Path, path: Path) -> PresetEntry | None:
    """load_entry of ``text`` written at ``draft`` (then removed), told as ``path``; None
    when ``draft`` cannot be written."""
    from grok_tui.tui.catalog import load_entry

    try:
        files.write_text_atomic(draft, text)
    except (OSError, ValueError):
        return None
    try:
        entry = load_entry(draft, "check")
    finally:
        with contextlib.suppress(OSError):
            files.unlink(draft)
    entry.path = path
    if entry.error:
        for name in {str(draft.resolve()), str(draft)}:
            entry.error = entry.error.replace(name, str(path))
    return entry

"""The Presets screen's two views of one preset: the form, and the TOML tab's file text.

Entering the TOML tab shows the file's text, or, once the form was edited, the form's
preset as the file would be saved; leaving it with edited text that loads puts that
preset into the form, and text that does not load keeps the tab (fix it, or discard it
by loading the file again). What is unsaved is told against the file on disk, or,
for a run's copy (no file), against the text last made from the form.

No Textual here: the screen hands over the editor and the form as the two small sides
below, so that every transition is tested without an app (tests/unit/test_toml_sync.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from grok_tui.config import Preset

EDIT_TAB = "tab-edit"
TOML_TAB = "tab-toml"


class Verdict(Protocol):
    """The preset list's word on a text (grok_tui.tui.catalog.PresetEntry is one)."""

    @property
    def preset(self) -> Preset | None: ...
    @property
    def sweep(self) -> str | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def valid(self) -> bool: ...


class TextSide(Protocol):
    """The TOML tab's editor."""

    @property
    def text(self) -> str: ...

    def show(self, text: str) -> None:
        """Put ``text`` in the editor (the same text again: left as it is, cursor and all)."""


class FormSide(Protocol):
    """The form over the preset's fields."""

    @property
    def shown(self) -> bool:
        """Whether it holds a preset (not a file it cannot show: invalid, or a sweep)."""

    @property
    def modified(self) -> bool:
        """Whether it holds edits its file does not."""

    def validate(self) -> Preset | None:
        """The form's preset, or None while a field is not valid."""

    def toml_text(self) -> str:
        """The form's fields as TOML, valid or not."""

    def take(self, preset: Preset) -> None:
        """Show ``preset``, as an unsaved edit."""


@dataclass(frozen=True)
class Status:
    """The line under the editor: ✓ and what Ctrl+S does, or ✗ and the loader's errors."""

    valid: bool
    headline: str
    then: str = ""
    errors: tuple[str, ...] = ()


# Lines of a verdict's error shown under the editor; the rest are counted.
SHOWN_ERRORS = 5


class TomlSync:
    """Which text the TOML tab holds, how it relates to the form and to its file, and the
    last verdict on it (each text is checked once)."""

    def __init__(
        self,
        text: TextSide,
        form: FormSide,
        check: Callable[[str, Path], Verdict],
        file_text: Callable[[Preset, Path], str],
    ) -> None:
        self.editor = text
        self.form = form
        self.check = check  # the verdict on a text as if it were saved at a path
        self.file_text = file_text  # a preset as the text of the file at a path
        self.tab = EDIT_TAB  # the tab shown
        self.file: Path | None = None  # the file edited (None: the form holds a run's copy)
        self.disk: str | None = None  # the file's text (None: no file, or it does not read)
        self.synced = ""  # the text last known to describe the form's preset
        self.synced_preset: Preset | None = None  # what it loads as (None: not valid)
        self.stale = True  # the text must be made from the form when the tab is entered
        self.checked: tuple[str, Verdict] | None = None  # the last check: text, verdict
        self.unsaved_path = Path("preset.toml")  # where a text with no file is checked

    # -- what is unsaved ----------------------------------------------------------

    @property
    def dirty(self) -> bool:
        """Whether the tab's text differs from its file (no file: from the form)."""
        if self.stale:
            return False
        text = self.editor.text
        if self.file is None:
            return text != self.synced
        return text != (self.disk or "")

    @property
    def label(self) -> str:
        return "TOML ● modified" if self.dirty else "TOML"

    # -- what the tab holds -------------------------------------------------------

    def _show(self, text: str, preset: Preset | None) -> None:
        self.editor.show(text)
        self.synced, self.synced_preset = text, preset
        self.stale = False

    def load_file(self, path: Path, text: str | None, verdict: Verdict) -> None:
        """The tab edits the file at ``path`` from its ``text`` on disk (None: it does not
        read, so it is shown empty and never overwritten); ``verdict``: the list's word on
        that very text. Nothing is unsaved after: this is also how edits are discarded."""
        self.file, self.disk = path, text
        self.checked = (text or "", verdict)
        self._show(text or "", verdict.preset)

    def forget_file(self, unsaved_path: Path) -> None:
        """The form holds a preset of no file (a run's copy): the tab is made from the form
        when entered, checked as if saved at ``unsaved_path``, and saves as a new file."""
        self.file, self.disk, self.stale = None, None, True
        self.unsaved_path = unsaved_path

    def enter(self) -> bool:
        """The tab shows the form's preset: the file's text while the form holds no edits,
        else the form's preset as the file would be saved; text typed here and not yet in
        the form (it did not load) is kept as typed. True when the text was made anew."""
        form = self.form
        if not form.shown:  # a file the form cannot show: its text, as loaded
            return False
        if not self.stale and self.editor.text != self.synced:
            return False
        preset = form.validate()
        if not self.stale and preset is not None and preset == self.synced_preset:
            return False  # the form was not changed since: the text stays as the user wrote it
        if self.file is not None and self.disk is not None and not form.modified:
            text = self.disk
        elif self.file is not None and preset is not None:
            text = self.file_text(preset, self.file)
        else:
            text = form.toml_text()
        self._show(text, preset)
        self.check_now()
        return True

    def leave(self) -> str | None:
        """Put the tab's edited text into the form; None when done (or nothing to do), else
        why it does not load as a preset (the tab keeps it)."""
        if self.stale or self.editor.text == self.synced:
            return None
        if not self.form.shown:  # no form: the text waits for Ctrl+S
            return None
        verdict = self.check_now()
        if verdict.preset is None:
            if verdict.sweep:
                return "it is a sweep file now (Ctrl+S saves it; the form edits presets)"
            return (verdict.error or "it does not load").splitlines()[0]
        if verdict.preset != self.form.validate():
            self.form.take(verdict.preset)
        self.synced, self.synced_preset = self.editor.text, verdict.preset
        return None

    def activate(self, tab: str) -> str | None:
        """``tab`` is shown now. Leaving the TOML tab with text that does not load keeps it
        shown (``tab`` stays TOML_TAB): returns why; else None."""
        old, self.tab = self.tab, tab
        if old == tab:
            return None
        if old == TOML_TAB:
            why = self.leave()
            if why is not None:
                self.tab = TOML_TAB
                return why
        if tab == TOML_TAB:
            self.enter()
        return None

    def saved(self, text: str, preset: Preset | None) -> None:
        """``text`` was written to the file: nothing is unsaved."""
        self.disk = text
        self._show(text, preset)

    # -- the verdict --------------------------------------------------------------

    @property
    def check_due(self) -> bool:
        """Whether the text changed since its last check."""
        return self.checked is None or self.checked[0] != self.editor.text

    def check_now(self) -> Verdict:
        """The verdict on the tab's text (the same text: checked once)."""
        text = self.editor.text
        if self.checked is None or self.checked[0] != text:
            self.checked = (text, self.check(text, self.file or self.unsaved_path))
        return self.checked[1]

    def status(self) -> Status | None:
        """What the line under the editor says; None while a check is due (the last one
        stays shown until then)."""
        if self.checked is None or self.check_due:
            return None
        verdict = self.checked[1]
        if verdict.valid:
            headline = "✓ loads" if verdict.preset is not None else f"✓ {verdict.sweep}"
            if self.file is None:
                then = "Ctrl+S saves it as a new file"
            elif self.dirty:
                then = f"Ctrl+S writes {self.file}"
            else:
                then = "as saved"
            return Status(True, headline, then)
        lines = (verdict.error or "does not load").splitlines()
        shown = lines[:SHOWN_ERRORS]
        if len(lines) > SHOWN_ERRORS:
            shown.append(f"… and {len(lines) - SHOWN_ERRORS} more")
        return Status(False, "✗ does not load (nothing is written):", errors=tuple(shown))

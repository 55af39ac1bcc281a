"""The Presets screen's TOML tab: the preset file's own text, checked as it is typed by
the loader of the list (file:line: field: message); Ctrl+S there writes the file.

The form and the tab stay one preset; views/toml_sync.py keeps that bookkeeping (which
text, unsaved or not, checked or not) and this module draws it and writes the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.timer import Timer
from textual.widgets import Static, TabbedContent, TextArea

from grok_tui import files
from grok_tui.text import safe_markup, safe_text
from grok_tui.tui.screens.presets.check import check_preset_text
from grok_tui.tui.views.toml_sync import TOML_TAB, TomlSync, Verdict
from grok_tui.tui.widgets.preset_form import PresetForm
from grok_tui.tui.widgets.toml_editor import TomlEditor
from grok_tui.tui.workbench import WorkbenchScreen

if TYPE_CHECKING:
    from textual.screen import Screen

    from grok_tui.config import Preset
    from grok_tui.tui.catalog import PresetEntry

# The TOML tab checks its text once typing pauses this long.
TOML_CHECK_S = 0.3


class EditorSide:
    """The TOML tab's editor, as the sync sees it."""

    def __init__(self, screen: Screen) -> None:
        self.screen = screen

    @property
    def text(self) -> str:
        return self.screen.query_one("#preset-toml", TomlEditor).text

    def show(self, text: str) -> None:
        editor = self.screen.query_one("#preset-toml", TomlEditor)
        if editor.text != text:  # a reload of the same text keeps the cursor where it is
            editor.load_text(text)


class FormSide:
    """The form, as the sync sees it."""

    def __init__(self, screen: Screen) -> None:
        self.screen = screen

    @property
    def _form(self) -> PresetForm:
        return self.screen.query_one("#preset-form", PresetForm)

    @property
    def shown(self) -> bool:
        form = self._form
        return bool(form.display) and form.built

    @property
    def modified(self) -> bool:
        return self._form.modified

    def validate(self) -> Preset | None:
        return self._form.validate()

    def toml_text(self) -> str:
        return self._form.toml_text()

    def take(self, preset: Preset) -> None:
        self._form.load(preset.to_dict(), edited=True)  # unsaved, as from $EDITOR


def preset_text_at(preset: Preset, path: Path) -> str:
    """``preset`` as the text of its own file at ``path``: the file's text with only what
    changed edited (comments and layout kept, no default added)."""
    from grok_tui.tui.preset_text import file_text

    return file_text(preset, path, path)


class TomlTab(WorkbenchScreen):
    """The TOML tab's part of the Presets screen (a mixin of PresetsScreen)."""

    sync: TomlSync
    _toml_timer: Timer | None = None
    _errors_shown = False  # the error box has something to say (the TOML tab hides it)

    if TYPE_CHECKING:  # the screen's other parts

        def action_save_as(self) -> None: ...
        def load_presets(self, select: Path | None = None) -> None: ...

    def make_sync(self) -> TomlSync:
        return TomlSync(EditorSide(self), FormSide(self), check_preset_text, preset_text_at)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Ctrl+S: Save as on the form's tabs, Save (the file itself) on the TOML tab."""
        if action == "save_as":
            return self.sync.tab != TOML_TAB
        if action == "save_toml":
            return self.sync.tab == TOML_TAB
        return True

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.tabbed_content.id != "preset-tabs" or event.pane.id is None:
            return
        if event.pane.id == self.sync.tab:
            return
        why = self.sync.activate(event.pane.id)
        if why is not None:  # its text does not load: it stays in view, not lost
            self._not_loading(why)
            event.tabbed_content.active = TOML_TAB
            self.query_one("#preset-toml", TomlEditor).focus()
            return
        self._show_toml_label()
        self._show_toml_status()
        self.query_one("#preset-errors").display = self._errors_shown and self.sync.tab != TOML_TAB
        self.refresh_bindings()

    def _not_loading(self, why: str) -> None:
        self.notify(
            safe_markup(
                f"The TOML does not load: {why}\nFix it, or F5 to discard it.", multiline=True
            ),
            severity="error",
            timeout=8,
        )

    def _leave_toml(self) -> bool:
        """Put the TOML tab's edited text into the form; False (and why) when it does not
        load as a preset: the tab keeps it."""
        why = self.sync.leave()
        if why is not None:
            self._not_loading(why)
        return why is None

    def _load_toml_file(self, entry: PresetEntry) -> None:
        """The TOML tab edits ``entry``'s file, from its text on disk: nothing unsaved."""
        try:
            text: str | None = files.read_text(entry.path, files.MAX_TOML_BYTES)
        except (OSError, ValueError):
            text = None  # the tab shows nothing, and Ctrl+S never overwrites the file
        self.sync.load_file(entry.path, text, entry)  # the list's verdict on this very text
        self._show_toml_label()
        self._show_toml_status()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if event.text_area.id != "preset-toml":
            return
        event.stop()
        self._show_toml_label()
        if self._toml_timer is not None:
            self._toml_timer.stop()
        if self.sync.check_due:
            self._toml_timer = self.set_timer(TOML_CHECK_S, self._check_toml_now)
        else:
            self._show_toml_status()

    def _check_toml_now(self) -> Verdict:
        """The verdict on the TOML tab's text, shown under it (the same text: checked once)."""
        verdict = self.sync.check_now()
        self._show_toml_status()
        return verdict

    def _show_toml_label(self) -> None:
        tab = self.query_one("#preset-tabs", TabbedContent).get_tab(TOML_TAB)
        label = self.sync.label
        if str(tab.label) != label:
            tab.label = label

    def _show_toml_status(self) -> None:
        """✓ and what Ctrl+S does, or ✗ and the loader's file:line: field: message lines."""
        status = self.sync.status()
        if status is None:
            return  # a check is due: the last verdict stays until then
        box = self.query_one("#toml-status", Static)
        box.set_class(not status.valid, "-error")
        if status.valid:
            box.update(Text.assemble((status.headline, "green"), f" · {safe_text(status.then)}"))
            return
        box.update(
            f"[b]{status.headline}[/b]\n" + "\n".join(safe_markup(line) for line in status.errors)
        )

    def action_save_toml(self) -> None:
        """Write the TOML tab's text to its file when it loads; text that does not load is
        never written, and stays in the tab."""
        if self.sync.tab != TOML_TAB:
            return
        path = self.sync.file
        if path is None:  # a run's copy: into the form, then Save as
            if self._leave_toml():
                self.action_save_as()
            return
        if self.sync.disk is None:
            self.notify(safe_markup(f"{path} does not read: not overwritten."), severity="error")
            return
        verdict = self._check_toml_now()
        if not verdict.valid:
            first = (verdict.error or "does not load").splitlines()[0]
            self.notify(
                safe_markup(f"Not saved: {first}", multiline=True), severity="error", timeout=8
            )
            return
        text = self.query_one("#preset-toml", TomlEditor).text
        try:
            files.write_text_atomic(path, text)
        except OSError as exc:
            self.notify(
                safe_markup(f"Could not save {path}: {exc}", multiline=True), severity="error"
            )
            return
        self.sync.saved(text, verdict.preset)
        self._show_toml_label()
        self._show_toml_status()
        self.notify(safe_markup(f"Saved {path}"))
        self.load_presets(select=path)  # the list, the form and Resolved follow the file

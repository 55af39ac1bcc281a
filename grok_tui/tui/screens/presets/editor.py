"""The Presets screen's $EDITOR round trip (Ctrl+E): the whole preset in the user's editor,
with the TUI suspended meanwhile, validated on return.

The form's preset goes through a draft file and comes back into the form; a draft that
does not load is kept for the next Ctrl+E, so nothing typed is lost. A file the form
cannot show (invalid, or a sweep) is edited in place, unless it is shipped: then a copy
in the user's presets folder is.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import SuspendNotSupported
from textual.widgets import TabbedContent

from grok_tui import files
from grok_tui.errors import UserError
from grok_tui.text import safe_markup
from grok_tui.tui.screens.modals import ChoiceModal
from grok_tui.tui.views.toml_sync import EDIT_TAB, TOML_TAB
from grok_tui.tui.widgets.preset_form import PresetForm
from grok_tui.tui.workbench import WorkbenchScreen

if TYPE_CHECKING:
    from grok_tui.tui.catalog import PresetEntry
    from grok_tui.tui.views.toml_sync import TomlSync


def text_or_empty(path: Path) -> str:
    """A draft's text ('' when it is gone or cannot be read as a preset file)."""
    try:
        return files.read_text(path, files.MAX_TOML_BYTES)
    except (OSError, UnicodeDecodeError):
        return ""


def copy_shipped(shipped: Path, folder: Path) -> Path:
    """Copy a shipped preset or sweep file into ``folder`` (a new name beside a file of
    the same name, never over it), its ``extends`` and ``#:schema`` lines made to reach
    from there what they reached from the shipped folder; the copy's path."""
    import re

    import tomli_w

    from grok_tui.config.reading import parse_toml
    from grok_tui.tui.catalog import _schema_line

    text = files.read_text(shipped, files.MAX_TOML_BYTES)
    base = parse_toml(text, file=shipped).get("extends")
    if isinstance(base, str):
        line = tomli_w.dumps({"extends": str((shipped.parent / base).resolve())}).strip()
        text = re.sub(r"(?m)^extends\s*=.*$", lambda _: line, text, count=1)
    text = re.sub(r"(?m)^#:schema .*\n", lambda _: _schema_line(folder.absolute()), text, count=1)
    files.make_dirs(folder)
    copy, number = folder / shipped.name, 1
    while copy.exists():
        number += 1
        copy = folder / f"{shipped.stem}-{number}{shipped.suffix}"
    files.write_text_atomic(copy, text)
    return copy


class EditorRoundTrip(WorkbenchScreen):
    """The $EDITOR part of the Presets screen (a mixin of PresetsScreen)."""

    current: PresetEntry | None
    origin: str  # what the form's preset came from: a file, or a run's copy
    # $EDITOR text that did not validate, kept for the next Ctrl+E: (origin, file)
    draft: tuple[str, Path] | None
    sync: TomlSync

    if TYPE_CHECKING:  # the screen's other parts

        def _shown_entry(self) -> PresetEntry | None: ...
        def _toml_unsaved_note(self) -> bool: ...
        def _leave_toml(self) -> bool: ...
        def load_presets(self, select: Path | None = None) -> None: ...

    def action_edit_toml(self) -> None:
        """The whole preset in $EDITOR: a file that does not load is edited in place; the
        form's preset goes through a draft file and comes back into the form."""
        form = self.query_one("#preset-form", PresetForm)
        if not form.display:
            shown = self.current is not None and self.current is self._shown_entry()
            if shown and self.current is not None and not self._toml_unsaved_note():
                path = self.current.path
                if self.current.source == "shipped":  # never edited in place: a copy is
                    path = self._user_copy(path)
                if path is not None:
                    self._edit_file_in_place(path)
            return
        if self.sync.tab == TOML_TAB and not self._leave_toml():
            return  # the TOML tab's text goes into the form first, when it loads
        if not form.built:
            return
        if self.draft is not None and self.draft[0] == self.origin and self.draft[1].exists():
            path = self.draft[1]  # the text that did not validate last time: nothing is lost
        else:
            from grok_tui.rundirs.store import slug

            folder = Path(tempfile.mkdtemp(prefix="grok-tui-edit-"))
            path = folder / f"{slug(str(form.raw().get('name') or 'preset'))}.toml"
            files.write_text_atomic(path, form.toml_text())
        self._edit_draft(path)

    def _run_editor(self, path: Path) -> bool:
        """Lend the terminal to the editor; False (and a message) when it could not run."""
        from grok_tui.rundirs import launch

        try:
            with self.app.suspend():
                code = launch.edit_file(path)
        except SuspendNotSupported:
            self.notify(
                "This terminal cannot hand over to $EDITOR (textual serve?): edit the form, "
                "or the file " + safe_markup(path),
                severity="warning",
                timeout=8,
            )
            return False
        except UserError as exc:
            self.notify(safe_markup(str(exc), multiline=True), severity="error", timeout=8)
            return False
        if code != 0:
            self.notify(
                safe_markup(f"The editor exited with status {code}: nothing changed."),
                severity="warning",
            )
            return False
        return True

    def _edit_draft(self, path: Path) -> None:
        from grok_tui.config import load_preset

        before = text_or_empty(path)
        if not self._run_editor(path):
            return
        try:
            preset = load_preset(path)
        except UserError as exc:
            self.draft = (self.origin, path)
            self._offer_reedit(path, str(exc))
            return
        self.draft = None
        text = text_or_empty(path)
        with contextlib.suppress(OSError):
            files.rmtree(path.parent)
        if text == before and preset.to_dict() == self.query_one("#preset-form", PresetForm).base:
            self.notify("No change.", timeout=3)
            return
        form = self.query_one("#preset-form", PresetForm)
        form.load(preset.to_dict(), edited=True)
        self.query_one("#preset-tabs", TabbedContent).active = EDIT_TAB
        self.notify("The edited preset is valid and in the form; Ctrl+S saves it, Ctrl+R runs it.")

    def _offer_reedit(self, path: Path, error: str) -> None:
        lines = error.splitlines()
        shown = "\n".join(lines[:8]) + (f"\n… and {len(lines) - 8} more" if len(lines) > 8 else "")

        def chosen(choice: str | None) -> None:
            if choice == "again":
                self.call_after_refresh(self._edit_draft, path)
            else:
                self.notify(
                    safe_markup(
                        f"Your text is kept in {path}; Ctrl+E opens it again.", multiline=True
                    ),
                    timeout=8,
                )

        self.app.push_screen(
            ChoiceModal(
                f"The edited preset does not load:\n{shown}",
                [
                    ("again", "Edit again (your text as you left it)"),
                    ("keep", "Back to the form, unchanged (the text is kept for Ctrl+E)"),
                ],
            ),
            chosen,
        )

    def _user_copy(self, shipped: Path) -> Path | None:
        """A shipped file copied into the user's presets folder, to be edited there (an
        upgrade would overwrite the shipped one, and every user shares it); None, and a
        message, when it cannot be copied."""
        from grok_tui.tui.catalog import default_save_dir

        try:
            copy = copy_shipped(shipped, default_save_dir(self.workbench.preset_dirs))
        except (OSError, UnicodeDecodeError, UserError) as exc:
            self.notify(
                safe_markup(
                    f"{shipped.name} is shipped with grok-tui and is not edited in "
                    f"place; it could not be copied: {exc}",
                    multiline=True,
                ),
                severity="error",
                timeout=8,
            )
            return None
        self.notify(
            safe_markup(
                f"{shipped.name} is shipped with grok-tui: you edit a copy, {copy}",
                multiline=True,
            ),
            timeout=8,
        )
        return copy

    def _edit_file_in_place(self, path: Path) -> None:
        """A preset or sweep file that the form cannot show: the editor opens the file."""
        if self._run_editor(path):
            self.load_presets(select=path)

"""The Presets screen: pick a preset, see its verdict and resolved values, edit, save, run.

The form covers the common fields; Ctrl+E opens the whole preset in $EDITOR (the TUI is
suspended meanwhile) and validates it on return. Save as writes ``extends`` = the preset
shown plus the fields that differ from it. Ctrl+N trains N seeds as one sweep.

The TOML tab edits the preset file's own text, checked as it is typed by the loader of
the list (file:line: field: message); Ctrl+S there writes the file. The form and the tab
stay one preset: entering the tab shows the file's text, or, once the form was edited,
the form's preset as the file would be saved; leaving it with edited text that loads puts
that preset into the form (text that does not load keeps the tab open: fix it, or F5).

One part per concern, each a mixin of the screen: listing.py (the list and its folders),
toml_tab.py (the TOML tab, over views/toml_sync.py), editor.py ($EDITOR), actions.py
(save as, run, queue, seeds); this module lays them out and shows the preset picked.

Preset names, folders, paths and errors come from files (some written by others, or a
run's frozen preset): they are shown through grok_tui.text, literally ("[b]x" as typed).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import OptionList, Static, TabbedContent, TabPane

from grok_tui import files
from grok_tui.text import safe_markup, safe_text
from grok_tui.tui.screens.modals import ConfirmModal
from grok_tui.tui.screens.presets.actions import PresetActions
from grok_tui.tui.screens.presets.editor import EditorRoundTrip
from grok_tui.tui.screens.presets.listing import FOLDER_CHECK_S, PresetList
from grok_tui.tui.screens.presets.toml_tab import TomlTab
from grok_tui.tui.views.toml_sync import EDIT_TAB, TOML_TAB
from grok_tui.tui.widgets.footer import KeysFooter
from grok_tui.tui.widgets.preset_form import PresetForm
from grok_tui.tui.widgets.toml_editor import TomlEditor

if TYPE_CHECKING:
    from collections.abc import Callable

    from grok_tui.tui.catalog import PresetEntry

# grok_tui.config and the catalog (pydantic) are imported by the worker that lists the
# presets, after the first frame: they are a third of the app's import time.


class PresetsScreen(PresetList, TomlTab, EditorRoundTrip, PresetActions):
    """Left: every preset with its verdict. Right: the form (or the error) and the TOML."""

    # The tooltips are the palette's commands: title, then what it does (see the app).
    BINDINGS = [
        # priority: an Input of the form takes Ctrl+E as "end of line" (End still does);
        # the others too, so that the footer keeps this order (priority keys come first)
        Binding(
            "ctrl+r",
            "run",
            "Run",
            id="preset.run",
            priority=True,
            tooltip="Run this preset\nLaunch the form's preset as its own process",
        ),
        Binding(
            "ctrl+e",
            "edit_toml",
            "$EDITOR",
            id="preset.editor",
            priority=True,
            tooltip="Edit every field in $EDITOR\nThe whole preset as TOML; checked on return",
        ),
        Binding(
            "ctrl+s",
            "save_as",
            "Save as",
            id="preset.save",
            priority=True,
            tooltip="Save preset as…\nA new TOML file: extends this preset, plus what differs",
        ),
        Binding(  # the same key on the TOML tab (check_action: one of the two is on)
            "ctrl+s",
            "save_toml",
            "Save",
            id="preset.save_toml",
            priority=True,
            tooltip="Save the TOML\nWrite the TOML tab's text to its preset file, if it loads",
        ),
        Binding(
            "ctrl+n",
            "run_seeds",
            "Seeds",
            show=False,  # at 80 columns the footer has no room left: the palette and F1 have it
            id="preset.seeds",
            priority=True,
            tooltip="Run with N seeds…\nTrain N seeds (× M split seeds) as one sweep",
        ),
        Binding(
            "ctrl+t",
            "queue",
            "Queue",
            show=False,
            id="preset.queue",
            priority=True,
            tooltip="Queue this preset\nIt starts when a slot of its device is free (F6: the queue)",
        ),
        Binding("ctrl+l", "focus_list", "Presets list", show=False),
        Binding(
            "f5",
            "reload",
            "Reload",
            show=False,
            id="preset.reload",
            tooltip="Reload presets\nRead the preset folders again",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[PresetEntry] = []
        self.current: PresetEntry | None = None
        self.origin = ""
        # the file the form's preset came from: what "save as" extends (None: a run's copy)
        self.base_path: Path | None = None
        # $EDITOR text that did not validate, kept for the next Ctrl+E: (origin, file)
        self.draft: tuple[str, Path] | None = None
        # the form and the TOML tab as one preset (the tab edits the list's file, or the
        # form's preset when it holds a run's copy)
        self.sync = self.make_sync()

    def compose(self) -> ComposeResult:
        with Horizontal(id="presets-body"):
            with Vertical(id="preset-side"):
                yield Static("[b]Presets[/b]  ✓ valid  ✗ invalid", id="preset-side-title")
                yield OptionList(id="preset-list")
            with Vertical(id="preset-main"):
                yield Static("", id="preset-heading")
                with TabbedContent(initial=EDIT_TAB, id="preset-tabs"):
                    with TabPane("Edit", id=EDIT_TAB):
                        yield PresetForm(id="preset-form")
                        with VerticalScroll(id="preset-source-box"):
                            yield Static("", id="preset-source")
                    with TabPane("TOML", id=TOML_TAB):
                        yield TomlEditor(id="preset-toml")
                        yield Static("", id="toml-status")
                    with (
                        TabPane("Resolved", id="tab-resolved"),
                        VerticalScroll(id="resolved-scroll"),
                    ):
                        yield Static("", id="preset-resolved")
                yield Static("", id="preset-errors")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#preset-errors", Static).display = False
        self.query_one("#preset-source-box").display = False
        self.call_after_refresh(self.load_presets)
        self.set_interval(FOLDER_CHECK_S, self.check_folders)

    # -- what is unsaved ----------------------------------------------------------

    def unsaved(self) -> bool:
        """Whether the form or the TOML tab holds edits that are not in a file."""
        return self.query_one("#preset-form", PresetForm).modified or self.sync.dirty

    def unsaved_edits(self) -> str:
        """The unsaved edits in words, for a question that would lose them ('' when none):
        Quit asks from every screen, and names what it would discard."""
        parts = []
        if self.query_one("#preset-form", PresetForm).modified:
            parts.append("the form")
        if self.sync.dirty:
            parts.append("the TOML tab")
        if not parts:
            return ""
        name = self.current.name if self.current is not None else self.origin or "a preset"
        return f"edits to {safe_text(name)} in {' and '.join(parts)} (Presets, F2)"

    def _drop_form_edits(self) -> None:
        """The form back to what it last loaded: an invalid preset or a sweep shown next
        hides the form without loading it, and its edits stayed "modified" and unsaved."""
        form = self.query_one("#preset-form", PresetForm)
        if form.modified:
            form.load(form.pristine)

    def _discard_then(self, go: Callable[[], Any], stay: Any = None) -> None:
        """Run ``go`` at once, or, when the form or the TOML tab holds unsaved edits,
        after the user says they may be discarded (``stay`` otherwise)."""
        if not self.unsaved():
            go()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._drop_form_edits()
                go()
            elif stay is not None:
                stay()

        self.app.push_screen(
            ConfirmModal(
                "The form or the TOML tab has unsaved edits. Discard them?",
                yes="Discard",
                no="Keep",
            ),
            answered,
        )

    # -- the preset shown ---------------------------------------------------------

    def show_entry(self, entry: PresetEntry) -> None:
        self.current = entry
        self._load_toml_file(entry)
        heading = self.query_one("#preset-heading", Static)
        form = self.query_one("#preset-form", PresetForm)
        if entry.preset is None:
            form.display = False
            if entry.sweep:
                heading.update(
                    Text.assemble(
                        ("⊞ ", "cyan"),
                        (safe_text(entry.sweep), "bold"),
                        f"  {safe_text(entry.path)}",
                    )
                )
                self._show_errors(
                    [
                        "Ctrl+R trains every point, each in its own process (grok-tui --run FILE);",
                        "the runs show up under Live (F3) and, grouped by sweep, in History (F4).",
                    ],
                    title="A sweep file:",
                    error=False,
                )
            else:
                heading.update(Text.assemble(("✗ invalid  ", "bold red"), safe_text(entry.path)))
                self._show_errors(
                    (entry.error or "invalid preset").splitlines(),
                    title="This preset does not load:",
                )
            try:
                text = files.read_text(entry.path, files.MAX_TOML_BYTES)
            except (OSError, UnicodeDecodeError) as exc:
                text = f"# cannot read {entry.path}: {exc}"
            source = Syntax(
                safe_text(text, multiline=True), "toml", line_numbers=True, theme="ansi_dark"
            )
            self.query_one("#preset-source", Static).update(source)
            self.query_one("#preset-source-box").display = True
            self.query_one("#preset-resolved", Static).update(
                "(a sweep: see its points with grok-tui validate FILE)"
                if entry.sweep
                else "(invalid: nothing to resolve)"
            )
            return
        self.query_one("#preset-source-box").display = False
        heading.update(
            Text.assemble(
                ("✓ ", "green"),
                (safe_text(entry.preset.name), "bold"),
                f"  {safe_text(entry.path)}",
            )
        )
        form.display = True
        self.origin = str(entry.path)
        self.base_path = entry.path
        form.load(entry.preset.to_dict())

    def edit(self, base: dict[str, Any], origin: str) -> None:
        """Load a preset that is not a file of the list (a run's frozen preset)."""
        from grok_tui.rundirs.store import slug

        self.current = None
        self.origin = origin
        self.base_path = None
        self.query_one("#preset-heading", Static).update(
            Text.assemble(
                ("copied from ", "dim"),
                (safe_text(origin), "bold"),
                ("  edit, then Ctrl+S or Ctrl+R", "dim"),
            )
        )
        form = self.query_one("#preset-form", PresetForm)
        form.display = True
        self.query_one("#preset-source-box").display = False
        form.load(base)
        # no file: the TOML tab is made from the form when entered, and saves as a new file
        self.sync.forget_file(Path(f"{slug(origin or 'preset')}.toml"))
        self._show_toml_label()
        self.query_one("#preset-tabs", TabbedContent).active = EDIT_TAB
        form.focus_first()

    # -- validation ---------------------------------------------------------------

    _shown_modified = False  # what the Edit tab's label says

    def on_preset_form_validated(self, message: PresetForm.Validated) -> None:
        modified = message.form.modified
        if modified != self._shown_modified:  # the Edit tab says when there are unsaved edits
            self._shown_modified = modified
            tab = self.query_one("#preset-tabs", TabbedContent).get_tab(EDIT_TAB)
            tab.label = "Edit ● modified" if modified else "Edit"
        if not message.form.display:
            # a late check of the preset shown before: an invalid file or a sweep is shown
            # now, and its error (or note) and Resolved text stay
            return
        if message.preset is not None:
            self._show_errors([])
            self.query_one("#preset-resolved", Static).update(
                Syntax(
                    safe_text(message.preset.to_toml(), multiline=True), "toml", theme="ansi_dark"
                )
            )
        else:
            self._show_errors(
                [f"{e.field or 'preset'}: {e.message}" for e in message.errors],
                title="Not valid yet:",
            )

    def _show_errors(self, lines: list[str], title: str = "", error: bool = True) -> None:
        box = self.query_one("#preset-errors", Static)
        self._errors_shown = bool(lines)
        box.display = self._errors_shown and self.sync.tab != TOML_TAB
        box.set_class(not error, "-note")
        if lines:
            box.update(
                (f"[b]{safe_markup(title)}[/b]\n" if title else "")
                + "\n".join(safe_markup(line) for line in lines)
            )

"""The Presets screen: pick a preset, see its verdict and resolved values, edit, save, run.

The form covers the common fields; Ctrl+E opens the whole preset in $EDITOR (the TUI is
suspended meanwhile) and validates it on return. Save as writes ``extends`` = the preset
shown plus the fields that differ from it. Ctrl+N trains N seeds as one sweep.

The TOML tab edits the preset file's own text, checked as it is typed by the loader of
the list (file:line: field: message); Ctrl+S there writes the file. The form and the tab
stay one preset: entering the tab shows the file's text, or, once the form was edited,
the form's preset as the file would be saved; leaving it with edited text that loads puts
that preset into the form (text that does not load keeps the tab open: fix it, or F5).

Preset names, folders, paths and errors come from files (some written by others, or a
run's frozen preset): they are shown through grok_tui.text, literally ("[b]x" as typed).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.syntax import Syntax
from rich.text import Text
from textual import work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import OptionList, Static, TabbedContent, TabPane, TextArea
from textual.widgets.option_list import Option

from grok_tui import files
from grok_tui.errors import UserError
from grok_tui.text import safe_markup, safe_text
from grok_tui.tui.messages import (
    QueueRequested,
    RunRequested,
    SeedsRequested,
    SweepRequested,
)
from grok_tui.tui.screens.modals import ChoiceModal, ConfirmModal, PathModal, SeedsModal
from grok_tui.tui.widgets.footer import KeysFooter
from grok_tui.tui.widgets.preset_form import PresetForm, default_preset_dict
from grok_tui.tui.widgets.toml_editor import TomlEditor
from grok_tui.tui.workbench import WorkbenchScreen

if TYPE_CHECKING:
    from grok_tui.config import Preset
    from grok_tui.tui.catalog import PresetEntry

# grok_tui.config and the catalog (pydantic) are imported by the worker that lists the
# presets, after the first frame: they are a third of the app's import time.


class PresetsLoaded(Message):
    """The preset folders were read; ``refresh``: a change seen on disk, not a user's ask."""

    def __init__(
        self, entries: list[PresetEntry], select: Path | None, refresh: bool = False
    ) -> None:
        super().__init__()
        self.entries = entries
        self.select = select
        self.refresh = refresh


# How often the preset folders are looked at for new, changed or removed files.
FOLDER_CHECK_S = 2.0


def folders_signature(folders: list[Path]) -> tuple[tuple[str, int, int], ...]:
    """(path, mtime, size) of every TOML file under the folders: what a change changes."""
    seen = []
    for folder in folders:
        for path in sorted(folder.rglob("*.toml")):
            try:
                stat = path.stat()
            except OSError:
                continue
            seen.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(seen)


# The TOML tab checks its text once typing pauses this long.
TOML_CHECK_S = 0.3


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


def _text_or_empty(path: Path) -> str:
    """A draft's text ('' when it is gone or cannot be read as a preset file)."""
    try:
        return files.read_text(path, files.MAX_TOML_BYTES)
    except (OSError, UnicodeDecodeError):
        return ""


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


class PresetsScreen(WorkbenchScreen):
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
        self._tab = "tab-edit"  # the tab shown, as the last TabActivated told
        # The TOML tab: the file it edits (None: the form holds a run's copy), the text
        # that file holds (what "modified" compares with), and the text last known to
        # describe the form's preset, with that preset (None: not valid).
        self.toml_file: Path | None = None
        self._toml_disk: str | None = None  # None: no file, or one that does not read
        self._toml_synced = ""
        self._toml_synced_preset: Preset | None = None
        self._toml_stale = True  # the tab must be made from the form when entered
        self._toml_checked: tuple[str, PresetEntry] | None = None  # last check: text, verdict
        self._toml_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="presets-body"):
            with Vertical(id="preset-side"):
                yield Static("[b]Presets[/b]  ✓ valid  ✗ invalid", id="preset-side-title")
                yield OptionList(id="preset-list")
            with Vertical(id="preset-main"):
                yield Static("", id="preset-heading")
                with TabbedContent(initial="tab-edit", id="preset-tabs"):
                    with TabPane("Edit", id="tab-edit"):
                        yield PresetForm(id="preset-form")
                        with VerticalScroll(id="preset-source-box"):
                            yield Static("", id="preset-source")
                    with TabPane("TOML", id="tab-toml"):
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

    @work(thread=True, exclusive=True, exit_on_error=False, group="preset-folders")
    def check_folders(self) -> None:
        """New, changed or removed preset files show up without F5."""
        from grok_tui.tui.catalog import discover_presets, preset_sources

        sources = preset_sources(self.workbench.preset_dirs)
        signature = folders_signature([s.path for s in sources])
        if self._signature is not None and signature != self._signature:
            self._signature = signature
            current = self.current.path if self.current else None
            self.post_message(PresetsLoaded(discover_presets(sources), current, refresh=True))

    # -- the list -----------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="presets")
    def load_presets(self, select: Path | None = None) -> None:
        from grok_tui.tui.catalog import discover_presets, preset_sources

        sources = preset_sources(self.workbench.preset_dirs)
        self._signature = folders_signature([s.path for s in sources])  # what was listed
        self.post_message(PresetsLoaded(discover_presets(sources), select))

    def on_presets_loaded(self, message: PresetsLoaded) -> None:
        if message.refresh:
            self._refresh_list(message.entries)
            return
        self.entries = message.entries
        options = self.query_one("#preset-list", OptionList)
        self._fill_list(self.entries)
        if not self.entries:
            from grok_tui.tui.catalog import preset_sources

            self.query_one("#preset-heading", Static).update(
                "No presets found. Looked in: "
                + ", ".join(safe_markup(s.path) for s in preset_sources(self.workbench.preset_dirs))
                + " — the form below starts from the defaults."
            )
            self.query_one("#preset-form", PresetForm).load(default_preset_dict())
            return
        wanted = 0
        if message.select is not None:
            for index, entry in enumerate(self.entries):
                if entry.path.resolve() == message.select.resolve():
                    wanted = index
        options.highlighted = options.get_option_index(str(wanted))
        self.show_entry(self.entries[wanted])
        if self.focused is None:
            options.focus()

    def _fill_list(self, entries: list[PresetEntry]) -> None:
        options = self.query_one("#preset-list", OptionList)
        options.clear_options()
        group = None
        for index, entry in enumerate(entries):
            folder = entry.folder or entry.source
            if folder != group:
                group = folder
                options.add_option(Option(Text(safe_text(folder), style="bold dim"), disabled=True))
            if entry.sweep:
                mark = Text("⊞ ", style="cyan")
            else:
                mark = Text("✓ ", style="green") if entry.valid else Text("✗ ", style="bold red")
            # one line, cut with an ellipsis: the heading above the form shows the full name
            prompt = Text.assemble(mark, safe_text(entry.name), no_wrap=True, overflow="ellipsis")
            options.add_option(Option(prompt, id=str(index)))

    def _refresh_list(self, entries: list[PresetEntry]) -> None:
        """A change on disk: the list follows it, the form keeps what the user is editing
        (it is reloaded only when its own file changed and it holds no edits)."""
        current = self.current
        self.entries = entries
        self._quiet_highlight = True
        self._fill_list(entries)
        options = self.query_one("#preset-list", OptionList)
        same = next((i for i, e in enumerate(entries) if current and e.path == current.path), None)
        if same is not None:
            options.highlighted = options.get_option_index(str(same))
            changed = entries[same].preset != (current.preset if current else None)
            if changed and not self.unsaved():
                self.show_entry(entries[same])
            else:
                self.current = entries[same]
                if not self.unsaved():  # the same preset, other text (a comment): the TOML tab
                    self._load_toml_file(entries[same])
        self.call_after_refresh(setattr, self, "_quiet_highlight", False)

    _quiet_highlight = False
    _shown_modified = False
    _signature: tuple[tuple[str, int, int], ...] | None = None  # of the folders last listed

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if self._quiet_highlight:
            return
        if event.option_list.id == "preset-list" and event.option.id is not None:
            entry = self.entries[int(event.option.id)]
            if entry is not self.current:
                self._discard_then(lambda: self.show_entry(entry), self._highlight_current)

    def _highlight_current(self) -> None:
        options = self.query_one("#preset-list", OptionList)
        if self.current in self.entries:
            self._quiet_highlight = True
            options.highlighted = options.get_option_index(str(self.entries.index(self.current)))
            self.call_after_refresh(setattr, self, "_quiet_highlight", False)

    def unsaved(self) -> bool:
        """Whether the form or the TOML tab holds edits that are not in a file."""
        return self.query_one("#preset-form", PresetForm).modified or self._toml_dirty()

    def _discard_then(self, go: Any, stay: Any = None) -> None:
        """Run ``go`` at once, or, when the form or the TOML tab holds unsaved edits,
        after the user says they may be discarded (``stay`` otherwise)."""
        if not self.unsaved():
            go()
            return

        def answered(yes: bool | None) -> None:
            if yes:
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

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "preset-list" and self.current and self.current.valid:
            self.query_one("#preset-form", PresetForm).focus_first()

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

    def _shown_entry(self) -> PresetEntry | None:
        """The entry under the list's cursor (the form may hold a copied run instead)."""
        options = self.query_one("#preset-list", OptionList)
        option = options.highlighted_option
        return (
            self.entries[int(option.id)] if option is not None and option.id is not None else None
        )

    def edit(self, base: dict[str, Any], origin: str) -> None:
        """Load a preset that is not a file of the list (a run's frozen preset)."""
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
        self.toml_file, self._toml_disk, self._toml_stale = None, None, True
        self._show_toml_label()
        self.query_one("#preset-tabs", TabbedContent).active = "tab-edit"
        form.focus_first()

    # -- validation ---------------------------------------------------------------

    def on_preset_form_validated(self, message: PresetForm.Validated) -> None:
        modified = message.form.modified
        if modified != self._shown_modified:  # the Edit tab says when there are unsaved edits
            self._shown_modified = modified
            tab = self.query_one("#preset-tabs", TabbedContent).get_tab("tab-edit")
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

    _errors_shown = False  # the box has something to say (the TOML tab hides it)

    def _show_errors(self, lines: list[str], title: str = "", error: bool = True) -> None:
        box = self.query_one("#preset-errors", Static)
        self._errors_shown = bool(lines)
        box.display = self._errors_shown and self._tab != "tab-toml"
        box.set_class(not error, "-note")
        if lines:
            box.update(
                (f"[b]{safe_markup(title)}[/b]\n" if title else "")
                + "\n".join(safe_markup(line) for line in lines)
            )

    # -- actions ------------------------------------------------------------------

    def _valid_preset(self) -> Preset | None:
        if self._tab == "tab-toml" and not self._leave_toml():
            return None  # the TOML tab's text goes into the form first, when it loads
        form = self.query_one("#preset-form", PresetForm)
        if not form.display:
            self.notify(
                "This preset is invalid: fix the file (see the error) or pick another.",
                severity="error",
            )
            return None
        preset = form.validate()
        if preset is None:
            first = form.errors[0] if form.errors else None
            self.notify(
                safe_markup(f"Not valid: {first.field}: {first.message}", multiline=True)
                if first
                else "Not valid",
                severity="error",
            )
        return preset

    def _toml_unsaved_note(self) -> bool:
        """A file is about to be used as it is on disk: say so when the TOML tab differs."""
        if self._toml_dirty():
            self.notify(
                "The TOML tab has unsaved edits: Ctrl+S saves them first (F5 discards them).",
                severity="warning",
            )
            return True
        return False

    def action_run(self) -> None:
        if self.current is not None and self.current.sweep and self.current is self._shown_entry():
            if not self._toml_unsaved_note():
                self.post_message(SweepRequested(self.current.path))
            return
        preset = self._valid_preset()
        if preset is not None:
            self.post_message(RunRequested(preset))

    def action_queue(self) -> None:
        """The form's preset waits in the queue instead of starting now."""
        if self.current is not None and self.current.sweep and self.current is self._shown_entry():
            self.notify(
                "A sweep file is not queued: Ctrl+R trains it (--jobs sets how many points "
                "at once).",
                severity="warning",
            )
            return
        preset = self._valid_preset()
        if preset is not None:
            self.post_message(QueueRequested(preset))

    def action_run_seeds(self) -> None:
        """Ask for N seeds (× M split seeds); 1 × 1 is today's single run (Ctrl+R)."""
        source: Preset | Path | None
        if self.current is not None and self.current.sweep and self.current is self._shown_entry():
            if self._toml_unsaved_note():
                return
            source, name, first = self.current.path, self.current.path.stem, None
        else:
            source = self._valid_preset()
            if source is None:
                return
            name, first = source.name, source.train.seed

        def chosen(counts: tuple[int, int] | None) -> None:
            if counts is None or source is None:
                return
            seeds, split_seeds = counts
            self._last_seeds = seeds
            if seeds == split_seeds == 1:
                if isinstance(source, Path):
                    self.post_message(SweepRequested(source))
                else:
                    self.post_message(RunRequested(source))
            else:
                self.post_message(SeedsRequested(source, seeds, split_seeds))

        self.app.push_screen(SeedsModal(safe_text(name), first, seeds=self._last_seeds), chosen)

    _last_seeds = 1  # what the seeds dialog proposes: one seed (a single run), then the last

    # -- $EDITOR ------------------------------------------------------------------

    def action_edit_toml(self) -> None:
        """The whole preset in $EDITOR: a file that does not load is edited in place; the
        form's preset goes through a draft file and comes back into the form."""
        form = self.query_one("#preset-form", PresetForm)
        if not form.display:
            shown = self.current is not None and self.current is self._shown_entry()
            if shown and self.current is not None and not self._toml_unsaved_note():
                self._edit_file_in_place(self.current.path)
            return
        if self._tab == "tab-toml" and not self._leave_toml():
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
        from grok_tui.rundirs import launcher

        try:
            with self.app.suspend():
                code = launcher.edit_file(path)
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

        before = _text_or_empty(path)
        if not self._run_editor(path):
            return
        try:
            preset = load_preset(path)
        except UserError as exc:
            self.draft = (self.origin, path)
            self._offer_reedit(path, str(exc))
            return
        self.draft = None
        text = _text_or_empty(path)
        with contextlib.suppress(OSError):
            files.rmtree(path.parent)
        if text == before and preset.to_dict() == self.query_one("#preset-form", PresetForm).base:
            self.notify("No change.", timeout=3)
            return
        form = self.query_one("#preset-form", PresetForm)
        form.load(preset.to_dict(), edited=True)
        self.query_one("#preset-tabs", TabbedContent).active = "tab-edit"
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

    def _edit_file_in_place(self, path: Path) -> None:
        """A preset or sweep file that the form cannot show: the editor opens the file."""
        if self._run_editor(path):
            self.load_presets(select=path)

    # -- the TOML tab -------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Ctrl+S: Save as on the form's tabs, Save (the file itself) on the TOML tab."""
        if action == "save_as":
            return self._tab != "tab-toml"
        if action == "save_toml":
            return self._tab == "tab-toml"
        return True

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.tabbed_content.id != "preset-tabs" or event.pane.id is None:
            return
        old, self._tab = self._tab, event.pane.id
        if old == self._tab:
            return
        if old == "tab-toml" and not self._leave_toml():
            self._tab = "tab-toml"  # its text does not load: it stays in view, not lost
            event.tabbed_content.active = "tab-toml"
            self.query_one("#preset-toml", TomlEditor).focus()
            return
        if self._tab == "tab-toml":
            self._enter_toml()
        self.query_one("#preset-errors").display = self._errors_shown and self._tab != "tab-toml"
        self.refresh_bindings()

    def _toml_dirty(self) -> bool:
        """Whether the TOML tab's text differs from its file (no file: from the form)."""
        if self._toml_stale:
            return False
        text = self.query_one("#preset-toml", TomlEditor).text
        if self.toml_file is None:
            return text != self._toml_synced
        return text != (self._toml_disk or "")

    def _set_toml(self, text: str, preset: Preset | None) -> None:
        """Show ``text`` in the TOML tab as the form's preset (``preset``: what it loads as)."""
        editor = self.query_one("#preset-toml", TomlEditor)
        if editor.text != text:  # a reload of the same text keeps the cursor where it is
            editor.load_text(text)
        self._toml_synced, self._toml_synced_preset = text, preset
        self._toml_stale = False
        self._show_toml_label()

    def _load_toml_file(self, entry: PresetEntry) -> None:
        """The TOML tab edits ``entry``'s file, from its text on disk: nothing unsaved."""
        try:
            text: str | None = files.read_text(entry.path, files.MAX_TOML_BYTES)
        except (OSError, ValueError):
            text = None  # the tab shows nothing, and Ctrl+S never overwrites the file
        self.toml_file, self._toml_disk = entry.path, text
        self._toml_checked = (text or "", entry)  # the list's verdict on this very text
        self._set_toml(text or "", entry.preset)
        self._show_toml_status()

    def _enter_toml(self) -> None:
        """The tab shows the form's preset: the file's text while the form holds no edits,
        else the form's preset as the file would be saved; text typed here and not yet in
        the form (it did not load) is kept as typed."""
        editor = self.query_one("#preset-toml", TomlEditor)
        form = self.query_one("#preset-form", PresetForm)
        if not form.display or not form.built:  # a file the form cannot show: its text
            return
        if not self._toml_stale and editor.text != self._toml_synced:
            return
        preset = form.validate()
        if not self._toml_stale and preset is not None and preset == self._toml_synced_preset:
            return  # the form was not changed since: the text stays as the user wrote it
        if self.toml_file is not None and self._toml_disk is not None and not form.modified:
            text = self._toml_disk
        elif self.toml_file is not None and preset is not None:
            from grok_tui.tui.catalog import preset_file_text

            text = preset_file_text(preset, self.toml_file, self.toml_file)
        else:
            text = form.toml_text()
        self._set_toml(text, preset)
        self._check_toml_now()

    def _leave_toml(self) -> bool:
        """Put the TOML tab's edited text into the form; False (and why) when it does not
        load as a preset: the tab keeps it."""
        editor = self.query_one("#preset-toml", TomlEditor)
        form = self.query_one("#preset-form", PresetForm)
        if self._toml_stale or editor.text == self._toml_synced:
            return True
        if not form.display or not form.built:  # no form: the text waits for Ctrl+S
            return True
        entry = self._check_toml_now()
        if entry.preset is None:
            why = (
                "it is a sweep file now (Ctrl+S saves it; the form edits presets)"
                if entry.sweep
                else (entry.error or "it does not load").splitlines()[0]
            )
            self.notify(
                safe_markup(
                    f"The TOML does not load: {why}\nFix it, or F5 to discard it.", multiline=True
                ),
                severity="error",
                timeout=8,
            )
            return False
        if entry.preset != form.validate():
            form.load(entry.preset.to_dict(), edited=True)  # unsaved, as from $EDITOR
        self._toml_synced, self._toml_synced_preset = editor.text, entry.preset
        return True

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if event.text_area.id != "preset-toml":
            return
        event.stop()
        self._show_toml_label()
        if self._toml_timer is not None:
            self._toml_timer.stop()
        if self._toml_checked is None or self._toml_checked[0] != event.text_area.text:
            self._toml_timer = self.set_timer(TOML_CHECK_S, self._check_toml_now)
        else:
            self._show_toml_status()

    def _check_toml_now(self) -> PresetEntry:
        """The verdict on the TOML tab's text, shown under it (the same text: checked once)."""
        from grok_tui.rundirs.store import slug

        text = self.query_one("#preset-toml", TomlEditor).text
        if self._toml_checked is None or self._toml_checked[0] != text:
            path = self.toml_file or Path(f"{slug(self.origin or 'preset')}.toml")
            self._toml_checked = (text, check_preset_text(text, path))
        self._show_toml_status()
        return self._toml_checked[1]

    def _show_toml_label(self) -> None:
        tab = self.query_one("#preset-tabs", TabbedContent).get_tab("tab-toml")
        label = "TOML ● modified" if self._toml_dirty() else "TOML"
        if str(tab.label) != label:
            tab.label = label

    def _show_toml_status(self) -> None:
        """✓ and what Ctrl+S does, or ✗ and the loader's file:line: field: message lines."""
        status = self.query_one("#toml-status", Static)
        checked = self._toml_checked
        editor = self.query_one("#preset-toml", TomlEditor)
        if checked is None or checked[0] != editor.text:
            return  # a check is due: the last verdict stays until then
        entry = checked[1]
        status.set_class(not entry.valid, "-error")
        if entry.valid:
            what = "✓ loads" if entry.preset is not None else f"✓ {entry.sweep}"
            if self.toml_file is None:
                then = "Ctrl+S saves it as a new file"
            elif self._toml_dirty():
                then = f"Ctrl+S writes {self.toml_file}"
            else:
                then = "as saved"
            status.update(Text.assemble((what, "green"), f" · {safe_text(then)}"))
            return
        lines = (entry.error or "does not load").splitlines()
        shown = lines[:5] + ([f"… and {len(lines) - 5} more"] if len(lines) > 5 else [])
        status.update(
            "[b]✗ does not load (nothing is written):[/b]\n"
            + "\n".join(safe_markup(line) for line in shown)
        )

    def action_save_toml(self) -> None:
        """Write the TOML tab's text to its file when it loads; text that does not load is
        never written, and stays in the tab."""
        if self._tab != "tab-toml":
            return
        if self.toml_file is None:  # a run's copy: into the form, then Save as
            if self._leave_toml():
                self.action_save_as()
            return
        path = self.toml_file
        if self._toml_disk is None:
            self.notify(safe_markup(f"{path} does not read: not overwritten."), severity="error")
            return
        entry = self._check_toml_now()
        if not entry.valid:
            first = (entry.error or "does not load").splitlines()[0]
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
        self._toml_disk = text
        self._set_toml(text, entry.preset)
        self._show_toml_status()
        self.notify(safe_markup(f"Saved {path}"))
        self.load_presets(select=path)  # the list, the form and Resolved follow the file

    # -- saving -------------------------------------------------------------------

    def action_save_as(self) -> None:
        from grok_tui.rundirs.store import slug
        from grok_tui.tui.catalog import default_save_dir

        preset = self._valid_preset()
        if preset is None:
            return
        default = default_save_dir(self.workbench.preset_dirs) / f"{slug(preset.name)}.toml"

        def chosen(path: Path | None) -> None:
            if path is None:
                return
            if path.suffix != ".toml":
                path = path.with_suffix(".toml")
            if path.exists():

                def confirmed(yes: bool | None) -> None:
                    if yes:
                        self._save(preset, path)

                self.app.push_screen(
                    ConfirmModal(f"{path} exists. Overwrite it?", yes="Overwrite"), confirmed
                )
            else:
                self._save(preset, path)

        self.app.push_screen(PathModal("Save the preset as (TOML file):", default), chosen)

    def _save(self, preset: Preset, path: Path) -> None:
        from grok_tui.tui.catalog import load_entry, preset_sources, save_preset_file

        try:
            save_preset_file(preset, path, self.base_path)
        except (OSError, UserError) as exc:
            self.notify(
                safe_markup(f"Could not save {path}: {exc}", multiline=True), severity="error"
            )
            return
        entry = load_entry(path, "saved")
        if entry.preset != preset:  # pragma: no cover - preset_file_text checks it loads back
            self.notify(
                safe_markup(
                    f"Saved, but it does not load back the same: {entry.error or ''}",
                    multiline=True,
                ),
                severity="warning",
            )
        self.notify(safe_markup(f"Saved {path}"))
        preset_dirs = self.workbench.preset_dirs
        if path.resolve().parent not in {s.path for s in preset_sources(preset_dirs)}:
            preset_dirs.append(path.resolve().parent)
        self.load_presets(select=path)

    def action_focus_list(self) -> None:
        self.query_one("#preset-list", OptionList).focus()

    def action_reload(self) -> None:
        self._discard_then(
            lambda: self.load_presets(select=self.current.path if self.current else None)
        )

"""The Presets screen's list: every preset file of the folders with its verdict, kept in
step with the folders as files appear, change or go."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from grok_tui.text import safe_markup, safe_text
from grok_tui.tui.widgets.preset_form import PresetForm, default_preset_dict
from grok_tui.tui.workbench import WorkbenchScreen

if TYPE_CHECKING:
    from collections.abc import Callable

    from grok_tui.tui.catalog import PresetEntry

# How often the preset folders are looked at for new, changed or removed files.
FOLDER_CHECK_S = 2.0


class PresetsLoaded(Message):
    """The preset folders were read; ``refresh``: a change seen on disk, not a user's ask."""

    def __init__(
        self, entries: list[PresetEntry], select: Path | None, refresh: bool = False
    ) -> None:
        super().__init__()
        self.entries = entries
        self.select = select
        self.refresh = refresh


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


def telling_apart(entries: list[PresetEntry]) -> list[Text]:
    """What follows each name in the list: nothing for a name of its own; for a name that
    several files share, their file name (or, for files of the same name, their folder),
    so that no two lines of the list read the same."""
    by_name: dict[str, list[PresetEntry]] = {}
    for entry in entries:
        by_name.setdefault(entry.name, []).append(entry)
    tails = []
    for entry in entries:
        same = by_name[entry.name]
        if len(same) < 2:
            tails.append(Text(""))
            continue
        file_names = [e.path.name for e in same]
        if file_names.count(entry.path.name) == 1:
            tail = entry.path.name
        else:
            shared = [e.folder for e in same].count(entry.folder) > 1
            tail = str(entry.path.parent) if shared or not entry.folder else entry.folder
        tails.append(Text(f" · {safe_text(tail)}", style="dim"))
    return tails


class PresetList(WorkbenchScreen):
    """The list's part of the Presets screen (a mixin of PresetsScreen)."""

    entries: list[PresetEntry]
    current: PresetEntry | None  # the entry the form and the TOML tab show (None: a copy)
    _quiet_highlight = False  # the list's cursor is moved by the screen, not the user
    _signature: tuple[tuple[str, int, int], ...] | None = None  # of the folders last listed

    if TYPE_CHECKING:  # the screen's other parts

        def show_entry(self, entry: PresetEntry) -> None: ...
        def unsaved(self) -> bool: ...
        def _discard_then(self, go: Callable[[], Any], stay: Any = None) -> None: ...
        def _load_toml_file(self, entry: PresetEntry) -> None: ...

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

    @work(thread=True, exclusive=True, exit_on_error=False, group="presets")
    def load_presets(self, select: Path | None = None) -> None:
        from grok_tui.tui.catalog import check_sweeps, discover_presets, preset_sources

        sources = preset_sources(self.workbench.preset_dirs)
        self._signature = folders_signature([s.path for s in sources])  # what was listed
        # listed with each sweep's points counted, then checked: building and validating
        # the 58 shipped sweeps' points was a sixth of the time to the first listed frame
        entries = discover_presets(sources, check_points=False)
        self.post_message(PresetsLoaded(entries, select))
        checked = check_sweeps(entries)
        if checked is not None:  # a sweep with an invalid point: its mark turns to ✗
            self.post_message(PresetsLoaded(checked, select, refresh=True))

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
        apart = telling_apart(entries)
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
            prompt = Text.assemble(
                mark, safe_text(entry.name), apart[index], no_wrap=True, overflow="ellipsis"
            )
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

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "preset-list" and self.current and self.current.valid:
            self.query_one("#preset-form", PresetForm).focus_first()

    def _shown_entry(self) -> PresetEntry | None:
        """The entry under the list's cursor (the form may hold a copied run instead)."""
        options = self.query_one("#preset-list", OptionList)
        option = options.highlighted_option
        return (
            self.entries[int(option.id)] if option is not None and option.id is not None else None
        )

    def action_focus_list(self) -> None:
        self.query_one("#preset-list", OptionList).focus()

    def action_reload(self) -> None:
        self._discard_then(
            lambda: self.load_presets(select=self.current.path if self.current else None)
        )

"""The Presets screen's ways out for a preset: save it as a new file, run it, queue it, or
train N seeds of it as one sweep. Each takes the form's preset (after the TOML tab's text,
when it loads), or, for a sweep file, the file itself."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from grok_tui.errors import UserError
from grok_tui.text import safe_markup, safe_text
from grok_tui.tui.messages import QueueRequested, RunRequested, SeedsRequested, SweepRequested
from grok_tui.tui.screens.modals import ConfirmModal, PathModal, SeedsModal
from grok_tui.tui.views.toml_sync import TOML_TAB
from grok_tui.tui.widgets.preset_form import PresetForm
from grok_tui.tui.workbench import WorkbenchScreen

if TYPE_CHECKING:
    from grok_tui.config import Preset
    from grok_tui.tui.catalog import PresetEntry
    from grok_tui.tui.views.toml_sync import TomlSync


class PresetActions(WorkbenchScreen):
    """Save as, run, queue and seeds: a part of the Presets screen (a mixin of PresetsScreen)."""

    current: PresetEntry | None
    # the file the form's preset came from: what "save as" extends (None: a run's copy)
    base_path: Path | None
    sync: TomlSync
    _last_seeds = 1  # what the seeds dialog proposes: one seed (a single run), then the last

    if TYPE_CHECKING:  # the screen's other parts

        def _shown_entry(self) -> PresetEntry | None: ...
        def _leave_toml(self) -> bool: ...
        def load_presets(self, select: Path | None = None) -> None: ...

    def _valid_preset(self) -> Preset | None:
        if self.sync.tab == TOML_TAB and not self._leave_toml():
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

    def _sweep_shown(self) -> bool:
        """Whether the list's cursor is on a sweep file, and the screen shows it."""
        current = self.current
        return current is not None and bool(current.sweep) and current is self._shown_entry()

    def _toml_unsaved_note(self) -> bool:
        """A file is about to be used as it is on disk: say so when the TOML tab differs."""
        if self.sync.dirty:
            self.notify(
                "The TOML tab has unsaved edits: Ctrl+S saves them first (F5 discards them).",
                severity="warning",
            )
            return True
        return False

    def action_run(self) -> None:
        if self._sweep_shown() and self.current is not None:
            if not self._toml_unsaved_note():
                self.post_message(SweepRequested(self.current.path))
            return
        preset = self._valid_preset()
        if preset is not None:
            self.post_message(RunRequested(preset))

    def action_queue(self) -> None:
        """The form's preset waits in the queue instead of starting now."""
        if self._sweep_shown():
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
        if self._sweep_shown() and self.current is not None:
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

    def action_save_as(self) -> None:
        from grok_tui.rundirs.store import slug
        from grok_tui.tui.catalog import default_save_dir
        from grok_tui.tui.preset_text import free_path

        preset = self._valid_preset()
        if preset is None:
            return
        # a name no file has, nor the preset shown: "save as" never proposes to overwrite
        folder = default_save_dir(self.workbench.preset_dirs)
        default = free_path(folder, slug(preset.name), self.base_path)

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
        from grok_tui.tui.catalog import load_entry, preset_sources
        from grok_tui.tui.preset_text import save_file

        sync = self.sync  # into the file shown: its own text, as the TOML tab holds it
        into_shown = sync.file is not None and sync.file.resolve() == path.resolve()
        own = sync.editor.text if into_shown and not sync.stale else None
        try:
            save_file(preset, path, self.base_path, own)
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

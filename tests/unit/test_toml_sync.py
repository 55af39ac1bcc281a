"""The Presets screen's form ↔ TOML bookkeeping (grok_tui/tui/views/toml_sync.py), without
Textual: the editor and the form are fakes, the check is the real preset loader."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grok_tui.config import Preset, PresetError, preset_from_toml
from grok_tui.tui.views.toml_sync import EDIT_TAB, TOML_TAB, TomlSync
from tests.conftest import REPO

FILE = Path("/presets/tiny.toml")
TINY = 'name = "tiny"\n\n[data]\np = 7\n'
TINY_COMMENTED = "# the smallest task\n" + TINY


@dataclass
class Verdict:
    preset: Preset | None = None
    sweep: str | None = None
    error: str | None = None

    @property
    def valid(self) -> bool:
        return self.preset is not None or self.sweep is not None


def check(text: str, path: Path) -> Verdict:
    """The list's word on a text: a sweep, a preset or the loader's error."""
    if "[sweep]" in text:
        return Verdict(sweep="2 points")
    try:
        return Verdict(preset=preset_from_toml(text, file=path))
    except PresetError as exc:
        return Verdict(error=str(exc))


@dataclass
class Editor:
    text: str = ""
    loads: int = 0  # how often the text was replaced (the cursor lost)

    def show(self, text: str) -> None:
        if text != self.text:
            self.text = text
            self.loads += 1


@dataclass
class Form:
    base: Preset | None = None  # what the file holds
    preset: Preset | None = None  # what the fields say (None: a field is not valid)
    shown: bool = True
    taken: list[Preset] = field(default_factory=list)

    @property
    def modified(self) -> bool:
        return self.preset != self.base

    def validate(self) -> Preset | None:
        return self.preset

    def toml_text(self) -> str:
        return "# the form's fields\n" + (self.preset.to_toml() if self.preset else "p = ?\n")

    def take(self, preset: Preset) -> None:
        self.preset = preset
        self.taken.append(preset)


def file_text(preset: Preset, path: Path) -> str:
    return f"# saved as {path.name}\n" + preset.to_toml()


class Checks:
    """The check, counting its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Path]] = []

    def __call__(self, text: str, path: Path) -> Verdict:
        self.calls.append((text, path))
        return check(text, path)


def tiny(**changes: object) -> Preset:
    preset = preset_from_toml(TINY)
    return preset.model_copy(update=changes)


def make(disk: str | None = TINY) -> tuple[TomlSync, Editor, Form, Checks]:
    """A sync on FILE (holding ``disk``), its form showing that file's preset unchanged."""
    editor, checks = Editor(), Checks()
    base = tiny() if disk is not None else None
    form = Form(base=base, preset=base)
    sync = TomlSync(editor, form, checks, file_text)
    sync.load_file(FILE, disk, check(disk or "", FILE))
    return sync, editor, form, checks


def test_the_sync_imports_no_textual() -> None:
    code = "import sys, grok_tui.tui.views.toml_sync; assert 'textual' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_a_file_loaded_shows_its_text_unsaved_nothing_and_keeps_the_lists_verdict() -> None:
    sync, editor, _, checks = make()
    assert editor.text == TINY
    assert not sync.dirty and sync.label == "TOML"
    assert not sync.check_due
    status = sync.status()
    assert status is not None and status.valid
    assert (status.headline, status.then) == ("✓ loads", "as saved")
    assert checks.calls == []  # the list's verdict on this very text is reused


def test_typing_in_the_tab_makes_it_dirty_and_each_text_is_checked_once() -> None:
    sync, editor, _, checks = make()
    editor.text = TINY.replace("p = 7", "p = 11")
    assert sync.dirty and sync.label == "TOML ● modified"
    assert sync.check_due and sync.status() is None  # the last verdict stays until checked
    verdict = sync.check_now()
    assert verdict.preset is not None and verdict.preset.data.p == 11
    sync.check_now()
    assert checks.calls == [(editor.text, FILE)]
    status = sync.status()
    assert status is not None and status.then == f"Ctrl+S writes {FILE}"
    editor.text = TINY  # typed back as the file holds it
    assert not sync.dirty


def test_text_that_does_not_load_shows_the_loaders_lines_cut_to_five() -> None:
    sync, editor, _, _ = make()
    editor.text = "\n".join(f"x{i} = 1" for i in range(8)) + "\n"
    assert not sync.check_now().valid
    status = sync.status()
    assert status is not None and not status.valid
    assert status.headline.startswith("✗ does not load")
    assert len(status.errors) == 6  # one line per unknown field: five, then the count
    assert all("unknown field" in line for line in status.errors[:5])
    assert status.errors[-1] == "… and 3 more"


def test_entering_the_tab_with_an_unedited_form_shows_the_files_own_text() -> None:
    sync, editor, _, _ = make(TINY_COMMENTED)
    assert sync.activate(TOML_TAB) is None
    assert sync.tab == TOML_TAB
    assert editor.text == TINY_COMMENTED  # comments and all: not remade from the form
    assert editor.loads == 1  # only the load of the file


def test_entering_the_tab_after_a_form_edit_shows_the_form_as_the_file_would_be_saved() -> None:
    sync, editor, form, checks = make()
    form.preset = tiny(name="tiny-2")
    sync.activate(TOML_TAB)
    assert editor.text == file_text(form.preset, FILE)
    assert sync.dirty  # the file does not hold it yet
    assert checks.calls[-1] == (editor.text, FILE)  # checked at once


def test_entering_the_tab_with_a_form_that_does_not_validate_shows_its_fields() -> None:
    sync, editor, form, _ = make()
    form.preset = None
    sync.activate(TOML_TAB)
    assert editor.text == form.toml_text()
    status = sync.status()
    assert status is not None and not status.valid


def test_text_typed_in_the_tab_is_kept_as_typed_across_tab_switches() -> None:
    sync, editor, form, _ = make()
    sync.activate(TOML_TAB)
    typed = "# my note\n" + TINY  # loads as the same preset: nothing goes into the form
    editor.text = typed
    assert sync.activate(EDIT_TAB) is None
    assert form.taken == []
    sync.activate(TOML_TAB)
    assert editor.text == typed  # not remade: the form did not change since
    assert sync.dirty


def test_leaving_the_tab_with_text_that_loads_puts_its_preset_in_the_form() -> None:
    sync, editor, form, _ = make()
    sync.activate(TOML_TAB)
    editor.text = TINY.replace("p = 7", "p = 13")
    assert sync.activate(EDIT_TAB) is None
    assert sync.tab == EDIT_TAB
    assert [p.data.p for p in form.taken] == [13]
    assert form.modified  # an unsaved edit, as from $EDITOR
    assert sync.dirty  # and the file still holds p = 7
    sync.activate(TOML_TAB)
    assert "p = 13" in editor.text  # the same preset: the text stays as typed
    sync.activate(EDIT_TAB)
    assert len(form.taken) == 1  # nothing new to take


def test_a_form_edit_after_leaving_remakes_the_text_on_the_next_entry() -> None:
    sync, editor, form, _ = make()
    sync.activate(TOML_TAB)
    editor.text = TINY.replace("p = 7", "p = 13")
    sync.activate(EDIT_TAB)
    form.preset = tiny(name="renamed").model_copy(update={"data": form.taken[0].data})
    sync.activate(TOML_TAB)
    assert editor.text == file_text(form.preset, FILE)


def test_text_that_does_not_load_keeps_the_tab_and_the_form_untouched() -> None:
    sync, editor, form, _ = make()
    sync.activate(TOML_TAB)
    editor.text = TINY.replace("p = 7", "p = 8")  # 8 is not prime
    why = sync.activate(EDIT_TAB)
    assert why is not None and "prime" in why
    assert "\n" not in why  # the first line only
    assert sync.tab == TOML_TAB
    assert form.taken == [] and form.preset == tiny()
    assert editor.text == TINY.replace("p = 7", "p = 8")  # kept, not lost
    assert sync.dirty


def test_a_sweep_typed_in_the_tab_does_not_go_into_the_form() -> None:
    sync, editor, form, _ = make()
    sync.activate(TOML_TAB)
    editor.text = TINY + "\n[sweep]\n"
    why = sync.leave()
    assert why is not None and why.startswith("it is a sweep file now")
    assert form.taken == []


def test_discarding_is_loading_the_file_again() -> None:
    sync, editor, _, _ = make()
    sync.activate(TOML_TAB)
    editor.text = "broken = ["
    assert sync.dirty
    sync.load_file(FILE, TINY, check(TINY, FILE))
    assert editor.text == TINY
    assert not sync.dirty
    assert sync.leave() is None  # nothing left to put in the form


def test_switching_to_the_same_tab_or_between_other_tabs_changes_nothing() -> None:
    sync, editor, form, checks = make()
    assert sync.activate(EDIT_TAB) is None
    assert sync.activate("tab-resolved") is None
    assert sync.tab == "tab-resolved"
    assert editor.loads == 1 and checks.calls == [] and form.taken == []


def test_saved_text_is_what_the_file_holds_now() -> None:
    sync, editor, _, _ = make()
    sync.activate(TOML_TAB)
    editor.text = TINY.replace("p = 7", "p = 11")
    verdict = sync.check_now()
    sync.saved(editor.text, verdict.preset)
    assert sync.disk == editor.text
    assert not sync.dirty
    status = sync.status()
    assert status is not None and status.then == "as saved"


def test_a_file_that_does_not_read_shows_empty_and_any_text_is_unsaved() -> None:
    sync, editor, _, _ = make(disk=None)
    assert editor.text == "" and sync.disk is None
    assert not sync.dirty
    editor.text = TINY
    assert sync.dirty


def test_a_run_copy_is_made_from_the_form_when_entered_and_saves_as_a_new_file() -> None:
    sync, editor, form, checks = make()
    form.base = form.preset = tiny(name="from-a-run")
    sync.forget_file(Path("from-a-run.toml"))
    assert sync.file is None and sync.stale
    assert not sync.dirty  # stale: nothing typed since
    sync.activate(TOML_TAB)
    assert editor.text == form.toml_text()
    assert checks.calls[-1] == (editor.text, Path("from-a-run.toml"))
    assert not sync.dirty
    status = sync.status()
    assert status is not None and status.then == "Ctrl+S saves it as a new file"
    editor.text = editor.text.replace("p = 7", "p = 5")
    assert sync.dirty  # against the text made from the form
    assert sync.activate(EDIT_TAB) is None
    assert form.taken and form.taken[-1].data.p == 5
    assert not sync.dirty  # the form holds it now: for a copy, the form is the reference


def test_with_no_form_shown_the_text_waits_for_ctrl_s() -> None:
    bad = TINY.replace("p = 7", "p = 8")
    editor = Editor()
    form = Form(shown=False)
    sync = TomlSync(editor, form, Checks(), file_text)
    sync.load_file(FILE, bad, check(bad, FILE))
    assert not sync.enter()  # the file's text stays, as loaded
    editor.text = TINY
    assert sync.activate(TOML_TAB) is None
    assert sync.activate(EDIT_TAB) is None  # no form to put it in: leaving is allowed
    assert sync.dirty and form.taken == []


@pytest.mark.parametrize("tab", [EDIT_TAB, "tab-resolved"])
def test_entering_twice_without_a_change_does_not_reload_the_editor(tab: str) -> None:
    sync, editor, form, _ = make()
    form.preset = tiny(name="tiny-3")
    sync.activate(TOML_TAB)
    loads = editor.loads
    sync.activate(tab)
    sync.activate(TOML_TAB)
    assert editor.loads == loads  # the cursor stays where it was

"""The Presets screen as a user edits with it: every field in $EDITOR or the TOML tab, save
as a short file that extends its base, the description, long names, N seeds; and the
footer at 80 columns."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest
from rich.syntax import Syntax
from textual import events
from textual.widgets import DataTable, Input, OptionList, Static, TabbedContent

from grok_tui.config import load_preset
from grok_tui.rundirs import launch
from grok_tui.tui.app import GrokApp
from grok_tui.tui.screens.compare import CompareScreen
from grok_tui.tui.screens.help import HelpScreen
from grok_tui.tui.screens.history import HistoryScreen
from grok_tui.tui.screens.live import LiveScreen
from grok_tui.tui.screens.modals import ChoiceModal, ConfirmModal, PathModal, SeedsModal
from grok_tui.tui.screens.presets import PresetsScreen
from grok_tui.tui.screens.run import RunScreen
from grok_tui.tui.widgets.preset_form import PresetForm
from grok_tui.tui.widgets.toml_editor import TomlEditor
from tests.support.pilot import click, settle, until
from tests.support.tui import (
    TINY,
    TuiEnv,
    burst,
    drive,
    history_env,
    one_widget_app,
    option_of,
    pick,
    queue_edits,
    texts_seen,
)

pytestmark = pytest.mark.tui_env(presets={"tiny.toml": TINY}, delay="0.02", editor=True)

LONG = "my-grokking-experiment-with-a-name-far-too-long-for-the-list"


# -- $EDITOR -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_ctrl_e_edits_every_field_in_the_editor_and_the_form_keeps_it_unsaved(
    env: TuiEnv,
) -> None:
    queue_edits(env, [("eval_every = 10", "eval_every = 20"), ("dropout = 0.0", "dropout = 0.1")])
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await pick(pilot, app, "tiny-mlp")
        form = screen.query_one(PresetForm)
        assert isinstance(app.focused, Input)  # Ctrl+E is the editor's, not the Input's "end"
        await pilot.press("ctrl+e")
        await until(pilot, lambda: form.preset is not None and form.preset.train.eval_every == 20)
        assert form.preset.model.dropout == 0.1  # a field the form does not show
        (given,) = texts_seen(env)
        assert "[optim]" in given and "batch_size = " in given  # the whole preset
        tab = screen.query_one("#preset-tabs", TabbedContent).get_tab("tab-edit")
        await until(pilot, lambda: form.modified and "modified" in str(tab.label))

        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, PathModal))
        target = env.presets / "tiny-mlp-2.toml"
        app.screen.query_one("#path", Input).value = str(target)
        await pilot.press("enter")
        await until(pilot, lambda: target.exists())
        saved = load_preset(target)
        assert saved.train.eval_every == 20 and saved.model.dropout == 0.1
        assert saved.train.batch_size == "full"

    drive(app, script)


@pytest.mark.slow
def test_an_edit_that_does_not_load_is_kept_and_can_be_edited_again(env: TuiEnv) -> None:
    queue_edits(
        env,
        [("p = 7", "p = 98")],  # not prime
        [],  # "edit again" and leave it: still not valid
        [("p = 98", "p = 11")],  # Ctrl+E later: the kept text, fixed
    )
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await pick(pilot, app, "tiny-mlp")
        form = screen.query_one(PresetForm)
        await pilot.press("ctrl+e")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal))
        message = str(app.screen.query_one(".dialog-text", Static).render())
        edited = texts_seen(env)[0].replace("p = 7", "p = 98").splitlines()
        line = edited.index("p = 98") + 1  # file:line: field: message, as everywhere
        assert f"tiny-mlp.toml:{line}: data.p: p must be prime, got 98" in message
        await pilot.press("enter")  # the first choice: edit again
        await until(pilot, lambda: len(texts_seen(env)) == 2)
        assert "p = 98" in texts_seen(env)[1]  # the user's text, as they left it
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal))
        await pilot.press("down", "enter")  # back to the form
        await until(pilot, lambda: app.screen is screen)
        assert form.preset is not None and form.preset.data.p == 7 and not form.modified
        await pilot.press("ctrl+e")  # the kept text again, not a fresh copy of the form
        await until(pilot, lambda: form.preset is not None and form.preset.data.p == 11)
        assert "p = 98" in texts_seen(env)[2]
        assert form.modified

    drive(app, script)


def test_ctrl_e_on_a_file_that_does_not_load_edits_the_file(env: TuiEnv) -> None:
    bad = env.presets / "bad.toml"
    bad.write_text('name = "bad"\n[data]\np = 98\n')
    queue_edits(env, [("p = 98", "p = 97")])
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = app.screen
        assert isinstance(screen, PresetsScreen)
        await until(pilot, lambda: screen.entries)
        options = screen.query_one("#preset-list", OptionList)
        options.focus()
        options.highlighted = option_of(screen, "bad")
        await until(pilot, lambda: screen.current is not None and screen.current.name == "bad")
        await pilot.press("ctrl+e")
        await until(pilot, lambda: any(e.name == "bad" and e.preset for e in screen.entries))
        assert "p = 97" in bad.read_text()

    drive(app, script)


# -- the TOML tab --------------------------------------------------------------------------------


async def open_toml_tab(pilot: Any, screen: PresetsScreen) -> TomlEditor:
    """Click the TOML tab, then into its text. (A tab's label can change width just
    before the click, "TOML" becoming "TOML ● modified", moving the tabs after the
    click's position was taken: a loaded machine may then click beside it, once.)"""
    editor = screen.query_one("#preset-toml", TomlEditor)
    for attempt in range(3):
        await click(pilot, "#--content-tab-tab-toml")
        try:
            await until(pilot, lambda: editor.display and editor.size.height > 0, timeout=10)
            break
        except AssertionError:
            if attempt == 2:
                raise
    editor.focus()
    await until(pilot, lambda: screen.focused is editor)
    return editor


def toml_status(screen: PresetsScreen) -> str:
    return str(screen.query_one("#toml-status", Static).render())


def toml_label(screen: PresetsScreen) -> str:
    return str(screen.query_one("#preset-tabs", TabbedContent).get_tab("tab-toml").label)


async def go_to(pilot: Any, editor: TomlEditor, line: str) -> int:
    """Put the cursor at the end of ``line``; its row (0-based)."""
    row = editor.text.splitlines().index(line)
    editor.cursor_location = (row, len(line))
    await pilot.pause()
    return row


@pytest.mark.slow
def test_the_toml_tab_checks_as_typed_and_writes_only_text_that_loads(
    env: TuiEnv,
) -> None:
    app = env.app()
    tiny = (env.presets / "tiny.toml").resolve()

    async def script(pilot: Any) -> None:
        screen = await pick(pilot, app, "tiny-mlp")
        form = screen.query_one(PresetForm)
        editor = await open_toml_tab(pilot, screen)
        assert editor.text == TINY  # the file's own text
        await until(pilot, lambda: "✓ loads" in toml_status(screen))
        row = await go_to(pilot, editor, "p = 7")
        await pilot.press("backspace", "9", "8")  # not prime
        message = f"{tiny}:{row + 1}: data.p: p must be prime, got 98"  # as the list says it
        await until(pilot, lambda: message in toml_status(screen))
        assert "modified" in toml_label(screen)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert tiny.read_text() == TINY  # never written
        assert not isinstance(app.screen, PathModal)  # Ctrl+S here is Save, not Save as
        await click(pilot, "#--content-tab-tab-edit")  # leaving with text that does not load
        await settle(pilot)
        tabs = screen.query_one("#preset-tabs", TabbedContent)
        assert tabs.active == "tab-toml" and "p = 98" in editor.text  # kept, in view
        assert form.preset is not None and form.preset.data.p == 7 and not form.modified

        await pilot.press("backspace", "backspace", "1", "1")
        await until(pilot, lambda: "✓ loads" in toml_status(screen))
        assert f"Ctrl+S writes {tiny}" in toml_status(screen)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "p = 11" in tiny.read_text())
        assert tiny.read_text() == TINY.replace("p = 7", "p = 11")  # the text as typed
        p_field = form.query_one("#f-data-p", Input)
        await until(pilot, lambda: p_field.value == "11" and form.preset.data.p == 11)
        assert not form.modified and toml_label(screen) == "TOML"

        def resolved_code() -> str:
            resolved = screen.query_one("#preset-resolved", Static).content
            return resolved.code if isinstance(resolved, Syntax) else ""

        def listed_p() -> int | None:
            entry = next(e for e in screen.entries if e.name == "tiny-mlp")
            return None if entry.preset is None else entry.preset.data.p

        # both follow the save on their own (a busy machine draws them a frame or two later)
        await until(pilot, lambda: "p = 11" in resolved_code())
        await until(pilot, lambda: listed_p() == 11)  # the list reloaded
        # the text was checked beside the file (extends resolve there), and nothing stays
        assert sorted(p.name for p in env.presets.iterdir()) == ["tiny.toml"]

    drive(app, script)


@pytest.mark.slow
def test_a_preset_that_extends_another_is_checked_against_its_base(env: TuiEnv) -> None:
    short = env.presets / "short.toml"
    short.write_text('extends = "tiny.toml"\nname = "short"\n\n[optim]\nlr = 0.01\n')
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await pick(pilot, app, "short")
        editor = await open_toml_tab(pilot, screen)
        assert editor.text.startswith('extends = "tiny.toml"')
        await until(pilot, lambda: "✓ loads" in toml_status(screen))
        row = await go_to(pilot, editor, "lr = 0.01")
        await pilot.press("enter", *"weight_decay = -1")
        expected = f"{short.resolve()}:{row + 2}: optim.weight_decay:"
        await until(pilot, lambda: expected in toml_status(screen))

    drive(app, script)


@pytest.mark.slow
def test_keys_typed_in_the_toml_tab_only_edit_its_text(env: TuiEnv) -> None:
    """Letters the app binds elsewhere (q, ? help, n, d, m, t, digits, space) are text here;
    editing keys in a burst (tmux send-keys) apply in order with the characters around them."""
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await pick(pilot, app, "tiny-mlp")
        form = screen.query_one(PresetForm)
        editor = await open_toml_tab(pilot, screen)
        await go_to(pilot, editor, 'device = "cpu"')
        burst(app, ["enter", *"# wrong", "ctrl+u", *"# q?nd mt 0 1 2"])
        app.post_message(events.Key("space", " "))  # as a terminal sends the space bar
        burst(app, ["q"])
        await until(pilot, lambda: editor.text.endswith('device = "cpu"\n# q?nd mt 0 1 2 q\n'))
        await settle(pilot)
        assert app.is_running and app.screen is screen  # no quit, no help, no other screen
        assert not isinstance(app.screen, HelpScreen)
        assert screen.query_one("#preset-tabs", TabbedContent).active == "tab-toml"
        assert app.current_mode == "presets"
        assert screen.focused is editor
        await until(pilot, lambda: "✓ loads" in toml_status(screen))  # a comment: it loads
        assert "modified" in toml_label(screen) and not form.modified
        await pilot.press("f6")  # F6 stays the app's Queue (TextArea's "select line")
        await until(pilot, lambda: app.current_mode == "queue")

    drive(app, script)


@pytest.mark.slow
def test_the_form_and_the_toml_tab_show_one_preset(env: TuiEnv) -> None:
    """Entering the tab after a form edit shows the form's preset as the file would be
    saved; leaving it with edited text that loads puts that text's preset into the form."""
    app = env.app()
    tiny = env.presets / "tiny.toml"

    async def script(pilot: Any) -> None:
        screen = await pick(pilot, app, "tiny-mlp")
        form = screen.query_one(PresetForm)
        lr = form.query_one("#f-optim-lr", Input)
        lr.value = "0.01"
        await until(pilot, lambda: form.modified and form.preset.optim.lr == 0.01)
        editor = await open_toml_tab(pilot, screen)
        assert "lr = 0.01" in editor.text and 'name = "tiny-mlp"' in editor.text
        assert "modified" in toml_label(screen)  # not what the file holds
        await go_to(pilot, editor, "lr = 0.01")
        await pilot.press("backspace", "2")
        await until(pilot, lambda: "lr = 0.02" in editor.text)
        await until(pilot, lambda: "✓ loads" in toml_status(screen))
        await click(pilot, "#--content-tab-tab-edit")
        await until(pilot, lambda: lr.value == "0.02" and form.preset.optim.lr == 0.02)
        assert form.modified and tiny.read_text() == TINY  # unsaved, the file untouched
        await pilot.press("ctrl+s")  # on the form's tab: Save as, as before
        await until(pilot, lambda: isinstance(app.screen, PathModal))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        await open_toml_tab(pilot, screen)
        assert "lr = 0.02" in editor.text  # the text typed here, kept as typed

    drive(app, script)


@pytest.mark.slow
def test_unsaved_toml_is_discarded_only_when_the_user_says_so(env: TuiEnv) -> None:
    (env.presets / "other.toml").write_text('extends = "tiny.toml"\nname = "other"\n')
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await pick(pilot, app, "tiny-mlp")
        form = screen.query_one(PresetForm)
        editor = await open_toml_tab(pilot, screen)
        await go_to(pilot, editor, "eval_every = 10")
        await pilot.press("backspace", "backspace", *"20")
        await until(pilot, lambda: "✓ loads" in toml_status(screen))
        assert screen.unsaved() and not form.modified  # the edit is the TOML tab's alone

        await pilot.press("f5")  # reload: asks first
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("enter")  # the default keeps the edits
        await until(pilot, lambda: app.screen is screen)
        assert "eval_every = 20" in editor.text

        options = screen.query_one("#preset-list", OptionList)
        options.focus()
        options.highlighted = option_of(screen, "other")  # another preset: asks too
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("enter")  # keep
        await until(pilot, lambda: app.screen is screen)
        assert screen.current is not None and screen.current.name == "tiny-mlp"
        assert "eval_every = 20" in editor.text and "modified" in toml_label(screen)

        options.highlighted = option_of(screen, "other")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await click(pilot, "#yes")  # discard
        await until(pilot, lambda: screen.current is not None and screen.current.name == "other")
        await until(pilot, lambda: editor.text.startswith('extends = "tiny.toml"'))
        assert toml_label(screen) == "TOML" and not screen.unsaved()
        assert (env.presets / "tiny.toml").read_text() == TINY

    drive(app, script)


@pytest.mark.slow
def test_a_run_s_copy_has_no_file_and_the_toml_tab_saves_it_as_a_new_one(
    env: TuiEnv,
) -> None:
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await pick(pilot, app, "tiny-mlp")
        form = screen.query_one(PresetForm)
        base = load_preset(env.presets / "tiny.toml").to_dict()
        screen.edit({**base, "name": "from-a-run"}, "run-1")  # as History's "e" does
        await until(pilot, lambda: form.preset is not None and form.preset.name == "from-a-run")
        editor = await open_toml_tab(pilot, screen)
        assert 'name = "from-a-run"' in editor.text and "[optim]" in editor.text  # every field
        await go_to(pilot, editor, "seed = 0")
        await pilot.press("backspace", "5")
        await until(pilot, lambda: "Ctrl+S saves it as a new file" in toml_status(screen))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, PathModal))
        assert form.preset is not None and form.preset.train.seed == 5  # in the form first
        await pilot.press("enter")
        target = env.presets / "from-a-run.toml"
        await until(pilot, lambda: target.exists())
        assert load_preset(target).train.seed == 5
        assert (env.presets / "tiny.toml").read_text() == TINY

    drive(app, script)


# -- save as: extends plus what differs; the description -----------------------------------------


def test_save_as_writes_extends_and_only_the_fields_that_differ(env: TuiEnv) -> None:
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await pick(pilot, app, "tiny-mlp")
        form = screen.query_one(PresetForm)
        description = form.query_one("#f-description", Input)
        assert description.display and description.value == ""
        form.query_one("#f-name", Input).value = "tiny-lr"
        description.value = "tiny, with a larger learning rate"
        form.query_one("#f-optim-lr", Input).value = "0.01"
        await until(pilot, lambda: form.preset is not None and form.preset.optim.lr == 0.01)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, PathModal))
        await pilot.press("enter")
        target = env.presets / "tiny-lr.toml"
        await until(pilot, lambda: any(e.name == "tiny-lr" for e in screen.entries))
        text = target.read_text()
        schema_line, rest = text.split("\n", 1)
        assert schema_line.startswith("#:schema file://") and schema_line.endswith(".schema.json")
        assert rest.startswith('extends = "tiny.toml"\nname = "tiny-lr"\n')
        assert 'description = "tiny, with a larger learning rate"' in text
        assert "lr = 0.01" in text
        for default in ("eval_every", "batch_size", "weight_decay", "[data]", "[model]"):
            assert default not in text
        assert load_preset(target) == form.preset

    drive(app, script)


def test_a_multi_line_description_is_kept_unless_edited(env: TuiEnv) -> None:
    (env.presets / "described.toml").write_text(
        'extends = "tiny.toml"\nname = "described"\ndescription = """\nline one\nline two"""\n'
    )
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await pick(pilot, app, "described")
        form = screen.query_one(PresetForm)
        assert form.query_one("#f-description", Input).value == "line one line two"
        assert not form.modified
        assert form.preset is not None and form.preset.description == "line one\nline two"

    drive(app, script)


# -- long names ----------------------------------------------------------------------------------


def test_a_long_name_is_cut_with_an_ellipsis_and_shown_whole_above_the_form(
    env: TuiEnv,
) -> None:
    (env.presets / "long.toml").write_text(f'extends = "tiny.toml"\nname = "{LONG}"\n')
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await pick(pilot, app, LONG)
        options = screen.query_one("#preset-list", OptionList)
        side = options.scrollable_content_region.width  # without the scrollbar
        lines = [line.text[:side] for line in app.screen._compositor.render_strips()]
        row = next(i for i, line in enumerate(lines) if "✓ my-grokking" in line)
        assert lines[row].rstrip().endswith("…")
        assert "far-too-long" not in lines[row + 1]  # no second line for the same name
        heading = str(screen.query_one("#preset-heading", Static).render())
        assert LONG in heading

    drive(app, script, size=(80, 24))


# -- N seeds -------------------------------------------------------------------------------------


def test_ctrl_n_trains_n_seeds_as_one_sweep_through_the_launcher(
    env: TuiEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[list[str]] = []
    monkeypatch.setattr(
        launch, "spawn_detached", lambda command, log: started.append(command) or 4242
    )
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await pick(pilot, app, "tiny-mlp")
        form = screen.query_one(PresetForm)
        form.query_one("#f-train-seed", Input).value = "5"  # an unsaved edit is what trains
        await until(pilot, lambda: form.preset is not None and form.preset.train.seed == 5)
        await pilot.press("ctrl+n")
        await until(pilot, lambda: isinstance(app.screen, SeedsModal))
        assert "5, 6, ..." in str(app.screen.query_one(".dialog-text", Static).render())
        assert app.screen.query_one("#seeds", Input).value == "1"  # one seed: a single run
        for key in ("4", "tab", "2", "enter"):  # in one burst, as tmux send-keys types them
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        await until(pilot, lambda: started)
        command = started[0]
        assert command[: len(launch.SWEEP_COMMAND)] == launch.SWEEP_COMMAND
        preset_file = Path(command[len(launch.SWEEP_COMMAND)])
        assert command[len(launch.SWEEP_COMMAND) + 1 :] == [
            "--runs-dir",
            str(env.runs.resolve()),
            "--seeds",
            "4",
            "--split-seeds",
            "2",
        ]
        assert load_preset(preset_file) == form.preset

    drive(app, script)


def test_a_bad_count_of_seeds_is_refused_in_the_dialog(env: TuiEnv) -> None:
    app = env.app()

    async def script(pilot: Any) -> None:
        await pick(pilot, app, "tiny-mlp")
        await pilot.press("ctrl+n")
        await until(pilot, lambda: isinstance(app.screen, SeedsModal))
        app.screen.query_one("#seeds", Input).value = "0"
        await pilot.press("enter")
        note = app.screen.query_one("#seeds-note", Static)
        await until(pilot, lambda: "seeds: a whole number from 1" in str(note.render()))
        assert isinstance(app.screen, SeedsModal)

    drive(app, script)


def test_the_editor_command_takes_visual_then_editor_with_arguments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", "emacs -nw")
    assert launch.editor_command(Path("/x/p.toml")) == ["emacs", "-nw", "/x/p.toml"]
    monkeypatch.setenv("VISUAL", "code --wait")
    assert launch.editor_command(Path("p.toml")) == ["code", "--wait", "p.toml"]
    monkeypatch.delenv("VISUAL")
    monkeypatch.delenv("EDITOR")
    assert launch.editor_command(Path("p.toml")) == ["vi", "p.toml"]


def test_a_missing_editor_is_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    from grok_tui.errors import UserError

    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", "no-such-editor-anywhere")
    with pytest.raises(UserError, match="EDITOR: cannot start the editor 'no-such-editor"):
        launch.edit_file(Path("p.toml"))


# -- the footer at 80 columns --------------------------------------------------------------------


def last_row(app: GrokApp) -> str:
    """The screen's bottom row as drawn; empty before the screen's first layout."""
    strips = app.screen._compositor.render_strips()
    return strips[-1].text if strips else ""


def palette_ends(row: str) -> bool:
    """The palette key ends the row: nothing after it (a stray "u" or "i" was)."""
    return row.rpartition("▏")[2] == "^p palette"


def keys_are_whole(row: str, screen: Any) -> bool:
    """The last key before the palette is shown whole ("f2 P" was cut mid-word)."""
    keys = row.rpartition("▏")[0].rstrip()
    shown = [b.binding.description for b in screen.active_bindings.values() if b.binding.show]
    return any(keys.endswith(" " + description) for description in shown if description)


def test_the_footer_ends_with_the_palette_key_at_80_columns_on_every_screen(
    env: TuiEnv,
) -> None:
    history_env(env)
    app = env.app()

    async def script(pilot: Any) -> None:
        rows: dict[str, str] = {}

        async def check(name: str, whole: bool = False) -> None:
            def drawn() -> bool:  # a new screen's footer may not be drawn yet
                row = last_row(app)
                return len(row) == 80 and palette_ends(row)

            with contextlib.suppress(AssertionError):
                await until(pilot, drawn, 30)
            rows[name] = row = last_row(app)
            assert len(row) == 80 and palette_ends(row), (name, row)
            assert not whole or keys_are_whole(row, app.screen), (name, row)

        await until(pilot, lambda: isinstance(app.screen, PresetsScreen) and app.screen.entries, 60)
        await check("presets", whole=True)
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, LiveScreen), 60)
        await check("live")
        await pilot.press("f4")
        await until(
            pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.all_rows, 60
        )
        await check("history", whole=True)
        assert "f1 Help" in rows["history"]  # help (every key) stays however many keys there are
        history = app.screen
        history.query_one(DataTable).move_cursor(row=0)
        await pilot.press("space", "down", "space", "c")
        await until(pilot, lambda: isinstance(app.screen, CompareScreen), 60)
        await check("compare")
        await pilot.press("escape", "enter")
        await until(pilot, lambda: isinstance(app.screen, RunScreen), 60)
        await check("run")

    drive(app, script, size=(80, 24))


@pytest.mark.parametrize("kind", ["form", "steady"])
def test_a_form_select_whose_overlay_is_gone_mounts_without_an_error(kind: str):
    # On a busy machine the form's Selects can be pruned before their Mount event is
    # handled; Select's own _on_mount then looked for its overlay and crashed the app.
    from textual.widgets._select import SelectOverlay

    from grok_tui.tui.widgets.preset_form import FormSelect
    from grok_tui.tui.widgets.steady_select import SteadySelect

    async def main() -> None:
        cls = FormSelect if kind == "form" else SteadySelect  # History's status filter
        app = one_widget_app(cls([("add", "add"), ("sub", "sub")], value="add", id="op"))
        async with app.run_test() as pilot:
            select = app.query_one("#op", cls)
            await select.query_one(SelectOverlay).remove()
            await select._on_message(events.Mount())  # the late Mount, as Textual sends it
            await pilot.pause()
            assert app.return_code is None and app._exception is None

    asyncio.run(main())


@pytest.mark.parametrize("kind", ["form", "steady"])
def test_a_form_select_whose_label_is_gone_mounts_without_an_error(kind: str):
    # Pruning goes leaves first: under CI's load the label inside the Select's current-value
    # line was gone while that line and the overlay were still there, and Select's late
    # _on_mount set its value into the missing label (NoMatches '#label', seen once in CI).
    from textual.widgets import Static

    from grok_tui.tui.widgets.preset_form import FormSelect
    from grok_tui.tui.widgets.steady_select import SteadySelect

    async def main() -> None:
        cls = FormSelect if kind == "form" else SteadySelect  # History's status filter
        app = one_widget_app(cls([("add", "add"), ("sub", "sub")], value="add", id="op"))
        async with app.run_test() as pilot:
            select = app.query_one("#op", cls)
            await select.query_one("#label", Static).remove()
            select.set_reactive(FormSelect.value, FormSelect.BLANK)  # as before its first Mount
            await select._on_message(events.Mount())  # the late Mount, as Textual sends it
            await pilot.pause()
            assert app.return_code is None and app._exception is None

    asyncio.run(main())


@pytest.mark.parametrize("kind", ["form", "steady"])
def test_a_form_select_whose_label_is_gone_takes_a_value_without_an_error(kind: str):
    # The form fills its fields after the first frame; an app closing under load prunes
    # the label inside a Select's current-value line first, and the form's fill then set a
    # value into it (NoMatches '#label' from Select's watcher, seen at a load of 7).
    from textual.widgets import Static

    from grok_tui.tui.widgets.preset_form import FormSelect
    from grok_tui.tui.widgets.steady_select import SteadySelect

    async def main() -> None:
        cls = FormSelect if kind == "form" else SteadySelect  # History's status filter
        app = one_widget_app(cls([("add", "add"), ("sub", "sub")], value="add", id="op"))
        async with app.run_test() as pilot:
            select = app.query_one("#op", cls)
            await select.query_one("#label", Static).remove()
            select.value = "sub"
            await pilot.pause()
            assert select.value == "sub"
            assert app.return_code is None and app._exception is None

    asyncio.run(main())


def test_a_form_being_pruned_is_not_whole(env: TuiEnv) -> None:
    # When the app closes it flags every widget of the screen as pruning at once, then
    # removes them leaves first: a field's inner parts can be gone while the grid still
    # holds every field, so the form must not count on its grid alone.
    form = PresetForm(id="preset-form")

    async def main() -> None:
        app = one_widget_app(form)
        async with app.run_test() as pilot:
            form.load(load_preset(env.presets / "tiny.toml").to_dict())
            await until(pilot, lambda: form.whole)
            form._pruning = True  # what App._prune sets on each node before removing any
            assert not form.whole
            form.load(load_preset(env.presets / "tiny.toml").to_dict())  # does nothing
            await pilot.pause()
            assert app._exception is None
            form._pruning = False

    asyncio.run(main())


def test_a_form_removed_while_its_fields_are_built_does_not_crash(env: TuiEnv) -> None:
    # The fields are mounted after the first frame; an app closing under load pruned them
    # between that mount and filling them in, and the fill crashed on a field that was
    # gone (NoMatches '#f-name': a traceback on quit, seen once in CI).
    form = PresetForm(id="preset-form")
    mount_fields = form._mount_fields

    async def mount_then_lose_the_fields(grid: Any) -> None:
        await mount_fields(grid)
        assert form.query_one("#f-name") is not None  # the fields were there
        await grid.remove_children()  # what the app's prune does first, leaves first

    form._mount_fields = mount_then_lose_the_fields  # type: ignore[method-assign]

    async def main() -> None:
        app = one_widget_app(form)
        async with app.run_test() as pilot:
            form.load(load_preset(env.presets / "tiny.toml").to_dict())
            await until(pilot, lambda: not form._building)
            await pilot.pause()
            assert app._exception is None and form.built and not form.whole

    asyncio.run(main())

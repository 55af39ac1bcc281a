"""Issue 35's medium list, as a user meets it: a run's note read in History without
scrolling, Save as that proposes a new name and keeps a hand-written file as written,
a visible focus at every Tab stop of the form (without colour too), and the help line
that names the focused field at once."""

from __future__ import annotations

from typing import Any

import pytest
from textual.color import Color
from textual.filter import Monochrome, NoColor
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static

from grok_tui.config import load_preset
from grok_tui.tui.screens.modals import ConfirmModal, PathModal
from grok_tui.tui.widgets.preset_form import FormSelect, PresetForm
from tests.support.pilot import click, settle, until
from tests.support.tui import TINY, TuiEnv, drive, finished_run, open_history, pick

HAND = """\
#:schema ./grok-tui.schema.json
# written by hand: these comments, this order and these blank lines stay
name = "hand"

[data]
p = 7   # small, to be quick
train_fraction = 0.5

[model]
type = "mlp"
embed_dim = 16
widths = [32]

[optim]
lr = 3e-3  # the one field the user changes

[train]
steps = 200
eval_every = 10
batch_size = "full"
device = "cpu"
"""

pytestmark = pytest.mark.tui_env(presets={"tiny.toml": TINY, "hand.toml": HAND})


# -- History: the note of the run under the cursor ---------------------------------------------


def note_text(screen: Any) -> str:
    box = screen.query_one("#history-note", Static)
    return str(box.render()) if box.display and box.region.area else ""


def test_the_note_of_the_run_under_the_cursor_shows_under_the_table(env: TuiEnv) -> None:
    plain = finished_run(env.runs, "plain")
    noted = finished_run(env.runs, "noted")
    noted.set_note("first [b]line[/b]\nsecond \x1b[2J line\nthird\nfourth\nfifth")
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await open_history(pilot, app)
        table = screen.query_one("#history-table", DataTable)
        table.focus()
        table.move_cursor(row=table.get_row_index(noted.run_id))
        await until(pilot, lambda: "first" in note_text(screen))
        shown = note_text(screen)
        # its first lines, as typed ("[b]" is not markup) and escaped (no ESC reaches the
        # terminal), the rest counted; inside the screen at 80x24, no scrolling needed
        assert "first [b]line[/b]" in shown and "second \\x1b[2J line" in shown
        assert "\x1b" not in shown and "fifth" not in shown and "more lines" in shown
        box = screen.query_one("#history-note", Static)
        assert box.region.bottom <= app.screen.region.bottom
        assert box.region.y > table.region.y  # under the table

        # it follows the cursor: a run without a note shows none
        await pilot.press("down" if table.cursor_row == 0 else "up")
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        assert key == plain.run_id
        await until(pilot, lambda: note_text(screen) == "")

    drive(app, script, size=(80, 24))


# -- Save as --------------------------------------------------------------------------------------


async def save_as(pilot: Any, app: Any) -> Input:
    await pilot.press("ctrl+s")
    await until(pilot, lambda: isinstance(app.screen, PathModal))
    return app.screen.query_one("#path", Input)


def test_save_as_proposes_a_new_name_never_the_file_shown(env: TuiEnv) -> None:
    (env.presets / "hand-2.toml").write_text(HAND.replace('"hand"', '"hand two"'))
    app = env.app()

    async def script(pilot: Any) -> None:
        await pick(pilot, app, "hand")
        path = await save_as(pilot, app)
        proposed = path.value
        assert proposed == str(env.presets / "hand-3.toml")  # hand and hand-2 exist

    drive(app, script)


def test_saving_into_the_hand_written_file_changes_only_the_edited_line(env: TuiEnv) -> None:
    hand = env.presets / "hand.toml"
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await pick(pilot, app, "hand")
        form = screen.query_one(PresetForm)
        form.query_one("#f-optim-lr", Input).value = "0.01"
        await until(pilot, lambda: form.preset is not None and form.preset.optim.lr == 0.01)
        path = await save_as(pilot, app)
        path.value = str(hand)  # over the file itself, as the user asked
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await click(pilot, "#yes")
        await until(pilot, lambda: "0.01" in hand.read_text())
        await settle(pilot)

    drive(app, script)
    written = hand.read_text()
    expected = HAND.replace("lr = 3e-3  # the one", "lr = 0.01  # the one")
    assert written == expected  # comments, order, blank lines: as written
    assert load_preset(hand).optim.lr == 0.01


def test_save_as_a_new_file_writes_no_default(env: TuiEnv) -> None:
    """Another model family: only what differs from its defaults is written."""
    app = env.app()
    target = env.presets / "hand-transformer.toml"

    async def script(pilot: Any) -> None:
        screen = await pick(pilot, app, "hand")
        form = screen.query_one(PresetForm)
        form.query_one("#f-model-type", FormSelect).value = "transformer"
        await until(
            pilot, lambda: form.preset is not None and form.preset.model.type == "transformer"
        )
        form.query_one("#f-model-layers-transformer", Input).value = "1"
        await until(pilot, lambda: form.preset is not None and form.preset.model.layers == 1)
        path = await save_as(pilot, app)
        path.value = str(target)
        await pilot.press("enter")
        await until(pilot, lambda: target.exists())
        await settle(pilot)
        assert load_preset(target) == form.preset

    drive(app, script)
    text = target.read_text()
    assert 'extends = "hand.toml"' in text and 'type = "transformer"' in text
    assert "layers = 1" in text
    for default in ("d_model", "heads", "d_ff", "dropout", "eval_every", "[data]", "[train]"):
        assert default not in text, text


# -- the form's focus and help line ---------------------------------------------------------------


def look(app: Any, widget: Widget, *, grey: bool) -> list[tuple[str, tuple[Any, ...]]]:
    """What ``widget``'s part of the screen shows under NO_COLOR: each cell's character
    and attributes (bold, reverse, underline, italic, dim, strike); ``grey``: with its
    shades of grey too, as Textual draws NO_COLOR on a true-colour terminal (Monochrome),
    else with no colour at all (NoColor, as on a 16-colour terminal)."""
    strips = app.screen._compositor.render_strips()
    region = widget.region
    colour_filter = Monochrome() if grey else NoColor()
    cells = []
    for y in range(region.y, min(region.bottom, len(strips))):
        strip = strips[y].crop(region.x, region.right)
        for segment in colour_filter.apply(list(strip), Color(0, 0, 0)):
            style = segment.style
            attrs = tuple(
                bool(getattr(style, name, False))
                for name in ("bold", "reverse", "underline", "italic", "dim", "strike")
            )
            shades = (str(style.color), str(style.bgcolor)) if grey and style else ()
            cells += [(char, (*attrs, *shades)) for char in segment.text]
    return cells


@pytest.mark.slow  # every Tab stop of the form, one by one: >= 5 s
def test_every_tab_stop_of_the_form_shows_its_focus_without_colour(env: TuiEnv) -> None:
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await pick(pilot, app, "tiny-mlp")
        for field in screen.query(Input):
            field.cursor_blink = False  # the cursor shows all the time: one look is enough
        stops: list[str] = []
        invisible: list[str] = []  # stops whose focus did not show
        for _ in range(25):  # round the whole form and back to its first field
            focused = app.focused
            assert focused is not None
            await settle(pilot)
            # a Select's focus shows without any colour; an Input's cursor, in grey
            grey = not isinstance(focused, FormSelect)
            with_focus = look(app, focused, grey=grey)
            await pilot.press("tab")
            await until(pilot, lambda focused=focused: app.focused is not focused)
            await settle(pilot)
            if screen.query_one(PresetForm) in focused.ancestors_with_self:
                name = f"{type(focused).__name__}#{focused.id}"
                stops.append(name)
                # the stop it left looks otherwise: its focus was seen, colours or not
                if look(app, focused, grey=grey) == with_focus:
                    invisible.append(name)
        assert invisible == []  # every stop showed its focus, colours or not
        assert "PresetForm#preset-form" not in stops  # the form itself is no stop
        assert "FormSelect#f-data-operation" in stops

    drive(app, script)


def test_the_help_line_names_the_focused_field_at_once(env: TuiEnv) -> None:
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await pick(pilot, app, "tiny-mlp")
        form = screen.query_one(PresetForm)
        help_line = form.query_one("#form-help", Static)
        for _ in range(6):
            screen.focus_next()  # what Tab does; no message handled in between
            focused = app.focused
            assert focused is not None and focused.id is not None
            key = focused.id.removeprefix("f-").replace("-", ".")
            assert str(help_line.render()).startswith(key + ":"), (key, help_line.render())
        screen.set_focus(screen.query_one("#preset-list"))  # out of the form: no field named
        assert str(help_line.render()) == "", help_line.render()

    drive(app, script)

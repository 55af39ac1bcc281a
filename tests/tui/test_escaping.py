"""Text from run directories is untrusted: it never drives the terminal nor reads as markup.

A run directory can be copied from someone else, so its id (the directory name), the
name in summary.json, note.txt, the log and error texts may hold escape sequences or
Rich/Textual markup. These tests craft such a run and check `grok-tui runs`, the
History table, the delete dialog, the run page and the Presets list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.content import Content
from textual.widgets import DataTable, OptionList, Static

from grok_tui import cli
from grok_tui.config import Preset
from grok_tui.rundirs import store
from grok_tui.text import safe_markup, safe_text
from grok_tui.tui.screens.modals import ConfirmModal
from grok_tui.tui.screens.presets import PresetsScreen
from grok_tui.tui.screens.run import RunScreen
from grok_tui.tui.screens.sweep import safe_ansi
from tests.support.pilot import settle, until
from tests.support.tui import TuiEnv, drive, open_history

CLEAR = "\x1b[2J"  # erase the screen
TITLE = "\x1b]0;pwned\x07"  # OSC: retitle the terminal, ended by BEL
NAME = f"{CLEAR}[red]x[/red]{TITLE}"
NOTE = f"[link=file:///etc]y[/link] {CLEAR}\u202eevil"
RUN_ID = f"20260101-000000-000-[b]evil{CLEAR}"  # no "/" in a directory name
UNSAFE = ("\x1b", "\x07", "\x9b", "\u202e")  # none of these may reach the terminal


# -- grok_tui.text --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (CLEAR, "\\x1b[2J"),
        (TITLE, "\\x1b]0;pwned\\x07"),
        ("a\x9b2Jb", "a\\x9b2Jb"),  # the one-byte CSI (C1)
        ("over\bwrite\rline", "over\\x08write\\rline"),
        ("one\ntwo\tthree", "one\\ntwo\\tthree"),  # a one-line field stays one line
        ("\x00\x7f\x85", "\\x00\\x7f\\x85"),
        ("abc\u202edcba", "abc\\u202edcba"),  # right-to-left override
        ("\u202a\u202b\u202c\u202d", "\\u202a\\u202b\\u202c\\u202d"),
        ("\u2066\u2067\u2068\u2069", "\\u2066\\u2067\\u2068\\u2069"),
        ("line\u2028sep", "line\\u2028sep"),
        ("bad-\udcff-byte", "bad-\\xff-byte"),  # an undecodable byte of a file name
    ],
)
def test_safe_text_replaces_control_and_bidi_characters_by_their_escapes(
    raw: str, shown: str
) -> None:
    assert safe_text(raw) == shown
    assert not any(c in safe_text(raw) for c in (*UNSAFE, "\n", "\r", "\b", "\t"))
    safe_text(raw).encode("utf-8")  # printable: no lone surrogate left


def test_safe_text_keeps_ordinary_text_and_unicode() -> None:
    text = "grok-tui 20260101 [red]x[/red] café 漢字 😀 ✓ — α=0.1"
    assert safe_text(text) == text
    assert safe_text(3.5) == "3.5" and safe_text(Path("/a/b")) == "/a/b"


def test_safe_text_multiline_keeps_lines_and_tabs_only() -> None:
    assert safe_text("a\r\nb\n\tc", multiline=True) == "a\nb\n\tc"
    assert safe_text(f"x\ry{CLEAR}\u2028", multiline=True) == "x\\ry\\x1b[2J\\u2028"


@pytest.mark.parametrize(
    "raw",
    [
        "[red]x[/red]",
        "[link=file:///etc]y[/link]",
        "[@click=app.quit]q[/]",
        "[B]x[/B]",  # Textual reads these as tags, rich.markup.escape does not escape them
        "[$accent]x[/]",
        "[ red]x",
        "[Red]r[/]",
        "a\\[b]c",
        "back\\\\[b]slashes",
        "[/]",
        NAME,
        NOTE,
        RUN_ID,
    ],
)
def test_safe_markup_shows_markup_literally(raw: str) -> None:
    assert Content.from_markup(safe_markup(raw)).plain == safe_text(raw)
    framed = Content.from_markup(f"[b]run[/b] {safe_markup(raw)} [i]end[/i]")
    assert framed.plain == f"run {safe_text(raw)} end"


def test_the_sweep_heatmap_keeps_its_colours_and_escapes_anything_else() -> None:
    link = "\x1b]8;;file:///etc\x1b\\y\x1b]8;;\x1b\\"  # OSC 8: a hyperlink
    ansi = f"\x1b[38;2;1;2;3m█\x1b[0m lr={link} {CLEAR}\n"
    safe = safe_ansi(ansi)
    assert safe.startswith("\x1b[38;2;1;2;3m█\x1b[0m lr=")  # plotext's colours stay
    assert safe.count("\x1b") == 2 and "\\x1b]8;;file:///etc" in safe
    text = Text.from_ansi(safe)
    assert "\\x1b[2J" in text.plain and not any(span.style.link for span in text.spans)


# -- grok-tui runs ------------------------------------------------------------------------


def crafted_run(runs: Path) -> store.RunDir:
    """A run directory as someone else may hand it over: escapes and markup everywhere."""
    run = store.create_run(Preset(name="crafted"), runs)
    store.update_summary(  # every string field crafted; numbers must stay numbers
        run.path,
        name=NAME,
        status=f"completed\x9b2J{TITLE}",
        step=10,
        final={"test_acc": 0.9},
        device=f"cpu{TITLE}",
        error=f"boom [B]bold[/B] {CLEAR}",
    )
    run.set_note(NOTE)
    crafted = store.RunDir(run.path.rename(runs / RUN_ID))
    (crafted.path / store.LOG_FILE).write_text(f"loss went [B]up[/B] {CLEAR}\nfine\n")
    assert RUN_ID in [r.run_id for r in store.iter_run_dirs(runs)]
    return crafted


def test_runs_prints_untrusted_fields_without_escape_sequences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    crafted_run(runs)
    assert cli.main(["runs", "--runs-dir", str(runs)]) == 0
    out = capsys.readouterr().out
    assert not any(c in out for c in UNSAFE)
    assert len(out.splitlines()) == 2  # the header and one line: no line break smuggled in
    assert "20260101-000000-000-[b]evil\\x1b[2J" in out  # the id, visibly escaped
    assert "[link=file:///etc]y[/link] \\x1b[2J\\u202eevil" in out  # the note
    assert "completed\\x9b2J\\x1b]0;pwned\\x07" in out  # the status from summary.json


def test_note_prints_an_untrusted_note_without_escape_sequences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    crafted_run(runs)
    assert cli.main(["note", "evil", "--runs-dir", str(runs)]) == 0
    out = capsys.readouterr().out
    assert not any(c in out for c in UNSAFE)
    assert out == f"{safe_text(RUN_ID)}: {safe_text(NOTE)}\n"


# -- the TUI ------------------------------------------------------------------------------


def table_text(table: DataTable) -> str:
    """What the table draws on the screen, line by line."""
    return "\n".join(table.render_line(y).text for y in range(table.size.height))


def shown(widget: Static) -> str:
    return str(widget.render())


def test_history_shows_a_crafted_name_and_note_as_typed(env: TuiEnv) -> None:
    crafted = crafted_run(env.runs)
    store.create_run(Preset(name="plain"), env.runs)
    app = env.app(poll_interval=0.1)

    def check(table: DataTable) -> None:
        text = table_text(table)  # what the screen shows: no escape reaches it
        assert not any(c in text for c in UNSAFE)
        assert "\\x1b[2J[red]x" in text  # the name's start (names are cut to a width)
        cells = " ".join(str(c) for c in table.get_row(crafted.run_id))  # whole cells
        assert "[red]x[/red]" in cells and "[link=file:///etc]y[/link]" in cells  # not styled
        assert "\\x1b[2J[red]x[/red]\\x1b]0;pwned\\x07" in cells  # the name, escapes visible

    async def script(pilot: Any) -> None:
        screen = await open_history(pilot, app)
        table = screen.query_one(DataTable)
        await until(pilot, lambda: "\\x1b[2J[red]x" in table_text(table))  # drawn
        check(table)
        # A followed run's row is refreshed in place as its summary moves.
        follower = app.follow(crafted)
        await until(pilot, lambda: follower.summary)
        screen.runs_changed([crafted.run_id])
        await settle(pilot)
        check(table)

    drive(app, script, size=(160, 40))


def test_the_delete_dialog_shows_the_exact_path_it_deletes(env: TuiEnv) -> None:
    crafted = crafted_run(env.runs)
    other = store.create_run(Preset(name="other"), env.runs)
    app = env.app(poll_interval=0.1)

    async def script(pilot: Any) -> None:
        screen = await open_history(pilot, app)
        table = screen.query_one(DataTable)
        table.move_cursor(row=table.get_row_index(crafted.run_id))
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        text = shown(app.screen.query_one(".dialog-text", Static))
        assert "Delete run 20260101-000000-000-[b]evil" in text  # the brackets as they are
        assert not any(c in text for c in UNSAFE)
        assert "Delete run 20260101-000000-000-[b]evil\\x1b[2J?" in text
        assert f"\n{env.runs}/20260101-000000-000-[b]evil\\x1b[2J\n" in text
        await pilot.press("tab", "enter")  # Yes
        await until(pilot, lambda: not crafted.path.exists())
        assert other.path.exists()

    drive(app, script, size=(160, 40))


def test_the_run_page_shows_name_error_and_log_as_typed(env: TuiEnv) -> None:
    crafted_run(env.runs)
    app = env.app(poll_interval=0.1)

    async def script(pilot: Any) -> None:
        await open_history(pilot, app)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunScreen))
        run_screen = app.screen
        await until(pilot, lambda: "fine" in shown(run_screen.query_one("#run-log-text", Static)))
        head = shown(run_screen.query_one("#run-head", Static))
        log = shown(run_screen.query_one("#run-log-text", Static))
        assert "[red]x[/red]" in head and "loss went [B]up[/B]" in log  # not styled
        for text in (head, log):
            assert not any(c in text for c in UNSAFE)
        assert "\\x1b[2J[red]x[/red]\\x1b]0;pwned\\x07" in head
        assert "boom [B]bold[/B] \\x1b[2J" in head and "20260101-000000-000-[b]evil" in head
        assert "loss went [B]up[/B] \\x1b[2J" in log

    drive(app, script, size=(160, 40))


def test_presets_show_names_and_errors_from_preset_files_as_typed(env: TuiEnv) -> None:
    (env.presets / "a.toml").write_text('name = "[b]x\\u001b[2J"\n[data]\np = 7\n')
    (env.presets / "b.toml").write_text('name = "bad"\n[data]\noperation = "[B]boom[/B]"\n')
    app = env.app(poll_interval=0.1)

    async def script(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, PresetsScreen) and app.screen.entries)
        screen = app.screen
        options = screen.query_one("#preset-list", OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert any("[b]x" in p for p in prompts)
        assert not any(c in p for p in prompts for c in UNSAFE)
        assert any("[b]x\\x1b[2J" in p for p in prompts)
        bad = next(i for i, e in enumerate(screen.entries) if e.path.name == "b.toml")
        options.highlighted = options.get_option_index(str(bad))
        errors = screen.query_one("#preset-errors", Static)
        await until(pilot, lambda: "boom" in shown(errors))
        assert "(got '[B]boom[/B]')" in shown(errors)  # not bold

    drive(app, script, size=(160, 40))

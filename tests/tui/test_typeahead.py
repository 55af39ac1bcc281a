"""Type-ahead (issue 35, item 1): a key script ends in the same state whether its keys are
typed slowly or arrive in one burst (a paste, tmux send-keys, a laggy SSH link).

Each script runs twice on its own copy of the world: once key by key with the app
settled between keys, once with every key posted before the app handles any of them (as
the terminal driver delivers a burst). The two end states must be equal: the screen, the
focused widget, every field's value, the tables' rows and cursor, the screen's marks,
toggles and sort, the curves' options, the queue's slots and the requests that would
start or stop a process. No process starts: the running run is one that another host
trains, and the requests are only recorded.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key
from textual.message import Message
from textual.widgets import DataTable, Input, OptionList, Select, TabbedContent, TextArea

from grok_tui.rundirs import launch, runqueue, store
from grok_tui.tui import messages
from grok_tui.tui.app import GrokApp
from grok_tui.tui.screens.live import LiveScreen
from grok_tui.tui.screens.presets import PresetsScreen
from grok_tui.tui.widgets.preset_form import PresetForm
from tests.support.pilot import settle, until
from tests.support.tui import (
    TINY,
    TuiEnv,
    drive,
    finished_run,
    open_history,
    pick,
    running_elsewhere,
)

# Eighteen scripts, each played twice on its own app: minutes, so in the slow tier.
pytestmark = [pytest.mark.tui_env(presets={"tiny.toml": TINY}), pytest.mark.slow]


# what the app asks for when a key starts, stops or resumes something (never started here)
REQUESTS = tuple(
    cls
    for cls in vars(messages).values()
    if isinstance(cls, type) and issubclass(cls, Message) and cls.__name__.endswith("Requested")
)
PASTE = "paste:"  # a script's "paste:text": the terminal's bracketed paste of the text
CLICK = "click:"  # a script's "click:#id": the terminal's mouse press and release on it
SCREEN_STATE = ("marked", "grouped", "sort_key", "sort_reverse", "overview", "grid", "pinned")


# -- the worlds ------------------------------------------------------------------------------


def running_run(runs: Path, name: str = "busy") -> store.RunDir:
    """A run that another host trains: it reads as running, and nothing here signals it."""
    return running_elsewhere(runs, name, 100)


def finished_runs(runs: Path) -> None:
    finished_run(runs, "alpha", **{"optim.lr": 0.01, "data.operation": "add"})
    finished_run(runs, "beta", grok=None, status="failed", **{"train.seed": 4})
    finished_run(runs, "gamma", **{"optim.weight_decay": 0.1, "train.seed": 40})


def with_running_run(runs: Path) -> None:
    finished_runs(runs)
    running_run(runs)


# -- where each script starts ----------------------------------------------------------------

Start = Callable[[Any, GrokApp], Awaitable[None]]


async def at_the_list(pilot: Any, app: GrokApp) -> None:
    """As the app opens: the preset list has the focus, the form shows the preset."""
    await until(pilot, lambda: isinstance(app.screen, PresetsScreen) and app.screen.entries)
    form = app.screen.query_one(PresetForm)
    await until(pilot, lambda: form.preset is not None and app.focused is not None)
    await settle(pilot)


async def at_the_name(pilot: Any, app: GrokApp) -> None:
    """The preset picked with Enter: the cursor in its name field."""
    await at_the_list(pilot, app)
    await pick(pilot, app, "tiny-mlp")
    await until(pilot, lambda: app.focused is not None and app.focused.id == "f-name")


async def at_the_description(pilot: Any, app: GrokApp) -> None:
    await at_the_name(pilot, app)
    await pilot.press("tab")
    await until(pilot, lambda: app.focused is not None and app.focused.id == "f-description")


async def on_the_running_run(pilot: Any, app: GrokApp) -> None:
    """History, its cursor on the running run (the app opened Live for it first)."""
    await until(pilot, lambda: isinstance(app.screen, LiveScreen))
    history = await open_history(pilot, app)
    table = history.query_one(DataTable)
    busy = next(r.run_id for r in history.all_rows if r.run_id.endswith("busy"))
    await until(pilot, lambda: busy in table.rows)
    table.move_cursor(row=table.get_row_index(busy))
    await until(pilot, lambda: table.cursor_row == table.get_row_index(busy))
    await settle(pilot)


async def in_history(pilot: Any, app: GrokApp) -> None:
    await at_the_list(pilot, app)
    await open_history(pilot, app)
    await settle(pilot)


async def in_live(pilot: Any, app: GrokApp) -> None:
    await until(pilot, lambda: isinstance(app.screen, LiveScreen) and app.live_followers())
    await settle(pilot)


@dataclasses.dataclass(frozen=True)
class Script:
    """Keys typed from a start; ``expect``: what slow typing must give (the meaning)."""

    name: str
    world: Callable[[Path], None]
    start: Start
    keys: tuple[str, ...]
    expect: Callable[[dict[str, Any]], bool]

    def __str__(self) -> str:
        return self.name


def value(state: dict[str, Any], widget_id: str) -> Any:
    return state["values"].get(widget_id)


SCRIPTS = [
    # -- Presets: Tab and Shift+Tab across the form, a Select, the TOML tab
    Script(
        "list: Tab Tab Tab End C-u myname",
        finished_runs,
        at_the_list,
        ("tab", "tab", "tab", "end", "ctrl+u", *"myname"),
        lambda s: value(s, s["focused"]) == "myname" and value(s, "f-name") != "",
    ),
    Script(
        "name: Tab End C-u hello",
        finished_runs,
        at_the_name,
        ("tab", "end", "ctrl+u", *"hello"),
        lambda s: value(s, "f-name") == "tiny-mlp" and value(s, "f-description") == "hello",
    ),
    Script(
        "description: 11 Tabs End C-u 2e-3",
        finished_runs,
        at_the_description,
        ("tab",) * 11 + ("end", "ctrl+u", *"2e-3"),
        lambda s: s["focused"] == "f-optim-lr" and value(s, "f-optim-lr") == "2e-3",
    ),
    Script(
        "description: Shift+Tab End C-u x, Tab Tab Tab 9",
        finished_runs,
        at_the_description,
        ("shift+tab", "end", "ctrl+u", "x", "tab", "tab", "tab", "backspace", "9"),
        lambda s: value(s, "f-name") == "x" and s["focused"] == "f-data-p",
    ),
    Script(
        "name: a Select opened, moved, chosen, then Tab and type",
        finished_runs,
        at_the_name,
        ("tab", "tab", "enter", "down", "enter", "tab", "end", "ctrl+u", *"31"),
        lambda s: value(s, "f-data-p") == "31" and value(s, "f-data-operation") != "add",
    ),
    Script(
        "list: to the TOML tab and type",
        finished_runs,
        at_the_list,
        ("tab", "right", "tab", "enter", "up", *"# q? 1", "down", "end", "backspace"),
        lambda s: s["tab"] == "tab-toml" and value(s, "preset-toml").startswith("# q? 1\n"),
    ),
    Script(
        "name: Ctrl+N, the Seeds dialog's fields",
        finished_runs,
        at_the_name,
        ("ctrl+n", "4", "tab", "2", "shift+tab", "backspace", "7"),
        lambda s: s["screen"] == "SeedsModal" and value(s, "seeds") == "7",
    ),
    # -- History: the filter's / and the keys after it; a dialog; Compare
    Script(
        "history: /op=add",
        with_running_run,
        on_the_running_run,
        ("/", *"op=add"),
        lambda s: s["screen"] == "HistoryScreen" and value(s, "history-filter") == "op=add",
    ),
    Script(
        "history: /seed on a running run",
        with_running_run,
        on_the_running_run,
        ("/", *"seed"),
        lambda s: value(s, "history-filter") == "seed" and not s["requests"],
    ),
    Script(
        "history: /grok<2000",
        with_running_run,
        on_the_running_run,
        ("/", *"grok<2000"),
        lambda s: value(s, "history-filter") == "grok<2000" and not s["requests"],
    ),
    Script(
        "history: / then a paste",
        finished_runs,
        in_history,
        ("/", f"{PASTE}op=add", "down"),
        lambda s: value(s, "history-filter") == "op=add" and s["focused"] == "history-filter",
    ),
    Script(
        "history: /alpha Esc, then o (Sort) Down Enter",
        finished_runs,
        in_history,
        ("/", *"alpha", "escape", "backspace", "o", "down", "enter"),
        lambda s: s["screen"] == "HistoryScreen" and value(s, "history-filter") == "alpha",
    ),
    Script(
        "history: mark two, c (Compare), f Down, Esc /alpha",
        finished_runs,
        in_history,
        ("space", "down", "space", "c", "f", "down", "escape", "/", *"alpha"),
        lambda s: value(s, "history-filter") == "alpha" and s["screen_state"]["marked"] != "[]",
    ),
    # -- Live, Queue, and F-keys then typing
    Script(
        "live: m t l > v, F4 /busy",
        with_running_run,
        in_live,
        ("m", "t", "l", ">", "v", "f4", "/", *"busy"),
        lambda s: value(s, "history-filter") == "busy" and s["smoothing"] and not s["requests"],
    ),
    # -- a click among the keys: after the keys before it, before the keys after it
    Script(
        "name: Tab End C-u hi, a click on the name, End -y",
        finished_runs,
        at_the_name,
        ("tab", "end", "ctrl+u", *"hi", f"{CLICK}#f-name", "end", *"-y"),
        lambda s: (
            value(s, "f-description") == "hi"
            and value(s, "f-name") == "tiny-mlp-y"
            and s["focused"] == "f-name"
        ),
    ),
    Script(
        "history: /al Esc, a click on the filter, End pha",
        finished_runs,
        in_history,
        ("/", *"al", "escape", f"{CLICK}#history-filter", "end", *"pha"),
        lambda s: (
            s["screen"] == "HistoryScreen"
            and value(s, "history-filter") == "alpha"
            and s["focused"] == "history-filter"
        ),
    ),
    Script(
        "F6 (Queue) + + -, F2, then type into the form",
        finished_runs,
        at_the_name,
        ("f6", "plus", "plus", "minus", "f2", "end", *"-x"),
        lambda s: s["screen"] == "PresetsScreen" and value(s, "f-name") == "tiny-mlp-x",
    ),
    Script(
        "F4 /beta, F3 m, F2 type",
        finished_runs,
        at_the_name,
        ("f4", "/", *"beta", "f3", "m", "f2", "end", *"-y"),
        lambda s: value(s, "f-name") == "tiny-mlp-y" and s["smoothing"],
    ),
]


# -- what is compared ------------------------------------------------------------------------


def key_event(key: str) -> events.Key | events.Paste:
    """A key as the terminal driver makes it (Textual's Pilot does the same)."""
    if key.startswith(PASTE):
        return events.Paste(key.removeprefix(PASTE))
    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    try:
        character = unicodedata.lookup(_get_unicode_name_from_key(REPLACED_KEYS.get(key, key)))
    except KeyError:
        character = key if len(key) == 1 else None
    return events.Key(key, character)


def click_events(app: GrokApp, selector: str) -> list[events.MouseEvent]:
    """A left click on the widget, as the terminal driver sends it (a press and a
    release, not yet forwarded: the App makes the Click), at the widget's place now."""
    region = app.screen.query_one(selector).region
    x, y = region.x + min(2, region.width - 1), region.y + region.height // 2
    where = {"x": x, "y": y, "delta_x": 0, "delta_y": 0, "button": 1}
    flags = {"shift": False, "meta": False, "ctrl": False, "screen_x": x, "screen_y": y}
    return [kind(None, **where, **flags) for kind in (events.MouseDown, events.MouseUp)]


def send(app: GrokApp, key: str) -> None:
    """A script's key, paste or click, posted to the app as the terminal driver does."""
    if key.startswith(CLICK):
        for event in click_events(app, key.removeprefix(CLICK)):
            app.post_message(event)
    else:
        app.post_message(key_event(key))


RUN_ID = re.compile(r"\b\d{8}-\d{6}-\d{3}-")  # the time in a run id: each world has its own


def named(value: Any) -> Any:
    """The value with the runs named by their preset names (the worlds' run ids differ)."""
    if isinstance(value, str):
        return RUN_ID.sub("", value)
    if isinstance(value, dict):
        return {named(k): named(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(named(v) for v in value)
    return value


def as_text(value: Any) -> str:
    """A screen's attribute, comparable across two apps (a set in order)."""
    return repr(sorted(value) if isinstance(value, (set, frozenset)) else value)


def observe(app: GrokApp, runs: Path, requests: list[Message]) -> dict[str, Any]:
    """The end state that a key script can change."""
    screen = app.screen
    values: dict[str, Any] = {}
    for widget in screen.query("*"):
        if widget.id is None:
            continue
        if isinstance(widget, Input):
            values[widget.id] = widget.value
        elif isinstance(widget, Select):
            values[widget.id] = str(widget.value)
        elif isinstance(widget, TextArea):
            values[widget.id] = widget.text.rstrip("\n")
        elif isinstance(widget, OptionList):
            values[widget.id] = widget.highlighted
        elif isinstance(widget, DataTable):
            values[widget.id] = ([str(k.value) for k in widget.rows], widget.cursor_row)
    tabs = screen.query(TabbedContent)
    focused = app.focused
    return named(
        {
            "mode": app.current_mode,
            "screen": type(screen).__name__,
            "focused": None if focused is None else focused.id or type(focused).__name__,
            "values": values,
            "tab": tabs.first().active if tabs else None,
            "screen_state": {
                a: as_text(getattr(screen, a)) for a in SCREEN_STATE if hasattr(screen, a)
            },
            "axis": str(app.axis_options),
            "smoothing": app.axis_options.smoothing != 0,
            "slots": runqueue.read_queue(runs).slots if runs.exists() else None,
            "requests": [type(m).__name__ for m in requests],
        }
    )


def play(env: TuiEnv, script: Script, burst: bool) -> dict[str, Any]:
    """The script's end state, its keys typed slowly or in one burst, on a world of its own."""
    runs = env.tmp / f"runs-{'burst' if burst else 'slow'}"
    script.world(runs)
    world = dataclasses.replace(env, runs=runs)
    app = world.app()
    requests: list[Message] = []
    state: dict[str, Any] = {}

    def hook(message: Message) -> None:
        if isinstance(message, REQUESTS) and not any(m is message for m in requests):
            requests.append(message)

    async def run(pilot: Any) -> None:
        await script.start(pilot, app)
        if burst:
            for key in script.keys:  # all queued before the app handles the first
                send(app, key)
        else:
            for key in script.keys:
                if key.startswith((PASTE, CLICK)):  # Pilot's click skips the App's handling
                    send(app, key)
                else:
                    await pilot.press(key)
                await settle(pilot)
        # the end: nothing changes any more over a few rounds of the app's messages
        last: dict[str, Any] = {}
        for _ in range(20):
            await settle(pilot, cycles=3)
            state.update(observe(app, runs, requests))
            if state == last:
                break
            last = dict(state)

    drive(app, run, size=(80, 24), hook=hook)
    return state


@pytest.fixture(autouse=True)
def nothing_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A request to start, stop or resume a run is recorded (by the hook) and goes no
    further: no process starts or is signalled."""
    monkeypatch.setattr(launch, "stop_run", lambda run: True)
    for request in REQUESTS:
        if hasattr(GrokApp, request.handler_name):
            monkeypatch.setattr(GrokApp, request.handler_name, lambda self, message: None)


@pytest.mark.parametrize("script", SCRIPTS, ids=str)
def test_a_burst_of_keys_ends_as_the_same_keys_typed_slowly(env: TuiEnv, script: Script) -> None:
    slowly = play(env, script, burst=False)
    assert script.expect(slowly), str(slowly)  # the script means what it says
    at_once = play(env, script, burst=True)
    assert at_once == slowly

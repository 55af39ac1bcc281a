"""What the TUI tests share: the test's world (TuiEnv, made by the ``env`` fixture of
tests/tui/conftest.py), fake trainers for launched runs, finished runs, driving the app,
Presets and History, an app of one widget."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.widget import Widget
from textual.widgets import OptionList

from grok_tui.config import Preset, apply_overrides, validate_preset
from grok_tui.rundirs import launch, runqueue, store
from grok_tui.tui.app import GrokApp
from grok_tui.tui.screens.history import HistoryScreen
from grok_tui.tui.screens.presets import PresetsScreen
from grok_tui.tui.views.pacing import Pacing
from grok_tui.tui.widgets.curve_pane import CurvePane
from grok_tui.tui.widgets.preset_form import PresetForm
from tests.support.fake_trainer import curve_record
from tests.support.pilot import until

TINY = """\
name = "tiny-mlp"
[data]
p = 7
train_fraction = 0.5
[model]
type = "mlp"
embed_dim = 16
widths = [32]
[optim]
lr = 3e-3
[train]
steps = 200
eval_every = 10
batch_size = "full"
device = "cpu"
"""

# An $EDITOR for tests: applies the next list of (old, new) replacements of a queue file
# to the file it is given, and logs the text it was given.
EDITOR = """\
import json, sys
from pathlib import Path
queue = Path(sys.argv[1])
target = Path(sys.argv[2])
edits = json.loads(queue.read_text())
text = target.read_text()
with open(str(queue) + ".seen", "a") as seen:
    seen.write(json.dumps(text) + "\\n")
for old, new in edits.pop(0):
    assert old in text, (old, text)
    text = text.replace(old, new)
target.write_text(text)
queue.write_text(json.dumps(edits))
"""


# -- The test's world ------------------------------------------------------------------------

# Runs started in a test train with tests/support/fake_trainer.py (no torch, fast).
FAKE_TRAINER = [sys.executable, "-m", "tests.support.fake_trainer"]

# The tests' clocks. Polls at every tick, as for a run awaiting its first record (the
# settled once-a-second rate would only slow them down; tests/tui/test_live_overview.py
# checks it). New records are drawn every data_redraw_s, never later: a pytest process
# drawing screens is always above the TUI's CPU budget (RedrawPace itself is tested with
# its clocks in tests/tui/test_live_overview.py).
TEST_PACING = Pacing(settled_poll_s=0.0, max_redraw_s=Pacing().data_redraw_s)


@dataclass
class TuiEnv:
    """One TUI test's folders (the current directory is ``tmp``: "save as" and exports
    default to it) and what its app did that a test checks."""

    tmp: Path
    presets: Path  # the app's only presets folder
    runs: Path  # made by the first run
    runners: list[Path] = field(default_factory=list)  # queue runners the app "started"
    edits: Path | None = None  # the test $EDITOR's queue of edits (option editor)

    def app(self, preset_dirs: list[Path] | None = None, **kwargs: Any) -> GrokApp:
        """The app on this world's folders: polls every 0.25 s at the tests' pacing, trains
        with the fake trainer, and starts no queue runner (``start_queue``); each as the
        test says otherwise."""
        kwargs.setdefault("poll_interval", 0.25)
        kwargs.setdefault("pacing", TEST_PACING)
        kwargs.setdefault("run_command", FAKE_TRAINER)
        kwargs.setdefault("start_queue", self.start_queue)
        dirs = [self.presets] if preset_dirs is None else preset_dirs
        return GrokApp(self.runs, dirs, **kwargs)

    def start_queue(self, runs_dir: Path) -> None:
        """The app's queue runner start, recorded in ``runners`` instead: once entries wait,
        and once per folder (a runner the app started counts as serving while it lives)."""
        if runs_dir not in self.runners and runqueue.wants_runner(runs_dir):
            self.runners.append(runs_dir)


def make_env(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    presets: dict[str, str] | None = None,
    delay: str | None = None,
    editor: bool = False,
    toasts_stay: bool = False,
) -> TuiEnv:
    """The ``env`` fixture's world; its options come from ``@pytest.mark.tui_env(...)``.

    presets: files (name -> text) in the presets folder. delay: seconds between the fake
    trainer's records (GROK_FAKE_DELAY; its default is 0.05). editor: $EDITOR is a script
    that applies the edits queued with ``queue_edits``. toasts_stay: toasts stay up (a
    starved test process can look later than a toast's 5 s).
    """
    env = TuiEnv(tmp=tmp_path, presets=tmp_path / "presets", runs=tmp_path / "runs")
    env.presets.mkdir()
    for name, text in (presets or {}).items():
        (env.presets / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    if delay is not None:
        monkeypatch.setenv("GROK_FAKE_DELAY", delay)
    if editor:
        # The headless test driver cannot hand the terminal over; the editor needs none.
        monkeypatch.setattr(GrokApp, "suspend", lambda self: contextlib.nullcontext())
        script, env.edits = tmp_path / "editor.py", tmp_path / "edits.json"
        script.write_text(EDITOR)
        env.edits.write_text("[]")
        monkeypatch.delenv("VISUAL", raising=False)
        monkeypatch.setenv("EDITOR", f"{sys.executable} {script} {env.edits}")
    if toasts_stay:
        monkeypatch.setattr(GrokApp, "NOTIFICATION_TIMEOUT", 600)
    return env


def queue_edits(env: TuiEnv, *edits: list[tuple[str, str]]) -> None:
    """What the test $EDITOR does at its next calls: one list of (old, new) per call."""
    assert env.edits is not None, "the editor option of tui_env"
    env.edits.write_text(json.dumps([list(e) for e in edits]))


def texts_seen(env: TuiEnv) -> list[str]:
    """The texts the test $EDITOR was given, in order."""
    seen = Path(f"{env.edits}.seen")
    return [json.loads(line) for line in seen.read_text().splitlines()] if seen.exists() else []


# -- Runs ------------------------------------------------------------------------------------


def tiny_preset(name: str = "tiny", **overrides: Any) -> Preset:
    raw = apply_overrides(Preset().to_dict(), [("name", name), ("data.p", 7), *overrides.items()])
    return validate_preset(raw)


def finished_run(
    runs: Path,
    name: str,
    *,
    status: str = "completed",
    grok: int | None = 150,
    steps: int = 200,
    sweep: dict | None = None,
    **overrides: Any,
) -> store.RunDir:
    """A run directory as a finished run leaves it."""
    run = store.create_run(tiny_preset(name, **overrides), runs)
    writer = store.MetricsWriter(run.path)
    for step in range(10, steps + 1, 10):
        writer.append(curve_record(step, steps, step / 100))
    writer.close()
    extra = {"sweep": sweep} if sweep else {}
    store.update_summary(
        run.path,
        status=status,
        step=steps,
        fit_step=40,
        grok_step=grok,
        best_test_acc=0.99,
        final={"test_acc": 0.98, "train_acc": 1.0},
        elapsed_s=2.0,
        started_at=store.now_iso(),
        ended_at=store.now_iso(),
        **extra,
    )
    return run


def history_env(env: TuiEnv) -> list[store.RunDir]:
    """Three finished runs: alpha (lr 0.01), beta (failed, no grok), gamma (wd 0.1)."""
    return [
        finished_run(env.runs, "alpha", **{"optim.lr": 0.01}),
        finished_run(env.runs, "beta", grok=None, status="failed"),
        finished_run(env.runs, "gamma", **{"optim.weight_decay": 0.1}),
    ]


def points(pane: CurvePane) -> int:
    return sum(len(s.points) for s in pane.series)


# -- Driving the app -------------------------------------------------------------------------


def stop_all(app: GrokApp) -> None:
    """Leave no fake trainer behind a test."""
    for follower in list(app.followers.values()):
        if launch.stop_run(follower.run):
            launch.wait_until_gone(follower.summary.get("pid", 0) or 0, timeout=5)


def drive(
    app: GrokApp,
    script: Callable[[Any], Any],
    size: tuple[int, int] = (120, 40),
    hook: Callable[[Any], Any] | None = None,
) -> None:
    """Run ``script(pilot)`` against the app at this size, then stop what it started."""

    async def main() -> None:
        async with app.run_test(size=size, message_hook=hook) as pilot:
            try:
                await script(pilot)
            finally:
                stop_all(app)

    asyncio.run(main())


def burst(app: GrokApp, keys: list[str]) -> None:
    """Keys as a terminal delivers a paste or typed-ahead keys: all queued at once."""
    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else None))


def option_of(screen: PresetsScreen, name: str) -> int:
    """The list position of a preset (the list has a header per folder)."""
    index = next(i for i, e in enumerate(screen.entries) if e.name == name)
    return screen.query_one("#preset-list", OptionList).get_option_index(str(index))


async def pick(pilot: Any, app: GrokApp, name: str) -> PresetsScreen:
    """Open this preset in the Presets form."""
    screen = app.screen
    assert isinstance(screen, PresetsScreen)
    await until(pilot, lambda: screen.entries)
    options = screen.query_one("#preset-list", OptionList)
    options.focus()
    options.highlighted = option_of(screen, name)
    await pilot.press("enter")  # into the form
    form = screen.query_one(PresetForm)
    await until(pilot, lambda: form.preset is not None and form.preset.name == name)
    return screen


async def open_history(pilot: Any, app: GrokApp) -> HistoryScreen:
    await pilot.press("f4")
    await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.all_rows)
    return app.screen  # type: ignore[return-value]


def one_widget_app(widget: Widget) -> App[None]:
    """An app that shows only this widget: a widget's own handlers, without the screens."""

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield widget

    return One()


# The owner of a run that another host trains: it reads as running, and since nothing
# here can prove it is that process, nothing here ever signals it.
ELSEWHERE = {"host": "elsewhere", "pid": 4242, "started": "b:1", "cmdline": ["grok-tui"]}


def grow(run: store.RunDir, first: int, last: int, *, best: float) -> None:
    """Records ``first`` (exclusive) to ``last``, step 10 each, and the summary that a
    trainer on another host writes with them."""
    writer = store.MetricsWriter(run.path)
    for step in range(first + 10, last + 1, 10):
        writer.append(curve_record(step, 1000, step / 100))
    writer.close()
    store.update_summary(
        run.path,
        status="running",
        owner=ELSEWHERE,
        pid=ELSEWHERE["pid"],
        host=ELSEWHERE["host"],
        step=last,
        best_test_acc=best,
        final={"test_acc": best, "train_acc": 1.0},
        started_at=store.now_iso(),
    )


def running_elsewhere(runs: Path, name: str = "busy", steps: int = 100) -> store.RunDir:
    """A run that another host trains: recorded every 10 steps up to ``steps``, best 0.25."""
    run = store.create_run(tiny_preset(name, **{"train.steps": 1000}), runs)
    grow(run, 0, steps, best=0.25)
    return run


def seeds_sweep(env: TuiEnv) -> Path:
    """A finished sweep of lr (2 values) x train.seed (3): of lr 1e-3, two seeds grokked;
    of 3e-3, all three; runs of different lengths. The sweep's folder."""
    import grok_tui.sweep as sweep_mod

    sweep_file = env.presets / "seeds.toml"
    sweep_file.write_text(TINY + '\n[sweep]\n"optim.lr" = [1e-3, 3e-3]\n"train.seed" = [0, 1, 2]\n')
    sweep = sweep_mod.load_sweep(sweep_file)
    made = sweep_mod.create_sweep_dir(sweep, sweep.points(), env.runs)
    for n, point in enumerate(made.points()):
        assert point.run is not None
        writer = store.MetricsWriter(point.run.path)
        for step in range(10, 101 + 10 * (n % 3), 10):  # of different lengths
            writer.append(curve_record(step, 100, step / 100))
        writer.close()
        grokked = point.coords["optim.lr"] == 3e-3 or point.coords["train.seed"] != 2
        store.update_summary(
            point.run.path, status="completed", step=100, grok_step=80 if grokked else None
        )
    return made.path

"""Snapshot tests: every screen at 80x24 and 120x40, with and without live runs.

pytest-textual-snapshot's ``snap_compare`` runs the app headless, lets ``run_before``
bring it to the screen under test, and compares an SVG of the terminal with the one
kept in ``__snapshots__/test_snapshots/`` (``pytest --snapshot-update`` rewrites them
after a change that is meant; look at the SVGs before committing them).

A snapshot is only worth keeping when it renders the same on every run and machine, so
everything on screen is fixed here:

- run directories are written with fixed ids, timestamps, records (the fake trainer's
  grokking-shaped ``curve_record`` at fixed steps and elapsed times) and summaries; every
  time shown is a recorded ``elapsed_s`` or a recorded ``started_at``, never "now";
- the runs directory and the presets folder are relative paths under the test's own
  temporary directory (the current directory), so no temporary path reaches the screen,
  and only the fixture's presets are listed (never the shipped ones, which change);
- a live run is a run directory whose summary names this very test process (its pid,
  start time and command line: ``ownership.my_identity``) and whose lock this process
  holds, as a trainer does; nothing trains, so its records stay as written;
- nothing is started: the queue runner the app would start for queued runs is replaced
  by a no-op, and no test presses a key that launches a process;
- each ``run_before`` waits (condition, not time) until the screen has drawn what it
  reads, then for three more polls with no redraw due (Live's redraw throttle is set to
  zero), so that neither the poll worker nor a timer changes the screen afterwards;
- Textual's snapshot is independent of the terminal pytest runs in (truecolor, the given
  size); NO_COLOR and TEXTUAL_* settings of the environment are removed.
"""

from __future__ import annotations

import asyncio
import difflib
import html
import json
import math
import os
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, OptionList, Static

from grok_tui.analysis.paths import SCHEMA, analysis_path
from grok_tui.config import Preset, apply_overrides, validate_preset
from grok_tui.config import loading as config_loading
from grok_tui.rundirs import ownership, procstat, runqueue, store
from grok_tui.tui import catalog
from grok_tui.tui.app import GrokApp
from grok_tui.tui.screens.analysis import AnalysisScreen
from grok_tui.tui.screens.compare import CompareScreen
from grok_tui.tui.screens.help import HelpScreen
from grok_tui.tui.screens.history import HistoryScreen
from grok_tui.tui.screens.live import LiveScreen
from grok_tui.tui.screens.modals import ChoiceModal, ConfirmModal
from grok_tui.tui.screens.presets import PresetsScreen
from grok_tui.tui.screens.queue import QueueScreen
from grok_tui.tui.screens.run import RunScreen
from grok_tui.tui.screens.sweep import SweepScreen
from grok_tui.tui.views.pacing import Pacing
from grok_tui.tui.widgets.curve_pane import CurvePane
from grok_tui.tui.widgets.preset_form import PresetForm
from tests.support.fake_trainer import curve_record
from tests.support.pilot import settle, until
from tests.support.tui import FAKE_TRAINER, TuiEnv

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
STEPS = 2000
EVERY = 100
T0 = datetime(2024, 3, 1, 9, 0, 0)  # the fixture's clock: run ids and timestamps from here

TINY = """\
name = "tiny-mlp"
description = "a two-layer MLP on (x + y) mod 7"
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
WIDE = """\
name = "wide-mlp"
extends = "tiny.toml"
description = "the tiny MLP, wider"
[model]
type = "mlp"
widths = [128, 128]
"""
TYPO = 'name = "typo"\n[data]\np = 98\n'

pytestmark = [
    pytest.mark.slow,  # an app per screen and size: ~3 CPU-s each
    pytest.mark.tui_env(presets={"tiny.toml": TINY, "wide.toml": WIDE, "typo.toml": TYPO}),
]


# -- the fixture: presets, runs, a sweep, a queue, an analysis ------------------------------


class Clock:
    """Hands out fixed, increasing moments: run ids and timestamps never depend on now."""

    def __init__(self) -> None:
        self.n = 0

    def next(self) -> datetime:
        self.n += 1
        return T0 + timedelta(minutes=7 * self.n)

    def iso(self) -> str:
        return self.next().isoformat() + "+00:00"


def preset(name: str, **overrides: Any) -> Preset:
    fields = {"data.p": 7, "model.type": "mlp", "train.steps": STEPS, "train.device": "cpu"}
    fields |= {"train.eval_every": EVERY, **overrides}
    return validate_preset(apply_overrides(Preset().to_dict(), [("name", name), *fields.items()]))


def write_run(
    run: store.RunDir,
    clock: Clock,
    *,
    upto: int = STEPS,
    status: str = store.COMPLETED,
    scale: float = 1.0,
    **summary: Any,
) -> store.RunDir:
    """Records every EVERY steps up to ``upto`` (elapsed 0.01 s a step) and a summary."""
    writer = store.MetricsWriter(run.path)
    records = [
        curve_record(step, int(STEPS * scale), step * 0.01) for step in range(0, upto + 1, EVERY)
    ]
    for record in records:
        writer.append(record)
    writer.close()
    last = records[-1]
    fit = next((r["step"] for r in records if r["train_acc"] >= 0.99), None)
    grok = next((r["step"] for r in records if r["test_acc"] >= 0.99), None)
    best = max(records, key=lambda r: r["test_acc"])
    started = clock.iso()
    store.update_summary(
        run.path,
        status=status,
        step=upto,
        steps=STEPS,
        fit_step=fit,
        grok_step=grok,
        grok_gap=None if grok is None or fit is None else grok - fit,
        best_test_acc=best["test_acc"],
        best_test_acc_step=best["step"],
        final={k: last[k] for k in ("train_acc", "test_acc", "train_loss", "test_loss")},
        elapsed_s=last["elapsed_s"],
        device="cpu",
        created_at=started,
        started_at=started,
        ended_at=None if status in store.LIVE_STATUSES else clock.iso(),
        **summary,
    )
    return run


def make_live(run: store.RunDir, clock: Clock, upto: int) -> ownership.DirLock:
    """A run that this process provably trains: its identity in the summary, its lock held."""
    lock = ownership.DirLock(run.path).acquire()
    me = ownership.my_identity()
    write_run(
        run,
        clock,
        upto=upto,
        status=store.RUNNING,
        pid=me.pid,
        host=me.host,
        owner=me.as_dict(),
        steps_per_s=50.0,
    )
    return lock


def fake_analysis(p: int = 7, step: int = STEPS) -> dict[str, Any]:
    """A small analysis.json, shaped as grok_tui.analysis.report writes it."""
    n_freqs = (p - 1) // 2
    steps = [0, 1000, step]
    energy = [0.7 if k == 2 else 0.3 / (n_freqs - 1) for k in range(1, n_freqs + 1)]
    circle = [
        [round(math.cos(2 * math.pi * 2 * n / p), 6), round(math.sin(2 * math.pi * 2 * n / p), 6)]
        for n in range(p)
    ]
    return {
        "schema": SCHEMA,
        "run_id": "fixed",
        "step": step,
        "steps": steps,
        "events": {"fit_step": 400, "grok_step": 1300},
        "notes": ["a fixture, not a computed analysis"],
        "norms": {
            "records": {
                "step": [0, 500, 1000, 1500, 2000],
                "param_norm": [30.0, 28.0, 25.0, 21.0, 20.0],
                "grad_norm": [None, 1.0, 0.3, 0.05, 0.01],
            },
            "checkpoints": {
                "step": steps,
                "param_norm": [30.0, 25.0, 20.0],
                "layers": {"embedding.weight": [9.0, 7.5, 6.0], "net.0.weight": [20.0, 17.0, 14.0]},
            },
        },
        "embedding": {
            "p": p,
            "link_step": 4,
            "link_step_reason": "inverse of the dominant frequency 2 mod 7",
            "pca": {"coords": circle, "explained_variance_ratio": [0.5, 0.45]},
            "tsne": None,
            "heatmap": {
                "columns": 3,
                "initial_step": 0,
                "initial": [[((n * c) % 3 - 1.0) / 2 for c in range(3)] for n in range(p)],
                "step": step,
                "final": [[round(math.cos(n + c), 6) for c in range(3)] for n in range(p)],
            },
        },
        "fourier": {
            "frequencies": list(range(1, n_freqs + 1)),
            "energy_fraction": energy,
            "key_frequencies": [2],
            "dominant_frequency": 2,
            "top_k": 1,
            "concentration": 0.7,
            "concentration_uniform": 0.33,
            "over_time": {
                "step": steps,
                "energy_fraction": [energy, energy, energy],
                "concentration": [0.33, 0.5, 0.7],
                "key_fraction": [0.33, 0.5, 0.7],
            },
        },
        "nanda": {
            "key_frequencies": [2],
            "step": steps,
            "train_loss": [1.9, 0.01, 0.001],
            "test_loss": [1.9, 3.0, 0.02],
            "restricted_loss": [1.9, 1.0, 0.05],
            "excluded_loss": [1.9, 0.5, 2.5],
        },
    }


class Fixture:
    """The runs directory of one test: ids of what it holds, locks of its live runs."""

    def __init__(self) -> None:
        self.runs = Path("runs")
        self.locks: list[ownership.DirLock] = []
        self.ids: dict[str, str] = {}
        self.live: list[str] = []


@pytest.fixture
def world(env: TuiEnv, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fixture]:
    """An empty runs directory, the fixture's presets only, a fixed clock, nothing spawned."""
    for name in ("NO_COLOR", "TEXTUAL_COLOR_SYSTEM", "TEXTUAL_ANIMATIONS", "TEXTUAL_THEME"):
        monkeypatch.delenv(name, raising=False)
    presets = Path("presets")  # env.presets, relative
    # preset errors name the file by its real path: keep it relative (no temporary path)
    monkeypatch.setattr(config_loading, "resolve_path", Path)
    monkeypatch.setattr(
        catalog, "preset_sources", lambda *a, **k: [catalog.PresetSource(presets, "presets")]
    )
    clock = Clock()
    monkeypatch.setattr(
        store,
        "new_run_id",
        lambda name, runs_dir, when=None: f"{clock.next():%Y%m%d-%H%M%S}-000-{store.slug(name)}",
    )
    monkeypatch.setattr(store, "now_iso", clock.iso)
    # a live run's CPU and RSS are this test process's, which move: fixed figures instead
    figures = procstat.ProcFigures(12.0, 300 * 1024 * 1024)
    monkeypatch.setattr(procstat.ProcSampler, "sample", lambda self, pid: figures)
    fixture = Fixture()
    fixture.clock = clock  # type: ignore[attr-defined]
    yield fixture
    for lock in fixture.locks:
        lock.release()


@pytest.fixture
def full(world: Fixture) -> Fixture:
    """Finished runs, a 2x2 sweep, two live runs, two queued runs and an analysis."""
    from grok_tui.sweep import create_sweep_dir, load_sweep

    clock: Clock = world.clock  # type: ignore[attr-defined]
    runs = world.runs
    base = write_run(store.create_run(preset("baseline"), runs), clock)
    base.set_note("the reference run")
    (analysis_path(base.path).parent).mkdir()
    analysis_path(base.path).write_text(json.dumps(fake_analysis()))
    slow = write_run(
        store.create_run(preset("no-wd", **{"optim.weight_decay": 0.0}), runs),
        clock,
        upto=1500,
        status=store.STOPPED,
        scale=3.0,
    )
    bad = write_run(
        store.create_run(preset("lr-too-high", **{"optim.lr": 1.0}), runs),
        clock,
        upto=300,
        status="diverged",
        scale=50.0,
        error="non-finite loss at step 310",
    )
    sweep_file = Path("presets") / "sweeps" / "wd-lr.toml"
    sweep_file.parent.mkdir()
    sweep_file.write_text(
        TINY.replace("steps = 200", f"steps = {STEPS}").replace(
            "eval_every = 10", "eval_every = 100"
        )
        + '\n[sweep]\n"optim.lr" = [1e-3, 3e-3]\n"optim.weight_decay" = [0.1, 1.0]\n'
    )
    sweep = load_sweep(sweep_file)
    made = create_sweep_dir(sweep, sweep.points(), runs)
    for n, point in enumerate(made.points()):
        assert point.run is not None
        write_run(point.run, clock, scale=0.6 + 0.3 * n)
    world.ids["sweep"] = made.sweep_id
    live_a = store.create_run(preset("live-a"), runs)
    live_b = store.create_run(preset("live-b", **{"optim.lr": 3e-3}), runs)
    world.locks += [make_live(live_a, clock, 800), make_live(live_b, clock, 1400)]
    for name in ("queued-1", "queued-2"):
        runqueue.enqueue(runs, preset(name))
    world.ids |= {"baseline": base.run_id, "no-wd": slow.run_id, "diverged": bad.run_id}
    world.live = [live_a.run_id, live_b.run_id]
    return world


# Live draws new records at once, so that no redraw is still due when the screenshot is taken
SNAPSHOT_PACING = Pacing(poll_s=0.1, settled_poll_s=0.0, data_redraw_s=0.0, max_redraw_s=0.0)


def make_app() -> GrokApp:
    """The app on the world's relative folders; queued runs never start a queue runner (a
    process, never wanted here)."""
    return GrokApp(
        Path("runs"),
        [Path("presets")],
        pacing=SNAPSHOT_PACING,
        watch_terminal=False,
        run_command=FAKE_TRAINER,
        start_queue=lambda runs_dir: None,
    )


# -- waiting for a settled screen -----------------------------------------------------------


async def settled(pilot: Any) -> None:
    """Wait until the screen stays the same over a few of the app's polls: no poll, timer
    or layout still on its way can change it after the snapshot's own screenshot."""
    app = pilot.app
    previous, same = None, 0
    for _ in range(40):
        polls = app._polls
        await until(pilot, lambda polls=polls: app._polls >= polls + 3)
        await until(pilot, lambda: getattr(app.screen, "_pending_draw", None) is None)
        await pilot.pause()
        shot = re.sub(r"terminal-\d+-", "terminal-", app.export_screenshot())
        same = same + 1 if shot == previous else 0
        if same == 2:  # three screenshots alike, six polls apart
            SETTLED_SHOTS.append(shot)
            return
        previous = shot
    raise AssertionError("the screen kept changing")


# The settled screenshot of the test now running: on a mismatch, its text is compared
# with the kept snapshot's, so that CI's log says what differed (its HTML report is lost).
SETTLED_SHOTS: list[str] = []


def svg_lines(svg: str) -> list[str]:
    """The text rows of a Textual SVG screenshot (styles dropped)."""
    rows: dict[float, list[tuple[float, str]]] = {}
    for m in re.finditer(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', svg):
        rows.setdefault(float(m.group(2)), []).append(
            (float(m.group(1)), html.unescape(m.group(3)))
        )
    return ["".join(t for _, t in sorted(row)).rstrip() for _, row in sorted(rows.items())]


def mismatch_report(kept: Path) -> str:
    """What the settled screen shows against the kept snapshot, row by row."""
    if not SETTLED_SHOTS or not kept.is_file():
        return "no settled screenshot or no kept snapshot to compare"
    want, got = svg_lines(kept.read_text()), svg_lines(SETTLED_SHOTS[-1])
    diff = list(difflib.unified_diff(want, got, "kept", "settled", lineterm="", n=1))
    return "\n".join(diff) if diff else "the text is the same: the difference is in styles"


def drawn(screen: Any) -> bool:
    """Every curve pane on screen (not those of the hidden view) has its curves."""
    shown = [pane for pane in screen.query(CurvePane) if pane.region.area]
    return bool(shown) and all(pane.series for pane in shown)


async def live_loaded(pilot: Any, world: Fixture) -> LiveScreen:
    """The app has found the live runs, switched to Live and drawn their records."""
    app = pilot.app

    def loaded() -> bool:
        followers = [app.followers.get(run_id) for run_id in world.live]
        return (
            isinstance(app.screen, LiveScreen)
            and all(f is not None and f.records and f.status == "running" for f in followers)
            and drawn(app.screen)
        )

    await until(pilot, loaded)
    await settled(pilot)
    return app.screen


async def history_loaded(pilot: Any, world: Fixture) -> HistoryScreen:
    app = pilot.app
    if world.live:
        await live_loaded(pilot, world)
    await pilot.press("f4")
    await until(pilot, lambda: isinstance(app.screen, HistoryScreen))
    screen = app.screen
    expected = sum(1 for _ in store.iter_run_dirs(world.runs))
    await until(pilot, lambda: len(screen.all_rows) == expected)
    await settled(pilot)
    return screen


def snap(
    snap_compare: Callable[..., bool], size: tuple[int, int], run_before: Callable[[Any], Any]
) -> None:
    SETTLED_SHOTS.clear()
    if not snap_compare(make_app(), terminal_size=size, run_before=run_before):
        test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0].split("::")[-1]
        kept = Path(__file__).parent / "__snapshots__" / "test_snapshots" / f"{test}.svg"
        pytest.fail(f"{test}: the screen differs from its snapshot\n{mismatch_report(kept)}")


# -- without runs ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_presets(snap_compare: Callable[..., bool], world: Fixture, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        app = pilot.app
        screen = app.screen
        assert isinstance(screen, PresetsScreen)
        await until(pilot, lambda: len(screen.entries) == 3 and screen.current is not None)
        await settled(pilot)

    snap(snap_compare, size, run_before)


@pytest.mark.parametrize("size", SIZES)
def test_presets_invalid(
    snap_compare: Callable[..., bool], world: Fixture, size: tuple[int, int]
) -> None:
    """The invalid preset picked: its error instead of the form."""

    async def run_before(pilot: Any) -> None:
        screen = pilot.app.screen
        await until(pilot, lambda: len(screen.entries) == 3 and screen.current is not None)
        options = screen.query_one("#preset-list", OptionList)
        index = next(i for i, e in enumerate(screen.entries) if e.name == "typo")
        options.highlighted = options.get_option_index(str(index))
        await until(pilot, lambda: screen.current is not None and screen.current.name == "typo")
        await settled(pilot)

    snap(snap_compare, size, run_before)


def test_a_late_check_of_the_form_never_hides_an_invalid_preset_s_error(world: Fixture) -> None:
    """Found by the snapshot above: a valid preset, then an invalid one in the same frame
    (keys in a burst); the form's check of the first came after and hid the error."""
    app = make_app()

    async def main() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.screen
            await until(pilot, lambda: len(screen.entries) == 3 and screen.current is not None)
            form = screen.query_one(PresetForm)
            await until(pilot, lambda: form.whole and form.preset is not None)  # built
            await settle(pilot)  # and checked
            options = screen.query_one("#preset-list", OptionList)
            for name in ("wide-mlp", "typo"):
                index = next(i for i, e in enumerate(screen.entries) if e.name == name)
                options.highlighted = options.get_option_index(str(index))
            await settled(pilot)
            errors = screen.query_one("#preset-errors", Static)
            assert errors.display and "p must be prime, got 98" in str(errors.render())

    asyncio.run(main())


@pytest.mark.parametrize("size", SIZES)
def test_live_without_runs(
    snap_compare: Callable[..., bool], world: Fixture, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Any) -> None:
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(pilot.app.screen, LiveScreen))
        await settled(pilot)

    snap(snap_compare, size, run_before)


@pytest.mark.parametrize("size", SIZES)
def test_history_without_runs(
    snap_compare: Callable[..., bool], world: Fixture, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Any) -> None:
        await history_loaded(pilot, world)

    snap(snap_compare, size, run_before)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: Callable[..., bool], world: Fixture, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))
        await settled(pilot)

    snap(snap_compare, size, run_before)


@pytest.mark.parametrize("size", SIZES)
def test_queue_empty(
    snap_compare: Callable[..., bool], world: Fixture, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Any) -> None:
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(pilot.app.screen, QueueScreen))
        screen = pilot.app.screen
        await until(pilot, lambda: "empty" in str(screen.query_one("#queue-head").render()))
        await settled(pilot)

    snap(snap_compare, size, run_before)


# -- with runs (two of them live) -----------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_live_runs(snap_compare: Callable[..., bool], full: Fixture, size: tuple[int, int]) -> None:
    """The app opens on Live when runs train; the first live run is shown."""

    async def run_before(pilot: Any) -> None:
        await live_loaded(pilot, full)

    snap(snap_compare, size, run_before)


@pytest.mark.parametrize("size", SIZES)
def test_live_overview(
    snap_compare: Callable[..., bool], full: Fixture, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Any) -> None:
        screen = await live_loaded(pilot, full)
        await pilot.press("v")
        await until(pilot, lambda: screen.has_class("overview") and drawn(screen))
        await settled(pilot)

    snap(snap_compare, size, run_before)


@pytest.mark.parametrize("size", SIZES)
def test_history_with_runs(
    snap_compare: Callable[..., bool], full: Fixture, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Any) -> None:
        await history_loaded(pilot, full)

    snap(snap_compare, size, run_before)


async def open_run(pilot: Any, world: Fixture, run_id: str) -> RunScreen:
    screen = await history_loaded(pilot, world)
    table = screen.query_one(DataTable)
    table.move_cursor(row=table.get_row_index(run_id))
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, RunScreen))
    run_screen = pilot.app.screen
    await until(pilot, lambda: run_screen.records)
    await settled(pilot)
    return run_screen


@pytest.mark.parametrize("size", SIZES)
def test_run_page(snap_compare: Callable[..., bool], full: Fixture, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        await open_run(pilot, full, full.ids["baseline"])

    snap(snap_compare, size, run_before)


@pytest.mark.parametrize("size", SIZES)
def test_compare(snap_compare: Callable[..., bool], full: Fixture, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        screen = await history_loaded(pilot, full)
        table = screen.query_one(DataTable)
        for name in ("baseline", "no-wd", "diverged"):
            table.move_cursor(row=table.get_row_index(full.ids[name]))
            await pilot.press("space")
        await until(pilot, lambda: len(screen.marked) == 3)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(pilot.app.screen, CompareScreen))
        compare = pilot.app.screen
        await until(pilot, lambda: len(compare.records) == 3)
        await settled(pilot)

    snap(snap_compare, size, run_before)


@pytest.mark.parametrize("size", SIZES)
def test_sweep(snap_compare: Callable[..., bool], full: Fixture, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        screen = await history_loaded(pilot, full)
        table = screen.query_one(DataTable)
        table.move_cursor(row=table.get_row_index(f"sweep:{full.ids['sweep']}"))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, SweepScreen))
        sweep = pilot.app.screen
        await until(pilot, lambda: sweep.sweep_dir is not None and sweep.rows)
        await settled(pilot)

    snap(snap_compare, size, run_before)


@pytest.mark.parametrize("size", SIZES)
def test_analysis(snap_compare: Callable[..., bool], full: Fixture, size: tuple[int, int]) -> None:
    """A kept analysis.json drawn (computing one needs torch and is never started here)."""

    async def run_before(pilot: Any) -> None:
        await open_run(pilot, full, full.ids["baseline"])
        await pilot.press("a")
        await until(pilot, lambda: isinstance(pilot.app.screen, AnalysisScreen))
        analysis = pilot.app.screen
        await until(pilot, lambda: analysis.analysis is not None)
        await settled(pilot)

    snap(snap_compare, size, run_before)


@pytest.mark.parametrize("size", SIZES)
def test_queue(snap_compare: Callable[..., bool], full: Fixture, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        await live_loaded(pilot, full)
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(pilot.app.screen, QueueScreen))
        screen = pilot.app.screen
        await until(pilot, lambda: len(screen.rows) == 2)
        await settled(pilot)

    snap(snap_compare, size, run_before)


@pytest.mark.parametrize("size", SIZES)
def test_quit_with_live_runs(
    snap_compare: Callable[..., bool], full: Fixture, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Any) -> None:
        await live_loaded(pilot, full)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(pilot.app.screen, ChoiceModal))
        await settled(pilot)

    snap(snap_compare, size, run_before)


@pytest.mark.parametrize("size", SIZES)
def test_delete_confirm(
    snap_compare: Callable[..., bool], full: Fixture, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Any) -> None:
        screen = await history_loaded(pilot, full)
        table = screen.query_one(DataTable)
        table.move_cursor(row=table.get_row_index(full.ids["no-wd"]))
        await pilot.press("d")
        await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmModal))
        await settled(pilot)

    snap(snap_compare, size, run_before)

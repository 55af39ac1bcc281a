"""Live's status line and runs bar, and the smoothing keys, driven with Textual's Pilot.

Quick tier: no process is started. The runs are planted (tests/support/live_runs.py):
their summaries name this test process as their trainer, so that Live takes them for
running and reads this process's /proc for the system figures."""

from __future__ import annotations

import re
from typing import Any

import pytest
from textual.widgets import Static

from grok_tui.rundirs import launch, store
from grok_tui.tui.screens.live import LiveScreen
from grok_tui.tui.widgets.curve_pane import CurvePane
from tests.support.live_runs import elsewhere, end, plant_ended, plant_live
from tests.support.pilot import until
from tests.support.tui import TuiEnv, drive, points


def text(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def open_live(pilot: Any, env: TuiEnv) -> LiveScreen:
    app = pilot.app
    await until(
        pilot,
        lambda: (
            isinstance(app.screen, LiveScreen)
            and app.followers
            and app.screen._drawn is not None  # composed, and drawn once
        ),
    )
    return app.screen  # type: ignore[return-value]


def test_the_smoothing_weight_steps_with_keys_and_is_shown(env: TuiEnv) -> None:
    plant_live(env.runs, "smooth")
    app = env.app(preset_dirs=[])

    async def script(pilot: Any) -> None:
        live = await open_live(pilot, env)
        acc = live.query_one("#live-acc", CurvePane)
        await until(pilot, lambda: points(acc) > 0)
        assert "EMA" not in text(live, "#live-cursor") and "EMA" not in str(acc.border_title)
        await pilot.press("greater_than_sign")  # heavier: on at 0.6, then 0.8, 0.9
        assert app.axis_options.smoothing == 0.6
        await pilot.press("greater_than_sign", "greater_than_sign")
        assert app.axis_options.smoothing == 0.9
        await until(pilot, lambda: "EMA 0.9" in text(live, "#live-cursor"))
        assert "EMA 0.9" in str(acc.border_title)  # the legend says it
        assert sum(s.faint for s in acc.series) == 2  # raw kept, faint
        await pilot.press("m")  # off, and on again at the weight chosen
        assert app.axis_options.smoothing == 0
        await until(pilot, lambda: "EMA" not in text(live, "#live-cursor"))
        await pilot.press("m")
        assert app.axis_options.smoothing == 0.9
        await pilot.press("less_than_sign")
        assert app.axis_options.smoothing == 0.8
        await until(pilot, lambda: "EMA 0.8" in str(acc.border_title))

    drive(app, script)


def test_live_s_status_line_shows_the_run_s_cpu_and_memory(env: TuiEnv) -> None:
    plant_live(env.runs, "here")
    app = env.app(preset_dirs=[])

    async def script(pilot: Any) -> None:
        live = await open_live(pilot, env)
        await until(pilot, lambda: "RSS " in text(live, "#live-status"))
        # CPU from the second look on: the ticks between two looks
        await until(pilot, lambda: re.search(r"CPU \d+% RSS \d+", text(live, "#live-status")))
        assert "running" in text(live, "#live-status")

    drive(app, script)


def test_a_run_on_another_host_shows_no_figures(env: TuiEnv) -> None:
    plant_live(env.runs, "remote", host=elsewhere())
    app = env.app(preset_dirs=[])

    async def script(pilot: Any) -> None:
        app.follow(store.RunDir(env.runs / "remote"))
        live = await open_live(pilot, env)
        await pilot.press("f3")
        await until(pilot, lambda: "running" in text(live, "#live-status"))
        for _ in range(3):  # three of the figures' looks
            await until(pilot, lambda: live.system.sampler is not None)
            live.system.tick()
        assert "RSS " not in text(live, "#live-status")

    drive(app, script)


def test_a_gpu_run_shows_its_device_s_use_and_memory(
    env: TuiEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def query_gpu(gpu: str, timeout: float = 3.0) -> str:
        asked.append(gpu)
        return "45, 2048, 81559\n"

    monkeypatch.setattr(launch, "query_gpu", query_gpu)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    plant_live(env.runs, "gpu", device="cuda:1", device_name="NVIDIA H100")
    app = env.app(preset_dirs=[])

    async def script(pilot: Any) -> None:
        live = await open_live(pilot, env)
        await until(pilot, lambda: "GPU 45% 2.0G/80G" in text(live, "#live-status"))
        assert set(asked) == {"1"}
        assert len(asked) == 1  # at most every 5 s

    drive(app, script)


def test_the_runs_bar_lists_live_runs_and_folds_the_ended_ones(env: TuiEnv) -> None:
    ended = [plant_ended(env.runs, f"point{i}") for i in range(3)]
    first, second = plant_live(env.runs, "first"), plant_live(env.runs, "second")
    app = env.app(preset_dirs=[])

    async def script(pilot: Any) -> None:
        for run in ended:
            app.follow(store.RunDir(run.path))
        live = await open_live(pilot, env)
        await until(pilot, lambda: first.run_id in app.followers and second.run_id in app.followers)
        app.current_run_id = first.run_id
        live.redraw()
        await until(pilot, lambda: "+3 ended" in text(live, "#live-runs"))
        bar = text(live, "#live-runs")
        assert "first" in bar and "second" in bar and "point0" not in bar
        await pilot.press("right_square_bracket")  # ] goes through the bar's runs
        assert app.current_run_id == second.run_id
        await pilot.press("right_square_bracket")
        assert app.current_run_id == first.run_id

    drive(app, script, size=(80, 24))


def test_live_follows_the_next_live_run_when_the_shown_one_ends(env: TuiEnv) -> None:
    first, second = plant_live(env.runs, "first"), plant_live(env.runs, "second")
    app = env.app(preset_dirs=[])

    async def script(pilot: Any) -> None:
        live = await open_live(pilot, env)
        await until(pilot, lambda: first.run_id in app.followers and second.run_id in app.followers)
        app.current_run_id = first.run_id
        live.redraw()
        await until(pilot, lambda: app.followers[first.run_id].records)
        end(first)
        await until(pilot, lambda: app.followers[first.run_id].status == "completed")
        await until(pilot, lambda: app.current_run_id == second.run_id, timeout=10)
        assert "first" not in text(live, "#live-runs")  # ended: folded away

    drive(app, script, size=(80, 24))

"""Sweeps trained for real: tiny MLPs on (x + y) mod 11, each point its own process
(--vectorize 1; tests/e2e/test_group_runs.py trains points as vectorised groups)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.widgets import DataTable, Static

from grok_tui.rundirs import store
from grok_tui.sweep import list_sweeps, read_sweep_dir
from grok_tui.sweep.metrics import format_metric
from grok_tui.training.checkpoint import load_checkpoint
from tests.conftest import TINY_PRESET
from tests.support.pilot import until
from tests.support.processes import grok
from tests.support.sweeps import GRID, write_sweep

# Its module-scoped fixture is built once: every test of the module on one test worker.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sweep-exec")]

# Two short points and two long enough to be stopped half-way (zip: the i-th together);
# --jobs 4 starts them at once, so the short ones finish while the long ones train.
UNEVEN = """\
extends = "tiny.toml"
name = "uneven"

[train]
eval_every = 50
checkpoint_every = 50

[sweep]
mode = "zip"
"train.steps" = [30, 30, 3000, 3000]
"train.seed" = [0, 1, 2, 3]
"""


@pytest.fixture(scope="module")
def finished(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A 2 x 2 grid trained with --jobs 2 (shared by the tests that read it)."""
    tmp = tmp_path_factory.mktemp("sweep")
    grid = write_sweep(tmp, "grid.toml", GRID)
    result = grok(
        "--run", str(grid), "--jobs", "2", "--vectorize", "1",
        "--runs-dir", str(tmp / "runs"),
    )  # fmt: skip
    (sweep_dir,) = list_sweeps(tmp / "runs")
    return sweep_dir.path, result


def test_a_sweep_of_four_points_with_two_jobs_completes(finished):
    path, result = finished
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "grid of 4 points over optim.lr (2) x optim.weight_decay (2)" in out
    assert " · 4 to train · 2 jobs" in out
    done = [line for line in out.splitlines() if line.startswith("[")]
    assert len(done) == 4 and all(" completed " in line for line in done)
    assert {line.split("]")[0] for line in done} == {"[1/4", "[2/4", "[3/4", "[4/4"}
    assert "sweep done: 4 points · 4 completed" in out
    assert f"report: grok-tui sweep-report {path}" in out
    sweep_dir = read_sweep_dir(path)
    assert set(sweep_dir.statuses().values()) == {"completed"}
    for point in sweep_dir.points():
        summary = point.run.summary()
        assert summary["step"] == 30 and summary["device"] == "cpu"
        assert summary["sweep"]["id"] == sweep_dir.sweep_id
        assert summary["sweep"]["coords"] == point.coords
        preset = point.run.load_preset()
        assert preset.optim.lr == point.coords["optim.lr"]
        assert preset.optim.weight_decay == point.coords["optim.weight_decay"]
        assert "resuming from step 0" in point.run.log_path.read_text()  # the --resume path


def test_the_report_of_a_trained_sweep_equals_its_summaries(finished, tmp_path):
    path, _ = finished
    result = grok("sweep-report", str(path), "--csv", str(tmp_path / "t.csv"))
    assert result.returncode == 0, result.stderr
    sweep_dir = read_sweep_dir(path)
    lines = result.stdout.splitlines()
    for point in sweep_dir.points():
        summary = point.run.summary()
        (line,) = [ln for ln in lines if ln.endswith(point.run_id)]
        cells = line.split()
        assert cells[0] == str(point.index) and cells[3] == "completed"
        assert cells[5] == format_metric("fit_step", summary["fit_step"])
        assert cells[6] == format_metric("grok_step", summary["grok_step"])
        assert cells[7] == f"{summary['final']['train_acc']:.3f}"
        assert cells[8] == f"{summary['final']['test_acc']:.3f}"
    assert "final_test_acc by optim.lr and optim.weight_decay" in result.stdout
    assert all(v in result.stdout for v in ("1e-3", "3e-3", "0.1"))
    assert (tmp_path / "t.csv").read_text().count("\n") == 5


def test_the_sweep_screen_shows_the_table_and_the_heatmap(finished):
    from grok_tui.tui.screens.sweep import sweep_path_for

    path, _ = finished
    sweep_dir = read_sweep_dir(path)
    assert sweep_path_for(path.parent, sweep_id=sweep_dir.sweep_id) == path
    assert sweep_path_for(path.parent, run_path=sweep_dir.points()[0].run.path) == path

    async def check(pilot: Any, screen: Any) -> None:
        table = screen.query_one("#sweep-table", DataTable)
        assert table.row_count == 4
        heatmap = str(screen.query_one("#sweep-heatmap", Static).render())
        assert "final_test_acc" in heatmap and "1e-3" in heatmap and "3e-3" in heatmap
        assert not screen.query_one("#sweep-spread", Static).display  # no seed axis
        await pilot.press("m")
        assert screen.metric == "grok_step"
        await pilot.press("a")
        assert screen.axes == ("optim.weight_decay", "optim.lr")

    on_sweep_screen(path, check)


def on_sweep_screen(path: Path, check: Callable[[Any, Any], Awaitable[None]]) -> None:
    """Open the sweep screen of `path` in a bare app, wait for its rows, then run check."""
    from grok_tui.tui.screens.sweep import SweepScreen

    class Host(App):
        def on_mount(self) -> None:
            self.push_screen(SweepScreen(path))

    async def main() -> None:
        app = Host()
        async with app.run_test(size=(110, 40)) as pilot:
            screen = app.screen
            for _ in range(100):
                await pilot.pause(0.05)
                if screen.rows:
                    break
            await check(pilot, screen)

    asyncio.run(main())


def test_the_sweep_screen_shows_the_spread_over_seeds(tmp_path):
    from grok_tui.sweep import create_sweep_dir, load_sweep

    (tmp_path / "tiny.toml").write_text(TINY_PRESET)
    (tmp_path / "seeds.toml").write_text(
        'extends = "tiny.toml"\n[sweep]\n"optim.lr" = [1e-3, 3e-3]\n"train.seed" = [0, 1, 2]\n'
    )
    sweep = load_sweep(tmp_path / "seeds.toml")
    sweep_dir = create_sweep_dir(sweep, sweep.points(), tmp_path / "runs")
    for n, point in enumerate(sweep_dir.points()):  # summaries as the engine writes them
        store.update_summary(
            point.run.path,
            status="completed",
            step=60,
            fit_step=10 * (n + 1),
            grok_step=None if n == 0 else 50,
            final={"train_acc": 1.0, "test_acc": 0.5, "train_loss": 0.1, "test_loss": 1.0},
        )

    async def check(pilot: Any, screen: Any) -> None:
        spread = screen.query_one("#sweep-spread", Static)
        text = str(spread.render())
        assert spread.display and "over train.seed" in text
        lines = text.splitlines()
        assert lines[2].split()[:4] == ["1e-3", "3", "2/3", "20"]  # fit 10, 20, 30
        assert lines[3].split()[:4] == ["3e-3", "3", "3/3", "50"]  # fit 40, 50, 60
        # and the intervals of sweep-report --ci: mean fit_step 20 [10, 30] over 3 seeds
        ci = text[text.index("mean [95% CI]") :].splitlines()
        assert ci[1].startswith("intervals: 95% two-level percentile bootstrap")
        assert ci[3].split()[:3] == ["1e-3", "3", "0.67"] and "20 [10, 30]" in ci[3]
        # the metric the screen shows has its interval too (as sweep-report --ci --metric)
        assert ci[2].split()[-1] == "final_test_acc"
        assert ci[3].rstrip().endswith("0.500 [0.500, 0.500]")

    on_sweep_screen(sweep_dir.path, check)


def test_the_intervals_of_a_sweep_of_many_settings_can_be_scrolled_to(tmp_path):
    from grok_tui.sweep import create_sweep_dir, load_sweep

    (tmp_path / "tiny.toml").write_text(TINY_PRESET)
    (tmp_path / "many.toml").write_text(
        'extends = "tiny.toml"\n[sweep]\n"optim.lr" = [1e-3, 2e-3, 3e-3, 4e-3, 5e-3, 6e-3]\n'
        '"train.seed" = [0, 1]\n'
    )
    sweep = load_sweep(tmp_path / "many.toml")
    sweep_dir = create_sweep_dir(sweep, sweep.points(), tmp_path / "runs")
    for point in sweep_dir.points():
        store.update_summary(point.run.path, status="completed", step=60, fit_step=10)

    async def check(pilot: Any, screen: Any) -> None:
        box = screen.query_one("#sweep-spread-box")
        assert box.display and box.max_scroll_y > 0  # two tables of 6 settings: taller than 12
        box.focus()
        await pilot.press("end")
        await until(pilot, lambda: box.scroll_y == box.max_scroll_y)  # End scrolls animated
        # the last line of the intervals' table is the last line shown
        text = str(screen.query_one("#sweep-spread", Static).render()).rstrip().splitlines()
        assert text[-1].split()[0] == "6e-3" and "[" in text[-1]

    on_sweep_screen(sweep_dir.path, check)


def test_an_interrupted_sweep_resumes_without_redoing_finished_points(tmp_path):
    (tmp_path / "tiny.toml").write_text(TINY_PRESET)
    (tmp_path / "uneven.toml").write_text(UNEVEN)
    runs = tmp_path / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "grok_tui", "--run", str(tmp_path / "uneven.toml"), "--jobs", "4", "--vectorize", "1",
         "--runs-dir", str(runs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip

    def long_points_under_way() -> bool:
        sweeps = list_sweeps(runs)
        if not sweeps:
            return False
        summaries = [p.run.summary() for p in sweeps[0].points() if p.run]
        return (
            len(summaries) == 4
            and all(s.get("status") == "completed" for s in summaries[:2])
            and all(
                s.get("status") == "running" and s.get("checkpoint_step") for s in summaries[2:]
            )
        )

    assert store.wait_for(long_points_under_way, timeout=120, interval=0.05)
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err
    (sweep_dir,) = list_sweeps(runs)
    assert sweep_dir.statuses() == {1: "completed", 2: "completed", 3: "stopped", 4: "stopped"}
    assert "running point(s) checkpoint and stop (Ctrl-C again kills them)" in out
    assert f"stopped by SIGINT; continue with: grok-tui --resume {sweep_dir.path}" in out
    points = sweep_dir.points()
    before = {p.index: p.run.summary_path.stat().st_mtime_ns for p in points[:2]}
    stopped_at = {p.index: p.run.summary()["step"] for p in points[2:]}
    assert all(0 < step < 3000 for step in stopped_at.values())
    for p in points[2:]:
        assert load_checkpoint(p.run.path)["step"] == stopped_at[p.index]

    resumed = grok("--resume", str(sweep_dir.path), "--devices", "cpu,cpu")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "2 to train, 2 finished already · 2 jobs on cpu, cpu" in resumed.stdout
    done = [line for line in resumed.stdout.splitlines() if line.startswith("[")]
    assert len(done) == 2 and all("#3 " in ln or "#4 " in ln for ln in done)
    assert set(sweep_dir.statuses().values()) == {"completed"}
    for p in points[:2]:  # finished points were not trained again
        assert p.run.summary_path.stat().st_mtime_ns == before[p.index]
    for p in points[2:]:  # stopped ones continued from their checkpoints
        summary = p.run.summary()
        assert summary["step"] == 3000
        assert [r["step"] for r in summary["resumes"]] == [stopped_at[p.index]]
        steps = [r["step"] for r in store.read_records(p.run.path)]
        assert steps == sorted(set(steps))

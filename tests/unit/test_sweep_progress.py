"""A sweep's progress line (sweep/progress.py): its text from summaries, its redraw on a
terminal, its rate in a log, and a real sweep that says how far it is before a point ends."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pytest

from grok_tui.rundirs import store
from grok_tui.sweep import create_sweep_dir, load_sweep
from grok_tui.sweep.executor import PointJob, PointResult, ProcessExecutor, execute
from grok_tui.sweep.progress import CLEAR, SweepProgress, progress_text, sweep_eta
from grok_tui.text import SafeStream
from tests.support.sweeps import write_sweep


def s(step: int, steps: int, rate: float | None = None) -> dict[str, Any]:
    """A summary as the engine writes it at an evaluation."""
    return {"status": "running", "step": step, "steps": steps, "steps_per_s": rate}


# -- the text ---------------------------------------------------------------------------------


def test_the_line_counts_points_names_the_slowest_and_adds_up_the_eta():
    running = [[(1, s(100, 300, 10.0))], [(2, s(250, 300, 50.0))]]
    queued = [[(3, s(0, 300))]]
    # #1 ends in 200/10 = 20 s; #2 in 1 s, then #3 takes its slot: 300 steps at the
    # mean rate 30 -> ends at 11 s; the sweep ends with #1
    assert progress_text(2, 1, running, queued) == (
        "progress: 2/5 done (1 failed) · 2 running · 1 queued · slowest #1 100/300 · ETA 20s"
    )
    # two longer queued points: 1 + 600/30 = 21 s, then the slot #1 frees: 20 + 20 = 40 s
    assert sweep_eta(running, [[(3, s(0, 600))], [(4, s(0, 600))]]) == pytest.approx(40.0)
    # a resumed queued point has only its remaining steps left
    assert sweep_eta(running, [[(3, s(570, 600))]]) == pytest.approx(20.0)
    assert "done (" not in progress_text(0, 0, running, [])


def test_a_vectorised_group_is_one_slot_ending_with_its_longest_member():
    group = [(1, s(0, 100, 10.0)), (2, s(0, 400, 10.0))]  # one process, the group's rate
    assert sweep_eta([group], []) == pytest.approx(40.0)
    assert sweep_eta([group], [[(3, s(0, 100)), (4, s(0, 50))]]) == pytest.approx(50.0)
    text = progress_text(0, 0, [group], [[(3, s(0, 100)), (4, s(0, 50))]])
    assert "0/4 done · 2 running · 2 queued · slowest #1 0/100 · ETA 50s" in text


def test_the_eta_is_unknown_until_a_rate_is_known():
    starting = [[(1, s(0, 300))]]  # no evaluation yet: no steps_per_s
    assert progress_text(0, 0, starting, [[(2, s(0, 300))]]).endswith("ETA --")
    assert progress_text(0, 0, [[(1, {})]], []).endswith("slowest -- · ETA --")
    # a queued point whose summary cannot be read: its steps are unknown
    assert sweep_eta([[(1, s(0, 300, 10.0))]], [[(2, {})]]) is None
    # a running point without a rate yet borrows the others' mean rate
    assert sweep_eta([[(1, s(0, 300, 10.0))], [(2, s(0, 600))]], []) == pytest.approx(60.0)
    assert sweep_eta([], []) == 0.0


# -- the stream: a redrawn line on a terminal, plain lines in a log ---------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def fake_jobs(tmp_path: Path, n: int) -> list[PointJob]:
    return [PointJob(i, f"p{i}", store.RunDir(tmp_path / f"run{i}")) for i in range(1, n + 1)]


def test_on_a_terminal_the_line_is_redrawn_and_cleared_around_a_point_line(tmp_path):
    buf, clock = io.StringIO(), Clock()
    jobs = fake_jobs(tmp_path, 3)
    summaries = {j.run.path: s(10 * j.index, 300, 10.0) for j in jobs}
    progress = SweepProgress(
        SafeStream(buf), tty=True, clock=clock, read=summaries.__getitem__, width=lambda: 200
    )
    running, pending, results = [[jobs[0]], [jobs[1]]], [[jobs[2]]], []
    progress.on_poll(running, pending, results)
    clock.now += 4
    progress.on_poll(running, pending, results)
    assert buf.getvalue() == ""  # nothing before the first interval
    clock.now += 1
    progress.on_poll(running, pending, results)
    line = "progress: 0/3 done · 2 running · 1 queued · slowest #1 10/300 · ETA 55s"
    assert buf.getvalue() == CLEAR + line
    clock.now += 1
    summaries[jobs[0].run.path] = s(200, 300, 10.0)
    progress.on_poll(running, pending, results)
    assert buf.getvalue() == CLEAR + line  # at most every 5 s
    # a point ends: the line is cleared, the point's line printed whole (escaped), redrawn
    buf.seek(0), buf.truncate()
    progress.write("[1/3] completed #2 \x1b[31mred\n")
    assert buf.getvalue() == CLEAR + "[1/3] completed #2 \\x1b[31mred\n" + CLEAR + line
    buf.seek(0), buf.truncate()
    results.append(PointResult(jobs[1], store.COMPLETED, 0, {}))
    progress.on_poll([[jobs[0]]], pending, results)  # brought up to date at the next poll
    assert buf.getvalue() == CLEAR + (
        "progress: 1/3 done · 1 running · 1 queued · slowest #1 200/300 · ETA 37s"
    )
    buf.seek(0), buf.truncate()
    progress.close()
    progress.write("sweep done\n")
    assert buf.getvalue() == CLEAR + "sweep done\n"  # no line drawn after the end


def test_in_a_log_the_lines_are_plain_and_at_most_every_30_seconds(tmp_path):
    buf, clock = io.StringIO(), Clock()
    jobs = fake_jobs(tmp_path, 2)
    progress = SweepProgress(
        buf, tty=False, clock=clock, read=lambda path: s(0, 300, 30.0), interval=5
    )
    times = []
    for _ in range(80):  # 80 polls 1 s apart
        clock.now += 1
        before = buf.getvalue().count("\n")
        progress.on_poll([[jobs[0]]], [[jobs[1]]], [])
        if buf.getvalue().count("\n") > before:
            times.append(clock.now - 100)
    assert times == [5, 35, 65]
    progress.write("[1/2] completed #1\n")
    lines = buf.getvalue().splitlines()
    assert lines[0] == "progress: 0/2 done · 1 running · 1 queued · slowest #1 0/300 · ETA 20s"
    assert lines[-1] == "[1/2] completed #1" and "\r" not in buf.getvalue()


def test_only_a_changed_summary_is_read_again_and_a_queued_one_once(tmp_path):
    buf, clock = io.StringIO(), Clock()
    jobs = fake_jobs(tmp_path, 2)
    for job in jobs:
        job.run.path.mkdir()
        store.write_summary(job.run.path, s(0, 300))
    reads: list[Path] = []

    def read(path: Path) -> dict[str, Any]:
        reads.append(path)
        return store.read_summary(path)

    progress = SweepProgress(buf, tty=False, clock=clock, read=read, interval=1, log_interval=1)
    for _ in range(3):
        clock.now += 1
        progress.on_poll([[jobs[0]]], [[jobs[1]]], [])
    assert reads == [jobs[0].run.path, jobs[1].run.path]
    store.write_summary(jobs[0].run.path, s(50, 300, 25.0))
    clock.now += 1
    progress.on_poll([[jobs[0]]], [[jobs[1]]], [])
    assert reads[2:] == [jobs[0].run.path]
    assert buf.getvalue().splitlines()[-1].endswith("slowest #1 50/300 · ETA 22s")


def test_a_broken_progress_line_never_stops_the_sweep(tmp_path):
    buf, clock = io.StringIO(), Clock()
    (job,) = fake_jobs(tmp_path, 1)

    def read(path: Path) -> dict[str, Any]:
        raise RuntimeError("boom")

    progress = SweepProgress(buf, tty=False, clock=clock, read=read, interval=1)
    clock.now += 1
    progress.on_poll([[job]], [], [])
    clock.now += 100
    progress.on_poll([[job]], [], [])
    assert buf.getvalue() == "progress line off: boom\n"


# -- wired into the executor --------------------------------------------------------------


SLEEP = "import time; time.sleep(0.4)"


@pytest.mark.slow  # starts processes
def test_the_executor_feeds_the_progress_line_while_points_run(tmp_path, runs_dir):
    two = 'extends = "tiny.toml"\n[sweep]\n"train.seed" = [0, 1]\n'
    sweep_file = write_sweep(tmp_path, "two.toml", two)
    sweep = load_sweep(sweep_file)
    sweep_dir = create_sweep_dir(sweep, sweep.points(), runs_dir)
    buf = io.StringIO()
    progress = SweepProgress(buf, tty=False, interval=0.05, log_interval=0.05)
    executor = ProcessExecutor(1, command=[sys.executable, "-c", SLEEP], poll_interval=0.01)
    execute(sweep_dir, executor, progress=progress)
    lines = buf.getvalue().splitlines()
    first_end = next(i for i, line in enumerate(lines) if line.startswith("[1/2]"))
    assert any(
        line.startswith("progress: 0/2 done · 1 running · 1 queued · slowest #1 0/60")
        for line in lines[:first_end]
    ), lines
    assert executor.on_poll is None and not progress.enabled  # unhooked after the sweep


@pytest.mark.slow
def test_a_real_sweep_says_how_far_it_is_before_its_first_point_ends(tmp_path):
    sweep_file = write_sweep(
        tmp_path,
        "two.toml",
        'extends = "tiny.toml"\n[train]\nsteps = 400\neval_every = 20\n'
        '[sweep]\n"train.seed" = [0, 1]\n',
    )
    sweep = load_sweep(sweep_file)
    sweep_dir = create_sweep_dir(sweep, sweep.points(), tmp_path / "runs")
    buf = io.StringIO()
    progress = SweepProgress(buf, tty=False, interval=0.5, log_interval=0.5)
    assert execute(sweep_dir, ProcessExecutor(2, vectorize=1), progress=progress) == 0
    lines = buf.getvalue().splitlines()
    first_end = next(i for i, line in enumerate(lines) if line.startswith("[1/2]"))
    before = [line for line in lines[:first_end] if line.startswith("progress: 0/2 done")]
    assert before, lines
    assert any(" · 2 running · 0 queued · slowest #" in line for line in before)

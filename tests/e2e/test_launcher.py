"""Starting and following runs (rundirs/launch.py, rundirs/watch.py): detached runs, stop/resume, followers and the live-run scan."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import pytest

from grok_tui.config import Preset, apply_overrides, validate_preset
from grok_tui.rundirs import launch, ownership, store, watch

FAKE = [sys.executable, "-m", "tests.support.fake_trainer"]


def tiny(steps: int = 200, eval_every: int = 10, name: str = "tiny") -> Preset:
    raw = apply_overrides(
        Preset().to_dict(),
        [
            ("name", name),
            ("data.p", 7),
            ("train.steps", steps),
            ("train.eval_every", eval_every),
            ("train.device", "cpu"),
        ],
    )
    return validate_preset(raw)


@pytest.fixture
def fake_trainer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launch, "RUN_COMMAND", FAKE)
    monkeypatch.setenv("GROK_FAKE_DELAY", "0.02")


def wait_status(follower: watch.RunFollower, wanted: set[str], timeout: float = 20) -> bool:
    return store.wait_for(lambda: (follower.poll(), follower.status in wanted)[1], timeout)


@pytest.mark.slow  # starts processes
def test_start_run_creates_the_directory_then_trains_detached(
    tmp_path: Path, fake_trainer: None
) -> None:
    run = launch.start_run(
        tiny(), tmp_path / "runs", extra_summary={"sweep": {"id": "s", "coords": {}}}
    )
    summary = run.summary()
    assert run.exists() and summary["sweep"]["id"] == "s"
    assert summary["pid"] != os.getpid() and summary["host"] == socket.gethostname()
    assert os.getsid(summary["pid"]) != os.getsid(
        0
    )  # its own session: a hang-up of the TUI spares it
    follower = watch.RunFollower(run)
    assert wait_status(follower, {"completed"})
    assert [r["step"] for r in follower.records] == list(range(0, 201, 10))  # step 0 too
    assert "fake trainer" in run.log_path.read_text()


@pytest.mark.slow  # starts processes
def test_stop_then_resume_continues_from_where_it_stopped(
    tmp_path: Path, fake_trainer: None
) -> None:
    run = launch.start_run(tiny(steps=100_000), tmp_path / "runs")
    follower = watch.RunFollower(run)
    assert store.wait_for(lambda: (follower.poll(), len(follower.records) >= 5)[1], 20)
    assert launch.stop_run(run)
    assert wait_status(follower, {"stopped"})
    stopped_at = follower.records[-1]["step"]
    assert not launch.stop_run(run)  # nothing left to stop
    launch.resume_run(run)
    assert watch.run_status(run.summary()) in watch.LIVE_STATUSES
    with pytest.raises(RuntimeError):
        launch.resume_run(run)  # already live
    assert store.wait_for(
        lambda: (follower.poll(), follower.records[-1]["step"] > stopped_at + 50)[1], 20
    )
    launch.stop_run(run)
    assert wait_status(follower, {"stopped"})
    steps = [r["step"] for r in follower.records]
    assert steps == sorted(set(steps))


def test_follower_reads_only_new_complete_lines(tmp_path: Path) -> None:
    run = store.create_run(tiny(), tmp_path)
    follower = watch.RunFollower(run)
    follower.poll()
    with run.metrics_path.open("a") as f:
        f.write(json.dumps({"step": 1}) + "\n" + '{"step": 2')  # a half-written line
    assert follower.poll() and [r["step"] for r in follower.records] == [1]
    with run.metrics_path.open("a") as f:
        f.write("}\n")
    follower.poll()
    assert [r["step"] for r in follower.records] == [1, 2]
    version = follower.version
    assert not follower.poll() and follower.version == version  # nothing new: no change


def test_follower_rereads_a_rewritten_metrics_file(tmp_path: Path) -> None:
    run = store.create_run(tiny(), tmp_path)
    writer = store.MetricsWriter(run.path)
    for step in (10, 20, 30, 40):
        writer.append({"step": step})
    writer.close()
    follower = watch.RunFollower(run)
    follower.poll()
    # A resume from the checkpoint at step 20 truncates, then appends again.
    writer = store.MetricsWriter(run.path, keep_through_step=20)
    for step in (30, 40, 50, 60, 70):
        writer.append({"step": step, "resumed": True})
    writer.close()
    follower.poll()
    assert [r["step"] for r in follower.records] == [10, 20, 30, 40, 50, 60, 70]
    assert follower.records[2].get("resumed")


def test_dead_processes_are_crashed_not_running(tmp_path: Path) -> None:
    dead = 2**22 + 4321  # above the default pid_max: no such process
    here = socket.gethostname()
    assert watch.run_status({"status": "running", "pid": dead, "host": here}) == "crashed"
    assert watch.run_status({"status": launch.STARTING, "pid": dead, "host": here}) == "crashed"
    assert (
        watch.run_status({"status": launch.STARTING, "pid": os.getpid(), "host": here})
        == "starting"
    )
    assert watch.run_status({"status": "running", "pid": dead, "host": "elsewhere"}) == "running"


def test_live_runs_and_scanner_find_running_runs_only(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    here = {"status": "running", "host": socket.gethostname()}
    live = store.create_run(tiny(name="live"), runs)
    me = ownership.my_identity()  # this process, as a trainer records itself: alive
    store.update_summary(live.path, pid=me.pid, owner=me.as_dict(), **here)
    done = store.create_run(tiny(name="done"), runs)
    store.update_summary(done.path, status="completed")
    dead = store.create_run(tiny(name="dead"), runs)
    store.update_summary(dead.path, pid=2**22 + 99, **here)
    store.create_run(tiny(name="created"), runs)  # made, never started: not live
    assert [r.run_id for r in watch.live_runs(runs)] == [live.run_id]
    scanner = watch.LiveRunScanner(runs)
    assert [r.run_id for r in scanner.scan()] == [live.run_id]
    store.update_summary(live.path, status="stopped")
    assert scanner.scan() == []


def test_tail_of_a_log(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_text("a\nb\r\nprogress 1\rprogress 2\n\nTraceback: boom\n")
    assert watch.tail(log, 2) == ["progress 2", "Traceback: boom"]
    assert watch.tail(tmp_path / "missing.txt") == []


@pytest.mark.slow  # starts processes
def test_run_command_waits_logs_and_kills_what_overruns(tmp_path: Path) -> None:
    log = tmp_path / "part.log"
    code, wall = launch.run_command(
        [sys.executable, "-c", "print('hello'); raise SystemExit(3)"], log, 30
    )
    assert code == 3 and "hello" in log.read_text() and wall < 30
    code, wall = launch.run_command([sys.executable, "-c", "import time; time.sleep(60)"], log, 1)
    assert code == 124 and wall < 30

"""Sweeps on Ray (``--executor ray``): one local Ray instance with 2 worker CPUs for the
module, tiny MLPs on (x + y) mod 11, and the faults a cluster has: a worker killed in the
middle of a point, the driver killed mid-sweep, points that diverge or fail."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grok_tui import cli
from grok_tui.rundirs import store
from grok_tui.sweep import create_sweep_dir, list_sweeps, load_sweep, read_sweep_dir
from tests.conftest import REPO, TINY_PRESET
from tests.support.sweeps import GRID, write_sweep

ray = pytest.importorskip("ray")

# The module-scoped Ray instance is started once: every test of the module on one worker.
# Its tests take up to 40 s on an idle 2-core machine; beside a load of 4, 3-5 times that.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600), pytest.mark.xdist_group("ray")]

UNDER_WAY_S = 300  # a sweep of tiny points under way, on a machine loaded 4 times over
NICENESS = "RAY_worker_niceness"  # read by the raylet that ray.init starts

# Two points that train alike (only their names differ): one is killed, the other is
# the uninterrupted run its records must equal.
TWINS = """\
extends = "tiny.toml"

[train]
steps = 500
eval_every = 25
checkpoint_every = 50

[sweep]
mode = "zip"
name = ["twin-a", "twin-b"]
"""

# Two short points and two long enough to be under way when the driver is killed (a
# test starved by a loaded machine must still see one running past its first checkpoint:
# at 600 steps, under a load of 8, it never did). Two jobs: the short points go first
# (with four in flight, Ray may start the long ones first, and no point completes until
# a long one has).
UNEVEN = """\
extends = "tiny.toml"
name = "uneven"

[train]
eval_every = 50
checkpoint_every = 50

[sweep]
mode = "zip"
"train.steps" = [30, 30, 2000, 2000]
"train.seed" = [0, 1, 2, 3]
"""

# A sane point, one whose learning rate overflows (diverged), one broken below (failed).
MIXED = """\
extends = "tiny.toml"
name = "mixed"

[sweep]
mode = "zip"
"optim.lr" = [3e-3, 10.0, 3e-3]
"train.seed" = [0, 1, 2]
"""


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A local Ray instance for the whole module (its GCS address), always shut down.

    Its workers run at the tests' own priority: Ray's default niceness of 15 gives them
    ~3% of a core beside any other busy process (the other test worker, a loaded
    machine), and a point of 50 steps then takes minutes.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(NICENESS, "0")
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            yield ray.get_runtime_context().gcs_address
        finally:
            ray.shutdown()


write = write_sweep


def without_time(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in records]


def points_by_name(path: Path) -> dict[str, store.RunDir]:
    """The runs of a sweep over ``name``, by the name of their point."""
    return {p.coords["name"]: p.run for p in read_sweep_dir(path).points() if p.run}


@pytest.fixture(scope="module")
def grid_shared(cluster: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("grid")
    code, out = run_cli(
        "--run", str(write(tmp, "grid.toml", GRID)), "--executor", "ray", "--jobs", "2",
        "--runs-dir", str(tmp / "runs"),
    )  # fmt: skip
    assert code == 0, out
    (sweep_dir,) = list_sweeps(tmp / "runs")
    return sweep_dir.path, out


def run_cli(*args: str) -> tuple[int, str]:
    """grok_tui.cli.main in this process (Ray is already connected), with its output."""
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = cli.main(list(args))
    return code, buffer.getvalue()


def test_a_two_by_two_sweep_runs_to_four_completed_run_directories(grid_shared):
    path, out = grid_shared
    assert "ray at local" in out and " · 4 to train · 2 jobs" in out
    done = [line for line in out.splitlines() if line.startswith("[")]
    assert len(done) == 4 and all(" completed " in line and "ray@" in line for line in done)
    assert "sweep done: 4 points · 4 completed" in out
    sweep_dir = read_sweep_dir(path)
    for point in sweep_dir.points():
        summary = point.run.summary()
        assert summary["status"] == "completed" and summary["step"] == 30
        assert summary["sweep"]["coords"] == point.coords
        assert summary["ray"]["attempt"] == 1
        assert [r["step"] for r in point.run.records()] == [0, 10, 20, 30]
        assert point.run.checkpoint_path.exists()
        assert "--- sweep point" in point.run.log_path.read_text()


def test_no_shared_fs_gives_the_same_run_directories(grid_shared, tmp_path):
    shared, _ = grid_shared
    code, out = run_cli(
        "--run", str(write(tmp_path, "grid.toml", GRID)), "--executor", "ray", "--no-shared-fs",
        "--runs-dir", str(tmp_path / "runs"),
    )  # fmt: skip
    assert code == 0, out
    (mirrored,) = list_sweeps(tmp_path / "runs")
    for a, b in zip(read_sweep_dir(shared).points(), mirrored.points(), strict=True):
        assert a.coords == b.coords
        assert without_time(a.run.records()) == without_time(b.run.records())
        sa, sb = a.run.summary(), b.run.summary()
        for key in ("status", "step", "fit_step", "grok_step", "final", "checkpoint_step"):
            assert sa.get(key) == sb.get(key), key
        assert sb["owner"]["pid"] == os.getpid() and sb["worker"]["pid"] != os.getpid()
        names = {p.name for p in b.run.path.iterdir()} - {".lock"}
        assert names == {p.name for p in a.run.path.iterdir()} - {".lock"}


@pytest.mark.parametrize("shared_fs", [True, False], ids=["shared-fs", "no-shared-fs"])
def test_a_worker_killed_mid_point_is_retried_from_its_checkpoint(cluster, tmp_path, shared_fs):
    """Its records then equal an uninterrupted run's: none lost, none repeated (without a
    shared filesystem, the driver may have written records past the checkpoint resumed from)."""
    sweep_file = write(tmp_path, "twins.toml", TWINS)
    runs = tmp_path / "runs"
    killed: list[int] = []

    def worker_pid(summary: dict[str, Any]) -> int:
        return summary["pid"] if shared_fs else summary["worker"]["pid"]

    def kill_twin_a() -> None:
        def under_way() -> bool:
            sweeps = list_sweeps(runs)
            if not sweeps:
                return False
            summary = points_by_name(sweeps[0].path).get("twin-a")
            summary = summary.summary() if summary else {}
            return (
                summary.get("status") == "running" and (summary.get("checkpoint_step") or 0) >= 100
            )

        if store.wait_for(under_way, timeout=UNDER_WAY_S, interval=0.02):
            pid = worker_pid(points_by_name(list_sweeps(runs)[0].path)["twin-a"].summary())
            os.kill(pid, signal.SIGKILL)  # the Ray worker that trains it
            killed.append(pid)

    killer = threading.Thread(target=kill_twin_a)
    killer.start()
    code, out = run_cli(
        "--run", str(sweep_file), "--executor", "ray", "--jobs", "2", "--runs-dir", str(runs),
        *([] if shared_fs else ["--no-shared-fs"]),
    )  # fmt: skip
    killer.join()
    assert killed, "twin-a was never seen under way"
    assert code == 0, out
    runs_by_name = points_by_name(list_sweeps(runs)[0].path)
    a, b = runs_by_name["twin-a"].summary(), runs_by_name["twin-b"].summary()
    assert a["status"] == b["status"] == "completed"
    assert a["ray"]["attempt"] == 2 and b["ray"]["attempt"] == 1
    assert worker_pid(a) != killed[0]
    (resume,) = a["resumes"]  # the retry went on from the last checkpoint, not from 0
    assert 100 <= resume["step"] < 500
    records = runs_by_name["twin-a"].records()
    assert without_time(records) == without_time(runs_by_name["twin-b"].records())
    assert [r["step"] for r in records] == list(range(0, 501, 25))


def test_a_killed_driver_is_resumed_without_redoing_finished_points(cluster, tmp_path):
    sweep_file = write(tmp_path, "uneven.toml", UNEVEN)
    runs = tmp_path / "runs"
    driver = subprocess.Popen(
        [sys.executable, "-m", "grok_tui", "--run", str(sweep_file), "--executor", "ray",
         "--address", cluster, "--jobs", "2", "--runs-dir", str(runs)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip

    def mid_sweep() -> bool:
        """A point completed and another under way with a checkpoint: kill the driver now."""
        sweeps = list_sweeps(runs)
        summaries = [p.run.summary() for p in sweeps[0].points()] if sweeps else []
        return any(s.get("status") == "completed" for s in summaries) and any(
            s.get("status") == "running" and (s.get("checkpoint_step") or 0) >= 50
            for s in summaries
        )

    try:
        assert store.wait_for(mid_sweep, timeout=UNDER_WAY_S, interval=0.05)
    finally:
        driver.kill()
        driver.communicate(timeout=30)
    (sweep_dir,) = list_sweeps(runs)
    points = sweep_dir.points()
    # Ray ends a dead driver's tasks: wait for the statuses to settle, then look
    assert store.wait_for(
        lambda: all(s not in store.LIVE_STATUSES for s in sweep_dir.statuses().values()), 30
    )
    finished = {p.index: p.run.summary_path.stat().st_mtime_ns for p in points
                if p.run.summary()["status"] == "completed"}  # fmt: skip
    checkpointed = {p.index: p.run.summary().get("checkpoint_step") for p in points
                    if p.index not in finished and p.run.summary().get("checkpoint_step")}  # fmt: skip
    assert finished and checkpointed
    code, out = run_cli("--resume", str(sweep_dir.path), "--executor", "ray", "--jobs", "2")
    assert code == 0, out
    assert f"{4 - len(finished)} to train, {len(finished)} finished already" in out
    done = [line for line in out.splitlines() if line.startswith("[")]
    assert len(done) == 4 - len(finished)
    assert set(sweep_dir.statuses().values()) == {"completed"}
    for p in points:
        summary = p.run.summary()
        steps = [r["step"] for r in p.run.records()]
        assert steps == sorted({*range(0, summary["steps"], 50), summary["steps"]})
        if p.index in finished:  # not trained again
            assert p.run.summary_path.stat().st_mtime_ns == finished[p.index]
        if p.index in checkpointed:  # went on from its checkpoint
            assert checkpointed[p.index] <= summary["resumes"][0]["step"] < summary["steps"]


def test_ctrl_c_stops_the_running_points_and_cancels_the_queued_ones(cluster, tmp_path):
    # three points on two CPUs: Ray runs two and queues the third
    sweep_file = write(
        tmp_path,
        "three.toml",
        TWINS.replace('["twin-a", "twin-b"]', '["a", "b", "c"]').replace(
            "steps = 500", "steps = 5000"
        ),
    )
    runs = tmp_path / "runs"

    def interrupt_when_under_way() -> None:
        def two_running() -> bool:
            sweeps = list_sweeps(runs)
            summaries = [p.run.summary() for p in sweeps[0].points()] if sweeps else []
            return sum(s.get("status") == "running" for s in summaries) == 2

        if store.wait_for(two_running, timeout=UNDER_WAY_S, interval=0.05):
            os.kill(os.getpid(), signal.SIGINT)  # the terminal's Ctrl-C, to the driver

    helper = threading.Thread(target=interrupt_when_under_way)
    helper.start()
    code, out = run_cli("--run", str(sweep_file), "--executor", "ray", "--runs-dir", str(runs))
    helper.join()
    assert code == 130, out
    assert "stopping: 2 running point(s) checkpoint and stop" in out
    assert "stopped by SIGINT; continue with: grok-tui --resume" in out
    (sweep_dir,) = list_sweeps(runs)
    statuses = sorted(sweep_dir.statuses().values())
    assert statuses == ["created", "stopped", "stopped"], out
    assert sum("not started" in line for line in out.splitlines()) == 1
    for point in sweep_dir.points():
        summary = point.run.summary()
        if summary["status"] == "stopped":  # checkpointed where it stopped
            assert 0 < summary["step"] < 5000 and summary["checkpoint_step"] == summary["step"]
        else:
            assert not point.run.metrics_path.exists()


def test_a_point_that_diverges_or_fails_does_not_stop_the_others(cluster, tmp_path):
    sweep = load_sweep(write(tmp_path, "mixed.toml", MIXED))
    sweep_dir = create_sweep_dir(sweep, sweep.points(), tmp_path / "runs")
    broken = sweep_dir.points()[2].run
    broken.preset_path.write_text("[train]\nsteps = 'many'\n")  # unreadable on the worker
    code, out = run_cli("--resume", str(sweep_dir.path), "--executor", "ray", "--jobs", "2")
    assert code == 1, out
    assert sweep_dir.statuses() == {1: "completed", 2: "diverged", 3: "failed"}
    assert "sweep done: 3 points · 1 completed, 1 diverged, 1 failed" in out
    assert "not completed: #2 diverged, #3 failed" in out
    assert "steps" in broken.summary()["error"]
    assert "failed    #3" in out and f"log: {broken.log_path}" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--address", "auto"], "--address apply to --executor ray"),
        (["--gpus-per-run", "1", "--executor", "local"], "--gpus-per-run apply to --executor ray"),
        (["--no-shared-fs", "--cpus-per-run", "2"], "--cpus-per-run, --no-shared-fs apply to"),
    ],
)
def test_ray_options_without_the_ray_executor_are_refused(tmp_path, capsys, args, message):
    sweep_file = write(tmp_path, "grid.toml", GRID)
    with pytest.raises(SystemExit) as exc:
        cli.main(["--run", str(sweep_file), *args, "--runs-dir", str(tmp_path / "runs")])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_the_ray_executor_for_a_single_preset_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--run", str(write(tmp_path, "t.toml", TINY_PRESET)), "--executor", "ray"])
    assert exc.value.code == 2
    assert "--executor and its options apply to sweeps" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--cpus-per-run", "0"], "--cpus-per-run must be above 0"),
        (["--devices", "cpu,cpu"], "--devices applies to --executor local"),
        (["--device", "cuda"], "--gpus-per-run is 0"),
        (["--jobs", "0"], "--jobs must be at least 1"),
    ],
)
def test_bad_ray_options_are_one_line_and_create_nothing(tmp_path, capsys, args, message):
    sweep_file = write(tmp_path, "grid.toml", GRID)
    code = cli.main(
        ["--run", str(sweep_file), "--executor", "ray", *args, "--runs-dir", str(tmp_path / "r")]
    )
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_without_ray_installed_the_executor_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    import grok_tui.sweep

    monkeypatch.delitem(sys.modules, "grok_tui.sweep.ray_executor", raising=False)
    monkeypatch.delattr(grok_tui.sweep, "ray_executor", raising=False)
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray: ModuleNotFoundError
    code = cli.main(
        ["--run", str(write(tmp_path, "grid.toml", GRID)), "--executor", "ray",
         "--runs-dir", str(tmp_path / "runs")]
    )  # fmt: skip
    assert code == 2
    assert "pip install 'grok-tui[cluster]'" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_an_address_that_cannot_be_reached_is_one_line_at_once(tmp_path):
    sweep_file = write(tmp_path, "grid.toml", GRID)
    result = subprocess.run(
        [sys.executable, "-m", "grok_tui", "--run", str(sweep_file), "--executor", "ray",
         "--address", "127.0.0.1:1", "--runs-dir", str(tmp_path / "runs")],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --address 127.0.0.1:1: cannot reach a Ray cluster (Connection refused)"
    ]
    assert not (tmp_path / "runs").exists()


def test_importing_the_sweep_package_and_the_cli_does_not_import_ray():
    code = (
        "import sys, grok_tui.cli, grok_tui.sweep, grok_tui.sweep.commands, "
        "grok_tui.sweep.executor; print('ray' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert result.stdout.strip() == "False", result.stderr

"""Run and sweep directories as a hostile environment leaves them: links out of the run,
planted pids, crafted sweep.json, damaged summaries, records and checkpoints, concurrent
resumes, full disks. Each case: one clear line, the right exit code, nothing lost, and
nothing done outside what grok-tui owns."""

from __future__ import annotations

import json
import os
import pickle
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from grok_tui import sweep
from grok_tui.analysis.report import Options, run_analysis
from grok_tui.cli import main
from grok_tui.config import load_preset
from grok_tui.rundirs import launch, ownership, store, watch
from grok_tui.sweep.executor import point_error
from grok_tui.training import runner
from grok_tui.training.checkpoint import load_checkpoint, save_checkpoint
from tests.conftest import REPO
from tests.support.processes import grok

STEPS = 60  # tiny: checkpoints at 20 and 40, records every 10

pytestmark = pytest.mark.slow  # real trainers, kills and resource limits


@pytest.fixture(autouse=True)
def _no_signal_handlers(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process runs must not leave their SIGINT handler in pytest."""
    monkeypatch.setattr(runner.StopFlag, "install", lambda self: None)


def trained_run(tiny_preset_path: Path, runs: Path, *, stop_after: int | None = None) -> Path:
    """A run of the tiny preset, trained in this process (stopped early when asked)."""
    preset = load_preset(tiny_preset_path)
    run = store.create_run(preset, runs)
    stop = runner.StopFlag()
    if stop_after is not None:

        class StopAt:
            def on_start(self, info: object) -> None: ...
            def on_record(self, record: dict, summary: dict) -> None:
                stop.requested = record["step"] >= stop_after

            def on_checkpoint(self, state: object) -> None: ...
            def on_snapshot(self, step: int, weights: object) -> None: ...
            def on_end(self, summary: object) -> None: ...

        sinks = [StopAt()]
    else:
        sinks = []
    with runner.claim(run):
        runner.execute(preset, run, sinks=sinks, stop=stop)
    return run.path


def steps_of(run_path: Path) -> list[int]:
    return [r["step"] for r in store.read_records(run_path)]


# --- 1. never act outside what grok-tui owns -------------------------------------------


def test_resume_never_writes_through_a_linked_metrics_file(
    tiny_preset_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_path = trained_run(tiny_preset_path, tmp_path / "runs", stop_after=20)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    metrics = run_path / store.METRICS_FILE
    metrics.unlink()
    metrics.symlink_to(victim)
    assert main(["--resume", str(run_path)]) == 0
    assert victim.read_text() == "precious\n"
    assert not metrics.is_symlink() and steps_of(run_path)[-1] == STEPS


def test_a_linked_note_is_neither_shown_nor_written_through(tmp_path: Path) -> None:
    run = store.create_run(load_preset(REPO / "presets/quickstart.toml"), tmp_path)
    victim = tmp_path / "passwd"
    victim.write_text("root:x:0:0\n")
    run.note_path.symlink_to(victim)
    assert run.note() == ""
    assert store.list_runs(tmp_path)[0].note == ""
    run.set_note("mine")
    assert victim.read_text() == "root:x:0:0\n" and run.note() == "mine"


def test_stop_never_signals_a_pid_planted_in_a_summary(tmp_path: Path) -> None:
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        run = store.create_run(load_preset(REPO / "presets/quickstart.toml"), tmp_path)
        # the bystander's true identity, as a crafted or copied summary would claim it
        owner = ownership.identity_of(bystander.pid)
        assert owner.started is not None
        store.update_summary(
            run.path, status=store.RUNNING, pid=bystander.pid, host=owner.host,
            owner=owner.as_dict(),
        )  # fmt: skip
        assert watch.is_live(run.summary(), run.path)  # it does look alive...
        assert not launch.stop_run(run)  # ...but holds no lock of this run: not signalled
        # an old-style summary (pid and host only) is not even taken for running
        store.update_summary(run.path, owner=None)
        assert store.effective_status(run.summary(), run.path) == store.CRASHED
        assert not launch.stop_run(run)
        time.sleep(0.2)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_a_reused_pid_is_not_the_run_s_process(tmp_path: Path) -> None:
    run = store.create_run(load_preset(REPO / "presets/quickstart.toml"), tmp_path)
    me = ownership.my_identity().as_dict()
    me["started"] = "another-boot:123"  # our pid, another process's start time
    store.update_summary(run.path, status=store.RUNNING, pid=os.getpid(), owner=me)
    assert store.effective_status(run.summary(), run.path) == store.CRASHED


def test_stop_reaches_the_run_s_own_trainer(tiny_preset_path: Path, tmp_path: Path) -> None:
    preset = load_preset(tiny_preset_path, ["train.steps=200000", "train.eval_every=50"])
    run = store.create_run(preset, tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "grok_tui", "--resume", str(run.path)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert store.wait_for(lambda: len(store.read_records(run.path)) >= 2, 60)
        assert ownership.live_holder(run.path).pid == proc.pid
        assert launch.stop_run(run)
        assert proc.wait(30) == runner.EXIT_TERMINATED  # stop_run sends SIGTERM
        assert run.summary()["status"] == store.STOPPED
    finally:
        proc.kill()


def test_crafted_sweep_run_ids_never_lead_outside_the_sweep(tmp_path: Path) -> None:
    made = sweep.create_sweep_dir(
        sweep.load_sweep(REPO / "presets/sweeps/tiny-zip.toml"),
        sweep.load_sweep(REPO / "presets/sweeps/tiny-zip.toml").points()[:1],
        tmp_path / "runs",
    )
    outside = tmp_path / "outside"
    for bad in ("../../outside", "/tmp/x", "..", "a/b", "x\x00y"):
        info = json.loads(made.json_path.read_text())
        info["points"][0]["run_id"] = bad
        made.json_path.write_text(json.dumps(info))
        with pytest.raises(sweep.PresetError, match="not the name of a run directory"):
            sweep.read_sweep_dir(made.path)
    result = grok("--resume", str(made.path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "sweep.json: points[1]: run_id" in result.stderr
    assert not outside.exists()


# --- 2. one writer per run, and no duplicate records ------------------------------------


def test_a_second_trainer_of_a_run_says_who_holds_it(
    tiny_preset_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_path = trained_run(tiny_preset_path, tmp_path / "runs", stop_after=20)
    with store.RunDir(run_path).lock:
        result = grok("--resume", str(run_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"is being trained by pid {os.getpid()} on" in result.stderr


def test_two_resumes_at_once_train_once(tiny_preset_path: Path, tmp_path: Path) -> None:
    run_path = trained_run(tiny_preset_path, tmp_path / "runs", stop_after=20)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "grok_tui", "--resume", str(run_path)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(2)
    ]
    codes = sorted(p.wait(120) for p in procs)
    assert codes == [0, 2]
    steps = steps_of(run_path)
    assert steps == sorted(set(steps)) and steps[-1] == STEPS
    assert len(store.read_summary(run_path)["resumes"]) == 1


def test_records_past_the_restart_are_dropped_without_a_checkpoint(
    tiny_preset_path: Path, tmp_path: Path
) -> None:
    run_path = trained_run(tiny_preset_path, tmp_path / "runs", stop_after=20)
    (run_path / store.CHECKPOINT_FILE).unlink()  # killed before its first checkpoint
    store.update_summary(run_path, status=store.CRASHED)
    assert steps_of(run_path)[:3] == [0, 10, 20]
    assert main(["--resume", str(run_path)]) == 0
    assert steps_of(run_path) == list(range(0, STEPS + 1, 10))


def test_a_run_marked_running_on_another_host_needs_force(
    tiny_preset_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_path = trained_run(tiny_preset_path, tmp_path / "runs", stop_after=20)
    store.update_summary(
        run_path, status=store.RUNNING, host="elsewhere", pid=4242,
        owner={"host": "elsewhere", "pid": 4242, "started": "b:1", "cmdline": []},
    )  # fmt: skip
    assert store.effective_status(store.read_summary(run_path), run_path) == store.RUNNING
    assert main(["--resume", str(run_path)]) == 2
    assert "on host elsewhere (pid 4242); if it no longer trains there" in capsys.readouterr().err
    assert main(["--resume", str(run_path), "--force"]) == 0
    assert "warning: run" in capsys.readouterr().err
    assert steps_of(run_path)[-1] == STEPS


def test_a_checkpoint_is_checked_against_its_preset(
    tiny_preset_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_path = trained_run(tiny_preset_path, tmp_path / "runs", stop_after=20)
    state = load_checkpoint(run_path)
    state["step"] = 10**6
    save_checkpoint(run_path, state)
    assert main(["--resume", str(run_path)]) == 2
    assert "claims step 1000000 of a 60-step run" in capsys.readouterr().err
    assert store.read_summary(run_path)["step"] == 20  # nothing trained, nothing lost


# --- 4. one bad run must not hide the others --------------------------------------------


class Payload:
    """A pickle that would create a file if it were ever unpickled with full pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def _bad_checkpoints(tmp_path: Path, good: bytes) -> Iterator[tuple[str, bytes]]:
    yield "truncated", good[: len(good) // 2]
    yield "empty", b""
    yield "random bytes", os.urandom(4096)
    yield "pickle payload", pickle.dumps({"step": 1, "x": Payload(tmp_path / "pwned")})
    buf = tmp_path / "wrong.pt"
    torch.save({"step": 10, "something": torch.zeros(3)}, buf)
    yield "wrong structure", buf.read_bytes()
    other = torch.load(tmp_path / "good.pt", weights_only=True)
    other["model"] = {k: torch.zeros(2, 2) for k in other["model"]}
    torch.save(other, buf)
    yield "another model's shapes", buf.read_bytes()


def test_bad_checkpoints_give_one_clear_line(
    tiny_preset_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_path = trained_run(tiny_preset_path, tmp_path / "runs", stop_after=20)
    checkpoint = run_path / store.CHECKPOINT_FILE
    good = checkpoint.read_bytes()
    (tmp_path / "good.pt").write_bytes(good)
    records_before = (run_path / store.METRICS_FILE).read_bytes()
    for case, data in _bad_checkpoints(tmp_path, good):
        checkpoint.write_bytes(data)
        store.update_summary(run_path, status=store.STOPPED)
        code = main(["--resume", str(run_path)])
        err = capsys.readouterr().err
        assert code == 2, (case, err)
        assert err.startswith("error: ") and "checkpoint" in err, (case, err)
        assert len(err.strip().splitlines()) == 1, (case, err)
        assert (run_path / store.METRICS_FILE).read_bytes() == records_before, case
        code = run_analysis(str(run_path), Options(figures=False, tsne=False))
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("error: "), (case, err)
    assert not (tmp_path / "pwned").exists()
    result = grok("--resume", str(run_path))  # the last case, as a user meets it
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout


def _damaged_runs(tmp_path: Path, runs: Path) -> list[str]:
    """Beside one healthy run, runs whose summary is every kind of wrong; their ids."""
    preset = load_preset(REPO / "presets/quickstart.toml")
    ids = []
    for name, content in {
        "list": "[1, 2]",
        "string": '"running"',
        "types": '{"status": "running", "step": "lots", "pid": "me"}',
        "json": "{not json",
        "final": '{"status": "completed", "final": {"test_acc": "high"}}',
    }.items():
        run = store.create_run(preset.model_copy(update={"name": name}), runs)
        run.summary_path.write_text(content)
        ids.append(run.run_id)
    zero = store.create_run(preset.model_copy(update={"name": "zero"}), runs)
    zero.summary_path.unlink()
    zero.summary_path.symlink_to("/dev/zero")
    ids.append(zero.run_id)
    fifo = store.create_run(preset.model_copy(update={"name": "fifo"}), runs)
    fifo.preset_path.unlink()
    os.mkfifo(fifo.preset_path)
    ids.append(fifo.run_id)
    return ids


def test_damaged_summaries_are_listed_as_unreadable_beside_healthy_runs(
    tiny_preset_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    healthy = trained_run(tiny_preset_path, runs)
    damaged = _damaged_runs(tmp_path, runs)
    infos = {info.run_id: info for info in store.list_runs(runs)}
    assert infos[healthy.name].status == store.COMPLETED
    for run_id in damaged[:-1]:
        assert infos[run_id].status == store.UNREADABLE and infos[run_id].unreadable
    assert "cannot read" in (infos[damaged[-1]].preset_error or "")  # the FIFO preset
    assert main(["runs", "--runs-dir", str(runs)]) == 0
    out = capsys.readouterr().out
    assert healthy.name in out and out.count("unreadable") >= len(damaged) - 1
    assert "summary.json holds a list" in out
    for run_id in damaged:  # resume and analyze: one line each, exit 2, no hang
        assert main(["--resume", str(runs / run_id)]) in (1, 2)
        assert run_analysis(str(runs / run_id), Options(figures=False)) == 2
        err = capsys.readouterr().err
        assert "error:" in err


def test_records_that_are_not_records_are_skipped(
    tiny_preset_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_path = trained_run(tiny_preset_path, tmp_path / "runs", stop_after=20)
    with (run_path / store.METRICS_FILE).open("a") as f:
        f.write('[1, 2]\n"x"\n{"step": "a"}\n{"step": -1}\nnull\n{"step": 30, "test_acc": []}\n')
    assert steps_of(run_path) == [0, 10, 20]
    follower = watch.RunFollower(store.RunDir(run_path))
    follower.poll()
    assert [r["step"] for r in follower.records] == [0, 10, 20]
    assert main(["--resume", str(run_path)]) == 0
    assert steps_of(run_path) == list(range(0, STEPS + 1, 10))
    assert run_analysis(str(run_path), Options(figures=False, tsne=False)) == 0


# --- 5. disks and limits ---------------------------------------------------------------


def test_a_file_size_limit_fails_the_run_cleanly(tiny_preset_path: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    limit = 16 * 1024  # records and summaries fit, the first checkpoint does not

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = grok("--run", str(tiny_preset_path), "--runs-dir", str(runs), preexec_fn=small_files)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "(EFBIG)" in result.stderr
    (run_path,) = runs.iterdir()
    summary = store.read_summary(run_path)
    assert summary["status"] == store.FAILED and "EFBIG" in summary["error"]
    assert steps_of(run_path)[:3] == [0, 10, 20]  # every record before the failure is kept
    assert not [p for p in run_path.iterdir() if p.name.endswith(".tmp")]


def test_a_runs_dir_that_is_a_file_is_one_clear_line(
    tiny_preset_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    runs.write_text("not a folder")
    assert main(["--run", str(tiny_preset_path), "--runs-dir", str(runs)]) == 2  # no exception
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot create a run directory in {runs}")
    assert len(err.strip().splitlines()) == 1


def test_a_sweep_point_s_line_names_its_real_error(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_text("run x · resuming\nerror: the checkpoint does not fit\nsteps: 0/150 in --\n")
    assert point_error(log, 2) == "the checkpoint does not fit"


def test_history_lists_damaged_runs_beside_healthy_ones(tmp_path: Path) -> None:
    from grok_tui.tui.app import GrokApp
    from tests.support.tui import drive, finished_run, open_history  # Pilot helpers

    runs = tmp_path / "runs"
    healthy = finished_run(runs, "healthy")
    damaged = _damaged_runs(tmp_path, runs)
    app = GrokApp(runs, [tmp_path], poll_interval=0.25)

    async def script(pilot: object) -> None:
        screen = await open_history(pilot, app)
        rows = {row.run_id: row for row in screen.all_rows}
        assert set(rows) == {healthy.run_id, *damaged}
        assert rows[healthy.run_id].status == store.COMPLETED
        assert rows[damaged[0]].status == store.UNREADABLE
        assert "summary.json holds a list" in rows[damaged[0]].cell("note")

    drive(app, script)


def test_deleting_removes_a_run_directory_and_nothing_else(tmp_path: Path) -> None:
    from grok_tui.errors import RunBusyError, RunNotFoundError

    preset = load_preset(REPO / "presets/quickstart.toml")
    run = store.create_run(preset, tmp_path / "runs")
    elsewhere = tmp_path / "precious"
    elsewhere.mkdir()
    (elsewhere / "preset.toml").write_text("kept")
    link = tmp_path / "runs" / "link-to-precious"
    link.symlink_to(elsewhere)
    with pytest.raises(RunNotFoundError):  # a link, even to something that looks like a run
        store.delete_run(store.RunDir(link))
    with pytest.raises(RunNotFoundError):  # a folder that is not a run directory
        store.delete_run(store.RunDir(tmp_path))
    with run.lock, pytest.raises(RunBusyError, match="stop it first"):  # a trainer holds it
        store.delete_run(run)
    assert run.exists()
    store.delete_run(run)
    assert not run.path.exists()
    assert (elsewhere / "preset.toml").read_text() == "kept" and tmp_path.is_dir()

"""The run queue: queue.json edits, what starts next, the runner loop and `grok-tui queue`.

The runner is driven with a fake start function (no process) except in the last tests,
which start real processes: the tests' fake trainer, and a detached `grok-tui queue run`.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from grok_tui import cli
from grok_tui.config import Preset, apply_overrides, devices, validate_preset
from grok_tui.rundirs import launch, ownership, runqueue, store, watch
from grok_tui.rundirs.runqueue import QueueEntry, QueueError, QueueState

FAKE = [sys.executable, "-m", "tests.support.fake_trainer"]
START_QUEUE_RUNNER = runqueue.start_runner  # the fixture below stands in for it


def tiny(name: str = "tiny", device: str = "cpu", steps: int = 60) -> Preset:
    raw = apply_overrides(
        Preset().to_dict(),
        [
            ("name", name),
            ("data.p", 7),
            ("train.steps", steps),
            ("train.eval_every", 10),
            ("train.device", device),
        ],
    )
    return validate_preset(raw)


def queued_ids(runs: Path) -> list[str]:
    return [entry.run for entry in runqueue.read_queue(runs).entries]


def fill(runs: Path, *names: str, device: str = "cpu") -> list[str]:
    return [runqueue.enqueue(runs, tiny(name, device)).run.run_id for name in names]


@pytest.fixture(autouse=True)
def no_runner_started(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """No test here starts a detached runner unless it asks for one."""
    started: list[Path] = []
    monkeypatch.setattr(runqueue, "_started", {})

    def start(runs_dir: Path) -> int:
        started.append(runs_dir)
        return os.getpid()  # alive: counts as the runner this process started

    monkeypatch.setattr(runqueue, "start_runner", start)
    return started


# -- queue.json ----------------------------------------------------------------------------


def test_enqueue_makes_a_queued_run_directory_and_appends_it_in_order(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    a, b = (runqueue.enqueue(runs, tiny(name)) for name in ("a", "b"))
    assert (a.position, b.position) == (1, 2)
    assert queued_ids(runs) == [a.run.run_id, b.run.run_id]
    summary = a.run.summary()
    assert summary["status"] == store.QUEUED and summary["device"] == "cpu"
    assert store.load_run_preset(a.run) == tiny("a")  # frozen, as a run started now
    # queued is a status of its own: neither live nor finished, never crashed
    assert store.effective_status(summary, a.run.path) == "queued"
    assert [info.status for info in store.list_runs(runs)] == ["queued", "queued"]
    assert watch.live_runs(runs) == []


def test_a_device_given_when_queueing_is_frozen_into_the_preset(tmp_path: Path) -> None:
    queued = runqueue.enqueue(tmp_path, tiny(device="cpu"), device="cuda")
    assert queued.device == "cuda:0"
    assert store.load_run_preset(queued.run).train.device == "cuda"
    with pytest.raises(QueueError, match="device must be"):
        runqueue.enqueue(tmp_path, tiny(), device="gpu0")


def test_device_keys_name_one_slot_pool_per_device(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runqueue.device_key("cuda") == runqueue.device_key("cuda:0") == "cuda:0"
    assert runqueue.device_key("cpu (fake)") == "cpu"  # a summary's label with words after
    monkeypatch.setattr(devices, "NVIDIA_DEVICE", str(tmp_path / "none"))
    monkeypatch.setattr(runqueue.sys, "platform", "linux")
    assert runqueue.device_key("auto") == "cpu"
    (tmp_path / "nvidiactl").touch()
    monkeypatch.setattr(devices, "NVIDIA_DEVICE", str(tmp_path / "nvidiactl"))
    assert runqueue.device_key("auto") == "cuda:0"


def test_move_is_relative_to_where_the_entry_is_now_and_stays_in_the_queue(
    tmp_path: Path,
) -> None:
    a, b, c = fill(tmp_path, "a", "b", "c")
    assert runqueue.move(tmp_path, c, -1) == 2
    assert queued_ids(tmp_path) == [a, c, b]
    assert runqueue.move(tmp_path, c, -10) == 1
    assert runqueue.move(tmp_path, a, 10) == 3
    assert queued_ids(tmp_path) == [c, b, a]
    with pytest.raises(QueueError, match="not in the queue"):
        runqueue.move(tmp_path, "no-such-run", 1)


def test_remove_drops_the_entry_and_its_never_trained_run_directory(tmp_path: Path) -> None:
    a, b = fill(tmp_path, "a", "b")
    assert runqueue.remove(tmp_path, a) is True
    assert queued_ids(tmp_path) == [b] and not (tmp_path / a).exists()
    # a run that started meanwhile keeps its directory: only the entry goes
    store.update_summary(tmp_path / b, status=store.STOPPED)
    assert runqueue.remove(tmp_path, b) is False
    assert queued_ids(tmp_path) == [] and (tmp_path / b).exists()


def test_take_leaves_the_run_directory_to_be_started_now(tmp_path: Path) -> None:
    (a,) = fill(tmp_path, "a")
    run = runqueue.take(tmp_path, a)
    assert run.exists() and queued_ids(tmp_path) == []


def test_slots_are_per_device_and_checked(tmp_path: Path) -> None:
    assert runqueue.read_queue(tmp_path).slots_for("cpu") == runqueue.DEFAULT_SLOTS
    assert runqueue.set_slots(tmp_path, "cuda", 3) == "cuda:0"
    runqueue.set_slots(tmp_path, "cpu", 0)
    state = runqueue.read_queue(tmp_path)
    assert (state.slots_for("cuda:0"), state.slots_for("cpu"), state.slots_for("mps")) == (3, 0, 1)
    with pytest.raises(QueueError, match="slots must be"):
        runqueue.set_slots(tmp_path, "cpu", -1)
    with pytest.raises(QueueError, match="device must be"):
        runqueue.set_slots(tmp_path, "tpu", 1)


def entry(run: str, device: str = "cpu") -> QueueEntry:
    return QueueEntry(run=run, device=device)


def test_next_to_start_keeps_each_device_s_order_and_its_slots() -> None:
    state = QueueState(
        slots={"cpu": 2, "cuda:1": 1},
        entries=[entry("a"), entry("b", "cuda:1"), entry("c"), entry("d", "cuda:1")],
    )
    assert runqueue.next_to_start(state, []).run == "a"
    assert runqueue.next_to_start(state, ["cpu", "cpu"]).run == "b"  # the GPU need not wait
    assert runqueue.next_to_start(state, ["cpu", "cpu", "cuda:1"]) is None
    assert runqueue.waits(state, ["cpu"]) == [
        "next",
        "next",
        "waits for a cpu slot",
        "waits for a cuda:1 slot",
    ]
    paused = QueueState(slots={"cpu": 0}, entries=[entry("a")])
    assert runqueue.next_to_start(paused, []) is None
    assert runqueue.waits(paused, []) == ["paused: cpu has 0 slots"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"entries": [', "not valid JSON"),
        ("[]", "object"),
        ('{"entries": [{"run": "../../etc", "device": "cpu"}]}', "not a run directory"),
        ('{"entries": [{"run": "a", "device": "cpu"}, {"run": "a", "device": "cpu"}]}', "twice"),
        ('{"slots": {"cpu": -2}}', "slots"),
    ],
)
def test_a_damaged_queue_file_is_a_clear_error_and_loses_nothing(
    tmp_path: Path, text: str, says: str
) -> None:
    (a,) = fill(tmp_path, "a")
    path = tmp_path / runqueue.QUEUE_FILE
    path.write_text(text)
    before = sorted(p.name for p in tmp_path.iterdir())
    for edit in (
        lambda: runqueue.enqueue(tmp_path, tiny("b")),
        lambda: runqueue.move(tmp_path, a, 1),
        lambda: runqueue.remove(tmp_path, a),
        lambda: runqueue.set_slots(tmp_path, "cpu", 2),
    ):
        with pytest.raises(QueueError) as caught:
            edit()
        message = str(caught.value)
        assert message.startswith(str(path)) and says in message and "\n" not in message
        assert "grok-tui queue rebuild" in message
    assert path.read_text() == text  # never rewritten
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no run made, none deleted
    assert store.RunDir(tmp_path / a).summary()["status"] == store.QUEUED


def test_rebuild_queues_again_every_waiting_run_and_keeps_the_damaged_file(
    tmp_path: Path,
) -> None:
    a, b, c = fill(tmp_path, "a", "b", "c")
    store.update_summary(tmp_path / b, status=store.COMPLETED)  # no longer waits
    (tmp_path / runqueue.QUEUE_FILE).write_text("{oops")
    count, kept = runqueue.rebuild(tmp_path)
    assert count == 2 and queued_ids(tmp_path) == [a, c]
    assert kept is not None and kept.read_text() == "{oops"


# -- the runner ------------------------------------------------------------------------------


class FakeStarts:
    """start() for the runner: marks the run live as a launcher would, no process."""

    def __init__(self, fail: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.started: list[str] = []
        self.live: dict[str, str] = {}
        self.fail = fail

    def __call__(self, run: store.RunDir) -> None:
        if run.run_id in self.fail:
            raise OSError("no such program")
        self.started.append(run.run_id)
        self.live[run.run_id] = run.summary()["device"]
        store.update_summary(run.path, status=store.RUNNING)

    def finish(self, run_id: str) -> None:
        del self.live[run_id]

    def devices(self) -> list[str]:
        return list(self.live.values())


def test_the_runner_starts_entries_as_slots_free_up(tmp_path: Path) -> None:
    a, b, c = fill(tmp_path, "a", "b", "c")
    (g,) = fill(tmp_path, "g", device="cuda:1")
    starts = FakeStarts()
    lines: list[str] = []
    tick = lambda: runqueue.tick(tmp_path, starts, starts.devices, lines.append)  # noqa: E731
    assert tick() == 2  # one cpu slot: a starts, and the GPU's entry beside it
    assert starts.started == [a, g]
    assert queued_ids(tmp_path) == [b, c]
    assert tick() == 2 and starts.started == [a, g]  # nothing frees: nothing starts
    starts.finish(a)
    assert tick() == 1 and starts.started == [a, g, b]
    runqueue.set_slots(tmp_path, "cpu", 2)
    assert tick() == 0 and starts.started == [a, g, b, c]
    assert any(f"started {c} on cpu (2/2 slots in use)" == line for line in lines)


def test_the_runner_drops_entries_that_no_longer_wait(tmp_path: Path) -> None:
    a, b, c = fill(tmp_path, "a", "b", "c")
    runqueue.set_slots(tmp_path, "cpu", 0)
    store.delete_run(store.RunDir(tmp_path / a))  # deleted in History
    store.update_summary(tmp_path / b, status=store.STOPPED)  # started by hand, and stopped
    lines: list[str] = []
    assert runqueue.tick(tmp_path, FakeStarts(), list, lines.append) == 1
    assert queued_ids(tmp_path) == [c]
    assert lines == [
        f"dropped {a}: its run directory is gone",
        f"dropped {b}: it is stopped now",
    ]


def test_a_run_that_cannot_start_is_marked_failed_and_the_queue_goes_on(tmp_path: Path) -> None:
    a, b = fill(tmp_path, "a", "b")
    runqueue.set_slots(tmp_path, "cpu", 2)
    starts = FakeStarts(fail={a})
    lines: list[str] = []
    assert runqueue.tick(tmp_path, starts, starts.devices, lines.append) == 0
    assert starts.started == [b]
    summary = store.read_summary(tmp_path / a)
    assert summary["status"] == store.FAILED and "no such program" in summary["error"]


def test_serve_ends_when_the_queue_is_empty_and_lets_go_of_its_lock(tmp_path: Path) -> None:
    a, b = fill(tmp_path, "a", "b")
    starts = FakeStarts()
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:  # each look, the run that started ends
        sleeps.append(seconds)
        starts.live.clear()

    code = runqueue.serve(
        tmp_path, start=starts, live=starts.devices, sleep=sleep, log=lambda line: None
    )
    assert code == 0 and starts.started == [a, b] and len(sleeps) == 1
    with ownership.DirLock(tmp_path, runqueue.RUNNER_LOCK):  # free again
        pass


def test_a_second_runner_ends_at_once_and_a_damaged_queue_ends_the_runner(
    tmp_path: Path,
) -> None:
    fill(tmp_path, "a")
    lines: list[str] = []
    with ownership.DirLock(tmp_path, runqueue.RUNNER_LOCK):
        assert runqueue.serve(tmp_path, start=FakeStarts(), live=list, log=lines.append) == 0
    assert "already serves" in lines[-1]
    (tmp_path / runqueue.QUEUE_FILE).write_text("nonsense")
    assert runqueue.serve(tmp_path, start=FakeStarts(), live=list, log=lines.append) == 2
    assert lines[-1].startswith("error: ") and "not valid JSON" in lines[-1]


def test_ensure_runner_starts_one_only_when_runs_wait_and_none_serves(
    tmp_path: Path, no_runner_started: list[Path]
) -> None:
    start = runqueue.start_runner
    assert runqueue.ensure_runner(tmp_path, start) is None  # no queue at all
    runqueue.set_slots(tmp_path, "cpu", 1)
    assert runqueue.ensure_runner(tmp_path, start) is None  # an empty queue
    fill(tmp_path, "a")
    assert runqueue.ensure_runner(tmp_path, start) == os.getpid()
    assert runqueue.ensure_runner(tmp_path, start) is None  # the one started still lives
    assert no_runner_started == [tmp_path]


# -- grok-tui queue ----------------------------------------------------------------------------


def queue_cli(runs: Path, *args: str) -> int:
    return cli.main(["queue", *args, "--runs-dir", str(runs)])


def test_the_queue_command_adds_lists_moves_removes_and_sets_slots(
    tmp_path: Path,
    tiny_preset_path: Path,
    capsys: pytest.CaptureFixture[str],
    no_runner_started: list[Path],
) -> None:
    runs = tmp_path / "runs"
    assert queue_cli(runs) == 0
    assert "the queue is empty" in capsys.readouterr().out
    assert queue_cli(runs, "add", str(tiny_preset_path)) == 0
    assert queue_cli(runs, "add", str(tiny_preset_path), "--set", "name=second") == 0
    out = capsys.readouterr().out
    assert out.count("queued ") == 2 and "at position 2 on cpu" in out
    assert no_runner_started == [runs]  # the second add finds the first runner alive
    first, second = queued_ids(runs)
    assert "second" in second
    assert queue_cli(runs, "move", "2", "top") == 0
    assert queued_ids(runs) == [second, first]
    assert queue_cli(runs, "slots", "cpu", "0") == 0
    assert queue_cli(runs, "list") == 0
    out = capsys.readouterr().out
    assert "slots: cpu 0/0 live" in out
    assert out.index(second) < out.index(first) and "paused: cpu has 0 slots" in out
    assert queue_cli(runs, "remove", "1") == 0
    assert queued_ids(runs) == [first] and not (runs / second).exists()
    assert queue_cli(runs, "remove", "5") == 2
    assert "no entry 5: the queue holds 1" in capsys.readouterr().err


def test_the_queue_command_says_what_is_wrong_in_one_line(
    tmp_path: Path, tiny_preset_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    assert queue_cli(runs, "add", str(tiny_preset_path), "--set", "data.p=8") == 2
    assert "p must be prime" in capsys.readouterr().err and not runs.exists()
    assert queue_cli(runs, "add", str(tiny_preset_path)) == 0
    (runs / runqueue.QUEUE_FILE).write_text('{"entries": 3}')
    capsys.readouterr()
    assert queue_cli(runs, "list") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "queue rebuild" in err
    assert queue_cli(runs, "rebuild") == 0
    assert "1 run(s) in the queue" in capsys.readouterr().out


# -- real processes ------------------------------------------------------------------------------


@pytest.mark.slow  # starts processes
def test_queued_runs_train_one_after_another_in_real_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner (in a thread here) starts the fake trainer through rundirs/launch.py, one
    run per cpu slot, each as the last ends; then it ends."""
    monkeypatch.setattr(launch, "RUN_COMMAND", FAKE)
    monkeypatch.setenv("GROK_FAKE_DELAY", "0.01")
    runs = tmp_path / "runs"
    ids = fill(runs, "a", "b", "c")
    result: dict[str, Any] = {}
    live_at_start: list[int] = []

    def start(run: store.RunDir) -> int:
        live_at_start.append(len(watch.live_runs(runs)))
        return launch.resume_run(run)

    runner = threading.Thread(
        target=lambda: result.setdefault(
            "code", runqueue.serve(runs, start=start, poll_s=0.1, log=lambda line: None)
        )
    )
    runner.start()
    runner.join(timeout=60)
    assert not runner.is_alive() and result["code"] == 0
    assert store.wait_for(
        lambda: all(store.read_summary(runs / i)["status"] == "completed" for i in ids), 20
    )
    assert live_at_start == [0, 0, 0]  # one slot: each started once the last had ended
    summaries = [store.read_summary(runs / i) for i in ids]
    assert [s["started_at"] for s in summaries] == sorted(s["started_at"] for s in summaries)
    assert queued_ids(runs) == []


@pytest.mark.slow  # starts processes
def test_a_detached_runner_serves_until_stopped_or_the_queue_is_empty(tmp_path: Path) -> None:
    """`grok-tui queue run` as the TUI starts it: it takes the runner lock and waits while
    the only device is paused; stopped, it leaves the queue as it was; a second one ends
    once the last entry is removed."""
    runs = tmp_path / "runs"
    runqueue.set_slots(runs, "cpu", 0)
    (a,) = fill(runs, "a")
    pids = []
    try:
        pids.append(START_QUEUE_RUNNER(runs))
        assert store.wait_for(lambda: runqueue.runner_pid(runs) == pids[0], 20)
        assert not runqueue.wants_runner(runs)
        assert runqueue.stop_runner(runs)
        assert launch.wait_until_gone(pids[0], 20)
        assert queued_ids(runs) == [a] and runqueue.wants_runner(runs)
        pids.append(START_QUEUE_RUNNER(runs))
        assert store.wait_for(lambda: runqueue.runner_pid(runs) == pids[1], 20)
        runqueue.remove(runs, a)
        assert launch.wait_until_gone(pids[1], 20)
    finally:
        for pid in pids:
            if ownership.pid_alive(pid):
                os.kill(pid, 15)
    log = (runs / "logs" / "queue.log").read_text()
    assert "stopped: the queue waits for the next runner" in log
    assert log.rstrip().splitlines()[-1].startswith("the queue is empty: the runner ends")
    assert json.loads((runs / runqueue.QUEUE_FILE).read_text())["entries"] == []

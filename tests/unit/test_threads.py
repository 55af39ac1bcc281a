"""A CPU run takes the threads the CPUs free for it leave room for: its affinity, its
cgroup's quota, what other processes keep busy (less itself and the other grok-tui runs,
which share what is left) and what its model can use. The kernel's figures are fakes
here (FakeBox): no real load is needed."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch

from grok_tui.config import Preset
from grok_tui.rundirs import store, threads
from grok_tui.rundirs.threads import Machine, ThreadShare, live_cpu_runs, share
from grok_tui.training.torch_threads import thread_share, torch_threads

MACHINE = Machine  # the real class, also while a test puts a FakeBox in its place
QUICKSTART = {"device": "cpu", "param_count": 156_000, "batch_size": 512}  # ~19 threads' work


def fake_run(runs: Path, name: str, **summary) -> store.RunDir:
    run = store.create_run(Preset(name=name), runs)
    store.update_summary(run.path, **summary)
    return run


def running_here(**extra):
    return {"status": "running", "pid": os.getpid(), "host": socket.gethostname(), **extra}


def test_share_divides_the_cores_and_keeps_one_thread_at_least():
    assert share(8, 1) == 8
    assert share(8, 3) == 2
    assert share(2, 3) == 1
    assert share(4, 0) == 4


def test_live_cpu_runs_counts_running_cpu_runs_of_this_host_only(tmp_path):
    fake_run(tmp_path, "a", **running_here(device="cpu"))
    fake_run(tmp_path, "b", **running_here(device="cuda:0"))  # a GPU run takes no cores
    fake_run(tmp_path, "c", **running_here(device="cpu", host="elsewhere"))
    fake_run(tmp_path, "d", status="completed", device="cpu", host=socket.gethostname())
    fake_run(tmp_path, "e", **running_here(device="cpu", pid=2**22 + 12345))  # dead pid
    assert live_cpu_runs(tmp_path) == 1
    old = fake_run(tmp_path, "f", **running_here(device="cpu"))
    assert live_cpu_runs(tmp_path) == 2
    os.utime(old.summary_path, (0, 0))  # not rewritten for ages: not read at all
    assert live_cpu_runs(tmp_path) == 1
    for index in range(3):  # a vectorised group's members train in one process
        group = {"id": "group-g", "index": index, "size": 3}
        fake_run(tmp_path, f"g{index}", **running_here(device="cpu", group=group))
    assert live_cpu_runs(tmp_path) == 2


class FakeBox:
    """A machine's CPU figures as /proc/stat and /proc/PID/stat would give them."""

    def __init__(self, cpus: int, *, affinity=None, quota=None) -> None:
        self.ticks = {cpu: [0, 0] for cpu in range(cpus)}  # busy, total
        self.affinity = set(affinity if affinity is not None else range(cpus))
        self.quota = quota
        self.cgroup_used = 0.0 if quota is not None else None
        self.now = 1000.0
        self.own = 0.0
        self.pids: dict[int, float] = {}
        self.applied: list[int] = []

    def run(self, seconds: float, *, others: float = 0.0, own: float = 0.0, pids=None) -> None:
        """`seconds` pass with `others` CPUs busy with other processes, `own` with this
        one and pids[pid] with each other grok-tui run, spread over the allowed CPUs
        first (where this process runs), then the rest."""
        pids = pids or {}
        busy = others + own + sum(pids.values())
        order = sorted(self.affinity) + sorted(set(self.ticks) - self.affinity)
        for cpu in order:
            take = min(1.0, busy)
            busy -= take
            self.ticks[cpu][0] += round(take * seconds * 100)
            self.ticks[cpu][1] += round(seconds * 100)
        self.own += own * seconds
        for pid, cpus in pids.items():
            self.pids[pid] = self.pids.get(pid, 0.0) + cpus * seconds
        if self.cgroup_used is not None:
            self.cgroup_used += (others + own + sum(pids.values())) * seconds
        self.now += seconds

    def proc_stat(self) -> str:
        total = [sum(t[i] for t in self.ticks.values()) for i in (0, 1)]
        lines = [f"cpu  {total[0]} 0 0 {total[1] - total[0]} 0 0 0 0 0 0"]
        for cpu, (busy, all_) in self.ticks.items():
            # user, nice, system, idle, iowait, irq, softirq, steal, guest, guest_nice
            lines.append(f"cpu{cpu} {busy - busy // 4} 0 {busy // 4} {all_ - busy} 0 0 0 0 0 0")
        return "\n".join([*lines, "intr 1 2 3", "procs_running 3"]) + "\n"

    def machine(self) -> Machine:
        return MACHINE(
            proc_stat=self.proc_stat,
            affinity=lambda: set(self.affinity),
            cgroup=lambda: (self.quota, self.cgroup_used),
            own_cpu_s=lambda: self.own,
            process_cpu_s=lambda pid: self.pids.get(pid),
            load_average=lambda: None,
            clock=lambda: self.now,
        )

    def share(self, runs: Path, **kwargs) -> ThreadShare:
        return ThreadShare(
            runs, machine=self.machine(), apply=self.applied.append, current=torch_threads, **kwargs
        )


@pytest.fixture(autouse=True)
def no_omp_setting(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)


def started(box: FakeBox, sink: ThreadShare, info=None, **load) -> dict:
    """The window before the first step (the model being built), then on_start."""
    box.run(0.5, **load)
    sink.on_start(info or QUICKSTART)
    summary: dict = {}
    sink.on_record({}, summary)
    return summary


def test_two_cpus_kept_busy_by_other_processes_leave_one_thread(tmp_path):
    # today's choice was cores // live runs = 2 threads, whatever else ran: 2-6 steps/s
    # at load 6-9 on such a machine, against 31-40 with one thread
    box = FakeBox(2)
    sink = box.share(tmp_path)
    summary = started(box, sink, others=2.0)
    assert box.applied == [1]
    assert summary["threads"] == {"n": 1, "why": "2 CPUs, 2.0 busy with other processes"}


def test_idle_cpus_and_one_run_give_a_thread_per_cpu(tmp_path):
    box = FakeBox(8)
    sink = box.share(tmp_path)
    summary = started(box, sink, others=0.1)
    assert box.applied == [8]
    assert summary["threads"]["why"] == "8 CPUs, 0.1 busy with other processes"


def test_the_process_s_own_work_is_not_taken_for_load(tmp_path):
    box = FakeBox(2)
    sink = box.share(tmp_path)
    started(box, sink, own=2.0)  # building the model on both CPUs
    assert box.applied == [2]


def test_a_cgroup_quota_of_one_and_a_half_cpus_gives_one_thread(tmp_path):
    box = FakeBox(8, quota=1.5)
    summary = started(box, box.share(tmp_path))
    assert box.applied == [1]
    assert "cgroup quota 1.5 CPUs" in summary["threads"]["why"]


def test_the_quota_s_other_processes_spend_it_too(tmp_path):
    box = FakeBox(8, quota=4.0)  # the cgroup's other processes use 2 of its 4 CPUs
    summary = started(box, box.share(tmp_path), others=2.0)
    assert box.applied == [2]
    assert "(2.0 used by its other processes)" in summary["threads"]["why"]


def test_an_affinity_of_one_cpu_gives_one_thread(tmp_path):
    box = FakeBox(8, affinity={3})
    summary = started(box, box.share(tmp_path))
    assert box.applied == [1]
    assert summary["threads"]["why"].startswith("1 CPU, 0.0 busy")


def test_only_the_allowed_cpus_load_counts(tmp_path):
    box = FakeBox(8, affinity={0, 1})
    box.affinity = {0, 1}
    sink = box.share(tmp_path)
    box.run(0.5, others=6.0)  # spread over the 8 CPUs: first 0 and 1 ...
    box.ticks[0][0] -= 50  # ... but here CPUs 0 and 1 stayed idle, the other six were busy
    box.ticks[1][0] -= 50
    for cpu in range(2, 8):
        box.ticks[cpu][0] = box.ticks[cpu][1]
    sink.on_start(QUICKSTART)
    assert box.applied == [2]


def test_a_tiny_model_takes_one_thread_on_idle_cpus(tmp_path):
    box = FakeBox(8)
    tiny = {"device": "cpu", "param_count": 6_000, "batch_size": 64}
    summary = started(box, box.share(tmp_path), tiny)
    assert box.applied == [1]
    assert summary["threads"]["why"].endswith("; the model keeps 1 busy")
    group = started(box, box.share(tmp_path, members=2), {**tiny, "param_count": 1_000_000})
    assert box.applied[-1] == 8 and "model" not in group["threads"]["why"]


def test_threads_follow_the_load_at_evaluations(tmp_path):
    box = FakeBox(4)
    sink = box.share(tmp_path, interval=2.0)
    summary = started(box, sink)
    assert box.applied == [4]
    box.run(1.0, others=3.0, own=1.0)  # 4 CPUs, 3 busy with others
    sink.on_record({}, summary)  # within the interval: not looked at
    assert box.applied == [4]
    box.run(1.5, others=3.0, own=1.0)
    sink.on_record({}, summary)
    assert box.applied == [4, 1] and summary["threads"]["n"] == 1
    box.run(3.0, others=1.3, own=1.0)
    sink.on_record({}, summary)
    assert box.applied == [4, 1, 2] and summary["threads"]["n"] == 2  # 2.7 free: not 3
    box.run(3.0, own=2.0)
    sink.on_record({}, summary)
    assert box.applied == [4, 1, 2, 4]
    box.run(3.0, others=0.3, own=3.7)  # 3.7 free: a running thread keeps its place
    sink.on_record({}, summary)
    assert box.applied == [4, 1, 2, 4]
    assert summary["threads"]["why"] == "4 CPUs, 0.3 busy with other processes"


def test_other_grok_tui_runs_share_the_free_cpus_and_are_not_load(tmp_path):
    sibling = os.getppid()  # a live process other than this one: a run's trainer
    fake_run(tmp_path, "other", **running_here(device="cpu", pid=sibling))
    box = FakeBox(8)
    box.pids[sibling] = 0.0
    sink = box.share(tmp_path)
    summary = started(box, sink, pids={sibling: 4.0})
    assert box.applied == [4]
    assert summary["threads"]["why"] == (
        "8 CPUs, 0.0 busy with other processes, shared by 2 grok-tui runs"
    )


def test_a_run_beside_busy_processes_sets_torch_to_one_thread(tmp_path, monkeypatch):
    # only what ThreadShare offered before issue 34: that code took cores // live runs
    # (2 here) and fails this test
    box = FakeBox(2)
    monkeypatch.setattr(threads, "Machine", box.machine, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    before = torch.get_num_threads()
    try:
        sink = thread_share(tmp_path)  # the trainer's: torch's threads
        box.run(0.5, others=2.0)
        sink.on_start(QUICKSTART)
        box.run(10.0, others=2.0)
        sink.on_record({}, {})
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize(("device", "env"), [("cuda:0", None), ("cpu", "3")])
def test_thread_share_leaves_gpu_runs_and_an_explicit_omp_setting_alone(
    tmp_path, monkeypatch, device, env
):
    if env is not None:
        monkeypatch.setenv("OMP_NUM_THREADS", env)
    box = FakeBox(64)
    sink = box.share(tmp_path, interval=0.0)
    box.run(1.0)
    sink.on_start({**QUICKSTART, "device": device})
    summary: dict = {}
    sink.on_record({}, summary)
    assert box.applied == [] and sink.threads is None
    if env is None:
        assert "threads" not in summary
    else:  # kept, and said
        assert summary["threads"] == {
            "n": torch.get_num_threads(),
            "why": "OMP_NUM_THREADS=3: kept",
        }


def test_a_group_s_process_is_limited_and_every_member_says_so(tmp_path, tiny_preset_path):
    from grok_tui.config import load_preset
    from grok_tui.training.group import GroupTrainer, train_group
    from tests.support.sinks import Collect

    steps = ["train.steps=20", "train.eval_every=10", "train.checkpoint_every=20"]
    members = [load_preset(tiny_preset_path, [*steps, f"train.seed={s}"]) for s in range(3)]
    box = FakeBox(2)
    share_ = box.share(tmp_path, members=3)
    box.run(0.5, others=2.0)
    seen = [Collect() for _ in members]
    sinks = [[share_ if i == 0 else share_.echo(), seen[i]] for i in range(3)]
    summaries = train_group(GroupTrainer(members), sinks)
    assert box.applied == [1]
    assert all(s["threads"]["n"] == 1 for s in summaries)


def test_proc_stat_is_read_per_cpu_and_steal_counts_as_busy():
    text = "cpu  9 9 9 9 9 9 9 9 9 9\ncpu0 10 1 2 100 3 4 5 6 7 0\ncpu1 1 0 0 9\nintr 5\n"
    assert threads.proc_stat_cpus(text) == {0: (28, 131), 1: (1, 10)}
    assert threads.proc_stat_cpus(None) == {}
    assert threads.process_cpu_s(os.getpid()) is not None


def test_cgroup_quota_is_the_smallest_on_the_way_to_the_root(tmp_path):
    scope = tmp_path / "user.slice" / "session.scope"
    scope.mkdir(parents=True)
    (tmp_path / "cpu.max").write_text("max 100000\n")
    (tmp_path / "user.slice" / "cpu.max").write_text("150000 100000\n")
    (tmp_path / "user.slice" / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 1\n")
    (scope / "cpu.max").write_text("max 100000\n")
    v2 = "0::/user.slice/session.scope\n"
    assert threads.cgroup_cpus(tmp_path, v2) == (1.5, 2.5)
    # a container shows the host's path, above its mount: the mount's own files count
    assert threads.cgroup_cpus(tmp_path, "0::/docker/abc\n") == (None, None)
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpuacct").mkdir()
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("200000\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    (v1 / "cpuacct" / "cpuacct.usage").write_text("3000000000\n")
    assert threads.cgroup_cpus(v1, "4:cpu,cpuacct:/docker/abc\n3:cpuacct:/x\n") == (2.0, 3.0)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert threads.cgroup_cpus(v1, "4:cpu,cpuacct:/docker/abc\n") == (None, None)


def test_the_progress_line_says_the_threads_and_why_when_they_change():
    import io

    from grok_tui.training.progress import ProgressSink

    record = {"step": 50, "epoch": 5, "train_loss": 1.0, "train_acc": 0.5, "test_loss": 2.0,
              "test_acc": 0.1, "lr": 1e-3, "elapsed_s": 1.0}  # fmt: skip
    for tty in (False, True):
        out = io.StringIO()
        sink = ProgressSink(100, out, tty=tty)
        busy = {"n": 1, "why": "2 CPUs, 1.9 busy with other processes"}
        sink.on_record(record, {"threads": busy, "steps_per_s": 40.0})
        sink.on_record({**record, "step": 100}, {"threads": {**busy, "why": "2 CPUs, 2.0 busy"}})
        sink.on_record({**record, "step": 100}, {"threads": {"n": 2, "why": "2 CPUs, 0.1 busy"}})
        text = out.getvalue()
        said = [line for line in text.replace("\r", "\n").splitlines() if "threads: " in line]
        assert said == [
            "\x1b[2Kthreads: 1 (2 CPUs, 1.9 busy with other processes)" if tty else
            "threads: 1 (2 CPUs, 1.9 busy with other processes)",
            "\x1b[2Kthreads: 2 (2 CPUs, 0.1 busy)" if tty else "threads: 2 (2 CPUs, 0.1 busy)",
        ]  # fmt: skip
        assert (
            "40 steps/s · 1 thread │" if tty else "steps_per_s=40.0 elapsed_s=1.0 threads=1\n"
        ) in text


def test_the_live_status_line_says_a_cpu_run_s_threads(tmp_path):
    from grok_tui.rundirs.watch import RunFollower
    from grok_tui.tui.screens.live import status_text

    run = fake_run(tmp_path, "a", status="completed", device="cpu", threads={"n": 2, "why": "x"})
    follower = RunFollower(run)
    follower.poll()
    assert "· cpu 2 threads" in status_text(follower).plain


@pytest.mark.slow  # starts processes
def test_the_shared_box_bench_sums_up_rounds_and_kills_its_busy_loops(tmp_path):
    from grok_tui.bench import shared_box

    def row(busy, way, rate, threads=None):
        return {"busy": busy, "way": way, "steps_per_s": rate, "threads": threads,
                "others_busy_cpus": 2.0, "load_average": [4.0, 3.0, 2.0]}  # fmt: skip

    rows = [
        row(2, "auto", 30.0, 1), row(2, "OMP_NUM_THREADS=1", 40.0), row(2, "OMP_NUM_THREADS=2", 3.0),
        row(2, "auto", 38.0, 1), row(2, "OMP_NUM_THREADS=1", 36.0), row(2, "OMP_NUM_THREADS=2", None),
    ]  # fmt: skip
    (table,) = shared_box.summarise(rows)
    assert table["steps_per_s"] == {
        "auto": 34.0,
        "OMP_NUM_THREADS=1": 38.0,
        "OMP_NUM_THREADS=2": 1.5,
    }
    assert table["auto_over_best"] == 0.89 and table["auto_threads"] == [1]
    assert "| 2 | 34.0 | 38.0 | 1.5 | 0.89x | 1 | 2.0 | 4.0 / 3.0 / 2.0 |" in (
        shared_box.format_table([table])
    )
    loops = shared_box.start_busy(2, tmp_path)
    shared_box.stop_busy(loops)
    assert all(loop.returncode is not None for loop in loops)

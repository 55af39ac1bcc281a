"""CPU runs of one runs directory share the cores instead of oversubscribing them."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch

from grok_tui import store
from grok_tui.config import Preset
from grok_tui.threads import ThreadShare, live_cpu_runs, share


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


def test_thread_share_sets_torch_threads_from_live_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    try:
        for name in "ab":
            fake_run(tmp_path, name, **running_here(device="cpu"))
        sink = ThreadShare(tmp_path, cores=4, interval=0.0)
        sink.on_start({"device": "cpu"})
        sink.on_record({}, {})
        assert sink.threads == torch.get_num_threads() == 2  # 4 cores, 2 live runs
        fake_run(tmp_path, "c", **running_here(device="cpu"))
        fake_run(tmp_path, "d", **running_here(device="cpu"))
        sink.on_record({}, {})
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize(("device", "env"), [("cuda:0", None), ("cpu", "3")])
def test_thread_share_leaves_gpu_runs_and_an_explicit_omp_setting_alone(
    tmp_path, monkeypatch, device, env
):
    if env is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", env)
    fake_run(tmp_path, "a", **running_here(device="cpu"))
    before = torch.get_num_threads()
    sink = ThreadShare(tmp_path, cores=64, interval=0.0)
    sink.on_start({"device": device})
    sink.on_record({}, {})
    assert sink.threads is None
    assert torch.get_num_threads() == before

"""The system figures of Live's status line, parsed from crafted /proc and nvidia-smi text
(grok_tui/rundirs/procstat.py): no process is started, no GPU is needed."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from grok_tui.rundirs import procstat
from grok_tui.rundirs.procstat import GpuFigures, ProcFigures, ProcSample, ProcSampler

# /proc/PID/stat of a python process whose name holds ") (" and spaces: fields after the
# last ")": state R, ..., utime 1234 (field 14), stime 66 (15), starttime 987654 (22)
STAT = (
    "4242 (python ) (x) R 4200 4242 4100 0 -1 4194304 9000 0 12 0 1234 66 0 0 20 0 "
    "3 0 987654 812345344 76543 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0"
)
STATM = "198321 76543 5120 1 0 120000 0\n"


def test_stat_gives_start_time_and_cpu_ticks_whatever_the_command_name() -> None:
    assert procstat.parse_stat(STAT) == (987654, 1234 + 66)
    zombie = STAT.replace(") R ", ") Z ")
    assert procstat.parse_stat(zombie) is None  # a zombie has ended
    assert procstat.parse_stat("4242 (python") is None
    assert procstat.parse_stat("") is None


def test_statm_gives_resident_pages() -> None:
    assert procstat.parse_statm(STATM) == 76543
    assert procstat.parse_statm("12") is None
    assert procstat.parse_statm("a b c") is None


def test_cpu_percent_is_the_tick_delta_over_the_wall_time() -> None:
    before, after = ProcSample(5, 1000, 10), ProcSample(5, 1150, 10)
    assert procstat.cpu_percent(before, after, 1.0, 100) == pytest.approx(150.0)  # 1.5 cores
    assert procstat.cpu_percent(before, after, 2.0, 100) == pytest.approx(75.0)
    assert procstat.cpu_percent(before, ProcSample(6, 1150, 10), 1.0, 100) is None  # pid reused
    assert procstat.cpu_percent(before, after, 0.0, 100) is None


def test_nvidia_smi_output_is_read_and_its_gaps_are_not_numbers() -> None:
    assert procstat.parse_gpu("45, 2048, 81559\n") == GpuFigures(45.0, 2048.0, 81559.0)
    assert procstat.parse_gpu("[N/A], 512, 16384\n") == GpuFigures(None, 512.0, 16384.0)
    assert procstat.parse_gpu(" 3, 100, 200\n7, 1, 2\n") == GpuFigures(3.0, 100.0, 200.0)
    for broken in ("", "No devices were found\n", "1, 2\n", "1, [N/A], [N/A]\n", "1, 2, 0\n"):
        assert procstat.parse_gpu(broken) is None, broken


def test_the_device_of_a_run_is_what_nvidia_smi_i_takes() -> None:
    assert procstat.gpu_id("cpu", None) is None
    assert procstat.gpu_id(None, None) is None
    assert procstat.gpu_id("cuda", None) == "0"
    assert procstat.gpu_id("cuda:1", None) == "1"
    assert procstat.gpu_id("cuda:1", "2,3") == "3"  # the run saw two of the machine's GPUs
    assert procstat.gpu_id("cuda", "GPU-8f1e") == "GPU-8f1e"
    assert procstat.gpu_id("cuda:2", "0") is None
    environ = b"HOME=/root\0CUDA_VISIBLE_DEVICES=2,3\0PATH=/bin\0"
    assert procstat.visible_devices(environ) == "2,3"
    assert procstat.visible_devices(b"HOME=/root\0") is None


def test_the_figures_read_as_one_short_line() -> None:
    proc = ProcFigures(98.4, 312 * 1024 * 1024)
    gpu = GpuFigures(45.0, 2048.0, 81559.0)
    assert procstat.figures_text(proc, gpu) == "CPU 98% RSS 312M · GPU 45% 2.0G/80G"
    assert procstat.figures_text(ProcFigures(None, 50 * 1024 * 1024), None) == "RSS 50M"
    assert procstat.figures_text(None, GpuFigures(None, 512.0, 16384.0)) == "GPU 512M/16G"
    assert procstat.figures_text(None, None) == ""


def test_only_a_run_of_this_host_has_a_pid_to_read() -> None:
    here, pid = socket.gethostname(), os.getpid()
    assert procstat.local_pid({"pid": pid, "host": here}) == pid
    owner = {"host": here, "pid": pid, "started": None, "cmdline": []}
    assert procstat.local_pid({"owner": owner}) == pid
    assert procstat.local_pid({"pid": pid, "host": here + "-elsewhere"}) is None
    assert procstat.local_pid({}) is None


def crafted_proc(root: Path, pid: int, ticks: int, pages: int, started: int = 987654) -> None:
    folder = root / str(pid)
    folder.mkdir(parents=True, exist_ok=True)
    stat = STAT.replace(" 1234 66 ", f" {ticks} 0 ").replace(" 987654 ", f" {started} ")
    (folder / "stat").write_text(stat)
    (folder / "statm").write_text(f"100 {pages} 0 0 0 0 0\n")


def test_the_sampler_counts_cpu_from_the_ticks_between_two_looks(tmp_path: Path) -> None:
    now = [100.0]
    sampler = ProcSampler(tmp_path, clock=lambda: now[0])
    sampler.hz, sampler.page = 100, 4096
    crafted_proc(tmp_path, 7, ticks=500, pages=256)
    assert sampler.sample(7) == ProcFigures(None, 256 * 4096)  # one look: no CPU yet
    now[0] += 2.0
    crafted_proc(tmp_path, 7, ticks=700, pages=512)
    assert sampler.sample(7) == ProcFigures(100.0, 512 * 4096)  # 200 ticks in 2 s: a core
    now[0] += 0.1  # too soon for a new CPU figure: the last one stays
    assert sampler.sample(7) == ProcFigures(100.0, 512 * 4096)
    now[0] += 1.0
    crafted_proc(tmp_path, 7, ticks=10, pages=8, started=1)  # another process, same pid
    assert sampler.sample(7) == ProcFigures(None, 8 * 4096)
    assert sampler.sample(8) is None  # gone


def test_the_sampler_reads_this_very_process(tmp_path: Path) -> None:
    figures = ProcSampler().sample(os.getpid())
    assert figures is not None and figures.rss_bytes > 1024 * 1024

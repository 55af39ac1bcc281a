"""Vectorised groups from the command line: --seeds, --split-seeds, --vectorize, the run
directories they fill, stop, kill -9 and resume, and the planner that groups points."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from grok_tui.cli import main
from grok_tui.config import Preset, PresetError, load_preset
from grok_tui.errors import OptionError
from grok_tui.rundirs import store
from grok_tui.sweep import list_sweeps, read_sweep_dir
from grok_tui.sweep.executor import PointJob, jobs_to_run
from grok_tui.sweep.groups import auto_size, describe_plan, parse_vectorize, plan
from grok_tui.sweep.spec import with_seeds
from grok_tui.training.loop import train
from tests.conftest import TINY_PRESET
from tests.support.processes import grok
from tests.support.sinks import Collect

# Its module-scoped fixture is built once: every test of the module on one test worker.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("group-runs")]

# The tiny MLP, long enough to be stopped and killed half-way (a few seconds in all).
STEPS = 2000
LONG = TINY_PRESET.replace("steps = 60", f"steps = {STEPS}").replace(
    "eval_every = 10\ncheckpoint_every = 20", "eval_every = 100\ncheckpoint_every = 100"
)
SEEDS = ("--seeds", "2", "--split-seeds", "2", "--vectorize", "4")


def records(run: store.RunDir) -> list[dict[str, Any]]:
    """A run's records without the wall clock (the one field that may differ)."""
    rows = [json.loads(line) for line in run.metrics_path.read_text().splitlines()]
    return [{k: v for k, v in row.items() if k != "elapsed_s"} for row in rows]


def member_runs(runs: Path) -> list[store.RunDir]:
    (sweep_dir,) = list_sweeps(runs)
    return [point.run for point in sweep_dir.points()]


def wait_until(predicate: Any, timeout: float = 120.0) -> None:
    assert store.wait_for(predicate, timeout=timeout, interval=0.02), "timed out"


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[store.RunDir], str]:
    """2 seeds x 2 split seeds of the long tiny MLP, trained as one group uninterrupted."""
    tmp = tmp_path_factory.mktemp("group")
    (tmp / "tiny.toml").write_text(LONG)
    result = grok("--run", str(tmp / "tiny.toml"), *SEEDS, "--runs-dir", str(tmp / "runs"))
    assert result.returncode == 0, result.stdout + result.stderr
    return tmp, member_runs(tmp / "runs"), result.stdout


def test_seeds_train_as_one_group_whose_members_are_their_solo_runs(reference):
    tmp, runs, out = reference
    assert "grid of 4 points over train.seed (2) x data.split_seed (2)" in out
    assert "vectorised (--vectorize 4): 1 vectorised group (4)" in out
    assert "sweep done: 4 points · 4 completed" in out
    ids = set()
    for index, run in enumerate(runs):
        summary = run.summary()
        preset = run.load_preset()
        assert summary["status"] == "completed" and summary["step"] == STEPS
        assert summary["group"]["index"] == index and summary["group"]["size"] == 4
        ids.add(summary["group"]["id"])
        assert summary["sweep"]["coords"] == {
            "train.seed": preset.train.seed,
            "data.split_seed": preset.data.split_seed,
        }
        if index not in (0, 3):  # the two members that differ in both seeds, to save time
            continue
        solo = Collect()
        train(preset, [solo])  # the solo engine, in this process
        expected = [{k: v for k, v in r.items() if k != "elapsed_s"} for r in solo.records]
        assert records(run) == expected  # every loss, accuracy and norm, bit for bit
        for key in ("fit_step", "grok_step", "best_test_acc"):
            assert summary.get(key) == solo.end.get(key), key
    assert len(ids) == 1
    assert {(p.train.seed, p.data.split_seed) for p in (r.load_preset() for r in runs)} == {
        (0, 0),
        (0, 1),
        (1, 0),
        (1, 1),
    }


def test_stop_kill_and_resume_give_the_records_of_the_uninterrupted_group(reference, tmp_path):
    _, reference_runs, _ = reference
    (tmp_path / "tiny.toml").write_text(LONG)
    runs_dir = tmp_path / "runs"
    command = [sys.executable, "-m", "grok_tui", "--runs-dir", str(runs_dir)]
    driver = subprocess.Popen(
        [*command, "--run", str(tmp_path / "tiny.toml"), *SEEDS],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_until(lambda: list_sweeps(runs_dir) and len(member_runs(runs_dir)) == 4)
    runs = member_runs(runs_dir)

    def checkpointed(members: list[store.RunDir], step: int) -> bool:
        return all((m.summary().get("checkpoint_step") or 0) >= step for m in members)

    # 1. SIGTERM (the TUI's s, or Ctrl-C) checkpoints every member and marks it stopped
    wait_until(lambda: checkpointed(runs, 300))
    driver.send_signal(signal.SIGTERM)
    out, _ = driver.communicate(timeout=60)
    assert driver.returncode == 143, out  # 128 + SIGTERM
    stopped_at = {run.summary()["step"] for run in runs}
    assert [run.summary()["status"] for run in runs] == ["stopped"] * 4, out
    assert len(stopped_at) == 1 and next(iter(stopped_at)) < STEPS
    assert all(run.checkpoint_path.exists() for run in runs)

    # 2. one member's checkpoint resumes alone, in the solo engine
    alone = grok("--resume", str(runs[0].path))
    assert alone.returncode == 0, alone.stdout + alone.stderr
    assert records(runs[0]) == records(reference_runs[0])

    # 3. the sweep regroups the other three; kill -9 its group half-way
    (sweep_dir,) = list_sweeps(runs_dir)
    driver = subprocess.Popen(
        [*command, "--resume", str(sweep_dir.path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    rest = runs[1:]
    wait_until(
        lambda: (
            all(r.summary().get("status") == "running" for r in rest)
            and checkpointed(rest, max(stopped_at) + 300)
        )
    )
    group_pid = rest[0].summary()["pid"]
    assert {r.summary()["group"]["size"] for r in rest} == {3}
    os.kill(group_pid, signal.SIGKILL)
    driver.kill()
    driver.communicate(timeout=30)
    wait_until(lambda: all(store.effective_status(r.summary()) == "crashed" for r in rest))

    # 4. resumed again: every member ends with the uninterrupted group's records
    resumed = grok("--resume", str(sweep_dir.path))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "1 vectorised group (3)" in resumed.stdout
    assert "1 finished already" in resumed.stdout
    for run, ref in zip(runs, reference_runs, strict=True):
        assert run.summary()["status"] == "completed"
        assert records(run) == records(ref), run.run_id


def test_resuming_runs_together_needs_runs_of_one_shape(tmp_path, tiny_preset_path, capsys):
    runs = tmp_path / "runs"
    base = load_preset(tiny_preset_path)
    wide = base.model_copy(deep=True)
    wide.model.widths = [64]
    a, b = store.create_run(base, runs), store.create_run(wide, runs)
    assert main(["--resume", str(a.path), str(b.path)]) == 2
    assert "differ in model.widths: they are not one group" in capsys.readouterr().err
    assert main(["--resume", str(a.path), str(a.path)]) == 2
    assert "a run is named twice" in capsys.readouterr().err
    assert a.summary()["status"] == b.summary()["status"] == "created"  # nothing trained


def test_a_group_too_big_for_its_device_is_cut_with_a_message(tmp_path, tiny_preset_path, capsys):
    from grok_tui.training.group import memory
    from grok_tui.training.group.runner import execute_group
    from grok_tui.training.runner import StopFlag

    runs = []
    for seed in range(3):
        preset = load_preset(tiny_preset_path, [("train.seed", seed)])
        runs.append(store.create_run(preset, tmp_path / "runs"))
    per_member = memory.estimate(load_preset(tiny_preset_path))
    assert 0 < per_member < 2**24  # a tiny MLP: well under 16 MiB a member
    original = memory.available_ram
    try:  # room for two members only
        memory.available_ram = lambda: int(2.5 * per_member / memory.CPU_SHARE)
        assert execute_group(runs, stop=StopFlag()) == 0
    finally:
        memory.available_ram = original
    out = capsys.readouterr().out
    assert "a group of 3 does not fit" in out and "2 groups of <= 2" in out
    sizes = [run.summary()["group"]["size"] for run in runs]
    assert sizes == [2, 2, 1] and all(r.summary()["status"] == "completed" for r in runs)


# -- planning (torch-free) -----------------------------------------------------------------


def jobs_of(runs_dir: Path, presets: list[Preset]) -> list[PointJob]:
    return [
        PointJob(i + 1, preset.name, store.create_run(preset, runs_dir))
        for i, preset in enumerate(presets)
    ]


def test_the_planner_groups_what_may_share_a_group_and_says_what_may_not(tmp_path):
    tiny = load_preset_text(tmp_path, TINY_PRESET)
    seeds = [tiny.model_copy(update={}, deep=True) for _ in range(5)]
    for seed, preset in enumerate(seeds):
        preset.train.seed = seed
    lstm = load_preset_text(
        tmp_path,
        TINY_PRESET.replace(
            'type = "mlp"\nembed_dim = 16\nwidths = [32]', 'type = "lstm"\nhidden_size = 16'
        ),
    )
    jobs = jobs_of(tmp_path / "runs", [*seeds, lstm])
    groups, notes = plan(jobs, 4)
    assert [[j.index for j in g] for g in groups] == [[1, 2, 3], [4, 5], [6]]
    assert notes == [
        "not vectorised, a process each (#6): model.type = 'lstm': a recurrent model runs "
        "cuDNN/oneDNN's sequential kernels, which have no member dimension; it trains one "
        "process per point"
    ]
    assert describe_plan(groups) == "2 vectorised groups (3, 2) and 1 single point"
    assert plan(jobs, 1) == ([[j] for j in jobs], [])
    # a kill -9 can leave members one checkpoint apart: they regroup by step
    store.update_summary(jobs[0].run.path, checkpoint_step=200)
    groups, _ = plan(jobs[:5], 8)
    assert [[j.index for j in g] for g in groups] == [[1], [2, 3, 4, 5]]


def load_preset_text(tmp_path: Path, text: str) -> Preset:
    path = tmp_path / f"p{len(list(tmp_path.glob('p*.toml')))}.toml"
    path.write_text(text)
    return load_preset(path)


def test_auto_groups_where_the_benchmark_shows_it_pays(tmp_path, monkeypatch):
    from grok_tui.sweep import groups

    tiny = load_preset_text(tmp_path, TINY_PRESET)
    assert auto_size(tiny, "cpu") == groups.AUTO_CPU  # MLPs: 1.06x at N = 8 on 2 cores
    big = Preset.model_validate({"model": {"type": "transformer"}, "train": {"batch_size": 512}})
    assert big.data.p == 97 and auto_size(big, "cpu") == 1  # 0.96x: trains alone
    small = Preset.model_validate(
        {"data": {"p": 23}, "model": {"type": "transformer"}, "train": {"batch_size": 128}}
    )
    assert auto_size(small, "cpu") == groups.AUTO_CPU  # 1.22x
    assert auto_size(big, "cuda:0") == groups.AUTO_GPU
    monkeypatch.setattr(groups, "cuda_present", lambda: True)
    assert auto_size(big, "auto") == groups.AUTO_GPU
    monkeypatch.setattr(groups, "cuda_present", lambda: False)
    assert auto_size(big, "auto") == 1
    assert parse_vectorize("auto") == "auto" and parse_vectorize("8") == 8
    assert parse_vectorize(None) is None
    for bad in ("0", "-2", "many"):
        with pytest.raises(OptionError, match="--vectorize takes auto or a group size >= 1"):
            parse_vectorize(bad)


def test_seeds_cross_a_preset_or_a_grid_sweep(tmp_path):
    preset = tmp_path / "tiny.toml"
    preset.write_text(TINY_PRESET)
    sweep = with_seeds(preset, ["train.seed=5"], seeds=3, split_seeds=2)
    assert sweep.axes == {"train.seed": [5, 6, 7], "data.split_seed": [0, 1]}
    assert len(sweep.points()) == 6
    grid = tmp_path / "grid.toml"
    grid.write_text('extends = "tiny.toml"\n[sweep]\n"optim.lr" = [1e-3, 3e-3]\n')
    crossed = with_seeds(grid, seeds=2)
    assert [p.coords for p in crossed.points()] == [
        {"optim.lr": lr, "train.seed": s} for lr in (1e-3, 3e-3) for s in (0, 1)
    ]
    seeded = tmp_path / "seeded.toml"
    seeded.write_text('extends = "tiny.toml"\n[sweep]\n"train.seed" = [1, 2]\n')
    with pytest.raises(PresetError, match="train.seed is swept in \\[sweep\\] already"):
        with_seeds(seeded, seeds=2)
    zipped = tmp_path / "zip.toml"
    zipped.write_text(
        'extends = "tiny.toml"\n[sweep]\nmode = "zip"\n'
        '"optim.lr" = [1e-3, 3e-3]\n"train.steps" = [9, 12]\n'
    )
    paired = with_seeds(zipped, seeds=2)  # each zipped point at both seeds, still paired
    assert [p.coords for p in paired.points()] == [
        {"optim.lr": lr, "train.steps": steps, "train.seed": s}
        for lr, steps in ((1e-3, 9), (3e-3, 12))
        for s in (0, 1)
    ]
    assert [p.preset.train.steps for p in paired.points()] == [9, 9, 12, 12]
    uneven = tmp_path / "uneven.toml"
    uneven.write_text(
        'extends = "tiny.toml"\n[sweep]\nmode = "zip"\n"optim.lr" = [1e-3]\n"train.steps" = [9, 12]\n'
    )
    with pytest.raises(PresetError) as uneven_error:
        with_seeds(uneven, seeds=2)
    assert "uneven.toml:" in str(uneven_error.value)
    assert "sweep.mode: zip needs lists of one length" in str(uneven_error.value)
    with pytest.raises(PresetError, match="--split-seeds takes a count from 1"):
        with_seeds(preset, split_seeds=0)


def test_a_sweep_directory_remembers_its_vectorize_for_resume(tmp_path, capsys):
    preset = tmp_path / "tiny.toml"
    preset.write_text(TINY_PRESET.replace("steps = 60", "steps = 20"))
    runs = tmp_path / "runs"
    assert (
        main(["--run", str(preset), "--seeds", "2", "--vectorize", "1", "--runs-dir", str(runs)])
        == 0
    )
    out = capsys.readouterr().out
    assert "vectorised" not in out  # --vectorize 1: a process per point
    (sweep_dir,) = list_sweeps(runs)
    assert read_sweep_dir(sweep_dir.path).info["vectorize"] == 1
    todo, done, _ = jobs_to_run(sweep_dir)
    assert not todo and len(done) == 2
    assert all("group" not in p.run.summary() for p in sweep_dir.points())


def test_bench_vectorize_prints_the_speedup_of_a_group_over_solo_runs(monkeypatch, capsys):
    from grok_tui.bench import group as bench

    small = {
        "data": {"p": 11},
        "model": {"type": "transformer", "d_model": 16, "d_ff": 32, "heads": 2},
    }
    tiny_mlp = {"data": {"p": 11}, "model": {"type": "mlp", "embed_dim": 8, "widths": [16]}}
    monkeypatch.setattr(
        bench,
        "WORKLOADS",
        {"transformer": (small, 32), "mlp": (tiny_mlp, 32), "transformer-p23": (small, 16)},
    )
    assert main(["bench", "--vectorize", "3", "--quick", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("vectorised groups of 3 against 3 solo engine runs on cpu")
    assert [line.split()[0] for line in lines[1:4]] == ["transformer", "mlp", "transformer-p23"]
    figure = re.fullmatch(
        r"vectorize=3 speedup: transformer=(\d+\.\d\d)x mlp=(\d+\.\d\d)x", lines[-1]
    )
    assert figure and all(float(r) > 0 for r in figure.groups())
    with pytest.raises(SystemExit):
        main(["bench", "--vectorize", "0"])


def test_bench_scaling_times_groups_of_each_size_against_one(monkeypatch, capsys, tmp_path):
    from grok_tui.bench import group as bench

    tiny_mlp = {"data": {"p": 11}, "model": {"type": "mlp", "embed_dim": 8, "widths": [16]}}
    monkeypatch.setattr(bench, "SCALING", {"mlp": (tiny_mlp, ("tf32", "fp32"))})
    out = tmp_path / "scaling.json"
    assert (
        main(["bench", "--scaling", "1,3", "--quick", "--device", "cpu", "--json", str(out)]) == 0
    )
    rows = json.loads(out.read_text())["rows"]
    assert [(r["workload"], r["precision"], r["n"]) for r in rows] == [
        ("mlp", "fp32", 1),  # tf32 is a CUDA precision: the CPU measures fp32 alone
        ("mlp", "fp32", 3),
    ]
    assert rows[0]["time_ratio"] == 1.0 and rows[1]["time_ratio"] > 0
    assert rows[1]["member_steps_per_s"] > 0
    assert rows[0]["cuda_graphs"] is False  # the CPU steps eagerly
    table = capsys.readouterr().out.splitlines()
    assert table[0] == "vectorised groups of 1, 3 on cpu"
    assert table[-1].split()[:3] == ["mlp", "fp32", "3"] and table[-1].endswith(" no")
    with pytest.raises(SystemExit):
        main(["bench", "--scaling", "0,8"])

"""grok-tui export: one CSV of many runs' records, and TensorBoard event files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from grok_tui.cli import main
from grok_tui.config import load_preset
from grok_tui.export.table import csv_cell, varying_fields
from grok_tui.formats.tfevents import crc32c
from grok_tui.rundirs import store
from grok_tui.training.runner import execute
from tests.support.tfevents import read_events


def trained(tiny_preset_path: Path, runs: Path, *overrides: str) -> store.RunDir:
    preset = load_preset(tiny_preset_path, ["train.steps=20", "train.eval_every=10", *overrides])
    run = store.create_run(preset, runs)
    execute(preset, run)
    return run


def test_one_csv_holds_every_record_with_what_set_each_run_apart(tiny_preset_path, tmp_path):
    runs = tmp_path / "runs"
    a = trained(tiny_preset_path, runs, "optim.lr=1e-3")
    b = trained(tiny_preset_path, runs, "optim.lr=3e-3", "train.seed=7")
    out = tmp_path / "out" / "all.csv"
    assert main(["export", a.run_id, b.run_id, "--csv", str(out), "--runs-dir", str(runs)]) == 0
    rows = list(csv.DictReader(out.open()))
    header = next(csv.reader(out.open()))
    assert header[:3] == ["run_id", "optim.lr", "train.seed"]  # only what differs
    assert header[3:6] == ["step", "train_loss", "train_acc"] or "step" in header
    assert len(rows) == len(a.records()) + len(b.records()) == 6
    assert {(r["run_id"], r["optim.lr"], r["train.seed"]) for r in rows} == {
        (a.run_id, "0.001", "0"),
        (b.run_id, "0.003", "7"),
    }
    assert [int(r["step"]) for r in rows if r["run_id"] == a.run_id] == [0, 10, 20]


def test_varying_fields_and_csv_cells():
    presets = {
        "a": {"name": "x", "optim": {"lr": 1e-3, "betas": [0.9, 0.98]}, "train": {"seed": 0}},
        "b": {"name": "y", "optim": {"lr": 1e-3, "betas": [0.9, 0.99]}, "train": {}},
    }
    assert varying_fields(presets) == ["optim.betas", "train.seed"]  # absent counts as different
    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and csv_cell("-x") == "'-x"
    assert csv_cell(-0.5) == -0.5 and csv_cell(None) == "" and csv_cell("ok") == "ok"


def test_tensorboard_export_writes_valid_event_files(tiny_preset_path, tmp_path):
    runs = tmp_path / "runs"
    run = trained(tiny_preset_path, runs)
    logdir = tmp_path / "tb"
    assert main(["export", str(run.path), "--tensorboard", str(logdir)]) == 0
    (path,) = (logdir / run.run_id).glob("events.out.tfevents.*")
    events = read_events(path)
    assert b"brain.Event:2" in events[0]
    assert len(events) == 1 + len(run.records())
    assert all(b"train/acc" in e and b"test/loss" in e for e in events[1:])
    assert main(["export", str(run.path), "--tensorboard", str(logdir)]) == 0  # replaced
    assert len(list((logdir / run.run_id).iterdir())) == 1


def test_crc32c_matches_the_standard_check_value():
    assert crc32c(b"123456789") == 0xE3069283


def test_a_sweep_stands_for_its_points_and_mistakes_exit_2(tiny_preset_path, tmp_path, capsys):
    from grok_tui.sweep.spec import load_sweep
    from grok_tui.sweep.sweepdir import create_sweep_dir

    (tmp_path / "grid.toml").write_text(
        f'extends = "{tiny_preset_path}"\nname = "grid"\n[train]\nsteps = 20\n'
        'eval_every = 10\n[sweep]\n"optim.weight_decay" = [0.1, 1.0]\n'
    )
    sweep = load_sweep(tmp_path / "grid.toml")
    sweep_dir = create_sweep_dir(sweep, sweep.points(), tmp_path / "runs")
    for point in sweep_dir.points():
        execute(point.run.load_preset(), point.run)
    out = tmp_path / "grid.csv"
    assert main(["export", str(sweep_dir.path), "--csv", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 6 and {r["optim.weight_decay"] for r in rows} == {"0.1", "1.0"}
    assert (
        main(
            ["export", sweep_dir.path.name, "--csv", str(out), "--runs-dir", str(tmp_path / "runs")]
        )
        == 0
    )

    missing = ["export", "nothing", "--csv", str(tmp_path / "x.csv"), "--runs-dir", str(tmp_path)]
    assert main(missing) == 2
    assert "no run or sweep 'nothing'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:  # neither --csv nor --tensorboard
        main(["export", "nothing"])
    assert exit_info.value.code == 2

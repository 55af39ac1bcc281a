"""Sweep files: expansion, validation with coordinates, the sweep directory, the report.

No training here (see test_sweep_exec.py): summaries are written by hand where a
report needs figures.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

from grok_tui.cli import main
from grok_tui.config import PresetError
from grok_tui.rundirs import store
from grok_tui.sweep import (
    create_sweep_dir,
    describe,
    expand,
    find_sweep,
    format_value,
    is_sweep_dir,
    is_sweep_file,
    list_sweeps,
    load_sweep,
    point_label,
    read_sweep_dir,
    recreate_missing,
    sweep_of_run,
)
from grok_tui.sweep.commands import parse_devices
from grok_tui.sweep.executor import PointJob, ProcessExecutor, execute, jobs_to_run, sweep_lock
from grok_tui.sweep.heatmap import heatmap_grid, render_heatmap
from grok_tui.sweep.metrics import report_rows
from grok_tui.sweep.report import format_table, report_text, spread_table, write_csv
from tests.conftest import REPO
from tests.support.sweeps import GRID


@pytest.fixture
def sweep_file(tiny_preset_path: Path) -> Path:
    path = tiny_preset_path.parent / "grid.toml"
    path.write_text(GRID)
    return path


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text)
    return path


# -- expansion ----------------------------------------------------------------------


def test_grid_is_every_combination_first_field_slowest():
    points = expand({"optim.lr": [1, 2], "train.seed": [0, 1, 2]})
    assert len(points) == 6
    assert points[:4] == [
        {"optim.lr": 1, "train.seed": 0},
        {"optim.lr": 1, "train.seed": 1},
        {"optim.lr": 1, "train.seed": 2},
        {"optim.lr": 2, "train.seed": 0},
    ]


def test_zip_pairs_the_ith_values_and_needs_equal_lengths():
    assert expand({"a": [1, 2], "b": [3, 4]}, "zip") == [{"a": 1, "b": 3}, {"a": 2, "b": 4}]
    with pytest.raises(PresetError, match=r"zip needs lists of one length; got a: 2, b: 3"):
        expand({"a": [1, 2], "b": [3, 4, 5]}, "zip")


def test_zip_groups_inside_a_grid_vary_together_at_their_first_fields_place():
    axes = {
        "train.seed": [0, 1, 2],
        "optim.lr": [1, 3],
        "model.widths": [[8]],
        "optim.wd": [10, 30],
    }
    points = expand(axes, "grid", [["optim.lr", "optim.wd"]])
    assert len(points) == 6  # 3 seeds x 2 (lr, wd) pairs x 1 width
    assert [(p["train.seed"], p["optim.lr"], p["optim.wd"]) for p in points] == [
        (0, 1, 10),
        (0, 3, 30),
        (1, 1, 10),
        (1, 3, 30),
        (2, 1, 10),
        (2, 3, 30),
    ]
    assert list(points[0]) == list(axes)  # coordinates keep the file's field order
    with pytest.raises(PresetError, match=r"got optim.lr: 2, optim.wd: 3") as err:
        expand({"optim.lr": [1, 3], "optim.wd": [1, 2, 3]}, "grid", [["optim.lr", "optim.wd"]])
    assert err.value.field == "sweep.zip"


def test_a_sweep_file_with_zip_groups_runs_its_pairs_across_seeds(tiny_preset_path, runs_dir):
    path = write(
        tiny_preset_path.parent,
        "pairs.toml",
        'extends = "tiny.toml"\n[train]\nsteps = 10\n[sweep]\n"train.seed" = [0, 1]\n'
        '"optim.lr" = [1e-3, 3e-3]\n"optim.weight_decay" = [1.0, 0.1]\n'
        'zip = [["optim.lr", "optim.weight_decay"]]\n',
    )
    sweep = load_sweep(path)
    points = sweep.points()
    assert [
        (p.preset.train.seed, p.preset.optim.lr, p.preset.optim.weight_decay) for p in points
    ] == [
        (0, 1e-3, 1.0),
        (0, 3e-3, 0.1),
        (1, 1e-3, 1.0),
        (1, 3e-3, 0.1),
    ]
    assert describe(sweep, points) == (
        "grid of 4 points over train.seed (2) x (optim.lr + optim.weight_decay) (2)"
    )
    sweep_dir = create_sweep_dir(sweep, points, runs_dir)
    assert json.loads(sweep_dir.json_path.read_text())["zip"] == [
        ["optim.lr", "optim.weight_decay"]
    ]
    again = load_sweep(sweep_dir.toml_path)  # the resolved sweep file gives the same points
    assert again.coords() == sweep.coords()
    # the heatmap takes a zip group as one axis and the seeds last; wd is lr's partner,
    # not a field averaged over
    stored = read_sweep_dir(sweep_dir.path)
    rows = report_rows(stored)
    grid = heatmap_grid(stored, rows, "grok_step")
    assert (grid.x_field, grid.y_field, grid.over) == ("optim.lr", "train.seed", [])
    with pytest.raises(PresetError, match="vary together"):
        heatmap_grid(stored, rows, "grok_step", "optim.lr", "optim.weight_decay")


def test_a_child_sweep_drops_an_inherited_axis(tiny_preset_path):
    base = write(
        tiny_preset_path.parent,
        "grid.toml",
        'extends = "tiny.toml"\n[sweep]\n"optim.lr" = [1e-3, 3e-3]\n"train.seed" = [0, 1, 2]\n',
    )
    child = write(
        tiny_preset_path.parent,
        "seeds-only.toml",
        'extends = "grid.toml"\n[optim]\nlr = 5e-3\n[sweep]\ndrop = ["optim.lr"]\n',
    )
    sweep = load_sweep(child)
    assert list(sweep.axes) == ["train.seed"]
    assert [p.preset.optim.lr for p in sweep.points()] == [5e-3] * 3  # the child's own lr
    assert len(load_sweep(base).points()) == 6
    bad = write(
        tiny_preset_path.parent,
        "bad-drop.toml",
        'extends = "grid.toml"\n[sweep]\ndrop = ["optim.eps"]\n',
    )
    with pytest.raises(PresetError) as err:
        load_sweep(bad)
    assert str(err.value).startswith(f"{bad}:3: sweep.drop: optim.eps in drop is not swept")


def test_dropping_a_zipped_axis_takes_it_out_of_its_group(tiny_preset_path):
    write(
        tiny_preset_path.parent,
        "zipped.toml",
        'extends = "tiny.toml"\n[sweep]\n"optim.lr" = [1e-3, 3e-3]\n'
        '"optim.weight_decay" = [0.1, 1.0]\n"train.batch_size" = [8, 16]\n'
        '"train.seed" = [0, 1]\nzip = [["optim.lr", "optim.weight_decay", "train.batch_size"]]\n',
    )
    one_left = write(
        tiny_preset_path.parent,
        "lr-only.toml",
        'extends = "zipped.toml"\n[optim]\nweight_decay = 0.5\n'
        '[sweep]\ndrop = ["optim.weight_decay", "train.batch_size"]\n',
    )
    sweep = load_sweep(one_left)  # the group shrank to one field: no group, a plain axis
    assert sweep.zip_groups == [] and len(sweep.points()) == 4
    assert {p.preset.optim.weight_decay for p in sweep.points()} == {0.5}
    two_left = write(
        tiny_preset_path.parent,
        "no-batch.toml",
        'extends = "zipped.toml"\n[sweep]\ndrop = ["train.batch_size"]\n',
    )
    sweep = load_sweep(two_left)  # lr and wd stay paired
    assert sweep.zip_groups == [["optim.lr", "optim.weight_decay"]]
    pairs = {(c["optim.lr"], c["optim.weight_decay"]) for c in sweep.coords()}
    assert pairs == {(1e-3, 0.1), (3e-3, 1.0)} and len(sweep.points()) == 4


def test_set_cannot_undo_a_swept_budget_by_naming_its_alternative(tiny_preset_path):
    path = write(
        tiny_preset_path.parent,
        "b.toml",
        'extends = "tiny.toml"\n[sweep]\n"train.steps" = [5, 6]\n',
    )
    with pytest.raises(PresetError, match=r"train.epochs is swept \(train.steps in \[sweep\]\)"):
        load_sweep(path, ["train.epochs=2"])


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('zip = [["optim.lr", "train.seed"]]', "sweep.zip: train.seed in zip is not swept"),
        ('zip = [["optim.lr"]]', "sweep.zip: a zip group names at least two swept fields"),
        ('zip = "optim.lr"', "sweep.zip: zip takes a list of field groups"),
        (
            'mode = "zip"\nzip = [["optim.lr", "optim.eps"]]',
            "sweep.zip: zip groups pair some axes inside a grid",
        ),
        (
            '"optim.betas" = [[0.9, 0.98]]\nzip = [["optim.lr", "optim.betas"]]',
            "sweep.zip: zip needs lists of one length; got optim.lr: 2, optim.betas: 1",
        ),
    ],
)
def test_bad_zip_groups_name_the_zip_line(tiny_preset_path, table, message):
    path = write(
        tiny_preset_path.parent,
        "z.toml",
        f'extends = "tiny.toml"\n[sweep]\n"optim.lr" = [1e-3, 3e-3]\n"optim.eps" = [1e-8, 1e-7]\n{table}\n',
    )
    with pytest.raises(PresetError) as err:
        load_sweep(path)
    text = str(err.value)
    assert message in text, text
    zip_line = next(
        i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith("zip")
    )
    assert text.startswith(f"{path}:{zip_line}: "), text


def test_unequal_zip_lengths_in_a_file_name_the_file_and_the_sweep_line(tiny_preset_path):
    path = write(
        tiny_preset_path.parent,
        "zip.toml",
        'extends = "tiny.toml"\n[sweep]\nmode = "zip"\n"optim.lr" = [1e-3, 3e-3]\n'
        '"train.seed" = [0, 1, 2]\n',
    )
    with pytest.raises(PresetError) as err:
        load_sweep(path)
    assert str(err.value).startswith(f"{path}:2: sweep.mode: zip needs lists of one length")
    assert "optim.lr: 2, train.seed: 3" in str(err.value)


def test_a_sweep_file_extends_a_preset_and_gives_validated_points(sweep_file):
    assert is_sweep_file(sweep_file)
    assert not is_sweep_file(sweep_file.parent / "tiny.toml")
    sweep = load_sweep(sweep_file)
    assert sweep.name == "grid" and sweep.mode == "grid"
    points = sweep.points()
    assert [p.coords for p in points] == [
        {"optim.lr": 1e-3, "optim.weight_decay": 0.1},
        {"optim.lr": 1e-3, "optim.weight_decay": 1.0},
        {"optim.lr": 3e-3, "optim.weight_decay": 0.1},
        {"optim.lr": 3e-3, "optim.weight_decay": 1.0},
    ]
    last = points[-1].preset
    assert (last.optim.lr, last.optim.weight_decay) == (3e-3, 1.0)
    assert last.train.steps == 30 and last.data.p == 11  # the base, with the file's changes
    assert last.name == "grid-lr=3e-3-wd=1"
    assert [p.index for p in points] == [1, 2, 3, 4]


def test_nested_fields_three_ways_and_whole_tables(tiny_preset_path):
    path = write(
        tiny_preset_path.parent,
        "nested.toml",
        'extends = "tiny.toml"\n'
        "[sweep]\n"
        "train.seed = [0, 1]\n"  # a bare dotted key
        '"data.train_fraction" = [0.3]\n'  # a quoted one
        'optim = [{name = "sgd", momentum = 0.9}, {name = "adam"}]\n'  # whole tables
        "[sweep.model]\n"  # a sub-table
        "widths = [[16], [32, 32]]\n",
    )
    sweep = load_sweep(path)
    assert list(sweep.axes) == ["train.seed", "data.train_fraction", "optim", "model.widths"]
    assert sweep.varying() == ["train.seed", "optim", "model.widths"]
    points = sweep.points()
    assert len(points) == 8
    p = points[-1].preset
    assert p.train.seed == 1 and p.data.train_fraction == 0.3 and p.model.widths == [32, 32]
    assert p.optim.name == "adam" and p.optim.lr == 3e-3  # a table merges into the base's
    assert points[0].preset.optim.momentum == 0.9
    assert points[-1].label == "seed=1-frac=0.3-optim=adam-widths=32-32"


def test_invalid_points_are_reported_with_coordinates_file_and_line(tiny_preset_path):
    path = write(
        tiny_preset_path.parent,
        "bad.toml",
        'extends = "tiny.toml"\n[sweep]\n"data.p" = [11, 12, 15]\n"optim.lr" = [1e-3]\n',
    )
    with pytest.raises(PresetError) as err:
        load_sweep(path).points()
    lines = str(err.value).splitlines()
    assert lines == [
        f"{path}:3: point 2 of 3 (data.p=12, optim.lr=1e-3): data.p: p must be prime, got 12",
        f"{path}:3: point 3 of 3 (data.p=15, optim.lr=1e-3): data.p: p must be prime, got 15",
    ]


def test_a_table_level_error_blames_the_swept_field(tiny_preset_path):
    path = write(
        tiny_preset_path.parent,
        "minlr.toml",
        'extends = "tiny.toml"\n[optim]\nmin_lr = 2e-3\n[sweep]\n"optim.lr" = [1e-3, 3e-3]\n',
    )
    with pytest.raises(PresetError) as err:
        load_sweep(path).points()
    assert str(err.value) == (
        f"{path}:5: point 1 of 2 (optim.lr=1e-3): optim: min_lr (0.002) must not exceed lr (0.001)"
    )


def test_an_unknown_swept_field_names_what_is_allowed(tiny_preset_path):
    path = write(
        tiny_preset_path.parent, "typo.toml", 'extends = "tiny.toml"\n[sweep]\n"optim.lrr" = [1]\n'
    )
    with pytest.raises(
        PresetError,
        match=r"typo.toml:3: point 1 of 1 \(optim.lrr=1\): "
        r"optim.lrr: unknown field; allowed here: name, lr",
    ):
        load_sweep(path).points()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('mode = "cartesian"\n"optim.lr" = [1]', ":3: sweep.mode: mode must be one of grid, zip"),
        ('"optim.lr" = 1e-3', ":3: sweep.optim.lr: a swept field takes a list of values"),
        ('"optim.lr" = []', ":3: sweep.optim.lr: the list of values is empty"),
        ('mode = "zip"', ":2: sweep: [sweep] names no field to vary"),
        (
            '"train.steps" = [10]\n"train.epochs" = [2]',
            ":3: sweep.train.steps: train.steps and train.epochs are both swept",
        ),
    ],
)
def test_malformed_sweep_tables_name_file_and_line(tiny_preset_path, table, message):
    path = write(tiny_preset_path.parent, "s.toml", f'extends = "tiny.toml"\n[sweep]\n{table}\n')
    with pytest.raises(PresetError) as err:
        load_sweep(path)
    assert str(err.value).startswith(str(path) + message)


def test_set_applies_to_every_point_but_not_to_a_swept_field(sweep_file):
    points = load_sweep(sweep_file, ["train.seed=7"]).points()
    assert {p.preset.train.seed for p in points} == {7}
    with pytest.raises(PresetError, match="optim.lr is swept"):
        load_sweep(sweep_file, ["optim.lr=1e-2"])


def test_names_of_values_and_points():
    assert [format_value(v) for v in (1e-4, 3e-4, 0.1, 1.0, 0.001, 1e-5, 256, True)] == [
        "1e-4", "3e-4", "0.1", "1", "1e-3", "1e-5", "256", "true",
    ]  # fmt: skip
    assert format_value([256, 256]) == "256-256" and format_value({"type": "mlp"}) == "mlp"
    assert point_label({"optim.lr": 1e-4, "optim.weight_decay": 0.1}) == "lr=1e-4-wd=0.1"
    # two fields with one last name keep their full names
    assert point_label({"model.dropout": 0.1, "train.dropout": 0.2}) == (
        "model.dropout=0.1-train.dropout=0.2"
    )


# -- validate, and what the command line refuses ------------------------------------------


def test_validate_gives_a_verdict_for_sweep_files(sweep_file, tiny_preset_path, capsys):
    bad = write(sweep_file.parent, "bad.toml", 'extends = "tiny.toml"\n[sweep]\n"data.p" = [12]\n')
    assert main(["validate", str(sweep_file), str(tiny_preset_path), str(bad)]) == 2
    out = capsys.readouterr().out
    assert f"ok      {sweep_file}: sweep grid · grid of 4 points over optim.lr (2) x " in out
    assert f"INVALID {bad}\n  {bad}:3: point 1 of 1 (data.p=12): data.p: p must be prime" in out


def test_shipped_sweeps_are_valid(capsys):
    sweeps = sorted((REPO / "presets" / "sweeps").glob("*.toml"))
    assert sweeps and all(is_sweep_file(p) for p in sweeps)
    assert main(["validate", *map(str, sweeps)]) == 0, capsys.readouterr().out


def test_an_invalid_sweep_creates_nothing(tiny_preset_path, tmp_path, capsys):
    bad = write(tmp_path, "bad.toml", 'extends = "tiny.toml"\n[sweep]\n"data.p" = [11, 12]\n')
    runs = tmp_path / "runs"
    assert main(["--run", str(bad), "--runs-dir", str(runs)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad}:3: point 2 of 2 (data.p=12): data.p:")
    assert not runs.exists()


def test_jobs_and_devices_need_a_sweep(sweep_file, tiny_preset_path, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--run", str(tiny_preset_path), "--jobs", "2", "--runs-dir", str(tmp_path)])
    assert exit_.value.code == 2
    assert "--jobs apply to sweeps" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--run", str(tiny_preset_path), "--vectorize", "4", "--runs-dir", str(tmp_path)])
    assert "--vectorize apply to sweeps" in capsys.readouterr().err
    assert main(["--run", str(sweep_file), "--vectorize", "0", "--runs-dir", str(tmp_path)]) == 2
    assert "--vectorize takes auto or a group size >= 1, got '0'" in capsys.readouterr().err
    assert main(["--run", str(sweep_file), "--jobs", "0", "--runs-dir", str(tmp_path)]) == 2
    assert "--jobs must be at least 1" in capsys.readouterr().err
    assert main(["--run", str(sweep_file), "--devices", "gpu0", "--runs-dir", str(tmp_path)]) == 2
    assert "--devices: 'gpu0' is not a device" in capsys.readouterr().err
    assert parse_devices("cuda:0, cuda:1") == ["cuda:0", "cuda:1"]
    assert not (tmp_path / "runs").exists()


# -- the sweep directory ------------------------------------------------------------------


def test_the_sweep_directory_records_the_grid_and_tags_each_run(sweep_file, runs_dir):
    sweep = load_sweep(sweep_file)
    sweep_dir = create_sweep_dir(sweep, sweep.points(), runs_dir)
    assert sweep_dir.path.parent == runs_dir and "-sweep-grid" in sweep_dir.path.name
    info = json.loads((sweep_dir.path / "sweep.json").read_text())
    assert info["id"] == sweep_dir.path.name and info["mode"] == "grid"
    assert info["file"] == str(sweep_file.resolve()) and info["created"]
    assert info["axes"] == {"optim.lr": [1e-3, 3e-3], "optim.weight_decay": [0.1, 1.0]}
    assert [p["coords"] for p in info["points"]] == [p.coords for p in sweep.points()]
    runs = list(store.iter_run_dirs(runs_dir))  # one level down: the history sees them
    assert [r.run_id for r in runs] == [p["run_id"] for p in info["points"]]
    for run, point in zip(runs, info["points"], strict=True):
        summary = run.summary()
        assert summary["status"] == "created"
        assert summary["sweep"] == {
            "id": info["id"],
            "index": point["index"],
            "coords": point["coords"],
        }
        assert run.run_id.endswith("-grid-" + point["label"].replace("=", "-"))
        assert sweep_of_run(run.path).sweep_id == info["id"]
    # sweep.toml is self-contained (extends resolved): it loads as the same sweep
    again = load_sweep(sweep_dir.path / "sweep.toml")
    assert [p.preset for p in again.points()] == [p.preset for p in sweep.points()]
    assert is_sweep_dir(sweep_dir.path) and [s.path for s in list_sweeps(runs_dir)] == [
        sweep_dir.path
    ]
    assert find_sweep("sweep-grid", runs_dir).path == sweep_dir.path
    assert read_sweep_dir(sweep_dir.path).statuses() == {
        1: "created",
        2: "created",
        3: "created",
        4: "created",
    }


def test_deleted_points_are_recreated_on_resume(sweep_file, runs_dir):
    sweep = load_sweep(sweep_file)
    sweep_dir = create_sweep_dir(sweep, sweep.points(), runs_dir)
    gone = sweep_dir.points()[1].run
    for child in gone.path.iterdir():
        child.unlink()
    gone.path.rmdir()
    assert read_sweep_dir(sweep_dir.path).statuses()[2] == "missing"
    assert recreate_missing(read_sweep_dir(sweep_dir.path)) == [2]
    again = read_sweep_dir(sweep_dir.path)
    assert (
        again.statuses()[2] == "created"
        and again.points()[1].run.load_preset().optim.weight_decay == 1.0
    )


# -- execution with a stand-in trainer (fast); real training is in test_sweep_exec.py --------


FAIL = "import sys; print('error: no such device'); sys.exit(2)"


@pytest.mark.slow  # starts processes
def test_a_point_that_fails_before_training_is_marked_failed_and_retried(sweep_file, runs_dir):
    sweep = load_sweep(sweep_file)
    sweep_dir = create_sweep_dir(sweep, sweep.points(), runs_dir)
    first = sweep_dir.points()[0].run
    store.update_summary(first.path, status="completed", final={"train_acc": 1.0, "test_acc": 1.0})
    lines: list[str] = []

    class Out:
        def write(self, text: str) -> None:
            lines.extend(text.splitlines())

        def flush(self) -> None:
            pass

    executor = ProcessExecutor(2, command=[sys.executable, "-c", FAIL], poll_interval=0.01)
    assert execute(sweep_dir, executor, out=Out()) == 1
    assert "  " + str(sweep_dir.path) + " · 3 to train, 1 finished already · 2 jobs" in lines
    failed = [line for line in lines if " failed " in line]
    assert len(failed) == 3 and all(
        line.endswith("error: no such device") or "error: no such device ·" in line
        for line in failed
    )
    assert read_sweep_dir(sweep_dir.path).statuses() == {
        1: "completed",
        2: "failed",
        3: "failed",
        4: "failed",
    }
    assert lines[-2] == f"continue with: grok-tui --resume {sweep_dir.path}"
    todo, done, live = jobs_to_run(sweep_dir)  # failed points are tried again on resume
    assert [j.index for j in todo] == [2, 3, 4] and [p.index for p in done] == [1] and not live


def test_a_stop_before_start_leaves_points_untouched(sweep_file, runs_dir):
    sweep = load_sweep(sweep_file)
    sweep_dir = create_sweep_dir(sweep, sweep.points(), runs_dir)
    executor = ProcessExecutor(1, command=[sys.executable, "-c", FAIL])
    executor.stop()
    jobs = [PointJob(p.index, p.label, p.run) for p in sweep_dir.points()]
    results = executor.run(jobs, lambda r: None)
    assert [r.status for r in results] == ["not started"] * 4 and not any(
        r.started for r in results
    )
    assert set(read_sweep_dir(sweep_dir.path).statuses().values()) == {"created"}


def test_one_process_at_a_time_trains_a_sweep(sweep_file, runs_dir):
    sweep = load_sweep(sweep_file)
    sweep_dir = create_sweep_dir(sweep, sweep.points(), runs_dir)
    with sweep_lock(sweep_dir), pytest.raises(PresetError, match="is being run by another process"):
        execute(sweep_dir, ProcessExecutor(1, command=[sys.executable, "-c", FAIL]))


# -- the report -------------------------------------------------------------------------------


@pytest.fixture
def finished_sweep(sweep_file, runs_dir):
    """A sweep whose summaries were filled in by hand, as the engine would."""
    sweep = load_sweep(sweep_file)
    sweep_dir = create_sweep_dir(sweep, sweep.points(), runs_dir)
    for n, point in enumerate(sweep_dir.points()):
        store.update_summary(
            point.run.path,
            status="completed" if n != 3 else "stopped",
            step=30 if n != 3 else 20,
            fit_step=10 * (n + 1),
            grok_step=None if n == 0 else 100 + n,
            grok_gap=None if n == 0 else 100 + n - 10 * (n + 1),
            best_test_acc=0.5 + n / 10,
            final={
                "train_acc": 1.0 - n / 100,
                "test_acc": 0.25 * n,
                "train_loss": 0.1,
                "test_loss": 2.0,
            },
        )
    return read_sweep_dir(sweep_dir.path)


def test_the_spread_over_an_axis_summarises_each_setting_of_the_others(finished_sweep, capsys):
    rows = report_rows(finished_sweep)
    lines = spread_table(finished_sweep, rows, ["optim.weight_decay"]).splitlines()
    assert lines[0].startswith("over optim.weight_decay: mean ± sd (min–max)")
    assert lines[1].split() == ["lr", "n", "grokked", "fit_step", "grok_step", "test_acc"]
    # lr 1e-3: fit 10 and 20, only the second grokked (101); lr 3e-3: fit 30, 40, grok 102, 103
    assert lines[2].split() == ["1e-3", "2", "1/2", "15", "±", "7", "(10–20)", "101", "0.125"]
    assert lines[3].split() == [
        "3e-3", "2", "2/2", "35", "±", "7", "(30–40)", "102", "±", "1", "(102–103)", "0.625",
    ]  # fmt: skip
    # no seed axis varies: the report leaves the spread out unless asked
    assert "mean ± sd" not in report_text(finished_sweep)
    assert "over optim.lr" in report_text(finished_sweep, over=["optim.lr"])
    code = main(["sweep-report", str(finished_sweep.path), "--over", "train.seed"])
    assert code == 2
    assert "--over train.seed: not an axis of this sweep" in capsys.readouterr().err


def test_report_rows_equal_the_run_summaries(finished_sweep):
    rows = report_rows(finished_sweep)
    assert [r.index for r in rows] == [1, 2, 3, 4]
    for row, point in zip(rows, finished_sweep.points(), strict=True):
        summary = point.run.summary()
        assert row.summary == summary and row.status == summary["status"]
        assert row.value("fit_step") == summary["fit_step"]
        assert row.value("grok_step") == summary["grok_step"]
        assert row.value("final_test_acc") == summary["final"]["test_acc"]
        assert row.value("final_train_acc") == summary["final"]["train_acc"]
    table = format_table(finished_sweep, rows).splitlines()
    assert table[0].split() == [
        "#", "lr", "wd", "status", "step", "fit_step", "grok_step", "train_acc", "test_acc", "run",
    ]  # fmt: skip
    assert table[1].split()[:9] == [
        "1",
        "1e-3",
        "0.1",
        "completed",
        "30/30",
        "10",
        "-",
        "1.000",
        "0.000",
    ]
    assert table[4].split()[:9] == [
        "4",
        "3e-3",
        "1",
        "stopped",
        "20/30",
        "40",
        "103",
        "0.970",
        "0.750",
    ]


def test_report_exports_csv_with_full_field_names(finished_sweep, tmp_path):
    rows = report_rows(finished_sweep)
    path = tmp_path / "out" / "sweep.csv"
    assert write_csv(finished_sweep, rows, path) == 4
    with path.open() as f:
        table = list(csv.DictReader(f))
    assert [r["optim.lr"] for r in table] == ["0.001", "0.001", "0.003", "0.003"]
    assert [r["optim.weight_decay"] for r in table] == ["0.1", "1.0", "0.1", "1.0"]
    assert [r["grok_step"] for r in table] == ["", "101", "102", "103"]
    for record, row in zip(table, rows, strict=True):
        assert float(record["final_test_acc"]) == row.summary["final"]["test_acc"]
        assert record["status"] == row.status and record["run_id"] == row.run_id


def test_heatmap_text_has_the_axis_values_and_the_cell_values(finished_sweep):
    rows = report_rows(finished_sweep)
    grid = heatmap_grid(finished_sweep, rows, "final_test_acc")
    assert (grid.x_field, grid.y_field) == ("optim.lr", "optim.weight_decay")
    assert grid.cells == [[0.0, 0.5], [0.25, 0.75]]  # [wd][lr]
    text = render_heatmap(grid, width=70)
    assert "\x1b" not in text  # plain text unless asked for colour
    assert "final_test_acc by optim.lr and optim.weight_decay" in text
    for label in ("1e-3", "3e-3", "0.1", "0.250", "0.750", "optim.lr", "optim.weight_decay"):
        assert label in text
    assert "█" in text and "░" in text  # 0.75 is bright, 0.0 is dark
    steps = render_heatmap(
        heatmap_grid(finished_sweep, rows, "grok_step", x="optim.weight_decay"),
        width=60,
    )
    assert "grok_step" in steps and "103" in steps and " - " in steps  # point 1 never grokked
    coloured = render_heatmap(grid, width=70, color=True)
    assert "\x1b[" in coloured and "0.750" in coloured


def test_heatmap_averages_over_a_third_field(tiny_preset_path, runs_dir):
    path = write(
        tiny_preset_path.parent,
        "seeds.toml",
        'extends = "tiny.toml"\n[sweep]\n"optim.lr" = [1e-3, 3e-3]\n'
        '"optim.weight_decay" = [0.1]\n"train.seed" = [0, 1]\n"data.p" = [11, 13]\n',
    )
    sweep = load_sweep(path)
    sweep_dir = create_sweep_dir(sweep, sweep.points(), runs_dir)
    for point in sweep_dir.points():
        acc = point.coords["train.seed"] * 0.5 + (point.coords["data.p"] == 13) * 0.25
        store.update_summary(point.run.path, status="completed", final={"test_acc": acc})
    rows = report_rows(sweep_dir)
    grid = heatmap_grid(sweep_dir, rows, "final_test_acc")
    # by default the seeds are what a cell averages over, not an axis
    assert (grid.x_field, grid.y_field, grid.over) == ("optim.lr", "data.p", ["train.seed"])
    assert grid.cells == [[0.25, 0.25], [0.5, 0.5]]
    grid = heatmap_grid(sweep_dir, rows, "final_test_acc", y="train.seed")
    assert (grid.x_field, grid.y_field, grid.over) == ("optim.lr", "train.seed", ["data.p"])
    assert grid.cells == [[0.125, 0.125], [0.625, 0.625]]
    assert "each cell the mean over data.p" in render_heatmap(grid)
    with pytest.raises(PresetError, match="--x: 'optim.lrr' is not a field of this sweep"):
        heatmap_grid(sweep_dir, rows, x="optim.lrr")


def test_sweep_report_command(finished_sweep, runs_dir, tmp_path, capsys):
    out_csv = tmp_path / "r.csv"
    args = [str(finished_sweep.path), "--metric", "grok_step", "--csv", str(out_csv)]
    assert main(["sweep-report", *args]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        f"sweep {finished_sweep.sweep_id} · grid of 4 points over optim.lr (2) x "
    )
    assert "3 completed, 1 stopped" in out
    assert "grok_step by optim.lr and optim.weight_decay" in out
    assert f"wrote 4 rows to {out_csv}" in out and out_csv.exists()
    assert main(["sweep-report", "--runs-dir", str(runs_dir)]) == 0  # the list of sweeps
    assert finished_sweep.sweep_id in capsys.readouterr().out
    assert main(["sweep-report", "nothing", "--runs-dir", str(runs_dir)]) == 2
    assert "no sweep directory 'nothing'" in capsys.readouterr().err


def test_a_sweep_with_one_varying_field_has_no_heatmap(tiny_preset_path, runs_dir):
    path = write(
        tiny_preset_path.parent,
        "one.toml",
        'extends = "tiny.toml"\n[sweep]\n"train.seed" = [0, 1]\n',
    )
    sweep = load_sweep(path)
    sweep_dir = create_sweep_dir(sweep, sweep.points(), runs_dir)
    assert heatmap_grid(sweep_dir, report_rows(sweep_dir)) is None
    assert "(a heatmap needs two fields that vary)" in report_text(sweep_dir)


def test_sweep_modules_do_not_import_torch():
    import subprocess

    code = (
        "import sys, grok_tui.sweep, grok_tui.sweep.report, grok_tui.sweep.heatmap, "
        "grok_tui.sweep.executor, grok_tui.sweep.commands, grok_tui.tui.screens.sweep; "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"

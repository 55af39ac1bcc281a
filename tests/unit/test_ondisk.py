"""Every file grok-tui reads is validated to its bounds (issue 32, section 3): the fuzz
campaign's findings, one test each.

A number outside what the code holds, a nested field of the wrong shape, a huge string:
the run, sweep or analysis is reported as ``unreadable: <reason>`` (or, for one record of
metrics.jsonl, skipped) and never crashes a listing, nor hides the runs and sweeps beside
it. The generated cases are in test_fuzz_files.py.
"""

from __future__ import annotations

import json
import math
import socket
from pathlib import Path
from typing import Any

import pytest

from grok_tui.analysis import paths as analysis_paths
from grok_tui.analysis.paths import read_analysis
from grok_tui.rundirs import curves, ondisk, ownership, runqueue, store
from grok_tui.sweep import heatmap, read_sweep_dir
from grok_tui.sweep.metrics import METRICS, report_rows
from grok_tui.sweep.report import report_text
from grok_tui.tui.views.curves import AxisOptions, run_curves
from tests.support.crafted import (
    GRID_AXES,
    GRID_COORDS,
    HEALTHY_RECORD,
    HEALTHY_SUMMARY,
    cli_runs,
    draw_every_view,
    healthy_point,
    history,
    plant_analysis,
    plant_run,
    plant_sweep,
    sweep_info,
    sweep_list,
    valid_analysis,
)

HOST = socket.gethostname()


# --- summary.json ------------------------------------------------------------------------

BAD_SUMMARIES: dict[str, tuple[Any, str]] = {
    "inf accuracy": ('{"status": "completed", "best_test_acc": 1e999}', "best_test_acc"),
    "huge step": ({"status": "completed", "step": 10**30}, "step"),
    "step of a list": ({"status": "completed", "grok_step": [1]}, "grok_step"),
    "final inf": ('{"status": "completed", "final": {"test_acc": 1e999}}', "final.test_acc"),
    "accuracy above 1": ({"status": "completed", "best_test_acc": 3.5}, "best_test_acc"),
    "negative duration": ({"status": "completed", "elapsed_s": -5.0}, "elapsed_s"),
    # a running run's pid past pid_t: os.kill raised OverflowError in every listing
    "huge pid": ({"status": "running", "host": HOST, "pid": 2**70}, "pid"),
    "huge owner pid": (
        {"status": "running", "owner": {"host": HOST, "pid": 2**40, "started": "b:1"}},
        "owner.pid",
    ),
    "owner of a list": ({"status": "running", "owner": [HOST, 12]}, "owner"),
    # History built dict(coords) from it: TypeError
    "coords of a list": ({"status": "completed", "sweep": {"id": "s", "coords": [1]}}, "sweep"),
    "huge status": ({"status": "x" * 100_000}, "status"),
    "huge error": ({"status": "failed", "error": "e" * 1_100_000}, "error"),
    "deep extra field": (
        {"status": "completed", "later": json.loads("[" * 40 + "]" * 40)},
        "later",
    ),
    "huge int in an extra field": ({"status": "completed", "n_train": -(2**70)}, "n_train"),
}


@pytest.mark.parametrize("case", list(BAD_SUMMARIES))
def test_a_bad_summary_is_unreadable_beside_healthy_runs(tmp_path: Path, case: str) -> None:
    content, field = BAD_SUMMARIES[case]
    runs = tmp_path / "runs"
    plant_run(runs, "a-healthy", HEALTHY_SUMMARY)
    plant_run(runs, "b-crafted", content)
    plant_run(runs, "c-healthy", HEALTHY_SUMMARY)

    infos = {info.run_id: info for info in store.list_runs(runs)}
    assert infos["b-crafted"].status == store.UNREADABLE
    assert infos["b-crafted"].unreadable.startswith(f"{store.SUMMARY_FILE}: {field}")
    assert infos["a-healthy"].status == infos["c-healthy"].status == store.COMPLETED

    code, out = cli_runs(runs)  # grok-tui runs
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert set(lines) == {"a-healthy", "b-crafted", "c-healthy"}
    assert f"unreadable: {store.SUMMARY_FILE}: {field}" in lines["b-crafted"]

    rows = history(runs)  # the TUI's History
    assert rows["b-crafted"].status == store.UNREADABLE
    assert rows["b-crafted"].cell("note").startswith(f"unreadable: {store.SUMMARY_FILE}: {field}")
    assert rows["a-healthy"].status == store.COMPLETED


def test_a_reason_never_floods_the_listing(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    plant_run(runs, "crafted", {"status": "completed", "k" * 4000: 10**30})
    (info,) = store.list_runs(runs)
    assert info.unreadable and len(info.unreadable) <= 320


def test_a_healthy_summary_passes_as_written() -> None:
    assert ondisk.problem(ondisk.RunSummary, HEALTHY_SUMMARY) is None
    diverged = {**HEALTHY_SUMMARY, "status": "diverged", "final": {"test_loss": math.nan}}
    assert ondisk.problem(ondisk.RunSummary, diverged) is None  # readers skip a nan loss


# --- metrics.jsonl -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        '{"step": 1000000000000000000000000000000}',
        '{"step": -1}',
        '{"step": 10, "test_acc": 1e999}',
        '{"step": 10, "train_acc": 2}',
        '{"step": 10, "elapsed_s": -1}',
        '{"step": 10, "lr": Infinity}',
        '{"step": 10, "layer.0": [1, 2]}',  # a progress measure is one number
        '{"step": 10, "sharpness": 10000000000000000000000000}',
        '{"step": 10, "label": "' + "x" * 70_000 + '"}',
    ],
    ids=lambda line: line[:40],
)
def test_a_record_out_of_bounds_is_skipped(line: str) -> None:
    assert store.parse_record(line) is None


def test_a_diverged_record_is_kept() -> None:
    record = store.parse_record('{"step": 10, "train_loss": NaN, "param_norm": Infinity}')
    assert record is not None and math.isnan(record["train_loss"])


def test_records_past_the_int64_range_never_reach_the_curves(tmp_path: Path) -> None:
    huge = {**HEALTHY_RECORD, "step": 10**400}  # float(step) raised OverflowError
    run = plant_run(tmp_path, "run", HEALTHY_SUMMARY, [HEALTHY_RECORD, huge])
    records = store.read_records(run.path)
    assert [r["step"] for r in records] == [10]
    run_curves(records, HEALTHY_SUMMARY, AxisOptions())
    assert curves.test_acc_jitter(records) is None


# --- sweep.json ----------------------------------------------------------------------------

BAD_SWEEPS: dict[str, tuple[Any, str]] = {
    "points of a table": ({"id": "s", "points": {"a": 1}}, "points"),
    "axis of a number": ({"id": "s", "axes": {"optim.lr": 5}}, "axes"),  # TypeError in len()
    "zip of a number": ({"id": "s", "axes": {}, "zip": [5]}, "zip"),  # TypeError in list()
    "huge index": (
        {"id": "s", "points": [{"index": 10**30, "coords": {}, "run_id": "p1"}]},
        "points",
    ),
    "coords of a list": ({"id": "s", "points": [{"index": 1, "coords": [1]}]}, "points"),
    "huge name": ({"id": "s", "name": "n" * 100_000}, "name"),
    "not JSON": (b"\xff\xfe{", "not valid JSON"),
}


@pytest.mark.parametrize("case", list(BAD_SWEEPS))
def test_a_bad_sweep_is_unreadable_in_the_list_of_sweeps(tmp_path: Path, case: str) -> None:
    content, reason = BAD_SWEEPS[case]
    runs = tmp_path / "runs"
    plant_sweep(runs, "a-good")
    plant_sweep(runs, "b-crafted", content)
    plant_sweep(runs, "c-good")
    with pytest.raises(store.UserError, match=reason):
        read_sweep_dir(runs / "b-crafted")
    code, out = sweep_list(runs)  # grok-tui sweep-report (no sweep named)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 3, out
    assert "sweep a-good" in lines[0] and "sweep c-good" in lines[2]
    assert "b-crafted" in lines[1] and "unreadable: " in lines[1] and reason in lines[1]


def test_a_point_off_the_axes_is_left_out_of_the_heatmap(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    info = sweep_info(
        "s", GRID_AXES, [*GRID_COORDS[:3], {"optim.lr": 9.0, "optim.weight_decay": 9}]
    )
    path = plant_sweep(runs, "s", info)
    text = report_text(read_sweep_dir(path))  # KeyError before
    assert "scale:" in text


# --- the heatmap ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 1e308, -1e308])
@pytest.mark.parametrize("metric", ["final_test_acc", "elapsed_s", "grok_step", "test_acc_drop"])
@pytest.mark.parametrize("color", [False, True])
def test_a_heatmap_with_an_out_of_range_value_draws(value: float, metric: str, color: bool) -> None:
    grid = heatmap.HeatmapGrid(metric, "a", "b", [1, 2], [3, 4], [[value, 0.5], [1e-3, None]])
    text = heatmap.render_heatmap(grid, width=60, color=color)
    assert "scale:" in text


def test_huge_durations_average_into_a_heatmap(tmp_path: Path) -> None:
    """Two points of one cell at 1e308 s: their sum overflowed to inf, then the scale to nan."""
    runs = tmp_path / "runs"
    axes = {"optim.lr": [0.001, 0.003], "optim.weight_decay": [0.1, 1.0], "train.seed": [0, 1]}
    coords = [{**c, "train.seed": seed} for c in GRID_COORDS[:2] for seed in (0, 1)]
    summaries = [
        {**healthy_point("s", n, c), "elapsed_s": 1e308 if n < 3 else -0.0}
        for n, c in enumerate(coords, 1)
    ]
    path = plant_sweep(runs, "s", sweep_info("s", axes, coords), summaries)
    sweep_dir = read_sweep_dir(path)
    for metric in ("elapsed_s", "final_test_acc", "grok_gap"):
        assert "scale:" in report_text(sweep_dir, metric=metric, x="optim.weight_decay")


def test_a_point_with_an_unreadable_summary_says_so(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    summaries = [healthy_point("s", n, c) for n, c in enumerate(GRID_COORDS, 1)]
    summaries[1] = {"status": "completed", "best_test_acc": 10**30}
    path = plant_sweep(runs, "s", None, summaries)
    rows = report_rows(read_sweep_dir(path))
    assert [row.status for row in rows] == ["completed", store.UNREADABLE, "completed", "completed"]
    for metric in METRICS:
        report_text(read_sweep_dir(path), metric=metric)


# --- queue.json ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ({"entries": [{"run": 5, "device": "cpu"}]}, "entries.0.run"),
        ({"entries": [{"run": "r", "device": ["cpu"]}]}, "entries.0.device"),
        ({"entries": [{"run": "r", "device": "cpu", "added_at": 10**30}]}, "added_at"),
        ({"entries": [{"run": "r" * 300, "device": "cpu"}]}, "entries.0.run"),
        ({"entries": [{"run": "r", "device": "cuda:" + "9" * 100}]}, "entries.0.device"),
        ({"slots": {"x" * 10_000: 1}}, "slots"),
        ({"slots": {"cpu": 2**70}}, "slots.cpu"),
        ({"entries": [], "later": 10**30}, "later"),
        ({"entries": {"run": "r"}}, "entries"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_a_bad_queue_names_its_file(tmp_path: Path, state: Any, reason: str) -> None:
    runqueue.queue_path(tmp_path).write_text(json.dumps(state))
    with pytest.raises(runqueue.QueueError, match=reason) as caught:
        runqueue.read_queue(tmp_path)
    assert str(caught.value).startswith(str(runqueue.queue_path(tmp_path)))
    assert len(str(caught.value)) < 1000


# --- analysis.json -------------------------------------------------------------------------


def test_a_valid_analysis_reads_and_draws(tmp_path: Path) -> None:
    run = plant_run(tmp_path, "run", HEALTHY_SUMMARY)
    plant_analysis(run, valid_analysis())
    analysis, reason = analysis_paths.read_analysis_checked(run.path)
    assert reason is None and analysis == valid_analysis()
    draw_every_view(analysis)


def _without(section: str, key: str, value: Any) -> dict[str, Any]:
    data = valid_analysis()
    data[section][key] = value
    return data


BAD_ANALYSES: dict[str, tuple[Any, str]] = {
    # projection() indexed p numbers in 2 points: IndexError
    "fewer points than p": (_without("embedding", "p", 40), "embedding"),
    # spectrum_bars zips them strictly: ValueError
    "an energy short": (_without("fourier", "energy_fraction", [0.5]), "fourier"),
    # matrix_of indexes a square grid: IndexError
    "a ragged landscape": (
        _without("landscape", "grid", {"span": 1.0, "loss": {"train": [[1.0]] * 3, "test": []}}),
        "landscape",
    ),
    "a concentration of null": (_without("fourier", "concentration", None), "fourier"),
    "a huge step": ({**valid_analysis(), "step": 10**30}, "step"),
    "a cluster key that is no number": (
        _without("neurons", "layers", {"x": {"clusters": {"k": 1}, "clustered_fraction": 0.1}}),
        "neurons",
    ),
    "another schema": ({**valid_analysis(), "schema": "other/1"}, "schema"),
    "a list": ([valid_analysis()], "list"),
    "not UTF-8": (b'{"schema": "\xff"}', "not valid JSON"),
}


@pytest.mark.parametrize("case", list(BAD_ANALYSES))
def test_a_bad_analysis_is_unreadable(tmp_path: Path, case: str) -> None:
    content, reason = BAD_ANALYSES[case]
    run = plant_run(tmp_path, "run", HEALTHY_SUMMARY)
    plant_analysis(run, content)
    assert read_analysis(run.path) is None
    analysis, why = analysis_paths.read_analysis_checked(run.path)
    assert analysis is None and why is not None and reason in why


def test_an_analysis_is_never_read_through_a_link(tmp_path: Path) -> None:
    run = plant_run(tmp_path, "run", HEALTHY_SUMMARY)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps(valid_analysis()))
    path = plant_analysis(run, b"")
    path.unlink()
    path.symlink_to(elsewhere)
    assert read_analysis(run.path) is None


def test_an_analysis_over_its_size_cap_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = plant_run(tmp_path, "run", HEALTHY_SUMMARY)
    plant_analysis(run, valid_analysis())
    monkeypatch.setattr(analysis_paths, "MAX_ANALYSIS_BYTES", 1024, raising=False)
    assert read_analysis(run.path) is None
    assert "bytes" in (analysis_paths.read_analysis_checked(run.path)[1] or "")


# --- the lock identity ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "identity",
    [
        {"host": HOST, "pid": 2**40, "started": None},
        {"host": HOST, "pid": -(2**70)},
        {"host": HOST, "pid": 0},
        {"host": HOST, "pid": True},
        {"host": "h" * 10_000, "pid": 12},
        {"host": HOST, "pid": 12, "started": "s" * 10_000},
        {"host": HOST, "pid": 12, "cmdline": "grok-tui"},
        {"host": HOST, "pid": 12, "cmdline": [["grok-tui"]]},
        {"host": HOST, "pid": 12, "later": 10**30},
        [HOST, 12],
    ],
    ids=lambda v: str(v)[:40],
)
def test_an_identity_out_of_bounds_is_refused(identity: Any) -> None:
    assert ondisk.identity_problem(identity) is not None


def test_a_recorded_identity_passes() -> None:
    assert ondisk.identity_problem(ownership.my_identity().as_dict()) is None


@pytest.mark.parametrize(
    "content",
    [
        json.dumps({"host": HOST, "pid": 2**40, "started": None, "cmdline": []}),
        "[" * 30_000 + "]" * 30_000,  # RecursionError, which read_holder let through
    ],
    ids=["huge pid", "deep"],
)
def test_a_crafted_lock_file_names_no_holder(tmp_path: Path, content: str) -> None:
    """live_holder (the sweep runner's and the queue runner's pid, polled by the TUI)
    raised OverflowError from os.kill on a pid past pid_t."""
    lock = tmp_path / ownership.LOCK_NAME
    lock.write_text(content)
    assert ownership.read_holder(lock) is None
    assert ownership.live_holder(tmp_path) is None

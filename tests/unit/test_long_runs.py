"""Long runs (issue 34, item 2): records read once and incrementally, held as columns,
drawn from a downsampled view (full resolution inside a zoomed window), exported row by
row. The figures of a 200,000-record run are the benchmark's (tui/page_timing.py); these
check the behaviour on small files."""

from __future__ import annotations

import json
import math
import os
import random
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from grok_tui.export.table import write_runs_csv as table_csv
from grok_tui.rundirs import columns as columns_module
from grok_tui.rundirs import metric_lines, store, watch
from grok_tui.rundirs.columns import Columns, ColumnsReader, read_columns, sample_columns
from grok_tui.tui.views.curves import AxisOptions
from grok_tui.tui.views.downsample import RunCurves, bucket_view
from grok_tui.tui.views.panels import run_panel
from tests.support.tui import finished_run


def record(step: int, steps: int = 1000) -> dict[str, Any]:
    """The grokking shape: test accuracy jumps at 60% of the steps."""
    return {
        "step": step,
        "epoch": step // 10,
        "train_loss": 1.0 / (1 + step),
        "train_acc": min(1.0, step / (0.2 * steps)),
        "test_loss": 2.0 / (1 + step),
        "test_acc": 0.02 if step < 0.6 * steps else 1.0,
        "lr": 0.001,
        "elapsed_s": step * 0.01,
    }


def write_lines(path: Path, lines: list[str], mode: str = "w") -> None:
    with path.open(mode) as f:
        f.write("".join(line + "\n" for line in lines))


def a_run(tmp_path: Path, count: int, every: int = 5) -> store.RunDir:
    run = finished_run(tmp_path / "runs", "long", steps=2)
    steps = count * every
    write_lines(run.metrics_path, [json.dumps(record(i * every, steps)) for i in range(count)])
    return run


CRAFTED = [
    json.dumps({"step": 0, "epoch": 0.5, "train_loss": float("nan"), "test_acc": None, "lr": 1}),
    '{"step": 5, "epoch": 1, "train_loss": Infinity, "test_acc": 1e-05, "lr": 0.001, "s": 3}',
    '{"step":6,"epoch":1}',  # compact JSON: another writer
    "[1, 2]",
    '{"step": -1}',
    '{"step": 7, "test_acc": 1.5}',  # not an accuracy
    '{"step": 8, "flag": true}',
    '{"step": 9, "big": 123456789012345678901234}',  # beyond int64
    '{"step": 10, "x": -0}',
    '{"step": 11, "lr": 1.50}',
    '{"step": 12, "epoch": 2, "train_loss": 2.5, "test_acc": 1.0, "lr": 0.002, "s": 4.0}',
    '{"step": 13, "epoch": 3, "train_loss": 1E5, "test_acc": 0, "lr": 0.002, "s": 4}',
    '{"step": 14, "epoch": 3, "train_loss": 1E5, "test_acc": 0, "lr": Infinity, "s": 4}',
]


# -- reading -------------------------------------------------------------------------------


def test_columns_hold_exactly_the_records_that_the_validating_reader_keeps(tmp_path: Path) -> None:
    path = tmp_path / store.METRICS_FILE
    lines = [json.dumps(record(step)) for step in range(0, 100, 5)] + CRAFTED[2:]
    write_lines(path, [*lines, *lines[:3]])
    path.write_bytes(path.read_bytes() + b'{"step": 99, "ep')  # a half-written last line
    expected = store.read_records(tmp_path)
    got = list(read_columns(tmp_path).view())
    assert [r["step"] for r in got] == [r["step"] for r in expected]
    for mine, theirs in zip(got, expected, strict=True):  # flags and texts kept too
        assert mine.keys() == theirs.keys() and type(mine["step"]) is int
        for key, value in theirs.items():
            assert mine[key] == value or (value != value and mine[key] != mine[key]), key


def test_a_line_of_a_known_shape_takes_the_fast_way_and_others_are_validated() -> None:
    reader = metric_lines.LineReader()
    block = "\n".join([json.dumps(record(step)) for step in (0, 5, 10)] + CRAFTED[4:8]) + "\n"
    stretches = list(reader.stretches(block.encode()))
    assert stretches[0][0] is None and [r["step"] for r in stretches[0][1]] == [0]  # learnt
    assert stretches[1][0] is not None and len(stretches[1][1]) == 2  # 5 and 10: one shape
    assert [r["step"] for r in stretches[2][1]] == [8]  # the rest: validated, -1, 7 and 9 left out


def test_the_follower_reads_only_appended_lines_and_a_partial_line_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = a_run(tmp_path, 10)
    follower = watch.RunFollower(run)
    assert follower.poll() and len(follower.records) == 10
    offsets: list[int] = []
    read_from = metric_lines.files.read_from

    def spy(path: Path, offset: int, limit: int) -> bytes:
        offsets.append(offset)
        return read_from(path, offset, limit)

    monkeypatch.setattr(metric_lines.files, "read_from", spy)
    size = run.metrics_path.stat().st_size
    write_lines(run.metrics_path, [json.dumps(record(50)), json.dumps(record(55))], "a")
    with run.metrics_path.open("a") as f:
        f.write('{"step": 60, "epoch"')  # the writer is mid-line
    assert follower.poll() and len(follower.records) == 12
    assert offsets == [size]  # the new lines only
    assert not follower.poll()  # the partial line waits for its end
    with run.metrics_path.open("a") as f:
        f.write(": 6}\n")
    assert follower.poll() and follower.records[-1] == {"step": 60, "epoch": 6}


def test_a_truncated_or_replaced_file_is_read_again(tmp_path: Path) -> None:
    run = a_run(tmp_path, 10)
    follower = watch.RunFollower(run)
    follower.poll()
    write_lines(run.metrics_path, [json.dumps(record(step)) for step in (0, 5)])  # truncated
    assert follower.poll() and [r["step"] for r in follower.records] == [0, 5]
    # replaced by another file (a rename over it) whose records go on past the ones held:
    # the size grew and the steps rise, yet these are not the records read before
    other = run.path / "other.jsonl"
    write_lines(other, [json.dumps({**record(step), "lr": 0.5}) for step in range(10, 200, 5)])
    os.rename(other, run.metrics_path)
    assert follower.poll()
    assert [r["step"] for r in follower.records] == list(range(10, 200, 5))
    assert {r["lr"] for r in follower.records} == {0.5}


def test_the_follower_holds_a_long_run_in_columns_not_dicts(tmp_path: Path) -> None:
    run = a_run(tmp_path, 10_000)
    tracemalloc.start()
    try:
        follower = watch.RunFollower(run)
        follower.poll()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(follower.records) == 10_000
    assert held < 4 * 2**20  # columns: 0.7 MB; a list of dicts: about 12 MB


def test_a_long_file_is_sampled_evenly_with_its_last_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = a_run(tmp_path, 3000)
    monkeypatch.setattr(columns_module, "SAMPLE_FROM", 1024)
    sample = sample_columns(run.path, count=100)
    assert sample is not None and 90 <= len(sample) <= 102
    steps = list(sample.values("step"))
    assert steps == sorted(steps) and steps[0] == 0 and steps[-1] == 2999 * 5


# -- the view that is drawn ------------------------------------------------------------------


def test_the_view_keeps_extremes_the_jump_and_the_ends() -> None:
    rng = random.Random(1)
    n = 100_000
    xs = [float(i) for i in range(n)]
    ys = [0.5 + 0.01 * rng.random() if i < 61_234 else 0.99 for i in range(n)]
    spike, dip = rng.randrange(1, n - 1), rng.randrange(1, n - 1)
    ys[spike], ys[dip] = 7.0, -3.0
    view = bucket_view(xs, ys, 0, n, 2000)
    assert len(view) <= 2002
    assert view[0] == (xs[0], ys[0]) and view[-1] == (xs[-1], ys[-1])
    assert (xs[spike], 7.0) in view and (xs[dip], -3.0) in view
    assert max(y for _, y in view) == 7.0 and min(y for _, y in view) == -3.0
    jump = [
        (a, b) for a, b in zip(view, view[1:], strict=False) if 0.5 <= a[1] <= 0.51 and b[1] == 0.99
    ]
    assert len(jump) == 1 and jump[0][1][0] - jump[0][0][0] <= 2 * n / 1000  # within a bucket
    assert [x for x, _ in view] == sorted(x for x, _ in view)


def test_a_zoomed_window_has_every_record_and_keeps_the_run_s_extent(tmp_path: Path) -> None:
    run = a_run(tmp_path, 20_000)
    curves = RunCurves(read_columns(run.path))
    summary = {"grok_step": 60_000}
    whole = curves.panel(summary, "accuracy", AxisOptions())
    test = whole.series[1].points
    assert len(test) <= 4002 and test[0][0] == 0 and test[-1][0] == 99_995
    zoomed = curves.panel(summary, "accuracy", AxisOptions(), window=(50_000.0, 51_000.0))
    inside = [x for x, _ in zoomed.series[1].points if 50_000 <= x <= 51_000]
    assert inside == [float(step) for step in range(50_000, 51_001, 5)]  # full resolution
    xs = [x for x, _ in zoomed.series[1].points]
    assert (min(xs), max(xs)) == (0, 99_995)  # the extent zoom and cursor measure from
    assert [m.label for m in zoomed.marks] == ["grok 60000"]


@pytest.mark.parametrize(
    "options",
    [
        AxisOptions(),
        AxisOptions(smoothing=0.9),
        AxisOptions(x_key="elapsed_s"),
        AxisOptions(log_x=True, smoothing=0.6),
    ],
)
@pytest.mark.parametrize("key", ["accuracy", "loss", "lr", "epoch"])
def test_a_short_run_is_drawn_as_before(tmp_path: Path, options: AxisOptions, key: str) -> None:
    run = a_run(tmp_path, 300)
    summary = {"fit_step": 300, "grok_step": 900}
    old = run_panel(store.read_records(run.path), summary, key, options)
    new = RunCurves(read_columns(run.path)).panel(summary, key, options)
    assert (new.title, new.scale, new.x_label, new.marks) == (
        old.title,
        old.scale,
        old.x_label,
        old.marks,
    )
    assert [(s.name, s.colour, s.faint) for s in new.series] == [
        (s.name, s.colour, s.faint) for s in old.series
    ]
    for mine, theirs in zip(new.series, old.series, strict=True):
        assert len(mine.points) == len(theirs.points)
        assert all(
            math.isclose(a[0], b[0]) and math.isclose(a[1], b[1], abs_tol=1e-12)
            for a, b in zip(mine.points, theirs.points, strict=True)
        )


# -- export ----------------------------------------------------------------------------------


def test_the_streamed_export_is_the_table_s_byte_for_byte(tmp_path: Path) -> None:
    from grok_tui.export.stream import write_runs_csv

    runs = tmp_path / "runs"
    plain = finished_run(runs, "plain", steps=40)
    crafted = finished_run(runs, "crafted", steps=2, **{"optim.lr": 0.01})
    write_lines(crafted.metrics_path, CRAFTED)
    with crafted.metrics_path.open("a") as f:
        f.write('{"step": 99, "ep')
    old_warn: list[str] = []
    new_warn: list[str] = []
    rows = table_csv([plain, crafted], tmp_path / "old.csv", warn=old_warn.append)
    assert write_runs_csv([plain, crafted], tmp_path / "new.csv", warn=new_warn.append) == rows
    assert (tmp_path / "new.csv").read_bytes() == (tmp_path / "old.csv").read_bytes()
    assert old_warn == new_warn
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_the_export_streams_in_little_memory(tmp_path: Path) -> None:
    from grok_tui.export.stream import write_runs_csv

    run = a_run(tmp_path, 10_000)
    tracemalloc.start()
    try:
        rows = write_runs_csv([run], tmp_path / "out.csv")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == 10_000
    assert peak < 12 * 2**20  # a chunk's rows at a time (9 MB); the table read whole: 512
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 10_001


def test_lines_longer_than_a_chunk_are_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metric_lines, "CHUNK", 64)  # every line is longer
    path = tmp_path / store.METRICS_FILE
    write_lines(path, [json.dumps(record(step)) for step in range(0, 50, 5)])
    columns = Columns()
    reader = ColumnsReader(path)
    assert reader.read(columns) == 10 and reader.offset == path.stat().st_size
    assert list(columns.view()) == store.read_records(tmp_path)

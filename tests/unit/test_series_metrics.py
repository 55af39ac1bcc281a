"""The maths behind the panes' metrics, zoom, log x axis and cursor, and the plot export."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

from grok_tui.tui import plot_export
from grok_tui.tui.views import cursor, curves, panels, plotted, ticks
from grok_tui.tui.views.cursor import View
from grok_tui.tui.views.curves import AxisOptions
from grok_tui.tui.views.layout import grid_shape


def record(step: int, **extra: float) -> dict:
    acc = min(1.0, step / 1000)
    return {
        "step": step,
        "elapsed_s": step / 100,
        "train_acc": 1.0,
        "test_acc": acc,
        "train_loss": 0.01,
        "test_loss": 1.0 - 0.9 * acc,
        "lr": 1e-3,
        "param_norm": 30.0 - step / 100,
        "grad_norm": 1.0,
        **extra,
    }


RECORDS = [record(s) for s in range(0, 1001, 100)]


def test_metric_keys_offer_the_pairs_the_weight_norm_first_and_progress_measures() -> None:
    records = [*RECORDS, record(1100, key_frequency_share=0.4, restricted_loss=0.2)]
    keys = panels.metric_keys(records)
    assert keys[:3] == ["accuracy", "loss", "param_norm"]
    assert {"grad_norm", "lr", "key_frequency_share", "restricted_loss"} <= set(keys)
    assert not {"step", "elapsed_s", "train_acc", "test_loss"} & set(keys)  # axes, pairs


def test_each_metric_gets_the_scale_its_values_read_on() -> None:
    assert panels.metric("accuracy").scale == "unit"
    assert panels.metric("loss").fields == ("train_loss", "test_loss")
    assert panels.metric("restricted_loss").scale == "log"
    assert panels.metric("key_frequency_share").scale == "unit"
    assert panels.metric("param_norm").scale == "linear"
    assert panels.metric("loss").title == "loss (log)"


def test_run_panel_plots_any_field_and_loss_as_log10() -> None:
    norm = panels.run_panel(RECORDS, {"grok_step": 900}, "param_norm", AxisOptions())
    assert [s.name for s in norm.series] == ["param_norm"]
    assert norm.series[0].points[0] == (0.0, 30.0)
    assert [m.label for m in norm.marks] == ["grok 900"]
    loss = panels.run_panel(RECORDS, {}, "loss", AxisOptions())
    assert loss.series[0].points[0] == (0.0, pytest.approx(math.log10(0.01)))


def test_overlay_draws_test_solid_and_train_dim_and_dashed_then_splits_per_run() -> None:
    runs = [("a", "1:a", RECORDS), ("b", "2:b", RECORDS[:5])]
    colours = curves.run_colours(["a", "b"])
    panel = panels.runs_panel(runs, colours, "accuracy", AxisOptions())
    test = [s for s in panel.series if not s.dashed]
    train = [s for s in panel.series if s.dashed]
    assert [s.name for s in test] == ["1:a", "2:b"] and [s.colour for s in test] == [
        colours["a"],
        colours["b"],
    ]
    assert [s.name for s in train] == ["1:a train", "2:b train"]
    assert all(s.colour != colours[s.group] for s in train)
    small = panels.small_multiples(panel, [("a", "1:a", []), ("b", "2:b", [])])
    assert [len(p.series) for p in small] == [2, 2]
    assert {s.group for s in small[1].series} == {"b"}


def test_zoom_shows_the_latest_part_or_the_part_around_the_cursor() -> None:
    assert cursor.x_window((0, 1000), 0, None) == (0, 1000)
    assert cursor.x_window((0, 1000), 1, None) == (500, 1000)
    assert cursor.x_window((0, 1000), 2, 500) == (375, 625)
    assert cursor.x_window((0, 1000), 2, 10) == (0, 250)  # kept inside the data
    panel = panels.run_panel(RECORDS, {}, "accuracy", AxisOptions())
    assert cursor.view_window([panel], False, View(zoom=1)) == (500, 1000)


def test_the_cursor_starts_at_the_latest_record_and_stops_at_records() -> None:
    xs = [0.0, 100.0, 200.0, 300.0]
    assert cursor.move_cursor(xs, None, 0) == 300
    assert cursor.move_cursor(xs, None, -1) == 200
    assert cursor.move_cursor(xs, 200, -10) == 0
    assert cursor.move_cursor(xs, 160, 1) == 300  # from the nearest record
    assert cursor.move_cursor([], None, 1) is None


def test_cursor_line_reads_the_values_at_the_cursor() -> None:
    acc = panels.run_panel(RECORDS, {}, "accuracy", AxisOptions())
    norm = panels.run_panel(RECORDS, {}, "param_norm", AxisOptions())
    line = cursor.cursor_line([acc, norm], 250)
    assert line.startswith("cursor step 250")
    assert "accuracy: train 1 test 0.2" in line and "param_norm 28" in line
    assert cursor.cursor_line([acc], None).startswith("latest step 1000")
    runs = [("a", "1:a", RECORDS)]
    overlay = panels.runs_panel(runs, {"a": (1, 2, 3)}, "accuracy", AxisOptions())
    assert "accuracy (test/train): 1:a 0.5/1" in cursor.cursor_line([overlay], 500)
    loss = panels.run_panel(RECORDS, {}, "loss", AxisOptions())
    assert "train 0.01 " in cursor.cursor_line([loss], 0) + " "  # data units, not log10


def test_plotted_log_x_drops_step_zero_and_labels_plain_steps() -> None:
    panel = panels.run_panel(RECORDS, {}, "accuracy", AxisOptions())
    view = plotted.plotted(panel, log_x=True, window=None, cursor=200, width=60, height=20)
    xs = [x for _, pts in view.curves for x, _ in pts]
    assert min(xs) == pytest.approx(2.0) and max(xs) == pytest.approx(3.0)
    assert view.cursor == pytest.approx(math.log10(200))
    assert "1000" in view.x_ticks[1]
    zoomed = plotted.plotted(
        panel, log_x=False, window=(500, 1000), cursor=100, width=60, height=20
    )
    assert all(500 <= x <= 1000 for _, pts in zoomed.curves for x, _ in pts)
    assert zoomed.cursor is None  # outside the window: not drawn
    flat = panels.run_panel(RECORDS, {}, "lr", AxisOptions())
    band = plotted.plotted(flat, log_x=False, window=None, cursor=None, width=60, height=20)
    assert band.y_lim is not None and band.y_lim[0] < 1e-3 < band.y_lim[1]


def test_small_multiples_fill_the_space_and_stop_where_none_would_fit() -> None:
    assert grid_shape(56, 18, 4) == (2, 2)
    assert grid_shape(56, 18, 1) == (1, 1)
    cols, rows = grid_shape(56, 18, 30)
    assert cols * rows == 4  # 80x24: four readable panes, the rest listed
    cols, rows = grid_shape(93, 34, 12)
    assert cols * rows >= 12


def test_plot_export_writes_png_and_svg_under_the_runs_directory(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    panel = panels.run_panel(RECORDS, {"fit_step": 100}, "loss", AxisOptions())
    norm = panels.run_panel(RECORDS, {}, "param_norm", AxisOptions())
    paths = plot_export.export_plot([panel, norm], tmp_path, "../a run/name", log_x=True)
    assert [p.suffix for p in paths] == [".png", ".svg"]
    for path in paths:
        assert path.parent == tmp_path / "exports" and path.stat().st_size > 1000
        assert "/" not in path.name and ".." not in path.name


def test_plot_export_without_matplotlib_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import raises ImportError
    panel = panels.run_panel(RECORDS, {}, "accuracy", AxisOptions())
    with pytest.raises(plot_export.PlotExportUnavailable, match=r"grok-tui\[analysis\]"):
        plot_export.export_plot([panel], tmp_path, "run")
    assert not (tmp_path / "exports").exists()


def test_linear_tick_labels_tell_close_ticks_apart() -> None:
    assert ticks.linear_labels([29.7996, 29.7998, 29.8]) == ["29.7996", "29.7998", "29.8000"]
    assert ticks.linear_labels([20, 22.5, 25]) == ["20.0", "22.5", "25.0"]
    assert ticks.linear_labels([0, 5, 10]) == ["0", "5", "10"]

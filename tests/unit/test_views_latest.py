"""The maths behind the overview and Compare for runs of different lengths: each run read
at its own latest step (named), small multiples on their own x range, and labels at the
ends of overlaid lines that tell runs apart without colour (issue 35, item 4)."""

from __future__ import annotations

from grok_tui.tui.views import cursor, curves, panels, plotted
from grok_tui.tui.views.cursor import View
from grok_tui.tui.views.curves import AxisOptions


def records(steps: int, every: int = 10) -> list[dict]:
    return [
        {"step": s, "train_acc": 1.0, "test_acc": s / steps, "param_norm": 30 - s / steps}
        for s in range(every, steps + 1, every)
    ]


SHORT, LONG = records(2000), records(10000)
RUNS = [("s", "1:short", SHORT), ("l", "2:long", LONG)]
COLOURS = curves.run_colours(["s", "l"])


def overlay(key: str = "accuracy") -> panels.Panel:
    return panels.runs_panel(RUNS, COLOURS, key, AxisOptions())


def test_the_latest_values_are_each_run_s_own_and_name_the_step_they_are_at() -> None:
    line = cursor.cursor_line([overlay()], None)
    assert line.startswith("latest step 10000")
    assert "1:short 1/1 @2000" in line  # its own latest record, with its step
    assert "2:long 1/1" in line and "@10000" not in line  # at the header's step


def test_a_cursor_past_a_run_s_end_or_between_its_records_names_the_step_read() -> None:
    line = cursor.cursor_line([overlay()], 5000)
    assert line.startswith("cursor step 5000")
    assert "1:short 1/1 @2000" in line and "2:long 0.5/1 " in line + " "
    sparse = [("s", "1:short", records(2000, every=300)), ("l", "2:long", LONG)]
    panel = panels.runs_panel(sparse, COLOURS, "accuracy", AxisOptions())
    assert "1:short 0.6/1 @1200" in cursor.cursor_line([panel], 1250)  # not at 1250
    one = panels.run_panel(records(400, every=100), {}, "param_norm", AxisOptions())
    assert cursor.cursor_line([one], 250) == "cursor step 250 @200 │ param_norm 29.5"


def test_small_multiples_each_span_their_own_run_and_zoom_to_its_latest_part() -> None:
    small = panels.small_multiples(overlay(), [("s", "1:short", []), ("l", "2:long", [])])
    assert cursor.pane_windows(small, False, View()) == [(10, 2000), (10, 10000)]
    zoomed = cursor.pane_windows(small, False, View(zoom=1))
    assert zoomed == [(1005, 2000), (5005, 10000)]
    assert cursor.view_window(small, False, View(zoom=1)) == (5005, 10000)  # one window: shared


def test_each_overlaid_line_ends_in_its_run_s_label_and_close_ones_share_one() -> None:
    view = plotted.plotted(overlay(), log_x=False, window=None, cursor=None, width=60, height=20)
    assert [(x, y, text) for x, y, text, _ in view.labels] == [
        (2000, 1.0, "1"),
        (10000, 1.0, "2"),
    ]
    assert view.labels[0][3] == COLOURS["s"]
    zoomed = plotted.plotted(
        overlay(), log_x=False, window=(5000, 10000), cursor=None, width=60, height=20
    )
    assert [text for _, _, text, _ in zoomed.labels] == ["2"]  # the short run is out of view
    same = [("s", "1:short", LONG), ("l", "2:long", LONG)]
    both = panels.runs_panel(same, COLOURS, "accuracy", AxisOptions())
    view = plotted.plotted(both, log_x=False, window=None, cursor=None, width=60, height=20)
    assert [text for _, _, text, _ in view.labels] == ["1,2"]  # one place, one label
    one = panels.run_panel(SHORT, {}, "accuracy", AxisOptions())
    assert (
        plotted.plotted(one, log_x=False, window=None, cursor=None, width=60, height=20).labels
        == []
    )

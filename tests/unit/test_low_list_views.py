"""The pure parts of issue 35's low list: tick labels never repeat; a status line fits
one row."""

from __future__ import annotations

import math

from rich.text import Text

from grok_tui.tui.views.ticks import linear_labels, log_ticks


def test_a_narrow_log_axis_never_repeats_a_tick_label() -> None:
    """(2) A loss between 4.301 and 4.309 on a log pane showed "4.3" twice."""
    _, labels = log_ticks(math.log10(4.301), math.log10(4.309))
    assert len(labels) >= 2 and len(set(labels)) == len(labels), labels


def test_large_close_ticks_are_written_apart() -> None:
    labels = linear_labels([1e6, 1e6 + 2, 1e6 + 4])
    assert len(set(labels)) == 3, labels
    assert linear_labels([0, 2000, 4000]) == ["0", "2k", "4k"]


def test_a_status_line_leaves_out_its_least_used_parts_to_fit_one_row() -> None:
    from grok_tui.tui.views.status_fit import fit_parts  # new in this round

    parts = [(Text("running"), 0), (Text(" · 3.2 steps/s"), 5), (Text(" · grok @900"), 0)]
    assert fit_parts(parts, 0).plain == "running · 3.2 steps/s · grok @900"
    assert fit_parts(parts, 40).plain == "running · 3.2 steps/s · grok @900"  # fits whole
    assert fit_parts(parts, 25).plain == "running · grok @900"  # the speed goes first
    cut = fit_parts(parts, 10).plain
    assert len(cut) == 10 and cut.endswith("…")  # what is kept always is cut, never wraps

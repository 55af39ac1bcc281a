"""The two figures of steadiness after the grok, fixed in docs/plans/ before the runs."""

from __future__ import annotations

from grok_tui.rundirs import stability
from grok_tui.sweep.metrics import METRICS, format_metric
from grok_tui.sweep.stats import Estimate, format_estimate


def records(accs: list[float], every: int = 100) -> list[dict]:
    return [{"step": i * every, "test_acc": a} for i, a in enumerate(accs)]


# grok at step 300; the window (300, 1300] holds steps 400..1300
STEADY = [0.0, 0.2, 0.6, 0.995, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
SHAKY = [0.0, 0.2, 0.6, 0.995, 0.97, 1.0, 0.8, 0.9, 1.0, 1.0, 0.5, 1.0, 1.0, 1.0]


def test_a_steady_run_has_no_dip_and_its_minimum_is_the_plateau() -> None:
    assert stability.post_grok_min_test_acc(records(STEADY), 300) == 1.0
    assert stability.post_grok_dips(records(STEADY), 300) == 0


def test_a_shaky_run_counts_each_fall_below_the_threshold_once() -> None:
    # falls at 400 (0.97), at 600 (0.8, staying below at 700) and at 1000 (0.5)
    assert stability.post_grok_dips(records(SHAKY), 300) == 3
    assert stability.post_grok_min_test_acc(records(SHAKY), 300) == 0.5


def test_evaluations_outside_the_window_do_not_count() -> None:
    late_fall = [*STEADY[:13], 0.1, 1.0]  # step 1300 still in, 1400 (0.1) is past it
    late_fall[13] = 1.0
    assert stability.post_grok_dips(records(late_fall), 300) == 0
    assert stability.post_grok_min_test_acc(records(late_fall), 300) == 1.0


def test_no_figure_without_a_grok_or_without_the_whole_window() -> None:
    assert stability.post_grok_dips(records(STEADY), None) is None
    assert stability.post_grok_min_test_acc(records(STEADY), None) is None
    stopped_early = records(STEADY[:8])  # ends at 700 < 300 + 1000
    assert stability.post_grok_dips(stopped_early, 300) is None
    assert stability.post_grok_min_test_acc(stopped_early, 300) is None


def test_sweep_report_knows_both_and_prints_a_mean_count_with_decimals() -> None:
    dips = METRICS["post_grok_dips"]
    assert dips.from_records is not None and not dips.higher_is_better
    assert dips.from_records(records(SHAKY), {"grok_step": 300}) == 3
    low = METRICS["post_grok_min_test_acc"]
    assert low.from_records is not None
    assert low.from_records(records(SHAKY), {"grok_step": 300}) == 0.5
    assert format_metric("post_grok_dips", 3) == "3"
    assert format_estimate(Estimate(0.4, 0.13, 0.8, 15), kind="count") == "0.40 [0.13, 0.80]"

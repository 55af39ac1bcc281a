"""Live's maths: the ETA at the recent speed, the runs bar's folding and following, and
the smoothing weights (grok_tui/tui/views/rates.py, runs_bar.py, smoothing.py)."""

from __future__ import annotations

from typing import Any

import pytest

from grok_tui.tui.views import rates, runs_bar, smoothing

LIVE = frozenset({"running", "starting"})


def doubling_records(steps: int = 2000, every: int = 50) -> list[dict[str, Any]]:
    """10 steps/s up to step 1000, then 20 steps/s (other runs ended: more threads)."""
    records, clock = [], 0.0
    for step in range(every, steps // 2 + 6 * every, every):
        clock += every / (10.0 if step <= steps // 2 else 20.0)
        records.append({"step": step, "elapsed_s": round(clock, 3)})
    return records


def trainer_rate(records: list[dict[str, Any]]) -> float:
    """The summary's steps_per_s as the trainer writes it (training/events.py: 0.3 a record)."""
    smoothed, last = None, (0.0, 0)
    for r in records:
        rate = (r["step"] - last[1]) / (r["elapsed_s"] - last[0])
        smoothed = rate if smoothed is None else 0.3 * rate + 0.7 * smoothed
        last = (r["elapsed_s"], r["step"])
    assert smoothed is not None
    return round(smoothed, 2)


def test_the_eta_follows_a_run_whose_speed_doubled() -> None:
    records = doubling_records()
    last = records[-1]["step"]  # five records after the speed doubled
    summary = {"steps": 2000, "step": last, "steps_per_s": trainer_rate(records)}
    true_eta = (2000 - last) / 20.0
    assert rates.run_rate(summary, records) == pytest.approx(20.0)
    assert rates.eta_seconds(summary, records) == pytest.approx(true_eta, rel=0.02)
    # the smoothed summary rate alone still lags behind the change
    assert (2000 - last) / summary["steps_per_s"] > 1.05 * true_eta


def test_the_rate_falls_back_on_the_summary_and_says_when_it_is_unknown() -> None:
    summary = {"steps": 1000, "step": 400, "steps_per_s": 100.0}
    assert rates.eta_seconds(summary, []) == 6.0
    assert rates.eta_seconds(summary, [{"step": 400, "elapsed_s": 3.0}]) == 6.0
    assert rates.eta_seconds({"steps": 1000, "step": 400}, []) is None
    assert rates.recent_rate([{"step": 10}, {"step": 20}]) is None  # no clock in the records
    stuck = [{"step": 10, "elapsed_s": 1.0}, {"step": 10, "elapsed_s": 2.0}]
    assert rates.recent_rate(stuck) is None


RUNS = [
    ("a", "completed"),
    ("b", "running"),
    ("c", "failed"),
    ("d", "completed"),
    ("e", "running"),
]


def test_the_bar_lists_the_live_runs_and_the_shown_one() -> None:
    assert runs_bar.bar_runs(RUNS, "b", LIVE) == [1, 4]
    assert runs_bar.bar_runs(RUNS, "d", LIVE) == [1, 3, 4]  # the shown one, though ended


def test_brackets_go_through_the_bar_s_runs_or_all_when_none_is_live() -> None:
    assert runs_bar.cycled(RUNS, "b", 1, LIVE) == "e"
    assert runs_bar.cycled(RUNS, "e", 1, LIVE) == "b"
    assert runs_bar.cycled(RUNS, "d", 1, LIVE) == "e"
    assert runs_bar.cycled(RUNS, "b", -1, LIVE) == "e"
    ended = [(run_id, "completed") for run_id, _ in RUNS]
    assert runs_bar.cycled(ended, "a", 1, LIVE) == "b"
    assert runs_bar.cycled([], None, 1, LIVE) is None


def test_the_shown_run_ending_moves_live_on_to_the_next_live_one() -> None:
    following = runs_bar.Following()
    assert following.look(RUNS, "b", LIVE) == "b"
    ended_b = [("a", "completed"), ("b", "completed"), ("c", "failed"), ("e", "running")]
    assert following.look(ended_b, "b", LIVE) == "e"
    # a run chosen once ended stays shown; so does one that crashed or failed
    assert runs_bar.Following().look(ended_b, "a", LIVE) == "a"
    failing = runs_bar.Following()
    failing.look([("x", "running"), ("y", "running")], "x", LIVE)
    assert failing.look([("x", "crashed"), ("y", "running")], "x", LIVE) == "x"
    alone = runs_bar.Following()
    alone.look([("x", "running")], "x", LIVE)
    assert alone.look([("x", "completed")], "x", LIVE) == "x"  # no other live run


def test_the_smoothing_weight_steps_through_its_values_and_is_named() -> None:
    assert smoothing.stepped(0.0, 1) == 0.6
    assert smoothing.stepped(0.6, 1) == 0.8
    assert smoothing.stepped(0.95, 1) == 0.99
    assert smoothing.stepped(0.99, 1) == 0.99
    assert smoothing.stepped(0.6, -1) == 0.0
    assert smoothing.stepped(0.0, -1) == 0.0
    assert smoothing.stepped(0.7, 1) == 0.8 and smoothing.stepped(0.7, -1) == 0.6
    assert smoothing.label(0.9) == "EMA 0.9" and smoothing.label(0.0) == ""

"""Curve-shape figures: steadiness of test accuracy and where test loss was lowest."""

from __future__ import annotations

import pytest

from grok_tui.rundirs import curves


def records(test_acc: list[float], test_loss: list[float] | None = None, every: int = 100):
    losses = test_loss or [1.0] * len(test_acc)
    return [
        {"step": i * every, "epoch": i * every // 4, "test_acc": a, "test_loss": loss}
        for i, (a, loss) in enumerate(zip(test_acc, losses, strict=True))
    ]


def test_jitter_is_zero_on_a_flat_plateau_and_ignores_the_rise():
    rise_then_flat = [0.0, 0.3, 0.6, 0.9, 0.9, 0.9, 0.9, 0.9]
    assert curves.test_acc_jitter(records(rise_then_flat)) == 0.0


def test_jitter_is_the_mean_change_over_the_second_half():
    restless = [0.0, 0.5, 0.9, 0.8, 0.9, 0.7, 0.9]  # steps 0..600: the half is 300 on
    # second half: 0.8, 0.9, 0.7, 0.9 -> changes 0.1, 0.2, 0.2
    assert curves.test_acc_jitter(records(restless)) == pytest.approx(0.5 / 3)
    calmer = [0.0, 0.5, 0.9, 0.85, 0.9, 0.85, 0.9]
    assert curves.test_acc_jitter(records(calmer)) < curves.test_acc_jitter(records(restless))


def test_jitter_needs_three_evaluations_in_the_second_half():
    assert curves.test_acc_jitter(records([0.1, 0.5, 0.9])) is None
    assert curves.test_acc_jitter([]) is None


def test_min_test_loss_step_and_epoch_find_the_first_lowest_point():
    recs = records([0.1] * 6, [3.0, 2.0, 0.5, 0.5, 0.9, 1.4])
    assert curves.min_test_loss_step(recs) == 200
    assert curves.min_test_loss_epoch(recs) == 50.0
    assert curves.min_test_loss_step([{"step": 0, "test_loss": None}]) is None


def test_test_acc_at_reads_the_evaluation_of_that_step():
    recs = records([0.0, 0.2, 0.7, 0.9])
    assert curves.test_acc_at(recs, 200) == 0.7
    assert curves.test_acc_at(recs, 250) is None and curves.test_acc_at(recs, None) is None


def test_rise_counts_the_steps_from_test_acc_0_1_to_0_9():
    gradual = [0.0, 0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 1.0]  # 0.1 at step 200, 0.9 at 600
    sharp = [0.0, 0.0, 0.0, 0.05, 0.5, 0.95, 1.0, 1.0]  # 0.1 at 400, 0.9 at 500
    assert curves.test_acc_rise(records(gradual)) == 400
    assert curves.test_acc_rise(records(sharp)) == 100
    assert curves.test_acc_rise(records([0.0, 0.95])) == 0  # one jump past both
    assert curves.test_acc_rise(records([0.0, 0.2, 0.5])) is None  # never reaches 0.9


def test_softmax_collapse_step_is_the_first_step_with_half_the_training_set_collapsed():
    rows = records([0.0] * 5)
    for row, share in zip(rows, [0.0, 0.2, 0.5, 0.4, 0.9], strict=True):
        row["softmax_collapse"] = share
    assert curves.softmax_collapse_step(rows) == 200  # 0.5 counts; the later 0.9 does not
    assert curves.softmax_collapse_step(rows, share=0.95) is None
    assert curves.final_softmax_collapse(rows) == 0.9
    assert curves.softmax_collapse_step(records([0.0] * 3)) is None  # not measured
    assert curves.final_softmax_collapse(records([0.0] * 3)) is None


def test_param_norm_drop_is_the_fall_from_the_peak_and_measures_read_their_last_value():
    rows = records([0.0] * 4)
    for row, norm in zip(rows, [10.0, 40.0, 30.0, 20.0], strict=True):
        row["param_norm"] = norm
    rows[1]["excluded_loss"], rows[2]["excluded_loss"] = 0.5, 3.0  # measured at two steps
    assert curves.param_norm_drop(rows) == pytest.approx(0.5)
    assert curves.last_measured(rows, "excluded_loss") == 3.0
    assert curves.last_measured(rows, "restricted_loss") is None
    for row, norm in zip(rows, [10.0, 20.0, 30.0, 40.0], strict=True):
        row["param_norm"] = norm
    assert curves.param_norm_drop(rows) == 0.0  # a norm that only grows
    assert curves.param_norm_drop(records([0.0])) is None

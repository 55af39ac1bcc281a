"""Figures of a run's curves that its summary does not hold: how steady test accuracy is,
how gradually it rose, and when test loss was lowest.

The report's BiRNN claims are about the shape of the curves rather than a step ("more
than 4 layers introduces chaos into the plateau", "batch size does not play an important
part in stability", "overfitting occurs after about 2,000 epochs"), and so is the
claim that operator tokens make grokking "more gradual". These turn each
shape into one number per run, so that a sweep can put a confidence interval on it.
Pure functions of metrics.jsonl records (no torch).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _series(records: Sequence[dict[str, Any]], key: str) -> list[tuple[int, float]]:
    return [
        (int(r["step"]), float(r[key]))
        for r in records
        if isinstance(r.get(key), int | float) and isinstance(r.get("step"), int)
    ]


def test_acc_jitter(records: Sequence[dict[str, Any]]) -> float | None:
    """The mean absolute change of test accuracy between successive evaluations over
    the second half of the run's steps: 0 for a flat plateau, larger for a restless one.

    The second half leaves out the rise, whose steps are change the plateau does not
    have; None with fewer than three evaluations there.
    """
    series = _series(records, "test_acc")
    if not series:
        return None
    half = series[-1][0] / 2
    tail = [acc for step, acc in series if step >= half]
    if len(tail) < 3:
        return None
    return sum(abs(b - a) for a, b in zip(tail, tail[1:], strict=False)) / (len(tail) - 1)


def test_acc_at(records: Sequence[dict[str, Any]], step: int | None) -> float | None:
    """Test accuracy at the evaluation of ``step`` (e.g. fit_step): near the final one
    when test follows train, near chance when the run memorises first (a grokking gap)."""
    if step is None:
        return None
    return next((acc for s, acc in _series(records, "test_acc") if s == step), None)


def test_acc_rise(
    records: Sequence[dict[str, Any]], low: float = 0.1, high: float = 0.9
) -> int | None:
    """Steps from the first evaluation with test accuracy >= ``low`` to the first with
    >= ``high``: how gradual the rise is, where grok_gap only says when it ended.

    None when test accuracy never reaches ``high``; 0 when a run starts above ``low``
    and jumps past ``high`` at one evaluation.
    """
    series = _series(records, "test_acc")
    start = next((step for step, acc in series if acc >= low), None)
    end = next((step for step, acc in series if acc >= high), None)
    if start is None or end is None:
        return None
    return end - start


def min_test_loss_step(records: Sequence[dict[str, Any]]) -> int | None:
    """The step of the lowest test loss (the first, on ties): where over-fitting in the
    loss begins when the run goes on past it."""
    series = _series(records, "test_loss")
    if not series:
        return None
    best = min(loss for _, loss in series)
    return next(step for step, loss in series if loss == best)


def min_test_loss_epoch(records: Sequence[dict[str, Any]]) -> float | None:
    """min_test_loss_step in epochs (passes over the training set), as the report counts."""
    step = min_test_loss_step(records)
    if step is None:
        return None
    epoch = next((r.get("epoch") for r in records if r.get("step") == step), None)
    return float(epoch) if isinstance(epoch, int | float) else None


COLLAPSE_SHARE = 0.5  # softmax_collapse_step: half of the training set collapsed


def softmax_collapse_step(
    records: Sequence[dict[str, Any]], share: float = COLLAPSE_SHARE
) -> int | None:
    """The first measured step at which at least ``share`` of the training examples are in
    softmax collapse (Prieto et al.: their gradient is exactly zero, so learning on them has
    stopped); None when it never happens, or the run did not measure softmax_collapse."""
    return next((step for step, v in _series(records, "softmax_collapse") if v >= share), None)


def final_softmax_collapse(records: Sequence[dict[str, Any]]) -> float | None:
    """The share of training examples in softmax collapse at the last measured step."""
    return last_measured(records, "softmax_collapse")


def last_measured(records: Sequence[dict[str, Any]], key: str) -> float | None:
    """A measure's value at the last step that measured it (measures may skip evaluations)."""
    series = _series(records, key)
    return series[-1][1] if series else None


def param_norm_drop(records: Sequence[dict[str, Any]]) -> float | None:
    """How far the total weight norm ended below its peak, as a share of the peak: Nanda et
    al.'s clean-up shows as a falling norm; a run whose norm only grows gives 0."""
    series = _series(records, "param_norm")
    if not series:
        return None
    peak = max(norm for _, norm in series)
    return (peak - series[-1][1]) / peak if peak > 0 else 0.0

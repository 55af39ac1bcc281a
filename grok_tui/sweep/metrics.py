"""The figures of a finished point: which there are, how each is read from a run's
summary (or, for a curve's shape, computed from its records) and how it prints.

The report's table and the heatmap both read points through this module (one ReportRow
per point), so it sits below both of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grok_tui.rundirs import curves, stability, store
from grok_tui.sweep.sweepdir import SweepDir

SEED_FIELDS = ("train.seed", "data.split_seed")  # repeats of one setting, not settings


@dataclass(frozen=True)
class Metric:
    """A figure of a finished point, read from its summary (or, with ``from_records``,
    computed from its metrics.jsonl: the shape of a curve, which no summary field holds)."""

    name: str
    kind: str  # acc, delta (a change of accuracy), step, epoch, loss, time, count
    read: Callable[[dict[str, Any]], Any]
    higher_is_better: bool = True
    from_records: Callable[[list[dict[str, Any]], dict[str, Any]], Any] | None = None


def _final(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda s: (s.get("final") or {}).get(key)


def _top(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda s: s.get(key)


def _test_acc_drop(summary: dict[str, Any]) -> float | None:
    best, final = summary.get("best_test_acc"), (summary.get("final") or {}).get("test_acc")
    if not isinstance(best, int | float) or not isinstance(final, int | float):
        return None
    return max(0.0, float(best) - float(final))


def _records_only(summary: dict[str, Any]) -> None:
    return None


def _curve(
    name: str,
    kind: str,
    compute: Callable[[list[dict[str, Any]], dict[str, Any]], Any],
    higher_is_better: bool = True,
) -> Metric:
    """A figure of a curve's shape: no summary field holds it, so it is computed from the
    run's records (with its summary at hand, e.g. for fit_step)."""
    return Metric(name, kind, _records_only, higher_is_better, from_records=compute)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("final_test_acc", "acc", _final("test_acc")),
        Metric("final_train_acc", "acc", _final("train_acc")),
        Metric("best_test_acc", "acc", _top("best_test_acc")),
        Metric("fit_step", "step", _top("fit_step"), higher_is_better=False),
        Metric("grok_step", "step", _top("grok_step"), higher_is_better=False),
        Metric("grok_gap", "step", _top("grok_gap"), higher_is_better=False),
        Metric("final_test_loss", "loss", _final("test_loss"), higher_is_better=False),
        Metric("final_train_loss", "loss", _final("train_loss"), higher_is_better=False),
        Metric("step", "step", _top("step")),
        Metric("elapsed_s", "time", _top("elapsed_s"), higher_is_better=False),
        Metric("best_test_acc_step", "step", _top("best_test_acc_step")),
        # best minus final test accuracy: what the run lost after its peak (over-fitting)
        Metric("test_acc_drop", "delta", _test_acc_drop, higher_is_better=False),
        _curve(
            "test_acc_jitter",
            "delta",
            lambda records, _: curves.test_acc_jitter(records),
            higher_is_better=False,
        ),
        _curve(
            "test_acc_at_fit",
            "acc",
            lambda records, s: curves.test_acc_at(records, s.get("fit_step")),
        ),
        _curve(
            "test_acc_rise",
            "step",
            lambda records, _: curves.test_acc_rise(records),
            higher_is_better=False,
        ),
        _curve("min_test_loss_step", "step", lambda r, _: curves.min_test_loss_step(r)),
        _curve("min_test_loss_epoch", "epoch", lambda r, _: curves.min_test_loss_epoch(r)),
        # Prieto et al.'s softmax collapse (docs/plans/row-prieto-softmax-precision.md):
        # when half the training set stopped learning, and how much of it has at the end
        _curve("softmax_collapse_step", "step", lambda r, _: curves.softmax_collapse_step(r)),
        _curve(
            "final_softmax_collapse", "acc", lambda r, _: curves.final_softmax_collapse(r), False
        ),
        # Nanda et al.'s clean-up (docs/plans/row-nanda-weight-decay.md): the weight norm's
        # fall from its peak, and the restricted and excluded losses where last measured
        _curve("param_norm_drop", "delta", lambda r, _: curves.param_norm_drop(r)),
        _curve(
            "final_restricted_loss",
            "loss",
            lambda r, _: curves.last_measured(r, "restricted_loss"),
            higher_is_better=False,
        ),
        _curve(
            "final_excluded_loss",
            "loss",
            lambda r, _: curves.last_measured(r, "excluded_loss"),
        ),
        # steadiness after the grok (docs/plans/row-03-prime-stability.md): lowest test
        # accuracy, and falls below 0.99, in the 1,000 steps after grok_step
        _curve(
            "post_grok_min_test_acc",
            "acc",
            lambda r, s: stability.post_grok_min_test_acc(r, s.get("grok_step")),
        ),
        _curve(
            "post_grok_dips",
            "count",
            lambda r, s: stability.post_grok_dips(r, s.get("grok_step")),
            higher_is_better=False,
        ),
    )
}


@dataclass
class ReportRow:
    """One point of a sweep with its run's summary."""

    index: int
    coords: dict[str, Any]
    label: str
    run_id: str | None
    path: Path | None
    status: str
    summary: dict[str, Any] = field(default_factory=dict)
    _records: list[dict[str, Any]] | None = field(default=None, repr=False, compare=False)

    def value(self, metric: str) -> Any:
        figure = METRICS[metric]
        if figure.from_records is None:
            return figure.read(self.summary)
        return figure.from_records(self.records(), self.summary)

    def records(self) -> list[dict[str, Any]]:
        """The point's metrics.jsonl, read once and only for a figure that needs it."""
        if self._records is None:
            self._records = store.read_records(self.path) if self.path is not None else []
        return self._records


def report_rows(sweep_dir: SweepDir) -> list[ReportRow]:
    """One row per point, in the sweep's order; 'missing' where a run directory is gone."""
    rows = []
    for point in sweep_dir.points():
        summary, unreadable = (
            store.read_summary_checked(point.run.path) if point.run else ({}, None)
        )
        if point.run is None:
            status = "missing"
        elif unreadable and unreadable != f"no {store.SUMMARY_FILE}":
            status = store.UNREADABLE  # a damaged or crafted summary: no figure is read from it
        else:
            status = store.effective_status(summary)
        rows.append(
            ReportRow(
                index=point.index,
                coords=point.coords,
                label=point.label,
                run_id=point.run_id,
                path=point.run.path if point.run else None,
                status=status,
                summary=summary,
            )
        )
    return rows


def format_metric(metric: str, value: Any, *, width: int | None = None) -> str:
    """A metric's value as text: accuracies to 3 decimals, steps whole, '-' when absent;
    an infinity as 'inf' (a drawn value may be one: it never raises)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return str(value)
    kind = METRICS[metric].kind if metric in METRICS else "loss"
    if kind in ("acc", "delta"):
        text = f"{value:.3f}"
        if width is not None and len(text) > width:
            text = f"{value:.2f}"
    elif kind == "step":
        number = round(value)
        text = str(number)
        if width is not None and len(text) > width:
            text = f"{number / 1000:.0f}k" if number >= 10_000 else f"{number / 1000:.1f}k"
    elif kind == "epoch":
        text = f"{value:,.0f}"
    elif kind == "count":
        text = f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"
    elif kind == "time":
        text = f"{value:.0f}s" if value >= 10 else f"{value:.1f}s"
    else:
        text = f"{value:.3g}"
    return text

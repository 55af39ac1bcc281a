"""The figures of a finished point: which there are, how each is read from a run's
summary and how it prints.

The report's table and the heatmap both read points through this module (one ReportRow
per point), so it sits below both of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grok_tui import store
from grok_tui.sweep.sweepdir import SweepDir

SEED_FIELDS = ("train.seed", "data.split_seed")  # repeats of one setting, not settings


@dataclass(frozen=True)
class Metric:
    """A figure of a finished point, read from its summary."""

    name: str
    kind: str  # acc, step, loss, time
    read: Callable[[dict[str, Any]], Any]
    higher_is_better: bool = True


def _final(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda s: (s.get("final") or {}).get(key)


def _top(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda s: s.get(key)


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

    def value(self, metric: str) -> Any:
        return METRICS[metric].read(self.summary)


def report_rows(sweep_dir: SweepDir) -> list[ReportRow]:
    """One row per point, in the sweep's order; 'missing' where a run directory is gone."""
    rows = []
    for point in sweep_dir.points():
        summary = point.run.summary() if point.run else {}
        rows.append(
            ReportRow(
                index=point.index,
                coords=point.coords,
                label=point.label,
                run_id=point.run_id,
                path=point.run.path if point.run else None,
                status=store.effective_status(summary) if point.run else "missing",
                summary=summary,
            )
        )
    return rows


def format_metric(metric: str, value: Any, *, width: int | None = None) -> str:
    """A metric's value as text: accuracies to 3 decimals, steps whole, '-' when absent."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    kind = METRICS[metric].kind if metric in METRICS else "loss"
    if kind == "acc":
        text = f"{value:.3f}"
        if width is not None and len(text) > width:
            text = f"{value:.2f}"
    elif kind == "step":
        number = round(value)
        text = str(number)
        if width is not None and len(text) > width:
            text = f"{number / 1000:.0f}k" if number >= 10_000 else f"{number / 1000:.1f}k"
    elif kind == "time":
        text = f"{value:.0f}s" if value >= 10 else f"{value:.1f}s"
    else:
        text = f"{value:.3g}"
    return text

"""Uncertainty over seeds: bootstrap confidence intervals of a setting's figures.

A verdict such as "AdamW groks before Adam" is only evidence when it holds between the
seeds' confidence intervals. For each setting (the points that differ only in their
seed fields) this gives the mean fit_step, grok_step and grok_gap with a 95% percentile
bootstrap interval, and the fraction of the points that grokked with its own interval.

Means of grok_step and grok_gap are over the points that grokked (a point that never
grokked has no grok step; the fraction says how many did). numpy with a seeded
generator (no torch), so a report prints the same intervals every time it is made.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from grok_tui.sweep.metrics import ReportRow

CI_METRICS = ("fit_step", "grok_step", "grok_gap")
RESAMPLES = 10_000
LEVEL = 0.95


@dataclass(frozen=True)
class Estimate:
    """A mean and its confidence interval; ``n`` values behind it (lo = hi = mean at n = 1)."""

    mean: float
    lo: float
    hi: float
    n: int

    def overlaps(self, other: Estimate) -> bool:
        return self.lo <= other.hi and other.lo <= self.hi


def bootstrap_ci(
    values: Sequence[float], *, resamples: int = RESAMPLES, level: float = LEVEL, seed: int = 0
) -> Estimate | None:
    """The mean of ``values`` with its percentile bootstrap interval; None when empty."""
    if not values:
        return None
    data = np.asarray(values, dtype=np.float64)
    centre = float(data.mean())
    if len(data) == 1 or bool(np.all(data == data[0])):
        return Estimate(centre, centre, centre, len(data))
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(resamples, len(data)))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [tail, 1.0 - tail])
    return Estimate(centre, float(lo), float(hi), len(data))


@dataclass
class SettingStats:
    """One setting (the values of the non-seed axes) over its seeds."""

    coords: dict[str, object]
    n: int
    grokked: int
    grokked_fraction: Estimate
    means: dict[str, Estimate | None]


def ci_metrics(metric: str | None = None) -> tuple[str, ...]:
    """The figures with an interval: fit_step, grok_step, grok_gap and the chosen metric."""
    return CI_METRICS if metric is None or metric in CI_METRICS else (*CI_METRICS, metric)


def setting_stats(
    rows: Sequence[ReportRow],
    axes: Sequence[str],
    over: Sequence[str],
    *,
    metrics: Sequence[str] = CI_METRICS,
    seed: int = 0,
) -> list[SettingStats]:
    """Group the points by their coordinates outside ``over`` and estimate each group."""
    rest = [a for a in axes if a not in over]
    groups: dict[str, list[ReportRow]] = {}
    for row in rows:
        key = json.dumps([row.coords.get(a) for a in rest], default=str)
        groups.setdefault(key, []).append(row)
    out = []
    for members in groups.values():
        finished = [r for r in members if r.status in ("completed", "diverged")]
        grokked = [1.0 if r.value("grok_step") is not None else 0.0 for r in finished]
        fraction = bootstrap_ci(grokked, seed=seed) or Estimate(0.0, 0.0, 0.0, 0)
        means = {
            m: bootstrap_ci(
                [float(v) for r in finished if (v := r.value(m)) is not None], seed=seed
            )
            for m in metrics
        }
        out.append(
            SettingStats(
                coords={a: members[0].coords.get(a) for a in rest},
                n=len(finished),
                grokked=int(sum(grokked)),
                grokked_fraction=fraction,
                means=means,
            )
        )
    return out


def format_estimate(
    estimate: Estimate | None, *, fraction: bool = False, kind: str = "step"
) -> str:
    """'3,133 [2,870, 3,400]' (or '0.80 [0.40, 1.00]' for a fraction, '0.912 [0.905,
    0.920]' for an accuracy, ``kind`` as a Metric's); '-' when none."""
    if estimate is None or estimate.n == 0:
        return "-"
    if fraction:
        return f"{estimate.mean:.2f} [{estimate.lo:.2f}, {estimate.hi:.2f}]"
    spec = {"acc": ".3f", "delta": ".3f", "loss": ".3g"}.get(kind, ",.0f")
    if estimate.n == 1:
        return f"{estimate.mean:{spec}} (n=1)"
    return f"{estimate.mean:{spec}} [{estimate.lo:{spec}}, {estimate.hi:{spec}}]"

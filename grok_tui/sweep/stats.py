"""Uncertainty over seeds: confidence intervals of a setting's figures.

A verdict such as "AdamW groks before Adam" is only evidence when it holds between the
seeds' confidence intervals, and an interval only holds on new seeds when it resamples
at the level the variation lives. The split seed (which pairs are trained on) moves
grok_step by 11-33% at p = 29-97 and about 3x in Nanda's set-up, more than the training
seed does, and the runs of one split seed are not independent of each other. So for
each setting (the points that differ only in their seed fields) the mean fit_step,
grok_step and grok_gap get a two-level percentile bootstrap: split seeds are resampled,
then the training seeds within each chosen split seed (with one split seed it is the
ordinary bootstrap over training seeds). The fraction of the points that grokked, a 0/1
outcome whose percentile bootstrap gives [1, 1] for 5 of 5, gets a Wilson score interval.

Means of grok_step and grok_gap are over the points that grokked (a point that never
grokked has no grok step; the fraction says how many did). numpy with a seeded
generator (no torch), so a report prints the same intervals every time it is made.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from grok_tui.sweep.estimate import Estimate, wilson  # numpy-free: the TUI's too
from grok_tui.sweep.metrics import ReportRow

CI_METRICS = ("fit_step", "grok_step", "grok_gap")
RESAMPLES = 10_000
LEVEL = 0.95
SPLIT_SEED = "data.split_seed"  # the outer level of the bootstrap
METHOD = (
    "95% two-level percentile bootstrap (split seeds resampled, then the training seeds "
    f"within each; {RESAMPLES:,} resamples); grokked fraction: Wilson score interval"
)


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


def two_level_ci(
    clusters: Sequence[Sequence[float]],
    *,
    resamples: int = RESAMPLES,
    level: float = LEVEL,
    seed: int = 0,
) -> Estimate | None:
    """The mean of every value with a two-level percentile bootstrap interval: each
    resample draws as many clusters as there are, with replacement, then within each
    drawn cluster as many of its values as it has. One cluster: the plain bootstrap."""
    groups = [np.asarray(c, dtype=np.float64) for c in clusters if len(c)]
    if not groups:
        return None
    if len(groups) == 1:
        return bootstrap_ci(groups[0].tolist(), resamples=resamples, level=level, seed=seed)
    every = np.concatenate(groups)
    centre = float(every.mean())
    if bool(np.all(every == every[0])):
        return Estimate(centre, centre, centre, len(every))
    rng = np.random.default_rng(seed)
    chosen = rng.integers(0, len(groups), size=(resamples, len(groups)))
    total = np.zeros(resamples)
    count = np.zeros(resamples)
    for index, values in enumerate(groups):
        times = (chosen == index).sum(axis=1)  # how often each resample drew this cluster
        most = int(times.max())
        if most == 0:
            continue
        draws = values[rng.integers(0, len(values), size=(resamples, most, len(values)))]
        used = np.arange(most)[None, :] < times[:, None]
        total += (draws.sum(axis=2) * used).sum(axis=1)
        count += times * len(values)
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(total / count, [tail, 1.0 - tail])
    return Estimate(centre, float(lo), float(hi), len(every))


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
        fraction = wilson(int(sum(grokked)), len(finished))
        means = {m: two_level_ci(_clusters(finished, m, over), seed=seed) for m in metrics}
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


def _clusters(rows: Sequence[ReportRow], metric: str, over: Sequence[str]) -> list[list[float]]:
    """The metric's values grouped by split seed (one group when it is not repeated)."""
    groups: dict[str, list[float]] = {}
    for row in rows:
        value = row.value(metric)
        if value is None:
            continue
        key = json.dumps(row.coords.get(SPLIT_SEED) if SPLIT_SEED in over else None, default=str)
        groups.setdefault(key, []).append(float(value))
    return list(groups.values())


def format_estimate(
    estimate: Estimate | None, *, fraction: bool = False, kind: str = "step"
) -> str:
    """'3,133 [2,870, 3,400]' (or '0.80 [0.40, 1.00]' for a fraction, '0.912 [0.905,
    0.920]' for an accuracy, ``kind`` as a Metric's); '-' when none."""
    if estimate is None or estimate.n == 0:
        return "-"
    if fraction:
        return f"{estimate.mean:.2f} [{estimate.lo:.2f}, {estimate.hi:.2f}]"
    spec = {"acc": ".3f", "delta": ".3f", "loss": ".3g", "count": ".2f"}.get(kind, ",.0f")
    if estimate.n == 1:
        return f"{estimate.mean:{spec}} (n=1)"
    return f"{estimate.mean:{spec}} [{estimate.lo:{spec}}, {estimate.hi:{spec}}]"

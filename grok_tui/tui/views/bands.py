"""Seeds as a mean and a band: runs that differ only in their seeds grouped into settings,
their curves aligned on one step grid, and each setting drawn as its mean with a band.

One run's curve says little about a setting: the split seed alone moves grok_step by a
third. So runs whose presets agree on every field but ``train.seed`` and
``data.split_seed`` are one setting (as W&B groups runs), drawn as the mean over its
seeds and the band they span (min–max, or a 95% t interval of the mean), and its grokked
fraction is given with a Wilson 95% interval (5 of 5 is [0.57, 1], not a certainty:
grok_tui.sweep.estimate, as sweep-report --ci gives it).

Pure Python (no Textual, no numpy): the screens only draw the Panel made here.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from grok_tui.config import flatten
from grok_tui.sweep.estimate import fraction_text
from grok_tui.tui.views.curves import (
    AxisOptions,
    Point,
    Series,
    ema,
    faint,
    log10_points,
    points,
    run_colours,
    scaled,
    x_axis,
)
from grok_tui.tui.views.panels import Panel, metric

SEED_FIELDS = ("train.seed", "data.split_seed")  # repeats of a setting, not settings
NOT_SETTING = frozenset(("name", "description", *SEED_FIELDS))
RANGE, CI95 = "min–max", "95% t interval"  # the two bands, as their key names them
INTERVALS = (RANGE, CI95)
FINISHED = ("completed", "diverged")  # a run that ended with its verdict: grokked or not
# two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom (beyond: z)
T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
MAX_GRID = 2_000  # x values a band is computed at: several per column of the widest pane
BAND_MARKER = "·"  # the band's lines are dotted, the mean's solid: told apart in NO_COLOR


@dataclass(frozen=True)
class Setting:
    """Runs whose presets agree on every field but the seeds: one experiment, repeated."""

    key: str  # the setting's fields, as canonical JSON
    tag: str  # A, B, ...: where its mean line ends and in the legend
    label: str  # the fields in which the settings differ: "optim.lr=0.001"
    run_ids: tuple[str, ...]


def setting_fields(preset: Mapping[str, Any]) -> dict[str, Any]:
    """A preset's dotted fields, the seeds (and name, description) left out."""
    return {k: v for k, v in flatten(preset).items() if k not in NOT_SETTING}


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, default=str) if isinstance(value, list | dict) else str(value)


def _tag(n: int) -> str:
    """A, B, ..., Z, AA, AB, ..."""
    return _tag(n // 26 - 1) + chr(65 + n % 26) if n >= 26 else chr(65 + n)


def group_settings(presets: Mapping[str, Mapping[str, Any]]) -> list[Setting]:
    """The runs (run id to preset) as settings, in order of each one's first run; a
    setting is labelled by the fields in which the settings differ."""
    fields = {run_id: setting_fields(preset) for run_id, preset in presets.items()}
    groups: dict[str, list[str]] = {}
    for run_id, values in fields.items():
        groups.setdefault(json.dumps(values, sort_keys=True, default=str), []).append(run_id)
    firsts = [fields[ids[0]] for ids in groups.values()]
    keys: list[str] = []
    for values in firsts:
        keys.extend(k for k in values if k not in keys)
    differ = [k for k in keys if len({_shown(v.get(k, "-")) for v in firsts}) > 1]
    out = []
    for n, (key, ids) in enumerate(groups.items()):
        values = fields[ids[0]]
        label = " ".join(f"{k}={_shown(values.get(k, '-'))}" for k in differ) or "same preset"
        out.append(Setting(key, _tag(n), label, tuple(ids)))
    return out


def repeats_seeds(settings: Sequence[Setting]) -> bool:
    """Whether grouping says anything: some setting has more than one run (seed)."""
    return any(len(s.run_ids) > 1 for s in settings)


def resample(pts: Sequence[Point], grid: Sequence[float]) -> list[float | None]:
    """A curve's value at each x of a sorted grid, linear between its records; None
    outside its first..last x (a run that ended, or has not got there yet, adds nothing
    there). One pass over both: runs of 20,000 records stay cheap."""
    out: list[float | None] = []
    i = 0
    for x in grid:
        if not pts or x < pts[0][0] or x > pts[-1][0]:
            out.append(None)
            continue
        while pts[i][0] < x:
            i += 1
        x1, y1 = pts[i]
        if x1 == x or i == 0:
            out.append(y1)
        else:
            x0, y0 = pts[i - 1]
            out.append(y0 + (y1 - y0) * (x - x0) / (x1 - x0))
    return out


def align(
    curves: Sequence[Sequence[Point]], max_points: int = MAX_GRID
) -> tuple[list[float], list[list[float | None]]]:
    """The curves on one x grid (every x any of them has, or as many of those, evenly
    taken, as a pane can show): each curve's value at each x, None where the curve does
    not reach (runs of different lengths and eval steps)."""
    grid = sorted({x for pts in curves for x, _ in pts})
    if len(grid) > max_points:  # the first and the last kept: a band spans its runs
        grid = [grid[round(i * (len(grid) - 1) / (max_points - 1))] for i in range(max_points)]
    return grid, [resample(sorted(pts), grid) for pts in curves]


@dataclass
class Band:
    """A setting's curve over its seeds: at each x the mean, the band and how many runs."""

    xs: list[float]
    mean: list[float]
    lower: list[float]
    upper: list[float]
    counts: list[int]

    def line(self, which: str) -> list[Point]:
        return list(zip(self.xs, getattr(self, which), strict=True))


def t975(n: int) -> float:
    """Student's t quantile for a 95% interval of a mean of n values (n >= 2)."""
    df = n - 1
    return T975[df - 1] if df <= len(T975) else NormalDist().inv_cdf(0.975)


def band(curves: Sequence[Sequence[Point]], interval: str = RANGE) -> Band:
    """Mean and band of the curves at each x of their common grid: min–max of the runs
    there (RANGE), or the mean's 95% t interval (CI95); one run there: a band of zero."""
    grid, aligned = align(curves)
    out = Band([], [], [], [], [])
    for i, x in enumerate(grid):
        values = [column[i] for column in aligned if column[i] is not None]
        if not values:
            continue
        mean = statistics.fmean(values)  # type: ignore[arg-type]
        if interval == CI95 and len(values) > 1:
            half = t975(len(values)) * statistics.stdev(values) / math.sqrt(len(values))  # type: ignore[arg-type]
            lo, hi = mean - half, mean + half
        else:
            lo, hi = min(values), max(values)  # type: ignore[type-var]
        out.xs.append(x)
        out.mean.append(mean)
        out.lower.append(lo)  # type: ignore[arg-type]
        out.upper.append(hi)  # type: ignore[arg-type]
        out.counts.append(len(values))
    return out


def grokked_text(outcomes: Sequence[tuple[str, Any]]) -> str:
    """'4/5 0.80 [0.38, 0.96]': of a setting's runs ((status, grok_step) each), how many
    of those that finished grokked, with the Wilson 95% interval; '-' when none finished."""
    finished = [grok for status, grok in outcomes if status in FINISHED]
    return fraction_text(sum(grok is not None for grok in finished), len(finished))


def sweep_grokked(points: Mapping[str, tuple[Mapping[str, Any], str, Any]]) -> str:
    """History's cell for a sweep's header row, of (coords, status, grok_step) by run id:
    the grokked fraction with its interval when the points are one setting over seeds (a
    ``--seeds`` sweep), "3 settings" when several settings repeat seeds (the sweep's own
    screen, b, gives each one's), "" when no setting repeats."""
    settings = group_settings({run_id: coords for run_id, (coords, _, _) in points.items()})
    if not repeats_seeds(settings):
        return ""
    if len(settings) > 1:
        return f"{len(settings)} settings"
    return grokked_text([points[run_id][1:] for run_id in settings[0].run_ids])


def runs_text(settings: Sequence[Setting]) -> str:
    """'3 runs', or '2–5 runs' when the settings have different numbers of seeds."""
    counts = sorted({len(s.run_ids) for s in settings}) or [0]
    many = f"{counts[0]}–{counts[-1]}" if len(counts) > 1 else str(counts[0])
    return f"{many} run{'' if many == '1' else 's'}"


def band_key(settings: Sequence[Setting], interval: str = RANGE) -> str:
    """Which band is drawn, in words (no colour needed): 'band: min–max of 3 runs',
    'band: 95% t interval of 5 runs'."""
    return f"band: {interval} of {runs_text(settings)}"


def setting_colours(settings: Sequence[Setting]) -> dict[str, tuple[int, int, int]]:
    """A colour per setting, kept from one draw to the next (as runs keep theirs)."""
    return run_colours([s.key for s in settings])


def bands_panel(
    settings: Sequence[Setting],
    records: Mapping[str, Sequence[dict[str, Any]]],
    key: str,
    options: AxisOptions,
    interval: str = RANGE,
) -> Panel:
    """A pane of each setting's mean curve (solid, tagged A, B, ... at its end) and its
    band (two dotted lines, lower and upper) in the setting's colour; of a train/test
    pair, the test band and the train mean (dim, dashed). Smoothing smooths the mean.
    One legend entry per setting ("A mean ·band"): the others are faint (unnamed)."""
    m = metric(key)
    every = [r for s in settings for run_id in s.run_ids for r in records.get(run_id, ())]
    divisor, x_label = x_axis(every, options)
    colours = setting_colours(settings)
    series: list[Series] = []
    for setting in settings:
        colour = colours[setting.key]
        for field in m.fields:
            curves = []
            for run_id in setting.run_ids:
                pts = scaled(points(records.get(run_id, ()), options.x_key, field), divisor)
                curves.append(log10_points(pts) if m.scale == "log" else pts)
            drawn = band(curves, interval)
            if not drawn.xs:
                continue
            mean = ema(drawn.line("mean"), options.smoothing)
            if m.paired and field.startswith("train"):  # not in the legend: room for A, B, ...
                dim = faint(colour, 0.45)
                name = f"{setting.tag} mean train"
                series.append(Series(name, mean, dim, faint=True, dashed=True, group=setting.key))
                continue
            for which in ("lower", "upper"):  # drawn first: the mean's line stays on top
                series.append(
                    Series(
                        f"{setting.tag} band",
                        drawn.line(which),
                        faint(colour, 0.25),
                        faint=True,  # named in the mean's legend entry: one per setting
                        dashed=True,
                        group=setting.key,
                        marker=BAND_MARKER,
                    )
                )
            name = f"{setting.tag} mean {BAND_MARKER}band"  # the pane's legend: fits A, B
            series.append(Series(name, mean, colour, group=setting.key))
    tags = {s.key: s.tag for s in settings}
    return Panel(
        m.title,
        m.scale,
        series,
        [],
        x_label,
        tags,
        smoothing=options.smoothing,
        band=band_key(settings, interval),
    )


def legend_lines(
    settings: Sequence[Setting], outcomes: Mapping[str, tuple[str, Any]] | None = None
) -> list[str]:
    """What each tag means, readable without colour: 'A optim.lr=0.001 · 3 runs · grokked
    2/3 0.67 [0.21, 0.94]' (the grokked fraction when outcomes, (status, grok_step) by
    run id, are given)."""
    lines = []
    for s in settings:
        line = f"{s.tag} {s.label} · {runs_text([s])}"
        if outcomes is not None:
            line += " · grokked " + grokked_text([outcomes.get(r, ("", None)) for r in s.run_ids])
        lines.append(line)
    return lines


def legend_key(settings: Sequence[Setting], interval: str = RANGE) -> str:
    """How a setting is drawn, after the settings' legend: '(mean ━, band: min–max of 3
    runs ···)'."""
    return f"(mean ━, {band_key(settings, interval)} ···)"

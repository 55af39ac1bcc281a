"""Tick positions and labels of the plot panes' axes, and numbers written short.

A log axis is drawn as log10 on a linear one (plotext 5 cannot rebuild a log plot): its
labels, in plain units, are made here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def nice_step(span: float, count: int) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about count intervals."""
    if span <= 0 or count < 1:
        return 1.0
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick positions covering [lo, hi]."""
    if hi <= lo:
        return [lo]
    step = nice_step(hi - lo, count)
    first = math.ceil(lo / step - 1e-9) * step
    ticks, value = [], first
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def format_number(value: float) -> str:
    """Short tick text: 0, 250, 1.5k, 20k, 1.2M, 0.25."""
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:g}M"
    if magnitude >= 1e3:
        return f"{value / 1e3:g}k"
    if magnitude >= 1 or value == 0:
        return f"{value:g}"
    return f"{value:.3g}"


def log_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Tick positions (in log10 units) and labels (in plain units) for a log10 axis."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [], []
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    first, last = math.floor(lo), math.ceil(hi)
    decades = last - first
    mantissas = (1,) if decades > 2 else (1, 2, 5) if decades > 1 else (1, 2, 3, 5)
    positions, labels = [], []
    for exponent in range(first, last + 1):
        for m in mantissas:
            position = exponent + math.log10(m)
            if lo - 1e-9 <= position <= hi + 1e-9:
                positions.append(position)
                labels.append(format_log_label(m * 10.0**exponent))
    if len(positions) > 6:  # keep labels apart on a short pane
        keep = math.ceil(len(positions) / 6)
        positions, labels = positions[::keep], labels[::keep]
    if len(positions) < 2:  # a narrow range (4.3 .. 4.9): round values inside it
        values = [v for v in nice_ticks(10**lo, 10**hi, 4) if v > 0]
        positions = [math.log10(v) for v in values]
        labels = linear_labels(values)  # 4.302, 4.304: not "4.3" twice
    return positions, labels


def format_log_label(value: float) -> str:
    if 1e-2 <= value < 1e4:
        return f"{value:g}"
    return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")


def time_unit(max_seconds: float) -> tuple[str, float]:
    """The unit to show wall time in, and the divisor from seconds."""
    if max_seconds < 300:
        return "s", 1.0
    if max_seconds < 3 * 3600:
        return "min", 60.0
    return "h", 3600.0


def format_value(value: float) -> str:
    magnitude = abs(value)
    if magnitude != 0 and (magnitude >= 1e5 or magnitude < 1e-3):
        return f"{value:.3g}"
    return f"{value:.4g}"


def linear_labels(ticks: Sequence[float]) -> list[str]:
    """Tick labels with as many decimals as their spacing needs (29.78, 29.79: not 29.8 twice)."""
    if len(ticks) < 2:
        return [format_number(t) for t in ticks]
    if max(abs(t) for t in ticks) >= 1e3:
        short = [format_number(t) for t in ticks]
        if len(set(short)) == len(short):
            return short
    spacing = abs(ticks[1] - ticks[0]) or 1.0
    for decimals in range(7):  # the fewest that write every tick exactly
        if all(abs(round(t, decimals) - t) < spacing * 1e-6 for t in ticks):
            return [f"{t:.{decimals}f}" for t in ticks]
    return [f"{t:.3g}" for t in ticks]

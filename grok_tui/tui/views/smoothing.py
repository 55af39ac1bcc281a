"""The EMA weights the curves' smoothing steps through, and how the weight is written.

0 is off; the rest are TensorBoard's usual choices, from light to heavy. The raw curve
stays visible, faint, under the smoothed one, and the weight is said where the curves
are (the legend, the cursor line), so that a flat curve is never taken for a flat run.
"""

from __future__ import annotations

WEIGHTS = (0.0, 0.6, 0.8, 0.9, 0.95, 0.99)
DEFAULT = 0.6  # the weight m turns smoothing on with, before another one was chosen


def stepped(weight: float, delta: int) -> float:
    """The weight ``delta`` steps up (heavier) or down from ``weight``, kept in WEIGHTS."""
    below = sum(w <= weight + 1e-9 for w in WEIGHTS) - 1  # the step at or below weight
    index = below if delta > 0 or WEIGHTS[max(below, 0)] == weight else below + 1
    return WEIGHTS[max(0, min(len(WEIGHTS) - 1, index + delta))]


def label(weight: float) -> str:
    """``EMA 0.9``, or "" when smoothing is off."""
    return f"EMA {weight:g}" if weight > 0 else ""


def described(weight: float) -> str:
    """What the keys say when they change the weight (a toast)."""
    if weight <= 0:
        return "Smoothing off"
    return f"Smoothing: EMA {weight:g} (raw kept, faint) · < > lighter/heavier, m off"

"""An estimate with its confidence interval, and the Wilson interval of a proportion.

Without numpy (stats.py's bootstraps need it; these do not): the TUI's History shows a
seeds sweep's grokked fraction with its interval, and loading numpy there would cost a
fifth of a second at a screen switch. stats.py re-exports both names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

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


def wilson(successes: int, n: int, *, level: float = LEVEL) -> Estimate:
    """A proportion with its Wilson score interval (5 of 5 gives [0.57, 1.00], not the
    percentile bootstrap's [1, 1]); n = 0 gives 0 [0, 0]."""
    if n == 0:
        return Estimate(0.0, 0.0, 0.0, 0)
    z = float(NormalDist().inv_cdf(1.0 - (1.0 - level) / 2.0))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return Estimate(p, lo, hi, n)


def fraction_text(successes: int, n: int) -> str:
    """'4/5 0.80 [0.38, 0.96]': how many of n, the fraction and its Wilson 95% interval
    (as sweep-report --ci writes a fraction); '-' when n is 0."""
    if n <= 0:
        return "-"
    e = wilson(successes, n)
    return f"{successes}/{n} {e.mean:.2f} [{e.lo:.2f}, {e.hi:.2f}]"

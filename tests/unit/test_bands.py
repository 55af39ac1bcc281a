"""Seeds as a mean and a band (issue 35, item 6): settings, alignment, bands, Wilson."""

from __future__ import annotations

import pytest

from grok_tui.config import Preset, apply_overrides
from grok_tui.sweep.estimate import wilson
from grok_tui.tui.views import bands
from grok_tui.tui.views.curves import AxisOptions


def preset(*overrides: tuple[str, object]) -> dict:
    return apply_overrides(Preset().to_dict(), [("name", "x"), *overrides])


def test_runs_that_differ_only_in_seeds_are_one_setting() -> None:
    presets = {
        "a1": preset(("optim.lr", 1e-3), ("train.seed", 1)),
        "b1": preset(("optim.lr", 3e-3), ("train.seed", 1)),
        "a2": preset(("optim.lr", 1e-3), ("train.seed", 2), ("data.split_seed", 5)),
        "b2": preset(("optim.lr", 3e-3), ("train.seed", 2), ("name", "other")),
        "a3": preset(("optim.lr", 1e-3), ("data.split_seed", 7)),
    }
    settings = bands.group_settings(presets)
    assert [(s.tag, s.run_ids) for s in settings] == [
        ("A", ("a1", "a2", "a3")),
        ("B", ("b1", "b2")),
    ]
    assert [s.label for s in settings] == ["optim.lr=0.001", "optim.lr=0.003"]
    assert bands.repeats_seeds(settings)
    lone = bands.group_settings({"a": preset(), "b": preset(("optim.lr", 0.1))})
    assert not bands.repeats_seeds(lone) and len(lone) == 2


def test_runs_of_different_lengths_and_eval_steps_align_on_one_grid() -> None:
    every_10 = [(0.0, 0.0), (10.0, 1.0), (20.0, 2.0), (30.0, 3.0)]
    every_15_short = [(0.0, 0.0), (15.0, 3.0)]
    grid, values = bands.align([every_10, every_15_short])
    assert grid == [0.0, 10.0, 15.0, 20.0, 30.0]
    assert values[0] == [0.0, 1.0, 1.5, 2.0, 3.0]  # 15 lies between its records 10 and 20
    assert values[1] == [0.0, 2.0, 3.0, None, None]  # it ended at 15: nothing after
    long = [[(float(x), 1.0) for x in range(0, 10_000, step)] for step in (7, 10)]
    grid, values = bands.align(long, max_points=500)  # a pane's worth, not every step
    assert len(grid) == 500 and grid[0] == 0.0 and grid[-1] == 9_996.0  # the every-7 run
    assert values[0][-1] == 1.0 and values[1][-1] is None  # the every-10 run ends at 9,990


def test_the_band_is_min_max_and_the_mean_of_the_runs_at_each_step() -> None:
    runs = [
        [(0.0, 0.0), (10.0, 0.5), (20.0, 1.0)],
        [(0.0, 0.2), (10.0, 0.7)],
        [(0.0, 0.1), (10.0, 0.9), (20.0, 0.8)],
    ]
    drawn = bands.band(runs)
    assert drawn.xs == [0.0, 10.0, 20.0]
    assert drawn.mean == pytest.approx([0.1, 0.7, 0.9])
    assert drawn.lower == pytest.approx([0.0, 0.5, 0.8])
    assert drawn.upper == pytest.approx([0.2, 0.9, 1.0])
    assert drawn.counts == [3, 3, 2]
    ci = bands.band(runs, bands.CI95)
    half = 4.303 * 0.1 / 3**0.5  # t(0.975, 2) * sd / sqrt(n) at step 0: sd of 0, .2, .1
    assert ci.lower[0] == pytest.approx(0.1 - half) and ci.upper[0] == pytest.approx(0.1 + half)
    alone = bands.band([[(0.0, 0.4)]], bands.CI95)
    assert alone.lower == alone.upper == alone.mean == [0.4]


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [(5, 5, 0.5655, 1.0), (0, 5, 0.0, 0.4345), (3, 5, 0.2307, 0.8824), (1, 2, 0.0945, 0.9055)],
)
def test_the_wilson_interval_has_its_known_values(k: int, n: int, lo: float, hi: float) -> None:
    interval = wilson(k, n)
    assert (interval.lo, interval.hi) == pytest.approx((lo, hi), abs=1e-4)


def test_the_grokked_fraction_reads_with_its_interval() -> None:
    """As sweep-report --ci writes a fraction; only the runs that finished count."""
    done, running = ("completed", 80), ("running", None)
    three_of_five = [done] * 3 + [("completed", None), ("diverged", None), running]
    assert bands.grokked_text(three_of_five) == "3/5 0.60 [0.23, 0.88]"
    assert bands.grokked_text([done] * 5) == "5/5 1.00 [0.57, 1.00]"
    assert bands.grokked_text([running]) == "-"


def test_a_panel_draws_each_setting_s_mean_and_band_tagged() -> None:
    presets = {
        f"{lr}-{s}": preset(("optim.lr", lr), ("train.seed", s))
        for lr in (1e-3, 3e-3)
        for s in range(3)
    }
    records = {
        run_id: [{"step": step, "test_acc": step / 100 * (1 + n % 3) / 3, "train_acc": 1.0}
                 for step in range(0, 101, 10 + n)]
        for n, run_id in enumerate(presets)
    }  # fmt: skip
    settings = bands.group_settings(presets)
    panel = bands.bands_panel(settings, records, "accuracy", AxisOptions())
    names = [s.name for s in panel.series]
    assert names == [
        "A mean train",
        "A band",
        "A band",
        "A mean ·band",
        "B mean train",
        "B band",
        "B band",
        "B mean ·band",
    ]
    assert panel.tags == {settings[0].key: "A", settings[1].key: "B"}
    lower, upper, mean = panel.series[1:4]
    assert lower.marker == upper.marker == "·" and not mean.marker  # told apart in NO_COLOR
    assert mean.name == "A mean ·band" and not mean.faint  # the legend's one entry
    assert lower.faint and upper.faint and panel.series[0].faint
    assert all(
        lo <= y <= hi
        for (_, lo), (_, y), (_, hi) in zip(lower.points, mean.points, upper.points, strict=True)
    )
    lines = bands.legend_lines(settings)
    assert lines[0] == "A optim.lr=0.001 · 3 runs"

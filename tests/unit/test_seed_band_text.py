"""The words of seeds as a mean and a band (issue 35, item 6): a sweep header's grokked
fraction in History, which band a pane draws, and one Wilson interval for the TUI and
sweep-report alike (numpy-free, so that History does not load numpy)."""

from __future__ import annotations

import ast
import inspect

from grok_tui.sweep import estimate, stats
from grok_tui.tui.views import bands
from grok_tui.tui.views.curves import AxisOptions


def test_a_seeds_sweep_header_gives_the_grokked_fraction_with_its_interval() -> None:
    seeds = {f"r{s}": ({"train.seed": s}, "completed", None if s == 4 else 150) for s in range(5)}
    seeds["r5"] = ({"train.seed": 5}, "running", None)  # not finished: not counted
    assert bands.sweep_grokked(seeds) == "4/5 0.80 [0.38, 0.96]"
    split = {
        f"r{s}{t}": ({"train.seed": s, "data.split_seed": t}, "completed", 100)
        for s in range(2)
        for t in range(2)
    }
    assert bands.sweep_grokked(split) == "4/4 1.00 [0.51, 1.00]"  # split seeds too
    grid = {
        f"{lr}-{s}": ({"optim.lr": lr, "train.seed": s}, "completed", 100)
        for lr in (1e-3, 3e-3)
        for s in range(2)
    }
    assert bands.sweep_grokked(grid) == "2 settings"
    lr_only = {f"{lr}": ({"optim.lr": lr}, "completed", 100) for lr in (1e-3, 3e-3)}
    assert bands.sweep_grokked(lr_only) == ""


def test_the_fraction_reads_as_sweep_report_writes_it() -> None:
    for k, n in ((4, 5), (0, 3), (7, 7)):
        report = stats.format_estimate(stats.wilson(k, n), fraction=True)
        assert estimate.fraction_text(k, n) == f"{k}/{n} {report}"
    assert stats.wilson is estimate.wilson  # one Wilson interval, not two


def test_the_wilson_interval_is_numpy_free() -> None:
    tree = ast.parse(inspect.getsource(estimate))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(name.split(".")[0] == "numpy" for name in imported), imported


def test_each_band_says_which_band_it_is() -> None:
    presets = {
        f"{lr}-{s}": {"optim": {"lr": lr}, "train": {"seed": s}}
        for lr, seeds in ((1e-3, 3), (3e-3, 2))
        for s in range(seeds)
    }
    records = {
        run_id: [{"step": 10, "test_acc": 0.5}, {"step": 20, "test_acc": 0.9}] for run_id in presets
    }
    settings = bands.group_settings(presets)
    wide = bands.bands_panel(settings, records, "test_acc", AxisOptions(), bands.RANGE)
    assert wide.band == "band: min–max of 2–3 runs"
    narrow = bands.bands_panel(settings[:1], records, "test_acc", AxisOptions(), bands.CI95)
    assert narrow.band == "band: 95% t interval of 3 runs"
    assert (
        bands.legend_key(settings[1:], bands.CI95) == "(mean ━, band: 95% t interval of 2 runs ···)"
    )

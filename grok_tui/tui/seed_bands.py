"""The "group seeds" key (b) of Compare, Live's overview and a sweep: runs that differ
only in their seeds drawn as each setting's mean curve and its band (views/bands.py).

b steps through each run, each setting's mean with its min–max band, and with the 95% t
interval of its mean; every pane names the band drawn ("band: 95% t interval of 5 runs"),
words that read without colour. A mixin, so that each screen gains the key, its state and
the panels with a line or two (Live is near the 600-line limit); the maths is in
views/bands.py, without Textual.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.text import Text
from textual.binding import Binding

from grok_tui.errors import UserError
from grok_tui.rundirs import store
from grok_tui.text import safe_text
from grok_tui.tui.views.bands import (
    INTERVALS,
    RANGE,
    Setting,
    bands_panel,
    group_settings,
    legend_key,
    legend_lines,
    setting_colours,
)
from grok_tui.tui.views.curves import AxisOptions
from grok_tui.tui.views.panels import Panel

SEED_BANDS_BINDING = Binding(
    "b",
    "group_seeds",
    "Group seeds",
    show=False,  # the footer is full at 80 columns: the help and the palette name it
    id="curves.seeds",
    tooltip="Group seeds\nRuns that differ only in train.seed and data.split_seed as one "
    "mean curve with its band: min–max, again the 95% t interval of the mean, again each run",
)

Runs = Sequence[tuple[str, str, Sequence[dict[str, Any]]]]  # (run id, label, records)


class SeedBands:
    """A screen's "group seeds" state and toggle; the screen redraws in seed_bands_changed."""

    seed_bands = False
    band_interval = RANGE
    _presets: dict[str, dict[str, Any]]

    def action_group_seeds(self) -> None:
        """Each run, then the min–max band, then the 95% t interval, then each run again."""
        if not self.seed_bands:
            self.seed_bands, self.band_interval = True, INTERVALS[0]
        elif self.band_interval != INTERVALS[-1]:
            self.band_interval = INTERVALS[INTERVALS.index(self.band_interval) + 1]
        else:
            self.seed_bands, self.band_interval = False, RANGE
        what = f"each setting's mean, band: {self.band_interval}" if self.seed_bands else "each run"
        self.notify(f"group seeds: {what}", timeout=2)  # type: ignore[attr-defined]
        self.seed_bands_changed()

    def seed_bands_changed(self) -> None:
        if self.seed_bands and getattr(self, "overview", True) is False:
            self.overview = True  # Live: the bands are drawn in its overview
        redraw = getattr(self, "redraw", None)  # Live's redraws only what moved: force it
        if redraw is not None:
            redraw(force=True)
        else:
            self.redraw_curves()  # type: ignore[attr-defined]

    def run_presets(self, runs: Iterable[store.RunDir]) -> dict[str, dict[str, Any]]:
        """Each run's frozen preset (read once: a run's preset never changes); a preset
        that cannot be read groups the run alone, by its id."""
        if not hasattr(self, "_presets"):
            self._presets = {}
        out = {}
        for run in runs:
            if run.run_id not in self._presets:
                try:
                    self._presets[run.run_id] = store.read_run_preset_raw(run)
                except (UserError, OSError):
                    self._presets[run.run_id] = {"unreadable": run.run_id}
            out[run.run_id] = self._presets[run.run_id]
        return out

    def band_panels(
        self,
        runs: Runs,
        presets: Mapping[str, Mapping[str, Any]],
        metrics: Sequence[str],
        options: AxisOptions,
    ) -> tuple[list[Panel], list[Setting]]:
        """The panes of each setting's mean and band, one per metric, and the settings."""
        settings = group_settings({run_id: presets.get(run_id, {}) for run_id, _, _ in runs})
        records = {run_id: records for run_id, _, records in runs}
        panels = [bands_panel(settings, records, m, options, self.band_interval) for m in metrics]
        return panels, settings

    def overview_bands(
        self, runs: Runs, metrics: Sequence[str], options: AxisOptions
    ) -> list[Panel]:
        """Live's overview grouped (b): the band panes of its followed runs; [] when off."""
        if not self.seed_bands:
            return []
        followers = self.workbench.followers  # type: ignore[attr-defined]
        presets = self.run_presets(followers[run_id].run for run_id, _, _ in runs)
        return self.band_panels(runs, presets, metrics, options)[0]

    def bands_legend(
        self, settings: Sequence[Setting], outcomes: Mapping[str, tuple[str, Any]] | None = None
    ) -> Text:
        """Each setting's colour, its tag and fields (with its grokked fraction when the
        runs' outcomes, (status, grok_step) by run id, are given), then which band is
        drawn: readable without colour (the tag ends the mean's line in the plot)."""
        colours = setting_colours(settings)
        parts: list[Any] = []
        for setting, line in zip(settings, legend_lines(settings, outcomes), strict=True):
            r, g, b = colours[setting.key]
            parts += [("■ ", f"rgb({r},{g},{b})"), (safe_text(line), f"rgb({r},{g},{b})"), "  "]
        parts.append((legend_key(settings, self.band_interval), "dim"))
        return Text.assemble(*parts)

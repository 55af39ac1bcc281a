"""What a pane plots: a metric (a train/test pair or any record field) of one run or of
several overlaid, as a ``Panel`` that panes draw and exports write alike."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field  # 'field' is a record's, here
from typing import Any

from grok_tui.tui.views.curves import (
    TEST_COLOUR,
    TRAIN_COLOUR,
    AxisOptions,
    Mark,
    Point,
    Series,
    build_series,
    ema,
    event_marks,
    faint,
    finite,
    log10_points,
    points,
    scaled,
    x_axis,
)

NOT_METRICS = frozenset({"step", "epoch", "elapsed_s"})  # the x axes, not curves

PAIRS = {"accuracy": ("train_acc", "test_acc"), "loss": ("train_loss", "test_loss")}

DEFAULT_METRICS = ("accuracy", "loss")

WEIGHT_NORM = "param_norm"

FIRST_FIELDS = (WEIGHT_NORM, "grad_norm", "lr")  # listed before the progress measures

# fields that are shares or fractions: drawn on 0..1 like accuracy
UNIT_FIELDS = frozenset({"softmax_collapse", "key_frequency_share", "key_logit_fraction"})

FIELD_COLOUR = (245, 130, 48)


@dataclass(frozen=True)
class Metric:
    """What a pane plots: a train/test pair or one record field, on its y scale.

    scale: "unit" (0..1, accuracies and shares), "log" (plotted as log10 with plain
    labels: plotext cannot rebuild a log plot) or "linear".
    """

    key: str
    fields: tuple[str, ...]
    scale: str

    @property
    def title(self) -> str:
        return f"{self.key} (log)" if self.scale == "log" else self.key

    @property
    def paired(self) -> bool:
        return len(self.fields) == 2


def metric(key: str) -> Metric:
    """The metric a pane shows for a key: ``accuracy``, ``loss`` or any record field."""
    if key in PAIRS:
        return Metric(key, PAIRS[key], "unit" if key == "accuracy" else "log")
    if key.endswith("loss"):
        return Metric(key, (key,), "log")
    if key.endswith("_acc") or key in UNIT_FIELDS:
        return Metric(key, (key,), "unit")
    return Metric(key, (key,), "linear")


def metric_keys(records: Sequence[dict[str, Any]]) -> list[str]:
    """What a pane can plot for these records: the pairs, then every numeric field.

    Progress measures may be written every few evaluations only, so the first and last
    records are looked at, not just one; weight norm, gradient norm and lr come first.
    """
    seen: set[str] = set()
    for record in (*records[:50], *records[-200:]):
        seen.update(k for k, v in record.items() if k not in NOT_METRICS and finite(v))
    paired = {field for pair in PAIRS.values() for field in pair}
    first = [k for k in FIRST_FIELDS if k in seen]
    rest = sorted(seen - paired - set(FIRST_FIELDS))
    return [*DEFAULT_METRICS, *first, *rest]


@dataclass
class Panel:
    """One pane's curves, drawn (curve_pane) and exported (plot_export) alike.

    x is in data units (steps, or wall time over the unit's divisor); y in plot units:
    log10 of the value when the scale is "log".
    """

    title: str
    scale: str
    series: list[Series]
    marks: list[Mark]
    x_label: str
    # an overlay's label per run (group): its number, where its line ends, so that runs
    # are told apart without colour (NO_COLOR, 16 colours); a legend maps it to the name
    tags: dict[str, str] = dataclass_field(default_factory=dict)
    smoothing: float = 0.0  # the EMA weight its curves were smoothed with (the legend says it)
    band: str = ""  # which band a mean's band is ("band: min–max of 3 runs"): the legend says it


def _y_points(pts: list[Point], m: Metric) -> list[Point]:
    return log10_points(pts) if m.scale == "log" else pts


def run_panel(
    records: Sequence[dict[str, Any]], summary: dict[str, Any], key: str, options: AxisOptions
) -> Panel:
    """One run's metric: train and test in their colours for a pair, with fit and grok marks."""
    m = metric(key)
    divisor, label = x_axis(records, options)
    colours = (TRAIN_COLOUR, TEST_COLOUR) if m.paired else (FIELD_COLOUR,)
    series: list[Series] = []
    for field, colour in zip(m.fields, colours, strict=False):
        name = field.partition("_")[0] if m.paired else field
        pts = _y_points(scaled(points(records, options.x_key, field), divisor), m)
        series += build_series(pts, name, colour, options)
    marks = event_marks(records, summary, options, divisor)
    return Panel(m.title, m.scale, series, marks, label, smoothing=options.smoothing)


def runs_panel(
    runs: Sequence[tuple[str, str, Sequence[dict[str, Any]]]],
    colours: dict[str, tuple[int, int, int]],
    key: str,
    options: AxisOptions,
) -> Panel:
    """Several runs' metric overlaid, one colour each: (run id, label, records) per run.
    A label "1:alpha" tags the run's line with "1".

    Of a pair, test is drawn solid in the run's colour and train dimmer (dashed in an
    export), so that the gap between them, the grokking, reads at a glance.
    """
    m = metric(key)
    divisor, label = x_axis([r for _, _, records in runs for r in records], options)
    series: list[Series] = []
    for run_id, name, records in runs:
        colour = colours[run_id]
        for field in m.fields:
            pts = _y_points(scaled(points(records, options.x_key, field), divisor), m)
            if m.paired and field.startswith("train"):
                smooth = ema(pts, options.smoothing)  # raw train would be a third curve a run
                dim = faint(colour, 0.45)
                series.append(Series(f"{name} train", smooth, dim, dashed=True, group=run_id))
            else:
                series += [
                    replace(s, group=run_id) for s in build_series(pts, name, colour, options)
                ]
    tags = {run_id: name.partition(":")[0] for run_id, name, _ in runs if ":" in name}
    return Panel(m.title, m.scale, series, [], label, tags, smoothing=options.smoothing)


def small_multiples(panel: Panel, runs: Sequence[tuple[str, str, list[Mark]]]) -> list[Panel]:
    """A panel of several runs cut into one panel per run: (run id, title, marks) each.

    Cut from one runs_panel, so that every small pane shares its x unit (each its own
    window: cursor.pane_windows); its title names the run, so its line needs no tag.
    """
    return [
        Panel(
            title,
            panel.scale,
            [s for s in panel.series if s.group == run_id],
            marks,
            panel.x_label,
            smoothing=panel.smoothing,
        )
        for run_id, title, marks in runs
    ]

"""The TUI's plain modules (series, runtable, catalog), tested without Textual."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from pathlib import Path

from grok_tui.config import Preset, apply_overrides
from grok_tui.rundirs import store
from grok_tui.text import format_duration
from grok_tui.tui import catalog, runtable
from grok_tui.tui.views import curves, ticks
from grok_tui.tui.views.curves import AxisOptions


def test_pure_modules_load_neither_textual_nor_torch() -> None:
    code = (
        "import sys, grok_tui.tui.views.plotted, grok_tui.tui.views.layout, grok_tui.tui.views.pacing, grok_tui.tui.runtable, grok_tui.tui.catalog, grok_tui.rundirs.launch, grok_tui.rundirs.watch;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'textual', 'plotext'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- series ------------------------------------------------------------------------------


def test_downsample_bounds_points_and_keeps_extremes_and_last() -> None:
    pts = [(float(i), math.sin(i / 50)) for i in range(100_000)]
    pts[31_337] = (31_337.0, 5.0)  # a spike must survive
    out = curves.downsample(pts, 200)
    assert len(out) <= 201
    assert (31_337.0, 5.0) in out
    assert out[-1] == pts[-1]
    assert [p[0] for p in out] == sorted(p[0] for p in out)


def test_downsample_leaves_short_series_alone() -> None:
    pts = [(0.0, 1.0), (1.0, 2.0)]
    assert curves.downsample(pts, 100) == pts


def test_ema_is_debiased_and_off_at_zero() -> None:
    pts = [(float(i), 1.0) for i in range(10)]
    assert curves.ema(pts, 0.9) == pts  # a constant stays constant from the first point
    assert curves.ema(pts, 0.0) == pts
    noisy = [(float(i), (-1.0) ** i) for i in range(200)]
    assert abs(curves.ema(noisy, 0.9)[-1][1]) < 0.2


def test_log_ticks_label_plain_values_within_range() -> None:
    positions, labels = ticks.log_ticks(math.log10(0.002), math.log10(5.0))
    assert labels[0] in ("2e-3", "5e-3", "0.01") and "0.1" in labels and "1" in labels
    assert all(math.log10(0.002) - 1e-9 <= p <= math.log10(5.0) + 1e-9 for p in positions)
    assert len(positions) <= 6
    assert ticks.log_ticks(0.0, 0.0)[1]  # a flat curve still gets a label
    positions, labels = ticks.log_ticks(math.log10(4.3), math.log10(4.9))  # within a decade
    assert len(labels) >= 2 and all(4.3 <= 10**p <= 4.9 for p in positions)


def test_nice_ticks_and_numbers() -> None:
    assert ticks.nice_ticks(0, 100, 5) == [0, 20, 40, 60, 80, 100]
    assert ticks.format_number(1500) == "1.5k"
    assert ticks.format_number(20000) == "20k"
    assert ticks.format_number(0.25) == "0.25"
    assert ticks.format_number(2_500_000) == "2.5M"


def test_eta_and_duration() -> None:
    assert curves.eta_seconds({"steps": 1000, "step": 400, "steps_per_s": 100.0}) == 6.0
    assert curves.eta_seconds({"steps": 1000, "step": 400}) is None
    assert format_duration(5) == "5s"
    assert format_duration(245) == "4m05s"
    assert format_duration(7620) == "2h07m"
    assert format_duration(None) == ""


def test_run_colours_are_stable_and_distinct() -> None:
    ids = [f"run-{i}" for i in range(8)]
    first, again = curves.run_colours(ids), curves.run_colours(ids)
    assert first == again
    assert len(set(first.values())) == len(ids)
    # a run keeps its colour when shown with others that do not collide with it
    alone = curves.run_colours(["run-3"])
    assert alone["run-3"] in curves.PALETTE


def test_run_curves_smoothing_keeps_raw_and_marks_events() -> None:
    records = [
        {
            "step": s,
            "train_acc": min(1, s / 100),
            "test_acc": 0.1,
            "train_loss": 1 / (s + 1),
            "test_loss": 2.0,
            "elapsed_s": s / 10,
        }
        for s in range(0, 300, 10)
    ]
    summary = {"fit_step": 100, "grok_step": None}
    plain = curves.run_curves(records, summary, AxisOptions())
    assert [s.name for s in plain.acc] == ["train", "test"]
    assert [m.label for m in plain.marks] == ["fit 100"]
    smooth = curves.run_curves(records, summary, AxisOptions(smoothing=0.6))
    assert [s.name for s in smooth.acc] == ["train (raw)", "train", "test (raw)", "test"]
    assert smooth.acc[0].faint and not smooth.acc[1].faint
    assert smooth.acc[0].points == plain.acc[0].points  # raw stays as it was
    # loss is plotted as log10
    assert plain.loss[1].points[0][1] == math.log10(2.0)
    timed = curves.run_curves(records, summary, AxisOptions(x_key="elapsed_s"))
    assert timed.x_label == "wall time (s)"
    assert timed.marks[0].x == 10.0  # the fit mark sits at the wall time of step 100


def test_points_skip_missing_and_nan() -> None:
    records = [{"step": 1, "test_loss": float("nan")}, {"step": 2, "test_loss": 0.5}, {"step": 3}]
    assert curves.points(records, "step", "test_loss") == [(2.0, 0.5)]
    assert curves.log10_points([(1.0, 0.0), (2.0, 10.0)]) == [(2.0, 1.0)]


# -- runtable ------------------------------------------------------------------------------


def make_info(
    tmp_path: Path,
    name: str,
    *,
    lr: float = 1e-3,
    status: str = "completed",
    sweep: dict | None = None,
    **summary_extra,
) -> store.RunInfo:
    preset = Preset.model_validate(
        apply_overrides(Preset().to_dict(), [("name", name), ("optim.lr", lr)])
    )
    path = tmp_path / name
    summary = {
        "run_id": name,
        "name": name,
        "status": status,
        "steps": 100,
        "step": 100,
        "fit_step": 10,
        "grok_step": 50,
        "best_test_acc": 0.99,
        "final": {"test_acc": 0.98},
        "elapsed_s": 75.0,
        "started_at": "2026-05-09T12:30:00+00:00",
        **summary_extra,
    }
    if sweep:
        summary["sweep"] = sweep
    return store.RunInfo(store.RunDir(path), summary, preset.to_dict())


def test_run_row_has_every_column(tmp_path: Path) -> None:
    row = runtable.run_row(make_info(tmp_path, "a", grok_step=None))
    assert set(runtable.COLUMN_KEYS) <= set(row.values)
    assert row.values["model"] == "transformer 2x128"
    assert row.cell("duration_s") == "1m15s"
    assert row.cell("final_test_acc") == "0.980"
    assert row.cell("grok_step") == ""
    assert row.cell("started") == "2026-05-09 12:30"


def test_a_dead_running_run_shows_as_crashed(tmp_path: Path) -> None:
    import socket

    info = make_info(
        tmp_path, "dead", status="running", pid=2**22 + 12345, host=socket.gethostname()
    )
    assert runtable.run_row(info).status == "crashed"


def test_sort_puts_missing_values_last_both_ways(tmp_path: Path) -> None:
    rows = [
        runtable.run_row(make_info(tmp_path, n, grok_step=g))
        for n, g in (("a", 30), ("b", None), ("c", 10))
    ]
    up = runtable.sort_rows(rows, "grok_step")
    down = runtable.sort_rows(rows, "grok_step", reverse=True)
    assert [r.run_id for r in up] == ["c", "a", "b"]
    assert [r.run_id for r in down] == ["a", "c", "b"]
    assert [r.run_id for r in runtable.sort_rows(rows, "name", reverse=True)] == ["c", "b", "a"]


def test_filter_by_words_columns_and_status(tmp_path: Path) -> None:
    rows = [
        runtable.run_row(make_info(tmp_path, "alpha", lr=0.01)),
        runtable.run_row(make_info(tmp_path, "beta", lr=0.001, status="failed")),
    ]
    assert [r.run_id for r in runtable.filter_rows(rows, "ALPHA")] == ["alpha"]
    assert [r.run_id for r in runtable.filter_rows(rows, "lr=0.001")] == ["beta"]
    assert [r.run_id for r in runtable.filter_rows(rows, "", "failed")] == ["beta"]
    assert runtable.filter_rows(rows, "alpha", "failed") == []
    assert len(runtable.filter_rows(rows, "transformer add")) == 2


def test_group_by_sweep_keeps_sweeps_together(tmp_path: Path) -> None:
    rows = [
        runtable.run_row(
            make_info(tmp_path, "s1", sweep={"id": "wd", "coords": {"optim.weight_decay": 0.1}})
        ),
        runtable.run_row(make_info(tmp_path, "lone")),
        runtable.run_row(
            make_info(tmp_path, "s2", sweep={"id": "wd", "coords": {"optim.weight_decay": 1}})
        ),
    ]
    groups = runtable.group_by_sweep(rows)
    assert [(g.sweep_id, [r.run_id for r in g.rows]) for g in groups] == [
        ("wd", ["s1", "s2"]),
        (None, ["lone"]),
    ]


def test_table_csv_has_raw_values(tmp_path: Path) -> None:
    rows = [runtable.run_row(make_info(tmp_path, n, lr=lr)) for n, lr in (("a", 0.01), ("b", 3e-4))]
    out = tmp_path / "out" / "runs.csv"
    assert runtable.write_table_csv(rows, out) == 2
    read = list(csv.DictReader(out.open()))
    assert [r["run_id"] for r in read] == ["a", "b"]
    assert float(read[1]["lr"]) == 3e-4 and read[0]["grok_step"] == "50"


def test_a_notes_first_line_shows_and_every_line_is_searched_and_exported(tmp_path: Path) -> None:
    info = make_info(tmp_path, "noted")
    info.note = "baseline\nrerun after the seed fix"
    row = runtable.run_row(info)
    assert row.cell("note") == "baseline"
    assert [r.run_id for r in runtable.filter_rows([row], "seed fix")] == ["noted"]
    out = tmp_path / "notes.csv"
    runtable.write_table_csv([row], out)
    assert next(csv.DictReader(out.open()))["note"] == "baseline\nrerun after the seed fix"


def test_an_s5_run_has_no_p(tmp_path: Path) -> None:
    info = make_info(tmp_path, "perm")
    info.preset["data"]["operation"] = "s5_compose"
    assert runtable.run_row(info).values["p"] is None


def test_records_csv_has_standard_fields_first(tmp_path: Path) -> None:
    out = tmp_path / "records.csv"
    records = [{"step": 1, "test_acc": 0.5, "extra": 3}, {"step": 2, "test_acc": None}]
    assert runtable.write_records_csv(records, out) == 2
    header = out.read_text().splitlines()[0].split(",")
    assert header[: len(store.RECORD_FIELDS)] == list(store.RECORD_FIELDS) and header[-1] == "extra"


def test_config_diff_shows_only_differing_dotted_keys() -> None:
    a = Preset().to_dict()
    b = apply_overrides(a, [("optim.lr", 0.01), ("name", "other")])
    c = {**a, "optim": {k: v for k, v in a["optim"].items() if k != "betas"}}
    c = apply_overrides(c, [("optim.name", "sgd"), ("optim.momentum", 0.9)])
    diff = dict(runtable.config_diff({"a": a, "b": b, "c": c}))
    assert diff["optim.lr"] == ["0.001", "0.01", "0.001"]
    assert diff["optim.name"] == ["adamw", "adamw", "sgd"]
    assert diff["optim.momentum"] == [runtable.MISSING, runtable.MISSING, "0.9"]
    assert "name" not in diff and "data.p" not in diff
    assert runtable.config_diff({"a": a, "b": dict(a)}) == []


# -- catalog -------------------------------------------------------------------------------


def test_presets_found_with_verdicts_and_deduplicated(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "good.toml").write_text('name = "good"\n[data]\np = 7\n')
    (mine / "bad.toml").write_text('name = "bad"\n[data]\np = 8\n')
    sources = catalog.preset_sources([mine, mine], cwd=tmp_path)
    assert [s.path for s in sources].count(mine.resolve()) == 1
    assert sources[0].label == "shipped"  # the repository's presets/ come first
    entries = {e.path.name: e for e in catalog.discover_presets(sources)}
    assert entries["good.toml"].valid and entries["good.toml"].preset.data.p == 7
    assert not entries["bad.toml"].valid
    assert "bad.toml:3: data.p: p must be prime" in entries["bad.toml"].error
    assert "quickstart.toml" in entries  # shipped with the repository


def test_filters_compare_numbers_and_say_what_they_did_not_understand(tmp_path: Path) -> None:
    def row(run_id: str, grok: int | None, lr: float, p: int, acc: float) -> runtable.RunRow:
        info = make_info(tmp_path, run_id)
        info.summary.update(grok_step=grok, final={"test_acc": acc})
        info.preset["optim"]["lr"] = lr
        info.preset["data"]["p"] = p
        return runtable.run_row(info)

    rows = [
        row("a", 1500, 3e-3, 97, 1.0),
        row("b", 2500, 1e-3, 53, 0.99),
        row("c", None, 3e-3, 23, 0.2),
    ]

    def ids(text: str) -> list[str]:
        return [r.run_id for r in runtable.filter_rows(rows, text)]

    assert ids("grok<2000") == ["a"]  # a run that never grokked is not below 2000
    assert ids("grok>=1500") == ["a", "b"]
    assert ids("lr=3e-3") == ["a", "c"]  # 0.003 written another way
    assert ids("p>50 test_acc>=0.99") == ["a", "b"]
    assert ids("lr!=0.003") == ["b"]
    assert ids("grok<2000 p>50") == ["a"]
    assert runtable.filter_hint(rows, "grok<2000") is None
    assert "not understood: 'foo' is not a column" in runtable.filter_hint(rows, "foo<3")
    assert "is not a number" in runtable.filter_hint(rows, "grok<soon")
    assert "op=value" in runtable.filter_hint(rows, "op>add")
    hint = runtable.filter_hint(rows, "grok<10")
    assert hint is not None and hint.startswith("no run of 3 matches 'grok<10'")
    assert ids("foo<3") == ["a", "b", "c"]  # a term not understood does not hide every run


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(tmp_path: Path) -> None:
    info = make_info(tmp_path, "evil")
    info.summary["name"] = '=HYPERLINK("http://x")'
    out = tmp_path / "t.csv"
    runtable.write_table_csv([runtable.run_row(info)], out)
    assert next(csv.DictReader(out.open()))["name"] == '\'=HYPERLINK("http://x")'


def test_a_legend_that_does_not_fit_moves_its_marks_down_and_cuts_long_names() -> None:
    names = ["20261128-081500-000-quickstart-with-a-long-name", "baseline"]
    marks = ["fit 650", "grok 3350"]
    top, top_marks, bottom = curves.split_legend("accuracy", names, marks, 200)
    assert (top, top_marks, bottom) == (names, marks, [])  # wide: all on top
    top, top_marks, bottom = curves.split_legend("accuracy", names, marks, 60)
    assert top_marks == [] and bottom == marks  # the grok mark is never cut off
    assert len("accuracy") + sum(len(n) + 4 for n in top) <= 60 - 4
    assert top[0].endswith("…") and top[1] == "baseline"
    top, _, bottom = curves.split_legend("loss (log)", names * 5, marks, 40)
    assert bottom == marks and sum(len(n) + 4 for n in top) <= 40 - 4 - len("loss (log)")

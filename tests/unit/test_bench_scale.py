"""`grok-tui bench --scale` (issue 34, item 5): the synthetic runs are runs the store
reads as finished ones, and the table puts each figure beside its target. The quick
tests start no process; the whole bench, at a small size, is in the slow tier."""

from __future__ import annotations

import json

import pytest

from grok_tui.bench import scale
from grok_tui.rundirs import store


def test_the_synthetic_runs_read_back_as_finished_runs(tmp_path):
    runs_dir = tmp_path / "runs"
    made = scale.make_finished_runs(runs_dir, 7, records=4)
    infos = store.list_runs(runs_dir)
    assert sorted(i.run.path for i in infos) == sorted(made)
    assert all(i.status == store.COMPLETED and i.unreadable is None for i in infos)
    assert all(i.preset_error is None for i in infos)
    by_path = {i.run.path: i for i in infos}
    lrs = [store.load_run_preset(by_path[path].run).optim.lr for path in made]
    assert lrs == [scale.LRS[i % 3] for i in range(7)]  # what the filter counts on
    records = by_path[made[0]].run.records()
    assert [r["step"] for r in records] == [50, 100, 150, 200]
    assert by_path[made[0]].summary["step"] == 200


def test_the_long_run_has_every_record_and_its_last_step(tmp_path):
    path = scale.make_long_run(tmp_path / "runs", records=12_345)
    run = store.RunDir(path)
    records = run.records()
    assert len(records) == 12_346 and records[-1]["step"] == 12_345 * 5
    assert run.summary()["status"] == store.COMPLETED and run.summary()["step"] == 12_345 * 5


def test_changed_summaries_move_only_their_runs(tmp_path):
    made = scale.make_finished_runs(tmp_path / "runs", 4, records=1)
    before = {p: (p / "summary.json").read_text() for p in made}
    scale.change_summaries(made[:2])
    after = {p: (p / "summary.json").read_text() for p in made}
    assert [before[p] != after[p] for p in made] == [True, True, False, False]
    assert json.loads(after[made[0]])["status"] == store.COMPLETED


RESULTS = {
    "10000": {
        "runs listing": {"wall": 0.31, "cpu": 0.25, "peak_rss_mb": 40.0, "exit_code": 0},
        "first frame": {"wall": 1.7, "cpu": 0.9},
        "filter applied": {"wall": None, "cpu": None},
    },
    "long": {"export --csv": {"wall": 2.5, "cpu": 2.2, "peak_rss_mb": 60.0, "exit_code": 0}},
}


def test_the_table_puts_each_figure_beside_its_target():
    table = scale.format_table(RESULTS).splitlines()
    assert table[0] == "| figure | 10,000 runs | 200,000 records | target |"
    rows = {line.split(" | ")[0].strip("| "): line for line in table[2:]}
    assert rows["runs listing"] == (
        "| runs listing | 0.31 s (cpu 0.25), 40 MB |  | 10,000 runs < 0.5 s |"
    )
    assert "| first frame | 1.70 s (cpu 0.90) |" in rows["first frame"]
    assert "not shown" in rows["filter applied"]
    assert "200,000 records < 3 s" in rows["export --csv"]
    assert "History after F4" not in rows  # not measured: no row


def test_the_verdicts_say_met_or_missed_for_each_target_measured():
    lines = scale.verdicts(RESULTS)
    assert "met    runs listing (10,000 runs): 0.31 s < 0.5 s" in lines
    assert "missed first frame (10,000 runs): 1.70 s < 1 s" in lines
    assert "missed filter applied (10,000 runs): not shown < 0.2 s" in lines
    assert "met    export --csv (200,000 records): 2.50 s < 3 s" in lines
    assert not any("(1,000 runs)" in line for line in lines)
    assert scale.verdicts(RESULTS, records=500)[-1].startswith("missed filter")  # no long


@pytest.mark.slow
def test_the_scale_bench_times_every_figure_at_a_small_size(tmp_path, capsys):
    from grok_tui import cli

    out = tmp_path / "scale.json"
    assert cli.main(["bench", "--scale", "6", "--records", "300", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| figure | 6 runs | 300 records | target |" in printed
    data = json.loads(out.read_text())
    figures = {**data["results"]["6"], **data["results"]["long"]}
    for name in scale.ORDER:
        assert figures[name]["wall"] is not None and figures[name]["wall"] > 0, name
    assert figures["export --csv"]["peak_rss_mb"] > 0
    assert figures["index from scratch"]["how"] in ("runs --reindex", "runs without an index file")

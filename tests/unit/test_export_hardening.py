"""Exports of run directories that someone else made: values beyond float32, cells a
spreadsheet would run as formulas, records past the metrics size cap (issue 32)."""

from __future__ import annotations

import csv
import json
import struct
from pathlib import Path
from typing import Any

import pytest

from grok_tui import files
from grok_tui.cli import main
from grok_tui.config import Preset
from grok_tui.formats.tfevents import masked_crc
from grok_tui.rundirs import store
from grok_tui.tui import runtable

FLOAT32_MAX = struct.unpack("<f", b"\xff\xff\x7f\x7f")[0]


def crafted_run(
    runs: Path, run_id: str, records: list[Any], preset_extra: str = "", **summary: Any
) -> store.RunDir:
    """A run directory as someone else may hand it over: its files written by hand."""
    run = store.RunDir(runs / run_id)
    run.path.mkdir(parents=True)
    run.preset_path.write_text(preset_extra + Preset(name="crafted").to_toml())  # top level
    status = {"run_id": run_id, "status": "completed", "steps": 30, "step": 30, **summary}
    run.summary_path.write_text(json.dumps(status))
    lines = (r if isinstance(r, str) else json.dumps(r) for r in records)
    run.metrics_path.write_text("".join(line + "\n" for line in lines))
    return run


# -- reading an event file back: TFRecord framing, then the three protobuf messages ----------


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def _fields(data: bytes) -> list[tuple[int, Any]]:
    """(field number, value) of a protobuf message: ints, 4/8-byte slices or bytes."""
    out, at = [], 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
        elif wire == 1:
            value, at = data[at : at + 8], at + 8
        elif wire == 5:
            value, at = data[at : at + 4], at + 4
        elif wire == 2:
            length, at = _varint(data, at)
            value, at = data[at : at + length], at + length
        else:  # pragma: no cover - not written by the exporter
            raise AssertionError(f"wire type {wire}")
        out.append((number, value))
    return out


def read_scalars(path: Path) -> dict[int, dict[str, float]]:
    """step -> {tag: value} of an event file, every record's checksums verified."""
    data, at, steps = path.read_bytes(), 0, {}
    while at < len(data):
        header = data[at : at + 8]
        (length,) = struct.unpack("<Q", header)
        assert struct.unpack("<I", data[at + 8 : at + 12])[0] == masked_crc(header)
        body = data[at + 12 : at + 12 + length]
        assert struct.unpack("<I", data[at + 12 + length : at + 16 + length])[0] == masked_crc(body)
        at += 16 + length
        event = dict(_fields(body))
        if 5 not in event:
            continue  # the file's version header
        values = {}
        for number, value in _fields(event[5]):
            assert number == 1
            fields = dict(_fields(value))
            values[fields[1].decode()] = struct.unpack("<f", fields[2])[0]
        steps[event[2]] = values
    return steps


# -- 1. TensorBoard: values beyond float32's range -------------------------------------------


def test_an_fp64_runs_huge_values_reach_tensorboard_clamped_and_said(tmp_path, capsys):
    """A loss of 1e300 is finite in float64 but beyond float32, which TensorBoard stores."""
    records = [
        {"step": 0, "train_loss": 2.5, "test_loss": 2.6, "train_acc": 0.1, "elapsed_s": 0.0},
        {"step": 10, "train_loss": 1e300, "test_loss": -1e300, "train_acc": 0.5},
        {"step": 20, "train_loss": 1e39, "test_loss": 0.25, "loss_scale": 1e300},
    ]
    run = crafted_run(tmp_path / "runs", "fp64-run", records)
    logdir = tmp_path / "tb"
    assert main(["export", str(run.path), "--tensorboard", str(logdir)]) == 0
    err = capsys.readouterr().err
    (warning,) = [line for line in err.splitlines() if line.startswith("warning:")]
    assert "fp64-run" in warning and "4 value(s) beyond float32's range" in warning
    assert "train/loss = 1e+300 at step 10" in warning  # the first one, by name
    (path,) = (logdir / run.run_id).glob("events.out.tfevents.*")
    steps = read_scalars(path)
    assert sorted(steps) == [0, 10, 20]  # no point lost
    assert steps[0]["train/loss"] == pytest.approx(2.5)
    assert steps[10]["train/loss"] == FLOAT32_MAX and steps[10]["test/loss"] == -FLOAT32_MAX
    assert steps[10]["train/acc"] == 0.5
    assert steps[20]["train/loss"] == FLOAT32_MAX and steps[20]["test/loss"] == 0.25
    assert steps[20]["other/loss_scale"] == FLOAT32_MAX  # a field of the run's own


# -- 2. CSV: every cell of every CSV the product writes -------------------------------------


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as f:
        return list(csv.reader(f))


FORMULA_KEY = '=HYPERLINK("http://evil","x")'


@pytest.fixture
def formula_runs(tmp_path: Path) -> Path:
    """Two runs whose ids, name, note, a record key and a preset field (its name and its
    text values) a spreadsheet would run as formulas."""
    runs = tmp_path / "runs"
    record = {"step": 0, "train_loss": -0.5, FORMULA_KEY: 1}
    evil = crafted_run(runs, "=HYPERLINK(1)", [record], '"@SUM(A1)" = "-2+3"\n', name="+cmd")
    evil.note_path.write_text("=1+2\n")
    crafted_run(runs, "-2+3", [{"step": 0, "train_loss": 0.75}], '"@SUM(A1)" = "-0.5"\n')
    return runs


def test_export_csv_quotes_formula_cells_and_headers_but_keeps_numbers(formula_runs, tmp_path):
    out = tmp_path / "all.csv"
    refs = [str(formula_runs / "=HYPERLINK(1)"), str(formula_runs / "-2+3")]
    assert main(["export", *refs, "--csv", str(out)]) == 0
    header, *rows = _rows(out)
    assert header[:2] == ["run_id", "'@SUM(A1)"]  # a varying preset field, from preset.toml
    assert "'" + FORMULA_KEY in header and FORMULA_KEY not in header  # a record key
    by_run = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert set(by_run) == {"'=HYPERLINK(1)", "'-2+3"}
    evil, minus = by_run["'=HYPERLINK(1)"], by_run["'-2+3"]
    assert evil["'@SUM(A1)"] == "'-2+3"  # text that a spreadsheet would compute: kept as text
    assert minus["'@SUM(A1)"] == "-0.5"  # a number, even written as text, stays a number
    assert evil["train_loss"] == "-0.5" and evil["'" + FORMULA_KEY] == "1"


def test_history_csvs_quote_run_ids_and_record_keys(formula_runs, tmp_path):
    """The TUI's History: x (the table, a row per run) and w (a run's records)."""
    infos = store.list_runs(formula_runs)
    table = tmp_path / "history.csv"
    assert runtable.write_table_csv([runtable.run_row(info) for info in infos], table) == 2
    header, *rows = _rows(table)
    assert header[0] == "run_id" and {row[0] for row in rows} == {"'=HYPERLINK(1)", "'-2+3"}
    evil = dict(zip(header, rows[[row[0] for row in rows].index("'=HYPERLINK(1)")], strict=True))
    assert evil["name"] == "'+cmd" and evil["note"] == "'=1+2"
    records = tmp_path / "records.csv"
    run = store.RunDir(formula_runs / "=HYPERLINK(1)")
    assert runtable.write_records_csv(run.records(), records) == 1
    header, row = _rows(records)
    cells = dict(zip(header, row, strict=True))
    assert cells["'" + FORMULA_KEY] == "1" and FORMULA_KEY not in cells
    assert cells["train_loss"] == "-0.5" and cells["step"] == "0"


def test_sweep_report_csv_quotes_fields_and_statuses(tmp_path, capsys):
    """A sweep directory from someone else: sweep.json names a formula as a field, and a
    point's summary.json holds one as its status."""
    sweep = tmp_path / "runs" / "sweep-crafted"
    sweep.mkdir(parents=True)
    point = crafted_run(sweep, "point-1", [{"step": 0, "test_acc": 0.5}], status="=1+1")
    (sweep / "sweep.json").write_text(
        json.dumps(
            {
                "id": "sweep-crafted",
                "mode": "grid",
                "axes": {"@SUM(A1)": [-0.5, "-2+3"]},
                "points": [{"index": 1, "coords": {"@SUM(A1)": "-2+3"}, "run_id": "point-1"}],
            }
        )
    )
    report = tmp_path / "report.csv"
    code = main(["sweep-report", str(sweep), "--csv", str(report), "--plain"])
    assert code == 0, capsys.readouterr().err
    header, row = _rows(report)
    assert header[:3] == ["index", "'@SUM(A1)", "status"]
    cells = dict(zip(header, row, strict=True))
    assert cells["'@SUM(A1)"] == "'-2+3" and cells["status"] == "'=1+1"
    assert cells["run_id"] == point.run_id and cells["index"] == "1"


# -- 3. records past the metrics size cap ---------------------------------------------------


def test_export_says_which_run_lost_records_past_the_size_cap(tmp_path, capsys, monkeypatch):
    records = [{"step": step, "train_loss": 1.0, "test_acc": 0.5} for step in range(0, 100, 10)]
    big = crafted_run(tmp_path / "runs", "big-run", records)
    small = crafted_run(tmp_path / "runs", "small-run", records[:2])
    read = sum(len(json.dumps(r)) + 1 for r in records[:3])
    size = big.metrics_path.stat().st_size
    # the cap of 512 MiB, scaled down: the first 3 records and half of the 4th fit
    monkeypatch.setattr(files, "MAX_METRICS_BYTES", read + 20)
    out = tmp_path / "out.csv"
    assert main(["export", str(big.path), str(small.path), "--csv", str(out)]) == 0
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1  # the small run is whole: nothing said about it
    assert "run big-run" in warnings[0] and "metrics.jsonl" in warnings[0]
    assert f"{size - read:,} bytes of records past the first 3" in warnings[0]
    header, *rows = _rows(out)
    assert [row[header.index("run_id")] for row in rows].count("big-run") == 3

    logdir = tmp_path / "tb"
    assert main(["export", str(big.path), "--tensorboard", str(logdir)]) == 0
    assert "run big-run" in capsys.readouterr().err
    (path,) = (logdir / big.run_id).glob("events.out.tfevents.*")
    assert sorted(read_scalars(path)) == [0, 10, 20]

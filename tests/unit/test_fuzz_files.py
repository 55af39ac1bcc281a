"""Property-based fuzzing of every file grok-tui reads back (hypothesis; issue 32, section 3).

summary.json, metrics.jsonl, sweep.json, queue.json, analysis.json and a lock file's
identity, as someone else may leave them: hostile JSON (integers like 10**400 and
-2**70, nan, infinities and 1e308, fields of the wrong type or nesting, lists nested a
thousand deep, huge strings, non-UTF-8 bytes, cut files). Whatever a file holds, the
reading functions return a validated value or report ``unreadable: <reason>`` (a record
is skipped, a queue raises QueueError), and the listings built on them (``grok-tui
runs``, the TUI's History, the list of sweeps, sweep-report with its heatmap, ``grok-tui
queue``, the analysis views) never raise anything else, nor hide a healthy run or sweep.

GROK_TUI_FUZZ_EXAMPLES sets the generated cases of the whole module (default 280,
shared by its 7 properties; the campaign's findings, in test_ondisk.py, come on top).
No deadline: a case writes files; the example database is off so runs leave no files.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from grok_tui.analysis import paths as analysis_paths
from grok_tui.errors import UserError
from grok_tui.rundirs import curves, ondisk, ownership, runqueue, store, watch
from grok_tui.sweep import heatmap, read_sweep_dir
from grok_tui.sweep.metrics import METRICS, report_rows
from grok_tui.sweep.report import format_table, report_text
from grok_tui.tui import runtable
from grok_tui.tui.views.curves import AxisOptions, run_curves
from tests.support.crafted import (
    GRID_AXES,
    GRID_COORDS,
    HEALTHY_RECORD,
    HEALTHY_SUMMARY,
    cli_runs,
    draw_every_view,
    history,
    plant_analysis,
    plant_run,
    plant_sweep,
    sweep_info,
    sweep_list,
    valid_analysis,
)

# Its module-scoped folders are made once: every test of the module on one test worker.
pytestmark = pytest.mark.xdist_group("fuzz-files")

EXAMPLES = int(os.environ.get("GROK_TUI_FUZZ_EXAMPLES", "280"))
PROPERTIES = 7
FUZZ = settings(
    max_examples=max(1, EXAMPLES // PROPERTIES),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
HOST = socket.gethostname()


# --- hostile JSON ------------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """JSON text written as it is: what json.dumps cannot make (10**5000, a list nested
    2000 deep, 1e999) or should not have to."""

    text: str


NASTY_NUMBERS = [
    10**400,
    -(10**400),
    -(2**70),
    2**64,
    2**63,
    2**63 - 1,
    -(2**63),
    -(2**63) - 1,
    2**31,
    2**31 - 1,
    -1,
    0,
    1,
    math.nan,
    math.inf,
    -math.inf,
    1e308,
    -1e308,
    5e-324,
    -0.0,
    0.5,
    1.0000001,
]
NASTY_TEXTS = ["", "x" * 70_000, "\x1b[2J\x1b]0;pwned\x07", "\u202e", "../..", "/tmp/x", "\ud800"]
RAW = st.one_of(
    st.integers(1, 2500).map(lambda n: Raw("[" * n + "]" * n)),
    st.integers(1, 1200).map(lambda n: Raw('{"a":' * n + "1" + "}" * n)),
    st.sampled_from(
        [
            Raw("9" * 5000),  # past Python's 4300 digits: json.loads refuses it
            Raw("1e999"),
            Raw("-1e999"),
            Raw("NaN"),
            Raw("-Infinity"),
            Raw('"' + "y" * 200_000 + '"'),
            Raw("[" + ",".join(["0"] * 50_000) + "]"),
            Raw('"\\ud800\\udfff\\u0000"'),
        ]
    ),
)
scalars = st.one_of(
    st.sampled_from(NASTY_NUMBERS),
    st.integers(-(2**80), 2**80),
    st.floats(),  # nan and infinities included
    st.booleans(),
    st.none(),
    st.sampled_from(NASTY_TEXTS),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
hostile = st.one_of(scalars, values, RAW)


def dump(value: Any) -> str:
    """JSON text of a value that may hold Raw pieces."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dump(v) for v in value) + "]"
    return json.dumps(value)


def set_at(doc: Any, path: str, value: Any) -> Any:
    """The document with the value at a dotted path replaced (tables made on the way)."""
    *parents, name = path.split(".")
    node = doc
    for part in parents:
        if not isinstance(node, dict):
            return doc
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    if isinstance(node, dict):
        node[name] = value
    return doc


BAD_BYTES = [b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x00", b"\x80"]


@st.composite
def hostile_file(draw: st.DrawFn, template: Any, paths: list[str]) -> bytes:
    """A valid document with a few fields replaced by hostile values (at known places,
    or new ones); now and then a whole hostile document; then, sometimes, cut or spliced
    with bytes that are not UTF-8."""
    kind = draw(st.sampled_from(["fields", "fields", "fields", "fields", "whole", "valid"]))
    if kind == "whole":
        doc: Any = draw(hostile)
    else:
        doc = json.loads(json.dumps(template))
        if kind == "fields":
            where = st.one_of(st.sampled_from(paths), st.text(min_size=1, max_size=6))
            for path, value in draw(st.lists(st.tuples(where, hostile), min_size=1, max_size=3)):
                doc = set_at(doc, path, value)
    data = dump(doc).encode("utf-8", "surrogatepass")
    mangle = draw(st.sampled_from([None, None, None, None, "cut", "bytes"]))
    if mangle == "cut":
        data = data[: draw(st.integers(0, len(data)))]
    elif mangle == "bytes":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from(BAD_BYTES)) + data[at:]
    return data


def dotted(doc: dict[str, Any], prefix: str = "") -> list[str]:
    """Every dotted path of a document's tables: where a hostile value goes."""
    out = []
    for key, value in doc.items():
        out.append(prefix + key)
        if isinstance(value, dict):
            out += dotted(value, f"{prefix}{key}.")
    return out


SUMMARY_PATHS = dotted(HEALTHY_SUMMARY) + [
    "final",
    "owner",
    "owner.cmdline",
    "sweep",
    "sweep.id",
    "sweep.index",
    "sweep.coords",
    "sweep.coords.optim.lr",
    "group",
    "group.id",
    "resumes",
    "device_name",
    "updated_at",
]
RUNNING_HERE = {**HEALTHY_SUMMARY, "status": "running", "host": HOST}
RUNNING_HERE["owner"] = {**HEALTHY_SUMMARY["owner"], "host": HOST}
summary_files = st.one_of(
    hostile_file(HEALTHY_SUMMARY, SUMMARY_PATHS), hostile_file(RUNNING_HERE, SUMMARY_PATHS)
)


# --- summary.json ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A runs directory with two healthy runs and one planted run between them."""
    runs = tmp_path_factory.mktemp("fuzz-files") / "runs"
    plant_run(runs, "a-healthy", HEALTHY_SUMMARY, [HEALTHY_RECORD])
    plant_run(runs, "b-planted", HEALTHY_SUMMARY)
    plant_run(runs, "c-healthy", HEALTHY_SUMMARY)
    return runs


@FUZZ
@given(data=summary_files)
def test_summaries_read_or_are_unreadable_and_the_listings_hold(data: bytes, runs: Path) -> None:
    planted = runs / "b-planted"
    (planted / store.SUMMARY_FILE).write_bytes(data)
    summary, reason = store.read_summary_checked(planted)
    if reason is None:
        assert ondisk.problem(ondisk.RunSummary, summary) is None
        store.effective_status(summary, planted)
        event("summary: read")
    else:
        assert summary == {} and "\n" not in reason and len(reason) <= 400
        event(f"summary: {reason.split(':')[1][:30] if ':' in reason else reason[:30]}")

    infos = {info.run_id: info for info in store.list_runs(runs)}
    assert list(infos) == ["a-healthy", "b-planted", "c-healthy"]
    assert infos["a-healthy"].status == infos["c-healthy"].status == store.COMPLETED
    assert (infos["b-planted"].unreadable is not None) == (reason is not None)

    code, out = cli_runs(runs)  # grok-tui runs
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert set(lines) == set(infos)
    assert ("unreadable: " in lines["b-planted"]) == (reason is not None)

    rows = history(runs)  # the TUI's History
    assert rows["a-healthy"].status == store.COMPLETED
    assert rows["b-planted"].cell("note").startswith("unreadable: ") == (reason is not None)

    follower = watch.RunFollower(store.RunDir(planted))  # the live view's follower
    follower.poll()


# --- metrics.jsonl --------------------------------------------------------------------------

RECORD_PATHS = [*HEALTHY_RECORD, "layer.0", "key_frequency_share", "sharpness"]
record_lines = st.lists(
    st.one_of(
        hostile_file(HEALTHY_RECORD, RECORD_PATHS),
        st.just(json.dumps(HEALTHY_RECORD).encode()),
    ),
    min_size=1,
    max_size=6,
)


@FUZZ
@given(lines=record_lines, end=st.sampled_from([b"\n", b"", b"\r\n"]))
def test_records_are_validated_or_skipped_and_the_curves_draw(
    lines: list[bytes], end: bytes, runs: Path
) -> None:
    run = store.RunDir(runs / "b-planted")
    run.metrics_path.write_bytes(b"\n".join(line.replace(b"\n", b" ") for line in lines) + end)
    records = store.read_records(run.path)
    for record in records:
        assert ondisk.problem(ondisk.MetricsRecord, record) is None
    event(f"records: {len(records)} of {len(lines)} kept")
    for x_key in ("step", "elapsed_s"):
        run_curves(records, HEALTHY_SUMMARY, AxisOptions(smoothing=0.6, x_key=x_key, log_x=True))
    curves.test_acc_jitter(records)
    curves.test_acc_at(records, 10)
    curves.test_acc_rise(records)
    curves.min_test_loss_step(records)
    curves.min_test_loss_epoch(records)
    follower = watch.RunFollower(run)
    follower.poll()
    assert [r["step"] for r in follower.records] == [r["step"] for r in records]
    runtable.write_records_csv(records, runs.parent / "records.csv")


# --- sweep.json -----------------------------------------------------------------------------

GOOD_SWEEP = sweep_info("s", GRID_AXES, GRID_COORDS)
SWEEP_PATHS = [
    *GOOD_SWEEP,
    "axes.optim.lr",
    "axes.optim.weight_decay",
    "axes.train.seed",
    "zip",
    "points",
    "vectorize",
]


@st.composite
def sweep_files(draw: st.DrawFn) -> bytes:
    """sweep.json with hostile fields, or with one hostile point (coordinates, run id,
    index, label)."""
    if draw(st.booleans()):
        return draw(hostile_file(GOOD_SWEEP, SWEEP_PATHS))
    info = json.loads(json.dumps(GOOD_SWEEP))
    point = info["points"][draw(st.integers(0, 3))]
    key = draw(st.sampled_from(["index", "coords", "label", "run_id", "coords.optim.lr", "extra"]))
    set_at(point, key, draw(hostile))
    return dump(info).encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    runs = tmp_path_factory.mktemp("fuzz-sweeps") / "runs"
    plant_sweep(runs, "a-good")
    plant_sweep(runs, "b-planted")
    return runs


@FUZZ
@given(
    data=sweep_files(),
    summary=st.one_of(st.none(), summary_files),
    metric=st.sampled_from(list(METRICS)),
)
def test_sweeps_read_or_are_unreadable_and_the_reports_hold(
    data: bytes, summary: bytes | None, metric: str, sweeps: Path
) -> None:
    planted = sweeps / "b-planted"
    (planted / "sweep.json").write_bytes(data)
    healthy = json.dumps(HEALTHY_SUMMARY).encode()
    (planted / "p2" / store.SUMMARY_FILE).write_bytes(summary or healthy)
    try:
        sweep_dir = read_sweep_dir(planted)
    except UserError as exc:
        sweep_dir, reason = None, str(exc)
        event("sweep: unreadable")
    else:
        reason = None
        event("sweep: read")

    code, out = sweep_list(sweeps)  # grok-tui sweep-report: the list of sweeps
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2 and "sweep a-good" in lines[0], out
    assert ("unreadable: " in lines[1]) == (reason is not None), lines[1]

    if sweep_dir is not None:  # sweep-report SWEEP, its table, heatmap and spread
        sweep_dir.statuses()
        rows = report_rows(sweep_dir)
        format_table(sweep_dir, rows, metric)
        report_text(sweep_dir, metric=metric)
        for options in ({"x": "optim.weight_decay", "y": "optim.lr"}, {"over": ["optim.lr"]}):
            try:
                report_text(sweep_dir, metric=metric, ci="over" in options, **options)
            except UserError as exc:  # a field this sweep does not have
                event(f"report: {exc.message[:30]}")


# --- the heatmap ----------------------------------------------------------------------------

cells = st.one_of(
    st.none(),
    st.floats(),
    st.sampled_from([math.inf, -math.inf, math.nan, 1e308, -1e308, 5e-324]),
    st.integers(-(2**63), 2**63 - 1),
)


@st.composite
def grids(draw: st.DrawFn) -> heatmap.HeatmapGrid:
    nx, ny = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    axis_values = st.one_of(scalars, values)
    return heatmap.HeatmapGrid(
        metric=draw(st.sampled_from(list(METRICS))),
        x_field=draw(st.sampled_from(["optim.lr", "x" * 300, "\x1b[2J"])),
        y_field="optim.weight_decay",
        x_values=draw(st.lists(axis_values, min_size=nx, max_size=nx)),
        y_values=draw(st.lists(axis_values, min_size=ny, max_size=ny)),
        cells=[draw(st.lists(cells, min_size=nx, max_size=nx)) for _ in range(ny)],
        over=draw(st.lists(st.text(max_size=8), max_size=2)),
    )


@FUZZ
@given(grid=grids(), width=st.integers(0, 200), color=st.booleans())
def test_a_heatmap_of_any_values_draws(grid: heatmap.HeatmapGrid, width: int, color: bool) -> None:
    text = heatmap.render_heatmap(grid, width=width, color=color)
    assert "scale:" in text


# --- queue.json -----------------------------------------------------------------------------

GOOD_QUEUE = {
    "slots": {"cpu": 2, "cuda:0": 1},
    "entries": [
        {"run": "a-healthy", "device": "cpu", "added_at": "2026-01-02T03:04:05+00:00"},
        {"run": "c-healthy", "device": "cuda:0", "added_at": None},
    ],
}
QUEUE_PATHS = [
    "slots",
    "slots.cpu",
    "slots.cuda:0",
    "entries",
    "entries.run",
    "entries.device",
    "later",
]


@st.composite
def queue_files(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(hostile_file(GOOD_QUEUE, QUEUE_PATHS))
    state = json.loads(json.dumps(GOOD_QUEUE))
    entry = state["entries"][draw(st.integers(0, 1))]
    set_at(entry, draw(st.sampled_from(["run", "device", "added_at", "later"])), draw(hostile))
    return dump(state).encode("utf-8", "surrogatepass")


@FUZZ
@given(data=queue_files())
def test_a_queue_reads_or_is_damaged_and_its_listing_holds(data: bytes, runs: Path) -> None:
    runqueue.queue_path(runs).write_bytes(data)
    try:
        state = runqueue.read_queue(runs)
    except runqueue.QueueError as exc:
        assert str(exc).startswith(str(runqueue.queue_path(runs))) and len(str(exc)) < 1000
        event("queue: damaged")
    else:
        event("queue: read")
        live = ["cpu", "cuda:0", "cpu"]
        runqueue.waits(state, live)
        runqueue.slots_line(state, live)
        runqueue.next_to_start(state, live)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        from grok_tui.cli import main

        assert main(["queue", "list", "--runs-dir", str(runs)]) in (0, 2)  # grok-tui queue
    assert "Traceback" not in err.getvalue()
    runqueue.queue_path(runs).unlink()


# --- analysis.json --------------------------------------------------------------------------

GOOD_ANALYSIS = valid_analysis()
ANALYSIS_PATHS = [
    path
    for path in dotted(GOOD_ANALYSIS)
    if not path.startswith(("norms.checkpoints.layers.", "neurons.layers.net.1."))
] + ["neurons.layers.net.1.clusters", "neurons.layers.net.1.clustered_fraction"]


@FUZZ
@given(data=hostile_file(GOOD_ANALYSIS, ANALYSIS_PATHS))
def test_an_analysis_reads_or_is_unreadable_and_every_view_draws(data: bytes, runs: Path) -> None:
    run = store.RunDir(runs / "b-planted")
    plant_analysis(run, data)
    analysis, reason = analysis_paths.read_analysis_checked(run.path)
    assert (analysis is None) == (reason is not None)
    assert (analysis_paths.read_analysis(run.path) is None) == (analysis is None)
    if analysis is not None:
        event("analysis: read")
        draw_every_view(analysis)
    else:
        event(f"analysis: {reason[:30]}")


# --- the lock identity ----------------------------------------------------------------------

GOOD_IDENTITY = {"host": HOST, "pid": 1, "started": "b:1", "cmdline": ["grok-tui", "--run"]}


@FUZZ
@given(data=hostile_file(GOOD_IDENTITY, [*GOOD_IDENTITY, "later"]))
def test_a_lock_identity_is_bounded_or_refused(data: bytes, tmp_path: Path) -> None:
    try:
        parsed = json.loads(data)
    except (ValueError, RecursionError):
        parsed = None
    if ondisk.identity_problem(parsed) is None:
        identity = ownership.Identity.from_dict(parsed)
        assert identity is not None
        identity.describe()
        ownership.is_alive(identity)  # os.kill on its pid: a pid_t
        event("identity: bounded")
    else:
        event("identity: refused")
    folder = tmp_path / "locked"
    folder.mkdir(exist_ok=True)
    (folder / ownership.LOCK_NAME).write_bytes(data)
    ownership.read_holder(folder / ownership.LOCK_NAME)
    ownership.live_holder(folder)

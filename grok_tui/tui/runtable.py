"""The run history as rows: columns, sorting, filtering, sweeps, CSV export, config diff.

Plain Python over store.RunInfo, with no Textual import: the History and Compare
screens only display what is computed here.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.cells import cell_len

from grok_tui.config import S5_OPERATIONS, flatten
from grok_tui.formats.csvfile import csv_cell, write_csv
from grok_tui.rundirs import store
from grok_tui.text import format_duration, safe_text
from grok_tui.tui import fieldnames


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    numeric: bool = False


# What a run came to first (status and events), then what it was, then the note: at 80
# columns the outcome of every run is on screen, and a long note pushes nothing aside.
COLUMNS: tuple[Column, ...] = (
    Column("name", "name"),
    Column("status", "status"),
    Column("fit_step", "fit", numeric=True),
    Column("grok_step", "grok", numeric=True),
    Column("best_test_acc", "best", numeric=True),
    Column("final_test_acc", "final", numeric=True),
    Column("model", "model"),
    Column("operation", "op"),
    Column("p", "p", numeric=True),
    Column("train_fraction", "frac", numeric=True),
    Column("optimizer", "optim"),
    Column("lr", "lr", numeric=True),
    Column("weight_decay", "wd", numeric=True),
    Column("duration_s", "time", numeric=True),
    Column("started", "started"),
    Column("note", "note"),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
STATUSES = (
    "running",
    "starting",
    "queued",
    "created",
    "completed",
    "stopped",
    "failed",
    "diverged",
    "crashed",
)


_DOTTED: dict[frozenset[str], frozenset[str]] = {}  # each layout of dotted fields, once


@dataclass
class RunRow:
    """One run as the history shows it: raw values (for sorting and CSV) by column key."""

    run_id: str
    path: Path
    values: dict[str, Any]
    sweep_id: str | None = None
    sweep_coords: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return str(self.values.get("status", ""))

    def cell(self, key: str) -> str:
        return format_cell(key, self.values.get(key))

    # Made once per row (a row is replaced, never changed, when its run moves): with
    # 10,000 runs, a filter or the table's widths must not format every cell again.
    _cells: tuple[str, ...] | None = field(default=None, init=False, repr=False, compare=False)
    _haystack: str | None = field(default=None, init=False, repr=False, compare=False)
    _widths: tuple[int, ...] | None = field(default=None, init=False, repr=False, compare=False)
    _dotted: frozenset[str] | None = field(default=None, init=False, repr=False, compare=False)

    def dotted(self) -> frozenset[str]:
        """The dotted preset fields this run has (optim.lr), one shared set per layout:
        runs of one schema share it, and filter_names unions the few distinct ones."""
        if self._dotted is None:
            keys = frozenset(k for k in self.values if "." in k)
            self._dotted = _DOTTED.setdefault(keys, keys)
        return self._dotted

    def cells(self) -> tuple[str, ...]:
        """Every column's cell, in COLUMNS order, as drawn: terminal-safe, one line."""
        if self._cells is None:
            self._cells = tuple(safe_text(self.cell(key)) for key in COLUMN_KEYS)
        return self._cells

    def widths(self) -> tuple[int, ...]:
        """Terminal columns of each cell of cells(): the table's widths, without Text."""
        if self._widths is None:
            self._widths = tuple(cell_len(text) for text in self.cells())
        return self._widths

    def haystack(self) -> str:
        """What a filter's plain word is looked for in: the id, every cell, every line of
        the note and the sweep id, lower case."""
        if self._haystack is None:  # the cells as drawn (formatted once, in cells())
            text = " ".join([self.run_id, *self.cells()])
            text += " " + str(self.values.get("note") or "")  # every line of the note
            if self.sweep_id:
                text += " " + self.sweep_id
            self._haystack = text.lower()
        return self._haystack


def _get(mapping: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(mapping, Mapping):
            return None
        mapping = mapping.get(key)
    return mapping


def model_label(model: Mapping[str, Any]) -> str:
    """transformer 2x128, mlp 256-256, lstm 2x256 (bi)."""
    kind = model.get("type", "transformer")
    if kind == "transformer":
        return f"transformer {model.get('layers', '?')}x{model.get('d_model', '?')}"
    if kind == "mlp":
        widths = model.get("widths") or []
        return "mlp " + "-".join(str(w) for w in widths)
    label = f"{kind} {model.get('layers', '?')}x{model.get('hidden_size', '?')}"
    return label + (" bi" if model.get("bidirectional") else "")


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def duration_s(summary: Mapping[str, Any], now: datetime | None = None) -> float | None:
    """Training time: elapsed_s when the run reported it, else start to end (or to now)."""
    elapsed = summary.get("elapsed_s")
    if isinstance(elapsed, int | float) and math.isfinite(elapsed):
        return float(elapsed)
    start = _parse_time(summary.get("started_at"))
    end = _parse_time(summary.get("ended_at"))
    if start is None:
        return None
    if end is None:
        if summary.get("status") != store.RUNNING:
            return None
        end = now or datetime.now(start.tzinfo)
    return max(0.0, (end - start).total_seconds())


def run_row(info: store.RunInfo) -> RunRow:
    """The history row of a run, from its summary and its frozen preset."""
    summary, preset = info.summary, info.preset

    def table(key: str) -> Mapping[str, Any]:  # a crafted preset.toml may hold anything
        value = preset.get(key)
        return value if isinstance(value, Mapping) else {}

    data, model, optim = table("data"), table("model"), table("optim")
    started = _parse_time(summary.get("started_at") or summary.get("created_at"))
    values = {
        "name": summary.get("name") or preset.get("name") or info.run_id,
        # the whole note: the filter and CSV see every line; a damaged run says why instead
        "note": f"unreadable: {info.unreadable}" if info.unreadable else (info.note or None),
        "model": model_label(model) if model else "?",
        "operation": _get(data, "operation"),
        "p": None if _get(data, "operation") in S5_OPERATIONS else _get(data, "p"),  # not used
        "train_fraction": _get(data, "train_fraction"),
        "optimizer": _get(optim, "name"),
        "lr": _get(optim, "lr"),
        "weight_decay": _get(optim, "weight_decay"),
        "status": info.status if summary or info.unreadable else "unknown",
        "fit_step": summary.get("fit_step"),
        "grok_step": summary.get("grok_step"),
        "best_test_acc": summary.get("best_test_acc"),
        "final_test_acc": _get(summary, "final", "test_acc"),
        "duration_s": duration_s(summary),
        "started": started.strftime("%Y-%m-%d %H:%M") if started else "",
        # every preset field by its dotted name, for filters (optim.lr>1e-3) and notebooks
        **{k: v for k, v in flatten(preset).items() if k not in ("name", "description")},
    }
    if info.preset_error:
        values["status"] = values["status"] + " (bad preset)"
    sweep = summary.get("sweep") if isinstance(summary.get("sweep"), Mapping) else None
    return RunRow(
        run_id=info.run_id,
        path=info.run.path,
        values=values,
        sweep_id=str(sweep["id"]) if sweep and sweep.get("id") is not None else None,
        sweep_coords=dict(sweep.get("coords") or {}) if sweep else {},
    )


def format_cell(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key == "note":
        return str(value).splitlines()[0]
    if key in ("best_test_acc", "final_test_acc") and isinstance(value, int | float):
        return f"{value:.3f}"
    if key == "duration_s":
        return format_duration(value)
    if key in ("lr", "weight_decay") and isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def sort_rows(rows: Sequence[RunRow], key: str, *, reverse: bool = False) -> list[RunRow]:
    """Rows ordered by one column; empty values always last, whatever the direction."""
    present = [r for r in rows if r.values.get(key) not in (None, "")]
    missing = [r for r in rows if r.values.get(key) in (None, "")]

    def sort_key(row: RunRow) -> tuple[int, Any]:
        value = row.values[key]
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (0, value)
        return (1, str(value).lower())

    return sorted(present, key=sort_key, reverse=reverse) + missing


# Names a filter may use besides the column keys and titles (``grok<2000``, ``test_acc>=0.99``).
FILTER_ALIASES = {
    "test_acc": "final_test_acc",
    "acc": "final_test_acc",
    "fraction": "train_fraction",
    "optim": "optimizer",
    "duration": "duration_s",
}
_TERM = re.compile(r"^([a-z_][a-z0-9_.]*)(<=|>=|!=|==|=|<|>)(.*)$")
_NUMERIC_KEYS = {c.key for c in COLUMNS if c.numeric}


@dataclass(frozen=True)
class FilterTerm:
    """One word of a filter: a comparison on a column, or text to find anywhere."""

    text: str
    key: str | None = None
    op: str | None = None
    value: str | float | None = None


_COLUMN_NAMES = frozenset((*COLUMN_KEYS, *(c.title for c in COLUMNS), *FILTER_ALIASES))


def _column_key(name: str) -> str | None:
    if "." in name:  # a preset field by its dotted name (optim.lr): whatever the run has
        return name
    titles = {c.title: c.key for c in COLUMNS}
    key = FILTER_ALIASES.get(name) or titles.get(name, name)
    if key in COLUMN_KEYS:
        return key
    return fieldnames.short_names(_COLUMN_NAMES).get(name)  # seed is train.seed


def filter_names(rows: Iterable[RunRow] = ()) -> set[str]:
    """Every name a filter term may use: columns, aliases, preset fields (dotted and short),
    and the dotted fields the runs have (an old run's field the schema has dropped)."""
    names = set(_COLUMN_NAMES) | fieldnames.preset_fields()
    names |= set(fieldnames.short_names(_COLUMN_NAMES))
    layouts = {id(keys): keys for keys in (row.dotted() for row in rows)}
    for keys in layouts.values():
        names |= keys
    return names


def unknown_fields(text: str, rows: Iterable[RunRow] = ()) -> list[str]:
    """A hint for each ``name<op>value`` term whose name is no field, with the close
    matches: ``sed=4`` -> 'sed' is no field: did you mean seed?"""
    known = filter_names(rows)
    hints = []
    for word in text.lower().split():
        match = _TERM.match(word)
        if match and match.group(1) not in known:
            hints.append(fieldnames.did_you_mean(match.group(1), known))
    return hints


def parse_filter(text: str, known: Iterable[str] = ()) -> tuple[list[FilterTerm], list[str]]:
    """The terms of a filter, and what was not understood (one hint each).

    ``key=value`` matches a column (numbers compare as numbers: ``lr=3e-3`` finds 0.003);
    ``key<v``, ``<=``, ``>``, ``>=``, ``!=`` compare numeric columns; other words are
    found in any cell, the note or the sweep id. A term that is not understood is left
    out (the others still filter) and said why, with the close field names: a dotted name
    that is no preset field (``optim.lrr``) included. ``known``: more dotted fields (the
    runs' own, see filter_names).
    """
    names = filter_names() | set(known)
    terms: list[FilterTerm] = []
    problems: list[str] = []
    for word in text.lower().split():
        match = _TERM.match(word)
        if match is None:
            terms.append(FilterTerm(word))
            continue
        name, op, wanted = match.groups()
        op = "=" if op == "==" else op
        key = _column_key(name)
        if key is not None and "." in name and name not in names:
            problems.append(fieldnames.did_you_mean(name, names))  # optim.lrr: no run has it
            continue
        if key is not None and "." not in name and "=" in wanted:
            key = None  # seed=1-frac=0.3: a sweep point's label, found as text
        if key is None:
            if op == "=":  # "a=b" that names no column: plain text, as before
                terms.append(FilterTerm(word))
            else:
                numbers = ", ".join(sorted({c.title for c in COLUMNS if c.numeric}))
                close = fieldnames.close_fields(name, names)
                also = f"; did you mean {' or '.join(close)}?" if close else ""
                problems.append(f"'{name}' is not a column (numbers: {numbers}){also}")
            continue
        if (key in _NUMERIC_KEYS or "." in key) and wanted:
            try:
                terms.append(FilterTerm(word, key, op, float(wanted)))
                continue
            except ValueError:
                if op not in ("=", "!="):
                    problems.append(f"'{word}': {wanted!r} is not a number")
                    continue
        elif op not in ("=", "!="):
            problems.append(f"'{word}': {name} is not a number column; use {name}=value")
            continue
        terms.append(FilterTerm(word, key, op, wanted))
    return terms, problems


def _compare(value: float, op: str, wanted: float) -> bool:
    if op in ("=", "!="):
        equal = math.isclose(value, wanted, rel_tol=1e-9, abs_tol=1e-12)
        return equal if op == "=" else not equal
    return {"<": value < wanted, "<=": value <= wanted, ">": value > wanted, ">=": value >= wanted}[
        op
    ]


def _term_matches(row: RunRow, term: FilterTerm, haystack: str) -> bool:
    if term.key is None:
        return term.text in haystack
    assert term.op is not None
    if isinstance(term.value, float):
        value = row.values.get(term.key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return term.op == "!="  # a run with no grok step is not "grok<2000"
        return _compare(float(value), term.op, term.value)
    value = row.values.get(term.key)
    shown = row.cell(term.key) if "." not in term.key else "" if value is None else _show(value)
    equal = shown.lower() == term.value
    return equal if term.op == "=" else not equal


def filter_rows(rows: Iterable[RunRow], text: str = "", status: str | None = None) -> list[RunRow]:
    """Rows that match every term of the filter (see parse_filter), with the given status."""
    rows = list(rows)
    if not text.strip() and not status:
        return rows
    terms, _ = parse_filter(text, filter_names(rows) if text.strip() else ())
    out = []
    for row in rows:
        if status and row.status.split(" ")[0] != status:
            continue
        if all(_term_matches(row, term, row.haystack()) for term in terms):
            out.append(row)
    return out


def filter_hint(
    rows: Sequence[RunRow],
    text: str,
    status: str | None = None,
    matched: Sequence[RunRow] | None = None,
) -> str | None:
    """What to tell a user whose filter shows nothing, or is partly not understood.
    ``matched``: filter_rows(rows, text, status), when the caller has it already."""
    if not text.strip() and not status:
        return None
    _, problems = parse_filter(text, filter_names(rows))
    if problems:
        return "not understood: " + "; ".join(problems)
    if matched is None:
        matched = filter_rows(rows, text, status)
    if not rows or matched:
        return None
    what = f"'{text.strip()}'" if text.strip() else ""
    if status:
        what = f"{what} with status {status}".strip()
    unknown = unknown_fields(text, rows)  # sed=4 is searched as text, and found nowhere
    if unknown:
        return f"no run of {len(rows)} matches {what}: " + "; ".join(unknown)
    return f"no run of {len(rows)} matches {what}: try fewer words, or grok<2000, lr=3e-3, p>50"


@dataclass
class Group:
    """Rows of one sweep (or the runs of no sweep: sweep_id None)."""

    sweep_id: str | None
    rows: list[RunRow]


def group_by_sweep(rows: Sequence[RunRow]) -> list[Group]:
    """Sweeps in order of first appearance, each with its runs; lone runs in between."""
    groups: list[Group] = []
    by_id: dict[str, Group] = {}
    for row in rows:
        if row.sweep_id is None:
            if groups and groups[-1].sweep_id is None:
                groups[-1].rows.append(row)
            else:
                groups.append(Group(None, [row]))
            continue
        group = by_id.get(row.sweep_id)
        if group is None:
            group = by_id[row.sweep_id] = Group(row.sweep_id, [])
            groups.append(group)
        group.rows.append(row)
    return groups


def csv_value(value: Any) -> Any:
    """'' for missing; a text a spreadsheet would evaluate as a formula is quoted."""
    return csv_cell(value)


def rows_in_scope(
    rows: Sequence[RunRow], shown: Sequence[RunRow], marked: Collection[str], scope: str
) -> list[RunRow]:
    """What an export of ``scope`` ("all", "filtered", "marked") writes: each run once, as
    ``rows`` (every run, refreshed as live runs move) has it now. ``shown`` (the filtered
    table) says only which runs and in what order; marked runs the filter hides follow."""
    if scope == "all":
        ids = [r.run_id for r in rows]
    elif scope == "filtered":
        ids = [r.run_id for r in shown]
    else:
        ids = [r.run_id for r in (*shown, *rows) if r.run_id in marked]
    current = {r.run_id: r for r in rows}
    return [current[run_id] for run_id in dict.fromkeys(ids) if run_id in current]


def write_table_csv(rows: Iterable[RunRow], path: Path) -> int:
    """The history table (raw values, not the rounded cells) as CSV; the number of rows.
    Every cell, run ids and header included, is spreadsheet-safe (formats/csvfile.py)."""
    return write_csv(
        path,
        ["run_id", *COLUMN_KEYS, "sweep", "path"],
        (
            [row.run_id, *(row.values.get(k) for k in COLUMN_KEYS), row.sweep_id, row.path]
            for row in rows
        ),
    )


def write_records_csv(records: Sequence[Mapping[str, Any]], path: Path) -> int:
    """A run's records as CSV: the standard fields first, then any others it has (a record
    key, from the run directory, is a header cell: spreadsheet-safe too)."""
    keys = list(store.RECORD_FIELDS)
    for record in records:
        keys.extend(k for k in record if k not in keys)
    return write_csv(path, keys, ([record.get(k) for k in keys] for record in records))


MISSING = "—"


def config_diff(presets: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, list[str]]]:
    """The dotted preset fields in which the runs differ, with each run's value.

    ``presets`` maps a run id to its raw preset; the name and description are left out
    (they differ by construction and say nothing about the experiment).
    """
    flat = {run_id: flatten(preset) for run_id, preset in presets.items()}
    keys: list[str] = []
    for values in flat.values():
        keys.extend(k for k in values if k not in keys)
    rows = []
    for key in keys:
        if key in ("name", "description"):
            continue
        column = [values.get(key, MISSING) for values in flat.values()]
        if any(v != column[0] for v in column[1:]):
            rows.append((key, [_show(v) for v in column]))
    return sorted(rows, key=lambda item: _section_order(item[0]))


def _show(value: Any) -> str:
    if value is MISSING:
        return MISSING
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def _section_order(key: str) -> tuple[int, str]:
    order = {"data": 0, "model": 1, "optim": 2, "train": 3}
    return (order.get(key.split(".")[0], 4), key)


class RowCache:
    """run_row of each run, made again only where what it reads changed.

    History lists every run each time it is shown; with 10,000 runs making every row
    again took most of a second. A row is kept while its run's summary, preset, note and
    verdicts are equal (the same objects, as run_listing shares them, or equal ones); a
    live run's row is always made again (its duration runs on with the clock). The rows'
    cells, widths and search text are made here too, off the UI's thread.
    """

    def __init__(self) -> None:
        self._rows: dict[str, tuple[tuple[Any, ...], RunRow]] = {}  # by RunInfo.folder
        self._lock = threading.Lock()  # History's worker and the app's prefetch
        self.made = 0  # rows made so far (the others were kept)

    def rows(self, infos: Iterable[store.RunInfo]) -> list[RunRow]:
        with self._lock:
            out: list[RunRow] = []
            kept: dict[str, tuple[tuple[Any, ...], RunRow]] = {}
            for info in infos:
                preset = info.preset  # first: an index row that does not decode sets the error
                stamp = (
                    info.run_id,
                    info.status,
                    info.note,
                    info.unreadable,
                    info.preset_error,
                    info.summary,
                    preset,
                )
                folder = info.folder
                old = self._rows.get(folder)
                if (
                    old is not None
                    and info.status not in store.LIVE_STATUSES
                    and _same(old[0], stamp)
                ):
                    row = old[1]
                else:
                    row = run_row(info)
                    row.cells(), row.widths(), row.haystack(), row.dotted()
                    self.made += 1
                kept[folder] = (stamp, row)
                out.append(row)
            self._rows = kept
            return out


def _same(old: tuple[Any, ...], new: tuple[Any, ...]) -> bool:
    return all(a is b or a == b for a, b in zip(old, new, strict=True))


ROWS = RowCache()


def load_rows(
    runs_dir: Path, *, listing: Callable[[Path], list[store.RunInfo]] | None = None
) -> list[RunRow]:
    """Every run of the runs directory as a row (never raises on a bad run)."""
    infos = (listing or store.list_runs)(runs_dir)
    return ROWS.rows(infos)

"""Runs in a notebook in one line: ``grok_tui.runs("runs")`` and ``grok_tui.records(...)``.

Each gives a pandas DataFrame. pandas is imported inside the functions only (the notebook
extra), so importing grok_tui stays cheap. Runs are chosen with History's filter language
(tui/runtable.py: plain Python, no Textual): one language, one parser, in both places.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grok_tui.config import flatten
from grok_tui.errors import UserError
from grok_tui.rundirs import index, store
from grok_tui.tui import runtable

if TYPE_CHECKING:  # pragma: no cover
    import pandas

INSTALL_HINT = "pip install 'grok-tui[notebook]'"

# The columns of runs(), before the preset's dotted fields.
RUN_COLUMNS = (
    "run_id",
    "status",
    "name",
    "step",
    "steps",
    "fit_step",
    "grok_step",
    "grok_gap",
    "final_train_acc",
    "final_test_acc",
    "final_train_loss",
    "final_test_loss",
    "best_test_acc",
    "best_test_acc_step",
    "steps_per_s",
    "elapsed_s",
    "device",
    "created_at",
    "note",
    "path",
    "unreadable",
)
_EVENTS = ("step", "steps", "fit_step", "grok_step", "grok_gap")
_FINAL = ("train_acc", "test_acc", "train_loss", "test_loss")
_FACTS = ("best_test_acc", "best_test_acc_step", "steps_per_s", "elapsed_s", "device", "created_at")
_NOT_FIELDS = ("name",)  # the preset's name is the run's `name` column already


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as exc:
        raise ImportError(
            f"grok_tui.runs() and grok_tui.records() need pandas: {INSTALL_HINT}"
        ) from exc
    return pandas


def _chosen(runs_dir: str | Path | None, filter: str) -> list[store.RunInfo]:
    """The runs of a runs folder that History's filter shows (all for an empty filter)."""
    folder = store.resolve_runs_dir(runs_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"no runs folder {str(folder)!r}")
    infos = index.list_runs(folder)  # through the runs index: only changed runs are read
    if not filter.strip():
        return infos
    rows = [runtable.run_row(info) for info in infos]
    _, problems = runtable.parse_filter(filter, runtable.filter_names(rows))
    if problems:  # History leaves such a term out; a notebook says so instead
        raise ValueError(f"filter {filter!r} not understood: " + "; ".join(problems))
    shown = {row.path for row in runtable.filter_rows(rows, filter)}
    unknown = runtable.unknown_fields(filter, rows)
    if not shown and unknown:  # sed=4: searched as text, found nowhere; say what was meant
        raise ValueError(f"filter {filter!r} matches no run: " + "; ".join(unknown))
    return [info for info in infos if info.run.path in shown]


def _preset_fields(info: store.RunInfo) -> dict[str, Any]:
    return {k: v for k, v in flatten(info.preset).items() if k not in _NOT_FIELDS}


def _run_values(info: store.RunInfo) -> dict[str, Any]:
    summary = info.summary
    final = summary.get("final") if isinstance(summary.get("final"), dict) else {}
    values: dict[str, Any] = {
        "run_id": info.run_id,
        "status": info.status if summary or info.unreadable else "unknown",
        "name": summary.get("name") or info.preset.get("name") or info.run_id,
        **{key: summary.get(key) for key in _EVENTS},
        **{f"final_{key}": final.get(key) for key in _FINAL},
        **{key: summary.get(key) for key in _FACTS},
        "note": info.note or None,
        "path": str(info.run.path),
        "unreadable": info.unreadable or info.preset_error,
    }
    return {**values, **_preset_fields(info)}


def _frame(rows: list[dict[str, Any]], first: Iterable[str]) -> pandas.DataFrame:
    """A DataFrame whose columns are ``first`` and then every other key, in order met."""
    columns = list(first)
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    return _pandas().DataFrame(rows, columns=columns)


def runs(runs_dir: str | Path | None = None, *, filter: str = "") -> pandas.DataFrame:
    """One row per run of a runs folder (default: $GROK_TUI_RUNS_DIR, else ./runs).

    Columns: what each run came to (status, steps, fit and grok steps, final and best
    accuracies, speed, device, note, path, ``unreadable``: why a damaged run cannot be
    read, else None), then every field of its preset by dotted name (``optim.lr``), all
    of them, whether or not they differ. ``filter`` is History's: ``"optim.lr>1e-3
    status=completed"``, ``"grok<2000 adamw"``.
    """
    _pandas()  # the clear message before any work
    rows = [_run_values(info) for info in _chosen(runs_dir, filter)]
    return _frame(rows, RUN_COLUMNS)


def _resolve(
    source: str | Path | Iterable[str | Path], runs_dir: str | Path | None, filter: str
) -> list[tuple[store.RunDir, dict[str, Any]]]:
    """The runs that ``source`` names, each with its raw preset."""
    if isinstance(source, str | Path):
        run = store.RunDir(Path(source))
        if not run.exists() and Path(source).is_dir():  # a runs folder
            return [(info.run, info.preset) for info in _chosen(source, filter)]
        source = [source]
    if filter.strip():
        raise ValueError("filter chooses runs of a runs folder: give records() the folder")
    folder = store.resolve_runs_dir(runs_dir)
    chosen = []
    for ref in source:
        run = store.find_run(ref, folder)
        try:
            preset = store.read_run_preset_raw(run)
        except UserError:  # listed with no preset fields, as runs() does
            preset = {}
        chosen.append((run, preset))
    return chosen


def records(
    source: str | Path | Iterable[str | Path] | None = None,
    *,
    filter: str = "",
    preset: bool = False,
    runs_dir: str | Path | None = None,
) -> pandas.DataFrame:
    """The long table: one row per record (evaluation) of each run, ``run_id`` first.

    ``source`` is a runs folder (default: $GROK_TUI_RUNS_DIR, else ./runs; ``filter``
    chooses among its runs as History does), a run directory, or a list of run
    directories or run ids (an id, or a unique part of one, is looked up in ``runs_dir``).
    ``preset=True`` adds every preset field of each run by dotted name (``optim.lr``).
    """
    pandas = _pandas()
    if source is None:
        source = store.resolve_runs_dir(runs_dir)
    frames = []
    columns = ["run_id", *store.RECORD_FIELDS]
    for run, raw in _resolve(source, runs_dir, filter):
        rows = store.read_records(run.path)
        if not rows:
            continue
        frame = pandas.DataFrame(rows)
        frame.insert(0, "run_id", run.run_id)
        columns.extend(k for k in frame.columns if k not in columns)
        if preset:
            fields = {k: v for k, v in flatten(raw).items() if k not in _NOT_FIELDS}
            for key, value in fields.items():
                frame[key] = [value] * len(frame)  # a list (optim.betas) is one cell each
            columns.extend(k for k in fields if k not in columns)
        frames.append(frame)
    if not frames:
        return pandas.DataFrame(columns=columns)
    return pandas.concat(frames, ignore_index=True).reindex(columns=columns)

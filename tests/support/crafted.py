"""Run directories, sweep folders, queue files and analyses as someone else may leave them:
planted by hand, without training, so that each case takes a few milliseconds.

Used by tests/unit/test_ondisk.py (the fuzz campaign's findings) and
tests/unit/test_fuzz_files.py (generated cases).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path
from typing import Any

from grok_tui.analysis.paths import SCHEMA, analysis_path
from grok_tui.rundirs import store
from grok_tui.tui import analysis_view, runtable

# Enough of a preset for store.RunDir.exists() and the listings (never validated there).
PRESET_TOML = """\
name = "planted"

[data]
operation = "add"
p = 7

[model]
type = "mlp"

[optim]
name = "adamw"
lr = 0.001
weight_decay = 1.0
"""

HEALTHY_SUMMARY: dict[str, Any] = {
    "run_id": "healthy",
    "name": "healthy",
    "status": "completed",
    "steps": 60,
    "step": 60,
    "created_at": "2026-01-02T03:04:05+00:00",
    "started_at": "2026-01-02T03:04:05+00:00",
    "ended_at": "2026-01-02T03:04:11+00:00",
    "device": "cpu",
    "pid": 4242,
    "host": "elsewhere",
    "owner": {"host": "elsewhere", "pid": 4242, "started": "b:1", "cmdline": ["grok-tui"]},
    "epoch": 20,
    "elapsed_s": 6.4,
    "steps_per_s": 9.3,
    "final": {"train_acc": 1.0, "test_acc": 0.98, "train_loss": 0.01, "test_loss": 0.2},
    "fit_step": 20,
    "grok_step": 50,
    "grok_gap": 30,
    "best_test_acc": 0.99,
    "best_test_acc_step": 50,
    "checkpoint_step": 60,
    "error": None,
}

HEALTHY_RECORD: dict[str, Any] = {
    "step": 10,
    "epoch": 3,
    "train_loss": 2.3,
    "train_acc": 0.16,
    "test_loss": 2.4,
    "test_acc": 0.06,
    "lr": 0.003,
    "param_norm": 13.1,
    "grad_norm": 0.8,
    "elapsed_s": 3.9,
}


def as_bytes(content: Any) -> bytes:
    """A file's bytes: bytes and text as they are, anything else as JSON (NaN and
    Infinity written as Python writes them)."""
    if isinstance(content, bytes):
        return content
    if isinstance(content, str):
        return content.encode("utf-8", "surrogatepass")
    return json.dumps(content).encode()


def plant_run(folder: Path, run_id: str, summary: Any, records: Any = None) -> store.RunDir:
    """A run directory with a preset.toml and the given summary.json (and metrics.jsonl)."""
    run = store.RunDir(folder / run_id)
    run.path.mkdir(parents=True, exist_ok=True)
    run.preset_path.write_text(PRESET_TOML)
    run.summary_path.write_bytes(as_bytes(summary))
    if records is not None:
        if isinstance(records, list):
            records = "".join(json.dumps(r) + "\n" for r in records)
        run.metrics_path.write_bytes(as_bytes(records))
    return run


def sweep_info(
    sweep_id: str, axes: dict[str, list[Any]], coords: list[dict[str, Any]]
) -> dict[str, Any]:
    """A sweep.json as create_sweep_dir writes it: point n at run directory p<n>."""
    return {
        "id": sweep_id,
        "name": sweep_id,
        "file": None,
        "mode": "grid",
        "axes": axes,
        "zip": [],
        "overrides": {},
        "points": [
            {"index": n, "coords": c, "label": f"p{n}", "run_id": f"p{n}"}
            for n, c in enumerate(coords, 1)
        ],
        "created": "2026-01-02T03:04:05+00:00",
        "vectorize": 1,
    }


GRID_AXES = {"optim.lr": [0.001, 0.003], "optim.weight_decay": [0.1, 1.0]}
GRID_COORDS = [
    {"optim.lr": lr, "optim.weight_decay": wd}
    for lr in GRID_AXES["optim.lr"]
    for wd in GRID_AXES["optim.weight_decay"]
]


def plant_sweep(
    runs: Path,
    sweep_id: str,
    info: Any = None,
    summaries: list[Any] | None = None,
    records: list[Any] | None = None,
) -> Path:
    """A sweep folder: sweep.json (a 2 x 2 grid unless ``info`` is given) and one planted
    run directory per point of the grid, with the given (else healthy) summaries."""
    path = runs / sweep_id
    path.mkdir(parents=True, exist_ok=True)
    if info is None:
        info = sweep_info(sweep_id, GRID_AXES, GRID_COORDS)
    (path / "sweep.json").write_bytes(as_bytes(info))
    for n, coords in enumerate(GRID_COORDS, 1):
        summary = summaries[n - 1] if summaries else healthy_point(sweep_id, n, coords)
        plant_run(path, f"p{n}", summary, records[n - 1] if records else None)
    return path


def healthy_point(sweep_id: str, index: int, coords: dict[str, Any]) -> dict[str, Any]:
    return {**HEALTHY_SUMMARY, "sweep": {"id": sweep_id, "index": index, "coords": coords}}


def valid_analysis(p: int = 5) -> dict[str, Any]:
    """A small analysis.json with every section the TUI's views draw."""
    steps = [0, 10, 20]
    curve = [2.0, 1.0, 0.5]
    grid = [[math.sin(i + j) for j in range(p)] for i in range(p)]
    coords = [[math.cos(n), math.sin(n)] for n in range(p)]
    return {
        "schema": SCHEMA,
        "run_id": "r",
        "step": 20,
        "steps": steps,
        "kept_steps": steps,
        "events": {"fit_step": 10, "grok_step": 20, "grok_gap": 10},
        "notes": ["a note"],
        "norms": {
            "records": {
                "step": steps,
                "param_norm": [13.0, 12.0, 11.0],
                "grad_norm": [None, 0.8, 0.5],
                "train_loss": curve,
                "test_loss": curve,
            },
            "checkpoints": {
                "step": steps,
                "param_norm": [13.0, 12.0, 11.0],
                "layers": {"embedding.weight": [5.0, 4.0, 3.0], "net.0.bias": [1.0, 1.0, 1.0]},
            },
        },
        "fourier": {
            "p": p,
            "frequencies": [1, 2],
            "energy_fraction": [0.7, 0.3],
            "key_frequencies": [1],
            "dominant_frequency": 1,
            "top_k": 1,
            "concentration": 0.7,
            "concentration_uniform": 0.5,
            "key_fraction": 0.7,
            "over_time": {"step": steps, "concentration": [0.5, 0.6, 0.7], "key_fraction": curve},
        },
        "embedding": {
            "p": p,
            "link_step": 2,
            "pca": {"coords": coords, "explained_variance_ratio": [0.5, 0.3]},
            "tsne": {"coords": coords, "perplexity": 2.0},
            "heatmap": {
                "columns": p,
                "initial_step": 0,
                "initial": grid,
                "step": 20,
                "final": grid,
            },
        },
        "nanda": {
            "key_frequencies": [1],
            "step": steps,
            "train_loss": curve,
            "test_loss": curve,
            "restricted_loss": curve,
            "excluded_loss": [None, 2.0, 3.0],
        },
        "neurons": {
            "threshold": 0.85,
            "layers": {"net.1": {"units": 4, "clusters": {"1": 3}, "clustered_fraction": 0.75}},
            "example": {"layer": "net.1", "unit": 0, "frequency": 1, "share": 0.9, "grid": grid},
            "over_time": {"step": steps, "net.1": [0.0, 0.5, 0.75]},
        },
        "landscape": {
            "grid": {
                "span": 1.0,
                "coords": [-1.0, 0.0, 1.0],
                "loss": {"train": grid, "test": grid},
            },
            "perturbation": {
                "sv": [[1.0, 2.0, 3.0], [0.5, 0.6, 0.7]],
                "loss": {"train": [1.0, 2.0, 3.0], "test": [2.0, 3.0, None]},
                "unperturbed_sv": [1.5, 0.6],
                "layers": ["net.0.weight", "net.3.weight"],
            },
        },
    }


def plant_analysis(run: store.RunDir, content: Any) -> Path:
    path = analysis_path(run.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(as_bytes(content))
    return path


def cli_runs(runs: Path) -> tuple[int, str]:
    """`grok-tui runs --runs-dir RUNS` in this process: (exit code, what it printed)."""
    from grok_tui.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["runs", "--runs-dir", str(runs)])
    return code, out.getvalue()


def sweep_list(runs: Path) -> tuple[int, str]:
    """`grok-tui sweep-report --runs-dir RUNS` (the list of every sweep) in this process."""
    from grok_tui.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["sweep-report", "--runs-dir", str(runs)])
    return code, out.getvalue()


def history(runs: Path) -> dict[str, runtable.RunRow]:
    """What the TUI's History computes from a runs directory: every row, every cell, the
    sweep groups, a filter and each column's sort."""
    rows = runtable.load_rows(runs)
    for row in rows:
        for key in runtable.COLUMN_KEYS:
            row.cell(key)
    runtable.group_by_sweep(rows)
    runtable.filter_rows(rows, "grok<2000 acc>=0.5 healthy")
    for key in runtable.COLUMN_KEYS:
        runtable.sort_rows(rows, key)
    return {row.run_id: row for row in rows}


def draw_every_view(analysis: dict[str, Any]) -> None:
    """What the TUI's analysis screen computes from analysis.json, view by view."""
    summary = {"step": 30}
    analysis_view.header_lines("run", analysis, summary, "", 80)
    for view, _, _, options in analysis_view.VIEWS:
        for option in options:
            if analysis_view.unavailable(analysis, view, option) is not None:
                continue
            analysis_view.legend_entries(analysis, view, option)
            if analysis_view.is_matrix(view, option):
                matrix, colour, x, y, title = analysis_view.matrix_of(analysis, view, option)
                analysis_view.matrix_picture(matrix, colour, 60, 20, x, y, title)
            elif view == "projection":
                analysis_view.projection(analysis, option)
            elif view == "spectrum" and option == "bars":
                analysis_view.spectrum_bars(analysis)
            elif view == "perturbation":
                analysis_view.perturbation_buckets(analysis, option)

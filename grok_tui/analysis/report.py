"""``grok-tui analyze RUN_DIR``: which analyses a run gets, analysis/analysis.json and the PNG
figures. Computing (``analyze``) and writing (``write_report``) are apart.

Each section is computed next to its maths (norms.py, fourier.py, embeddings.py,
neurons.py, landscape.py); this module only decides which apply to a run and says why
the others do not. analysis.json holds plain numbers only (see SCHEMA in paths.py); the
TUI's analysis screen draws it without torch. Sections that do not apply are null and
say why in ``notes``. The command line (its parser) is cli/analyze.py's.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch

from grok_tui import files
from grok_tui.analysis import embeddings, fourier, landscape, neurons, norms
from grok_tui.analysis.loading import AnalysisError, LoadedRun, open_run
from grok_tui.analysis.paths import ANALYSIS_FILE, SCHEMA, analysis_dir
from grok_tui.config import DIVIDING, S5_OPERATIONS
from grok_tui.rundirs import store
from grok_tui.text import safe_text
from grok_tui.training.models import embedding_name

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
NANDA_OPERATIONS = ("add", "sub")


@dataclass
class Options:
    """What ``analyze`` computes and how much (defaults: well under a minute on a CPU)."""

    step: int | None = None  # None: the latest kept step
    grid_points: int = 11
    grid_span: float = 1.0
    perturb_samples: int = 200
    perturb_scale: float = 0.5
    perturb_relative: bool = True
    perturb_layers: list[str] | None = None
    max_examples: int = 1024
    tsne: bool = True
    link_step: int | None = None
    max_checkpoints: int = 100
    device: str = "cpu"
    seed: int = 0
    figures: bool = True


def spread(steps: Sequence[int], limit: int, keep: Sequence[int] = ()) -> list[int]:
    """At most `limit` of the steps, evenly spread, always with the first, last and `keep`."""
    steps = sorted(steps)
    if len(steps) <= limit:
        return steps
    picked = {steps[round(i * (len(steps) - 1) / max(1, limit - 1))] for i in range(limit)}
    return sorted(picked | {steps[0], steps[-1]} | {s for s in keep if s in steps})


def _log(message: str) -> None:
    # The run's path, id and notes come from its directory, perhaps someone else's.
    print(safe_text(message, multiline=True), flush=True)


def _say_error(message: str) -> None:
    print(f"error: {safe_text(message, multiline=True)}", file=sys.stderr)


def analyze(
    loaded: LoadedRun, options: Options, log: Callable[[str], None] = _log
) -> dict[str, Any]:
    """Every analysis of a loaded run, as a JSON-ready dict (numbers, no tensors)."""
    preset, run = loaded.preset, loaded.run
    p = preset.data.p
    step = options.step if options.step is not None else loaded.trained_steps[-1]
    loaded.weights(step)  # a step that was not kept fails here, before any work
    over_time = spread(loaded.steps, options.max_checkpoints, keep=[step])
    summary = run.summary()
    records = run.records()
    timing: dict[str, float] = {}
    notes: list[str] = []
    if len(over_time) < len(loaded.steps):
        notes.append(
            f"{len(over_time)} of {len(loaded.steps)} kept steps analysed over time "
            "(--max-checkpoints)"
        )
    if loaded.sources.get(0) == "init":
        notes.append("step 0 weights rebuilt from the preset's seed (no snapshot at step 0)")
    out: dict[str, Any] = {
        "schema": SCHEMA,
        "run_id": run.run_id,
        "run_dir": str(run.path),
        "created_at": store.now_iso(),
        "step": step,
        "steps": over_time,
        "kept_steps": loaded.trained_steps,
        "task": {
            "operation": preset.data.operation,
            "p": None if preset.data.operation in S5_OPERATIONS else p,
            "train_fraction": preset.data.train_fraction,
            "model": preset.model.type,
            "loss": preset.train.loss,
        },
        "events": {k: summary.get(k) for k in ("fit_step", "grok_step", "grok_gap")},
        "device": str(loaded.device),
        "options": {k: v for k, v in options.__dict__.items() if k != "figures"},
        "notes": notes,
    }

    started = time.perf_counter()
    log(f"norms over {len(over_time)} kept steps")
    out["norms"] = norms.norms_section(loaded, over_time, records)
    timing["norms"] = time.perf_counter() - started

    started = time.perf_counter()
    name = embedding_name(loaded.model)
    s5 = preset.data.operation in S5_OPERATIONS
    if s5:
        notes.append(
            "S5 is not Z_p: no Fourier spectrum, projections, neuron frequencies or "
            "restricted losses over Z_p"
        )
        out["embedding"] = out["fourier"] = None
    elif name is None:
        notes.append(
            "this model has no token embedding (recurrent input = 'scalar' reads each number "
            "as one float): no projections, heatmaps or embedding spectrum"
        )
        out["embedding"] = out["fourier"] = None
    elif p < 3:
        notes.append("p = 2 has no Fourier frequency: no embedding analysis")
        out["embedding"] = out["fourier"] = None
    else:
        log("embeddings: Fourier spectrum, PCA" + (", t-SNE" if options.tsne else ""))
        embedding_at = partial(embeddings.kept_embedding, loaded, name)
        out["fourier"] = fourier.fourier_section(embedding_at, step, over_time, name)
        out["embedding"] = embeddings.embedding_section(
            loaded,
            name,
            step,
            out["fourier"],
            notes,
            link_step=options.link_step,
            with_tsne=options.tsne,
            seed=options.seed,
        )
    timing["embedding"] = time.perf_counter() - started

    started = time.perf_counter()
    out["nanda"] = None
    two_term_sum = preset.data.operation == "sum" and preset.data.k == 2
    if (preset.data.operation in NANDA_OPERATIONS or two_term_sum) and p >= 3:
        log(f"restricted and excluded losses over {len(over_time)} kept steps")
        keys = out["fourier"]["key_frequencies"] if out["fourier"] else None
        out["nanda"] = fourier.nanda_section(loaded, step, over_time, keys)
    else:
        notes.append(
            f"restricted/excluded losses are defined for add and sub, not '{preset.data.operation}'"
        )
    timing["nanda"] = time.perf_counter() - started

    started = time.perf_counter()
    out["neurons"] = None
    data = preset.data
    if s5:
        pass  # said with the embeddings
    elif data.operation == "sum" and data.k != 2 or data.operation in DIVIDING or p < 3:
        notes.append(
            "neuron frequencies need every (x, y) of a two-operand task: "
            f"not '{data.operation}'" + (f" with k = {data.k}" if data.operation == "sum" else "")
        )
    elif not neurons.activation_modules(loaded.model):
        notes.append(f"a {preset.model.type} has no activation layer: no neuron frequencies")
    else:
        log(f"neurons: Fourier frequency of every hidden unit over {len(over_time)} kept steps")
        out["neurons"] = neurons.neurons_section(loaded, step, over_time)
    timing["neurons"] = time.perf_counter() - started

    started = time.perf_counter()
    log(
        f"loss landscape: {options.grid_points}x{options.grid_points} grid, "
        f"{options.perturb_samples} Gaussian perturbations"
    )
    out["landscape"] = landscape.landscape_section(
        loaded,
        step,
        records,
        notes,
        points=options.grid_points,
        span=options.grid_span,
        samples=options.perturb_samples,
        scale=options.perturb_scale,
        relative=options.perturb_relative,
        layers=options.perturb_layers,
        max_examples=options.max_examples,
        seed=options.seed,
    )
    timing["landscape"] = time.perf_counter() - started
    for split, summary in out["landscape"]["perturbation"]["summary"].items():
        if summary["rise_at_max_scale"] is not None and summary["below_center"] is not None:
            log(
                f"perturbation, {split}: loss x{summary['rise_at_max_scale']:.3g} at the largest "
                f"scales; {summary['below_center']:.1%} of the samples below the unperturbed loss"
            )
    out["timing_s"] = {k: round(v, 3) for k, v in timing.items()}
    return out


# --- writing ----------------------------------------------------------------------------


def json_ready(value: Any) -> Any:
    """NaN and infinities (a diverged perturbation) become null: analysis.json stays JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


def write_report(analysis: dict[str, Any], folder: Path, figures: bool = True) -> Path:
    """Write the figures (when matplotlib is there) and analysis.json into `folder` (the
    run's analysis/: made, opened and written without following a link)."""
    with files.subfolder(folder, create=True) as out:
        return _write_report(analysis, out, figures)


def _write_report(analysis: dict[str, Any], folder: files.Folder, figures: bool) -> Path:
    ready = json_ready(analysis)
    ready["figures"] = {}
    if figures:
        try:
            from grok_tui.analysis.figures import write_figures
        except ImportError:
            ready["notes"].append(
                "no figures: matplotlib is not installed (pip install grok-tui[analysis])"
            )
        else:
            ready["figures"] = write_figures(ready, folder)
    analysis["figures"], analysis["notes"] = ready["figures"], ready["notes"]
    folder.write_text(ANALYSIS_FILE, json.dumps(ready, indent=2))
    return folder.path / ANALYSIS_FILE


# --- the command ----------------------------------------------------------------------


def analyze_command(
    ref: str, options: Options, threads: int = 1, runs_dir: str | None = None
) -> int:
    """``grok-tui analyze``: the analysis of one run with `threads` torch threads.

    The models are small: one thread is as fast as two on an idle box, several times
    faster on a busy one (OpenMP threads spin on small LAPACK calls and matmuls), and it
    leaves the other cores to the training runs an analysis usually runs beside.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return run_analysis(ref, options, runs_dir)
    finally:
        torch.set_num_threads(previous)


def run_analysis(ref: str, options: Options, runs_dir: str | None = None) -> int:
    """Open, analyse and write one run; the exit status (2 for a user's mistake)."""
    started = time.perf_counter()
    try:
        loaded = open_run(ref, options.device, runs_dir)
        _log(f"analysing {loaded.run.path} · steps with weights: {len(loaded.trained_steps)}")
        analysis = analyze(loaded, options)
    except AnalysisError as exc:
        _say_error(str(exc))
        return EXIT_BAD_INPUT
    analysis["timing_s"]["total"] = round(time.perf_counter() - started, 3)
    try:
        path = write_report(analysis, analysis_dir(loaded.run.path), options.figures)
    except OSError as exc:
        _say_error(f"cannot write {analysis_dir(loaded.run.path)}: {files.describe_os_error(exc)}")
        return EXIT_FAILED
    for note in analysis["notes"]:
        _log(f"note: {note}")
    _log(
        f"wrote {path} and {len(analysis['figures'])} figures "
        f"in {time.perf_counter() - started:.1f}s"
    )
    return EXIT_OK

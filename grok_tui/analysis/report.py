"""``grok-tui analyze RUN_DIR``: compute every analysis of a run, write analysis/analysis.json
and the PNG figures. Computing (``analyze``) and writing (``write_report``) are apart.

analysis.json holds plain numbers only (see SCHEMA in paths.py); the TUI's analysis
screen draws it without torch. Sections that do not apply to a run are null and say why
in ``notes``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from grok_tui import files, store
from grok_tui.analysis import embeddings, fourier, landscape, neurons, norms
from grok_tui.analysis.loading import AnalysisError, LoadedRun, open_run
from grok_tui.analysis.paths import ANALYSIS_FILE, SCHEMA, analysis_dir
from grok_tui.config import DIVIDING, S5_OPERATIONS
from grok_tui.data import compute_labels, enumerate_operands, split_indices, tokenize

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
HEATMAP_MAX_COLUMNS = 128  # keeps analysis.json small for wide embeddings
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
    print(message, flush=True)


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
    out["norms"] = norms_section(loaded, over_time, records)
    timing["norms"] = time.perf_counter() - started

    started = time.perf_counter()
    name = embeddings.embedding_name(loaded.model)
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
        out["fourier"] = fourier_section(loaded, name, step, over_time)
        out["embedding"] = embedding_section(loaded, name, step, out["fourier"], options, notes)
    timing["embedding"] = time.perf_counter() - started

    started = time.perf_counter()
    out["nanda"] = None
    two_term_sum = preset.data.operation == "sum" and preset.data.k == 2
    if (preset.data.operation in NANDA_OPERATIONS or two_term_sum) and p >= 3:
        log(f"restricted and excluded losses over {len(over_time)} kept steps")
        keys = out["fourier"]["key_frequencies"] if out["fourier"] else None
        out["nanda"] = nanda_section(loaded, step, over_time, keys)
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
        out["neurons"] = neurons_section(loaded, step, over_time)
    timing["neurons"] = time.perf_counter() - started

    started = time.perf_counter()
    log(
        f"loss landscape: {options.grid_points}x{options.grid_points} grid, "
        f"{options.perturb_samples} Gaussian perturbations"
    )
    out["landscape"] = landscape_section(loaded, step, records, options, notes)
    timing["landscape"] = time.perf_counter() - started
    out["timing_s"] = {k: round(v, 3) for k, v in timing.items()}
    return out


def norms_section(
    loaded: LoadedRun, steps: list[int], records: list[dict[str, Any]]
) -> dict[str, Any]:
    """Recorded global norms (every evaluation) and per-tensor norms (every kept step)."""
    param_names = [n for n, _ in loaded.model.named_parameters()]
    layers: dict[str, list[float]] = {}
    totals = []
    for s in steps:
        per_tensor = norms.layer_norms(loaded.weights(s))
        for tensor_name, value in per_tensor.items():
            layers.setdefault(tensor_name, []).append(value)
        totals.append(norms.total_norm(per_tensor, param_names))
    return {
        "records": norms.record_curves(records),
        "checkpoints": {"step": steps, "param_norm": totals, "layers": layers},
    }


def fourier_section(loaded: LoadedRun, name: str, step: int, steps: list[int]) -> dict[str, Any]:
    p = loaded.preset.data.p
    section = fourier.spectrum(embeddings.number_embedding(loaded.weights(step), name, p))
    history: dict[str, list[Any]] = {
        "step": [],
        "energy_fraction": [],
        "concentration": [],
        "key_fraction": [],
        "dominant_frequency": [],
        "key_frequencies": [],
    }
    for s in steps:
        at = fourier.spectrum(embeddings.number_embedding(loaded.weights(s), name, p))
        history["step"].append(s)
        history["energy_fraction"].append(at["energy_fraction"])
        history["concentration"].append(at["concentration"])
        # the share of the analysed step's key frequencies, so the curve follows one set
        history["key_fraction"].append(
            sum(at["energy_fraction"][k - 1] for k in section["key_frequencies"])
        )
        history["dominant_frequency"].append(at["dominant_frequency"])
        history["key_frequencies"].append(at["key_frequencies"])
    section["over_time"] = history
    section["source"] = name
    return section


def embedding_section(
    loaded: LoadedRun,
    name: str,
    step: int,
    spectrum: dict[str, Any],
    options: Options,
    notes: list[str],
) -> dict[str, Any]:
    p = loaded.preset.data.p
    matrix = embeddings.number_embedding(loaded.weights(step), name, p)
    initial = embeddings.number_embedding(loaded.weights(0), name, p)
    if options.link_step is not None:
        link_step, reason = options.link_step % p, "--link-step"
    else:
        k = spectrum["dominant_frequency"]
        link_step = fourier.circle_step(k, p)
        reason = f"inverse of the dominant frequency {k} mod {p}"
    coords, ratios = embeddings.pca(matrix)
    section: dict[str, Any] = {
        "source": name,
        "p": p,
        "dim": matrix.shape[1],
        "link_step": link_step,
        "link_step_reason": reason,
        "pca": {"coords": coords.tolist(), "explained_variance_ratio": ratios},
        "tsne": None,
    }
    if not options.tsne:
        notes.append("t-SNE skipped (--no-tsne)")
    elif p < 5:
        notes.append(f"t-SNE skipped: p = {p} numbers are too few")
    elif not embeddings.tsne_available():
        notes.append(
            "t-SNE skipped: scikit-learn is not installed (pip install grok-tui[analysis])"
        )
    else:
        points, settings = embeddings.tsne(matrix, seed=options.seed)
        section["tsne"] = {"coords": points.tolist(), **settings}
    columns = min(matrix.shape[1], HEATMAP_MAX_COLUMNS)
    if columns < matrix.shape[1]:
        notes.append(f"heatmaps show the first {columns} of {matrix.shape[1]} embedding dims")
    section["heatmap"] = {
        "columns": columns,
        "initial_step": 0,
        "initial": _rounded(initial[:, :columns]),
        "step": step,
        "final": _rounded(matrix[:, :columns]),
    }
    return section


def _rounded(matrix: torch.Tensor, digits: int = 5) -> list[list[float]]:
    return [[round(v, digits) for v in row] for row in matrix.tolist()]


def nanda_section(
    loaded: LoadedRun, step: int, steps: list[int], keys: list[int] | None
) -> dict[str, Any]:
    """Nanda et al.'s progress measures over the kept steps, with fixed key frequencies."""
    data = loaded.preset.data
    p = data.p
    operands = enumerate_operands(data)  # (p*p, 2), x slowest: the order grid_directions uses
    labels = compute_labels(data.operation, operands, p).to(loaded.device)
    tokens = tokenize(operands, data).to(loaded.device)
    train_idx, _ = split_indices(len(operands), data.train_fraction, data.split_seed)
    train_mask = torch.zeros(len(operands), dtype=torch.bool, device=loaded.device)
    train_mask[train_idx.to(loaded.device)] = True

    def grid_logits(s: int) -> torch.Tensor:
        model = loaded.load(s)
        with torch.no_grad():
            return torch.cat([model(chunk) for chunk in tokens.split(8192)]).double()

    logits = grid_logits(step)
    logit_share = fourier.logit_spectrum(logits, p, data.operation)
    source = "embedding spectrum"
    if keys is None:  # no embedding: take them from the logits, as the paper's logit view
        keys = fourier.key_frequencies(torch.tensor(logit_share))
        source = "logit spectrum"
    basis = fourier.grid_directions(p, data.operation, keys)
    loss_fn = loaded.trainer.loss_fn
    series: dict[str, list[Any]] = {
        "step": [],
        "train_loss": [],
        "test_loss": [],
        "restricted_loss": [],
        "excluded_loss": [],
        "key_logit_fraction": [],
    }
    for s in steps:
        at = grid_logits(s) if s != step else logits
        measures = fourier.nanda_losses(at, labels, train_mask, basis, loss_fn)
        series["step"].append(s)
        series["train_loss"].append(float(loss_fn(at[train_mask], labels[train_mask])))
        series["test_loss"].append(float(loss_fn(at[~train_mask], labels[~train_mask])))
        for key, value in measures.items():
            series[key].append(value)
    return {
        "key_frequencies": keys,
        "key_frequencies_from": source,
        "logit_energy_fraction": logit_share,
        "direction": "x-y" if data.operation == "sub" else "x+y",
        **series,
    }


def neurons_section(loaded: LoadedRun, step: int, steps: list[int]) -> dict[str, Any]:
    """Each hidden layer's units at `step` (frequency clusters) and its clustered fraction over time."""
    data = loaded.preset.data
    p = data.p
    tokens = tokenize(enumerate_operands(data), data).to(loaded.device)  # x slowest
    acts = neurons.grid_activations(loaded.load(step), tokens, p)
    layers = {name: neurons.layer_summary(a) for name, a in acts.items()}
    # the example: the layer whose units cluster most, its clearest unit
    best = max(layers, key=lambda name: layers[name]["clustered_fraction"])
    example = neurons.example_unit(acts[best], layers[best])
    over_time: dict[str, list[Any]] = {"step": [], **{name: [] for name in layers}}
    for s in steps:
        at = acts if s == step else neurons.grid_activations(loaded.load(s), tokens, p)
        over_time["step"].append(s)
        for name in layers:
            over_time[name].append(
                layers[name]["clustered_fraction"]
                if s == step
                else neurons.layer_summary(at[name])["clustered_fraction"]
            )
    return {
        "threshold": neurons.CLUSTER_SHARE,
        "layers": layers,
        "example": {"layer": best, **example} if example else None,
        "over_time": over_time,
    }


def landscape_section(
    loaded: LoadedRun,
    step: int,
    records: list[dict[str, Any]],
    options: Options,
    notes: list[str],
) -> dict[str, Any]:
    model = loaded.load(step)
    task, loss_fn = loaded.task, loaded.trainer.loss_fn
    full = {"train": (task.train_x, task.train_y), "test": (task.test_x, task.test_y)}
    center: dict[str, Any] = {}
    for split, batch in full.items():
        loss, acc = landscape.mean_loss_and_accuracy(model, batch, loss_fn)
        center[f"{split}_loss"], center[f"{split}_acc"] = loss, acc
    recorded = next((r for r in reversed(records) if r.get("step") == step), None)
    center["recorded_step"] = recorded["step"] if recorded else None
    center["recorded_train_loss"] = recorded.get("train_loss") if recorded else None
    center["recorded_test_loss"] = recorded.get("test_loss") if recorded else None
    batches = {
        split: landscape.subset(batch, options.max_examples, options.seed)
        for split, batch in full.items()
    }
    sizes = {f"n_{split}": len(batch[1]) for split, batch in batches.items()}
    if any(len(b[1]) < len(full[s][1]) for s, b in batches.items()):
        notes.append(f"landscape losses on at most {options.max_examples} examples per split")
    points = options.grid_points if options.grid_points % 2 else options.grid_points + 1
    grid = landscape.loss_grid(
        model, batches, loss_fn, points=points, span=options.grid_span, seed=options.seed
    )
    layers = options.perturb_layers or landscape.default_perturbed_layers(model)
    try:
        perturbation = landscape.gaussian_perturbation(
            model,
            batches,
            loss_fn,
            layers,
            samples=options.perturb_samples,
            max_scale=options.perturb_scale,
            relative=options.perturb_relative,
            seed=options.seed,
        )
    except KeyError as exc:
        raise AnalysisError(f"--perturb-layers: {exc.args[0]}") from None
    return {"center": center, **sizes, "grid": grid, "perturbation": perturbation}


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
    """Write the figures (when matplotlib is there) and analysis.json into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    if not files.is_real_dir(folder):  # a planted link: never write through it
        raise files.UnsafeFileError(20, "is a link, not a directory of the run", str(folder))
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
    path = folder / ANALYSIS_FILE
    store.write_json_atomic(path, ready)
    return path


# --- command line -----------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="grok-tui analyze",
        description="Analyse a run's kept weights: norms, embeddings (PCA, t-SNE, heatmaps), "
        "their Fourier spectrum, Nanda et al.'s restricted/excluded losses, the loss "
        "landscape. Writes RUN_DIR/analysis/analysis.json and PNG figures.",
    )
    parser.add_argument("run", metavar="RUN_DIR", help="a run directory (or a run id)")
    parser.add_argument(
        "--step", metavar="S", type=int, help="the kept step to analyse (default: the latest)"
    )
    parser.add_argument(
        "--landscape-points",
        type=int,
        default=11,
        metavar="N",
        help="grid points per axis of the 2-D landscape (odd; default 11)",
    )
    parser.add_argument(
        "--landscape-span",
        metavar="S",
        type=float,
        default=1.0,
        help="grid half-width in filter-normalised units (default 1)",
    )
    parser.add_argument(
        "--perturb-samples",
        metavar="N",
        type=int,
        default=200,
        help="Gaussian perturbations of two layers (default 200; the report used 2000)",
    )
    parser.add_argument(
        "--perturb-scale",
        metavar="S",
        type=float,
        default=0.5,
        help="largest noise std, in units of each layer's RMS weight (default 0.5)",
    )
    parser.add_argument(
        "--perturb-absolute",
        action="store_true",
        help="take --perturb-scale as an absolute std (the report: --perturb-scale 0.01)",
    )
    parser.add_argument(
        "--perturb-layers", metavar="A,B", help="two parameter names (default: chosen per model)"
    )
    parser.add_argument(
        "--max-examples",
        metavar="N",
        type=int,
        default=1024,
        help="examples per split for landscape losses (default 1024)",
    )
    parser.add_argument("--no-tsne", action="store_true", help="skip t-SNE")
    parser.add_argument(
        "--link-step",
        metavar="N",
        type=int,
        help="link n and n+STEP in projections (default: from Fourier)",
    )
    parser.add_argument(
        "--max-checkpoints",
        metavar="N",
        type=int,
        default=100,
        help="at most this many kept steps in the over-time analyses (default 100)",
    )
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--seed", type=int, default=0, help="seed of directions, noise, t-SNE")
    parser.add_argument(
        "--threads",
        metavar="N",
        type=int,
        default=1,
        help="CPU threads for torch (default 1: as fast for these small models, and it leaves the other cores to training runs)",
    )
    parser.add_argument("--no-figures", action="store_true", help="write analysis.json only")
    parser.add_argument("--runs-dir", help="where to look up a run id")
    args = parser.parse_args(argv)
    positive = ("threads", "landscape_points", "perturb_samples", "max_examples", "max_checkpoints")
    for key in positive:
        if getattr(args, key) < 1:
            parser.error(f"--{key.replace('_', '-')} must be >= 1")
    if args.perturb_layers is not None and len(args.perturb_layers.split(",")) != 2:
        parser.error("--perturb-layers takes two parameter names separated by a comma")
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    options = Options(
        step=args.step,
        grid_points=args.landscape_points,
        grid_span=args.landscape_span,
        perturb_samples=args.perturb_samples,
        perturb_scale=args.perturb_scale,
        perturb_relative=not args.perturb_absolute,
        perturb_layers=args.perturb_layers.split(",") if args.perturb_layers else None,
        max_examples=args.max_examples,
        tsne=not args.no_tsne,
        link_step=args.link_step,
        max_checkpoints=args.max_checkpoints,
        device=args.device,
        seed=args.seed,
        figures=not args.no_figures,
    )
    # The models are small: one thread is as fast as two on an idle box, several times
    # faster on a busy one (OpenMP threads spin on small LAPACK calls and matmuls), and it
    # leaves the other cores to the training runs an analysis usually runs beside.
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        return run_analysis(args.run, options, args.runs_dir)
    finally:
        torch.set_num_threads(threads)


def run_analysis(ref: str, options: Options, runs_dir: str | None = None) -> int:
    """Open, analyse and write one run; the exit status (2 for a user's mistake)."""
    started = time.perf_counter()
    try:
        loaded = open_run(ref, options.device, runs_dir)
        _log(f"analysing {loaded.run.path} · steps with weights: {len(loaded.trained_steps)}")
        analysis = analyze(loaded, options)
    except AnalysisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    analysis["timing_s"]["total"] = round(time.perf_counter() - started, 3)
    try:
        path = write_report(analysis, analysis_dir(loaded.run.path), options.figures)
    except OSError as exc:
        print(
            f"error: cannot write {analysis_dir(loaded.run.path)}: {files.describe_os_error(exc)}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    for note in analysis["notes"]:
        _log(f"note: {note}")
    _log(
        f"wrote {path} and {len(analysis['figures'])} figures "
        f"in {time.perf_counter() - started:.1f}s"
    )
    return EXIT_OK

"""``grok-tui analyze``: a run's kept weights analysed into RUN_DIR/analysis/."""

from __future__ import annotations

import argparse
import os

from grok_tui.cli.options import int_in, number_in
from grok_tui.config import MAX_EXAMPLES, MAX_P, MAX_STEPS
from grok_tui.errors import UserError, user_error
from grok_tui.rundirs import store
from grok_tui.rundirs.store import resolve_runs_dir

# Bounds of the analysis options: each one sizes a loop, a tensor or a thread pool, so an
# unbounded value hangs (--landscape-points 100000: 10^10 loss evaluations), crashes
# (--seed 2**64: t-SNE's seed is below 2^32) or starts 100,000 threads (--threads).
MAX_LANDSCAPE_POINTS = 101


MAX_PERTURB_SAMPLES = 100_000


MAX_SCALE = 100.0  # --landscape-span, --perturb-scale: in units of the weights' norm


MAX_CHECKPOINTS = 100_000


MAX_ANALYSIS_SEED = 2**32 - 1  # scikit-learn's t-SNE takes a seed below 2^32


ANALYZE_HELP = (
    "Analyse a run's kept weights: norms, embeddings (PCA, t-SNE, heatmaps), "
    "their Fourier spectrum, Nanda et al.'s restricted/excluded losses, the loss "
    "landscape. Writes RUN_DIR/analysis/analysis.json and PNG figures."
)


def add_analyze(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN_DIR", help="a run directory (or a run id)")
    parser.add_argument(
        "--step",
        metavar="S",
        type=int_in(0, MAX_STEPS),
        help="the kept step to analyse (default: the latest)",
    )
    parser.add_argument(
        "--landscape-points",
        type=int_in(1, MAX_LANDSCAPE_POINTS),
        default=11,
        metavar="N",
        help=f"grid points per axis of the 2-D landscape (odd; default 11, at most "
        f"{MAX_LANDSCAPE_POINTS})",
    )
    parser.add_argument(
        "--landscape-span",
        metavar="S",
        type=number_in(0, MAX_SCALE, above=True),
        default=1.0,
        help="grid half-width in filter-normalised units (default 1)",
    )
    parser.add_argument(
        "--perturb-samples",
        metavar="N",
        type=int_in(1, MAX_PERTURB_SAMPLES),
        default=200,
        help="Gaussian perturbations of two layers (default 200; the report used 2000)",
    )
    parser.add_argument(
        "--perturb-scale",
        metavar="S",
        type=number_in(0, MAX_SCALE, above=True),
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
        type=int_in(1, MAX_EXAMPLES),
        default=1024,
        help="examples per split for landscape losses (default 1024)",
    )
    parser.add_argument("--no-tsne", action="store_true", help="skip t-SNE")
    parser.add_argument(
        "--link-step",
        metavar="N",
        type=int_in(1, MAX_P),
        help="link n and n+STEP in projections (default: from Fourier)",
    )
    parser.add_argument(
        "--max-checkpoints",
        metavar="N",
        type=int_in(1, MAX_CHECKPOINTS),
        default=100,
        help="at most this many kept steps in the over-time analyses (default 100)",
    )
    parser.add_argument(
        "--seed",
        type=int_in(0, MAX_ANALYSIS_SEED),
        default=0,
        help="seed of directions, noise, t-SNE (0 to 2^32 - 1)",
    )
    cpus = os.cpu_count() or 1
    parser.add_argument(
        "--threads",
        metavar="N",
        type=int_in(1, cpus, " (this machine's CPUs)"),
        default=1,
        help="CPU threads for torch (default 1: as fast for these small models, and it "
        f"leaves the other cores to training runs; at most {cpus}, the CPUs here)",
    )
    parser.add_argument("--no-figures", action="store_true", help="write analysis.json only")


def analyze_handler(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.perturb_layers is not None and len(args.perturb_layers.split(",")) != 2:
        parser.error("--perturb-layers takes two parameter names separated by a comma")
    try:  # a mistyped run's error at once, before torch's seconds of import
        store.find_run(args.run, resolve_runs_dir(args.runs_dir))
    except UserError as exc:
        return user_error(str(exc))
    from grok_tui.analysis.report import Options, analyze_command  # torch: after the parsing

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
        device=args.device or "cpu",
        seed=args.seed,
        figures=not args.no_figures,
    )
    return analyze_command(args.run, options, args.threads, args.runs_dir)

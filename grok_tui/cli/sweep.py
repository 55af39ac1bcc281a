"""``grok-tui sweep-report``, and the typed options (SweepOptions) that ``run`` and
``resume`` hand a sweep."""

from __future__ import annotations

import argparse

from grok_tui.cli.options import int_in
from grok_tui.rundirs.store import resolve_runs_dir
from grok_tui.sweep.commands import SweepOptions

MAX_HEATMAP_WIDTH = 1000  # sweep-report --width; below 30 the heatmap has no room


SWEEP_REPORT_HELP = (
    "a sweep's table (and heatmap for two varying fields); "
    "without SWEEP, list the sweeps of the runs directory"
)


def add_sweep_report(parser: argparse.ArgumentParser) -> None:
    from grok_tui.sweep.metrics import METRICS

    parser.add_argument("sweep", nargs="?", metavar="SWEEP_DIR", help="path or id of a sweep")
    parser.add_argument(
        "--metric",
        default="final_test_acc",
        choices=list(METRICS),
        help="the heatmap's figure, also a column of the table and, with --ci, of the "
        "intervals (default: final_test_acc). Beyond the summary's figures: "
        "test_acc_drop (best minus final test accuracy), test_acc_jitter (mean change "
        "of test accuracy between evaluations over the run's second half), "
        "test_acc_at_fit (test accuracy at fit_step: near chance when there is a "
        "grokking gap), test_acc_rise (steps from test accuracy 0.1 to 0.9: how "
        "gradual the rise is), "
        "min_test_loss_step / min_test_loss_epoch (where test loss was lowest), "
        "softmax_collapse_step / final_softmax_collapse (the first step with half the "
        "training set in softmax collapse, and the share at the end; runs measuring "
        "softmax_collapse), param_norm_drop (the weight norm's fall from its peak, a "
        "share of it), final_restricted_loss / final_excluded_loss (runs measuring nanda)",
    )
    parser.add_argument("--x", metavar="FIELD", help="heatmap x axis (default: first varying)")
    parser.add_argument("--y", metavar="FIELD", help="heatmap y axis (default: second varying)")
    parser.add_argument(
        "--over",
        metavar="FIELD[,FIELD]",
        help="summarise across these axes: the spread of fit_step and grok_step per setting"
        " of the others (default: train.seed / data.split_seed when they vary; 'none': off)",
    )
    parser.add_argument("--csv", metavar="PATH", help="also write the table as CSV")
    parser.add_argument(
        "--ci",
        action="store_true",
        help="95%% bootstrap confidence intervals over the seeds of each setting: mean "
        "fit_step, grok_step, grok_gap, --metric and the fraction that grokked (with "
        "--csv, also written to PATH-ci.csv)",
    )
    parser.add_argument("--plain", action="store_true", help="no colours even on a terminal")
    parser.add_argument(
        "--width",
        type=int_in(30, MAX_HEATMAP_WIDTH),
        metavar="N",
        help=f"heatmap width in columns (30 to {MAX_HEATMAP_WIDTH}; default: the terminal's)",
    )


def sweep_report_handler(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from grok_tui.sweep.report import report_command

    return report_command(
        args.sweep,
        resolve_runs_dir(args.runs_dir),
        metric=args.metric,
        x=args.x,
        y=args.y,
        over=None
        if args.over is None
        else [f.strip() for f in args.over.split(",") if f.strip() not in ("", "none")],
        csv_path=args.csv,
        plain=args.plain,
        width=args.width,
        ci=args.ci,
    )


def sweep_options(args: argparse.Namespace) -> SweepOptions:
    """What a sweep reads of ``run`` / ``resume``'s parsed arguments (either spelling)."""
    return SweepOptions(
        run=args.run,
        resume=tuple(args.resume or ()),
        overrides=tuple(args.overrides),
        device=args.device,
        jobs=args.jobs,
        devices=args.devices,
        vectorize=args.vectorize,
        seeds=args.seeds,
        split_seeds=args.split_seeds,
        executor=args.executor,
        address=args.address,
        gpus_per_run=args.gpus_per_run,
        cpus_per_run=args.cpus_per_run,
        no_shared_fs=bool(args.no_shared_fs),
    )

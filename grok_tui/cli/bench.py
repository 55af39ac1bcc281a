"""``grok-tui bench`` (the engine against a plain training loop, and the TUI's start-up)
and ``grok-tui gpu-check``."""

from __future__ import annotations

import argparse
from pathlib import Path

from grok_tui.config import devices

BENCH_HELP = (
    "Steps/s of the engine against a training loop written the common way, "
    "on the report's transformer and MLP configurations."
)


GPU_CHECK_HELP = (
    "on a GPU box: the GPU tests, the bench on CUDA, the quickstart to grok "
    "and the default transformer's speed, written to DIR/report.md and DIR/report.json; "
    "exit 1 when a part failed, 2 at once without CUDA"
)


def add_bench(parser: argparse.ArgumentParser) -> None:
    # --device (default auto: cpu, cuda, cuda:N or mps) comes from the shared parent.
    parser.add_argument("--quick", action="store_true", help="a few seconds instead of minutes")
    parser.add_argument("--json", type=Path, help="write every number to this JSON file")
    parser.add_argument(
        "--compile",
        default="auto",
        choices=["auto", "none", "default", "reduce-overhead", "max-autotune"],
        help="an extra engine variant with [train] compile = MODE "
        "(auto: reduce-overhead on CUDA, none elsewhere)",
    )
    parser.add_argument("--rounds", type=int, help="timed rounds (default 5, quick 2)")
    parser.add_argument(
        "--vectorize",
        type=int,
        metavar="N",
        help="time a vectorised group of N against N solo runs instead (member-steps/s)",
    )
    parser.add_argument(
        "--scaling",
        metavar="N,N,...",
        help="wall time per step of vectorised groups of these sizes against one member, "
        "e.g. 1,8,64,256 (on a GPU)",
    )
    parser.add_argument(
        "--shared",
        action="store_true",
        help="the quickstart beside 0, 2 and 4 busy processes: automatic CPU threads "
        "against OMP_NUM_THREADS=1 and 2, in steps/s (about 15 minutes; --quick, --rounds)",
    )
    parser.add_argument(
        "--against",
        type=Path,
        metavar="DIR",
        help="the default transformer beside danielmamay/grokking's own code from the "
        "checkout at DIR (needs einops), in alternating rounds; --threads, --rounds, --quick",
    )
    parser.add_argument(
        "--threads", metavar="N,N,...", help="torch threads for --against (default 1,2)"
    )
    startup = parser.add_argument_group(
        "start-up", "--startup times the TUI instead: no training, no torch"
    )
    startup.add_argument(
        "--startup",
        action="store_true",
        help="seconds to the TUI's first frame and to History listing every run, "
        "with a temporary runs directory of finished runs",
    )
    startup.add_argument("--runs", type=int, metavar="N", help="runs on disk (default 200)")
    startup.add_argument("--repeat", type=int, metavar="N", help="starts timed (default 3)")
    startup.add_argument(
        "--startup-run",
        action="store_true",
        help="seconds from `grok-tui run quickstart` to its first step, mark by mark "
        "(imports, preset, torch, threads, data, model...), beside torch's import alone",
    )
    scale = parser.add_argument_group(
        "scale", "--scale: many finished runs and a long run, timed from each process start"
    )
    scale.add_argument(
        "--scale",
        nargs="?",
        const="1000,10000",
        metavar="N,N",
        help="runs listing, index, first frame, History, filter with this many runs "
        "(default 1000,10000), a long run's page and export; targets beside (--json)",
    )
    scale.add_argument("--records", type=int, metavar="N", help="the long run's (200,000)")
    scale.add_argument(
        "--engine",
        nargs="?",
        const="",
        metavar="DIR",
        help="--scale: also `grok-tui bench`, or `--against DIR` with a danielmamay/grokking "
        "checkout (minutes)",
    )
    scale.add_argument(
        "--shared-box", action="store_true", help="--scale: also --shared (about 15 minutes)"
    )


def bench_handler(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    extras = (args.records, args.engine, args.shared_box or None)
    if args.scale is None and extras != (None, None, None):
        parser.error("--records, --engine and --shared-box apply to --scale")
    if args.startup_run and args.scale is not None:
        parser.error("--startup-run and --scale are two benches: one at a time")
    if args.startup_run or args.scale is not None:
        return _startup_run_or_scale(args, parser)
    if args.shared:  # each run is a process of its own: torch is not imported here
        from grok_tui.bench.shared_box import shared_command

        return shared_command(quick=args.quick, json_path=args.json, rounds=args.rounds)
    if args.startup:
        training_options = (args.quick, args.device, args.json, args.compile, args.rounds)
        if training_options != (False, None, None, "auto", None):  # not the defaults
            parser.error(
                "--quick, --device, --json, --compile and --rounds do not apply to --startup"
            )
        runs = 200 if args.runs is None else args.runs
        repeat = 3 if args.repeat is None else args.repeat
        if runs < 1 or repeat < 1:
            parser.error("--runs and --repeat must be at least 1")
        from grok_tui.bench.startup import startup_command  # torch-free

        return startup_command(runs, repeat)
    if args.runs is not None or args.repeat is not None:
        parser.error("--runs and --repeat apply to --startup only")
    device = args.device or "auto"
    if args.against is not None or args.threads is not None:
        return against_handler(args, parser)
    if args.scaling is not None:
        try:
            sizes = [int(n) for n in args.scaling.split(",")]
        except ValueError:
            sizes = []
        if not sizes or min(sizes) < 1:
            parser.error(f"--scaling takes group sizes >= 1 such as 1,8,64; got {args.scaling}")
        from grok_tui.bench.group import scaling_command

        return scaling_command(sizes, quick=args.quick, device=device, json_path=args.json)
    if args.vectorize is not None:
        if args.vectorize < 1:
            parser.error("--vectorize takes a group size >= 1")
        if args.compile != "auto" or args.rounds is not None:
            parser.error("--compile and --rounds do not apply to --vectorize")
        from grok_tui.bench.group import vectorize_command

        return vectorize_command(
            args.vectorize, quick=args.quick, device=device, json_path=args.json
        )
    from grok_tui.bench.compare import bench_command  # torch: only when training is timed

    return bench_command(
        quick=args.quick,
        device=device,
        json_path=args.json,
        compile_choice=args.compile,
        rounds=args.rounds,
    )


def against_handler(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.against is None:
        parser.error("--threads applies to --against only")
    try:
        threads = [int(n) for n in (args.threads or "1,2").split(",")]
    except ValueError:
        threads = []
    if not threads or min(threads) < 1:
        parser.error(f"--threads takes thread counts >= 1 such as 1,2; got {args.threads}")
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    from grok_tui.bench.against import against_command  # torch: only when training is timed

    return against_command(
        args.against, threads, rounds=args.rounds, quick=args.quick, json_path=args.json
    )


def _startup_run_or_scale(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """--startup-run and --scale: processes timed from their start (torch-free here)."""
    repeat = 1 if args.repeat is None else args.repeat
    if repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.startup_run:
        from grok_tui.bench.run_startup import startup_run_command

        return startup_run_command(3 if args.repeat is None else repeat, args.json)
    try:
        sizes = tuple(int(n) for n in args.scale.split(","))
    except ValueError:
        sizes = ()
    records = 200_000 if args.records is None else args.records
    if not sizes or min(sizes) < 1 or records < 0:
        parser.error(f"--scale takes run counts >= 1 such as 1000,10000; got {args.scale}")
    from grok_tui.bench.scale import scale_command

    return scale_command(
        sizes,
        records=records,
        repeat=repeat,
        engine=args.engine,
        shared=args.shared_box,
        quick=args.quick,
        json_path=args.json,
    )


def gpu_check_handler(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    device = args.device or "cuda"
    if not devices.is_cuda(device) or args.steps < 100:
        parser.error("--device must be cuda or cuda:N and --steps at least 100")
    from grok_tui.bench.gpu_check import gpu_check_command

    return gpu_check_command(args.out, device, steps=args.steps)

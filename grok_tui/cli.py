"""The ``grok-tui`` command: one argparse parser with a sub-parser per command, and dispatch.

``grok-tui COMMAND ...`` (COMMANDS below; bare ``grok-tui`` opens the TUI). ``--runs-dir``
and ``--device`` come from a shared parent parser and go before or after the command.
``--run PRESET`` and ``--resume RUN...`` are the older spellings of ``run`` and ``resume``,
kept as aliases: the launcher, the sweep executor and the queue start runs with them.
A preset argument is a file or the name of a shipped preset (``quickstart``,
``classic/nanda-p113``: ``grok-tui presets`` lists them).

Exit codes: 0 done, 1 failed or diverged, 2 bad input, 130 stopped by Ctrl-C (SIGINT),
143 stopped by SIGTERM (128 + the signal's number, as shells count them).
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from grok_tui import __version__
from grok_tui.config import (
    MAX_EXAMPLES,
    MAX_P,
    MAX_STEPS,
    PresetError,
    load_preset,
    task_size_label,
    with_overrides,
)
from grok_tui.config.json_schema import schema_command
from grok_tui.errors import UserError, cut_text
from grok_tui.rundirs import store
from grok_tui.rundirs.store import resolve_runs_dir
from grok_tui.sweep import is_sweep_file, validation_verdict
from grok_tui.sweep.sweepdir import SweepDir, find_sweep, is_sweep_dir
from grok_tui.text import safe_text
from grok_tui.training.runner import EXIT_BAD_INPUT, EXIT_OK
from grok_tui.tui.serve import add_serve_options, serve_command

# Every command, with its one line of `grok-tui --help`, in the order --help lists them.
COMMANDS = {
    "run": "train a preset (a file or a shipped preset's name) or a sweep, headless",
    "resume": "continue stopped runs (several: one vectorised group) or a sweep",
    "tui": "open the TUI: presets, live runs, history, compare (bare grok-tui too)",
    "presets": "list the shipped presets, name and description",
    "validate": "check presets, one verdict per file",
    "schema": "print the presets' JSON Schema, for editors (presets/grok-tui.schema.json)",
    "runs": "list the runs of the runs directory (--json, --csv)",
    "note": "show, set or clear a run's note",
    "export": "write runs' records as one CSV, or for TensorBoard",
    "sweep-report": "a sweep's table and heatmap (without SWEEP_DIR: list the sweeps)",
    "analyze": "embeddings, Fourier, landscape, norms of a run -> RUN_DIR/analysis/",
    "queue": "runs that start when a slot of their device is free",
    "bench": "measure the engine against a plain training loop",
    "gpu-check": "on a GPU box: GPU tests, bench, quickstart and speed, in one report",
    "serve": "the TUI in a browser (needs the serve extra); loopback unless --host",
    "completion": "print the bash or zsh completion script (needs shtab)",
}
SUBCOMMANDS = tuple(COMMANDS)
# The commands that take --device (queue: its `add` only); elsewhere it is refused.
DEVICE_COMMANDS = ("run", "resume", "analyze", "bench", "gpu-check", "queue")

DESCRIPTION = """\
A terminal workbench for grokking research.

  grok-tui                          open the TUI (= grok-tui tui)
  grok-tui run PRESET [--set K=V]   train a preset headless: a file, or a shipped
                                    preset by name (grok-tui presets lists them)
  grok-tui resume RUN               continue a stopped run from its checkpoint
  grok-tui COMMAND --help           the options of a command"""

EPILOG = """\
--runs-dir DIR and --device D go before or after the command. The older spellings
grok-tui --run PRESET ... and grok-tui --resume RUN... take the options of run and resume.
Exit codes: 0 done, 1 failed or diverged, 2 bad input, 130 stopped by Ctrl-C, 143 stopped
by SIGTERM. Shell completion: eval "$(grok-tui completion bash)" (pip install shtab)."""


# Bounds of the analysis options: each one sizes a loop, a tensor or a thread pool, so an
# unbounded value hangs (--landscape-points 100000: 10^10 loss evaluations), crashes
# (--seed 2**64: t-SNE's seed is below 2^32) or starts 100,000 threads (--threads).
MAX_LANDSCAPE_POINTS = 101
MAX_PERTURB_SAMPLES = 100_000
MAX_SCALE = 100.0  # --landscape-span, --perturb-scale: in units of the weights' norm
MAX_CHECKPOINTS = 100_000
MAX_ANALYSIS_SEED = 2**32 - 1  # scikit-learn's t-SNE takes a seed below 2^32
MAX_HEATMAP_WIDTH = 1000  # sweep-report --width; below 30 the heatmap has no room

# Shell completion (shtab reads an action's `complete`; shtab.FILE and shtab.DIRECTORY,
# written out so that the parser is built without shtab). A preset completes as a file
# or as a shipped preset's name.
_FILES = {"bash": "_shtab_compgen_files", "zsh": "_files", "tcsh": "f"}
_DIRECTORIES = {"bash": "_shtab_compgen_dirs", "zsh": "_files -/", "tcsh": "d"}
_PRESETS = {
    "bash": "_grok_tui_preset_files",
    "zsh": "_grok_tui_presets",
    "preamble": {
        "bash": "_grok_tui_preset_files() {\n"
        '  compgen -f -- "$1"\n'
        '  compgen -W "$(grok-tui presets --names 2>/dev/null)" -- "$1"\n'
        "}\n",
        "zsh": "_grok_tui_presets() {\n"
        "  _files\n"
        "  local -a names\n"
        '  names=(${(f)"$(grok-tui presets --names 2>/dev/null)"})\n'
        "  compadd -a names\n"
        "}\n",
    },
}


def _complete(action: argparse.Action, how: dict[str, Any]) -> argparse.Action:
    action.complete = how  # type: ignore[attr-defined]
    return action


def _given(text: str) -> str:
    """What the user typed, for an option's error: cut short and terminal-safe."""
    return safe_text(cut_text(text, 40))


def int_in(low: int, high: int, note: str = "") -> Callable[[str], int]:
    """An argparse ``type``: an integer in low..high, else argparse's one-line error
    naming the option (``argument --threads: takes an integer from 1 to 16 ...``)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"takes an integer from {low:,} to {high:,}{note}, got {_given(text)}"
            )
        return value

    return parse


def number_in(low: float, high: float, *, above: bool = False) -> Callable[[str], float]:
    """An argparse ``type``: a finite number from `low` (above it when `above`) to `high`;
    nan and inf are refused (every comparison with nan is false: it passed `x <= 0`)."""
    allowed = (
        f"a number above {low:g} and at most {high:g}"
        if above
        else f"a number from {low:g} to {high:g}"
    )

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        in_range = (low < value if above else low <= value) and value <= high
        if not (math.isfinite(value) and in_range):
            raise argparse.ArgumentTypeError(f"takes {allowed}, got {_given(text)}")
        return value

    return parse


# ---------------------------------------------------------------------------- the parser


class CommandParser(argparse.ArgumentParser):
    """argparse's parser with "did you mean" for a mistyped choice and, with
    ``intermixed=True``, positionals and options in any order (``note RUN --runs-dir DIR
    TEXT...``), also when the parser is a command's sub-parser."""

    def __init__(self, *args: Any, intermixed: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.intermixed = intermixed
        self._intermixing = False

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if not self.intermixed or self._intermixing:
            return super().parse_known_args(args, namespace)
        self._intermixing = True  # parse_known_intermixed_args calls parse_known_args
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        if action.choices is not None and value not in action.choices:
            raise argparse.ArgumentError(action, _invalid_choice(action, str(value)))


def _or(words: Iterable[str]) -> str:
    words = list(words)
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _invalid_choice(action: argparse.Action, value: str) -> str:
    """argparse's "invalid choice", with the close matches, or for a command that is a
    preset or a run, the command line that was meant."""
    text = f"invalid choice: '{_given(value)}'"
    if action.dest == "command":
        meant = _meant_command(value)
        if meant is not None:
            return f"{text}; did you mean: {meant}?"
    choices = [str(choice) for choice in action.choices or ()]
    close = difflib.get_close_matches(value, choices, n=3, cutoff=0.6)
    if close:
        return f"{text}; did you mean {_or(repr(c) for c in close)}?"
    return f"{text} (choose from {', '.join(choices)})"


def _meant_command(value: str) -> str | None:
    """``grok-tui quickstart.toml``: grok-tui run quickstart.toml; a run or sweep
    directory: grok-tui resume DIR."""
    shown = safe_text(cut_text(value, 200))
    if value.endswith(".toml") or os.path.isfile(value) or find_shipped(value) is not None:
        return f"grok-tui run {shown}"
    if is_sweep_dir(value) or store.RunDir(Path(value)).exists():
        return f"grok-tui resume {shown}"
    return None


def _global_options(parser: argparse.ArgumentParser, default: Any, device: bool) -> None:
    """--runs-dir (every command) and --device (the commands that train or compute)."""
    _complete(
        parser.add_argument(
            "--runs-dir",
            metavar="DIR",
            default=default,
            help="where runs live (default: ./runs or $GROK_TUI_RUNS_DIR)",
        ),
        _DIRECTORIES,
    )
    if device:
        parser.add_argument(
            "--device",
            metavar="D",
            default=default,
            help="where to train or compute: cpu, cuda, cuda:N, mps (run, resume: instead of "
            "the preset's train.device; bench: default auto, analyze: cpu, gpu-check: cuda)",
        )


def _parent(device: bool) -> CommandParser:
    """The shared parent parser of the commands. Its defaults are SUPPRESS: a value given
    before the command (the top-level parser's) is not overwritten by the command's."""
    parent = CommandParser(add_help=False)
    _global_options(parent, argparse.SUPPRESS, device)
    return parent


# The options of run and resume (and of --run / --resume): (dest, option, commands).
TRAINING_OPTIONS = (
    ("overrides", "--set", ("run",)),
    ("force", "--force", ("resume",)),
    ("seeds", "--seeds", ("run",)),
    ("split_seeds", "--split-seeds", ("run",)),
    ("vectorize", "--vectorize", ("run", "resume")),
    ("jobs", "--jobs", ("run", "resume")),
    ("devices", "--devices", ("run", "resume")),
    ("executor", "--executor", ("run", "resume")),
    ("address", "--address", ("run", "resume")),
    ("gpus_per_run", "--gpus-per-run", ("run", "resume")),
    ("cpus_per_run", "--cpus-per-run", ("run", "resume")),
    ("no_shared_fs", "--no-shared-fs", ("run", "resume")),
    ("presets", "--presets", ("tui",)),
    ("log_to", "--log-to", ("run", "resume")),
)
TRAINING_DEFAULTS: dict[str, Any] = {
    "overrides": [],
    "force": False,
    "no_shared_fs": False,
    "presets": [],
}
# The top-level parser keeps the older spelling's options under these dests: an option
# given before a command is told to go after it.
LEGACY = "legacy_"


def _training_options(
    parser: argparse.ArgumentParser, command: str, *, prefix: str = "", hidden: bool = False
) -> None:
    """The options of `command` (run, resume or tui); all three for the top-level parser
    (`command` "*": the older spelling), where they are hidden from --help."""

    def takes(dest: str) -> bool:
        return command == "*" or any(
            d == dest and command in commands for d, _, commands in TRAINING_OPTIONS
        )

    def shown(text: str) -> str:
        return argparse.SUPPRESS if hidden else text

    def add(dest: str, *flags: str, group: Any = parser, **kwargs: Any) -> argparse.Action | None:
        if not takes(dest):
            return None
        kwargs["help"] = shown(kwargs.get("help", ""))
        return group.add_argument(*flags, dest=prefix + dest, **kwargs)

    add(
        "overrides",
        "--set",
        action="append",
        default=[],
        metavar="K=V",
        help="override a preset field, e.g. --set optim.lr=3e-4 (value parsed as TOML)",
    )
    add(
        "force",
        "--force",
        action="store_true",
        help="continue a run marked running on another host (it must have stopped there)",
    )
    presets = add(
        "presets",
        "--presets",
        action="append",
        default=[],
        metavar="DIR",
        help="another preset folder",
    )
    if presets is not None:
        _complete(presets, _DIRECTORIES)
    add(
        "seeds",
        "--seeds",
        type=int,
        metavar="N",
        help="train seeds train.seed .. train.seed+N-1 of the preset as one sweep",
    )
    add(
        "split_seeds",
        "--split-seeds",
        type=int,
        metavar="M",
        help="cross M split seeds (data.split_seed onwards) into that sweep",
    )
    add(
        "vectorize",
        "--vectorize",
        metavar="N|auto",
        help="sweeps: train points that differ only in seeds, lr, weight decay... as "
        "vectorised groups of at most N (default auto; 1: a process per point)",
    )
    add("jobs", "--jobs", type=int, metavar="N", help="sweeps: processes at once")
    add(
        "devices",
        "--devices",
        metavar="LIST",
        help="sweeps: one job per device, e.g. cuda:0,cuda:1",
    )
    add(
        "log_to",
        "--log-to",
        metavar="LIST",
        help="log live to trackers: tensorboard,wandb,mlflow (run: sets [train] log_to; "
        "resume: adds to it for this session)",
    )
    if not takes("executor"):
        return
    cluster = parser if hidden else parser.add_argument_group("sweeps on a Ray cluster")
    add(
        "executor",
        "--executor",
        group=cluster,
        choices=["local", "ray"],
        help="sweeps: local (default: a process per point on this machine) or ray",
    )
    add(
        "address",
        "--address",
        group=cluster,
        metavar="ADDR",
        help="ray: local (start Ray here for the sweep; default), auto (this machine's "
        "cluster), ray://HOST:PORT or HOST:PORT",
    )
    # Their range (nan and inf out) is RayOptions.check's: one line, exit 2, before the
    # sweep directory is made or Ray imported.
    add(
        "gpus_per_run",
        "--gpus-per-run",
        group=cluster,
        type=float,
        metavar="F",
        help="ray: GPUs per point (default 0)",
    )
    add(
        "cpus_per_run",
        "--cpus-per-run",
        group=cluster,
        type=float,
        metavar="C",
        help="ray: CPUs per point (default 1)",
    )
    add(
        "no_shared_fs",
        "--no-shared-fs",
        group=cluster,
        action="store_true",
        help="ray: nodes do not share the runs directory; workers send everything here",
    )


def build_parser() -> CommandParser:
    """The one parser of grok-tui: global options, the older --run / --resume spelling,
    and a sub-parser per command (shell completion is generated from it too)."""
    parser = CommandParser(
        prog="grok-tui",
        usage="grok-tui [--runs-dir DIR] [--device D] [COMMAND] [ARGS...]",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"grok-tui {__version__}")
    _global_options(parser, None, device=True)
    older = parser.add_argument_group("older spellings (kept as aliases)")
    mode = older.add_mutually_exclusive_group()
    _complete(
        mode.add_argument(
            "--run", dest=LEGACY + "run", metavar="PRESET", help="grok-tui run PRESET"
        ),
        _PRESETS,
    )
    mode.add_argument(
        "--resume", dest=LEGACY + "resume", metavar="RUN", nargs="+", help="grok-tui resume RUN..."
    )
    _training_options(parser, "*", prefix=LEGACY, hidden=True)
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", title="commands", parser_class=CommandParser
    )
    runs_only, with_device = _parent(device=False), _parent(device=True)

    def command(
        name: str, *, device: bool = False, intermixed: bool = True, **kwargs: Any
    ) -> CommandParser:
        return commands.add_parser(  # type: ignore[no-any-return]
            name,
            prog=f"grok-tui {name}",
            help=COMMANDS[name],
            parents=[with_device if device else runs_only],
            intermixed=intermixed,
            **kwargs,
        )

    run = command("run", device=True, description=COMMANDS["run"])
    _complete(
        run.add_argument(
            "preset",
            metavar="PRESET",
            help="a preset or sweep file (TOML), or a shipped preset's name (grok-tui presets)",
        ),
        _PRESETS,
    )
    _training_options(run, "run")
    resume = command(
        "resume",
        device=True,
        description="continue a stopped (or crashed) run from its checkpoint; several runs "
        "of one shape continue as one vectorised group; a sweep directory continues "
        "without redoing finished points",
    )
    _complete(
        resume.add_argument("refs", nargs="+", metavar="RUN", help="run or sweep: path or id"),
        _DIRECTORIES,
    )
    _training_options(resume, "resume")
    tui = command("tui", description=COMMANDS["tui"])
    _training_options(tui, "tui")
    presets = command("presets", description="the shipped presets: name and description")
    shape = presets.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="a JSON list (with paths)")
    shape.add_argument("--names", action="store_true", help="names only, one per line")
    validate = command("validate", description="check presets, one verdict per file")
    _complete(
        validate.add_argument(
            "files", nargs="+", metavar="PRESET", help="a file or a shipped preset's name"
        ),
        _PRESETS,
    )
    validate.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V")
    _add_runs(command("runs", description="list the runs of the runs directory"))
    _add_note(command("note", description=NOTE_HELP))
    _add_export(command("export", description=EXPORT_HELP))
    _add_sweep_report(command("sweep-report", description=SWEEP_REPORT_HELP))
    _add_analyze(command("analyze", device=True, description=ANALYZE_HELP))
    _add_queue(command("queue", device=True, intermixed=False, description=QUEUE_HELP))
    _add_bench(command("bench", device=True, description=BENCH_HELP))
    gpu_check = command("gpu-check", device=True, description=GPU_CHECK_HELP)
    gpu_check.add_argument("--out", type=Path, default=Path("gpu-check"), metavar="DIR")
    gpu_check.add_argument(
        "--steps", type=int, default=20_000, help="steps of the default transformer (20,000)"
    )
    schema = command(
        "schema",
        description="the JSON Schema (draft 2020-12) of preset and sweep files, for editors: "
        "a preset's first line #:schema ./grok-tui.schema.json points Taplo (Even Better "
        "TOML) at the copy shipped in presets/",
    )
    _complete(
        schema.add_argument(
            "--out", type=Path, metavar="FILE", help="write it here, not to stdout"
        ),
        _FILES,
    )
    add_serve_options(command("serve", description=COMMANDS["serve"]))
    completion = command("completion", description=COMPLETION_HELP)
    completion.add_argument("shell", choices=["bash", "zsh"], help="the shell")
    return parser


NOTE_HELP = (
    "show a run's note, or set it (TEXT) or clear it (--clear); "
    "the note lives in RUN_DIR/note.txt and shows in the TUI's history"
)
EXPORT_HELP = (
    "write runs' records for other tools: one CSV of every record of every "
    "run named (a sweep stands for its points), with the run id and the preset fields "
    "that differ between the runs as the first columns; or TensorBoard event files, "
    "one sub-directory per run (tensorboard --logdir DIR)"
)
SWEEP_REPORT_HELP = (
    "a sweep's table (and heatmap for two varying fields); "
    "without SWEEP, list the sweeps of the runs directory"
)
ANALYZE_HELP = (
    "Analyse a run's kept weights: norms, embeddings (PCA, t-SNE, heatmaps), "
    "their Fourier spectrum, Nanda et al.'s restricted/excluded losses, the loss "
    "landscape. Writes RUN_DIR/analysis/analysis.json and PNG figures."
)
QUEUE_HELP = (
    "Runs that wait for a free slot on their device (RUNS/queue.json). A "
    "detached queue runner, started by `add` and by the TUI, starts the next one when "
    "fewer runs than the device's slots are live (runs started by hand count too) and "
    "ends when the queue is empty. Queued runs show in History with status queued."
)
BENCH_HELP = (
    "Steps/s of the engine against a training loop written the common way, "
    "on the report's transformer and MLP configurations."
)
GPU_CHECK_HELP = (
    "on a GPU box: the GPU tests, the bench on CUDA, the quickstart to grok "
    "and the default transformer's speed, written to DIR/report.md and DIR/report.json; "
    "exit 1 when a part failed, 2 at once without CUDA"
)
COMPLETION_HELP = (
    "print a completion script generated from this parser (needs shtab: pip install "
    'shtab). bash: eval "$(grok-tui completion bash)" in ~/.bashrc; zsh: grok-tui '
    'completion zsh > "${fpath[1]}/_grok-tui"'
)


def _add_runs(parser: argparse.ArgumentParser) -> None:
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="every run as a JSON list")
    _complete(
        shape.add_argument(
            "--csv",
            nargs="?",
            const="-",
            metavar="FILE",
            help="every run as CSV, to FILE (or printed, without FILE)",
        ),
        _FILES,
    )


def _add_note(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="run directory, id, or a unique part of an id")
    parser.add_argument("text", nargs="*", metavar="TEXT", help="the new note")
    parser.add_argument("--clear", action="store_true", help="remove the note")


def _add_export(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "refs", nargs="+", metavar="RUN", help="run or sweep: directory, id or a unique part"
    )
    _complete(
        parser.add_argument("--csv", type=Path, metavar="FILE", help="write one CSV here"),
        _FILES,
    )
    _complete(
        parser.add_argument(
            "--tensorboard", type=Path, metavar="DIR", help="write event files here"
        ),
        _DIRECTORIES,
    )


def _add_sweep_report(parser: argparse.ArgumentParser) -> None:
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
        "min_test_loss_step / min_test_loss_epoch (where test loss was lowest)",
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


def _add_analyze(parser: argparse.ArgumentParser) -> None:
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


def _add_queue(parser: CommandParser) -> None:
    runs_only, with_device = _parent(device=False), _parent(device=True)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=CommandParser)

    def action(name: str, help: str, device: bool = False) -> CommandParser:
        return actions.add_parser(  # type: ignore[no-any-return]
            name,
            prog=f"grok-tui queue {name}",
            help=help,
            parents=[with_device if device else runs_only],
            intermixed=True,
        )

    action("list", "the queue in order (the default)")
    add = action("add", "queue a preset (last)", device=True)
    _complete(
        add.add_argument(
            "preset", metavar="PRESET", help="a preset file (TOML) or a shipped preset's name"
        ),
        _PRESETS,
    )
    add.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V")
    remove = action("remove", "take entry N out (its run directory, never trained, goes)")
    remove.add_argument("position", type=int, metavar="N")
    move = action("move", "move entry N: up, down, top, bottom")
    move.add_argument("position", type=int, metavar="N")
    move.add_argument("where", choices=["up", "down", "top", "bottom"])
    slots = action("slots", "show, or set, the runs live at once on DEVICE (0 pauses)")
    slots.add_argument("slot_device", nargs="?", metavar="DEVICE")
    slots.add_argument("count", nargs="?", type=int, metavar="N")
    action(
        "rebuild",
        "a new queue.json from the runs with status queued (a damaged one is kept aside)",
    )
    serve = action("run", "serve the queue here until it is empty (what add starts)")
    serve.add_argument("--poll", type=float, default=1.0, metavar="S", help=argparse.SUPPRESS)


def _add_bench(parser: argparse.ArgumentParser) -> None:
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


# ------------------------------------------------------------------------------ dispatch


def _parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every command's parser by its words ("run", "queue add"); the top-level one is ""."""
    found: dict[str, argparse.ArgumentParser] = {"": parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                for words, inner in _parsers(sub).items():
                    found[f"{name} {words}".strip()] = inner
    return found


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    parsers = _parsers(parser)
    words = " ".join(w for w in (args.command, getattr(args, "action", None)) if w)
    here = parsers.get(words, parser)
    if extras:
        here.error(_unrecognized(extras, words, parsers))
    if args.command is None:
        return _train(_older_spelling(args), parser)
    _refuse_misplaced(args, parser)
    try:
        return HANDLERS[args.command](args, here)
    except BrokenPipeError:  # `grok-tui presets | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 128 + 13  # as a process ended by SIGPIPE


def _unrecognized(extras: list[str], words: str, parsers: dict[str, Any]) -> str:
    """argparse's "unrecognized arguments", with where an option belongs or what was
    meant, and what the command takes."""
    text = f"unrecognized arguments: {' '.join(_given(e) for e in extras)}"
    here = parsers.get(words, parsers[""])
    hints: list[str] = []
    stray = False  # a word that is no option's value: what the command takes is the hint
    after_option = False
    for extra in extras:
        if not extra.startswith("-") or re.fullmatch(r"-[\d.].*", extra):
            stray = stray or not after_option
            after_option = False
            continue
        after_option = "=" not in extra
        option = extra.split("=", 1)[0]
        owners = [w for w, p in parsers.items() if w and option in p._option_string_actions]
        if owners:
            hints.append(f"{option} is an option of {_or(f'grok-tui {w}' for w in owners)}")
            continue
        known = sorted(s for s in here._option_string_actions if s.startswith("--"))
        close = difflib.get_close_matches(option, known, n=2, cutoff=0.7)
        if close:
            hints.append(f"did you mean {_or(close)}?")
    if stray:
        hints.append(f"{f'grok-tui {words}' if words else 'grok-tui'} takes {_takes(here)}")
    return "; ".join([text, *hints])


def _takes(parser: argparse.ArgumentParser) -> str:
    """What a command's positional arguments are: 'PRESET', 'RUN [TEXT ...]'."""
    parts = []
    for action in parser._get_positional_actions():
        if isinstance(action, argparse._SubParsersAction):
            parts.append(f"one of {', '.join(action.choices)}")
            continue
        name = action.metavar or action.dest
        parts.append(
            {None: f"one {name}", "?": f"[{name}]", "+": f"{name}...", "*": f"[{name}...]"}.get(
                action.nargs,  # type: ignore[arg-type]
                f"{action.nargs} {name}",
            )
        )
    return " ".join(parts) if parts else "no arguments besides its options"


def _older_spelling(args: argparse.Namespace) -> argparse.Namespace:
    """`grok-tui [--run PRESET | --resume RUN...] [options]`: the namespace of run, resume
    or the TUI, from the top-level parser's own options."""
    for dest in ("run", "resume", *(dest for dest, _, _ in TRAINING_OPTIONS)):
        setattr(args, dest, getattr(args, LEGACY + dest))
    return args


def _refuse_misplaced(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """A command with --run / --resume, or with an option of run (resume, tui) before it;
    --device for a command that takes none."""
    command = args.command
    if getattr(args, LEGACY + "run") is not None or getattr(args, LEGACY + "resume") is not None:
        flag = "--run" if getattr(args, LEGACY + "run") is not None else "--resume"
        parser.error(
            f"{flag} is the older spelling of grok-tui {flag[2:]}: give it or the command "
            f"{command}, not both"
        )
    for dest, option, commands in TRAINING_OPTIONS:
        if getattr(args, LEGACY + dest) == TRAINING_DEFAULTS.get(dest):
            continue
        if command in commands:
            parser.error(f"{option} goes after the command: grok-tui {command} ... {option} ...")
        parser.error(f"{option} is an option of {_or(f'grok-tui {c}' for c in commands)}")
    action = getattr(args, "action", None)
    if args.device is not None and (
        command not in DEVICE_COMMANDS or (command == "queue" and action != "add")
    ):
        takes = _or([*DEVICE_COMMANDS[:-1], "queue add"])
        parser.error(f"--device applies to {takes}, not to {command} {action or ''}".strip())


def _training_namespace(args: argparse.Namespace) -> argparse.Namespace:
    """run / resume / tui: every option of the older spelling, defaults where not given."""
    for dest, _, _ in TRAINING_OPTIONS:
        if not hasattr(args, dest):
            setattr(args, dest, TRAINING_DEFAULTS.get(dest))
    args.run = args.preset if args.command == "run" else None
    args.resume = args.refs if args.command == "resume" else None
    return args


def _train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """run, resume and the TUI, from either spelling: what `grok-tui --run/--resume` did."""
    from grok_tui.sweep.commands import ray_only_options  # torch-free, ray-free

    ray_only = ray_only_options(args)
    if ray_only and args.executor != "ray":
        parser.error(f"{', '.join(ray_only)} apply to --executor ray")
    runs_dir = resolve_runs_dir(args.runs_dir)
    log_to: list[str] = []
    if args.log_to is not None:  # run: the preset's [train] log_to; resume: added to it
        from grok_tui.sweep.commands import sweep_ref
        from grok_tui.training.trackers import parse_log_to

        try:
            log_to = parse_log_to(args.log_to)
        except ValueError as exc:
            parser.error(str(exc))
        if args.run:
            args.overrides = [*args.overrides, f"train.log_to={json.dumps(log_to)}"]
        elif args.resume and (len(args.resume) > 1 or sweep_ref(args.resume[0], runs_dir)):
            parser.error("--log-to resumes one run: a sweep or a group keeps its [train] log_to")
    if args.run:
        try:  # a shipped preset's name: its file
            args.run = resolve_preset(args.run)
        except UserError as exc:
            return _error(str(exc))
    from grok_tui.sweep.commands import dispatch  # torch-free: a sweep file or sweep directory?

    code = dispatch(args, runs_dir)
    if code is not None:
        return code
    from grok_tui.sweep.commands import sweep_options

    if sweep_options(args):
        parser.error(
            f"{', '.join(sweep_options(args))} apply to sweeps (a file with a [sweep] table, "
            "--seeds, or a sweep directory)"
        )
    if args.executor is not None:
        parser.error(
            "--executor and its options apply to sweeps (a file with a [sweep] table "
            "or a sweep directory)"
        )
    if args.run:
        return cmd_run(Path(args.run), args.overrides, runs_dir, args.device)
    if args.resume:
        if args.overrides:
            parser.error("--set applies to --run only: a resumed run keeps its frozen preset")
        if len(args.resume) > 1:
            return cmd_resume_group(args.resume, runs_dir, args.device, args.force)
        if log_to:  # trackers for this session, besides the frozen preset's
            return cmd_resume(args.resume[0], runs_dir, args.device, args.force, log_to)
        return cmd_resume(args.resume[0], runs_dir, args.device, args.force)
    if args.overrides or args.device:
        parser.error("--set and --device need --run (or --resume for --device)")
    if args.force:
        parser.error("--force applies to --resume only")
    return open_tui(runs_dir, [Path(d) for d in args.presets])


def open_tui(runs_dir: Path, preset_dirs: list[Path]) -> int:
    """The TUI until it is closed; its exit code (run_app's, where it returns one)."""
    from grok_tui.tui.app import run_app  # Textual only when the TUI is wanted

    code = run_app(runs_dir, preset_dirs)
    return code if isinstance(code, int) else EXIT_OK


def _training_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    return _train(_training_namespace(args), parser)


def _error(message: str) -> int:
    # Messages quote presets and run directories, which may come from someone else.
    print(f"error: {safe_text(message, multiline=True)}", file=sys.stderr)
    return EXIT_BAD_INPUT


def cmd_run(path: Path, overrides: list[str], runs_dir: Path, device: str | None) -> int:
    try:
        preset = load_preset(path, [*overrides, *([("train.device", device)] if device else [])])
    except UserError as exc:
        return _error(str(exc))
    # torch (seconds to import) only for a preset that loads: a typo's error comes at once
    from grok_tui import files
    from grok_tui.training import runner
    from grok_tui.training.engine import RunError
    from grok_tui.training.progress import ProgressSink, describe_end

    try:
        runner.check_device(preset)
    except (UserError, RunError) as exc:
        return _error(str(exc))
    stop = runner.StopFlag()
    stop.install()
    try:
        run = store.create_run(preset, runs_dir)
        lock = runner.claim(run)
    except OSError as exc:
        return _error(
            f"cannot create a run directory in {runs_dir}: {files.describe_os_error(exc)}"
        )
    except UserError as exc:
        return _error(str(exc))
    print(safe_text(f"run {run.run_id} · preset {path} · {run.path}"), flush=True)
    with lock:
        code, summary = runner.execute(
            preset, run, sinks=[ProgressSink(preset.train.steps)], stop=stop
        )
    print(safe_text(describe_end(str(run.path), summary), multiline=True), flush=True)
    if code in runner.STOPPED_CODES:
        print(
            f"stopped by {stop.signal_name or 'request'}; continue with: "
            f"grok-tui --resume {safe_text(run.path)}"
        )
    return code


def cmd_resume(
    ref: str, runs_dir: Path, device: str | None, force: bool = False, log_to: Sequence[str] = ()
) -> int:
    from grok_tui.training import runner

    try:
        run = store.find_run(ref, runs_dir)
        lock = runner.claim(run)  # before reading its state: one writer per run
    except UserError as exc:
        return _error(str(exc))
    from grok_tui.training.engine import RunError  # torch: once there is a run to train
    from grok_tui.training.progress import ProgressSink, describe_end

    with lock:
        try:
            preset, checkpoint = runner.load_resume(run, force=force)
            if device:  # only where the run trains, not what it trains: the frozen preset stays
                with_overrides(preset, [("train.device", device)])
            runner.check_device(preset, device)
        except (UserError, RunError) as exc:
            return _error(str(exc))
        stop = runner.StopFlag()
        stop.install()
        where = f"step {checkpoint['step']}" if checkpoint else "step 0 (no checkpoint yet)"
        print(safe_text(f"run {run.run_id} · resuming from {where} · {run.path}"), flush=True)
        code, summary = runner.execute(
            preset,
            run,
            sinks=[ProgressSink(preset.train.steps)],
            resume=checkpoint,
            restart=checkpoint is None,
            device=device,
            stop=stop,
            log_to=log_to,
        )
    print(safe_text(describe_end(str(run.path), summary), multiline=True), flush=True)
    return code


def cmd_resume_group(refs: list[str], runs_dir: Path, device: str | None, force: bool) -> int:
    """``--resume RUN RUN...``: these runs continue as one vectorised group (group/runner)."""
    try:
        runs = [store.find_run(ref, runs_dir) for ref in refs]
    except UserError as exc:
        return _error(str(exc))
    if len({run.path.resolve() for run in runs}) < len(runs):
        return _error("a run is named twice")
    from grok_tui.training import runner
    from grok_tui.training.group.runner import execute_group

    # Our own stop flag, to tell Ctrl-C (exit 130) from SIGTERM (143): the group says 130.
    stop = runner.StopFlag()
    stop.install()
    code = execute_group(runs, device=device, force=force, stop=stop)
    return runner.stop_exit_code(stop.signal_name) if code in runner.STOPPED_CODES else code


# ------------------------------------------------------------------------ shipped presets


def shipped_presets() -> dict[str, Path]:
    """Every shipped preset by name: its path under the shipped folder without ``.toml``
    (``quickstart``, ``classic/nanda-p113``, ``report/sweeps/mlp-width``), top-level files
    first. The folder is the one the TUI lists as shipped (tui/catalog.preset_sources:
    the repository's presets/, or the copy installed as grok_tui.presets)."""
    from grok_tui.tui.catalog import preset_sources  # torch-free and Textual-free

    found: dict[str, Path] = {}
    for source in preset_sources():
        if source.label != "shipped":
            continue
        paths = [p for p in source.path.rglob("*.toml") if p.is_file()]
        for path in sorted(paths, key=lambda p: (p.parent != source.path, str(p.parent), p.name)):
            found.setdefault(path.relative_to(source.path).with_suffix("").as_posix(), path)
    return found


def find_shipped(name: str, shipped: dict[str, Path] | None = None) -> Path | None:
    """The shipped preset a name means (``quickstart``, ``classic/nanda-p113.toml``, or a
    file name that only one shipped preset has: ``nanda-p113``), else None."""
    if not name or Path(name).is_absolute():
        return None
    shipped = shipped_presets() if shipped is None else shipped
    key = name.removesuffix(".toml")
    if key in shipped:
        return shipped[key]
    same_stem = [path for n, path in shipped.items() if n.rsplit("/", 1)[-1] == key]
    return same_stem[0] if len(same_stem) == 1 else None


def resolve_preset(ref: str) -> str:
    """A preset argument as a path: the file when there is one, else the shipped preset of
    that name. A name that is neither is a PresetError naming the closest shipped ones
    (an absolute path keeps load_preset's own "file not found")."""
    if os.path.lexists(ref) or Path(ref).is_absolute():
        return ref
    shipped = shipped_presets()
    path = find_shipped(ref, shipped)
    if path is not None:
        return str(path)
    key = ref.removesuffix(".toml")
    stems = {n.rsplit("/", 1)[-1]: n for n in reversed(shipped)}  # the first wins
    close = difflib.get_close_matches(key, list(shipped), n=3, cutoff=0.6)
    close += [stems[s] for s in difflib.get_close_matches(key, list(stems), n=3, cutoff=0.6)]
    close = list(dict.fromkeys(close))[:3]
    meant = f"; did you mean {_or(close)}?" if close else ""
    raise PresetError(
        f"file not found, nor a shipped preset{meant} (grok-tui presets lists them)", file=ref
    )


def _description(path: Path) -> tuple[dict[str, Any], str | None]:
    """A preset's raw table (its bases merged in) without validating it; or why not."""
    from grok_tui.config.loading import resolve_extends

    try:
        raw, _ = resolve_extends(path, ())
    except UserError as exc:
        return {}, str(exc)
    return raw, None


def _presets(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``grok-tui presets``: name and the first line of the description, one per line."""
    shipped = shipped_presets()
    if args.names:
        for name in shipped:
            print(safe_text(name))
        return EXIT_OK
    rows = []
    for name, path in shipped.items():
        raw, error = _description(path)
        description = raw.get("description")
        rows.append(
            {
                "name": name,
                "preset": raw.get("name") if isinstance(raw.get("name"), str) else path.stem,
                "sweep": isinstance(raw.get("sweep"), dict),
                "description": description.strip() if isinstance(description, str) else "",
                "path": str(path),
                "error": error,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    if not rows:
        print("no shipped presets found (an installation without grok_tui/presets?)")
        return EXIT_OK
    width = max(len(row["name"]) for row in rows)
    for row in rows:
        about = " ".join(row["description"].split())
        if row["error"]:
            about = f"unreadable: {row['error']}"
        elif row["sweep"]:
            about = f"[sweep] {about}"
        print(safe_text(f"{row['name']:<{width}}  {cut_text(about, 100)}".rstrip()))
    return EXIT_OK


# ------------------------------------------------------------------------------- commands


def _validate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    bad = 0
    # Every line goes through safe_text: a preset's name, a file name and an error that
    # quotes a file's content may hold escapes (an OSC that retitles the terminal).
    for given in args.files:
        try:
            name = resolve_preset(given)  # a shipped preset's name: its file
            if is_sweep_file(name):
                ok, lines = validation_verdict(name, args.overrides)
                bad += not ok
                for line in lines:
                    print(safe_text(line))
                continue
            preset = load_preset(name, args.overrides)
        except UserError as exc:
            bad += 1
            print(f"INVALID {safe_text(given)}")
            for line in str(exc).splitlines():
                print(f"  {safe_text(line)}")
        else:
            model = preset.model.type
            task_size = task_size_label(preset.data.operation, preset.data.p)
            print(
                safe_text(
                    f"ok      {given}: {preset.name} · {preset.data.operation} {task_size} · "
                    f"{model} · {preset.optim.name} lr={preset.optim.lr:g} · "
                    f"{preset.train.steps} steps"
                )
            )
    return EXIT_BAD_INPUT if bad else EXIT_OK


# A run that ended so shows its summary's error where it has no note of the user's.
_ENDED_BADLY = (store.FAILED, store.CRASHED, store.DIVERGED)
# The fields of `grok-tui runs --json / --csv`: the table's, each in full.
RUN_FIELDS = (
    "id",
    "status",
    "name",
    "step",
    "steps",
    "fit_step",
    "grok_step",
    "final_train_acc",
    "final_test_acc",
    "device",
    "note",
    "error",
    "path",
)


def _problem(info: store.RunInfo) -> str | None:
    """Why a run shows no note of its own: unreadable, its preset unreadable, its error."""
    s = info.summary
    if info.unreadable:  # shown, never fatal: one damaged run must not hide the others
        return f"unreadable: {info.unreadable}"
    if info.preset_error:  # its own preset.toml, named so: the reason fits the column
        own = info.preset_error.replace(str(info.run.preset_path), store.PRESET_FILE)
        return f"preset unreadable: {own}"
    if info.status in _ENDED_BADLY and isinstance(s.get("error"), str):
        return f"error: {s['error']}"  # why it failed (the queue could not start it...)
    return None


def _scalar(value: Any) -> Any:
    """A summary value for JSON and CSV: numbers, text, true/false; anything else (a
    table where a number belongs, nan from a crafted file) is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value if isinstance(value, str | int | float | bool) else None


def run_record(info: store.RunInfo) -> dict[str, Any]:
    """One run as `runs --json` writes it (RUN_FIELDS)."""
    s = info.summary
    final = s.get("final") if isinstance(s.get("final"), dict) else {}
    name = s.get("name") or info.preset.get("name") or info.run_id
    return {
        "id": info.run_id,
        "status": info.status,
        "name": _scalar(name),
        "step": _scalar(s.get("step")),
        "steps": _scalar(s.get("steps")),
        "fit_step": _scalar(s.get("fit_step")),
        "grok_step": _scalar(s.get("grok_step")),
        "final_train_acc": _scalar(final.get("train_acc")),
        "final_test_acc": _scalar(final.get("test_acc")),
        "device": device_label(s) or None,
        "note": info.note or None,
        "error": _problem(info),
        "path": str(info.run.path),
    }


def _runs(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """List the runs; every field read from a run directory goes through safe_text.

    A run directory may come from someone else: its id, status, numbers and note must
    not carry escape sequences (or bidi overrides) to the terminal, nor break the table.
    """
    runs = store.list_runs(resolve_runs_dir(args.runs_dir))
    if args.json:  # json.dumps escapes every control character: safe on a terminal
        print(json.dumps([run_record(info) for info in runs], indent=2))
        return EXIT_OK
    if args.csv is not None:
        return _runs_csv([run_record(info) for info in runs], args.csv)
    if not runs:
        print("no runs")
        return EXIT_OK
    print(
        f"{'run':44} {'status':10} {'step':>9} {'fit':>7} {'grok':>7} {'test_acc':>8}  "
        f"{'device':24}  note"
    )
    for info in runs:
        s = info.summary
        final = s.get("final") if isinstance(s.get("final"), dict) else {}
        test_acc = final.get("test_acc")
        note = info.note.splitlines()[0] if info.note else ""
        if info.unreadable or info.preset_error or not note:
            note = _problem(info) or note
        line = (
            f"{safe_text(info.run_id):44} {safe_text(info.status):10} "
            f"{_opt(s.get('step', 0)):>9} "
            f"{_opt(s.get('fit_step')):>7} {_opt(s.get('grok_step')):>7} "
            f"{_acc(test_acc):>8}  {safe_text(device_label(s)):24}  {safe_text(note[:100])}"
        )
        print(line.rstrip())
    return EXIT_OK


def _runs_csv(records: list[dict[str, Any]], target: str) -> int:
    """`runs --csv [FILE]`: the cells through the CSV rule of every CSV (export/csvfile);
    printed, each text cell is one terminal-safe line too."""
    from grok_tui.export.csvfile import csv_text, write_csv

    rows = [[record[field] for field in RUN_FIELDS] for record in records]
    if target == "-":
        shown = [[safe_text(v) if isinstance(v, str) else v for v in row] for row in rows]
        sys.stdout.write(csv_text(RUN_FIELDS, shown))
        return EXIT_OK
    try:
        write_csv(target, RUN_FIELDS, rows)
    except OSError as exc:
        from grok_tui.files import describe_os_error

        return _error(f"cannot write {target}: {describe_os_error(exc)}")
    print(f"wrote {len(rows)} run(s) to {safe_text(target)}")
    return EXIT_OK


def device_label(summary: dict[str, object]) -> str:
    """'cuda:0 H100 80GB HBM3' (the GPU's name without its vendor), 'cpu', or ''."""
    device = str(summary.get("device") or "")
    name = str(summary.get("device_name") or "").removeprefix("NVIDIA ").strip()
    return f"{device} {name}"[:24].strip() if name else device[:24]


def _note(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        run = store.find_run(args.run, resolve_runs_dir(args.runs_dir))
    except UserError as exc:
        return _error(exc.message)
    if args.clear and args.text:
        return _error("give TEXT or --clear, not both")
    text = " ".join(args.text)
    problem = _note_problem(text) if args.text else None
    if problem is not None:
        return _error(f"TEXT: {problem}; the note of {safe_text(run.run_id)} is unchanged")
    if args.clear or args.text:
        from grok_tui.files import describe_os_error

        where = safe_text(run.note_path)  # one line, whatever the run directory is called
        try:
            run.set_note(text)
        except UserError as exc:  # the store's own check of the note
            return _error(f"{where}: {safe_text(exc.message)}; the note is unchanged")
        except OSError as exc:  # a full or read-only disk, note.txt a directory
            what = "remove" if args.clear else "write"
            return _error(f"cannot {what} {where}: {describe_os_error(exc)}; the note is unchanged")
    note = safe_text(run.note(), multiline=True)  # the run may come from someone else
    run_id = safe_text(run.run_id)
    print(f"{run_id}: {note}" if note else f"{run_id}: (no note)")
    return EXIT_OK


def _note_problem(text: str) -> str | None:
    """Why TEXT cannot be a note, or None: a note is UTF-8 text of less than 64 KiB.

    An argument that is not UTF-8 reaches Python as lone surrogates (os.fsdecode's
    stand-ins for its bytes), which cannot be written as UTF-8; a TEXT of spaces would
    remove the note, which is what --clear is for.
    """
    from grok_tui.files import MAX_NOTE_BYTES

    try:
        size = len(text.strip().encode("utf-8"))
    except UnicodeEncodeError as exc:
        return (
            f"not UTF-8 text ({safe_text(text[exc.start : exc.end])} at character "
            f"{exc.start + 1}); a note is UTF-8"
        )
    if size == 0:
        return "only spaces; --clear removes a note"
    if size >= MAX_NOTE_BYTES:
        return f"a note holds less than {MAX_NOTE_BYTES // 1024} KiB, this one is {size:,} bytes"
    return None


def _export(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.csv is None and args.tensorboard is None:
        parser.error("give --csv FILE, --tensorboard DIR, or both")
    from grok_tui.export import write_runs_csv, write_tensorboard

    try:
        runs = _runs_named(args.refs, resolve_runs_dir(args.runs_dir))
    except UserError as exc:
        return _error(str(exc))

    def warn(line: str) -> None:  # a value clamped, records past the size cap: never silent
        print(f"warning: {safe_text(line)}", file=sys.stderr)

    try:
        if args.csv is not None:
            rows = write_runs_csv(runs, args.csv, warn=warn)
            print(f"wrote {rows} records of {len(runs)} run(s) to {safe_text(args.csv)}")
        if args.tensorboard is not None:
            for run in runs:
                write_tensorboard(run, args.tensorboard, warn=warn)
            print(
                f"wrote {len(runs)} run(s) to {safe_text(args.tensorboard)}: "
                f"tensorboard --logdir {safe_text(args.tensorboard)}"
            )
    except OSError as exc:
        from grok_tui.files import describe_os_error

        return _error(f"cannot write: {describe_os_error(exc)}")
    return EXIT_OK


def _runs_named(refs: list[str], runs_dir: Path) -> list[store.RunDir]:
    """Runs by directory, id or unique part; a sweep stands for its trained points."""
    runs: list[store.RunDir] = []
    for ref in refs:
        if is_sweep_dir(ref):
            found = _trained(find_sweep(ref, runs_dir))
        else:
            try:
                found = [store.find_run(ref, runs_dir)]
            except UserError:
                try:  # not a run: perhaps a sweep's id
                    found = _trained(find_sweep(ref, runs_dir))
                except UserError:
                    raise PresetError(f"no run or sweep '{ref}' (looked in {runs_dir})") from None
        runs.extend(r for r in found if r.path not in {known.path for known in runs})
    return runs


def _trained(sweep: SweepDir) -> list[store.RunDir]:
    return [p.run for p in sweep.points() if p.run is not None and p.run.exists()]


def _opt(value: object) -> str:
    """A summary value for a column: '-' when absent, terminal-safe whatever it holds."""
    return "-" if value is None else safe_text(value)


def _acc(value: object) -> str:
    """An accuracy to 4 decimals; anything else a summary might hold, shown safely."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.4f}"
    return safe_text(value)


def _queue(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``grok-tui queue ...``: list, add to, reorder and serve the runs directory's queue."""
    from grok_tui.rundirs import launcher, runqueue

    runs_dir = resolve_runs_dir(args.runs_dir)
    try:
        if args.action == "add":
            preset = load_preset(resolve_preset(args.preset), args.overrides)
            queued = runqueue.enqueue(runs_dir, preset, device=args.device)
            runqueue.ensure_runner(runs_dir, launcher.start_queue_runner)
            print(
                f"queued {safe_text(queued.run.run_id)} at position {queued.position} on "
                f"{queued.device}; it starts when a {queued.device} slot is free "
                f"(grok-tui queue lists the queue)"
            )
        elif args.action in ("remove", "move"):
            run_id = runqueue.run_at(runs_dir, args.position)
            if args.action == "remove":
                deleted = runqueue.remove(runs_dir, run_id)
                gone = " and deleted its run directory" if deleted else ""
                print(f"removed {safe_text(run_id)} from the queue{gone}")
            else:
                delta = {"up": -1, "down": 1, "top": -(10**9), "bottom": 10**9}[args.where]
                position = runqueue.move(runs_dir, run_id, delta)
                print(f"{safe_text(run_id)} is now at position {position}")
        elif args.action == "slots":
            if args.slot_device is not None and args.count is None:
                parser.error("slots takes DEVICE and N (or nothing, to show them)")
            if args.slot_device is not None:
                key = runqueue.set_slots(runs_dir, args.slot_device, args.count)
                runqueue.ensure_runner(runs_dir, launcher.start_queue_runner)
                print(f"{key}: {args.count} slot(s)")
            else:
                state = runqueue.read_queue(runs_dir)
                print(f"slots: {runqueue.slots_line(state, runqueue.live_devices(runs_dir))}")
        elif args.action == "rebuild":
            count, kept = runqueue.rebuild(runs_dir)
            if kept is not None:
                print(f"the damaged queue file is kept as {safe_text(kept)}")
            print(f"{count} run(s) in the queue")
            runqueue.ensure_runner(runs_dir, launcher.start_queue_runner)
        elif args.action == "run":
            return _serve_queue(runs_dir, args.poll)
        else:
            _print_queue(runs_dir)
    except UserError as exc:
        return _error(str(exc))
    except OSError as exc:
        from grok_tui.files import describe_os_error

        return _error(f"cannot write the queue in {runs_dir}: {describe_os_error(exc)}")
    return EXIT_OK


def _print_queue(runs_dir: Path) -> None:
    from grok_tui.rundirs import runqueue

    state = runqueue.read_queue(runs_dir)
    live = runqueue.live_devices(runs_dir)
    pid = runqueue.runner_pid(runs_dir)
    runner = f"runner pid {pid}" if pid else "no runner (add, or the TUI, starts one)"
    print(f"queue of {safe_text(runs_dir)} · {runner}")
    print(f"slots: {runqueue.slots_line(state, live)}")
    if not state.entries:
        print("the queue is empty")
        return
    print(f"{'#':>3}  {'run':44} {'device':8} {'steps':>8}  state")
    reasons = runqueue.waits(state, live)
    for n, (entry, why) in enumerate(zip(state.entries, reasons, strict=True), 1):
        steps = store.read_summary(runs_dir / entry.run).get("steps")
        print(f"{n:>3}  {safe_text(entry.run):44} {entry.device:8} {_opt(steps):>8}  {why}")


def _serve_queue(runs_dir: Path, poll: float) -> int:
    """The detached queue runner: its lines go to RUNS/logs/queue.log."""
    import signal

    from grok_tui.rundirs import runqueue

    stop: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: stop.append(signum))
    code = runqueue.serve(
        runs_dir,
        poll_s=max(0.05, poll),
        should_stop=lambda: bool(stop),
        log=lambda line: print(safe_text(line), flush=True),
    )
    # asked to stop: 128 + the signal's number, as for a run (130 Ctrl-C, 143 SIGTERM)
    return 128 + stop[0] if stop and code == 130 else code


def _bench(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
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


def _gpu_check(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    device = args.device or "cuda"
    if not device.startswith("cuda") or args.steps < 100:
        parser.error("--device must be cuda or cuda:N and --steps at least 100")
    from grok_tui.bench.gpu_check import gpu_check_command

    return gpu_check_command(args.out, device, steps=args.steps)


def _sweep_report(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
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


def _analyze(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.perturb_layers is not None and len(args.perturb_layers.split(",")) != 2:
        parser.error("--perturb-layers takes two parameter names separated by a comma")
    try:  # a mistyped run's error at once, before torch's seconds of import
        store.find_run(args.run, resolve_runs_dir(args.runs_dir))
    except UserError as exc:
        return _error(str(exc))
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


def _completion(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``grok-tui completion bash|zsh``: the script, generated from this very parser."""
    try:
        import shtab
    except ImportError:
        return _error("shell completion needs shtab, which is not installed: pip install shtab")
    print(shtab.complete(build_parser(), shell=args.shell))
    return EXIT_OK


HANDLERS: dict[str, Callable[[argparse.Namespace, argparse.ArgumentParser], int]] = {
    "run": _training_command,
    "resume": _training_command,
    "tui": _training_command,
    "presets": _presets,
    "validate": _validate,
    "runs": _runs,
    "note": _note,
    "export": _export,
    "sweep-report": _sweep_report,
    "analyze": _analyze,
    "queue": _queue,
    "bench": _bench,
    "gpu-check": _gpu_check,
    "serve": serve_command,
    "completion": _completion,
    "schema": lambda args, _parser: schema_command(args.out),
}


# The entry points of the commands as they were (a command's arguments, without its name).
def cmd_validate(argv: list[str]) -> int:
    return main(["validate", *argv])


def cmd_runs(argv: list[str]) -> int:
    return main(["runs", *argv])


def cmd_note(argv: list[str]) -> int:
    return main(["note", *argv])


def cmd_export(argv: list[str]) -> int:
    return main(["export", *argv])


def cmd_queue(argv: list[str]) -> int:
    return main(["queue", *argv])


def cmd_bench(argv: list[str]) -> int:
    return main(["bench", *argv])


def cmd_gpu_check(argv: list[str]) -> int:
    return main(["gpu-check", *argv])


def cmd_sweep_report(argv: list[str]) -> int:
    return main(["sweep-report", *argv])


def cmd_analyze(argv: list[str]) -> int:
    return main(["analyze", *argv])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

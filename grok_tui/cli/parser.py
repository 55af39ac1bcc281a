"""The one parser of ``grok-tui``, with a sub-parser per command, and the dispatch.

Each command family keeps its options and handler in a module of its own (train.py,
runs.py, queue.py ...); here they are put together, and a mistake in the command line (a
misplaced option, an unknown one, --device where it does not apply) gets its one-line error.

A command's module is imported only when that command is parsed: ``main`` builds every
sub-parser as a stub (its name, its line of --help, the shared options) and a stub gets
its options when its command is the one given (``LazyCommands``). ``grok-tui runs``
thus loads neither pydantic, the sweep side nor the TUI, and ``grok-tui --help`` none of
the commands' modules. What needs every command's options builds them all: shell
completion, ``build_parser()`` and the hints of "unrecognized arguments" (which command
takes an option).
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from grok_tui import __version__
from grok_tui.cli.options import (
    DIRECTORIES,
    FILES,
    PRESETS,
    CommandParser,
    complete,
    given,
    global_options,
    parent_parser,
)
from grok_tui.cli.table import or_list
from grok_tui.cli.train import (
    LEGACY,
    TRAINING_DEFAULTS,
    TRAINING_OPTIONS,
    older_spelling,
    train_or_open,
    training_options,
)
from grok_tui.errors import user_error
from grok_tui.rundirs.stopping import EXIT_OK

Handler = Callable[[argparse.Namespace, argparse.ArgumentParser], int]

# Every command, with its one line of `grok-tui --help`, in the order --help lists them.
COMMANDS = {
    "run": "train a preset (a file or a shipped preset's name) or a sweep, headless",
    "resume": "continue stopped runs (several: one vectorised group) or a sweep",
    "tui": "open the TUI: presets, live runs, history, compare (bare grok-tui too)",
    "presets": "list the shipped presets, name and description",
    "validate": "check presets, one verdict per file",
    "runs": "list the runs of the runs directory (--json, --csv)",
    "note": "show, set or clear a run's note",
    "export": "write runs' records as one CSV, or for TensorBoard",
    "sweep-report": "a sweep's table and heatmap (without SWEEP_DIR: list the sweeps)",
    "analyze": "embeddings, Fourier, landscape, norms of a run -> RUN_DIR/analysis/",
    "queue": "runs that start when a slot of their device is free",
    "bench": "measure the engine against a plain training loop",
    "gpu-check": "on a GPU box: GPU tests, bench, quickstart and speed, in one report",
    "schema": "print the presets' JSON Schema, for editors (presets/grok-tui.schema.json)",
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


class LazyCommands(argparse._SubParsersAction):
    """argparse's sub-parsers, each given its options when its command is parsed (or by
    ``build``): a stub holds only its name, its line of --help and the shared options."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.builders: dict[str, Callable[[CommandParser], None]] = {}

    def build(self, name: str) -> None:
        builder = self.builders.pop(name, None)
        if builder is not None:
            builder(self._name_parser_map[name])

    def build_all(self) -> None:
        for name in list(self.builders):
            self.build(name)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        self.build(values[0])
        super().__call__(parser, namespace, values, option_string)


def build_parser(*, lazy: bool = False) -> CommandParser:
    """The one parser of grok-tui: global options, the older --run / --resume spelling,
    and a sub-parser per command (shell completion is generated from it too). ``lazy``:
    each sub-parser gets its options when its command is parsed (``main``)."""
    parser = CommandParser(
        prog="grok-tui",
        usage="grok-tui [--runs-dir DIR] [--device D] [COMMAND] [ARGS...]",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"grok-tui {__version__}")
    global_options(parser, None, device=True)
    older = parser.add_argument_group("older spellings (kept as aliases)")
    mode = older.add_mutually_exclusive_group()
    complete(
        mode.add_argument(
            "--run", dest=LEGACY + "run", metavar="PRESET", help="grok-tui run PRESET"
        ),
        PRESETS,
    )
    mode.add_argument(
        "--resume", dest=LEGACY + "resume", metavar="RUN", nargs="+", help="grok-tui resume RUN..."
    )
    training_options(parser, "*", prefix=LEGACY, hidden=True)
    commands: LazyCommands = parser.add_subparsers(  # type: ignore[assignment]
        action=LazyCommands,
        dest="command",
        metavar="COMMAND",
        title="commands",
        parser_class=CommandParser,
    )
    runs_only, with_device = parent_parser(device=False), parent_parser(device=True)
    for name in COMMANDS:
        device = name in DEVICE_COMMANDS
        commands.add_parser(
            name,
            prog=f"grok-tui {name}",
            help=COMMANDS[name],
            parents=[with_device if device else runs_only],
            intermixed=name != "queue",  # queue's own sub-commands come after it
            description=COMMANDS[name],
        )
        commands.builders[name] = _builder(name)
    if not lazy:
        commands.build_all()
    return parser


def _builder(name: str) -> Callable[[CommandParser], None]:
    """What gives a command's sub-parser its options and description: a function here, or
    the one of the command's module (imported now)."""
    if name in OWN_OPTIONS:
        return OWN_OPTIONS[name]
    where, adds, description = COMMAND_OPTIONS[name]

    def build(sub: CommandParser) -> None:
        module = importlib.import_module(where)
        sub.description = getattr(module, description) if description else sub.description
        getattr(module, adds)(sub)

    return build


def _add_run(run: CommandParser) -> None:
    complete(
        run.add_argument(
            "preset",
            metavar="PRESET",
            help="a preset or sweep file (TOML), or a shipped preset's name (grok-tui presets)",
        ),
        PRESETS,
    )
    training_options(run, "run")


def _add_resume(resume: CommandParser) -> None:
    resume.description = (
        "continue a stopped (or crashed) run from its checkpoint; several runs "
        "of one shape continue as one vectorised group; a sweep directory continues "
        "without redoing finished points"
    )
    complete(
        resume.add_argument("refs", nargs="+", metavar="RUN", help="run or sweep: path or id"),
        DIRECTORIES,
    )
    training_options(resume, "resume")


def _add_tui(tui: CommandParser) -> None:
    training_options(tui, "tui")


def _add_presets(presets: CommandParser) -> None:
    presets.description = "the shipped presets: name and description"
    shape = presets.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="a JSON list (with paths)")
    shape.add_argument("--names", action="store_true", help="names only, one per line")


def _add_validate(validate: CommandParser) -> None:
    validate.description = "check presets, one verdict per file"
    complete(
        validate.add_argument(
            "files", nargs="+", metavar="PRESET", help="a file or a shipped preset's name"
        ),
        PRESETS,
    )
    validate.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V")


def _add_runs(runs: CommandParser) -> None:
    from grok_tui.cli.runs import add_runs

    runs.description = "list the runs of the runs directory"
    add_runs(runs)


def _add_gpu_check(gpu_check: CommandParser) -> None:
    from grok_tui.cli.bench import GPU_CHECK_HELP

    gpu_check.description = GPU_CHECK_HELP
    gpu_check.add_argument("--out", type=Path, default=Path("gpu-check"), metavar="DIR")
    gpu_check.add_argument(
        "--steps", type=int, default=20_000, help="steps of the default transformer (20,000)"
    )


def _add_schema(schema: CommandParser) -> None:
    schema.description = (
        "the JSON Schema (draft 2020-12) of preset and sweep files, for editors: "
        "a preset's first line #:schema ./grok-tui.schema.json points Taplo (Even Better "
        "TOML) at the copy shipped in presets/"
    )
    complete(
        schema.add_argument(
            "--out", type=Path, metavar="FILE", help="write it here, not to stdout"
        ),
        FILES,
    )


def _add_completion(completion: CommandParser) -> None:
    completion.description = COMPLETION_HELP
    completion.add_argument("shell", choices=["bash", "zsh"], help="the shell")


COMPLETION_HELP = (
    "print a completion script generated from this parser (needs shtab: pip install "
    'shtab). bash: eval "$(grok-tui completion bash)" in ~/.bashrc; zsh: grok-tui '
    'completion zsh > "${fpath[1]}/_grok-tui"'
)


def _commands(parser: argparse.ArgumentParser) -> LazyCommands:
    """The top-level parser's sub-parsers."""
    return next(a for a in parser._actions if isinstance(a, LazyCommands))


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
    parser = build_parser(lazy=True)  # the given command's sub-parser is built as parsed
    args, extras = parser.parse_known_args(argv)
    words = " ".join(w for w in (args.command, getattr(args, "action", None)) if w)
    if extras:  # which command takes an option: every command's options are needed
        _commands(parser).build_all()
        parsers = _parsers(parser)
        parsers.get(words, parser).error(_unrecognized(extras, words, parsers))
    here = _parsers(parser).get(words, parser)
    if args.command is None:
        return train_or_open(older_spelling(args), parser)
    _refuse_misplaced(args, parser)
    try:
        return handler(args.command)(args, here)
    except BrokenPipeError:  # `grok-tui presets | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 128 + 13  # as a process ended by SIGPIPE


def _unrecognized(extras: list[str], words: str, parsers: dict[str, Any]) -> str:
    """argparse's "unrecognized arguments", with where an option belongs or what was
    meant, and what the command takes."""
    text = f"unrecognized arguments: {' '.join(given(e) for e in extras)}"
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
            hints.append(f"{option} is an option of {or_list(f'grok-tui {w}' for w in owners)}")
            continue
        known = sorted(s for s in here._option_string_actions if s.startswith("--"))
        close = difflib.get_close_matches(option, known, n=2, cutoff=0.7)
        if close:
            hints.append(f"did you mean {or_list(close)}?")
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
        parser.error(f"{option} is an option of {or_list(f'grok-tui {c}' for c in commands)}")
    action = getattr(args, "action", None)
    if args.device is not None and (
        command not in DEVICE_COMMANDS or (command == "queue" and action != "add")
    ):
        takes = or_list([*DEVICE_COMMANDS[:-1], "queue add"])
        parser.error(f"--device applies to {takes}, not to {command} {action or ''}".strip())


def completion_handler(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``grok-tui completion bash|zsh``: the script, generated from this very parser."""
    try:
        import shtab
    except ImportError:
        return user_error("shell completion needs shtab, which is not installed: pip install shtab")
    print(shtab.complete(build_parser(), shell=args.shell))
    return EXIT_OK


# Each command's options, where a module of its own adds them: (module, the function
# that adds them, the name of its description there or "" for its line of --help). The
# commands whose few options are declared here: OWN_OPTIONS.
COMMAND_OPTIONS = {
    "note": ("grok_tui.cli.runs", "add_note", "NOTE_HELP"),
    "export": ("grok_tui.cli.export", "add_export", "EXPORT_HELP"),
    "sweep-report": ("grok_tui.cli.sweep", "add_sweep_report", "SWEEP_REPORT_HELP"),
    "analyze": ("grok_tui.cli.analyze", "add_analyze", "ANALYZE_HELP"),
    "queue": ("grok_tui.cli.queue", "add_queue", "QUEUE_HELP"),
    "bench": ("grok_tui.cli.bench", "add_bench", "BENCH_HELP"),
    "serve": ("grok_tui.tui.serve", "add_serve_options", ""),
}


OWN_OPTIONS: dict[str, Callable[[CommandParser], None]] = {
    "run": _add_run,
    "resume": _add_resume,
    "tui": _add_tui,
    "presets": _add_presets,
    "validate": _add_validate,
    "runs": _add_runs,
    "gpu-check": _add_gpu_check,
    "schema": _add_schema,
    "completion": _add_completion,
}


# Each command's handler, "module:function", imported when the command runs.
HANDLERS = {
    "run": "grok_tui.cli.train:training_handler",
    "resume": "grok_tui.cli.train:training_handler",
    "tui": "grok_tui.cli.train:training_handler",
    "presets": "grok_tui.cli.presets:presets_handler",
    "validate": "grok_tui.cli.presets:validate_handler",
    "runs": "grok_tui.cli.runs:runs_handler",
    "note": "grok_tui.cli.runs:note_handler",
    "export": "grok_tui.cli.export:export_handler",
    "sweep-report": "grok_tui.cli.sweep:sweep_report_handler",
    "analyze": "grok_tui.cli.analyze:analyze_handler",
    "queue": "grok_tui.cli.queue:queue_handler",
    "bench": "grok_tui.cli.bench:bench_handler",
    "gpu-check": "grok_tui.cli.bench:gpu_check_handler",
    "serve": "grok_tui.tui.serve:serve_command",
    "completion": "grok_tui.cli.parser:completion_handler",
    "schema": "grok_tui.cli.parser:schema_handler",
}


def handler(command: str) -> Handler:
    """The function that runs a command, its module imported now."""
    where, name = HANDLERS[command].split(":")
    return getattr(importlib.import_module(where), name)  # type: ignore[no-any-return]


def schema_handler(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from grok_tui.config.json_schema import schema_command

    return schema_command(args.out)


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

"""The pieces every command's parser is built of: the option types with their bounds,
"did you mean" for a mistyped choice, --runs-dir / --device, and shell completion hints.

The commands' modules add their options with these; parser.py puts them together.
Light: what only an error asks (shipped presets, run and sweep folders) is imported there.
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from grok_tui.cli.table import or_list
from grok_tui.errors import cut_text
from grok_tui.text import safe_text

# Shell completion (shtab reads an action's `complete`; shtab.FILE and shtab.DIRECTORY,
# written out so that the parser is built without shtab). A preset completes as a file
# or as a shipped preset's name.
FILES = {"bash": "_shtab_compgen_files", "zsh": "_files", "tcsh": "f"}


DIRECTORIES = {"bash": "_shtab_compgen_dirs", "zsh": "_files -/", "tcsh": "d"}


PRESETS = {
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


def complete(action: argparse.Action, how: dict[str, Any]) -> argparse.Action:
    action.complete = how  # type: ignore[attr-defined]
    return action


def given(text: str) -> str:
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
                f"takes an integer from {low:,} to {high:,}{note}, got {given(text)}"
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
            raise argparse.ArgumentTypeError(f"takes {allowed}, got {given(text)}")
        return value

    return parse


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
            raise argparse.ArgumentError(action, invalid_choice(action, str(value)))


def invalid_choice(action: argparse.Action, value: str) -> str:
    """argparse's "invalid choice", with the close matches, or for a command that is a
    preset or a run, the command line that was meant."""
    text = f"invalid choice: '{given(value)}'"
    if action.dest == "command":
        meant = meant_command(value)
        if meant is not None:
            return f"{text}; did you mean: {meant}?"
    choices = [str(choice) for choice in action.choices or ()]
    close = difflib.get_close_matches(value, choices, n=3, cutoff=0.6)
    if close:
        return f"{text}; did you mean {or_list(repr(c) for c in close)}?"
    return f"{text} (choose from {', '.join(choices)})"


def meant_command(value: str) -> str | None:
    """``grok-tui quickstart.toml``: grok-tui run quickstart.toml; a run or sweep
    directory: grok-tui resume DIR. (An error's path: what it asks is imported here.)"""
    from grok_tui.cli.presets import find_shipped
    from grok_tui.rundirs import store
    from grok_tui.sweep.sweepdir import is_sweep_dir

    shown = safe_text(cut_text(value, 200))
    if value.endswith(".toml") or os.path.isfile(value) or find_shipped(value) is not None:
        return f"grok-tui run {shown}"
    if is_sweep_dir(value) or store.RunDir(Path(value)).exists():
        return f"grok-tui resume {shown}"
    return None


def global_options(parser: argparse.ArgumentParser, default: Any, device: bool) -> None:
    """--runs-dir (every command) and --device (the commands that train or compute)."""
    complete(
        parser.add_argument(
            "--runs-dir",
            metavar="DIR",
            default=default,
            help="where runs live (default: ./runs or $GROK_TUI_RUNS_DIR)",
        ),
        DIRECTORIES,
    )
    if device:
        parser.add_argument(
            "--device",
            metavar="D",
            default=default,
            help="where to train or compute: cpu, cuda, cuda:N, mps (run, resume: instead of "
            "the preset's train.device; bench: default auto, analyze: cpu, gpu-check: cuda)",
        )


def parent_parser(device: bool) -> CommandParser:
    """The shared parent parser of the commands. Its defaults are SUPPRESS: a value given
    before the command (the top-level parser's) is not overwritten by the command's."""
    parent = CommandParser(add_help=False)
    global_options(parent, argparse.SUPPRESS, device)
    return parent

"""Every command line of README's Commands table runs as written.

The table (the first ``text`` block of "## Commands") is parsed: a line that starts with
``grok-tui`` is a command, up to two spaces; its placeholders (PRESET, RUN, SWEEP_DIR,
K=V, N, ...) become a tiny preset, a fresh run, a small number; an optional part
``[...]`` is given, ``...`` (more of the same) is not, and of ``a|b`` the first is taken.
The quick test checks that the parser takes every line; the slow one runs each line (in
this process, as ``grok_tui.cli.main``; the Ray line in its own process) and checks its
exit code.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from grok_tui import cli
from grok_tui.config import load_preset
from grok_tui.rundirs import runqueue, store
from grok_tui.sweep import load_sweep
from grok_tui.sweep.sweepdir import create_sweep_dir
from grok_tui.training import runner
from grok_tui.tui import serve
from tests.conftest import REPO, TINY_PRESET

pytestmark = pytest.mark.xdist_group("readme-commands")

TINY_SWEEP = 'extends = "tiny.toml"\n[train]\nsteps = 20\n[sweep]\n"train.seed" = [0, 1]\n'
KEPT_STEP = 40  # the analysed run keeps its weights every 20 steps


def table_lines() -> list[str]:
    """The command part of each line of the Commands table."""
    text = (REPO / "README.md").read_text()
    section = text[text.index("\n## Commands\n") :]
    start = section.index("```text\n") + len("```text\n")
    block = section[start : section.index("\n```", start)]
    return [
        re.split(r"\s{2,}", line)[0] for line in block.splitlines() if line.startswith("grok-tui")
    ]


LINES = table_lines()


def words_of(line: str) -> list[str]:
    """The words of a table line: brackets opened, `...` and alternatives dropped."""
    words = []
    for word in shlex.split(line.removeprefix("grok-tui")):
        word = re.sub(r"\.\.\.$", "", word).strip("[]")
        words.append(word.split("|")[0])
    return [w for w in words if w]


class Places:
    """What each placeholder stands for, made on demand in a folder of its own."""

    def __init__(self, folder: Path, trained: store.RunDir | None) -> None:
        """``trained``: the run that note, export and analyze are given; None: nothing
        is made for RUN and SWEEP_DIR (the line is only parsed)."""
        self.folder = folder
        self.runs = folder / "runs"
        self.trained = trained
        self.made = 0
        self.preset = folder / "tiny.toml"
        self.preset.write_text(TINY_PRESET.replace("steps = 60", "steps = 20"))
        self.sweep = folder / "sweep.toml"
        self.sweep.write_text(TINY_SWEEP)

    def fresh(self, stem: str) -> Path:
        self.made += 1
        return self.folder / f"{stem}{self.made}"

    def value(self, command: str, word: str) -> str:
        if word in ("RUN", "RUN_DIR", "SWEEP_DIR") and self.trained is None:
            return word
        if word in ("RUN", "RUN_DIR"):
            if command == "resume":  # one to continue: created, not trained yet
                return str(store.create_run(load_preset(self.preset), self.runs).path)
            return str(self.trained.path)  # type: ignore[union-attr]
        if word == "SWEEP_DIR":
            sweep = load_sweep(self.sweep)
            return str(create_sweep_dir(sweep, sweep.points(), self.runs).path)
        fixed = {
            "PRESET": str(self.preset),
            "SWEEP": str(self.sweep),
            "K=V": "train.steps=10",
            "N": "2",
            "M": "2",
            "F": "0",
            "S": str(KEPT_STEP),
            "D": "cpu",
            "DEVICE": "cpu",
            "DEVICES": "cpu,cpu",
            "ADDRESS": "local",
            "SIZES": "1,2",
            "METRIC": "final_test_acc",
            "TEXT": "a note from the README",
        }
        if word in fixed:
            return fixed[word]
        if word == "DIR":
            return str(self.fresh("dir"))
        if word == "FILE":
            return str(self.fresh("file").with_suffix(".csv"))
        assert not re.fullmatch(r"[A-Z][A-Z_=]*", word), f"a placeholder the test lacks: {word}"
        return word

    def argv(self, line: str) -> list[str]:
        words = words_of(line)
        command = next((w for w in words if not w.startswith("-")), "")
        argv = [self.value(command, word) for word in words]
        if "--presets" in argv:  # the TUI's extra preset folder is a folder
            Path(argv[argv.index("--presets") + 1]).mkdir()
        return argv


def expected_code(argv: list[str]) -> int:
    if argv[:1] == ["gpu-check"]:
        import torch

        return 0 if torch.cuda.is_available() else 2  # exit 2 at once without CUDA
    if "ray" in argv and importlib.util.find_spec("ray") is None:
        return 2  # "needs Ray: pip install 'grok-tui[cluster]'"
    if argv[:1] == ["completion"] and importlib.util.find_spec("shtab") is None:
        return 2  # "needs shtab: pip install shtab"
    if "--against" in argv:
        return 2  # a fresh folder is no danielmamay/grokking checkout: one line, exit 2
    return 0


def test_the_table_names_every_command() -> None:
    named = {words_of(line)[0] if words_of(line) else "" for line in LINES}
    assert set(cli.COMMANDS) <= named, set(cli.COMMANDS) - named
    assert "" in named  # bare grok-tui: the TUI


@pytest.mark.parametrize("line", LINES)
def test_the_parser_takes_each_line_of_the_table(line: str, tmp_path: Path) -> None:
    """Quick: the line parses (no run made, nothing trained)."""
    args, extras = cli.build_parser().parse_known_args(Places(tmp_path, None).argv(line))
    assert extras == []


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> store.RunDir:
    """A completed tiny run with kept weights: what note, export and analyze are given."""
    folder = tmp_path_factory.mktemp("trained")
    (folder / "tiny.toml").write_text(TINY_PRESET)
    preset = load_preset(folder / "tiny.toml", ["train.keep_checkpoint_every=20"])
    run = store.create_run(preset, folder / "runs")
    with runner.claim(run):
        code, _ = runner.execute(preset, run)
    assert code == 0
    return run


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """No TUI is opened (its call is recorded), no queue runner is started, and the
    signal handlers that runs and sweeps install are put back."""
    opened: list[str] = []
    from grok_tui.tui import app

    monkeypatch.setattr(app, "run_app", lambda runs_dir, dirs: opened.append(str(runs_dir)))
    monkeypatch.setattr(runqueue, "_started", {})
    monkeypatch.setattr(runqueue, "start_runner", lambda runs_dir: 0)
    monkeypatch.setattr(serve, "serve", lambda runs_dir, host, port: 0)  # no server
    monkeypatch.setattr(runner.StopFlag, "install", lambda self: None)
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield opened
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.mark.slow  # trains runs, sweeps and groups, times the bench, may start Ray
@pytest.mark.timeout(600)
@pytest.mark.parametrize("line", LINES)
def test_each_line_of_the_table_runs_as_written(
    line: str,
    tmp_path: Path,
    trained: store.RunDir,
    in_process: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    places = Places(tmp_path, trained)
    monkeypatch.setenv("GROK_TUI_RUNS_DIR", str(places.runs))  # the fresh runs folder
    monkeypatch.chdir(tmp_path)
    argv = places.argv(line)
    if "ray" in argv:  # Ray starts and stops in a process of its own
        result = subprocess.run(
            [sys.executable, "-m", "grok_tui", *argv],
            capture_output=True,
            text=True,
            timeout=540,
            cwd=REPO,
        )
        code, out = result.returncode, result.stdout + result.stderr
    else:
        code = cli.main(argv)
        captured = capfd.readouterr()
        out = captured.out + captured.err
    assert code == expected_code(argv), f"{argv}: {out[-3000:]}"
    assert "Traceback" not in out
    if not argv or argv[0] == "tui":
        assert in_process == [str(places.runs)]

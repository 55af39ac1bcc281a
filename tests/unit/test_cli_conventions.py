"""The command line's conventions: subcommands through one parser, global options before
or after the command, "did you mean", shipped presets by name, machine-readable run
lists, shell completion, and 128 + the signal's number as a stopped run's exit code."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from grok_tui import cli
from grok_tui.cli import main
from grok_tui.cli import train as cli_train
from grok_tui.config import Preset, load_preset
from grok_tui.rundirs import runqueue, store
from grok_tui.training import runner
from tests.conftest import REPO
from tests.support.sinks import Collect


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """A runs directory with three runs: one completed, one failed with a formula and an
    escape in its note (from someone else), one whose summary.json is damaged."""
    runs = tmp_path / "runs"
    done = store.create_run(Preset(name="done"), runs)
    store.update_summary(
        done.path,
        status="completed",
        step=30,
        steps=30,
        fit_step=10,
        grok_step=20,
        device="cpu",
        final={"train_acc": 1.0, "test_acc": 0.75},
    )
    odd = store.create_run(Preset(name="odd"), runs)
    store.update_summary(odd.path, status="failed", error="boom")
    odd.set_note('=HYPERLINK("x") \x1b[2J\nsecond line')
    broken = store.create_run(Preset(name="broken"), runs)
    broken.summary_path.write_text("{not json")
    return runs


@pytest.fixture
def handlers() -> Iterator[None]:
    """In-process commands install signal handlers: the test process gets its own back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def error_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """argparse's refusal of a command line: exit 2 and its last line."""
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


# -- one parser, global options anywhere ------------------------------------------------


def test_runs_dir_goes_before_or_after_the_command(runs: Path, capsys) -> None:
    assert main(["--runs-dir", str(runs), "runs"]) == 0
    before = capsys.readouterr().out
    assert main(["runs", "--runs-dir", str(runs)]) == 0
    assert capsys.readouterr().out == before and "-done" in before
    # also for the commands that have sub-commands, and after them
    assert main(["--runs-dir", str(runs), "queue", "list"]) == 0
    assert f"queue of {runs}" in capsys.readouterr().out
    assert main(["queue", "list", "--runs-dir", str(runs)]) == 0
    assert f"queue of {runs}" in capsys.readouterr().out


def test_device_goes_before_or_after_the_command(
    tiny_preset_path: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setattr(runqueue, "_started", {})
    monkeypatch.setattr(runqueue, "start_runner", lambda runs_dir: os.getpid())
    runs = tmp_path / "runs"
    assert (
        main(["--device", "cpu", "queue", "add", str(tiny_preset_path), "--runs-dir", str(runs)])
        == 0
    )
    assert (
        main(["queue", "add", str(tiny_preset_path), "--device", "cpu", "--runs-dir", str(runs)])
        == 0
    )
    out = capsys.readouterr().out
    assert out.count(" on cpu; it starts when a cpu slot is free") == 2
    # where a command takes no device, it says which do
    line = error_of(capsys, "--device", "cpu", "runs", "--runs-dir", str(runs))
    assert "--device applies to run, resume, analyze" in line and "not to runs" in line
    # bench --startup refuses a device wherever it is given
    assert "do not apply to --startup" in error_of(capsys, "--device", "cpu", "bench", "--startup")


def test_the_subcommand_forms_run_resume_and_tui(
    tiny_preset_path: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    calls: list[tuple] = []
    monkeypatch.setattr(cli_train, "cmd_run", lambda *a: calls.append(("run", *a)) or 0)
    monkeypatch.setattr(cli_train, "cmd_resume", lambda *a: calls.append(("resume", *a)) or 0)
    monkeypatch.setattr(cli_train, "open_tui", lambda *a: calls.append(("tui", *a)) or 0)
    runs = tmp_path / "runs"
    assert (
        main(["run", str(tiny_preset_path), "--set", "train.steps=5", "--runs-dir", str(runs)]) == 0
    )
    assert (
        main(["--run", str(tiny_preset_path), "--set", "train.steps=5", "--runs-dir", str(runs)])
        == 0
    )
    assert calls[0] == calls[1] == ("run", tiny_preset_path, ["train.steps=5"], runs, None)
    assert main(["--runs-dir", str(runs), "resume", "R", "--device", "cpu", "--force"]) == 0
    assert main(["--resume", "R", "--device", "cpu", "--force", "--runs-dir", str(runs)]) == 0
    assert calls[2] == calls[3] == ("resume", "R", runs, "cpu", True)
    assert main(["tui", "--presets", "mine", "--runs-dir", str(runs)]) == 0
    assert main(["--presets", "mine", "--runs-dir", str(runs)]) == 0
    assert calls[4] == calls[5] == ("tui", runs, [Path("mine")])


def test_a_stopped_group_and_the_queue_runner_exit_as_the_signal_says(
    tmp_path: Path, monkeypatch, handlers
) -> None:
    """`resume RUN RUN` gives the group its own stop flag, to tell 143 from 130; the queue
    runner stopped by SIGTERM exits 143 too."""
    from grok_tui.training.group import runner as group_runner

    runs = [store.create_run(Preset(name=f"g{i}"), tmp_path) for i in range(2)]
    by: list[str] = []

    def stopped_group(members, *, device, force, stop):
        stop.signal_name = by[-1]
        return runner.EXIT_STOPPED

    monkeypatch.setattr(group_runner, "execute_group", stopped_group)
    monkeypatch.setattr(runner.StopFlag, "install", lambda self: None)
    for name, code in (("SIGTERM", 143), ("SIGINT", 130)):
        by.append(name)
        assert main(["resume", str(runs[0].path), str(runs[1].path)]) == code

    def serve(runs_dir, *, poll_s, should_stop, log) -> int:
        os.kill(os.getpid(), signal.SIGTERM)
        assert should_stop()
        return 130

    monkeypatch.setattr(runqueue, "serve", serve)
    assert main(["queue", "run", "--runs-dir", str(tmp_path)]) == 143


# -- mistakes get the right form ---------------------------------------------------------


def test_a_mistyped_command_gets_a_did_you_mean(capsys) -> None:
    assert error_of(capsys, "rnus").endswith("invalid choice: 'rnus'; did you mean 'runs'?")
    assert "did you mean 'validate'?" in error_of(capsys, "valdiate", "x.toml")
    line = error_of(capsys, "zzz")
    assert "invalid choice: 'zzz' (choose from run, resume, tui," in line
    # a subcommand's choices too
    assert "did you mean 'add'?" in error_of(capsys, "queue", "ad", "x.toml")
    assert "did you mean 'final_test_acc'" in error_of(
        capsys, "sweep-report", "--metric", "final_tset_acc"
    )


def test_a_preset_or_a_run_given_as_the_command_names_the_command_line_meant(
    tiny_preset_path: Path, tmp_path: Path, capsys
) -> None:
    line = error_of(capsys, "preset.toml")
    assert line.endswith("invalid choice: 'preset.toml'; did you mean: grok-tui run preset.toml?")
    assert "did you mean: grok-tui run quickstart?" in error_of(capsys, "quickstart")
    run = store.create_run(Preset(name="r"), tmp_path)
    assert f"did you mean: grok-tui resume {run.path}?" in error_of(capsys, str(run.path))


def test_unrecognized_arguments_say_where_they_belong(capsys) -> None:
    line = error_of(capsys, "runs", "--seeds", "3")
    assert line.endswith("unrecognized arguments: --seeds 3; --seeds is an option of grok-tui run")
    line = error_of(capsys, "run", "a.toml", "b.toml")
    assert line.endswith("unrecognized arguments: b.toml; grok-tui run takes one PRESET")
    line = error_of(capsys, "resume", "R", "--set", "optim.lr=1")
    assert "--set is an option of grok-tui run, grok-tui validate or grok-tui queue add" in line
    assert error_of(capsys, "runs", "--jsn").endswith("did you mean --json?")
    assert error_of(capsys, "runs", "extra").endswith(
        "grok-tui runs takes no arguments besides its options"
    )


def test_options_of_a_command_before_it_are_told_to_go_after_it(capsys) -> None:
    assert error_of(capsys, "--seeds", "3", "run", "x.toml").endswith(
        "--seeds goes after the command: grok-tui run ... --seeds ..."
    )
    assert error_of(capsys, "--force", "runs").endswith("--force is an option of grok-tui resume")
    assert error_of(capsys, "--run", "x.toml", "runs").endswith(
        "--run is the older spelling of grok-tui run: give it or the command runs, not both"
    )


def test_help_lists_every_command_with_its_line(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps the lines
    for name, line in cli.COMMANDS.items():
        assert f"{name} {' '.join(line.split())}" in out
    assert "--runs-dir DIR" in out and "--run PRESET" in out and "--resume RUN" in out


# -- shipped presets by name -------------------------------------------------------------


def test_shipped_presets_are_found_by_name() -> None:
    shipped = cli.shipped_presets()
    on_disk = sorted(p.relative_to(REPO / "presets") for p in (REPO / "presets").rglob("*.toml"))
    assert sorted(Path(f"{name}.toml") for name in shipped) == on_disk
    assert next(iter(shipped)) == "quickstart"  # the top-level files first
    nanda = (REPO / "presets/classic/nanda-p113.toml").resolve()
    for name in ("classic/nanda-p113", "classic/nanda-p113.toml", "nanda-p113"):
        assert Path(cli.resolve_preset(name)).resolve() == nanda
    assert cli.find_shipped("t2-birnn") is not None  # one file of that name
    assert cli.find_shipped("/abs/quickstart") is None


def test_validate_run_and_queue_add_take_a_shipped_preset_s_name(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    assert main(["validate", "quickstart", "classic/nanda-p113", "sweeps/tiny-zip"]) == 0
    out = capsys.readouterr().out
    assert "ok      quickstart: quickstart · add p=97" in out
    assert "ok      classic/nanda-p113: nanda-p113" in out and "sweep tiny-zip" in out
    calls: list[Path] = []
    monkeypatch.setattr(cli_train, "cmd_run", lambda path, *rest: calls.append(path) or 0)
    assert main(["run", "quickstart", "--runs-dir", str(tmp_path)]) == 0
    assert main(["--run", "classic/nanda-p113", "--runs-dir", str(tmp_path)]) == 0
    assert [p.relative_to(REPO / "presets").as_posix() for p in calls] == [
        "quickstart.toml",
        "classic/nanda-p113.toml",
    ]
    monkeypatch.setattr(runqueue, "_started", {})
    monkeypatch.setattr(runqueue, "start_runner", lambda runs_dir: os.getpid())
    assert main(["queue", "add", "quickstart", "--runs-dir", str(tmp_path / "q")]) == 0
    (entry,) = runqueue.read_queue(tmp_path / "q").entries
    assert store.RunDir(tmp_path / "q" / entry.run).load_preset().name == "quickstart"


def test_a_file_in_the_current_folder_wins_over_a_shipped_name(
    tiny_preset_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tiny_preset_path.parent)
    (tiny_preset_path.parent / "quickstart.toml").write_text(tiny_preset_path.read_text())
    assert cli.resolve_preset("quickstart.toml") == "quickstart.toml"
    assert cli.resolve_preset("quickstart") != "quickstart.toml"  # no file of that name


def test_an_unknown_preset_name_gets_the_close_shipped_ones(tmp_path: Path, capsys) -> None:
    assert main(["validate", "quikstart"]) == 2
    out = capsys.readouterr().out
    assert "quikstart: file not found, nor a shipped preset; did you mean quickstart?" in out
    assert main(["run", "nanda-p11", "--runs-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: nanda-p11: file not found, nor a shipped preset; did you mean")
    assert "classic/nanda-p113" in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_presets_lists_names_and_descriptions(capsys) -> None:
    shipped = cli.shipped_presets()
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(shipped)
    assert lines[0].split(None, 1)[1].startswith("A CPU-sized grokking run: an MLP on (x + y)")
    assert any("[sweep] four tiny MLP runs in zip mode" in line for line in lines)
    assert main(["presets", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in rows] == list(shipped)
    quickstart = rows[0]
    assert quickstart["preset"] == "quickstart" and quickstart["sweep"] is False
    assert "grokking gap" in quickstart["description"] and quickstart["error"] is None
    assert Path(quickstart["path"]).is_file()
    assert main(["presets", "--names"]) == 0
    assert capsys.readouterr().out.split() == list(shipped)


# -- runs --json / --csv -----------------------------------------------------------------


def test_runs_json_has_every_run_and_the_table_s_fields(runs: Path, capsys) -> None:
    assert main(["runs", "--json", "--runs-dir", str(runs)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out  # json.dumps escapes control characters
    done, odd, broken = json.loads(out)
    assert list(done) == list(cli.RUN_FIELDS)
    assert done["id"].endswith("-done") and done["name"] == "done"
    assert (done["status"], done["step"], done["steps"]) == ("completed", 30, 30)
    assert (done["fit_step"], done["grok_step"]) == (10, 20)
    assert (done["final_train_acc"], done["final_test_acc"]) == (1.0, 0.75)
    assert done["device"] == "cpu" and done["note"] is None and done["error"] is None
    assert odd["status"] == "failed" and odd["error"] == "error: boom"
    assert (broken["status"], broken["name"], broken["step"]) == ("unreadable", "broken", None)
    assert broken["error"] == "unreadable: summary.json is not valid JSON"
    assert odd["note"] == '=HYPERLINK("x") \x1b[2J\nsecond line'


def test_runs_csv_goes_through_the_csv_cell_rule(runs: Path, tmp_path: Path, capsys) -> None:
    assert main(["runs", "--csv", "--runs-dir", str(runs)]) == 0
    printed = capsys.readouterr().out
    assert "\x1b" not in printed
    header, done, odd, broken = list(csv.reader(io.StringIO(printed)))
    assert header == list(cli.RUN_FIELDS)
    assert done[header.index("final_test_acc")] == "0.75"
    # a formula is text (a leading '), and printed, one terminal-safe line
    assert odd[header.index("note")] == '\'=HYPERLINK("x") \\x1b[2J\\nsecond line'
    target = tmp_path / "out" / "runs.csv"
    assert main(["runs", "--csv", str(target), "--runs-dir", str(runs)]) == 0
    assert broken[header.index("status")] == "unreadable"
    assert "wrote 3 run(s) to" in capsys.readouterr().out
    rows = list(csv.reader(io.StringIO(target.read_text())))
    assert rows[2][header.index("note")] == '\'=HYPERLINK("x") \x1b[2J\nsecond line'
    assert error_of(capsys, "runs", "--json", "--csv").endswith(
        "argument --csv: not allowed with argument --json"
    )


def test_runs_json_of_an_empty_runs_directory_is_an_empty_list(tmp_path: Path, capsys) -> None:
    assert main(["runs", "--json", "--runs-dir", str(tmp_path / "none")]) == 0
    assert json.loads(capsys.readouterr().out) == []


# -- shell completion --------------------------------------------------------------------


def test_completion_prints_a_script_from_the_parser(capsys) -> None:
    pytest.importorskip("shtab")
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    assert "_shtab_grok_tui" in script and "_grok_tui_preset_files" in script
    for name in cli.COMMANDS:
        assert name in script
    assert main(["completion", "zsh"]) == 0
    assert capsys.readouterr().out.startswith("#compdef grok-tui")
    bash = shutil.which("bash")
    if bash is None:
        return
    complete = (
        'source /dev/stdin; COMP_WORDS=(grok-tui ru); COMP_CWORD=1; COMP_LINE="grok-tui ru"; '
        'COMP_POINT=11; _shtab_grok_tui; echo "${COMPREPLY[*]}"'
    )
    result = subprocess.run(
        [bash, "-c", complete], input=script, capture_output=True, text=True, timeout=30
    )
    assert result.stdout.split() == ["run", "runs"], result.stderr


def test_completion_without_shtab_says_how_to_get_it(monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "shtab", None)  # import shtab: ImportError
    assert main(["completion", "bash"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "error: shell completion needs shtab, which is not installed: pip install shtab\n"
    )


# -- exit codes of a stop ----------------------------------------------------------------


def test_a_stop_exits_128_plus_the_signal_s_number() -> None:
    assert runner.stop_exit_code("SIGTERM") == runner.EXIT_TERMINATED == 128 + signal.SIGTERM
    assert runner.stop_exit_code("SIGINT") == runner.EXIT_STOPPED == 128 + signal.SIGINT
    assert runner.stop_exit_code("") == runner.stop_exit_code(None) == 130  # asked otherwise
    assert set(runner.STOPPED_CODES) == {130, 143}


@pytest.mark.parametrize(("signal_name", "code"), [("SIGTERM", 143), ("SIGINT", 130), ("", 130)])
def test_a_run_stopped_by_sigterm_exits_143(
    tiny_preset_path: Path, tmp_path: Path, signal_name: str, code: int
) -> None:
    preset = load_preset(tiny_preset_path)
    run = store.create_run(preset, tmp_path)
    stop = runner.StopFlag()

    class StopAt20(Collect):
        def on_record(self, record: dict, summary: dict) -> None:
            if record["step"] >= 20:
                stop.requested, stop.signal_name = True, signal_name

    with runner.claim(run):
        got, summary = runner.execute(preset, run, sinks=[StopAt20()], stop=stop)
    assert (got, summary["status"]) == (code, "stopped")


def test_a_stopped_sweep_exits_as_its_signal_says(monkeypatch, handlers) -> None:
    """The sweep's stop flag stops its executor and names the signal in the exit code."""
    from grok_tui.sweep import commands

    class Pool:
        def __init__(self, *args, **kwargs) -> None:
            self.stopped = False

        def stop(self) -> None:
            self.stopped = True

    monkeypatch.setattr(commands, "ProcessExecutor", Pool)
    cases = ((signal.SIGTERM, 130, 143), (signal.SIGINT, 130, 130), (signal.SIGTERM, 1, 1))
    for sig, code, expected in cases:  # a failure stays one

        def train(executor, stopped_by, sig=sig, code=code) -> int:
            os.kill(os.getpid(), sig)
            assert executor.stopped and stopped_by() == sig.name
            return code

        assert commands._train_with(None, 1, None, [], 1, io.StringIO(), train) == expected

"""The command line against a user's mistakes and other people's files (issue 32).

Each mistake gives one line (what, where, what is allowed) and exit 2, loses nothing and
never hangs: ``note`` on a note too long, not UTF-8, on a note.txt that is a directory or
a disk that is full or read-only; options that size a loop or a thread pool; preset
floats that are not finite. And text read from disk (preset and sweep names, swept
values, run ids, errors) never reaches the terminal as an escape sequence.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import math
import os
import re
import shutil
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from grok_tui.cli import main
from grok_tui.config import (
    DataConfig,
    GrokfastConfig,
    MLPConfig,
    OptimConfig,
    PresetError,
    TrainConfig,
    load_preset,
)
from grok_tui.rundirs import store
from grok_tui.sweep import commands, create_sweep_dir, load_sweep, read_sweep_dir
from grok_tui.sweep.executor import PointResult
from grok_tui.sweep.report import report_text
from grok_tui.training import runner
from tests.conftest import REPO, TINY_PRESET

CLEAR = "\x1b[2J"  # erase the screen
TITLE = "\x1b]0;pwned\x07"  # OSC: retitle the terminal, ended by BEL
CSI = "\x9b2J"  # the C1 form of CLEAR
EVIL = f"evil{CLEAR}{TITLE}{CSI}"
# What must not reach the terminal: C0 controls but the newline, DEL, C1 controls.
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def assert_no_controls(*texts: str) -> None:
    for text in texts:
        found = sorted(set(CONTROL.findall(text)))
        assert not found, f"control characters {found!r} reached the terminal in {text!r}"


def one_error_line(err: str) -> str:
    """stderr holds exactly one line, an error: that line."""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def toml_str(text: str) -> str:
    """`text` as a TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text)


# -- grok-tui note -----------------------------------------------------------------------


@pytest.fixture
def noted_run(tiny_preset_path: Path, runs_dir: Path) -> store.RunDir:
    """A run (never trained) whose note says 'keep me'."""
    run = store.create_run(load_preset(tiny_preset_path), runs_dir)
    run.set_note("keep me")
    return run


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("x" * (64 * 1024), "a note holds less than 64 KiB, this one is 65,536 bytes"),
        (os.fsdecode(b"caf\xff"), "not UTF-8 text (\\xff at character 4)"),  # as sys.argv has it
        ("   ", "only spaces; --clear removes a note"),
    ],
    ids=["too-long", "not-utf8", "only-spaces"],
)
def test_a_note_that_cannot_be_written_is_one_error_and_keeps_the_old_note(
    noted_run: store.RunDir, capsys: pytest.CaptureFixture[str], text: str, needle: str
) -> None:
    assert main(["note", str(noted_run.path), text]) == 2
    captured = capsys.readouterr()
    line = one_error_line(captured.err)
    assert line.startswith("error: TEXT: ") and needle in line and "unchanged" in line
    assert captured.out == "" and noted_run.note() == "keep me"


def test_a_note_txt_that_is_a_directory_is_reported_and_left_alone(
    noted_run: store.RunDir, capsys: pytest.CaptureFixture[str]
) -> None:
    noted_run.note_path.unlink()
    noted_run.note_path.mkdir()
    (noted_run.note_path / "mine.txt").write_text("someone's file\n")
    for args in (["new text"], ["--clear"]):
        assert main(["note", str(noted_run.path), *args]) == 2
        line = one_error_line(capsys.readouterr().err)
        assert f"{noted_run.note_path}: is a directory (EISDIR); the note is unchanged" in line
    assert (noted_run.note_path / "mine.txt").read_text() == "someone's file\n"
    assert main(["note", str(noted_run.path)]) == 0  # shown as no note, not a traceback
    assert capsys.readouterr().out.endswith(": (no note)\n")


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS], ids=["full", "read-only"])
@pytest.mark.parametrize("args", [["new", "text"], ["--clear"]], ids=["set", "clear"])
def test_a_disk_that_refuses_the_note_is_one_error(
    noted_run: store.RunDir,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    code: int,
    args: list[str],
) -> None:
    """The write itself fails (as it does on a full or read-only disk): exit 2, one line
    naming the file and the reason. test_a_real_full_or_read_only_disk_keeps_the_note
    does the same on real file systems."""

    def refuse(self: store.RunDir, text: str) -> None:
        raise OSError(code, os.strerror(code), str(self.note_path))

    monkeypatch.setattr(store.RunDir, "set_note", refuse)
    assert main(["note", str(noted_run.path), *args]) == 2
    line = one_error_line(capsys.readouterr().err)
    name = errno.errorcode[code]
    assert f"{noted_run.note_path}: {os.strerror(code).lower()} ({name})" in line
    assert line.endswith("the note is unchanged") and noted_run.note() == "keep me"


def _can_mount(folder: Path) -> bool:
    """Whether this process may mount a tmpfs in a mount namespace of its own (root)."""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    folder.mkdir()
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "mount", "-t", "tmpfs", "tmpfs", folder],
        capture_output=True,
        timeout=30,
    )
    return probe.returncode == 0


NOTE_ON_SMALL_DISK = r"""
set -u
mount -t tmpfs -o size=256k tmpfs "$MNT" || exit 90
cp -a "$RUN" "$MNT/run"
dd if=/dev/zero of="$MNT/fill" bs=4k 2>/dev/null
"$PY" -m grok_tui note "$MNT/run" "a new note" 2> "$OUT/full.err"; echo $? > "$OUT/full.rc"
cat "$MNT/run/note.txt" > "$OUT/full.note"
rm "$MNT/fill"
mount -o remount,ro "$MNT" || exit 91
"$PY" -m grok_tui note "$MNT/run" "a new note" 2> "$OUT/ro.err"; echo $? > "$OUT/ro.rc"
"$PY" -m grok_tui note "$MNT/run" --clear 2> "$OUT/ro-clear.err"; echo $? > "$OUT/ro-clear.rc"
cat "$MNT/run/note.txt" > "$OUT/ro.note"
"""


@pytest.mark.slow
def test_a_real_full_or_read_only_disk_keeps_the_note(
    noted_run: store.RunDir, tmp_path: Path
) -> None:
    """A tmpfs in a mount namespace of its own (gone with the process): filled up, then
    remounted read-only. Each note is one error line, exit 2, and the old note stays."""
    if not _can_mount(tmp_path / "probe"):
        pytest.skip("needs unshare and mount (root in a namespace)")
    mnt, out = tmp_path / "mnt", tmp_path / "out"
    mnt.mkdir()
    out.mkdir()
    env = {**os.environ, "MNT": str(mnt), "RUN": str(noted_run.path), "OUT": str(out)}
    env["PY"] = sys.executable
    done = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", NOTE_ON_SMALL_DISK],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for case, reason in (
        ("full", "no space left on device (ENOSPC)"),
        ("ro", "read-only file system (EROFS)"),
        ("ro-clear", "read-only file system (EROFS)"),
    ):
        assert (out / f"{case}.rc").read_text().strip() == "2", case
        line = one_error_line((out / f"{case}.err").read_text())
        assert f"{mnt}/run/note.txt: {reason}; the note is unchanged" in line
    assert (out / "full.note").read_text() == "keep me\n"
    assert (out / "ro.note").read_text() == "keep me\n"


@pytest.mark.slow
def test_a_note_argument_that_is_not_utf8_is_one_error_in_a_real_process(
    noted_run: store.RunDir,
) -> None:
    """What the shell passes: the bytes b'\\xff' in argv (Python sees a lone surrogate)."""
    result = subprocess.run(
        [sys.executable, "-m", "grok_tui", "note", str(noted_run.path), b"\xff"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert "not UTF-8 text (\\xff at character 1)" in one_error_line(result.stderr)
    assert noted_run.note() == "keep me"


# -- options with a bounded type ----------------------------------------------------------


class RayStarted(AssertionError):
    pass


@pytest.fixture
def no_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sweep that reaches Ray fails the test at once instead of starting Ray."""

    def refuse(*args: Any, **kwargs: Any) -> int:
        raise RayStarted("the sweep got as far as Ray")

    monkeypatch.setattr(commands, "_on_ray", refuse)


@pytest.fixture
def sweep_file(tiny_preset_path: Path) -> Path:
    path = tiny_preset_path.parent / "grid.toml"
    path.write_text('extends = "tiny.toml"\n[train]\nsteps = 10\n[sweep]\n"train.seed" = [0, 1]\n')
    return path


BAD_OPTIONS = [
    (["sweep-report", "S", "--width", "1000000000"], "--width", "an integer from 30 to 1,000"),
    (["analyze", "R", "--landscape-points", "100000"], "--landscape-points", "from 1 to 101"),
    (["analyze", "R", "--landscape-points", "0"], "--landscape-points", "from 1 to 101"),
    (["analyze", "R", "--perturb-samples", "10000000"], "--perturb-samples", "from 1 to 100,000"),
    (["analyze", "R", "--perturb-scale", "nan"], "--perturb-scale", "above 0 and at most 100"),
    (["analyze", "R", "--perturb-scale", "inf"], "--perturb-scale", "above 0 and at most 100"),
    (["analyze", "R", "--perturb-scale", "0"], "--perturb-scale", "above 0 and at most 100"),
    (["analyze", "R", "--landscape-span", "inf"], "--landscape-span", "above 0 and at most 100"),
    (["analyze", "R", "--seed", str(2**64)], "--seed", "an integer from 0 to 4,294,967,295"),
    (["analyze", "R", "--seed", "-1"], "--seed", "an integer from 0 to 4,294,967,295"),
    (["analyze", "R", "--threads", "100000"], "--threads", "(this machine's CPUs)"),
    (["analyze", "R", "--threads", "0"], "--threads", "an integer from 1 to"),
    (["analyze", "R", "--max-examples", "0"], "--max-examples", "from 1 to 2,000,000"),
    (["analyze", "R", "--max-checkpoints", "-3"], "--max-checkpoints", "from 1 to 100,000"),
    (["analyze", "R", "--step", "-1"], "--step", "from 0 to 100,000,000"),
    (["analyze", "R", "--link-step", "1e3"], "--link-step", "an integer from 1 to 1,414"),
    (["sweep-report", "S", "--width", "-5"], "--width", "an integer from 30 to 1,000"),
]


@pytest.mark.parametrize(("args", "option", "allowed"), BAD_OPTIONS)
def test_an_option_out_of_range_is_refused_as_it_is_parsed(
    args: list[str],
    option: str,
    allowed: str,
    runs_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No hang (a 10^9-column heatmap, 10^10 loss evaluations), no crash (t-SNE's seed),
    no 100,000 threads: argparse's error, which names the option, what it allows and
    what was given."""
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--runs-dir", str(runs_dir)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert f"error: argument {option}: takes " in last and allowed in last
    assert last.endswith(f"got {args[args.index(option) + 1]}")
    assert not runs_dir.exists()


def test_an_option_in_range_is_taken(runs_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The bounds let the allowed values through: the error is the missing sweep's."""
    assert main(["sweep-report", "nothing", "--width", "30", "--runs-dir", str(runs_dir)]) == 2
    assert "no sweep directory 'nothing'" in capsys.readouterr().err
    rest = ["--threads", "1", "--seed", str(2**32 - 1), "--perturb-scale", "100"]
    assert main(["analyze", "nothing", *rest, "--runs-dir", str(runs_dir)]) == 2
    assert "no run directory 'nothing'" in capsys.readouterr().err


@pytest.mark.usefixtures("no_ray")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cpus-per-run", "nan"], "--cpus-per-run must be above 0: a number from 0.0001 to 1024"),
        (["--cpus-per-run", "inf"], "--cpus-per-run must be above 0: a number from 0.0001 to 1024"),
        (["--cpus-per-run", "1e-9"], "--cpus-per-run must be above 0"),
        (["--gpus-per-run", "nan"], "--gpus-per-run must be 0 or more: 0 or a number from 0.0001"),
        (["--gpus-per-run", "inf"], "--gpus-per-run must be 0 or more"),
        (["--gpus-per-run", "1e-9"], "--gpus-per-run must be 0 or more"),
    ],
)
def test_ray_resources_that_are_no_number_are_refused_before_anything_is_made(
    args: list[str],
    message: str,
    sweep_file: Path,
    runs_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """nan failed `cpus <= 0`: the sweep directory was made and Ray started before Ray's
    scheduler refused the task. Now one line, exit 2, nothing made, Ray not reached."""
    ray = ["--executor", "ray", *args, "--runs-dir", str(runs_dir)]
    assert main(["--run", str(sweep_file), *ray]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert message in line and line.endswith(f"got {float(args[1]):g}")
    assert not runs_dir.exists()


@pytest.mark.usefixtures("no_ray")
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cpus_per_run", math.nan),
        ("cpus_per_run", math.inf),
        ("cpus_per_run", 1e-6),
        ("gpus_per_run", math.nan),
        ("gpus_per_run", 1e-6),
    ],
)
def test_ray_options_given_another_way_are_checked_before_anything_is_made(
    field: str, value: float, sweep_file: Path, runs_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """RayOptions.check (the sweep commands' own): nan failed no `x <= 0`, so the sweep
    directory was made and Ray started before Ray's scheduler refused the task."""
    ray = dataclasses.replace(commands.RayOptions(), **{field: value})
    option = f"--{field.replace('_', '-')} must be"
    with pytest.raises(PresetError, match=option):
        ray.check()
    assert commands.run_command(sweep_file, [], runs_dir, None, None, None, ray=ray) == 2
    assert option in one_error_line(capsys.readouterr().err)
    assert not runs_dir.exists()
    sweep = load_sweep(sweep_file)
    made = create_sweep_dir(sweep, sweep.points(), runs_dir)
    assert commands.resume_command(made.path, None, None, None, ray=ray) == 2
    assert option in one_error_line(capsys.readouterr().err)
    assert set(read_sweep_dir(made.path).statuses().values()) == {"created"}


# -- preset floats are finite --------------------------------------------------------------


def float_fields() -> list[str]:
    """Every float field of a preset (the tiny preset's MLP for the model), dotted."""
    sections: list[tuple[str, type[BaseModel]]] = [
        ("data", DataConfig),
        ("model", MLPConfig),
        ("optim", OptimConfig),
        ("optim.grokfast", GrokfastConfig),
        ("train", TrainConfig),
    ]
    found = []
    for prefix, model in sections:
        for name, info in model.model_fields.items():
            kind = info.annotation
            optional = typing.get_origin(kind) is not tuple and float in typing.get_args(kind)
            if kind is float or optional:  # float and float | None (betas: a pair)
                found.append(f"{prefix}.{name}")
    return found


def test_the_float_fields_are_found() -> None:
    assert {"optim.eps", "optim.weight_decay", "optim.grokfast.lamb", "train.init_scale"} <= set(
        float_fields()
    )


@pytest.mark.parametrize("field", float_fields())
@pytest.mark.parametrize("value", ["inf", "-inf", "nan"])
def test_every_float_field_of_a_preset_is_finite(
    tiny_preset_path: Path, field: str, value: str
) -> None:
    with pytest.raises(PresetError) as err:
        load_preset(tiny_preset_path, [f"{field}={value}"])
    assert f"--set: {field}: Input should be a finite number (got {value})" in str(err.value)


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ("[optim]\neps = inf\n", "optim.eps"),
        ("[optim]\nweight_decay = inf\n", "optim.weight_decay"),
        ("[optim]\ngrokfast = { lamb = inf }\n", "optim.grokfast.lamb"),
        ("[train]\ninit_scale = inf\n", "train.init_scale"),
        ("[optim]\ngrad_clip = nan\n", "optim.grad_clip"),
    ],
)
def test_a_non_finite_float_names_the_file_line_and_field(
    tiny_preset_path: Path, capsys: pytest.CaptureFixture[str], table: str, field: str
) -> None:
    path = tiny_preset_path.parent / "endless.toml"
    path.write_text(f'extends = "tiny.toml"\n{table}')
    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr().out
    assert out.startswith(f"INVALID {path}\n")
    assert f"  {path}:3: {field}: Input should be a finite number" in out


# -- no escape sequence reaches the terminal ---------------------------------------------


def test_validate_prints_names_files_and_errors_escaped(
    tiny_preset_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tiny_preset_path.parent
    preset = folder / "named.toml"
    preset.write_text(
        f'extends = "tiny.toml"\nname = {toml_str(EVIL)}\ndescription = {toml_str(EVIL)}\n'
    )
    sweep = folder / "swept.toml"
    sweep.write_text(
        f'extends = "tiny.toml"\nname = {toml_str(EVIL)}\n[sweep]\n'
        f'"description" = [{toml_str("a" + CLEAR)}, {toml_str("b" + TITLE)}]\n'
    )
    broken = folder / f"broken{TITLE}.toml"  # the file's name, and a key quoted by its error
    broken.write_text(f'extends = "tiny.toml"\n[optim]\n{toml_str("lr" + CLEAR)} = 1\n')
    bad_sweep = folder / "bad-sweep.toml"
    bad_sweep.write_text(  # an invalid point: its error names its coordinates
        f'extends = "tiny.toml"\n[sweep]\n"description" = [{toml_str(EVIL)}]\n'
        '"optim.lr" = [1e-3, -1.0]\n'
    )
    assert main(["validate", *map(str, (preset, sweep, broken, bad_sweep))]) == 2
    captured = capsys.readouterr()
    assert_no_controls(captured.out, captured.err)
    shown = "evil\\x1b[2J\\x1b]0;pwned\\x07\\x9b2J"
    assert f"ok      {preset}: {shown} · add p=11" in captured.out
    assert f"ok      {sweep}: sweep {shown} · grid of 2 points" in captured.out
    assert f"INVALID {folder}/broken\\x1b]0;pwned\\x07.toml" in captured.out
    assert captured.out.count("INVALID") == 2


class FailingExecutor:
    """Stands in for the process pool: every point fails at once, with an error that
    quotes an escape sequence (as a point's log or summary may)."""

    jobs = 1
    devices: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def stop(self) -> None:
        pass

    def run(self, jobs: Any, on_done: Any) -> list[PointResult]:
        results = []
        for job in jobs:
            summary = store.update_summary(job.run.path, status="failed", error=f"boom {EVIL}")
            results.append(PointResult(job, "failed", 1, summary=summary))
            on_done(results[-1])
        return results


@pytest.fixture
def evil_sweep_file(tiny_preset_path: Path) -> Path:
    path = tiny_preset_path.parent / "evil-sweep.toml"
    path.write_text(
        f'extends = "tiny.toml"\nname = {toml_str(EVIL)}\n[train]\nsteps = 10\n[sweep]\n'
        f'"description" = [{toml_str("a" + CLEAR)}, {toml_str("b" + TITLE + CSI)}]\n'
        '"optim.lr" = [1e-3, 3e-3]\n'
    )
    return path


def test_sweep_point_lines_are_printed_escaped(
    evil_sweep_file: Path,
    runs_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(commands, "ProcessExecutor", FailingExecutor)
    assert main(["--run", str(evil_sweep_file), "--runs-dir", str(runs_dir)]) == 1
    captured = capsys.readouterr()
    assert_no_controls(captured.out, captured.err)
    failed = [line for line in captured.out.splitlines() if "] failed " in line]
    assert len(failed) == 4
    assert all("error: boom evil\\x1b[2J\\x1b]0;pwned\\x07\\x9b2J" in line for line in failed)
    assert any("description=a\\x1b[2J" in line for line in failed)
    (sweep_path,) = [p for p in runs_dir.iterdir() if "-sweep-" in p.name]
    assert main(["--resume", str(sweep_path)]) == 1  # the same lines, resumed
    captured = capsys.readouterr()
    assert_no_controls(captured.out, captured.err)
    assert captured.out.count("error: boom evil\\x1b[2J") == 4


def test_sweep_report_prints_values_statuses_and_ids_escaped(
    evil_sweep_file: Path, runs_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = load_sweep(evil_sweep_file)
    sweep_dir = create_sweep_dir(sweep, sweep.points(), runs_dir)
    for n, point in enumerate(sweep_dir.points()):
        store.update_summary(
            point.run.path,
            status=f"completed{TITLE}",
            step=10,
            fit_step=5,
            grok_step=8 + n,
            final={"train_acc": 1.0, "test_acc": 0.25 * n, "train_loss": 0.1, "test_loss": 2.0},
        )
    info = json.loads(sweep_dir.json_path.read_text())
    info["name"] = EVIL
    sweep_dir.json_path.write_text(json.dumps(info))
    for args in ([str(sweep_dir.path)], [str(sweep_dir.path), "--plain"], []):
        assert main(["sweep-report", *args, "--runs-dir", str(runs_dir)]) == 0
        captured = capsys.readouterr()
        assert_no_controls(captured.out, captured.err)
    assert main(["sweep-report", str(sweep_dir.path), "--x", "description"]) == 0
    out = capsys.readouterr().out
    assert_no_controls(out)
    table = [line for line in out.splitlines() if re.match("[1-4]  ", line)]
    assert len(table) == 4 and "a\\x1b[2J" in table[0] and "completed\\x1b]0;pwned" in table[0]
    # the table's columns line up: escaped before their widths were measured
    assert len({line.index("completed") for line in table}) == 1
    # coloured (a terminal): the heatmap's own colours, nothing from the sweep
    coloured = report_text(read_sweep_dir(sweep_dir.path), color=True)
    colours = re.compile(r"\x1b\[[0-9;]*m")
    assert colours.search(coloured)
    assert_no_controls(colours.sub("", coloured))


@pytest.fixture
def evil_run(tiny_preset_path: Path, runs_dir: Path) -> store.RunDir:
    """A run directory whose name (its id) holds escape sequences."""
    run = store.create_run(load_preset(tiny_preset_path), runs_dir)
    return store.RunDir(run.path.rename(runs_dir / f"20260101-000000-000-{EVIL}"))


def test_resume_lines_are_printed_escaped(
    evil_run: store.RunDir, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner.StopFlag, "install", lambda self: None)
    ended = {"status": "stopped", "error": f"x{TITLE}", "step": 3, "steps": 60}
    monkeypatch.setattr(runner, "execute", lambda *args, **kwargs: (130, ended))
    # marked running on another host (its name from summary.json): resumed with --force
    store.update_summary(evil_run.path, status="running", pid=1, host=f"far{TITLE}")
    assert main(["--resume", str(evil_run.path)]) == 2
    captured = capsys.readouterr()
    assert_no_controls(captured.out, captured.err)
    assert "far\\x1b]0;pwned\\x07" in one_error_line(captured.err)
    assert main(["--resume", str(evil_run.path), "--force"]) == 130
    captured = capsys.readouterr()
    assert_no_controls(captured.out, captured.err)
    assert "resuming from step 0" in captured.out and "evil\\x1b[2J" in captured.out
    assert "warning: run 20260101-000000-000-evil\\x1b[2J" in captured.err


def test_analyze_errors_are_printed_escaped(
    evil_run: store.RunDir, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", str(evil_run.path), "--no-figures"]) == 2  # no weights kept
    captured = capsys.readouterr()
    assert_no_controls(captured.out, captured.err)
    assert "no weights to analyse in" in one_error_line(captured.err)


@pytest.mark.slow
def test_a_run_trained_resumed_and_analysed_in_a_hostile_folder_prints_no_escape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every path printed by --run, --resume and analyze holds the runs directory's name."""
    monkeypatch.setattr(runner.StopFlag, "install", lambda self: None)  # in-process runs
    runs = tmp_path / f"runs{TITLE}"
    preset = tmp_path / "tiny.toml"
    preset.write_text(TINY_PRESET)
    sets = ["train.steps=20", "train.keep_checkpoint_every=10", f"name={toml_str(EVIL)}"]
    overrides = [arg for value in sets for arg in ("--set", value)]
    assert main(["--run", str(preset), *overrides, "--runs-dir", str(runs)]) == 0
    (run_path,) = runs.iterdir()
    store.update_summary(run_path, status="stopped")  # resumed at its last step: done at once
    assert main(["--resume", str(run_path)]) == 0
    quick = ["--no-figures", "--no-tsne", "--landscape-points", "3", "--perturb-samples", "4"]
    assert main(["analyze", str(run_path), *quick]) == 0
    captured = capsys.readouterr()
    assert_no_controls(captured.out, captured.err)
    assert f"runs\\x1b]0;pwned\\x07/{run_path.name}" in captured.out


def test_group_resume_lines_are_printed_escaped(
    evil_run: store.RunDir, runs_dir: Path, tiny_preset_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    other = store.create_run(load_preset(tiny_preset_path, ["data.p=13"]), runs_dir)
    other = store.RunDir(other.path.rename(runs_dir / f"20260101-000000-001-{EVIL}"))
    assert main(["--resume", str(evil_run.path), str(other.path)]) == 2  # not one group
    captured = capsys.readouterr()
    assert_no_controls(captured.out, captured.err)
    assert "evil\\x1b[2J" in one_error_line(captured.err)


@pytest.mark.slow  # trains a group of two in-process
def test_a_group_s_member_lines_are_printed_escaped(
    evil_run: store.RunDir, runs_dir: Path, tiny_preset_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(runner.StopFlag, "install", lambda self: None)
    other = store.create_run(load_preset(tiny_preset_path, ["train.seed=1"]), runs_dir)
    other = store.RunDir(other.path.rename(runs_dir / f"20260101-000000-001-{EVIL}"))
    assert main(["--resume", str(evil_run.path), str(other.path)]) == 0
    captured = capsys.readouterr()
    assert_no_controls(captured.out, captured.err)
    assert "#1 20260101-000000-001-evil\\x1b[2J" in captured.out

"""The command line as a user meets it: exit codes, messages, no tracebacks."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grok_tui.cli import main
from grok_tui.rundirs import store
from grok_tui.training import runner
from grok_tui.training.checkpoint import load_checkpoint
from tests.conftest import REPO
from tests.support.processes import grok

BROKEN = {
    "syntax.toml": ("[data]\np = 97\n[model\n", "syntax.toml:3:7: TOML syntax error"),
    "unknown.toml": (
        "[optim]\nlearning_rate = 1e-3\n",
        "unknown.toml:2: optim.learning_rate: unknown field",
    ),
    "prime.toml": ("[data]\np = 100\n", "prime.toml:2: data.p: p must be prime, got 100"),
    "cycle.toml": ("extends = 'cycle.toml'\n", "extends cycle: cycle.toml -> cycle.toml"),
}


@pytest.fixture
def broken_dir(tmp_path: Path) -> Path:
    for name, (text, _) in BROKEN.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_validate_gives_a_verdict_per_file_and_fails_on_any_invalid(
    broken_dir, tiny_preset_path, capsys
):
    files = [
        str(tiny_preset_path),
        *(str(broken_dir / n) for n in BROKEN),
        str(broken_dir / "missing.toml"),
    ]
    assert main(["validate", *files]) == 2
    out = capsys.readouterr().out
    assert out.count("INVALID") == len(BROKEN) + 1
    assert f"ok      {tiny_preset_path}" in out
    for _, needle in BROKEN.values():
        assert needle in out
    assert "missing.toml: file not found" in out
    assert main(["validate", str(tiny_preset_path)]) == 0
    assert "add p=11 · mlp" in capsys.readouterr().out
    assert main(["validate", str(tiny_preset_path), "--set", "data.operation=s5_xyx"]) == 0
    assert "s5_xyx (S5) · mlp" in capsys.readouterr().out  # S5 does not use p


@pytest.mark.parametrize("name", [*BROKEN, "missing.toml"])
def test_run_on_a_broken_preset_exits_2_with_the_message_and_no_run_dir(broken_dir, name, capsys):
    runs = broken_dir / "runs"
    assert main(["--run", str(broken_dir / name), "--runs-dir", str(runs)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and captured.out == ""
    assert (BROKEN[name][1] if name in BROKEN else "file not found") in captured.err
    assert not runs.exists()


@pytest.mark.slow
def test_the_process_on_a_broken_preset_exits_2_without_a_traceback(broken_dir):
    """The same through a real process: what the shell sees."""
    runs = broken_dir / "runs"
    result = grok("--run", str(broken_dir / "syntax.toml"), "--runs-dir", str(runs))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.startswith("error: ")
    assert not runs.exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    "mistake",
    [
        ["--run", "unknown.toml"],
        ["--run", "TINY", "--set", "optim.lr=-1"],
        ["--resume", "no-such-run"],
        ["analyze", "no-such-run"],
    ],
    ids=["unknown-field", "bad-override", "resume-no-run", "analyze-no-run"],
)
def test_a_user_s_mistake_is_reported_before_torch_is_loaded(broken_dir, tiny_preset_path, mistake):
    """A typo's error comes at once: the input is checked before torch's seconds of import
    (a broken preset took 7 s to report on a busy 2-core machine, now under one)."""
    script = (
        "import sys; from grok_tui.cli import main; code = main(sys.argv[1:]); "
        "print('torch' in sys.modules); sys.exit(code)"
    )
    args = [str(tiny_preset_path) if arg == "TINY" else arg for arg in mistake]
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=broken_dir,
    )
    assert result.returncode == 2 and result.stderr.startswith("error: "), result.stderr
    assert result.stdout.strip() == "False"


def test_run_with_a_bad_override_or_device_exits_2(tiny_preset_path, tmp_path, capsys):
    # in this process: the exit code and the message are main's (the process boundary is
    # test_the_process_on_a_broken_preset_exits_2_without_a_traceback's)
    runs = ["--runs-dir", str(tmp_path / "r")]
    assert main(["--run", str(tiny_preset_path), "--set", "optim.lr=-3", *runs]) == 2
    assert "--set: optim.lr: Input should be greater than 0" in capsys.readouterr().err
    assert main(["--run", str(tiny_preset_path), "--device", "tpu", *runs]) == 2
    assert "train.device" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_headless_run_writes_a_complete_run_directory(tiny_preset_path, tmp_path):
    runs = tmp_path / "runs"
    result = grok(
        "--run", str(tiny_preset_path), "--set", "train.steps=30", "--runs-dir", str(runs)
    )
    assert result.returncode == 0, result.stderr
    # not a terminal: one plain line per record
    lines = [line for line in result.stdout.splitlines() if line.startswith("step=")]
    assert [line.split()[0] for line in lines] == ["step=0", "step=10", "step=20", "step=30"]
    assert "status: completed" in result.stdout and "fit_step:" in result.stdout
    (run_path,) = runs.iterdir()
    run = store.RunDir(run_path)
    summary = run.summary()
    assert summary["status"] == "completed" and summary["step"] == 30
    assert summary["torch_version"] and summary["device"] == "cpu"
    assert summary["started_at"] and summary["ended_at"]
    assert len(run.records()) == 4
    assert run.load_preset().train.steps == 30  # the resolved preset, override included
    assert run.checkpoint_path.exists()
    assert load_checkpoint(run.path)["step"] == 30
    assert run_path.name.endswith("-tiny")


@pytest.mark.slow
def test_sigint_stops_a_headless_run_which_then_resumes(tiny_preset_path, tmp_path):
    runs = tmp_path / "runs"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "grok_tui",
            "--run",
            str(tiny_preset_path),
            "--runs-dir",
            str(runs),
            "--set",
            "train.steps=200000",
            "--set",
            "train.eval_every=50",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert store.wait_for(
        lambda: any(store.RunDir(p).records()[1:] for p in runs.glob("*")), timeout=60
    )
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    (run_path,) = runs.iterdir()
    summary = json.loads((run_path / "summary.json").read_text())
    assert summary["status"] == "stopped"
    assert load_checkpoint(run_path)["step"] == summary["step"]
    assert "grok-tui --resume" in out

    resumed = subprocess.Popen(
        [sys.executable, "-m", "grok_tui", "--resume", str(run_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert store.wait_for(
        lambda: store.read_summary(run_path).get("status") == "running", timeout=60
    )
    time.sleep(0.5)
    resumed.send_signal(signal.SIGTERM)
    out, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 143, err  # 128 + SIGTERM, as shells count it
    assert f"resuming from step {summary['step']}" in out
    after = store.read_summary(run_path)
    assert after["status"] == "stopped" and after["step"] > summary["step"]
    steps = [r["step"] for r in store.read_records(run_path)]
    assert steps == sorted(set(steps))  # no record written twice


def test_resume_rejects_what_cannot_be_resumed(tiny_preset_path, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(runner.StopFlag, "install", lambda self: None)  # in-process runs
    assert main(["--resume", str(tmp_path / "nothing"), "--runs-dir", str(tmp_path)]) == 2
    assert "no run directory" in capsys.readouterr().err
    runs = tmp_path / "runs"
    assert (
        main(["--run", str(tiny_preset_path), "--set", "train.steps=10", "--runs-dir", str(runs)])
        == 0
    )
    (run_path,) = runs.iterdir()
    capsys.readouterr()
    assert main(["--resume", str(run_path)]) == 2
    assert "already completed" in capsys.readouterr().err


def test_runs_lists_the_runs_directory(tiny_preset_path, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(runner.StopFlag, "install", lambda self: None)  # in-process run
    runs = tmp_path / "runs"
    assert main(["runs", "--runs-dir", str(runs)]) == 0
    assert "no runs" in capsys.readouterr().out
    assert (
        main(["--run", str(tiny_preset_path), "--set", "train.steps=10", "--runs-dir", str(runs)])
        == 0
    )
    capsys.readouterr()
    assert main(["runs", "--runs-dir", str(runs)]) == 0
    out = capsys.readouterr().out
    assert "completed" in out and "-tiny" in out
    # a note: set by a unique part of the id, listed with the run, cleared again
    assert main(["note", "tiny", "--runs-dir", str(runs), "baseline", "before", "the", "fix"]) == 0
    assert capsys.readouterr().out.endswith("-tiny: baseline before the fix\n")
    assert main(["runs", "--runs-dir", str(runs)]) == 0
    assert "baseline before the fix" in capsys.readouterr().out
    (run_dir,) = [p for p in runs.iterdir() if p.is_dir()]  # beside it, the runs index
    assert (run_dir / "note.txt").read_text() == "baseline before the fix\n"
    assert main(["note", str(run_dir), "--clear"]) == 0
    assert "(no note)" in capsys.readouterr().out and not (run_dir / "note.txt").exists()
    assert main(["note", "nothing-like-it", "x", "--runs-dir", str(runs)]) == 2
    assert "no run directory 'nothing-like-it'" in capsys.readouterr().err


def test_every_shipped_preset_is_valid(capsys):
    presets = sorted(str(p) for p in (REPO / "presets").rglob("*.toml"))
    assert presets
    assert main(["validate", *presets]) == 0, capsys.readouterr().out

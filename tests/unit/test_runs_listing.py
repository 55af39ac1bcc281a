"""`grok-tui runs` says where each run trained: its device and, on a GPU, the GPU's name."""

from __future__ import annotations

from grok_tui.cli import device_label, main
from grok_tui.config import Preset
from grok_tui.rundirs import store


def test_runs_lists_each_runs_device_and_gpu_name(tmp_path, capsys):
    gpu = store.create_run(Preset(name="on-gpu"), tmp_path)
    store.update_summary(
        gpu.path, status="completed", device="cuda:1", device_name="NVIDIA H100 80GB HBM3"
    )
    cpu = store.create_run(Preset(name="on-cpu"), tmp_path)
    store.update_summary(cpu.path, status="completed", device="cpu")
    assert main(["runs", "--runs-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-2:] == ["device", "note"]
    by_run = {line.split()[0]: line for line in lines[1:]}
    assert "cuda:1 H100 80GB HBM3" in by_run[gpu.run_id]
    assert by_run[cpu.run_id].split()[-1] == "cpu"
    assert device_label({}) == ""
    odd = store.create_run(Preset(name="odd"), tmp_path)  # a summary from someone else
    store.update_summary(odd.path, device="cuda:0", device_name="\x1b[2J\x1b[31mGPU")
    assert main(["runs", "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "cuda:0" in out


def test_a_run_that_does_not_fit_its_device_fails_with_a_clear_message(
    tmp_path, tiny_preset_path, monkeypatch, capsys
):
    import torch

    from grok_tui.config import load_preset
    from grok_tui.training import loop, runner

    preset = load_preset(tiny_preset_path)
    run = store.create_run(preset, tmp_path)
    real_train = loop.train

    def train_then_run_out(preset, sinks, **kw):
        sinks = list(sinks)
        real_train(preset, sinks, **kw)  # records and a checkpoint are on disk
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(loop, "train", train_then_run_out)
    with runner.claim(run):
        code, summary = runner.execute(preset, run)
    assert code == runner.EXIT_FAILED and summary["status"] == "failed"
    assert summary["error"].startswith("the run does not fit in the memory of cpu (CUDA out of")
    assert "grok-tui --resume this run" in summary["error"]
    err = capsys.readouterr().err
    assert err.startswith("error: the run does not fit") and "Traceback" not in err
    assert "GROK_TUI_DEBUG" not in err  # a user's problem, not a bug: no debug hint
    assert len(run.metrics_path.read_text().splitlines()) == 7 and run.checkpoint_path.exists()


def test_the_tui_names_the_gpu_a_run_trains_on(tmp_path):
    from grok_tui.rundirs.watch import RunFollower
    from grok_tui.tui.screens.live import status_text
    from grok_tui.tui.screens.run import run_heading

    run = store.create_run(Preset(name="on-gpu"), tmp_path)
    store.update_summary(
        run.path, status="completed", device="cuda:0", device_name="NVIDIA H100 80GB HBM3"
    )
    (info,) = store.list_runs(tmp_path)
    assert "cuda:0 H100 80GB HBM3" in run_heading(info, run.summary()).plain
    follower = RunFollower(run)
    follower.poll()
    assert "· cuda:0 H100 80GB HBM3" in status_text(follower).plain

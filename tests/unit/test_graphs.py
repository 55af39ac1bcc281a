"""CUDA graphs' CPU side: the static step, the schedule on the device, the decision to
capture (or not), and the cuda_graphs key. Capture itself needs CUDA (tests/gpu)."""

from __future__ import annotations

import pytest
import torch

from grok_tui.config import PresetError, load_preset, preset_from_toml, with_overrides
from grok_tui.errors import RunError
from grok_tui.training import graphs
from grok_tui.training.checkpoint import load_checkpoint, save_checkpoint
from grok_tui.training.loop import train
from grok_tui.training.optim import lr_factor, lr_factor_tensor
from grok_tui.training.trainer import build_trainer
from tests.conftest import TINY_PRESET
from tests.support.captures import DriftingCapture, EagerCapture, FailingCapture, FailingWarmUp
from tests.support.sinks import Collect

TRANSFORMER = ["model.type=transformer", "model.layers=1", "model.d_model=16", "model.heads=2", "model.d_ff=32"]  # fmt: skip


def tiny(*overrides: str):
    return with_overrides(preset_from_toml(TINY_PRESET), overrides)


def without_time(records):
    return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in records]


def run(preset, capture=None, **kwargs) -> tuple[Collect, dict]:
    sink = Collect()
    summary = train(preset, [sink], capture=capture, **kwargs)
    return sink, summary


@pytest.mark.parametrize(
    "schedule", ["constant", "cosine", "linear"], ids=lambda s: f"schedule={s}"
)
@pytest.mark.parametrize("warmup", [0, 7])
@pytest.mark.parametrize("start", [0.0, 0.1])
def test_the_device_schedule_is_lr_factor_bit_for_bit(schedule, warmup, start):
    overrides = [f"optim.schedule={schedule}", f"optim.warmup_steps={warmup}"]
    overrides += [f"optim.warmup_start={start}", "optim.min_lr=1e-4", "train.steps=50"]
    cfg = tiny(*overrides).optim
    steps = torch.arange(0, 60)
    on_device = [float(lr_factor_tensor(s, cfg, 50)) for s in steps]
    assert on_device == [lr_factor(int(s), cfg, 50) for s in steps]


CASES = {
    "mlp (hand-written step)": [],
    "mlp, every gradient option": [
        "optim.grad_clip=0.5",
        'optim.grokfast={kind="ema"}',
        "optim.orthogonal_grad=true",
        "optim.schedule=cosine",
        "optim.min_lr=1e-4",
        "train.constrain_norm=true",
    ],
    "mlp, full batch, adam": [
        "train.batch_size=full",
        "optim.name=adam",
        "optim.weight_decay=0.01",
    ],
    "transformer": TRANSFORMER,
    "transformer, stablemax, linear decay": [
        *TRANSFORMER,
        "train.loss=stablemax",
        "optim.schedule=linear",
        "optim.grad_clip=1.0",
    ],
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_static_step_run_eagerly_gives_the_eager_records_bit_for_bit(case):
    """The step shaped for capture (batch gathered on the device, lr in a tensor, the
    divergence check and grad norm inside) changes no number of a few hundred steps."""
    preset = tiny(*CASES[case], "train.steps=240", "train.eval_every=20")
    eager, eager_summary = run(preset.model_copy(deep=True), capture=None)
    capture = EagerCapture()
    static, summary = run(preset, capture=capture)
    assert capture.captures == 1
    assert summary["cuda_graphs"] is True and "cuda_graphs_reason" not in summary
    assert eager_summary["cuda_graphs"] is False
    assert without_time(static.records) == without_time(eager.records)
    a, b = eager.checkpoints[-1], static.checkpoints[-1]
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert a["scheduler"] == b["scheduler"] and a["batcher"]["position"] == b["batcher"]["position"]


def test_a_static_run_stopped_and_resumed_gives_the_uninterrupted_records(tmp_path):
    """Checkpoints keep their format: an eager checkpoint resumes under graphs and back."""
    preset = tiny("train.steps=80", 'optim.grokfast={kind="ema"}', "optim.grad_clip=1.0")
    whole, _ = run(preset, capture=None)
    for first, second in [(EagerCapture(), None), (None, EagerCapture())]:
        calls = iter(range(10**6))
        part, summary = run(preset, capture=first, should_stop=lambda c=calls: next(c) >= 35)
        assert (summary["status"], summary["step"]) == ("stopped", 35)
        save_checkpoint(tmp_path, part.checkpoints[-1])
        state = load_checkpoint(tmp_path)
        assert isinstance(state["optimizer"]["param_groups"][0]["lr"], float)
        assert state["optimizer"]["param_groups"][0]["capturable"] is False
        rest, summary = run(preset, capture=second, resume=state)
        assert summary["status"] == "completed"
        assert without_time(part.records + rest.records) == without_time(whole.records)


def test_auto_falls_back_to_eager_when_a_replay_differs_and_says_why(capsys):
    preset = tiny("model.widths=[16]", "train.steps=40")
    eager, _ = run(preset, capture=None)
    fallen, summary = run(preset, capture=DriftingCapture())
    assert summary["cuda_graphs"] is False
    assert "differs from an eager step" in summary["cuda_graphs_reason"]
    assert "cuda graphs off" in capsys.readouterr().err
    # the check ran on the state and put it back: the run is the eager run, exactly
    assert without_time(fallen.records) == without_time(eager.records)


def test_auto_falls_back_when_the_capture_fails():
    preset = tiny("train.steps=30")
    eager, _ = run(preset, capture=None)
    fallen, summary = run(preset, capture=FailingCapture())
    assert summary["cuda_graphs"] is False
    assert "capture failed (RuntimeError" in summary["cuda_graphs_reason"]
    assert without_time(fallen.records) == without_time(eager.records)


def test_auto_falls_back_when_the_static_step_itself_fails_and_loses_nothing(capsys):
    preset = tiny('optim.grokfast={kind="ema"}', "train.steps=30")
    eager, _ = run(preset, capture=None)
    fallen, summary = run(preset, capture=FailingWarmUp())
    assert summary["cuda_graphs"] is False
    assert "the static step failed (RuntimeError: fused adamw" in summary["cuda_graphs_reason"]
    assert "cuda graphs off" in capsys.readouterr().err
    # the failed step's updates were undone: the run is the eager run, exactly
    assert without_time(fallen.records) == without_time(eager.records)
    with pytest.raises(RuntimeError, match="lr tensor"):
        run(
            tiny("train.steps=30", "train.device=auto", "train.cuda_graphs=true"),
            capture=FailingWarmUp(),
        )


def test_true_with_a_differing_replay_is_an_error_not_a_silent_fallback():
    preset = tiny("train.device=auto", "train.cuda_graphs=true")
    with pytest.raises(RunError, match="cuda_graphs = true, but a replay differs"):
        run(preset, capture=DriftingCapture())


def test_true_needs_a_cuda_device_at_run_time():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    preset = tiny("train.device=auto", "train.cuda_graphs=true")
    with pytest.raises(RunError, match="needs a CUDA device; this run trains on cpu"):
        run(preset)


def test_auto_on_the_cpu_stays_eager_and_the_summary_says_why():
    _, summary = run(tiny("train.steps=5"))
    assert summary["cuda_graphs"] is False
    assert summary["cuda_graphs_reason"] == "not a CUDA device (cpu)"
    _, summary = run(tiny("train.steps=5", "train.cuda_graphs=false"), capture=EagerCapture())
    assert summary["cuda_graphs_reason"] == "train.cuda_graphs = false"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        (["model.dropout=0.1"], "dropout draws random numbers"),
        (["optim.name=sgd"], "only adam and adamw"),
        (['optim.grokfast={kind="ma"}'], "MA filter"),
        (["model.type=lstm"], "recurrent models"),
    ],
)
def test_auto_leaves_uncapturable_presets_eager(overrides, reason):
    capture = EagerCapture()
    _, summary = run(tiny("train.steps=5", *overrides), capture=capture)
    assert capture.captures == 0
    assert summary["cuda_graphs"] is False and reason in summary["cuda_graphs_reason"]


def test_a_run_shorter_than_the_warm_up_is_never_captured():
    capture = EagerCapture()
    _, summary = run(tiny(f"train.steps={graphs.WARMUP_STEPS}"), capture=capture)
    assert capture.captures == 0 and summary["cuda_graphs"] is False
    assert "warm-up" in summary["cuda_graphs_reason"]


def test_the_divergence_check_inside_the_static_step_finds_the_first_bad_step():
    preset = tiny("train.init_scale=1e10", "optim.lr=10", "train.steps=200", "train.eval_every=50")
    eager, eager_summary = run(preset, capture=None)
    static, summary = run(preset, capture=EagerCapture())
    assert eager_summary["status"] == summary["status"] == "diverged"
    assert eager_summary["diverged_step"] == summary["diverged_step"] > graphs.WARMUP_STEPS + 1
    assert without_time(static.records) == without_time(eager.records)


def test_cuda_graphs_key_validates(tiny_preset_path):
    assert load_preset(tiny_preset_path).train.cuda_graphs == "auto"
    for value in ("true", "false", "auto"):
        load_preset(tiny_preset_path, [f"train.cuda_graphs={value}", "train.device=cuda"])
    with pytest.raises(PresetError, match="cuda_graphs must be true, false or 'auto'"):
        load_preset(tiny_preset_path, ["train.cuda_graphs=always"])
    with pytest.raises(PresetError, match="cuda_graphs = true needs a CUDA device, not 'cpu'"):
        load_preset(tiny_preset_path, ["train.cuda_graphs=true"])
    with pytest.raises(PresetError, match="cuda_graphs = true, but model.dropout > 0"):
        load_preset(
            tiny_preset_path, ["train.cuda_graphs=true", "train.device=cuda", "model.dropout=0.1"]
        )
    with pytest.raises(PresetError, match="cuda_graphs = true, but precision 'bf16'"):
        load_preset(
            tiny_preset_path,
            ["train.cuda_graphs=true", "train.device=cuda", "train.precision=bf16"],
        )
    saved = load_preset(tiny_preset_path, ["train.cuda_graphs=false"])
    assert preset_from_toml(saved.to_toml()) == saved


def test_the_static_step_keeps_the_trainers_counters_on_the_host():
    trainer = build_trainer(tiny("optim.warmup_steps=4"))
    steps = graphs.Steps(trainer, EagerCapture())
    for _ in range(6):
        steps.step(want_grad_norm=False)
    assert trainer.step == 6 and trainer.scheduler.last_epoch == 6
    assert isinstance(trainer.optimizer.param_groups[0]["lr"], float)
    assert float(steps.static.lr) == trainer.lr  # type: ignore[union-attr]
    assert (trainer.batcher.epoch, trainer.batcher.position) == (2, 0)

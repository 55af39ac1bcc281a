"""The training loop: records, events, determinism, resume, divergence, stops."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field

import pytest
import torch

from grok_tui.config import PresetError, load_preset
from grok_tui.errors import RunError
from grok_tui.rundirs import store
from grok_tui.training.batches import Batcher
from grok_tui.training.checkpoint import load_checkpoint, load_snapshot, save_checkpoint
from grok_tui.training.events import Events, Reporter
from grok_tui.training.loop import train
from grok_tui.training.runner import execute, load_resume
from grok_tui.training.trainer import build_trainer
from tests.conftest import REPO
from tests.support.sinks import Collect


def without_time(records):
    return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in records]


def test_records_cover_eval_steps_and_the_last_step(tiny_preset_path):
    preset = load_preset(tiny_preset_path, ["train.steps=55"])
    sink = Collect()
    summary = train(preset, [sink])
    assert [r["step"] for r in sink.records] == [0, 10, 20, 30, 40, 50, 55]
    assert set(sink.records[-1]) == set(store.RECORD_FIELDS)
    assert summary["status"] == "completed"
    assert sink.records[-1]["grad_norm"] > 0
    assert all(0.0 <= r["train_acc"] <= 1.0 for r in sink.records)
    # evaluation covers the WHOLE splits: accuracies are multiples of 1/n
    n_train = sink.info["n_train"]
    assert all(
        abs(r["train_acc"] * n_train - round(r["train_acc"] * n_train)) < 1e-9 for r in sink.records
    )


def test_same_preset_and_seed_give_identical_metrics(tiny_preset_path):
    preset = load_preset(tiny_preset_path)
    a, b = Collect(), Collect()
    train(preset, [a])
    train(preset, [b])
    assert without_time(a.records) == without_time(b.records)
    c = Collect()
    train(load_preset(tiny_preset_path, ["train.seed=1"]), [c])
    assert without_time(c.records) != without_time(a.records)


@pytest.mark.parametrize("model", ["mlp", "transformer", "lstm"])
def test_resume_from_a_checkpoint_reproduces_the_uninterrupted_run(
    tiny_preset_path, model, runs_dir, monkeypatch
):
    # Bit for bit at equal thread counts (README): float sums differ with the thread count,
    # and a run's automatic share follows the machine's load, while train() below keeps
    # torch's default. One thread for all three, as OMP_NUM_THREADS=1 gives a user.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the run's share keeps it
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _resume_reproduces(tiny_preset_path, model, runs_dir)
    finally:
        torch.set_num_threads(threads)


def _resume_reproduces(tiny_preset_path, model, runs_dir) -> None:
    overrides = (
        [f"model.type={model}", "model.dropout=0.1"] if model != "mlp" else ["model.dropout=0.1"]
    )
    if model == "transformer":
        overrides += ["model.d_model=16", "model.heads=2", "model.d_ff=32"]
    if model == "lstm":
        overrides += ["model.hidden_size=16", "model.embed_dim=8"]
    preset = load_preset(tiny_preset_path, [*overrides, "optim.grokfast.kind=ema"])
    full = Collect()
    train(preset, [full])

    run = store.create_run(preset, runs_dir)
    calls = {"n": 0}

    def stop_after_35_steps() -> bool:
        calls["n"] += 1
        return calls["n"] > 35

    code, summary = execute(preset, run, stop=stop_after_35_steps)  # type: ignore[arg-type]
    assert (code, summary["status"], summary["step"]) == (130, "stopped", 35)
    preset2, checkpoint = load_resume(run)
    assert checkpoint is not None and checkpoint["step"] == 35
    code, summary = execute(preset2, run, resume=checkpoint)
    assert (code, summary["status"]) == (0, "completed")
    assert without_time(run.records()) == without_time(full.records)
    assert summary["resumes"][0]["step"] == 35


def test_steps_per_s_is_smoothed_live_and_the_average_at_the_end(tiny_preset_path, monkeypatch):
    class Rates(Collect):
        def on_record(self, record, summary):
            super().on_record(record, summary)
            self.rates = [*getattr(self, "rates", []), summary["steps_per_s"]]

    # a clock where each evaluation interval takes longer than the one before
    ticks = iter(range(10**6))
    monkeypatch.setattr(
        "grok_tui.training.events.time.perf_counter", lambda: float(next(ticks)) ** 1.5
    )
    sink = Rates()
    summary = train(load_preset(tiny_preset_path), [sink])
    assert sink.rates[0] is None  # the step-0 record has no interval behind it
    live = sink.rates[1:]
    assert all(
        a != b for a, b in zip(live[:-1], live[1:], strict=True)
    )  # each interval moves it...
    raw_last = 10 / (sink.records[-1]["elapsed_s"] - sink.records[-2]["elapsed_s"])
    assert live[-1] > raw_last  # ...but a slow last interval does not set it alone
    elapsed = summary["elapsed_s"]
    assert summary["steps_per_s"] == pytest.approx(60 / elapsed, rel=0.15)
    assert summary["steps_per_s"] != live[-1]


def test_resume_after_a_crash_truncates_records_past_the_checkpoint(tiny_preset_path, runs_dir):
    preset = load_preset(tiny_preset_path)
    run = store.create_run(preset, runs_dir)
    execute(preset, run)
    full = run.records()
    # Pretend the process died at step 50 with its last checkpoint at step 40.
    state = load_checkpoint(run.path)
    assert state["step"] == 60
    trainer = build_trainer(preset)
    for _ in range(40):
        trainer.train_step(want_grad_norm=False)
    save_checkpoint(run.path, trainer.state_dict())
    store.update_summary(run.path, status="stopped")
    _, checkpoint = load_resume(run)
    execute(preset, run, resume=checkpoint)
    assert without_time(run.records()) == without_time(full)


def test_non_finite_loss_stops_the_run_as_diverged(tiny_preset_path, runs_dir):
    preset = load_preset(
        tiny_preset_path, ["optim.name=sgd", "optim.lr=10.0", "optim.weight_decay=0"]
    )
    run = store.create_run(preset, runs_dir)
    code, summary = execute(preset, run)
    assert code == 1
    assert summary["status"] == "diverged"
    assert isinstance(summary["diverged_step"], int) and summary["diverged_step"] >= 1
    assert "non-finite" in summary["error"]
    assert store.read_summary(run.path)["status"] == "diverged"


def test_stop_after_grok_ends_at_the_grok_event(tiny_preset_path):
    preset = load_preset(
        tiny_preset_path,
        [
            "train.steps=1500",
            "train.stop_after_grok=0",
            "data.p=23",
            "data.train_fraction=0.8",
            "train.batch_size=full",
            "model.widths=[64]",
            "model.embed_dim=32",
            "optim.lr=1e-2",
        ],
    )
    sink = Collect()
    summary = train(preset, [sink])
    assert summary["grok_step"] is not None
    assert summary["step"] == summary["grok_step"] < 1500
    assert sink.records[-1]["test_acc"] >= 0.99
    assert summary["status"] == "completed"
    assert summary["grok_gap"] == summary["grok_step"] - summary["fit_step"]


def test_an_epoch_budget_ends_after_that_many_passes(tiny_preset_path):
    preset = load_preset(tiny_preset_path, ["train.epochs=5", "train.eval_every=3"])
    sink = Collect()
    summary = train(preset, [sink])
    assert summary["step"] == preset.train.steps == 15  # 60 rows, batch 16: 3 steps an epoch
    assert sink.records[-1]["epoch"] == 5 and sink.records[-1]["step"] == 15


def test_batches_form_epochs_of_permutations():
    gen = torch.Generator().manual_seed(0)
    batcher = Batcher(n=10, batch_size=3, generator=gen, device=torch.device("cpu"))
    epoch = torch.cat([batcher.next() for _ in range(3)])
    assert batcher.epoch == 1 and batcher.position == 0
    assert len(set(epoch.tolist())) == 9  # the incomplete last batch is dropped
    full = Batcher(n=10, batch_size=10, generator=gen, device=torch.device("cpu"))
    assert full.next() is None and full.epoch == 1


def test_batches_taken_from_the_shuffled_copy_are_the_indexed_rows():
    x, y = torch.arange(20).view(10, 2), torch.arange(10) * 7
    by_index = Batcher(10, 3, torch.Generator().manual_seed(5), torch.device("cpu"))
    by_copy = Batcher(10, 3, torch.Generator().manual_seed(5), torch.device("cpu"))
    for _ in range(7):  # across epoch boundaries (3 batches an epoch)
        idx = by_index.next()
        xb, yb = by_copy.take(x, y)
        assert torch.equal(xb, x[idx]) and torch.equal(yb, y[idx])
    full = Batcher(10, 10, torch.Generator(), torch.device("cpu"))
    assert full.take(x, y)[0] is x


def test_unavailable_devices_and_precisions_are_run_errors(tiny_preset_path):
    if not torch.cuda.is_available():
        with pytest.raises(RunError, match="no CUDA"):
            build_trainer(load_preset(tiny_preset_path, ["train.device=cuda"]))
        with pytest.raises(RunError, match="tf32"):
            build_trainer(load_preset(tiny_preset_path, ["train.precision=tf32"]))


@pytest.mark.parametrize("precision", ["fp64", "bf16"])
def test_other_precisions_train(tiny_preset_path, precision):
    sink = Collect()
    summary = train(
        load_preset(tiny_preset_path, [f"train.precision={precision}", "train.steps=20"]), [sink]
    )
    assert summary["status"] == "completed"
    assert all(r["train_loss"] == r["train_loss"] for r in sink.records)


# The quickstart's story at a size a test can afford: an MLP on (x + y) mod 37 with 70%
# of the pairs groks in about 800 steps (fit near 100) where the quickstart takes 2,500.
SMALL_GROK = [
    "train.device=cpu",
    "data.p=37",
    "data.train_fraction=0.7",
    "model.embed_dim=64",
    "model.widths=[128]",
    "optim.lr=5e-3",
    "train.eval_every=10",
    "train.steps=2000",
    "train.stop_after_grok=0",
]


def test_an_mlp_fits_long_before_it_generalises_then_groks():
    """Both phases of grokking, end to end: train accuracy saturates while test accuracy
    stays low, and hundreds of steps later test accuracy follows. Bands, not exact steps,
    so that a torch release that rounds differently passes and a broken task does not."""
    preset = load_preset(REPO / "presets" / "quickstart.toml", SMALL_GROK)
    sink = Collect()
    summary = train(preset, [sink])
    assert summary["status"] == "completed"
    assert 30 <= summary["fit_step"] <= 400
    assert 400 <= summary["grok_step"] <= 1600
    assert summary["grok_step"] - summary["fit_step"] >= 300  # a visible delay: grokking
    assert summary["step"] == summary["grok_step"]  # stop_after_grok = 0 stops at it
    at_fit = next(r for r in sink.records if r["step"] == summary["fit_step"])
    assert at_fit["train_acc"] >= 0.99 and at_fit["test_acc"] < 0.5
    assert sink.records[-1]["test_acc"] >= 0.99


def test_dense_evaluation_finds_grok_step_to_its_precision():
    """Evaluating every 100 steps, but every 10 once test accuracy climbs: grok_step to
    within 10 steps, with few records, and the precision stated in the summary."""
    dense = [*SMALL_GROK, "train.eval_every=100", "train.dense_eval_every=10"]
    sink = Collect()
    summary = train(load_preset(REPO / "presets" / "quickstart.toml", dense), [sink])
    sparse = train(
        load_preset(REPO / "presets" / "quickstart.toml", [*SMALL_GROK, "train.eval_every=10"]), []
    )
    assert summary["grok_step_precision"] == 10
    assert summary["grok_step"] == sparse["grok_step"]  # the same run, evaluated apart
    steps = [r["step"] for r in sink.records]
    assert len(steps) < summary["grok_step"] / 10  # far fewer than every 10 steps
    assert any(s % 100 for s in steps)  # the dense ones


def test_kept_checkpoints_hold_the_weights_at_the_chosen_steps(tiny_preset_path, runs_dir):
    preset = load_preset(
        tiny_preset_path, ["train.keep_checkpoints=[25]", "train.keep_checkpoint_every=20"]
    )
    run = store.create_run(preset, runs_dir)
    execute(preset, run)
    assert store.snapshot_steps(run.path) == [0, 20, 25, 40, 60]
    final = load_checkpoint(run.path)["model"]
    kept = load_snapshot(run.path, 60)
    assert kept["step"] == 60
    assert all(torch.equal(final[k], kept["model"][k]) for k in final)
    assert not torch.equal(
        load_snapshot(run.path, 0)["model"]["embedding.weight"],
        final["embedding.weight"],
    )
    with pytest.raises(PresetError, match="kept steps: 0, 20, 25, 40, 60"):
        load_snapshot(run.path, 30)


def test_the_reporting_half_imports_without_torch():
    """events.py is what a test double feeds made-up records through: no torch there."""
    code = (
        "import sys\n"
        "import grok_tui.training.events\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_reporter_finds_the_events_of_made_up_records(tiny_preset_path):
    """The fit and grok detection, the summary and the sinks' calls, without a model."""

    @dataclass
    class Made:
        step: int = 0
        events: Events = field(default_factory=Events)
        elapsed_before: float = 0.0

    tc = load_preset(tiny_preset_path).train
    progress, sink = Made(), Collect()
    reporter = Reporter(progress, [sink], tc, {"device": "cpu (made up)"}, resumed=False)
    for step, train_acc, test_acc in [(0, 0.1, 0.0), (10, 1.0, 0.2), (20, 1.0, 0.99)]:
        progress.step = step
        record = {"step": step, "epoch": step, "train_acc": train_acc, "test_acc": test_acc}
        reporter.emit({**record, "train_loss": 1.0, "test_loss": 2.0, "elapsed_s": 0.0})
    summary = reporter.end("completed")
    assert (summary["fit_step"], summary["grok_step"], summary["grok_gap"]) == (10, 20, 10)
    assert summary["grok_step_precision"] == 10 and summary["device"] == "cpu (made up)"
    assert [r["step"] for r in sink.records] == [0, 10, 20]
    assert sink.end is not None and sink.end["status"] == "completed"

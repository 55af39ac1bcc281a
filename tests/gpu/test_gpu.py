"""The CUDA path (pytest -m gpu on a GPU box; make gpu-check runs these).

CI has no GPU, so these are deselected there. GROK_TUI_GPU_TEST_DEVICE=cpu runs the same
checks on the CPU (except the ones about CUDA itself), which is how their logic is
checked on a machine without a GPU.
"""

from __future__ import annotations

import math
import os

import pytest
import torch

from grok_tui.config import load_preset
from grok_tui.rundirs import store
from grok_tui.training import runner
from grok_tui.training.loop import train
from grok_tui.training.trainer import build_trainer
from tests.conftest import REPO
from tests.support.sinks import Collect

pytestmark = pytest.mark.gpu
DEVICE = os.environ.get("GROK_TUI_GPU_TEST_DEVICE", "cuda")
ON_CUDA = DEVICE.startswith("cuda")
cuda_only = pytest.mark.skipif(not ON_CUDA, reason="about CUDA itself")

FAMILIES = {
    "transformer": ["model.type=transformer", "model.layers=1", "model.d_model=32", "model.heads=4", "model.d_ff=64"],
    "mlp": ["model.type=mlp", "model.embed_dim=16", "model.widths=[32, 32]"],
    "lstm": ["model.type=lstm", "model.embed_dim=16", "model.hidden_size=32", "model.layers=1"],
    "gru": ["model.type=gru", "model.embed_dim=16", "model.hidden_size=32", "model.layers=1"],
    "birnn": ["model.type=rnn", "model.bidirectional=true", "model.embed_dim=16", "model.hidden_size=32"],
}  # fmt: skip


def small(*overrides: str, device: str = DEVICE):
    base = ["data.p=23", "train.steps=60", "train.eval_every=20", "train.batch_size=64"]
    return load_preset(
        REPO / "presets" / "quickstart.toml", [*base, f"train.device={device}", *overrides]
    )


def records_of(preset) -> list[dict]:
    sink = Collect()
    summary = train(preset, [sink])
    assert summary["status"] == "completed", summary.get("error")
    return sink.records


def close(a: list[dict], b: list[dict], rel: float) -> None:
    assert [r["step"] for r in a] == [r["step"] for r in b]
    for x, y in zip(a, b, strict=True):
        for key in ("train_loss", "test_loss"):
            assert math.isclose(x[key], y[key], rel_tol=rel, abs_tol=1e-7), (key, x, y)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_model_family_trains_on_the_device_as_on_the_cpu(family):
    """Forward and backward of each family: the device's records follow the CPU's."""
    on_device = records_of(small(*FAMILIES[family]))
    on_cpu = records_of(small(*FAMILIES[family], device="cpu"))
    close(on_device, on_cpu, rel=1e-3)


def test_bf16_autocast_trains_with_finite_losses():
    records = records_of(small("train.precision=bf16", "train.steps=200", "optim.lr=3e-3"))
    assert all(math.isfinite(r["train_loss"]) for r in records)
    assert records[-1]["train_loss"] < records[0]["train_loss"]


def test_fp64_holds_double_weights_and_matches_the_cpu_closely():
    preset = small("train.precision=fp64")
    trainer = build_trainer(preset)
    assert all(p.dtype == torch.float64 for p in trainer.params)
    close(records_of(preset), records_of(small("train.precision=fp64", device="cpu")), rel=1e-9)


@cuda_only
def test_tf32_records_stay_within_tf32_tolerance_of_fp32():
    close(records_of(small("train.precision=tf32")), records_of(small()), rel=2e-2)


def test_a_stopped_run_resumes_on_the_device_where_it_stopped(tmp_path):
    """Stopped at step 40 and resumed, the run's records continue the uninterrupted run's
    (within float tolerance: CUDA's reductions are not bitwise deterministic)."""
    preset = small("train.steps=80", "train.checkpoint_every=40")
    whole = records_of(preset)
    run = store.create_run(preset, tmp_path)
    stop = runner.StopFlag()

    class StopAt40(Collect):
        def on_record(self, record: dict, summary: dict) -> None:
            stop.requested = record["step"] >= 40

    with runner.claim(run):
        code, _ = runner.execute(preset, run, sinks=[StopAt40()], stop=stop)
    assert code == runner.EXIT_STOPPED
    with runner.claim(run):
        resumed, checkpoint = runner.load_resume(run)
        assert checkpoint is not None and checkpoint["step"] == 40
        code, summary = runner.execute(resumed, run, resume=checkpoint)
    assert code == 0, summary.get("error")
    close(store.read_records(run.path), whole, rel=1e-4)


class StepAsGraph:
    """On the CPU (GROK_TUI_GPU_TEST_DEVICE=cpu), the graph's stand-in: the static step run
    eagerly, so the logic of the comparison is checked where no GPU is."""

    device_types = frozenset({"cpu"})

    def warm(self, body):
        body()

    def capture(self, body):
        return body


@pytest.mark.parametrize("family", ["transformer", "mlp"])
def test_cuda_graphs_train_as_the_eager_step_does(family):
    """200 steps replayed from a captured graph follow the eager steps' records."""
    overrides = [*FAMILIES[family], "train.steps=200", "train.eval_every=50"]
    overrides += ["optim.grad_clip=1.0", 'optim.grokfast={kind="ema"}']
    eager = records_of(small(*overrides, "train.cuda_graphs=false"))
    sink = Collect()
    mode = "true" if ON_CUDA else "auto"  # true on CPU is a preset error: the stand-in there
    summary = train(
        small(*overrides, f"train.cuda_graphs={mode}"),
        [sink],
        capture=None if ON_CUDA else StepAsGraph(),
    )
    assert summary["status"] == "completed", summary.get("error")
    assert summary["cuda_graphs"] is True, summary.get("cuda_graphs_reason")
    close(sink.records, eager, rel=1e-4)
    for x, y in zip(sink.records, eager, strict=True):
        assert math.isclose(x["lr"], y["lr"], rel_tol=1e-12)
        assert math.isclose(x["train_acc"], y["train_acc"], abs_tol=0.02)


@cuda_only
def test_auto_replays_a_graph_that_never_waits_for_the_host():
    """The quickstart's step is captured under auto; a replay makes no host sync."""
    from grok_tui.training import graphs

    preset = small('optim.grokfast={kind="ema"}', "optim.grad_clip=1.0", "optim.schedule=cosine")
    trainer = build_trainer(preset)
    steps = graphs.Steps(trainer)
    summary: dict = {}
    steps.report_to(summary)
    bpe = trainer.batcher.batches_per_epoch
    for _ in range(bpe * (graphs.WARMUP_STEPS // bpe + 1) + 1):  # captured; an epoch begun
        steps.step(want_grad_norm=False)
    assert summary["cuda_graphs"] is True, summary.get("cuda_graphs_reason")
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(min(3, bpe - 1)):  # within the epoch: replays only
            steps.step(want_grad_norm=True)
    finally:
        torch.cuda.set_sync_debug_mode("default")


@cuda_only
def test_a_training_step_never_waits_for_the_host():
    """Fused AdamW, the gradient norm and the schedule stay on the device: no sync."""
    trainer = build_trainer(small("optim.grad_clip=1.0", 'optim.grokfast={kind="ema"}'))
    assert trainer.optimizer.param_groups[0].get("fused") is True
    trainer.train_step(want_grad_norm=True)  # the first step may allocate and sync
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(3):
            trainer.train_step(want_grad_norm=True)
    finally:
        torch.cuda.set_sync_debug_mode("default")


@cuda_only
def test_the_summary_names_the_gpu(tmp_path):
    preset = small("train.steps=20")
    run = store.create_run(preset, tmp_path)
    code, summary = runner.execute(preset, run)
    assert code == 0
    assert summary["device"].startswith("cuda") and summary.get("device_name")


@pytest.mark.parametrize("family", ["transformer", "mlp"])
def test_a_vectorised_group_trains_each_member_as_its_solo_run_on_the_device(family):
    """Four seeds and split seeds as one group on the device: each member's records follow
    its solo run on the same device (bit for bit on the CPU; within float tolerance on
    CUDA, whose batched kernels may sum in another order)."""
    from grok_tui.training.group import train_group

    presets = []
    for i in range(4):
        preset = small(*FAMILIES[family], f"train.seed={i}", f"data.split_seed={i % 2}")
        preset.optim.lr = [1e-3, 3e-3][i % 2]
        presets.append(preset)
    sinks = [Collect() for _ in presets]
    summaries = train_group(presets, sinks)
    assert [s["status"] for s in summaries] == ["completed"] * 4
    for preset, sink in zip(presets, sinks, strict=True):
        solo = records_of(preset)
        if ON_CUDA:
            close(sink.records, solo, rel=1e-4)
        else:
            strip = [{k: v for k, v in r.items() if k != "elapsed_s"} for r in solo]
            assert [{k: v for k, v in r.items() if k != "elapsed_s"} for r in sink.records] == strip


@pytest.mark.parametrize("family", ["transformer", "mlp"])
def test_a_vectorised_group_replays_one_graph_and_trains_as_its_eager_steps(family):
    """Three members under ``cuda_graphs = true``: one captured step for the group, whose
    records follow the same group's eager steps; on CUDA a replay never waits for the host."""
    from grok_tui.training.group import train_group

    def members(mode: str):
        overrides = [*FAMILIES[family], "train.steps=200", "train.eval_every=50"]
        overrides += ["optim.grad_clip=1.0", 'optim.grokfast={kind="ema"}']
        return [
            small(*overrides, f"train.seed={i}", f"optim.lr={lr}", f"train.cuda_graphs={mode}")
            for i, lr in enumerate([1e-3, 3e-3, 2e-3])
        ]

    eager = [Collect() for _ in range(3)]
    train_group(members("false"), eager)
    graphed = [Collect() for _ in range(3)]
    mode = "true" if ON_CUDA else "auto"  # true on CPU is a preset error: the stand-in there
    summaries = train_group(members(mode), graphed, capture=None if ON_CUDA else StepAsGraph())
    for summary, a, b in zip(summaries, graphed, eager, strict=True):
        assert summary["status"] == "completed", summary.get("error")
        assert summary["cuda_graphs"] is True, summary.get("cuda_graphs_reason")
        close(a.records, b.records, rel=1e-4)
    if ON_CUDA:
        from grok_tui.training.graphs import WARMUP_STEPS
        from grok_tui.training.group.graphs import GroupSteps
        from grok_tui.training.group.trainer import GroupTrainer

        group = GroupTrainer(members("true"))
        steps = GroupSteps(group)
        bpe = group.members[0].batcher.batches_per_epoch
        for _ in range(bpe * (WARMUP_STEPS // bpe + 1) + 1):  # captured; an epoch begun
            steps.step([False] * 3)
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
        try:
            for _ in range(min(3, bpe - 1)):  # within the epoch: replays only, no host sync
                steps.step([True] * 3)
        finally:
            torch.cuda.set_sync_debug_mode("default")

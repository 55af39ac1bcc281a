"""A vectorised group under CUDA graphs' step structure, on the CPU (a stand-in capture):
one replay steps every member, and each member's records are the eager group's."""

from __future__ import annotations

import pytest

from grok_tui.config import load_preset
from grok_tui.training.group import train_group
from tests.conftest import REPO
from tests.support.captures import DriftingCapture, EagerCapture, FailingCapture, FailingWarmUp
from tests.support.sinks import Collect

QUICKSTART = REPO / "presets" / "quickstart.toml"
SMALL_MLP = ["data.p=23", "model.embed_dim=16", "model.widths=[32, 32]", "train.batch_size=64"]
SMALL_TRANSFORMER = [
    "model.type=transformer",
    "model.d_model=16",
    "model.heads=2",
    "model.d_ff=32",
    "data.p=11",
    "train.batch_size=16",
]
# members that differ in what a member may: seeds, lr, warm-up, weight decay, clipping, Grokfast
MEMBERS = [
    [],
    ["train.seed=1", "data.split_seed=1", "optim.grad_clip=0.5"],
    ["train.seed=2", "optim.lr=3e-3", "optim.warmup_steps=7", "optim.weight_decay=0.1"],
]
BASE = ["train.device=cpu", "train.steps=120", "train.eval_every=20", "optim.schedule=cosine"]


def presets(extra: list[str], members: list[list[str]] = MEMBERS):
    return [load_preset(QUICKSTART, [*BASE, *extra, *m]) for m in members]


def run_group(members, capture=None) -> tuple[list[Collect], list[dict]]:
    sinks = [Collect() for _ in members]
    summaries = train_group([m.model_copy(deep=True) for m in members], sinks, capture=capture)
    return sinks, summaries


def without_time(records: list[dict]) -> list[str]:
    """Records as text, so that a diverged member's NaN equals NaN."""
    return [repr({k: v for k, v in r.items() if k != "elapsed_s"}) for r in records]


def assert_same_runs(a: list[Collect], b: list[Collect]) -> None:
    for x, y in zip(a, b, strict=True):
        assert without_time(x.records) == without_time(y.records)
        assert x.end["status"] == y.end["status"]
        for key in ("fit_step", "grok_step", "diverged_step", "step"):
            assert x.end.get(key) == y.end.get(key), key


CASES = {
    "mlp (batched hand-written step), grokfast ema": [*SMALL_MLP, 'optim.grokfast={kind="ema"}'],
    "transformer (batched autograd)": SMALL_TRANSFORMER,
    "mlp, full batch": [*SMALL_MLP, "train.batch_size=full"],
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_replayed_group_step_gives_the_eager_groups_records_bit_for_bit(case):
    members = presets(CASES[case])
    eager, eager_summaries = run_group(members)
    capture = EagerCapture()
    graphed, summaries = run_group(members, capture)
    assert capture.captures == 1
    assert all(s["cuda_graphs"] is True and "cuda_graphs_reason" not in s for s in summaries)
    assert all(s["cuda_graphs"] is False for s in eager_summaries)
    assert_same_runs(eager, graphed)
    for x, y in zip(eager, graphed, strict=True):  # checkpoints: solo format, same counters
        a, b = x.checkpoints[-1], y.checkpoints[-1]
        assert a["step"] == b["step"] == 120 and a["scheduler"] == b["scheduler"]
        assert a["batcher"]["position"] == b["batcher"]["position"]
        assert a["batcher"]["epoch"] == b["batcher"]["epoch"]


def test_a_member_that_ends_early_is_recaptured_out_and_the_others_go_on():
    """A diverging member freezes; the next step captures the others (checked again)."""
    members = presets(SMALL_MLP, [[], ["train.seed=1", "train.init_scale=1e18", "optim.lr=10"]])
    eager, _ = run_group(members)
    assert [s.end["status"] for s in eager] == ["completed", "diverged"]
    capture = EagerCapture()
    graphed, summaries = run_group(members, capture)
    assert capture.captures == 2
    assert_same_runs(eager, graphed)
    assert summaries[0]["cuda_graphs"] is True


@pytest.mark.parametrize(
    ("capture", "reason"),
    [
        (DriftingCapture(), "a replay differs from an eager step"),
        (FailingCapture(), "the capture failed (RuntimeError: operation not permitted"),
        (FailingWarmUp(), "the static step failed (RuntimeError: fused adamw"),
    ],
    ids=["drift", "capture fails", "warm-up fails"],
)
def test_a_group_falls_back_to_eager_steps_says_why_in_every_summary_and_loses_nothing(
    capture, reason, capsys
):
    members = presets(SMALL_MLP)
    eager, _ = run_group(members)
    graphed, summaries = run_group(members, capture)
    assert_same_runs(eager, graphed)
    for summary in summaries:
        assert summary["cuda_graphs"] is False
        assert summary["cuda_graphs_reason"].startswith(reason)
    assert capsys.readouterr().err.count("cuda graphs off, eager steps instead") == 1


def test_a_group_whose_optimizer_cannot_be_captured_stays_eager_and_says_why():
    members = presets([*SMALL_MLP, "optim.name=sgd"], MEMBERS[:2])
    _, summaries = run_group(members, EagerCapture())
    for summary in summaries:
        assert summary["cuda_graphs"] is False
        assert "optim.name = 'sgd'" in summary["cuda_graphs_reason"]

"""Vectorised groups: each member trains as its solo run would, grouping says what may vary."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from grok_tui.config import load_preset
from grok_tui.engine import RunError, build_trainer, resume_trainer, train
from grok_tui.group import GroupTrainer, group_key, pack, train_group, ungroupable
from tests.conftest import REPO
from tests.support.sinks import Collect

QUICKSTART = REPO / "presets" / "quickstart.toml"
# the four members: each differs from the first in one or two of the varying fields
MEMBERS = [
    [],
    ["train.seed=1", "data.split_seed=1"],
    ["train.seed=2", "optim.lr=3e-3"],
    ["train.seed=3", "optim.weight_decay=0.1", "data.split_seed=2"],
]
TRANSFORMER = [
    "model.type=transformer",
    "model.d_model=16",
    "model.heads=2",
    "model.d_ff=32",
    "data.p=23",
    "data.include_op_tokens=true",
    "train.batch_size=128",
]


class KeepCheckpoints(Collect):
    """Checkpoints copied when handed over (they hold live tensors, as a solo run's do)."""

    def on_checkpoint(self, state: dict) -> None:
        self.checkpoints.append(copy.deepcopy(state))


def presets(base: list[str], members: list[list[str]] = MEMBERS):
    return [load_preset(QUICKSTART, ["train.device=cpu", *base, *m]) for m in members]


def solo_and_group(members):
    solos = []
    for preset in members:
        sink = Collect()
        train(preset, [sink])
        solos.append(sink)
    sinks = [Collect() for _ in members]
    summaries = train_group(GroupTrainer(members), sinks)
    return solos, sinks, summaries


def assert_same_records(
    solo: list[dict], group: list[dict], rel: float = 1e-4, acc: float = 0.0
) -> None:
    assert [r["step"] for r in group] == [r["step"] for r in solo]
    for a, b in zip(solo, group, strict=True):
        assert set(a) == set(b)
        for key in ("train_loss", "test_loss"):
            assert math.isclose(a[key], b[key], rel_tol=rel), (a["step"], key, a[key], b[key])
        for key in ("train_acc", "test_acc"):
            assert abs(a[key] - b[key]) <= acc, (a["step"], key, a[key], b[key])
        for key in ("epoch", "lr", "step"):
            assert a[key] == b[key], (a["step"], key, a[key], b[key])
        for key in ("param_norm", "grad_norm"):
            if a[key] is None:
                assert b[key] is None
            else:
                assert math.isclose(a[key], b[key], rel_tol=1e-3), (a["step"], key)


# The quickstart MLP at an eighth of its widths: 300 steps of 4 solo runs and a group in
# fp64 must stay within a test's budget on one loaded core.
SMALL_MLP = ["model.embed_dim=16", "model.widths=[32, 32]"]


@pytest.mark.parametrize("model", ["mlp", "transformer"])
def test_a_group_trains_each_member_as_its_solo_run(model):
    """In float64 rounding cannot hide a different algorithm: 300 steps agree to 1e-9."""
    base = ["train.steps=300", "train.eval_every=150", "train.precision=fp64"]
    members = presets(base + (TRANSFORMER if model == "transformer" else SMALL_MLP))
    solos, sinks, summaries = solo_and_group(members)
    for solo, sink, summary in zip(solos, sinks, summaries, strict=True):
        assert_same_records(solo.records, sink.records, rel=1e-9)
        assert summary["status"] == solo.end["status"] == "completed"
        for key in ("fit_step", "grok_step", "best_test_acc_step", "n_train", "param_count"):
            assert summary.get(key) == solo.end.get(key)
    # different seeds, splits and rates really trained differently
    assert len({s.records[-1]["train_loss"] for s in sinks}) == len(sinks)


def test_in_float32_a_member_follows_its_solo_run_until_rounding_compounds():
    """fp32: the quickstart's records agree to float rounding over the first 50 steps.

    Early logits are near ties, so a last-bit difference can flip an argmax: accuracies
    may differ by a few examples in 4,704. Later, Adam amplifies last-bit differences, as
    it does between the solo engine's own two exact paths (models/mlp_step.py against
    autograd: 4e-3 apart in loss and 6 examples in train accuracy after 300 steps).
    """
    members = presets(["train.steps=50", "train.eval_every=25"])
    solos, sinks, _ = solo_and_group(members)
    for solo, sink in zip(solos, sinks, strict=True):
        assert_same_records(solo.records, sink.records, rel=1e-4, acc=1e-3)


def test_a_member_checkpoint_resumes_in_the_solo_engine():
    base = ["train.steps=40", "train.eval_every=20", "train.checkpoint_every=20"]
    members = presets([*base, "train.precision=fp64", *SMALL_MLP])[:2]
    group_sinks = [KeepCheckpoints(), KeepCheckpoints()]
    train_group(GroupTrainer(members), group_sinks)
    state = group_sinks[1].checkpoints[0]  # at step 20, in the solo format
    assert state["step"] == 20
    resumed = Collect()
    train(members[1], [resumed], resume=state)
    solo = Collect()
    train(members[1], [solo])
    assert [r["step"] for r in solo.records] == [0, 20, 40]
    assert_same_records(solo.records[2:], resumed.records, rel=1e-9)
    trainer = build_trainer(members[1])
    resume_trainer(trainer, group_sinks[1].checkpoints[-1])  # loads without complaint
    assert trainer.step == 40


def test_grouping_says_what_groups_and_why_not():
    members = presets([])
    assert len({group_key(p) for p in members}) == 1
    other = presets(["model.widths=[128, 128]"], [[]])[0]
    adam = presets(["optim.name=adam"], [[]])[0]
    assert group_key(other) != group_key(members[0])
    assert group_key(adam) != group_key(members[0])
    groups = pack([*members, other, *members, adam], max_size=3)
    assert groups == [[0, 1, 2], [3, 5, 6], [7, 8], [4], [9]]
    lstm = presets(["model.type=lstm"], [[]])[0]
    assert "recurrent" in ungroupable(lstm)
    assert "dropout" in ungroupable(presets(["model.dropout=0.1"], [[]])[0])
    assert "nadam" in ungroupable(presets(["optim.name=nadam"], [[]])[0])
    assert "measures" in ungroupable(presets(["train.measures=['layer_norms']"], [[]])[0])
    assert ungroupable(members[0]) is None
    assert [len(g) for g in pack([members[0]] * 10, max_size=8)] == [5, 5]
    assert pack([lstm, lstm], max_size=8) == [[0], [1]]
    with pytest.raises(RunError, match="differ in model.widths"):
        GroupTrainer([members[0], other])
    with pytest.raises(RunError, match="recurrent"):
        GroupTrainer([lstm])


def test_a_diverged_member_stops_while_the_others_go_on():
    base = ["train.steps=60", "train.eval_every=20", "model.widths=[32]", "model.embed_dim=16"]
    members = presets(
        base + ["optim.name=sgd", "optim.warmup_steps=0"], [["optim.lr=0.1"], ["optim.lr=10.0"]]
    )
    sinks = [Collect(), Collect()]
    summaries = train_group(GroupTrainer(members), sinks)
    solo = Collect()
    train(members[1], [solo])
    assert solo.end["status"] == "diverged"
    assert summaries[0]["status"] == "completed" and sinks[0].records[-1]["step"] == 60
    assert summaries[1]["status"] == "diverged"
    assert summaries[1]["diverged_step"] == solo.end["diverged_step"]
    assert [r["step"] for r in sinks[1].records] == [r["step"] for r in solo.records]
    assert sinks[1].checkpoints == solo.checkpoints == []


def test_grad_clip_is_per_member_not_group_wide():
    base = ["train.steps=5", "train.eval_every=5", "model.widths=[32]", "model.embed_dim=16"]
    members = presets(base, [["optim.grad_clip=0.01"], ["train.seed=1"]])
    group = GroupTrainer(members)
    _, norms = group.train_step(want_grad_norm=True)
    solo = build_trainer(members[0])
    _, solo_norm = solo.train_step(want_grad_norm=True)
    assert torch.allclose(norms[0], solo_norm, rtol=1e-5)
    # member 0's update is as its solo run's, clipped by its own norm alone
    weights = group.member_weights(0)
    for name, value in solo.model.state_dict().items():
        assert torch.allclose(weights[name], value, rtol=1e-5, atol=1e-7), name
    # clipping by the group's joint norm would have shrunk member 0's step further
    joint = float(torch.linalg.vector_norm(norms))
    assert joint > float(norms[0]) * 1.01


@pytest.mark.parametrize(
    "options",
    [
        ["optim.grokfast.kind=ema", "optim.orthogonal_grad=true", "train.loss=stablemax"],
        ["optim.grokfast.kind=ma", "optim.grokfast.window=5", "train.constrain_norm=true"],
        ["optim.name=adam", "optim.schedule=cosine", "train.loss=cross_entropy_fp64"],
        ["optim.name=sgd", "optim.lr=0.1", "optim.momentum=0.9", "optim.nesterov=true"],
    ],
)
def test_every_option_a_group_takes_matches_the_solo_runs(options):
    base = ["train.steps=30", "train.eval_every=15", "train.precision=fp64", *SMALL_MLP]
    varied = [
        ["optim.grad_clip=0.5", "optim.warmup_steps=5"],
        ["train.seed=1", "data.split_seed=1", "train.init_scale=0.8", "optim.weight_decay=0.3"],
    ]
    members = presets([*base, *options], varied)
    if members[0].optim.grokfast is not None:
        members[1].optim.grokfast.lamb = 5.0
    solos, sinks, _ = solo_and_group(members)
    for solo, sink in zip(solos, sinks, strict=True):
        assert_same_records(solo.records, sink.records, rel=1e-9)

"""Vectorised groups: each member trains as its solo run would; grouping says what may vary."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from grok_tui.config import MLPConfig, Preset, load_preset
from grok_tui.errors import RunError
from grok_tui.rundirs.store import RECORD_FIELDS
from grok_tui.training.group import GroupTrainer, group_key, pack, train_group, ungroupable, why_not
from grok_tui.training.group.grouping import differences
from grok_tui.training.loop import train
from grok_tui.training.trainer import build_trainer, resume_trainer
from tests.conftest import REPO
from tests.support.sinks import Collect

QUICKSTART = REPO / "presets" / "quickstart.toml"
# Four members, each differing from the first in the fields a sweep varies most.
MEMBERS = [
    [],
    ["train.seed=1", "data.split_seed=1"],
    ["train.seed=2", "optim.lr=3e-3"],
    ["train.seed=3", "optim.weight_decay=0.1", "data.split_seed=2"],
]
# Two members that differ in all of those fields at once: what the transformer trains
# (four would check nothing more, at twice the cost of the solo runs).
TWO_MEMBERS = [[], ["train.seed=3", "optim.lr=3e-3", "optim.weight_decay=0.1", "data.split_seed=2"]]
# The quickstart MLP at p = 47 (two batches of 512 per epoch, the fused CPU step) and an
# eighth of its widths, so that four solo runs and the group fit a test's budget.
SMALL_MLP = ["data.p=47", "model.embed_dim=16", "model.widths=[32, 32]"]
SMALL_TRANSFORMER = [
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


def presets(base: list[str], members: list[list[str]] = MEMBERS) -> list[Preset]:
    return [load_preset(QUICKSTART, ["train.device=cpu", *base, *m]) for m in members]


def solo_runs(members: list[Preset]) -> list[Collect]:
    sinks = []
    for preset in members:
        sink = Collect()
        train(preset, [sink])
        sinks.append(sink)
    return sinks


def assert_same_records(solo: list[dict], group: list[dict], rel: float = 1e-4) -> None:
    """Losses within `rel`, accuracies, steps, epochs and learning rates equal."""
    assert [r["step"] for r in group] == [r["step"] for r in solo]
    for a, b in zip(solo, group, strict=True):
        assert set(a) == set(b)
        for key in ("train_loss", "test_loss"):
            assert math.isclose(a[key], b[key], rel_tol=rel), (a["step"], key, a[key], b[key])
        for key in ("train_acc", "test_acc", "epoch", "lr"):
            assert a[key] == b[key], (a["step"], key, a[key], b[key])
        for key in ("param_norm", "grad_norm"):
            if a[key] is None:
                assert b[key] is None
            else:
                assert math.isclose(a[key], b[key], rel_tol=rel), (a["step"], key)


@pytest.mark.parametrize("model", ["mlp", pytest.param("transformer", marks=pytest.mark.slow)])
def test_each_member_trains_exactly_as_its_solo_run(model):
    """fp32, 300 steps: rounding is not hidden by float64, so the batched step must do the
    solo run's arithmetic (Adam turns a last-bit difference into 1e-3 by step 300)."""
    base = ["train.steps=300", "train.eval_every=50"]
    if model == "transformer":
        members = presets(base + SMALL_TRANSFORMER, TWO_MEMBERS)
    else:
        members = presets(base + SMALL_MLP)
    solos = solo_runs(members)
    group = GroupTrainer(members)
    sinks = [Collect() for _ in members]
    summaries = train_group(group, sinks)
    for i, (solo, sink, summary) in enumerate(zip(solos, sinks, summaries, strict=True)):
        assert list(sink.records[0]) == list(solo.records[0])
        assert set(RECORD_FIELDS) <= set(sink.records[0])
        assert_same_records(solo.records, sink.records)
        assert summary["status"] == solo.end["status"] == "completed"
        for key in ("step", "epoch", "fit_step", "grok_step", "best_test_acc", "final"):
            assert summary.get(key) == solo.end.get(key), key
        for key in ("best_test_acc_step", "n_train", "param_count"):
            assert summary.get(key) == solo.end.get(key), key
        assert sink.info["param_count"] == solo.info["param_count"]
        assert [c["step"] for c in sink.checkpoints] == [c["step"] for c in solo.checkpoints]
        # the member's weights are a solo state_dict: the solo run's final weights
        weights = group.member_state_dict(i)
        final = solo.checkpoints[-1]["model"]
        assert weights.keys() == final.keys()
        for name, value in final.items():
            torch.testing.assert_close(weights[name], value, rtol=1e-5, atol=1e-6)
        build_trainer(members[i]).model.load_state_dict(weights)
    # different seeds, splits and rates really trained differently
    assert len({s.records[-1]["train_loss"] for s in sinks}) == len(sinks)


@pytest.mark.parametrize(
    "options",
    [
        # model switches the batched MLP implements (one_hot: see the test)
        ["one_hot"],
        ["model.shared_hidden=true", "train.batch_size=32"],  # 32 rows < 47 tokens: no tables
        ["train.loss=stablemax", "model.activation=gelu"],
        # and the transformer's
        [*SMALL_TRANSFORMER, "model.norm=pre", "model.residual=norm", "model.init=nanda"],
        [
            *SMALL_TRANSFORMER,
            "model.positions=sinusoidal",
            "model.attn_bias=false",
            "model.ffn_bias=false",
            "model.unembed_bias=false",
            "model.output_classes=vocab",
            "model.norm=none",
            "train.loss=cross_entropy_fp64",
        ],
        # optimizers, schedules and gradient processing
        ["optim.name=adam", "optim.schedule=cosine", "optim.grokfast.kind=ema"],
        ["optim.name=sgd", "optim.lr=0.1", "optim.momentum=0.9", "optim.nesterov=true"],
        ["optim.grokfast.kind=ma", "optim.grokfast.window=5", "train.constrain_norm=true"],
        ["optim.orthogonal_grad=true", "optim.betas=[0.8, 0.99]"],
        # in float64 rounding cannot hide a different algorithm: agreement to 1e-9
        ["train.precision=fp64", *SMALL_TRANSFORMER],
        [
            "train.precision=fp64",
            "optim.grokfast.kind=ema",
            "optim.orthogonal_grad=true",
            "train.loss=stablemax",
        ],
        [
            "train.precision=fp64",
            "optim.grokfast.kind=ma",
            "optim.grokfast.window=5",
            "train.constrain_norm=true",
        ],
        [
            "train.precision=fp64",
            "optim.name=adam",
            "optim.schedule=cosine",
            "train.loss=cross_entropy_fp64",
        ],
        [
            "train.precision=fp64",
            "optim.name=sgd",
            "optim.lr=0.1",
            "optim.momentum=0.9",
            "optim.nesterov=true",
        ],
    ],  # fmt: skip
)
def test_every_switch_a_group_takes_matches_the_solo_runs(options):
    base = ["train.steps=40", "train.eval_every=20", *SMALL_MLP]
    varied = [
        ["optim.grad_clip=0.5", "optim.warmup_steps=5", "optim.eps=1e-6"],
        ["train.seed=1", "data.split_seed=1", "train.init_scale=0.8", "optim.weight_decay=0.3"],
    ]
    one_hot = options == ["one_hot"]
    members = presets([*base, *options[one_hot:]], varied)
    for preset in members if one_hot else []:  # the quickstart's embed_dim cannot be unset
        preset.model = MLPConfig(
            input="one_hot", widths=[32, 32], bias=False, output_classes="vocab"
        )
    if members[0].optim.grokfast is not None:
        members[1].optim.grokfast.lamb = 5.0
        if members[1].optim.grokfast.kind == "ema":
            members[1].optim.grokfast.alpha = 0.9
    assert why_not(members[0]) is None and group_key(members[0]) == group_key(members[1])
    solos = solo_runs(members)
    sinks = [Collect() for _ in members]
    train_group(members, sinks)
    rel = 1e-9 if "train.precision=fp64" in options else 1e-6
    for solo, sink in zip(solos, sinks, strict=True):
        assert_same_records(solo.records, sink.records, rel=rel)


def test_a_member_checkpoint_resumes_in_the_solo_engine():
    base = ["train.steps=40", "train.eval_every=20", "train.checkpoint_every=20", *SMALL_MLP]
    members = presets(base)[:2]
    group_sinks = [KeepCheckpoints(), KeepCheckpoints()]
    train_group(members, group_sinks)
    state = group_sinks[1].checkpoints[0]  # at step 20, in the solo format
    assert state["step"] == 20
    resumed = Collect()
    train(members[1], [resumed], resume=state)
    (solo,) = solo_runs([members[1]])
    assert [r["step"] for r in solo.records] == [0, 20, 40]
    assert_same_records(solo.records[2:], resumed.records, rel=1e-6)
    trainer = build_trainer(members[1])
    resume_trainer(trainer, group_sinks[1].checkpoints[-1])  # loads without complaint
    assert trainer.step == 40


def test_grouping_says_what_groups_and_why_not():
    members = presets(SMALL_MLP)
    key = group_key(members[0])
    assert key is not None and all(group_key(p) == key for p in members)
    clipped = presets(SMALL_MLP, [["optim.grad_clip=1.0", "train.init_scale=0.5"]])[0]
    assert group_key(clipped) == key
    # whatever changes the computation's shape or switches must be equal
    for field in [
        "model.widths=[64, 64]",
        "optim.name=adam",
        "optim.schedule=cosine",
        "train.eval_every=10",
        "train.batch_size=256",
        "train.steps=100",
        "train.precision=fp64",
        "data.train_fraction=0.3",
        "model.activation=gelu",
    ]:
        other = presets([*SMALL_MLP, field], [[]])[0]
        assert group_key(other) != key, field
        assert differences(members[0], other) == [field.split("=")[0]]
    wider = presets([*SMALL_MLP, "model.widths=[64, 64]"], [[]])[0]
    adam = presets([*SMALL_MLP, "optim.name=adam"], [[]])[0]
    groups = pack([*members[:3], wider, *members, adam], max_size=3)
    assert groups == [[0, 1, 2], [4, 5], [6, 7], [3], [8]]
    assert [len(g) for g in pack([members[0]] * 10, max_size=8)] == [5, 5]
    # eight alike around two others: threes first, the last two together, the others alone
    assert pack([*members, wider, *members, adam], max_size=3) == [
        [0, 1, 2], [3, 5, 6], [7, 8], [4], [9],
    ]  # fmt: skip
    # what the batched code does not reproduce is refused, with its reason
    refused = {
        "model.type=lstm": "recurrent",
        "model.dropout=0.1": "dropout",
        "train.measures=['layer_norms']": "measures",
        "train.compile=true": "compile",
        "train.precision=bf16": "bf16",
        "optim.name=nadam": "nadam",
    }
    for field, reason in refused.items():
        preset = presets([field], [[]])[0]
        assert reason in why_not(preset), field
        assert group_key(preset) is None
        with pytest.raises(RunError, match=reason):
            GroupTrainer([preset])
    lstm = presets(["model.type=lstm"], [[]])[0]
    assert pack([lstm, lstm], max_size=8) == [[0], [1]]
    assert why_not(members[0]) is None
    assert ungroupable is why_not  # the older name, still exported
    with pytest.raises(RunError, match=r"differ in model\.widths"):
        GroupTrainer([members[0], wider])


def test_a_diverged_member_stops_while_the_others_go_on():
    base = ["train.steps=60", "train.eval_every=20", *SMALL_MLP, "optim.name=sgd"]
    members = presets(
        [*base, "optim.warmup_steps=0"], [["optim.lr=0.1"], ["optim.lr=10.0", "train.seed=1"]]
    )
    solos = solo_runs(members)
    assert solos[1].end["status"] == "diverged"
    group = GroupTrainer(members)
    sinks = [Collect(), Collect()]
    summaries = train_group(group, sinks)
    # the healthy member is untouched by its neighbour's NaNs
    assert summaries[0]["status"] == "completed"
    assert_same_records(solos[0].records, sinks[0].records, rel=1e-6)
    # the diverged one ends as its solo run does, at the evaluation that finds it
    assert summaries[1]["status"] == "diverged"
    for key in ("diverged_step", "error", "step"):
        assert summaries[1][key] == solos[1].end[key], key
    assert [r["step"] for r in sinks[1].records] == [r["step"] for r in solos[1].records]
    assert sinks[1].checkpoints == solos[1].checkpoints == []
    # and stops updating there: its step count and optimizer stay where they were
    assert group.members[1].step == summaries[1]["step"] < group.step == 60
    assert group.members[1].scheduler.last_epoch == summaries[1]["step"]


def test_grad_clip_is_per_member_not_group_wide():
    """Each member clips by the norm of its own gradient, never by the group's joint norm."""
    base = ["train.steps=6", "train.eval_every=3", *SMALL_MLP, "optim.name=sgd"]
    members = presets(
        [*base, "optim.lr=0.1", "optim.warmup_steps=0"],
        [["optim.grad_clip=0.01"], ["train.seed=1", "optim.grad_clip=0.05"]],
    )
    group = GroupTrainer(members)
    _, norms = group.train_step(want_grad_norm=True)
    solos = [build_trainer(p) for p in members]
    for i, solo in enumerate(solos):
        _, solo_norm = solo.train_step(want_grad_norm=True)
        assert torch.equal(norms[i], solo_norm)
        weights = group.member_state_dict(i)
        for name, value in solo.model.state_dict().items():
            assert torch.equal(weights[name], value), name
    # clipping both gradients were clipped, and by the group's joint norm member 0's step
    # would have been shorter by this factor: far from 1, so the test above tells them apart
    joint = float(torch.linalg.vector_norm(norms))
    assert float(norms[0]) > 0.01 and float(norms[1]) > 0.05
    assert joint / float(norms[0]) > 1.05
    sinks = [Collect(), Collect()]
    train_group(members, sinks)
    for solo, sink in zip(solo_runs(members), sinks, strict=True):
        assert_same_records(solo.records, sink.records, rel=1e-6)

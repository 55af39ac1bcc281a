"""Progress measures: each number checked against what it must be."""

from __future__ import annotations

import math

import pytest
import torch

from grok_tui.config import PresetError, load_preset
from grok_tui.training.measures import (
    ProgressMeasures,
    layer_norms,
    layer_of,
    softmax_collapse,
    top_hessian_eigenvalue,
)
from grok_tui.training.trainer import build_trainer, total_norm
from tests.conftest import REPO

ALL = '["layer_norms", "fourier", "nanda", "softmax_collapse", "sharpness"]'


def small(*overrides: str):
    return load_preset(
        REPO / "presets" / "quickstart.toml",
        ["train.device=cpu", "data.p=23", "model.embed_dim=16", "model.widths=[32]", *overrides],
    )


def test_layer_norms_add_up_to_the_parameter_norm():
    trainer = build_trainer(small())
    norms = layer_norms(trainer.model)
    layers = {k: v for k, v in norms.items() if k.startswith("norm.")}
    total = float(total_norm([p.detach() for p in trainer.params]))
    assert math.isclose(math.sqrt(sum(v * v for v in layers.values())), total, rel_tol=1e-6)
    assert norms["last_layer_norm"] == layers[f"norm.{list(layers)[-1].split('.', 1)[1]}"]
    assert (
        layer_of("blocks.0.attn.qkv.weight") == "blocks.0"
        and layer_of("unembed.weight") == "unembed"
    )


def test_softmax_collapse_counts_exact_ones():
    logits = torch.tensor([[200.0, 0.0], [2.0, 0.0], [0.0, 300.0]])
    labels = torch.tensor([0, 0, 0])
    assert softmax_collapse(logits, labels) == pytest.approx(1 / 3)  # only the first is exact


def test_softmax_collapse_is_counted_in_the_loss_s_precision():
    """A margin of 12 collapses in float16, not in float32; 30 in float32, not in float64:
    the measure follows the precision the loss computes its softmax in."""
    logits = torch.tensor([[12.0, 0.0], [30.0, 0.0]])
    labels = torch.tensor([0, 0])
    assert softmax_collapse(logits, labels, torch.float16) == 1.0
    assert softmax_collapse(logits, labels) == pytest.approx(1 / 2)
    assert softmax_collapse(logits, labels, torch.float64) == 0.0
    assert softmax_collapse(logits.double(), labels) == 0.0  # a float64 model's own softmax


def test_power_iteration_finds_the_top_eigenvalue_of_a_quadratic():
    x = torch.ones(3, requires_grad=True)
    a = torch.diag(torch.tensor([3.0, 1.0, -0.5]))
    assert top_hessian_eigenvalue(lambda: 0.5 * x @ a @ x, [x], iterations=50) == pytest.approx(
        3.0, rel=1e-3
    )


def test_every_measure_gives_finite_numbers_and_leaves_training_mode():
    preset = small(f"train.measures={ALL}")
    trainer = build_trainer(preset)
    measures = ProgressMeasures(
        preset,
        trainer.model,
        trainer.forward,
        trainer.loss_fn,
        trainer.task.train_x,
        trainer.task.train_y,
        trainer.device,
    )
    trainer.model.train()
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    out = measures.measure()
    assert trainer.model.training
    after = trainer.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # sharpness restored them
    for key in ("restricted_loss", "excluded_loss", "key_logit_fraction", "key_frequency_share"):
        assert math.isfinite(out[key]), key
    assert 1 <= out["dominant_frequency"] <= 11
    assert 0.0 <= out["softmax_collapse"] <= 1.0 and math.isfinite(out["sharpness"])
    assert any(k.startswith("norm.") for k in out)
    # at initialisation the key frequencies explain little: restricted loss is near chance
    assert out["restricted_loss"] == pytest.approx(math.log(23), rel=0.2)


def test_fourier_measures_refuse_tasks_without_z_p_structure():
    with pytest.raises(PresetError, match="apply to operation 'add' or 'sub'"):
        small('train.measures=["nanda"]', "data.operation=div")
    with pytest.raises(PresetError, match="Input should be 'layer_norms'"):
        small('train.measures=["nandaa"]')


def test_measures_are_fields_of_the_records_at_their_steps():
    from grok_tui.training.loop import train

    class Keep:
        def __init__(self) -> None:
            self.records: list[dict] = []

        def on_start(self, info: dict) -> None: ...
        def on_record(self, record: dict, summary: dict) -> None:
            self.records.append(record)

        def on_checkpoint(self, state: dict) -> None: ...
        def on_end(self, summary: dict) -> None: ...

    preset = small(
        'train.measures=["nanda", "layer_norms"]',
        "train.steps=40",
        "train.eval_every=10",
        "train.measure_every=20",
    )
    keep = Keep()
    train(preset, [keep])
    measured = [r["step"] for r in keep.records if "restricted_loss" in r]
    assert measured == [0, 20, 40]
    assert all("norm.embedding" in r for r in keep.records if r["step"] in measured)
    with pytest.raises(PresetError, match="must be a multiple of eval_every"):
        small('train.measures=["nanda"]', "train.eval_every=10", "train.measure_every=15")

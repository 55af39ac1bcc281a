"""The MLP's hand-written step: autograd's loss and gradients, and the presets it covers."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from grok_tui.config import Preset
from grok_tui.training.models import build_model
from grok_tui.training.models.mlp_step import ACTIVATIONS, FusedMLPStep
from grok_tui.training.trainer import build_trainer

P = 11


def preset(model: dict | None = None, train: dict | None = None) -> Preset:
    return Preset.model_validate(
        {
            "name": "fused",
            "data": {"operation": "add", "p": P, "train_fraction": 0.5, "include_op_tokens": False},
            "model": {"type": "mlp", "embed_dim": 8, "widths": [16, 12], **(model or {})},
            "optim": {"name": "adamw", "lr": 1e-2, "weight_decay": 1.0},
            "train": {"steps": 20, "batch_size": 24, "device": "cpu", **(train or {})},
        }
    )


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize(("seq_len", "widths"), [(2, [16, 12]), (4, [20]), (3, [8, 16, 8])])
def test_fused_step_gives_autograds_loss_and_gradients(activation, seq_len, widths):
    p = preset({"activation": activation, "widths": widths})
    torch.manual_seed(0)
    model = build_model(p.model, vocab_size=P + 2, seq_len=seq_len, n_classes=P).double()
    x = torch.randint(0, P + 2, (40, seq_len))
    y = torch.randint(0, P, (40,))
    step = FusedMLPStep.build(model, p, 40, torch.device("cpu"))
    assert step is not None
    loss = step(x, y)
    fused = [param.grad.clone() for param in model.parameters()]
    for param in model.parameters():
        param.grad = None
    expected = F.cross_entropy(model(x), y)
    expected.backward()
    assert loss.item() == pytest.approx(expected.item(), abs=1e-12)
    for got, param in zip(fused, model.parameters(), strict=True):
        torch.testing.assert_close(got, param.grad, rtol=1e-10, atol=1e-12)


def test_fused_training_follows_the_autograd_trajectory(monkeypatch):
    p = preset(train={"precision": "fp64", "steps": 30})
    fused = build_trainer(p)
    assert fused.fused_step is not None
    monkeypatch.setattr(FusedMLPStep, "enabled", False)
    plain = build_trainer(p)
    assert plain.fused_step is None
    for _ in range(30):  # 60 training rows, 2 batches an epoch: 15 epochs
        loss_fused, _ = fused.train_step(want_grad_norm=False)
        loss_plain, _ = plain.train_step(want_grad_norm=False)
        assert loss_fused.item() == pytest.approx(loss_plain.item(), rel=1e-9)
    for a, b in zip(fused.model.parameters(), plain.model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize(
    ("model", "train"),
    [
        ({"dropout": 0.1}, {}),
        ({"widths": [16, 16], "shared_hidden": True}, {}),
        ({}, {"loss": "stablemax"}),
        ({}, {"precision": "bf16"}),
        ({}, {"batch_size": 8}),  # fewer rows than the vocabulary: no tables, no fused step
    ],
)
def test_presets_the_fused_step_does_not_cover_train_through_autograd(model, train):
    trainer = build_trainer(preset(model, train))
    assert trainer.fused_step is None
    loss, _ = trainer.train_step(want_grad_norm=False)
    assert torch.isfinite(loss)


def test_transformer_trains_through_autograd():
    p = Preset.model_validate(
        {
            "name": "t",
            "data": {"p": P},
            "model": {"type": "transformer", "layers": 1, "d_model": 16, "heads": 2, "d_ff": 32},
            "train": {"batch_size": 24, "device": "cpu"},
        }
    )
    assert build_trainer(p).fused_step is None

"""Options the classic results need: StableMax, ⊥Grad, the Omnigrok norm constraint,
shared MLP hidden weights and scalar recurrent input."""

from __future__ import annotations

import math

import pytest
import torch

from grok_tui.config import MLPConfig, PresetError, RecurrentConfig, load_preset
from grok_tui.training.loop import train
from grok_tui.training.losses import stablemax, stablemax_cross_entropy
from grok_tui.training.models import build_model, count_parameters
from grok_tui.training.optim import orthogonalize_gradients
from grok_tui.training.trainer import build_trainer, total_norm


def test_stablemax_is_linear_above_zero_and_reciprocal_below():
    x = torch.tensor([-3.0, -1.0, 0.0, 2.0])
    assert torch.allclose(stablemax(x), torch.tensor([0.25, 0.5, 1.0, 3.0]))


def test_stablemax_cross_entropy_of_equal_logits_is_log_n_and_in_float64():
    logits = torch.zeros(4, 7)
    loss = stablemax_cross_entropy(logits, torch.arange(4))
    assert loss.dtype == torch.float64
    assert math.isclose(loss.item(), math.log(7), rel_tol=1e-12)
    logits = torch.tensor([[2.0, -1.0, 0.5]], requires_grad=True)
    loss = stablemax_cross_entropy(logits, torch.tensor([0]))
    expected = -math.log(3.0 / (3.0 + 0.5 + 1.5))
    assert math.isclose(loss.item(), expected, rel_tol=1e-12)
    loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_orthogonal_gradient_is_perpendicular_to_the_weight_and_keeps_its_norm():
    torch.manual_seed(0)
    w = torch.randn(5, 3, requires_grad=True)
    g = torch.randn(5, 3) + 2 * w.detach()  # a gradient with a large component along w
    w.grad = g.clone()
    orthogonalize_gradients([w])
    assert abs(torch.sum(w.grad * w.detach()).item()) < 1e-5
    assert math.isclose(w.grad.norm().item(), g.norm().item(), rel_tol=1e-5)


def test_constrained_norm_holds_the_initial_norm_and_init_scale_scales_it(tiny_preset_path):
    plain = build_trainer(load_preset(tiny_preset_path))
    scaled = build_trainer(load_preset(tiny_preset_path, ["train.init_scale=0.8"]))
    n_plain = total_norm(plain.params).item()
    assert math.isclose(total_norm(scaled.params).item(), 0.8 * n_plain, rel_tol=1e-5)

    trainer = build_trainer(
        load_preset(
            tiny_preset_path, ["train.constrain_norm=true", "optim.weight_decay=0", "optim.lr=0.05"]
        )
    )
    before = total_norm(trainer.params).item()
    for _ in range(20):
        trainer.train_step(want_grad_norm=False)
    assert math.isclose(total_norm(trainer.params).item(), before, rel_tol=1e-5)
    free = build_trainer(load_preset(tiny_preset_path, ["optim.weight_decay=0", "optim.lr=0.05"]))
    for _ in range(20):
        free.train_step(want_grad_norm=False)
    assert not math.isclose(total_norm(free.params).item(), before, rel_tol=1e-3)


@pytest.mark.parametrize(
    "overrides",
    [
        ["train.loss=stablemax", "train.precision=fp64"],
        ["optim.orthogonal_grad=true", "optim.weight_decay=0"],
        ["train.constrain_norm=true", "train.init_scale=0.8"],
    ],
)
def test_options_train_end_to_end(tiny_preset_path, overrides):
    summary = train(load_preset(tiny_preset_path, overrides), [])
    assert summary["status"] == "completed"
    assert summary["final"]["train_acc"] > 0.2


def test_shared_hidden_reuses_one_weight_matrix():
    sizes = {"vocab_size": 11, "seq_len": 2, "n_classes": 11}
    shared = build_model(MLPConfig(embed_dim=8, widths=[16, 16, 16], shared_hidden=True), **sizes)
    separate = build_model(MLPConfig(embed_dim=8, widths=[16, 16, 16]), **sizes)
    linears = [m for m in shared.net if isinstance(m, torch.nn.Linear)]
    assert linears[1] is linears[2] and linears[0] is not linears[1]
    assert count_parameters(separate) - count_parameters(shared) == 16 * 16 + 16
    out = shared(torch.randint(0, 11, (4, 2)))
    assert out.shape == (4, 11)
    with pytest.raises(ValueError, match="shared_hidden needs"):
        MLPConfig(widths=[16, 32], shared_hidden=True)


def test_scalar_recurrent_input_has_no_embedding(tmp_path):
    sizes = {"vocab_size": 13, "seq_len": 4, "n_classes": 11}
    model = build_model(
        RecurrentConfig(type="rnn", bidirectional=True, input="scalar", hidden_size=8), **sizes
    )
    assert model.embedding is None
    assert model.rnn.input_size == 1
    logits = model(torch.randint(0, 13, (5, 4)))
    logits.sum().backward()
    assert logits.shape == (5, 11)
    bad = tmp_path / "bad.toml"
    bad.write_text("[model]\ntype = 'rnn'\ninput = 'onehot'\n")
    with pytest.raises(PresetError, match="model.input"):
        load_preset(bad)

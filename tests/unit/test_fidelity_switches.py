"""The switches that the original set-ups need: each changes exactly what it names."""

from __future__ import annotations

import math

import pytest
import torch

from grok_tui.config import MLPConfig, PresetError, TransformerConfig, load_preset
from grok_tui.training.loop import train
from grok_tui.training.models import MLP, Transformer, build_model, count_parameters
from grok_tui.training.models.mlp_step import FusedMLPStep
from grok_tui.training.trainer import build_trainer, total_norm
from tests.conftest import REPO

VOCAB, SEQ, P = 13, 4, 11


def tokens(batch: int = 64) -> torch.Tensor:
    return torch.randint(0, VOCAB, (batch, SEQ), generator=torch.Generator().manual_seed(0))


def both_paths_agree(model: torch.nn.Module) -> None:
    """The lookup-table first layer against the plain computation (batch > vocabulary)."""
    x = tokens()
    fast = model(x)
    type(model).lookup_first_layer = False
    try:
        plain = model(x)
    finally:
        type(model).lookup_first_layer = True
    torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-5)


def transformer(**fields) -> Transformer:
    torch.manual_seed(0)
    cfg = TransformerConfig(layers=2, d_model=32, heads=4, d_ff=64, **fields)
    return Transformer(cfg, vocab_size=VOCAB, seq_len=SEQ, n_classes=P)


def test_nanda_init_gives_nanda_s_initial_norm():
    """Nanda et al.'s p = 113 model: about 42 at initialisation, against 125 for torch's."""
    preset = load_preset(REPO / "presets" / "classic" / "nanda-p113.toml")
    cfg = preset.model.model_copy(
        update={
            "init": "nanda",
            "attn_bias": False,
            "unembed_bias": False,
            "output_classes": "vocab",
        }
    )
    torch.manual_seed(0)
    model = build_model(cfg, vocab_size=114, seq_len=3, n_classes=113)
    norm = float(total_norm([p.detach() for p in model.parameters()]))
    assert 39.0 < norm < 45.0
    assert model.unembed.out_features == 114  # p + 1 classes, as Nanda's d_vocab
    assert all(
        not name.endswith("bias") or float(p.detach().abs().max()) == 0.0
        for name, p in model.named_parameters()
    )


def test_biases_off_remove_exactly_those_parameters():
    full, bare = transformer(), transformer(attn_bias=False, ffn_bias=False, unembed_bias=False)
    names = {n for n, _ in bare.named_parameters()}
    assert not any(
        n.endswith("bias") and ("attn" in n or "ffn" in n or "unembed" in n) for n in names
    )
    d, f, layers = 32, 64, 2
    removed = layers * (3 * d + d + f + d) + P
    assert count_parameters(full) - count_parameters(bare) == removed
    both_paths_agree(bare)


def test_sinusoidal_positions_are_fixed_and_not_trained():
    model = transformer(positions="sinusoidal")
    assert not any("position" in n for n, _ in model.named_parameters())
    table = model.positions(SEQ)
    assert torch.allclose(table[0, 0::2], torch.zeros(16)) and torch.allclose(
        table[0, 1::2], torch.ones(16)
    )
    assert math.isclose(float(table[1, 0]), math.sin(1.0), rel_tol=1e-6)
    both_paths_agree(model)


def test_grokfast_block_takes_the_residual_from_the_layernorm():
    standard = transformer(norm="pre")
    grokfast = transformer(norm="pre", residual="norm")
    grokfast.load_state_dict(standard.state_dict())
    assert not torch.allclose(standard(tokens()), grokfast(tokens()))
    both_paths_agree(grokfast)
    with pytest.raises(ValueError, match="residual = 'norm' needs norm = 'pre'"):
        TransformerConfig(residual="norm", norm="post")


def test_one_hot_mlp_without_biases_is_prieto_s_model():
    torch.manual_seed(0)
    cfg = MLPConfig(input="one_hot", bias=False, widths=[20, 20])
    model = MLP(cfg, vocab_size=VOCAB, seq_len=SEQ, n_classes=P)
    assert model.embedding is None
    assert [tuple(p.shape) for p in model.parameters()] == [(20, SEQ * VOCAB), (20, 20), (P, 20)]
    both_paths_agree(model)
    x = tokens(8)
    plain = model.net(torch.nn.functional.one_hot(x, VOCAB).flatten(1).float())
    torch.testing.assert_close(model(x), plain)
    with pytest.raises(ValueError, match="embed_dim does not apply"):
        MLPConfig(input="one_hot", embed_dim=64)


PRIETO_LIKE = """\
name = "one-hot"
[data]
p = 23
include_op_tokens = true
[model]
type = "mlp"
input = "one_hot"
bias = false
output_classes = "vocab"
widths = [32]
[train]
steps = 30
eval_every = 10
device = "cpu"
"""


def test_switched_models_train_and_the_hand_written_step_steps_aside(tmp_path):
    (tmp_path / "p.toml").write_text(PRIETO_LIKE)
    preset = load_preset(tmp_path / "p.toml")
    trainer = build_trainer(preset)
    assert trainer.fused_step is None  # it writes an embedding's and biases' gradients
    assert FusedMLPStep.build(trainer.model, preset, 512, torch.device("cpu")) is None
    assert trainer.model.net[-1].out_features == 25  # p + 2 tokens: 23 numbers, '=' and op
    summary = train(preset, [])
    assert summary["status"] == "completed" and math.isfinite(summary["final"]["train_loss"])
    with pytest.raises(PresetError, match="Input should be 'embedding' or 'one_hot'"):
        load_preset(tmp_path / "p.toml", ['model.input="scalar"'])
    with pytest.raises(PresetError, match="embed_dim does not apply"):
        load_preset(tmp_path / "p.toml", ["model.embed_dim=8"])
    (tmp_path / "frozen.toml").write_text(preset.to_toml())  # as a run directory keeps it
    assert load_preset(tmp_path / "frozen.toml") == preset


def test_float64_loss_keeps_what_float32_rounds_away():
    """Near zero loss, float32's log-softmax absorbs the correct class: its loss and its
    gradient become exactly 0 (Prieto et al.'s softmax collapse); in float64 they do not."""
    from grok_tui.training.losses import LOSSES

    logits = torch.tensor([[20.0, 0.0, 0.0]], requires_grad=True)  # float32, as the model's
    labels = torch.tensor([0])
    loss32 = LOSSES["cross_entropy"](logits, labels)
    loss32.backward()
    assert float(loss32) == 0.0 and float(logits.grad[0, 0]) == 0.0
    logits.grad = None
    loss64 = LOSSES["cross_entropy_fp64"](logits, labels)
    loss64.backward()
    assert loss64.dtype == torch.float64 and logits.grad.dtype == torch.float32
    assert float(loss64) == pytest.approx(2 * math.exp(-20), rel=1e-6)
    assert float(logits.grad[0, 0]) == pytest.approx(-2 * math.exp(-20), rel=1e-5)


def test_float16_loss_collapses_where_float32_does_not():
    """Prieto et al.'s softmax precision 16: at a logit margin of 12 the float16 softmax
    already rounds the correct class to exactly 1 (zero loss, zero gradient), float32 not;
    a large evaluation sum stays finite (the sum is float32)."""
    from grok_tui.training.losses import LOSSES

    logits = torch.tensor([[12.0, 0.0, 0.0]], requires_grad=True)
    labels = torch.tensor([0])
    loss16 = LOSSES["cross_entropy_fp16"](logits, labels)
    loss16.backward()
    assert float(loss16) == 0.0 and float(logits.grad[0, 0]) == 0.0
    assert logits.grad.dtype == torch.float32
    logits.grad = None
    loss32 = LOSSES["cross_entropy"](logits, labels)
    loss32.backward()
    assert float(loss32) > 0.0 and float(logits.grad[0, 0]) < 0.0
    wrong = torch.tensor([[0.0, 30.0, 0.0]]).repeat(5000, 1)  # 5,000 x loss 30 > 65,504
    total = LOSSES["cross_entropy_fp16"](wrong, torch.zeros(5000, dtype=torch.long), "sum")
    assert math.isfinite(float(total)) and float(total) == pytest.approx(150_000, rel=1e-3)

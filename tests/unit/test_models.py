"""Model families: shapes, gradients, dtypes, and the transformer's last-position fast path."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from grok_tui.config import MLPConfig, RecurrentConfig, TransformerConfig
from grok_tui.training.models import build_model, count_parameters
from grok_tui.training.models.transformer import Transformer

P, VOCAB, SEQ, BATCH = 11, 13, 4, 5

CONFIGS = {
    "transformer-post": TransformerConfig(layers=2, d_model=16, heads=2, d_ff=32, norm="post"),
    "transformer-pre": TransformerConfig(layers=2, d_model=16, heads=2, d_ff=32, norm="pre"),
    "transformer-none": TransformerConfig(
        layers=1, d_model=16, heads=4, d_ff=32, norm="none", activation="gelu"
    ),
    "mlp": MLPConfig(embed_dim=8, widths=[16, 12], activation="tanh"),
    "lstm": RecurrentConfig(type="lstm", embed_dim=8, hidden_size=12, layers=2),
    "gru": RecurrentConfig(type="gru", embed_dim=8, hidden_size=12, layers=1),
    "rnn": RecurrentConfig(type="rnn", embed_dim=8, hidden_size=12, layers=2),
    "bilstm": RecurrentConfig(
        type="lstm", embed_dim=8, hidden_size=12, layers=2, bidirectional=True
    ),
    "birnn": RecurrentConfig(type="rnn", embed_dim=8, hidden_size=12, layers=3, bidirectional=True),
}


def make(name: str, **overrides) -> torch.nn.Module:
    cfg = CONFIGS[name].model_copy(update=overrides)
    torch.manual_seed(0)
    return build_model(cfg, vocab_size=VOCAB, seq_len=SEQ, n_classes=P)


def tokens(batch: int = BATCH, seq: int = SEQ) -> torch.Tensor:
    return torch.randint(0, VOCAB, (batch, seq), generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("name", CONFIGS)
def test_forward_gives_logits_and_backward_reaches_every_parameter(name):
    model = make(name)
    logits = model(tokens())
    assert logits.shape == (BATCH, P) and logits.dtype == torch.float32
    F.cross_entropy(logits, torch.arange(BATCH) % P).backward()
    for pname, param in model.named_parameters():
        assert param.grad is not None, pname
        assert torch.isfinite(param.grad).all(), pname
        assert param.grad.abs().sum() > 0, pname


@pytest.mark.parametrize("name", ["transformer-post", "transformer-pre", "mlp", "bilstm", "gru"])
def test_float64_model_gives_float64_logits(name):
    model = make(name).double()
    logits = model(tokens())
    assert logits.dtype == torch.float64
    logits.sum().backward()
    assert all(p.grad.dtype == torch.float64 for p in model.parameters())


@pytest.mark.parametrize("name", ["transformer-post", "transformer-pre", "mlp", "lstm", "birnn"])
def test_bf16_autocast_forward_and_backward(name):
    model = make(name)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(tokens())
    assert logits.shape == (BATCH, P)
    logits.float().sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("name", ["transformer-post", "mlp", "lstm"])
def test_dropout_is_active_in_training_and_off_in_eval(name):
    field = "dropout"
    model = make(name, **{field: 0.5})
    x = tokens()
    model.train()
    assert not torch.equal(model(x), model(x))
    model.eval()
    assert torch.equal(model(x), model(x))


def reference_transformer(model: Transformer, x: torch.Tensor, norm: str) -> torch.Tensor:
    """A plain full-sequence pass (explicit masked softmax), read at the last position."""
    T = x.shape[1]
    h = model.token_embedding(x) + model.position_embedding.weight[:T]
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    for block in model.blocks:
        attn = block.attn
        B, _, C = h.shape
        H = attn.heads
        D = C // H

        def attention(u, attn=attn, B=B, C=C, H=H, D=D):
            q, k, v = (u @ attn.qkv.weight.T + attn.qkv.bias).split(C, dim=2)
            q, k, v = (t.view(B, T, H, D).transpose(1, 2) for t in (q, k, v))
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(D)
            weights = scores.masked_fill(~mask, float("-inf")).softmax(dim=-1)
            y = (weights @ v).transpose(1, 2).reshape(B, T, C)
            return attn.proj(y)

        if norm == "pre":
            h = h + attention(block.ln1(h))
            h = h + block.ffn(block.ln2(h))
        else:
            h = block.ln1(h + attention(h))
            h = block.ln2(h + block.ffn(h))
    return model.unembed(model.ln_f(h)[:, -1])


@pytest.mark.parametrize("norm", ["post", "pre", "none"])
@pytest.mark.parametrize("layers", [1, 3])
def test_transformer_last_position_path_equals_full_causal_pass(norm, layers):
    cfg = TransformerConfig(layers=layers, d_model=16, heads=4, d_ff=24, norm=norm)
    torch.manual_seed(0)
    model = Transformer(cfg, vocab_size=VOCAB, seq_len=6, n_classes=P).double().eval()
    x = tokens(seq=6)
    expected = reference_transformer(model, x, norm)
    torch.testing.assert_close(model(x), expected, rtol=1e-10, atol=1e-10)


def grads_of(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    model.zero_grad()
    out = model(x)
    out.square().sum().backward()
    return out.detach(), [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("norm", ["post", "pre", "none"])
@pytest.mark.parametrize("layers", [1, 3])
def test_transformer_first_block_table_equals_the_matmul_path(norm, layers, monkeypatch):
    """A batch larger than the vocabulary takes the (T, V) q, k, v table: same logits
    (against the plain reference) and same gradients as the per-row matmul path."""
    cfg = TransformerConfig(layers=layers, d_model=16, heads=4, d_ff=24, norm=norm)
    torch.manual_seed(0)
    model = Transformer(cfg, vocab_size=VOCAB, seq_len=6, n_classes=P).double()
    x = torch.randint(0, VOCAB, (4 * VOCAB, 6), generator=torch.Generator().manual_seed(2))
    seen = []
    hook = model.blocks[0].attn.qkv.register_forward_hook(
        lambda _m, args, _out: seen.append(args[0].shape)
    )
    with_table = grads_of(model, x)
    assert seen[0] == (6, VOCAB, 16)  # the table: one row per (position, token)
    torch.testing.assert_close(with_table[0], reference_transformer(model, x, norm).detach())
    monkeypatch.setattr(Transformer, "lookup_first_layer", False)
    without = grads_of(model, x)
    hook.remove()
    assert (6, VOCAB, 16) not in seen[1:]  # the per-row path builds no table
    torch.testing.assert_close(with_table[0], without[0], rtol=1e-10, atol=1e-10)
    for a, b in zip(with_table[1], without[1], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_transformer_short_attention_equals_the_fused_kernel(monkeypatch):
    """On CPU short sequences use einsum attention; the fused kernel gives the same."""
    import grok_tui.training.models.transformer as transformer

    model = make("transformer-post").double()
    x = tokens(batch=3 * VOCAB)
    short = grads_of(model, x)
    monkeypatch.setattr(transformer, "SHORT_SEQUENCE", 0)
    fused = grads_of(model, x)
    torch.testing.assert_close(short[0], fused[0], rtol=1e-10, atol=1e-10)
    for a, b in zip(short[1], fused[1], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("shared", [False, True])
def test_mlp_first_layer_tables_equal_the_matmul_path(shared, monkeypatch):
    from grok_tui.training.models.mlp import MLP

    cfg = MLPConfig(embed_dim=8, widths=[16, 16, 16], shared_hidden=shared)
    torch.manual_seed(0)
    model = MLP(cfg, vocab_size=VOCAB, seq_len=3, n_classes=P).double()
    x = torch.randint(0, VOCAB, (5 * VOCAB, 3), generator=torch.Generator().manual_seed(3))
    calls = []
    hook = model.net[0].register_forward_hook(lambda *_: calls.append(1))
    with_table = grads_of(model, x)
    assert calls == []  # the first Linear is read as tables, never called on the batch
    monkeypatch.setattr(MLP, "lookup_first_layer", False)
    without = grads_of(model, x)
    hook.remove()
    assert calls == [1]
    torch.testing.assert_close(with_table[0], without[0], rtol=1e-10, atol=1e-10)
    for a, b in zip(with_table[1], without[1], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_transformer_earlier_positions_influence_the_output():
    # The last query attends to every position: changing the first token changes the logits.
    model = make("transformer-post").eval()
    x = tokens()
    y = x.clone()
    y[:, 0] = (y[:, 0] + 1) % VOCAB
    assert not torch.allclose(model(x), model(y))


def test_transformer_last_block_runs_its_feed_forward_on_one_position():
    model = make("transformer-pre")
    seen = []
    for block in model.blocks:
        block.ffn.register_forward_hook(lambda _m, args, _out: seen.append(args[0].shape))
    model(tokens())
    assert seen == [(BATCH, SEQ, 16), (BATCH, 1, 16)]


def test_transformer_reads_shorter_sequences():
    model = make("transformer-none")
    assert model(tokens(seq=2)).shape == (BATCH, P)


def test_recurrent_uses_final_states_of_both_directions():
    # The backward direction's final state has read the whole sequence, so the logits
    # depend on the last token through it, and on the first token through the forward one.
    model = make("birnn").eval()
    x = tokens()
    _, h_n = model.rnn(model.embedding(x))
    expected = model.head(torch.cat([h_n[-2], h_n[-1]], dim=1))
    torch.testing.assert_close(model(x), expected)
    output, _ = model.rnn(model.embedding(x))
    assert not torch.allclose(output[:, -1], torch.cat([h_n[-2], h_n[-1]], dim=1))


def test_count_parameters_matches_layer_sizes():
    model = make("mlp")  # embed 13x8, then 32 -> 16 -> 12 -> 11
    expected = 13 * 8 + (32 * 16 + 16) + (16 * 12 + 12) + (12 * 11 + 11)
    assert count_parameters(model) == expected


def test_transformer_parameter_count_uses_fused_qkv():
    cfg = CONFIGS["transformer-pre"]
    model = make("transformer-pre")
    d, f = cfg.d_model, cfg.d_ff
    block = (d * 3 * d + 3 * d) + (d * d + d) + (d * f + f) + (f * d + d) + 2 * 2 * d
    expected = VOCAB * d + SEQ * d + cfg.layers * block + 2 * d + (d * P + P)
    assert count_parameters(model) == expected


@pytest.mark.gpu  # deselected by default; on a GPU box: pytest -m gpu
@pytest.mark.parametrize("name", ["transformer-post", "mlp", "bilstm"])
def test_models_run_on_cuda_under_bf16_autocast(name):
    model = make(name).cuda()
    with torch.autocast("cuda", dtype=torch.bfloat16):
        logits = model(tokens().cuda())
    assert logits.shape == (BATCH, P) and logits.device.type == "cuda"
    logits.float().sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())

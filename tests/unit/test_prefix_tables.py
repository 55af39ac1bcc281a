"""The shared-prefix table: positions whose prefix is x and constants are computed once per
token and gathered, with the plain computation's outputs and gradients (float32 rounding)."""

from __future__ import annotations

import itertools

import pytest
import torch

from grok_tui.config import TransformerConfig, load_preset
from grok_tui.config.tasks import vocab_layout
from grok_tui.training.data import build_task
from grok_tui.training.group.models import GroupTransformer
from grok_tui.training.group.params import GroupParams
from grok_tui.training.models import Transformer, build_model
from tests.conftest import REPO

P_ELEMENTS = 11
# token layouts of data.py's tokenize (numbers 0..p-1, op p, '=' p + 1; '=' alone is p)
LAYOUTS = {
    "x op y =": (lambda x, y: [x, P_ELEMENTS, y, P_ELEMENTS + 1], P_ELEMENTS + 2, 2),
    "x y =": (lambda x, y: [x, y, P_ELEMENTS], P_ELEMENTS + 1, 1),
    "x y": (lambda x, y: [x, y], P_ELEMENTS, 1),
}


def layout_tokens(layout: str, batch: int = 64, seed: int = 0) -> tuple[torch.Tensor, int, int]:
    """(tokens (batch, T), vocabulary size, the positions whose prefix is x and constants)."""
    row, vocab, shared = LAYOUTS[layout]
    g = torch.Generator().manual_seed(seed)
    xs, ys = torch.randint(0, P_ELEMENTS, (2, batch), generator=g).tolist()
    return torch.tensor([row(x, y) for x, y in zip(xs, ys, strict=True)]), vocab, shared


def sum_tokens(k: int, batch: int = 64) -> torch.Tensor:
    """[x1, op, x2, op, ..., xk, =]: length 2k (10 for k = 5, past the short attention)."""
    g = torch.Generator().manual_seed(1)
    tokens = torch.full((batch, 2 * k), P_ELEMENTS)
    tokens[:, 0::2] = torch.randint(0, P_ELEMENTS, (batch, k), generator=g)
    tokens[:, -1] = P_ELEMENTS + 1
    return tokens


def model(vocab: int, seq_len: int, **fields) -> Transformer:
    torch.manual_seed(0)
    cfg = TransformerConfig(**{"layers": 2, "d_model": 32, "heads": 4, "d_ff": 64, **fields})
    return Transformer(cfg, vocab_size=vocab, seq_len=seq_len, n_classes=P_ELEMENTS)


def outputs_and_grads(net: Transformer, tokens: torch.Tensor, share: bool) -> list[torch.Tensor]:
    net.share_prefix = share  # the instance switch
    try:
        out = net(tokens)
        params = [p for p in net.parameters() if p.requires_grad]
        loss = torch.nn.functional.cross_entropy(out, tokens[:, 0] % out.shape[1])
        return [out.detach(), *torch.autograd.grad(loss, params)]
    finally:
        del net.share_prefix


def assert_same_as_plain(net: Transformer, tokens: torch.Tensor, shared: int) -> None:
    """With `shared` positions in the table: outputs to 1e-6 (a few float32 ulps of their size); gradients to 1e-5 of their
    largest entry (float32 sums over the batch's rows, in another order)."""
    assert net.prefix_positions(tokens) == shared
    fast = outputs_and_grads(net, tokens, True)
    plain = outputs_and_grads(net, tokens, False)
    torch.testing.assert_close(fast[0], plain[0], rtol=1e-6, atol=1e-6)
    for a, b in zip(fast[1:], plain[1:], strict=True):
        scale = float(b.abs().max()) or 1.0
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5 * scale)


@pytest.mark.parametrize(
    "layers, norm, layout",
    list(itertools.product([1, 2], ["post", "pre", "none"], list(LAYOUTS))),
)
def test_prefix_table_equals_the_plain_forward_and_backward(layers, norm, layout):
    tokens, vocab, shared = layout_tokens(layout)
    net = model(vocab, tokens.shape[1], layers=layers, norm=norm)
    assert_same_as_plain(net, tokens, shared)


@pytest.mark.parametrize(
    "fields",
    [
        {"norm": "pre", "residual": "norm", "init": "nanda"},
        {"positions": "sinusoidal", "attn_bias": False, "ffn_bias": False, "unembed_bias": False},
        {"activation": "gelu"},
    ],
)
def test_prefix_table_with_the_other_switches(fields):
    tokens, vocab, _ = layout_tokens("x op y =")
    assert_same_as_plain(model(vocab, tokens.shape[1], **fields), tokens, 2)


def test_a_long_sequence_takes_the_fused_kernel_with_a_bottom_right_mask():
    """k = 5 operands: 10 tokens, past SHORT_SEQUENCE; the queries after the prefix."""
    tokens = sum_tokens(5)
    net = model(P_ELEMENTS + 2, tokens.shape[1])
    assert_same_as_plain(net, tokens, 2)


def test_without_the_lookup_table_too():
    tokens, vocab, _ = layout_tokens("x op y =")
    net = model(vocab, tokens.shape[1])
    net.lookup_first_layer = False
    assert_same_as_plain(net, tokens, 2)


def test_no_table_where_it_would_not_pay_or_not_be_exact():
    tokens, vocab, _ = layout_tokens("x op y =")
    net = model(vocab, tokens.shape[1])
    assert net.prefix_positions(tokens[:vocab]) == 0  # no more rows than the table has
    varied = tokens.clone()
    varied[0, 1] = 0  # the op position is no constant: only x's own position is shared
    assert_same_as_plain(net, varied, 1)
    net.share_prefix = False
    assert net.prefix_positions(tokens) == 0


def test_dropout_keeps_its_masks_per_row_in_training_and_shares_in_evaluation():
    """In training each row draws its own dropout masks, so no table: the same seed gives
    the same numbers with the switch on or off. In evaluation dropout is off: a table."""
    tokens, vocab, _ = layout_tokens("x op y =")
    net = model(vocab, tokens.shape[1], dropout=0.3)
    assert net.prefix_positions(tokens) == 0
    runs = []
    for share in (True, False):
        net.share_prefix = share
        torch.manual_seed(5)
        runs.append(net(tokens))
    torch.testing.assert_close(runs[0], runs[1], rtol=0, atol=0)
    net.eval()
    net.share_prefix = True
    assert net.prefix_positions(tokens) == 2
    with torch.no_grad():
        fast = net(tokens)
        net.share_prefix = False
        plain = net(tokens)
    torch.testing.assert_close(fast, plain, rtol=1e-6, atol=1e-6)


def transformer_presets() -> list:
    found = []
    for path in sorted((REPO / "presets").rglob("*.toml")):
        if "sweeps" in path.parts:
            continue
        preset = load_preset(path, ["train.device=cpu"])
        if isinstance(preset.model, TransformerConfig):
            found.append(pytest.param(preset, id=path.stem))
    return found


@pytest.mark.parametrize("preset", transformer_presets())
def test_every_transformer_preset_tables_its_x_positions(preset):
    """The presets' own models and token layouts: [x, op, y, =] shares 2 positions,
    [x, y, =] and [x, y] share x's."""
    task = build_task(preset.data)
    vocab, seq_len = vocab_layout(preset.data)
    torch.manual_seed(0)
    net = build_model(preset.model, vocab_size=vocab, seq_len=seq_len, n_classes=task.n_classes)
    tokens = task.train_x[: max(256, vocab + 1)]
    assert_same_as_plain(net, tokens, 2 if preset.data.include_op_tokens else 1)


def test_a_group_member_computes_its_solo_model_s_numbers_bit_for_bit():
    """The batched forward takes the same table: each member's logits and the gradients
    of every parameter the table feeds are its solo model's exactly (on CPU). The
    unembedding's gradient, after the table, is one (C, B) x (B, n) product that bmm
    and mm round differently with or without the table: checked to float32 rounding."""
    batches = [layout_tokens("x op y =", batch=48, seed=s)[0] for s in (0, 1)]
    vocab = LAYOUTS["x op y ="][1]
    solos = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        solos.append(model(vocab, 4, norm="pre"))
    names = [name for name, _ in solos[0].named_parameters()]
    expected = []
    for net, tokens in zip(solos, batches, strict=True):
        assert net.prefix_positions(tokens) == 2
        out = net(tokens)
        loss = torch.nn.functional.cross_entropy(out, tokens[:, 2])
        expected.append([out.detach(), *torch.autograd.grad(loss, list(net.parameters()))])
    params = GroupParams(solos)
    group = GroupTransformer(solos[0], params, "relu")
    out = group(torch.stack(batches))
    labels = torch.stack([tokens[:, 2] for tokens in batches])
    per_row = torch.nn.functional.cross_entropy(
        out.flatten(0, 1), labels.flatten(), reduction="none"
    )
    grads = torch.autograd.grad(per_row.view(2, -1).mean(1).sum(), params.list())
    for i, want in enumerate(expected):
        torch.testing.assert_close(out[i].detach(), want[0], rtol=0, atol=0)
        for name, g, w in zip(names, grads, want[1:], strict=True):
            exact = name != "unembed.weight"
            torch.testing.assert_close(
                g[i], w, rtol=0 if exact else 1e-5, atol=0 if exact else 1e-7
            )

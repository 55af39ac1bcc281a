"""Decoder-only transformer of Power et al. (2022): it reads [x, op, y, =] and predicts at '='.

Two exact shortcuts, both equal to the plain computation up to float rounding:
- only the last position's output is ever read, so the last block computes its query,
  attention output and feed-forward for that position alone (keys and values still come
  from every position);
- the first block's attention input depends on one token and its position only, so when a
  batch has more rows than the vocabulary has tokens its q, k, v are looked up in a
  (T * V, 3C) table computed once per step instead of a (B * T, C) x (C, 3C) matmul;
- with causal attention a block's output at position t depends on tokens 0..t alone; in
  these tasks the first positions hold x and constants ([x, op, ...]), so their outputs
  (and every block's keys and values there) are computed once per vocabulary token, a
  table of V rows, and gathered into the batch (prefix_positions says how many); only
  the later positions run per batch row.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from grok_tui.config import TransformerConfig

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "silu": nn.SiLU,
}


SHORT_SEQUENCE = 8  # on CPU, sequences up to this length skip the fused attention kernel


def short_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool
) -> torch.Tensor:
    """Softmax attention of q (B, Tq, H, D) over k, v (B, T, H, D) -> (B, Tq, H, D).

    For the 2-4 tokens of these tasks, CPU time goes to the fused kernel's per-row setup,
    not to arithmetic: one broadcast product (a single query) or two einsums (every
    query) in the (B, T, H, D) layout are 1.3-2x faster, forward and backward, and need
    no transposes. causal masks each query from the keys after it, the queries being the
    last Tq of the T positions (with Tq == T: query i from keys j > i).
    """
    q = q * q.shape[-1] ** -0.5
    if q.shape[1] == 1 and not causal:
        scores = (q * k).sum(-1, keepdim=True)  # (B, T, H, 1)
        return (scores.softmax(1) * v).sum(1, keepdim=True)  # (B, 1, H, D)
    scores = torch.einsum("bihd,bjhd->bijh", q, k)  # (B, Tq, T, H)
    if causal:
        future = future_mask(q.shape[1], k.shape[1], q.device)
        scores = scores.masked_fill(future[:, :, None], float("-inf"))
    return torch.einsum("bijh,bjhd->bihd", scores.softmax(2), v)


def future_mask(Tq: int, T: int, device: torch.device) -> torch.Tensor:
    """(Tq, T) True where a key comes after its query; the queries are the last Tq positions."""
    return torch.ones(Tq, T, dtype=torch.bool, device=device).triu(1 + T - Tq)


def attend(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool, dropout: float = 0.0
) -> torch.Tensor:
    """Attention of q (B, Tq, H, D), the last Tq positions, over k, v (B, T, H, D)."""
    Tq, T = q.shape[1], k.shape[1]
    if q.device.type == "cpu" and T <= SHORT_SEQUENCE and dropout == 0.0:
        return short_attention(q, k, v, causal)  # (B, Tq, H, D)
    # is_causal aligns its mask top-left, right only when Tq == T; a single last query
    # sees every position and needs no mask.
    mask = None
    if causal and Tq != T:
        mask = ~future_mask(Tq, T, q.device)
    return F.scaled_dot_product_attention(
        q.transpose(1, 2),
        k.transpose(1, 2),
        v.transpose(1, 2),
        attn_mask=mask,
        dropout_p=dropout,
        is_causal=causal and mask is None,
    ).transpose(1, 2)  # (B, H, Tq, D) -> (B, Tq, H, D)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.heads = cfg.heads
        self.dropout = cfg.dropout
        # fused: one matmul for q, k, v
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model, bias=cfg.attn_bias)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model, bias=cfg.attn_bias)
        self.resid_dropout = nn.Dropout(cfg.dropout)

    def forward(
        self,
        x: torch.Tensor,
        last_only: bool = False,
        qkv: torch.Tensor | None = None,
        prefix_kv: torch.Tensor | None = None,
        kv_out: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """x (B, T, C) -> (B, T, C), or (B, 1, C) for the last position when last_only.

        qkv: the projections self.qkv(x), (B, T, 3C), when the caller has them already.
        prefix_kv: keys and values (B, P, 2C) of P positions before x's (a prefix table's);
        kv_out: x's own keys and values (B, T, 2C) are appended to it (for such a table).
        """
        B, T, C = x.shape
        if qkv is not None:
            q, kv = qkv.split([C, 2 * C], dim=2)
            q = q[:, -1:] if last_only else q
        elif last_only:
            # Rows [0, C) of the fused weight are the query; [C, 3C) keys and values.
            w, b = self.qkv.weight, self.qkv.bias
            q = F.linear(x[:, -1:], w[:C], None if b is None else b[:C])  # (B, 1, C)
            kv = F.linear(x, w[C:], None if b is None else b[C:])
        else:
            q, kv = self.qkv(x).split([C, 2 * C], dim=2)
        if kv_out is not None:
            kv_out.append(kv)
        if prefix_kv is not None:
            kv = torch.cat([prefix_kv, kv], dim=1)  # (B, P + T, 2C)
        k, v = kv.split(C, dim=2)
        Tq, Tk, H = q.shape[1], k.shape[1], self.heads
        q = q.view(B, Tq, H, C // H)  # (B, Tq, H, D)
        k = k.view(B, Tk, H, C // H)  # (B, Tk, H, D)
        v = v.view(B, Tk, H, C // H)  # (B, Tk, H, D)
        dropout = self.dropout if self.training else 0.0
        y = attend(q, k, v, causal=not last_only, dropout=dropout)  # (B, Tq, H, D)
        y = y.reshape(B, Tq, C)
        return self.resid_dropout(self.proj(y))

    def keys_values(self, x: torch.Tensor) -> torch.Tensor:
        """The keys and values (B, T, 2C) of attention input x (B, T, C)."""
        C = x.shape[-1]
        w, b = self.qkv.weight, self.qkv.bias
        return F.linear(x, w[C:], None if b is None else b[C:])


class FeedForward(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(cfg.d_model, cfg.d_ff, bias=cfg.ffn_bias),
            ACTIVATIONS[cfg.activation](),
            nn.Linear(cfg.d_ff, cfg.d_model, bias=cfg.ffn_bias),
            nn.Dropout(cfg.dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, T, C) -> (B, T, C)


class Block(nn.Module):
    """Attention then feed-forward, each a residual branch; LayerNorm per cfg.norm."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.pre_norm = cfg.norm == "pre"
        self.residual_from_norm = cfg.residual == "norm"  # Grokfast: x = ln1(x); x + attn(x)
        self.ln1 = nn.LayerNorm(cfg.d_model) if cfg.norm != "none" else nn.Identity()
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model) if cfg.norm != "none" else nn.Identity()
        self.ffn = FeedForward(cfg)

    def forward(
        self,
        x: torch.Tensor,
        last_only: bool = False,
        qkv: torch.Tensor | None = None,
        prefix_kv: torch.Tensor | None = None,
        kv_out: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """x (B, T, C) -> (B, T, C), or (B, 1, C) when last_only; the rest as in the attention."""
        if self.residual_from_norm:
            x = self.ln1(x)
            residual = x[:, -1:] if last_only else x
            x = residual + self.attn(x, last_only, qkv, prefix_kv, kv_out)
            return x + self.ffn(self.ln2(x))
        residual = x[:, -1:] if last_only else x
        if self.pre_norm:
            # ln1 is only needed for q, k, v, which qkv already holds
            attn_in = x if qkv is not None else self.ln1(x)
            x = residual + self.attn(attn_in, last_only, qkv, prefix_kv, kv_out)
            return x + self.ffn(self.ln2(x))
        # post (Power et al., danielmamay) and none (Nanda et al.: ln1, ln2 are Identity)
        x = self.ln1(residual + self.attn(x, last_only, qkv, prefix_kv, kv_out))
        return self.ln2(x + self.ffn(x))

    def keys_values(self, x: torch.Tensor, qkv: torch.Tensor | None = None) -> torch.Tensor:
        """The attention's keys and values (B, T, 2C) of block input x, nothing else."""
        if qkv is not None:
            return qkv[..., x.shape[-1] :]
        return self.attn.keys_values(self.ln1(x) if self.pre_norm or self.residual_from_norm else x)


def sinusoids(length: int, width: int) -> torch.Tensor:
    """Vaswani et al.'s fixed positions: sin and cos of position / 10000^(2i/width)."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    rate = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))
    table = torch.zeros(length, width)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate)[:, : width // 2]
    return table


def nanda_init(model: nn.Module, d_model: int, n_classes: int) -> None:
    """Nanda et al.'s initialisation: randn / sqrt(d_model) for every weight and embedding,
    randn / sqrt(classes) for the unembedding, zero biases; LayerNorms stay (1, 0).

    Its total norm is several times smaller than PyTorch's default (an N(0, 1) embedding):
    about 42 for their p = 113 model against 125.
    """
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if ".ln" in f".{name}" or name.startswith("ln_f"):
                continue
            if name.endswith("bias"):
                parameter.zero_()
            elif name.startswith("unembed"):
                parameter.normal_(0.0, n_classes**-0.5)
            else:
                parameter.normal_(0.0, d_model**-0.5)


class Transformer(nn.Module):
    """Tokens (B, T) int64 -> logits (B, n_classes), read at the last position."""

    # Class switches for the two tables (the first block's q, k, v; the shared prefix's
    # blocks); tests turn them off to compare with the plain computation.
    lookup_first_layer: bool = True
    share_prefix: bool = True

    def __init__(
        self, cfg: TransformerConfig, *, vocab_size: int, seq_len: int, n_classes: int
    ) -> None:
        super().__init__()
        self.seq_len = seq_len
        self.dropout = cfg.dropout
        self.token_embedding = nn.Embedding(vocab_size, cfg.d_model)
        if cfg.positions == "learned":
            self.position_embedding = nn.Embedding(seq_len, cfg.d_model)
        else:  # fixed: a buffer, neither trained nor decayed
            self.register_buffer("sinusoids", sinusoids(seq_len, cfg.d_model), persistent=False)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.ln_f = nn.LayerNorm(cfg.d_model) if cfg.norm == "pre" else nn.Identity()
        self.unembed = nn.Linear(cfg.d_model, n_classes, bias=cfg.unembed_bias)
        self.register_buffer(
            "offsets", torch.arange(seq_len) * vocab_size, persistent=False
        )  # row of (position t, token v) in the flattened table: t * V + v
        if cfg.init == "nanda":
            nanda_init(self, cfg.d_model, n_classes)

    def positions(self, T: int) -> torch.Tensor:
        """The position vectors of the first T positions (T, C)."""
        if hasattr(self, "position_embedding"):
            return self.position_embedding.weight[:T]
        return self.sinusoids[:T]

    def qkv_table(self, T: int) -> torch.Tensor:
        """The first block's q, k, v of every (position t, token v): (T * V, 3C)."""
        block = self.blocks[0]
        x_all = self.token_embedding.weight + self.positions(T)[:, None]  # (T, V, C)
        table = block.attn.qkv(block.ln1(x_all) if block.pre_norm else x_all)  # (T, V, 3C)
        return table.flatten(0, 1)

    def first_qkv(self, tokens: torch.Tensor) -> torch.Tensor:
        """The first block's q, k, v (B, T, 3C), looked up in a table of every (t, v)."""
        return F.embedding(
            tokens + self.offsets[: tokens.shape[1]], self.qkv_table(tokens.shape[1])
        )

    def prefix_positions(self, tokens: torch.Tensor) -> int:
        """How many leading positions (P) the shared-prefix table computes: those whose
        tokens after the first are one constant in every row (..., B, T) (the operator
        after x), so that their block outputs depend on the first token alone.

        0 (no table) when switched off, off the CPU (no host decision in a CUDA graph, and
        there the step is not bound by arithmetic), with dropout in training (each row
        draws its own masks), or when the batch has no more rows than the table (V).
        """
        T = tokens.shape[-1]
        rows = tokens.reshape(-1, T)
        V = self.token_embedding.num_embeddings
        if (
            not self.share_prefix
            or tokens.device.type != "cpu"
            or (self.training and self.dropout > 0)
            or tokens.shape[-2] <= V
            or T < 2
            # under torch.func (vmap, grad) a decision on the tokens' values cannot be read
            or torch._C._functorch.is_functorch_wrapped_tensor(tokens)
        ):
            return 0
        constant = (rows[:, 1:] == rows[:1, 1:]).all(0).tolist()
        P = 1
        while P < T - 1 and constant[P - 1]:
            P += 1
        return P

    def prefix_tokens(self, tokens: torch.Tensor, P: int) -> torch.Tensor:
        """The table's (V, P) token rows: each token v, then the prefix's constants."""
        V = self.token_embedding.num_embeddings
        first = torch.arange(V, device=tokens.device)[:, None]
        return torch.cat([first, tokens.reshape(-1, tokens.shape[-1])[:1, 1:P].expand(V, -1)], 1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.shape[1] > self.seq_len:
            raise ValueError(f"{tokens.shape[1]} tokens; the model has {self.seq_len} positions")
        B, T = tokens.shape
        P = self.prefix_positions(tokens)
        x = self.token_embedding(tokens[:, P:]) + self.positions(T)[P:]  # (B, T - P, C)
        vocab_size = self.token_embedding.num_embeddings
        qkv = prefix_qkv = prefix = None
        if self.lookup_first_layer and vocab_size < B:
            table = self.qkv_table(T)
            qkv = F.embedding(tokens[:, P:] + self.offsets[P:T], table)  # (B, T - P, 3C)
        if P:
            prefix_tokens = self.prefix_tokens(tokens, P)  # (V, P)
            prefix = self.token_embedding(prefix_tokens) + self.positions(P)  # (V, P, C)
            if qkv is not None:
                prefix_qkv = F.embedding(prefix_tokens + self.offsets[:P], table)
        last = len(self.blocks) - 1
        for i, block in enumerate(self.blocks):
            prefix_kv = None
            if prefix is not None:
                first_qkv = prefix_qkv if i == 0 else None
                if i == last:  # only the batch's last position is read: the keys and values
                    kv = block.keys_values(prefix, first_qkv)
                else:
                    kept: list[torch.Tensor] = []
                    prefix = block(prefix, False, first_qkv, kv_out=kept)  # (V, P, C)
                    kv = kept[0]
                # each row's keys and values at the prefix, by its first token
                prefix_kv = F.embedding(tokens[:, 0], kv.reshape(vocab_size, -1)).view(B, P, -1)
            x = block(x, i == last, qkv if i == 0 else None, prefix_kv)  # (B, T - P or 1, C)
        return self.unembed(self.ln_f(x[:, 0]))  # (B, n_classes)

"""Decoder-only transformer of Power et al. (2022): it reads [x, op, y, =] and predicts at '='.

Only the last position's output is ever read, so the last block computes its query,
attention output and feed-forward for that position alone (keys and values still come
from every position); the result equals a full causal pass, at a fraction of the work.
"""

from __future__ import annotations

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


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.heads = cfg.heads
        self.dropout = cfg.dropout
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)  # fused: one matmul for q, k, v
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.resid_dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """x (B, T, C) -> (B, T, C), or (B, 1, C) for the last position when last_only."""
        B, T, C = x.shape
        if last_only:
            # Rows [0, C) of the fused weight are the query; [C, 3C) keys and values.
            w, b = self.qkv.weight, self.qkv.bias
            q = F.linear(x[:, -1:], w[:C], b[:C])  # (B, 1, C)
            k, v = F.linear(x, w[C:], b[C:]).split(C, dim=2)  # (B, T, C) each
        else:
            q, k, v = self.qkv(x).split(C, dim=2)
        Tq = q.shape[1]
        q = q.view(B, Tq, self.heads, C // self.heads).transpose(1, 2)  # (B, H, Tq, D)
        k = k.view(B, T, self.heads, C // self.heads).transpose(1, 2)  # (B, H, T, D)
        v = v.view(B, T, self.heads, C // self.heads).transpose(1, 2)  # (B, H, T, D)
        # The last query may see every position, so it needs no mask; note that
        # is_causal with Tq < T would align the mask top-left, which is wrong here.
        y = F.scaled_dot_product_attention(
            q,
            k,
            v,
            dropout_p=self.dropout if self.training else 0.0,
            is_causal=not last_only,
        )  # (B, H, Tq, D)
        y = y.transpose(1, 2).reshape(B, Tq, C)
        return self.resid_dropout(self.proj(y))


class FeedForward(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(cfg.d_model, cfg.d_ff),
            ACTIVATIONS[cfg.activation](),
            nn.Linear(cfg.d_ff, cfg.d_model),
            nn.Dropout(cfg.dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, T, C) -> (B, T, C)


class Block(nn.Module):
    """Attention then feed-forward, each a residual branch; LayerNorm per cfg.norm."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.pre_norm = cfg.norm == "pre"
        self.ln1 = nn.LayerNorm(cfg.d_model) if cfg.norm != "none" else nn.Identity()
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model) if cfg.norm != "none" else nn.Identity()
        self.ffn = FeedForward(cfg)

    def forward(self, x: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """x (B, T, C) -> (B, T, C), or (B, 1, C) when last_only."""
        residual = x[:, -1:] if last_only else x
        if self.pre_norm:
            x = residual + self.attn(self.ln1(x), last_only)
            return x + self.ffn(self.ln2(x))
        # post (Power et al., danielmamay) and none (Nanda et al.: ln1, ln2 are Identity)
        x = self.ln1(residual + self.attn(x, last_only))
        return self.ln2(x + self.ffn(x))


class Transformer(nn.Module):
    """Tokens (B, T) int64 -> logits (B, n_classes), read at the last position."""

    def __init__(
        self, cfg: TransformerConfig, *, vocab_size: int, seq_len: int, n_classes: int
    ) -> None:
        super().__init__()
        self.seq_len = seq_len
        self.token_embedding = nn.Embedding(vocab_size, cfg.d_model)
        self.position_embedding = nn.Embedding(seq_len, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.ln_f = nn.LayerNorm(cfg.d_model) if cfg.norm == "pre" else nn.Identity()
        self.unembed = nn.Linear(cfg.d_model, n_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.shape[1] > self.seq_len:
            raise ValueError(f"{tokens.shape[1]} tokens; the model has {self.seq_len} positions")
        T = tokens.shape[1]
        x = self.token_embedding(tokens) + self.position_embedding.weight[:T]  # (B, T, C)
        for block in self.blocks[:-1]:
            x = block(x)  # (B, T, C)
        x = self.blocks[-1](x, last_only=True)  # (B, 1, C)
        return self.unembed(self.ln_f(x[:, 0]))  # (B, n_classes)

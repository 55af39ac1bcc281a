"""MLP over concatenated token embeddings: the operands' order is in the layout, not in a position code.

The first layer reads one embedding per position, so its output is a sum of per-position
tables: W [e(t0); e(t1)] + b = (W_0 E^T)[t0] + (W_1 E^T)[t1] + b. When a batch has more
rows than the vocabulary has tokens, building the (T, V, H) tables and summing looked-up
rows (one embedding_bag) is exact and cheaper than the (B, T*E) x (T*E, H) matmul; its
backward is a scatter into the tables and two small matmuls.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from grok_tui.config import MLPConfig
from grok_tui.training.models.transformer import ACTIVATIONS


class MLP(nn.Module):
    """Tokens (B, T) int64 -> embeddings (B, T*E) -> hidden layers -> logits (B, n_classes)."""

    # Class switch for the first-layer tables; tests turn it off to compare both paths.
    lookup_first_layer: bool = True

    def __init__(self, cfg: MLPConfig, *, vocab_size: int, seq_len: int, n_classes: int) -> None:
        super().__init__()
        self.one_hot = cfg.input == "one_hot"
        # One-hot input: the first layer reads [onehot(t0); onehot(t1)], so its weight holds
        # one column per (position, token), and there is no embedding.
        self.embedding = None if self.one_hot else nn.Embedding(vocab_size, cfg.embed_dim)
        self.vocab_size = vocab_size
        layers: list[nn.Module] = []
        width = seq_len * (vocab_size if self.one_hot else cfg.embed_dim)
        shared: nn.Linear | None = None
        for i, hidden in enumerate(cfg.widths):
            if cfg.shared_hidden and i >= 1:
                # The seed report's code built its "layers" from one module: one weight, reused.
                shared = shared or nn.Linear(width, hidden, bias=cfg.bias)
                linear = shared
            else:
                linear = nn.Linear(width, hidden, bias=cfg.bias)
            layers += [linear, ACTIVATIONS[cfg.activation](), nn.Dropout(cfg.dropout)]
            width = hidden
        layers.append(nn.Linear(width, n_classes, bias=cfg.bias))
        self.net = nn.Sequential(*layers)
        self.register_buffer(
            "offsets", torch.arange(seq_len) * vocab_size, persistent=False
        )  # row of (position t, token v) in the flattened tables: t * V + v

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        B, T = tokens.shape
        first: nn.Linear = self.net[0]
        V = self.vocab_size
        if not (self.lookup_first_layer and B > V):
            if self.embedding is None:
                x = F.one_hot(tokens, V).flatten(1).to(first.weight.dtype)  # (B, T*V)
            else:
                x = self.embedding(tokens).flatten(1)  # (B, T, E) -> (B, T*E)
            return self.net(x)  # (B, n_classes)
        H = first.out_features
        if self.embedding is None:  # one-hot: the weight's columns are the tables
            tables = first.weight.view(H, T, V).permute(1, 2, 0)  # (T, V, H)
            if first.bias is not None:  # shared out over the T rows that are summed
                tables = tables + (first.bias / T).view(1, 1, H)
        else:
            # tables[t] = E @ W_t^T + b / T: (T, V, H); the bias shared out over the T rows
            E = self.embedding.weight.shape[1]
            w = first.weight.view(H, T, E).permute(1, 2, 0)  # (T, E, H)
            emb = self.embedding.weight.expand(T, V, E)
            if first.bias is None:
                tables = torch.bmm(emb, w)
            else:
                tables = torch.baddbmm((first.bias / T).view(1, 1, H), emb, w)
        h = F.embedding_bag(tokens + self.offsets, tables.reshape(T * V, H), mode="sum")  # (B, H)
        return self.net[1:](h)  # (B, n_classes)

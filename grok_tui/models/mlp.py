"""MLP over concatenated token embeddings: the operands' order is in the layout, not in a position code."""

from __future__ import annotations

import torch
from torch import nn

from grok_tui.config import MLPConfig
from grok_tui.models.transformer import ACTIVATIONS


class MLP(nn.Module):
    """Tokens (B, T) int64 -> embeddings (B, T*E) -> hidden layers -> logits (B, n_classes)."""

    def __init__(self, cfg: MLPConfig, *, vocab_size: int, seq_len: int, n_classes: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, cfg.embed_dim)
        layers: list[nn.Module] = []
        width = seq_len * cfg.embed_dim
        shared: nn.Linear | None = None
        for i, hidden in enumerate(cfg.widths):
            if cfg.shared_hidden and i >= 1:
                # The seed report's code built its "layers" from one module: one weight, reused.
                shared = shared or nn.Linear(width, hidden)
                linear = shared
            else:
                linear = nn.Linear(width, hidden)
            layers += [linear, ACTIVATIONS[cfg.activation](), nn.Dropout(cfg.dropout)]
            width = hidden
        layers.append(nn.Linear(width, n_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embedding(tokens).flatten(1)  # (B, T, E) -> (B, T*E)
        return self.net(x)  # (B, n_classes)

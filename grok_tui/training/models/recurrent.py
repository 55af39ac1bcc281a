"""LSTM, GRU or Elman RNN over the tokens; bidirectional=True gives the report's BiRNN."""

from __future__ import annotations

import torch
from torch import nn

from grok_tui.config import RecurrentConfig

CELLS: dict[str, type[nn.RNNBase]] = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class Recurrent(nn.Module):
    """Tokens (B, T) int64 -> logits (B, n_classes) from the top layer's final hidden state."""

    def __init__(
        self, cfg: RecurrentConfig, *, vocab_size: int, seq_len: int, n_classes: int
    ) -> None:
        super().__init__()
        self.directions = 2 if cfg.bidirectional else 1
        # "scalar" feeds each token's integer as a single float feature, as the seed
        # report's BiRNN code did (its text says embeddings): both can be run.
        self.scalar_input = cfg.input == "scalar"
        self.embedding = None if self.scalar_input else nn.Embedding(vocab_size, cfg.embed_dim)
        self.rnn = CELLS[cfg.type](
            1 if self.scalar_input else cfg.embed_dim,
            cfg.hidden_size,
            num_layers=cfg.layers,
            batch_first=True,
            bidirectional=cfg.bidirectional,
            # torch warns about (and ignores) dropout on a single layer
            dropout=cfg.dropout if cfg.layers > 1 else 0.0,
        )
        self.head = nn.Linear(cfg.hidden_size * self.directions, n_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.embedding is None:
            x = tokens.unsqueeze(-1).to(self.head.weight.dtype)  # (B, T, 1)
        else:
            x = self.embedding(tokens)  # (B, T, E)
        # oneDNN's LSTM fails under CPU bf16 autocast on CPUs without native bf16, so
        # the recurrence runs in the weights' dtype there; CUDA autocast is untouched.
        with torch.autocast("cpu", enabled=False):
            _, h_n = self.rnn(x)
        if isinstance(h_n, tuple):  # LSTM: (h_n, c_n)
            h_n = h_n[0]
        # h_n (layers * directions, B, H). The top layer's states both read the whole
        # sequence: forward ends at t = T-1, backward at t = 0 (output[:, -1] would give
        # the backward direction after one token only).
        top = h_n[-self.directions :]  # (directions, B, H)
        h = top.transpose(0, 1).reshape(tokens.shape[0], -1)  # (B, directions * H)
        return self.head(h)  # (B, n_classes)

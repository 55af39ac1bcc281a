"""The lookup MLP's training step by hand: forward, cross-entropy and backward into reused buffers.

Why: at the report's sizes (p = 97, batch 512) an MLP step on CPU is about 2 ms of
matmul, and autograd adds as much again in bookkeeping: graph nodes, gradient
accumulation, separate loss kernels and a fresh buffer for every activation and
gradient. Here each buffer is allocated once and every product writes into one. The
arithmetic is autograd's, term for term; tests compare the loss and every gradient
with autograd's in float64.

It covers the plain MLP on CPU (the report's and the quickstart's): cross-entropy,
no dropout, no shared hidden weight, fp32 or fp64, no torch.compile, and a batch with
more rows than the vocabulary has tokens (the first layer as tables, see mlp.py).
Anything else trains through autograd.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from grok_tui.config import MLPConfig, Preset
from grok_tui.training.models.mlp import MLP

aten = torch.ops.aten

# activation: (forward in place, or into `out`; backward in place on the gradient, given
# what it saves; whether it saves the input (else its output))
Forward = Callable[[torch.Tensor, torch.Tensor], None]
Backward = Callable[[torch.Tensor, torch.Tensor], None]
ACTIVATIONS: dict[str, tuple[Forward, Backward, bool]] = {
    "relu": (
        lambda pre, out: torch.clamp_min(pre, 0, out=out),
        lambda grad, out: aten.threshold_backward.grad_input(grad, out, 0, grad_input=grad),
        False,
    ),
    "tanh": (
        lambda pre, out: torch.tanh(pre, out=out),
        lambda grad, out: aten.tanh_backward.grad_input(grad, out, grad_input=grad),
        False,
    ),
    "gelu": (
        lambda pre, out: aten.gelu.out(pre, out=out),
        lambda grad, pre: aten.gelu_backward.grad_input(grad, pre, grad_input=grad),
        True,
    ),
    "silu": (
        lambda pre, out: aten.silu.out(pre, out=out),
        lambda grad, pre: aten.silu_backward.grad_input(grad, pre, grad_input=grad),
        True,
    ),
}


class FusedMLPStep:
    """Callable(tokens, labels) -> mean cross-entropy; writes every parameter's .grad."""

    # Class switch: tests and the benchmark turn it off to compare with autograd.
    enabled: bool = True

    @classmethod
    def build(
        cls, model: nn.Module, preset: Preset, batch_size: int, device: torch.device
    ) -> FusedMLPStep | None:
        """The fused step when this preset's MLP is one it covers, else None (autograd)."""
        cfg, train = preset.model, preset.train
        if not (
            cls.enabled
            and isinstance(model, MLP)
            and isinstance(cfg, MLPConfig)
            and model.lookup_first_layer
            and device.type == "cpu"
            and cfg.dropout == 0
            and not cfg.shared_hidden
            and cfg.input == "embedding"  # it writes the embedding's gradient
            and cfg.bias  # and every bias's
            and cfg.activation in ACTIVATIONS
            and train.loss == "cross_entropy"
            and train.precision in ("fp32", "fp64")
            and not train.compile
            and model.embedding is not None
            and batch_size > model.embedding.num_embeddings
        ):
            return None
        return cls(model, batch_size, cfg.activation)

    def __init__(self, model: MLP, batch_size: int, activation: str) -> None:
        self.model = model
        self.forward_act, self.backward_act, self.saves_input = ACTIVATIONS[activation]
        linears = [m for m in model.net if isinstance(m, nn.Linear)]
        self.first, self.hidden, self.out = linears[0], linears[1:-1], linears[-1]
        V, E = model.embedding.weight.shape
        H = self.first.out_features
        T = self.first.in_features // E
        self.B, self.T, self.V, self.E, self.H = batch_size, T, V, E, H
        w = model.embedding.weight
        new = lambda *shape: torch.empty(*shape, dtype=w.dtype, device=w.device)  # noqa: E731
        B = batch_size
        self.bias_share = new(H)  # the first bias, shared out over the T positions' tables
        self.tables = new(T, V, H)
        self.gathered = new(B, H)
        widths = [lin.out_features for lin in linears[:-1]]
        # per hidden layer: pre-activation (kept when the backward needs it) and activation
        self.pre = [new(B, h) for h in widths]
        self.act = [new(B, h) if self.saves_input else self.pre[i] for i, h in enumerate(widths)]
        self.grad_act = [new(B, h) for h in widths]
        C = self.out.out_features
        self.logits = new(B, C)
        self.log_probs = new(B, C)
        self.picked = new(B, 1)
        self.minus_one = torch.full((B, 1), -1.0, dtype=w.dtype, device=w.device)
        self.grad_tables = new(T, V, H)
        self.grad_first_t = new(T, H, E)
        self.params = list(model.parameters())
        self.grads = [torch.zeros_like(p) for p in self.params]
        grad_of = dict(zip(map(id, self.params), self.grads, strict=True))
        # (layer, its weight's and bias's gradient), output layer last
        self.layers = [
            (lin, grad_of[id(lin.weight)], grad_of[id(lin.bias)])
            for lin in [*self.hidden, self.out]
        ]
        self.grad_first_weight = grad_of[id(self.first.weight)].view(H, T, E)
        self.grad_first_bias = grad_of[id(self.first.bias)]
        self.grad_embedding = grad_of[id(model.embedding.weight)]

    @torch.no_grad()
    def __call__(self, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        B, T, V, E, H = self.B, self.T, self.V, self.E, self.H
        for p, g in zip(self.params, self.grads, strict=True):
            if p.grad is not g:
                p.grad = g
        emb = self.model.embedding.weight
        first = self.first
        w_first = first.weight.view(H, T, E)  # [h, t, e]: position t's slice of the first layer

        # forward: tables[t] = emb @ W_t^T + b / T; h1 = sum_t tables[t][tokens[:, t]]
        torch.div(first.bias, T, out=self.bias_share)
        torch.baddbmm(
            self.bias_share.view(1, 1, H),
            emb.expand(T, V, E),
            w_first.permute(1, 2, 0),
            out=self.tables,
        )
        torch.index_select(self.tables[0], 0, tokens[:, 0], out=self.pre[0])
        for t in range(1, T):
            torch.index_select(self.tables[t], 0, tokens[:, t], out=self.gathered)
            self.pre[0].add_(self.gathered)
        self.forward_act(self.pre[0], self.act[0])
        for i, lin in enumerate(self.hidden, start=1):
            torch.addmm(lin.bias, self.act[i - 1], lin.weight.t(), out=self.pre[i])
            self.forward_act(self.pre[i], self.act[i])
        log_probs = self.log_probs
        torch.addmm(self.out.bias, self.act[-1], self.out.weight.t(), out=self.logits)
        aten._log_softmax.out(self.logits, 1, False, out=log_probs)
        labels = labels.view(B, 1)
        torch.gather(log_probs, 1, labels, out=self.picked)
        loss = self.picked.mean().neg_()

        # backward: d loss / d logits = (softmax - one_hot) / B
        grad = log_probs.exp_()
        grad.scatter_add_(1, labels, self.minus_one)
        grad.div_(B)
        for i in range(len(self.layers) - 1, -1, -1):
            lin, grad_weight, grad_bias = self.layers[i]
            torch.mm(grad.t(), self.act[i], out=grad_weight)
            torch.sum(grad, 0, out=grad_bias)
            torch.mm(grad, lin.weight, out=self.grad_act[i])
            grad = self.grad_act[i]
            self.backward_act(grad, self.pre[i] if self.saves_input else self.act[i])
        # the first layer: its bias, then the tables' gradient, then W_t and the embedding
        torch.sum(grad, 0, out=self.grad_first_bias)
        grad_tables = self.grad_tables.zero_()
        for t in range(T):
            grad_tables[t].index_add_(0, tokens[:, t], grad)
        torch.bmm(grad_tables.transpose(1, 2), emb.expand(T, V, E), out=self.grad_first_t)
        self.grad_first_weight.copy_(self.grad_first_t.transpose(0, 1))
        grad_emb = self.grad_embedding
        torch.mm(grad_tables[0], w_first[:, 0], out=grad_emb)
        for t in range(1, T):
            grad_emb.addmm_(grad_tables[t], w_first[:, t])
        return loss

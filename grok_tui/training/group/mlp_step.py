"""models/mlp_step.py's hand-written MLP step with a leading member dimension.

Why: where a solo MLP run trains through FusedMLPStep, a member must do the same
arithmetic, or its last bits drift and Adam amplifies the drift (1e-3 in the loss after
300 fp32 steps through autograd). Each operation here is the solo step's, batched: bmm
for mm, baddbmm for addmm, one index_add over every member's rows for the per-member
one; on CPU each member's slice of these gives the solo step's numbers bit for bit
(tests/unit/test_group_exact.py trains whole runs). Buffers are allocated once, as in the solo step.
"""

from __future__ import annotations

import torch
from torch import nn

from grok_tui.config import Preset
from grok_tui.training.group.params import GroupParams
from grok_tui.training.models.mlp import MLP
from grok_tui.training.models.mlp_step import ACTIVATIONS, FusedMLPStep
from grok_tui.training.trainer import Trainer

aten = torch.ops.aten


class GroupFusedMLPStep:
    """Callable(tokens (N, B, T), labels (N, B)) -> per-member mean cross-entropy (N,);
    writes every member's gradient into params.grad."""

    @classmethod
    def build(cls, members: list[Trainer], params: GroupParams) -> GroupFusedMLPStep | None:
        """The batched step when every member's solo run takes the fused step, else None."""
        if not all(isinstance(m.fused_step, FusedMLPStep) for m in members):
            return None
        template = members[0].model
        assert isinstance(template, MLP)
        return cls(template, params, members[0].batcher.batch_size, members[0].preset)

    def __init__(self, model: MLP, params: GroupParams, batch_size: int, preset: Preset) -> None:
        self.params = params
        activation = preset.model.activation
        self.forward_act, self.backward_act, self.saves_input = ACTIVATIONS[activation]
        linears = [m for m in model.net if isinstance(m, nn.Linear)]
        assert model.embedding is not None
        name_of = {id(p): n for n, p in model.named_parameters()}

        def names(lin: nn.Linear) -> tuple[str, str]:
            return name_of[id(lin.weight)], name_of[id(lin.bias)]

        self.first = names(linears[0])
        self.layers = [names(lin) for lin in linears[1:]]  # hidden layers, then the output
        self.embedding = name_of[id(model.embedding.weight)]
        N = params.n
        V, E = model.embedding.weight.shape
        H = linears[0].out_features
        T = linears[0].in_features // E
        B = batch_size
        self.N, self.B, self.T, self.V, self.E, self.H = N, B, T, V, E, H
        flat = params.flat
        new = lambda *shape: torch.empty(*shape, dtype=flat.dtype, device=flat.device)  # noqa: E731
        self.bias_share = new(N, H)
        self.tables = new(N, T, V, H)
        self.gathered = new(N, B, H)
        widths = [lin.out_features for lin in linears[:-1]]
        self.pre = [new(N, B, h) for h in widths]
        self.act = [new(N, B, h) if self.saves_input else self.pre[i] for i, h in enumerate(widths)]
        self.grad_act = [new(N, B, h) for h in widths]
        C = linears[-1].out_features
        self.logits = new(N, B, C)
        self.log_probs = new(N, B, C)
        self.picked = new(N, B, 1)
        self.minus_one = torch.full((N, B, 1), -1.0, dtype=flat.dtype, device=flat.device)
        self.grad_tables = new(N, T, V, H)
        self.grad_first_t = new(N * T, H, E)
        # contiguous gradients, as the solo step's, copied into the flat buffer at the end
        self.grads = {name: new(*view.shape) for name, view in params.views.items()}
        # row of (member n, position t, token v) in the flattened tables: (n * T + t) * V + v
        self.row_base = (torch.arange(N, device=flat.device) * T * V).view(N, 1)

    @torch.no_grad()
    def __call__(self, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        N, B, T, V, E, H = self.N, self.B, self.T, self.V, self.E, self.H
        p, grads = self.params, self.grads
        emb = p[self.embedding].detach()  # (N, V, E)
        w_first = p[self.first[0]].detach().view(N, H, T, E)

        # forward: tables[n, t] = emb[n] @ W[n]_t^T + b[n] / T
        torch.div(p[self.first[1]].detach(), T, out=self.bias_share)
        emb_t = emb.unsqueeze(1).expand(N, T, V, E).reshape(N * T, V, E)
        torch.baddbmm(
            self.bias_share.view(N, 1, 1, H).expand(N, T, 1, H).reshape(N * T, 1, H),
            emb_t,
            w_first.permute(0, 2, 3, 1).reshape(N * T, E, H),
            out=self.tables.view(N * T, V, H),
        )
        tables = self.tables.view(N * T * V, H)
        rows = [(tokens[:, :, t] + self.row_base + t * V).reshape(N * B) for t in range(T)]
        pre0, gathered = self.pre[0].view(N * B, H), self.gathered.view(N * B, H)
        torch.index_select(tables, 0, rows[0], out=pre0)
        for t in range(1, T):
            torch.index_select(tables, 0, rows[t], out=gathered)
            pre0.add_(gathered)
        self.forward_act(self.pre[0], self.act[0])
        for i, (w, b) in enumerate(self.layers, start=1):
            out = self.pre[i] if i < len(self.layers) else self.logits
            weight_t = p[w].detach().transpose(1, 2)
            torch.baddbmm(p[b].detach().unsqueeze(1), self.act[i - 1], weight_t, out=out)
            if i < len(self.layers):
                self.forward_act(self.pre[i], self.act[i])
        log_probs = self.log_probs
        aten._log_softmax.out(self.logits, 2, False, out=log_probs)
        labels = labels.view(N, B, 1)
        torch.gather(log_probs, 2, labels, out=self.picked)
        losses = self.picked.view(N, B).mean(1).neg_()

        # backward: d loss / d logits = (softmax - one_hot) / B, member by member
        grad = log_probs.exp_()
        grad.scatter_add_(2, labels, self.minus_one)
        grad.div_(B)
        for i in range(len(self.layers) - 1, -1, -1):
            w, b = self.layers[i]
            torch.bmm(grad.transpose(1, 2), self.act[i], out=grads[w])
            torch.sum(grad, 1, out=grads[b])
            torch.bmm(grad, p[w].detach(), out=self.grad_act[i])
            grad = self.grad_act[i]
            self.backward_act(grad, self.pre[i] if self.saves_input else self.act[i])
        # the first layer: its bias, then the tables' gradient, then W_t and the embedding
        torch.sum(grad, 1, out=grads[self.first[1]])
        grad_tables = self.grad_tables.zero_()
        grad_rows = grad.view(N * B, H)
        for t in range(T):
            grad_tables.view(N * T * V, H).index_add_(0, rows[t], grad_rows)
        torch.bmm(grad_tables.view(N * T, V, H).transpose(1, 2), emb_t, out=self.grad_first_t)
        grads[self.first[0]].view(N, H, T, E).copy_(
            self.grad_first_t.view(N, T, H, E).transpose(1, 2)
        )
        grad_emb = grads[self.embedding]
        torch.bmm(grad_tables[:, 0], w_first[:, :, 0], out=grad_emb)
        for t in range(1, T):
            grad_emb.baddbmm_(grad_tables[:, t], w_first[:, :, t])
        torch._foreach_copy_(p.grad_list(), [grads[n] for n in p.names])
        return losses

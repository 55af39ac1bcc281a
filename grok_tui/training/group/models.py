"""The MLP and the transformer with a leading member dimension: N same-shape models, one pass.

The batched forward follows the solo model's code path step for step (models/mlp.py,
models/transformer.py: the first-layer tables, the shared-prefix table, the last block at
the last position, the short CPU attention) with bmm / baddbmm where the solo model calls mm / addmm, reading
the stacked parameters of group/params.py. On CPU each member's slice of these gives the
solo model's numbers and gradients bit for bit (tests/unit/test_group_exact.py trains whole runs);
LayerNorm is the one layer that needs a call per member for it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from grok_tui.training.group.params import GroupParams
from grok_tui.training.models import MLP, Transformer
from grok_tui.training.models.transformer import attend

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu,
    "gelu": F.gelu,
    "tanh": torch.tanh,
    "silu": F.silu,
}


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """x (N, ..., in) @ weight (N, out, in)^T + bias (N, out): per member, as F.linear."""
    shape = x.shape
    x3 = x.reshape(shape[0], -1, shape[-1])
    if bias is None:
        y = torch.bmm(x3, weight.transpose(1, 2))
    else:
        y = torch.baddbmm(bias.unsqueeze(1), x3, weight.transpose(1, 2))
    return y.view(*shape[:-1], weight.shape[1])


def gather_rows(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """table (N, R, D) looked up at index (N, ...) -> (N, ..., D): each member its own table."""
    N, R = table.shape[:2]
    offsets = (torch.arange(N, device=index.device) * R).view(N, *([1] * (index.dim() - 1)))
    return F.embedding(index + offsets, table.reshape(N * R, -1))


def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """LayerNorm over the last dim with per-member affine parameters (N, C).

    On CPU, one F.layer_norm per member: the kernel reduces the weight's and bias's
    gradients over the rows in its own order, and a broadcast affine rounds them
    differently (2e-7 relative), which Adam grows to 1e-3 in the loss within 300 fp32
    steps. Elsewhere (where bmm and mm are different kernels anyway) one batched call.
    """
    if x.device.type == "cpu":
        C = x.shape[-1:]
        return torch.stack([F.layer_norm(x[i], C, weight[i], bias[i]) for i in range(len(x))])
    shape = (x.shape[0],) + (1,) * (x.dim() - 2) + (x.shape[-1],)
    y = F.layer_norm(x, x.shape[-1:])
    return torch.addcmul(bias.view(shape), y, weight.view(shape))


class GroupModel:
    """Maps solo module attributes to the stacked parameters that stand for them."""

    def __init__(self, template: nn.Module, params: GroupParams) -> None:
        self.template = template
        self.params = params
        self.name_of = {id(p): n for n, p in template.named_parameters() if p.requires_grad}

    def p(self, module: nn.Module, attr: str = "weight") -> torch.Tensor | None:
        tensor = getattr(module, attr, None)
        return None if tensor is None else self.params[self.name_of[id(tensor)]]

    def linear(self, module: nn.Linear, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.p(module), self.p(module, "bias"))

    def norm(self, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if isinstance(module, nn.Identity):
            return x
        return layer_norm(x, self.p(module), self.p(module, "bias"))

    def __call__(self, tokens: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class GroupMLP(GroupModel):
    """models/mlp.py's MLP, tokens (N, B, T) -> logits (N, B, n_classes)."""

    def __init__(self, template: MLP, params: GroupParams, activation: str) -> None:
        super().__init__(template, params)
        self.act = ACTIVATIONS[activation]
        self.linears = [m for m in template.net if isinstance(m, nn.Linear)]

    def __call__(self, tokens: torch.Tensor) -> torch.Tensor:
        model: MLP = self.template  # type: ignore[assignment]
        N, B, T = tokens.shape
        first = self.linears[0]
        V = model.vocab_size
        if not (model.lookup_first_layer and B > V):
            if model.embedding is None:
                x = F.one_hot(tokens, V).flatten(2).to(self.params.flat.dtype)  # (N, B, T*V)
            else:
                x = gather_rows(self.p(model.embedding), tokens).flatten(2)  # (N, B, T*E)
            h = self.linear(first, x)
        else:
            weight, bias = self.p(first), self.p(first, "bias")
            H = first.out_features
            if model.embedding is None:
                tables = weight.view(N, H, T, V).permute(0, 2, 3, 1)  # (N, T, V, H)
                if bias is not None:
                    tables = tables + (bias / T).view(N, 1, 1, H)
            else:
                emb = self.p(model.embedding)  # (N, V, E)
                E = emb.shape[-1]
                w = weight.view(N, H, T, E).permute(0, 2, 3, 1).reshape(N * T, E, H)
                emb_t = emb.unsqueeze(1).expand(N, T, V, E).reshape(N * T, V, E)
                if bias is None:
                    tables = torch.bmm(emb_t, w)
                else:
                    share = (bias / T).view(N, 1, 1, H).expand(N, T, 1, H).reshape(N * T, 1, H)
                    tables = torch.baddbmm(share, emb_t, w)
            rows = (
                tokens
                + model.offsets
                + (torch.arange(N, device=tokens.device) * T * V).view(N, 1, 1)
            )
            h = F.embedding_bag(rows.view(N * B, T), tables.reshape(N * T * V, H), mode="sum").view(
                N, B, H
            )
        for lin in self.linears[1:]:
            h = self.linear(lin, self.act(h))
        return h


class GroupTransformer(GroupModel):
    """models/transformer.py's Transformer, tokens (N, B, T) -> logits (N, B, n_classes)."""

    def __init__(self, template: Transformer, params: GroupParams, activation: str) -> None:
        super().__init__(template, params)
        self.act = ACTIVATIONS[activation]

    def positions(self, T: int) -> torch.Tensor:
        """(N, T, C) learned, or (1, T, C) fixed sinusoids."""
        model: Transformer = self.template  # type: ignore[assignment]
        if hasattr(model, "position_embedding"):
            return self.p(model.position_embedding)[:, :T]
        return model.sinusoids[:T].unsqueeze(0)

    def qkv_table(self, T: int) -> torch.Tensor:
        """The first block's q, k, v of every (t, v): (N, T * V, 3C)."""
        model: Transformer = self.template  # type: ignore[assignment]
        block = model.blocks[0]
        emb = self.p(model.token_embedding)  # (N, V, C)
        N, V, C = emb.shape
        x_all = emb.unsqueeze(1) + self.positions(T).unsqueeze(2)  # (N, T, V, C)
        x_all = self.norm(block.ln1, x_all) if block.pre_norm else x_all
        return self.linear(block.attn.qkv, x_all).reshape(N, T * V, 3 * C)  # (N, T, V, 3C)

    def attention(
        self,
        attn: nn.Module,
        x: torch.Tensor,
        last_only: bool,
        qkv: torch.Tensor | None,
        prefix_kv: torch.Tensor | None = None,
        kv_out: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        N, B, T, C = x.shape
        if qkv is not None:
            q, kv = qkv.split([C, 2 * C], dim=3)
            q = q[:, :, -1:] if last_only else q
        elif last_only:
            w, b = self.p(attn.qkv), self.p(attn.qkv, "bias")
            q = linear(x[:, :, -1:], w[:, :C], None if b is None else b[:, :C])
            kv = linear(x, w[:, C:], None if b is None else b[:, C:])
        else:
            q, kv = self.linear(attn.qkv, x).split([C, 2 * C], dim=3)
        if kv_out is not None:
            kv_out.append(kv)
        if prefix_kv is not None:
            kv = torch.cat([prefix_kv, kv], dim=2)  # (N, B, P + T, 2C)
        k, v = kv.split(C, dim=3)
        Tq, Tk, H = q.shape[2], k.shape[2], attn.heads
        q = q.reshape(N * B, Tq, H, C // H)
        k = k.reshape(N * B, Tk, H, C // H)
        v = v.reshape(N * B, Tk, H, C // H)
        y = attend(q, k, v, causal=not last_only)
        return self.linear(attn.proj, y.reshape(N, B, Tq, C))

    def keys_values(
        self, block: nn.Module, x: torch.Tensor, qkv: torch.Tensor | None
    ) -> torch.Tensor:
        """Block.keys_values: the attention's keys and values (N, B, T, 2C) of block input x."""
        C = x.shape[-1]
        if qkv is not None:
            return qkv[..., C:]
        if block.pre_norm or block.residual_from_norm:
            x = self.norm(block.ln1, x)
        w, b = self.p(block.attn.qkv), self.p(block.attn.qkv, "bias")
        return linear(x, w[:, C:], None if b is None else b[:, C:])

    def ffn(self, ffn: nn.Module, x: torch.Tensor) -> torch.Tensor:
        first, second = ffn.net[0], ffn.net[2]
        return self.linear(second, self.act(self.linear(first, x)))

    def block(
        self,
        block: nn.Module,
        x: torch.Tensor,
        last_only: bool,
        qkv: torch.Tensor | None,
        prefix_kv: torch.Tensor | None = None,
        kv_out: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        extra = (prefix_kv, kv_out)
        if block.residual_from_norm:
            x = self.norm(block.ln1, x)
            residual = x[:, :, -1:] if last_only else x
            x = residual + self.attention(block.attn, x, last_only, qkv, *extra)
            return x + self.ffn(block.ffn, self.norm(block.ln2, x))
        residual = x[:, :, -1:] if last_only else x
        if block.pre_norm:
            attn_in = x if qkv is not None else self.norm(block.ln1, x)
            x = residual + self.attention(block.attn, attn_in, last_only, qkv, *extra)
            return x + self.ffn(block.ffn, self.norm(block.ln2, x))
        x = self.norm(block.ln1, residual + self.attention(block.attn, x, last_only, qkv, *extra))
        return self.norm(block.ln2, x + self.ffn(block.ffn, x))

    def __call__(self, tokens: torch.Tensor) -> torch.Tensor:
        model: Transformer = self.template  # type: ignore[assignment]
        N, B, T = tokens.shape
        if model.seq_len < T:
            raise ValueError(f"{T} tokens; the model has {model.seq_len} positions")
        P = model.prefix_positions(tokens)
        emb = self.p(model.token_embedding)  # (N, V, C)
        V = emb.shape[1]
        x = gather_rows(emb, tokens[:, :, P:]) + self.positions(T)[:, P:].unsqueeze(1)
        qkv = prefix_qkv = prefix = None
        if model.lookup_first_layer and V < B:
            table = self.qkv_table(T)
            qkv = gather_rows(table, tokens[:, :, P:] + model.offsets[P:T])
        if P:
            prefix_tokens = model.prefix_tokens(tokens, P).expand(N, V, P)
            prefix = gather_rows(emb, prefix_tokens) + self.positions(P).unsqueeze(1)
            if qkv is not None:
                prefix_qkv = gather_rows(table, prefix_tokens + model.offsets[:P])
        last = len(model.blocks) - 1
        for i, block in enumerate(model.blocks):
            prefix_kv = None
            if prefix is not None:  # as the solo forward: keys and values of the prefix table
                first_qkv = prefix_qkv if i == 0 else None
                if i == last:
                    kv = self.keys_values(block, prefix, first_qkv)
                else:
                    kept: list[torch.Tensor] = []
                    prefix = self.block(block, prefix, False, first_qkv, kv_out=kept)
                    kv = kept[0]
                prefix_kv = gather_rows(kv.reshape(N, V, -1), tokens[:, :, 0]).view(N, B, P, -1)
            x = self.block(block, x, i == last, qkv if i == 0 else None, prefix_kv)
        return self.linear(model.unembed, self.norm(model.ln_f, x[:, :, 0]))


def group_model(template: nn.Module, params: GroupParams, activation: str) -> GroupModel:
    """The batched forward for the solo model family `template` belongs to."""
    if isinstance(template, MLP):
        return GroupMLP(template, params, activation)
    if isinstance(template, Transformer):
        return GroupTransformer(template, params, activation)
    raise TypeError(f"no batched form of {type(template).__name__}")

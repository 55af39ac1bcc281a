"""The MLP and the transformer with a leading member dimension: N same-shape models, one pass.

Every member's parameters live in one flat buffer (N, total): each parameter is a view
(N, *shape) of it, named as in the solo model's state_dict, and its gradient a view of one
flat gradient buffer (N, total). So the optimizer updates the whole group with a few elementwise
operations over (N, total), a member's clip norm is one row's norm, and member i's solo
weights are row i.

The batched forward follows the solo model's code path step for step (models/mlp.py,
models/transformer.py: the first-layer tables, the last block at the last position, the
short CPU attention) with bmm / baddbmm where the solo model calls mm / addmm; on CPU
these give the solo model's numbers bit for bit (LayerNorm's affine part is the one
place that rounds differently).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from grok_tui.models import MLP, Transformer
from grok_tui.models.transformer import SHORT_SEQUENCE, short_attention

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu,
    "gelu": F.gelu,
    "tanh": torch.tanh,
    "silu": F.silu,
}


class GroupParams:
    """N members' trainable parameters, stacked: views (N, *shape) of one (N, total) buffer."""

    def __init__(self, models: Sequence[nn.Module]) -> None:
        template = models[0]
        named = [(n, p) for n, p in template.named_parameters() if p.requires_grad]
        self.names = [n for n, _ in named]
        self.shapes = [tuple(p.shape) for _, p in named]
        self.sizes = [p.numel() for _, p in named]
        first = named[0][1]
        N, total = len(models), sum(self.sizes)
        self.flat = torch.empty(N, total, dtype=first.dtype, device=first.device)
        self.grad = torch.zeros_like(self.flat)
        for i, model in enumerate(models):
            params = [p for p in model.parameters() if p.requires_grad]
            torch.cat([p.detach().flatten() for p in params], out=self.flat[i])
        self.views: dict[str, torch.Tensor] = {}
        self.grads: dict[str, torch.Tensor] = {}
        start = 0
        for name, shape, size in zip(self.names, self.shapes, self.sizes, strict=True):
            view = self.flat[:, start : start + size].view(N, *shape)
            view.requires_grad_()  # a leaf: its base does not require grad
            self.views[name] = view
            self.grads[name] = self.grad[:, start : start + size].view(N, *shape)
            start += size

    @property
    def n(self) -> int:
        return self.flat.shape[0]

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.views[name]

    def list(self) -> list[torch.Tensor]:
        return [self.views[n] for n in self.names]

    def grad_list(self) -> list[torch.Tensor]:
        return [self.grads[n] for n in self.names]

    def collect_grads(self) -> None:
        """Move what backward() left in each view's .grad into the flat gradient buffer.

        (A .grad that is a strided view of a shared buffer breaks autograd's layout
        contract, so backward writes fresh tensors and one foreach copy gathers them.)
        """
        views = [self.views[n] for n in self.names]
        fresh = [v.grad if v.grad is not None else torch.zeros_like(v) for v in views]
        torch._foreach_copy_(self.grad_list(), fresh)
        for view in views:
            view.grad = None

    @torch.no_grad()
    def write_member(self, i: int, model: nn.Module) -> None:
        """Copy member i's weights into its solo model (for its checkpoints and snapshots)."""
        params = [p for p in model.parameters() if p.requires_grad]
        for p, name in zip(params, self.names, strict=True):
            p.copy_(self.views[name][i])


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
    """LayerNorm over the last dim with per-member affine parameters (N, C)."""
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

    def first_qkv(self, tokens: torch.Tensor) -> torch.Tensor:
        model: Transformer = self.template  # type: ignore[assignment]
        N, B, T = tokens.shape
        block = model.blocks[0]
        emb = self.p(model.token_embedding)  # (N, V, C)
        V, C = emb.shape[1:]
        x_all = emb.unsqueeze(1) + self.positions(T).unsqueeze(2)  # (N, T, V, C)
        x_all = self.norm(block.ln1, x_all) if block.pre_norm else x_all
        table = self.linear(block.attn.qkv, x_all)  # (N, T, V, 3C)
        return gather_rows(table.reshape(N, T * V, 3 * C), tokens + model.offsets[:T])

    def attention(
        self, attn: nn.Module, x: torch.Tensor, last_only: bool, qkv: torch.Tensor | None
    ) -> torch.Tensor:
        N, B, T, C = x.shape
        if qkv is not None:
            q, k, v = qkv.split(C, dim=3)
            q = q[:, :, -1:] if last_only else q
        elif last_only:
            w, b = self.p(attn.qkv), self.p(attn.qkv, "bias")
            q = linear(x[:, :, -1:], w[:, :C], None if b is None else b[:, :C])
            k, v = linear(x, w[:, C:], None if b is None else b[:, C:]).split(C, dim=3)
        else:
            q, k, v = self.linear(attn.qkv, x).split(C, dim=3)
        Tq, H = q.shape[2], attn.heads
        q = q.reshape(N * B, Tq, H, C // H)
        k = k.reshape(N * B, T, H, C // H)
        v = v.reshape(N * B, T, H, C // H)
        if x.device.type == "cpu" and T <= SHORT_SEQUENCE:
            y = short_attention(q, k, v, causal=not last_only)
        else:
            y = F.scaled_dot_product_attention(
                q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=not last_only
            ).transpose(1, 2)
        return self.linear(attn.proj, y.reshape(N, B, Tq, C))

    def ffn(self, ffn: nn.Module, x: torch.Tensor) -> torch.Tensor:
        first, second = ffn.net[0], ffn.net[2]
        return self.linear(second, self.act(self.linear(first, x)))

    def block(
        self, block: nn.Module, x: torch.Tensor, last_only: bool, qkv: torch.Tensor | None
    ) -> torch.Tensor:
        if block.residual_from_norm:
            x = self.norm(block.ln1, x)
            residual = x[:, :, -1:] if last_only else x
            x = residual + self.attention(block.attn, x, last_only, qkv)
            return x + self.ffn(block.ffn, self.norm(block.ln2, x))
        residual = x[:, :, -1:] if last_only else x
        if block.pre_norm:
            attn_in = x if qkv is not None else self.norm(block.ln1, x)
            x = residual + self.attention(block.attn, attn_in, last_only, qkv)
            return x + self.ffn(block.ffn, self.norm(block.ln2, x))
        x = self.norm(block.ln1, residual + self.attention(block.attn, x, last_only, qkv))
        return self.norm(block.ln2, x + self.ffn(block.ffn, x))

    def __call__(self, tokens: torch.Tensor) -> torch.Tensor:
        model: Transformer = self.template  # type: ignore[assignment]
        rows, length = tokens.shape[1:]
        if length > model.seq_len:
            raise ValueError(f"{length} tokens; the model has {model.seq_len} positions")
        x = gather_rows(self.p(model.token_embedding), tokens)
        x = x + self.positions(length).unsqueeze(1)  # (N, B, T, C)
        lookup = model.lookup_first_layer and rows > model.token_embedding.num_embeddings
        qkv = self.first_qkv(tokens) if lookup else None
        last = len(model.blocks) - 1
        for i, block in enumerate(model.blocks):
            x = self.block(block, x, last_only=i == last, qkv=qkv if i == 0 else None)
        return self.linear(model.unembed, self.norm(model.ln_f, x[:, :, 0]))


def group_model(template: nn.Module, params: GroupParams, activation: str) -> GroupModel:
    """The batched forward for the solo model family `template` belongs to."""
    if isinstance(template, MLP):
        return GroupMLP(template, params, activation)
    if isinstance(template, Transformer):
        return GroupTransformer(template, params, activation)
    raise TypeError(f"no batched form of {type(template).__name__}")

"""Model families (one file each) and build_model(): every model maps tokens (B, T) to logits (B, p)."""

from __future__ import annotations

from torch import nn

from grok_tui.config import MLPConfig, RecurrentConfig, TransformerConfig
from grok_tui.training.models.mlp import MLP
from grok_tui.training.models.recurrent import Recurrent
from grok_tui.training.models.transformer import Transformer

__all__ = [
    "MLP",
    "Recurrent",
    "Transformer",
    "build_model",
    "count_parameters",
    "embedding_name",
]

# Where each model family keeps its token embedding (transformer.py, mlp.py, recurrent.py).
EMBEDDING_ATTRIBUTES = ("token_embedding", "embedding")


def build_model(
    cfg: TransformerConfig | MLPConfig | RecurrentConfig,
    *,
    vocab_size: int,
    seq_len: int,
    n_classes: int,
) -> nn.Module:
    """The model a preset's [model] table describes, in float32 on the CPU.

    ``n_classes`` is the task's (p results); a model with ``output_classes = "vocab"``
    has a logit for every token instead, as some original code did (labels stay 0..p-1).
    """
    if getattr(cfg, "output_classes", "p") == "vocab":
        n_classes = vocab_size
    sizes = {"vocab_size": vocab_size, "seq_len": seq_len, "n_classes": n_classes}
    if isinstance(cfg, TransformerConfig):
        return Transformer(cfg, **sizes)
    if isinstance(cfg, MLPConfig):
        return MLP(cfg, **sizes)
    if isinstance(cfg, RecurrentConfig):
        return Recurrent(cfg, **sizes)
    raise TypeError(f"unknown model config {type(cfg).__name__}")


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars (shared tensors counted once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def embedding_name(model: nn.Module) -> str | None:
    """The state-dict key of the token embedding's weight, or None when the model has none."""
    for attribute in EMBEDDING_ATTRIBUTES:
        if isinstance(getattr(model, attribute, None), nn.Embedding):
            return f"{attribute}.weight"
    for name, module in model.named_modules():
        if isinstance(module, nn.Embedding) and "position" not in name:
            return f"{name}.weight"
    return None

"""[model]: the model families (transformer, MLP, recurrent), told apart by ``type``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from grok_tui.config.errors import short_repr
from grok_tui.config.schema.section import Section

Activation = Literal["relu", "gelu", "tanh", "silu"]


class TransformerConfig(Section):
    """Decoder-only transformer of Power et al.: predicts the result at the last position."""

    type: Literal["transformer"] = "transformer"
    layers: int = Field(2, ge=1, le=12, description="number of decoder blocks")
    d_model: int = Field(128, ge=8, le=2048, description="residual stream width")
    heads: int = Field(4, ge=1, le=64, description="attention heads; must divide d_model")
    d_ff: int = Field(512, ge=8, le=16384, description="hidden width of the feed-forward block")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="dropout in attention and FFN")
    norm: Literal["pre", "post", "none"] = Field(
        "post", description="LayerNorm placement (none: Nanda et al.'s model)"
    )
    activation: Activation = Field("relu", description="FFN activation")
    # What the original set-ups differ in (docs/REPRODUCE.md says which preset needs which).
    attn_bias: bool = Field(True, description="biases on q, k, v and the attention output")
    ffn_bias: bool = Field(True, description="biases in the feed-forward block")
    unembed_bias: bool = Field(True, description="a bias on the unembedding (the head)")
    positions: Literal["learned", "sinusoidal"] = Field(
        "learned", description="learned position embeddings, or fixed sinusoids (Power et al.)"
    )
    init: Literal["torch", "nanda"] = Field(
        "torch",
        description="torch: PyTorch's defaults (embeddings N(0, 1)); nanda: every weight "
        "N(0, 1/d_model), the unembedding N(0, 1/classes), biases 0 (Nanda et al.)",
    )
    residual: Literal["input", "norm"] = Field(
        "input",
        description="the attention's residual: the block's input, or (norm = 'pre') the "
        "LayerNorm's output, as Grokfast's block does",
    )
    output_classes: Literal["p", "vocab"] = Field(
        "p",
        description="logits over the p results, or over every token (p + 1 or p + 2) as "
        "Nanda's, danielmamay's and Grokfast's models have",
    )

    @model_validator(mode="after")
    def _heads_divide(self) -> TransformerConfig:
        if self.d_model % self.heads:
            raise ValueError(f"heads ({self.heads}) must divide d_model ({self.d_model})")
        if self.residual == "norm" and self.norm != "pre":
            raise ValueError(
                "residual = 'norm' needs norm = 'pre' (the LayerNorm before attention)"
            )
        return self


class MLPConfig(Section):
    """Embed each token, concatenate the embeddings, then a stack of linear layers."""

    type: Literal["mlp"] = "mlp"
    embed_dim: int = Field(128, ge=1, le=4096, description="embedding width per token")
    widths: list[int] = Field(
        default_factory=lambda: [256, 256], min_length=1, description="hidden layer widths"
    )
    activation: Activation = Field("relu", description="hidden activation")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="dropout after each hidden layer")
    shared_hidden: bool = Field(
        False,
        description="one weight matrix for every hidden layer after the first (the seed report's code)",
    )
    input: Literal["embedding", "one_hot"] = Field(
        "embedding",
        description="embedding: learned vectors, concatenated; one_hot: the tokens' one-hot "
        "vectors concatenated straight into the first layer (Prieto et al.)",
    )
    bias: bool = Field(True, description="biases in every linear layer (Prieto et al.: none)")
    output_classes: Literal["p", "vocab"] = Field(
        "p", description="logits over the p results, or over every token"
    )

    @model_validator(mode="after")
    def _shared_needs_equal_widths(self) -> MLPConfig:
        if self.input == "one_hot" and "embed_dim" in self.model_fields_set:
            raise ValueError("embed_dim does not apply to input = 'one_hot' (no embedding)")
        if self.shared_hidden and (len(self.widths) < 2 or len(set(self.widths)) != 1):
            raise ValueError(
                f"shared_hidden needs at least two equal widths, got widths = {self.widths}"
            )
        return self

    @field_validator("widths")
    @classmethod
    def _positive_widths(cls, widths: list[int]) -> list[int]:
        if any(w < 1 or w > 65536 for w in widths):
            raise ValueError(f"every width must be in 1..65536, got {short_repr(widths)}")
        return widths


class RecurrentConfig(Section):
    """LSTM, GRU or Elman RNN over the token sequence; bidirectional gives a BiRNN."""

    type: Literal["lstm", "gru", "rnn"] = "lstm"
    embed_dim: int = Field(128, ge=1, le=4096, description="embedding width per token")
    hidden_size: int = Field(256, ge=1, le=8192, description="hidden state width")
    layers: int = Field(2, ge=1, le=12, description="stacked recurrent layers")
    bidirectional: bool = Field(False, description="read the sequence both ways (BiRNN)")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="dropout between recurrent layers")
    input: Literal["embedding", "scalar"] = Field(
        "embedding",
        description="embedding: learned vectors; scalar: each token's integer as one float "
        "(the seed report's BiRNN code)",
    )


ModelConfig = Annotated[
    TransformerConfig | MLPConfig | RecurrentConfig, Field(discriminator="type")
]
MODEL_TYPES = ("transformer", "mlp", "lstm", "gru", "rnn")

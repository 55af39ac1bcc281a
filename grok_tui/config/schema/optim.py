"""[optim]: the optimizer, its learning-rate schedule and gradient processing."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from grok_tui.config.schema.section import Section

OPTIMIZERS = ("adamw", "adam", "sgd", "nadam", "rmsprop", "adagrad")


class GrokfastConfig(Section):
    """Grokfast gradient filter (Lee et al. 2024): amplify the slow part of the gradient."""

    kind: Literal["ema", "ma"] = Field("ema", description="ema: exponential; ma: moving average")
    alpha: float = Field(0.98, gt=0.0, lt=1.0, description="EMA momentum (kind = 'ema')")
    window: int = Field(100, ge=1, le=10000, description="MA window in steps (kind = 'ma')")
    lamb: float = Field(2.0, ge=0.0, description="amplification of the filtered gradient")

    @model_validator(mode="after")
    def _fields_match_kind(self) -> GrokfastConfig:
        unused = {"ema": "window", "ma": "alpha"}[self.kind]
        if unused in self.model_fields_set:
            raise ValueError(f"'{unused}' does not apply to kind = '{self.kind}'")
        return self


class OptimConfig(Section):
    """Optimizer, learning-rate schedule and gradient processing."""

    name: Literal["adamw", "adam", "sgd", "nadam", "rmsprop", "adagrad"] = Field(
        "adamw", description="adam adds weight_decay to the gradient (L2); adamw decays weights"
    )
    lr: float = Field(1e-3, gt=0.0, le=10.0, description="peak learning rate")
    weight_decay: float = Field(1.0, ge=0.0, description="weight decay (coupled for non-AdamW)")
    betas: tuple[float, float] = Field((0.9, 0.98), description="Adam-family betas")
    eps: float = Field(1e-8, gt=0.0, description="Adam-family / RMSprop epsilon")
    momentum: float = Field(0.0, ge=0.0, lt=1.0, description="sgd and rmsprop only")
    nesterov: bool = Field(False, description="sgd only; needs momentum > 0")
    warmup_steps: int = Field(
        10, ge=0, description="linear warm-up from warmup_start * lr to lr over this many steps"
    )
    warmup_start: float = Field(
        0.1,
        ge=0.0,
        le=1.0,
        description="lr factor at step 0 of the warm-up (torch's LinearLR default 0.1; 0: Nanda et al.)",
    )
    schedule: Literal["constant", "cosine", "linear"] = Field(
        "constant", description="after warm-up: constant, cosine or linear decay to min_lr"
    )
    min_lr: float = Field(0.0, ge=0.0, description="floor of the cosine/linear decay")
    grad_clip: float | None = Field(None, gt=0.0, description="clip the global grad norm")
    grokfast: GrokfastConfig | None = Field(None, description="optional Grokfast filter")
    orthogonal_grad: bool = Field(
        False,
        description="⊥Grad (Prieto et al. 2025): drop each gradient's component along its "
        "weights, keep its norm",
    )

    @field_validator("betas")
    @classmethod
    def _betas_in_range(cls, betas: tuple[float, float]) -> tuple[float, float]:
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"betas must each be in [0, 1), got {list(betas)}")
        return betas

    @model_validator(mode="after")
    def _options_apply(self) -> OptimConfig:
        # betas are not checked: a base preset's Adam betas must not block an SGD variant
        # that extends it (a merge cannot delete a key); they are simply unused there.
        if self.momentum and self.name not in ("sgd", "rmsprop"):
            raise ValueError(f"momentum applies to sgd and rmsprop, not to {self.name}")
        if self.nesterov and (self.name != "sgd" or self.momentum == 0):
            raise ValueError("nesterov needs name = 'sgd' and momentum > 0")
        if self.min_lr > self.lr:
            raise ValueError(f"min_lr ({self.min_lr}) must not exceed lr ({self.lr})")
        return self

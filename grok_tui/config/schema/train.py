"""[train]: the budget, batching, device and precision, and what a run keeps and logs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from grok_tui.config.devices import DEVICE_NAMES, is_device_name
from grok_tui.config.errors import short_repr
from grok_tui.config.schema.section import MAX_SEED, MAX_STEPS, USER_INPUT, Section

# Trackers that may receive a run live ([train] log_to; grok_tui/training/trackers.py).
TRACKERS = ("tensorboard", "wandb", "mlflow")


class TrainConfig(Section):
    """How long, how batched, where and how precisely to train."""

    steps: int = Field(10_000, ge=1, le=MAX_STEPS, description="optimizer steps")
    epochs: int | None = Field(
        None,
        ge=1,
        le=MAX_STEPS,
        description="the budget in passes over the training set instead of steps (sets steps)",
    )
    batch_size: int | Literal["full"] = Field(
        512, description="examples per step (capped at the training set) or 'full'"
    )
    eval_every: int = Field(100, ge=1, description="steps between evaluations on all data")
    checkpoint_every: int = Field(1000, ge=1, description="steps between checkpoints")
    seed: int = Field(
        0, ge=0, le=MAX_SEED, description="seed of initialisation, batches and dropout"
    )
    device: str = Field("auto", description="auto (cuda, then mps, then cpu) or a torch device")
    precision: Literal["fp32", "tf32", "bf16", "fp64"] = Field(
        "fp32", description="tf32: TF32 matmuls on CUDA; bf16: autocast; fp64: double weights"
    )
    loss: Literal["cross_entropy", "cross_entropy_fp16", "cross_entropy_fp64", "stablemax"] = Field(
        "cross_entropy",
        description="cross_entropy_fp64 / cross_entropy_fp16: the log-softmax in float64 (Nanda "
        "et al.) or float16 (Prieto et al.'s softmax precision 16), the model not; stablemax: "
        "StableMax cross-entropy in float64 (Prieto et al. 2025)",
    )
    init_scale: float = Field(1.0, gt=0.0, description="multiply every initial weight by this")
    constrain_norm: bool = Field(
        False,
        description="after each step, rescale the weights to their initial total norm (Omnigrok)",
    )
    compile: bool | Literal["default", "reduce-overhead", "max-autotune"] = Field(
        False, description="torch.compile the model (true = 'default' mode)"
    )
    cuda_graphs: bool | Literal["auto"] = Field(
        "auto",
        description="capture the training step as a CUDA graph and replay it (auto: on CUDA when "
        "the preset's features allow, checked once against an eager step; false: eager)",
    )
    keep_checkpoints: list[int] = Field(
        default_factory=list,
        description="steps whose weights are kept in checkpoints/ for analysis (step 0 always)",
    )
    keep_checkpoint_every: int | None = Field(
        None, ge=1, description="also keep the weights every N steps (and at step 0)"
    )
    stop_after_grok: int | None = Field(
        None, ge=0, description="stop this many steps after grok_step (0: at it)"
    )
    measures: list[Literal["layer_norms", "fourier", "nanda", "softmax_collapse", "sharpness"]] = (
        Field(
            default_factory=list,
            description="progress measures added to the records: layer_norms, fourier, nanda, "
            "softmax_collapse, sharpness (see README)",
        )
    )
    measure_every: int | None = Field(
        None,
        ge=1,
        description="steps between progress measures, a multiple of eval_every (default: eval_every)",
    )
    dense_eval_every: int | None = Field(
        None,
        ge=1,
        description="evaluate every this many steps while test accuracy climbs towards grokking "
        "(from half the grok threshold to grok_step): grok_step to this precision",
    )
    log_to: list[Literal["tensorboard", "wandb", "mlflow"]] = Field(
        default_factory=list,
        description="trackers that receive the run live, at every evaluation: tensorboard "
        "(RUN_DIR/tensorboard), wandb, mlflow (see README, Live logging)",
    )
    fit_threshold: float = Field(0.99, gt=0.0, le=1.0, description="train_acc that marks fit_step")
    grok_threshold: float = Field(0.99, gt=0.0, le=1.0, description="test_acc that marks grok_step")

    @model_validator(mode="before")
    @classmethod
    def _one_budget(cls, raw: Any, info: ValidationInfo) -> Any:
        # Only for what a user wrote (validate_preset): a dump of a loaded preset holds the
        # derived steps next to epochs, and assignment re-validates the whole section.
        user_input = bool(info.context and info.context.get(USER_INPUT))
        if (
            user_input
            and isinstance(raw, Mapping)
            and "steps" in raw
            and raw.get("epochs") is not None
        ):
            raise ValueError(
                f"give steps ({short_repr(raw['steps'])})"
                f" or epochs ({short_repr(raw['epochs'])}), not both: epochs sets steps"
            )
        return raw

    def steps_per_epoch(self, n_train: int) -> int:
        """Optimizer steps in one epoch: the last incomplete batch is dropped (training/batches.py)."""
        batch = n_train if self.batch_size == "full" else min(int(self.batch_size), n_train)
        return max(1, n_train // batch)

    # "before" validators: one clear message instead of one error per union member.
    @field_validator("batch_size", mode="before")
    @classmethod
    def _batch_positive(cls, batch_size: Any) -> Any:
        if batch_size == "full" or (
            isinstance(batch_size, int) and not isinstance(batch_size, bool) and batch_size >= 1
        ):
            return batch_size
        raise ValueError(
            f"batch_size must be an integer >= 1 or 'full', got {short_repr(batch_size)}"
        )

    @field_validator("compile", mode="before")
    @classmethod
    def _compile_mode(cls, compile: Any) -> Any:
        if isinstance(compile, bool) or compile in ("default", "reduce-overhead", "max-autotune"):
            return compile
        raise ValueError(
            "compile must be true, false, 'default', 'reduce-overhead' or 'max-autotune',"
            f" got {short_repr(compile)}"
        )

    @field_validator("cuda_graphs", mode="before")
    @classmethod
    def _cuda_graphs_mode(cls, value: Any) -> Any:
        if isinstance(value, bool) or value == "auto":
            return value
        raise ValueError(f"cuda_graphs must be true, false or 'auto', got {short_repr(value)}")

    @field_validator("keep_checkpoints")
    @classmethod
    def _kept_steps_valid(cls, steps: list[int]) -> list[int]:
        if any(s < 0 for s in steps):
            raise ValueError(f"kept steps must be >= 0, got {short_repr(steps)}")
        return sorted(set(steps))

    def keeps_weights_at(self, step: int) -> bool:
        """Whether the weights at this step go to checkpoints/ (analysis across the run)."""
        if not self.keep_checkpoints and self.keep_checkpoint_every is None:
            return False
        every = self.keep_checkpoint_every
        return step == 0 or step in self.keep_checkpoints or bool(every and step % every == 0)

    @field_validator("log_to", mode="before")
    @classmethod
    def _trackers_known(cls, names: Any) -> Any:
        if isinstance(names, list | tuple):
            unknown = [n for n in names if n not in TRACKERS]
            if unknown:
                raise ValueError(
                    f"{short_repr(unknown[0])} is not a tracker; "
                    f"each must be one of {', '.join(TRACKERS)}"
                )
            return list(dict.fromkeys(names))  # each once, in the order given
        return names

    @field_validator("device")
    @classmethod
    def _device_known(cls, device: str) -> str:
        if not is_device_name(device):
            raise ValueError(f"device must be {DEVICE_NAMES}, got {short_repr(device)}")
        return device

"""The whole preset: its four tables, the rules that span them, and its dict and TOML forms."""

from __future__ import annotations

from typing import Any

import tomli_w
from pydantic import BaseModel, Field, model_validator

from grok_tui.config.schema.data import DataConfig
from grok_tui.config.schema.model import ModelConfig, TransformerConfig
from grok_tui.config.schema.optim import OptimConfig
from grok_tui.config.schema.section import MAX_STEPS, PRESET_CONFIG
from grok_tui.config.schema.train import TrainConfig


class Preset(BaseModel):
    """One experiment: a task, a model, an optimizer and a training budget."""

    model_config = PRESET_CONFIG

    name: str = Field("unnamed", min_length=1, max_length=80, description="short name of the run")
    description: str = Field("", description="what this experiment shows, and its source")
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=TransformerConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)

    @model_validator(mode="after")
    def _measures_apply(self) -> Preset:
        every, evals = self.train.measure_every, self.train.eval_every
        if every is not None and every % evals:
            raise ValueError(
                f"train.measure_every = {every} must be a multiple of eval_every = {evals} "
                "(measures are taken at evaluations)"
            )
        asked = {"fourier", "nanda"} & set(self.train.measures)
        data = self.data
        if asked and (data.operation not in ("add", "sub") or data.k != 2 or data.p < 3):
            raise ValueError(
                f"train.measures: {' and '.join(sorted(asked))} apply to operation 'add' or 'sub' "
                f"(two numbers of Z_p), not {data.operation!r}"
            )
        if asked and self.model.type not in ("mlp", "transformer"):
            raise ValueError(
                f"train.measures: {' and '.join(sorted(asked))} apply to a model with a token embedding "
                f"(mlp or transformer), not {self.model.type!r}"
            )
        return self

    @model_validator(mode="after")
    def _cuda_graphs_apply(self) -> Preset:
        if self.train.cuda_graphs is True:
            if self.train.device in ("cpu", "mps"):
                raise ValueError(
                    f"train.cuda_graphs = true needs a CUDA device, not {self.train.device!r}"
                )
            if (blocker := cuda_graph_blocker(self)) is not None:
                raise ValueError(f"train.cuda_graphs = true, but {blocker}")
        return self

    @model_validator(mode="after")
    def _steps_from_epochs(self) -> Preset:
        train = self.train
        if train.epochs is not None:
            steps = train.epochs * train.steps_per_epoch(self.data.n_train)
            if steps > MAX_STEPS:
                raise ValueError(
                    f"train.epochs = {train.epochs} is {steps} steps; at most {MAX_STEPS} are allowed"
                )
            train.__dict__["steps"] = steps  # derived: bypasses assignment validation
        return self

    def to_dict(self) -> dict[str, Any]:
        """Every field with its value (defaults filled in), ready for TOML or JSON."""
        raw = self.model_dump(mode="json", exclude_none=True)
        if "epochs" in raw["train"]:
            raw["train"].pop("steps")  # derived from epochs when loaded again
        # Leave out what the chosen optimizer or filter does not use, so the dump loads again.
        optim = raw["optim"]
        if optim["name"] not in ("adam", "adamw", "nadam"):
            optim.pop("betas")
        if optim["name"] not in ("sgd", "rmsprop"):
            optim.pop("momentum")
        if optim["name"] != "sgd":
            optim.pop("nesterov")
        if raw["model"].get("input") == "one_hot":
            raw["model"].pop("embed_dim", None)
        if "grokfast" in optim:
            optim["grokfast"].pop("window" if optim["grokfast"]["kind"] == "ema" else "alpha")
        return raw

    def to_toml(self) -> str:
        return tomli_w.dumps(_toml_ready(self.to_dict()))


def cuda_graph_blocker(preset: Preset) -> str | None:
    """Why this preset's training step cannot be captured as a CUDA graph, or None.

    A graph replays fixed kernels on fixed memory: whatever the step decides on the host
    from one step to the next, or draws at random, cannot be in it (grok_tui/training/graphs.py).
    """
    model, optim, train = preset.model, preset.optim, preset.train
    if model.type in ("lstm", "gru", "rnn"):
        return f"model.type = {model.type!r}: recurrent models are not captured (cuDNN's RNN)"
    if model.dropout > 0:
        return "model.dropout > 0: dropout draws random numbers inside the step"
    if train.compile:
        return "train.compile: torch.compile brings its own graphs (mode 'reduce-overhead')"
    if train.precision == "bf16":
        return "precision 'bf16': autocast caches its casts across the step"
    if train.precision == "fp64":
        return "precision 'fp64': the fused optimizer reads a tensor learning rate in float32"
    if optim.name not in ("adam", "adamw"):
        return f"optim.name = {optim.name!r}: only adam and adamw have a capturable step here"
    if optim.grokfast is not None and optim.grokfast.kind == "ma":
        return "the Grokfast MA filter keeps its window position on the host"
    return None


def _toml_ready(value: Any) -> Any:
    """tomli-w writes tuples as arrays but not None; drop Nones and turn tuples into lists."""
    if isinstance(value, dict):
        return {k: _toml_ready(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_toml_ready(v) for v in value]
    return value

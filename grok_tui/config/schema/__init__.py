"""The preset schema: what one experiment is, as pydantic v2 models, and its TOML form.

A preset is four tables, ``[data]``, ``[model]``, ``[optim]``, ``[train]``, each a model
with ``extra="forbid"``; the validators state every rule a preset must follow, in the
words a user reads (locate.py adds the file and line). Must stay importable without
torch: the TUI validates presets.

One module per table, each built only on those before it:
    section  the base every table shares (no inf or nan, no unknown field) and the limits
    data     [data]: the task and its split
    model    [model]: the model families, told apart by ``type``
    optim    [optim]: the optimizer, its schedule and the Grokfast filter
    train    [train]: budget, batching, device, precision, checkpoints, measures
    preset   the whole preset: the rules across tables, and its dict and TOML forms

This package re-exports their public names; patch a name (tests) in the module that
defines it, not here.
"""

from grok_tui.config.schema.data import DataConfig
from grok_tui.config.schema.model import (
    MODEL_TYPES,
    Activation,
    MLPConfig,
    ModelConfig,
    RecurrentConfig,
    TransformerConfig,
)
from grok_tui.config.schema.optim import OPTIMIZERS, GrokfastConfig, OptimConfig
from grok_tui.config.schema.preset import Preset, cuda_graph_blocker
from grok_tui.config.schema.section import MAX_SEED, MAX_STEPS, PRESET_CONFIG, USER_INPUT, Section
from grok_tui.config.schema.train import TRACKERS, TrainConfig

__all__ = [
    "MAX_SEED",
    "MAX_STEPS",
    "MODEL_TYPES",
    "OPTIMIZERS",
    "PRESET_CONFIG",
    "TRACKERS",
    "USER_INPUT",
    "Activation",
    "DataConfig",
    "GrokfastConfig",
    "MLPConfig",
    "ModelConfig",
    "OptimConfig",
    "Preset",
    "RecurrentConfig",
    "Section",
    "TrainConfig",
    "TransformerConfig",
    "cuda_graph_blocker",
]

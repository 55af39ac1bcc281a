"""Presets: what one experiment is, and how it is read from TOML and written back.

A preset is a TOML file validated by pydantic v2 models, with ``extends`` (a base
preset, deep-merged) and ``--set`` overrides. Every user mistake becomes a PresetError
naming the file, the line, the dotted field and what is allowed; the edges (the cli, the
TUI) print it, never a traceback. Nothing here imports torch (the TUI uses it).

Modules, each built only on those before it:
    errors   PresetError and the wording of a user's values in a message
    tasks    the algorithmic tasks: operations, sizes, token layout
    schema   the pydantic models: DataConfig, the model families, OptimConfig, ...
    memory   the memory a preset needs, refused at validation when it cannot fit
    reading  TOML files and texts read safely into raw dicts
    locate   where a field is written, and a schema error as file:line: field: message
    loading  extends, overrides, validate_preset, load_preset, save_preset

This package re-exports their public names: ``from grok_tui.config import X`` is the
usual import. Patch a name (tests) in the module that defines it, not here.
"""

from grok_tui.config.errors import PresetError, PresetErrors, cut_text, one_line, short_repr
from grok_tui.config.loading import (
    ALTERNATIVES,
    MAX_EXTENDS_DEPTH,
    MAX_REPORTED_ERRORS,
    alternatives_of,
    apply_overrides,
    deep_merge,
    flatten,
    load_preset,
    parse_override,
    preset_from_toml,
    resolve_extends,
    save_preset,
    validate_preset,
    with_overrides,
)
from grok_tui.config.locate import BOUND_NOTES, FieldLines, locate_field
from grok_tui.config.memory import (
    ADAM_COPIES,
    EVAL_ROWS,
    SIZE_FIELDS,
    GiB,
    memory_estimate,
    memory_problem,
    physical_memory,
)
from grok_tui.config.reading import (
    MAX_TOML_DEPTH,
    nesting_depth,
    parse_toml,
    read_error_text,
    read_toml,
)
from grok_tui.config.schema import (
    MAX_SEED,
    MAX_STEPS,
    MODEL_TYPES,
    OPTIMIZERS,
    USER_INPUT,
    Activation,
    DataConfig,
    GrokfastConfig,
    MLPConfig,
    ModelConfig,
    OptimConfig,
    Preset,
    RecurrentConfig,
    TrainConfig,
    TransformerConfig,
    cuda_graph_blocker,
)
from grok_tui.config.tasks import (
    DIVIDING,
    MAX_EXAMPLES,
    MAX_P,
    MAX_PRIME_TESTED,
    OPERATIONS,
    S5_OPERATIONS,
    S5_ORDER,
    Operation,
    is_prime,
    task_size_label,
    train_size,
    vocab_layout,
)

__all__ = [
    # errors
    "PresetError",
    "PresetErrors",
    "cut_text",
    "one_line",
    "short_repr",
    # tasks
    "DIVIDING",
    "MAX_EXAMPLES",
    "MAX_P",
    "MAX_PRIME_TESTED",
    "OPERATIONS",
    "S5_OPERATIONS",
    "S5_ORDER",
    "Operation",
    "is_prime",
    "task_size_label",
    "train_size",
    "vocab_layout",
    # schema
    "MAX_SEED",
    "MAX_STEPS",
    "MODEL_TYPES",
    "OPTIMIZERS",
    "USER_INPUT",
    "Activation",
    "DataConfig",
    "GrokfastConfig",
    "MLPConfig",
    "ModelConfig",
    "OptimConfig",
    "Preset",
    "RecurrentConfig",
    "TrainConfig",
    "TransformerConfig",
    "cuda_graph_blocker",
    # memory
    "ADAM_COPIES",
    "EVAL_ROWS",
    "SIZE_FIELDS",
    "GiB",
    "memory_estimate",
    "memory_problem",
    "physical_memory",
    # reading
    "MAX_TOML_DEPTH",
    "nesting_depth",
    "parse_toml",
    "read_error_text",
    "read_toml",
    # locate
    "BOUND_NOTES",
    "FieldLines",
    "locate_field",
    # loading
    "ALTERNATIVES",
    "MAX_EXTENDS_DEPTH",
    "MAX_REPORTED_ERRORS",
    "alternatives_of",
    "apply_overrides",
    "deep_merge",
    "flatten",
    "load_preset",
    "parse_override",
    "preset_from_toml",
    "resolve_extends",
    "save_preset",
    "validate_preset",
    "with_overrides",
]

"""The preset schema: what one experiment is, how it is read from TOML and written back.

A preset is a TOML file validated by pydantic v2 models (``extra="forbid"``), with
``extends`` (a base preset, deep-merged) and ``--set`` overrides. Every user mistake
becomes a :class:`PresetError` naming the file, the line, the dotted field and what is
allowed; the edges (cli.py, the TUI) turn it into a message, never a traceback.
This module must stay importable without torch (the TUI uses it).
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import tomli_w
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

OPERATIONS: dict[str, str] = {
    "add": "(x + y) mod p",
    "sub": "(x - y) mod p",
    "mul": "(x * y) mod p",
    "div": "(x * y^-1) mod p, y != 0",
    "x2_plus_y2": "(x^2 + y^2) mod p",
    "x2_plus_xy_plus_y2": "(x^2 + xy + y^2) mod p",
    "x3_plus_xy": "(x^3 + xy) mod p",
    "x3_plus_xy2_plus_y": "(x^3 + xy^2 + y) mod p",
    "x2_plus_xy_plus_y2_plus_x": "(x^2 + xy + y^2 + x) mod p",
    "div_odd_else_sub": "(x * y^-1) mod p if y is odd, else (x - y) mod p; y != 0",
    "sum": "(x_1 + ... + x_k) mod p",
    "s5_compose": "x o y in the permutation group S5 (120 elements; p is not used)",
    "s5_conjugate": "x o y o x^-1 in S5",
    "s5_xyx": "x o y o x in S5",
}
# Operations on the 120 permutations of 5 items (Power et al.'s S5 tasks), not on Z_p.
S5_OPERATIONS = ("s5_compose", "s5_conjugate", "s5_xyx")
S5_ORDER = 120
# Operations that divide by y: their tuples leave out y = 0, so there are p (p - 1).
DIVIDING = ("div", "div_odd_else_sub")
Operation = Literal[
    "add",
    "sub",
    "mul",
    "div",
    "x2_plus_y2",
    "x2_plus_xy_plus_y2",
    "x3_plus_xy",
    "x3_plus_xy2_plus_y",
    "x2_plus_xy_plus_y2_plus_x",
    "div_odd_else_sub",
    "sum",
    "s5_compose",
    "s5_conjugate",
    "s5_xyx",
]
OPTIMIZERS = ("adamw", "adam", "sgd", "nadam", "rmsprop", "adagrad")
MAX_STEPS = 100_000_000
USER_INPUT = "user_input"  # validation context: the raw dict is what a user wrote
MAX_EXAMPLES = 2_000_000  # the whole task lives on the device; beyond this it stops being "small"


class PresetError(Exception):
    """A user's mistake in a preset: printed as ``file:line: field: message``, no traceback."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.column = column
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file or "<preset>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        prefix = f"{self.field}: " if self.field else ""
        return f"{where}: {prefix}{self.message}"


class PresetErrors(PresetError):
    """Several schema errors of one preset, reported together."""

    def __init__(self, errors: list[PresetError]) -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(
            first.message, file=first.file, line=first.line, column=first.column, field=first.field
        )

    def __str__(self) -> str:
        return "\n".join(str(PresetError.__str__(e)) for e in self.errors)


def is_prime(n: int) -> bool:
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    return all(n % d for d in range(3, math.isqrt(n) + 1, 2))


def task_size_label(operation: Any, p: Any) -> str:
    """'p=97', or '(S5)' for the permutation tasks, which do not use p."""
    return "(S5)" if operation in S5_OPERATIONS else f"p={p}"


def train_size(n_examples: int, train_fraction: float) -> int:
    """Training examples of a split: floor(fraction * n), at least 1, leaving at least 1 to test.

    The epsilon keeps 0.29 * 100 = 28.999999999999996 at 29 examples.
    """
    return max(1, min(n_examples - 1, math.floor(train_fraction * n_examples + 1e-9)))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Section):
    """The algorithmic task and how it is split."""

    operation: Operation = Field("add", description="the binary operation (or k-ary sum) mod p")
    p: int = Field(97, ge=2, description="the modulus; must be prime")
    k: int = Field(2, ge=2, le=8, description="number of summands (operation = 'sum' only)")
    train_fraction: float = Field(
        0.5, gt=0.0, lt=1.0, description="fraction of all tuples used for training"
    )
    include_op_tokens: bool = Field(
        True, description="true: [x, op, y, =]; false: [x, y] (no operator or '=' tokens)"
    )
    equals_token: bool = Field(
        False,
        description="with include_op_tokens = false: end with '=' anyway, [x, y, =] (Nanda et al.)",
    )
    split_seed: int = Field(
        0, ge=0, description="seed of the train/test split, apart from train.seed"
    )

    @field_validator("p")
    @classmethod
    def _p_is_prime(cls, p: int) -> int:
        if not is_prime(p):
            raise ValueError(f"p must be prime, got {p}")
        return p

    @property
    def n_elements(self) -> int:
        """What one number token can stand for: p residues, or the 120 permutations of S5."""
        return S5_ORDER if self.operation in S5_OPERATIONS else self.p

    @property
    def n_examples(self) -> int:
        """Every operand tuple: p^2, p^k for 'sum', p (p - 1) for 'div' and its kin (no y = 0),
        120^2 for S5."""
        if self.operation in DIVIDING:
            return self.p * (self.p - 1)
        return self.n_elements ** (self.k if self.operation == "sum" else 2)

    @property
    def n_train(self) -> int:
        return train_size(self.n_examples, self.train_fraction)

    @model_validator(mode="after")
    def _k_fits(self) -> DataConfig:
        if self.operation != "sum" and self.k != 2:
            raise ValueError(f"k = {self.k} needs operation = 'sum' (the other operations take 2)")
        if self.p**self.k > MAX_EXAMPLES:
            raise ValueError(
                f"p^k = {self.p}^{self.k} = {self.p**self.k} tuples; at most {MAX_EXAMPLES} are allowed"
            )
        if self.equals_token and self.include_op_tokens:
            raise ValueError(
                "equals_token = true needs include_op_tokens = false"
                " ([x, op, y, =] ends with '=' already)"
            )
        return self


Activation = Literal["relu", "gelu", "tanh", "silu"]


class TransformerConfig(_Section):
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

    @model_validator(mode="after")
    def _heads_divide(self) -> TransformerConfig:
        if self.d_model % self.heads:
            raise ValueError(f"heads ({self.heads}) must divide d_model ({self.d_model})")
        return self


class MLPConfig(_Section):
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

    @model_validator(mode="after")
    def _shared_needs_equal_widths(self) -> MLPConfig:
        if self.shared_hidden and (len(self.widths) < 2 or len(set(self.widths)) != 1):
            raise ValueError(
                f"shared_hidden needs at least two equal widths, got widths = {self.widths}"
            )
        return self

    @field_validator("widths")
    @classmethod
    def _positive_widths(cls, widths: list[int]) -> list[int]:
        if any(w < 1 or w > 65536 for w in widths):
            raise ValueError(f"every width must be in 1..65536, got {widths}")
        return widths


class RecurrentConfig(_Section):
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


class GrokfastConfig(_Section):
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


class OptimConfig(_Section):
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


class TrainConfig(_Section):
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
    seed: int = Field(0, ge=0, description="seed of initialisation, batches and dropout")
    device: str = Field("auto", description="auto (cuda, then mps, then cpu) or a torch device")
    precision: Literal["fp32", "tf32", "bf16", "fp64"] = Field(
        "fp32", description="tf32: TF32 matmuls on CUDA; bf16: autocast; fp64: double weights"
    )
    loss: Literal["cross_entropy", "stablemax"] = Field(
        "cross_entropy",
        description="stablemax: StableMax cross-entropy in float64 (Prieto et al. 2025)",
    )
    init_scale: float = Field(1.0, gt=0.0, description="multiply every initial weight by this")
    constrain_norm: bool = Field(
        False,
        description="after each step, rescale the weights to their initial total norm (Omnigrok)",
    )
    compile: bool | Literal["default", "reduce-overhead", "max-autotune"] = Field(
        False, description="torch.compile the model (true = 'default' mode)"
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
                f"give steps ({raw['steps']}) or epochs ({raw['epochs']}), not both:"
                " epochs sets steps"
            )
        return raw

    def steps_per_epoch(self, n_train: int) -> int:
        """Optimizer steps in one epoch: the last incomplete batch is dropped (engine.Batcher)."""
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
        raise ValueError(f"batch_size must be an integer >= 1 or 'full', got {batch_size!r}")

    @field_validator("compile", mode="before")
    @classmethod
    def _compile_mode(cls, compile: Any) -> Any:
        if isinstance(compile, bool) or compile in ("default", "reduce-overhead", "max-autotune"):
            return compile
        raise ValueError(
            f"compile must be true, false, 'default', 'reduce-overhead' or 'max-autotune', got {compile!r}"
        )

    @field_validator("keep_checkpoints")
    @classmethod
    def _kept_steps_valid(cls, steps: list[int]) -> list[int]:
        if any(s < 0 for s in steps):
            raise ValueError(f"kept steps must be >= 0, got {steps}")
        return sorted(set(steps))

    def keeps_weights_at(self, step: int) -> bool:
        """Whether the weights at this step go to checkpoints/ (analysis across the run)."""
        if not self.keep_checkpoints and self.keep_checkpoint_every is None:
            return False
        every = self.keep_checkpoint_every
        return step == 0 or step in self.keep_checkpoints or bool(every and step % every == 0)

    @field_validator("device")
    @classmethod
    def _device_known(cls, device: str) -> str:
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", device):
            raise ValueError(f"device must be auto, cpu, mps, cuda or cuda:N, got '{device}'")
        return device


class Preset(BaseModel):
    """One experiment: a task, a model, an optimizer and a training budget."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    name: str = Field("unnamed", min_length=1, max_length=80, description="short name of the run")
    description: str = Field("", description="what this experiment shows, and its source")
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=TransformerConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)

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
        if "grokfast" in optim:
            optim["grokfast"].pop("window" if optim["grokfast"]["kind"] == "ema" else "alpha")
        return raw

    def to_toml(self) -> str:
        return tomli_w.dumps(_toml_ready(self.to_dict()))


# ---------------------------------------------------------------------------
# Loading: TOML -> merged dict (extends, overrides) -> Preset


def _toml_ready(value: Any) -> Any:
    """tomli-w writes tuples as arrays but not None; drop Nones and turn tuples into lists."""
    if isinstance(value, dict):
        return {k: _toml_ready(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_toml_ready(v) for v in value]
    return value


def read_toml(path: Path) -> dict[str, Any]:
    """Parse one TOML file; a syntax error names the file, line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PresetError("file not found", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PresetError(f"cannot read: {exc}", file=path) from None
    return parse_toml(text, file=path)


def parse_toml(text: str, *, file: str | Path = "<preset>") -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, column, message = _toml_error_position(exc)
        raise PresetError(
            f"TOML syntax error: {message}", file=file, line=line, column=column
        ) from None


def _toml_error_position(exc: Exception) -> tuple[int | None, int | None, str]:
    # tomli >= 2.1 and Python >= 3.14 expose lineno/colno; older tomllib only has them in the text.
    line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
    message = getattr(exc, "msg", None) or str(exc)
    found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
    if found:
        line, column = line or int(found.group(1)), column or int(found.group(2))
        message = message.split(" (at line")[0]
    return line, column, message


# Keys of one table that say the same thing two ways: a layer (a child preset, an
# override, a sweep point) that sets one replaces the other inherited from below.
ALTERNATIVES = {"train": (("steps", "epochs"),)}


def alternatives_of(field: str) -> list[str]:
    """The dotted fields that say what `field` says another way: train.steps -> [train.epochs]."""
    table, _, key = field.rpartition(".")
    return [
        f"{table}.{other}"
        for pair in ALTERNATIVES.get(table, ())
        for mine, other in (pair, pair[::-1])
        if mine == key
    ]


def deep_merge(
    base: Mapping[str, Any], override: Mapping[str, Any], table: str = ""
) -> dict[str, Any]:
    """Merge override into base, recursing into tables.

    A ``[model]`` table whose ``type`` differs from the base's replaces it whole:
    the fields of one model family mean nothing to another. ``train.steps`` and
    ``train.epochs`` replace each other (ALTERNATIVES).
    """
    merged = dict(base)
    for key in override:
        for other in alternatives_of(f"{table}.{key}"):
            if (name := other.rpartition(".")[2]) not in override:
                merged.pop(name, None)
    for key, value in override.items():
        old = merged.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            if "type" in value and "type" in old and value["type"] != old["type"]:
                merged[key] = dict(value)
            else:
                merged[key] = deep_merge(old, value, f"{table}.{key}" if table else key)
        else:
            merged[key] = value
    return merged


def resolve_extends(path: Path, chain: tuple[Path, ...]) -> tuple[dict[str, Any], list[Path]]:
    """The merged raw dict of a preset and its bases, and the files it came from (child first)."""
    path = path.resolve()
    if path in chain:
        cycle = " -> ".join(p.name for p in (*chain, path))
        raise PresetError(f"extends cycle: {cycle}", file=chain[-1], field="extends")
    raw = read_toml(path)
    base_ref = raw.pop("extends", None)
    if base_ref is None:
        return raw, [path]
    if not isinstance(base_ref, str):
        raise PresetError(
            f"extends must be a path string, got {base_ref!r}",
            file=path,
            line=locate_field(path, "extends"),
            field="extends",
        )
    base_path = (path.parent / base_ref).resolve()
    if not base_path.exists():
        raise PresetError(
            f"base preset '{base_ref}' not found (looked for {base_path})",
            file=path,
            line=locate_field(path, "extends"),
            field="extends",
        )
    base, files = resolve_extends(base_path, (*chain, path))
    return deep_merge(base, raw), [path, *files]


def parse_override(assignment: str) -> tuple[str, Any]:
    """``optim.lr=3e-4`` -> ("optim.lr", 3e-4); values are TOML, bare words are strings."""
    if "=" not in assignment:
        raise PresetError(f"override '{assignment}' must look like key=value", file="--set")
    key, text = (s.strip() for s in assignment.split("=", 1))
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", key):
        raise PresetError(f"'{key}' is not a dotted field name", file="--set")
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text  # `--set data.operation=div` without quotes
    return key, value


def apply_overrides(
    raw: dict[str, Any], overrides: Iterable[str | tuple[str, Any]]
) -> dict[str, Any]:
    """Apply dotted assignments to a raw preset dict, with the same merge rules as extends."""
    pairs = [parse_override(item) if isinstance(item, str) else item for item in overrides]
    seen: set[str] = set()
    for key, _ in pairs:
        for other in alternatives_of(key):
            if other in seen:
                raise PresetError(f"set {other} or {key}, not both", file="--set", field=key)
        seen.add(key)
    for key, value in pairs:
        nested: Any = value
        for part in reversed(key.split(".")):
            nested = {part: nested}
        raw = deep_merge(raw, nested)
    return raw


def load_preset(path: str | Path, overrides: Iterable[str | tuple[str, Any]] = ()) -> Preset:
    """Read a preset file (following ``extends``), apply overrides, validate."""
    path = Path(path)
    raw, files = resolve_extends(path, ())
    raw.setdefault("name", path.stem)
    overrides = list(overrides)
    raw = apply_overrides(raw, overrides)
    overridden = {(parse_override(o)[0] if isinstance(o, str) else o[0]) for o in overrides}
    return validate_preset(raw, files=files, overridden=overridden)


def with_overrides(preset: Preset, overrides: Iterable[str | tuple[str, Any]]) -> Preset:
    """A copy of a preset with dotted overrides applied and validated (errors name ``--set``)."""
    overrides = list(overrides)
    raw = apply_overrides(preset.to_dict(), overrides)
    overridden = {(parse_override(o)[0] if isinstance(o, str) else o[0]) for o in overrides}
    return validate_preset(raw, files=[], overridden=overridden)


def preset_from_toml(text: str, *, file: str | Path = "<preset>") -> Preset:
    """Validate a preset given as text (the TUI's editor); ``extends`` is not followed."""
    raw = parse_toml(text, file=file)
    if "extends" in raw:
        raise PresetError(
            "extends is only followed when loading from a file", file=file, field="extends"
        )
    return validate_preset(raw, files=[])


def validate_preset(
    raw: Mapping[str, Any], *, files: list[Path] | None = None, overridden: set[str] | None = None
) -> Preset:
    """Validate a raw dict; each error names the file and line where the field is set."""
    files = files or []
    raw = dict(raw)
    if isinstance(raw.get("model"), Mapping) and "type" not in raw["model"]:
        raw["model"] = {"type": "transformer", **raw["model"]}  # the default model family
    try:
        return Preset.model_validate(raw, context={USER_INPUT: True})
    except ValidationError as exc:
        errors = [_schema_error(err, raw, files, overridden or set()) for err in exc.errors()]
        raise (errors[0] if len(errors) == 1 else PresetErrors(errors)) from None


def _schema_error(
    err: Mapping[str, Any], raw: Mapping[str, Any], files: list[Path], overridden: set[str]
) -> PresetError:
    loc = [str(part) for part in err["loc"]]
    # A discriminated union puts the tag in the location: model.transformer.heads -> model.heads.
    if len(loc) >= 2 and loc[0] == "model" and loc[1] in MODEL_TYPES:
        loc.pop(1)
    loc = [part for part in loc if not part.startswith("function-")]
    field = ".".join(loc) or "<preset>"
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = f"unknown field; allowed here: {', '.join(_allowed_fields(loc[:-1], raw))}"
    elif err["type"] == "union_tag_invalid":
        message = (
            f"unknown model type {err['input'].get('type')!r}; allowed: {', '.join(MODEL_TYPES)}"
        )
    elif err["type"] == "union_tag_not_found":
        message = f"missing 'type'; allowed: {', '.join(MODEL_TYPES)}"
    elif err["type"] != "value_error" and "input" in err and not isinstance(err["input"], dict):
        message = f"{message} (got {err['input']!r})"
    if field in overridden or any(field.startswith(o + ".") for o in overridden):
        return PresetError(message, file="--set", field=field)
    for file in files:
        line = locate_field(file, field)
        if line is not None:
            return PresetError(message, file=file, line=line, field=field)
    # Not written in any file (a missing field, or a table-level check): name the section.
    for file in files:
        line = locate_field(file, ".".join(loc[:-1])) if len(loc) > 1 else None
        if line is not None:
            return PresetError(message, file=file, line=line, field=field)
    return PresetError(message, file=files[0] if files else None, field=field)


def _allowed_fields(section: list[str], raw: Mapping[str, Any]) -> list[str]:
    model: type[BaseModel] = Preset
    for part in section:
        if model is Preset and part == "model":
            kind = (
                raw.get("model", {}).get("type", "transformer")
                if isinstance(raw.get("model"), dict)
                else "transformer"
            )
            model = {"transformer": TransformerConfig, "mlp": MLPConfig}.get(kind, RecurrentConfig)
            continue
        annotation = model.model_fields[part].annotation if part in model.model_fields else None
        candidates = [
            a for a in getattr(annotation, "__args__", (annotation,)) if isinstance(a, type)
        ]
        nested = [a for a in candidates if issubclass(a, BaseModel)]
        if not nested:
            break
        model = nested[0]
    return list(model.model_fields)


_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\" -]+?)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.\"-]+)\s*=")


def locate_field(path: str | Path, field: str) -> int | None:
    """The 1-based line at which a dotted field (or its table) is written in a TOML file.

    pydantic reports key paths, not lines; this maps one back for the error message.
    Handles ``[a.b]`` tables, ``a.b = ...`` dotted keys and top-level keys; not inline tables.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    target = field.split(".")
    table: list[str] = []
    for number, text in enumerate(lines, start=1):
        if text.lstrip().startswith("[["):
            continue
        if m := _TABLE.match(text):
            table = [part.strip().strip('"') for part in m.group(1).split(".")]
            if table == target:
                return number
            continue
        if m := _KEY.match(text):
            key = [part.strip().strip('"') for part in m.group(1).split(".")]
            full = table + key
            if full == target or full == target[: len(full)]:
                return number
    return None


def save_preset(preset: Preset, path: str | Path) -> Path:
    """Write a preset as TOML (every field resolved); loading it gives an equal preset."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(preset.to_toml(), encoding="utf-8")
    tmp.replace(path)
    return path


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested tables as dotted keys: {"optim": {"lr": 1}} -> {"optim.lr": 1}."""
    flat: dict[str, Any] = {}
    for key, item in value.items():
        dotted = f"{prefix}{key}"
        if isinstance(item, Mapping):
            flat.update(flatten(item, dotted + "."))
        else:
            flat[dotted] = item
    return flat


def vocab_layout(data: DataConfig) -> tuple[int, int]:
    """(vocabulary size, sequence length): numbers 0..n-1, then the operator and '=' tokens.

    n is p (120 for S5). '=' is token n + 1 after the operator n, or n when it comes alone
    ([x, y, =]).
    """
    n_operands = data.k if data.operation == "sum" else 2
    n = data.n_elements
    if data.include_op_tokens:
        return n + 2, 2 * n_operands  # x op y op ... =
    if data.equals_token:
        return n + 1, n_operands + 1  # x y ... =
    return n, n_operands

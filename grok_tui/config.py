"""The preset schema: what one experiment is, how it is read from TOML and written back.

A preset is a TOML file validated by pydantic v2 models (``extra="forbid"``), with
``extends`` (a base preset, deep-merged) and ``--set`` overrides. Every user mistake
becomes a :class:`PresetError` naming the file, the line, the dotted field and what is
allowed; the edges (cli.py, the TUI) turn it into a message, never a traceback.
This module must stay importable without torch (the TUI uses it).
"""

from __future__ import annotations

import functools
import itertools
import math
import os
import re
import reprlib
import sys
from collections.abc import Iterable, Mapping, Sequence
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

from grok_tui import files

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
MAX_P = math.isqrt(MAX_EXAMPLES)  # 1414: a task has p^2 tuples (p (p - 1) for 'div')
MAX_SEED = 2**63 - 1  # torch.manual_seed takes at most 2^64 - 1; the engine also seeds seed + 1
MAX_EXTENDS_DEPTH = 32  # files in one extends chain: a longer one is a loop or a mistake
MAX_TOML_DEPTH = 64  # nested tables/arrays; a preset needs about 5, tomllib overflows near 300
MAX_REPORTED_ERRORS = 20  # schema errors of one preset that are located and printed
GiB = 1024**3


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
        prefix = f"{cut_text(self.field, 100)}: " if self.field else ""
        return one_line(f"{where}: {prefix}{self.message}")


class PresetErrors(PresetError):
    """Several schema errors of one preset, reported together; ``hidden`` more only counted."""

    def __init__(self, errors: list[PresetError], hidden: int = 0) -> None:
        self.errors = errors
        self.hidden = hidden
        first = errors[0]
        super().__init__(
            first.message, file=first.file, line=first.line, column=first.column, field=first.field
        )

    def __str__(self) -> str:
        lines = [str(PresetError.__str__(e)) for e in self.errors]
        if self.hidden:
            lines.append(f"{self.file or '<preset>'}: ... and {self.hidden} more errors")
        return "\n".join(lines)


# Miller-Rabin with the first 13 prime bases decides every n below this bound exactly
# (Sorenson and Webster 2015: the smallest strong pseudoprime to all of them is 3.3e24).
_MR_BASES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)
MAX_PRIME_TESTED = 3_317_044_064_679_887_385_961_980


def is_prime(n: int) -> bool:
    """Whether n is prime, in bounded time for any int (trial division froze on 2^61 - 1).

    Deterministic Miller-Rabin up to MAX_PRIME_TESTED (3.3e24); larger n raise ValueError
    rather than give a probabilistic answer (a preset's p is bounded far below anyway).
    """
    if n < 2:
        return False
    if n > MAX_PRIME_TESTED:
        raise ValueError(f"{short_repr(n)} is too large to test (at most {MAX_PRIME_TESTED})")
    for q in _MR_BASES:
        if n % q == 0:
            return n == q
    s = ((n - 1) & (1 - n)).bit_length() - 1  # n - 1 = d * 2^s with d odd
    d = (n - 1) >> s
    for a in _MR_BASES:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 60
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = 6
_REPR.maxlevel = 3


def short_repr(value: Any) -> str:
    """A user's value for a one-line message: cut short, and never raising.

    repr() of a deep value recurses and of an int over 4300 digits raises ValueError.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        sign = "a negative" if value < 0 else "an"
        return f"{sign} integer of about {value.bit_length() * 0.30103:.0f} digits"
    try:
        return _REPR.repr(value)
    except (ValueError, RecursionError):
        return f"a {type(value).__name__}"


def cut_text(text: str, limit: int = 80) -> str:
    """At most `limit` characters: a user's long key or path must not flood a message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


# Control characters (and what str.splitlines() breaks at) as escapes: a quoted TOML key
# or a path may hold a newline, and one error must stay one line.
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(32), *range(127, 160))}
_ESCAPES.update({9: "\\t", 10: "\\n", 13: "\\r", 0x2028: "\\u2028", 0x2029: "\\u2029"})


def one_line(text: str) -> str:
    """`text` with control characters and line separators escaped."""
    return text.translate(_ESCAPES)


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
    # le= makes pydantic refuse a huge p before the primality check sees it.
    p: int = Field(
        97, ge=2, le=MAX_P, description=f"the modulus; a prime in 2..{MAX_P} (p^2 tuples)"
    )
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
        0, ge=0, le=MAX_SEED, description="seed of the train/test split, apart from train.seed"
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
            raise ValueError(f"every width must be in 1..65536, got {short_repr(widths)}")
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
    seed: int = Field(
        0, ge=0, le=MAX_SEED, description="seed of initialisation, batches and dropout"
    )
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
                f"give steps ({short_repr(raw['steps'])})"
                f" or epochs ({short_repr(raw['epochs'])}), not both: epochs sets steps"
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

    @field_validator("device")
    @classmethod
    def _device_known(cls, device: str) -> str:
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", device):
            raise ValueError(
                f"device must be auto, cpu, mps, cuda or cuda:N, got {short_repr(device)}"
            )
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
# Memory: refuse at validation what could never fit, before torch allocates it

EVAL_ROWS = 16384  # engine.EVAL_CHUNK_DEFAULT: rows of one evaluation pass (the larger, GPU one)
ADAM_COPIES = 4  # weights, gradients and two Adam moments per parameter
_GATES = {"lstm": 4, "gru": 3, "rnn": 1}
# The fields that size a run, per model family: what a memory error blames.
SIZE_FIELDS = {
    "transformer": ("d_model", "d_ff", "layers"),
    "mlp": ("widths", "embed_dim"),
    "recurrent": ("hidden_size", "embed_dim", "layers"),
}


@functools.lru_cache(maxsize=1)
def physical_memory() -> int | None:
    """Bytes of physical memory of this machine, or None where the OS does not say."""
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None
    return pages * page_size if pages > 0 and page_size > 0 else None


def _model_sizes(model: Any, vocab: int, seq_len: int, n_classes: int) -> tuple[int, int, int, int]:
    """(parameters, activation floats per example kept for backward, the same for the largest
    single layer (all an evaluation without gradients holds at once), first-layer table).

    Activations count every layer output a backward pass keeps (inputs, pre- and post-
    activation values, attention scores); the table is the (T, V, width) lookup that the
    MLP and transformer build once per step when a batch has more rows than the vocabulary.
    """
    V, T, n = vocab, seq_len, n_classes
    if isinstance(model, MLPConfig):
        sizes = [T * model.embed_dim, *model.widths, n]
        params = V * model.embed_dim + sum((a + 1) * b for a, b in itertools.pairwise(sizes))
        acts = T * model.embed_dim + 3 * sum(model.widths) + 2 * n
        return params, acts, 3 * max(sizes), T * V * model.widths[0]
    if isinstance(model, TransformerConfig):
        C, F, L = model.d_model, model.d_ff, model.layers
        # per block: qkv and output projection 4C^2 + 4C, FFN 2CF + F + C, two LayerNorms 4C
        params = (V + T) * C + L * (4 * C * C + 2 * C * F + 9 * C + F) + (C + 1) * n
        block = T * (12 * C + 2 * F) + 2 * model.heads * T * T
        return params, T * C + L * block + 2 * n, block + 2 * n, T * V * 3 * C
    gates, H = _GATES[model.type], model.hidden_size
    dirs = 2 if model.bidirectional else 1
    E = 1 if model.input == "scalar" else model.embed_dim
    params = 0 if model.input == "scalar" else V * E
    for layer in range(model.layers):
        inputs = E if layer == 0 else H * dirs
        params += dirs * gates * H * (inputs + H + 2)
    params += (H * dirs + 1) * n
    layer = dirs * T * (gates + 3) * H
    return params, T * E + model.layers * layer + 2 * n, layer + T * E + 2 * n, 0


def _estimate(data: DataConfig, model: Any, optim: OptimConfig, train: TrainConfig) -> int:
    vocab, seq_len = vocab_layout(data)
    params, acts, peak, table = _model_sizes(model, vocab, seq_len, data.n_elements)
    copies = ADAM_COPIES
    if optim.grokfast is not None:  # an EMA, or a ring buffer of `window` gradients
        copies += 1 if optim.grokfast.kind == "ema" else optim.grokfast.window + 1
    n_train = data.n_train
    batch = n_train if train.batch_size == "full" else min(int(train.batch_size), n_train)
    chunk = min(EVAL_ROWS, data.n_examples)
    floats = params * copies + 2 * batch * acts + chunk * peak + 2 * table
    element = 8 if train.precision == "fp64" else 4
    task = data.n_examples * (seq_len + 2) * 8  # int64 tokens, labels and a permutation
    return floats * element + task


def memory_estimate(preset: Preset) -> int:
    """A rough upper estimate, in bytes, of the memory one run of a preset needs.

    Sum of: parameters x bytes per element (8 for fp64, else 4) x (weights + gradients +
    two Adam moments, + the Grokfast EMA or its `window` stored gradients); activations
    of one training batch, kept for backward, x2 for their gradients; the largest
    layer's activations for one evaluation chunk of EVAL_ROWS rows (no gradients there,
    earlier outputs are freed); the first-layer lookup table and its gradient; the
    task's int64 tensors. Every activation counts as alive at once, so it errs high;
    framework overhead (CUDA context, workspaces) is left out. Meant only to refuse at
    validation a preset that could never fit (widths = [65536, 65536, 65536]) instead
    of failing mid-run, not to plan memory. Torch-free arithmetic: a few microseconds.
    """
    return _estimate(preset.data, preset.model, preset.optim, preset.train)


def _memory_culprit(preset: Preset) -> str:
    """The field whose default value would shrink the estimate the most: what to blame."""
    data, model, optim, train = preset.data, preset.model, preset.optim, preset.train
    family = model.type if model.type in SIZE_FIELDS else "recurrent"
    candidates: list[tuple[str, int]] = []
    for name in SIZE_FIELDS[family]:
        default = type(model).model_fields[name].get_default(call_default_factory=True)
        smaller = model.model_copy(update={name: default})
        candidates.append((f"model.{name}", _estimate(data, smaller, optim, train)))
    default_batch = TrainConfig.model_fields["batch_size"].get_default()
    smaller_train = train.model_copy(update={"batch_size": default_batch})
    candidates.append(("train.batch_size", _estimate(data, model, optim, smaller_train)))
    if optim.grokfast is not None and optim.grokfast.kind == "ma":
        grokfast = optim.grokfast.model_copy(update={"window": 1})
        smaller_optim = optim.model_copy(update={"grokfast": grokfast})
        candidates.append(("optim.grokfast.window", _estimate(data, model, smaller_optim, train)))
    return min(candidates, key=lambda c: c[1])[0]


def memory_problem(preset: Preset) -> tuple[str, str] | None:
    """(field, message) when the preset's memory_estimate exceeds this machine's memory."""
    available = physical_memory()
    if available is None:
        return None
    need = memory_estimate(preset)
    if need <= available:
        return None
    return _memory_culprit(preset), (
        f"this preset needs about {need / GiB:,.1f} GiB (weights, gradients, optimizer state"
        f" and activations; a rough upper estimate), more than the {available / GiB:,.1f} GiB"
        " of memory of this machine"
    )


# ---------------------------------------------------------------------------
# Loading: TOML -> merged dict (extends, overrides) -> Preset


def _toml_ready(value: Any) -> Any:
    """tomli-w writes tuples as arrays but not None; drop Nones and turn tuples into lists."""
    if isinstance(value, dict):
        return {k: _toml_ready(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_toml_ready(v) for v in value]
    return value


def read_error_text(exc: BaseException) -> str:
    """Why a file could not be read, in a few words (no errno numbers, no long paths)."""
    if isinstance(exc, files.UnsafeFileError):
        return str(exc.strerror)  # 'is not a regular file', 'is 2,000,000 bytes, more than ...'
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte {exc.start})"
    if isinstance(exc, OSError):
        return files.describe_os_error(exc)
    if isinstance(exc, RuntimeError):  # Path.resolve() on Python < 3.13
        return "symbolic link loop"
    return cut_text(str(exc))  # ValueError: 'embedded null byte'


def _resolve(path: Path) -> Path:
    """The real path of a preset: users symlink presets, so links are followed here (once).

    Raises OSError, RuntimeError (a link loop, Python < 3.13) or ValueError (a NUL byte).
    """
    return path.resolve()


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse one TOML file; a syntax error names the file, line and column.

    A symbolic link is followed, then only a regular file of at most MAX_TOML_BYTES is
    read (files.read_text): a FIFO or /dev/urandom must not hang loading, a directory or a
    huge file must give a message, never a traceback.
    """
    path = Path(path)
    try:
        text = files.read_text(_resolve(path), files.MAX_TOML_BYTES)
    except FileNotFoundError:
        raise PresetError("file not found", file=path) from None
    except (OSError, RuntimeError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise PresetError(f"cannot read: {read_error_text(exc)}", file=path) from None
    return parse_toml(text, file=path)


def parse_toml(text: str, *, file: str | Path = "<preset>") -> dict[str, Any]:
    """Parse TOML text; every failure is a PresetError naming the file.

    Besides syntax errors, tomllib raises RecursionError on nesting deeper than about 300
    and ValueError on an integer of more than 4300 digits; values nested deeper than
    MAX_TOML_DEPTH are refused too (merging, validating and printing them recurse).
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, column, message = _toml_error_position(exc)
        raise PresetError(
            f"TOML syntax error: {message}", file=file, line=line, column=column
        ) from None
    except RecursionError:
        raise PresetError(_too_deep_message(), file=file) from None
    except ValueError as exc:  # "Exceeds the limit (4300 digits) for integer string conversion"
        raise PresetError(f"invalid value: {cut_text(str(exc).split(';')[0])}", file=file) from None
    if nesting_depth(raw) > MAX_TOML_DEPTH:
        raise PresetError(_too_deep_message(), file=file)
    return raw


def _too_deep_message() -> str:
    return f"TOML nested too deeply: at most {MAX_TOML_DEPTH} levels of tables and arrays"


def nesting_depth(value: Any) -> int:
    """How deep tables and arrays nest in a value (0 for a scalar); iterative, never recursing."""
    depth, level = 0, [value]
    while level:
        containers = [v for v in level if isinstance(v, Mapping | list | tuple)]
        if not containers:
            break
        depth += 1
        if depth > MAX_TOML_DEPTH:
            return depth  # deep enough to refuse: stop walking
        level = [item for c in containers for item in (c.values() if isinstance(c, Mapping) else c)]
    return depth


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
    """The merged raw dict of a preset and its bases, and the files it came from (child first).

    Links are followed (a linked preset is legitimate); a chain longer than
    MAX_EXTENDS_DEPTH files is refused, so hundreds of files or a loop end in a message.
    """
    try:
        path = _resolve(Path(path))
    except (OSError, RuntimeError, ValueError) as exc:
        raise PresetError(f"cannot read: {read_error_text(exc)}", file=path) from None
    if path in chain:
        cycle = " -> ".join(p.name for p in (*chain, path))
        raise PresetError(f"extends cycle: {cycle}", file=chain[-1], field="extends")
    if len(chain) >= MAX_EXTENDS_DEPTH:
        raise PresetError(
            f"extends goes deeper than {MAX_EXTENDS_DEPTH} files"
            f" ({chain[0].name} -> {chain[1].name} -> ... -> {path.name})",
            file=chain[-1],
            line=locate_field(chain[-1], "extends"),
            field="extends",
        )
    raw = read_toml(path)
    base_ref = raw.pop("extends", None)
    if base_ref is None:
        return raw, [path]

    def extends_error(message: str) -> PresetError:
        return PresetError(message, file=path, line=locate_field(path, "extends"), field="extends")

    if not isinstance(base_ref, str):
        raise extends_error(f"extends must be a path string, got {short_repr(base_ref)}")
    try:
        base_path = _resolve(path.parent / base_ref)
        found = base_path.exists()
    except (OSError, RuntimeError, ValueError) as exc:
        raise extends_error(
            f"cannot use base preset {short_repr(base_ref)}: {read_error_text(exc)}"
        ) from None
    if not found:
        raise extends_error(
            f"base preset {short_repr(base_ref)} not found (looked for {cut_text(str(base_path))})"
        )
    base, base_files = resolve_extends(base_path, (*chain, path))
    return deep_merge(base, raw), [path, *base_files]


def parse_override(assignment: str) -> tuple[str, Any]:
    """``optim.lr=3e-4`` -> ("optim.lr", 3e-4); values are TOML, bare words are strings.

    Like a file, an override may not nest deeper than MAX_TOML_DEPTH (in its key or value).
    """
    if not isinstance(assignment, str) or "=" not in assignment:
        raise PresetError(
            f"override {short_repr(assignment)} must look like key=value", file="--set"
        )
    key, text = (s.strip() for s in assignment.split("=", 1))
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", key):
        raise PresetError(f"{short_repr(key)} is not a dotted field name", file="--set")
    if key.count(".") >= MAX_TOML_DEPTH:
        raise PresetError(_too_deep_message(), file="--set", field=cut_text(key))
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text  # `--set data.operation=div` without quotes
    except RecursionError:
        raise PresetError(_too_deep_message(), file="--set", field=key) from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise PresetError(
            f"invalid value: {cut_text(str(exc).split(';')[0])}", file="--set", field=key
        ) from None
    if nesting_depth(value) + key.count(".") >= MAX_TOML_DEPTH:
        raise PresetError(_too_deep_message(), file="--set", field=key)
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
    merged = dict(raw)
    owned = {id(merged): merged}
    for key, value in pairs:
        nested: Any = value
        for part in reversed(key.split(".")):
            nested = {part: nested}
        _merge_into(merged, nested, "", owned)
    return merged


def _merge_into(
    target: dict[str, Any], override: Mapping[str, Any], table: str, owned: dict[int, Any]
) -> None:
    """deep_merge(target, override) written into target: the same result, but a table is
    copied once (then owned) instead of once per override, so 50,000 overrides of one table
    take linear time. Only dicts in ``owned`` (made here) are ever changed."""
    for key in override:
        for other in alternatives_of(f"{table}.{key}"):
            if (name := other.rpartition(".")[2]) not in override:
                target.pop(name, None)
    for key, value in override.items():
        old = target.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            if "type" in value and "type" in old and value["type"] != old["type"]:
                target[key] = dict(value)
            else:
                if id(old) not in owned:
                    old = target[key] = dict(old)
                    owned[id(old)] = old
                _merge_into(old, value, f"{table}.{key}" if table else key, owned)
        else:
            target[key] = value


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
    raw: Mapping[str, Any],
    *,
    files: Sequence[Path | FieldLines] | None = None,
    overridden: set[str] | None = None,
    check_memory: bool = True,
) -> Preset:
    """Validate a raw dict; each error names the file and line where the field is set.

    A preset that validates but could not fit in this machine's memory is refused too
    (memory_estimate), naming the field that makes it large; ``check_memory=False`` for
    the frozen preset of an existing run, which may come from a larger machine. ``files`` may hold
    FieldLines already read (a sweep validates many points against the same files);
    the others are read once, and only when there is an error to locate.
    """
    overridden = overridden or set()
    raw = dict(raw)
    if isinstance(raw.get("model"), Mapping) and "type" not in raw["model"]:
        raw["model"] = {"type": "transformer", **raw["model"]}  # the default model family
    huge = _huge_integers(raw)  # reported with, and instead of, pydantic's errors there
    try:
        preset = Preset.model_validate(raw, context={USER_INPUT: True})
        details: list[Any] = []
    except ValidationError as exc:
        details = exc.errors()
    if huge:
        where = {_field_of(err["loc"]) for err in huge}
        details = huge + [d for d in details if _field_of(d["loc"]) not in where]
    if details:
        lines = _field_lines(files)
        errors = [
            _schema_error(err, raw, lines, overridden) for err in details[:MAX_REPORTED_ERRORS]
        ]
        if len(details) == 1:
            raise errors[0]
        raise PresetErrors(errors, hidden=len(details) - len(errors))
    if check_memory and (problem := memory_problem(preset)) is not None:
        field, message = problem
        err = {"loc": tuple(field.split(".")), "msg": message, "type": "value_error"}
        raise _schema_error(err, raw, _field_lines(files), overridden)
    return preset


def _huge_integers(raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    """pydantic-style errors for integers past 2^63 - 1 anywhere in a raw preset.

    No field needs one, and one that an unbounded field (eval_every, warmup_steps)
    accepted could not be written back: tomli-w and json call str(), which raises past
    4300 digits. Iterative: the raw dict may be nested MAX_TOML_DEPTH deep.
    """
    found: list[dict[str, Any]] = []
    stack: list[tuple[tuple[str, ...], Any]] = [((), raw)]
    message = f"an integer here must be at most 2^63 - 1 ({MAX_SEED})"
    while stack and len(found) < MAX_REPORTED_ERRORS:
        loc, container = stack.pop()
        items = container.items() if hasattr(container, "items") else enumerate(container)
        for key, value in items:
            if isinstance(value, int):  # bool is an int too, but a small one
                if not -MAX_SEED <= value <= MAX_SEED:
                    err = {"loc": (*loc, str(key)), "msg": message, "type": "less_than_equal"}
                    found.append({**err, "input": value})
            elif isinstance(value, dict | list | tuple) or (
                not isinstance(value, str | float) and isinstance(value, Mapping)
            ):
                stack.append(((*loc, str(key)), value))
    return found


def _field_lines(files: Sequence[Path | FieldLines] | None) -> list[FieldLines]:
    return [f if isinstance(f, FieldLines) else FieldLines(f) for f in files or ()]


# What a bounded field allows and why, in place of pydantic's "Input should be ...".
_SEED_NOTE = (
    f"a seed must be in 0..{MAX_SEED} (2^63 - 1): torch takes at most 2^64 - 1"
    " and the engine also seeds seed + 1"
)
BOUND_NOTES = {
    "data.p": f"p must be a prime in 2..{MAX_P}: the task has p^2 tuples,"
    f" at most {MAX_EXAMPLES:,} are allowed",
    "data.split_seed": _SEED_NOTE,
    "train.seed": _SEED_NOTE,
}


def _location(location: Iterable[Any]) -> list[str]:
    """pydantic's error location as the keys a user wrote."""
    loc = [str(part) for part in location]
    # A discriminated union puts the tag in the location: model.transformer.heads -> model.heads.
    if len(loc) >= 2 and loc[0] == "model" and loc[1] in MODEL_TYPES:
        loc.pop(1)
    return [part for part in loc if not part.startswith("function-")]


def _field_of(location: Iterable[Any]) -> str:
    return ".".join(_location(location))


def _schema_error(
    err: Mapping[str, Any], raw: Mapping[str, Any], files: list[FieldLines], overridden: set[str]
) -> PresetError:
    loc = _location(err["loc"])
    field = ".".join(loc) or "<preset>"
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = f"unknown field; allowed here: {', '.join(_allowed_fields(loc[:-1], raw))}"
    elif err["type"] == "union_tag_invalid":
        message = (
            f"unknown model type {short_repr(err['input'].get('type'))};"
            f" allowed: {', '.join(MODEL_TYPES)}"
        )
    elif err["type"] == "union_tag_not_found":
        message = f"missing 'type'; allowed: {', '.join(MODEL_TYPES)}"
    elif err["type"] != "value_error" and "input" in err and not isinstance(err["input"], dict):
        message = f"{BOUND_NOTES.get(field, message)} (got {short_repr(err['input'])})"
    if field in overridden or any(field.startswith(o + ".") for o in overridden):
        return PresetError(message, file="--set", field=field)
    for file in files:
        line = file.line(field)
        if line is not None:
            return PresetError(message, file=file.path, line=line, field=field)
    # Not written in any file (a missing field, or a table-level check): name the section.
    for file in files:
        line = file.line(".".join(loc[:-1])) if len(loc) > 1 else None
        if line is not None:
            return PresetError(message, file=file.path, line=line, field=field)
    return PresetError(message, file=files[0].path if files else None, field=field)


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


# Linear-time patterns: the lazy `[... -]+?\s*\]` this replaces took cubic time (a minute)
# on a line of "[" and 4000 spaces, which a multi-line string may legally hold.
_TABLE = re.compile(r"^\s*\[([A-Za-z0-9_.\"' -]+)\]\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.\"'-]+)\s*=")  # bare, "quoted" and 'literal' keys


class FieldLines:
    """Where each dotted field (or its table) is written in one TOML file: the file is read
    and scanned once, then asked for any number of fields (many errors, many sweep points).

    pydantic reports key paths, not lines; this maps them back for error messages.
    Handles ``[a.b]`` tables, ``a.b = ...`` dotted keys and top-level keys; not inline
    tables. Reads like read_toml (a link followed, then only a regular file of bounded
    size); an unreadable file locates nothing: this only adds line numbers to messages.
    The file is read at the first question, not before.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._tables: dict[tuple[str, ...], int] = {}  # first line of each [table]
        self._keys: dict[tuple[str, ...], int] = {}  # first line setting each full key
        self._scanned = False

    def _scan(self) -> None:
        self._scanned = True
        try:
            text = files.read_text(_resolve(self.path), files.MAX_TOML_BYTES)
        except (OSError, RuntimeError, ValueError):
            return
        table: tuple[str, ...] = ()
        for number, line in enumerate(text.split("\n"), start=1):  # TOML's newlines only
            if line.lstrip().startswith("[["):
                continue
            if m := _TABLE.match(line):
                table = tuple(part.strip().strip("\"'") for part in m.group(1).strip().split("."))
                self._tables.setdefault(table, number)
            elif m := _KEY.match(line):
                key = tuple(part.strip().strip("\"'") for part in m.group(1).split("."))
                self._keys.setdefault(table + key, number)

    def line(self, field: str) -> int | None:
        """The first line that writes the table `field`, the key `field` or a key above it
        (``model = {...}`` for model.widths)."""
        if not self._scanned:
            self._scan()
        target = tuple(field.split("."))
        found = [self._tables.get(target)]
        found += [self._keys.get(target[:n]) for n in range(1, len(target) + 1)]
        numbers = [n for n in found if n is not None]
        return min(numbers) if numbers else None


def locate_field(path: str | Path, field: str) -> int | None:
    """The 1-based line at which a dotted field (or its table) is written in a TOML file."""
    return FieldLines(path).line(field)


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

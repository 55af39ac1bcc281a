"""The preset schema: what one experiment is, as pydantic v2 models, and its TOML form.

A preset is four tables, ``[data]``, ``[model]``, ``[optim]``, ``[train]``, each a model
with ``extra="forbid"``; the validators here state every rule a preset must follow, in
the words a user reads (locate.py adds the file and line). Must stay importable
without torch: the TUI validates presets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from grok_tui.config.errors import short_repr
from grok_tui.config.tasks import (
    MAX_EXAMPLES,
    MAX_P,
    Operation,
    is_prime,
    task_elements,
    task_examples,
    train_size,
)

OPTIMIZERS = ("adamw", "adam", "sgd", "nadam", "rmsprop", "adagrad")
MAX_STEPS = 100_000_000
USER_INPUT = "user_input"  # validation context: the raw dict is what a user wrote
MAX_SEED = 2**63 - 1  # torch.manual_seed takes at most 2^64 - 1; the engine also seeds seed + 1
# Trackers that may receive a run live ([train] log_to; grok_tui/training/trackers.py).
TRACKERS = ("tensorboard", "wandb", "mlflow")


# Every float of a preset is finite: TOML reads `inf` and `nan`, and a bound such as
# ``eps > 0`` or ``weight_decay >= 0`` lets inf through (eps = inf "completes" a run whose
# weights never move). Set once for every section, so a float field added later is too.
_PRESET_CONFIG = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class _Section(BaseModel):
    model_config = _PRESET_CONFIG


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
    # The report (section 5) guesses that a split chosen adversarially, not at random, would
    # stop generalisation; "residue" is such a split, for testing that guess.
    split: Literal["random", "residue"] = Field(
        "random",
        description="random: a random cut at train_fraction; residue: the test set is every tuple "
        "whose first operand x is split_residue mod split_modulus, and training draws "
        "train_fraction of all tuples at random from the others",
    )
    split_modulus: int = Field(
        2, ge=2, le=MAX_P, description="split = 'residue': the modulus m of the held-out class"
    )
    split_residue: int = Field(
        0, ge=0, le=MAX_P, description="split = 'residue': the held-out class, x = r mod m"
    )
    # A 4-summand task mod 23 has 279,841 tuples; evaluating all of them at every evaluation
    # costs ~40x a 2-summand task's training step, so a fixed sample stands in for them.
    test_size: int | None = Field(
        None,
        ge=1,
        le=MAX_EXAMPLES,
        description="evaluate on at most this many test tuples: a fixed random sample of the "
        "test set, drawn by split_seed (unset: the whole test set)",
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
        return task_elements(self.operation, self.p)

    @property
    def n_examples(self) -> int:
        """Every operand tuple: p^2, p^k for 'sum', p (p - 1) for 'div' and its kin (no y = 0),
        120^2 for S5."""
        return task_examples(self.operation, self.p, self.k)

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
        if self.split == "residue":
            self._check_residue_split()
        return self

    @property
    def n_held_out(self) -> int:
        """split = 'residue': the tuples whose first operand is in the held-out class (each
        value of x starts the same number of tuples)."""
        values = len(range(self.split_residue, self.n_elements, self.split_modulus))
        return values * (self.n_examples // self.n_elements)

    def _check_residue_split(self) -> None:
        m, r = self.split_modulus, self.split_residue
        if r >= m:
            raise ValueError(f"split_residue = {r} must be below split_modulus = {m}")
        if m > self.n_elements:
            raise ValueError(f"split_modulus = {m} exceeds the {self.n_elements} values x can take")
        room = self.n_examples - self.n_held_out
        if self.n_train > room:
            raise ValueError(
                f"split = 'residue' holds out {self.n_held_out} of {self.n_examples} tuples"
                f" (x = {r} mod {m}); train_fraction = {self.train_fraction} asks for"
                f" {self.n_train} training tuples but only {room} remain;"
                f" use train_fraction <= {room / self.n_examples:.4f}"
            )


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
    loss: Literal["cross_entropy", "cross_entropy_fp64", "stablemax"] = Field(
        "cross_entropy",
        description="cross_entropy_fp64: the log-softmax in float64, the model not (Nanda et "
        "al.); stablemax: StableMax cross-entropy in float64 (Prieto et al. 2025)",
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
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", device):
            raise ValueError(
                f"device must be auto, cpu, mps, cuda or cuda:N, got {short_repr(device)}"
            )
        return device


class Preset(BaseModel):
    """One experiment: a task, a model, an optimizer and a training budget."""

    model_config = _PRESET_CONFIG

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

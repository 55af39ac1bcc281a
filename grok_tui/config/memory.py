"""A preset's memory, estimated without torch: refuse at validation what could never fit.

A preset that validates may still ask for more memory than the machine has (widths =
[65536, 65536, 65536]); torch would fail mid-run, or the machine would swap. This sizes
a run from its fields alone, in microseconds, and names the field to blame.
"""

from __future__ import annotations

import functools
import itertools
import os
from typing import Any

from grok_tui.config.schema import (
    DataConfig,
    MLPConfig,
    OptimConfig,
    Preset,
    TrainConfig,
    TransformerConfig,
)
from grok_tui.config.tasks import vocab_layout

GiB = 1024**3
EVAL_ROWS = 16384  # training/trainer.py EVAL_CHUNK_DEFAULT: rows of one evaluation pass (the larger, GPU one)
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

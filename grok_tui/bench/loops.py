"""The two training loops the bench times: the engine's, and one written the common way.

Both train the same task with a model of the same size (build_loops checks the
parameter counts); checkpoints and sinks are left out of both.

- engine: grok_tui's own Trainer (build_trainer + graphs.Steps, as `loop.train` steps:
  a CUDA graph where `[train] cuda_graphs` allows, else train_step; on CPU the MLP takes
  its hand-written step, models/mlp_step.py), with the same evaluation cadence as
  `loop.train` (whole train and test sets every `eval_every` steps, parameter and
  gradient norms, the on-device divergence check).
- baseline: a model of the same size written the common way (danielmamay-style post-LN
  blocks with nn.MultiheadAttention, the unembedding at every position and then the last
  one taken; an MLP of embedding, concatenation and Linear layers),
  torch.utils.data.DataLoader(TensorDataset, shuffle=True), a `.item()` per step for
  logging, torch.optim.AdamW with its default settings and evaluation through
  DataLoaders over the train and test sets.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from grok_tui.bench.plan import BATCH_SIZE
from grok_tui.config import Preset, TransformerConfig
from grok_tui.training import graphs
from grok_tui.training.trainer import Trainer, build_trainer, total_norm

# ---------------------------------------------------------------------------
# The engine's loop

EVALUATION = "grok_tui.evaluation"  # the profiler's name for an evaluation's range


class EngineLoop:
    """grok_tui's Trainer driven the way `loop.train` drives it (minus sinks and checkpoints)."""

    def __init__(self, preset: Preset, device: torch.device) -> None:
        self.trainer: Trainer = build_trainer(preset, device)
        self.model = self.trainer.model
        self.device = self.trainer.device
        self.eval_every = preset.train.eval_every
        self.steps = graphs.Steps(self.trainer)  # with the divergence check on the device
        self.steps.report_to({})
        self.last_record: dict[str, float] = {}

    def run(self, n_steps: int) -> None:
        tr = self.trainer
        for _ in range(n_steps):
            eval_next = (tr.step + 1) % self.eval_every == 0
            grad_norm = self.steps.step(want_grad_norm=eval_next)
            if eval_next:
                if (bad := int(self.steps.first_bad)) >= 0:
                    raise RuntimeError(f"the engine diverged at step {bad}")
                with torch.profiler.record_function(EVALUATION):  # breakdown.py's part
                    train_loss, train_acc = tr.evaluate(tr.task.train_x, tr.task.train_y)
                    test_loss, test_acc = tr.evaluate(tr.task.test_x, tr.task.test_y)
                self.last_record = {
                    "train_loss": train_loss,
                    "train_acc": train_acc,
                    "test_loss": test_loss,
                    "test_acc": test_acc,
                    "param_norm": float(total_norm([p.detach() for p in tr.params])),
                    "grad_norm": float(grad_norm) if grad_norm is not None else math.nan,
                }


# ---------------------------------------------------------------------------
# The baseline: models and loop written the common way


class CommonDecoderBlock(nn.Module):
    """danielmamay/grokking's block: nn.MultiheadAttention, post-LN, sequence first."""

    def __init__(self, d_model: int, heads: int, d_ff: int) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, heads)
        self.self_attn_norm = nn.LayerNorm(d_model)
        self.ffn = nn.Sequential(nn.Linear(d_model, d_ff), nn.ReLU(), nn.Linear(d_ff, d_model))
        self.ffn_norm = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (T, B, C)
        attn_mask = torch.full((len(x), len(x)), -float("inf"), device=x.device, dtype=x.dtype)
        attn_mask = torch.triu(attn_mask, diagonal=1)
        a1, _ = self.self_attn(x, x, x, attn_mask=attn_mask)
        a1 = self.self_attn_norm(x + a1)
        a2 = self.ffn(a1)
        return self.ffn_norm(a1 + a2)


class CommonTransformer(nn.Module):
    """Token + position embeddings, decoder blocks, the unembedding at every position."""

    def __init__(self, cfg: TransformerConfig, vocab_size: int, seq_len: int, n_classes: int):
        super().__init__()
        self.token_embeddings = nn.Embedding(vocab_size, cfg.d_model)
        self.position_embeddings = nn.Embedding(seq_len, cfg.d_model)
        self.model = nn.Sequential(
            *[CommonDecoderBlock(cfg.d_model, cfg.heads, cfg.d_ff) for _ in range(cfg.layers)],
            nn.Linear(cfg.d_model, n_classes),
        )

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:  # (B, T) -> (T, B, n_classes)
        batch_size, context_len = inputs.shape
        positions = torch.arange(context_len, device=inputs.device).expand(batch_size, -1)
        embedding = self.token_embeddings(inputs) + self.position_embeddings(positions)
        return self.model(embedding.transpose(0, 1))


class CommonMLP(nn.Module):
    """Embed each token, concatenate, Linear/ReLU stack, Linear to the classes."""

    def __init__(
        self, embed_dim: int, widths: list[int], vocab_size: int, seq_len: int, n_classes: int
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        layers: list[nn.Module] = []
        width = seq_len * embed_dim
        for hidden in widths:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, n_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:  # (B, T) -> (B, n_classes)
        return self.layers(self.embedding(inputs).view(inputs.shape[0], -1))


class BaselineLoop:
    """A training loop as most grokking repositories write it."""

    def __init__(self, preset: Preset, device: torch.device, task_cpu: Any) -> None:
        torch.manual_seed(preset.train.seed)
        self.device = device
        self.eval_every = preset.train.eval_every
        sizes = (task_cpu.vocab_size, task_cpu.seq_len, task_cpu.n_classes)
        cfg = preset.model
        if isinstance(cfg, TransformerConfig):
            self.model: nn.Module = CommonTransformer(cfg, *sizes)
            self.logits: Callable[[torch.Tensor], torch.Tensor] = lambda x: self.model(x)[-1]
        else:
            self.model = CommonMLP(cfg.embed_dim, list(cfg.widths), *sizes)
            self.logits = self.model
        self.model.to(device)
        oc = preset.optim
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=oc.lr, weight_decay=oc.weight_decay, betas=oc.betas
        )
        warmup = oc.warmup_steps
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: min(1.0, 0.1 + 0.9 * s / warmup) if warmup else 1.0
        )
        train_ds = TensorDataset(task_cpu.train_x, task_cpu.train_y)
        test_ds = TensorDataset(task_cpu.test_x, task_cpu.test_y)
        self.train_loader = DataLoader(train_ds, batch_size=BATCH_SIZE, shuffle=True)
        self.train_eval_loader = DataLoader(train_ds, batch_size=BATCH_SIZE)
        self.test_loader = DataLoader(test_ds, batch_size=BATCH_SIZE)
        self.batches: Iterator[Any] = iter(self.train_loader)
        self.step = 0
        self.losses: list[float] = []
        self.last_record: dict[str, float] = {}

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        try:
            return next(self.batches)
        except StopIteration:  # a new epoch
            self.batches = iter(self.train_loader)
            return next(self.batches)

    def run(self, n_steps: int) -> None:
        self.model.train()
        for _ in range(n_steps):
            inputs, labels = self.next_batch()
            inputs, labels = inputs.to(self.device), labels.to(self.device)
            self.optimizer.zero_grad()
            loss = F.cross_entropy(self.logits(inputs), labels)
            loss.backward()
            self.optimizer.step()
            self.scheduler.step()
            self.losses.append(loss.item())
            self.step += 1
            if self.step % self.eval_every == 0:
                train_loss, train_acc = self.evaluate(self.train_eval_loader)
                test_loss, test_acc = self.evaluate(self.test_loader)
                self.last_record = {
                    "train_loss": train_loss,
                    "train_acc": train_acc,
                    "test_loss": test_loss,
                    "test_acc": test_acc,
                }
                self.model.train()

    @torch.no_grad()
    def evaluate(self, loader: DataLoader) -> tuple[float, float]:
        self.model.eval()
        loss_sum, correct, n = 0.0, 0, 0
        for inputs, labels in loader:
            inputs, labels = inputs.to(self.device), labels.to(self.device)
            logits = self.logits(inputs)
            loss_sum += F.cross_entropy(logits, labels, reduction="sum").item()
            correct += (logits.argmax(-1) == labels).sum().item()
            n += len(labels)
        return loss_sum / n, correct / n

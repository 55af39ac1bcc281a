"""How many members of a group fit on its device: a group that would not fit is cut.

On CUDA the cost is measured, not guessed: groups of one and of two copies of the first
member each take a step and an evaluation, and the difference of their peak allocations
is one member's cost (its weights, gradients, optimizer state, data and activations).
On the CPU a member's cost is estimated from its parameter count and activation sizes
against the memory the system reports available; the small models of this field never
come near it, so the estimate only guards against a mistyped --vectorize.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch

from grok_tui.config import Preset
from grok_tui.training.models import count_parameters
from grok_tui.training.trainer import build_trainer, resolve_device

# The share of the free memory a group may plan to use: the caching allocator fragments,
# and a neighbour process on the same device may grow.
SAFETY = 0.8
CPU_SHARE = 0.5


def max_members(presets: Sequence[Preset], device: str | None = None) -> tuple[int, str]:
    """(the most members that fit, why: per-member cost and what is available)."""
    if len(presets) <= 1:
        return max(1, len(presets)), ""
    dev = resolve_device(device or presets[0].train.device)
    if dev.type == "cuda":
        per_member, base = probe_cuda(presets[0], dev)
        free, _total = torch.cuda.mem_get_info(dev)
        budget = free * SAFETY
    else:
        per_member, base = estimate(presets[0]), 0
        budget = available_ram() * CPU_SHARE
    limit = max(1, int((budget - base) // max(per_member, 1)))
    why = f"{per_member / 2**20:.1f} MiB per member, {budget / 2**30:.1f} GiB usable on {dev.type}"
    return limit, why


def probe_cuda(preset: Preset, dev: torch.device) -> tuple[int, int]:
    """(bytes per member, bytes besides the members), from groups of 1 and 2 on dev."""
    from grok_tui.training.group.trainer import GroupTrainer

    def peak(n: int) -> int:
        torch.cuda.synchronize(dev)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(dev)
        before = torch.cuda.memory_allocated(dev)
        copies = []
        for seed in range(n):
            copy = preset.model_copy(deep=True)
            copy.train.seed = seed
            copies.append(copy)
        group = GroupTrainer(copies, dev)
        group.train_step(want_grad_norm=True)
        group.member_evaluation(0, True)
        torch.cuda.synchronize(dev)
        used = torch.cuda.max_memory_allocated(dev) - before
        del group
        torch.cuda.empty_cache()
        return used

    one, two = peak(1), peak(2)
    per_member = max(two - one, 1)
    return per_member, max(one - per_member, 0)


def estimate(preset: Preset) -> int:
    """Bytes per member on the CPU: weights with gradient and optimizer state (x6 covers
    AdamW's two moments, the group's gradient rows and a Grokfast average), plus the
    activations of a training batch and of an evaluation chunk (x4 bytes, x3 for the
    backward's saved tensors)."""
    trainer = build_trainer(preset, "cpu")
    params = count_parameters(trainer.model)
    tokens = trainer.task.train_x.shape[1]
    model = preset.model
    if model.type == "transformer":
        width = model.layers * (6 * model.d_model + 2 * model.d_ff + model.heads * tokens)
    else:
        width = 2 * sum(model.widths)
    rows = trainer.batcher.batch_size + 1024
    activations = rows * tokens * width + rows * trainer.task.n_classes
    data = 8 * (trainer.task.train_x.numel() + trainer.task.test_x.numel())
    return 4 * (6 * params + 3 * activations) + data


def available_ram() -> int:
    """Bytes the system reports available (MemAvailable), or physical memory elsewhere."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30

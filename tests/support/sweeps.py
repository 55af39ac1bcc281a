"""Sweep files the sweep tests train: a 2 x 2 grid over the tiny preset (conftest.py)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import TINY_PRESET

# Four points of 30 steps: learning rate by weight decay, "extends" the tiny preset.
GRID = """\
extends = "tiny.toml"
name = "grid"

[train]
steps = 30

[sweep]
"optim.lr" = [1e-3, 3e-3]
"optim.weight_decay" = [0.1, 1.0]
"""


def write_sweep(folder: Path, name: str, text: str) -> Path:
    """`text` as folder/name beside the tiny.toml it extends; the sweep file's path."""
    (folder / "tiny.toml").write_text(TINY_PRESET)
    (folder / name).write_text(text)
    return folder / name

"""A group member whose files cannot be written any more (its run directory removed while
the group trains) ends alone; the others train on, untouched (issue 32). The process-level
case, with a real run directory removed, is tests/e2e/test_group_hardening.py."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

from grok_tui.config import load_preset
from grok_tui.training.group import GroupTrainer, train_group
from tests.support.sinks import Collect

BASE = ["train.steps=60", "train.eval_every=20", "train.checkpoint_every=20"]


def _without_clock(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in records]


class GoneAt(Collect):
    """A run directory's sink whose directory is removed before the record of ``step``:
    every write from then on fails as it would (ENOENT), the end's included."""

    def __init__(self, step: int) -> None:
        super().__init__()
        self.gone_at = step

    def _write(self, step: int) -> None:
        if step >= self.gone_at:
            where = "runs/member-1/summary.json"
            raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), where)

    def on_record(self, record: dict[str, Any], summary: dict[str, Any]) -> None:
        self._write(record["step"])
        super().on_record(record, summary)

    def on_checkpoint(self, state: dict[str, Any]) -> None:
        self._write(state["step"])
        super().on_checkpoint(state)

    def on_end(self, summary: dict[str, Any]) -> None:
        self._write(summary["step"])
        super().on_end(summary)


def test_a_member_that_cannot_write_ends_alone_and_the_others_train_on(
    tiny_preset_path: Path,
) -> None:
    members = [load_preset(tiny_preset_path, [*BASE, f"train.seed={seed}"]) for seed in range(3)]
    reference = [Collect() for _ in members]
    train_group(GroupTrainer(members), reference)

    gone, told = GoneAt(40), Collect()  # told: a second sink of the same member
    sinks: list[Any] = [Collect(), [gone, told], Collect()]
    summaries = train_group(GroupTrainer(members), sinks)

    assert [s["status"] for s in summaries] == ["completed", "failed", "completed"]
    for i in (0, 2):  # untouched by their neighbour's end: the same records, bit for bit
        assert _without_clock(sinks[i].records) == _without_clock(reference[i].records)
        assert sinks[i].end["step"] == 60
    assert [r["step"] for r in gone.records] == [0, 20]  # nothing after the removal
    assert summaries[1]["step"] == 40
    error = summaries[1]["error"]
    assert error.startswith("cannot write runs/member-1/summary.json: no such file")
    assert error.endswith("(ENOENT); the others go on")
    assert told.end is not None and told.end["status"] == "failed"  # said, in one line

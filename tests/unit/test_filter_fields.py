"""History's filter over every preset field: a name that is no field gets the close ones
(issue 35, item 5), in History's hint and in grok_tui.runs(filter=...)."""

from __future__ import annotations

from pathlib import Path

import pytest

import grok_tui
from grok_tui.config import Preset, with_overrides
from grok_tui.rundirs import store
from grok_tui.tui import runtable


def seeded(folder: Path, seeds: list[int]) -> list[runtable.RunRow]:
    """Finished runs, one per train.seed, their names saying the seed as a sweep's do."""
    for seed in seeds:
        preset = with_overrides(Preset(name=f"seed={seed}"), [f"train.seed={seed}"])
        run = store.create_run(preset, folder)
        store.update_summary(run.path, status="completed", step=10, grok_step=None)
    return runtable.load_rows(folder)


def seeds(rows: list[runtable.RunRow], text: str) -> list[int]:
    return sorted(r.values["train.seed"] for r in runtable.filter_rows(rows, text))


def test_a_mistyped_dotted_field_names_the_close_one(tmp_path: Path) -> None:
    rows = seeded(tmp_path, [3, 4])
    hint = runtable.filter_hint(rows, "optim.lrr=3e-3")
    assert hint is not None and "did you mean optim.lr?" in hint
    assert "data.p" in (runtable.filter_hint(rows, "data.pp>50") or "")
    assert "train.batch_size" in (runtable.filter_hint(rows, "train.batch_sze=512") or "")
    assert runtable.filter_hint(rows, "optim.lr=3e-3") is not None  # known: no run matches
    assert "did you mean" not in (runtable.filter_hint(rows, "optim.lr=3e-3") or "")


def test_a_mistyped_short_name_names_the_field_it_meant(tmp_path: Path) -> None:
    rows = seeded(tmp_path, [3, 4])
    hint = runtable.filter_hint(rows, "sed=4")
    assert hint is not None and "'sed' is no field: did you mean seed?" in hint
    assert "did you mean seed?" in (runtable.filter_hint(rows, "sed<4") or "")


def test_seed_compares_as_a_number_not_as_text_of_a_name(tmp_path: Path) -> None:
    rows = seeded(tmp_path, [4, *range(40, 48)])
    assert seeds(rows, "seed=4") == [4]  # not the runs named seed=40 ... seed=47
    assert seeds(rows, "train.seed=4") == [4]
    assert seeds(rows, "seed>45") == [46, 47]
    assert seeds(rows, "seed=41-frac=0.3") == []  # a sweep point's label is text
    assert runtable.filter_hint(rows, "seed=4") is None


def test_every_dotted_preset_field_is_a_filter_name() -> None:
    names = runtable.filter_names()
    assert {"train.seed", "data.split_seed", "optim.grokfast.alpha", "model.widths"} <= names
    assert {"grok", "lr", "seed", "split_seed"} <= names


def test_the_notebook_says_what_was_meant(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    seeded(tmp_path, [3, 4])
    with pytest.raises(ValueError, match=r"'optim.lrr' is no field: did you mean optim.lr\?"):
        grok_tui.runs(tmp_path, filter="optim.lrr=3e-3")
    with pytest.raises(ValueError, match=r"matches no run: 'sed' is no field: did you mean seed"):
        grok_tui.runs(tmp_path, filter="sed=4")
    assert list(grok_tui.runs(tmp_path, filter="seed=4")["train.seed"]) == [4]

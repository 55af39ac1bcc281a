"""grok_tui.runs() and grok_tui.records(): a runs folder as a DataFrame in one line (issue 36)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import grok_tui
from grok_tui.config import Preset, flatten, parse_toml, with_overrides
from grok_tui.rundirs import store
from grok_tui.tui.runtable import filter_rows, load_rows
from tests.conftest import REPO

pandas = pytest.importorskip("pandas")  # the dev extra has it; a base install may not


def add_run(folder: Path, name: str, lr: float, *, grok: int | None, steps: int = 3) -> Path:
    """A finished run with one record per 100 steps, its summary as the engine leaves it."""
    run = store.create_run(with_overrides(Preset(name=name), [f"optim.lr={lr}"]), folder)
    writer = store.MetricsWriter(run.path)
    for i in range(steps):
        acc = 1.0 if grok is not None and i * 100 >= grok else 0.1
        writer.append(
            {"step": i * 100, "train_acc": 1.0, "test_acc": acc, "train_loss": 0.01,
             "test_loss": 2.0 - acc, "lr": lr, "elapsed_s": float(i)}
        )  # fmt: skip
    writer.close()
    final = {"train_acc": 1.0, "test_acc": acc, "train_loss": 0.01, "test_loss": 2.0 - acc}
    store.update_summary(
        run.path, status="completed", step=(steps - 1) * 100, fit_step=0, grok_step=grok,
        grok_gap=grok, best_test_acc=acc, best_test_acc_step=grok, final=final,
        steps_per_s=50.0, elapsed_s=float(steps), device="cpu",
    )  # fmt: skip
    return run.path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Two runs named alike (the old README's find_run("quickstart") raised), one grokked,
    and one whose summary.json is damaged."""
    add_run(tmp_path, "quickstart", 1e-3, grok=200)
    add_run(tmp_path, "quickstart", 3e-3, grok=None)
    bad = add_run(tmp_path, "damaged", 1e-2, grok=100)
    (bad / store.SUMMARY_FILE).write_text("{not json")
    return tmp_path


def preset_fields() -> set[str]:
    return set(flatten(parse_toml(Preset(name="x").to_toml()))) - {"name"}


def test_one_row_per_run_with_every_preset_field(folder: Path) -> None:
    df = grok_tui.runs(folder)
    ids = [info.run_id for info in store.list_runs(folder)]
    assert list(df["run_id"]) == ids and len(df) == 3
    assert list(df.columns[:3]) == ["run_id", "status", "name"]
    assert preset_fields() <= set(df.columns)  # all fields, not only those that differ
    assert list(df["name"]) == ["quickstart", "quickstart", "damaged"]  # both alike-named
    first = df.iloc[0]
    assert (first["status"], first["grok_step"], first["final_test_acc"]) == ("completed", 200, 1)
    assert first["path"] == str(folder / ids[0]) and first["device"] == "cpu"
    assert df["optim.lr"].tolist() == [1e-3, 3e-3, 1e-2]


def test_one_run_still_has_every_field_and_groups_by_one(tmp_path: Path) -> None:
    """README's groupby("optim.lr") raised KeyError for one run: only differing fields were
    columns."""
    add_run(tmp_path, "alone", 1e-3, grok=200)
    df = grok_tui.runs(tmp_path)
    assert preset_fields() <= set(df.columns)
    assert df.groupby("optim.lr")["grok_step"].median().to_dict() == {1e-3: 200}


def test_an_unreadable_run_says_why_and_hides_no_other(folder: Path) -> None:
    df = grok_tui.runs(folder).set_index("name")
    assert df.loc["damaged", "status"] == "unreadable"
    assert "summary.json is not valid JSON" in df.loc["damaged", "unreadable"]
    assert df.loc["damaged", "optim.lr"] == 1e-2  # its preset still reads
    assert df.loc["quickstart", "unreadable"].isna().all()


@pytest.mark.parametrize(
    "text", ["optim.lr>2e-3", "optim.lr=1e-3", "status=completed", "grok<300", "quickstart",
             "data.operation=add optim.lr<5e-3", "train.compile=false", ""],
)  # fmt: skip
def test_the_filter_selects_as_history_does(folder: Path, text: str) -> None:
    history = [row.run_id for row in filter_rows(load_rows(folder), text)]
    assert list(grok_tui.runs(folder, filter=text)["run_id"]) == history
    assert sorted(set(grok_tui.records(folder, filter=text)["run_id"])) == sorted(history)


def test_history_filters_on_preset_fields_by_dotted_name(folder: Path) -> None:
    names = {row.run_id: row.values["name"] for row in load_rows(folder)}
    lrs = {row.values["optim.lr"] for row in filter_rows(load_rows(folder), "optim.lr>2e-3")}
    assert lrs == {3e-3, 1e-2} and len(names) == 3
    selected = grok_tui.runs(folder, filter="optim.lr>1e-3 status=completed")
    assert selected["optim.lr"].tolist() == [3e-3]


def test_a_filter_not_understood_is_an_error_not_silence(folder: Path) -> None:
    with pytest.raises(ValueError, match="not understood: 'nope' is not a column"):
        grok_tui.runs(folder, filter="nope>3")


def test_records_is_the_long_table(folder: Path) -> None:
    long = grok_tui.records(folder)
    assert list(long.columns[:2]) == ["run_id", "step"] and len(long) == 9
    assert "optim.lr" not in long.columns
    assert long.groupby("run_id")["step"].max().tolist() == [200, 200, 200]
    with_preset = grok_tui.records(folder, preset=True)
    assert preset_fields() <= set(with_preset.columns)
    assert sorted(set(with_preset["optim.lr"])) == [1e-3, 3e-3, 1e-2]
    ids = list(grok_tui.runs(folder)["run_id"])
    one = grok_tui.records([ids[1]], runs_dir=folder)  # by id, or by path
    assert set(one["run_id"]) == {ids[1]} and len(one) == 3
    assert len(grok_tui.records(folder / ids[0])) == 3


def test_without_pandas_the_error_says_what_to_install(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    for call in (grok_tui.runs, grok_tui.records):
        with pytest.raises(ImportError, match=re.escape("pip install 'grok-tui[notebook]'")):
            call(folder)


def test_importing_grok_tui_loads_no_pandas_nor_torch() -> None:
    code = (
        "import sys, grok_tui; assert callable(grok_tui.runs) and callable(grok_tui.records)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'torch', 'textual'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def readme_python_blocks() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("### From Python\n", 1)[1]
    section = re.split(r"^#{1,3} ", section, maxsplit=1, flags=re.MULTILINE)[0]
    return re.findall(r"^```python\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)


def test_the_readme_from_python_section_runs_as_written(folder: Path, capsys) -> None:
    blocks = readme_python_blocks()
    assert len(blocks) >= 2 and "grok_tui.runs(" in blocks[0]
    namespace: dict = {}
    for block in blocks:
        assert '"runs"' in block
        exec(block.replace('"runs"', repr(str(folder))), namespace)
    assert len(namespace["df"]) == 3 and not namespace["long"].empty
    assert capsys.readouterr().out.count("\n") == 3  # the store loop printed each run

"""The preset schema: what it accepts, what it rejects and how it says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from grok_tui.config import (
    Preset,
    PresetError,
    flatten,
    load_preset,
    locate_field,
    parse_override,
    preset_from_toml,
    save_preset,
    vocab_layout,
)
from grok_tui.sweep import is_sweep_file
from tests.conftest import REPO


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path: Path, overrides: tuple[str, ...] = ()) -> PresetError:
    with pytest.raises(PresetError) as info:
        load_preset(path, overrides)
    return info.value


def test_defaults_form_a_valid_transformer_preset():
    preset = Preset()
    assert preset.model.type == "transformer"
    assert preset.optim.betas == (0.9, 0.98)
    assert preset.train.fit_threshold == preset.train.grok_threshold == 0.99


def test_name_defaults_to_file_stem(tmp_path):
    preset = load_preset(write(tmp_path, "my-run.toml", "[data]\np = 13\n"))
    assert preset.name == "my-run"
    assert preset.data.p == 13


@pytest.mark.parametrize(
    ("text", "field", "needle"),
    [
        ("[data]\np = 91\n", "data.p", "must be prime"),
        ("[data]\ntrain_fraction = 1.0\n", "data.train_fraction", "less than 1"),
        ("[data]\noperation = 'pow'\n", "data.operation", "'add'"),
        ("[data]\nk = 3\n", "data", "operation = 'sum'"),
        ("[data]\nsize = 3\n", "data.size", "allowed here: operation, p"),
        ("[model]\ntype = 'cnn'\n", "model", "allowed: transformer, mlp, lstm"),
        ("[model]\nheads = 3\n", "model", "heads (3) must divide d_model (128)"),
        (
            "[model]\ntype = 'mlp'\nlayers = 2\n",
            "model.layers",
            "allowed here: type, embed_dim, widths",
        ),
        ("[model]\ntype = 'mlp'\nwidths = [0]\n", "model.widths", "every width"),
        ("[optim]\nname = 'lion'\n", "optim.name", "'adamw'"),
        ("[optim]\nlr = -1\n", "optim.lr", "greater than 0"),
        ("[optim]\nname = 'adamw'\nmomentum = 0.9\n", "optim", "momentum applies to sgd"),
        ("[optim]\nname = 'sgd'\nnesterov = true\n", "optim", "nesterov needs"),
        (
            "[optim.grokfast]\nkind = 'ma'\nalpha = 0.9\n",
            "optim.grokfast",
            "'alpha' does not apply",
        ),
        ("[train]\nbatch_size = 'half'\n", "train.batch_size", "or 'full'"),
        ("[train]\nbatch_size = 0\n", "train.batch_size", ">= 1"),
        ("[train]\ndevice = 'tpu'\n", "train.device", "auto, cpu, mps, cuda"),
        ("[train]\nprecision = 'fp8'\n", "train.precision", "'fp32'"),
        ("[data]\noperation = 'sum'\nk = 4\np = 97\n", "data", "at most"),
        ("[data]\nequals_token = true\n", "data", "needs include_op_tokens = false"),
        ("[data]\nsplit = 'odd'\n", "data.split", "'residue'"),
        (
            "[data]\nsplit = 'residue'\nsplit_modulus = 3\nsplit_residue = 3\n",
            "data",
            "split_residue = 3 must be below split_modulus = 3",
        ),
        (
            "[data]\np = 7\nsplit = 'residue'\nsplit_modulus = 11\n",
            "data",
            "exceeds the 7 values",
        ),
        (  # p = 97, x even: 49 x 97 held out, 4,656 left; 0.5 asks for 4,704
            "[data]\nsplit = 'residue'\ntrain_fraction = 0.5\n",
            "data",
            "only 4656 remain; use train_fraction <= 0.4948",
        ),
    ],
)
def test_schema_rejects_bad_values_naming_the_field(tmp_path, text, field, needle):
    path = write(tmp_path, "bad.toml", text)
    error = error_of(path)
    assert error.field == field
    assert needle in error.message
    assert error.file == str(path.resolve())
    assert error.line is not None  # the line of the offending key or its table


def test_schema_error_points_at_the_offending_line(tmp_path):
    path = write(tmp_path, "bad.toml", "name = 'x'\n\n[optim]\nname = 'adamw'\nlr = -1\n")
    error = error_of(path)
    assert (error.line, error.field) == (5, "optim.lr")
    assert str(error).startswith(f"{path.resolve()}:5: optim.lr: ")
    assert "(got -1)" in str(error)


def test_toml_syntax_error_names_line_and_column(tmp_path):
    path = write(tmp_path, "broken.toml", "[data]\np = 97\n[model\n")
    error = error_of(path)
    assert (error.line, error.column) == (3, 7)
    assert "TOML syntax error" in error.message


def test_missing_file_is_a_preset_error(tmp_path):
    error = error_of(tmp_path / "nope.toml")
    assert "file not found" in str(error)


def test_extends_deep_merges_and_resolves_relative_paths(tmp_path):
    (tmp_path / "base").mkdir()
    write(tmp_path / "base", "b.toml", "[optim]\nlr = 5e-4\nweight_decay = 0.5\n[data]\np = 59\n")
    child = write(tmp_path, "c.toml", "extends = 'base/b.toml'\n[optim]\nlr = 1e-3\n")
    preset = load_preset(child)
    assert (preset.optim.lr, preset.optim.weight_decay, preset.data.p) == (1e-3, 0.5, 59)


def test_extends_with_another_model_type_replaces_the_model_table(tmp_path):
    write(tmp_path, "b.toml", "[model]\ntype = 'transformer'\nlayers = 1\n")
    child = write(tmp_path, "c.toml", "extends = 'b.toml'\n[model]\ntype = 'lstm'\n")
    assert load_preset(child).model.type == "lstm"


def test_extends_cycle_and_missing_base_are_errors(tmp_path):
    write(tmp_path, "a.toml", "extends = 'b.toml'\n")
    write(tmp_path, "b.toml", "extends = 'a.toml'\n")
    assert "extends cycle: a.toml -> b.toml -> a.toml" in str(error_of(tmp_path / "a.toml"))
    orphan = write(tmp_path, "o.toml", "extends = 'gone.toml'\n")
    error = error_of(orphan)
    assert (error.field, error.line) == ("extends", 1)
    assert "not found" in error.message


def test_overrides_are_parsed_as_toml_and_validated(tmp_path, tiny_preset_path):
    preset = load_preset(
        tiny_preset_path, ["optim.lr=3e-4", "train.batch_size=full", "data.operation=sub"]
    )
    assert (preset.optim.lr, preset.train.batch_size, preset.data.operation) == (
        3e-4,
        "full",
        "sub",
    )
    error = error_of(tiny_preset_path, ("data.p=12",))
    assert (error.file, error.field) == ("--set", "data.p")
    assert parse_override("optim.betas=[0.9, 0.99]") == ("optim.betas", [0.9, 0.99])
    with pytest.raises(PresetError, match="key=value"):
        parse_override("optim.lr")


def test_round_trip_load_save_load_is_equal(tmp_path):
    for path in sorted((REPO / "presets").rglob("*.toml")):
        if is_sweep_file(path):  # its own [sweep] table, or one it extends
            continue
        preset = load_preset(path)
        saved = save_preset(preset, tmp_path / path.name)
        assert load_preset(saved) == preset, path
    for name in ("sgd", "rmsprop", "adagrad", "nadam"):
        preset = Preset(optim={"name": name, "grokfast": {"kind": "ma", "window": 5}})
        assert preset_from_toml(preset.to_toml()) == preset


def test_locate_field_handles_tables_dotted_keys_and_top_level(tmp_path):
    path = write(
        tmp_path,
        "p.toml",
        "name = 'x'\noptim.lr = 1\n[train]\nsteps = 3\n[optim.grokfast]\nlamb = 2\n",
    )
    assert locate_field(path, "name") == 1
    assert locate_field(path, "optim.lr") == 2
    assert locate_field(path, "train.steps") == 4
    assert locate_field(path, "optim.grokfast.lamb") == 6
    assert locate_field(path, "optim.grokfast") == 5
    assert locate_field(path, "data.p") is None


def test_vocab_layout_and_flatten():
    assert vocab_layout(Preset().data) == (99, 4)
    assert vocab_layout(Preset(data={"include_op_tokens": False}).data) == (97, 2)
    assert vocab_layout(Preset(data={"operation": "sum", "k": 3, "p": 23}).data) == (25, 6)
    assert flatten({"a": {"b": 1, "c": {"d": 2}}, "e": 3}) == {"a.b": 1, "a.c.d": 2, "e": 3}


def test_epochs_set_steps_from_the_split_and_the_batch(tmp_path, tiny_preset_path):
    # tiny: p = 11, fraction 0.5 -> 60 training rows; batch 16 -> 3 steps an epoch
    preset = load_preset(tiny_preset_path, ["train.epochs=10"])
    assert (preset.data.n_train, preset.train.epochs, preset.train.steps) == (60, 10, 30)
    assert "steps" not in preset.to_dict()["train"]  # derived again on load
    assert Preset.model_validate(preset.model_dump()) == preset  # a dump holds both: fine
    preset.train.seed = 3  # assignment re-validates the section: no "not both" there
    assert preset_from_toml(preset.to_toml()) == preset
    # the budget stays in epochs when the split or the batch changes (a sweep's point):
    # fraction 0.3 -> 36 rows, 2 steps an epoch
    assert (
        load_preset(tiny_preset_path, ["train.epochs=10", "data.train_fraction=0.3"]).train.steps
        == 20
    )
    assert (
        load_preset(tiny_preset_path, ["train.epochs=10", "train.batch_size=full"]).train.steps
        == 10
    )


def test_steps_and_epochs_replace_each_other_across_layers_but_not_within_one(tmp_path):
    base = write(tmp_path, "base.toml", "[train]\nepochs = 4\nbatch_size = 'full'\n")
    child = write(tmp_path, "child.toml", "extends = 'base.toml'\n[train]\nsteps = 7\n")
    assert (load_preset(child).train.steps, load_preset(child).train.epochs) == (7, None)
    assert load_preset(child, ["train.epochs=2"]).train.steps == 2
    assert load_preset(base, ["train.steps=9"]).train.epochs is None
    error = error_of(base, ("train.steps=9", "train.epochs=3"))
    assert (error.file, error.field) == ("--set", "train.epochs")
    assert "not both" in error.message
    both = write(tmp_path, "both.toml", "name = 'x'\n[train]\nsteps = 5\nepochs = 3\n")
    error = error_of(both)
    assert (error.field, error.line) == ("train", 2)
    assert "give steps (5) or epochs (3), not both" in error.message

"""The presets' JSON Schema (issue 36): grok-tui schema, the shipped copy, every preset's #:schema line."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from grok_tui.cli import main
from grok_tui.config import load_preset
from grok_tui.config.json_schema import SCHEMA_FILE_NAME, preset_json_schema, schema_text
from tests.conftest import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

jsonschema = pytest.importorskip("jsonschema")  # the dev extra has it

PRESETS = REPO / "presets"
SCHEMA_FILE = PRESETS / SCHEMA_FILE_NAME
SHIPPED = sorted(PRESETS.rglob("*.toml"))


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = preset_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors_of(validator: jsonschema.Draft202012Validator, text: str) -> list[str]:
    return [e.message for e in validator.iter_errors(tomllib.loads(text))]


def test_the_shipped_schema_file_is_what_grok_tui_schema_prints(capsys) -> None:
    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    assert printed == schema_text()
    assert SCHEMA_FILE.read_text(encoding="utf-8") == printed, (
        "run grok-tui schema --out presets/grok-tui.schema.json"
    )


def test_schema_out_writes_the_file(tmp_path: Path, capsys) -> None:
    out = tmp_path / "schema.json"
    assert main(["schema", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == preset_json_schema()
    assert main(["schema", "--out", str(tmp_path / "missing" / "schema.json")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_the_schema_is_draft_2020_12_and_requires_nothing() -> None:
    schema = preset_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "required" not in json.dumps(schema).replace("nothing is required", "")
    assert {"extends", "name", "description", "data", "model", "optim", "train", "sweep"} == set(
        schema["properties"]
    )


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.relative_to(PRESETS).as_posix())
def test_every_shipped_preset_validates_and_points_at_the_schema(path: Path, validator) -> None:
    text = path.read_text(encoding="utf-8")
    assert errors_of(validator, text) == []
    first = text.splitlines()[0]
    relative = Path(os.path.relpath(SCHEMA_FILE, path.parent)).as_posix()
    assert first == f"#:schema {relative if relative.startswith('..') else './' + relative}"
    assert (path.parent / first.removeprefix("#:schema ")).resolve() == SCHEMA_FILE.resolve()


def test_the_schema_line_is_a_comment_to_the_loader() -> None:
    preset = load_preset(PRESETS / "quickstart.toml")
    assert preset.name == "quickstart"


def test_a_wrong_type_or_an_unknown_field_is_refused(validator) -> None:
    assert errors_of(validator, '[optim]\nlr = "fast"\n') == ["'fast' is not of type 'number'"]
    assert any("'lrr' was unexpected" in e for e in errors_of(validator, "[optim]\nlrr = 1e-3\n"))
    assert any("'colour' was unexpected" in e for e in errors_of(validator, 'colour = "red"\n'))
    assert errors_of(validator, '[model]\ntype = "cnn"\n') != []
    assert errors_of(validator, '[train]\nbatch_size = "half"\n') != []


def test_a_child_that_extends_states_only_what_it_changes(validator) -> None:
    assert errors_of(validator, 'extends = "../quickstart.toml"\n[optim]\nlr = 3e-4\n') == []
    assert errors_of(validator, 'extends = "a.toml"\n[model]\ndropout = 0.1\n') == []
    assert errors_of(validator, "extends = 3\n") != []
    assert errors_of(validator, 'extends = ["a.toml"]\n') != []  # the loader takes one path


def test_the_sweep_table_is_typed_but_takes_every_form_spec_reads(validator) -> None:
    forms = [
        '[sweep]\nmode = "zip"\n"optim.lr" = [1e-3, 1e-2]\n"train.seed" = [0, 1]\n',
        "[sweep]\noptim.lr = [1e-3]\n",  # a bare dotted key: a nested table
        "[sweep.optim]\nlr = [1e-3]\nweight_decay = [0.1]\n",
        '[sweep]\nmodel = [{type = "mlp"}, {type = "transformer"}]\n',
        '[sweep]\nzip = [["optim.lr", "train.seed"]]\ndrop = ["data.p"]\n'
        '"optim.lr" = [1e-3, 1e-2]\n"train.seed" = [0, 1]\n',
    ]
    for text in forms:
        assert errors_of(validator, text) == [], text
    assert errors_of(validator, '[sweep]\nmode = "cross"\n"optim.lr" = [1e-3]\n') != []
    assert errors_of(validator, '[sweep]\n"optim.lr" = 1e-3\n') != []  # not a list
    assert errors_of(validator, '[sweep]\n"optim.lr" = []\n') != []  # an empty list
    assert errors_of(validator, '[sweep]\ndrop = "optim.lr"\n"optim.lr" = [1]\n') != []


def test_a_preset_saved_from_the_tui_points_at_the_shipped_schema(tmp_path: Path) -> None:
    from grok_tui.tui.catalog import preset_file_text

    preset = load_preset(PRESETS / "quickstart.toml")
    inside = preset_file_text(
        preset, PRESETS / "classic" / "copy.toml", PRESETS / "quickstart.toml"
    )
    assert inside.startswith("#:schema ../grok-tui.schema.json\n")
    outside = preset_file_text(preset, tmp_path / "copy.toml")
    assert outside.startswith(f"#:schema {SCHEMA_FILE.resolve().as_uri()}\n")
    (tmp_path / "copy.toml").write_text(outside)
    assert load_preset(tmp_path / "copy.toml") == preset

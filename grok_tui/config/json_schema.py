"""The presets' JSON Schema, for editors: ``grok-tui schema`` and presets/grok-tui.schema.json.

Taplo (and VS Code's Even Better TOML, which runs it) reads a preset's first line
``#:schema ./grok-tui.schema.json`` and then completes, documents and checks its fields.
The schema is pydantic's for :class:`Preset`, with what the loader adds around it:
``extends`` and the ``[sweep]`` table of sweep files. Nothing in it is required, so
that a file that extends another and states a few fields is valid; the loader checks
the merged preset (cross-field rules too, which a JSON Schema cannot state).
Torch-free, like the rest of config/.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from grok_tui import files
from grok_tui.config.schema import Preset
from grok_tui.text import safe_text

SCHEMA_FILE_NAME = "grok-tui.schema.json"  # in presets/, beside the shipped presets
DRAFT = "https://json-schema.org/draft/2020-12/schema"

DESCRIPTION = (
    "A grok-tui preset or sweep file (TOML). Every field has a default and nothing is "
    "required here, so that a file which extends another states only what it changes; "
    "the loader (grok-tui validate) checks the merged preset, and the rules between "
    "fields, which this schema does not state."
)

_EXTENDS = {
    "description": "a base preset, as a path relative to this file (deep-merged, this "
    "file over it)",
    "type": "string",
    "minLength": 1,
}

# spec.py's [sweep]: mode, zip and drop are reserved; every other key is a preset field
# (a quoted dotted key, a bare dotted key or a sub-table: the last two nest) mapped to a
# non-empty list of its values.
_SWEEP = {
    "type": "object",
    "description": 'a sweep file\'s axes: each preset field ("optim.lr", or a sub-table '
    "[sweep.optim]) maps to a non-empty list of values; every point is validated as a preset",
    "properties": {
        "mode": {
            "enum": ["grid", "zip"],
            "default": "grid",
            "description": "grid: every combination (the first field slowest); zip: the "
            "i-th values of every list together",
        },
        "zip": {
            "type": "array",
            "description": "in a grid, groups of swept fields whose i-th values go together",
            "items": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        },
        "drop": {
            "type": "array",
            "description": "swept fields inherited through extends to leave out",
            "items": {"type": "string"},
        },
    },
    "additionalProperties": {"$ref": "#/$defs/SweepAxis"},
}
_SWEEP_AXIS = {
    "description": "a swept field's values, or a table of swept fields",
    "anyOf": [
        {"type": "array", "minItems": 1},
        {"type": "object", "additionalProperties": {"$ref": "#/$defs/SweepAxis"}},
    ],
}


def preset_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a preset or sweep file as written."""
    schema = Preset.model_json_schema()
    _drop_required(schema)
    # The model families: pydantic writes oneOf with an OpenAPI discriminator. A [model]
    # table without `type` (the default family, or one that extends a base) may match
    # several families, and what it overrides (dropout) may be in each: anyOf.
    model = schema["properties"]["model"]
    model["anyOf"] = model.pop("oneOf")
    model.pop("discriminator", None)
    schema["properties"] = {
        "extends": _EXTENDS,
        **schema["properties"],
        "sweep": {"$ref": "#/$defs/Sweep"},
    }
    schema["$defs"].update(Sweep=_SWEEP, SweepAxis=_SWEEP_AXIS)
    head = {"$schema": DRAFT, "title": "grok-tui preset", "description": DESCRIPTION}
    order = ("type", "properties", "additionalProperties", "$defs")
    return {**head, **{k: schema[k] for k in order}}


def _drop_required(node: Any) -> None:
    """Remove every `required` list (the loader checks completeness after extends)."""
    if isinstance(node, dict):
        node.pop("required", None)
        for value in node.values():
            _drop_required(value)
    elif isinstance(node, list):
        for value in node:
            _drop_required(value)


def schema_text() -> str:
    """The schema as the file presets/grok-tui.schema.json holds it."""
    return json.dumps(preset_json_schema(), indent=2) + "\n"


def schema_directive(folder: Path, schema_file: Path) -> str:
    """The first line that points Taplo at ``schema_file`` from a preset in ``folder``: a
    relative path inside the schema's own folder tree (the shipped presets), else a
    file:// URL (a relative path out of a user's folder into an install would break as
    soon as either moves)."""
    folder, schema_file = Path(folder).resolve(), Path(schema_file).resolve()
    if folder.is_relative_to(schema_file.parent):
        relative = Path(os.path.relpath(schema_file, folder)).as_posix()
        return f"#:schema {relative if relative.startswith('..') else './' + relative}\n"
    return f"#:schema {schema_file.as_uri()}\n"


def schema_command(out: Path | None) -> int:
    """``grok-tui schema [--out FILE]``: print the schema, or write it to FILE atomically."""
    text = schema_text()
    if out is None:
        sys.stdout.write(text)
        return 0
    try:
        files.write_text_atomic(out, text)
    except OSError as exc:
        message = f"cannot write {out}: {files.describe_os_error(exc)}"
        print(f"error: {safe_text(message)}", file=sys.stderr)
        return 2
    print(f"wrote {safe_text(str(out))}")
    return 0

"""Where a preset's field is written, and a schema error as ``file:line: field: message``.

pydantic reports a key path and its own wording; a user needs the file and line they
wrote, their own key names and what is allowed instead. FieldLines maps dotted fields
to lines (reading each file once, and only when there is an error to place);
schema_error rewrites one pydantic error into a PresetError.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from grok_tui import files
from grok_tui.config.errors import PresetError, short_repr
from grok_tui.config.reading import resolve_path
from grok_tui.config.schema import (
    MAX_SEED,
    MODEL_TYPES,
    MLPConfig,
    Preset,
    RecurrentConfig,
    TransformerConfig,
)
from grok_tui.config.tasks import MAX_EXAMPLES, MAX_P

# Linear-time patterns: the lazy `[... -]+?\s*\]` this replaces took cubic time (a minute)
# on a line of "[" and 4000 spaces, which a multi-line string may legally hold.
_TABLE = re.compile(r"^\s*\[([A-Za-z0-9_.\"' -]+)\]\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.\"'-]+)\s*=")  # bare, "quoted" and 'literal' keys


class FieldLines:
    """Where each dotted field (or its table) is written in one TOML file: the file is read
    and scanned once, then asked for any number of fields (many errors, many sweep points).

    pydantic reports key paths, not lines; this maps them back for error messages.
    Handles ``[a.b]`` tables, ``a.b = ...`` dotted keys and top-level keys; not inline
    tables. Reads like read_toml (a link followed, then only a regular file of bounded
    size); an unreadable file locates nothing: this only adds line numbers to messages.
    The file is read at the first question, not before.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._tables: dict[tuple[str, ...], int] = {}  # first line of each [table]
        self._keys: dict[tuple[str, ...], int] = {}  # first line setting each full key
        self._scanned = False

    def _scan(self) -> None:
        self._scanned = True
        try:
            text = files.read_text(resolve_path(self.path), files.MAX_TOML_BYTES)
        except (OSError, RuntimeError, ValueError):
            return
        table: tuple[str, ...] = ()
        for number, line in enumerate(text.split("\n"), start=1):  # TOML's newlines only
            if line.lstrip().startswith("[["):
                continue
            if m := _TABLE.match(line):
                table = tuple(part.strip().strip("\"'") for part in m.group(1).strip().split("."))
                self._tables.setdefault(table, number)
            elif m := _KEY.match(line):
                key = tuple(part.strip().strip("\"'") for part in m.group(1).split("."))
                self._keys.setdefault(table + key, number)

    def line(self, field: str) -> int | None:
        """The first line that writes the table `field`, the key `field` or a key above it
        (``model = {...}`` for model.widths)."""
        if not self._scanned:
            self._scan()
        target = tuple(field.split("."))
        found = [self._tables.get(target)]
        found += [self._keys.get(target[:n]) for n in range(1, len(target) + 1)]
        numbers = [n for n in found if n is not None]
        return min(numbers) if numbers else None


def locate_field(path: str | Path, field: str) -> int | None:
    """The 1-based line at which a dotted field (or its table) is written in a TOML file."""
    return FieldLines(path).line(field)


def field_lines(files: Sequence[Path | FieldLines] | None) -> list[FieldLines]:
    """FieldLines for each file of a preset; those given already scanned are kept."""
    return [f if isinstance(f, FieldLines) else FieldLines(f) for f in files or ()]


# What a bounded field allows and why, in place of pydantic's "Input should be ...".
_SEED_NOTE = (
    f"a seed must be in 0..{MAX_SEED} (2^63 - 1): torch takes at most 2^64 - 1"
    " and the engine also seeds seed + 1"
)
BOUND_NOTES = {
    "data.p": f"p must be a prime in 2..{MAX_P}: the task has p^2 tuples,"
    f" at most {MAX_EXAMPLES:,} are allowed",
    "data.split_seed": _SEED_NOTE,
    "train.seed": _SEED_NOTE,
}


def _location(location: Iterable[Any]) -> list[str]:
    """pydantic's error location as the keys a user wrote."""
    loc = [str(part) for part in location]
    # A discriminated union puts the tag in the location: model.transformer.heads -> model.heads.
    if len(loc) >= 2 and loc[0] == "model" and loc[1] in MODEL_TYPES:
        loc.pop(1)
    return [part for part in loc if not part.startswith("function-")]


def field_of(location: Iterable[Any]) -> str:
    """pydantic's error location as the dotted field a user wrote: model.heads."""
    return ".".join(_location(location))


def schema_error(
    err: Mapping[str, Any], raw: Mapping[str, Any], files: list[FieldLines], overridden: set[str]
) -> PresetError:
    """One pydantic error (or one shaped like it) as a PresetError: the field a user wrote,
    a message that says what is allowed, and the file and line that set it (``--set`` for
    an overridden field; else the first file, child first, that writes it or its table)."""
    loc = _location(err["loc"])
    field = ".".join(loc) or "<preset>"
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = f"unknown field; allowed here: {', '.join(_allowed_fields(loc[:-1], raw))}"
    elif err["type"] == "union_tag_invalid":
        message = (
            f"unknown model type {short_repr(err['input'].get('type'))};"
            f" allowed: {', '.join(MODEL_TYPES)}"
        )
    elif err["type"] == "union_tag_not_found":
        message = f"missing 'type'; allowed: {', '.join(MODEL_TYPES)}"
    elif err["type"] != "value_error" and "input" in err and not isinstance(err["input"], dict):
        message = f"{BOUND_NOTES.get(field, message)} (got {short_repr(err['input'])})"
    if field in overridden or any(field.startswith(o + ".") for o in overridden):
        return PresetError(message, file="--set", field=field)
    for file in files:
        line = file.line(field)
        if line is not None:
            return PresetError(message, file=file.path, line=line, field=field)
    # Not written in any file (a missing field, or a table-level check): name the section.
    for file in files:
        line = file.line(".".join(loc[:-1])) if len(loc) > 1 else None
        if line is not None:
            return PresetError(message, file=file.path, line=line, field=field)
    return PresetError(message, file=files[0].path if files else None, field=field)


def _allowed_fields(section: list[str], raw: Mapping[str, Any]) -> list[str]:
    model: type[BaseModel] = Preset
    for part in section:
        if model is Preset and part == "model":
            kind = (
                raw.get("model", {}).get("type", "transformer")
                if isinstance(raw.get("model"), dict)
                else "transformer"
            )
            model = {"transformer": TransformerConfig, "mlp": MLPConfig}.get(kind, RecurrentConfig)
            continue
        annotation = model.model_fields[part].annotation if part in model.model_fields else None
        candidates = [
            a for a in getattr(annotation, "__args__", (annotation,)) if isinstance(a, type)
        ]
        nested = [a for a in candidates if issubclass(a, BaseModel)]
        if not nested:
            break
        model = nested[0]
    return list(model.model_fields)

"""From files to a validated Preset and back: extends, --set overrides, merging, saving.

A preset file may extend a base preset (deep-merged, child over base) and the command
line may override any field (``--set optim.lr=3e-4``); both follow the same merge rules.
validate_preset is the one door to a Preset from what a user wrote: every error comes
out located (locate.py), and a preset too large for this machine is refused (memory.py).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from grok_tui import files
from grok_tui.config.errors import PresetError, PresetErrors, cut_text, short_repr
from grok_tui.config.locate import FieldLines, field_lines, field_of, locate_field, schema_error
from grok_tui.config.memory import memory_problem
from grok_tui.config.reading import (
    MAX_TOML_DEPTH,
    nesting_depth,
    parse_toml,
    read_error_text,
    read_toml,
    resolve_path,
    too_deep_message,
)
from grok_tui.config.schema import MAX_SEED, USER_INPUT, Preset

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

MAX_EXTENDS_DEPTH = 32  # files in one extends chain: a longer one is a loop or a mistake
MAX_REPORTED_ERRORS = 20  # schema errors of one preset that are located and printed

# Keys of one table that say the same thing two ways: a layer (a child preset, an
# override, a sweep point) that sets one replaces the other inherited from below.
ALTERNATIVES = {"train": (("steps", "epochs"),)}


def alternatives_of(field: str) -> list[str]:
    """The dotted fields that say what `field` says another way: train.steps -> [train.epochs]."""
    table, _, key = field.rpartition(".")
    return [
        f"{table}.{other}"
        for pair in ALTERNATIVES.get(table, ())
        for mine, other in (pair, pair[::-1])
        if mine == key
    ]


def deep_merge(
    base: Mapping[str, Any], override: Mapping[str, Any], table: str = ""
) -> dict[str, Any]:
    """Merge override into base, recursing into tables.

    A ``[model]`` table whose ``type`` differs from the base's replaces it whole:
    the fields of one model family mean nothing to another. ``train.steps`` and
    ``train.epochs`` replace each other (ALTERNATIVES).
    """
    merged = dict(base)
    for key in override:
        for other in alternatives_of(f"{table}.{key}"):
            if (name := other.rpartition(".")[2]) not in override:
                merged.pop(name, None)
    for key, value in override.items():
        old = merged.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            if "type" in value and "type" in old and value["type"] != old["type"]:
                merged[key] = dict(value)
            else:
                merged[key] = deep_merge(old, value, f"{table}.{key}" if table else key)
        else:
            merged[key] = value
    return merged


def resolve_extends(path: Path, chain: tuple[Path, ...]) -> tuple[dict[str, Any], list[Path]]:
    """The merged raw dict of a preset and its bases, and the files it came from (child first).

    Links are followed (a linked preset is legitimate); a chain longer than
    MAX_EXTENDS_DEPTH files is refused, so hundreds of files or a loop end in a message.
    """
    try:
        path = resolve_path(Path(path))
    except (OSError, RuntimeError, ValueError) as exc:
        raise PresetError(f"cannot read: {read_error_text(exc)}", file=path) from None
    if path in chain:
        cycle = " -> ".join(p.name for p in (*chain, path))
        raise PresetError(f"extends cycle: {cycle}", file=chain[-1], field="extends")
    if len(chain) >= MAX_EXTENDS_DEPTH:
        raise PresetError(
            f"extends goes deeper than {MAX_EXTENDS_DEPTH} files"
            f" ({chain[0].name} -> {chain[1].name} -> ... -> {path.name})",
            file=chain[-1],
            line=locate_field(chain[-1], "extends"),
            field="extends",
        )
    raw = read_toml(path)
    base_ref = raw.pop("extends", None)
    if base_ref is None:
        return raw, [path]

    def extends_error(message: str) -> PresetError:
        return PresetError(message, file=path, line=locate_field(path, "extends"), field="extends")

    if not isinstance(base_ref, str):
        raise extends_error(f"extends must be a path string, got {short_repr(base_ref)}")
    try:
        base_path = resolve_path(path.parent / base_ref)
        found = base_path.exists()
    except (OSError, RuntimeError, ValueError) as exc:
        raise extends_error(
            f"cannot use base preset {short_repr(base_ref)}: {read_error_text(exc)}"
        ) from None
    if not found:
        raise extends_error(
            f"base preset {short_repr(base_ref)} not found (looked for {cut_text(str(base_path))})"
        )
    base, base_files = resolve_extends(base_path, (*chain, path))
    return deep_merge(base, raw), [path, *base_files]


def parse_override(assignment: str) -> tuple[str, Any]:
    """``optim.lr=3e-4`` -> ("optim.lr", 3e-4); values are TOML, bare words are strings.

    Like a file, an override may not nest deeper than MAX_TOML_DEPTH (in its key or value).
    """
    if not isinstance(assignment, str) or "=" not in assignment:
        raise PresetError(
            f"override {short_repr(assignment)} must look like key=value", file="--set"
        )
    key, text = (s.strip() for s in assignment.split("=", 1))
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", key):
        raise PresetError(f"{short_repr(key)} is not a dotted field name", file="--set")
    if key.count(".") >= MAX_TOML_DEPTH:
        raise PresetError(too_deep_message(), file="--set", field=cut_text(key))
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text  # `--set data.operation=div` without quotes
    except RecursionError:
        raise PresetError(too_deep_message(), file="--set", field=key) from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise PresetError(
            f"invalid value: {cut_text(str(exc).split(';')[0])}", file="--set", field=key
        ) from None
    if nesting_depth(value) + key.count(".") >= MAX_TOML_DEPTH:
        raise PresetError(too_deep_message(), file="--set", field=key)
    return key, value


def apply_overrides(
    raw: dict[str, Any], overrides: Iterable[str | tuple[str, Any]]
) -> dict[str, Any]:
    """Apply dotted assignments to a raw preset dict, with the same merge rules as extends."""
    pairs = [parse_override(item) if isinstance(item, str) else item for item in overrides]
    seen: set[str] = set()
    for key, _ in pairs:
        for other in alternatives_of(key):
            if other in seen:
                raise PresetError(f"set {other} or {key}, not both", file="--set", field=key)
        seen.add(key)
    merged = dict(raw)
    owned = {id(merged): merged}
    for key, value in pairs:
        nested: Any = value
        for part in reversed(key.split(".")):
            nested = {part: nested}
        _merge_into(merged, nested, "", owned)
    return merged


def _merge_into(
    target: dict[str, Any], override: Mapping[str, Any], table: str, owned: dict[int, Any]
) -> None:
    """deep_merge(target, override) written into target: the same result, but a table is
    copied once (then owned) instead of once per override, so 50,000 overrides of one table
    take linear time. Only dicts in ``owned`` (made here) are ever changed."""
    for key in override:
        for other in alternatives_of(f"{table}.{key}"):
            if (name := other.rpartition(".")[2]) not in override:
                target.pop(name, None)
    for key, value in override.items():
        old = target.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            if "type" in value and "type" in old and value["type"] != old["type"]:
                target[key] = dict(value)
            else:
                if id(old) not in owned:
                    old = target[key] = dict(old)
                    owned[id(old)] = old
                _merge_into(old, value, f"{table}.{key}" if table else key, owned)
        else:
            target[key] = value


def load_preset(path: str | Path, overrides: Iterable[str | tuple[str, Any]] = ()) -> Preset:
    """Read a preset file (following ``extends``), apply overrides, validate."""
    path = Path(path)
    raw, files = resolve_extends(path, ())
    raw.setdefault("name", path.stem)
    overrides = list(overrides)
    raw = apply_overrides(raw, overrides)
    overridden = {(parse_override(o)[0] if isinstance(o, str) else o[0]) for o in overrides}
    return validate_preset(raw, files=files, overridden=overridden)


def with_overrides(preset: Preset, overrides: Iterable[str | tuple[str, Any]]) -> Preset:
    """A copy of a preset with dotted overrides applied and validated (errors name ``--set``)."""
    overrides = list(overrides)
    raw = apply_overrides(preset.to_dict(), overrides)
    overridden = {(parse_override(o)[0] if isinstance(o, str) else o[0]) for o in overrides}
    return validate_preset(raw, files=[], overridden=overridden)


def preset_from_toml(text: str, *, file: str | Path = "<preset>") -> Preset:
    """Validate a preset given as text (the TUI's editor); ``extends`` is not followed."""
    raw = parse_toml(text, file=file)
    if "extends" in raw:
        raise PresetError(
            "extends is only followed when loading from a file", file=file, field="extends"
        )
    return validate_preset(raw, files=[])


def validate_preset(
    raw: Mapping[str, Any],
    *,
    files: Sequence[Path | FieldLines] | None = None,
    overridden: set[str] | None = None,
    check_memory: bool = True,
) -> Preset:
    """Validate a raw dict; each error names the file and line where the field is set.

    A preset that validates but could not fit in this machine's memory is refused too
    (memory_estimate), naming the field that makes it large; ``check_memory=False`` for
    the frozen preset of an existing run, which may come from a larger machine. ``files`` may hold
    FieldLines already read (a sweep validates many points against the same files);
    the others are read once, and only when there is an error to locate.
    """
    overridden = overridden or set()
    raw = dict(raw)
    if isinstance(raw.get("model"), Mapping) and "type" not in raw["model"]:
        raw["model"] = {"type": "transformer", **raw["model"]}  # the default model family
    huge = _huge_integers(raw)  # reported with, and instead of, pydantic's errors there
    try:
        preset = Preset.model_validate(raw, context={USER_INPUT: True})
        details: list[Any] = []
    except ValidationError as exc:
        details = exc.errors()
    if huge:
        where = {field_of(err["loc"]) for err in huge}
        details = huge + [d for d in details if field_of(d["loc"]) not in where]
    if details:
        lines = field_lines(files)
        errors = [
            schema_error(err, raw, lines, overridden) for err in details[:MAX_REPORTED_ERRORS]
        ]
        if len(details) == 1:
            raise errors[0]
        raise PresetErrors(errors, hidden=len(details) - len(errors))
    if check_memory and (problem := memory_problem(preset)) is not None:
        field, message = problem
        err = {"loc": tuple(field.split(".")), "msg": message, "type": "value_error"}
        raise schema_error(err, raw, field_lines(files), overridden)
    return preset


def _huge_integers(raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    """pydantic-style errors for integers past 2^63 - 1 anywhere in a raw preset.

    No field needs one, and one that an unbounded field (eval_every, warmup_steps)
    accepted could not be written back: tomli-w and json call str(), which raises past
    4300 digits. Iterative: the raw dict may be nested MAX_TOML_DEPTH deep.
    """
    found: list[dict[str, Any]] = []
    stack: list[tuple[tuple[str, ...], Any]] = [((), raw)]
    message = f"an integer here must be at most 2^63 - 1 ({MAX_SEED})"
    while stack and len(found) < MAX_REPORTED_ERRORS:
        loc, container = stack.pop()
        items = container.items() if hasattr(container, "items") else enumerate(container)
        for key, value in items:
            if isinstance(value, int):  # bool is an int too, but a small one
                if not -MAX_SEED <= value <= MAX_SEED:
                    err = {"loc": (*loc, str(key)), "msg": message, "type": "less_than_equal"}
                    found.append({**err, "input": value})
            elif isinstance(value, dict | list | tuple) or (
                not isinstance(value, str | float) and isinstance(value, Mapping)
            ):
                stack.append(((*loc, str(key)), value))
    return found


def save_preset(preset: Preset, path: str | Path) -> Path:
    """Write a preset as TOML (every field resolved); loading it gives an equal preset."""
    path = Path(path)
    files.make_dirs(path.parent)
    files.write_text_atomic(path, preset.to_toml())
    return path


# Values that are never a table: flatten skips the Mapping check (an ABC's, slow) for them
_SCALARS = frozenset({int, float, str, bool, type(None), list})


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested tables as dotted keys: {"optim": {"lr": 1}} -> {"optim.lr": 1}."""
    flat: dict[str, Any] = {}
    for key, item in value.items():
        dotted = f"{prefix}{key}"
        if type(item) is dict or (type(item) not in _SCALARS and isinstance(item, Mapping)):
            flat.update(flatten(item, dotted + "."))
        else:
            flat[dotted] = item
    return flat

"""What Save as writes and proposes: the least text that loads as the form's preset.

Saving into a preset's own file edits that file's text (views/toml_edit.py): comments,
order and layout stay, only the keys that changed are rewritten, and no default the
file did not state is written. A new file starts as ``extends`` = the preset shown (or,
for a run's copy, nothing) plus the name, and gets only the keys that still differ.
Whatever cannot be done by text alone falls back to catalog.preset_file_text.
No Textual here.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import tomli_w

from grok_tui import files
from grok_tui.config import (
    Preset,
    PresetError,
    deep_merge,
    flatten,
    parse_toml,
    resolve_extends,
    validate_preset,
)
from grok_tui.config.json_schema import SCHEMA_FILE_NAME, schema_directive
from grok_tui.tui.catalog import preset_file_text, preset_sources
from grok_tui.tui.views.toml_edit import remove_key, set_key, stated

# Rounds of edits before giving up (a model family switch takes two: the type, then
# the fields of the new family that differ from its defaults).
ROUNDS = 6


def free_path(folder: Path, stem: str, avoid: Path | None = None) -> Path:
    """A file name in ``folder`` that no file has, nor ``avoid`` (the preset shown):
    ``stem.toml``, else ``stem-2.toml``, ``stem-3.toml``…"""
    numbered = re.fullmatch(r"(.+)-(\d+)", stem)
    root, number = (numbered.group(1), int(numbered.group(2))) if numbered else (stem, 1)
    candidate = folder / f"{stem}.toml"
    while candidate.exists() or (avoid is not None and candidate.stem == avoid.stem):
        number += 1
        candidate = folder / f"{root}-{number}.toml"
    return candidate


def _schema_line(folder: Path) -> str:
    for source in preset_sources():
        schema = source.path / SCHEMA_FILE_NAME
        if source.label == "shipped" and schema.is_file():
            return schema_directive(folder, schema)
    return ""


def load_text(text: str, target: Path) -> Preset | None:
    """The preset ``text`` is once saved at ``target`` (extends followed), or None."""
    try:
        raw = parse_toml(text, file=target)
        ref = raw.pop("extends", None)
        if isinstance(ref, str):
            raw = deep_merge(resolve_extends(target.parent / ref, ())[0], raw)
        elif ref is not None:
            return None
        raw.setdefault("name", target.stem)
        return validate_preset(raw, files=[])
    except (PresetError, OSError, ValueError):
        return None


def _flat(preset: Preset) -> dict[str, Any]:
    return {k: v for k, v in flatten(preset.to_dict()).items() if v is not None}


def _differing(have: Mapping[str, Any], want: Mapping[str, Any]) -> list[str]:
    keys = [*want, *(k for k in have if k not in want)]
    return [k for k in keys if have.get(k) != want.get(k)]


def _insert(text: str, keys: Iterable[str], want: Mapping[str, Any]) -> str | None:
    for key in keys:
        if key not in want:
            return None  # set by a base or a default, and cannot be unset here
        edited = set_key(text, key, want[key])
        if edited is None:
            return None
        text = edited
    return text


def edited_text(text: str, preset: Preset, target: Path) -> str | None:
    """``text`` edited until it loads at ``target`` as ``preset``: the keys it states are
    changed (or removed) in place, then the keys that still differ are added; None when
    text alone cannot get there."""
    current = load_text(text, target)
    want = _flat(preset)
    for _ in range(ROUNDS):
        if current is None:
            return None
        if current == preset:
            return text
        differing = _differing(_flat(current), want)
        edited: str | None = text
        for key in [k for k in differing if stated(text, k)]:
            edited = set_key(edited, key, want[key]) if key in want else remove_key(edited, key)
            if edited is None:
                return None
        if edited != text and (loaded := load_text(edited, target)) is not None:
            text, current = edited, loaded
            continue
        rest = [k for k in differing if not stated(text, k)]
        # a table's type first: the fields of its new kind then differ from their defaults
        typed = [k for k in rest if k.endswith(".type")]
        edited = _insert(edited, typed or rest, want)
        if edited is None:
            return None
        text, current = edited, load_text(edited, target)
    return text if current == preset else None


def file_text(
    preset: Preset, target: Path, base: Path | None = None, own: str | None = None
) -> str:
    """The text that saves ``preset`` at ``target``, ``base`` being the file it was shown
    from (None: a run's copy). Into ``base`` itself: its own text (``own``: as the TOML
    tab holds it, else read from disk) with only what changed edited. Elsewhere:
    ``extends`` = ``base`` and the name, plus only the keys that differ."""
    target = Path(target).absolute()
    starts: list[str | None] = []
    if base is not None and base.absolute().resolve() == target.resolve():
        starts.append(own)
        with contextlib.suppress(OSError, ValueError):
            starts.append(files.read_text(target, files.MAX_TOML_BYTES))
    else:
        head: dict[str, str] = {}
        if base is not None:
            head["extends"] = _extends_ref(base.absolute(), target)
        starts.append(_schema_line(target.parent) + tomli_w.dumps({**head, "name": preset.name}))
    for start in starts:
        if start is not None and (text := edited_text(start, preset, target)) is not None:
            return text
    return preset_file_text(preset, target, base)


def _extends_ref(base: Path, target: Path) -> str:
    """How ``target`` names ``base``: relative to its folder, unless that climbs far out."""
    relative = os.path.relpath(base, target.parent)
    return base.as_posix() if relative.startswith("../..") else Path(relative).as_posix()


def save_file(
    preset: Preset, target: Path, base: Path | None = None, own: str | None = None
) -> str:
    """Write :func:`file_text` at ``target`` (atomically); the text written."""
    text = file_text(preset, target, base, own)
    files.make_dirs(Path(target).parent)
    files.write_text_atomic(Path(target), text)
    return text

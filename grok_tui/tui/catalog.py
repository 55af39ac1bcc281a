"""Where presets come from, and each one's verdict: the data of the Presets screen.

The shipped presets are found relative to the package (the repository's ``presets/``
beside it, or the copy bundled inside an installed package), then the current
directory's ``presets/`` and every ``--presets DIR``. No Textual import here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

import grok_tui
from grok_tui import files
from grok_tui.config import (
    Preset,
    PresetError,
    apply_overrides,
    deep_merge,
    load_preset,
    parse_toml,
    read_toml,
    resolve_extends,
    validate_preset,
)
from grok_tui.config.json_schema import SCHEMA_FILE_NAME, schema_directive


@dataclass(frozen=True)
class PresetSource:
    path: Path
    label: str  # shipped, local, or the folder given with --presets


@dataclass
class PresetEntry:
    """One preset file: its validated preset, or the error that says why it is invalid.

    A sweep file (a preset with a ``[sweep]`` table) has ``sweep`` set to a one-line
    description of its points instead of a preset.
    """

    path: Path
    source: str
    preset: Preset | None = None
    error: str | None = None
    sweep: str | None = None
    folder: str = ""  # the group heading: source label plus the subfolder, e.g. shipped/report
    checked: bool = True  # a sweep's points built and validated (else only counted)

    @property
    def valid(self) -> bool:
        return self.preset is not None or self.sweep is not None

    @property
    def name(self) -> str:
        return self.preset.name if self.preset else self.path.stem


def preset_sources(
    extra_dirs: list[Path] | None = None, cwd: Path | None = None
) -> list[PresetSource]:
    """The folders to list, without duplicates, shipped ones first."""
    package = Path(grok_tui.__file__).resolve().parent
    candidates = [
        PresetSource(package.parent / "presets", "shipped"),
        PresetSource(package / "presets", "shipped"),
        PresetSource((cwd or Path.cwd()) / "presets", "local"),
        *(PresetSource(Path(d), str(d)) for d in extra_dirs or []),
    ]
    seen: set[Path] = set()
    sources = []
    for source in candidates:
        resolved = source.path.resolve()
        if resolved in seen or not resolved.is_dir():
            continue
        seen.add(resolved)
        sources.append(PresetSource(resolved, source.label))
    return sources


def _read_raw(path: Path) -> tuple[dict[str, Any], list[Path], bool] | None:
    """The file with its ``extends`` chain merged (sweep.read_raw), its chain, and whether
    it is a sweep: read once for both questions, is it a sweep and what preset is it.
    None when it does not read (then load_preset says why)."""
    try:
        from grok_tui.sweep.spec import SWEEP_TABLE, read_raw
    except ImportError:  # pragma: no cover - sweeps are optional to this screen
        return None
    try:
        raw, chain = read_raw(path)
    except (PresetError, OSError):
        return None
    return raw, chain, SWEEP_TABLE in raw


def _sweep_entry(
    path: Path, source: str, raw: dict[str, Any], chain: list[Path], check_points: bool = True
) -> PresetEntry:
    """As load_sweep(path) then describe, from the raw dict already read. Without
    ``check_points`` its points are counted, not built and validated (PresetEntry.checked
    says which): the list is drawn first, its sweeps checked right after."""
    from grok_tui.sweep import describe
    from grok_tui.sweep.spec import SWEEP_TABLE, count_points, sweep_from_raw, too_many_points

    try:
        try:
            sweep = sweep_from_raw(raw, files=chain)
            if check_points:
                points: Sized = sweep.points()
            else:
                count = count_points(sweep.axes, sweep.mode, sweep.zip_groups)
                if message := too_many_points(count):
                    raise PresetError(message, file=sweep.file, field=SWEEP_TABLE)
                points = range(count)  # as many as points() makes when they all validate
        except PresetError as exc:
            if exc.file is None:
                exc.file = str(path)
            raise
        return PresetEntry(
            path,
            source,
            sweep=f"sweep {sweep.name} · {describe(sweep, points)}",
            checked=check_points,
        )
    except PresetError as exc:
        return PresetEntry(path, source, error=str(exc), sweep=None)


def load_entry(path: Path, source: str, *, check_points: bool = True) -> PresetEntry:
    """The file's verdict: a sweep, a valid preset (as load_preset gives it) or an error.
    Each file of its extends chain is read once here, not once per question."""
    try:
        read = _read_raw(path)
        if read is None:
            return PresetEntry(path, source, preset=load_preset(path))
        raw, chain, sweep = read
        if sweep:
            return _sweep_entry(path, source, raw, chain, check_points)
        # load_preset(path) without overrides, from the raw dict already read
        preset = validate_preset(apply_overrides(raw, []), files=chain, overridden=set())
        return PresetEntry(path, source, preset=preset)
    except PresetError as exc:
        return PresetEntry(path, source, error=str(exc))
    except Exception as exc:  # a preset must never take the app down
        return PresetEntry(path, source, error=f"{path}: {type(exc).__name__}: {exc}")


def discover_presets(
    sources: list[PresetSource], *, check_points: bool = True
) -> list[PresetEntry]:
    """Every ``*.toml`` of the sources (subfolders too), each with its verdict (a sweep's
    points counted only, without ``check_points``: check_sweeps does the rest)."""
    entries = []
    for source in sources:
        paths = [p for p in source.path.rglob("*.toml") if p.is_file()]
        # the folder's own files first, then each subfolder's, each group by name
        for path in sorted(paths, key=lambda p: (p.parent != source.path, str(p.parent), p.name)):
            entry = load_entry(path, source.label, check_points=check_points)
            sub = path.parent.relative_to(source.path).as_posix()
            entry.folder = source.label if sub == "." else f"{source.label}/{sub}"
            entries.append(entry)
    return entries


def check_sweeps(entries: list[PresetEntry]) -> list[PresetEntry] | None:
    """The entries with every unchecked sweep's points built and validated; None when
    each verdict stays as it was (the list need not be drawn again)."""
    checked, moved = [], False
    for entry in entries:
        if entry.sweep is not None and not entry.checked:
            fresh = load_entry(entry.path, entry.source)
            fresh.folder = entry.folder
            moved = moved or (fresh.sweep, fresh.error) != (entry.sweep, entry.error)
            entry = fresh
        checked.append(entry)
    return checked if moved else None


def default_save_dir(extra_dirs: list[Path] | None = None, cwd: Path | None = None) -> Path:
    """Where "save as" proposes to write: the first --presets folder, else ./presets."""
    if extra_dirs:
        return Path(extra_dirs[0])
    return (cwd or Path.cwd()) / "presets"


# -- saving: the base preset plus what differs -------------------------------------------------


def differences(new: Mapping[str, Any], old: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``new`` that ``old`` lacks or holds another value for, nested.

    A table whose ``type`` changed is kept whole: extends replaces such a table instead
    of merging it (config.deep_merge), so its other fields must all be written.
    """
    out: dict[str, Any] = {}
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, Mapping) and isinstance(before, Mapping):
            if "type" in value and value.get("type") != before.get("type"):
                out[key] = dict(value)
            elif inner := differences(value, before):
                out[key] = inner
        elif key not in old or value != before:
            out[key] = value
    return out


def _extends_ref(base: Path, target: Path) -> str:
    """How ``target`` names ``base``: relative to its folder, unless that climbs far out."""
    relative = os.path.relpath(base, target.parent)
    return base.as_posix() if relative.startswith("../..") else Path(relative).as_posix()


def _base_of(target: Path, base: Path | None) -> tuple[Path | None, str | None]:
    """The base file to extend and how to write it. Saving over the base file itself
    extends what that file extended (a file cannot extend itself)."""
    if base is None:
        return None, None
    base = base.resolve()
    if base != target.resolve():
        return base, _extends_ref(base, target)
    ref = read_toml(base).get("extends")
    if not isinstance(ref, str):
        return None, None
    return (base.parent / ref).resolve(), ref


def _loads_as(text: str, target: Path, base: Path | None, preset: Preset) -> bool:
    """Whether ``text`` saved at ``target`` loads back as ``preset`` (extends resolved)."""
    try:
        raw = parse_toml(text, file=target)
        raw.pop("extends", None)
        if base is not None:
            raw = deep_merge(resolve_extends(base, ())[0], raw)
        return validate_preset(raw, files=[]) == preset
    except PresetError:
        return False


def preset_file_text(preset: Preset, target: Path, base: Path | None = None) -> str:
    """The TOML that saves ``preset`` at ``target``: ``extends`` the base file, then only the
    fields that differ from it (the name always), not every default.

    Without a base file (a run's preset) the fields are those that differ from the schema's
    defaults. Extends cannot remove a field the base sets (an SGD momentum when the copy
    uses AdamW): when the short form would not load back equal, the base's defaults are
    used instead, and as a last resort every field is written. The first line points
    editors at the shipped JSON Schema (``#:schema``), as the shipped presets' do.
    """
    wanted = preset.to_dict()
    target = Path(target).absolute()
    schema_line = _schema_line(target.parent)
    try:
        first = _base_of(target, base)
    except PresetError:  # the base no longer reads: write without it
        first = (None, None)
    for base_path, ref in [first, (None, None)] if first[0] else [first]:
        try:
            below = load_preset(base_path).to_dict() if base_path else Preset().to_dict()
        except PresetError:
            continue
        delta = differences(wanted, below)
        head = {"extends": ref} if ref else {}
        text = tomli_w.dumps({**head, "name": preset.name, **delta})
        if _loads_as(text, target, base_path, preset):
            return schema_line + text
    return schema_line + preset.to_toml()


def _schema_line(folder: Path) -> str:
    """``#:schema`` and the shipped JSON Schema, as a preset in ``folder`` reaches it."""
    for source in preset_sources():
        schema = source.path / SCHEMA_FILE_NAME
        if source.label == "shipped" and schema.is_file():
            return schema_directive(folder, schema)
    return ""


def save_preset_file(preset: Preset, target: Path, base: Path | None = None) -> Path:
    """Write ``preset`` at ``target`` as :func:`preset_file_text` says (atomically)."""
    target = Path(target)
    files.make_dirs(target.parent)
    files.write_text_atomic(target, preset_file_text(preset, target, base))
    return target

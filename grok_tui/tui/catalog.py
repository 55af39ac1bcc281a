"""Where presets come from, and each one's verdict: the data of the Presets screen.

The shipped presets are found relative to the package (the repository's ``presets/``
beside it, or the copy bundled inside an installed package), then the current
directory's ``presets/`` and every ``--presets DIR``. No Textual import here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grok_tui
from grok_tui.config import Preset, PresetError, load_preset


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


def _is_sweep(path: Path) -> bool:
    try:
        from grok_tui.sweep import is_sweep_file
    except ImportError:  # pragma: no cover - sweeps are optional to this screen
        return False
    return is_sweep_file(path)


def _sweep_entry(path: Path, source: str) -> PresetEntry:
    from grok_tui.sweep import describe, load_sweep

    try:
        sweep = load_sweep(path)
        return PresetEntry(
            path, source, sweep=f"sweep {sweep.name} · {describe(sweep, sweep.points())}"
        )
    except PresetError as exc:
        return PresetEntry(path, source, error=str(exc), sweep=None)


def load_entry(path: Path, source: str) -> PresetEntry:
    try:
        if _is_sweep(path):
            return _sweep_entry(path, source)
        return PresetEntry(path, source, preset=load_preset(path))
    except PresetError as exc:
        return PresetEntry(path, source, error=str(exc))
    except Exception as exc:  # a preset must never take the app down
        return PresetEntry(path, source, error=f"{path}: {type(exc).__name__}: {exc}")


def discover_presets(sources: list[PresetSource]) -> list[PresetEntry]:
    """Every ``*.toml`` of the sources (subfolders too), each with its verdict."""
    entries = []
    for source in sources:
        paths = [p for p in source.path.rglob("*.toml") if p.is_file()]
        # the folder's own files first, then each subfolder's, each group by name
        for path in sorted(paths, key=lambda p: (p.parent != source.path, str(p.parent), p.name)):
            entry = load_entry(path, source.label)
            sub = path.parent.relative_to(source.path).as_posix()
            entry.folder = source.label if sub == "." else f"{source.label}/{sub}"
            entries.append(entry)
    return entries


def default_save_dir(extra_dirs: list[Path] | None = None, cwd: Path | None = None) -> Path:
    """Where "save as" proposes to write: the first --presets folder, else ./presets."""
    if extra_dirs:
        return Path(extra_dirs[0])
    return (cwd or Path.cwd()) / "presets"

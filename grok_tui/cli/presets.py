"""Shipped presets by name (``quickstart``, ``classic/nanda-p113``), and the commands
that list them (``presets``) and check preset files (``validate``)."""

from __future__ import annotations

import argparse
import difflib
import json
import os
from pathlib import Path
from typing import Any

from grok_tui.cli.table import Column, or_list, print_table
from grok_tui.config import PresetError, load_preset, task_size_label
from grok_tui.errors import UserError, cut_text
from grok_tui.rundirs.stopping import EXIT_BAD_INPUT, EXIT_OK
from grok_tui.sweep import is_sweep_file, validation_verdict
from grok_tui.text import safe_text


def shipped_presets() -> dict[str, Path]:
    """Every shipped preset by name: its path under the shipped folder without ``.toml``
    (``quickstart``, ``classic/nanda-p113``, ``report/sweeps/mlp-width``), top-level files
    first. The folder is the one the TUI lists as shipped (tui/catalog.preset_sources:
    the repository's presets/, or the copy installed as grok_tui.presets)."""
    from grok_tui.tui.catalog import preset_sources  # torch-free and Textual-free

    found: dict[str, Path] = {}
    for source in preset_sources():
        if source.label != "shipped":
            continue
        paths = [p for p in source.path.rglob("*.toml") if p.is_file()]
        for path in sorted(paths, key=lambda p: (p.parent != source.path, str(p.parent), p.name)):
            found.setdefault(path.relative_to(source.path).with_suffix("").as_posix(), path)
    return found


def find_shipped(name: str, shipped: dict[str, Path] | None = None) -> Path | None:
    """The shipped preset a name means (``quickstart``, ``classic/nanda-p113.toml``, or a
    file name that only one shipped preset has: ``nanda-p113``), else None."""
    if not name or Path(name).is_absolute():
        return None
    shipped = shipped_presets() if shipped is None else shipped
    key = name.removesuffix(".toml")
    if key in shipped:
        return shipped[key]
    same_stem = [path for n, path in shipped.items() if n.rsplit("/", 1)[-1] == key]
    return same_stem[0] if len(same_stem) == 1 else None


def resolve_preset(ref: str) -> str:
    """A preset argument as a path: the file when there is one, else the shipped preset of
    that name. A name that is neither is a PresetError naming the closest shipped ones
    (an absolute path keeps load_preset's own "file not found")."""
    if os.path.lexists(ref) or Path(ref).is_absolute():
        return ref
    shipped = shipped_presets()
    path = find_shipped(ref, shipped)
    if path is not None:
        return str(path)
    key = ref.removesuffix(".toml")
    stems = {n.rsplit("/", 1)[-1]: n for n in reversed(shipped)}  # the first wins
    close = difflib.get_close_matches(key, list(shipped), n=3, cutoff=0.6)
    close += [stems[s] for s in difflib.get_close_matches(key, list(stems), n=3, cutoff=0.6)]
    close = list(dict.fromkeys(close))[:3]
    meant = f"; did you mean {or_list(close)}?" if close else ""
    raise PresetError(
        f"file not found, nor a shipped preset{meant} (grok-tui presets lists them)", file=ref
    )


def _description(path: Path) -> tuple[dict[str, Any], str | None]:
    """A preset's raw table (its bases merged in) without validating it; or why not."""
    from grok_tui.config.loading import resolve_extends

    try:
        raw, _ = resolve_extends(path, ())
    except UserError as exc:
        return {}, str(exc)
    return raw, None


def presets_handler(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``grok-tui presets``: name and the first line of the description, one per line."""
    shipped = shipped_presets()
    if args.names:
        for name in shipped:
            print(safe_text(name))
        return EXIT_OK
    rows = []
    for name, path in shipped.items():
        raw, error = _description(path)
        description = raw.get("description")
        rows.append(
            {
                "name": name,
                "preset": raw.get("name") if isinstance(raw.get("name"), str) else path.stem,
                "sweep": isinstance(raw.get("sweep"), dict),
                "description": description.strip() if isinstance(description, str) else "",
                "path": str(path),
                "error": error,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    if not rows:
        print("no shipped presets found (an installation without grok_tui/presets?)")
        return EXIT_OK
    lines = []
    for row in rows:
        about = " ".join(row["description"].split())
        if row["error"]:
            about = f"unreadable: {row['error']}"
        elif row["sweep"]:
            about = f"[sweep] {about}"
        lines.append((row["name"], cut_text(about, 100)))
    width = max(len(safe_text(name)) for name, _ in lines)
    print_table([Column(width=width), Column(gap=2)], lines, header=False)
    return EXIT_OK


def validate_handler(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    bad = 0
    # Every line goes through safe_text: a preset's name, a file name and an error that
    # quotes a file's content may hold escapes (an OSC that retitles the terminal).
    for given in args.files:
        try:
            name = resolve_preset(given)  # a shipped preset's name: its file
            if is_sweep_file(name):
                ok, lines = validation_verdict(name, args.overrides)
                bad += not ok
                for line in lines:
                    print(safe_text(line))
                continue
            preset = load_preset(name, args.overrides)
        except UserError as exc:
            bad += 1
            print(f"INVALID {safe_text(given)}")
            for line in str(exc).splitlines():
                print(f"  {safe_text(line)}")
        else:
            model = preset.model.type
            task_size = task_size_label(preset.data.operation, preset.data.p)
            print(
                safe_text(
                    f"ok      {given}: {preset.name} · {preset.data.operation} {task_size} · "
                    f"{model} · {preset.optim.name} lr={preset.optim.lr:g} · "
                    f"{preset.train.steps} steps"
                )
            )
    return EXIT_BAD_INPUT if bad else EXIT_OK

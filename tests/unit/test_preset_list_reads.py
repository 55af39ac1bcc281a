"""The Presets screen's list (grok_tui/tui/catalog.py) reads each preset file once: it is
read after the first frame, and with 96 shipped files reading each twice (is it a sweep?
then load it) was a third of the time until the presets were listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from grok_tui import files
from grok_tui.tui.catalog import discover_presets, preset_sources


def test_the_preset_list_reads_each_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether a file is a sweep and what preset it is come from one read of it (the list
    is read after the first frame, and 96 shipped files were read twice each)."""
    (tmp_path / "plain.toml").write_text('name = "plain"\n[optim]\nlr = 0.002\n')
    (tmp_path / "grid.toml").write_text(
        'name = "grid"\n[sweep]\n"optim.lr" = [0.001, 0.002]\n', encoding="utf-8"
    )
    read: list[Path] = []
    real = files.read_text

    def counted(path: Path, *args: object, **kwargs: object) -> str:
        if Path(path).parent == tmp_path.resolve():
            read.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(files, "read_text", counted)
    sources = [s for s in preset_sources([tmp_path]) if s.path == tmp_path.resolve()]
    entries = {e.name: e for e in discover_presets(sources)}
    assert entries["plain"].preset is not None and entries["plain"].preset.optim.lr == 0.002
    assert entries["grid"].sweep is not None and entries["grid"].sweep.startswith("sweep grid")
    assert sorted(read) == ["grid.toml", "plain.toml"]

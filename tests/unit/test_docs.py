"""The documents name presets that exist: a row of docs/REPRODUCE.md a user cannot run is a
broken promise."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PATH = re.compile(r"(?<![\w/.-])(presets/[\w./{},-]+?\.toml)")


def expand(path: str) -> list[str]:
    """`a-{x,y}.toml` -> a-x.toml, a-y.toml (the rows' shorthand for a family)."""
    parts = re.split(r"\{([^}]*)\}", path)
    choices = [[p] if i % 2 == 0 else p.split(",") for i, p in enumerate(parts)]
    return ["".join(c) for c in itertools.product(*choices)]


def named_presets(document: Path) -> list[str]:
    """Every preset path the document names; a name in capitals (SWEEP.toml) is a placeholder."""
    found = {p for m in PATH.findall(document.read_text()) for p in expand(m)}
    return sorted(p for p in found if not re.search(r"/[A-Z_]+\.toml$", p))


@pytest.mark.parametrize("document", ["docs/REPRODUCE.md", "README.md"])
def test_every_preset_a_document_names_exists(document: str) -> None:
    named = named_presets(REPO / document)
    assert named, f"{document} names no preset: the pattern is stale"
    missing = [p for p in named if not (REPO / p).is_file()]
    assert not missing, f"{document} names presets that do not exist: {missing}"


def test_braces_expand_to_each_member() -> None:
    assert expand("presets/a-{x,y}.toml") == ["presets/a-x.toml", "presets/a-y.toml"]
    assert expand("presets/b.toml") == ["presets/b.toml"]

"""The rules of the house that imports can show (docs/DESIGN.md rules 3 and 4)."""

from __future__ import annotations

import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path

import grok_tui
import grok_tui.tui
from tests.conftest import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def contracts() -> dict[str, dict]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    return {c["name"]: c for c in config["tool"]["importlinter"]["contracts"]}


def test_the_import_contracts_hold() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_every_module_is_in_a_layer_and_the_layers_are_the_design_s() -> None:
    """The layers contract is exhaustive: a new top-level module must take its place."""
    (layers,) = [c for c in contracts().values() if c["type"] == "layers"]
    assert layers["exhaustive"] is True
    assert layers["layers"] == [
        "cli | notebook",
        "tui",
        "sweep | analysis | bench | export",
        "training",
        "rundirs",
        "config",
        "formats | errors | colours",
        "files | text",
    ]
    top = {m.name for m in pkgutil.iter_modules(grok_tui.__path__)} - {"__main__"}
    named = {n.strip() for layer in layers["layers"] for n in layer.split("|")}
    assert top == named


# One planted import per contract, each an arrow the design forbids.
VIOLATIONS = {
    "grok_tui/config/tasks.py": "import grok_tui.rundirs.store",  # layers: config below rundirs
    "grok_tui/analysis/paths.py": "import grok_tui.sweep.labels",  # independence
    "grok_tui/rundirs/curves.py": "import torch",  # run directories stay torch-free
    "grok_tui/tui/catalog.py": "import grok_tui.training.losses",  # the TUI never trains
    "grok_tui/training/losses.py": "import textual",  # nothing below the TUI draws a UI
    "grok_tui/tui/views/__init__.py": "import textual",  # pure views
    "grok_tui/tui/screens/help.py": "import grok_tui.tui.app",  # screens post messages
}


def test_each_contract_breaks_when_its_arrow_comes_back(tmp_path: Path) -> None:
    """The contracts can fail: a copy of the package with one forbidden import planted
    per contract breaks every one of them (lint-imports reads the copy, not the repo)."""
    shutil.copytree(
        REPO / "grok_tui", tmp_path / "grok_tui", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    for module, line in VIOLATIONS.items():
        with (tmp_path / module).open("a") as handle:
            handle.write(f"\n{line}  # planted\n")
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    tally = re.search(r"Contracts: (\d+) kept, (\d+) broken", result.stdout)
    assert tally is not None, result.stdout[-3000:]
    assert (int(tally[1]), int(tally[2])) == (0, len(contracts())), result.stdout[-3000:]


def test_no_screen_or_widget_loads_torch() -> None:
    """Screens load lazily, so importing app.py alone proves only the first frame."""
    names = [m.name for m in pkgutil.walk_packages(grok_tui.tui.__path__, prefix="grok_tui.tui.")]
    assert any(n.endswith("screens.analysis") for n in names)
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'matplotlib'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_every_package_ships() -> None:
    """pyproject lists the packages (presets/ maps into the package), so a new one must be added."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {
        ".".join(init.parent.relative_to(REPO).parts)
        for init in (REPO / "grok_tui").rglob("__init__.py")
    }
    # Each preset folder is listed too: setuptools warns about a data folder it finds
    # under a listed package but not in the list (issue 36).
    presets = REPO / "presets"
    preset_folders = {
        ".".join(("grok_tui", "presets", *d.relative_to(presets).parts))
        for d in [presets, *presets.rglob("*")]
        if d.is_dir() and any(d.glob("*.toml"))
    }
    assert set(config["packages"]) == on_disk | preset_folders
    assert config["package-dir"] == {"grok_tui.presets": "presets"}
    assert not (REPO / "grok_tui" / "presets").exists()  # no link: presets/ is the one copy


def test_only_the_launcher_starts_processes() -> None:
    """One module starts processes (docs/DESIGN.md): one place sets the child's environment,
    its session and its log. Others may hold and wait on a Popen, never create one."""
    starters = re.compile(
        r"subprocess\.(Popen|run|call|check_call|check_output)\(|os\.(fork|forkpty|system|popen|"
        r"exec\w*|spawn\w*|posix_spawn\w*)\(|import multiprocessing|from multiprocessing"
    )
    offenders = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in (REPO / "grok_tui").rglob("*.py")
        if path.name != "launch.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if starters.search(line)
    ]
    assert offenders == []

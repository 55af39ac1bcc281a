"""The rules of the house that imports can show (docs/DESIGN.md rules 3 and 4)."""

from __future__ import annotations

import pkgutil
import re
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

# Modules that may use the UI: the TUI itself and the command line that starts it.
UI_SIDE = {"tui", "cli", "__main__"}


def contracts() -> dict[str, dict]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    return {c["name"]: c for c in config["tool"]["importlinter"]["contracts"]}


def test_the_import_contracts_hold() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_the_no_ui_contract_covers_every_module_outside_the_tui() -> None:
    (rule4,) = [c for name, c in contracts().items() if "rule 4" in name]
    modules = {
        f"grok_tui.{m.name}"
        for m in pkgutil.iter_modules(grok_tui.__path__)
        if m.name not in UI_SIDE
    }
    assert set(rule4["source_modules"]) == modules
    assert {"textual", "plotext", "grok_tui.tui"} <= set(rule4["forbidden_modules"])


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
        if path.name != "launcher.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if starters.search(line)
    ]
    assert offenders == []

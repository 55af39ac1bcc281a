"""What an install gets (issue 36): bounds that were tested, every import declared,
extras by use, the license as setuptools reads it without a warning.

The lowest allowed versions run in `make test-lowest` (tests/lowest.txt); here, that the
pins there are the bounds of pyproject.toml. The package list that keeps the build free
of "Package would be ignored" is tests/unit/test_contracts.py's test_every_package_ships.
"""

from __future__ import annotations

import ast
import sys
from importlib import metadata
from itertools import chain

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name as canonical

from tests.conftest import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def lower_bound(requirement: Requirement) -> str | None:
    bounds = [s.version for s in requirement.specifier if s.operator == ">="]
    return bounds[0] if bounds else None


def test_every_lower_bound_is_what_make_test_lowest_installs() -> None:
    lines = (REPO / "tests" / "lowest.txt").read_text().splitlines()
    pins = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    pinned = {(r.name, str(r.marker)): next(iter(r.specifier)) for r in pins}
    assert all(spec.operator == "==" for spec in pinned.values())
    bounds = {}
    for requirement in map(Requirement, project()["dependencies"]):
        if requirement.name == "torch":  # installed first, as `make` does (Makefile)
            continue
        assert lower_bound(requirement), f"{requirement} has no tested lower bound"
        bounds[(requirement.name, str(requirement.marker))] = lower_bound(requirement)
    assert {key: spec.version for key, spec in pinned.items()} == bounds


def test_textual_is_bounded_to_the_major_version_that_was_tested() -> None:
    (textual,) = [r for r in map(Requirement, project()["dependencies"]) if r.name == "textual"]
    assert textual.specifier.contains("8.0.0") and textual.specifier.contains("8.99")
    assert not textual.specifier.contains("7.5.0") and not textual.specifier.contains("9.0.0")


def test_every_package_that_grok_tui_imports_is_declared() -> None:
    """In the base install or an extra (rich was imported by nine modules and declared
    nowhere): every import in grok_tui/, at any depth, mapped to its distribution."""
    imported = set()
    for path in (REPO / "grok_tui").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"grok_tui"}
    distributions = metadata.packages_distributions()
    declared = {
        canonical(Requirement(r).name)
        for r in [*project()["dependencies"], *chain(*project()["optional-dependencies"].values())]
    }
    provided_by = {m: {canonical(n) for n in distributions.get(m, [m])} for m in third_party}
    assert {m: names for m, names in provided_by.items() if not names & declared} == {}


def test_the_base_install_has_no_test_tools_and_no_ray() -> None:
    names = {Requirement(r).name for r in project()["dependencies"]}
    extras = project()["optional-dependencies"]
    assert not names & {"pytest", "ray", "ruff", "hypothesis", "matplotlib", "pandas"}
    assert {"analysis", "serve", "notebook", "cluster", "tensorboard", "dev"} <= set(extras)
    assert "pytest" in {Requirement(r).name for r in extras["dev"]}
    assert "ray" in {Requirement(r).name for r in extras["cluster"]}


def test_the_license_is_an_spdx_expression_with_its_file() -> None:
    assert project()["license"] == "MIT"
    assert project()["license-files"] == ["LICENSE"]
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("MIT License") and "grok-tui contributors" in text

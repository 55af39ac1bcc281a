"""`grok-tui runs` and `grok-tui --help` start light (issue 34: 10,000 runs listed in
under half a second): the parser builds a command's options and imports its module only
when that command runs, and the run store imports pydantic and the presets only where a
file is read or validated. So listing runs through a warm index loads neither pydantic,
grok_tui.config, the sweep side, torch nor Textual.

The quick test reads the modules' ASTs: what their module-level imports pull in when
the `runs` command runs (imports inside functions run later, only when called). The slow
one checks a fresh interpreter's sys.modules after it listed runs, and its output beside
this process's.
"""

from __future__ import annotations

import argparse
import ast
import gc
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from grok_tui.cli import main, parser
from grok_tui.cli.table import Column, print_table
from grok_tui.rundirs import index, store
from grok_tui.text import safe_text
from tests.conftest import REPO
from tests.support.tui import finished_run

# What a listing must not load: the heavy or unrelated sides of the product.
HEAVY_PACKAGES = ("pydantic", "torch", "textual", "tomli_w", "numpy", "pandas")
HEAVY_MODULES = ("grok_tui.config", "grok_tui.sweep", "grok_tui.training", "grok_tui.tui",
                 "grok_tui.rundirs.ondisk")  # fmt: skip


def heavy(names: set[str]) -> list[str]:
    return sorted(
        name
        for name in names
        if name.split(".")[0] in HEAVY_PACKAGES
        or any(name == m or name.startswith(m + ".") for m in HEAVY_MODULES)
    )


# -- the static closure of module-level imports --------------------------------------------


def _source(module: str) -> Path | None:
    """The file of a grok_tui module (a package by its __init__.py), or None."""
    base = REPO.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return ast.unparse(test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def _module_level_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """The imports that run when the module is imported: not those in a function's body
    (they run when it is called) nor under ``if TYPE_CHECKING:``; a class body runs."""
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
            continue
        stack.extend(ast.iter_child_nodes(node))


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[: n + 1]) for n in range(len(parts))]


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The modules an import statement loads (a package's parents too)."""
    if isinstance(node, ast.Import):
        return [m for alias in node.names for m in _with_parents(alias.name)]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join([*base, *([node.module] if node.module else [])])
    else:
        prefix = node.module or ""
    found = _with_parents(prefix)
    for alias in node.names:  # `from pkg import name`: the module pkg.name when there is one
        if _source(f"{prefix}.{alias.name}") is not None:
            found.append(f"{prefix}.{alias.name}")
    return found


def loaded_at_import(roots: list[str]) -> set[str]:
    """Every module that importing ``roots`` loads through module-level imports: grok_tui's
    modules by name, any other package by its top-level name."""
    seen: set[str] = set()
    todo = [m for root in roots for m in _with_parents(root)]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _source(name) if name.split(".")[0] == "grok_tui" else None
        if path is None:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in _module_level_imports(tree):
            for target in _targets(node, name, path.name == "__init__.py"):
                if target.split(".")[0] != "grok_tui":
                    target = target.split(".")[0]  # another package: by its name
                todo.append(target)
    return seen


def test_the_closure_sees_module_level_imports_only(tmp_path: Path) -> None:
    """The reader on a made-up module: an import in a function or under TYPE_CHECKING is
    not loaded at import; one in a class body, a try or an if is."""
    tree = ast.parse(
        "import os\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\n"
        "else:\n    import b\ntry:\n    import c\nexcept ImportError:\n    import d\n"
        "class K:\n    import e\ndef f():\n    import g\nx = lambda: __import__('h')\n"
    )
    names = {a.name for node in _module_level_imports(tree) for a in node.names}
    assert names == {"os", "TYPE_CHECKING", "b", "c", "d", "e"}


def test_grok_tui_runs_and_help_import_nothing_heavy() -> None:
    """The console script's import, the parser, the runs command's module (as the parser
    finds it) and the index: no pydantic, no presets, no sweep side, no torch, no TUI."""
    runs_module = parser.HANDLERS["runs"].split(":")[0]
    loaded = loaded_at_import(["grok_tui.cli", runs_module, "grok_tui.rundirs.index"])
    assert {"grok_tui.cli.parser", runs_module, "grok_tui.rundirs.store"} <= loaded
    assert heavy(loaded) == []
    assert heavy(loaded_at_import(["grok_tui.cli"])) == []  # grok-tui --help


# -- the lazy parser -------------------------------------------------------------------------


def _sub_parsers(top: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_a_command_parsed_lazily_has_the_options_and_help_of_the_full_parser() -> None:
    """Each command's sub-parser, built when its command is parsed, is the one the full
    parser (completion, hints) builds: the same --help; and its handler is found."""
    full = _sub_parsers(parser.build_parser())
    assert list(full) == list(parser.COMMANDS)
    for name in parser.COMMANDS:
        lazy = parser.build_parser(lazy=True)
        stubs = _sub_parsers(lazy)
        assert stubs[name].format_help() != full[name].format_help()  # a stub so far
        with pytest.raises(SystemExit):
            lazy.parse_known_args([name, "--help"], argparse.Namespace())
        assert stubs[name].format_help() == full[name].format_help(), name
        assert callable(parser.handler(name))


def test_help_lists_every_command_without_building_any() -> None:
    lazy = parser.build_parser(lazy=True)
    text = lazy.format_help()
    assert set(parser._commands(lazy).builders) == set(parser.COMMANDS)  # none built
    assert text == parser.build_parser().format_help()
    assert [n for n in parser.COMMANDS if f"\n    {n} " in text] == list(parser.COMMANDS)
    assert set(parser.OWN_OPTIONS) | set(parser.COMMAND_OPTIONS) == set(parser.COMMANDS)


# -- the table and the listing -----------------------------------------------------------------


def _table_as_before(columns: list[Column], rows: list[tuple]) -> str:
    """The layout print_table keeps: each cell safe_text'd, padded, lines right-stripped."""
    lines = []
    for cells in [[c.title for c in columns], *[[safe_text(v) for v in r] for r in rows]]:
        parts = []
        for n, (column, cell) in enumerate(zip(columns, cells, strict=True)):
            padded = cell.rjust(column.width) if column.right else cell.ljust(column.width)
            parts.append((" " * column.gap if n else "") + padded)
        lines.append("".join(parts).rstrip() + "\n")
    return "".join(lines)


def test_print_table_lays_out_and_escapes_each_cell() -> None:
    columns = [Column("run", 6), Column("n", 4, right=True), Column("note", gap=2)]
    rows = [
        ("a", 1, "plain"),
        ("\x1b[2Jwide-id", 12345, "x\u202ey"),  # an escape, a bidi override: shown escaped
        ("b", None, "trailing   "),
        ("\u00e9t\u00e9", 2.5, ""),
    ]
    out = io.StringIO()
    print_table(columns, rows, out=out)
    assert out.getvalue() == _table_as_before(columns, rows)
    assert "\x1b" not in out.getvalue() and "\\x1b[2J" in out.getvalue()
    with pytest.raises(ValueError):
        print_table(columns, [("a", 1)], out=io.StringIO())


def test_a_listing_pauses_the_collector_and_gives_it_back() -> None:
    assert gc.isenabled()
    with index.collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with index.collector_paused():
            pass
        assert not gc.isenabled()  # as it was: disabled by someone else
    finally:
        gc.enable()


def settle(runs: Path) -> None:
    """Every run's files last changed 10 s ago: not racy, so the index keeps them."""
    for run in store.iter_run_dirs(runs):
        for path in (run.preset_path, run.summary_path):
            then = path.stat().st_mtime_ns - 10**10
            os.utime(path, ns=(then, then))


def test_an_indexed_run_makes_its_path_only_when_asked(tmp_path: Path) -> None:
    """A listing names runs by id and status without a Path each; asked, the path is
    the directory's."""
    runs = tmp_path / "runs"
    finished_run(runs, "alpha")
    finished_run(runs / "sweep-1", "point", sweep={"id": "sweep-1", "coords": {"lr": 1}})
    settle(runs)
    truth = store.list_runs(runs)
    index.list_runs(runs)
    reader = index.RunIndex(runs)
    listed = reader.list_runs()
    assert reader.reads == 0 and len(listed) == 2
    assert [i.run_id for i in listed] == [i.run_id for i in truth]
    assert [i.status for i in listed] == [i.status for i in truth]
    assert all(i.__dict__["_run"] is None for i in listed)  # not made yet
    fields = ("summary", "preset", "preset_error", "note", "unreadable")
    assert [(i.run.path, *(getattr(i, f) for f in fields)) for i in listed] == [
        (i.run.path, *(getattr(i, f) for f in fields)) for i in truth
    ]


def test_a_listing_without_presets_reads_an_asked_preset_from_its_directory(
    tmp_path: Path, capsys
) -> None:
    """`grok-tui runs` does not read presets from the index; where it needs one (a
    summary without a name: --json names the run by its preset), it is the directory's."""
    runs = tmp_path / "runs"
    finished_run(runs, "alpha")
    nameless = finished_run(runs, "beta")
    store.update_summary(nameless.path, name="")
    settle(runs)
    index.list_runs(runs)  # warm
    truth = store.list_runs(runs)
    reader = index.RunIndex(runs, presets=False)
    listed = reader.list_runs()
    assert reader.reads == 0
    assert [i.preset for i in listed] == [i.preset for i in truth]
    assert [i.preset_error for i in listed] == [i.preset_error for i in truth]
    assert main(["runs", "--json", "--runs-dir", str(runs)]) == 0
    names = [r["name"] for r in json.loads(capsys.readouterr().out)]
    assert names == ["alpha", "beta"]


# -- a fresh interpreter ------------------------------------------------------------------------

CHILD = r"""
import json, sys
from grok_tui.cli import main
codes = [main(["runs", "--runs-dir", d]) for d in sys.argv[1:]]
codes.append(main(["runs", "--json", "--runs-dir", sys.argv[1]]))
try:
    main(["--help"])
except SystemExit as exc:
    codes.append(exc.code)
print(json.dumps({"codes": codes, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


@pytest.mark.slow
def test_a_fresh_grok_tui_runs_loads_nothing_heavy(tmp_path: Path, capsys) -> None:
    """In a fresh interpreter, `runs` (a warm index of finished runs, and an empty
    folder), `runs --json` and `--help` load none of HEAVY_*; their output is this
    process's."""
    runs, empty = tmp_path / "runs", tmp_path / "empty"
    empty.mkdir()
    for name in ("alpha", "beta", "gamma"):
        finished_run(runs, name)
    finished_run(runs / "sweep-1", "point", sweep={"id": "sweep-1", "coords": {"lr": 1}})
    settle(runs)
    assert main(["runs", "--runs-dir", str(runs)]) == 0  # the index, warm
    assert main(["runs", "--runs-dir", str(empty)]) == 0
    assert main(["runs", "--json", "--runs-dir", str(runs)]) == 0
    expected = capsys.readouterr().out
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(runs), str(empty)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    report = json.loads(child.stderr.strip().splitlines()[-1])
    assert report["codes"] == [0, 0, 0, 0], child.stderr
    assert heavy(set(report["modules"])) == []
    assert child.stdout.startswith(expected)  # then --help

"""One door for files (DESIGN.md rule 6): grok_tui/files.py is the only module that opens,
writes, renames or deletes a file, and it never follows a link below the folder it opened.

The first test reads every product module's AST: a call that opens, saves or deletes a
file any other way fails it, unless it is listed in ALLOWED with its reason (and an
entry that no longer matches fails too, so the list cannot rot).
"""

from __future__ import annotations

import ast
import errno
import os
from pathlib import Path

import pytest

from grok_tui import files
from tests.conftest import REPO

PACKAGE = REPO / "grok_tui"
# Path methods that touch the file system; a Folder method of the same name is told apart
# by its arguments (it always names the file first: folder.unlink("x") vs path.unlink()).
PATH_METHODS = {
    "open",
    "write_text",
    "write_bytes",
    "read_text",
    "read_bytes",
    "unlink",
    "mkdir",
    "rmdir",
    "rename",
    "touch",
    "symlink_to",
    "hardlink_to",
    "chmod",
}
FOLDER_ARGS = {"read_text": 2, "read_bytes": 2, "write_text": 2, "unlink": 1, "mkdir": 1,
               "rename": 2}  # fmt: skip
OS_CALLS = {"open", "unlink", "remove", "rename", "replace", "mkdir", "makedirs", "rmdir",
            "removedirs", "link", "symlink", "truncate"}  # fmt: skip

# (module, call) -> why it is not a file under a run, sweep, queue or export folder.
ALLOWED = {
    ("grok_tui/bench/timing.py", "open()"): "reads /proc/stat, the kernel's CPU counters",
    (
        "grok_tui/training/group/memory.py",
        "open()",
    ): "reads /proc/meminfo, the kernel's memory figures",
    ("grok_tui/rundirs/ownership.py", ".open"): "reads /proc (locks, a process's stat and cmdline)",
    ("grok_tui/rundirs/procstat.py", ".open"): "reads /proc: a run's process's stat and statm",
    ("grok_tui/rundirs/threads.py", "open()"): "/proc and /sys: the kernel's CPU figures",
    ("grok_tui/sweep/report.py", "os.open"): "opens os.devnull to silence plotext's output",
    ("grok_tui/cli/parser.py", "os.open"): "opens os.devnull for stdout after a broken pipe",
    ("grok_tui/bench/startup.py", "tempfile.mkdtemp"): "a private 0700 folder of its own",
    ("grok_tui/bench/shared_box.py", "tempfile.mkdtemp"): "a private 0700 folder of its own",
    ("grok_tui/bench/run_startup.py", "tempfile.mkdtemp"): "a private 0700 folder of its own",
    ("grok_tui/bench/scale.py", "tempfile.mkdtemp"): "a private 0700 folder of its own",
    ("grok_tui/sweep/ray_executor/worker.py", "tempfile.mkdtemp"): "a worker's private scratch run",
    ("grok_tui/tui/screens/presets/check.py", "tempfile.mkdtemp"): "a private folder to check",
    ("grok_tui/tui/screens/presets/editor.py", "tempfile.mkdtemp"): "a private folder for a draft",
    (
        "grok_tui/rundirs/index_db.py",
        "sqlite3.connect",
    ): "the runs index: made and checked through the door first, a link refused",
}


def _in_memory_target(func: ast.AST, name: str) -> bool:
    """True when ``name`` is assigned io.BytesIO() in the function: rendered to bytes."""
    for node in ast.walk(func):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            value = node.value
            if isinstance(value, ast.Call) and ast.unparse(value.func) == "io.BytesIO":
                return True
    return False


def file_calls(path: Path) -> list[tuple[int, str]]:
    """(line, call) for every call in a module that touches a file outside the door."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func, what = node.func, None
        if isinstance(func, ast.Name) and func.id == "open":
            what = "open()"
        elif isinstance(func, ast.Attribute):
            base = func.value.id if isinstance(func.value, ast.Name) else None
            if base == "files":
                continue
            if base == "os" and func.attr in OS_CALLS:
                what = f"os.{func.attr}"
            elif base in ("shutil", "tempfile") or (base, func.attr) == ("sqlite3", "connect"):
                what = f"{base}.{func.attr}"
            elif func.attr in ("savefig", "save") and base in (None, "torch", "fig", "figure"):
                if func.attr == "save" and base != "torch":
                    continue
                target = node.args[1 if func.attr == "save" else 0] if node.args else None
                scope = node
                while scope in parents and not isinstance(scope, ast.FunctionDef):
                    scope = parents[scope]
                if not (isinstance(target, ast.Name) and _in_memory_target(scope, target.id)):
                    what = func.attr
            elif func.attr == "replace" and len(node.args) == 1 and not node.keywords:
                what = ".replace"  # Path.replace(target); str.replace takes two
            elif func.attr in PATH_METHODS and len(node.args) != FOLDER_ARGS.get(func.attr, -1):
                what = f".{func.attr}"
        if what:
            found.append((node.lineno, what))
    return found


def test_no_product_module_opens_writes_or_deletes_a_file_but_through_the_door() -> None:
    seen: set[tuple[str, str]] = set()
    outside = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(REPO).as_posix()
        if module == "grok_tui/files.py":
            continue
        for line, what in file_calls(path):
            if (module, what) in ALLOWED:
                seen.add((module, what))
            else:
                outside.append(f"{module}:{line}: {what}")
    assert not outside, "file access outside grok_tui/files.py:\n" + "\n".join(outside)
    assert not set(ALLOWED) - seen, f"ALLOWED entries that match nothing: {set(ALLOWED) - seen}"


def test_the_door_scan_finds_each_way_around_it(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import os, shutil, io\n"
        "def f(p, fig):\n"
        "    open(p, 'a')\n"
        "    p.write_text('x')\n"
        "    fig.savefig(p / 'a.png')\n"
        "    shutil.rmtree(p)\n"
        "    sqlite3.connect(p)\n"
        "    os.replace(p, p)\n"
        "    p.unlink()\n"
        "    buffer = io.BytesIO()\n"
        "    fig.savefig(buffer)\n"  # rendered to bytes: fine
        "    files.write_atomic(p, buffer.getvalue())\n"  # the door: fine
    )
    assert [what for _, what in file_calls(module)] == [
        "open()",
        ".write_text",
        "savefig",
        "shutil.rmtree",
        "sqlite3.connect",
        "os.replace",
        ".unlink",
    ]


# -- the door itself ---------------------------------------------------------------------


def test_a_link_planted_as_a_sub_folder_is_never_written_through(tmp_path: Path) -> None:
    run, victim = tmp_path / "run", tmp_path / "victim"
    run.mkdir()
    victim.mkdir()
    (run / "analysis").symlink_to(victim)
    with files.Folder.at(run) as folder, pytest.raises(files.UnsafeFileError, match="link"):
        folder.write_atomic("analysis/fig.png", b"png")
    with pytest.raises(files.UnsafeFileError):
        files.mkdir(run / "analysis")
    assert list(victim.iterdir()) == []


def test_a_folder_renamed_while_open_keeps_receiving_its_own_files(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    with files.Folder.at(run) as folder:
        run.rename(tmp_path / "moved")
        run.mkdir()  # someone puts another folder at the old path
        folder.write_atomic("summary.json", b"{}")
    assert (tmp_path / "moved" / "summary.json").read_bytes() == b"{}"
    assert not (run / "summary.json").exists()


def test_an_append_to_a_hard_linked_file_leaves_the_other_name_as_it_was(tmp_path: Path) -> None:
    run, copy = tmp_path / "run", tmp_path / "copy"
    run.mkdir()
    copy.mkdir()
    (run / "metrics.jsonl").write_text("a\n")
    os.link(run / "metrics.jsonl", copy / "metrics.jsonl")  # cp -al
    fd = files.open_append(run / "metrics.jsonl")
    os.write(fd, b"b\n")
    os.close(fd)
    assert (run / "metrics.jsonl").read_text() == "a\nb\n"
    assert (copy / "metrics.jsonl").read_text() == "a\n"


def test_a_rewrite_replaces_a_hard_link_instead_of_truncating_it(tmp_path: Path) -> None:
    (tmp_path / "precious").write_text("keep me")
    os.link(tmp_path / "precious", tmp_path / ".lock")
    files.write_atomic(tmp_path / ".lock", b"mine")
    assert (tmp_path / "precious").read_text() == "keep me"


def test_rmtree_removes_a_planted_link_and_never_what_it_points_to(tmp_path: Path) -> None:
    run, victim = tmp_path / "run", tmp_path / "victim"
    (run / "checkpoints").mkdir(parents=True)
    victim.mkdir()
    (victim / "precious").write_text("x")
    (run / "checkpoints" / "out").symlink_to(victim)
    (run / "elsewhere").symlink_to(victim)
    files.rmtree(run)
    assert not run.exists()
    assert (victim / "precious").read_text() == "x"
    (tmp_path / "link").symlink_to(victim)
    files.rmtree(tmp_path / "link")  # a link at the name itself: the link goes
    assert not (tmp_path / "link").exists() and (victim / "precious").exists()


def test_names_below_a_folder_cannot_lead_out_of_it(tmp_path: Path) -> None:
    with files.Folder.at(tmp_path) as folder:
        for bad in ("../x", "/etc/passwd", "a/../../x"):
            with pytest.raises(files.UnsafeFileError) as info:
                folder.write_atomic(bad, b"")
            assert info.value.errno == errno.EINVAL


def test_a_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "summary.json")
    with files.Folder.at(tmp_path) as folder, pytest.raises(files.UnsafeFileError, match="regular"):
        folder.read_bytes("summary.json", 100)


def test_a_run_folder_that_is_itself_a_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "run").symlink_to(tmp_path / "real")
    with pytest.raises(files.UnsafeFileError, match="link"):
        files.Folder.at(tmp_path / "run")

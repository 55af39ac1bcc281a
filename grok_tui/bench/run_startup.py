"""`grok-tui bench --startup-run`: where the time goes from `grok-tui run` to its first step.

A fresh interpreter runs ``grok-tui run quickstart --set train.steps=1`` as a user
starts it, with a few functions of the start-up path wrapped to note the time
(monotonic, comparable across processes on Linux) and the process's CPU seconds when
they return: the interpreter, grok_tui's own imports, the preset read, torch's import,
the device checked, the run directory made, the thread decision (it may wait for a
window of /proc/stat), the data, model and optimizer built, the trackers, the step-0
record, the first training step. The table is each mark from the process start with
the wall and CPU seconds since the mark before; the last line compares the first step
with torch's own import (issue 34: at most 0.5 s more). A mark whose function moved
is missing from the table, not an error. Nothing is imported here but the standard
library and the launcher: torch loads in the child only.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from grok_tui import files
from grok_tui.rundirs import launch

# What is run, after the child's marks are set up: the command line of a user.
COMMAND = ("run", "quickstart", "--set", "train.steps=1", "--set", "train.checkpoint_every=1")
# The child: marks the time when these functions return (module, attribute, mark, first
# call only), then runs the command line. Marks go to argv[1] as JSON at exit.
DRIVER = r"""
import sys, time
_marks = []
def mark(name):
    _marks.append((name, time.monotonic(), time.process_time()))
mark("interpreter ready")
import atexit, json
atexit.register(lambda: open(sys.argv[1], "w").write(json.dumps(_marks)))
WRAP = {
    "grok_tui.cli.train": [("load_preset", "preset read and validated")],
    "grok_tui.rundirs.store": [("create_run", "run directory made")],
    "grok_tui.training.runner": [
        ("check_device", "device checked"), ("claim", "run directory locked"),
        ("RunDirSink.on_start", "summary written: running"),
        ("RunDirSink.on_record", "step-0 record written"),
    ],
    "grok_tui.training.torch_threads": [("thread_share", "load looked at (/proc)")],
    "grok_tui.training.trackers": [("tracker_sinks", "trackers")],
    "grok_tui.training.trainer": [
        ("build_task", "data built"), ("build_model", "model built"),
        ("build_optimizer", "optimizer built"),
    ],
    "grok_tui.training.loop": [("build_trainer", "trainer built")],
    "grok_tui.rundirs.threads": [("ThreadShare.on_start", "threads chosen")],
    "grok_tui.training.graphs": [("Steps.step", "first training step")],
}
def wrap(module, dotted, name):
    owner, attr = module, dotted
    if "." in dotted:
        cls, attr = dotted.split(".")
        owner = getattr(module, cls, None)
    fn = getattr(owner, attr, None)
    if fn is None:
        return
    done = []
    def marked(*args, **kwargs):
        out = fn(*args, **kwargs)
        if not done:
            done.append(1)
            mark(name)
        return out
    setattr(owner, attr, marked)
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name not in WRAP and name not in ("torch", "torch._dynamo"):
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                break
        else:
            return None
        run = spec.loader.exec_module
        def exec_module(module):
            if name.startswith("torch"):
                mark(name + " import begins")
            run(module)
            if name.startswith("torch"):
                mark(name + " imported")
            for dotted, mark_name in WRAP.get(name, ()):
                wrap(module, dotted, mark_name)
        spec.loader.exec_module = exec_module
        return spec
sys.meta_path.insert(0, Watch())
from grok_tui.cli import main
mark("grok_tui.cli imported")
sys.exit(main(sys.argv[2:]))
"""


# The reference: torch's import alone, in a fresh interpreter, from the process start.
TORCH_ALONE = r"""
import json, sys, time
import torch
json.dump([["torch imported", time.monotonic(), time.process_time()]], open(sys.argv[1], "w"))
"""


def measure_once(folder: Path, *, alone: bool = False) -> dict[str, Any]:
    """One `grok-tui run` from a fresh interpreter (``alone``: torch's import only): its
    marks, {name: (seconds from the process start, CPU seconds)}, and the exit code.
    The environment is this one's: OMP_NUM_THREADS unset, the run chooses its threads."""
    marks_path = folder / "marks.json"
    if alone:
        command = [sys.executable, "-c", TORCH_ALONE, str(marks_path)]
    else:
        command = [sys.executable, "-c", DRIVER, str(marks_path), *COMMAND]
        command += ["--runs-dir", str(folder / "runs")]
    files.make_dirs(folder)
    start = time.monotonic()
    child = launch.spawn(command, folder / "output.log", fresh_log=True)
    code = child.wait()
    wall = time.monotonic() - start
    try:
        raw = json.loads(files.read_text(marks_path, 1024 * 1024))
    except (OSError, ValueError):
        raw = []
    marks = {name: (at - start, cpu) for name, at, cpu in raw}
    return {"marks": marks, "exit_code": code, "wall_s": wall}


def breakdown(marks: dict[str, tuple[float, float]]) -> list[tuple[str, float, float, float]]:
    """(mark, seconds from the process start, wall and CPU seconds since the mark before),
    in time order."""
    rows = []
    last_at, last_cpu = 0.0, 0.0
    for name, (at, cpu) in sorted(marks.items(), key=lambda item: item[1][0]):
        rows.append((name, at, at - last_at, cpu - last_cpu))
        last_at, last_cpu = at, cpu
    return rows


def verdict(
    marks: dict[str, tuple[float, float]], alone: tuple[float, float] | None
) -> dict[str, float | None]:
    """The first step from the process start (wall, CPU), torch's import alone (from
    its own process start: `alone`) and the difference, the start-up's own cost (the
    target: under 0.5 s); torch's import inside the run, for comparison."""
    first = marks.get("first training step")
    begins, ends = marks.get("torch import begins"), marks.get("torch imported")
    return {
        "first_step_s": first[0] if first else None,
        "first_step_cpu_s": first[1] if first else None,
        "torch_alone_s": alone[0] if alone else None,
        "torch_alone_cpu_s": alone[1] if alone else None,
        "rest_s": first[0] - alone[0] if first and alone else None,
        "rest_cpu_s": first[1] - alone[1] if first and alone else None,
        "torch_in_run_s": ends[0] - begins[0] if begins and ends else None,
        "dynamo_imported": float("torch._dynamo imported" in marks),
    }


def format_breakdown(rows: list[tuple[str, float, float, float]]) -> str:
    lines = [f"{'mark':<34} {'at':>7} {'+wall':>7} {'+cpu':>7}"]
    lines += [f"{n:<34} {at:>7.3f} {dw:>7.3f} {dc:>7.3f}" for n, at, dw, dc in rows]
    return "\n".join(lines)


def _median_marks(runs: list[dict[str, tuple[float, float]]]) -> dict[str, tuple[float, float]]:
    names = set.intersection(*(set(m) for m in runs)) if runs else set()
    return {
        n: (statistics.median(m[n][0] for m in runs), statistics.median(m[n][1] for m in runs))
        for n in names
    }


def startup_run_command(repeat: int = 3, json_path: Path | None = None) -> int:
    """Time `repeat` starts of `grok-tui run quickstart` to its first step, each beside a
    start of torch's import alone; print the median breakdown and the verdict, with the
    load average."""
    tmp = Path(tempfile.mkdtemp(prefix="grok-tui-startup-run-"))
    omp = os.environ.get("OMP_NUM_THREADS")
    print(
        f"grok-tui {' '.join(COMMAND)}, {repeat} starts, each beside `import torch` alone "
        f"(OMP_NUM_THREADS {'=' + omp if omp else 'unset: threads chosen from the load'})",
        flush=True,
    )
    results, alones = [], []
    try:
        for i in range(repeat):
            alone = measure_once(tmp / f"torch-{i}", alone=True)["marks"].get("torch imported")
            result = measure_once(tmp / f"start-{i}")
            results.append(result)
            alones.append(alone)
            said = verdict(result["marks"], alone)
            print(
                f"start {i + 1}: {_said(said)} (exit {result['exit_code']}, load average "
                f"{os.getloadavg()[0]:.1f})",
                flush=True,
            )
    finally:
        with contextlib.suppress(OSError):
            files.rmtree(tmp)
    good = [r["marks"] for r in results if r["marks"]]
    if not good:
        print("grok-tui bench: no start-up marks came back", file=sys.stderr)
        return 1
    median = _median_marks(good)
    reference = _median_marks([{"torch": a} for a in alones if a]).get("torch")
    print()
    print(f"median of {len(good)} (seconds from the process start; cpu: the run's process)")
    print(format_breakdown(breakdown(median)))
    said = verdict(median, reference)
    print(
        f"{_said(said)}; target: the rest < 0.50 s (load average "
        f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())})",
        flush=True,
    )
    if json_path is not None:
        files.make_dirs(json_path.parent)
        data = {
            "command": ["grok-tui", *COMMAND],
            "median": {"marks": median, **said},
            "starts": results,
            "torch_alone": alones,
            "load_average": os.getloadavg(),
        }
        files.write_text_atomic(json_path, json.dumps(data, indent=2) + "\n")
    return 0 if all(r["exit_code"] == 0 for r in results) else 1


def _said(v: dict[str, float | None]) -> str:
    def s(x: float | None) -> str:
        return "?" if x is None else f"{x:.2f}"

    dynamo = "; torch._dynamo imported" if v["dynamo_imported"] else ""
    return (
        f"first step at {s(v['first_step_s'])} s (cpu {s(v['first_step_cpu_s'])}) = "
        f"torch's import alone {s(v['torch_alone_s'])} s (cpu {s(v['torch_alone_cpu_s'])}) "
        f"+ the rest {s(v['rest_s'])} s (cpu {s(v['rest_cpu_s'])}){dynamo}"
    )

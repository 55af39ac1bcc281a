"""`grok-tui bench --shared`: the quickstart on a machine that others keep busy.

For 0, 2 and 4 busy processes that are not grok-tui (plain Python loops started here and
killed after), the quickstart trains for a fixed number of steps in a process of its own
(``grok-tui --run``, as a user starts it) three ways: threads chosen automatically
(grok_tui/rundirs/threads.py; no OMP_NUM_THREADS), OMP_NUM_THREADS=1 and OMP_NUM_THREADS=2. Each
row is the run's own average steps/s (summary.json: from its first step to its last,
evaluations included), the threads the automatic run ended on, how many CPUs other
processes kept busy meanwhile (/proc/stat less the run's own CPU time: the loops, and
anything else on the machine) and the load average. The last line is auto / best fixed
for each number of loops. A run still going after `limit_s` is stopped (SIGTERM: it
checkpoints) and its average counts the steps it did. Torch is not imported here.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from grok_tui import files
from grok_tui.rundirs import launch, store
from grok_tui.rundirs.threads import allowed_cpus, proc_stat, proc_stat_cpus

BUSY_LEVELS = (0, 2, 4)
WAYS = (("auto", None), ("OMP_NUM_THREADS=1", "1"), ("OMP_NUM_THREADS=2", "2"))
BUSY_LOOP = "while True: pass"


def _quickstart() -> str:
    path = launch.PACKAGE_ROOT_PATH / "presets" / "quickstart.toml"
    return str(path) if path.is_file() else "quickstart"  # the shipped preset by name


def _busy_cpus_s() -> float | None:
    """CPU seconds the CPUs this process may use have been busy since boot."""
    cpus = proc_stat_cpus(proc_stat())
    return sum(cpus[c][0] for c in allowed_cpus() if c in cpus) / 100 if cpus else None


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def train_once(folder: Path, steps: int, omp: str | None, limit_s: float) -> dict[str, Any]:
    """One quickstart of `steps` steps into `folder`; its rate, threads and the others'
    load meanwhile. OMP_NUM_THREADS is not in this process's environment (shared_command)."""
    command = [
        sys.executable, "-m", "grok_tui", "--run", _quickstart(),
        "--set", f"train.steps={steps}", "--set", f"train.checkpoint_every={steps}",
        "--runs-dir", str(folder / "runs"),
    ]  # fmt: skip
    log = folder / "output.log"
    files.make_dirs(folder)
    busy0, own0, start = _busy_cpus_s(), _children_cpu_s(), time.monotonic()
    child = launch.spawn(
        command, log, fresh_log=True, env=None if omp is None else {"OMP_NUM_THREADS": omp}
    )
    try:
        child.wait(timeout=limit_s)
        stopped = False
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGTERM)  # it checkpoints and ends stopped
        child.wait()
        stopped = True
    wall = time.monotonic() - start
    busy1, own = _busy_cpus_s(), _children_cpu_s() - own0
    others = None
    if busy0 is not None and busy1 is not None and wall > 0:
        others = max(0.0, (busy1 - busy0 - own) / wall)
    runs = list(store.iter_run_dirs(folder / "runs"))
    summary = runs[-1].summary() if runs else {}
    threads = summary.get("threads") if isinstance(summary.get("threads"), dict) else {}
    try:
        out = files.read_text(log, 4 * 1024 * 1024)
    except (OSError, UnicodeDecodeError):
        out = ""
    said = [line for line in out.splitlines() if line.startswith("threads: ")]
    return {
        "steps_per_s": summary.get("steps_per_s"),
        "step": summary.get("step"),
        "status": summary.get("status"),
        "stopped_at_limit": stopped and summary.get("status") != store.COMPLETED,
        "exit_code": child.returncode,
        "threads": threads.get("n"),
        "why": threads.get("why"),
        "thread_changes": max(0, len(said) - 1),
        "others_busy_cpus": None if others is None else round(others, 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "wall_s": round(wall, 1),
        "output_tail": [] if stopped or child.returncode == 0 else out.splitlines()[-3:],
    }


def start_busy(n: int, folder: Path) -> list[subprocess.Popen[bytes]]:
    """`n` plain Python busy loops (not grok-tui: nothing in a runs folder)."""
    files.make_dirs(folder)
    return [launch.spawn([sys.executable, "-c", BUSY_LOOP], folder / "busy.log") for _ in range(n)]


def stop_busy(loops: list[subprocess.Popen[bytes]]) -> None:
    for loop in loops:
        with contextlib.suppress(ProcessLookupError):
            loop.kill()
    for loop in loops:
        loop.wait()


def _rate(row: dict[str, Any]) -> float:
    value = row.get("steps_per_s")
    return float(value) if isinstance(value, int | float) else 0.0


def _loads(row: dict[str, Any]) -> str:
    return " / ".join(f"{x:.1f}" for x in row["load_average"])


def format_row(row: dict[str, Any]) -> str:
    """One run as a line of the log."""
    way = row["way"]
    if way == "auto":
        changes = row["thread_changes"]
        way = f"auto ({row['threads']} thread{'s' if row['threads'] != 1 else ''}"
        way += f", {changes} changes)" if changes else ")"
    stopped = f" (stopped at step {row['step']})" if row["stopped_at_limit"] else ""
    others = row["others_busy_cpus"]
    return (
        f"round {row['round']} · {row['busy']} loops · {way}: {_rate(row):.1f} steps/s{stopped}"
        f" · others busy {'?' if others is None else f'{others:.1f}'} CPUs"
        f" · load average {_loads(row)}"
    )


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per number of loops: each way's mean steps/s over the rounds, and auto / best fixed."""
    table = []
    for busy in sorted({row["busy"] for row in rows}):
        here = [r for r in rows if r["busy"] == busy]
        means = {}
        for way, _ in WAYS:
            rates = [_rate(r) for r in here if r["way"] == way]
            means[way] = sum(rates) / len(rates) if rates else 0.0
        best = max(v for k, v in means.items() if k != "auto")
        autos = [r for r in here if r["way"] == "auto"]
        others = [r["others_busy_cpus"] for r in here if r["others_busy_cpus"] is not None]
        table.append(
            {
                "busy": busy,
                "steps_per_s": {k: round(v, 1) for k, v in means.items()},
                "auto_threads": sorted({r["threads"] for r in autos if r["threads"] is not None}),
                "auto_over_best": round(means["auto"] / best, 2) if best > 0 else None,
                "others_busy_cpus": round(sum(others) / len(others), 1) if others else None,
                "load_average_end": here[-1]["load_average"],
            }
        )
    return table


def format_table(table: list[dict[str, Any]]) -> str:
    lines = [
        "| busy loops | auto | OMP_NUM_THREADS=1 | OMP_NUM_THREADS=2 | auto / best "
        "| auto's threads | others busy (CPUs) | load avg at the end |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in table:
        rates = t["steps_per_s"]
        ratio = t["auto_over_best"]
        lines.append(
            f"| {t['busy']} | {rates['auto']:.1f} | {rates['OMP_NUM_THREADS=1']:.1f} "
            f"| {rates['OMP_NUM_THREADS=2']:.1f} | {'?' if ratio is None else f'{ratio:.2f}x'} "
            f"| {', '.join(map(str, t['auto_threads'])) or '?'} "
            f"| {'?' if t['others_busy_cpus'] is None else t['others_busy_cpus']} "
            f"| {' / '.join(f'{x:.1f}' for x in t['load_average_end'])} |"
        )
    return "\n".join(lines)


def shared_command(
    *,
    quick: bool = False,
    json_path: Path | None = None,
    steps: int | None = None,
    rounds: int | None = None,
    limit_s: float = 60.0,
    levels: tuple[int, ...] = BUSY_LEVELS,
) -> int:
    """Run the table (about 15 minutes; `quick`: 300 steps, one round) and print it."""
    if rounds is not None and rounds < 1:
        print("grok-tui bench: --rounds must be at least 1", file=sys.stderr)
        return 2
    steps = steps or (300 if quick else 1500)
    rounds = rounds or (1 if quick else 3)
    cpus = len(allowed_cpus())
    print(
        f"the quickstart, {steps} steps, beside {', '.join(map(str, levels))} busy loops, "
        f"{rounds} round{'s' if rounds != 1 else ''}; {cpus} CPUs for this process, load "
        f"average {' / '.join(f'{x:.1f}' for x in os.getloadavg())} at the start",
        flush=True,
    )
    rows: list[dict[str, Any]] = []
    tmp = Path(tempfile.mkdtemp(prefix="grok-tui-shared-"))
    user_omp = os.environ.pop("OMP_NUM_THREADS", None)  # the automatic runs need it unset
    try:
        for round_ in range(1, rounds + 1):
            for busy in levels:
                loops = start_busy(busy, tmp)
                try:
                    time.sleep(1.0 if busy else 0.0)  # the loops spin before the run starts
                    k = (round_ - 1) % len(WAYS)
                    ways = WAYS[k:] + WAYS[:k]  # each round in another order
                    for way, omp in ways:
                        folder = tmp / f"r{round_}-busy{busy}-{way.split('=')[-1]}"
                        row = train_once(folder, steps, omp, limit_s)
                        row.update(round=round_, busy=busy, way=way)
                        rows.append(row)
                        print(format_row(row), flush=True)
                        for line in row["output_tail"]:
                            print(f"    {line}", flush=True)
                finally:
                    stop_busy(loops)
    finally:
        if user_omp is not None:
            os.environ["OMP_NUM_THREADS"] = user_omp
        with contextlib.suppress(OSError):
            files.rmtree(tmp)
    table = summarise(rows)
    print()
    print(format_table(table))
    ratios = [(t["busy"], t["auto_over_best"]) for t in table]
    said = [f"{busy} loops {'?' if r is None else f'{r:.2f}x'}" for busy, r in ratios]
    print(f"auto / best fixed: {', '.join(said)}", flush=True)
    if json_path is not None:
        files.make_dirs(json_path.parent)
        data = {"steps": steps, "rounds": rounds, "cpus": cpus, "table": table, "rows": rows}
        files.write_text_atomic(json_path, json.dumps(data, indent=2) + "\n")
    return 0

"""`grok-tui bench --scale`: many runs and a long one, timed where a user sees them.

In a temporary folder: runs folders of 1,000 and 10,000 finished runs (written straight
in the store's format: a frozen preset, a finished summary and a few grokking-shaped
records each; lr 1e-2, 1e-3, 1e-4 in turn) and a folder with one run of 200,000
records. Each figure is timed from a process start, as a user starts it (a fresh
interpreter: imports included), with the CPU seconds of that process beside the wall
seconds (a loaded machine stretches the first far more): ``grok-tui runs``; the runs
index built from scratch (``runs --reindex``, or ``runs`` without an index file where
that option is missing) and updated after 10 runs changed; the TUI in a pseudo-terminal
(bench/startup.py's harness): its first frame, History after F4 (from the key and from
the process start), a filter typed there (``/`` then ``optim.lr<0.005``: History filters as one
types, so the last key is timed) until the count changes; the long run's page opened from History (Enter) until its curves are
drawn (and tui/page_timing.py's own figures, memory included, where it is there);
``grok-tui export RUN --csv`` of the long run with its peak memory. Behind
options, as they take minutes: the engine against the common loop (bench/compare.py)
and the shared-box table (bench/shared_box.py). Torch is not imported here.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from grok_tui import files
from grok_tui.bench.startup import (
    APP,
    Figure,
    _read_text_until,
    _read_until,
    cpu_seconds,
    curve_record,
)
from grok_tui.config import Preset, apply_overrides, validate_preset
from grok_tui.rundirs import launch, layout, store

SIZES = (1_000, 10_000)
LONG_RECORDS = 200_000
RECORDS_PER_RUN = 10  # records of each of the many runs: the listing reads none of them
LRS = (1e-2, 1e-3, 1e-4)  # run i has LRS[i % 3]
FILTER = "optim.lr<0.005"  # keeps 1e-3 and 1e-4: the runs with i % 3 != 0
CHANGED = 10  # runs whose summary changes before the incremental listing
# Issue 34's targets, on an idle 2-core machine: (figure, size) -> seconds.
TARGETS: dict[tuple[str, str], float] = {
    ("runs listing", "10000"): 0.5,
    ("first frame", "10000"): 1.0,
    ("History after F4", "10000"): 0.5,
    ("filter applied", "10000"): 0.2,
    ("index from scratch", "10000"): 30.0,
    ("run page drawn", "long"): 1.0,
    ("export --csv", "long"): 3.0,
}
KEYS = {"F4": b"\x1bOS", "enter": b"\r", "quit": b"\x11"}


# ------------------------------------------------------------------ synthetic runs


def _preset_texts(name: str) -> list[str]:
    base = Preset().to_dict()
    return [
        validate_preset(apply_overrides(base, [("name", name), ("optim.lr", lr)])).to_toml()
        for lr in LRS
    ]


def _finished_summary(run_id: str, name: str, steps: int, records: int) -> dict[str, Any]:
    """What a completed run's summary.json holds (the fields History shows)."""
    when = store.now_iso()
    return {
        "run_id": run_id,
        "name": name,
        "status": store.COMPLETED,
        "steps": steps,
        "step": steps,
        "device": "cpu",
        "fit_step": int(0.15 * steps),
        "grok_step": int(0.6 * steps),
        "best_test_acc": 1.0,
        "final": {"test_acc": 1.0, "train_acc": 1.0},
        "elapsed_s": records * 0.1,
        "created_at": when,
        "started_at": when,
        "ended_at": when,
    }


def make_finished_runs(runs_dir: Path, count: int, records: int = RECORDS_PER_RUN) -> list[Path]:
    """`count` completed runs in `runs_dir`, written file by file (no training, no locks):
    what store.create_run and a finished training would have left. Their paths."""
    name = "scale"
    texts = _preset_texts(name)
    start = datetime(2026, 1, 1)
    steps = records * 50
    lines = "".join(
        json.dumps(curve_record(step * 50, steps, step * 0.1)) + "\n"
        for step in range(1, records + 1)
    )
    files.make_dirs(runs_dir)
    made = []
    with files.Folder.root(runs_dir) as root:
        for i in range(count):
            when = start + timedelta(seconds=i)
            run_id = when.strftime("%Y%m%d-%H%M%S-") + f"{i % 1000:03d}-{name}"
            root.make_new_dir(run_id)
            with root.sub(run_id) as run:
                run.write_text(layout.PRESET_FILE, texts[i % len(texts)])
                run.write_text(layout.METRICS_FILE, lines)
                summary = _finished_summary(run_id, name, steps, records)
                run.write_text(layout.SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
            made.append(runs_dir / run_id)
    return made


def make_long_run(runs_dir: Path, records: int = LONG_RECORDS) -> Path:
    """One completed run of `records` records, one every 5 steps (a 1e6-step run)."""
    (path,) = make_finished_runs(runs_dir, 1, records=1)
    steps = records * 5
    fd = files.open_fresh(path / layout.METRICS_FILE)
    try:
        batch: list[str] = []
        for k in range(records + 1):
            batch.append(json.dumps(curve_record(k * 5, steps, k * 0.01)) + "\n")
            if len(batch) == 5000 or k == records:
                data = "".join(batch).encode()
                while data:
                    data = data[os.write(fd, data) :]
                batch.clear()
    finally:
        os.close(fd)
    store.update_summary(path, steps=steps, step=steps, fit_step=steps // 7, grok_step=steps // 2)
    return path


def change_summaries(paths: list[Path]) -> None:
    """Rewrite the summaries of these runs (a note of the bench): their folders move."""
    for path in paths:
        store.update_summary(path, bench_changed=store.now_iso())


# ------------------------------------------------------------------ a command, timed


def time_command(args: list[str], log: Path) -> dict[str, Any]:
    """`grok-tui ARGS` from its process start to its end: wall and CPU seconds, peak
    resident memory (MB) and the exit code (os.wait4: this child's own figures)."""
    start = time.monotonic()
    child = launch.spawn([sys.executable, "-m", "grok_tui", *args], log, fresh_log=True)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall": round(wall, 3),
        "cpu": round(usage.ru_utime + usage.ru_stime, 3),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # kB on Linux
        "exit_code": child.returncode,
    }


def drop_index(runs_dir: Path) -> None:
    """No index file: the next listing builds it from scratch."""
    name = getattr(layout, "INDEX_FILE", None)
    if name is None:
        return
    for suffix in ("", "-wal", "-shm"):
        files.unlink(runs_dir / (name + suffix))


def index_from_scratch(runs_dir: Path, log: Path) -> dict[str, Any]:
    """`grok-tui runs --reindex`; `runs` after the index file is removed where the
    option is missing (exit 2)."""
    figure = time_command(["runs", "--reindex", "--runs-dir", str(runs_dir)], log)
    if figure["exit_code"] == 2:
        drop_index(runs_dir)
        figure = time_command(["runs", "--runs-dir", str(runs_dir)], log)
        figure["how"] = "runs without an index file"
    else:
        figure["how"] = "runs --reindex"
    return figure


# ------------------------------------------------------------------ the TUI in a terminal


class Terminal:
    """The app in a pseudo-terminal, from its process start; keys in, text out."""

    def __init__(self, runs_dir: Path, size: tuple[int, int] = (120, 40)) -> None:
        import fcntl
        import termios

        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        self.start = time.monotonic()
        self.child = launch.spawn_on_terminal(
            [sys.executable, "-c", APP, str(runs_dir)], slave, env={"TERM": "xterm-256color"}
        )
        os.close(slave)
        self.buffer = bytearray()

    def figure(self, since: tuple[float, float | None]) -> Figure:
        cpu = cpu_seconds(self.child.pid)
        used = cpu - since[1] if cpu is not None and since[1] is not None else None
        return Figure(
            round(time.monotonic() - since[0], 3), None if used is None else round(used, 3)
        )

    def origin(self) -> tuple[float, float | None]:
        return (self.start, 0.0)

    def press(self, keys: bytes) -> tuple[float, float | None]:
        """Send keys after reading what came so far; when they were sent."""
        _read_until(self.master, [], time.monotonic(), self.buffer)
        self.buffer.clear()
        pressed = (time.monotonic(), cpu_seconds(self.child.pid))
        os.write(self.master, keys)
        return pressed

    def wait_text(self, texts: list[str], timeout: float = 120.0) -> bool:
        return _read_text_until(self.master, texts, time.monotonic() + timeout, self.buffer)

    def wait_bytes(self, needles: list[bytes], timeout: float = 120.0) -> bool:
        return _read_until(self.master, needles, time.monotonic() + timeout, self.buffer)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self.master, KEYS["quit"])
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.child.wait(timeout=10)
        if self.child.poll() is None:
            os.killpg(self.child.pid, signal.SIGKILL)
            self.child.wait()
        os.close(self.master)


def _timed(term: Terminal, since: tuple[float, float | None], ok: bool) -> dict[str, Any]:
    figure = term.figure(since)
    return {"wall": figure.wall if ok else None, "cpu": figure.cpu if ok else None}


def tui_figures(runs_dir: Path, count: int, *, settle_s: float = 1.0) -> dict[str, Any]:
    """First frame, History after F4 and a filter, with `count` runs in `runs_dir`."""
    term = Terminal(runs_dir)
    out: dict[str, Any] = {}
    try:
        ok = term.wait_bytes([b"palette"], 60)  # the footer comes with the first full frame
        out["first frame"] = _timed(term, term.origin(), ok)
        time.sleep(settle_s)  # a user reads the first screen
        pressed = term.press(KEYS["F4"])
        ok = term.wait_text([f"of {count} runs"])
        out["History after F4"] = _timed(term, pressed, ok)
        out["History from the process start"] = _timed(term, term.origin(), ok)
        time.sleep(settle_s)
        term.press(b"/")
        time.sleep(0.3)  # the filter line takes the keys
        # History filters as one types: all but the last key, settled (lr < 0.00 keeps
        # none), then the last key is timed until the count line shows the runs it keeps
        os.write(term.master, FILTER[:-1].encode())
        term.wait_text([f"0 of {count} runs"], 30)
        time.sleep(settle_s)
        expected = sum(1 for i in range(count) if LRS[i % 3] < 0.005)
        pressed = term.press(FILTER[-1].encode())
        ok = term.wait_text([f"{expected} of {count} runs"], 60)
        out["filter applied"] = _timed(term, pressed, ok)
    finally:
        term.close()
    return out


def run_page_figure(runs_dir: Path, last_step: int, *, settle_s: float = 1.0) -> dict[str, Any]:
    """The long run (the only run of `runs_dir`) opened from History: Enter until its
    curves are drawn (the panes' axes show the last step's scale)."""
    term = Terminal(runs_dir)
    out: dict[str, Any] = {}
    try:
        term.wait_bytes([b"palette"], 60)
        time.sleep(settle_s)
        term.press(KEYS["F4"])
        term.wait_text(["of 1 runs"])
        time.sleep(settle_s)
        pressed = term.press(KEYS["enter"])
        ok = term.wait_text([f"latest step {last_step}", *RUN_PAGE_DRAWN])
        out["run page drawn"] = _timed(term, pressed, ok)
    finally:
        term.close()
    return out


# What the run page shows once its curves are drawn (not while "no records yet"): the
# cursor line's last step (read from the drawn records), and the panes' x axes.
RUN_PAGE_DRAWN = ["\u2514\u252c"]


# The long-runs side's own timing of the page (tui/page_timing.py), in a process of its
# own: the TUI's layer is above this one. It adds the page's memory.
PAGE_TIMING = r"""
import json, sys
from grok_tui.tui.page_timing import time_run_page
json.dump(time_run_page(sys.argv[1]), open(sys.argv[2], "w"))
"""


def page_in_process(run_path: Path, out: Path, log: Path) -> dict[str, Any] | None:
    """tui/page_timing.time_run_page on the run: first curves, every record drawn, CPU
    and resident memory with the page open; None where that module is missing."""
    command = [sys.executable, "-c", PAGE_TIMING, str(run_path), str(out)]
    child = launch.spawn(command, log, fresh_log=True)
    if child.wait() != 0:
        return None
    try:
        data = json.loads(files.read_text(out, 1024 * 1024))
    except (OSError, ValueError):
        return None
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in data.items()}


# ------------------------------------------------------------------ the session


def _figures_for_size(tmp: Path, count: int, repeat: int) -> dict[str, Any]:
    runs_dir = tmp / f"runs-{count}"
    log = tmp / "output.log"
    made = time.monotonic()
    paths = make_finished_runs(runs_dir, count)
    out: dict[str, Any] = {"made_s": round(time.monotonic() - made, 1)}
    print(f"{count} runs made in {out['made_s']} s", flush=True)
    time.sleep(1.1)  # the index leaves runs changed in the last second to the next listing
    out["index from scratch"] = _said(
        count, "index from scratch", index_from_scratch(runs_dir, log)
    )
    listings = [time_command(["runs", "--runs-dir", str(runs_dir)], log) for _ in range(repeat)]
    out["runs listing"] = _said(count, "runs listing", _median(listings))
    change_summaries(paths[:: max(1, count // CHANGED)][:CHANGED])
    changed = time_command(["runs", "--runs-dir", str(runs_dir)], log)
    out["incremental after 10 changed"] = _said(count, "incremental after 10 changed", changed)
    tuis = [tui_figures(runs_dir, count) for _ in range(repeat)]
    for name in tuis[0]:
        out[name] = _said(count, name, _median([t[name] for t in tuis]))
    return out


def _said(size: int | str, name: str, figure: dict[str, Any]) -> dict[str, Any]:
    """A figure as soon as it is measured, one line (the table comes at the end)."""
    print(f"  {size} · {name}: {_cell(figure) or 'not shown'}", flush=True)
    return figure


def _long_figures(tmp: Path, records: int, repeat: int) -> dict[str, Any]:
    runs_dir = tmp / "runs-long"
    made = time.monotonic()
    path = make_long_run(runs_dir, records)
    size_mb = (path / layout.METRICS_FILE).stat().st_size / 1e6
    out: dict[str, Any] = {"made_s": round(time.monotonic() - made, 1), "metrics_mb": size_mb}
    print(f"a run of {records} records made in {out['made_s']} s ({size_mb:.0f} MB)", flush=True)
    pages = [run_page_figure(runs_dir, records * 5) for _ in range(repeat)]
    inside = page_in_process(path, tmp / "page.json", tmp / "output.log")
    if inside is not None:
        print(f"  long · the page in process (tui/page_timing.py): {inside}", flush=True)
        out["run page in process"] = inside
    out["run page drawn"] = _said(
        "long", "run page drawn", _median([p["run page drawn"] for p in pages])
    )
    csv = tmp / "long.csv"
    exports = []
    for _ in range(repeat):
        args = ["export", str(path), "--csv", str(csv), "--runs-dir", str(runs_dir)]
        exports.append(time_command(args, tmp / "output.log"))
        files.unlink(csv)
    out["export --csv"] = _said("long", "export --csv", _median(exports))
    return out


def _median(figures: list[dict[str, Any]]) -> dict[str, Any]:
    """Each number's median over the repeats (None where a repeat never showed it)."""
    out: dict[str, Any] = {}
    for key in figures[0]:
        values = [f.get(key) for f in figures]
        numbers = [v for v in values if isinstance(v, int | float)]
        if len(numbers) == len(values) and key != "exit_code":
            out[key] = round(statistics.median(numbers), 3)
        else:
            out[key] = values[-1] if key != "wall" else None
    return out


ORDER = (
    "runs listing",
    "index from scratch",
    "incremental after 10 changed",
    "first frame",
    "History after F4",
    "History from the process start",
    "filter applied",
    "run page drawn",
    "export --csv",
)


def format_table(results: dict[str, dict[str, Any]], records: int = LONG_RECORDS) -> str:
    """A Markdown table: each figure for each size, wall (CPU) seconds, and its target."""
    sizes = list(results)
    head = "| figure | " + " | ".join(_size_label(s, records) for s in sizes) + " | target |"
    lines = [head, "|---" * (len(sizes) + 2) + "|"]
    for name in ORDER:
        cells = [_cell(results[s].get(name)) for s in sizes]
        if all(c == "" for c in cells):
            continue
        targets = [
            f"{_size_label(s, LONG_RECORDS)} < {TARGETS[(name, s)]:g} s"
            for s in sizes
            if (name, s) in TARGETS
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {', '.join(targets)} |")
    return "\n".join(lines)


def _size_label(size: str, records: int) -> str:
    return f"{records:,} records" if size == "long" else f"{int(size):,} runs"


def _cell(figure: dict[str, Any] | None) -> str:
    if not figure:
        return ""
    wall, cpu = figure.get("wall"), figure.get("cpu")
    if wall is None:
        return "not shown"
    text = f"{wall:.2f} s" + (f" (cpu {cpu:.2f})" if cpu is not None else "")
    if figure.get("peak_rss_mb") is not None:
        text += f", {figure['peak_rss_mb']:.0f} MB"
    return text


def verdicts(results: dict[str, dict[str, Any]], records: int = LONG_RECORDS) -> list[str]:
    """One line per target measured at its size: the figure, met or missed."""
    lines = []
    for (name, size), target in TARGETS.items():
        figure = results.get(size, {}).get(name)
        wall = (figure or {}).get("wall")
        if figure is not None and (size != "long" or records == LONG_RECORDS):
            said = "not shown" if wall is None else f"{wall:.2f} s"
            ok = wall is not None and wall < target
            lines.append(
                f"{'met   ' if ok else 'missed'} {name} ({_size_label(size, records)}): {said} < {target:g} s"
            )
    return lines


def scale_command(
    sizes: tuple[int, ...] = SIZES,
    *,
    records: int = LONG_RECORDS,
    repeat: int = 1,
    engine: str | None = None,
    shared: bool = False,
    quick: bool = False,
    json_path: Path | None = None,
) -> int:
    """Build the folders, time every figure, print the table with the targets and the
    load average. `engine`: also `grok-tui bench --against ENGINE` (bench/against.py: the
    engine side by side with that checkout of danielmamay/grokking), or `grok-tui bench`
    (bench/compare.py: against the common loop) where it is ""; `shared`: also
    bench/shared_box.py's table."""
    loads = [os.getloadavg()]
    print(
        f"grok-tui bench --scale: {', '.join(f'{n:,}' for n in sizes)} runs and a run of "
        f"{records:,} records; {repeat} repeat{'s' if repeat != 1 else ''}; load average "
        f"{' / '.join(f'{x:.1f}' for x in loads[0])}",
        flush=True,
    )
    results: dict[str, dict[str, Any]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="grok-tui-scale-"))
    try:
        for count in sizes:
            results[str(count)] = _figures_for_size(tmp, count, repeat)
            loads.append(os.getloadavg())
        if records > 0:
            results["long"] = _long_figures(tmp, records, repeat)
            loads.append(os.getloadavg())
    except BaseException:
        _remove(tmp)
        raise
    _report(results, records)
    _remove(tmp)  # after the table: 10,000 runs take a while to remove
    extra: dict[str, Any] = {}
    if engine is not None:
        extra["engine"] = _engine(quick, engine)
    if shared:
        from grok_tui.bench.shared_box import shared_command

        shared_json = tmp.parent / f"{tmp.name}-shared.json"
        shared_command(quick=quick, json_path=shared_json)
        with contextlib.suppress(OSError, ValueError):
            extra["shared_box"] = json.loads(files.read_text(shared_json, 16 * 1024 * 1024))
        files.unlink(shared_json)
    if json_path is not None:
        files.make_dirs(json_path.parent)
        data = {
            "sizes": list(sizes),
            "records": records,
            "repeat": repeat,
            "results": results,
            "targets": {f"{n} ({s})": t for (n, s), t in TARGETS.items()},
            "load_average": loads + [os.getloadavg()],
            **extra,
        }
        files.write_text_atomic(json_path, json.dumps(data, indent=2) + "\n")
    return 0


def _report(results: dict[str, dict[str, Any]], records: int) -> None:
    print()
    print(format_table(results, records))
    print(
        f"wall seconds (cpu seconds of the process timed); load average "
        f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    for line in verdicts(results, records):
        print(line, flush=True)


def _remove(tmp: Path) -> None:
    with contextlib.suppress(OSError):
        files.rmtree(tmp)


def _engine(quick: bool, against: str) -> dict[str, Any]:
    """`grok-tui bench [--against PATH]` in a process of its own (torch is never imported
    here): its output, and its JSON."""
    out = Path(tempfile.mkdtemp(prefix="grok-tui-scale-engine-"))
    try:
        args = ["bench", "--json", str(out / "bench.json"), *(["--quick"] if quick else [])]
        args += ["--against", against] if against else []
        figure = time_command(args, out / "bench.log")
        with contextlib.suppress(OSError):
            print(files.read_text(out / "bench.log", 1024 * 1024), flush=True)
        try:
            figure["report"] = json.loads(files.read_text(out / "bench.json", 16 * 1024 * 1024))
        except (OSError, ValueError):
            figure["report"] = None
        return figure
    finally:
        with contextlib.suppress(OSError):
            files.rmtree(out)

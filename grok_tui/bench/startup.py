"""`grok-tui bench --startup`: the TUI's time to its first frame with 200 runs on disk.

Makes a temporary runs directory of finished runs (200 records each), starts the app in
a pseudo-terminal as a user would (a fresh interpreter: imports included) and measures
from the process start until the screen shows the footer, the presets listed and the
form filled; then each screen switch of SWITCHES (History, Live, Queue, Presets, Compare)
from its key press to the first frame of the new screen. Each figure comes with the app's
CPU seconds meanwhile (a loaded machine stretches wall time far more), each line with the
load average. An empty Textual app, timed alike, gives the floor. Torch-free. The records
are grokking-shaped (curve_record), the same ones the tests' fake trainer writes
(tests/support/fake_trainer.py imports them from here: grok_tui never imports tests).
"""

from __future__ import annotations

import contextlib
import math
import os
import pty
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

from grok_tui import files
from grok_tui.config import Preset, apply_overrides, validate_preset
from grok_tui.rundirs import launch, store
from grok_tui.rundirs.ownership import _read_proc  # /proc, read as ownership reads it

APP = """
import sys
from pathlib import Path
from grok_tui.tui.app import run_app
run_app(Path(sys.argv[1]), [])
"""
# The same measure on an empty Textual app: the floor of this machine, for comparison.
EMPTY_APP = """
from textual.app import App
from textual.widgets import Footer, Static
class Empty(App):
    BINDINGS = [("ctrl+q", "quit", "Quit"), ("f4", "bell", "History")]
    def compose(self):
        yield Static("empty")
        yield Footer()
Empty().run()
"""


def curve_record(step: int, steps: int, elapsed: float) -> dict[str, Any]:
    """Train accuracy rises early, test accuracy late: the grokking shape."""
    fit, grok, width = 0.15 * steps, 0.6 * steps, 0.04 * steps + 1
    train_acc = 1 / (1 + math.exp(-(step - fit) / width))
    test_acc = 0.02 + 0.98 / (1 + math.exp(-(step - grok) / width))
    return {
        "step": step,
        "epoch": step // 10,
        "train_loss": max(1e-4, -math.log(max(train_acc, 1e-4)) + 1e-4),
        "train_acc": train_acc,
        "test_loss": max(1e-4, -math.log(max(test_acc, 1e-4)) + 1e-4),
        "test_acc": test_acc,
        "lr": 1e-3,
        "param_norm": 30.0 - 10 * test_acc,
        "grad_norm": 1.0,
        "elapsed_s": elapsed,
    }


def make_runs(runs_dir: Path, count: int, records: int = 200) -> None:
    base = Preset().to_dict()
    for i in range(count):
        preset = validate_preset(
            apply_overrides(base, [("name", f"bench-{i}"), ("optim.lr", 10 ** -(2 + i % 3))])
        )
        run = store.create_run(preset, runs_dir)
        writer = store.MetricsWriter(run.path)
        for step in range(1, records + 1):
            writer.append(curve_record(step * 50, records * 50, step * 0.1))
        writer.close()
        store.update_summary(
            run.path,
            status=store.COMPLETED,
            step=records * 50,
            fit_step=1500,
            grok_step=6000,
            best_test_acc=1.0,
            final={"test_acc": 1.0, "train_acc": 1.0},
            elapsed_s=records * 0.1,
            started_at=store.now_iso(),
            ended_at=store.now_iso(),
        )


def _read_until(fd: int, needles: list[bytes], deadline: float, buffer: bytearray) -> bool:
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return False
            buffer.extend(chunk)
            if all(n in buffer for n in needles):
                return True
    return False


# After the first frame: each screen switch, timed from the key press to the first frame
# that shows text only the new screen has (styles stripped). (label, keys, texts); a
# step without a label prepares the next one and is not timed. {runs}: the run count.
SWITCHES: tuple[tuple[str | None, bytes, tuple[str, ...]], ...] = (
    ("F4 History", b"\x1bOS", ("of {runs} runs",)),
    ("F3 Live", b"\x1bOR", ("No live run",)),
    ("F6 Queue", b"\x1b[17~", ("Queue", "state")),
    ("F2 Presets", b"\x1bOQ", ("\u2713 valid  \u2717 invalid",)),
    ("F4 History again", b"\x1bOS", ("of {runs} runs",)),
    (None, b" \x1b[B ", ("2 marked",)),  # Space, Down, Space: two runs marked
    ("Compare", b"c", ("field",)),
    ("F3 Live again", b"\x1bOR", ("No live run",)),
)
# Seconds between the form filled (or a switch's frame) and the next key, as a user takes
# them: the app may use them (it reads History's runs once the first screen is whole).
THINK_S = 1.0
# Escape sequences of the terminal (CSI, OSC, and two-byte ones): what is left is the text.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[ -~])")


def screen_text(output: bytes) -> str:
    """The text a terminal was sent, without its escape sequences (styles, moves)."""
    return _ESCAPES.sub("", output.decode("utf-8", "replace"))


def _read_text_until(fd: int, texts: list[str], deadline: float, buffer: bytearray) -> bool:
    """Read until the text sent since ``buffer`` was cleared holds every one of ``texts``."""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return False
            buffer.extend(chunk)
            text = screen_text(bytes(buffer))
            if all(t in text for t in texts):
                return True
    return False


class Figure(NamedTuple):
    """Wall seconds, and the app's CPU seconds meanwhile: a loaded machine stretches the
    first, hardly the second (None: not measured, or the screen never showed)."""

    wall: float | None
    cpu: float | None = None


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU seconds of a process so far, every thread (Linux /proc)."""
    data = _read_proc(Path("/proc") / str(pid) / "stat")
    try:
        fields = data.rsplit(b")", 1)[1].split() if data else []
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (IndexError, ValueError, OSError):
        return None


def _since(start: tuple[float, float | None], pid: int) -> Figure:
    cpu = cpu_seconds(pid)
    return Figure(
        time.monotonic() - start[0], cpu - start[1] if cpu is not None and start[1] else cpu
    )


def measure_once(
    runs_dir: Path, size: tuple[int, int] = (120, 40), app: str = APP
) -> dict[str, Figure]:
    """From the process start to the first frame, to the presets listed (the list shows
    quickstart), to the form filled; then each screen switch of SWITCHES, from its key.
    The empty app gives the first frame only."""
    import fcntl
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    start = time.monotonic()
    child = launch.spawn_on_terminal(
        [sys.executable, "-c", app, str(runs_dir)], slave, env={"TERM": "xterm-256color"}
    )
    os.close(slave)
    buffer = bytearray()
    figures: dict[str, Figure] = {}
    begun = (start, 0.0)
    try:
        # The footer is drawn with the first full frame of the Presets screen.
        if not _read_until(master, [b"palette"], start + 30, buffer):
            raise RuntimeError(
                "no first frame within 30 s:\n" + buffer.decode("utf-8", "replace")[-2000:]
            )
        figures["first frame"] = _since(begun, child.pid)
        if app == APP:
            _read_text_until(master, ["\u2713 quickstart"], start + 30, buffer)
            figures["presets listed"] = _since(begun, child.pid)
            _read_until(master, [b"quickstart", b"weight_decay"], start + 30, buffer)
            figures["form"] = _since(begun, child.pid)
            count = len(list(store.iter_run_dirs(runs_dir)))
            figures.update(_switches(master, child.pid, count))
        os.write(master, b"\x11")  # Ctrl+Q
        with contextlib.suppress(subprocess.TimeoutExpired):  # killed below
            child.wait(timeout=30)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        os.close(master)
    return figures


def _switches(master: int, pid: int, runs: int) -> dict[str, Figure]:
    """Press each key of SWITCHES; the time until its screen shows (None: not in 30 s)."""
    figures: dict[str, Figure] = {}
    buffer = bytearray()
    for label, keys, texts in SWITCHES:
        time.sleep(THINK_S)  # a user reads the screen; its late frames are not the next's
        _read_until(master, [], time.monotonic(), buffer)
        buffer.clear()
        pressed = (time.monotonic(), cpu_seconds(pid))
        os.write(master, keys)
        wanted = [t.format(runs=runs) for t in texts]
        found = _read_text_until(master, wanted, pressed[0] + 30, buffer)
        if label is not None:
            figures[label] = _since(pressed, pid) if found else Figure(None)
    return figures


def _seconds(value: float | None) -> str:
    return f"{value:.2f} s" if value is not None else "nan"


def _shown(figure: Figure) -> str:
    cpu = f" (cpu {figure.cpu:.2f})" if figure.cpu is not None and figure.wall is not None else ""
    return _seconds(figure.wall) + cpu


def startup_command(runs: int = 200, repeat: int = 3) -> int:
    """Time `repeat` starts of the app (and of an empty Textual app) over `runs` runs, and
    its screen switches; each line with the load average it was measured under."""
    tmp = Path(tempfile.mkdtemp(prefix="grok-tui-bench-"))
    try:
        runs_dir = tmp / "runs"
        made = time.monotonic()
        make_runs(runs_dir, runs)
        print(f"{runs} runs made in {time.monotonic() - made:.1f} s ({runs_dir})")
        walls: dict[str, list[float]] = {}
        cpus: dict[str, list[float]] = {}
        for _ in range(repeat):
            # Interleaved, so that both see the same load of the machine.
            floor = measure_once(runs_dir, app=EMPTY_APP)["first frame"]
            figures = {**measure_once(runs_dir), "empty Textual app": floor}
            for name, figure in figures.items():
                if figure.wall is not None:
                    walls.setdefault(name, []).append(figure.wall)
                    if figure.cpu is not None:
                        cpus.setdefault(name, []).append(figure.cpu)
            print(
                " · ".join(f"{name} {_shown(figure)}" for name, figure in figures.items())
                + f" (load average {os.getloadavg()[0]:.1f})"
            )
        order = ["first frame", "presets listed", "form"]
        order += [label for label, _, _ in SWITCHES if label is not None]
        order.append("empty Textual app")
        if cpus:
            print(
                "median cpu seconds of the app: "
                + ", ".join(f"{n} {statistics.median(cpus[n]):.2f}" for n in order if n in cpus)
            )
        medians = {n: statistics.median(walls[n]) if n in walls else None for n in order}
        print(
            "median: "
            + ", ".join(f"{name} {_seconds(value)}" for name, value in medians.items())
            + f" (load average {os.getloadavg()[0]:.1f}; {runs} runs; switches from the key"
            " press, the rest from the process start)"
        )
    finally:
        with contextlib.suppress(OSError):
            files.rmtree(tmp)
    return 0

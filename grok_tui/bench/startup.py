"""`grok-tui bench --startup`: the TUI's time to its first frame with 200 runs on disk.

Makes a temporary runs directory of finished runs (200 records each), starts the app in
a pseudo-terminal as a user would (a fresh interpreter: imports included) and measures
until the screen shows the footer, then until the History table holds every run; an
empty Textual app, timed alike, gives the floor of the machine. Torch-free. The records
are grokking-shaped (curve_record), the same ones the tests' fake trainer writes
(tests/support/fake_trainer.py imports them from here: grok_tui never imports tests).
"""

from __future__ import annotations

import contextlib
import math
import os
import pty
import select
import signal
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from grok_tui import files
from grok_tui.config import Preset, apply_overrides, validate_preset
from grok_tui.rundirs import launch, store

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


def measure_once(
    runs_dir: Path, size: tuple[int, int] = (120, 40), app: str = APP
) -> tuple[float, float, float | None]:
    """Seconds to the first frame, to the presets and form shown, to History listing every run."""
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
    try:
        # The footer is drawn with the first full frame of the Presets screen.
        if not _read_until(master, [b"palette"], start + 30, buffer):
            raise RuntimeError(
                "no first frame within 30 s:\n" + buffer.decode("utf-8", "replace")[-2000:]
            )
        first_frame = time.monotonic() - start
        if app == APP:  # then the presets listed and the form built
            _read_until(master, [b"quickstart", b"weight_decay"], start + 30, buffer)
            ready = time.monotonic() - start
        else:
            ready = first_frame
        buffer.clear()
        history_start = time.monotonic()
        os.write(master, b"\x1bOS")  # F4: History
        count = len(list(store.iter_run_dirs(runs_dir)))
        found = app == APP and _read_until(
            master, [f"of {count} runs".encode()], history_start + 30, buffer
        )
        history = time.monotonic() - history_start if found else None
        os.write(master, b"\x11")  # Ctrl+Q
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        os.close(master)
    return first_frame, ready, history


def startup_command(runs: int = 200, repeat: int = 3) -> int:
    """Time `repeat` starts of the app (and of an empty Textual app) over `runs` runs."""
    tmp = Path(tempfile.mkdtemp(prefix="grok-tui-bench-"))
    try:
        runs_dir = tmp / "runs"
        made = time.monotonic()
        make_runs(runs_dir, runs)
        print(f"{runs} runs made in {time.monotonic() - made:.1f} s ({runs_dir})")
        firsts, readies, histories, floors = [], [], [], []
        for _ in range(repeat):
            # Interleaved, so that both see the same load of the machine.
            floors.append(measure_once(runs_dir, app=EMPTY_APP)[0])
            first, ready, history = measure_once(runs_dir)
            firsts.append(first)
            readies.append(ready)
            if history is not None:
                histories.append(history)
            print(
                f"first frame {first:.2f} s · presets and form {ready:.2f} s · F4 to History "
                f"listing {runs} runs {history or float('nan'):.2f} s · empty Textual app "
                f"{floors[-1]:.2f} s"
            )
        print(
            f"median: first frame {statistics.median(firsts):.2f} s, presets and form "
            f"{statistics.median(readies):.2f} s, History "
            f"{statistics.median(histories) if histories else float('nan'):.2f} s, empty Textual "
            f"app {statistics.median(floors):.2f} s (load average {os.getloadavg()[0]:.1f})"
        )
    finally:
        with contextlib.suppress(OSError):
            files.rmtree(tmp)
    return 0

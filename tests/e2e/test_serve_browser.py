"""``grok-tui serve`` driven in a real headless Chromium, as a user meets it.

The server is started as a user starts it (its own process, a free loopback port, a runs
folder with one finished run); the page is opened, and what the TUI draws is read from
the terminal bytes the page receives over textual-serve's websocket (xterm.js draws on a
canvas, so the DOM holds no text). Keys are typed into the page: F4 (History), then
Enter on the run's row (History shows runs by name), whose page shows its heading
and curves.

Needs Debian's chromium (/usr/bin/chromium) and the playwright package (no
``playwright install``: the system browser is launched); skipped with the reason where
either is missing. CI installs both (.ci/run, the dev and serve extras).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from grok_tui.cli import main
from grok_tui.config import load_preset
from grok_tui.rundirs import store
from tests.conftest import REPO, TINY_PRESET
from tests.support.fake_trainer import curve_record

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RUN_NAME = "browser-probe"
# CSI (colours, cursor moves), OSC/DCS/APC strings, then any other two-byte escape.
ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[\]P_^X].*?(?:\x07|\x1b\\)|\x1b.", re.S)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def finished_run(runs: Path, folder: Path) -> store.RunDir:
    """One completed run as training leaves it: preset, records, summary."""
    (folder / "probe.toml").write_text(TINY_PRESET.replace('name = "tiny"', f'name = "{RUN_NAME}"'))
    run = store.create_run(load_preset(folder / "probe.toml"), runs)
    writer = store.MetricsWriter(run.path)
    for step in range(10, 201, 10):
        writer.append(curve_record(step, 200, step / 100))
    writer.close()
    store.update_summary(
        run.path,
        status=store.COMPLETED,
        step=200,
        steps=200,
        fit_step=40,
        grok_step=150,
        best_test_acc=0.99,
        final={"test_acc": 0.98, "train_acc": 1.0},
        elapsed_s=2.0,
        started_at=store.now_iso(),
        ended_at=store.now_iso(),
    )
    return run


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, store.RunDir, subprocess.Popen[str]]]:
    """``grok-tui serve`` on a free loopback port, until its page answers; then stopped."""
    runs = tmp_path / "runs"
    run = finished_run(runs, tmp_path)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "grok_tui", "serve", "--port", str(port), "--runs-dir", str(runs)],
        cwd=tmp_path,  # the served TUI must find the runs folder from anywhere
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"},
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as page:
                    assert page.status == 200
                break
            except OSError:
                assert server.poll() is None, server.communicate()[0]
                assert time.monotonic() < deadline, "grok-tui serve did not answer in 60 s"
                time.sleep(0.2)
        yield url, run, server
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


class Screen:
    """What the served TUI has drawn: the terminal bytes of the page's websocket, with
    the escape sequences taken out (words of one style stay whole)."""

    def __init__(self, page) -> None:  # playwright's Page
        self.page = page
        self.chunks: list[str] = []
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload: bytes | str) -> None:
        if isinstance(payload, bytes):
            payload = payload.decode("utf-8", "replace")
        self.chunks.append(payload)

    def mark(self) -> int:
        return len(self.chunks)

    def text(self, since: int = 0) -> str:
        return ESCAPES.sub("", "".join(self.chunks[since:]))

    def wait_for(self, *words: str, since: int = 0, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not all(word in self.text(since) for word in words):
            if time.monotonic() > deadline:
                missing = [w for w in words if w not in self.text(since)]
                raise AssertionError(f"not drawn within {timeout} s: {missing}")
            self.page.wait_for_timeout(200)  # lets playwright deliver the frames


@pytest.mark.slow  # a server, a browser and a TUI process: ~10 s
@pytest.mark.timeout(180)
def test_the_browser_view_opens_history_and_a_run(
    served: tuple[str, store.RunDir, subprocess.Popen[str]],
) -> None:
    if not CHROMIUM.exists():
        pytest.skip("no Chromium: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("no playwright: pip install playwright (the dev extra)")
    url, run, server = served
    shots = Path(os.environ.get("TMP", tempfile.gettempdir()))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 900})
            screen = Screen(page)
            page.goto(url)
            start = page.locator("#start")  # textual-serve's button, where it shows one
            if start.count() and start.is_visible():
                start.click()
            screen.wait_for("Presets")  # the first frame: the Presets screen
            page.locator("#terminal").click()  # the keys go to the terminal
            mark = screen.mark()
            page.keyboard.press("F4")
            screen.wait_for("History", RUN_NAME, "completed", since=mark)  # its row
            mark = screen.mark()
            page.keyboard.press("Enter")
            # the run's page: its heading (name, status, steps) and its two curves
            screen.wait_for(RUN_NAME, run.run_id, "step 200/200", "accuracy", "loss", since=mark)
            page.wait_for_timeout(500)
        finally:
            for page in browser.contexts[0].pages if browser.contexts else []:
                page.screenshot(path=str(shots / "grok-tui-serve.png"))  # to look at
            browser.close()
    assert server.poll() is None  # still serving


# -- quick: the command itself, without a browser -------------------------------------------


def test_serve_without_textual_serve_says_the_extra_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "textual_serve" else real(name, *a),
    )
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'grok-tui[serve]'" in err


class FakeServer:
    made: list[FakeServer] = []

    def __init__(self, command: str, host: str, port: int, title: str) -> None:
        self.command, self.host, self.port = command, host, port
        FakeServer.made.append(self)

    def serve(self) -> None:
        pass


def test_serve_serves_the_tui_on_the_same_runs_folder_on_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("textual_serve")
    import textual_serve.server

    monkeypatch.setattr(textual_serve.server, "Server", FakeServer)
    monkeypatch.chdir(tmp_path)
    FakeServer.made.clear()
    assert main(["serve", "--runs-dir", "here", "--port", "8123"]) == 0
    (server,) = FakeServer.made
    assert (server.host, server.port) == ("127.0.0.1", 8123)
    assert shlex.split(server.command) == [
        sys.executable,
        "-m",
        "grok_tui",
        "tui",
        "--runs-dir",
        str(tmp_path / "here"),
    ]
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8123" in out and "warning" not in out
    assert main(["serve", "--host", "0.0.0.0"]) == 0
    assert FakeServer.made[-1].host == "0.0.0.0"
    assert "not a loopback address" in capsys.readouterr().out


def test_serve_refuses_a_port_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--port", "70000"])
    assert exit_.value.code == 2
    assert "takes a port from 1 to 65535" in capsys.readouterr().err

"""``grok-tui serve``: the TUI in a browser, through textual-serve (the ``serve`` extra).

textual-serve runs a command once per browser tab, its terminal I/O carried over a
websocket: here that command is this very TUI (``python -m grok_tui tui``) on the same
runs directory, given as an absolute path so that the served TUI finds it whatever
folder textual-serve starts it in. textual-serve is imported here only, by this command.

Loopback (127.0.0.1) by default: whoever reaches the page drives the TUI, which starts
and stops runs and edits presets. Another address is served as asked, with that said.
"""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
INSTALL_HINT = "pip install 'grok-tui[serve]'"
EXIT_OK, EXIT_BAD_INPUT = 0, 2


def tui_command(runs_dir: Path, python: str = sys.executable) -> str:
    """The shell command textual-serve starts per browser tab: the TUI on `runs_dir`."""
    return shlex.join([python, "-m", "grok_tui", "tui", "--runs-dir", str(runs_dir.absolute())])


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_of(host: str, port: int) -> str:
    """The address to open (an IPv6 host in brackets)."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


def serve(
    runs_dir: Path,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    say: Callable[[str], None] = print,
) -> int:
    """Serve the TUI on `runs_dir` at http://host:port until Ctrl+C or SIGTERM.

    Without textual-serve: one line naming the extra, exit 2. A port that cannot be
    bound (in use, not allowed): one line, exit 2.
    """
    if importlib.util.find_spec("textual_serve") is None:
        print(f"error: grok-tui serve needs textual-serve: {INSTALL_HINT}", file=sys.stderr)
        return EXIT_BAD_INPUT
    from textual_serve.server import Server

    url = url_of(host, port)
    say(f"grok-tui serve: the TUI on {runs_dir.absolute()} at {url} (Ctrl+C stops)")
    if not is_loopback(host):
        say(
            f"warning: {host} is not a loopback address: whoever reaches {url} drives the "
            "TUI (starts runs, edits presets); there is no password"
        )
    server = Server(tui_command(runs_dir), host=host, port=port, title="grok-tui")
    try:
        server.serve()
    except OSError as error:  # the port is taken, or the address is not this machine's
        print(f"error: cannot serve on {url}: {error.strerror or error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK


def _port(text: str) -> int:
    """An argparse ``type``: a TCP port, 1 to 65535."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"takes a port from 1 to 65535, got {text[:40]!r}")
    return value


def add_serve_options(parser: argparse.ArgumentParser) -> None:
    """--host and --port of ``grok-tui serve`` (--runs-dir is every command's)."""
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help=f"the address to listen on (default {DEFAULT_HOST})"
    )
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"the port (default {DEFAULT_PORT})"
    )


def serve_command(args: argparse.Namespace, parser: argparse.ArgumentParser | None = None) -> int:
    """``grok-tui serve [--host H] [--port N] [--runs-dir DIR]``."""
    from grok_tui.rundirs.store import resolve_runs_dir

    return serve(resolve_runs_dir(args.runs_dir), args.host, args.port)

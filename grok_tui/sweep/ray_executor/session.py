"""Connected to Ray for a sweep: start a local instance or join a cluster, and say which.

A local instance this driver starts gets a watchdog process (sweep/ray_watchdog.py) that
takes it down should the driver die without ray.shutdown.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ray

from grok_tui.config import PresetError
from grok_tui.rundirs import ownership

LOCAL = "local"


@contextlib.contextmanager
def ray_session(address: str) -> Iterator[dict[str, float]]:
    """Connected to Ray for the sweep; yields the cluster's resources.

    ``local`` starts a Ray instance on this machine and stops it afterwards; ``auto`` or
    an address joins a cluster (and leaves it running). A process already connected (a
    notebook, the tests) keeps its connection. A cluster that cannot be reached is a
    PresetError (one line, exit 2), raised before anything is created.
    """
    owned = not ray.is_initialized()
    if owned and address not in (LOCAL, "auto"):
        _check_reachable(address)
    if owned:
        options: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
        if address == LOCAL:
            options["include_dashboard"] = False
        try:
            ray.init(address=address, **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise PresetError(
                f"--address {address}: cannot reach a Ray cluster ({first_line(exc)})"
            ) from None
    watchdog = _start_watchdog() if owned and address == LOCAL else None
    try:
        yield dict(ray.cluster_resources())
    finally:
        if owned:
            ray.shutdown()
        if watchdog is not None:  # Ray is down: it has nothing left to do
            watchdog.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                watchdog.wait(timeout=5)


def _start_watchdog() -> subprocess.Popen[bytes] | None:
    """A process that kills the local Ray instance this driver just started if the driver
    dies without ray.shutdown (kill -9): the raylet's agents would outlive it for good
    (ray_watchdog). None where the instance's processes are unknown, or it cannot start."""
    from grok_tui.rundirs import launch

    node = getattr(ray._private.worker, "_global_node", None)
    processes = getattr(node, "all_processes", None) or {}
    roots = [str(info.process.pid) for infos in processes.values() for info in infos
             if getattr(info, "process", None) is not None]  # fmt: skip
    if node is None or not roots:
        return None
    me = ownership.my_identity()
    try:
        return launch.spawn(
            [sys.executable, "-m", "grok_tui.sweep.ray_watchdog", str(me.pid), me.started or "",
             *roots],
            Path(node.get_logs_dir_path()) / "grok-tui-watchdog.log",
        )  # fmt: skip
    except OSError as exc:
        print(f"ray: no watchdog for the local instance ({exc})", file=sys.stderr)
        return None


def _check_reachable(address: str) -> None:
    """A wrong HOST:PORT makes ray.init retry for minutes: one line at once instead."""
    where = address.removeprefix("ray://")
    host, _, port = where.rpartition(":")
    if not host or not port.isdigit():
        raise PresetError(
            f"--address {address}: expected local, auto, ray://HOST:PORT or HOST:PORT"
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise PresetError(f"--address {address}: cannot reach a Ray cluster ({reason})") from None


def describe_cluster(address: str, resources: dict[str, float]) -> str:
    cpus, gpus = resources.get("CPU", 0), resources.get("GPU", 0)
    nodes = sum(1 for key in resources if key.startswith("node:") and "__" not in key)
    return (
        f"ray at {address}: {nodes} node{'s' if nodes != 1 else ''}, {cpus:g} CPUs, {gpus:g} GPUs"
    )


def first_line(exc: BaseException) -> str:
    """One line for an error; a task's own exception rather than Ray's wrapper of it."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {first_line(cause)}"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

"""Sweeps on a Ray cluster: each point is one Ray task, placed by Ray with its resources.

The only package that imports ray (commands.py imports it on demand, for ``--executor
ray``). The sweep directory, sweep.json and each point's run directory are the same as a
local sweep's, so the report, the TUI's sweep screen and History read a Ray sweep as any.

One job per module, each importing only those before it:

- session: connected to Ray (a local instance or a cluster), and the cluster in one line
- board: the :class:`SweepBoard` actor the driver and the tasks share (attempts, the stop)
- mirror: without a shared filesystem, the worker forwards its run and the driver
  writes it (:class:`ForwardSink`, :class:`MirrorRun`)
- worker: the task that trains one point inside a Ray worker (``train_point``)
- driver: :class:`RayExecutor`, and ``release_orphans`` for a driver that died
"""

from __future__ import annotations

# First: without ray installed this package fails to import at once, even where its
# modules are still in sys.modules (commands.py says how to install it).
import ray  # noqa: F401

from grok_tui.sweep.ray_executor.board import SweepBoard
from grok_tui.sweep.ray_executor.driver import RayExecutor, release_orphans
from grok_tui.sweep.ray_executor.mirror import ForwardSink, MirrorRun
from grok_tui.sweep.ray_executor.session import LOCAL, describe_cluster, ray_session
from grok_tui.sweep.ray_executor.worker import MAX_RETRIES, train_point

__all__ = [
    "LOCAL",
    "MAX_RETRIES",
    "ForwardSink",
    "MirrorRun",
    "RayExecutor",
    "SweepBoard",
    "describe_cluster",
    "ray_session",
    "release_orphans",
    "train_point",
]

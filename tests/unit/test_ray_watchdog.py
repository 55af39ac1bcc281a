"""The Ray watchdog (grok_tui.sweep.ray_watchdog) on plain processes: it leaves the
instance alone while the driver lives, then kills its processes and their children."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading

from grok_tui.rundirs import ownership, store
from grok_tui.sweep import ray_watchdog


def test_the_instance_and_its_children_die_with_the_driver_and_only_then():
    driver = subprocess.Popen(["sleep", "60"])
    # a "raylet" whose child outlives it when it dies (as the agents outlived Ray's)
    raylet = subprocess.Popen(["sh", "-c", "sleep 60 & echo $!; wait"], stdout=subprocess.PIPE)
    bystander = subprocess.Popen(["sleep", "60"])
    agent = int(raylet.stdout.readline())
    try:
        killed: list[int] = []
        watcher = threading.Thread(
            target=lambda: killed.extend(
                ray_watchdog.watch(ownership.identity_of(driver.pid), [raylet.pid])
            )
        )
        watcher.start()
        assert not store.wait_for(lambda: not watcher.is_alive(), timeout=1.5)
        assert ownership.pid_alive(agent) and raylet.poll() is None
        driver.kill()
        driver.wait()
        watcher.join(timeout=10)
        assert not watcher.is_alive()
        assert {raylet.pid, agent} <= set(killed)
        assert store.wait_for(lambda: not ownership.pid_alive(agent), timeout=5)
        assert raylet.wait(timeout=5) == -signal.SIGKILL
        assert bystander.poll() is None  # not of the instance: left alone
    finally:
        for pid in (driver.pid, raylet.pid, agent, bystander.pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for child in (driver, raylet, bystander):
            child.wait()

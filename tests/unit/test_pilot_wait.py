"""The TUI tests' wait (tests/support/pilot.until): a slow machine is waited for, a hang
is not, on a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from tests.support import pilot as pilot_support


class FakePilot:
    """Each pause advances the fake clock by ``turn_s``: 0.05 when the app runs at speed,
    more when the test process is starved."""

    def __init__(self, clock: list[float], turn_s: float) -> None:
        self.clock, self.turn_s, self.turns = clock, turn_s, 0

    async def pause(self, delay: float) -> None:
        self.clock[0] += self.turn_s
        self.turns += 1


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(pilot_support.time, "monotonic", lambda: now[0])
    return now


def test_a_starved_app_that_gets_there_is_waited_for(clock: list[float]) -> None:
    pilot = FakePilot(clock, turn_s=1.0)  # 20x slower than at speed
    asyncio.run(pilot_support.until(pilot, lambda: pilot.turns >= 5, timeout=2.0))
    assert pilot.turns == 5  # 5 s of wall time against a timeout of 2


def test_a_starved_app_fails_at_three_times_the_timeout(clock: list[float]) -> None:
    pilot = FakePilot(clock, turn_s=1.0)
    with pytest.raises(AssertionError, match="timed out"):
        asyncio.run(pilot_support.until(pilot, lambda: False, timeout=2.0))
    assert 6.0 < pilot.turns * 1.0 <= 7.0


def test_a_hang_at_speed_fails_after_the_timeout(clock: list[float]) -> None:
    pilot = FakePilot(clock, turn_s=pilot_support.PAUSE)
    with pytest.raises(AssertionError, match="timed out"):
        asyncio.run(pilot_support.until(pilot, lambda: False, timeout=2.0))
    assert 2.0 <= pilot.turns * pilot_support.PAUSE <= 2.2


def test_a_timeout_names_what_was_waited_for(clock: list[float]) -> None:
    pilot = FakePilot(clock, turn_s=pilot_support.PAUSE)
    with pytest.raises(AssertionError, match=r"waiting for .*lambda: pilot\.turns < 0"):
        asyncio.run(pilot_support.until(pilot, lambda: pilot.turns < 0, timeout=1.0))
    with pytest.raises(AssertionError, match="waiting for the queue to empty"):
        asyncio.run(pilot_support.until(pilot, lambda: False, 1.0, what="the queue to empty"))


class FakeWorker:
    def __init__(self, name: str, turns_left: int) -> None:
        self.name, self.turns_left = name, turns_left

    @property
    def is_finished(self) -> bool:
        return self.turns_left <= 0


class WorkingPilot(FakePilot):
    """An app whose workers each finish after some turns."""

    def __init__(self, clock: list[float], workers: list[FakeWorker]) -> None:
        super().__init__(clock, pilot_support.PAUSE)
        self.app = type("App", (), {"workers": workers})()
        self.cycles = 0

    async def pause(self, delay: float | None = None) -> None:
        if delay is None:
            self.cycles += 1
            return
        await super().pause(delay)
        for worker in self.app.workers:
            worker.turns_left -= 1


def test_settle_waits_for_the_workers_then_for_their_messages(clock: list[float]) -> None:
    pilot = WorkingPilot(clock, [FakeWorker("poll", 3), FakeWorker("launch", 7)])
    asyncio.run(pilot_support.settle(pilot))
    assert pilot.turns == 7 and pilot.cycles == 3  # one before, two after


def test_settle_names_a_worker_that_never_ends(clock: list[float]) -> None:
    pilot = WorkingPilot(clock, [FakeWorker("launch", 10**9)])
    with pytest.raises(AssertionError, match=r"workers to finish \(launch\)"):
        asyncio.run(pilot_support.settle(pilot, timeout=1.0))

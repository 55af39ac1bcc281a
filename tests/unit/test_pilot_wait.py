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

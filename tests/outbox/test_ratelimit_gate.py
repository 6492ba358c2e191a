"""RateGate on a fake monotonic clock."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable

import pytest
from outbox_helpers import max_in_window

from bot.ratelimit import CATCH_UP_S, RateGate, SendLimits

PRIVATE = 501
GROUP = -400001


class FakeMonotonic:
    def __init__(self, start: float = 100.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def make_gate(limits: SendLimits | None = None) -> tuple[RateGate, FakeMonotonic]:
    clock = FakeMonotonic()
    return RateGate(limits or SendLimits(), monotonic=clock), clock


def test_fresh_gate_lets_send_now() -> None:
    gate, clock = make_gate()
    assert gate.chat_ready_at(PRIVATE, False) <= clock.now
    assert gate.chat_ready_at(GROUP, True) <= clock.now
    assert gate.global_ready_at() <= clock.now


def test_chat_waits_interval_after_send() -> None:
    gate, clock = make_gate()
    gate.record(PRIVATE, False)
    assert gate.chat_ready_at(PRIVATE, False) == pytest.approx(clock.now + 1.01)
    assert gate.chat_ready_at(PRIVATE + 1, False) <= clock.now


def run_sends(
    gate: RateGate, clock: FakeMonotonic, count: int, lateness: Callable[[], float]
) -> list[float]:
    """Start `count` sends to distinct chats, each `lateness()` seconds after the gate allows."""
    starts = []
    for chat_id in range(count):
        clock.now = max(clock.now, gate.global_ready_at()) + lateness()
        gate.record(chat_id, False)
        starts.append(clock.now)
    return starts


def test_global_pace_from_per_second() -> None:
    gate, clock = make_gate(SendLimits(per_second=10.0))
    starts = run_sends(gate, clock, 21, lambda: 0.0)
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    spacing = 1.01 / 10.0
    # Gaps are even, except where the catch-up allowance or the window moves a send.
    assert min(gaps) == pytest.approx(spacing - CATCH_UP_S)
    assert starts[-1] - starts[0] == pytest.approx(20 * spacing)
    assert max_in_window(starts, 1.0) <= 10

    # After a quiet spell no more than the catch-up allowance is saved up.
    clock.now += 60.0
    gate.record(99, False)
    assert gate.global_ready_at() == pytest.approx(clock.now - CATCH_UP_S + spacing)


def test_late_starts_keep_pace() -> None:
    gate, clock = make_gate(SendLimits(per_second=100.0))
    # Every send starts 3 ms after its turn, as when the event loop is busy.
    starts = run_sends(gate, clock, 500, lambda: 0.003)
    assert starts[-1] - starts[0] <= 499 * 1.01 / 100.0 + 0.003
    assert max_in_window(starts, 1.0) <= 100


@pytest.mark.parametrize("per_second", [1.0, 7.5, 30.0, 200.0])
def test_any_second_within_rate(per_second: float) -> None:
    gate, clock = make_gate(SendLimits(per_second=per_second))
    jitter = random.Random(7)
    starts = run_sends(gate, clock, int(per_second * 10), lambda: jitter.uniform(0.0, 0.03))
    assert max_in_window(starts, 1.0) <= per_second


def test_group_window_limit() -> None:
    gate, clock = make_gate(SendLimits(group_per_window=3, group_window_s=10.0))
    first = clock.now
    for _ in range(3):
        clock.now = max(clock.now, gate.chat_ready_at(GROUP, True))
        gate.record(GROUP, True)
    # The fourth message waits until the first leaves the window.
    assert gate.chat_ready_at(GROUP, True) == pytest.approx(first + 10.0 + 0.01)

    clock.now = gate.chat_ready_at(GROUP, True)
    gate.record(GROUP, True)
    second = first + 1.01
    assert gate.chat_ready_at(GROUP, True) == pytest.approx(second + 10.0 + 0.01)


def test_private_chat_has_no_window() -> None:
    gate, clock = make_gate(SendLimits(group_per_window=3, group_window_s=10.0))
    for _ in range(5):
        clock.now = max(clock.now, gate.chat_ready_at(PRIVATE, False))
        gate.record(PRIVATE, False)
    assert gate.chat_ready_at(PRIVATE, False) == pytest.approx(clock.now + 1.01)


def test_hold_chat_delays_only_that_chat() -> None:
    gate, clock = make_gate()
    gate.hold_chat(PRIVATE, 5)
    assert gate.chat_ready_at(PRIVATE, False) == pytest.approx(clock.now + 5)
    assert gate.chat_ready_at(PRIVATE + 1, False) <= clock.now

    # A shorter hold does not shorten a longer one.
    gate.hold_chat(PRIVATE, 1)
    assert gate.chat_ready_at(PRIVATE, False) == pytest.approx(clock.now + 5)


def test_hold_all_delays_every_send() -> None:
    gate, clock = make_gate()
    gate.hold_all(3)
    assert gate.global_ready_at() == pytest.approx(clock.now + 3)
    gate.hold_all(1)
    assert gate.global_ready_at() == pytest.approx(clock.now + 3)


def test_forget_chat_clears_its_waits() -> None:
    gate, clock = make_gate()
    gate.record(GROUP, True)
    gate.forget_chat(GROUP)
    assert gate.chat_ready_at(GROUP, True) <= clock.now


def test_old_entries_forgotten() -> None:
    gate, clock = make_gate(SendLimits(per_second=1000.0))
    for chat_id in range(10_000):
        gate.record(chat_id, chat_id % 2 == 0)
    clock.now += 120.0
    gate.record(-1, False)
    # Only the chat just sent to still has a wait to remember.
    assert list(gate._chat_next) == [-1]
    assert list(gate._group_sends) == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"per_second": 0.0}, "per_second must be positive"),
        ({"group_per_window": 0}, "group_per_window must be at least 1"),
    ],
)
def test_invalid_limits_rejected(fields: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SendLimits(**fields)  # type: ignore[arg-type]

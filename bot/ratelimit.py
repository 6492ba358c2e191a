"""Telegram's send limits, kept on the bot's side so that the API rarely has to refuse.

Telegram's Bot FAQ gives about 30 messages per second in total, one per second in one
chat and 20 per minute in one group. The gate spaces sends so that none of these is
crossed, measured on the monotonic clock when each request starts.

Sends are spaced evenly at `per_second`, but a send that starts a little late (the
event loop was busy) does not push back the ones after it, or the pace would drop by
that lateness on every send. Those may catch up by at most CATCH_UP_S, and a sliding
window of 1 s plus `margin_s` allows at most `per_second` sends (rounded down) whatever
the spacing would permit.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

# Seconds of missed spacing that later sends may make up at once: about ten sends at 200
# per second, none at 20 per second or fewer.
CATCH_UP_S = 0.05


@dataclass(frozen=True)
class SendLimits:
    per_second: float = 30.0
    chat_interval_s: float = 1.0
    group_per_window: int = 20
    group_window_s: float = 60.0
    # Added to every interval, because requests started on time can still reach the
    # server a little closer together than they left.
    margin_s: float = 0.01

    def __post_init__(self) -> None:
        if self.per_second <= 0:
            raise ValueError("per_second must be positive")
        if self.group_per_window < 1:
            raise ValueError("group_per_window must be at least 1")


class RateGate:
    """Book-keeping of recent sends: when may the next message go, overall and per chat."""

    def __init__(self, limits: SendLimits, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._monotonic = monotonic
        self._spacing = (1.0 + limits.margin_s) / limits.per_second
        self._window_s = 1.0 + limits.margin_s
        self._window_capacity = max(1, int(limits.per_second))
        # Start times of the latest sends, as many as one window may hold.
        self._starts: deque[float] = deque(maxlen=self._window_capacity)
        self._next_global = 0.0
        self._global_hold_until = 0.0
        self._chat_next: dict[int, float] = {}
        self._group_sends: dict[int, deque[float]] = {}

    def chat_ready_at(self, chat_id: int, is_group: bool) -> float:
        """Monotonic time from which a message to this chat keeps every per-chat limit."""
        ready = self._chat_next.get(chat_id, 0.0)
        if is_group:
            sends = self._group_sends.get(chat_id)
            if sends and len(sends) >= self.limits.group_per_window:
                oldest = sends[-self.limits.group_per_window]
                ready = max(ready, oldest + self.limits.group_window_s + self.limits.margin_s)
        return ready

    def global_ready_at(self) -> float:
        """Monotonic time from which one more send keeps the overall rate."""
        ready = max(self._next_global, self._global_hold_until)
        if len(self._starts) == self._window_capacity:
            ready = max(ready, self._starts[0] + self._window_s)
        return ready

    def record(self, chat_id: int, is_group: bool) -> None:
        """Count a send that starts now."""
        now = self._monotonic()
        self._next_global = max(now - CATCH_UP_S, self._next_global) + self._spacing
        self._starts.append(now)
        self._chat_next[chat_id] = now + self.limits.chat_interval_s + self.limits.margin_s
        if is_group:
            sends = self._group_sends.setdefault(chat_id, deque())
            sends.append(now)
            horizon = now - self.limits.group_window_s - self.limits.margin_s
            while sends and sends[0] < horizon:
                sends.popleft()
        self._forget_old(now)

    def hold_chat(self, chat_id: int, seconds: float) -> None:
        """Send nothing to this chat for `seconds` (a 429 named this chat)."""
        until = self._monotonic() + seconds
        self._chat_next[chat_id] = max(self._chat_next.get(chat_id, 0.0), until)

    def hold_all(self, seconds: float) -> None:
        """Send nothing at all for `seconds` (429s came in a burst: the bot is over the limit)."""
        self._global_hold_until = max(self._global_hold_until, self._monotonic() + seconds)

    def forget_chat(self, chat_id: int) -> None:
        self._chat_next.pop(chat_id, None)
        self._group_sends.pop(chat_id, None)

    def _forget_old(self, now: float) -> None:
        # Bounded memory for long runs: entries whose waits have passed carry no limit.
        if len(self._chat_next) < 10_000:
            return
        for chat_id in [chat for chat, ready in self._chat_next.items() if ready < now]:
            del self._chat_next[chat_id]
        horizon = now - self.limits.group_window_s
        for chat_id in [chat for chat, sends in self._group_sends.items() if sends[-1] < horizon]:
            del self._group_sends[chat_id]

"""Injected API failures and optional enforcement of Telegram's flood limits."""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.sandbox.models import ApiError


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def _normalise(methods: Iterable[str] | str | None) -> frozenset[str] | None:
    if methods is None:
        return None
    if isinstance(methods, str):
        methods = [methods]
    return frozenset(method.lower() for method in methods)


@dataclass
class _FloodRule:
    methods: frozenset[str] | None
    retry_after: int
    every: int = 0
    ratio: float = 0.0
    rng: random.Random | None = None
    matched: int = 0

    def matches(self, method: str) -> bool:
        # getUpdates is left out of "all methods" so that a flood switch does not
        # stall the bot's polling loop, which would only slow tests down.
        if self.methods is None:
            return method != "getupdates"
        return method in self.methods


@dataclass
class _FailRule:
    method: str
    error_code: int
    description: str
    remaining: int


class Faults:
    """Switches that make selected API calls fail, for testing the bot's error handling."""

    def __init__(self) -> None:
        self._flood_rules: list[_FloodRule] = []
        self._fail_rules: list[_FailRule] = []

    def flood(
        self, *, every: int = 1, retry_after: int = 1, methods: Iterable[str] | str | None = None
    ) -> None:
        """Reject every Nth matching request with 429 and parameters.retry_after.

        methods=None matches every method except getUpdates.
        """
        if every < 1:
            raise ValueError(f"every must be at least 1, got {every}")
        self._flood_rules.append(_FloodRule(_normalise(methods), retry_after, every=every))

    def flood_ratio(
        self,
        ratio: float,
        retry_after: int = 1,
        seed: int = 0,
        *,
        methods: Iterable[str] | str | None = None,
    ) -> None:
        """Reject a seeded random share (0..1) of matching requests with 429."""
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"ratio must be between 0 and 1, got {ratio}")
        rule = _FloodRule(_normalise(methods), retry_after, ratio=ratio, rng=random.Random(seed))
        self._flood_rules.append(rule)

    def fail(self, method: str, error_code: int, description: str, times: int = 1) -> None:
        """Make the next `times` calls of method fail with this error."""
        self._fail_rules.append(_FailRule(method.lower(), error_code, description, times))

    def clear(self) -> None:
        self._flood_rules.clear()
        self._fail_rules.clear()

    def check(self, method: str) -> None:
        """Raise the injected ApiError for this call, if a switch applies to it."""
        for fail_rule in self._fail_rules:
            if fail_rule.method == method and fail_rule.remaining > 0:
                fail_rule.remaining -= 1
                raise ApiError(fail_rule.error_code, fail_rule.description)
        for rule in self._flood_rules:
            if not rule.matches(method):
                continue
            rule.matched += 1
            if rule.rng is not None:
                if rule.rng.random() < rule.ratio:
                    raise too_many_requests(rule.retry_after)
            elif rule.matched % rule.every == 0:
                raise too_many_requests(rule.retry_after)


@dataclass
class Limits:
    """Telegram's documented flood limits, enforced only when enforce_rates is True.

    The numbers come from the Bot FAQ ("My bot is hitting limits"): about one message
    per second in a chat, 20 per minute in a group and 30 per second overall. Telegram
    allows short bursts above these, so the sandbox is stricter than Telegram.
    """

    enforce_rates: bool = False
    per_chat_interval: float = 1.0  # seconds between messages in one chat
    per_group_per_minute: int = 20
    # Seconds over which per_group_per_minute is counted: Telegram's minute, unless a
    # test shortens it.
    group_window_s: float = 60.0
    global_per_second: int = 30
    # Reject unknown HTML character references such as "&nbsp;", which Telegram
    # itself shows as literal text.
    strict_html_entities: bool = False
    _chat_last: dict[int, float] = field(default_factory=dict, repr=False)
    _group_sends: dict[int, deque[float]] = field(default_factory=dict, repr=False)
    _global_sends: deque[float] = field(default_factory=deque, repr=False)

    def check_send(self, chat_id: int, is_group: bool) -> None:
        """Raise 429 if a message to chat_id now would break a limit, else count it."""
        if not self.enforce_rates:
            return
        now = time.monotonic()
        while self._global_sends and now - self._global_sends[0] >= 1.0:
            self._global_sends.popleft()
        if len(self._global_sends) >= self.global_per_second:
            raise too_many_requests(1)
        last = self._chat_last.get(chat_id)
        if last is not None and now - last < self.per_chat_interval:
            raise too_many_requests(max(1, round(self.per_chat_interval - (now - last))))
        if is_group:
            sends = self._group_sends.setdefault(chat_id, deque())
            while sends and now - sends[0] >= self.group_window_s:
                sends.popleft()
            if len(sends) >= self.per_group_per_minute:
                raise too_many_requests(max(1, round(self.group_window_s - (now - sends[0]))))
            sends.append(now)
        self._chat_last[chat_id] = now
        self._global_sends.append(now)

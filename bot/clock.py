"""The bot's clock. Production reads the system time; the sandbox can move it."""

from __future__ import annotations

import datetime as dt


class Clock:
    """Aware UTC time with an offset that sandbox scripts and tests can change."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def advance(self, delta: dt.timedelta) -> None:
        self.offset += delta

    def set(self, moment: dt.datetime) -> None:
        """Make now() return `moment` (aware) from this instant on."""
        self.offset = moment - dt.datetime.now(dt.UTC)

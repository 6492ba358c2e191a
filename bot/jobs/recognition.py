"""Placeholder until the job is written."""

from __future__ import annotations

from bot.scheduler import JobContext


async def _todo(context: JobContext) -> int:
    raise NotImplementedError


checkin = reminder = close = preview = post = digest = action_reminders = _todo

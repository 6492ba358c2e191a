"""Follow-up actions of BSOs: queries and status changes. Callers commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FollowUpAction, Person, utcnow

STATUSES = ("open", "in_progress", "done", "stuck", "dropped")
# Statuses of an action that still needs work; done and dropped ones are closed.
OPEN_STATUSES = ("open", "in_progress", "stuck")


async def open_actions(
    session: AsyncSession, community_id: int, bso_id: int
) -> Sequence[FollowUpAction]:
    """Return the BSO's actions that still need work, the earliest due first, undated last."""
    return (
        await session.scalars(
            select(FollowUpAction)
            .where(
                FollowUpAction.community_id == community_id,
                FollowUpAction.bso_id == bso_id,
                FollowUpAction.status.in_(OPEN_STATUSES),
            )
            .order_by(FollowUpAction.due_on.is_(None), FollowUpAction.due_on, FollowUpAction.id)
        )
    ).all()


def set_status(
    action: FollowUpAction,
    status: str,
    person: Person | None,
    *,
    reason: str | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Change the action's status; `reason` is kept only for a stuck action."""
    if status not in STATUSES:
        raise ValueError(f"unknown action status {status!r}; expected one of {STATUSES}")
    action.status = status
    action.stuck_reason = reason if status == "stuck" else None
    action.done_at = (now or utcnow()) if status == "done" else None
    action.updated_by = person.id if person is not None else None


def is_overdue(action: FollowUpAction, today: dt.date) -> bool:
    """Whether an action that still needs work is past its due date (`today` in the community's zone)."""
    return action.status in OPEN_STATUSES and action.due_on is not None and action.due_on < today

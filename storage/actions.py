"""Follow-up actions of BSOs: queries and status changes. Callers commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import as_utc
from storage.models import Bso, FollowUpAction, Person, utcnow

STATUSES = ("open", "in_progress", "done", "stuck", "dropped")
# Statuses of an action that still needs work; done and dropped ones are closed.
OPEN_STATUSES = ("open", "in_progress", "stuck")
CLOSED_STATUSES = ("done", "dropped")
# Length of the title column.
TITLE_MAX = 200


async def add_action(
    session: AsyncSession,
    *,
    community_id: int,
    bso_id: int,
    theme_id: int | None,
    title: str,
    due_on: dt.date | None,
    created_by: int | None,
) -> FollowUpAction:
    """Insert an open action; `created_by` is the facilitator's Telegram user id."""
    if not title.strip() or len(title) > TITLE_MAX:
        raise ValueError(f"an action title needs 1 to {TITLE_MAX} characters, got {len(title)}")
    action = FollowUpAction(
        community_id=community_id,
        bso_id=bso_id,
        theme_id=theme_id,
        title=title,
        due_on=due_on,
        status="open",
        created_by=created_by,
    )
    session.add(action)
    await session.flush()
    await session.refresh(action)
    return action


async def get_action(
    session: AsyncSession, community_id: int, action_id: int
) -> FollowUpAction | None:
    """Return the action with this id in this community, or None (another community's too)."""
    action = await session.get(FollowUpAction, action_id, populate_existing=True)
    if action is None or action.community_id != community_id:
        return None
    return action


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


async def open_actions_due(
    session: AsyncSession,
    community_id: int,
    *,
    on: dt.date | None = None,
    before: dt.date | None = None,
) -> Sequence[FollowUpAction]:
    """Return the actions that still need work and are due `on` a day, or `before` one.

    Exactly one of `on` and `before` is given. The earliest due come first.
    """
    if (on is None) == (before is None):
        raise ValueError("give exactly one of on and before")
    due = FollowUpAction.due_on == on if on is not None else FollowUpAction.due_on < before
    return (
        await session.scalars(
            select(FollowUpAction)
            .where(
                FollowUpAction.community_id == community_id,
                FollowUpAction.status.in_(OPEN_STATUSES),
                due,
            )
            .order_by(FollowUpAction.due_on, FollowUpAction.id)
        )
    ).all()


async def all_open_actions(session: AsyncSession, community_id: int) -> Sequence[FollowUpAction]:
    """Return every BSO's actions that still need work, by BSO name, then as `open_actions`."""
    return (
        await session.scalars(
            select(FollowUpAction)
            .join(Bso, Bso.id == FollowUpAction.bso_id)
            .where(
                FollowUpAction.community_id == community_id,
                FollowUpAction.status.in_(OPEN_STATUSES),
            )
            .order_by(
                Bso.name,
                Bso.id,
                FollowUpAction.due_on.is_(None),
                FollowUpAction.due_on,
                FollowUpAction.id,
            )
        )
    ).all()


async def recently_closed(
    session: AsyncSession, community_id: int, bso_id: int, *, since: dt.datetime, limit: int
) -> Sequence[FollowUpAction]:
    """Return up to `limit` of the BSO's actions done or dropped at `since` or later, latest first.

    The closing time is `updated_at`, which `change_status` sets.
    """
    return (
        await session.scalars(
            select(FollowUpAction)
            .where(
                FollowUpAction.community_id == community_id,
                FollowUpAction.bso_id == bso_id,
                FollowUpAction.status.in_(CLOSED_STATUSES),
                FollowUpAction.updated_at >= since,
            )
            .order_by(FollowUpAction.updated_at.desc(), FollowUpAction.id.desc())
            .limit(limit)
        )
    ).all()


async def pocs_to_notify(session: AsyncSession, community_id: int, bso_id: int) -> Sequence[Person]:
    """Return the BSO's approved PoCs who have a private chat open with the bot."""
    return (
        await session.scalars(
            select(Person)
            .where(
                Person.community_id == community_id,
                Person.bso_id == bso_id,
                Person.status == "approved",
                Person.private_chat_open.is_(True),
            )
            .order_by(Person.id)
        )
    ).all()


async def count_unreachable_pocs(session: AsyncSession, community_id: int, bso_id: int) -> int:
    """Count the BSO's approved PoCs who have not opened a private chat with the bot."""
    count = await session.scalar(
        select(func.count(Person.id)).where(
            Person.community_id == community_id,
            Person.bso_id == bso_id,
            Person.status == "approved",
            Person.private_chat_open.is_(False),
        )
    )
    return count or 0


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


def status_problem(action: FollowUpAction, status: str) -> str | None:
    """Return why `action` cannot move to `status`, or None when it can.

    "closed": the action is done or dropped. "same": it already has this status,
    except stuck, which may be set again with a new reason.
    """
    if status not in STATUSES:
        raise ValueError(f"unknown action status {status!r}; expected one of {STATUSES}")
    if action.status in CLOSED_STATUSES:
        return "closed"
    if action.status == status and status != "stuck":
        return "same"
    return None


async def change_status(
    session: AsyncSession,
    action: FollowUpAction,
    status: str,
    person: Person | None,
    *,
    now: dt.datetime,
    reason: str | None = None,
) -> bool:
    """Move `action` to `status` unless its row changed status since it was loaded.

    The UPDATE matches the status the caller saw, so of two people changing one
    action at once only the first succeeds. Returns whether the row was updated; the
    object is reloaded either way. `now` also becomes `updated_at`, the closing time
    that `recently_closed` reads. Raises ValueError for an unknown status.
    """
    if status not in STATUSES:
        raise ValueError(f"unknown action status {status!r}; expected one of {STATUSES}")
    result = cast(
        CursorResult[object],
        await session.execute(
            update(FollowUpAction)
            .where(FollowUpAction.id == action.id, FollowUpAction.status == action.status)
            .values(
                status=status,
                stuck_reason=reason if status == "stuck" else None,
                done_at=now if status == "done" else None,
                updated_by=person.id if person is not None else None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        ),
    )
    await session.refresh(action)
    return result.rowcount == 1


def closed_at(action: FollowUpAction) -> dt.datetime:
    """Return when a done or dropped action was closed: its last change, which closed it."""
    return as_utc(action.updated_at)


def is_overdue(action: FollowUpAction, today: dt.date) -> bool:
    """Whether an action that still needs work is past its due date (`today` in the community's zone)."""
    return action.status in OPEN_STATUSES and action.due_on is not None and action.due_on < today

"""Webinars: adding them, RSVPs, and which reminders are due. Callers commit.

A webinar gets two reminders for the people whose RSVP is "yes": one 24 hours
and one 1 hour before its start. `reminded_day_at` and `reminded_hour_at` record when
each reminder was handled: queued, skipped as too late, or not needed because the
webinar was announced less than that long before its start. A set column is never
handled again, and the reminder rows carry dedup keys, so a rerun sends nothing twice.

Every time stored here comes from the `now` that the caller passes, which is the bot's
clock, so the sandbox's moved clock dates rows as production's system clock does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage, Person, Webinar, WebinarRsvp

ReminderKind = Literal["day", "hour"]

# How long before the start each reminder is due.
REMINDER_LEAD: dict[ReminderKind, dt.timedelta] = {
    "day": dt.timedelta(hours=24),
    "hour": dt.timedelta(hours=1),
}
# RSVP answers, as stored and as the buttons' callback data carries them.
ANSWERS = ("yes", "no")
TITLE_MAX = 200


@dataclass(frozen=True)
class ReminderStep:
    """One reminder that came due: send it, or skip it because it would arrive too late."""

    kind: ReminderKind
    send: bool


def reminder_steps(
    starts_at: dt.datetime, now: dt.datetime, *, day_done: bool, hour_done: bool
) -> tuple[ReminderStep, ...]:
    """Return the reminders of a webinar that are due at `now` and not yet handled.

    The 24-hour reminder is due from 24 hours before the start and is skipped once less
    than 1 hour is left, because the 1-hour reminder then takes its place. The 1-hour
    reminder is due from 1 hour before the start and is skipped from the start on.
    """
    steps: list[ReminderStep] = []
    hour_due = starts_at - REMINDER_LEAD["hour"]
    if not day_done and now >= starts_at - REMINDER_LEAD["day"]:
        steps.append(ReminderStep("day", send=now < hour_due))
    if not hour_done and now >= hour_due:
        steps.append(ReminderStep("hour", send=now < starts_at))
    return tuple(steps)


def upcoming_reminders(webinar: Webinar) -> tuple[ReminderKind, ...]:
    """Return the reminders of a webinar not yet sent, skipped or found not needed."""
    handled = {"day": webinar.reminded_day_at, "hour": webinar.reminded_hour_at}
    return tuple(kind for kind in REMINDER_LEAD if handled[kind] is None)


def reminders_not_needed(starts_at: dt.datetime, now: dt.datetime) -> tuple[ReminderKind, ...]:
    """Return the reminders that a webinar announced at `now` does not need.

    An announcement less than 24 hours before the start is itself the reminder of the
    day before, and one less than 1 hour before is also the reminder of the last hour.
    """
    left = starts_at - now
    return tuple(kind for kind, lead in REMINDER_LEAD.items() if left < lead)


def reminder_dedup_key(webinar_id: int, kind: ReminderKind, telegram_user_id: int) -> str:
    return f"webinar:{webinar_id}:{kind}:{telegram_user_id}"


async def add_webinar(
    session: AsyncSession,
    *,
    community_id: int,
    title: str,
    starts_at: dt.datetime,
    link: str,
    description: str | None,
    audience: dict[str, Any],
    created_by: int | None,
    now: dt.datetime,
) -> Webinar:
    """Insert a webinar, with the reminders that its short notice makes unneeded marked handled."""
    if not title.strip() or len(title) > TITLE_MAX:
        raise ValueError(f"a webinar title needs 1 to {TITLE_MAX} characters, got {len(title)}")
    if starts_at.utcoffset() is None:
        raise ValueError(f"starts_at {starts_at} must have a UTC offset")
    webinar = Webinar(
        community_id=community_id,
        title=title,
        # SQLite keeps no offset, so every stored time is in UTC.
        starts_at=starts_at.astimezone(dt.UTC),
        link=link,
        description=description or None,
        audience=audience,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    not_needed = reminders_not_needed(starts_at, now)
    if "day" in not_needed:
        webinar.reminded_day_at = now
    if "hour" in not_needed:
        webinar.reminded_hour_at = now
    session.add(webinar)
    await session.flush()
    return webinar


async def get_webinar(session: AsyncSession, community_id: int, webinar_id: int) -> Webinar | None:
    """Return the webinar with this id in this community, or None (another community's too)."""
    webinar = await session.get(Webinar, webinar_id, populate_existing=True)
    if webinar is None or webinar.community_id != community_id:
        return None
    return webinar


async def webinar_answered_by(
    session: AsyncSession, webinar_id: int, telegram_user_id: int
) -> Webinar | None:
    """Return the webinar with this id if the user has an RSVP for it, of any community."""
    return await session.scalar(
        select(Webinar)
        .join(WebinarRsvp, WebinarRsvp.webinar_id == Webinar.id)
        .where(Webinar.id == webinar_id, WebinarRsvp.telegram_user_id == telegram_user_id)
    )


async def webinars_around(
    session: AsyncSession, community_id: int, *, since: dt.datetime, limit: int
) -> list[Webinar]:
    """Return the webinars starting at `since` or later, earliest first, at most `limit`."""
    return list(
        (
            await session.scalars(
                select(Webinar)
                .where(Webinar.community_id == community_id, Webinar.starts_at >= since)
                .order_by(Webinar.starts_at, Webinar.id)
                .limit(limit)
            )
        ).all()
    )


async def past_webinars(
    session: AsyncSession, community_id: int, now: dt.datetime, *, limit: int
) -> list[Webinar]:
    """Return the webinars whose start has passed, latest first, at most `limit`."""
    return list(
        (
            await session.scalars(
                select(Webinar)
                .where(Webinar.community_id == community_id, Webinar.starts_at <= now)
                .order_by(Webinar.starts_at.desc(), Webinar.id.desc())
                .limit(limit)
            )
        ).all()
    )


# --- RSVPs ------------------------------------------------------------------------------


async def set_rsvp(
    session: AsyncSession,
    webinar: Webinar,
    *,
    telegram_user_id: int,
    person_id: int | None,
    answer: str,
    now: dt.datetime,
) -> str | None:
    """Store a person's RSVP answer, replacing an earlier one, and return the earlier one or None.

    The unique key on (webinar, Telegram user) keeps one answer per person. When another
    process inserted the same person's first answer meanwhile, the session is rolled
    back, which drops its other uncommitted changes, and that answer is updated instead.
    """
    if answer not in ANSWERS:
        raise ValueError(f"an RSVP answer is one of {ANSWERS}, not {answer!r}")
    webinar_id = webinar.id
    rsvp = await _find_rsvp(session, webinar_id, telegram_user_id)
    if rsvp is None:
        session.add(
            WebinarRsvp(
                webinar_id=webinar_id,
                telegram_user_id=telegram_user_id,
                person_id=person_id,
                answer=answer,
                answered_at=now,
            )
        )
        try:
            await session.flush()
            return None
        except IntegrityError:
            await session.rollback()
            rsvp = await _find_rsvp(session, webinar_id, telegram_user_id)
            if rsvp is None:
                raise
    previous = rsvp.answer
    rsvp.answer = answer
    rsvp.answered_at = now
    if person_id is not None:
        rsvp.person_id = person_id
    await session.flush()
    return previous


async def _find_rsvp(
    session: AsyncSession, webinar_id: int, telegram_user_id: int
) -> WebinarRsvp | None:
    return await session.scalar(
        select(WebinarRsvp).where(
            WebinarRsvp.webinar_id == webinar_id,
            WebinarRsvp.telegram_user_id == telegram_user_id,
        )
    )


@dataclass
class RsvpCounts:
    attending: int = 0
    declined: int = 0


async def rsvp_counts(session: AsyncSession, webinar_ids: Iterable[int]) -> dict[int, RsvpCounts]:
    """Count the RSVP answers per webinar. A webinar without answers maps to zero counts."""
    ids = list(webinar_ids)
    counts = {webinar_id: RsvpCounts() for webinar_id in ids}
    if not ids:
        return counts
    rows = await session.execute(
        select(WebinarRsvp.webinar_id, WebinarRsvp.answer, func.count())
        .where(WebinarRsvp.webinar_id.in_(ids))
        .group_by(WebinarRsvp.webinar_id, WebinarRsvp.answer)
    )
    for webinar_id, answer, number in rows:
        if answer == "yes":
            counts[webinar_id].attending = number
        else:
            counts[webinar_id].declined = number
    return counts


async def has_private_chat(session: AsyncSession, telegram_id: int) -> bool:
    """Tell whether the user opened a private chat with the bot, as seen in any community."""
    found = await session.scalar(
        select(Person.id)
        .where(Person.telegram_id == telegram_id, Person.private_chat_open.is_(True))
        .limit(1)
    )
    return found is not None


# --- Reminders --------------------------------------------------------------------------


async def webinars_with_due_reminders(session: AsyncSession, now: dt.datetime) -> list[Webinar]:
    """Return the webinars of every community with a reminder due at `now` and not yet handled."""
    day_due = Webinar.starts_at <= now + REMINDER_LEAD["day"]
    hour_due = Webinar.starts_at <= now + REMINDER_LEAD["hour"]
    return list(
        (
            await session.scalars(
                select(Webinar)
                .where(
                    or_(
                        Webinar.reminded_day_at.is_(None) & day_due,
                        Webinar.reminded_hour_at.is_(None) & hour_due,
                    )
                )
                .order_by(Webinar.starts_at, Webinar.id)
            )
        ).all()
    )


async def claim_reminder(
    session: AsyncSession, webinar_id: int, kind: ReminderKind, now: dt.datetime
) -> bool:
    """Mark a reminder handled, and return False when another process marked it first.

    The update is conditional on the column being empty, so of two tickers exactly one
    goes on to queue the reminder.
    """
    column = Webinar.reminded_day_at if kind == "day" else Webinar.reminded_hour_at
    result = await session.execute(
        update(Webinar)
        .where(Webinar.id == webinar_id, column.is_(None))
        .values({column.key: now, Webinar.updated_at.key: now})
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Attendee:
    """A person whose RSVP is "yes", with their language and whether their private chat is open."""

    telegram_user_id: int
    person_id: int | None
    locale: str | None
    reachable: bool


async def attendees(session: AsyncSession, webinar: Webinar) -> list[Attendee]:
    """Return the people whose RSVP to the webinar is "yes", in the order they pressed."""
    rsvps = (
        await session.scalars(
            select(WebinarRsvp)
            .where(WebinarRsvp.webinar_id == webinar.id, WebinarRsvp.answer == "yes")
            .order_by(WebinarRsvp.answered_at, WebinarRsvp.id)
        )
    ).all()
    user_ids = [rsvp.telegram_user_id for rsvp in rsvps]
    people = await _people_by_telegram_id(session, user_ids)
    found: list[Attendee] = []
    for rsvp in rsvps:
        rows = people.get(rsvp.telegram_user_id, [])
        # The person's row in the webinar's community decides the language, if it exists.
        own = next((row for row in rows if row.community_id == webinar.community_id), None)
        locale = own.locale if own is not None else None
        if locale is None:
            locale = next((row.locale for row in rows if row.locale), None)
        found.append(
            Attendee(
                telegram_user_id=rsvp.telegram_user_id,
                person_id=own.id if own is not None else rsvp.person_id,
                locale=locale,
                reachable=any(row.private_chat_open for row in rows),
            )
        )
    return found


async def _people_by_telegram_id(
    session: AsyncSession, telegram_ids: Sequence[int]
) -> dict[int, list[Person]]:
    if not telegram_ids:
        return {}
    rows = await session.scalars(select(Person).where(Person.telegram_id.in_(telegram_ids)))
    grouped: dict[int, list[Person]] = {}
    for person in rows:
        grouped.setdefault(person.telegram_id, []).append(person)
    return grouped


async def reminders_queued(session: AsyncSession, webinar_ids: Iterable[int]) -> dict[str, int]:
    """Count the reminder rows queued per webinar and kind, keyed "<id>:<kind>"."""
    ids = list(webinar_ids)
    if not ids:
        return {}
    keys = await session.scalars(
        select(OutboxMessage.dedup_key).where(
            or_(*(OutboxMessage.dedup_key.like(f"webinar:{webinar_id}:%") for webinar_id in ids))
        )
    )
    counts: dict[str, int] = {}
    for key in keys:
        if key is None:
            continue
        _, webinar_id, kind, _ = key.split(":", 3)
        counts[f"{webinar_id}:{kind}"] = counts.get(f"{webinar_id}:{kind}", 0) + 1
    return counts

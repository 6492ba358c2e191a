"""Webinars, RSVPs, recordings and the reminder ticker on SQLite and (when reachable) PostgreSQL.

NOW is a fixed moment, so a row dated by the system clock instead of `now` fails the
date checks.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.texts import Texts
from handlers.webinars import reminder_ticker
from storage import resources, webinars
from storage.db import as_utc
from storage.models import (
    Community,
    JobRun,
    OutboxMessage,
    Person,
    Resource,
    Webinar,
    WebinarRsvp,
)

NOW = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)
STARTS = NOW + dt.timedelta(days=2)


async def community(session: AsyncSession) -> Community:
    created = Community(name=f"CoP {uuid.uuid4().hex[:6]}", slug=uuid.uuid4().hex[:12])
    session.add(created)
    await session.flush()
    return created


async def person(
    session: AsyncSession, community_id: int, telegram_id: int, *, locale: str | None, chat: bool
) -> Person:
    added = Person(
        community_id=community_id,
        telegram_id=telegram_id,
        telegram_name=f"user {telegram_id}",
        status="approved",
        states=[],
        commodities=[],
        locale=locale,
        private_chat_open=chat,
    )
    session.add(added)
    await session.flush()
    return added


async def webinar(
    session: AsyncSession, community_id: int, starts_at: dt.datetime = STARTS
) -> Webinar:
    return await webinars.add_webinar(
        session,
        community_id=community_id,
        title="Working capital",
        starts_at=starts_at,
        link="https://meet.google.com/abc-defg-hij",
        description=None,
        audience={"cop_groups": True},
        created_by=1,
        now=NOW,
    )


async def test_rsvp_second_press_changes_answer(session: AsyncSession) -> None:
    cop = await community(session)
    added = await webinar(session, cop.id)

    first = await webinars.set_rsvp(
        session, added, telegram_user_id=10, person_id=None, answer="yes", now=NOW
    )
    again = await webinars.set_rsvp(
        session, added, telegram_user_id=10, person_id=None, answer="no", now=NOW
    )
    await webinars.set_rsvp(
        session, added, telegram_user_id=11, person_id=None, answer="yes", now=NOW
    )
    counts = await webinars.rsvp_counts(session, [added.id, added.id + 1])

    assert (first, again) == (None, "yes")
    assert counts[added.id] == webinars.RsvpCounts(attending=1, declined=1)
    assert counts[added.id + 1] == webinars.RsvpCounts()


async def test_rsvp_unknown_answer_raises(session: AsyncSession) -> None:
    cop = await community(session)
    added = await webinar(session, cop.id)

    with pytest.raises(ValueError, match="maybe"):
        await webinars.set_rsvp(
            session, added, telegram_user_id=10, person_id=None, answer="maybe", now=NOW
        )


async def test_add_webinar_stores_utc(session: AsyncSession) -> None:
    cop = await community(session)
    india = dt.timezone(dt.timedelta(hours=5, minutes=30))
    added = await webinar(session, cop.id, STARTS.astimezone(india))
    await session.commit()

    stored = await session.scalar(
        select(Webinar.starts_at)
        .where(Webinar.id == added.id)
        .execution_options(populate_existing=True)
    )

    assert stored is not None
    assert as_utc(stored) == STARTS


async def test_add_webinar_dated_by_clock(session: AsyncSession) -> None:
    cop = await community(session)
    added = await webinar(session, cop.id)
    await webinars.set_rsvp(
        session, added, telegram_user_id=10, person_id=None, answer="yes", now=NOW
    )
    await session.commit()

    stored = await session.get(Webinar, added.id, populate_existing=True)
    rsvp = await session.scalar(select(WebinarRsvp).where(WebinarRsvp.webinar_id == added.id))

    assert stored is not None and rsvp is not None
    assert as_utc(stored.created_at) == NOW
    assert as_utc(stored.updated_at) == NOW
    assert as_utc(rsvp.answered_at) == NOW


async def test_claim_reminder_dates_update(session: AsyncSession) -> None:
    cop = await community(session)
    added = await webinar(session, cop.id)
    await session.commit()
    claimed_at = STARTS - dt.timedelta(hours=23)

    await webinars.claim_reminder(session, added.id, "day", claimed_at)
    await session.commit()

    stored = await session.get(Webinar, added.id, populate_existing=True)
    assert stored is not None and stored.reminded_day_at is not None
    assert as_utc(stored.reminded_day_at) == claimed_at
    assert as_utc(stored.updated_at) == claimed_at


async def save_link_recording(
    session: AsyncSession, added: Webinar, urls: list[str], now: dt.datetime
) -> Resource:
    return await resources.save_recording(
        session,
        added,
        kind="link",
        url=urls[0],
        extra_urls=urls[1:],
        source_chat_id=None,
        source_message_id=None,
        file_name=None,
        added_by=1,
        now=now,
    )


async def test_recording_dated_by_clock(session: AsyncSession) -> None:
    cop = await community(session)
    added = await webinar(session, cop.id)
    first_at = STARTS + dt.timedelta(hours=2)
    replaced_at = STARTS + dt.timedelta(days=2)

    first = await save_link_recording(session, added, ["https://youtu.be/a"], first_at)
    await session.commit()
    again = await save_link_recording(
        session, added, ["https://youtu.be/b", "https://docs.example.org/notes"], replaced_at
    )
    await session.commit()

    stored = await session.get(Resource, first.id, populate_existing=True)
    assert stored is not None and again.id == first.id
    assert as_utc(stored.created_at) == first_at
    assert as_utc(stored.updated_at) == replaced_at
    assert (stored.url, stored.extra_urls) == (
        "https://youtu.be/b",
        ["https://docs.example.org/notes"],
    )


async def test_recording_extra_urls_need_url(session: AsyncSession) -> None:
    cop = await community(session)
    added = await webinar(session, cop.id)

    with pytest.raises(ValueError, match="extra_urls"):
        await resources.save_recording(
            session,
            added,
            kind="file",
            url=None,
            extra_urls=["https://docs.example.org/notes"],
            source_chat_id=1,
            source_message_id=2,
            file_name="talk.mp3",
            added_by=1,
            now=NOW,
        )


async def test_short_notice_marks_reminders_handled(session: AsyncSession) -> None:
    cop = await community(session)

    soon = await webinar(session, cop.id, NOW + dt.timedelta(hours=5))
    sooner = await webinar(session, cop.id, NOW + dt.timedelta(minutes=30))
    later = await webinar(session, cop.id)

    assert (soon.reminded_day_at, soon.reminded_hour_at) == (NOW, None)
    assert (sooner.reminded_day_at, sooner.reminded_hour_at) == (NOW, NOW)
    assert (later.reminded_day_at, later.reminded_hour_at) == (None, None)


async def test_due_webinars_by_window(session: AsyncSession) -> None:
    cop = await community(session)
    later = await webinar(session, cop.id)
    await session.commit()

    before = await webinars.webinars_with_due_reminders(session, STARTS - dt.timedelta(hours=25))
    day = await webinars.webinars_with_due_reminders(session, STARTS - dt.timedelta(hours=23))

    assert before == []
    assert [found.id for found in day] == [later.id]


async def test_webinar_answered_by_needs_rsvp(session: AsyncSession) -> None:
    cop = await community(session)
    added = await webinar(session, cop.id)
    await webinars.set_rsvp(
        session, added, telegram_user_id=10, person_id=None, answer="yes", now=NOW
    )

    answered = await webinars.webinar_answered_by(session, added.id, 10)
    stranger = await webinars.webinar_answered_by(session, added.id, 11)

    assert answered is not None and answered.id == added.id
    assert stranger is None


async def test_claim_reminder_once(session: AsyncSession) -> None:
    cop = await community(session)
    added = await webinar(session, cop.id)
    await session.commit()

    first = await webinars.claim_reminder(session, added.id, "day", NOW)
    second = await webinars.claim_reminder(session, added.id, "day", NOW)
    hour = await webinars.claim_reminder(session, added.id, "hour", NOW)

    assert (first, second, hour) == (True, False, True)


async def test_attendees_language_and_reach(session: AsyncSession) -> None:
    cop = await community(session)
    other = await community(session)
    added = await webinar(session, cop.id)
    await person(session, cop.id, 10, locale="hi", chat=False)
    # The same user opened the private chat as a member of another community.
    await person(session, other.id, 10, locale="en", chat=True)
    await person(session, cop.id, 11, locale=None, chat=False)
    for user_id, answer in ((10, "yes"), (11, "yes"), (12, "no"), (13, "yes")):
        await webinars.set_rsvp(
            session, added, telegram_user_id=user_id, person_id=None, answer=answer, now=NOW
        )

    found = await webinars.attendees(session, added)

    assert [(a.telegram_user_id, a.locale, a.reachable) for a in found] == [
        (10, "hi", True),
        (11, None, False),
        (13, None, False),
    ]


async def test_ticker_queues_each_reminder_once(session: AsyncSession) -> None:
    cop = await community(session)
    added = await webinar(session, cop.id)
    await person(session, cop.id, 10, locale="hi", chat=True)
    await person(session, cop.id, 11, locale="en", chat=False)
    await person(session, cop.id, 12, locale="en", chat=True)
    for user_id, answer in ((10, "yes"), (11, "yes"), (12, "no")):
        await webinars.set_rsvp(
            session, added, telegram_user_id=user_id, person_id=None, answer=answer, now=NOW
        )
    await session.commit()
    tick = reminder_ticker(Texts(), "test-scheduler")

    early = await tick(session, STARTS - dt.timedelta(hours=25))
    day = await tick(session, STARTS - dt.timedelta(hours=23))
    day_again = await tick(session, STARTS - dt.timedelta(hours=22))
    hour = await tick(session, STARTS - dt.timedelta(minutes=50))
    after = await tick(session, STARTS + dt.timedelta(minutes=5))
    await session.commit()

    rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert (early, day, day_again, hour, after) == (0, 1, 0, 1, 0)
    assert [(row.chat_id, row.dedup_key) for row in rows] == [
        (10, f"webinar:{added.id}:day:10"),
        (10, f"webinar:{added.id}:hour:10"),
    ]
    assert "रिमाइंडर" in rows[0].payload["text"]
    queued = await webinars.reminders_queued(session, [added.id])
    assert queued == {f"{added.id}:day": 1, f"{added.id}:hour": 1}
    # Each reminder is also a scheduler run, recorded once under its own key.
    runs = (await session.execute(select(JobRun.period, JobRun.outcome))).all()
    assert sorted(runs) == [
        (f"webinar:{added.id}:day", "done"),
        (f"webinar:{added.id}:hour", "done"),
    ]

"""The weekly digest: what the community added in the last 7 days, posted in task-force groups.

A digest lists the buyers added to the buyer registry and the asks and gives filed in
the 7 days before the run's planned time. Private and withdrawn entries are left out. A week
with nothing new posts nothing. Each group gets at most one digest per period (the
run's local date), which the outbox's dedup key enforces even if the job runs twice.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.scheduler import JobContext
from bot.texts import MESSAGE_LIMIT, TAG, LocalTexts, utf16_length
from handlers.themes import theme_labels
from storage import outbox
from storage.models import Buyer, Contribution, GroupChat

log = logging.getLogger(__name__)

WINDOW = dt.timedelta(days=7)
# Items shown per list; the rest are counted as "and N more".
LIST_MAX = 10
# A full digest of long names can pass Telegram's limit. The lists are then cut to these
# lengths in turn until the message fits.
LIST_FALLBACKS = (6, 3, 1)


@dataclass(frozen=True)
class DigestEntry:
    """An ask or give as the digest shows it."""

    title: str
    bso_name: str
    theme: str


@dataclass(frozen=True)
class WeekNews:
    buyers: Sequence[Buyer]
    asks: Sequence[Contribution]
    gives: Sequence[Contribution]

    def is_empty(self) -> bool:
        return not (self.buyers or self.asks or self.gives)


async def digest(context: JobContext) -> int:
    """Queue this week's digest for every active task-force group; return how many were queued."""
    community = context.community
    groups = await task_force_groups(context.session, community.id)
    if not groups:
        return 0
    # A digest moved off a holiday covers the 7 days up to its planned time, so that
    # consecutive weekly digests neither skip nor repeat a day.
    end = context.occurrence.moved_from or context.occurrence.at
    start = end - WINDOW
    news = await week_news(context.session, community.id, start, end)
    if news.is_empty():
        log.info(
            "community %s: nothing new for the digest of %s",
            community.id,
            context.occurrence.period,
        )
        return 0

    t = context.texts.bind(context.settings.default_locale)
    zone = context.plan.zone
    text = render_digest(t, news, start.astimezone(zone), end.astimezone(zone))
    payload = outbox.text_payload(text)
    queued = 0
    for group in groups:
        added = await outbox.add_unique(
            context.session,
            community_id=community.id,
            recipient=outbox.Recipient(chat_id=group.telegram_chat_id, is_group=True),
            payload=payload,
            not_before=context.now,
            dedup_key=f"digest:{group.id}:{context.occurrence.period}",
            priority=outbox.BULK,
        )
        queued += added
    return queued


async def task_force_groups(session: AsyncSession, community_id: int) -> Sequence[GroupChat]:
    return (
        await session.scalars(
            select(GroupChat)
            .where(
                GroupChat.community_id == community_id,
                GroupChat.kind == "task_force",
                GroupChat.active.is_(True),
            )
            .order_by(GroupChat.id)
        )
    ).all()


async def week_news(
    session: AsyncSession, community_id: int, start: dt.datetime, end: dt.datetime
) -> WeekNews:
    """Load the buyers, asks and gives created at `start` or later and before `end` (UTC)."""
    # TODO: rows are stamped with the system time, not the bot's clock, so in the sandbox
    # entries added after `:clock` moved the clock forward are missing from its digest.
    # SQLite stores times without their offset, so both bounds are given in UTC.
    start_utc = start.astimezone(dt.UTC)
    end_utc = end.astimezone(dt.UTC)
    buyers = (
        await session.scalars(
            select(Buyer)
            .where(
                Buyer.community_id == community_id,
                Buyer.created_at >= start_utc,
                Buyer.created_at < end_utc,
            )
            .order_by(Buyer.created_at, Buyer.id)
        )
    ).all()
    entries = (
        await session.scalars(
            select(Contribution)
            .where(
                Contribution.community_id == community_id,
                Contribution.private.is_(False),
                Contribution.status != "withdrawn",
                Contribution.created_at >= start_utc,
                Contribution.created_at < end_utc,
            )
            .order_by(Contribution.created_at, Contribution.id)
        )
    ).all()
    return WeekNews(
        buyers=buyers,
        asks=[entry for entry in entries if entry.kind == "ask"],
        gives=[entry for entry in entries if entry.kind == "give"],
    )


def render_digest(t: LocalTexts, news: WeekNews, start: dt.datetime, end: dt.datetime) -> Markup:
    """Render the digest with up to LIST_MAX items per list, fewer if it would not fit one message."""
    text = Markup("")
    for limit in (LIST_MAX, *LIST_FALLBACKS):
        text = t(
            "digest/weekly",
            start=start.date(),
            end=end.date(),
            buyers=news.buyers[:limit],
            buyers_more=max(0, len(news.buyers) - limit),
            asks=entries_shown(t, news.asks[:limit]),
            asks_more=max(0, len(news.asks) - limit),
            gives=entries_shown(t, news.gives[:limit]),
            gives_more=max(0, len(news.gives) - limit),
        )
        if visible_length(text) <= MESSAGE_LIMIT:
            return text
    # The template clips every field, so one item per list stays under 1,000 characters
    # and this line is not expected to run.
    log.warning("digest of %s characters is over Telegram's limit", visible_length(text))
    return text


def entries_shown(t: LocalTexts, entries: Sequence[Contribution]) -> list[DigestEntry]:
    return [
        DigestEntry(
            title=entry.title,
            bso_name=entry.bso.short_name or entry.bso.name,
            theme=theme_labels(t, [entry.theme])[0],
        )
        for entry in entries
    ]


def visible_length(text: str) -> int:
    """Count the UTF-16 units of the text Telegram shows, after HTML tags and entities."""
    return utf16_length(html.unescape(TAG.sub("", text)))

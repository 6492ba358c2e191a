"""The weekly digest: what the community added in the last 7 days, posted in task-force groups.

A digest lists what happened in the 7 days before the run's planned time: the buyers
added to the buyer registry, the asks and gives filed, the buyer requirements posted that
are still open, the number of offers received and the offers accepted. Private and
withdrawn asks and gives are left out, and no buyer contact is shown, because the digest
goes to groups. A week with nothing new posts nothing. Each group gets at most one digest
per period (the run's local date), which the outbox's dedup key enforces even if the job
runs twice.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.forms.trade import format_quantity
from bot.scheduler import JobContext
from bot.texts import MESSAGE_LIMIT, TAG, LocalTexts, utf16_length
from handlers.themes import theme_labels
from storage import outbox
from storage.models import Buyer, Contribution, GroupChat, Offer, Requirement
from storage.normalize import load_commodities
from storage.requirements import OPEN_STATUSES

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
class DigestRequirement:
    """A buyer requirement as the digest shows it, in the reader's language."""

    # The requirement's id, which its card and /requirements show as "#12".
    number: int
    commodity: str
    quantity: str
    unit: str
    # Canonical English name, or None when the delivery place names no state. The
    # template shows it in the reader's language.
    delivery_state: str | None
    window_start: dt.date
    window_end: dt.date
    status: str


@dataclass(frozen=True)
class DigestMatch:
    """An accepted offer as the digest shows it: who supplies what, without the buyer's contact."""

    # The id of the requirement the offer supplies.
    number: int
    bso_name: str
    commodity: str
    tonnes: str


@dataclass(frozen=True)
class WeekNews:
    buyers: Sequence[Buyer]
    asks: Sequence[Contribution]
    gives: Sequence[Contribution]
    requirements: Sequence[Requirement]
    offers_received: int
    # Offers accepted in the week, each with the requirement it supplies.
    matches: Sequence[tuple[Offer, Requirement]]

    def is_empty(self) -> bool:
        return not (
            self.buyers
            or self.asks
            or self.gives
            or self.requirements
            or self.offers_received
            or self.matches
        )


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
    """Load what was added or accepted at `start` or later and before `end`.

    Requirements are those posted in the window and still open, offered or matched when
    the digest runs. Matches are offers accepted in the window, whenever their requirement
    was posted and whatever its status now.
    """
    # TODO: rows are stamped with the system time, not the bot's clock, so in the sandbox
    # buyers, asks, gives, requirements and offers added after `:clock` moved the clock
    # forward are missing from its digest. Only `Offer.accepted_at` uses the bot's clock.
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
    requirements = (
        await session.scalars(
            select(Requirement)
            .where(
                Requirement.community_id == community_id,
                Requirement.status.in_(OPEN_STATUSES),
                Requirement.created_at >= start_utc,
                Requirement.created_at < end_utc,
            )
            .order_by(Requirement.created_at, Requirement.id)
        )
    ).all()
    offers_received = await session.scalar(
        select(func.count(Offer.id)).where(
            Offer.community_id == community_id,
            Offer.created_at >= start_utc,
            Offer.created_at < end_utc,
        )
    )
    matches = (
        await session.execute(
            select(Offer, Requirement)
            .join(Requirement, Offer.requirement_id == Requirement.id)
            .where(
                Offer.community_id == community_id,
                Offer.status == "accepted",
                Offer.accepted_at >= start_utc,
                Offer.accepted_at < end_utc,
            )
            .order_by(Offer.accepted_at, Offer.id)
        )
    ).all()
    return WeekNews(
        buyers=buyers,
        asks=[entry for entry in entries if entry.kind == "ask"],
        gives=[entry for entry in entries if entry.kind == "give"],
        requirements=requirements,
        offers_received=offers_received or 0,
        matches=[(offer, requirement) for offer, requirement in matches],
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
            requirements=requirements_shown(t, news.requirements[:limit]),
            requirements_more=max(0, len(news.requirements) - limit),
            offers_received=news.offers_received,
            matches=matches_shown(t, news.matches[:limit]),
            matches_more=max(0, len(news.matches) - limit),
        )
        if visible_length(text) <= MESSAGE_LIMIT:
            return text
    # The template clips every field, so one item per list stays under 2,000 characters
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


def requirements_shown(
    t: LocalTexts, requirements: Sequence[Requirement]
) -> list[DigestRequirement]:
    commodities = load_commodities()
    return [
        DigestRequirement(
            number=requirement.id,
            commodity=commodities.display_name(requirement.commodity, t.locale),
            quantity=format_quantity(requirement.quantity),
            unit=t.label("requirements", f"unit_{requirement.unit}"),
            delivery_state=requirement.delivery_state,
            window_start=requirement.window_start,
            window_end=requirement.window_end,
            status=t.label("requirements", f"status_{requirement.status}"),
        )
        for requirement in requirements
    ]


def matches_shown(t: LocalTexts, matches: Sequence[tuple[Offer, Requirement]]) -> list[DigestMatch]:
    commodities = load_commodities()
    return [
        DigestMatch(
            number=requirement.id,
            bso_name=offer.bso.short_name or offer.bso.name,
            commodity=commodities.display_name(requirement.commodity, t.locale),
            tonnes=format_quantity(offer.quantity_tonnes),
        )
        for offer, requirement in matches
    ]


def visible_length(text: str) -> int:
    """Count the UTF-16 units of the text Telegram shows, after HTML tags and entities."""
    return utf16_length(html.unescape(TAG.sub("", text)))

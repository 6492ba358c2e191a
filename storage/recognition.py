"""What a community's monthly recognition post recognises, and the post's stored draft.

Two kinds of month are involved. The activity month is the month the post recognises:
gives added, asks addressed, ask-give connections marked done and buyer matches
(offers accepted) in it, bounded by midnights in the community's time zone. The
report month is the month of the progress reports read for check-in streaks and
milestones. With the default schedule the reports of a month are filed
after it ends, so the caller chooses the report month (`bot.jobs.recognition`).

Callers commit.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import connections as connection_store
from storage import outbox as outbox_store
from storage.models import (
    Bso,
    Connection,
    Contribution,
    GroupChat,
    JobRun,
    ProgressReport,
    RecognitionPost,
    Scheme,
)
from storage.normalize import fold, words
from storage.progress import TEXT_FIELDS, add_months

# A check-in streak is recognised from this many consecutive monthly reports.
STREAK_MIN_MONTHS = 3
# Statuses of a post that still waits for a decision or for its time. The post job
# sends a post in any of them.
OPEN_STATUSES = ("draft", "edited", "approved")
# Scheme names shorter than this, without spaces, are not looked for in report texts,
# because a two-letter short name would match ordinary words.
SCHEME_KEY_MIN = 3


@dataclass(frozen=True)
class GiveCredit:
    """A BSO that added gives in the month, and how many."""

    bso: Bso
    count: int


@dataclass(frozen=True)
class AddressedAsk:
    bso: Bso
    title: str


@dataclass(frozen=True)
class ConnectionWin:
    """A connection of two BSOs marked done in the month. `title` is the ask's title, or
    None when the ask is private or deleted, because the post goes to CoP-wide groups."""

    ask_bso: Bso
    give_bso: Bso
    title: str | None


@dataclass(frozen=True)
class Streak:
    """A BSO's run of consecutive monthly reports that ends with the report month."""

    bso: Bso
    months: int


@dataclass(frozen=True)
class SchemeMilestone:
    """Schemes that a BSO's report of the month names for the first time."""

    bso: Bso
    schemes: tuple[str, ...]


@dataclass
class MonthRecognition:
    month: dt.date
    report_month: dt.date
    gives: list[GiveCredit] = field(default_factory=list)
    addressed: list[AddressedAsk] = field(default_factory=list)
    connections_done: list[ConnectionWin] = field(default_factory=list)
    buyer_matches: list[connection_store.BuyerMatch] = field(default_factory=list)
    streaks: list[Streak] = field(default_factory=list)
    first_linkages: list[Bso] = field(default_factory=list)
    new_schemes: list[SchemeMilestone] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.gives
            or self.addressed
            or self.connections_done
            or self.buyer_matches
            or self.streaks
            or self.first_linkages
            or self.new_schemes
        )


# --- Months ---------------------------------------------------------------------------------


def month_bounds(month: dt.date, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """Return the UTC start and end (exclusive) of `month` in `timezone`.

    Stored times are UTC, and SQLite compares them as naive text, so the bounds are UTC.
    """
    zone = zoneinfo.ZoneInfo(timezone)
    following = add_months(month, 1)
    assert following is not None, f"no month after {month}"
    start = dt.datetime.combine(month.replace(day=1), dt.time(0), tzinfo=zone)
    end = dt.datetime.combine(following, dt.time(0), tzinfo=zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _by_name(bso: Bso) -> str:
    return fold(bso.short_name or bso.name)


# --- Asks and gives -------------------------------------------------------------------------


async def gives_added(
    session: AsyncSession, community_id: int, month: dt.date, timezone: str
) -> list[GiveCredit]:
    """Return the BSOs that added gives in `month`, counting gives that are public and not withdrawn."""
    start, end = month_bounds(month, timezone)
    rows = await session.execute(
        select(Contribution.bso_id, func.count(Contribution.id))
        .where(
            Contribution.community_id == community_id,
            Contribution.kind == "give",
            Contribution.private.is_(False),
            Contribution.status != "withdrawn",
            Contribution.created_at >= start,
            Contribution.created_at < end,
        )
        .group_by(Contribution.bso_id)
    )
    counts = {key: value for key, value in rows}
    bsos = await _bsos(session, counts)
    credits = [GiveCredit(bso, counts[bso.id]) for bso in bsos]
    return sorted(credits, key=lambda credit: _by_name(credit.bso))


async def asks_addressed(
    session: AsyncSession, community_id: int, month: dt.date, timezone: str
) -> list[AddressedAsk]:
    """Return the public asks that became addressed in `month`, by BSO name.

    No log of status changes exists, and `asks.set_status` stamps no time of its own,
    so an addressed ask's `updated_at` is taken as the time it was addressed. The column
    changes with any later write to the row as well. NOTE: an addressed ask that is
    written again in a later month (no handler does this today) would count in that
    month instead.
    """
    start, end = month_bounds(month, timezone)
    entries = (
        await session.scalars(
            select(Contribution)
            .where(
                Contribution.community_id == community_id,
                Contribution.kind == "ask",
                Contribution.private.is_(False),
                Contribution.status == "addressed",
                Contribution.updated_at >= start,
                Contribution.updated_at < end,
            )
            .order_by(Contribution.updated_at, Contribution.id)
        )
    ).all()
    found = [AddressedAsk(entry.bso, entry.title) for entry in entries]
    return sorted(found, key=lambda item: _by_name(item.bso))


# --- Connections and buyer matches ---------------------------------------------------------


async def connections_done(
    session: AsyncSession, community_id: int, month: dt.date, timezone: str
) -> list[ConnectionWin]:
    """Return the connections whose status is done and was set in `month`, by ask BSO name."""
    start, end = month_bounds(month, timezone)
    done = await connection_store.done_between(session, community_id, start, end)
    bsos = {bso.id: bso for bso in await _bsos(session, _connection_bso_ids(done))}
    wins = [
        ConnectionWin(
            ask_bso=bsos[item.ask_bso_id],
            give_bso=bsos[item.give_bso_id],
            title=item.ask.title if item.ask is not None and not item.ask.private else None,
        )
        for item in done
    ]
    return sorted(wins, key=lambda win: (_by_name(win.ask_bso), _by_name(win.give_bso)))


def _connection_bso_ids(connections: Iterable[Connection]) -> set[int]:
    return {bso_id for item in connections for bso_id in (item.ask_bso_id, item.give_bso_id)}


async def buyer_matches(
    session: AsyncSession, community_id: int, month: dt.date, timezone: str
) -> list[connection_store.BuyerMatch]:
    """Return the offers accepted in `month`, by supplying BSO name."""
    start, end = month_bounds(month, timezone)
    found = await connection_store.buyer_matches_between(session, community_id, start, end)
    return sorted(found, key=lambda match: _by_name(match.bso))


# --- Progress reports -----------------------------------------------------------------------


async def _reports_until(
    session: AsyncSession, community_id: int, report_month: dt.date
) -> dict[int, list[ProgressReport]]:
    """Return the reports up to `report_month` of each BSO that has one for that month, latest first."""
    filed = select(ProgressReport.bso_id).where(
        ProgressReport.community_id == community_id, ProgressReport.month == report_month
    )
    reports = await session.scalars(
        select(ProgressReport)
        .where(
            ProgressReport.community_id == community_id,
            ProgressReport.month <= report_month,
            ProgressReport.bso_id.in_(filed),
        )
        .order_by(ProgressReport.bso_id, ProgressReport.month.desc())
    )
    by_bso: dict[int, list[ProgressReport]] = defaultdict(list)
    for report in reports:
        by_bso[report.bso_id].append(report)
    return by_bso


async def checkin_streaks(
    session: AsyncSession,
    community_id: int,
    report_month: dt.date,
    *,
    min_months: int = STREAK_MIN_MONTHS,
) -> list[Streak]:
    """Return the BSOs with reports for at least `min_months` consecutive months ending with `report_month`."""
    streaks = []
    for reports in (await _reports_until(session, community_id, report_month)).values():
        expected: dt.date | None = report_month
        months = 0
        for report in reports:
            if report.month != expected:
                break
            months += 1
            expected = add_months(report.month, -1)
        if months >= min_months:
            streaks.append(Streak(reports[0].bso, months))
    return sorted(streaks, key=lambda streak: (-streak.months, _by_name(streak.bso)))


async def first_buyer_linkages(
    session: AsyncSession, community_id: int, report_month: dt.date
) -> list[Bso]:
    """Return the BSOs whose report of `report_month` has buyer linkages and no earlier report had any."""
    found = []
    for reports in (await _reports_until(session, community_id, report_month)).values():
        latest, earlier = reports[0], reports[1:]
        if not latest.buyer_linkages or latest.buyer_linkages <= 0:
            continue
        if any((report.buyer_linkages or 0) > 0 for report in earlier):
            continue
        found.append(latest.bso)
    return sorted(found, key=_by_name)


def compact_words(text: str) -> list[str]:
    """Return the folded words of `text`, which `mentions` compares."""
    return words(fold(text))


def mentions(text_words: Sequence[str], name: str) -> bool:
    """Check whether consecutive words of a text spell `name`, ignoring case and spaces.

    "e-NAM", "eNAM" and "E NAM" all match "e-nam", and "10K FPO" matches "10k fpo". A
    match must start and end at word boundaries, so "AIF" is not found in "naif".
    """
    key = "".join(compact_words(name))
    if len(key) < SCHEME_KEY_MIN:
        return False
    for start in range(len(text_words)):
        joined = ""
        for word in text_words[start:]:
            joined += word
            if len(joined) >= len(key):
                break
        if joined == key:
            return True
    return False


def schemes_named(text_words: Sequence[str], schemes: Iterable[Scheme]) -> set[int]:
    """Return the ids of the schemes whose name or short name the words mention."""
    return {
        scheme.id
        for scheme in schemes
        if any(mentions(text_words, name) for name in (scheme.name, scheme.short_name) if name)
    }


def report_words(report: ProgressReport) -> list[str]:
    text = "\n".join(getattr(report, name) or "" for name in TEXT_FIELDS)
    return compact_words(text)


async def new_schemes(
    session: AsyncSession, community_id: int, report_month: dt.date
) -> list[SchemeMilestone]:
    """Return, per BSO, the registry schemes its report of `report_month` names for the first time.

    Every text field of a report counts (what was done, challenges, support needed).
    NOTE: a scheme named only as a need ("help applying for AIF") counts too, because
    the text does not say whether the BSO accessed it.
    """
    schemes = (
        await session.scalars(
            select(Scheme).where(Scheme.community_id == community_id).order_by(Scheme.id)
        )
    ).all()
    if not schemes:
        return []
    found = []
    for reports in (await _reports_until(session, community_id, report_month)).values():
        latest, earlier = reports[0], reports[1:]
        named = schemes_named(report_words(latest), schemes)
        for report in earlier:
            if not named:
                break
            named -= schemes_named(report_words(report), schemes)
        if named:
            names = tuple(
                scheme.short_name or scheme.name for scheme in schemes if scheme.id in named
            )
            found.append(SchemeMilestone(latest.bso, names))
    return sorted(found, key=lambda milestone: _by_name(milestone.bso))


# --- The month together ---------------------------------------------------------------------


async def collect(
    session: AsyncSession,
    community_id: int,
    *,
    month: dt.date,
    report_month: dt.date,
    timezone: str,
) -> MonthRecognition:
    """Collect everything the post for `month` recognises; see the module docstring for the months."""
    return MonthRecognition(
        month=month,
        report_month=report_month,
        gives=await gives_added(session, community_id, month, timezone),
        addressed=await asks_addressed(session, community_id, month, timezone),
        connections_done=await connections_done(session, community_id, month, timezone),
        buyer_matches=await buyer_matches(session, community_id, month, timezone),
        streaks=await checkin_streaks(session, community_id, report_month),
        first_linkages=await first_buyer_linkages(session, community_id, report_month),
        new_schemes=await new_schemes(session, community_id, report_month),
    )


async def _bsos(session: AsyncSession, ids: Iterable[int]) -> Sequence[Bso]:
    bso_ids = list(ids)
    if not bso_ids:
        return []
    return (await session.scalars(select(Bso).where(Bso.id.in_(bso_ids)))).all()


# --- The post -------------------------------------------------------------------------------


async def find_post(
    session: AsyncSession, community_id: int, month: dt.date
) -> RecognitionPost | None:
    return await session.scalar(
        select(RecognitionPost).where(
            RecognitionPost.community_id == community_id, RecognitionPost.month == month
        )
    )


async def get_post(
    session: AsyncSession, community_id: int, post_id: int
) -> RecognitionPost | None:
    """Return the post only when it belongs to this community, else None."""
    post = await session.get(RecognitionPost, post_id, populate_existing=True)
    if post is None or post.community_id != community_id:
        return None
    return post


async def preview_ran(session: AsyncSession, community_id: int, period: str) -> bool:
    """Check whether the preview job of `period` ran to the end, whatever it found."""
    found = await session.scalar(
        select(JobRun.id).where(
            JobRun.job == "recognition_preview",
            JobRun.community_id == community_id,
            JobRun.period == period,
            JobRun.outcome == "done",
        )
    )
    return found is not None


async def cop_group_recipients(
    session: AsyncSession, community_id: int
) -> list[outbox_store.Recipient]:
    chat_ids = await session.scalars(
        select(GroupChat.telegram_chat_id)
        .where(
            GroupChat.community_id == community_id,
            GroupChat.kind == "cop",
            GroupChat.active.is_(True),
        )
        .order_by(GroupChat.id)
    )
    return [outbox_store.Recipient(chat_id, is_group=True) for chat_id in chat_ids]


async def decide(
    session: AsyncSession,
    post: RecognitionPost,
    status: str,
    *,
    by: int | None,
    now: dt.datetime,
    text: str | None = None,
) -> bool:
    """Move an open post to `status`, with `text` when given. Return False, changing nothing, when it is no longer open.

    The update is conditional on the stored status, so of two facilitators (or a
    facilitator and the post job) deciding at once only the first changes the post.
    """
    values: dict[str, object] = {"status": status, "updated_at": now}
    if status == "posted":
        values["posted_at"] = now
    if by is not None:
        values.update(decided_by=by, decided_at=now)
    if text is not None:
        values["text"] = text
    result = await session.execute(
        update(RecognitionPost)
        .where(RecognitionPost.id == post.id, RecognitionPost.status.in_(OPEN_STATUSES))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    changed = bool(getattr(result, "rowcount", 0))
    await session.refresh(post)
    return changed


async def post_to_groups(
    session: AsyncSession,
    post: RecognitionPost,
    recipients: Sequence[outbox_store.Recipient],
    *,
    by: int | None,
    now: dt.datetime,
) -> int:
    """Mark an open post posted and queue its text for `recipients`; return how many rows were queued.

    Returns 0, queuing nothing, when the post was no longer open. Each row's dedup key
    names the post and the chat, so a post reaches a group at most once.
    """
    if not await decide(session, post, "posted", by=by, now=now):
        return 0
    queued = 0
    payload = outbox_store.text_payload(post.text)
    for recipient in recipients:
        added = await outbox_store.add_unique(
            session,
            community_id=post.community_id,
            recipient=recipient,
            payload=payload,
            not_before=now,
            dedup_key=f"recognition:{post.id}:{recipient.chat_id}:{recipient.thread_id}",
            priority=outbox_store.BULK,
        )
        queued += int(added)
    return queued

"""Connections between an ask and a give of two BSOs: suggestions, the recorded
introductions and their status, and the month's connections and buyer matches.

Entries are named by their contribution id, which /connect shows as "#12". Callers commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.matching import PAIR_THRESHOLD, suggest_pairs
from storage.asks import ACTIVE_STATUSES, matcher_entry
from storage.models import Bso, Connection, Contribution, Offer, Person, Requirement

STATUSES = ("introduced", "talking", "done", "no_outcome")
# The statuses a PoC or a facilitator may set after the introduction.
REPORTED_STATUSES = ("talking", "done", "no_outcome")
# Asks that still want help are matched with gives that are still offered.
ASK_STATUSES = ACTIVE_STATUSES
GIVE_STATUSES = ("open",)


@dataclass(frozen=True)
class Suggestion:
    """A give of another BSO that may meet an ask, with the matcher's score (0-1) and reasons."""

    ask: Contribution
    give: Contribution
    score: float
    reasons: tuple[str, ...]
    shared: tuple[str, ...]


async def _entries(
    session: AsyncSession, community_id: int, kind: str, statuses: Sequence[str]
) -> Sequence[Contribution]:
    return (
        await session.scalars(
            select(Contribution)
            .where(
                Contribution.community_id == community_id,
                Contribution.kind == kind,
                Contribution.status.in_(statuses),
            )
            .order_by(Contribution.id)
        )
    ).all()


async def connected_pairs(session: AsyncSession, community_id: int) -> set[tuple[int, int]]:
    rows = await session.execute(
        select(Connection.ask_id, Connection.give_id).where(Connection.community_id == community_id)
    )
    return {(ask_id, give_id) for ask_id, give_id in rows if ask_id and give_id}


async def suggestions(
    session: AsyncSession, community_id: int, *, threshold: float = PAIR_THRESHOLD
) -> list[Suggestion]:
    """Match the community's open and in-progress asks with open gives of other BSOs, best first.

    Private entries are included, because only facilitators see suggestions. Pairs
    that are already connected are left out. Equal scores keep the order of the ask
    ids, then the give ids, so a page shows the same pairs on every press.
    """
    asks = {entry.id: entry for entry in await _entries(session, community_id, "ask", ASK_STATUSES)}
    gives = {
        entry.id: entry for entry in await _entries(session, community_id, "give", GIVE_STATUSES)
    }
    if not asks or not gives:
        return []
    connected = await connected_pairs(session, community_id)
    found = suggest_pairs(
        [matcher_entry(entry) for entry in asks.values()],
        [matcher_entry(entry) for entry in gives.values()],
        threshold=threshold,
    )
    kept = [
        Suggestion(
            ask=asks[cast(int, pair.ask)],
            give=gives[cast(int, pair.give)],
            score=pair.score,
            reasons=tuple(pair.reasons),
            shared=tuple(pair.shared),
        )
        for pair in found
        if (pair.ask, pair.give) not in connected
    ]
    kept.sort(key=lambda item: (-item.score, item.ask.id, item.give.id))
    return kept


# --- Checking a pair -------------------------------------------------------------------------


@dataclass(frozen=True)
class PairProblem:
    """Why two entries cannot be connected: the `code` of the template connections/bad_pair,
    the entry it is about and that entry's status."""

    code: str
    entry_id: int = 0
    status: str = ""


async def get_entry(session: AsyncSession, community_id: int, entry_id: int) -> Contribution | None:
    """Return the ask or give only when it belongs to this community, else None."""
    entry = await session.get(Contribution, entry_id)
    if entry is None or entry.community_id != community_id:
        return None
    return entry


def pair_problem(ask: Contribution, give: Contribution) -> PairProblem | None:
    """Check two entries of one community as an ask and a give to connect; None when they fit."""
    if ask.id == give.id:
        return PairProblem("same_entry", ask.id)
    if ask.kind != "ask":
        return PairProblem("not_an_ask", ask.id)
    if give.kind != "give":
        return PairProblem("not_a_give", give.id)
    if ask.bso_id == give.bso_id:
        return PairProblem("same_bso", ask.id)
    if ask.status not in ASK_STATUSES:
        return PairProblem("closed", ask.id, ask.status)
    if give.status not in GIVE_STATUSES:
        return PairProblem("closed", give.id, give.status)
    return None


# --- Recorded connections --------------------------------------------------------------------


async def find_connection(
    session: AsyncSession, community_id: int, ask_id: int, give_id: int
) -> Connection | None:
    return await session.scalar(
        select(Connection).where(
            Connection.community_id == community_id,
            Connection.ask_id == ask_id,
            Connection.give_id == give_id,
        )
    )


async def get_connection(
    session: AsyncSession, community_id: int, connection_id: int
) -> Connection | None:
    """Return the connection only when it belongs to this community, else None."""
    connection = await session.get(Connection, connection_id, populate_existing=True)
    if connection is None or connection.community_id != community_id:
        return None
    return connection


async def add_connection(
    session: AsyncSession,
    *,
    ask: Contribution,
    give: Contribution,
    introduced_by: int,
    now: dt.datetime,
    score: float | None = None,
    reasons: Sequence[str] = (),
) -> Connection:
    """Record the introduction. The unique (ask_id, give_id) constraint rejects a second
    one with IntegrityError at flush or commit, which the caller turns into "already connected"."""
    connection = Connection(
        community_id=ask.community_id,
        ask_id=ask.id,
        give_id=give.id,
        ask_bso_id=ask.bso_id,
        give_bso_id=give.bso_id,
        score=score,
        reasons=list(reasons),
        status="introduced",
        introduced_by=introduced_by,
        introduced_at=now,
    )
    session.add(connection)
    await session.flush()
    await session.refresh(connection)
    return connection


async def set_status(
    session: AsyncSession, connection: Connection, status: str, *, now: dt.datetime
) -> bool:
    """Move the connection to `status`; return False, changing nothing, when it has it already.

    The update is conditional on the stored status, so of two presses at once only the
    first changes the row. Raises ValueError for a status that cannot be set.
    """
    if status not in REPORTED_STATUSES:
        raise ValueError(
            f"unknown connection status {status!r}; expected one of {REPORTED_STATUSES}"
        )
    result = await session.execute(
        update(Connection)
        .where(Connection.id == connection.id, Connection.status != status)
        .values(status=status, status_changed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    changed = bool(getattr(result, "rowcount", 0))
    await session.refresh(connection)
    return changed


async def count_connections(session: AsyncSession, community_id: int) -> int:
    total = await session.scalar(
        select(func.count(Connection.id)).where(Connection.community_id == community_id)
    )
    return total or 0


async def list_connections(
    session: AsyncSession, community_id: int, *, offset: int, limit: int
) -> Sequence[Connection]:
    """Return the community's connections, the latest introduced first."""
    return (
        await session.scalars(
            select(Connection)
            .where(Connection.community_id == community_id)
            .order_by(Connection.introduced_at.desc(), Connection.id.desc())
            .offset(offset)
            .limit(limit)
        )
    ).all()


async def bsos_by_id(session: AsyncSession, ids: Sequence[int]) -> dict[int, Bso]:
    if not ids:
        return {}
    rows = await session.scalars(select(Bso).where(Bso.id.in_(set(ids))))
    return {bso.id: bso for bso in rows}


async def bso_pocs(session: AsyncSession, community_id: int, bso_id: int) -> Sequence[Person]:
    """Return the BSO's approved PoCs, whether or not they opened a private chat with the bot."""
    return (
        await session.scalars(
            select(Person)
            .where(
                Person.community_id == community_id,
                Person.bso_id == bso_id,
                Person.status == "approved",
            )
            .order_by(Person.id)
        )
    ).all()


def may_report(person: Person | None, connection: Connection) -> bool:
    """Check whether `person` is an approved PoC of one of the two connected BSOs."""
    if person is None or person.status != "approved" or person.bso_id is None:
        return False
    return person.bso_id in (connection.ask_bso_id, connection.give_bso_id)


# --- The month -------------------------------------------------------------------------------


async def introduced_between(
    session: AsyncSession, community_id: int, start: dt.datetime, end: dt.datetime
) -> int:
    """Count connections introduced from `start` to `end` (exclusive), both UTC."""
    total = await session.scalar(
        select(func.count(Connection.id)).where(
            Connection.community_id == community_id,
            Connection.introduced_at >= start,
            Connection.introduced_at < end,
        )
    )
    return total or 0


async def done_between(
    session: AsyncSession, community_id: int, start: dt.datetime, end: dt.datetime
) -> Sequence[Connection]:
    """Return connections whose status is done and was last changed from `start` to `end` (UTC).

    A connection marked done and later set back to talking no longer counts.
    """
    return (
        await session.scalars(
            select(Connection)
            .where(
                Connection.community_id == community_id,
                Connection.status == "done",
                Connection.status_changed_at >= start,
                Connection.status_changed_at < end,
            )
            .order_by(Connection.status_changed_at, Connection.id)
        )
    ).all()


@dataclass(frozen=True)
class BuyerMatch:
    """An offer a buyer's requirement accepted: which BSO supplies what, and how many tonnes."""

    bso: Bso
    commodity: str
    tonnes: float


async def buyer_matches_between(
    session: AsyncSession, community_id: int, start: dt.datetime, end: dt.datetime
) -> list[BuyerMatch]:
    """Return the offers accepted from `start` to `end` (exclusive, UTC), oldest first."""
    rows = await session.execute(
        select(Offer, Requirement.commodity)
        .join(Requirement, Offer.requirement_id == Requirement.id)
        .where(
            Offer.community_id == community_id,
            Offer.status == "accepted",
            Offer.accepted_at >= start,
            Offer.accepted_at < end,
        )
        .order_by(Offer.accepted_at, Offer.id)
    )
    return [
        BuyerMatch(bso=offer.bso, commodity=commodity, tonnes=offer.quantity_tonnes)
        for offer, commodity in rows
    ]


@dataclass(frozen=True)
class LinkCounts:
    """A period's connections introduced, connections marked done and buyer matches."""

    introduced: int
    done: int
    buyer_matches: int

    @property
    def any(self) -> bool:
        return bool(self.introduced or self.done or self.buyer_matches)


async def count_links(
    session: AsyncSession, community_id: int, start: dt.datetime, end: dt.datetime
) -> LinkCounts:
    """Count connections and buyer matches from `start` to `end` (exclusive, UTC)."""
    return LinkCounts(
        introduced=await introduced_between(session, community_id, start, end),
        done=len(await done_between(session, community_id, start, end)),
        buyer_matches=len(await buyer_matches_between(session, community_id, start, end)),
    )

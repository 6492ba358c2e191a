"""Clusters of similar open asks for /consolidate: regrouping, a facilitator's edits, and
each cluster's kind. Callers commit.

A cluster is stored (AskCluster with its AskClusterMember rows) so that a facilitator's
merges, splits and decisions survive the next /consolidate. `regroup` applies the rules:

- a withdrawn ask leaves its cluster;
- an open cluster keeps only open and in-progress asks of its own theme, so an ask that
  its BSO addressed, or moved to another theme, leaves it;
- an addressed cluster keeps only addressed asks, so an ask that its BSO reopened
  leaves it and is placed again;
- a cluster left without asks is deleted;
- every open or in-progress ask outside a cluster joins an unpinned open cluster of its
  theme that has an ask alike to it (`bot.matching.cluster_asks`), or a new cluster.

Pinned clusters (merged or split by a facilitator) take no new asks and are never
regrouped, so the rules cannot undo a facilitator's choice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.matching import PairSuggestion, cluster_asks, cluster_kind, suggest_pairs
from storage.asks import ACTIVE_STATUSES, matcher_entry, set_status
from storage.models import AskCluster, AskClusterMember, Bso, Connection, Contribution, Theme

OPEN = "open"
ADDRESSED = "addressed"
# Cluster kinds, in the order each theme's counts list them.
KINDS = ("common", "unique", "gap")
# The status of a connection that ended. A connection with any other status is active,
# so /consolidate does not suggest connecting its ask again.
ENDED_CONNECTION = "no_outcome"


@dataclass
class StoredCluster:
    """A cluster with its asks, ordered by ask id."""

    cluster: AskCluster
    asks: list[Contribution] = field(default_factory=list)


@dataclass(frozen=True)
class RegroupResult:
    """Counts of the changes one `regroup` made, for the log line."""

    placed: int
    left: int
    removed: int
    created: int


@dataclass(frozen=True)
class AskConnection:
    """An active connection of an ask (any status but no_outcome) and the give's BSO."""

    connection: Connection
    give_bso: Bso


@dataclass(frozen=True)
class ClusterView:
    """A cluster ready for display, classified against the community's open gives."""

    cluster: AskCluster
    asks: tuple[Contribution, ...]
    bsos: tuple[Bso, ...]
    theme: Theme
    # common, unique or gap
    kind: str
    # The best open give of another BSO for one of its asks, or None when no give scores
    # PAIR_THRESHOLD or more.
    give: Contribution | None
    # Whether any of its asks is marked high urgency, so a webinar is the quicker answer.
    urgent: bool
    # The active connections of its asks, the latest introduced first.
    connections: tuple[AskConnection, ...] = ()

    @property
    def connected_asks(self) -> int:
        """Count its asks that have an active connection."""
        return len({item.connection.ask_id for item in self.connections})

    @property
    def number(self) -> int:
        """The number the facilitator refers to: the cluster's id, stable across runs."""
        return self.cluster.id


async def open_entries(
    session: AsyncSession, community_id: int, kind: str
) -> Sequence[Contribution]:
    """Return the community's open and in-progress asks or gives, private ones included, by id."""
    return (
        await session.scalars(
            select(Contribution)
            .where(
                Contribution.community_id == community_id,
                Contribution.kind == kind,
                Contribution.status.in_(ACTIVE_STATUSES),
            )
            .order_by(Contribution.id)
        )
    ).all()


async def load_clusters(session: AsyncSession, community_id: int) -> list[StoredCluster]:
    """Return the community's clusters by id, each with its asks."""
    clusters = (
        await session.scalars(
            select(AskCluster)
            .where(AskCluster.community_id == community_id)
            .order_by(AskCluster.id)
        )
    ).all()
    stored = {cluster.id: StoredCluster(cluster) for cluster in clusters}
    rows = await session.execute(
        select(AskClusterMember.cluster_id, Contribution)
        .join(Contribution, AskClusterMember.ask_id == Contribution.id)
        .join(AskCluster, AskClusterMember.cluster_id == AskCluster.id)
        .where(AskCluster.community_id == community_id)
        .order_by(Contribution.id)
    )
    for cluster_id, ask in rows:
        stored[cluster_id].asks.append(ask)
    return list(stored.values())


async def get_cluster(
    session: AsyncSession, community_id: int, cluster_id: int
) -> StoredCluster | None:
    """Return one cluster with its asks, or None when it is gone or of another community."""
    cluster = await session.get(AskCluster, cluster_id)
    if cluster is None or cluster.community_id != community_id:
        return None
    asks = (
        await session.scalars(
            select(Contribution)
            .join(AskClusterMember, AskClusterMember.ask_id == Contribution.id)
            .where(AskClusterMember.cluster_id == cluster_id)
            .order_by(Contribution.id)
        )
    ).all()
    return StoredCluster(cluster, list(asks))


def belongs(cluster: AskCluster, ask: Contribution) -> bool:
    """Check whether `ask` may stay in `cluster` by the rules of the module docstring."""
    if cluster.status == ADDRESSED:
        return ask.status == "addressed"
    return ask.status in ACTIVE_STATUSES and ask.theme_id == cluster.theme_id


async def regroup(session: AsyncSession, community_id: int) -> RegroupResult:
    """Bring the community's clusters up to date with its asks; see the module docstring."""
    stored = await load_clusters(session, community_id)
    left = removed = 0
    kept: list[StoredCluster] = []
    for item in stored:
        staying = [ask for ask in item.asks if belongs(item.cluster, ask)]
        leaving = {ask.id for ask in item.asks} - {ask.id for ask in staying}
        if leaving:
            await _remove_members(session, leaving)
            left += len(leaving)
        if not staying:
            await session.delete(item.cluster)
            removed += 1
            continue
        item.asks = staying
        kept.append(item)

    placed_ids = {ask.id for item in kept for ask in item.asks}
    unplaced = [
        ask for ask in await open_entries(session, community_id, "ask") if ask.id not in placed_ids
    ]
    created = await _place(session, community_id, kept, unplaced)
    await session.flush()
    return RegroupResult(placed=len(unplaced), left=left, removed=removed, created=created)


async def _remove_members(session: AsyncSession, ask_ids: set[int]) -> None:
    members = await session.scalars(
        select(AskClusterMember).where(AskClusterMember.ask_id.in_(ask_ids))
    )
    for member in members:
        await session.delete(member)
    # Deleted before new members are added, because an ask is in one cluster at a time.
    await session.flush()


async def _place(
    session: AsyncSession,
    community_id: int,
    clusters: Sequence[StoredCluster],
    unplaced: Sequence[Contribution],
) -> int:
    """Add each unplaced ask to an alike unpinned open cluster or to a new one; count new ones."""
    if not unplaced:
        return 0
    # The asks of unpinned open clusters take part too, so that a new ask alike to any
    # of them joins their cluster. Their own cluster never changes here.
    unpinned = [
        item for item in clusters if item.cluster.status == OPEN and not item.cluster.pinned
    ]
    placed = [ask for item in unpinned for ask in item.asks]
    cluster_of = {ask.id: item.cluster for item in unpinned for ask in item.asks}
    by_id = {ask.id: ask for ask in unplaced}
    # Gives only change a group's kind, which is worked out when the clusters are shown.
    groups = cluster_asks([matcher_entry(ask) for ask in [*placed, *unplaced]], [])

    created = 0
    for group in groups:
        found = sorted(
            (cluster_of[key] for key in group.asks if key in cluster_of), key=lambda c: c.id
        )
        joining = [by_id[key] for key in group.asks if key in by_id]
        if not joining:
            continue
        if found:
            target = found[0]
        else:
            target = AskCluster(community_id=community_id, theme_id=joining[0].theme_id)
            session.add(target)
            await session.flush()
            created += 1
        session.add_all(AskClusterMember(cluster_id=target.id, ask_id=ask.id) for ask in joining)
    return created


# --- A facilitator's edits ---------------------------------------------------------------------


def can_merge(target: StoredCluster, other: StoredCluster) -> bool:
    """Check that two different open clusters of one theme may be merged."""
    return (
        target.cluster.id != other.cluster.id
        and target.cluster.status == OPEN
        and other.cluster.status == OPEN
        and target.cluster.theme_id == other.cluster.theme_id
    )


def merge_candidates(
    target: StoredCluster, clusters: Sequence[StoredCluster]
) -> list[StoredCluster]:
    """Return the clusters that `target` may merge with, by id."""
    return [item for item in clusters if can_merge(target, item)]


async def merge(session: AsyncSession, target: StoredCluster, other: StoredCluster) -> None:
    """Move the asks of `other` into `target`, delete `other` and pin `target`.

    The caller checks `can_merge` first; ValueError otherwise.
    """
    if not can_merge(target, other):
        raise ValueError(f"cluster {other.cluster.id} cannot merge into {target.cluster.id}")
    members = await session.scalars(
        select(AskClusterMember).where(AskClusterMember.cluster_id == other.cluster.id)
    )
    for member in members:
        member.cluster_id = target.cluster.id
    await session.flush()
    await session.delete(other.cluster)
    target.cluster.pinned = True
    target.asks = sorted([*target.asks, *other.asks], key=lambda ask: ask.id)
    await session.flush()


def can_split(item: StoredCluster, ask_id: int) -> bool:
    """Check that the ask is one of two or more asks of an open cluster."""
    return (
        item.cluster.status == OPEN
        and len(item.asks) >= 2
        and any(ask.id == ask_id for ask in item.asks)
    )


async def split(session: AsyncSession, item: StoredCluster, ask_id: int) -> AskCluster:
    """Move one ask into a new cluster of its own, and pin both clusters.

    The caller checks `can_split` first; ValueError otherwise.
    """
    if not can_split(item, ask_id):
        raise ValueError(f"ask {ask_id} cannot be split from cluster {item.cluster.id}")
    created = AskCluster(
        community_id=item.cluster.community_id, theme_id=item.cluster.theme_id, pinned=True
    )
    session.add(created)
    await session.flush()
    member = await session.scalar(select(AskClusterMember).where(AskClusterMember.ask_id == ask_id))
    assert member is not None, f"ask {ask_id} has no membership row"
    member.cluster_id = created.id
    item.cluster.pinned = True
    item.asks = [ask for ask in item.asks if ask.id != ask_id]
    await session.flush()
    return created


def mark_addressed(item: StoredCluster, *, by: int, at: dt.datetime) -> list[Contribution]:
    """Mark an open cluster and its open and in-progress asks addressed; return those asks.

    `by` is the facilitator's Telegram user id. Asks already addressed or withdrawn keep
    their status. Returns an empty list, changing nothing, when the cluster is not open.
    """
    if item.cluster.status != OPEN:
        return []
    item.cluster.status = ADDRESSED
    item.cluster.addressed_by = by
    item.cluster.addressed_at = at
    return [ask for ask in item.asks if set_status(ask, "addressed")]


def reopen(item: StoredCluster) -> list[Contribution]:
    """Reopen an addressed cluster and set its addressed asks back to open; return those asks.

    NOTE: an ask that was in progress before the cluster was addressed comes back as open,
    because its earlier status is not stored. Returns an empty list, changing nothing,
    when the cluster is not addressed.
    """
    if item.cluster.status != ADDRESSED:
        return []
    item.cluster.status = OPEN
    item.cluster.addressed_by = None
    item.cluster.addressed_at = None
    return [ask for ask in item.asks if set_status(ask, "open")]


# --- Kinds ---------------------------------------------------------------------------------------


async def ask_connections(
    session: AsyncSession, community_id: int, ask_ids: Sequence[int]
) -> dict[int, list[AskConnection]]:
    """Return the active connections of these asks by ask id, the latest introduced first."""
    if not ask_ids:
        return {}
    rows = await session.execute(
        select(Connection, Bso)
        .join(Bso, Bso.id == Connection.give_bso_id)
        .where(
            Connection.community_id == community_id,
            Connection.ask_id.in_(set(ask_ids)),
            Connection.status != ENDED_CONNECTION,
        )
        .order_by(Connection.introduced_at.desc(), Connection.id.desc())
    )
    found: dict[int, list[AskConnection]] = {}
    for connection, bso in rows.unique():
        assert connection.ask_id is not None
        found.setdefault(connection.ask_id, []).append(AskConnection(connection, bso))
    return found


def classify(
    clusters: Sequence[StoredCluster],
    gives: Sequence[Contribution],
    connections: Mapping[int, Sequence[AskConnection]] | None = None,
) -> list[ClusterView]:
    """Classify each cluster that has asks as common, unique or gap against the open gives.

    Common: asks of two or more BSOs (a workshop). Unique: one BSO, and a give of another
    BSO matches (a peer connection). Gap: no give matches (an external expert or a webinar).
    `connections` maps ask ids to their active connections (`ask_connections`). A
    connected pair still counts for the kind, but is never the cluster's suggested give.
    """
    connections = connections or {}
    connected = {
        (ask_id, item.connection.give_id) for ask_id, found in connections.items() for item in found
    }
    # One call for every ask, because the rules weigh words by how rare they are among
    # all the entries passed, and a cluster's kind must not depend on which are shown.
    asks = [ask for item in clusters for ask in item.asks]
    suggestions = suggest_pairs(
        [matcher_entry(ask) for ask in asks], [matcher_entry(give) for give in gives]
    )
    by_ask: dict[Hashable, list[PairSuggestion]] = {}
    for suggestion in suggestions:
        by_ask.setdefault(suggestion.ask, []).append(suggestion)
    gives_by_id: dict[Hashable, Contribution] = {give.id: give for give in gives}

    views = []
    for item in clusters:
        if not item.asks:
            continue
        # Best first, as suggest_pairs sorts them.
        found = sorted(
            (found for ask in item.asks for found in by_ask.get(ask.id, [])),
            key=lambda suggestion: -suggestion.score,
        )
        new_pairs = [pair for pair in found if (pair.ask, pair.give) not in connected]
        bsos = tuple({ask.bso_id: ask.bso for ask in item.asks}.values())
        views.append(
            ClusterView(
                cluster=item.cluster,
                asks=tuple(item.asks),
                bsos=bsos,
                theme=item.asks[0].theme,
                kind=cluster_kind([bso.id for bso in bsos], found),
                give=gives_by_id.get(new_pairs[0].give) if new_pairs else None,
                urgent=any(ask.urgency == "high" for ask in item.asks),
                connections=tuple(
                    found for ask in item.asks for found in connections.get(ask.id, ())
                ),
            )
        )
    return views


def overview_order(views: Sequence[ClusterView]) -> list[ClusterView]:
    """Order clusters for the overview: open ones by number, then addressed ones by number.

    The numbers are cluster ids, which commands and buttons use, so a reader finds
    #12 between #11 and #13 on every run. Theme and kind are on each cluster's line.
    """
    opened = sorted((view for view in views if view.cluster.status == OPEN), key=_number)
    addressed = sorted((view for view in views if view.cluster.status != OPEN), key=_number)
    return [*opened, *addressed]


def _number(view: ClusterView) -> int:
    return view.number

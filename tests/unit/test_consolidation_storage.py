"""Regrouping rules and a facilitator's edits of storage/consolidation.py, on SQLite and
(when reachable) PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import consolidation
from storage.models import (
    AskCluster,
    AskClusterMember,
    Bso,
    Community,
    Connection,
    Contribution,
    Theme,
)

NOW = dt.datetime(2025, 3, 1, 6, 0, tzinfo=dt.UTC)
# Texts the matching rules find alike, and texts unlike them and each other.
ONION_LOAN = "Working capital loan for onion aggregation"
ONION_LOAN_AGAIN = "Working capital loan for onion aggregation before rabi"
AUDIT = "Statutory audit and ROC compliance filing"
DRONES = "Drone spraying service for pulses"


class World:
    """Two communities, three BSOs and two themes in the first, with ids after a flush."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def build(self) -> World:
        session = self.session
        self.community = Community(name="Test CoP", slug="test-cop")
        self.other_community = Community(name="Other CoP", slug="other-cop")
        session.add_all([self.community, self.other_community])
        await session.flush()
        cid = self.community.id
        self.pradan = Bso(community_id=cid, name="PRADAN", name_key="pradan")
        self.vrutti = Bso(community_id=cid, name="Vrutti", name_key="vrutti")
        self.access = Bso(community_id=cid, name="ACCESS", name_key="access")
        self.finance = Theme(community_id=cid, key="finance", name="Finance", name_key="finance")
        self.tech = Theme(
            community_id=cid, key="technology", name="Technology", name_key="technology"
        )
        session.add_all([self.pradan, self.vrutti, self.access, self.finance, self.tech])
        await session.flush()
        return self

    async def entry(
        self,
        bso: Bso,
        title: str,
        *,
        kind: str = "ask",
        theme: Theme | None = None,
        status: str = "open",
    ) -> Contribution:
        added = Contribution(
            community_id=bso.community_id,
            bso_id=bso.id,
            kind=kind,
            theme_id=(theme or self.finance).id,
            title=title,
            description="",
            status=status,
        )
        self.session.add(added)
        await self.session.flush()
        return added

    async def regroup(self) -> dict[int, set[int]]:
        """Regroup and return every cluster's asks by cluster id."""
        await consolidation.regroup(self.session, self.community.id)
        return await self.members()

    async def members(self) -> dict[int, set[int]]:
        stored = await consolidation.load_clusters(self.session, self.community.id)
        return {item.cluster.id: {ask.id for ask in item.asks} for item in stored}

    async def cluster_of(self, ask: Contribution) -> consolidation.StoredCluster:
        cluster_id = await self.session.scalar(
            select(AskClusterMember.cluster_id).where(AskClusterMember.ask_id == ask.id)
        )
        assert cluster_id is not None, f"ask {ask.id} is in no cluster"
        found = await consolidation.get_cluster(self.session, self.community.id, cluster_id)
        assert found is not None
        return found


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await World(session).build()


async def test_regroup_groups_alike_asks(world: World) -> None:
    first = await world.entry(world.pradan, ONION_LOAN)
    second = await world.entry(world.vrutti, ONION_LOAN_AGAIN)
    audit = await world.entry(world.access, AUDIT)

    clusters = await world.regroup()

    assert sorted(clusters.values(), key=len) == [{audit.id}, {first.id, second.id}]


async def test_regroup_twice_changes_nothing(world: World) -> None:
    await world.entry(world.pradan, ONION_LOAN)
    await world.entry(world.vrutti, ONION_LOAN_AGAIN)
    await world.entry(world.access, AUDIT)
    first = await world.regroup()

    second = await world.regroup()

    assert second == first


async def test_regroup_new_ask_joins_alike_cluster(world: World) -> None:
    first = await world.entry(world.pradan, ONION_LOAN)
    before = await world.regroup()
    later = await world.entry(world.vrutti, ONION_LOAN_AGAIN)

    after = await world.regroup()

    [cluster_id] = before
    assert after == {cluster_id: {first.id, later.id}}


async def test_regroup_skips_other_theme(world: World) -> None:
    await world.entry(world.pradan, ONION_LOAN)
    await world.entry(world.vrutti, ONION_LOAN, theme=world.tech)

    clusters = await world.regroup()

    assert len(clusters) == 2


async def test_regroup_leaves_asks_out_of_other_communities(world: World) -> None:
    elsewhere = Bso(community_id=world.other_community.id, name="Elsewhere", name_key="e")
    world.session.add(elsewhere)
    await world.session.flush()
    await world.entry(elsewhere, ONION_LOAN)
    own = await world.entry(world.pradan, ONION_LOAN)

    clusters = await world.regroup()

    assert list(clusters.values()) == [{own.id}]


async def test_regroup_ignores_gives_and_closed_asks(world: World) -> None:
    await world.entry(world.pradan, ONION_LOAN, kind="give")
    await world.entry(world.pradan, ONION_LOAN, status="addressed")
    await world.entry(world.pradan, ONION_LOAN, status="withdrawn")
    busy = await world.entry(world.vrutti, ONION_LOAN, status="in_progress")

    clusters = await world.regroup()

    assert list(clusters.values()) == [{busy.id}]


@pytest.mark.parametrize("status", ["addressed", "withdrawn"])
async def test_regroup_closed_ask_leaves(world: World, status: str) -> None:
    first = await world.entry(world.pradan, ONION_LOAN)
    second = await world.entry(world.vrutti, ONION_LOAN_AGAIN)
    [cluster_id] = await world.regroup()
    second.status = status

    clusters = await world.regroup()

    assert clusters == {cluster_id: {first.id}}


async def test_regroup_removes_empty_cluster(world: World) -> None:
    ask = await world.entry(world.pradan, ONION_LOAN)
    await world.regroup()
    ask.status = "withdrawn"

    clusters = await world.regroup()

    assert clusters == {}
    assert await world.session.scalar(select(func.count(AskCluster.id))) == 0
    assert await world.session.scalar(select(func.count(AskClusterMember.id))) == 0


async def test_regroup_moves_ask_of_changed_theme(world: World) -> None:
    first = await world.entry(world.pradan, ONION_LOAN)
    second = await world.entry(world.vrutti, ONION_LOAN_AGAIN)
    [cluster_id] = await world.regroup()
    second.theme_id = world.tech.id

    clusters = await world.regroup()

    assert clusters[cluster_id] == {first.id}
    assert {second.id} in clusters.values()
    moved = await world.cluster_of(second)
    assert moved.cluster.theme_id == world.tech.id


async def test_regroup_keeps_pinned_cluster(world: World) -> None:
    first = await world.entry(world.pradan, ONION_LOAN)
    audit = await world.entry(world.vrutti, AUDIT)
    await world.regroup()
    kept = await world.cluster_of(first)
    other = await world.cluster_of(audit)
    await consolidation.merge(world.session, kept, other)
    later = await world.entry(world.access, ONION_LOAN_AGAIN)

    clusters = await world.regroup()

    # The facilitator's merge is kept although the asks are unlike, and the pinned cluster
    # takes no new ask, so the alike one starts a cluster of its own.
    assert clusters[kept.cluster.id] == {first.id, audit.id}
    assert len(clusters) == 2
    assert {later.id} in clusters.values()
    assert kept.cluster.pinned


async def test_regroup_pinned_cluster_loses_closed_ask(world: World) -> None:
    first = await world.entry(world.pradan, ONION_LOAN)
    second = await world.entry(world.vrutti, ONION_LOAN_AGAIN)
    await world.regroup()
    item = await world.cluster_of(first)
    created = await consolidation.split(world.session, item, second.id)
    second.status = "withdrawn"

    clusters = await world.regroup()

    assert clusters == {item.cluster.id: {first.id}}
    assert await world.session.get(AskCluster, created.id) is None


async def test_split_keeps_asks_apart(world: World) -> None:
    first = await world.entry(world.pradan, ONION_LOAN)
    second = await world.entry(world.vrutti, ONION_LOAN_AGAIN)
    await world.regroup()
    item = await world.cluster_of(first)

    created = await consolidation.split(world.session, item, second.id)
    clusters = await world.regroup()

    assert clusters == {item.cluster.id: {first.id}, created.id: {second.id}}
    assert item.cluster.pinned
    assert created.pinned


async def test_split_rejects_last_ask(world: World) -> None:
    only = await world.entry(world.pradan, ONION_LOAN)
    await world.regroup()
    item = await world.cluster_of(only)

    assert not consolidation.can_split(item, only.id)
    with pytest.raises(ValueError, match="cannot be split"):
        await consolidation.split(world.session, item, only.id)


async def test_merge_rejects_other_theme(world: World) -> None:
    first = await world.entry(world.pradan, ONION_LOAN)
    drones = await world.entry(world.vrutti, DRONES, theme=world.tech)
    await world.regroup()
    finance = await world.cluster_of(first)
    tech = await world.cluster_of(drones)

    assert not consolidation.can_merge(finance, tech)
    assert consolidation.merge_candidates(finance, [finance, tech]) == []
    with pytest.raises(ValueError, match="cannot merge"):
        await consolidation.merge(world.session, finance, tech)


async def test_merge_moves_asks_and_deletes_other(world: World) -> None:
    first = await world.entry(world.pradan, ONION_LOAN)
    audit = await world.entry(world.vrutti, AUDIT)
    await world.regroup()
    target = await world.cluster_of(first)
    other = await world.cluster_of(audit)
    other_id = other.cluster.id

    await consolidation.merge(world.session, target, other)

    assert await world.members() == {target.cluster.id: {first.id, audit.id}}
    assert await world.session.get(AskCluster, other_id) is None


async def test_mark_addressed_closes_asks(world: World) -> None:
    first = await world.entry(world.pradan, ONION_LOAN)
    second = await world.entry(world.vrutti, ONION_LOAN_AGAIN, status="in_progress")
    await world.regroup()
    item = await world.cluster_of(first)

    changed = consolidation.mark_addressed(item, by=1001, at=NOW)
    clusters = await world.regroup()

    assert {ask.id for ask in changed} == {first.id, second.id}
    assert (first.status, second.status) == ("addressed", "addressed")
    assert item.cluster.status == "addressed"
    assert item.cluster.addressed_by == 1001
    # Addressed asks stay in the addressed cluster.
    assert clusters == {item.cluster.id: {first.id, second.id}}
    assert consolidation.mark_addressed(item, by=1001, at=NOW) == []


async def test_reopen_opens_asks(world: World) -> None:
    first = await world.entry(world.pradan, ONION_LOAN)
    second = await world.entry(world.vrutti, ONION_LOAN_AGAIN)
    await world.regroup()
    item = await world.cluster_of(first)
    consolidation.mark_addressed(item, by=1001, at=NOW)

    changed = consolidation.reopen(item)
    clusters = await world.regroup()

    assert {ask.id for ask in changed} == {first.id, second.id}
    assert (first.status, second.status) == ("open", "open")
    assert item.cluster.status == "open"
    assert item.cluster.addressed_by is None
    assert clusters == {item.cluster.id: {first.id, second.id}}
    assert consolidation.reopen(item) == []


async def test_ask_reopened_by_its_bso_leaves_addressed_cluster(world: World) -> None:
    first = await world.entry(world.pradan, ONION_LOAN)
    second = await world.entry(world.vrutti, ONION_LOAN_AGAIN)
    await world.regroup()
    item = await world.cluster_of(first)
    consolidation.mark_addressed(item, by=1001, at=NOW)
    second.status = "open"

    clusters = await world.regroup()

    assert clusters[item.cluster.id] == {first.id}
    reopened = await world.cluster_of(second)
    assert reopened.cluster.status == "open"


async def test_get_cluster_of_other_community(world: World) -> None:
    ask = await world.entry(world.pradan, ONION_LOAN)
    await world.regroup()
    item = await world.cluster_of(ask)

    found = await consolidation.get_cluster(
        world.session, world.other_community.id, item.cluster.id
    )

    assert found is None


async def test_classify_kinds(world: World) -> None:
    common = await world.entry(world.pradan, ONION_LOAN)
    await world.entry(world.vrutti, ONION_LOAN_AGAIN)
    unique = await world.entry(world.access, AUDIT)
    gap = await world.entry(world.access, DRONES, theme=world.tech)
    give = await world.entry(world.pradan, "Statutory audit and ROC compliance help", kind="give")
    await world.regroup()
    stored = await consolidation.load_clusters(world.session, world.community.id)
    gives = await consolidation.open_entries(world.session, world.community.id, "give")

    views = consolidation.classify(stored, gives)

    kinds = {view.asks[0].id: view.kind for view in views}
    assert kinds == {common.id: "common", unique.id: "unique", gap.id: "gap"}
    [unique_view] = [view for view in views if view.kind == "unique"]
    assert unique_view.give is not None
    assert unique_view.give.id == give.id
    assert [bso.name for bso in unique_view.bsos] == ["ACCESS"]


async def connect(world: World, ask: Contribution, give: Contribution, status: str) -> None:
    world.session.add(
        Connection(
            community_id=world.community.id,
            ask_id=ask.id,
            give_id=give.id,
            ask_bso_id=ask.bso_id,
            give_bso_id=give.bso_id,
            status=status,
            introduced_by=1,
            introduced_at=NOW,
        )
    )
    await world.session.flush()


async def classified(world: World) -> list[consolidation.ClusterView]:
    stored = await consolidation.load_clusters(world.session, world.community.id)
    gives = await consolidation.open_entries(world.session, world.community.id, "give")
    asks = [ask.id for item in stored for ask in item.asks]
    connections = await consolidation.ask_connections(world.session, world.community.id, asks)
    return consolidation.classify(stored, gives, connections)


async def test_classify_skips_connected_give(world: World) -> None:
    unique = await world.entry(world.access, AUDIT)
    give = await world.entry(world.pradan, "Statutory audit and ROC compliance help", kind="give")
    await world.regroup()
    await connect(world, unique, give, "talking")

    [view] = await classified(world)

    assert view.kind == "unique"
    assert view.give is None
    assert view.connected_asks == 1
    assert [item.connection.status for item in view.connections] == ["talking"]
    assert view.connections[0].give_bso.id == world.pradan.id


async def test_classify_ignores_ended_connection(world: World) -> None:
    unique = await world.entry(world.access, AUDIT)
    give = await world.entry(world.pradan, "Statutory audit and ROC compliance help", kind="give")
    await world.regroup()
    await connect(world, unique, give, "no_outcome")

    [view] = await classified(world)

    assert view.give is not None
    assert view.give.id == give.id
    assert view.connections == ()


async def test_overview_order_by_number(world: World) -> None:
    await world.entry(world.access, DRONES, theme=world.tech)
    await world.entry(world.pradan, ONION_LOAN)
    await world.entry(world.vrutti, ONION_LOAN_AGAIN)
    addressed_ask = await world.entry(world.access, AUDIT)
    await world.regroup()
    item = await world.cluster_of(addressed_ask)
    consolidation.mark_addressed(item, by=1, at=NOW)
    await world.session.flush()

    ordered = consolidation.overview_order(await classified(world))

    numbers = [view.number for view in ordered]
    opened = [view.number for view in ordered if view.cluster.status == "open"]
    assert numbers == [*sorted(opened), item.cluster.id]
    assert len(opened) == 2

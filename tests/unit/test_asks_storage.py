"""Queries and status changes of storage/asks.py, on SQLite and (when reachable) PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from storage import asks, people
from storage.asks import REPLACED_COLUMN, Cell
from storage.models import Bso, Community, Contribution, Person, Theme

START = dt.datetime(2025, 3, 1, 6, 0, tzinfo=dt.UTC)


class World:
    """Two communities: BSOs, themes (one replaced) and a PoC, with ids filled after a flush."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.community = Community(name="Test CoP", slug="test-cop")
        self.other_community = Community(name="Other CoP", slug="other-cop")
        self.minutes = 0

    async def build(self) -> World:
        session = self.session
        session.add_all([self.community, self.other_community])
        await session.flush()
        cid = self.community.id
        self.pradan = Bso(
            community_id=cid, name="Professional Assistance", name_key="pa", short_name="PRADAN"
        )
        self.vrutti = Bso(community_id=cid, name="Vrutti", name_key="vrutti")
        self.access = Bso(
            community_id=cid, name="ACCESS Development", name_key="ad", short_name="ACCESS"
        )
        self.elsewhere = Bso(community_id=self.other_community.id, name="Elsewhere", name_key="e")
        self.market = Theme(
            community_id=cid,
            key="market_access",
            name="Market access",
            name_key="market access",
            position=0,
        )
        self.finance = Theme(
            community_id=cid, key="finance", name="Finance", name_key="finance", position=1
        )
        self.tech = Theme(
            community_id=cid, key="technology", name="Technology", name_key="technology", position=2
        )
        self.old = Theme(community_id=cid, name="Seeds", name_key="seeds", position=3, active=False)
        self.other_theme = Theme(
            community_id=self.other_community.id, name="Water", name_key="water"
        )
        session.add_all(
            [
                self.pradan,
                self.vrutti,
                self.access,
                self.elsewhere,
                self.market,
                self.finance,
                self.tech,
                self.old,
                self.other_theme,
            ]
        )
        await session.flush()
        self.asha = Person(
            community_id=cid,
            telegram_id=1001,
            name="Asha Patil",
            telegram_name="Asha",
            status="approved",
            bso_id=self.pradan.id,
        )
        self.ravi = Person(
            community_id=cid, telegram_id=1002, telegram_name="Ravi T", status="approved"
        )
        session.add_all([self.asha, self.ravi])
        await session.flush()
        return self

    async def entry(
        self,
        bso: Bso,
        theme: Theme,
        kind: str = "ask",
        *,
        status: str = "open",
        private: bool = False,
        person: Person | None = None,
        title: str = "",
    ) -> Contribution:
        """Add an entry, each one minute after the previous, so the order by time is known."""
        self.minutes += 1
        entry = Contribution(
            community_id=bso.community_id,
            bso_id=bso.id,
            person_id=person.id if person else None,
            kind=kind,
            theme_id=theme.id,
            title=title or f"{kind} {self.minutes}",
            status=status,
            private=private,
            created_at=START + dt.timedelta(minutes=self.minutes),
        )
        self.session.add(entry)
        await self.session.flush()
        return entry


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await World(session).build()


# --- A BSO's entries ---------------------------------------------------------------------------


async def test_bso_entries_active_first_newest_first(world: World) -> None:
    withdrawn = await world.entry(world.pradan, world.finance, status="withdrawn")
    old_open = await world.entry(world.pradan, world.finance)
    addressed = await world.entry(world.pradan, world.market, "give", status="addressed")
    in_progress = await world.entry(world.pradan, world.tech, status="in_progress")
    new_open = await world.entry(world.pradan, world.old, "give")
    await world.entry(world.vrutti, world.finance)

    listed = await asks.bso_entries(world.session, world.community.id, world.pradan.id)

    assert [entry.id for entry in listed] == [
        new_open.id,
        in_progress.id,
        old_open.id,
        addressed.id,
        withdrawn.id,
    ]


async def test_bso_entries_paged_and_counted(world: World) -> None:
    made = [await world.entry(world.pradan, world.finance) for _ in range(5)]
    await world.entry(world.vrutti, world.finance)

    page = await asks.bso_entries(
        world.session, world.community.id, world.pradan.id, offset=2, limit=2
    )
    total = await asks.count_bso_entries(world.session, world.community.id, world.pradan.id)

    assert total == 5
    assert [entry.id for entry in page] == [made[2].id, made[1].id]


async def test_get_bso_entry_rejects_other_bso(world: World) -> None:
    own = await world.entry(world.pradan, world.finance)
    theirs = await world.entry(world.vrutti, world.finance)
    session, cid = world.session, world.community.id

    assert await asks.get_bso_entry(session, cid, world.pradan.id, own.id) is own
    assert await asks.get_bso_entry(session, cid, world.pradan.id, theirs.id) is None
    assert (
        await asks.get_bso_entry(session, world.other_community.id, world.pradan.id, own.id) is None
    )
    assert await asks.get_bso_entry(session, cid, world.pradan.id, 2**31 - 1) is None


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        ("open", "addressed", True),
        ("open", "withdrawn", True),
        ("open", "in_progress", True),
        ("open", "open", False),
        ("in_progress", "addressed", True),
        ("in_progress", "open", False),
        ("addressed", "open", True),
        ("addressed", "withdrawn", True),
        ("addressed", "addressed", False),
        ("withdrawn", "open", False),
        ("withdrawn", "addressed", False),
        ("withdrawn", "withdrawn", False),
    ],
)
def test_set_status_transitions(start: str, target: str, allowed: bool) -> None:
    entry = Contribution(status=start)

    changed = asks.set_status(entry, target)

    assert changed is allowed
    assert entry.status == (target if allowed else start)


def test_set_status_unknown_raises() -> None:
    with pytest.raises(ValueError, match="unknown entry status 'done'"):
        asks.set_status(Contribution(status="open"), "done")


async def test_filer_names_fall_back_to_telegram_name(world: World) -> None:
    by_asha = await world.entry(world.pradan, world.finance, person=world.asha)
    by_ravi = await world.entry(world.pradan, world.finance, person=world.ravi)
    without_filer = await world.entry(world.pradan, world.finance)

    names = await asks.filer_names(world.session, [by_asha, by_ravi, without_filer])

    assert names == {world.asha.id: "Asha Patil", world.ravi.id: "Ravi T"}


async def test_filer_names_hide_erased_person(world: World) -> None:
    by_asha = await world.entry(world.pradan, world.finance, person=world.asha)
    people.erase_personal_data(world.asha)
    await world.session.flush()

    names = await asks.filer_names(world.session, [by_asha])

    # The row keeps the Telegram name "Asha", which must not be shown either.
    assert names == {world.asha.id: None}


# --- Merging an edit ----------------------------------------------------------------------------

BASE = {
    "theme": 1,
    "title": "Working capital",
    "description": "For 3 FPOs",
    "commodities": ["onion"],
    "states": [],
    "urgency": "high",
    "help_kinds": ["peer"],
    "private": False,
}


def test_merge_edit_keeps_other_field_change() -> None:
    current = {**BASE, "urgency": "low"}
    edited = {**BASE, "title": "Working capital for tur dal"}

    merge = asks.merge_edit(BASE, current, edited)

    assert merge.values == {**BASE, "title": "Working capital for tur dal", "urgency": "low"}
    assert merge.kept == ("urgency",)
    assert merge.overwritten == {}
    assert merge.changed_meanwhile


def test_merge_edit_same_field_later_wins() -> None:
    current = {**BASE, "commodities": ["onion", "tur dal"]}
    edited = {**BASE, "commodities": ["soybean"]}

    merge = asks.merge_edit(BASE, current, edited)

    assert merge.values["commodities"] == ["soybean"]
    assert merge.overwritten == {"commodities": ["onion", "tur dal"]}
    assert merge.kept == ()


def test_merge_edit_same_new_value_no_conflict() -> None:
    current = {**BASE, "private": True}
    edited = {**BASE, "private": True}

    merge = asks.merge_edit(BASE, current, edited)

    assert merge.values == current
    assert not merge.changed_meanwhile


def test_merge_edit_nothing_changed_meanwhile() -> None:
    edited = {**BASE, "help_kinds": ["peer", "expert"]}

    merge = asks.merge_edit(BASE, dict(BASE), edited)

    assert merge.values == edited
    assert not merge.changed_meanwhile


def test_merge_edit_without_base_writes_all() -> None:
    current = {**BASE, "urgency": "low"}

    merge = asks.merge_edit(None, current, BASE)

    assert merge.values == BASE
    assert not merge.changed_meanwhile


async def test_entry_values_round_trip(world: World) -> None:
    entry = await world.entry(world.pradan, world.finance, person=world.asha)
    values = {**BASE, "theme": world.market.id, "states": ["Maharashtra"], "private": True}

    asks.apply_values(entry, values)
    await world.session.flush()

    assert asks.entry_values(entry) == values


# --- The matrix --------------------------------------------------------------------------------


async def test_matrix_counts_active_entries_only(world: World) -> None:
    await world.entry(world.pradan, world.finance, "ask")
    await world.entry(world.pradan, world.finance, "ask", status="in_progress", private=True)
    await world.entry(world.pradan, world.finance, "give")
    await world.entry(world.pradan, world.finance, "ask", status="addressed")
    await world.entry(world.pradan, world.finance, "give", status="withdrawn")
    await world.entry(world.vrutti, world.market, "give")
    await world.entry(world.elsewhere, world.other_theme, "ask")

    matrix = await asks.build_matrix(world.session, world.community.id)

    assert matrix.cell(world.pradan.id, world.finance.id) == Cell(asks=2, gives=1)
    assert matrix.cell(world.vrutti.id, world.market.id) == Cell(asks=0, gives=1)
    assert matrix.cell(world.access.id, world.finance.id) == Cell()
    assert matrix.column_total(world.finance.id) == Cell(asks=2, gives=1)
    assert matrix.row_total(world.pradan.id) == Cell(asks=2, gives=1)
    assert matrix.total == Cell(asks=2, gives=2)


async def test_matrix_lists_every_bso_by_short_name(world: World) -> None:
    await world.entry(world.vrutti, world.market, "give")

    matrix = await asks.build_matrix(world.session, world.community.id)

    assert [bso.id for bso in matrix.bsos] == [world.access.id, world.pradan.id, world.vrutti.id]
    assert [theme.id for theme in matrix.themes] == [
        world.market.id,
        world.finance.id,
        world.tech.id,
    ]


async def test_matrix_keeps_replaced_theme_entries(world: World) -> None:
    await world.entry(world.pradan, world.old, "ask")
    await world.entry(world.pradan, world.old, "give", private=True)
    await world.entry(world.pradan, world.finance, "ask")

    matrix = await asks.build_matrix(world.session, world.community.id)

    assert [theme.id for theme in matrix.replaced] == [world.old.id]
    assert matrix.columns == [world.market.id, world.finance.id, world.tech.id, REPLACED_COLUMN]
    assert matrix.cell(world.pradan.id, REPLACED_COLUMN) == Cell(asks=1, gives=1)
    assert matrix.theme_cell(world.pradan.id, world.old.id) == Cell(asks=1, gives=1)
    assert matrix.total == Cell(asks=2, gives=1)


async def test_matrix_without_replaced_entries_has_no_extra_column(world: World) -> None:
    await world.entry(world.pradan, world.old, "ask", status="withdrawn")

    matrix = await asks.build_matrix(world.session, world.community.id)

    assert matrix.replaced == []
    assert REPLACED_COLUMN not in matrix.columns
    assert matrix.total == Cell()


async def test_cell_entries_of_theme_and_replaced_column(world: World) -> None:
    give = await world.entry(world.pradan, world.finance, "give")
    ask = await world.entry(world.pradan, world.finance, "ask", private=True)
    await world.entry(world.pradan, world.finance, "ask", status="addressed")
    await world.entry(world.vrutti, world.finance, "ask")
    old = await world.entry(world.pradan, world.old, "ask")
    session, cid = world.session, world.community.id

    finance = await asks.cell_entries(session, cid, world.pradan.id, world.finance.id)
    replaced = await asks.cell_entries(session, cid, world.pradan.id, REPLACED_COLUMN)

    assert [entry.id for entry in finance] == [ask.id, give.id]
    assert [entry.id for entry in replaced] == [old.id]


async def test_community_entries_every_status(world: World) -> None:
    statuses = ["open", "in_progress", "addressed", "withdrawn"]
    made = [await world.entry(world.vrutti, world.finance, status=status) for status in statuses]
    first = await world.entry(world.access, world.market, "give")
    await world.entry(world.elsewhere, world.other_theme)

    listed = await asks.community_entries(world.session, world.community.id)

    assert [entry.id for entry in listed] == [first.id, *(entry.id for entry in made)]

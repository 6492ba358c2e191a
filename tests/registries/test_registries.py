"""Tests of storing imports: counts, idempotent re-import, updates and the word index."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from storage.models import Buyer, SearchTerm
from storage.registries import (
    count_buyers,
    count_schemes,
    get_buyer,
    get_scheme,
    import_buyers,
    import_schemes,
)
from storage.search import search_buyers

# The community that conftest.py creates (a second one has COMMUNITY_ID + 1).
COMMUNITY_ID = 1


async def test_messy_import_report(session, demo_bytes):
    report = await import_buyers(
        session, COMMUNITY_ID, demo_bytes("buyers_messy.csv"), "buyers_messy.csv"
    )
    await session.commit()

    assert report.added == 3
    assert report.updated == 0
    assert report.unchanged == 0
    assert [(m.row, m.into_row) for m in report.merged] == [(3, 2)]
    assert report.blank_rows == 1
    assert report.total_rows == 8
    assert [(e.row, e.name) for e in report.errors] == [
        (7, "Tapti Traders"),
        (8, "Megh Retail"),
        (9, "Urja Farm Connect"),
    ]
    assert report.added_names == [
        "Harit Agro Processors Pvt Ltd",
        "Kesar Fresh Exports",
        "ओजस ऑर्गेनिक्स",
    ]
    assert report.lines() == [
        "buyers_messy.csv: 8 rows read.",
        "3 buyers added, 0 updated, 0 unchanged.",
        "Row 3 merged into row 2: same name as Harit Agro Processors Pvt Ltd.",
        "1 blank row skipped.",
        "3 rows not imported:",
        "Row 7 (Tapti Traders): phone: 12345 has 5 digits; an Indian mobile "
        "number has 10, like 98765 43210.",
        "Row 8 (Megh Retail): verified on: 31/02/2025 is not a real date: "
        "February 2025 has 28 days.",
        "Row 9 (Urja Farm Connect): no commodity is given.",
    ]
    assert await count_buyers(session, COMMUNITY_ID) == 3


async def test_messy_import_stored_values(session, demo_bytes):
    await import_buyers(session, COMMUNITY_ID, demo_bytes("buyers_messy.csv"), "m.csv")
    await session.commit()

    harit = await session.scalar(
        select(Buyer).where(Buyer.name_key == "harit agro processors pvt ltd")
    )
    assert harit.commodities == ["tomato", "chilli"]
    assert harit.phone == "+919876501234"
    assert harit.verified_on == dt.date(2024, 10, 25)
    assert harit.state == "Maharashtra"
    assert harit.regions_sourced == []
    assert await get_buyer(session, COMMUNITY_ID, harit.id) is harit
    assert await get_buyer(session, COMMUNITY_ID + 1, harit.id) is None


async def test_reimport_is_unchanged(session, demo_bytes):
    data = demo_bytes("buyers_messy.csv")
    await import_buyers(session, COMMUNITY_ID, data, "buyers_messy.csv")
    await session.commit()
    terms_before = await session.scalar(select(func.count()).select_from(SearchTerm))

    again = await import_buyers(session, COMMUNITY_ID, data, "buyers_messy.csv")
    await session.commit()

    assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
    assert len(again.errors) == 3
    assert await session.scalar(select(func.count()).select_from(SearchTerm)) == terms_before


async def test_changed_row_updates_and_reindexes(session):
    first = b"Name,Commodities,City\nSona Traders,Onion,Nashik\n"
    await import_buyers(session, COMMUNITY_ID, first, "a.csv")
    await session.commit()
    assert (await search_buyers(session, COMMUNITY_ID, "onion")).total == 1

    second = b"Name,Commodities,City\nSONA  traders,Garlic,Nashik\n"
    report = await import_buyers(session, COMMUNITY_ID, second, "b.csv")
    await session.commit()

    assert (report.added, report.updated, report.unchanged) == (0, 1, 0)
    assert report.updated_names == ["SONA traders"]
    assert (await search_buyers(session, COMMUNITY_ID, "onion")).total == 0
    garlic = await search_buyers(session, COMMUNITY_ID, "lahsun")
    assert [b.name for b in garlic.items] == ["SONA traders"]


async def test_absent_column_keeps_stored_value(session):
    await import_buyers(
        session, COMMUNITY_ID, b"Name,Commodities,Email\nSona Traders,Onion,a@b.example\n", "a.csv"
    )
    report = await import_buyers(
        session, COMMUNITY_ID, b"Name,Commodities\nSona Traders,Onion\n", "b.csv"
    )
    await session.commit()

    buyer = await session.scalar(select(Buyer))
    assert report.unchanged == 1
    assert buyer.email == "a@b.example"


async def test_communities_are_separate(session):
    data = b"Name,Commodities\nSona Traders,Onion\n"
    await import_buyers(session, COMMUNITY_ID, data, "a.csv")
    report = await import_buyers(session, COMMUNITY_ID + 1, data, "a.csv")
    await session.commit()

    assert report.added == 1
    assert (await search_buyers(session, COMMUNITY_ID + 1, "onion")).total == 1
    assert await count_buyers(session, COMMUNITY_ID) == 1


async def test_rollback_discards_import(session):
    await import_buyers(session, COMMUNITY_ID, b"Name,Commodities\nSona Traders,Onion\n", "a.csv")
    assert (await search_buyers(session, COMMUNITY_ID, "onion")).total == 1
    await session.rollback()

    assert await count_buyers(session, COMMUNITY_ID) == 0
    result = await search_buyers(session, COMMUNITY_ID, "onion")
    assert result.total == 0
    assert result.unmatched_words == ["onion"]


async def test_scheme_import_and_get(session, demo_bytes):
    report = await import_schemes(session, COMMUNITY_ID, demo_bytes("schemes.csv"), "schemes.csv")
    await session.commit()

    assert (report.added, len(report.errors)) == (14, 0)
    assert await count_schemes(session, COMMUNITY_ID) == 14
    again = await import_schemes(session, COMMUNITY_ID, demo_bytes("schemes.csv"), "schemes.csv")
    assert again.unchanged == 14
    schemes = (
        await session.scalars(select(SearchTerm.entity_id).where(SearchTerm.kind == "scheme"))
    ).all()
    assert await get_scheme(session, COMMUNITY_ID, schemes[0]) is not None

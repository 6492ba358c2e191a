"""Tests of the in-memory search index: ranking, paging and staleness across engines.

`reference_ranking` below is the SQL ranking that lookups ran before the index existed.
Lookups must return the same totals and the same order, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import random
from array import array
from pathlib import Path
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from storage.db import create_engine, create_sessionmaker
from storage.models import Buyer, Community, Scheme, SearchTerm
from storage.registries import import_buyers, import_schemes
from storage.search import (
    NAME_FALLBACK_WEIGHT,
    _Alternative,
    _group_postings,
    _parse_query,
    _registry_index,
    search_buyers,
    search_schemes,
)

# The community that conftest.py creates (a second one has COMMUNITY_ID + 1).
COMMUNITY_ID = 1

BUYER_HEADER = [
    "buyer_name",
    "buyer_type",
    "commodities",
    "city",
    "state",
    "regions_sourced",
    "payment_terms",
    "notes",
]
CITIES = {
    "Nashik": "Maharashtra",
    "Pune": "Maharashtra",
    "Nagpur": "Maharashtra",
    "Patna": "Bihar",
    "Indore": "Madhya Pradesh",
    "Kolar": "Karnataka",
    "Guntur": "Andhra Pradesh",
    "Jaipur": "Rajasthan",
}
STATES = sorted(set(CITIES.values()) | {"Odisha", "Gujarat", "Uttar Pradesh"})
COMMODITIES = [
    "onion",
    "garlic",
    "tomato",
    "turmeric",
    "chilli",
    "pomegranate",
    "mango",
    "grapes",
    "soybean",
    "potato",
]
TYPES = ["processor", "exporter", "wholesaler", "retailer", "aggregator", "institutional"]
NAME_WORDS = ["Harit", "Kesar", "Ojas", "Sona", "Megh", "Urja", "Agro", "Fresh", "Foods"]
HINDI_NAMES = ["ओजस ऑर्गेनिक्स", "हरित कृषि", "मिर्च मंडी"]

# Queries that exercise every facet, words found in several fields of one buyer (a city
# or commodity in the name and notes), typos, Hindi and repeated words.
BUYER_QUERIES = [
    "onion",
    "kanda pune",
    "tumeric",
    "मिर्च",
    "मि",
    "pomegranite MH",
    "exporter mango",
    "aloo bihar",
    "turmeric MH",
    "maharastra",
    "nashik",
    "nashik onion",
    "onion traders",
    "pune",
    "harit",
    "ओजस",
    "net 30 days",
    "processor maharashtra",
    "onion garlic",
    "goat onion xyzzy",
    "onion onion",
    "nashik nashik grapes",
    "bihar MH",
    "agro fresh",
]
SCHEME_QUERIES = ["MH", "ragi", "infrastructure", "fpo credit", "odisha millets", "central"]


def varied_buyers_csv(count: int, seed: int = 7) -> bytes:
    """Build a buyer file whose words often repeat across fields, from a fixed seed."""
    rng = random.Random(seed)
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(BUYER_HEADER)
    for number in range(count):
        city = rng.choice(sorted(CITIES))
        commodities = rng.sample(COMMODITIES, rng.randint(1, 3))
        if number % 17 == 0:
            name = f"{rng.choice(HINDI_NAMES)} {number}"
        else:
            parts = rng.sample(NAME_WORDS, 2)
            if rng.random() < 0.3:
                parts.append(city)
            if rng.random() < 0.3:
                parts.append(rng.choice(COMMODITIES).title())
            name = f"{' '.join(parts)} Traders {number}"
        notes = ""
        if rng.random() < 0.4:
            commodity = rng.choice(COMMODITIES)
            notes = (
                f"Buys {commodity} from {rng.choice(sorted(CITIES))} with {rng.choice(NAME_WORDS)}"
            )
        writer.writerow(
            [
                name,
                rng.choice(TYPES),
                "; ".join(commodities),
                city,
                CITIES[city],
                "; ".join(rng.sample(STATES, rng.randint(0, 3))),
                f"Net {rng.choice((7, 15, 30))} days",
                notes,
            ]
        )
    return output.getvalue().encode()


def _condition(alternative: _Alternative) -> Any:
    if alternative.fields is None:
        return SearchTerm.term == alternative.term
    return and_(SearchTerm.term == alternative.term, SearchTerm.field.in_(alternative.fields))


async def reference_ranking(
    session: AsyncSession, model: type[Buyer] | type[Scheme], kind: str, query: str
) -> list[int]:
    """Rank a query in SQL as lookups did before the in-memory index: all matching ids, best first.

    An entry must match every live group. Its score is SUM(weight) over its rows that
    match any group's non-fallback alternatives, plus NAME_FALLBACK_WEIGHT for each group
    that it matches only through fallback alternatives (a facet word in its name).
    Entries are ordered by score, then name_key in code point order, then id.
    """
    index = await _registry_index(session, model, kind, COMMUNITY_ID)
    groups, _unmatched = _parse_query(query, kind, index.vocabulary)
    live = [g for g in groups if _group_postings(index, g)]
    if not live:
        return []
    conditions = [or_(*(_condition(a) for a in group.alternatives)) for group in live]
    primary = [
        or_(*(_condition(a) for a in group.alternatives if not a.fallback)) for group in live
    ]
    fallback_scores = [
        case(
            (
                and_(
                    func.max(case((or_(*(_condition(a) for a in fallbacks)), 1), else_=0)) == 1,
                    func.max(case((primary_condition, 1), else_=0)) == 0,
                ),
                NAME_FALLBACK_WEIGHT,
            ),
            else_=0,
        )
        for group, primary_condition in zip(live, primary, strict=True)
        if (fallbacks := [a for a in group.alternatives if a.fallback])
    ]
    score = func.sum(case((or_(*primary), SearchTerm.weight), else_=0))
    for fallback_score in fallback_scores:
        score = score + fallback_score
    scores = (
        select(SearchTerm.entity_id.label("entity_id"), score.label("score"))
        .where(
            SearchTerm.community_id == COMMUNITY_ID,
            SearchTerm.kind == kind,
            or_(*conditions),
        )
        .group_by(SearchTerm.entity_id)
        .having(and_(*(func.max(case((c, 1), else_=0)) == 1 for c in conditions)))
        .subquery()
    )
    name_key: Any = model.name_key
    if session.get_bind().dialect.name == "postgresql":
        name_key = name_key.collate("C")
    statement = (
        select(model.id)
        .join(scores, model.id == scores.c.entity_id)
        .where(model.community_id == COMMUNITY_ID)
        .order_by(scores.c.score.desc(), name_key, model.id)
    )
    return list((await session.scalars(statement)).all())


async def _load_varied(session: AsyncSession, demo_bytes) -> None:
    await import_buyers(session, COMMUNITY_ID, demo_bytes("buyers.csv"), "buyers.csv")
    await import_buyers(session, COMMUNITY_ID, varied_buyers_csv(600), "varied.csv")
    await import_schemes(session, COMMUNITY_ID, demo_bytes("schemes.csv"), "schemes.csv")
    await session.commit()


async def _assert_ranking_equals_reference(engine: AsyncEngine, demo_bytes) -> None:
    async with create_sessionmaker(engine)() as session:
        await _load_varied(session, demo_bytes)
        cases = [(search_buyers, Buyer, "buyer", q) for q in BUYER_QUERIES]
        cases += [(search_schemes, Scheme, "scheme", q) for q in SCHEME_QUERIES]
        for finder, model, kind, query in cases:
            expected = await reference_ranking(session, model, kind, query)
            result = await finder(session, COMMUNITY_ID, query, limit=len(expected) + 10)
            assert result.total == len(expected), query
            assert [entry.id for entry in result.items] == expected, query


async def test_ranking_equals_sql_reference_sqlite(sqlite_engine, demo_bytes):
    await _assert_ranking_equals_reference(sqlite_engine, demo_bytes)


async def test_ranking_equals_sql_reference_postgres(postgres_engine, demo_bytes):
    await _assert_ranking_equals_reference(postgres_engine, demo_bytes)


async def test_term_in_two_fields_counts_both(session, demo_bytes):
    await _load_varied(session, demo_bytes)
    # "harit" is a word of names and of notes. A buyer with it in both scores the sum
    # of both fields' weights, so it ranks above buyers with it in one field.
    result = await search_buyers(session, COMMUNITY_ID, "harit", limit=1)
    expected = await reference_ranking(session, Buyer, "buyer", "harit")
    assert [b.id for b in result.items] == expected[:1]
    best = result.items[0]
    fields = await session.scalars(
        select(SearchTerm.field).where(
            SearchTerm.kind == "buyer", SearchTerm.entity_id == best.id, SearchTerm.term == "harit"
        )
    )
    assert len(fields.all()) > 1


async def test_index_uses_arrays_and_bitmaps(session, demo_bytes):
    await _load_varied(session, demo_bytes)
    index = await _registry_index(session, Buyer, "buyer", COMMUNITY_ID)
    kinds = {type(p.entries) for postings in index.postings.values() for p in postings}
    assert kinds == {array, int}


async def test_pages_concatenate_to_full_ranking(session, demo_bytes):
    await _load_varied(session, demo_bytes)
    for query in ["onion", "maharashtra", "kanda pune", "nashik", "net 30 days", "agro fresh"]:
        everything = await reference_ranking(session, Buyer, "buyer", query)
        assert len(everything) > 20, query
        for size in (5, 7):
            pages: list[int] = []
            for offset in range(0, len(everything), size):
                page = await search_buyers(session, COMMUNITY_ID, query, offset=offset, limit=size)
                assert page.total == len(everything), query
                pages += [b.id for b in page.items]
            assert pages == everything, (query, size)


async def test_page_beyond_end_is_empty(session, demo_bytes):
    await _load_varied(session, demo_bytes)
    total = (await search_buyers(session, COMMUNITY_ID, "maharashtra")).total
    beyond = await search_buyers(session, COMMUNITY_ID, "maharashtra", offset=total, limit=5)
    assert beyond.items == []
    assert beyond.total == total
    last = await search_buyers(session, COMMUNITY_ID, "maharashtra", offset=total - 2, limit=5)
    assert len(last.items) == 2


async def test_fragment_and_typo_on_varied_data(session, demo_bytes):
    await _load_varied(session, demo_bytes)
    fragment = await search_buyers(session, COMMUNITY_ID, "मि")
    assert fragment.total == 0
    assert fragment.unmatched_words == ["मि"]
    hindi_word = await search_buyers(session, COMMUNITY_ID, "मिर्च", limit=1000)
    assert [t.describe() for t in hindi_word.query_terms] == ["मिर्च → chilli"]
    chilli = await search_buyers(session, COMMUNITY_ID, "chilli", limit=1000)
    # Both find the same chilli buyers first, then buyers named with the typed word
    # ("मिर्च मंडी", "Chilli Foods") that trade other commodities. A chilli buyer with the
    # word in its name ranks higher, so the order of the chilli buyers may differ.
    hindi_buyers = [b.id for b in hindi_word.items if "chilli" in b.commodities]
    english_buyers = [b.id for b in chilli.items if "chilli" in b.commodities]
    assert sorted(hindi_buyers) == sorted(english_buyers)
    assert [b.id for b in hindi_word.items[: len(hindi_buyers)]] == hindi_buyers
    assert [b.id for b in chilli.items[: len(english_buyers)]] == english_buyers
    for buyer in hindi_word.items[len(hindi_buyers) :]:
        assert "मिर्च" in buyer.name
    for buyer in chilli.items[len(english_buyers) :]:
        assert "chilli" in buyer.name.casefold()

    typo = await search_buyers(session, COMMUNITY_ID, "tumeric", limit=1000)
    exact = await search_buyers(session, COMMUNITY_ID, "turmeric", limit=1000)
    assert [t.describe() for t in typo.query_terms] == ["tumeric → turmeric (typo)"]
    # A corrected typo matches the commodity only; the exact word matches names too.
    exact_commodity = [b.id for b in exact.items if "turmeric" in b.commodities]
    assert typo.total == len(exact_commodity) > 0
    assert sorted(b.id for b in typo.items) == sorted(exact_commodity)


async def _registry_version(session: AsyncSession) -> int:
    version = await session.scalar(
        select(Community.registry_version).where(Community.id == COMMUNITY_ID)
    )
    assert version is not None
    return version


async def test_import_bumps_version_only_on_change(session, demo_bytes):
    assert await _registry_version(session) == 0
    data = demo_bytes("buyers.csv")
    await import_buyers(session, COMMUNITY_ID, data, "buyers.csv")
    await session.commit()
    assert await _registry_version(session) == 1

    await import_buyers(session, COMMUNITY_ID, data, "buyers.csv")
    await session.commit()
    assert await _registry_version(session) == 1

    await import_schemes(session, COMMUNITY_ID, demo_bytes("schemes.csv"), "schemes.csv")
    await session.commit()
    assert await _registry_version(session) == 2


async def test_second_engine_sees_import(sqlite_engine: AsyncEngine, tmp_path: Path):
    # conftest.py's engine and this one share the file, as two processes would.
    other_engine = create_engine(f"sqlite:///{tmp_path / 'registries.db'}")
    try:
        reader = create_sessionmaker(other_engine)
        writer = create_sessionmaker(sqlite_engine)
        async with writer() as session:
            await import_buyers(
                session, COMMUNITY_ID, b"Name,Commodities\nSona Traders,Onion\n", "a.csv"
            )
            await session.commit()
        async with reader() as session:
            first = await search_buyers(session, COMMUNITY_ID, "onion")
            assert [b.name for b in first.items] == ["Sona Traders"]

        async with writer() as session:
            await import_buyers(
                session,
                COMMUNITY_ID,
                b"Name,Commodities\nAmrit Foods,Onion\nKesar Traders,Garlic\n",
                "b.csv",
            )
            await session.commit()
        async with reader() as session:
            onion = await search_buyers(session, COMMUNITY_ID, "onion")
            assert [b.name for b in onion.items] == ["Amrit Foods", "Sona Traders"]
            # "lahsun" (garlic) was not in the first index's vocabulary either.
            garlic = await search_buyers(session, COMMUNITY_ID, "lahsun")
            assert [b.name for b in garlic.items] == ["Kesar Traders"]
    finally:
        await other_engine.dispose()


async def test_second_engine_ignores_uncommitted_import(sqlite_engine, tmp_path: Path):
    other_engine = create_engine(f"sqlite:///{tmp_path / 'registries.db'}")
    try:
        async with create_sessionmaker(sqlite_engine)() as writing:
            await import_buyers(
                writing, COMMUNITY_ID, b"Name,Commodities\nSona Traders,Onion\n", "a.csv"
            )
            async with create_sessionmaker(other_engine)() as reading:
                result = await search_buyers(reading, COMMUNITY_ID, "onion")
                assert result.total == 0
            await writing.rollback()
        async with create_sessionmaker(other_engine)() as reading:
            assert (await search_buyers(reading, COMMUNITY_ID, "onion")).total == 0
    finally:
        await other_engine.dispose()

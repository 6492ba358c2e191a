"""Tests of buyer and scheme lookups on the sample registries, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from storage.db import create_sessionmaker
from storage.registries import import_buyers, import_schemes
from storage.search import search_buyers, search_schemes

# The community that conftest.py creates (a second one has COMMUNITY_ID + 1).
COMMUNITY_ID = 1


async def _load_samples(session, demo_bytes) -> None:
    await import_buyers(session, COMMUNITY_ID, demo_bytes("buyers.csv"), "buyers.csv")
    await import_buyers(session, COMMUNITY_ID, demo_bytes("buyers_messy.csv"), "buyers_messy.csv")
    await import_schemes(session, COMMUNITY_ID, demo_bytes("schemes.csv"), "schemes.csv")
    await session.commit()


@pytest.fixture
async def loaded(session, demo_bytes):
    await _load_samples(session, demo_bytes)
    return session


def names(result) -> list[str]:
    return [item.name for item in result.items]


def understood(result) -> list[str]:
    return [term.describe() for term in result.query_terms]


async def test_commodity_english(loaded):
    result = await search_buyers(loaded, COMMUNITY_ID, "onion")
    assert result.total == 13
    assert names(result) == [
        "Chandan Agri Exports Pvt Ltd",
        "Chandan Supply Chain",
        "Devika Supermarkets LLP",
        "Ekta Farm Connect Pvt Ltd",
        "Harit Global Exports Ltd",
    ]


async def test_paging_continues_order(loaded):
    first = await search_buyers(loaded, COMMUNITY_ID, "onion", limit=5)
    second = await search_buyers(loaded, COMMUNITY_ID, "onion", offset=5, limit=5)
    last = await search_buyers(loaded, COMMUNITY_ID, "onion", offset=10, limit=5)
    beyond = await search_buyers(loaded, COMMUNITY_ID, "onion", offset=20, limit=5)

    everything = await search_buyers(loaded, COMMUNITY_ID, "onion", limit=50)
    assert names(first) + names(second) + names(last) == names(everything)
    assert len(names(last)) == 3
    assert beyond.items == []
    assert beyond.total == 13


async def test_hindi_commodity_finds_chilli(loaded):
    hindi = await search_buyers(loaded, COMMUNITY_ID, "मिर्च")
    english = await search_buyers(loaded, COMMUNITY_ID, "chilli")
    assert understood(hindi) == ["मिर्च → chilli"]
    assert hindi.total == 18
    assert names(hindi) == names(english)
    assert "ओजस ऑर्गेनिक्स" in names(await search_buyers(loaded, COMMUNITY_ID, "मिर्च", limit=50))


async def test_devanagari_fragment_matches_nothing(loaded):
    result = await search_buyers(loaded, COMMUNITY_ID, "मि")
    assert result.total == 0
    assert result.items == []
    assert result.unmatched_words == ["मि"]


async def test_hindi_name_whole_word(loaded):
    assert names(await search_buyers(loaded, COMMUNITY_ID, "ओजस")) == ["ओजस ऑर्गेनिक्स"]
    assert (await search_buyers(loaded, COMMUNITY_ID, "ओज")).total == 0


async def test_synonym_and_city(loaded):
    result = await search_buyers(loaded, COMMUNITY_ID, "kanda pune")
    assert understood(result) == ["kanda → onion", "pune (or around, in Maharashtra)"]
    # No onion buyer sits in Pune; these three source from Maharashtra.
    assert names(result) == [
        "Chandan Supply Chain",
        "Harit Global Exports Ltd",
        "Urja Agritech Pvt Ltd",
    ]


async def test_city_buyers_rank_first(loaded):
    result = await search_buyers(loaded, COMMUNITY_ID, "tomato pune", limit=3)
    assert names(result)[:2] == ["Aranya Agro Processors", "Harit Agritech Pvt Ltd"]


async def test_typo_commodity(loaded):
    result = await search_buyers(loaded, COMMUNITY_ID, "tumeric")
    exact = await search_buyers(loaded, COMMUNITY_ID, "turmeric")
    assert understood(result) == ["tumeric → turmeric (typo)"]
    assert result.total == exact.total == 17


async def test_typo_commodity_and_abbreviation(loaded):
    result = await search_buyers(loaded, COMMUNITY_ID, "pomegranite MH")
    assert understood(result) == ["pomegranite → pomegranate (typo)", "mh → Maharashtra"]
    assert names(result) == ["Jivan Global Exports Ltd", "Kesar Fresh Exports"]


async def test_typo_state(loaded):
    result = await search_buyers(loaded, COMMUNITY_ID, "maharastra")
    assert understood(result) == ["maharastra → Maharashtra (typo)"]
    assert result.total == (await search_buyers(loaded, COMMUNITY_ID, "महाराष्ट्र")).total


async def test_state_ranks_location_over_sourcing(loaded):
    result = await search_buyers(loaded, COMMUNITY_ID, "turmeric MH")
    assert names(result) == ["Rasa Organics Online LLP", "Sarthi Naturals Pvt Ltd"]


async def test_type_and_commodity(loaded):
    result = await search_buyers(loaded, COMMUNITY_ID, "exporter mango")
    assert result.total == 6
    assert all(item.buyer_type == "exporter" for item in result.items)
    assert all("mango" in item.commodities for item in result.items)


async def test_short_words_not_fuzzy(loaded):
    # "alu" is a potato synonym; "alo" is three letters, so no typo correction applies.
    assert (await search_buyers(loaded, COMMUNITY_ID, "alu")).total > 0
    result = await search_buyers(loaded, COMMUNITY_ID, "alo")
    assert result.total == 0
    assert result.unmatched_words == ["alo"]


async def test_unmatched_words_are_reported(loaded):
    result = await search_buyers(loaded, COMMUNITY_ID, "goat onion xyzzy")
    assert result.total == 13
    assert result.unmatched_words == ["xyzzy", "goat"]


async def test_lowercase_or_is_not_odisha(loaded):
    result = await search_buyers(loaded, COMMUNITY_ID, "onion or garlic")
    assert [t.facet for t in result.query_terms] == ["commodity", "commodity"]
    upper = await search_buyers(loaded, COMMUNITY_ID, "onion OR")
    assert understood(upper) == ["onion", "or → Odisha"]


async def test_schemes_by_commodity_synonym(loaded):
    result = await search_schemes(loaded, COMMUNITY_ID, "nachni")
    assert understood(result) == ["nachni → finger millet"]
    assert names(result) == ["Odisha Millets Mission"]


async def test_schemes_state_includes_central(loaded):
    result = await search_schemes(loaded, COMMUNITY_ID, "MH", limit=20)
    assert names(result)[0] == "Maharashtra Agribusiness and Rural Transformation project"
    assert result.total == 13
    assert "Odisha Millets Mission" not in names(result)


async def test_schemes_short_name(loaded):
    assert names(await search_schemes(loaded, COMMUNITY_ID, "enam")) == [
        "National Agriculture Market"
    ]
    assert names(await search_schemes(loaded, COMMUNITY_ID, "PMFME")) == [
        "PM Formalisation of Micro Food Processing Enterprises"
    ]


QUERIES = [
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
    "ओजस",
    "HARIT",
    "Nashik tomato",
    "processor",
    "net 30 days",
]
SCHEME_QUERIES = ["MH", "ragi", "infrastructure", "fpo credit", "odisha millets"]


async def test_sqlite_and_postgres_agree(sqlite_engine, postgres_engine, demo_bytes):
    outcomes = []
    for engine in (sqlite_engine, postgres_engine):
        async with create_sessionmaker(engine)() as session:
            await _load_samples(session, demo_bytes)
            outcome = []
            for query in QUERIES:
                result = await search_buyers(session, COMMUNITY_ID, query, limit=200)
                outcome.append((query, result.total, [b.id for b in result.items]))
            for query in SCHEME_QUERIES:
                result = await search_schemes(session, COMMUNITY_ID, query, limit=200)
                outcome.append((query, result.total, [s.id for s in result.items]))
            outcomes.append(outcome)

    sqlite_outcome, postgres_outcome = outcomes
    for on_sqlite, on_postgres in zip(sqlite_outcome, postgres_outcome, strict=True):
        assert on_sqlite == on_postgres
    assert any(total > 5 for _query, total, _ids in sqlite_outcome)


# --- Unmatched words --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "understood_terms", "unmatched"),
    [
        ("onion xyzzy", ["onion"], ["xyzzy"]),
        ("onion Atlantis", ["onion"], ["atlantis"]),
        ("onion कखगघ", ["onion"], ["कखगघ"]),
        ("प्याज़ xyzzy", ["प्याज़ → onion"], ["xyzzy"]),
    ],
)
async def test_unmatched_word_reported_beside_match(loaded, query, understood_terms, unmatched):
    result = await search_buyers(loaded, COMMUNITY_ID, query)
    assert understood(result) == understood_terms
    assert result.unmatched_words == unmatched
    assert result.total == 13


async def test_hindi_city_understood(loaded):
    result = await search_buyers(loaded, COMMUNITY_ID, "onion पुणे")
    english = await search_buyers(loaded, COMMUNITY_ID, "onion pune")
    assert understood(result) == ["onion", "पुणे → pune (or around, in Maharashtra)"]
    assert result.unmatched_words == []
    assert names(result) == names(english)


async def test_facet_in_other_field_only_reported(session):
    # "goat" is a commodity, but here it is only a word of the notes.
    data = b"Name,Commodity,Notes\nSona Traders,Onion,no goat\n"
    await import_buyers(session, COMMUNITY_ID, data, "goat.csv")
    await session.commit()
    result = await search_buyers(session, COMMUNITY_ID, "onion goat")
    assert names(result) == ["Sona Traders"]
    assert result.unmatched_words == ["goat"]


# --- Facet words in names ---------------------------------------------------------------


async def _add_buyers(session, rows: str) -> None:
    data = ("Buyer Name,Type of buyer,Commodity,State\n" + rows).encode()
    report = await import_buyers(session, COMMUNITY_ID, data, "extra.csv")
    assert report.errors == []
    await session.commit()


async def test_exact_name_with_type_word(loaded):
    await _add_buyers(loaded, "Café Société Traders,,onion,MH\n")
    result = await search_buyers(loaded, COMMUNITY_ID, "Café Société Traders")
    assert names(result) == ["Café Société Traders"]
    assert result.unmatched_words == []


async def test_type_word_prefers_type_over_name(loaded):
    await _add_buyers(loaded, "Mango Exporter House,retailer,mango,MH\n")
    result = await search_buyers(loaded, COMMUNITY_ID, "exporter mango", limit=20)
    assert result.total == 7
    assert [item.buyer_type for item in result.items[:6]] == ["exporter"] * 6
    assert names(result)[6] == "Mango Exporter House"


async def test_commodity_word_matches_name(loaded):
    await _add_buyers(loaded, "Garlic House Foods,retailer,rice,MH\n")
    result = await search_buyers(loaded, COMMUNITY_ID, "garlic", limit=50)
    assert names(result)[-1] == "Garlic House Foods"
    assert all("garlic" in item.commodities for item in result.items[:-1])


async def test_lowercase_as_is_stopword(loaded):
    result = await search_buyers(loaded, COMMUNITY_ID, "buyers of onion as exporter")
    assert understood(result) == ["onion", "exporter"]
    assert result.total == 2
    assert all(item.buyer_type == "exporter" for item in result.items)
    upper = await search_buyers(loaded, COMMUNITY_ID, "onion AS")
    assert understood(upper) == ["onion", "as → Assam"]


# --- Plurals and Hindi keywords ---------------------------------------------------------


async def test_plural_is_not_typo(loaded):
    singular = await search_schemes(loaded, COMMUNITY_ID, "warehouse")
    plural = await search_schemes(loaded, COMMUNITY_ID, "warehouses")
    assert understood(singular) == ["warehouse"]
    assert [term.typo for term in singular.query_terms] == [False]
    assert names(singular) == names(plural) == ["Agriculture Infrastructure Fund"]


async def test_hindi_keyword_finds_scheme(loaded):
    english = await search_schemes(loaded, COMMUNITY_ID, "warehouse")
    hindi = await search_schemes(loaded, COMMUNITY_ID, "गोदाम")
    assert understood(hindi) == ["गोदाम → warehouse"]
    assert names(hindi) == names(english)


@pytest.mark.parametrize(
    ("hindi", "english"),
    [("ऋण", "loan"), ("कर्ज़", "loan"), ("कर्ज", "loan"), ("भंडारण", "storage")],
)
async def test_hindi_keywords_match_english(loaded, hindi, english):
    from_hindi = await search_schemes(loaded, COMMUNITY_ID, hindi, limit=50)
    from_english = await search_schemes(loaded, COMMUNITY_ID, english, limit=50)
    assert from_hindi.total > 0
    assert set(names(from_english)) <= set(names(from_hindi))


async def test_hindi_keyword_without_match_unmatched(loaded):
    result = await search_schemes(loaded, COMMUNITY_ID, "बीमा")
    assert result.total == 0
    assert result.unmatched_words == ["बीमा"]


async def test_hindi_chilli_spelling(loaded):
    result = await search_buyers(loaded, COMMUNITY_ID, "मिर्ची")
    english = await search_buyers(loaded, COMMUNITY_ID, "chilli")
    assert understood(result) == ["मिर्ची → chilli"]
    assert result.total == english.total == 18

"""Measure buyer lookup latency on a generated registry.

Run from the repository root:

    .venv/bin/python bench/lookup.py [--database-url URL] [--buyers 100000]

It generates buyers deterministically (fixed seed), bulk-loads them with their
`search_terms` rows, then times `search_buyers` over a fixed query set and, on the same
session, a raw baseline.

The baseline is the hand-written SQL that returns what a lookup for an exact commodity
returns, on the same database. It counts the buyers whose commodity is onion and reads
the first page (5) of them with their full rows, ordered by name_key (code point order)
then id. It is two statements timed together: RAW_COUNT and RAW_PAGE below. A second
form of the page query, RAW_PAGE_EXISTS, is timed and printed for comparison but not
used in the ratio.

The first lookup builds the in-memory search index. Its time and the index's size
(measured with tracemalloc on a second build) are printed and kept out of the timed
loop. The last line of output is `median_ms=… p95_ms=… raw_median_ms=… ratio=…`, where
ratio is median_ms / raw_median_ms.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.db import create_engine, create_sessionmaker  # noqa: E402
from storage.models import Base, Buyer, Community, SearchTerm  # noqa: E402
from storage.normalize import BUYER_TYPES, load_commodities, load_states, name_key  # noqa: E402
from storage.search import buyer_term_rows, invalidate_vocabulary, search_buyers  # noqa: E402

SEED = 20250601
COMMUNITY_ID = 1

QUERIES = [
    "onion",
    "kanda pune",
    "tumeric",
    "मिर्च",
    "pomegranite MH",
    "exporter mango",
    "aloo bihar",
    "turmeric MH",
    "maharastra soybean",
    "nashik grapes exporter",
]

# Baseline, two statements timed together: the number of buyers whose commodity is
# onion, and the first page of them by name with their full rows. On PostgreSQL the
# page sorts with COLLATE "C" (code point order), as SQLite does and as lookups do.
RAW_COUNT = text(
    "SELECT count(*) FROM search_terms "
    "WHERE community_id = :community_id AND kind = 'buyer' AND term = 'onion' "
    "AND field = 'commodity'"
)
RAW_PAGE = (
    "SELECT buyers.* FROM buyers JOIN search_terms ON search_terms.entity_id = buyers.id "
    "WHERE search_terms.community_id = :community_id AND search_terms.kind = 'buyer' "
    "AND search_terms.term = 'onion' AND search_terms.field = 'commodity' "
    "AND buyers.community_id = :community_id "
    "ORDER BY buyers.name_key{collation}, buyers.id LIMIT 5"
)
# The same page found by walking buyers in name order and testing each for onion, which
# stops after five matches. It is printed for comparison only, and the ratio uses RAW_PAGE.
RAW_PAGE_EXISTS = (
    "SELECT buyers.* FROM buyers WHERE buyers.community_id = :community_id AND EXISTS ("
    "SELECT 1 FROM search_terms WHERE search_terms.community_id = :community_id "
    "AND search_terms.kind = 'buyer' AND search_terms.term = 'onion' "
    "AND search_terms.field = 'commodity' AND search_terms.entity_id = buyers.id) "
    "ORDER BY buyers.name_key{collation}, buyers.id LIMIT 5"
)

CITIES = {
    "Nashik": "Maharashtra",
    "Pune": "Maharashtra",
    "Nagpur": "Maharashtra",
    "Ratnagiri": "Maharashtra",
    "Aurangabad": "Maharashtra",
    "Indore": "Madhya Pradesh",
    "Bhopal": "Madhya Pradesh",
    "Ujjain": "Madhya Pradesh",
    "Patna": "Bihar",
    "Muzaffarpur": "Bihar",
    "Lucknow": "Uttar Pradesh",
    "Agra": "Uttar Pradesh",
    "Varanasi": "Uttar Pradesh",
    "Jaipur": "Rajasthan",
    "Jodhpur": "Rajasthan",
    "Ahmedabad": "Gujarat",
    "Surat": "Gujarat",
    "Rajkot": "Gujarat",
    "Bengaluru": "Karnataka",
    "Kolar": "Karnataka",
    "Hubballi": "Karnataka",
    "Mysuru": "Karnataka",
    "Hyderabad": "Telangana",
    "Warangal": "Telangana",
    "Guntur": "Andhra Pradesh",
    "Vijayawada": "Andhra Pradesh",
    "Chennai": "Tamil Nadu",
    "Coimbatore": "Tamil Nadu",
    "Madurai": "Tamil Nadu",
    "Kolkata": "West Bengal",
    "Siliguri": "West Bengal",
    "Bhubaneswar": "Odisha",
    "Koraput": "Odisha",
    "Ranchi": "Jharkhand",
    "New Delhi": "Delhi",
    "Ludhiana": "Punjab",
    "Karnal": "Haryana",
    "Guwahati": "Assam",
    "Kochi": "Kerala",
    "Raipur": "Chhattisgarh",
}
NAME_PREFIXES = [
    "Harit",
    "Kesar",
    "Ojas",
    "Tapti",
    "Megh",
    "Urja",
    "Jivan",
    "Prakriti",
    "Devika",
    "Aranya",
    "Chandan",
    "Ekta",
    "Narmada",
    "Sarthi",
    "Kaveri",
    "Godavari",
    "Indus",
    "Lakshya",
    "Baliraja",
    "Dhruva",
    "Gauri",
    "Amrit",
    "Rasa",
    "Vasudha",
    "Annapurna",
    "Krishi",
    "Sahyadri",
    "Satpura",
    "Ganga",
    "Yamuna",
    "Shivneri",
    "Bhoomi",
    "Kisan",
    "Sona",
    "Hari",
    "Nandi",
    "Vanya",
    "Pragati",
    "Samruddhi",
    "Unnati",
]
NAME_CORES = [
    "Agro",
    "Foods",
    "Fresh",
    "Naturals",
    "Organics",
    "Agritech",
    "Global",
    "Farm",
    "Harvest",
    "Greens",
    "Spices",
    "Produce",
    "Valley",
    "Trade",
    "Supply",
    "Retail",
    "Exports",
    "Overseas",
    "Ventures",
]
NAME_FORMS = (
    "Processors",
    "Exports",
    "Traders",
    "Industries",
    "Supermarkets",
    "Online",
    "Commission Agents",
    "Hospitality Supplies",
    "Connect",
    "Wholesale",
)
LEGAL_FORMS = ("Pvt Ltd", "LLP", "Ltd", "", "Co")
PEOPLE = (
    "Sunita Patil",
    "Ravi Kulkarni",
    "Geeta Sharma",
    "Deepak Yadav",
    "Rekha Verma",
    "Anil Reddy",
    "Meena Iyer",
    "Kiran Gowda",
    "Ajay Das",
    "Farida Khan",
)
QUALITY = (
    "Graded and packed to retailer specification",
    "Consistent grade, moisture and size; FSSAI-compliant handling",
    "Export grade with residue testing and traceability",
    "Bulk supply at contracted quality, tender compliance",
    "Fair average quality, sorted and bagged",
)


def generate_buyers(count: int) -> list[dict]:
    """Generate `count` buyers with unique names, the same ones for the same count."""
    rng = random.Random(SEED)
    commodities = load_commodities().names
    states = load_states().names
    cities = sorted(CITIES)
    types = [t for t in BUYER_TYPES if t != "other"]
    buyers: list[dict] = []
    used_keys: set[str] = set()
    for number in range(1, count + 1):
        parts = [
            rng.choice(NAME_PREFIXES),
            rng.choice(NAME_CORES),
            rng.choice(NAME_FORMS),
            rng.choice(LEGAL_FORMS),
        ]
        name = " ".join(part for part in parts if part)
        city = rng.choice(cities)
        if name_key(name) in used_keys:
            name = f"{name} {city}"
        if name_key(name) in used_keys:
            name = f"{name} {number}"
        used_keys.add(name_key(name))
        buyers.append(
            {
                "id": number,
                "community_id": COMMUNITY_ID,
                "name": name,
                "name_key": name_key(name),
                "buyer_type": rng.choice(types),
                "commodities": rng.sample(commodities, rng.randint(1, 3)),
                "city": city,
                "state": CITIES[city],
                "regions_sourced": rng.sample(states, rng.randint(0, 3)),
                "volume": f"{rng.choice((5, 10, 20, 50, 100))} tonnes/month",
                "quality": rng.choice(QUALITY),
                "payment_terms": f"Net {rng.choice((7, 15, 21, 30, 45))} days",
                "contact_person": rng.choice(PEOPLE),
                "phone": f"+91{rng.randint(6_000_000_000, 9_999_999_999)}",
                "email": None,
                "verified_by": None,
                "verified_on": None,
                "notes": None,
            }
        )
    return buyers


async def load(engine, buyers: list[dict]) -> int:
    """Create the tables and bulk-insert the buyers and their search terms."""
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)
        await connection.execute(
            insert(Community), [{"id": COMMUNITY_ID, "name": "Bench", "slug": "bench"}]
        )
    term_count = 0
    batch = 5000
    for start in range(0, len(buyers), batch):
        chunk = buyers[start : start + batch]
        terms = [row for buyer in chunk for row in buyer_term_rows(SimpleNamespace(**buyer))]
        term_count += len(terms)
        async with engine.begin() as connection:
            await connection.execute(insert(Buyer), chunk)
            await connection.execute(insert(SearchTerm), terms)
    async with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            await connection.execute(text("ANALYZE"))
        else:
            await connection.execute(text("ANALYZE search_terms"))
            await connection.execute(text("ANALYZE buyers"))
    return term_count


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def raw_lookup(session, raw_page) -> tuple[int, list]:
    """Run the baseline: the onion buyers' total and first page by name."""
    parameters = {"community_id": COMMUNITY_ID}
    total = (await session.execute(RAW_COUNT, parameters)).scalar_one()
    rows = (await session.execute(raw_page, parameters)).all()
    return total, rows


async def build_index(engine) -> tuple[float, float]:
    """Return the seconds the first lookup takes and the index's size in MB.

    The first lookup builds the index. The size is the memory still allocated after a
    second build, measured with tracemalloc, which slows that build down.
    """
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        started = time.perf_counter()
        await search_buyers(session, COMMUNITY_ID, "onion")
        build_seconds = time.perf_counter() - started

        invalidate_vocabulary(session, COMMUNITY_ID)
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        await search_buyers(session, COMMUNITY_ID, "onion")
        gc.collect()
        size_mb = (tracemalloc.get_traced_memory()[0] - before) / 1e6
        tracemalloc.stop()
    return build_seconds, size_mb


async def measure(
    engine, rounds: int
) -> tuple[list[float], list[float], list[float], dict[str, int]]:
    """Time every query and both baselines, and return their samples in ms and the totals."""
    sessionmaker = create_sessionmaker(engine)
    collation = ' COLLATE "C"' if engine.dialect.name == "postgresql" else ""
    raw_page = text(RAW_PAGE.format(collation=collation))
    raw_page_exists = text(RAW_PAGE_EXISTS.format(collation=collation))
    search_ms: list[float] = []
    raw_ms: list[float] = []
    exists_ms: list[float] = []
    totals: dict[str, int] = {}
    async with sessionmaker() as session:
        # Warm-up, which also checks that the baselines return what the lookup returns.
        for query in QUERIES:
            totals[query] = (await search_buyers(session, COMMUNITY_ID, query)).total
        lookup = await search_buyers(session, COMMUNITY_ID, "onion")
        expected = (lookup.total, [b.id for b in lookup.items])
        for page in (raw_page, raw_page_exists):
            raw_total, raw_rows = await raw_lookup(session, page)
            if (raw_total, [row.id for row in raw_rows]) != expected:
                raise SystemExit("the baseline and the lookup for 'onion' return different buyers")
        for _round in range(rounds):
            for query in QUERIES:
                started = time.perf_counter()
                await search_buyers(session, COMMUNITY_ID, query)
                search_ms.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                await raw_lookup(session, raw_page)
                raw_ms.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                await raw_lookup(session, raw_page_exists)
                exists_ms.append((time.perf_counter() - started) * 1000)
    return search_ms, raw_ms, exists_ms, totals


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        help="database to fill (its tables are dropped); "
        "default: a new SQLite file in a temporary directory",
    )
    parser.add_argument("--buyers", type=int, default=100_000, help="number of buyers")
    parser.add_argument("--rounds", type=int, default=20, help="times each query is timed")
    args = parser.parse_args()

    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/lookup.db"
    engine = create_engine(url)
    started = time.perf_counter()
    buyers = generate_buyers(args.buyers)
    term_count = await load(engine, buyers)
    print(
        f"database: {engine.dialect.name}; loaded {len(buyers)} buyers and "
        f"{term_count} search terms in {time.perf_counter() - started:.1f} s"
    )
    build_seconds, size_mb = await build_index(engine)
    print(
        f"search index: built in {build_seconds:.2f} s (first lookup), "
        f"{size_mb:.1f} MB (tracemalloc)"
    )

    search_ms, raw_ms, exists_ms, totals = await measure(engine, args.rounds)
    await engine.dispose()
    per_query = len(QUERIES)
    for index, query in enumerate(QUERIES):
        samples = search_ms[index::per_query]
        print(f"  {query!r}: {totals[query]} results, median {statistics.median(samples):.2f} ms")
    median = statistics.median(search_ms)
    raw_median = statistics.median(raw_ms)
    print(
        f"baseline with EXISTS in name order (for comparison): "
        f"median {statistics.median(exists_ms):.2f} ms"
    )
    print(
        f"median_ms={median:.2f} p95_ms={percentile(search_ms, 0.95):.2f} "
        f"raw_median_ms={raw_median:.2f} ratio={median / raw_median:.1f}"
    )


if __name__ == "__main__":
    asyncio.run(main())

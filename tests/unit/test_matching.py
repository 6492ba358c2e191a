"""Unit tests of the matching rules in bot/matching.py, and the benchmark's targets."""

from __future__ import annotations

import datetime as dt

import pytest

from bench import matching as bench
from bot.matching import (
    PAIR_THRESHOLD,
    Entry,
    Need,
    Supply,
    cluster_asks,
    combine,
    commodity_of,
    load_state_neighbours,
    nearness,
    rank_suppliers,
    score_pair,
    suggest_pairs,
    text_similarity,
    total_tonnes,
    window_months,
)
from storage.normalize import load_states


def supply(bso: str, months: set[int], tonnes: float | None, *states: str) -> Supply:
    return Supply(
        key=f"profile:{bso}",
        bso=bso,
        commodity="onion",
        states=states,
        months=frozenset(months),
        tonnes=tonnes,
    )


# --- States -----------------------------------------------------------------------------


def test_state_neighbours_symmetric_and_known() -> None:
    neighbours = load_state_neighbours()
    names = set(load_states().names)

    assert set(neighbours) == names
    for state, bordering in neighbours.items():
        assert bordering <= names, state
        assert state not in bordering, state
        for other in bordering:
            assert state in neighbours[other], (state, other)


def test_nearness_classes() -> None:
    assert nearness("Maharashtra", ["Goa", "Maharashtra"]) == "same_state"
    assert nearness("Maharashtra", ["Goa"]) == "neighbour_state"
    assert nearness("Maharashtra", ["Punjab"]) == "other_state"
    assert nearness("Maharashtra", []) == "state_unknown"
    assert nearness(None, ["Goa"]) is None


def test_state_neighbours_of_maharashtra() -> None:
    assert load_state_neighbours()["Maharashtra"] == {
        "Gujarat",
        "Madhya Pradesh",
        "Chhattisgarh",
        "Telangana",
        "Karnataka",
        "Goa",
        "Dadra and Nagar Haveli and Daman and Diu",
    }
    assert load_state_neighbours()["Lakshadweep"] == frozenset()


# --- Requirements against supply --------------------------------------------------------


def test_rank_suppliers_by_nearness() -> None:
    need = Need(commodity="onion", months=(3, 4), tonnes=100, state="Maharashtra")
    supplies = [
        # The far BSO covers the window and volume best, yet ranks last.
        supply("far", {3, 4}, 500, "Punjab"),
        supply("near", {4}, 50, "Gujarat"),
        supply("same", {4}, 50, "Maharashtra"),
        supply("unknown", {3, 4}, 500),
    ]

    ranked = rank_suppliers(need, supplies)

    assert [match.bso for match in ranked][:2] == ["same", "near"]
    assert {match.bso for match in ranked[2:]} == {"far", "unknown"}
    reasons = {match.bso: match.reasons for match in ranked}
    assert "same_state" in reasons["same"]
    assert "neighbour_state" in reasons["near"]
    assert "other_state" in reasons["far"]
    assert not {"same_state", "neighbour_state", "other_state"} & set(reasons["unknown"])
    assert "enough_volume" not in reasons["same"]
    assert "enough_volume" in reasons["far"]


def test_rank_suppliers_within_band_by_cover() -> None:
    need = Need(commodity="onion", months=(3, 4), tonnes=100, state="Maharashtra")
    supplies = [
        supply("part", {4}, 500, "Maharashtra"),
        supply("whole", {3, 4}, 500, "Maharashtra"),
    ]

    ranked = rank_suppliers(need, supplies)

    assert [match.bso for match in ranked] == ["whole", "part"]
    assert "whole_window" in ranked[0].reasons
    assert "part_window" in ranked[1].reasons


def test_rank_suppliers_skips_other_commodity_and_season() -> None:
    need = Need(commodity="onion", months=(3,), tonnes=10, state=None)
    tomato = Supply(key="profile:t", bso="t", commodity="tomato", months=frozenset({3}))

    ranked = rank_suppliers(need, [tomato, supply("late", {9}, 10, "Goa")])

    assert ranked == []


def test_rank_suppliers_limit() -> None:
    need = Need(commodity="onion", months=(3,), tonnes=10, state="Goa")
    supplies = [supply(f"bso{number}", {3}, 10, "Goa") for number in range(8)]

    assert len(rank_suppliers(need, supplies)) == 5
    assert len(rank_suppliers(need, supplies, limit=2)) == 2


def test_window_across_new_year() -> None:
    months = window_months(dt.date(2025, 11, 15), dt.date(2026, 2, 10))
    need = Need(commodity="onion", months=months, tonnes=10, state="Maharashtra")

    ranked = rank_suppliers(
        need, [supply("winter", {1, 2, 6}, 10, "Maharashtra"), supply("summer", {6}, 10, "Goa")]
    )

    assert months == (11, 12, 1, 2)
    assert [match.bso for match in ranked] == ["winter"]
    assert ranked[0].months == (1, 2)


def test_window_months_at_most_twelve() -> None:
    assert window_months(dt.date(2025, 1, 1), dt.date(2026, 12, 31)) == tuple(range(1, 13))


def test_unknown_months_match_any_window() -> None:
    need = Need(commodity="onion", months=(5, 6), tonnes=10, state="Goa")
    give = Supply(key="give:3", bso="giver", commodity="onion", states=("Goa",))

    ranked = rank_suppliers(need, [give])

    assert ranked[0].months == (5, 6)
    assert {"months_unknown", "from_give"} <= set(ranked[0].reasons)
    assert "whole_window" not in ranked[0].reasons
    assert "part_window" not in ranked[0].reasons
    assert "enough_volume" not in ranked[0].reasons


@pytest.mark.parametrize(
    ("frequency", "start", "end", "expected"),
    [
        ("weekly", dt.date(2026, 3, 1), dt.date(2026, 3, 28), 40.0),
        # 15 days are two weeks and a day, counted as three weeks.
        ("weekly", dt.date(2026, 3, 1), dt.date(2026, 3, 15), 30.0),
        ("weekly", dt.date(2026, 3, 1), dt.date(2026, 3, 1), 10.0),
        ("one_off", dt.date(2026, 3, 1), dt.date(2026, 5, 31), 10.0),
        ("seasonal", dt.date(2026, 3, 1), dt.date(2026, 5, 31), 10.0),
    ],
)
def test_total_tonnes(frequency: str, start: dt.date, end: dt.date, expected: float) -> None:
    assert total_tonnes(10, frequency, start, end) == expected


# --- Combinations -----------------------------------------------------------------------


def test_combine_complementary_seasons() -> None:
    need = Need(commodity="onion", months=(11, 12, 1, 2, 3, 4), tonnes=1000, state="Maharashtra")
    supplies = [
        supply("spring", {3, 4, 5}, 800, "Maharashtra"),
        supply("winter", {11, 12, 1, 2}, 400, "Maharashtra"),
        supply("april", {4, 5}, 300, "Madhya Pradesh"),
    ]

    combination = combine(need, rank_suppliers(need, supplies))

    assert combination is not None
    assert [part.bso for part in combination.parts] == ["winter", "spring"]
    assert [part.months for part in combination.parts] == [(11, 12, 1, 2), (3, 4)]
    assert combination.covers_months
    assert combination.covers_tonnes
    assert sum(part.tonnes or 0 for part in combination.parts) == pytest.approx(1000)


def test_combine_volume() -> None:
    need = Need(commodity="onion", months=(2, 3), tonnes=300, state="Telangana")
    supplies = [
        supply("big", {1, 2, 3}, 200, "Telangana"),
        supply("mid", {2, 3, 4}, 150, "Maharashtra"),
        supply("small", {2, 3}, 50, "Punjab"),
    ]

    combination = combine(need, rank_suppliers(need, supplies))

    assert combination is not None
    assert {part.bso for part in combination.parts} == {"big", "mid"}
    # Both harvest in both months, so both keep them.
    assert all(part.months == (2, 3) for part in combination.parts)
    tonnes = {part.bso: part.tonnes for part in combination.parts}
    assert tonnes["big"] == pytest.approx(171.43)
    assert tonnes["mid"] == pytest.approx(128.57)
    assert combination.covers_tonnes


def test_combine_none_when_one_suffices() -> None:
    need = Need(commodity="onion", months=(3, 4), tonnes=100, state="Maharashtra")
    supplies = [supply("enough", {3, 4}, 100, "Goa"), supply("other", {3}, 50, "Maharashtra")]

    assert combine(need, rank_suppliers(need, supplies)) is None


def test_combine_finds_smallest_set() -> None:
    # Taking the BSO that adds most months first would pick "wide" and then two more.
    need = Need(commodity="onion", months=(1, 2, 3, 4, 5, 6), tonnes=10, state=None)
    supplies = [
        supply("wide", {2, 3, 4, 5}, 10, "Goa"),
        supply("early", {1, 2, 3}, 10, "Goa"),
        supply("late", {4, 5, 6}, 10, "Goa"),
    ]

    combination = combine(need, rank_suppliers(need, supplies))

    assert combination is not None
    assert [part.bso for part in combination.parts] == ["early", "late"]


def test_combine_partial_cover() -> None:
    # No BSO harvests in January: the best pair still covers more than either alone.
    need = Need(commodity="onion", months=(11, 12, 1), tonnes=100, state=None)
    supplies = [supply("nov", {11}, 80, "Goa"), supply("dec", {12}, 80, "Goa")]

    combination = combine(need, rank_suppliers(need, supplies))

    assert combination is not None
    assert not combination.covers_months
    assert combination.covers_tonnes


def test_combine_none_when_nothing_added() -> None:
    need = Need(commodity="onion", months=(11, 12, 1), tonnes=100, state=None)
    supplies = [supply("both", {11, 12}, 120, "Goa"), supply("nov", {11}, 40, "Goa")]

    assert combine(need, rank_suppliers(need, supplies)) is None


# --- Typed commodities ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("tumeric", "turmeric"),
        ("Tumeric powder", "turmeric"),
        ("onoin", "onion"),
        ("kanda", "onion"),
        ("प्याज़", "onion"),
        ("हल्दि", "turmeric"),
        ("टमाटरों", "tomato"),
        ("soyabeen", "soybean"),
        ("red gram", "pigeon pea"),
        ("ram", None),
        ("xyz", None),
        ("", None),
    ],
)
def test_commodity_of(typed: str, expected: str | None) -> None:
    assert commodity_of(typed) == expected


# --- Asks against gives -----------------------------------------------------------------


def entry(key: str, bso: str, title: str, description: str = "", theme: str = "market") -> Entry:
    return Entry(key=key, bso=bso, theme=theme, title=title, description=description)


HINDI_ASK = entry("a1", "A", "प्याज के खरीदार चाहिए", "हमारे FPO का 100 t प्याज तैयार है।")
ENGLISH_GIVE = entry("g1", "B", "Onion buyers in Pune", "We introduce FPOs to onion buyers.")
ENGLISH_ASK = entry("a2", "C", "Cold storage for onion", "Need a warehouse with cold storage.")
HINDI_GIVE = entry("g2", "D", "प्याज के लिए कोल्ड स्टोरेज", "हम गोदाम और भंडारण में मदद करते हैं।")


def test_pair_hindi_ask_english_give() -> None:
    suggestion = score_pair(HINDI_ASK, ENGLISH_GIVE)

    assert suggestion.score >= PAIR_THRESHOLD
    assert "commodity" in suggestion.reasons
    assert "same_theme" in suggestion.reasons
    assert suggestion.shared[0] == "onion"


def test_pair_english_ask_hindi_give() -> None:
    suggestion = score_pair(ENGLISH_ASK, HINDI_GIVE)

    assert suggestion.score >= PAIR_THRESHOLD
    assert "similar_text" in suggestion.reasons


def test_pair_typos_and_word_forms() -> None:
    ask = entry("a", "A", "Loan for a warehous", "DPR for a 500 t warehous")
    give = entry("g", "B", "Warehouse loans", "We prepare DPRs for warehouses")
    unrelated = entry("u", "C", "Drone spraying", "Certified drone operators on hire")

    assert text_similarity(ask, give) > 0.6
    assert text_similarity(ask, unrelated) == 0


def test_pair_other_commodity_penalised() -> None:
    ask = entry("a", "A", "Export chilli to Sri Lanka", "Need help with export papers")
    give = entry("g", "B", "Grape export support", "Help with export papers for grapes")

    suggestion = score_pair(ask, give)

    assert "other_commodity" in suggestion.reasons
    assert suggestion.score < PAIR_THRESHOLD


def test_pair_commodity_family() -> None:
    ask = entry("a", "A", "Buyers for ragi", "")
    give = entry("g", "B", "Millet buyers", "")

    suggestion = score_pair(ask, give)

    assert "commodity" in suggestion.reasons
    assert "finger millet" in suggestion.shared


def test_suggest_pairs_excludes_same_bso() -> None:
    own_give = entry("g9", "A", "Onion buyers in Pune", "We introduce FPOs to onion buyers.")

    suggestions = suggest_pairs([HINDI_ASK], [ENGLISH_GIVE, own_give])

    assert [(item.ask, item.give) for item in suggestions] == [("a1", "g1")]


def test_suggest_pairs_threshold() -> None:
    assert suggest_pairs([HINDI_ASK], [ENGLISH_GIVE], threshold=1.01) == []


# --- Clusters ---------------------------------------------------------------------------


def test_cluster_kinds() -> None:
    asks = [
        entry("a1", "A", "Buyers for onion", "Onion buyers who pay in a week"),
        entry("a2", "B", "प्याज के खरीदार चाहिए", "प्याज के सीधे खरीदार"),
        entry("a3", "C", "Drone spraying for grapes", "Drone operator on hire", "technology"),
        entry("a4", "D", "Buyers for goat milk", "Dairy that buys goat milk daily", "finance"),
    ]
    gives = [entry("g1", "E", "Drone spraying service", "Drone operators for grapes", "technology")]

    clusters = {cluster.asks: cluster for cluster in cluster_asks(asks, gives)}

    assert set(clusters) == {("a1", "a2"), ("a3",), ("a4",)}
    assert clusters[("a1", "a2")].kind == "common"
    assert clusters[("a1", "a2")].bsos == ("A", "B")
    assert clusters[("a3",)].kind == "unique"
    assert clusters[("a3",)].gives[0].give == "g1"
    assert clusters[("a4",)].kind == "gap"


def test_cluster_keeps_themes_apart() -> None:
    asks = [
        entry("a1", "A", "Onion storage training", "", "technology"),
        entry("a2", "B", "Onion storage training", "", "finance"),
    ]

    clusters = cluster_asks(asks, [])

    assert [cluster.asks for cluster in clusters] == [("a1",), ("a2",)]
    assert all(cluster.kind == "gap" for cluster in clusters)


# --- Benchmark targets ------------------------------------------------------------------


def test_bench_meets_targets() -> None:
    requirements = bench.score_requirements(bench.load("requirements.json"))
    pairs = bench.score_pairs(bench.load("asks_gives.json"))

    assert requirements.top5 >= 0.9, requirements.misses
    assert requirements.combinations_right == requirements.combinations_total, (
        requirements.wrong_combinations
    )
    assert pairs.precision >= 0.8, pairs.false_positives
    assert pairs.recall >= 0.8, pairs.misses

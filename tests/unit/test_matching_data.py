"""Consistency checks for the hand-labelled matching benchmark in bench/data."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from storage.normalize import load_commodities, load_states

DATA_DIR = Path(__file__).resolve().parents[2] / "bench" / "data"
THEMES = {"market_access", "finance", "technology", "governance"}
FREQUENCIES = {"one-off", "weekly", "seasonal"}
DEVANAGARI = re.compile("[\u0900-\u097f]")
MONTHS = range(1, 13)


@pytest.fixture(scope="module")
def asks_gives() -> dict:
    return json.loads((DATA_DIR / "asks_gives.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def requirements() -> dict:
    return json.loads((DATA_DIR / "requirements.json").read_text(encoding="utf-8"))


def entries_by_id(asks_gives: dict) -> dict[str, dict]:
    return {entry["id"]: entry for entry in asks_gives["entries"]}


# --- Asks and gives ---------------------------------------------------------------------


def test_entry_ids_unique(asks_gives: dict) -> None:
    counts = Counter(entry["id"] for entry in asks_gives["entries"])
    duplicates = [entry_id for entry_id, count in counts.items() if count > 1]
    assert duplicates == []


def test_entry_fields_valid(asks_gives: dict) -> None:
    for entry in asks_gives["entries"]:
        entry_id = entry["id"]
        assert entry["kind"] in {"ask", "give"}, entry_id
        assert entry["theme"] in THEMES, entry_id
        assert entry["language"] in {"en", "hi"}, entry_id
        assert entry["bso"].strip(), entry_id
        assert entry["title"].strip(), entry_id
        assert entry["description"].strip(), entry_id
        prefix = "a" if entry["kind"] == "ask" else "g"
        assert entry_id.startswith(prefix), f"{entry_id} is a {entry['kind']}"


def test_hindi_entries_use_devanagari(asks_gives: dict) -> None:
    for entry in asks_gives["entries"]:
        if entry["language"] == "hi":
            text = entry["title"] + entry["description"]
            assert DEVANAGARI.search(text), entry["id"]


def test_entry_counts_meet_minimums(asks_gives: dict) -> None:
    entries = asks_gives["entries"]
    kinds = Counter(entry["kind"] for entry in entries)
    hindi = [entry for entry in entries if entry["language"] == "hi"]

    assert len(entries) >= 60
    assert kinds["ask"] >= 0.4 * len(entries)
    assert kinds["give"] >= 0.4 * len(entries)
    assert len(hindi) >= 15


def test_pairs_ask_give_different_bsos(asks_gives: dict) -> None:
    entries = entries_by_id(asks_gives)
    for ask_id, give_id in asks_gives["pairs"]:
        assert ask_id in entries, f"pair refers to unknown id {ask_id}"
        assert give_id in entries, f"pair refers to unknown id {give_id}"
        assert entries[ask_id]["kind"] == "ask", ask_id
        assert entries[give_id]["kind"] == "give", give_id
        assert entries[ask_id]["bso"] != entries[give_id]["bso"], (ask_id, give_id)


def test_pairs_unique(asks_gives: dict) -> None:
    counts = Counter(tuple(pair) for pair in asks_gives["pairs"])
    duplicates = [pair for pair, count in counts.items() if count > 1]
    assert duplicates == []


def test_pair_counts_meet_minimums(asks_gives: dict) -> None:
    pairs = asks_gives["pairs"]
    gives_per_ask = Counter(ask_id for ask_id, _ in pairs)
    asks = [entry["id"] for entry in asks_gives["entries"] if entry["kind"] == "ask"]
    unmatched = [ask_id for ask_id in asks if ask_id not in gives_per_ask]

    assert len(pairs) >= 20
    assert len(unmatched) >= 10
    assert max(gives_per_ask.values()) <= 2


# --- Supply profiles and buyer requirements ---------------------------------------------


def test_profile_and_requirement_counts(requirements: dict) -> None:
    assert len(requirements["profiles"]) == 30
    assert len(requirements["requirements"]) == 20


def test_profile_and_requirement_ids_unique(requirements: dict) -> None:
    ids = [item["id"] for item in requirements["profiles"] + requirements["requirements"]]
    duplicates = [item_id for item_id, count in Counter(ids).items() if count > 1]
    assert duplicates == []


def test_profile_fields_valid(requirements: dict) -> None:
    canonical_names = set(load_commodities().names)
    state_names = set(load_states().names)
    for profile in requirements["profiles"]:
        profile_id = profile["id"]
        assert profile["commodity"] in canonical_names, profile_id
        assert profile["states"], profile_id
        assert set(profile["states"]) <= state_names, profile_id
        assert profile["districts"], profile_id
        assert profile["harvest_months"], profile_id
        assert set(profile["harvest_months"]) <= set(MONTHS), profile_id
        assert profile["volume_tonnes"] > 0, profile_id


def test_requirement_fields_valid(requirements: dict) -> None:
    state_names = set(load_states().names)
    for requirement in requirements["requirements"]:
        requirement_id = requirement["id"]
        assert requirement["commodity"].strip(), requirement_id
        assert requirement["quantity_tonnes"] > 0, requirement_id
        assert requirement["frequency"] in FREQUENCIES, requirement_id
        assert requirement["delivery_state"] in state_names, requirement_id
        assert requirement["window_months"], requirement_id
        assert set(requirement["window_months"]) <= set(MONTHS), requirement_id


def test_expected_profiles_exist(requirements: dict) -> None:
    profiles = {profile["id"]: profile for profile in requirements["profiles"]}
    for requirement in requirements["requirements"]:
        expected = requirement["expected"]
        assert len(expected) <= 5, requirement["id"]
        assert set(expected) <= profiles.keys(), requirement["id"]
        commodities = {profiles[profile_id]["commodity"] for profile_id in expected}
        assert len(commodities) <= 1, f"{requirement['id']} expects {sorted(commodities)}"


def test_combinations_need_several_profiles(requirements: dict) -> None:
    profiles = {profile["id"]: profile for profile in requirements["profiles"]}
    combined = [item for item in requirements["requirements"] if "combination" in item]
    assert len(combined) >= 3

    for requirement in combined:
        requirement_id = requirement["id"]
        window = set(requirement["window_months"])
        quantity = requirement["quantity_tonnes"]
        chosen = [profiles[profile_id] for profile_id in requirement["combination"]["profiles"]]

        assert len(chosen) >= 2, requirement_id
        assert requirement["combination"]["reason"].strip(), requirement_id
        assert set(requirement["combination"]["profiles"]) <= set(requirement["expected"])

        covered = set().union(*(set(profile["harvest_months"]) for profile in chosen))
        assert window <= covered, f"{requirement_id}: window not covered by the combination"
        assert sum(profile["volume_tonnes"] for profile in chosen) >= quantity, requirement_id

        for profile in chosen:
            alone_enough = (
                window <= set(profile["harvest_months"]) and profile["volume_tonnes"] >= quantity
            )
            assert not alone_enough, f"{requirement_id}: {profile['id']} alone is enough"

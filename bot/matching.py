"""Matching rules, free of Telegram and the database: requirements against supply,
asks against gives, and open asks into clusters.

Callers turn rows into the small frozen records below, so the same functions serve the
bot, the tests and `bench/matching.py`. Commodities are canonical English names from
the synonym list (`storage.normalize.load_commodities`, or `commodity_of` for typed
text); months are numbers 1-12; states are names as in `storage/data/states.csv`.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import itertools
import math
import re
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from rapidfuzz import process
from rapidfuzz.distance import OSA

from storage.normalize import (
    DATA_DIR,
    HindiWords,
    devanagari_key,
    fold,
    load_commodities,
    load_hindi_words,
    load_states,
    typo_limit,
    words,
)

# How many BSOs a new requirement is sent to.
DEFAULT_SUPPLIERS = 5
# The lowest ask-give score (0-1) shown to the facilitator as a suggestion.
PAIR_THRESHOLD = 0.5
# The lowest text similarity (0-1, see `text_similarity`) at which two asks of one theme
# fall into one cluster.
CLUSTER_THRESHOLD = 0.3
# `combine` searches every subset of this many best-ranked BSOs, up to COMBINATION_SIZE
# BSOs each: at most 154 subsets, so the search stays exhaustive and instant.
COMBINATION_CANDIDATES = 8
COMBINATION_SIZE = 4

FREQUENCIES = ("one_off", "weekly", "seasonal")


# --- Requirements against supply ------------------------------------------------------------


@dataclass(frozen=True)
class Supply:
    """One BSO's supply of one commodity: a supply profile, or a give naming it."""

    # Opaque to the matcher, such as "profile:12" or "give:7".
    key: str
    bso: Hashable
    commodity: str
    states: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    # Harvest months; empty when unknown (a give rarely names them), which matches any window
    # but ranks below a known overlap.
    months: frozenset[int] = frozenset()
    # Typical volume per season in tonnes; None when unknown.
    tonnes: float | None = None


@dataclass(frozen=True)
class Need:
    """A requirement reduced to what the matching rules compare."""

    commodity: str
    # The delivery window's months in delivery order: (11, 12, 1, 2) runs across the new year.
    months: tuple[int, ...]
    # Total tonnes over the whole window (see `total_tonnes`).
    tonnes: float
    state: str | None = None


@dataclass(frozen=True)
class SupplierMatch:
    """One BSO that could supply a need, best first in `rank_suppliers`."""

    bso: Hashable
    # 0-1. Nearness sets the band: same state 2/3-1, neighbouring state 1/3-2/3, any
    # other or unknown state 0-1/3. Window cover and volume order BSOs within a band.
    score: float
    # The window months this BSO harvests in (all of them when its months are unknown).
    months: tuple[int, ...]
    # Its matching supply's volume per season in tonnes; None when unknown.
    tonnes: float | None
    # Reason codes, rendered by the prompts. Nearness, at most one: same_state,
    # neighbour_state (a state sharing a border with the delivery state) or other_state,
    # and none when the need or the supply names no state. Window, one: whole_window or
    # part_window, or months_unknown when no matching supply records its months. Then
    # enough_volume when the volume covers the need, and from_give when every matching
    # supply is a give rather than a supply profile.
    reasons: tuple[str, ...]
    supplies: tuple[str, ...]


@dataclass(frozen=True)
class Part:
    """One BSO's share of a combination: some months of the window, some tonnes."""

    bso: Hashable
    months: tuple[int, ...]
    tonnes: float | None


@dataclass(frozen=True)
class Combination:
    """The smallest set of BSOs found that together cover a need's window and volume."""

    parts: tuple[Part, ...]
    covers_months: bool
    covers_tonnes: bool


def window_months(start: dt.date, end: dt.date) -> tuple[int, ...]:
    """Return the months from `start` to `end`, in order, each once (at most twelve)."""
    months: list[int] = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month) and len(months) < 12:
        months.append(month)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(months)


def total_tonnes(quantity_tonnes: float, frequency: str, start: dt.date, end: dt.date) -> float:
    """Return the tonnes requested over the whole window: a weekly quantity times the
    weeks in it.

    A part week counts as a whole one, so 1-15 March is three weeks.
    """
    if frequency == "weekly":
        weeks = max(1, ((end - start).days + 1 + 6) // 7)
        return quantity_tonnes * weeks
    return quantity_tonnes


@functools.cache
def load_state_neighbours() -> dict[str, frozenset[str]]:
    """Read `storage/data/state_neighbours.csv` once: each state or union territory
    mapped to those it shares a land border with.

    The file lists each bordering pair once, in either order. Raises ValueError for a
    name that is not in `storage/data/states.csv`.
    """
    known = set(load_states().names)
    neighbours: dict[str, set[str]] = {name: set() for name in known}
    with (DATA_DIR / "state_neighbours.csv").open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            first, second = row["state"].strip(), row["neighbour"].strip()
            for name in (first, second):
                if name not in known:
                    raise ValueError(
                        f"state_neighbours.csv line {line}: {name!r} is not a state or union "
                        "territory of states.csv"
                    )
            neighbours[first].add(second)
            neighbours[second].add(first)
    return {name: frozenset(found) for name, found in neighbours.items()}


def nearness(
    state: str | None,
    states: Collection[str],
    neighbours: Mapping[str, Collection[str]] | None = None,
) -> str | None:
    """Classify supply from `states` for delivery to `state`: same_state, neighbour_state,
    other_state or state_unknown (no states given); None when `state` is None."""
    if state is None:
        return None
    if not states:
        return "state_unknown"
    if state in states:
        return "same_state"
    bordering = (neighbours if neighbours is not None else load_state_neighbours()).get(state, ())
    if any(other in bordering for other in states):
        return "neighbour_state"
    return "other_state"


# Score bands per nearness: the band's floor, in thirds of the 0-1 score.
_NEARNESS_BAND = {"same_state": 2, "neighbour_state": 1, "other_state": 0, "state_unknown": 0}


def rank_suppliers(
    need: Need,
    supplies: Iterable[Supply],
    *,
    limit: int = DEFAULT_SUPPLIERS,
    neighbours: Mapping[str, Collection[str]] | None = None,
) -> list[SupplierMatch]:
    """Rank the BSOs whose supply of the need's commodity overlaps its window, best first.

    Same-state BSOs rank above neighbouring-state ones, and those above the rest. Within
    a band, the share of the window covered and then the volume decide. `neighbours`
    defaults to `load_state_neighbours()`.
    """
    by_bso: dict[Hashable, list[Supply]] = {}
    for supply in supplies:
        if supply.commodity != need.commodity:
            continue
        if supply.months and not supply.months.intersection(need.months):
            continue
        by_bso.setdefault(supply.bso, []).append(supply)
    bordering = neighbours if neighbours is not None else load_state_neighbours()
    matches = [_bso_match(need, bso, found, bordering) for bso, found in by_bso.items()]
    matches.sort(key=lambda match: (-match.score, str(match.bso)))
    return matches[:limit]


def _bso_match(
    need: Need, bso: Hashable, found: Sequence[Supply], neighbours: Mapping[str, Collection[str]]
) -> SupplierMatch:
    known = [supply for supply in found if supply.months]
    if known:
        harvest = frozenset().union(*(supply.months for supply in known))
        months = tuple(month for month in need.months if month in harvest)
    else:
        months = need.months
    volumes = [supply.tonnes for supply in found if supply.tonnes is not None]
    tonnes = sum(volumes) if volumes else None
    states = {state for supply in found for state in supply.states}
    reasons: list[str] = []

    near = nearness(need.state, states, neighbours)
    if near is not None and near != "state_unknown":
        reasons.append(near)

    # Within a band: window cover weighs 0.6 (half when the months are a guess) and
    # volume 0.35, so the quality stays below 1 and never lifts a BSO into the next band.
    cover = len(months) / max(1, len(need.months))
    if known:
        reasons.append("whole_window" if len(months) == len(need.months) else "part_window")
    else:
        # Unknown months are taken to cover the window, so claiming a cover would be false.
        reasons.append("months_unknown")
        cover *= 0.5
    if tonnes is None:
        volume = 0.5
    else:
        if tonnes >= need.tonnes:
            reasons.append("enough_volume")
        volume = min(1.0, tonnes / need.tonnes) if need.tonnes > 0 else 1.0
    quality = 0.6 * cover + 0.35 * volume

    if all(supply.key.startswith("give:") for supply in found):
        reasons.append("from_give")
    band = _NEARNESS_BAND[near] if near is not None else 0
    return SupplierMatch(
        bso=bso,
        score=round((band + quality) / 3, 4),
        months=months,
        tonnes=tonnes,
        reasons=tuple(reasons),
        supplies=tuple(supply.key for supply in found),
    )


def combine(need: Need, matches: Sequence[SupplierMatch]) -> Combination | None:
    """Find the smallest set of BSOs that together cover the need's window and volume.

    Searches every subset of 2-COMBINATION_SIZE of the first COMBINATION_CANDIDATES
    matches. Among the smallest sets that cover both, it prefers volume to spare (up to
    half the need again, because typical volumes are estimates), then fewer months
    harvested twice, then the higher summed score. When no set covers both, it returns
    the smallest set with the best cover, if that covers more than the best single BSO.
    None when one BSO covers both on its own, or when no second BSO adds anything.
    Unknown volumes count as zero tonnes.
    """
    window = set(need.months)
    pool = list(matches)[:COMBINATION_CANDIDATES]
    if any(_cover(need, (match,)) == (len(window), True) for match in pool):
        return None

    best: tuple[SupplierMatch, ...] | None = None
    best_key: tuple[float, ...] | None = None
    for size in range(2, min(COMBINATION_SIZE, len(pool)) + 1):
        for subset in itertools.combinations(pool, size):
            months, enough = _cover(need, subset)
            if months < len(window) or not enough:
                continue
            key = _preference(need, subset)
            if best_key is None or key > best_key:
                best, best_key = subset, key
        if best is not None:
            return _combination(need, best)
    return _partial_combination(need, pool)


def _cover(need: Need, subset: Sequence[SupplierMatch]) -> tuple[int, bool]:
    """Count the window months `subset` covers together, and check its volume."""
    months = set().union(*(match.months for match in subset))
    tonnes = sum(match.tonnes or 0.0 for match in subset)
    return len(months & set(need.months)), tonnes >= need.tonnes


def _tonnes(subset: Sequence[SupplierMatch]) -> float:
    return sum(match.tonnes or 0.0 for match in subset)


def _preference(need: Need, subset: Sequence[SupplierMatch]) -> tuple[float, ...]:
    spare = min(_tonnes(subset) / need.tonnes, 1.5) if need.tonnes > 0 else 1.5
    harvested = sum(len(match.months) for match in subset)
    twice = harvested - len(set().union(*(match.months for match in subset)))
    return (round(spare, 4), -twice, sum(match.score for match in subset))


def _partial_combination(need: Need, pool: Sequence[SupplierMatch]) -> Combination | None:
    def reach(subset: Sequence[SupplierMatch]) -> tuple[int, float]:
        months, _ = _cover(need, subset)
        return months, min(_tonnes(subset), need.tonnes)

    single = max((reach((match,)) for match in pool), default=(0, 0.0))
    best: tuple[SupplierMatch, ...] | None = None
    best_reach = single
    for size in range(2, min(COMBINATION_SIZE, len(pool)) + 1):
        for subset in itertools.combinations(pool, size):
            found = reach(subset)
            # Strictly better on one measure and no worse on the other; a larger set
            # must beat every smaller one, so every member adds something.
            if found[0] >= best_reach[0] and found[1] >= best_reach[1] and found != best_reach:
                best, best_reach = subset, found
    return _combination(need, best) if best is not None else None


def _combination(need: Need, chosen: Sequence[SupplierMatch]) -> Combination:
    months, enough = _cover(need, chosen)
    assigned = _assign_months(need, chosen)
    shares = _assign_tonnes(need, chosen)
    parts = [
        Part(bso=match.bso, months=assigned[index], tonnes=shares[index])
        for index, match in enumerate(chosen)
    ]
    # Calendar order of the window, so the message reads like a delivery plan.
    position = {month: index for index, month in enumerate(need.months)}
    parts.sort(key=lambda part: min((position[m] for m in part.months), default=99))
    return Combination(
        parts=tuple(parts), covers_months=months == len(set(need.months)), covers_tonnes=enough
    )


def _assign_months(need: Need, chosen: Sequence[SupplierMatch]) -> list[tuple[int, ...]]:
    """Give each window month to one BSO, the best-ranked first.

    A BSO left with no month of its own keeps every window month it harvests, because
    then it was chosen for its volume and supplies alongside the others.
    """
    order = sorted(range(len(chosen)), key=lambda index: -chosen[index].score)
    taken: set[int] = set()
    assigned: list[tuple[int, ...]] = [() for _ in chosen]
    for index in order:
        harvest = [month for month in need.months if month in chosen[index].months]
        own = [month for month in harvest if month not in taken]
        assigned[index] = tuple(own or harvest)
        taken.update(harvest)
    return assigned


def _assign_tonnes(need: Need, chosen: Sequence[SupplierMatch]) -> list[float | None]:
    """Split the need's tonnes in proportion to each BSO's volume, never above it.

    BSOs of unknown volume share what the known volumes leave, or get None.
    """
    known = sum(match.tonnes for match in chosen if match.tonnes is not None)
    unknown = sum(1 for match in chosen if match.tonnes is None)
    rest = max(0.0, need.tonnes - known)
    shares: list[float | None] = []
    for match in chosen:
        if match.tonnes is None:
            shares.append(round(rest / unknown, 2) if rest > 0 else None)
        elif known >= need.tonnes:
            shares.append(round(need.tonnes * match.tonnes / known, 2))
        else:
            shares.append(match.tonnes)
    return shares


# --- Typed commodities ------------------------------------------------------------------------


def commodity_of(text: str) -> str | None:
    """Resolve a typed commodity to its canonical name, correcting small typos.

    Tries the synonym list as `Commodities.canonical` does (English, Hindi, Marathi and
    trade names), then each word alone, then the same with typos. A typo is an edit
    distance of at most `typo_limit` of the typed word, counting Hindi vowel signs, so
    "tumeric" and "हल्दि" are turmeric. Words under 4 letters must be exact. Returns None
    when nothing is close, or when two commodities are equally close.
    """
    commodities = load_commodities()
    phrase = " ".join(words(fold(text)))
    if not phrase:
        return None
    candidates = list(
        dict.fromkeys(form for part in [phrase, *phrase.split()] for form in _hindi_forms(part))
    )
    for candidate in candidates:
        found = commodities.canonical(candidate)
        if found:
            return found
    for candidate in candidates:
        found = _closest_commodity(candidate)
        if found:
            return found
    return None


@functools.cache
def _commodity_keys() -> tuple[list[str], list[str]]:
    """Spelling-blind keys of every commodity synonym, and the canonical name of each."""
    keys: list[str] = []
    names: list[str] = []
    for synonym, canonical in load_commodities().vocabulary().items():
        keys.append(devanagari_key(synonym))
        names.append(canonical)
    return keys, names


def _typo_limit(word: str) -> int:
    """`typo_limit`, but counting a Devanagari word's vowel signs and viramas too, since
    a wrong vowel sign is the usual Hindi typo: "हल्दि" for "हल्दी" is one edit in five."""
    if _DEVANAGARI.search(word):
        length = len(word.replace(" ", ""))
        if length < 4:
            return 0
        return 1 if length < 8 else 2
    return typo_limit(word)


def _closest_commodity(word: str) -> str | None:
    limit = _typo_limit(word)
    if limit == 0:
        return None
    keys, names = _commodity_keys()
    found = process.extract(
        devanagari_key(word), keys, scorer=OSA.distance, score_cutoff=limit, limit=None
    )
    if not found:
        return None
    # A short synonym takes no typos either: "ram" is not "aam".
    close = [(distance, index) for key, distance, index in found if distance <= _typo_limit(key)]
    if not close:
        return None
    nearest = min(distance for distance, _ in close)
    canonicals = {names[index] for distance, index in close if distance == nearest}
    return canonicals.pop() if len(canonicals) == 1 else None


# --- Text of asks and gives -------------------------------------------------------------------

# Commodity families, so a give about "millets" matches an ask about ragi. Keys and
# members are canonical names of storage/data/commodities.csv.
COMMODITY_GROUPS: dict[str, tuple[str, ...]] = {
    "millets": ("finger millet", "pearl millet", "sorghum"),
    "pulses": ("pigeon pea", "chickpea", "green gram", "black gram"),
    "spices": ("chilli", "turmeric", "ginger", "garlic"),
}
_GROUP_OF = {member: group for group, members in COMMODITY_GROUPS.items() for member in members}

# Weight of a word in an entry's title against one in its description.
_TITLE_WEIGHT = 2.0
_DEVANAGARI = re.compile("[\u0900-\u097f]")
# Hindi plural and oblique endings: "किसानों" is "किसान", "सब्जियों" is "सब्जि".
_HINDI_ENDINGS = ("ियों", "ाओं", "ों", "ें", "ीं")


@dataclass(frozen=True)
class _Words:
    """The domain vocabulary of `storage/data/matching_words.csv`."""

    # Word (folded, spelling-blind for Devanagari) to English concepts (stemmed).
    synonyms: dict[str, tuple[str, ...]]
    stopwords: frozenset[str]


@functools.cache
def _load_words() -> _Words:
    synonyms: dict[str, tuple[str, ...]] = {}
    stopwords: set[str] = set()
    with (DATA_DIR / "matching_words.csv").open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            word = devanagari_key(fold(row["word"]))
            kind = row["kind"].strip()
            if kind == "stopword":
                stopwords.add(word)
            elif kind == "synonym":
                concepts = tuple(
                    _stem(fold(concept))
                    for concept in row["concepts"].split(";")
                    if concept.strip()
                )
                synonyms[word] = concepts
            else:
                raise ValueError(
                    f"matching_words.csv line {line}: unknown kind {kind!r}; "
                    "expected synonym or stopword"
                )
    return _Words(synonyms=synonyms, stopwords=frozenset(stopwords))


def _stem(word: str) -> str:
    """Strip regular English endings so word forms meet: "warehouses", "warehouse" and
    the typo "warehous" all become "warehous"; "graded" and "grading" become "grad".

    Crude on purpose: both sides of a comparison are stemmed alike, and the result is a
    key, never shown. Words not in lower-case ASCII pass unchanged.
    """
    if not (word.isascii() and word.isalpha()):
        return word
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 5 and word.endswith("ed"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


@dataclass(frozen=True)
class _Terms:
    """An entry's text as weighted concept keys."""

    # Concept key to weight: English stems, "c:<canonical name>" for commodities, and
    # spelling-blind Devanagari words that no list translates. A title word weighs
    # _TITLE_WEIGHT, a description word 1.
    weights: dict[str, float]
    # A word of the entry's own text for each key, to show the reader.
    surface: dict[str, str]
    commodities: frozenset[str]


def _entry_terms(entry: Entry) -> _Terms:
    weights: dict[str, float] = {}
    surface: dict[str, str] = {}
    commodities: set[str] = set(entry.commodities)
    for text, weight in ((entry.title, _TITLE_WEIGHT), (entry.description, 1.0)):
        for key, shown, commodity in _text_terms(text):
            if commodity:
                commodities.add(commodity)
            weights[key] = max(weights.get(key, 0.0), weight)
            surface.setdefault(key, shown)
    for commodity in entry.commodities:
        for key in _commodity_keys_of(commodity):
            weights[key] = max(weights.get(key, 0.0), 1.0)
            surface.setdefault(key, commodity)
    return _Terms(weights=weights, surface=surface, commodities=frozenset(commodities))


def _commodity_keys_of(commodity: str) -> list[str]:
    return [f"c:{commodity}"]


def _text_terms(text: str) -> list[tuple[str, str, str | None]]:
    """Split `text` into (key, word as written, commodity or None) triples.

    Commodity names of up to three words are found first ("red gram", "हरी मिर्च"), in
    any listed language, and become one "c:<canonical name>" key each.
    """
    commodities = load_commodities()
    vocabulary = _load_words()
    hindi = load_hindi_words()
    tokens = words(fold(text))
    found: list[tuple[str, str, str | None]] = []
    index = 0
    while index < len(tokens):
        for size in (3, 2, 1):
            phrase = " ".join(tokens[index : index + size])
            if len(tokens) - index < size or phrase in vocabulary.stopwords:
                continue
            commodity = commodities.canonical(phrase)
            if commodity is None and size == 1 and len(phrase) >= 6:
                commodity = _closest_commodity(phrase)
            if commodity:
                for key in _commodity_keys_of(commodity):
                    found.append((key, phrase, commodity))
                index += size
                break
        else:
            keys = _word_keys(tokens[index], vocabulary, hindi)
            found.extend((key, tokens[index], None) for key in keys)
            index += 1
    return found


def _word_keys(word: str, vocabulary: _Words, hindi: HindiWords) -> list[str]:
    if word.isdigit() or len(word) < 2:
        return []
    key = devanagari_key(word)
    if key in vocabulary.stopwords:
        return []
    if key in vocabulary.synonyms:
        return list(vocabulary.synonyms[key])
    stem = _stem(key)
    if stem != key and stem in vocabulary.synonyms:
        return list(vocabulary.synonyms[stem])
    if not _DEVANAGARI.search(key):
        return [stem]
    for form in _hindi_forms(key):
        if form in vocabulary.synonyms:
            return list(vocabulary.synonyms[form])
        english = hindi.keyword(form)
        if english:
            return [_stem(item) for item in english]
    return [key]


def _hindi_forms(word: str) -> list[str]:
    forms = [word]
    for ending in _HINDI_ENDINGS:
        if word.endswith(ending) and len(word) > len(ending) + 1:
            forms.append(word[: -len(ending)])
    return forms


def _document_frequencies(texts: Iterable[_Terms]) -> tuple[dict[str, int], int]:
    counts: dict[str, int] = {}
    total = 0
    for terms in texts:
        total += 1
        for key in terms.weights:
            counts[key] = counts.get(key, 0) + 1
    return counts, total


@dataclass(frozen=True)
class TermWeights:
    """Inverse document frequencies of concept keys over a set of asks and gives, so a
    word that most entries share (buyers, training) counts less than a rare one."""

    counts: Mapping[str, int]
    documents: int

    def idf(self, key: str) -> float:
        # The smoothed form: a key no entry has weighs as one that a single entry has.
        return math.log((self.documents + 1) / (self.counts.get(key, 0) + 1)) + 1.0


def term_weights(entries: Iterable[Entry]) -> TermWeights:
    """Count, over `entries`, how many contain each concept key."""
    counts, documents = _document_frequencies(_terms_of(entry) for entry in entries)
    return TermWeights(counts=counts, documents=documents)


_UNIFORM = TermWeights(counts={}, documents=0)


def _terms_of(entry: Entry) -> _Terms:
    return _cached_terms(entry.title, entry.description, entry.commodities)


@functools.lru_cache(maxsize=4096)
def _cached_terms(title: str, description: str, commodities: tuple[str, ...]) -> _Terms:
    return _entry_terms(
        Entry(
            key="", bso="", theme="", title=title, description=description, commodities=commodities
        )
    )


def _aligned(first: _Terms, second: _Terms) -> dict[str, str]:
    """Map keys of `first` that `second` lacks onto a key of `second` one typo away.

    Only Latin words of 5 letters or more that start with the same letter are paired,
    within `typo_limit`, so "warehous" meets "warehouse" but "seed" never meets "need".
    """
    missing = [key for key in second.weights if key not in first.weights]
    renamed: dict[str, str] = {}
    for key in first.weights:
        if key in second.weights:
            continue
        if key.startswith("c:"):
            family = _family_key(key, second)
            if family is not None:
                renamed[key] = family
            continue
        if len(key) < 5 or not key.isascii():
            continue
        limit = typo_limit(key)
        options = [other for other in missing if other[:1] == key[:1] and len(other) >= 5]
        if not limit or not options:
            continue
        found = process.extractOne(key, options, scorer=OSA.distance, score_cutoff=limit)
        if found is not None:
            renamed[key] = found[0]
    return renamed


def _family_key(key: str, other: _Terms) -> str | None:
    """Find the commodity key of `other` that names the family of `key` ("c:millets"
    for "c:finger millet") or a member of the family `key` names; None if none does."""
    commodity = key[2:]
    group = _GROUP_OF.get(commodity)
    if group is not None and f"c:{group}" in other.weights:
        return f"c:{group}"
    for member in COMMODITY_GROUPS.get(commodity, ()):
        if f"c:{member}" in other.weights:
            return f"c:{member}"
    return None


def _similarity(first: _Terms, second: _Terms, weights: TermWeights) -> tuple[float, list[str]]:
    """Return the cosine similarity of the two weighted key sets, and the shared keys,
    weightiest first."""
    renamed = _aligned(first, second)
    left: dict[str, float] = {}
    for key, weight in first.weights.items():
        target = renamed.get(key, key)
        left[target] = max(left.get(target, 0.0), weight)
    right = second.weights

    def norm(vector: Mapping[str, float]) -> float:
        return math.sqrt(sum((value * weights.idf(key)) ** 2 for key, value in vector.items()))

    products = {
        key: value * right[key] * weights.idf(key) ** 2
        for key, value in left.items()
        if key in right
    }
    denominator = norm(left) * norm(right)
    if denominator == 0:
        return 0.0, []
    shared = sorted(products, key=lambda key: (-products[key], key))
    return sum(products.values()) / denominator, shared


# --- Asks against gives ---------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """An ask or a give reduced to what the matching rules compare."""

    key: Hashable
    bso: Hashable
    # A theme's key or id, compared for equality only.
    theme: str
    title: str
    description: str = ""
    commodities: tuple[str, ...] = ()


@dataclass(frozen=True)
class PairSuggestion:
    """A give that may answer an ask, with why."""

    ask: Hashable
    give: Hashable
    # 0-1; PAIR_THRESHOLD and above are shown.
    score: float
    # Reason codes. Always one of same_theme and other_theme. commodity: both name a
    # commodity in common, or one names the other's family (millets for ragi).
    # other_commodity: both name commodities, none in common. similar_text: the texts
    # share enough words or meanings, across English and Hindi.
    reasons: tuple[str, ...]
    # The words or commodities both mention, for the reason shown to the facilitator:
    # shared commodities first, then the weightiest shared words as the give writes
    # them, at most three.
    shared: tuple[str, ...] = ()


# How the pair score is built: a same theme adds THEME_WEIGHT; the text similarity
# (cosine, 0-1) adds up to 1 - THEME_WEIGHT, reaching it at FULL_SIMILARITY, because
# two short texts that answer each other rarely share more than half their weighted
# words. Commodities named on both sides with none in common multiply the score by
# OTHER_COMMODITY_FACTOR: a give about grapes seldom answers an ask about chilli.
THEME_WEIGHT = 0.35
FULL_SIMILARITY = 0.5
OTHER_COMMODITY_FACTOR = 0.6
# Text similarity at which the reason similar_text is given.
SIMILAR_TEXT = 0.2
# `suggest_pairs` leaves out a give scoring below this share of the best give's score
# for the same ask: next to a give that plainly answers the ask, one that only shares
# its theme and a few words is noise to the facilitator.
RELATIVE_CUTOFF = 0.65


def text_similarity(first: Entry, second: Entry, weights: TermWeights | None = None) -> float:
    """Measure how alike two entries' texts are, 0-1, in any mix of English and Hindi.

    Words are compared as concepts: commodity names in any listed language, Hindi words
    through `storage/data/hindi_words.csv` and `storage/data/matching_words.csv`,
    English word forms and typos. `weights` (see `term_weights`) makes rare words count
    more; without it every word counts alike.
    """
    value, _ = _similarity(_terms_of(first), _terms_of(second), weights or _UNIFORM)
    return round(value, 4)


def score_pair(ask: Entry, give: Entry, *, weights: TermWeights | None = None) -> PairSuggestion:
    """Score how well `give` answers `ask`.

    `suggest_pairs` passes `weights` from all the asks and gives it compares; alone,
    every word counts alike and scores run a little higher.
    """
    ask_terms = _terms_of(ask)
    give_terms = _terms_of(give)
    similarity, shared_keys = _similarity(ask_terms, give_terms, weights or _UNIFORM)

    reasons: list[str] = []
    score = (1 - THEME_WEIGHT) * min(1.0, similarity / FULL_SIMILARITY)
    if ask.theme == give.theme:
        reasons.append("same_theme")
        score += THEME_WEIGHT
    else:
        reasons.append("other_theme")

    shared_commodities = _shared_commodities(ask_terms.commodities, give_terms.commodities)
    if shared_commodities:
        reasons.append("commodity")
    elif ask_terms.commodities and give_terms.commodities:
        reasons.append("other_commodity")
        score *= OTHER_COMMODITY_FACTOR
    if similarity >= SIMILAR_TEXT:
        reasons.append("similar_text")

    shown = [*shared_commodities]
    for key in shared_keys:
        word = give_terms.surface.get(key, key)
        if not key.startswith("c:") and word not in shown:
            shown.append(word)
    return PairSuggestion(
        ask=ask.key,
        give=give.key,
        score=round(min(score, 1.0), 4),
        reasons=tuple(reasons),
        shared=tuple(shown[:3]),
    )


def _shared_commodities(first: frozenset[str], second: frozenset[str]) -> tuple[str, ...]:
    """Commodities both sides name, counting a family ("millets") as naming its members."""

    common = set(first & second)
    for names, other in ((first, second), (second, first)):
        for name in names:
            group = _GROUP_OF.get(name)
            if group is not None and group in other:
                common.update((name, group))
    return tuple(sorted(common))


def suggest_pairs(
    asks: Iterable[Entry], gives: Iterable[Entry], *, threshold: float = PAIR_THRESHOLD
) -> list[PairSuggestion]:
    """Select the ask-give pairs of different BSOs worth showing, best first.

    A pair is shown when it scores `threshold` or more and at least RELATIVE_CUTOFF
    times the score of the best give for the same ask. Word weights come from the asks
    and gives passed, so pass all open ones at once.
    """
    ask_list = list(asks)
    give_list = list(gives)
    weights = term_weights([*ask_list, *give_list])
    found = [
        score_pair(ask, give, weights=weights)
        for ask in ask_list
        for give in give_list
        if give.bso != ask.bso
    ]
    best: dict[Hashable, float] = {}
    for suggestion in found:
        best[suggestion.ask] = max(best.get(suggestion.ask, 0.0), suggestion.score)
    kept = [
        suggestion
        for suggestion in found
        if suggestion.score >= threshold
        and suggestion.score >= RELATIVE_CUTOFF * best[suggestion.ask]
    ]
    kept.sort(key=lambda suggestion: (-suggestion.score, str(suggestion.ask), str(suggestion.give)))
    return kept


# --- Consolidation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cluster:
    """Similar open asks of one theme. `kind` is common (two or more BSOs: a workshop),
    unique (one BSO, and a give of another answers it: the peer) or gap (no give does:
    an external expert or a webinar)."""

    theme: str
    asks: tuple[Hashable, ...]
    bsos: tuple[Hashable, ...]
    kind: str
    # The best gives for the cluster's asks, best first.
    gives: tuple[PairSuggestion, ...] = field(default=())


def cluster_kind(bsos: Sequence[Hashable], gives: Sequence[PairSuggestion]) -> str:
    """Classify a cluster: common for two or more BSOs, else unique when a give answers
    it, else gap."""
    if len(set(bsos)) >= 2:
        return "common"
    return "unique" if gives else "gap"


def cluster_asks(
    asks: Sequence[Entry], gives: Sequence[Entry], *, threshold: float = PAIR_THRESHOLD
) -> list[Cluster]:
    """Group asks of one theme whose texts are alike, and classify each group.

    Two asks of one theme are alike at a text similarity of CLUSTER_THRESHOLD or more,
    and a cluster is every ask linked to another through such pairs. Clusters keep the
    order of their first ask. `threshold` is the pair score a give needs to count.
    """
    weights = term_weights([*asks, *gives])
    parent = list(range(len(asks)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for first, second in itertools.combinations(range(len(asks)), 2):
        if asks[first].theme != asks[second].theme:
            continue
        if text_similarity(asks[first], asks[second], weights) >= CLUSTER_THRESHOLD:
            parent[max(root(first), root(second))] = min(root(first), root(second))

    groups: dict[int, list[Entry]] = {}
    for index, ask in enumerate(asks):
        groups.setdefault(root(index), []).append(ask)

    suggestions = suggest_pairs(asks, gives, threshold=threshold)
    clusters = []
    for group in groups.values():
        keys = {ask.key for ask in group}
        bsos = tuple(dict.fromkeys(ask.bso for ask in group))
        best = tuple(suggestion for suggestion in suggestions if suggestion.ask in keys)
        clusters.append(
            Cluster(
                theme=group[0].theme,
                asks=tuple(ask.key for ask in group),
                bsos=bsos,
                kind=cluster_kind(bsos, best),
                gives=best,
            )
        )
    return clusters

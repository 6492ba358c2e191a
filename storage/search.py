"""Search the buyer and scheme registries through the `search_terms` word index.

Indexing and query parsing both run in Python (`fold`, `words`, the commodity and
state lists), and lookups match whole terms only. That keeps SQLite and PostgreSQL
results identical, Hindi included, and lets a Devanagari fragment such as "मि" match
nothing instead of every word that contains it.

Lookups rank in memory: the first lookup of a community loads its `search_terms` rows
into an inverted index (`_RegistryIndex`), and each lookup then reads only the
community's `registry_version`, to rebuild a stale index, and the rows of one page.

A query is split into facets. Commodities (any language or spelling), states (names,
abbreviations, Hindi) and buyer types each match their own field, or, with a lower
weight, the same word in an entry's name ("traders" finds "Café Société Traders" of
any type). Any other word matches any field, in its English plural or singular form
too, and a listed Hindi or Marathi word also matches its English equivalents
("गोदाम" finds "warehouse"). An entry must match every facet that matched something
in the community (AND). Its score is the sum of the weights of the fields it matched.
"""

from __future__ import annotations

import weakref
from array import array
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Buyer, Community, Scheme, SearchTerm
from storage.normalize import (
    BUYER_TYPES,
    buyer_type_for_word,
    count_letters,
    english_word_forms,
    fold,
    load_commodities,
    load_hindi_words,
    load_states,
    typo_limit,
    words,
)

# Weight of a match per field. A commodity or the buyer's own state is a stronger
# signal than a word in its notes, so those fields weigh more.
FIELD_WEIGHTS = {
    "buyer": {
        "commodity": 10,
        "state": 6,
        "type": 5,
        "city": 5,
        "region": 4,
        "name": 3,
        "text": 1,
    },
    "scheme": {
        "commodity": 6,
        "state": 6,
        "short_name": 5,
        "theme": 4,
        "name": 3,
        "text": 1,
        "level": 1,
    },
}

# Words that carry no meaning in a lookup. They are neither indexed nor searched.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "in",
        "for",
        "to",
        "from",
        "at",
        "by",
        "with",
        "on",
        "near",
        "who",
        "which",
        "me",
        "my",
        "i",
        "is",
        "are",
        "as",
        "be",
        "it",
        "its",
        "that",
        "this",
        "than",
        "into",
        "show",
        "find",
        "list",
        "all",
        "any",
        "want",
        "need",
        "buyer",
        "buyers",
        "scheme",
        "schemes",
        "के",
        "का",
        "की",
        "में",
        "और",
        "से",
        "को",
        "लिए",
        "है",
        "हैं",
        "या",
        "खरीदार",
        "योजना",
    ]
)

# Score that a facet word found only in an entry's name adds ("traders" in the name of a
# buyer that is not a wholesaler). It is below every facet weight, and a name match adds
# nothing to an entry that matches the facet, so that `exporter mango` lists exporters
# of mango before "Mango Exporter House", a retailer.
NAME_FALLBACK_WEIGHT = 1

# Abbreviations that are also English words. In a query they name a state only when
# typed in capitals ("OR" is Odisha, "or" is a conjunction). Typed in lower case, "or",
# "as" and "an" are stopwords.
_AMBIGUOUS_ABBREVIATIONS = frozenset({"or", "as", "an", "ga", "la"})

# Commodity synonyms too ambiguous to detect in scheme text: "gram" also means village.
_AMBIGUOUS_IN_TEXT = frozenset({"gram"})

# Longest phrase (in words) tried as one commodity, state or buyer type:
# "dadra and nagar haveli and daman and diu" has 8.
_MAX_PHRASE_WORDS = 8

# Maximum length of `search_terms.term`.
_MAX_TERM_LENGTH = 128


# --- Indexing ---------------------------------------------------------------------------


def _text_terms(text: str | None) -> list[str]:
    """Return the folded, indexable words of free text, plus hyphenated words joined.

    "e-NAM" gives "e", "nam" and "enam", so both "enam" and "e-nam" find it.
    """
    if not text:
        return []
    terms: list[str] = []
    for chunk in fold(text).split():
        parts = words(chunk)
        terms.extend(parts)
        if len(parts) > 1:
            terms.append("".join(parts))
    return [t for t in terms if t not in STOPWORDS and len(t) <= _MAX_TERM_LENGTH]


class _TermRows:
    """Collect (term, field) pairs for one entry, keeping the first of each pair."""

    def __init__(self, kind: str) -> None:
        self.weights = FIELD_WEIGHTS[kind]
        self.pairs: dict[tuple[str, str], int] = {}

    def add(self, field_name: str, terms: Iterable[str]) -> None:
        for term in terms:
            if term:
                self.pairs.setdefault((term, field_name), self.weights[field_name])

    def rows(self, community_id: int, kind: str, entity_id: int) -> list[dict[str, Any]]:
        return [
            {
                "community_id": community_id,
                "kind": kind,
                "entity_id": entity_id,
                "term": term,
                "field": field_name,
                "weight": weight,
            }
            for (term, field_name), weight in self.pairs.items()
        ]


def buyer_term_rows(buyer: Buyer | Any) -> list[dict[str, Any]]:
    """Build the `search_terms` rows of one buyer (any object with Buyer's attributes)."""
    terms = _TermRows("buyer")
    terms.add("commodity", (fold(c) for c in buyer.commodities or []))
    if buyer.state:
        terms.add("state", [fold(buyer.state)])
    terms.add("region", (fold(s) for s in buyer.regions_sourced or []))
    if buyer.buyer_type:
        terms.add("type", [fold(buyer.buyer_type)])
    if buyer.city:
        # The whole city as one term serves the city facet; its words serve free text.
        terms.add("city", [fold(buyer.city), *_text_terms(buyer.city)])
    terms.add("name", _text_terms(buyer.name))
    for text in (
        buyer.quality,
        buyer.notes,
        buyer.contact_person,
        buyer.verified_by,
        buyer.payment_terms,
    ):
        terms.add("text", _text_terms(text))
    return terms.rows(buyer.community_id, "buyer", buyer.id)


def scheme_term_rows(scheme: Scheme | Any) -> list[dict[str, Any]]:
    """Build the `search_terms` rows of one scheme (any object with Scheme's attributes).

    Commodities named anywhere in the scheme's text ("ragi", "millets") are indexed as
    canonical commodities, so a search for "nachni" finds a ragi scheme.
    """
    terms = _TermRows("scheme")
    commodities = load_commodities()
    free_text = [
        scheme.name,
        scheme.short_name,
        scheme.theme,
        scheme.benefit,
        scheme.eligibility,
        scheme.department,
    ]
    found: list[str] = []
    for text in free_text:
        found.extend(_commodities_in(text, commodities))
    terms.add("commodity", found)
    if scheme.state:
        terms.add("state", [fold(scheme.state)])
    if scheme.level:
        terms.add("level", [fold(scheme.level)])
    terms.add("short_name", _text_terms(scheme.short_name))
    if scheme.theme:
        terms.add("theme", [fold(scheme.theme), *_text_terms(scheme.theme)])
    terms.add("name", _text_terms(scheme.name))
    for text in (scheme.benefit, scheme.eligibility, scheme.department, scheme.documents):
        terms.add("text", _text_terms(text))
    return terms.rows(scheme.community_id, "scheme", scheme.id)


def _commodities_in(text: str | None, commodities: Any) -> list[str]:
    if not text:
        return []
    tokens = words(fold(text))
    found = []
    for start in range(len(tokens)):
        for size in (3, 2, 1):
            phrase = " ".join(tokens[start : start + size])
            if len(tokens) - start < size or phrase in _AMBIGUOUS_IN_TEXT:
                continue
            canonical = commodities.canonical(phrase)
            if canonical:
                found.append(canonical)
                break
    return found


# --- In-memory index --------------------------------------------------------------------


@dataclass(frozen=True)
class _Vocabulary:
    # Every indexed term of the community and kind.
    terms: Collection[str]
    # Single-word terms long enough for typo matching, sorted so ties resolve alike.
    typo_candidates: tuple[str, ...]
    # Folded buyer city -> canonical states of the buyers there, for "in or around".
    city_states: dict[str, tuple[str, ...]] = field(default_factory=dict)


# A posting that contains at least this share of a registry's entries is stored as a bitmap,
# which then takes no more memory than an array of 4-byte ranks (size / 8 bytes).
_BITMAP_MIN_SHARE = 1 / 32


@dataclass(frozen=True, eq=False)
class _Posting:
    """The entries that have one term in one field, as ranks (see `_RegistryIndex`).

    Few entries are kept as an ascending array of ranks, many as a bitmap: an int whose
    bit r is set when the entry of rank r has the term. Bitmaps let a lookup intersect
    and score tens of thousands of entries with a few big-integer operations.
    """

    field: str
    weight: int
    count: int
    entries: array[int] | int


@dataclass(frozen=True)
class _RegistryIndex:
    """The `search_terms` rows of one community and kind, held in memory.

    An entry is identified by its rank: its position when all entries are sorted by
    `name_key` (code point order, as SQLite and PostgreSQL's "C" collation compare),
    then id. Sorting ranks therefore sorts by name.
    """

    # `Community.registry_version` read before the rows were loaded.
    version: int
    # Rank -> entity id.
    entity_ids: array[int]
    postings: dict[str, tuple[_Posting, ...]]
    vocabulary: _Vocabulary


# Per database engine, then per (community_id, kind). Weak keys let the cache go with
# the engine. A lookup compares the stored version with the community's current
# `registry_version`, so an import committed by another process is seen too.
_indexes: weakref.WeakKeyDictionary[Engine, dict[tuple[int, str], _RegistryIndex]] = (
    weakref.WeakKeyDictionary()
)


def invalidate_vocabulary(session: AsyncSession, community_id: int) -> None:
    """Drop the cached search index and vocabulary of one community in this process.

    `storage.registries` calls it when a transaction that changed a registry ends, so
    an index built from uncommitted rows is never reused after a rollback.
    """
    cache = _indexes.get(_engine_of(session))
    if cache is not None:
        for kind in FIELD_WEIGHTS:
            cache.pop((community_id, kind), None)


def _engine_of(session: AsyncSession) -> Engine:
    # A session bound to a connection reports the connection; the cache is per engine.
    return session.get_bind().engine


async def _registry_index(
    session: AsyncSession, model: type[Buyer] | type[Scheme], kind: str, community_id: int
) -> _RegistryIndex:
    """Return the cached index of one community and kind, rebuilt if the registry changed."""
    version = await session.scalar(
        select(Community.registry_version).where(Community.id == community_id)
    )
    # A missing community has no entries, and -1 never equals a stored version.
    version = -1 if version is None else version
    cache = _indexes.setdefault(_engine_of(session), {})
    cached = cache.get((community_id, kind))
    if cached is not None and cached.version == version:
        return cached
    # NOTE: lookups that miss the cache at the same time each build their own copy.
    index = await _load_index(session, model, kind, community_id, version)
    cache[(community_id, kind)] = index
    return index


async def _load_index(
    session: AsyncSession,
    model: type[Buyer] | type[Scheme],
    kind: str,
    community_id: int,
    version: int,
) -> _RegistryIndex:
    """Read the community's entries and `search_terms` rows into a `_RegistryIndex`.

    `version` must be read before this runs. A registry change committed in between
    then leaves the index newer than its version, and the next lookup rebuilds it.
    """
    columns = [model.id, model.name_key]
    if model is Buyer:
        columns += [Buyer.city, Buyer.state]
    rows = await session.execute(select(*columns).where(model.community_id == community_id))
    entities = sorted(rows.all(), key=lambda row: (row.name_key, row.id))
    entity_ids = array("i", (row.id for row in entities))
    rank_of = {entity_id: rank for rank, entity_id in enumerate(entity_ids)}

    city_states: dict[str, set[str]] = {}
    if model is Buyer:
        for row in entities:
            if row.city and row.state:
                city_states.setdefault(fold(row.city), set()).add(row.state)

    # One row per (term, field, weight) with its entity ids, so that millions of index
    # rows cross the driver as a few thousand. The weight follows from the field, but it
    # is read from the rows so that scores equal the stored weights.
    ids_column: Any
    if session.get_bind().dialect.name == "postgresql":
        ids_column = func.array_agg(SearchTerm.entity_id)
    else:
        ids_column = func.group_concat(SearchTerm.entity_id)
    groups = await session.execute(
        select(SearchTerm.term, SearchTerm.field, SearchTerm.weight, ids_column)
        .where(SearchTerm.community_id == community_id, SearchTerm.kind == kind)
        .group_by(SearchTerm.term, SearchTerm.field, SearchTerm.weight)
    )
    collected: dict[str, list[_Posting]] = {}
    for term, field_name, weight, ids in groups:
        ranks = _ranks_of(ids, rank_of)
        entries: array[int] | int
        if len(ranks) >= _BITMAP_MIN_SHARE * len(entity_ids):
            entries = _bitmap_of(ranks)
        else:
            entries = array("i", ranks)
        posting = _Posting(field_name, weight, len(ranks), entries)
        collected.setdefault(term, []).append(posting)
    postings = {term: tuple(found) for term, found in collected.items()}
    terms = postings.keys()
    vocabulary = _Vocabulary(
        terms=terms,
        typo_candidates=tuple(sorted(t for t in terms if " " not in t and count_letters(t) >= 4)),
        city_states={city: tuple(sorted(states)) for city, states in city_states.items()},
    )
    return _RegistryIndex(version, entity_ids, postings, vocabulary)


def _ranks_of(ids: Sequence[int] | str, rank_of: dict[int, int]) -> list[int]:
    """Map aggregated entity ids (SQLite: "3,1,2", asyncpg: a list) to ascending ranks."""
    entity_ids = map(int, ids.split(",")) if isinstance(ids, str) else ids
    ranks = [rank for rank in map(rank_of.get, entity_ids) if rank is not None]
    ranks.sort()
    return ranks


def _bitmap_of(ranks: Sequence[int]) -> int:
    """Return the int whose set bits are the given ascending ranks."""
    if not ranks:
        return 0
    buffer = bytearray(ranks[-1] // 8 + 1)
    for rank in ranks:
        buffer[rank >> 3] |= 1 << (rank & 7)
    return int.from_bytes(buffer, "little")


def _set_bits(bitmap: int, skip: int, count: int) -> list[int]:
    """Return the positions of up to `count` set bits of `bitmap`, ascending, after `skip`."""
    if skip:
        # Find the lowest position below which `skip` bits are set, by binary search.
        low, high = 0, bitmap.bit_length()
        while low < high:
            middle = (low + high) // 2
            if (bitmap & ((1 << middle) - 1)).bit_count() >= skip:
                high = middle
            else:
                low = middle + 1
        bitmap = bitmap >> low << low
    positions: list[int] = []
    while bitmap and len(positions) < count:
        lowest = bitmap & -bitmap
        positions.append(lowest.bit_length() - 1)
        bitmap ^= lowest
    return positions


# --- Query parsing ----------------------------------------------------------------------


@dataclass(frozen=True)
class QueryTerm:
    """How one word or phrase of a query was understood."""

    word: str  # as typed, folded
    facet: str  # commodity, state, type, city or text
    value: str  # canonical commodity, state or type, or the matched city or text term
    typo: bool = False
    # For a city: the states of the buyers there; buyers in or sourcing from them match too.
    around: tuple[str, ...] = ()

    def describe(self) -> str:
        """Return e.g. "kanda → onion", "tumeric → turmeric (typo)" or "pune (or around, in Maharashtra)"."""
        text = self.word
        if fold(self.value) != self.word or self.typo:
            text += f" → {self.value}"
        if self.typo:
            text += " (typo)"
        if self.around:
            text += f" (or around, in {', '.join(self.around)})"
        return text


@dataclass(frozen=True)
class _Alternative:
    term: str
    # None matches the term in any field.
    fields: tuple[str, ...] | None
    # A fallback (a facet word in a name) adds only NAME_FALLBACK_WEIGHT, and only to
    # entries that no other alternative of its group matches.
    fallback: bool = False


@dataclass
class _Group:
    understood: QueryTerm
    alternatives: list[_Alternative]


@dataclass
class SearchResult:
    """One page of search results with how the query was understood."""

    items: list[Any]  # Buyer or Scheme objects, best first
    total: int
    query_terms: list[QueryTerm] = field(default_factory=list)
    unmatched_words: list[str] = field(default_factory=list)
    offset: int = 0
    limit: int = 5


def _facet_for_phrase(phrase: str, typed: str, kind: str) -> tuple[str, str] | None:
    """Return (facet, canonical value) when a phrase names a commodity, state or type."""
    commodity = load_commodities().canonical(phrase)
    if commodity:
        return "commodity", commodity
    states = load_states()
    if " " in phrase or len(phrase) > 2:
        state = states.name_keys().get(phrase)
    else:
        state = None
        abbreviation = states.abbreviations.get(phrase)
        if abbreviation and (phrase not in _AMBIGUOUS_ABBREVIATIONS or typed.isupper()):
            state = abbreviation
    if state:
        return "state", state
    if kind == "buyer":
        buyer_type = buyer_type_for_word(phrase)
        if buyer_type and buyer_type != "other":
            return "type", buyer_type
    return None


def _name_alternatives(kind: str, phrase: str) -> list[_Alternative]:
    """Match a facet word in entry names too, so a buyer's own name finds it.

    Names are indexed word by word, so a phrase of several words ("modern trade") gets
    no name alternative.
    """
    if " " in phrase:
        return []
    fields = ("name",) if kind == "buyer" else ("name", "short_name")
    return [_Alternative(form, fields, fallback=True) for form in english_word_forms(phrase)]


def _facet_alternatives(kind: str, facet: str, value: str) -> list[_Alternative]:
    term = fold(value)
    if facet == "commodity":
        return [_Alternative(term, ("commodity",))]
    if facet == "state":
        if kind == "buyer":
            return [_Alternative(term, ("state", "region"))]
        # Central schemes apply in every state, so they match any state, ranked lower.
        return [_Alternative(term, ("state",)), _Alternative("central", ("level",))]
    return [_Alternative(term, ("type",))]


def _typo_vocabulary(kind: str) -> dict[str, tuple[str, str]]:
    """Map facet spellings of 4+ letters (single words) to (facet, canonical value)."""
    spellings: dict[str, tuple[str, str]] = {}
    for synonym, canonical in load_commodities().vocabulary().items():
        spellings.setdefault(synonym, ("commodity", canonical))
    for key, state in load_states().name_keys().items():
        spellings.setdefault(key, ("state", state))
    if kind == "buyer":
        for buyer_type in BUYER_TYPES:
            if buyer_type != "other":
                spellings.setdefault(buyer_type.replace("-", ""), ("type", buyer_type))
    return {k: v for k, v in spellings.items() if count_letters(k) >= 4}


_typo_vocabularies: dict[str, tuple[dict[str, tuple[str, str]], list[str]]] = {}


def _facet_typo(word: str, kind: str) -> tuple[tuple[str, str], int] | None:
    if kind not in _typo_vocabularies:
        spellings = _typo_vocabulary(kind)
        _typo_vocabularies[kind] = (spellings, sorted(spellings))
    spellings, keys = _typo_vocabularies[kind]
    match = process.extractOne(word, keys, scorer=OSA.distance, score_cutoff=typo_limit(word))
    if match is None:
        return None
    return spellings[match[0]], int(match[1])


def _parse_query(query: str, kind: str, vocabulary: _Vocabulary) -> tuple[list[_Group], list[str]]:
    """Split a query into facet groups; return them and the words that matched nothing."""
    typed_tokens = words(query)
    tokens = [fold(t) for t in typed_tokens]
    groups: list[_Group] = []
    unmatched: list[str] = []
    seen: set[tuple[_Alternative, ...]] = set()

    def add(group: _Group, facet_alternatives: list[_Alternative] | None = None) -> None:
        # Two words for the same facet value ("onion kanda") make one group.
        key = tuple(group.alternatives if facet_alternatives is None else facet_alternatives)
        if key not in seen:
            seen.add(key)
            groups.append(group)

    position = 0
    while position < len(tokens):
        matched = False
        for size in range(min(_MAX_PHRASE_WORDS, len(tokens) - position), 0, -1):
            phrase = " ".join(tokens[position : position + size])
            typed = " ".join(typed_tokens[position : position + size])
            found = _facet_for_phrase(phrase, typed, kind)
            if found:
                facet, value = found
                alternatives = _facet_alternatives(kind, facet, value)
                add(
                    _Group(
                        QueryTerm(phrase, facet, value),
                        alternatives + _name_alternatives(kind, phrase),
                    ),
                    alternatives,
                )
                position += size
                matched = True
                break
            city = _city_for_phrase(phrase, vocabulary)
            if city:
                group = _city_group(phrase, city, vocabulary)
                facet_part = list(group.alternatives)
                group.alternatives += _name_alternatives(kind, phrase)
                add(group, facet_part)
                position += size
                matched = True
                break
        if matched:
            continue

        word = tokens[position]
        position += 1
        if word in STOPWORDS:
            continue
        text_group = _text_group(word, vocabulary) or _typo_group(word, kind, vocabulary)
        if text_group is None:
            unmatched.append(word)
        else:
            add(text_group)
    return groups, unmatched


def _city_for_phrase(phrase: str, vocabulary: _Vocabulary) -> str | None:
    """Return the indexed city that a phrase names, in English or Devanagari, else None."""
    if phrase in vocabulary.city_states:
        return phrase
    city = load_hindi_words().city(phrase)
    return city if city in vocabulary.city_states else None


def _text_group(word: str, vocabulary: _Vocabulary) -> _Group | None:
    """Match a free-text word exactly, with its plural or singular and English equivalents.

    "warehouse" also matches "warehouses", and "गोदाम" matches "warehouse" and
    "warehouses" as well as "गोदाम" itself. Returns None when no form is indexed.
    """
    english = load_hindi_words().keyword(word)
    candidates = [*english_word_forms(word)]
    for equivalent in english:
        candidates += english_word_forms(equivalent)
    terms = [term for term in dict.fromkeys(candidates) if term in vocabulary.terms]
    if not terms:
        return None
    value = english[0] if english else word
    return _Group(QueryTerm(word, "text", value), [_Alternative(term, None) for term in terms])


def _typo_group(word: str, kind: str, vocabulary: _Vocabulary) -> _Group | None:
    """Correct a word of 4+ letters to the closest facet spelling or indexed term."""
    limit = typo_limit(word)
    if limit == 0:
        return None
    facet_match = _facet_typo(word, kind)
    text_match = process.extractOne(
        word, vocabulary.typo_candidates, scorer=OSA.distance, score_cutoff=limit
    )
    # A facet spelling wins ties: "tumeric" is turmeric even if "tumeric" were a name.
    if facet_match and (text_match is None or facet_match[1] <= text_match[1]):
        (facet, value), _distance = facet_match
        return _Group(
            QueryTerm(word, facet, value, typo=True), _facet_alternatives(kind, facet, value)
        )
    if text_match:
        term = text_match[0]
        if term in vocabulary.city_states:
            return _city_group(word, term, vocabulary, typo=True)
        return _Group(QueryTerm(word, "text", term, typo=True), [_Alternative(term, None)])
    return None


def _city_group(word: str, city: str, vocabulary: _Vocabulary, *, typo: bool = False) -> _Group:
    """Match buyers in a city and, ranked lower, buyers in or sourcing from its state.

    A buyer in the city matches both its city and state terms, so it outscores a buyer
    elsewhere in the state, which outscores one that only sources from the state.
    """
    states = vocabulary.city_states[city]
    alternatives = [_Alternative(city, ("city",))]
    alternatives += [_Alternative(fold(state), ("state", "region")) for state in states]
    understood = QueryTerm(word, "city", city, typo=typo, around=states)
    return _Group(understood, alternatives)


# --- Ranking ----------------------------------------------------------------------------


def _group_postings(
    index: _RegistryIndex, group: _Group, *, fallback: bool | None = None
) -> list[_Posting]:
    """Return the postings that the group's alternatives match.

    `fallback` True or False keeps only the fallback or only the other alternatives.
    """
    found: list[_Posting] = []
    for alternative in group.alternatives:
        if fallback is not None and alternative.fallback != fallback:
            continue
        for posting in index.postings.get(alternative.term, ()):
            fields = alternative.fields
            if (fields is None or posting.field in fields) and posting not in found:
                found.append(posting)
    return found


def _rank_page(
    index: _RegistryIndex, groups: list[_Group], offset: int, limit: int
) -> tuple[list[int], int]:
    """Return the ranks of one page of matching entries, best first, and their number.

    An entry matches when every group matches one of its (term, field) rows. Its score
    is the sum of the weights of its distinct rows that any group's non-fallback
    alternatives match, so a row that two groups match counts once and a term found in
    two fields counts both weights. Each group that the entry matches only through
    fallback alternatives adds NAME_FALLBACK_WEIGHT. Entries are ordered by score,
    highest first, then by rank (name_key, then id).
    """
    per_group = [_group_postings(index, group) for group in groups]
    if not all(per_group):
        return [], 0
    matched: list[_Posting] = []
    for postings in per_group:
        matched += [posting for posting in postings if posting not in matched]

    if len(matched) == 1:
        # Every entry in the only posting has the same score.
        posting = matched[0]
        if isinstance(posting.entries, int):
            return _set_bits(posting.entries, offset, limit), posting.count
        return list(posting.entries[offset : offset + limit]), posting.count

    bitmaps = {
        posting: posting.entries
        if isinstance(posting.entries, int)
        else _bitmap_of(posting.entries)
        for posting in matched
    }
    # AND across groups of the OR within each group.
    candidates = -1
    for postings in per_group:
        in_group = 0
        for posting in postings:
            in_group |= bitmaps[posting]
        candidates &= in_group
        if not candidates:
            return [], 0

    primary: list[_Posting] = []
    weighted: list[tuple[int, int]] = []
    for group in groups:
        in_primary = 0
        for posting in _group_postings(index, group, fallback=False):
            in_primary |= bitmaps[posting]
            if posting not in primary:
                primary.append(posting)
        only_fallback = 0
        for posting in _group_postings(index, group, fallback=True):
            only_fallback |= bitmaps[posting]
        only_fallback &= ~in_primary
        if only_fallback:
            weighted.append((only_fallback, NAME_FALLBACK_WEIGHT))
    weighted += [(bitmaps[posting], posting.weight) for posting in primary]
    tiers = _score_tiers(candidates, weighted)
    page: list[int] = []
    skip = offset
    for score in sorted(tiers, reverse=True):
        if len(page) >= limit:
            break
        tier = tiers[score]
        size = tier.bit_count()
        if skip >= size:
            skip -= size
            continue
        page += _set_bits(tier, skip, limit - len(page))
        skip = 0
    return page, candidates.bit_count()


def _score_tiers(candidates: int, weighted: list[tuple[int, int]]) -> dict[int, int]:
    """Split the candidates bitmap into tiers by score.

    An entry's score is the sum of the weights of the bitmaps that contain it. A tier is
    split only where a bitmap contains part of it, and tiers of equal score merge, so
    the number of tiers stays at the number of distinct scores.
    """
    tiers = {0: candidates}
    for members, weight in weighted:
        split: dict[int, int] = {}
        for score, tier in tiers.items():
            inside = tier & members
            for new_score, part in ((score + weight, inside), (score, tier ^ inside)):
                if part:
                    split[new_score] = split.get(new_score, 0) | part
        tiers = split
    return tiers


async def _search(
    session: AsyncSession,
    model: type[Buyer] | type[Scheme],
    kind: str,
    community_id: int,
    query: str,
    offset: int,
    limit: int,
) -> SearchResult:
    index = await _registry_index(session, model, kind, community_id)
    vocabulary = index.vocabulary
    groups, unmatched = _parse_query(query, kind, vocabulary)

    # A group that matches no entry of this community (no goat buyer, say) is dropped
    # from the AND so that "goat onion" still lists onion buyers, and its word is reported.
    live: list[_Group] = []
    for group in groups:
        if _group_postings(index, group):
            live.append(group)
        else:
            unmatched.append(group.understood.word)
    query_terms = [group.understood for group in groups]
    result = SearchResult(
        items=[],
        total=0,
        query_terms=query_terms,
        unmatched_words=unmatched,
        offset=offset,
        limit=limit,
    )
    if not live:
        return result

    ranks, result.total = _rank_page(index, live, offset, limit)
    if ranks:
        ids = [index.entity_ids[rank] for rank in ranks]
        entities: Any = await session.scalars(
            select(model).where(model.community_id == community_id, model.id.in_(ids))
        )
        by_id = {entity.id: entity for entity in entities}
        # An entry deleted since the index was built is left out of the page.
        result.items = [by_id[entity_id] for entity_id in ids if entity_id in by_id]
    return result


async def search_buyers(
    session: AsyncSession, community_id: int, query: str, *, offset: int = 0, limit: int = 5
) -> SearchResult:
    """Search one community's buyers; see the module docstring for how words match."""
    return await _search(session, Buyer, "buyer", community_id, query, offset, limit)


async def search_schemes(
    session: AsyncSession, community_id: int, query: str, *, offset: int = 0, limit: int = 5
) -> SearchResult:
    """Search one community's schemes; a state also matches central schemes, ranked lower."""
    return await _search(session, Scheme, "scheme", community_id, query, offset, limit)

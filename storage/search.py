"""Search the buyer and scheme registries through the `search_terms` word index.

Indexing and query parsing both run in Python (`fold`, `words`, the commodity and
state lists), so the database only compares whole terms for equality. That keeps
SQLite and PostgreSQL results identical, Hindi included, and lets a Devanagari
fragment such as "मि" match nothing instead of every word that contains it.

A query is split into facets. Commodities (any language or spelling), states (names,
abbreviations, Hindi) and buyer types each match their own field; any other word
matches any field. An entry must match every facet that matched something in the
community (AND). Its score is the sum of the weights of the fields it matched.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Buyer, Scheme, SearchTerm
from storage.normalize import (
    BUYER_TYPES,
    buyer_type_for_word,
    count_letters,
    fold,
    load_commodities,
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
        "खरीदार",
        "योजना",
    ]
)

# Abbreviations that are also English words. In a query they name a state only when
# typed in capitals ("OR" is Odisha, "or" is a conjunction).
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


# --- Vocabulary cache -------------------------------------------------------------------


@dataclass(frozen=True)
class _Vocabulary:
    terms: frozenset[str]
    # Single-word terms long enough for typo matching, sorted so ties resolve alike.
    typo_candidates: tuple[str, ...]
    # Folded buyer city -> canonical states of the buyers there, for "in or around".
    city_states: dict[str, tuple[str, ...]] = field(default_factory=dict)


# Per database engine, then per (community_id, kind). Weak keys let the cache go with
# the engine. NOTE: the cache lives in one process; a second process that writes the
# registries does not invalidate it here.
_vocabularies: weakref.WeakKeyDictionary[Engine, dict[tuple[int, str], _Vocabulary]] = (
    weakref.WeakKeyDictionary()
)


def invalidate_vocabulary(session: AsyncSession, community_id: int) -> None:
    """Drop the cached search vocabulary of one community in the session's database."""
    cache = _vocabularies.get(_engine_of(session))
    if cache is not None:
        for kind in FIELD_WEIGHTS:
            cache.pop((community_id, kind), None)


def _engine_of(session: AsyncSession) -> Engine:
    # A session bound to a connection reports the connection; the cache is per engine.
    return session.get_bind().engine


async def _vocabulary(session: AsyncSession, community_id: int, kind: str) -> _Vocabulary:
    cache = _vocabularies.setdefault(_engine_of(session), {})
    cached = cache.get((community_id, kind))
    if cached is not None:
        return cached
    result = await session.scalars(
        select(SearchTerm.term)
        .where(SearchTerm.community_id == community_id, SearchTerm.kind == kind)
        .distinct()
    )
    terms = frozenset(result.all())
    candidates = tuple(sorted(t for t in terms if " " not in t and count_letters(t) >= 4))
    city_states: dict[str, set[str]] = {}
    if kind == "buyer":
        pairs = await session.execute(
            select(Buyer.city, Buyer.state)
            .where(Buyer.community_id == community_id, Buyer.state.is_not(None))
            .distinct()
        )
        for city, state in pairs:
            if city and state:
                city_states.setdefault(fold(city), set()).add(state)
    vocabulary = _Vocabulary(
        terms=terms,
        typo_candidates=candidates,
        city_states={city: tuple(sorted(states)) for city, states in city_states.items()},
    )
    cache[(community_id, kind)] = vocabulary
    return vocabulary


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

    def add(group: _Group) -> None:
        key = tuple(group.alternatives)
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
            if found is None and phrase in vocabulary.city_states:
                add(_city_group(phrase, phrase, vocabulary))
                position += size
                matched = True
                break
            if found:
                facet, value = found
                add(
                    _Group(QueryTerm(phrase, facet, value), _facet_alternatives(kind, facet, value))
                )
                position += size
                matched = True
                break
        if matched:
            continue

        word = tokens[position]
        position += 1
        if word in STOPWORDS:
            continue
        if word in vocabulary.terms:
            add(_Group(QueryTerm(word, "text", word), [_Alternative(word, None)]))
            continue
        group = _typo_group(word, kind, vocabulary)
        if group is None:
            unmatched.append(word)
        else:
            add(group)
    return groups, unmatched


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


# --- Querying ---------------------------------------------------------------------------


def _condition(alternative: _Alternative) -> Any:
    if alternative.fields is None:
        return SearchTerm.term == alternative.term
    if len(alternative.fields) == 1:
        return and_(SearchTerm.term == alternative.term, SearchTerm.field == alternative.fields[0])
    return and_(SearchTerm.term == alternative.term, SearchTerm.field.in_(alternative.fields))


async def _search(
    session: AsyncSession,
    model: type[Buyer] | type[Scheme],
    kind: str,
    community_id: int,
    query: str,
    offset: int,
    limit: int,
) -> SearchResult:
    vocabulary = await _vocabulary(session, community_id, kind)
    groups, unmatched = _parse_query(query, kind, vocabulary)

    # A facet with no indexed term in this community matches nothing; drop it from the
    # AND so that "goat onion" still lists onion buyers, and report the word.
    live: list[_Group] = []
    for group in groups:
        if any(a.term in vocabulary.terms for a in group.alternatives):
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

    conditions = [or_(*(_condition(a) for a in group.alternatives)) for group in live]
    scores = _scores_query(community_id, kind, live, conditions)
    if len(live) == 1:
        await _fetch_by_tiers(session, model, community_id, kind, conditions, scores, result)
    else:
        await _fetch_joined(session, model, community_id, scores, result)
    return result


async def _fetch_joined(
    session: AsyncSession,
    model: type[Buyer] | type[Scheme],
    community_id: int,
    scores: Any,
    result: SearchResult,
) -> None:
    """Fill one page and the total with a single statement that ranks every candidate.

    Used when several groups must all match, which usually leaves few candidates.
    """
    statement = (
        select(model, func.count().over().label("total"))
        .join(scores, model.id == scores.c.entity_id)
        .where(model.community_id == community_id)
        .order_by(scores.c.score.desc(), _sort_name(session, model), model.id)
        .offset(result.offset)
        .limit(result.limit)
    )
    rows = (await session.execute(statement)).all()
    result.items = [row[0] for row in rows]
    if rows:
        result.total = rows[0][1]
    elif result.offset:
        count = select(func.count()).select_from(scores)
        result.total = (await session.execute(count)).scalar_one()


def _sort_name(session: AsyncSession, model: type[Buyer] | type[Scheme]) -> Any:
    # PostgreSQL sorts text by the database's locale unless told otherwise; "C" is code
    # point order, which is how SQLite compares text.
    if session.get_bind().dialect.name == "postgresql":
        return model.name_key.collate("C")
    return model.name_key


async def _fetch_by_tiers(
    session: AsyncSession,
    model: type[Buyer] | type[Scheme],
    community_id: int,
    kind: str,
    conditions: list[Any],
    scores: Any,
    result: SearchResult,
) -> None:
    """Fill one page and the total from a histogram of scores, then one page per tier.

    Used for a single group, whose result can be a large share of the registry: a tier
    of thousands of equal scores is paged without sorting it (see `_fetch_tier`).
    """
    histogram = (
        await session.execute(
            select(scores.c.score, func.count())
            .group_by(scores.c.score)
            .order_by(scores.c.score.desc())
        )
    ).all()
    result.total = sum(count for _score, count in histogram)

    skip = result.offset
    remaining = result.limit
    for score, count in histogram:
        if remaining <= 0:
            break
        if skip >= count:
            skip -= count
            continue
        result.items += await _fetch_tier(
            session, model, community_id, kind, conditions, scores, score, count, skip, remaining
        )
        remaining -= min(count - skip, remaining)
        skip = 0


def _scores_query(community_id: int, kind: str, groups: list[_Group], conditions: list[Any]) -> Any:
    """Build the (entity_id, score) subquery of entries that match every group."""
    all_terms = sorted({a.term for group in groups for a in group.alternatives})
    scores = (
        select(SearchTerm.entity_id.label("entity_id"), func.sum(SearchTerm.weight).label("score"))
        .where(
            SearchTerm.community_id == community_id,
            SearchTerm.kind == kind,
            SearchTerm.term.in_(all_terms),
            or_(*conditions),
        )
        .group_by(SearchTerm.entity_id)
    )
    if len(groups) > 1:
        # One MAX per group is cheaper than COUNT(DISTINCT group number) on both databases.
        scores = scores.having(
            and_(*(func.max(case((condition, 1), else_=0)) == 1 for condition in conditions))
        )
    return scores.subquery()


# A score tier with more entries than this share of the community's size is paged by
# walking the name index and testing each entry, which stops after one page; smaller
# tiers are joined and sorted whole. Measured by bench/lookup.py on SQLite.
_NAME_WALK_MIN_SHARE = 0.01


async def _fetch_tier(
    session: AsyncSession,
    model: type[Buyer] | type[Scheme],
    community_id: int,
    kind: str,
    conditions: list[Any],
    scores: Any,
    score: int,
    count: int,
    skip: int,
    limit: int,
) -> list[Any]:
    """Return one page of the entries whose score is `score`, ordered by name_key, then id."""
    dialect = session.get_bind().dialect.name
    in_community = model.community_id == community_id
    if dialect == "sqlite" and count > _NAME_WALK_MIN_SHARE * await _community_size(
        session, model, community_id
    ):
        # SQLite compares text by code point, as `name_key` is stored in its unique index,
        # so walking that index yields the order without sorting the tier.
        def matches(condition: Any) -> Any:
            return (
                select(SearchTerm.id)
                .where(
                    SearchTerm.community_id == community_id,
                    SearchTerm.kind == kind,
                    SearchTerm.entity_id == model.id,
                    condition,
                )
                .exists()
            )

        entry_score = (
            select(func.sum(SearchTerm.weight))
            .where(
                SearchTerm.community_id == community_id,
                SearchTerm.kind == kind,
                SearchTerm.entity_id == model.id,
                or_(*conditions),
            )
            .scalar_subquery()
        )
        statement = (
            select(model)
            .where(in_community, *(matches(c) for c in conditions), entry_score == score)
            .order_by(model.name_key, model.id)
        )
    else:
        statement = (
            select(model)
            .join(scores, model.id == scores.c.entity_id)
            .where(in_community, scores.c.score == score)
            .order_by(_sort_name(session, model), model.id)
        )
    return list((await session.scalars(statement.offset(skip).limit(limit))).all())


async def _community_size(
    session: AsyncSession, model: type[Buyer] | type[Scheme], community_id: int
) -> int:
    return (
        await session.scalar(
            select(func.count()).select_from(model).where(model.community_id == community_id)
        )
        or 0
    )


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

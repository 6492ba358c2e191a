"""The community's resource list (links and files, such as webinar recordings) and its search.

Search reads every resource of the community and ranks them in Python. The words are
folded with the helpers of `storage.normalize`, so English and Hindi behave alike. Case,
a Hindi nukta and candrabindu do not count, and English plurals match their singular.
A listed Hindi word also finds its English equivalent ("भंडारण" finds "storage"), and a
commodity in any language finds its other names. A typo of one or two letters in a
longer word still matches (see `typo_limit`). Every searched word must match (AND).
NOTE: the whole list is read for each search, which suits the few hundred resources of
a community; a far longer list would need an index like that of `storage.search`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz.distance import OSA
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Resource, Webinar
from storage.normalize import (
    count_letters,
    devanagari_key,
    english_word_forms,
    fold,
    load_commodities,
    load_hindi_words,
    typo_limit,
    words,
)

KINDS = ("link", "file")
# Words that carry no meaning in a search, so they are left out of the query.
STOPWORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "in",
        "for",
        "to",
        "on",
        "with",
        "about",
        "के",
        "का",
        "की",
        "में",
        "और",
        "से",
        "को",
        "लिए",
        "पर",
        "है",
        "हैं",
        "या",
    }
)
# A searched word of at least this many letters also matches words that start with it.
PREFIX_MIN_LETTERS = 4
# Score of a searched word by how it matched. A match in the title counts twice.
EXACT_SCORE = 3
PREFIX_SCORE = 2
TYPO_SCORE = 1


async def save_recording(
    session: AsyncSession,
    webinar: Webinar,
    *,
    kind: str,
    url: str | None,
    extra_urls: Sequence[str] = (),
    source_chat_id: int | None,
    source_message_id: int | None,
    file_name: str | None,
    added_by: int | None,
    now: dt.datetime,
) -> Resource:
    """Add the webinar's recording to the resource list, or replace the one added before.

    `now` is the bot's clock. A new entry is dated with it, and a replaced one keeps
    the date it was first added on.
    """
    if kind not in KINDS:
        raise ValueError(f"a resource kind is one of {KINDS}, not {kind!r}")
    if extra_urls and url is None:
        raise ValueError("extra_urls need a first link in url")
    resource = await session.scalar(
        select(Resource).where(
            Resource.community_id == webinar.community_id, Resource.webinar_id == webinar.id
        )
    )
    if resource is None:
        resource = Resource(
            community_id=webinar.community_id, webinar_id=webinar.id, created_at=now
        )
        session.add(resource)
    resource.updated_at = now
    resource.title = webinar.title
    resource.description = webinar.description
    resource.kind = kind
    resource.url = url
    resource.extra_urls = list(extra_urls)
    resource.source_chat_id = source_chat_id
    resource.source_message_id = source_message_id
    resource.file_name = file_name
    resource.added_by = added_by
    await session.flush()
    return resource


async def get_resource(
    session: AsyncSession, community_id: int, resource_id: int
) -> Resource | None:
    """Return the resource with this id in this community, or None (another community's too)."""
    resource = await session.get(Resource, resource_id)
    if resource is None or resource.community_id != community_id:
        return None
    return resource


async def latest_resources(
    session: AsyncSession, community_id: int, *, limit: int
) -> list[Resource]:
    return list(
        (
            await session.scalars(
                select(Resource)
                .where(Resource.community_id == community_id)
                .order_by(Resource.created_at.desc(), Resource.id.desc())
                .limit(limit)
            )
        ).all()
    )


async def count_resources(session: AsyncSession, community_id: int) -> int:
    found = await session.scalar(
        select(func.count(Resource.id)).where(Resource.community_id == community_id)
    )
    return int(found or 0)


def query_words(query: str) -> list[str]:
    """Return the folded words of a search, without stopwords, each once."""
    found = [word for word in words(fold(query)) if word not in STOPWORDS]
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class _Terms:
    """The folded words of a resource's title and of the rest of its text."""

    title: frozenset[str]
    other: frozenset[str]
    # Every word in order, with a space before and after, for phrases such as "green gram".
    spaced: str


def _terms_of(resource: Resource) -> _Terms:
    title = [devanagari_key(word) for word in words(fold(resource.title))]
    other_text = " ".join(part or "" for part in (resource.description, resource.file_name))
    other = [devanagari_key(word) for word in words(fold(other_text))]
    return _Terms(frozenset(title), frozenset(other), f" {' '.join(title + other)} ")


def _alternatives(word: str) -> set[str]:
    """Return the spellings a searched word matches: plurals, English and commodity names."""
    found = {devanagari_key(form) for form in english_word_forms(word)}
    for equivalent in load_hindi_words().keyword(word):
        found.add(devanagari_key(equivalent))
    commodities = load_commodities()
    canonical = commodities.canonical(word)
    if canonical is not None:
        found.update(devanagari_key(name) for name in commodities.synonyms(canonical))
    return found


def _word_score(word: str, alternatives: set[str], terms: frozenset[str], spaced: str) -> int:
    """Score how one searched word matches a set of words: exact, prefix, typo, or 0."""
    for alternative in alternatives:
        if alternative in terms or (" " in alternative and f" {alternative} " in spaced):
            return EXACT_SCORE
    key = devanagari_key(word)
    if count_letters(key) >= PREFIX_MIN_LETTERS and any(term.startswith(key) for term in terms):
        return PREFIX_SCORE
    limit = typo_limit(key)
    if limit and any(OSA.distance(key, term, score_cutoff=limit) <= limit for term in terms):
        return TYPO_SCORE
    return 0


def score(resource: Resource, searched: Sequence[str]) -> int:
    """Return how well the resource matches the searched words, or 0 when one of them fails."""
    terms = _terms_of(resource)
    total = 0
    for word in searched:
        alternatives = _alternatives(word)
        in_title = _word_score(word, alternatives, terms.title, terms.spaced)
        in_other = _word_score(word, alternatives, terms.other, terms.spaced)
        best = max(2 * in_title, in_other)
        if best == 0:
            return 0
        total += best
    return total


async def search_resources(
    session: AsyncSession, community_id: int, query: str, *, limit: int
) -> list[Resource]:
    """Return the community's resources matching every word of `query`, best first.

    Equal scores list the newer resource first. A query of stopwords only finds nothing.
    """
    searched = query_words(query)
    if not searched:
        return []
    resources = (
        await session.scalars(select(Resource).where(Resource.community_id == community_id))
    ).all()
    ranked: list[tuple[int, dt.datetime, int, Resource]] = []
    for resource in resources:
        points = score(resource, searched)
        if points:
            ranked.append((points, resource.created_at, resource.id, resource))
    ranked.sort(key=lambda item: (item[0], item[1], item[2]), reverse=True)
    return [item[3] for item in ranked[:limit]]

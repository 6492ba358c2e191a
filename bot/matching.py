"""Matching rules, free of Telegram and the database: requirements against supply,
asks against gives, and open asks into clusters.

Callers turn rows into the small frozen records below, so the same functions serve the
bot, the tests and `bench/matching.py`. Commodities are canonical English names from
the synonym list (`storage.normalize.load_commodities`); months are numbers 1-12.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from storage.normalize import fold, words

# How many BSOs a new requirement is sent to.
DEFAULT_SUPPLIERS = 5
# The lowest ask-give score (0-1) shown to the facilitator as a suggestion.
PAIR_THRESHOLD = 0.5

FREQUENCIES = ("one_off", "weekly", "seasonal")


# --- Requirements against supply ------------------------------------------------------------


@dataclass(frozen=True)
class Supply:
    """What one BSO can supply of one commodity: a supply profile, or a give naming it."""

    # Opaque to the matcher, such as "profile:12" or "give:7".
    key: str
    bso: Hashable
    commodity: str
    states: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    # Harvest months; empty when unknown (a give rarely says), which matches any window
    # but ranks below a known overlap.
    months: frozenset[int] = frozenset()
    # Typical volume per season in tonnes; None when unknown.
    tonnes: float | None = None


@dataclass(frozen=True)
class Need:
    """A requirement as the matcher sees it."""

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
    score: float
    # The window months this BSO harvests in (all of them when its months are unknown).
    months: tuple[int, ...]
    # What its matching supply produces per season in tonnes; None when unknown.
    tonnes: float | None
    # Reason codes, rendered by the prompts: same_state, neighbour_state, other_state,
    # whole_window, part_window, months_unknown, enough_volume, from_give.
    reasons: tuple[str, ...]
    supplies: tuple[str, ...]


@dataclass(frozen=True)
class Part:
    """What one BSO of a combination supplies: some months of the window, some tonnes."""

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
    """The months from `start` to `end`, in order, each once (at most twelve)."""
    months: list[int] = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month) and len(months) < 12:
        months.append(month)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(months)


def total_tonnes(quantity_tonnes: float, frequency: str, start: dt.date, end: dt.date) -> float:
    """The tonnes wanted over the whole window: a weekly quantity times the weeks in it."""
    if frequency == "weekly":
        weeks = max(1, ((end - start).days + 1 + 6) // 7)
        return quantity_tonnes * weeks
    return quantity_tonnes


def rank_suppliers(
    need: Need, supplies: Iterable[Supply], *, limit: int = DEFAULT_SUPPLIERS
) -> list[SupplierMatch]:
    """The BSOs whose supply of the need's commodity overlaps its window, best first."""
    by_bso: dict[Hashable, list[Supply]] = {}
    for supply in supplies:
        if supply.commodity != need.commodity:
            continue
        if supply.months and not supply.months.intersection(need.months):
            continue
        by_bso.setdefault(supply.bso, []).append(supply)
    matches = [_bso_match(need, bso, found) for bso, found in by_bso.items()]
    matches.sort(key=lambda match: -match.score)
    return matches[:limit]


def _bso_match(need: Need, bso: Hashable, found: Sequence[Supply]) -> SupplierMatch:
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
    score = len(months) / max(1, len(need.months))
    reasons.append("whole_window" if len(months) == len(need.months) else "part_window")
    if not known:
        reasons.append("months_unknown")
        score *= 0.5
    if need.state and need.state in states:
        reasons.append("same_state")
        score += 0.5
    elif states:
        reasons.append("other_state")
    if tonnes is not None and tonnes >= need.tonnes:
        reasons.append("enough_volume")
        score += 0.25
    if all(supply.key.startswith("give:") for supply in found):
        reasons.append("from_give")
    return SupplierMatch(
        bso=bso,
        score=round(score, 4),
        months=months,
        tonnes=tonnes,
        reasons=tuple(reasons),
        supplies=tuple(supply.key for supply in found),
    )


def combine(need: Need, matches: Sequence[SupplierMatch]) -> Combination | None:
    """The fewest BSOs that together cover the window and the volume, greedily chosen.

    None when one BSO covers both on its own, or when no BSO adds anything.
    """
    for match in matches:
        if len(match.months) == len(need.months) and (match.tonnes or 0) >= need.tonnes:
            return None
    chosen: list[SupplierMatch] = []
    covered: set[int] = set()
    tonnes = 0.0
    remaining = list(matches)
    while remaining and (len(covered) < len(need.months) or tonnes < need.tonnes):
        best = max(
            remaining,
            key=lambda match: (len(set(match.months) - covered), match.tonnes or 0, match.score),
        )
        if not set(best.months) - covered and tonnes >= need.tonnes:
            break
        remaining.remove(best)
        chosen.append(best)
        covered.update(best.months)
        tonnes += best.tonnes or 0
    if len(chosen) < 2:
        return None
    parts = tuple(Part(bso=match.bso, months=match.months, tonnes=match.tonnes) for match in chosen)
    return Combination(
        parts=parts,
        covers_months=len(covered) == len(need.months),
        covers_tonnes=tonnes >= need.tonnes,
    )


# --- Asks against gives ---------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """An ask or a give as the matcher sees it."""

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
    # Reason codes: same_theme, other_theme, commodity, similar_text.
    reasons: tuple[str, ...]
    # The words or commodities both mention, for the reason shown to the facilitator.
    shared: tuple[str, ...] = ()


def score_pair(ask: Entry, give: Entry) -> PairSuggestion:
    """How well `give` answers `ask`."""
    ask_text = fold(f"{ask.title} {ask.description}")
    give_text = fold(f"{give.title} {give.description}")
    similarity = fuzz.token_set_ratio(ask_text, give_text) / 100
    reasons: list[str] = []
    score = similarity * 0.6
    if ask.theme == give.theme:
        reasons.append("same_theme")
        score += 0.3
    else:
        reasons.append("other_theme")
    shared_commodities = tuple(c for c in ask.commodities if c in give.commodities)
    if shared_commodities:
        reasons.append("commodity")
        score += 0.1
    shared_words = tuple(
        sorted(set(words(ask_text)) & set(words(give_text)), key=lambda w: (-len(w), w))
    )[:3]
    if similarity >= 0.5:
        reasons.append("similar_text")
    return PairSuggestion(
        ask=ask.key,
        give=give.key,
        score=round(min(score, 1.0), 4),
        reasons=tuple(reasons),
        shared=shared_commodities or shared_words,
    )


def suggest_pairs(
    asks: Iterable[Entry], gives: Iterable[Entry], *, threshold: float = PAIR_THRESHOLD
) -> list[PairSuggestion]:
    """Every ask-give pair of different BSOs scoring `threshold` or more, best first."""
    give_list = list(gives)
    found = [score_pair(ask, give) for ask in asks for give in give_list if give.bso != ask.bso]
    kept = [suggestion for suggestion in found if suggestion.score >= threshold]
    kept.sort(key=lambda suggestion: -suggestion.score)
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
    if len(set(bsos)) >= 2:
        return "common"
    return "unique" if gives else "gap"


def cluster_asks(
    asks: Sequence[Entry], gives: Sequence[Entry], *, threshold: float = PAIR_THRESHOLD
) -> list[Cluster]:
    """Group asks of one theme whose texts are alike, and classify each group."""
    groups: list[list[Entry]] = []
    for ask in asks:
        for group in groups:
            if group[0].theme == ask.theme and _alike(group[0], ask):
                group.append(ask)
                break
        else:
            groups.append([ask])
    suggestions = suggest_pairs(asks, gives, threshold=threshold)
    clusters = []
    for group in groups:
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


def _alike(first: Entry, second: Entry) -> bool:
    score = fuzz.token_set_ratio(
        fold(f"{first.title} {first.description}"), fold(f"{second.title} {second.description}")
    )
    return score >= 60

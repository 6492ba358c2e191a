"""Measure the matching rules of `bot/matching.py` against the labelled set in bench/data.

Run from the repository root:

    .venv/bin/python bench/matching.py

Requirements (`bench/data/requirements.json`): each typed commodity is resolved with
`commodity_of` and the supply profiles are ranked with `rank_suppliers`. A requirement
is a hit when every expected profile's BSO is among the top 5 returned. When no profile
is expected, it is a hit when nothing is returned. For the requirements labelled with a combination,
`combine` must return exactly the labelled BSOs.

Asks and gives (`bench/data/asks_gives.json`): `suggest_pairs` runs over all asks and
gives at the default PAIR_THRESHOLD, which already leaves out pairs of one BSO. Its
suggestions are compared with the labelled pairs for precision and recall.

The last line of output is `requirements_top5=… pairs_precision=… pairs_recall=…`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.matching import (  # noqa: E402
    DEFAULT_SUPPLIERS,
    PAIR_THRESHOLD,
    Entry,
    Need,
    Supply,
    combine,
    commodity_of,
    rank_suppliers,
    suggest_pairs,
    total_tonnes,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
# A year to lay the month windows on: the weekly totals depend on the days in each month.
YEAR = 2026


@dataclass(frozen=True)
class RequirementScores:
    hits: int
    total: int
    combinations_right: int
    combinations_total: int
    # Requirement ids with what went wrong, for the printout.
    misses: list[str]
    wrong_combinations: list[str]
    # Requirements with no combination label for which `combine` proposed one.
    extra_combinations: list[str]

    @property
    def top5(self) -> float:
        return self.hits / self.total if self.total else 0.0


@dataclass(frozen=True)
class PairScores:
    suggested: int
    labelled: int
    correct: int
    misses: list[tuple[str, str]]
    false_positives: list[tuple[str, str, float]]

    @property
    def precision(self) -> float:
        return self.correct / self.suggested if self.suggested else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.labelled if self.labelled else 0.0


def load(name: str) -> dict:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def window_dates(months: list[int]) -> tuple[dt.date, dt.date]:
    """Return the first and last day of a window of consecutive months, in delivery order."""
    end_year = YEAR + 1 if months[-1] < months[0] else YEAR
    last_day = calendar.monthrange(end_year, months[-1])[1]
    return dt.date(YEAR, months[0], 1), dt.date(end_year, months[-1], last_day)


def score_requirements(data: dict) -> RequirementScores:
    """Rank the profiles for every requirement and compare with the labels."""
    profiles = {profile["id"]: profile for profile in data["profiles"]}
    supplies = [
        Supply(
            key=f"profile:{profile['id']}",
            bso=profile["bso"],
            commodity=profile["commodity"],
            states=tuple(profile["states"]),
            districts=tuple(profile["districts"]),
            months=frozenset(profile["harvest_months"]),
            tonnes=profile["volume_tonnes"],
        )
        for profile in data["profiles"]
    ]
    hits = 0
    misses: list[str] = []
    combinations_total = combinations_right = 0
    wrong_combinations: list[str] = []
    extra_combinations: list[str] = []
    for requirement in data["requirements"]:
        requirement_id = requirement["id"]
        commodity = commodity_of(requirement["commodity"])
        start, end = window_dates(requirement["window_months"])
        need = Need(
            commodity=commodity or "",
            months=tuple(requirement["window_months"]),
            tonnes=total_tonnes(
                requirement["quantity_tonnes"], requirement["frequency"], start, end
            ),
            state=requirement["delivery_state"],
        )
        matches = rank_suppliers(need, supplies) if commodity else []
        returned = [match.bso for match in matches[:DEFAULT_SUPPLIERS]]
        expected = {profiles[profile_id]["bso"] for profile_id in requirement["expected"]}
        hit = expected <= set(returned) if expected else not returned
        if hit:
            hits += 1
        else:
            misses.append(
                f"{requirement_id} ({requirement['commodity']!r} -> {commodity}): "
                f"expected {sorted(expected)}, got {returned}"
            )

        combination = combine(need, matches) if matches else None
        chosen = {part.bso for part in combination.parts} if combination else set()
        if "combination" in requirement:
            combinations_total += 1
            labelled = {profiles[p]["bso"] for p in requirement["combination"]["profiles"]}
            if chosen == labelled:
                combinations_right += 1
            else:
                wrong_combinations.append(
                    f"{requirement_id}: expected {sorted(labelled)}, got {sorted(chosen)}"
                )
        elif combination is not None:
            extra_combinations.append(f"{requirement_id}: {sorted(chosen)}")
    return RequirementScores(
        hits=hits,
        total=len(data["requirements"]),
        combinations_right=combinations_right,
        combinations_total=combinations_total,
        misses=misses,
        wrong_combinations=wrong_combinations,
        extra_combinations=extra_combinations,
    )


def entries_of(data: dict, kind: str) -> list[Entry]:
    return [
        Entry(
            key=entry["id"],
            bso=entry["bso"],
            theme=entry["theme"],
            title=entry["title"],
            description=entry["description"],
        )
        for entry in data["entries"]
        if entry["kind"] == kind
    ]


def score_pairs(data: dict, threshold: float = PAIR_THRESHOLD) -> PairScores:
    """Suggest pairs over all asks and gives and compare with the labelled pairs."""
    labelled = {tuple(pair) for pair in data["pairs"]}
    suggestions = suggest_pairs(
        entries_of(data, "ask"), entries_of(data, "give"), threshold=threshold
    )
    found = {(str(item.ask), str(item.give)): item.score for item in suggestions}
    correct = labelled & found.keys()
    return PairScores(
        suggested=len(found),
        labelled=len(labelled),
        correct=len(correct),
        misses=sorted(labelled - found.keys(), key=_pair_order),
        false_positives=sorted(
            (
                (ask, give, score)
                for (ask, give), score in found.items()
                if (ask, give) not in labelled
            ),
            key=_pair_order,
        ),
    )


def _pair_order(pair: tuple) -> tuple[int, int]:
    return int(pair[0][1:]), int(pair[1][1:])


def main() -> None:
    requirements = score_requirements(load("requirements.json"))
    print(
        f"requirements: {requirements.hits}/{requirements.total} with every expected BSO "
        f"in the top {DEFAULT_SUPPLIERS} (or none returned when none is expected)"
    )
    for miss in requirements.misses:
        print(f"  miss {miss}")
    print(
        f"combinations: {requirements.combinations_right}/{requirements.combinations_total} "
        "with exactly the labelled BSOs"
    )
    for wrong in requirements.wrong_combinations:
        print(f"  wrong {wrong}")
    for extra in requirements.extra_combinations:
        print(f"  also proposed (no label) {extra}")

    pairs = score_pairs(load("asks_gives.json"))
    print(
        f"pairs at threshold {PAIR_THRESHOLD}: {pairs.suggested} suggested, "
        f"{pairs.correct} of {pairs.labelled} labelled pairs found"
    )
    print("  misses: " + (", ".join(f"{a}-{g}" for a, g in pairs.misses) or "none"))
    print(
        "  false positives: "
        + (", ".join(f"{a}-{g} ({s:.2f})" for a, g, s in pairs.false_positives) or "none")
    )
    for threshold in (0.4, 0.6):
        other = score_pairs(load("asks_gives.json"), threshold)
        print(
            f"  at threshold {threshold}: {other.suggested} suggested, "
            f"precision {other.precision:.2f}, recall {other.recall:.2f}"
        )
    print(
        f"requirements_top5={requirements.top5:.2f} "
        f"pairs_precision={pairs.precision:.2f} pairs_recall={pairs.recall:.2f}"
    )


if __name__ == "__main__":
    main()

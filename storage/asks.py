"""Asks and gives of BSOs: a BSO's list, status changes and the facilitator's matrix. Callers commit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.matching import Entry
from storage import people
from storage import themes as theme_store
from storage.models import Bso, Contribution, Person, Theme

KINDS = ("ask", "give")
STATUSES = ("open", "in_progress", "addressed", "withdrawn")
# Entries that still need the community's attention. The matrix counts only these.
ACTIVE_STATUSES = ("open", "in_progress")
# The statuses each status may change to. An addressed entry may be reopened, and a
# withdrawn one is final.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("in_progress", "addressed", "withdrawn"),
    "in_progress": ("addressed", "withdrawn"),
    "addressed": ("open", "withdrawn"),
    "withdrawn": (),
}
# The matrix column that gathers every replaced (inactive) theme. Theme ids start at 1.
REPLACED_COLUMN = 0

# Active entries first, then addressed, then withdrawn.
_STATUS_RANK = case(
    (Contribution.status.in_(ACTIVE_STATUSES), 0),
    (Contribution.status == "addressed", 1),
    else_=2,
)


# --- A BSO's entries --------------------------------------------------------------------------


async def count_bso_entries(session: AsyncSession, community_id: int, bso_id: int) -> int:
    total = await session.scalar(
        select(func.count(Contribution.id)).where(
            Contribution.community_id == community_id, Contribution.bso_id == bso_id
        )
    )
    return total or 0


async def bso_entries(
    session: AsyncSession,
    community_id: int,
    bso_id: int,
    *,
    offset: int = 0,
    limit: int | None = None,
) -> Sequence[Contribution]:
    """Return the BSO's asks and gives: active ones first, then addressed, then withdrawn.

    Within each group the newest comes first.
    """
    query = (
        select(Contribution)
        .where(Contribution.community_id == community_id, Contribution.bso_id == bso_id)
        .order_by(_STATUS_RANK, Contribution.created_at.desc(), Contribution.id.desc())
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return (await session.scalars(query)).all()


async def get_bso_entry(
    session: AsyncSession, community_id: int, bso_id: int, entry_id: int
) -> Contribution | None:
    """Return the entry only when it belongs to this BSO of this community, else None."""
    entry = await session.get(Contribution, entry_id)
    if entry is None or entry.community_id != community_id or entry.bso_id != bso_id:
        return None
    return entry


def can_change(entry: Contribution, status: str) -> bool:
    """Check whether `entry` may move to `status`; raise ValueError for an unknown status."""
    if status not in STATUSES:
        raise ValueError(f"unknown entry status {status!r}; expected one of {STATUSES}")
    return status in TRANSITIONS.get(entry.status, ())


def set_status(entry: Contribution, status: str) -> bool:
    """Move `entry` to `status`; return False, changing nothing, when the move is not allowed.

    Moving to the status the entry already has is not allowed, so a repeated request
    (a double-tapped button) changes nothing the second time.
    """
    if not can_change(entry, status):
        return False
    entry.status = status
    return True


async def filer_names(
    session: AsyncSession, entries: Iterable[Contribution]
) -> dict[int, str | None]:
    """Return each entry filer's name by person id, or None for a filer who erased their data.

    Erasing (`people.erase_personal_data`) keeps the person's row, with the Telegram
    display name that every update refreshes, and sets the status back to "new". Only
    approved PoCs file entries, so a filer with status "new" has erased their data, and
    neither their typed name nor their Telegram name may be shown. A filer who registered
    again after erasing is shown by the new name.
    """
    ids = {entry.person_id for entry in entries if entry.person_id is not None}
    if not ids:
        return {}
    rows = await session.execute(
        select(Person.id, Person.name, Person.telegram_name, Person.status).where(
            Person.id.in_(ids)
        )
    )
    return {
        person_id: None if status == "new" else (name or telegram_name)
        for person_id, name, telegram_name, status in rows
    }


# --- Editing ---------------------------------------------------------------------------------

# The fields of the ask and give forms. Each is one column of Contribution, the theme
# its `theme_id`.
FIELDS = (
    "theme",
    "title",
    "description",
    "commodities",
    "states",
    "urgency",
    "help_kinds",
    "private",
)


def entry_values(entry: Contribution) -> dict[str, Any]:
    """Return the entry's field values as JSON data, keyed by the names in FIELDS."""
    return {
        "theme": entry.theme_id,
        "title": entry.title,
        "description": entry.description,
        "commodities": list(entry.commodities),
        "states": list(entry.states),
        "urgency": entry.urgency,
        "help_kinds": list(entry.help_kinds),
        "private": entry.private,
    }


def apply_values(entry: Contribution, values: Mapping[str, Any]) -> None:
    """Set the entry's columns from values shaped like those of `entry_values`."""
    entry.theme_id = values["theme"]
    entry.title = values["title"]
    entry.description = values["description"]
    entry.commodities = list(values["commodities"])
    entry.states = list(values["states"])
    entry.urgency = values["urgency"]
    entry.help_kinds = list(values["help_kinds"])
    entry.private = bool(values["private"])


@dataclass(frozen=True)
class EditMerge:
    """The result of merging an edit: the values to save and the other person's changes it met.

    `values` are the values to save. `overwritten` maps each field that both changed,
    to different values, to the value this edit replaces. `kept` names the fields that
    only the other person changed, whose values stay.
    """

    values: dict[str, Any]
    overwritten: dict[str, Any] = field(default_factory=dict)
    kept: tuple[str, ...] = ()

    @property
    def changed_meanwhile(self) -> bool:
        return bool(self.overwritten or self.kept)


def merge_edit(
    base: Mapping[str, Any] | None, current: Mapping[str, Any], edited: Mapping[str, Any]
) -> EditMerge:
    """Merge an edit into the entry as it is now, field by field.

    `base` is the entry's values when the edit form started, `current` its values now
    and `edited` the confirmed answers, all shaped like `entry_values`. Only the fields
    the edit changed from `base` are written, so another person's change to a different
    field, saved while this form was open, survives. Where both changed a field, the
    later confirm (this edit) wins and `overwritten` reports the value it replaced.
    Without a base, as for a form stored before bases were kept, every field is written.
    """
    if base is None:
        return EditMerge(values={name: edited[name] for name in FIELDS})
    values: dict[str, Any] = {}
    overwritten: dict[str, Any] = {}
    kept: list[str] = []
    for name in FIELDS:
        changed_here = edited[name] != base.get(name)
        changed_there = current[name] != base.get(name)
        if not changed_here:
            values[name] = current[name]
            if changed_there:
                kept.append(name)
            continue
        values[name] = edited[name]
        if changed_there and current[name] != edited[name]:
            overwritten[name] = current[name]
    return EditMerge(values=values, overwritten=overwritten, kept=tuple(kept))


# --- The matrix ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """Open and in-progress asks and gives of one BSO under one theme or column."""

    asks: int = 0
    gives: int = 0

    @property
    def total(self) -> int:
        return self.asks + self.gives

    def __add__(self, other: Cell) -> Cell:
        return Cell(self.asks + other.asks, self.gives + other.gives)


EMPTY = Cell()


@dataclass
class Matrix:
    """Counts of active asks and gives by BSO and theme, for one community.

    `bsos` lists every BSO of the community, with or without entries. `themes` are
    the active themes in order. `replaced` are the inactive themes that still have
    active entries: the chat shows them together in the column `REPLACED_COLUMN`,
    the CSV file one by one. `counts` maps (BSO id, theme id) to a cell; a missing
    key is an empty cell.
    """

    bsos: Sequence[Bso]
    themes: Sequence[Theme]
    replaced: Sequence[Theme]
    counts: dict[tuple[int, int], Cell] = field(default_factory=dict)

    @property
    def columns(self) -> list[int]:
        """Column ids in display order: the active themes, then `REPLACED_COLUMN` if needed."""
        ids = [theme.id for theme in self.themes]
        return [*ids, REPLACED_COLUMN] if self.replaced else ids

    def theme_cell(self, bso_id: int, theme_id: int) -> Cell:
        return self.counts.get((bso_id, theme_id), EMPTY)

    def cell(self, bso_id: int, column: int) -> Cell:
        """Return one cell of the chat table. `REPLACED_COLUMN` adds up every replaced theme."""
        if column != REPLACED_COLUMN:
            return self.theme_cell(bso_id, column)
        total = EMPTY
        for theme in self.replaced:
            total += self.theme_cell(bso_id, theme.id)
        return total

    def row_total(self, bso_id: int) -> Cell:
        total = EMPTY
        for column in self.columns:
            total += self.cell(bso_id, column)
        return total

    def column_total(self, column: int) -> Cell:
        total = EMPTY
        for bso in self.bsos:
            total += self.cell(bso.id, column)
        return total

    def theme_total(self, theme_id: int) -> Cell:
        total = EMPTY
        for bso in self.bsos:
            total += self.theme_cell(bso.id, theme_id)
        return total

    @property
    def total(self) -> Cell:
        total = EMPTY
        for column in self.columns:
            total += self.column_total(column)
        return total


async def build_matrix(session: AsyncSession, community_id: int) -> Matrix:
    """Count the community's open and in-progress asks and gives by BSO and theme.

    Private entries are counted, because only facilitators see the matrix. Reading the
    active themes creates the default ones on first use, so the caller commits.
    """
    # Ordered by the name the chat table shows, the short name where there is one.
    bsos = sorted(
        await people.list_bsos(session, community_id),
        key=lambda bso: (bso.short_name or bso.name).casefold(),
    )
    active = await theme_store.active_themes(session, community_id)
    rows = await session.execute(
        select(
            Contribution.bso_id,
            Contribution.theme_id,
            Contribution.kind,
            func.count(Contribution.id),
        )
        .where(
            Contribution.community_id == community_id,
            Contribution.status.in_(ACTIVE_STATUSES),
        )
        .group_by(Contribution.bso_id, Contribution.theme_id, Contribution.kind)
    )
    counts: dict[tuple[int, int], Cell] = {}
    for bso_id, theme_id, kind, number in rows:
        added = Cell(asks=number) if kind == "ask" else Cell(gives=number)
        counts[(bso_id, theme_id)] = counts.get((bso_id, theme_id), EMPTY) + added

    active_ids = {theme.id for theme in active}
    used_ids = {theme_id for _bso_id, theme_id in counts}
    replaced: Sequence[Theme] = []
    if used_ids - active_ids:
        replaced = (
            await session.scalars(
                select(Theme)
                .where(Theme.id.in_(used_ids - active_ids))
                .order_by(Theme.position, Theme.id)
            )
        ).all()
    return Matrix(bsos=bsos, themes=active, replaced=replaced, counts=counts)


async def replaced_theme_ids(session: AsyncSession, community_id: int) -> list[int]:
    return list(
        (
            await session.scalars(
                select(Theme.id).where(Theme.community_id == community_id, Theme.active.is_(False))
            )
        ).all()
    )


async def cell_entries(
    session: AsyncSession, community_id: int, bso_id: int, column: int
) -> Sequence[Contribution]:
    """Return the BSO's open and in-progress entries of one matrix column, asks first.

    `column` is a theme id, or `REPLACED_COLUMN` for every inactive theme together.
    Private entries are included.
    """
    query = select(Contribution).where(
        Contribution.community_id == community_id,
        Contribution.bso_id == bso_id,
        Contribution.status.in_(ACTIVE_STATUSES),
    )
    if column == REPLACED_COLUMN:
        query = query.where(
            Contribution.theme_id.in_(await replaced_theme_ids(session, community_id))
        )
    else:
        query = query.where(Contribution.theme_id == column)
    query = query.order_by(
        Contribution.kind, Contribution.created_at.desc(), Contribution.id.desc()
    )
    return (await session.scalars(query)).all()


async def community_entries(session: AsyncSession, community_id: int) -> Sequence[Contribution]:
    """Return every ask and give of the community, in every status, by BSO, theme and kind."""
    return (
        await session.scalars(
            select(Contribution)
            .join(Bso, Contribution.bso_id == Bso.id)
            .join(Theme, Contribution.theme_id == Theme.id)
            .where(Contribution.community_id == community_id)
            .order_by(
                Bso.name,
                Theme.active.desc(),
                Theme.position,
                Theme.id,
                Contribution.kind,
                Contribution.created_at,
                Contribution.id,
            )
        )
    ).all()


def matcher_entry(contribution: Contribution) -> Entry:
    """Describe an ask or a give to the matching rules of bot.matching."""
    return Entry(
        key=contribution.id,
        bso=contribution.bso_id,
        theme=str(contribution.theme_id),
        title=contribution.title,
        description=contribution.description,
        commodities=tuple(contribution.commodities),
    )

"""A community's focus themes. Callers commit."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Theme
from storage.people import name_key

# The themes most CoPs start from, in this order; their labels live in the templates.
DEFAULT_THEMES = (
    ("market_access", "Market access"),
    ("finance", "Finance"),
    ("technology", "Technology"),
    ("governance", "Governance"),
)
MIN_THEMES = 3
MAX_THEMES = 4
THEME_NAME_MAX = 40


async def active_themes(session: AsyncSession, community_id: int) -> Sequence[Theme]:
    """Return the community's themes in order, creating the defaults on first use."""
    themes = (
        await session.scalars(
            select(Theme)
            .where(Theme.community_id == community_id, Theme.active.is_(True))
            .order_by(Theme.position, Theme.id)
        )
    ).all()
    if themes:
        return themes
    if await session.scalar(select(Theme.id).where(Theme.community_id == community_id).limit(1)):
        # Every theme was replaced and none is active: an empty list, not the defaults.
        return themes
    return await reset_themes(session, community_id)


async def reset_themes(session: AsyncSession, community_id: int) -> Sequence[Theme]:
    return await replace_themes(
        session, community_id, [name for _key, name in DEFAULT_THEMES], keys=DEFAULT_THEMES
    )


async def replace_themes(
    session: AsyncSession,
    community_id: int,
    names: Sequence[str],
    *,
    keys: Sequence[tuple[str, str]] = DEFAULT_THEMES,
) -> Sequence[Theme]:
    """Make `names` the active themes, in order.

    A name that matches an existing theme (case and spacing aside) reuses its row, so
    entries filed under it keep their theme. Other rows become inactive.
    """
    existing = {
        theme.name_key: theme
        for theme in (
            await session.scalars(select(Theme).where(Theme.community_id == community_id))
        )
    }
    default_keys = {name_key(name): key for key, name in keys}
    chosen: list[Theme] = []
    for position, name in enumerate(names):
        folded = name_key(name)
        theme = existing.pop(folded, None)
        if theme is None:
            theme = Theme(community_id=community_id, name=name, name_key=folded)
            session.add(theme)
        theme.key = default_keys.get(folded)
        theme.name = name
        theme.position = position
        theme.active = True
        chosen.append(theme)
    for leftover in existing.values():
        leftover.active = False
    await session.flush()
    return chosen


def split_theme_names(text: str) -> list[str]:
    """Split typed theme names on commas, semicolons or new lines, keeping repeats.

    Runs of spaces inside a name become one space and empty parts are dropped.
    """
    parts = text.replace(";", ",").replace("\n", ",").split(",")
    return [name for part in parts if (name := " ".join(part.split()))]


def unique_theme_names(names: Sequence[str]) -> list[str]:
    """Return `names` without repeats, in order. Case, spaces and punctuation do not count.

    Names whose `name_key` is empty (only emoji or punctuation) are all kept, so the
    caller can reject each of them by name.
    """
    unique: list[str] = []
    seen: set[str] = set()
    for name in names:
        key = name_key(name)
        if key and key in seen:
            continue
        seen.add(key)
        unique.append(name)
    return unique

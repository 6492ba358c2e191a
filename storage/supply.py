"""Supply profiles of BSOs: what their FPOs produce, where, when and how much. Callers commit.

Every function that reads or changes one profile takes the community and the BSO, and
finds nothing for a profile of another BSO, so a forged profile id changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Bso, SupplyProfile

# Profiles one BSO may keep, so that its /supply list fits one Telegram message of
# 4096 characters: a profile line takes at most about 250.
MAX_PROFILES_PER_BSO = 15


class DuplicateCommodity(Exception):
    """The BSO already has a profile of this commodity; `existing` is that profile."""

    def __init__(self, existing: SupplyProfile) -> None:
        super().__init__(existing.commodity)
        self.existing = existing


class TooManyProfiles(Exception):
    """The BSO already has MAX_PROFILES_PER_BSO profiles."""


@dataclass(frozen=True, kw_only=True)
class SupplyValues:
    """The values a PoC types for one profile. `volume_tonnes` None means not stated."""

    commodity: str
    variety: str | None
    states: tuple[str, ...]
    districts: tuple[str, ...]
    # Month numbers 1-12, in any order. They are stored sorted in calendar order.
    harvest_months: tuple[int, ...]
    volume_tonnes: float | None


async def list_profiles(
    session: AsyncSession, community_id: int, bso_id: int | None = None
) -> Sequence[SupplyProfile]:
    """Return the profiles of one BSO, or of every BSO when `bso_id` is None.

    Ordered by BSO name, then commodity.
    """
    query = (
        select(SupplyProfile)
        .join(Bso, Bso.id == SupplyProfile.bso_id)
        .where(SupplyProfile.community_id == community_id)
        .order_by(Bso.name, SupplyProfile.commodity, SupplyProfile.id)
    )
    if bso_id is not None:
        query = query.where(SupplyProfile.bso_id == bso_id)
    return (await session.scalars(query)).unique().all()


async def get_profile(
    session: AsyncSession, community_id: int, bso_id: int, profile_id: int
) -> SupplyProfile | None:
    """Return the profile only when it belongs to this BSO of this community, else None."""
    profile = await session.get(SupplyProfile, profile_id, populate_existing=True)
    if profile is None or profile.community_id != community_id or profile.bso_id != bso_id:
        return None
    return profile


async def find_commodity(
    session: AsyncSession, community_id: int, bso_id: int, commodity: str
) -> SupplyProfile | None:
    """Return the BSO's profile of `commodity` (a canonical name), or None."""
    query = select(SupplyProfile).where(
        SupplyProfile.community_id == community_id,
        SupplyProfile.bso_id == bso_id,
        SupplyProfile.commodity == commodity,
    )
    return (await session.scalars(query.limit(1))).first()


def _apply(profile: SupplyProfile, values: SupplyValues, person_id: int | None) -> None:
    profile.commodity = values.commodity
    profile.variety = values.variety or None
    profile.states = list(values.states)
    profile.districts = list(values.districts)
    profile.harvest_months = sorted(set(values.harvest_months))
    profile.volume_tonnes = values.volume_tonnes
    profile.updated_by = person_id


async def add_profile(
    session: AsyncSession,
    *,
    community_id: int,
    bso_id: int,
    values: SupplyValues,
    person_id: int | None,
) -> SupplyProfile:
    """Add a profile; raise DuplicateCommodity or TooManyProfiles and add nothing."""
    # On PostgreSQL, locking the BSO's row makes two PoCs adding at once count one after
    # the other, so together they cannot pass the cap.
    # NOTE: SQLAlchemy leaves FOR UPDATE out on SQLite, so there two adds confirmed at the
    # same moment can both pass the count. The /supply list still fits (handlers.supply).
    await session.execute(select(Bso.id).where(Bso.id == bso_id).with_for_update())
    existing = await find_commodity(session, community_id, bso_id, values.commodity)
    if existing is not None:
        raise DuplicateCommodity(existing)
    if len(await list_profiles(session, community_id, bso_id)) >= MAX_PROFILES_PER_BSO:
        raise TooManyProfiles()
    profile = SupplyProfile(community_id=community_id, bso_id=bso_id)
    _apply(profile, values, person_id)
    session.add(profile)
    await session.flush()
    return profile


async def update_profile(
    session: AsyncSession,
    *,
    community_id: int,
    bso_id: int,
    profile_id: int,
    values: SupplyValues,
    person_id: int | None,
) -> SupplyProfile | None:
    """Overwrite the BSO's profile; return None when it is gone or another BSO's.

    Raise DuplicateCommodity, and change nothing, when the new commodity is that of
    another profile of the BSO.
    """
    profile = await get_profile(session, community_id, bso_id, profile_id)
    if profile is None:
        return None
    existing = await find_commodity(session, community_id, bso_id, values.commodity)
    if existing is not None and existing.id != profile.id:
        raise DuplicateCommodity(existing)
    _apply(profile, values, person_id)
    await session.flush()
    return profile


async def delete_profile(
    session: AsyncSession, community_id: int, bso_id: int, profile_id: int
) -> SupplyProfile | None:
    """Delete the BSO's profile and return it; return None when it is gone or another BSO's."""
    profile = await get_profile(session, community_id, bso_id, profile_id)
    if profile is None:
        return None
    await session.delete(profile)
    await session.flush()
    return profile

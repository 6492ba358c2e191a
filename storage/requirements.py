"""Queries of buyer requirements, their offers, matched BSOs and proposed buyers.

Helpers only flush; the handler or ticker that calls them commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.matching import Supply
from storage.models import (
    Buyer,
    BuyerProposal,
    Contribution,
    GroupChat,
    Offer,
    Person,
    Requirement,
    RequirementCandidate,
    RequirementCard,
    SupplyProfile,
)

# Statuses in which a requirement takes offers and shows in /requirements.
OPEN_STATUSES = ("open", "offers", "matched")
FINAL_STATUSES = ("closed", "expired")
OUTCOMES = ("supplied", "partly", "not_supplied")


async def get_requirement(
    session: AsyncSession, community_id: int, requirement_id: int
) -> Requirement | None:
    found = await session.get(Requirement, requirement_id)
    return found if found is not None and found.community_id == community_id else None


async def open_requirements(
    session: AsyncSession,
    community_id: int,
    *,
    commodity: str | None = None,
    state: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[Sequence[Requirement], int]:
    """Return one page of the open, offered and matched requirements, newest first, and their total."""
    condition = [Requirement.community_id == community_id, Requirement.status.in_(OPEN_STATUSES)]
    if commodity is not None:
        condition.append(Requirement.commodity == commodity)
    if state is not None:
        condition.append(Requirement.delivery_state == state)
    total = await session.scalar(select(func.count(Requirement.id)).where(*condition))
    query = select(Requirement).where(*condition).order_by(Requirement.id.desc())
    page = await session.scalars(query.offset(offset).limit(limit))
    return page.all(), total or 0


async def posted_by(
    session: AsyncSession, person_id: int, *, offset: int = 0, limit: int | None = None
) -> tuple[Sequence[Requirement], int]:
    """Return one page of the person's requirements, newest first, and their total."""
    total = await session.scalar(
        select(func.count(Requirement.id)).where(Requirement.posted_by == person_id)
    )
    query = select(Requirement).where(Requirement.posted_by == person_id)
    page = await session.scalars(query.order_by(Requirement.id.desc()).offset(offset).limit(limit))
    return page.all(), total or 0


async def offers_of(session: AsyncSession, requirement_id: int) -> Sequence[Offer]:
    query = select(Offer).where(Offer.requirement_id == requirement_id).order_by(Offer.id)
    return (await session.scalars(query)).all()


async def offer_of_bso(session: AsyncSession, requirement_id: int, bso_id: int) -> Offer | None:
    query = select(Offer).where(Offer.requirement_id == requirement_id, Offer.bso_id == bso_id)
    return await session.scalar(query)


async def task_force_groups(session: AsyncSession, community_id: int) -> Sequence[GroupChat]:
    query = select(GroupChat).where(
        GroupChat.community_id == community_id,
        GroupChat.kind == "task_force",
        GroupChat.active.is_(True),
    )
    return (await session.scalars(query.order_by(GroupChat.id))).all()


async def cards_of(session: AsyncSession, requirement_id: int) -> Sequence[RequirementCard]:
    query = select(RequirementCard).where(RequirementCard.requirement_id == requirement_id)
    return (await session.scalars(query.order_by(RequirementCard.id))).all()


async def registry_buyers(session: AsyncSession, community_id: int) -> Sequence[Buyer]:
    query = select(Buyer).where(Buyer.community_id == community_id).order_by(Buyer.name)
    return (await session.scalars(query)).all()


async def supplies(session: AsyncSession, community_id: int, commodity: str) -> list[Supply]:
    """Return the supply profiles and open gives of the community that name `commodity`."""
    supply_list = [
        Supply(
            key=f"profile:{profile.id}",
            bso=profile.bso_id,
            commodity=profile.commodity,
            states=tuple(profile.states),
            districts=tuple(profile.districts),
            months=frozenset(profile.harvest_months),
            tonnes=profile.volume_tonnes,
        )
        for profile in await session.scalars(
            select(SupplyProfile).where(
                SupplyProfile.community_id == community_id, SupplyProfile.commodity == commodity
            )
        )
    ]
    gives = await session.scalars(
        select(Contribution).where(
            Contribution.community_id == community_id,
            Contribution.kind == "give",
            Contribution.status == "open",
        )
    )
    for give in gives:
        if commodity in give.commodities:
            supply_list.append(
                Supply(
                    key=f"give:{give.id}",
                    bso=give.bso_id,
                    commodity=commodity,
                    states=tuple(give.states),
                )
            )
    return supply_list


async def candidates_of(
    session: AsyncSession, requirement_id: int
) -> Sequence[RequirementCandidate]:
    query = (
        select(RequirementCandidate)
        .where(RequirementCandidate.requirement_id == requirement_id)
        .order_by(RequirementCandidate.rank)
    )
    return (await session.scalars(query)).all()


async def reachable_pocs(session: AsyncSession, bso_id: int) -> Sequence[Person]:
    """Return the BSO's approved PoCs who opened a private chat with the bot."""
    query = select(Person).where(
        Person.bso_id == bso_id,
        Person.status == "approved",
        Person.private_chat_open.is_(True),
    )
    return (await session.scalars(query.order_by(Person.id))).all()


async def due_to_expire(session: AsyncSession, today: dt.date) -> Sequence[Requirement]:
    """Return the requirements still open whose delivery window ended before `today`."""
    query = select(Requirement).where(
        Requirement.status.in_(OPEN_STATUSES), Requirement.window_end < today
    )
    return (await session.scalars(query.order_by(Requirement.id))).all()


async def get_proposal(
    session: AsyncSession, community_id: int, proposal_id: int
) -> BuyerProposal | None:
    found = await session.get(BuyerProposal, proposal_id)
    return found if found is not None and found.community_id == community_id else None


def status_after_offers(requirement: Requirement, offers: Sequence[Offer]) -> str:
    """Return the status a requirement has given its offers, unless closed or expired."""
    if requirement.status in FINAL_STATUSES:
        return requirement.status
    if any(offer.status == "accepted" for offer in offers):
        return "matched"
    if any(offer.status in ("pending", "declined") for offer in offers):
        return "offers"
    return "open"

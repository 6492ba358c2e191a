"""Queries for communities, BSOs, people and group chats. Callers commit."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Bso, Community, GroupChat, Person, utcnow

COMMUNITY_NAME_MAX = 200
NAME_KEY_MAX = 200


def name_key(name: str) -> str:
    """Fold a name for duplicate detection: case, spaces and punctuation do not count.

    Case folding can lengthen text ("ß" becomes "ss"), so the key is cut to the column's
    200 characters.
    """
    folded = re.sub(r"[\W_]+", " ", name.casefold())
    return " ".join(folded.split())[:NAME_KEY_MAX]


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")
    return slug[:64] or "community"


async def ensure_community(session: AsyncSession, *, name: str, timezone: str) -> Community:
    """Return the first community, creating it from configuration on an empty database."""
    community = await session.scalar(select(Community).order_by(Community.id).limit(1))
    if community is None:
        community = Community(name=name, slug=slugify(name), timezone=timezone)
        session.add(community)
        await session.flush()
    return community


async def get_community(session: AsyncSession, community_id: int) -> Community | None:
    return await session.get(Community, community_id)


async def get_person(session: AsyncSession, community_id: int, telegram_id: int) -> Person | None:
    return await session.scalar(
        select(Person).where(Person.community_id == community_id, Person.telegram_id == telegram_id)
    )


async def home_community_id(session: AsyncSession, telegram_id: int) -> int | None:
    """Return the community of the person's latest registration, if they registered."""
    return await session.scalar(
        select(Person.community_id)
        .where(Person.telegram_id == telegram_id, Person.status != "new")
        .order_by(Person.updated_at.desc(), Person.id.desc())
        .limit(1)
    )


async def list_communities(session: AsyncSession) -> Sequence[Community]:
    return (await session.scalars(select(Community).order_by(Community.id))).all()


async def add_community(session: AsyncSession, *, name: str, timezone: str) -> Community:
    """Create another community; raise ValueError when the name is empty, too long or taken."""
    name = " ".join(name.split())
    if not name or len(name) > COMMUNITY_NAME_MAX:
        raise ValueError(f"a community name needs 1 to {COMMUNITY_NAME_MAX} characters")
    slug = slugify(name)
    if await session.scalar(select(Community).where(Community.slug == slug)) is not None:
        raise ValueError(f"a community named {name!r} already exists")
    community = Community(name=name, slug=slug, timezone=timezone)
    session.add(community)
    await session.flush()
    return community


async def get_person_by_id(session: AsyncSession, person_id: int) -> Person | None:
    return await session.get(Person, person_id)


async def touch_person(
    session: AsyncSession,
    *,
    community_id: int,
    telegram_id: int,
    telegram_name: str,
    username: str | None,
    in_private_chat: bool,
) -> Person:
    """Fetch or create the person behind an update and refresh their Telegram profile."""
    person = await get_person(session, community_id, telegram_id)
    if person is None:
        person = Person(
            community_id=community_id,
            telegram_id=telegram_id,
            telegram_name=telegram_name,
            username=username,
            status="new",
            states=[],
            commodities=[],
        )
        session.add(person)
    else:
        person.telegram_name = telegram_name
        person.username = username
    if in_private_chat:
        person.private_chat_open = True
    await session.flush()
    return person


async def list_bsos(session: AsyncSession, community_id: int) -> Sequence[Bso]:
    result = await session.scalars(
        select(Bso).where(Bso.community_id == community_id).order_by(Bso.name)
    )
    return result.all()


async def get_bso(session: AsyncSession, community_id: int, bso_id: int) -> Bso | None:
    bso = await session.get(Bso, bso_id)
    if bso is None or bso.community_id != community_id:
        return None
    return bso


async def find_bso_by_name(session: AsyncSession, community_id: int, name: str) -> Bso | None:
    key = name_key(name)
    return await session.scalar(
        select(Bso).where(
            Bso.community_id == community_id,
            (Bso.name_key == key) | (func.lower(Bso.short_name) == name.strip().casefold()),
        )
    )


async def ensure_bso(
    session: AsyncSession, community_id: int, name: str, short_name: str | None = None
) -> Bso:
    bso = await find_bso_by_name(session, community_id, name)
    if bso is None:
        bso = Bso(
            community_id=community_id,
            name=name.strip(),
            name_key=name_key(name),
            short_name=short_name,
        )
        session.add(bso)
        await session.flush()
    return bso


async def approved_pocs_of_bso(
    session: AsyncSession, bso_id: int, *, exclude_person_id: int | None = None
) -> Sequence[Person]:
    query = select(Person).where(Person.bso_id == bso_id, Person.status == "approved")
    if exclude_person_id is not None:
        query = query.where(Person.id != exclude_person_id)
    return (await session.scalars(query.order_by(Person.id))).all()


async def pending_people(session: AsyncSession, community_id: int) -> Sequence[Person]:
    result = await session.scalars(
        select(Person)
        .where(Person.community_id == community_id, Person.status == "pending")
        .order_by(Person.updated_at, Person.id)
    )
    return result.all()


def decide(person: Person, *, approve: bool, decided_by: int) -> None:
    person.status = "approved" if approve else "rejected"
    person.decided_by = decided_by
    person.decided_at = utcnow()


def erase_personal_data(person: Person) -> None:
    """Forget what the person registered; the row stays so their Telegram id keeps its locale."""
    person.name = None
    person.phone = None
    person.bso_id = None
    person.bso_role = None
    person.proposed_bso_name = None
    person.states = []
    person.commodities = []
    person.consent_at = None
    person.status = "new"
    person.decided_by = None
    person.decided_at = None
    person.registered_via_chat_id = None


async def erase_everywhere(session: AsyncSession, telegram_id: int) -> int:
    """Erase the registration details of a Telegram user in every community; return the rows."""
    rows = (await session.scalars(select(Person).where(Person.telegram_id == telegram_id))).all()
    for person in rows:
        erase_personal_data(person)
    return len(rows)


async def get_group(session: AsyncSession, telegram_chat_id: int) -> GroupChat | None:
    return await session.scalar(
        select(GroupChat).where(GroupChat.telegram_chat_id == telegram_chat_id)
    )


async def ensure_group(
    session: AsyncSession,
    *,
    community_id: int,
    telegram_chat_id: int,
    title: str,
    chat_type: str,
    is_forum: bool,
) -> tuple[GroupChat, bool]:
    """Return the group and whether it was created now."""
    group = await get_group(session, telegram_chat_id)
    created = group is None
    if group is None:
        group = GroupChat(
            community_id=community_id,
            telegram_chat_id=telegram_chat_id,
            title=title,
            chat_type=chat_type,
            is_forum=is_forum,
        )
        session.add(group)
    else:
        group.title = title
        group.chat_type = chat_type
        group.is_forum = is_forum
        group.active = True
    await session.flush()
    return group, created


async def migrate_group(session: AsyncSession, old_chat_id: int, new_chat_id: int) -> None:
    """Follow a group that became a supergroup: keep its settings under the new id."""
    group = await get_group(session, old_chat_id)
    if group is None or await get_group(session, new_chat_id) is not None:
        return
    group.telegram_chat_id = new_chat_id
    group.chat_type = "supergroup"
    await session.flush()

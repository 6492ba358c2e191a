"""The audience of a broadcast or webinar: groups, forum topics and PoCs chosen by the facilitator."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Contribution, FollowUpAction, ForumTopic, GroupChat, Person
from storage.outbox import Recipient


@dataclass(frozen=True)
class AudienceSpec:
    """The parts of an audience; a broadcast reaches the union of all of them.

    topics are (group telegram id, thread id) pairs of forum topics; themes are theme ids;
    states are canonical English state names, as stored on people.
    """

    cop_groups: bool = False
    task_force_groups: bool = False
    topics: tuple[tuple[int, int], ...] = ()
    all_pocs: bool = False
    bso_ids: tuple[int, ...] = ()
    theme_ids: tuple[int, ...] = ()
    states: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (
            self.cop_groups
            or self.task_force_groups
            or self.topics
            or self.all_pocs
            or self.bso_ids
            or self.theme_ids
            or self.states
        )

    @property
    def wants_pocs(self) -> bool:
        return bool(self.all_pocs or self.bso_ids or self.theme_ids or self.states)

    def to_json(self) -> dict[str, Any]:
        return {
            "cop_groups": self.cop_groups,
            "task_force_groups": self.task_force_groups,
            "topics": [list(topic) for topic in self.topics],
            "all_pocs": self.all_pocs,
            "bso_ids": list(self.bso_ids),
            "theme_ids": list(self.theme_ids),
            "states": list(self.states),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AudienceSpec:
        return cls(
            cop_groups=bool(data.get("cop_groups")),
            task_force_groups=bool(data.get("task_force_groups")),
            topics=tuple((int(chat), int(thread)) for chat, thread in data.get("topics") or ()),
            all_pocs=bool(data.get("all_pocs")),
            bso_ids=tuple(int(value) for value in data.get("bso_ids") or ()),
            theme_ids=tuple(int(value) for value in data.get("theme_ids") or ()),
            states=tuple(str(value) for value in data.get("states") or ()),
        )


@dataclass
class Audience:
    """The chats an audience resolves to now, and the PoCs in it the bot cannot reach."""

    recipients: list[Recipient] = field(default_factory=list)
    groups: int = 0
    topics: int = 0
    pocs: int = 0
    # PoCs who never opened a private chat with the bot, or blocked it.
    unreachable: list[Person] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.recipients)


async def approved_pocs(session: AsyncSession, community_id: int) -> list[Person]:
    return list(
        (
            await session.scalars(
                select(Person)
                .where(
                    Person.community_id == community_id,
                    Person.status == "approved",
                    Person.bso_id.is_not(None),
                )
                .order_by(Person.id)
            )
        ).all()
    )


async def _bsos_in_themes(
    session: AsyncSession, community_id: int, theme_ids: tuple[int, ...]
) -> set[int]:
    """BSOs that filed an ask or give, or own a follow-up action, under one of the themes."""
    filed = await session.scalars(
        select(Contribution.bso_id).where(
            Contribution.community_id == community_id,
            Contribution.theme_id.in_(theme_ids),
            Contribution.status != "withdrawn",
        )
    )
    owning = await session.scalars(
        select(FollowUpAction.bso_id).where(
            FollowUpAction.community_id == community_id,
            FollowUpAction.theme_id.in_(theme_ids),
        )
    )
    return set(filed.all()) | set(owning.all())


async def resolve(session: AsyncSession, community_id: int, spec: AudienceSpec) -> Audience:
    """Turn an audience into distinct chats, in a stable order: topics, groups, then PoCs."""
    audience = Audience()
    seen: set[tuple[int, int]] = set()

    def add(recipient: Recipient) -> bool:
        key = (recipient.chat_id, recipient.thread_id)
        if key in seen:
            return False
        seen.add(key)
        audience.recipients.append(recipient)
        return True

    # Topics first: a group chosen both as a whole and by one of its topics gets one copy,
    # in the topic the facilitator picked rather than in its General topic.
    topic_chats: set[int] = set()
    for chat_id, thread_id in spec.topics:
        topic_group = await session.scalar(
            select(GroupChat).where(
                GroupChat.community_id == community_id,
                GroupChat.telegram_chat_id == chat_id,
                GroupChat.active.is_(True),
            )
        )
        if topic_group is None:
            continue
        topic_chats.add(chat_id)
        if add(Recipient(chat_id, thread_id=thread_id, is_group=True)):
            audience.topics += 1
    kinds = [
        kind
        for kind, wanted in (("cop", spec.cop_groups), ("task_force", spec.task_force_groups))
        if wanted
    ]
    if kinds:
        groups = await session.scalars(
            select(GroupChat)
            .where(
                GroupChat.community_id == community_id,
                GroupChat.active.is_(True),
                GroupChat.kind.in_(kinds),
            )
            .order_by(GroupChat.id)
        )
        for group in groups:
            if group.telegram_chat_id in topic_chats:
                continue
            if add(Recipient(group.telegram_chat_id, is_group=True)):
                audience.groups += 1
    if spec.wants_pocs:
        theme_bsos = (
            await _bsos_in_themes(session, community_id, spec.theme_ids)
            if spec.theme_ids
            else set()
        )
        wanted_states = set(spec.states)
        for person in await approved_pocs(session, community_id):
            chosen = (
                spec.all_pocs
                or person.bso_id in spec.bso_ids
                or person.bso_id in theme_bsos
                or bool(wanted_states.intersection(person.states or ()))
            )
            if not chosen:
                continue
            if not person.private_chat_open:
                audience.unreachable.append(person)
                continue
            if add(Recipient(person.telegram_id, person_id=person.id)):
                audience.pocs += 1
    return audience


async def forum_topics(
    session: AsyncSession, community_id: int
) -> list[tuple[GroupChat, ForumTopic]]:
    """Open topics of the community's active forum groups, by group then topic name."""
    rows = await session.execute(
        select(GroupChat, ForumTopic)
        .join(ForumTopic, ForumTopic.group_chat_id == GroupChat.id)
        .where(
            GroupChat.community_id == community_id,
            GroupChat.active.is_(True),
            ForumTopic.closed.is_(False),
        )
        .order_by(GroupChat.title, ForumTopic.name)
    )
    return [(row[0], row[1]) for row in rows.all()]


async def remember_topic(
    session: AsyncSession, group: GroupChat, thread_id: int, name: str, *, closed: bool = False
) -> ForumTopic:
    """Record or rename a forum topic the bot saw being created or edited."""
    topic = await session.scalar(
        select(ForumTopic).where(
            ForumTopic.group_chat_id == group.id, ForumTopic.thread_id == thread_id
        )
    )
    if topic is None:
        topic = ForumTopic(
            community_id=group.community_id,
            group_chat_id=group.id,
            thread_id=thread_id,
            name=name[:128],
            closed=closed,
        )
        session.add(topic)
    else:
        if name:
            topic.name = name[:128]
        topic.closed = closed
    await session.flush()
    return topic

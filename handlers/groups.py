"""Groups: the bot introduces itself when added, a facilitator sets each group's kind, and
the bot learns the forum topics it sees created, renamed, closed and reopened."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.filters import JOIN_TRANSITION, LEAVE_TRANSITION, ChatMemberUpdatedFilter, Command
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.texts import LocalTexts
from handlers.callbacks import CommunityPick, GroupKind
from storage import audience, outbox, people
from storage.models import Bso, Community, ForumTopic, GroupChat

log = logging.getLogger(__name__)
router = Router(name="groups")
router.message.filter(F.chat.type.in_({"group", "supergroup"}))

KINDS = ("cop", "bso", "task_force", "pod")


@router.my_chat_member(
    ChatMemberUpdatedFilter(JOIN_TRANSITION), F.chat.type.in_({"group", "supergroup"})
)
async def bot_added(
    event: ChatMemberUpdated, bot: Bot, session: AsyncSession, community: Community, t: LocalTexts
) -> None:
    chat = event.chat
    group, _ = await people.ensure_group(
        session,
        community_id=community.id,
        telegram_chat_id=chat.id,
        title=chat.title or "",
        chat_type=chat.type,
        is_forum=bool(chat.is_forum),
    )
    await session.commit()
    log.info("added to group %s (community %s)", chat.id, community.id)
    me = await bot.me()
    await bot.send_message(chat.id, t("groups/introduction", bot_username=me.username, group=group))


@router.my_chat_member(ChatMemberUpdatedFilter(LEAVE_TRANSITION))
async def bot_removed(event: ChatMemberUpdated, session: AsyncSession) -> None:
    group = await people.get_group(session, event.chat.id)
    if group is not None:
        group.active = False
        await session.commit()
        log.info("removed from group %s", event.chat.id)


@router.message(F.migrate_to_chat_id)
async def group_migrated(message: Message, session: AsyncSession) -> None:
    assert message.migrate_to_chat_id is not None
    await people.migrate_group(session, message.chat.id, message.migrate_to_chat_id)
    # Queued broadcasts and notices follow the group, rather than failing on the old id.
    await outbox.move_chat(session, message.chat.id, message.migrate_to_chat_id)
    await session.commit()
    log.info("group %s became supergroup %s", message.chat.id, message.migrate_to_chat_id)


@router.message(F.forum_topic_created)
async def topic_created(message: Message, session: AsyncSession, community: Community) -> None:
    assert message.forum_topic_created is not None
    await learn_topic(message, session, community, name=message.forum_topic_created.name)


@router.message(F.forum_topic_edited)
async def topic_edited(message: Message, session: AsyncSession, community: Community) -> None:
    assert message.forum_topic_edited is not None
    # The name is missing when only the topic's icon changed.
    await learn_topic(message, session, community, name=message.forum_topic_edited.name)


@router.message(F.forum_topic_closed)
async def topic_closed(message: Message, session: AsyncSession, community: Community) -> None:
    await learn_topic(message, session, community, closed=True)


@router.message(F.forum_topic_reopened)
async def topic_reopened(message: Message, session: AsyncSession, community: Community) -> None:
    await learn_topic(message, session, community, closed=False)


async def learn_topic(
    message: Message,
    session: AsyncSession,
    community: Community,
    *,
    name: str | None = None,
    closed: bool | None = None,
) -> None:
    """Record a forum topic from one of its service messages, so broadcasts can target it.

    `closed` None keeps the stored state. A topic first seen closed, reopened or with
    only its icon changed has no name to show, so it is left out until it is renamed.
    """
    thread_id = message.message_thread_id
    if thread_id is None:
        return
    group = await ensure_known_group(message, session, community)
    group.is_forum = True
    known = await session.scalar(
        select(ForumTopic).where(
            ForumTopic.group_chat_id == group.id, ForumTopic.thread_id == thread_id
        )
    )
    if known is None and not name:
        await session.commit()
        log.info("topic %s of group %s not recorded: no name", thread_id, message.chat.id)
        return
    if closed is None:
        closed = known.closed if known is not None else False
    await audience.remember_topic(session, group, thread_id, name or "", closed=closed)
    await session.commit()
    log.info("topic %s of group %s recorded (closed: %s)", thread_id, message.chat.id, closed)


@router.message(Command("groupkind"))
async def ask_group_kind(
    message: Message,
    session: AsyncSession,
    community: Community,
    is_facilitator: bool,
    t: LocalTexts,
) -> None:
    if not is_facilitator:
        await message.reply(t("common/facilitators_only"))
        return
    group = await ensure_known_group(message, session, community)
    keyboard = InlineKeyboardBuilder()
    for kind in KINDS:
        keyboard.button(text=t.label("groups", kind), callback_data=GroupKind(kind=kind))
    keyboard.adjust(2)
    await message.reply(t("groups/ask_kind", group=group), reply_markup=keyboard.as_markup())


@router.callback_query(GroupKind.filter())
async def group_kind_chosen(
    callback: CallbackQuery,
    callback_data: GroupKind,
    session: AsyncSession,
    community: Community,
    is_facilitator: bool,
    t: LocalTexts,
) -> None:
    if not is_facilitator:
        await callback.answer(t.alert("common/facilitators_only"), show_alert=True)
        return
    message = callback.message
    if not isinstance(message, Message) or message.chat.type not in ("group", "supergroup"):
        await callback.answer()
        return
    if callback_data.kind not in KINDS:
        await callback.answer(t.alert("groups/kind_unknown"), show_alert=True)
        return
    group = await ensure_known_group(message, session, community)

    if callback_data.kind == "bso" and not callback_data.bso_id:
        keyboard = InlineKeyboardBuilder()
        for listed in await people.list_bsos(session, group.community_id):
            keyboard.button(
                text=listed.short_name or listed.name,
                callback_data=GroupKind(kind="bso", bso_id=listed.id),
            )
        keyboard.adjust(2)
        await callback.answer()
        await message.edit_text(t("groups/ask_bso", group=group), reply_markup=keyboard.as_markup())
        return

    bso: Bso | None = None
    if callback_data.bso_id:
        bso = await people.get_bso(session, group.community_id, callback_data.bso_id)
        if bso is None:
            await callback.answer(t.alert("groups/kind_unknown"), show_alert=True)
            return
    group.kind = callback_data.kind
    group.bso_id = bso.id if bso else None
    await session.commit()
    log.info(
        "group %s kind set to %s by %s", group.telegram_chat_id, group.kind, callback.from_user.id
    )
    await callback.answer()
    await message.edit_text(
        t("groups/kind_set", group=group, kind=t.label("groups", group.kind), bso=bso)
    )


async def ensure_known_group(
    message: Message, session: AsyncSession, community: Community
) -> GroupChat:
    """Register a group the bot was in before it kept records of groups."""
    group, _ = await people.ensure_group(
        session,
        community_id=community.id,
        telegram_chat_id=message.chat.id,
        title=message.chat.title or "",
        chat_type=message.chat.type,
        is_forum=bool(message.chat.is_forum),
    )
    return group


@router.message(Command("community"))
async def ask_community(
    message: Message,
    session: AsyncSession,
    community: Community,
    is_facilitator: bool,
    t: LocalTexts,
) -> None:
    if not is_facilitator:
        await message.reply(t("common/facilitators_only"))
        return
    group = await ensure_known_group(message, session, community)
    await session.commit()
    keyboard = InlineKeyboardBuilder()
    for listed in await people.list_communities(session):
        keyboard.button(text=listed.name, callback_data=CommunityPick(community_id=listed.id))
    keyboard.adjust(1)
    await message.reply(
        t("groups/ask_community", group=group, community=community),
        reply_markup=keyboard.as_markup(),
    )


@router.callback_query(CommunityPick.filter())
async def community_chosen(
    callback: CallbackQuery,
    callback_data: CommunityPick,
    session: AsyncSession,
    is_facilitator: bool,
    t: LocalTexts,
) -> None:
    if not is_facilitator:
        await callback.answer(t.alert("common/facilitators_only"), show_alert=True)
        return
    message = callback.message
    chosen = await people.get_community(session, callback_data.community_id)
    if not isinstance(message, Message) or chosen is None:
        await callback.answer(t.alert("groups/kind_unknown"), show_alert=True)
        return
    group = await people.get_group(session, message.chat.id)
    if group is None:
        await callback.answer(t.alert("groups/kind_unknown"), show_alert=True)
        return
    group.community_id = chosen.id
    # A BSO belongs to one community, so a BSO group loses its BSO when it moves.
    group.bso_id = None
    await session.commit()
    log.info(
        "group %s moved to community %s by %s",
        group.telegram_chat_id,
        chosen.id,
        callback.from_user.id,
    )
    await callback.answer()
    await message.edit_text(t("groups/community_set", group=group, community=chosen))

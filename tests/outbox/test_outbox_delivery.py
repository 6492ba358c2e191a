"""A 200-recipient broadcast through the sandbox with blocked users, a migrated group, a
chat that does not exist and random 429 replies."""

from __future__ import annotations

from typing import Any

import pytest
from outbox_helpers import (
    MISSING_CHAT_ID,
    add_groups,
    add_pocs,
    copies_by_chat,
    counts,
    group_recipients,
    person_recipients,
    queue_broadcast,
    reports,
    send_requests,
)
from sqlalchemy import select

from bot.sandbox.harness import SandboxHarness
from storage import outbox
from storage.models import GroupChat, OutboxMessage, Person

POCS = 189
GROUPS = 10
BLOCKED_EVERY = 31  # PoCs 0, 31, 62 … block the bot: 7 of 189
TEXT = "Seed fair on Friday at <b>10 am</b>"
TEXT_MARKER = "Seed fair on Friday at 10 am"
CAPTION = "Field day at Nashik"
# The sandbox stores any bytes as a photo, so these need not be a valid JPEG.
PHOTO = b"\xff\xd8\xff\xe0 photo of the field day \xff\xd9"


@pytest.mark.parametrize("payload_kind", ["text", "copy"])
async def test_broadcast_reaches_each_chat_once(
    harness: SandboxHarness, start_sender: Any, payload_kind: str
) -> None:
    server = harness.server
    facilitator = harness.facilitator
    users = await add_pocs(harness, POCS)
    groups = await add_groups(harness, GROUPS)

    if payload_kind == "copy":
        original = await server.send_photo(
            facilitator, server.private_chat(facilitator), PHOTO, caption=CAPTION
        )
        await server.wait_idle()
        payload = outbox.copy_payload(facilitator.id, original["message_id"])
        marker = CAPTION
    else:
        original = {}
        payload = outbox.text_payload(TEXT)
        marker = TEXT_MARKER

    # Polling stops, so the sender alone meets the block, the removal and the migration.
    # Otherwise the bot's own update handlers would race it to the database.
    await harness.stop_bot()
    blocked = users[::BLOCKED_EVERY]
    for user in blocked:
        server.block(user)
    migrated_from = groups[0]
    migrated_to = server.migrate(migrated_from)
    removed = groups[1]
    removed.bot_status = "left"
    server.faults.flood_ratio(0.05, retry_after=1, seed=3, methods=["sendMessage", "copyMessage"])
    sender = await start_sender()

    recipients = [
        *person_recipients(users),
        *group_recipients(groups),
        outbox.Recipient(MISSING_CHAT_ID),
    ]
    assert len(recipients) == 200
    started_at = server.requests[-1].at
    broadcast_id = await queue_broadcast(harness, recipients, payload, title="Seed fair")
    await sender.idle(timeout=60)

    # Every reachable chat has exactly one copy; the others have none.
    reachable = {user.id for user in users if user not in blocked}
    reachable |= {group.id for group in groups if group not in (migrated_from, removed)}
    reachable.add(migrated_to.id)
    copies = copies_by_chat(harness, marker)
    assert set(copies) == reachable
    assert {chat_id: n for chat_id, n in copies.items() if n != 1} == {}
    floods = [r for r in send_requests(harness, since=started_at) if r.status == 429]
    assert floods, "the flood switch should have answered some requests with 429"

    if payload_kind == "copy":
        file_id = original["photo"][-1]["file_id"]
        for message in server.bot_messages():
            if CAPTION in message.text:
                assert message.kind == "photo"
                assert message.raw["photo"][-1]["file_id"] == file_id

    # The migrated group: a 400 with migrate_to_chat_id at the old id, one copy at the new.
    old_id_replies = [
        r.status
        for r in send_requests(harness, since=started_at)
        if int(r.params["chat_id"]) == migrated_from.id
    ]
    assert 400 in old_id_replies
    assert 200 not in old_id_replies

    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        open_chats = dict(
            (await session.execute(select(Person.telegram_id, Person.private_chat_open))).all()
        )
        groups_by_id = {
            group.telegram_chat_id: group for group in (await session.scalars(select(GroupChat)))
        }
        migrated_row = await session.scalar(
            select(OutboxMessage).where(
                OutboxMessage.broadcast_id == broadcast_id,
                OutboxMessage.chat_id == migrated_to.id,
            )
        )

    assert {user.id for user in users if not open_chats[user.id]} == {u.id for u in blocked}
    assert migrated_from.id not in groups_by_id
    assert groups_by_id[migrated_to.id].chat_type == "supergroup"
    assert groups_by_id[migrated_to.id].active
    assert not groups_by_id[removed.id].active
    assert [g.id for g in groups[2:] if not groups_by_id[g.id].active] == []
    assert migrated_row is not None
    assert migrated_row.status == "sent"

    delivered = len(reachable)
    result = await counts(harness, broadcast_id)
    assert result.total == 200
    assert result.sent == delivered
    assert dict(result.failed) == {
        "blocked": len(blocked),
        "removed": 1,
        "chat_not_found": 1,
    }
    assert result.pending == 0
    assert result.unconfirmed == 0
    assert result.cancelled == 0

    sent_reports = reports(harness)
    assert len(sent_reports) == 1
    report = sent_reports[0].text
    assert f"Delivered: {delivered} of 200" in report
    assert f"Not delivered, blocked the bot: {len(blocked)}" in report
    assert "Not delivered, removed the bot from the group: 1" in report
    assert "Not delivered, chat no longer exists: 1" in report
    assert "Not confirmed" not in report

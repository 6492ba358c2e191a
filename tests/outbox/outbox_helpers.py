"""Steps shared by the outbox tests: recipients, broadcasts and what the sandbox received."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select

from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import BotMessage, RecordedRequest, SandboxChat, SandboxUser
from storage import outbox
from storage.models import Bso, Community, OutboxMessage, Person

SEND_METHODS = frozenset({"sendmessage", "copymessage"})
REPORT_HEADER = "Delivery report"
# A chat id the sandbox has never seen, so sending to it fails with "chat not found".
MISSING_CHAT_ID = 999_999_999


async def community_id(harness: SandboxHarness) -> int:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        found = await session.scalar(select(Community.id).order_by(Community.id).limit(1))
    assert found is not None, "the harness should have created a community"
    return found


async def add_pocs(
    harness: SandboxHarness, count: int, *, prefix: str = "poc"
) -> list[SandboxUser]:
    """Create sandbox users who started the bot, each with an approved Person row."""
    assert harness.app is not None
    owner = await community_id(harness)
    users = []
    async with harness.app.sessionmaker.begin() as session:
        for number in range(count):
            user = harness.server.user(f"{prefix}{number}")
            user.started = True
            session.add(
                Person(
                    community_id=owner,
                    telegram_id=user.id,
                    telegram_name=user.first_name,
                    name=user.first_name,
                    status="approved",
                    private_chat_open=True,
                )
            )
            users.append(user)
    return users


async def add_groups(
    harness: SandboxHarness, count: int, *, prefix: str = "Group"
) -> list[SandboxChat]:
    """Add the bot to `count` basic groups and wait until it has recorded each of them."""
    groups = [
        harness.server.group(f"{prefix} {number}", added_by=harness.facilitator)
        for number in range(count)
    ]
    await harness.server.wait_idle()
    return groups


def person_recipients(users: Iterable[SandboxUser]) -> list[outbox.Recipient]:
    return [outbox.Recipient(user.id) for user in users]


def group_recipients(groups: Iterable[SandboxChat]) -> list[outbox.Recipient]:
    return [outbox.Recipient(group.id, is_group=True) for group in groups]


async def queue_broadcast(
    harness: SandboxHarness,
    recipients: Sequence[outbox.Recipient],
    payload: dict[str, Any],
    *,
    title: str = "Broadcast",
    report: bool = True,
    send_at: dt.datetime | None = None,
) -> int:
    """Queue a broadcast (due now unless `send_at` is given), wake the sender, return its id."""
    assert harness.app is not None
    owner = await community_id(harness)
    now = harness.clock.now()
    async with harness.app.sessionmaker.begin() as session:
        broadcast = await outbox.create_broadcast(
            session,
            community_id=owner,
            recipients=recipients,
            payload=payload,
            send_at=send_at or now,
            now=now,
            title=title,
            report_chat_id=harness.facilitator.id if report else None,
            report_locale="en",
        )
        broadcast_id = broadcast.id
    harness.app.outbox.wake()
    return broadcast_id


async def row_statuses(harness: SandboxHarness, broadcast_id: int) -> dict[int, str]:
    """Status of every row of a broadcast, by chat id."""
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        rows = (
            await session.execute(
                select(OutboxMessage.chat_id, OutboxMessage.status).where(
                    OutboxMessage.broadcast_id == broadcast_id
                )
            )
        ).all()
    return {chat_id: status for chat_id, status in rows}


async def counts(harness: SandboxHarness, broadcast_id: int) -> outbox.DeliveryCounts:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        return await outbox.delivery_counts(session, broadcast_id)


def copies_by_chat(harness: SandboxHarness, marker: str) -> Counter[int]:
    """How many bot messages containing `marker` (text or caption) each chat received."""
    found: Counter[int] = Counter()
    for message in harness.server.bot_messages():
        if marker in message.text:
            found[message.chat_id] += 1
    return found


def reports(harness: SandboxHarness) -> list[BotMessage]:
    return [
        message
        for message in harness.server.bot_messages(harness.facilitator.id)
        if REPORT_HEADER in message.text
    ]


def send_requests(harness: SandboxHarness, *, since: float = 0.0) -> list[RecordedRequest]:
    """sendMessage and copyMessage requests that arrived at or after `since` (monotonic)."""
    return [
        request
        for request in harness.server.requests
        if request.method.lower() in SEND_METHODS and request.at >= since
    ]


def arrivals_by_chat(requests: Iterable[RecordedRequest]) -> dict[int, list[float]]:
    """Arrival times of the requests to each chat, in order."""
    found: dict[int, list[float]] = defaultdict(list)
    for request in requests:
        found[int(request.params["chat_id"])].append(request.at)
    return found


def max_in_window(moments: Sequence[float], window_s: float) -> int:
    """Largest number of `moments` (sorted) within any half-open window [t, t + window_s)."""
    largest = 0
    start = 0
    for end, moment in enumerate(moments):
        while moment - moments[start] >= window_s:
            start += 1
        largest = max(largest, end - start + 1)
    return largest


async def queue_notices(
    harness: SandboxHarness, recipients: Sequence[outbox.Recipient], texts: Iterable[str]
) -> None:
    """Queue every text to every recipient as rows outside any broadcast, then wake the sender."""
    assert harness.app is not None
    owner = await community_id(harness)
    now = harness.clock.now()
    async with harness.app.sessionmaker.begin() as session:
        for text in texts:
            outbox.add_rows(
                session,
                community_id=owner,
                recipients=recipients,
                payload=outbox.text_payload(text),
                not_before=now,
            )
    harness.app.outbox.wake()


CHECKIN_BUTTON = "ci1:"


async def add_bsos_with_pocs(harness: SandboxHarness, count: int) -> list[int]:
    """Add `count` BSOs with one approved PoC each who started the bot; return the PoCs' chat ids."""
    assert harness.app is not None
    owner = await community_id(harness)
    chat_ids = []
    async with harness.app.sessionmaker.begin() as session:
        for number in range(count):
            bso = Bso(community_id=owner, name=f"BSO {number}", name_key=f"bso {number}")
            session.add(bso)
            await session.flush()
            user = harness.server.user(f"poc{number}")
            user.started = True
            session.add(
                Person(
                    community_id=owner,
                    telegram_id=user.id,
                    telegram_name=user.first_name,
                    name=user.first_name,
                    status="approved",
                    bso_id=bso.id,
                    private_chat_open=True,
                )
            )
            chat_ids.append(user.id)
    return chat_ids


def checkin_prompts(harness: SandboxHarness) -> Counter[int]:
    """How many messages with a check-in button each chat received."""
    found: Counter[int] = Counter()
    for message in harness.server.bot_messages():
        if any(
            (button.callback_data or "").startswith(CHECKIN_BUTTON)
            for row in message.buttons
            for button in row
        ):
            found[message.chat_id] += 1
    return found

"""The outbox: messages written here first and sent later by bot.outbox.OutboxSender.

Writers add rows inside their own transaction, so a message exists exactly when the
change that caused it was committed. The sender claims one row at a time with a
conditional update, which is what keeps a row from being sent twice by two senders or
after a restart.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Broadcast, GroupChat, OutboxMessage, Person

# Row statuses after which the sender never touches a row again.
FINAL_STATUSES = ("sent", "failed", "cancelled", "unconfirmed")
OPEN_STATUSES = ("pending", "sending")
# Priorities: bulk sends yield to single notices such as a delivery report.
BULK = 0
NOTICE = 10


@dataclass(frozen=True)
class Recipient:
    """One chat a message goes to: a PoC's private chat, a group, or a forum topic."""

    chat_id: int
    thread_id: int = 0
    is_group: bool = False
    person_id: int | None = None


def copy_payload(
    from_chat_id: int,
    message_id: int,
    *,
    caption: str | None = None,
    reply_markup: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Payload that copies a message as it is, so media and formatting survive."""
    payload: dict[str, Any] = {
        "method": "copy",
        "from_chat_id": from_chat_id,
        "message_id": message_id,
    }
    if caption is not None:
        payload["caption"] = caption
    if reply_markup is not None:
        payload["reply_markup"] = reply_markup
    return payload


def text_payload(
    text: str, *, reply_markup: dict[str, Any] | None = None, link_preview: bool = False
) -> dict[str, Any]:
    """Payload of an HTML text message rendered by the caller."""
    payload: dict[str, Any] = {"method": "text", "text": text, "link_preview": link_preview}
    if reply_markup is not None:
        payload["reply_markup"] = reply_markup
    return payload


def add_rows(
    session: AsyncSession,
    *,
    community_id: int,
    recipients: Iterable[Recipient],
    payload: dict[str, Any],
    not_before: dt.datetime,
    broadcast_id: int | None = None,
    priority: int = BULK,
) -> int:
    """Add one pending row per distinct recipient; return how many were added."""
    seen: set[tuple[int, int]] = set()
    for recipient in recipients:
        key = (recipient.chat_id, recipient.thread_id)
        if key in seen:
            continue
        seen.add(key)
        session.add(
            OutboxMessage(
                community_id=community_id,
                broadcast_id=broadcast_id,
                chat_id=recipient.chat_id,
                thread_id=recipient.thread_id,
                is_group=recipient.is_group,
                person_id=recipient.person_id,
                payload=payload,
                priority=priority,
                not_before=not_before,
            )
        )
    return len(seen)


async def add_unique(
    session: AsyncSession,
    *,
    community_id: int,
    recipient: Recipient,
    payload: dict[str, Any],
    not_before: dt.datetime,
    dedup_key: str,
    broadcast_id: int | None = None,
    priority: int = NOTICE,
) -> bool:
    """Add a row unless one with `dedup_key` exists; return whether it was added.

    The unique index on dedup_key is the real guard when two writers race; this check
    only spares the common case an IntegrityError.
    """
    found = await session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedup_key == dedup_key)
    )
    if found is not None:
        return False
    session.add(
        OutboxMessage(
            community_id=community_id,
            broadcast_id=broadcast_id,
            chat_id=recipient.chat_id,
            thread_id=recipient.thread_id,
            is_group=recipient.is_group,
            person_id=recipient.person_id,
            payload=payload,
            priority=priority,
            not_before=not_before,
            dedup_key=dedup_key,
        )
    )
    await session.flush()
    return True


async def create_broadcast(
    session: AsyncSession,
    *,
    community_id: int,
    recipients: Sequence[Recipient],
    payload: dict[str, Any],
    send_at: dt.datetime,
    now: dt.datetime,
    kind: str = "broadcast",
    title: str = "",
    audience: dict[str, Any] | None = None,
    created_by: int | None = None,
    report_chat_id: int | None = None,
    report_locale: str | None = None,
    unreachable: int = 0,
) -> Broadcast:
    """Record a broadcast and queue one row per recipient, due at `send_at`."""
    broadcast = Broadcast(
        # The bot's clock, which the sandbox can move, rather than the machine's.
        created_at=now,
        updated_at=now,
        community_id=community_id,
        kind=kind,
        title=title[:200],
        audience=audience or {},
        created_by=created_by,
        report_chat_id=report_chat_id,
        report_locale=report_locale,
        send_at=max(send_at, now),
        status="scheduled" if send_at > now else "sending",
        unreachable=unreachable,
        started_at=None if send_at > now else now,
    )
    session.add(broadcast)
    await session.flush()
    broadcast.recipients = add_rows(
        session,
        community_id=community_id,
        recipients=recipients,
        payload=payload,
        not_before=broadcast.send_at,
        broadcast_id=broadcast.id,
    )
    if broadcast.recipients == 0:
        broadcast.status = "done"
        broadcast.finished_at = now
    await session.flush()
    return broadcast


# -- what the sender reads and writes ---------------------------------------------------


@dataclass(frozen=True)
class DueRow:
    id: int
    chat_id: int
    is_group: bool
    priority: int


async def due_rows(
    session: AsyncSession, now: dt.datetime, *, limit: int, exclude: Iterable[int] = ()
) -> list[DueRow]:
    """Pending rows whose time has come, notices first, then oldest first."""
    query = (
        select(
            OutboxMessage.id, OutboxMessage.chat_id, OutboxMessage.is_group, OutboxMessage.priority
        )
        .where(OutboxMessage.status == "pending", OutboxMessage.not_before <= now)
        .order_by(OutboxMessage.priority.desc(), OutboxMessage.not_before, OutboxMessage.id)
        .limit(limit)
    )
    excluded = list(exclude)
    if excluded:
        query = query.where(OutboxMessage.id.not_in(excluded))
    rows = (await session.execute(query)).all()
    return [DueRow(row.id, row.chat_id, row.is_group, row.priority) for row in rows]


async def next_due_at(session: AsyncSession) -> dt.datetime | None:
    return await session.scalar(
        select(func.min(OutboxMessage.not_before)).where(OutboxMessage.status == "pending")
    )


async def claim(session: AsyncSession, row_id: int, now: dt.datetime) -> OutboxMessage | None:
    """Mark a pending row as being sent and return it, or None when another sender has it.

    The update is conditional on the status, so of two senders exactly one succeeds.
    The caller commits before it sends.
    """
    statement = (
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.status == "pending")
        .values(status="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1)
    )
    row: OutboxMessage | None
    if session.get_bind().dialect.update_returning:
        # One statement instead of an update and a select: the sender claims every row.
        row = (
            await session.scalars(
                statement.returning(OutboxMessage).execution_options(
                    synchronize_session=False, populate_existing=True
                )
            )
        ).one_or_none()
    else:
        result = await session.execute(statement.execution_options(synchronize_session=False))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        row = await session.get(OutboxMessage, row_id, populate_existing=True)
    if row is not None and row.broadcast_id is not None:
        await session.execute(
            update(Broadcast)
            .where(Broadcast.id == row.broadcast_id, Broadcast.status == "scheduled")
            .values(status="sending", started_at=now)
        )
    return row


@dataclass(frozen=True)
class SentRow:
    """A claimed row whose message Telegram accepted."""

    row_id: int
    message_id: int
    sent_at: dt.datetime


_outbox_table = cast(Table, OutboxMessage.__table__)
# Built once: the sender records every row, and building the statement is a good part
# of its cost. Bound names differ from column names, which SQLAlchemy reserves.
_MARK_SENT = (
    update(_outbox_table)
    .where(_outbox_table.c.id == bindparam("sent_row_id"))
    .values(
        status="sent",
        sent_at=bindparam("sent_sent_at"),
        message_id=bindparam("sent_message_id"),
        error=None,
        error_detail=None,
    )
)


async def mark_sent(session: AsyncSession, rows: Sequence[SentRow]) -> None:
    """Record sent rows with one executemany UPDATE.

    A plain UPDATE rather than changed attributes of loaded rows, because the ORM's
    flush costs several times as much.
    """
    if not rows:
        return
    await session.execute(
        _MARK_SENT,
        [
            {
                "sent_row_id": row.row_id,
                "sent_sent_at": row.sent_at,
                "sent_message_id": row.message_id,
            }
            for row in rows
        ],
    )


async def release_stale_claims(session: AsyncSession, older_than: dt.datetime) -> list[int]:
    """Turn rows left in `sending` by a sender that died into `unconfirmed`; return their ids.

    Such a row was claimed and its request may or may not have reached Telegram, so it is
    not sent again: a possible loss is reported instead of a possible duplicate.
    """
    ids = list(
        (
            await session.scalars(
                select(OutboxMessage.id).where(
                    OutboxMessage.status == "sending", OutboxMessage.claimed_at < older_than
                )
            )
        ).all()
    )
    if ids:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sending")
            .values(
                status="unconfirmed",
                error="unconfirmed",
                error_detail="the sender stopped after claiming it",
            )
        )
    return ids


async def cancel_pending_for_chat(
    session: AsyncSession, chat_id: int, reason: str, *, except_id: int | None = None
) -> int:
    """Fail the other pending rows to a chat the bot can no longer write to."""
    query = update(OutboxMessage).where(
        OutboxMessage.chat_id == chat_id, OutboxMessage.status == "pending"
    )
    if except_id is not None:
        query = query.where(OutboxMessage.id != except_id)
    result = await session.execute(
        query.values(status="failed", error=reason, error_detail="skipped: an earlier send failed")
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def move_chat(session: AsyncSession, old_chat_id: int, new_chat_id: int) -> None:
    """Point unsent rows of a group that became a supergroup at its new id."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.chat_id == old_chat_id, OutboxMessage.status == "pending")
        .values(chat_id=new_chat_id)
    )


async def mark_recipient_inactive(session: AsyncSession, row: OutboxMessage) -> None:
    """Stop writing to a chat that blocked the bot, removed it, or no longer exists."""
    if row.is_group:
        await session.execute(
            update(GroupChat).where(GroupChat.telegram_chat_id == row.chat_id).values(active=False)
        )
        return
    await session.execute(
        update(Person).where(Person.telegram_id == row.chat_id).values(private_chat_open=False)
    )


# -- broadcasts -------------------------------------------------------------------------


@dataclass
class DeliveryCounts:
    """How the rows of one broadcast ended, for the report and for /broadcasts."""

    total: int = 0
    sent: int = 0
    pending: int = 0
    cancelled: int = 0
    unconfirmed: int = 0
    failed: Counter[str] = field(default_factory=Counter)

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())


async def delivery_counts(session: AsyncSession, broadcast_id: int) -> DeliveryCounts:
    rows = (
        await session.execute(
            select(OutboxMessage.status, OutboxMessage.error, func.count())
            .where(OutboxMessage.broadcast_id == broadcast_id)
            .group_by(OutboxMessage.status, OutboxMessage.error)
        )
    ).all()
    counts = DeliveryCounts()
    for status, error, number in rows:
        counts.total += number
        if status == "sent":
            counts.sent += number
        elif status in OPEN_STATUSES:
            counts.pending += number
        elif status == "cancelled":
            counts.cancelled += number
        elif status == "unconfirmed":
            counts.unconfirmed += number
        else:
            counts.failed[error or "unknown"] += number
    return counts


async def finish_if_complete(
    session: AsyncSession, broadcast_id: int, now: dt.datetime
) -> Broadcast | None:
    """Mark a sending broadcast done once none of its rows is open; return it if so.

    The status update is conditional, so of several callers exactly one gets the
    broadcast back and queues its report.
    """
    still_open = await session.scalar(
        select(
            exists().where(
                OutboxMessage.broadcast_id == broadcast_id,
                OutboxMessage.status.in_(OPEN_STATUSES),
            )
        )
    )
    if still_open:
        return None
    result = await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.status.in_(("sending", "scheduled")))
        .values(status="done", finished_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return await session.get(Broadcast, broadcast_id, populate_existing=True)


async def unfinished_broadcasts(session: AsyncSession, now: dt.datetime) -> list[int]:
    """Broadcasts marked sending, or scheduled and due, that have no open row left."""
    open_rows = exists().where(
        OutboxMessage.broadcast_id == Broadcast.id, OutboxMessage.status.in_(OPEN_STATUSES)
    )
    query = select(Broadcast.id).where(
        or_(
            Broadcast.status == "sending",
            and_(Broadcast.status == "scheduled", Broadcast.send_at <= now),
        ),
        ~open_rows,
    )
    return list((await session.scalars(query)).all())


async def stop_broadcast(
    session: AsyncSession, broadcast_id: int, *, by: int | None, now: dt.datetime
) -> Broadcast | None:
    """Cancel a scheduled broadcast or stop a running one; None if it had ended already.

    Rows already claimed by the sender still go out; every pending row is cancelled in
    the same transaction, and the sender claims only pending rows.
    """
    broadcast = await session.get(Broadcast, broadcast_id, populate_existing=True)
    if broadcast is None or broadcast.status not in ("scheduled", "sending"):
        return None
    new_status = "cancelled" if broadcast.status == "scheduled" else "stopped"
    result = await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.status == broadcast.status)
        .values(status=new_status, stopped_by=by, finished_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.status == "pending")
        .values(status="cancelled")
    )
    await session.refresh(broadcast)
    return broadcast


async def recent_broadcasts(
    session: AsyncSession, community_id: int, *, limit: int = 10
) -> list[Broadcast]:
    """Scheduled and running broadcasts first, then the latest ones."""
    active = (
        await session.scalars(
            select(Broadcast)
            .where(
                Broadcast.community_id == community_id,
                Broadcast.status.in_(("scheduled", "sending")),
            )
            .order_by(Broadcast.send_at)
        )
    ).all()
    ended = (
        await session.scalars(
            select(Broadcast)
            .where(
                Broadcast.community_id == community_id,
                Broadcast.status.not_in(("scheduled", "sending")),
            )
            .order_by(Broadcast.id.desc())
            .limit(limit)
        )
    ).all()
    return [*active, *ended]

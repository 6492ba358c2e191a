"""The outbox sender: one task that sends queued rows within Telegram's limits.

Each row goes through three steps:

1. claim: pending -> sending, a conditional update that only one sender can win, in a
   transaction of its own;
2. the request to Telegram;
3. the outcome: sent, failed with a reason, or pending again for a retry. Rows sent at
   about the same time are recorded in one transaction; any other outcome has its own.

A row is never sent twice because only a pending row can be claimed, and a claimed row
becomes pending again only when Telegram surely did not take it (a 429, a 5xx reply, a
connection that never opened, a group that moved to a new id). The one window that
cannot be closed is a process killed between Telegram accepting a message and step 3
committing: that row stays `sending`, and after `stale_claim` it is marked unconfirmed,
never resent. A row is claimed only once it has one of the `concurrency` request slots,
which keeps at most that many rows in the window.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardMarkup, LinkPreviewOptions
from aiohttp import ClientConnectorError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.ratelimit import RateGate, SendLimits
from storage import outbox, people
from storage.models import Broadcast, OutboxMessage

log = logging.getLogger(__name__)

ReportRenderer = Callable[[Broadcast, outbox.DeliveryCounts], str]


@dataclass(frozen=True)
class SenderSettings:
    limits: SendLimits = SendLimits()
    # Requests in flight at once; the rate gate, not this, sets the pace.
    concurrency: int = 8
    batch: int = 500
    # Seconds between looks at the database when nothing woke the sender.
    poll_interval: float = 1.0
    # Seconds between housekeeping runs (dead claims, finished broadcasts) without a wake-up.
    tick_interval: float = 15.0
    # Tries before a row that keeps meeting 5xx replies or refused connections fails.
    max_attempts: int = 5
    # 429 replies a row may meet before it fails with reason "flood".
    max_floods: int = 20
    # Seconds a request may take; a claim older than stale_claim belongs to a dead sender.
    request_timeout: int = 30
    stale_claim: float = 90.0
    # 429s within one second that mean the bot as a whole is too fast, so all sends pause:
    # flood_burst, or flood_share of the sends per second if that is more. Each 429 is the
    # reply to a request to one chat, so a few scattered ones hold only their chats.
    flood_burst: int = 5
    flood_share: float = 0.1


# Senders running in this process, so that code which queued rows can wake them at once
# instead of waiting for their next poll. Senders in other processes poll.
_running: set[OutboxSender] = set()


async def wake_senders() -> None:
    """Wake every sender of this process; await it after committing new outbox rows.

    It is a coroutine function so that it can be handed to FormContext.after_commit.
    """
    for sender in _running:
        sender.wake()


class OutboxSender:
    """Start with `start(bot)` once the bot is up; `stop()` lets requests in flight finish."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        settings: SenderSettings | None = None,
        *,
        render_report: ReportRenderer | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.settings = settings or SenderSettings()
        self.render_report = render_report
        self.gate = RateGate(self.settings.limits)
        self._bot: Bot | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._wake = asyncio.Event()
        self._tick_requested = False
        self._in_cycle = False
        self._last_tick = 0.0
        self._slots = asyncio.Semaphore(self.settings.concurrency)
        # Held while a claimed row waits for its turn in the global pace, so that turns
        # are booked one at a time, in order.
        self._turn = asyncio.Lock()
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._busy_chats: set[int] = set()
        self._waiting_chats: set[int] = set()
        self._floods: list[float] = []
        self._sent_by_broadcast: dict[int, int] = {}
        # Claimed rows of each broadcast whose outcome this sender has not committed yet.
        self._open_by_broadcast: Counter[int] = Counter()
        # Sent rows waiting to be recorded, and the lock held while some are recorded.
        self._unrecorded: list[tuple[outbox.SentRow, asyncio.Future[None]]] = []
        self._recording = asyncio.Lock()
        # SQLite lets one connection write at a time, and its default busy handler makes
        # the others sleep and retry for up to 100 ms a time (sqliteDefaultBusyCallback),
        # so on SQLite this sender's transactions take turns here instead.
        engine = sessionmaker.kw.get("bind")
        on_sqlite = engine is not None and engine.dialect.name == "sqlite"
        self._write_lock: asyncio.Lock | None = asyncio.Lock() if on_sqlite else None

    # -- life cycle --------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self, bot: Bot) -> None:
        if self.running:
            return
        self._bot = bot
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-sender")
        _running.add(self)

    async def stop(self) -> None:
        """Claim nothing more, and wait for the requests in flight to end and be recorded."""
        self._stopping = True
        _running.discard(self)
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._in_flight:
            await asyncio.gather(*self._in_flight.values(), return_exceptions=True)

    async def kill(self) -> None:
        """Cancel everything at once, leaving claimed rows as a crash would (for tests)."""
        self._stopping = True
        _running.discard(self)
        tasks = [*self._in_flight.values()]
        if self._task is not None:
            tasks.append(self._task)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None

    def wake(self, *, tick: bool = False) -> None:
        """Look for due rows now rather than at the next poll; `tick` runs housekeeping too."""
        if tick:
            self._tick_requested = True
        self._wake.set()

    async def idle(self, timeout: float = 30.0, *, horizon: float = 5.0) -> None:
        """Wait until nothing is in flight, a requested tick has run and no row is due
        within `horizon` seconds (a retry after a 429 counts; a scheduled broadcast next
        week does not)."""
        deadline = time.monotonic() + timeout
        while True:
            if self._task is not None and self._task.done():
                self._task.result()
            # A cycle in progress may be about to commit rows, such as a delivery report
            # queued by its housekeeping, that the query below cannot see yet.
            quiet = not self._in_flight and not self._in_cycle
            if quiet and not self._tick_requested and not self._wake.is_set():
                soon = self.clock.now() + dt.timedelta(seconds=horizon)
                async with self.sessionmaker() as session:
                    due = await outbox.due_rows(session, soon, limit=1)
                if not due and not self._in_flight and not self._in_cycle:
                    return
            if time.monotonic() >= deadline:
                raise TimeoutError(f"outbox not idle after {timeout} s")
            await asyncio.sleep(0.01)

    # -- the loop --------------------------------------------------------------------

    async def _run(self) -> None:
        log.info("outbox sender started")
        while not self._stopping:
            self._in_cycle = True
            try:
                dispatched, ready_at = await self._cycle()
            except Exception:
                log.exception("outbox cycle failed; retrying in %s s", self.settings.poll_interval)
                dispatched, ready_at = 0, None
            finally:
                self._in_cycle = False
            if self._stopping:
                break
            if dispatched:
                continue
            timeout = self.settings.poll_interval
            if ready_at is not None:
                timeout = max(0.0, min(timeout, ready_at - time.monotonic()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
        log.info("outbox sender stopped")

    async def _cycle(self) -> tuple[int, float | None]:
        self._wake.clear()
        monotonic = time.monotonic()
        if self._tick_requested or monotonic - self._last_tick >= self.settings.tick_interval:
            self._tick_requested = False
            self._last_tick = monotonic
            await self._housekeeping()
        async with self.sessionmaker() as session:
            rows = await outbox.due_rows(
                session,
                self.clock.now(),
                limit=self.settings.batch,
                exclude=list(self._in_flight),
            )
        dispatched = 0
        ready_at: float | None = None
        for row in rows:
            if self._stopping:
                break
            if row.chat_id in self._busy_chats:
                self._waiting_chats.add(row.chat_id)
                continue
            chat_ready = self.gate.chat_ready_at(row.chat_id, row.is_group)
            if chat_ready > time.monotonic():
                ready_at = chat_ready if ready_at is None else min(ready_at, chat_ready)
                continue
            await self._slots.acquire()
            if self._stopping or self.gate.chat_ready_at(row.chat_id, row.is_group) > (
                time.monotonic()
            ):
                # A 429 arrived while this row waited for its slot.
                self._slots.release()
                continue
            self._busy_chats.add(row.chat_id)
            self._in_flight[row.id] = asyncio.create_task(self._deliver(row))
            dispatched += 1
        return dispatched, ready_at

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[None]:
        """Hold this sender's write turn for one transaction (on SQLite only)."""
        if self._write_lock is None:
            yield
            return
        async with self._write_lock:
            yield

    async def _sleep_until(self, moment: float) -> None:
        delay = moment - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    async def _housekeeping(self) -> None:
        """Expire dead claims and finish broadcasts."""
        now = self.clock.now()
        async with self._writing(), self.sessionmaker.begin() as session:
            stale = await outbox.release_stale_claims(
                session, now - dt.timedelta(seconds=self.settings.stale_claim)
            )
        for row_id in stale:
            log.warning("outbox row %s left claimed by a stopped sender: unconfirmed", row_id)
        async with self._writing(), self.sessionmaker.begin() as session:
            for broadcast_id in await outbox.unfinished_broadcasts(session, now):
                await self._finish(session, broadcast_id, now)

    # -- one row -----------------------------------------------------------------------

    async def _deliver(self, due: outbox.DueRow) -> None:
        counted: int | None = None
        try:
            async with self.sessionmaker() as session:
                async with self._writing(), session.begin():
                    row = await outbox.claim(session, due.id, self.clock.now())
                if row is None:
                    return
                if row.broadcast_id is not None:
                    counted = row.broadcast_id
                    self._open_by_broadcast[counted] += 1
                await self._wait_turn(row)
                try:
                    message_id = await self._request(row)
                except Exception as error:  # noqa: BLE001 - every outcome is recorded below
                    async with self._writing(), session.begin():
                        await self._record_failure(session, row, error)
                else:
                    await self._record_sent(row, message_id)
            if counted is not None:
                broadcast_id, counted = counted, None
                if self._uncount(broadcast_id):
                    await self._finish_committed(broadcast_id)
        except Exception:
            log.exception("outbox row %s: recording its outcome failed", due.id)
        finally:
            if counted is not None:
                self._uncount(counted)
            self._in_flight.pop(due.id, None)
            self._busy_chats.discard(due.chat_id)
            self._slots.release()
            if due.chat_id in self._waiting_chats:
                self._waiting_chats.discard(due.chat_id)
                self._wake.set()

    async def _wait_turn(self, row: OutboxMessage) -> None:
        """Wait until the global pace lets this request start, and count it as starting.

        The gate counts a send when its request starts rather than when its row was
        picked, because the claim's transaction takes a varying time: counted earlier,
        two requests could reach Telegram closer together than the limits allow.
        """
        async with self._turn:
            while (ready := self.gate.global_ready_at()) > time.monotonic():
                # Loops because a burst of 429s may extend the hold while this waits.
                await self._sleep_until(ready)
            self.gate.record(row.chat_id, row.is_group)

    async def _request(self, row: OutboxMessage) -> int:
        assert self._bot is not None
        payload: dict[str, Any] = row.payload
        markup = payload.get("reply_markup")
        reply_markup = InlineKeyboardMarkup.model_validate(markup) if markup else None
        thread_id = row.thread_id or None
        timeout = self.settings.request_timeout
        if payload.get("method") == "copy":
            result = await self._bot.copy_message(
                chat_id=row.chat_id,
                from_chat_id=int(payload["from_chat_id"]),
                message_id=int(payload["message_id"]),
                message_thread_id=thread_id,
                caption=payload.get("caption"),
                reply_markup=reply_markup,
                request_timeout=timeout,
            )
            return result.message_id
        message = await self._bot.send_message(
            chat_id=row.chat_id,
            text=str(payload["text"]),
            message_thread_id=thread_id,
            reply_markup=reply_markup,
            link_preview_options=LinkPreviewOptions(is_disabled=not payload.get("link_preview")),
            request_timeout=timeout,
        )
        return message.message_id

    async def _record_sent(self, row: OutboxMessage, message_id: int) -> None:
        """Record a sent row, in one transaction with the rows sent while it waited.

        The first row to get the lock records every row waiting by then, so at a high
        rate a handful of rows share a commit, and a row sent alone is recorded at once.
        Returns once the row's transaction has committed, and raises its error if not.
        """
        recorded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._unrecorded.append((outbox.SentRow(row.id, message_id, self.clock.now()), recorded))
        async with self._recording:
            if not recorded.done():
                batch, self._unrecorded = self._unrecorded, []
                try:
                    async with self._writing(), self.sessionmaker.begin() as session:
                        await outbox.mark_sent(session, [sent for sent, _ in batch])
                except asyncio.CancelledError:
                    for _, waiting in batch:
                        waiting.cancel()
                    raise
                except Exception as error:
                    for _, waiting in batch:
                        if not waiting.done():
                            waiting.set_exception(error)
                else:
                    # A waiting task cancelled meanwhile has its future cancelled already.
                    for _, waiting in batch:
                        if not waiting.done():
                            waiting.set_result(None)
        await recorded
        if row.broadcast_id is None:
            return
        sent = self._sent_by_broadcast.get(row.broadcast_id, 0) + 1
        self._sent_by_broadcast[row.broadcast_id] = sent
        if sent % 100 == 0:
            log.info("broadcast %s: %s sent by this process so far", row.broadcast_id, sent)

    async def _record_failure(
        self, session: AsyncSession, row: OutboxMessage, error: Exception
    ) -> None:
        now = self.clock.now()
        if isinstance(error, TelegramRetryAfter):
            await self._flooded(session, row, error.retry_after, now)
            return
        if isinstance(error, TelegramMigrateToChat):
            await self._migrated(session, row, error.migrate_to_chat_id, now)
            return
        if isinstance(error, TelegramUnauthorizedError):
            # The token was revoked: nothing was sent, and nothing will be until it is fixed.
            log.error(
                "outbox row %s: Telegram rejected the bot token; pausing sends for 60 s", row.id
            )
            self.gate.hold_all(60)
            self._retry(row, now, dt.timedelta(seconds=60), count=False)
            return
        if isinstance(error, TelegramForbiddenError):
            reason = "removed" if row.is_group else "blocked"
            await self._unreachable(session, row, reason, error.message)
            return
        if isinstance(error, TelegramBadRequest | TelegramNotFound):
            if "chat not found" in error.message.lower():
                await self._unreachable(session, row, "chat_not_found", error.message)
                return
            self._fail(row, "bad_request", error.message)
        elif isinstance(error, TelegramServerError):
            self._retry_or_fail(row, now, "server", error.message)
        elif isinstance(error, TelegramNetworkError):
            if isinstance(error.__cause__, ClientConnectorError):
                # The connection never opened, so Telegram cannot have the message.
                self._retry_or_fail(row, now, "network", error.message)
            else:
                # A timeout or a dropped connection after the request left: Telegram may
                # have delivered it, so sending again could duplicate it.
                row.status = "unconfirmed"
                row.error = "unconfirmed"
                row.error_detail = error.message[:255]
                log.warning(
                    "outbox row %s (broadcast %s): %s; not resent",
                    row.id,
                    row.broadcast_id,
                    error.message,
                )
        else:
            log.error(
                "outbox row %s (broadcast %s) failed: %s",
                row.id,
                row.broadcast_id,
                type(error).__name__,
                exc_info=error,
            )
            self._fail(row, "error", type(error).__name__)
        await session.flush()
        if row.status == "pending":
            self._wake_at(row.not_before, now)

    async def _flooded(
        self, session: AsyncSession, row: OutboxMessage, retry_after: int, now: dt.datetime
    ) -> None:
        self.gate.hold_chat(row.chat_id, retry_after)
        monotonic = time.monotonic()
        self._floods = [moment for moment in self._floods if monotonic - moment < 1.0]
        self._floods.append(monotonic)
        burst = max(
            self.settings.flood_burst, self.settings.flood_share * self.settings.limits.per_second
        )
        if len(self._floods) >= burst:
            log.warning(
                "outbox: %s replies of 429 within a second; pausing %s s",
                len(self._floods),
                retry_after,
            )
            self.gate.hold_all(retry_after)
            self._floods.clear()
        row.floods += 1
        if row.floods > self.settings.max_floods:
            self._fail(row, "flood", f"still limited after {row.floods} replies of 429")
            await session.flush()
            return
        log.info(
            "outbox row %s (broadcast %s): 429, retry after %s s",
            row.id,
            row.broadcast_id,
            retry_after,
        )
        self._retry(row, now, dt.timedelta(seconds=retry_after), count=False)
        await session.flush()
        self._wake_at(row.not_before, now)

    async def _migrated(
        self, session: AsyncSession, row: OutboxMessage, new_chat_id: int, now: dt.datetime
    ) -> None:
        old_chat_id = row.chat_id
        log.info(
            "outbox row %s (broadcast %s): group %s moved to %s; resending there",
            row.id,
            row.broadcast_id,
            old_chat_id,
            new_chat_id,
        )
        await people.migrate_group(session, old_chat_id, new_chat_id)
        await outbox.move_chat(session, old_chat_id, new_chat_id)
        row.chat_id = new_chat_id
        self._retry(row, now, dt.timedelta(0), count=False)
        await session.flush()
        self._wake.set()

    async def _unreachable(
        self, session: AsyncSession, row: OutboxMessage, reason: str, detail: str
    ) -> None:
        self._fail(row, reason, detail)
        await outbox.mark_recipient_inactive(session, row)
        skipped = await outbox.cancel_pending_for_chat(
            session, row.chat_id, reason, except_id=row.id
        )
        if skipped:
            log.info("outbox: %s more row(s) to the same chat skipped", skipped)
        await session.flush()

    def _fail(self, row: OutboxMessage, reason: str, detail: str) -> None:
        row.status = "failed"
        row.error = reason
        row.error_detail = detail[:255]
        log.warning(
            "outbox row %s (broadcast %s) failed: %s (%s)",
            row.id,
            row.broadcast_id,
            reason,
            detail,
        )

    def _retry_or_fail(
        self, row: OutboxMessage, now: dt.datetime, reason: str, detail: str
    ) -> None:
        if row.attempts >= self.settings.max_attempts:
            self._fail(row, reason, f"{detail} (after {row.attempts} tries)")
            return
        # Exponential backoff with jitter: 1, 2, 4, 8 … seconds, at most a minute.
        delay = min(60.0, 2.0 ** (row.attempts - 1)) * random.uniform(1.0, 1.25)
        log.info(
            "outbox row %s (broadcast %s): %s, try %s in %.1f s",
            row.id,
            row.broadcast_id,
            detail,
            row.attempts + 1,
            delay,
        )
        self._retry(row, now, dt.timedelta(seconds=delay), count=True)

    @staticmethod
    def _retry(row: OutboxMessage, now: dt.datetime, delay: dt.timedelta, *, count: bool) -> None:
        row.status = "pending"
        row.not_before = now + delay
        row.claimed_at = None
        if not count:
            # 429s and moves are not the row's fault; only real failures use up tries.
            row.attempts = max(0, row.attempts - 1)

    def _wake_at(self, moment: dt.datetime, now: dt.datetime) -> None:
        delay = (moment - now).total_seconds()
        loop = asyncio.get_running_loop()
        loop.call_later(max(0.0, delay), self._wake.set)

    # -- broadcasts ------------------------------------------------------------------------

    def _uncount(self, broadcast_id: int) -> bool:
        """Count one row of the broadcast as settled; return whether none is left open here."""
        self._open_by_broadcast[broadcast_id] -= 1
        if self._open_by_broadcast[broadcast_id] > 0:
            return False
        del self._open_by_broadcast[broadcast_id]
        return True

    async def _finish_committed(self, broadcast_id: int) -> None:
        """Close the broadcast if its rows have all ended; called after an outcome's commit.

        When two senders record a broadcast's last rows at once, the later of these
        checks finds both outcomes committed. Inside the recording transactions, on
        PostgreSQL, each could find the other's row still `sending`, and neither would
        close the broadcast.
        Housekeeping closes any broadcast these checks miss, such as one whose last row
        a stopped sender left claimed.
        """
        async with self._writing(), self.sessionmaker.begin() as session:
            await self._finish(session, broadcast_id, self.clock.now())

    async def _finish(self, session: AsyncSession, broadcast_id: int, now: dt.datetime) -> None:
        """Close a broadcast whose rows have all ended, and queue its delivery report."""
        broadcast = await outbox.finish_if_complete(session, broadcast_id, now)
        if broadcast is None:
            return
        counts = await outbox.delivery_counts(session, broadcast_id)
        log.info(
            "broadcast %s done: %s sent, %s failed %s, %s unconfirmed, %s cancelled",
            broadcast_id,
            counts.sent,
            counts.failed_total,
            dict(counts.failed),
            counts.unconfirmed,
            counts.cancelled,
        )
        self._sent_by_broadcast.pop(broadcast_id, None)
        await self.queue_report(session, broadcast, counts, now)

    async def queue_report(
        self,
        session: AsyncSession,
        broadcast: Broadcast,
        counts: outbox.DeliveryCounts,
        now: dt.datetime,
    ) -> None:
        if broadcast.report_chat_id is None or self.render_report is None:
            return
        added = await outbox.add_unique(
            session,
            community_id=broadcast.community_id,
            recipient=outbox.Recipient(broadcast.report_chat_id),
            payload=outbox.text_payload(self.render_report(broadcast, counts)),
            not_before=now,
            dedup_key=f"report:{broadcast.id}",
        )
        if added:
            self._wake.set()

"""The scheduler: runs each community's jobs once per period, on one process at a time.

APScheduler 3 only provides the heartbeat. Every HEARTBEAT_S seconds the process that
holds the lease (a PostgreSQL advisory lock, or a row in `leases` on SQLite) looks at
each community's schedules (`bot.schedule_plan`) and makes the latest run of each job
that came due and is not in `job_runs` yet. Looking only at the latest run is what turns
a bot that was down for two days into one catch-up, not one run per missed tick.

A run claims its key and queues its messages in the outbox in one transaction, so a run
either happened whole, messages and key, or not at all. The outbox sender also runs on
the lease holder only, so that replicas together keep Telegram's limits.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from aiogram import Bot
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.config import Settings
from bot.outbox import OutboxSender, wake_senders
from bot.schedule_plan import PLANNED_JOBS, CheckinRun, Occurrence, Plan, load_plan
from bot.texts import Texts
from storage import jobs as job_store
from storage.leases import (
    NAME_MAX_LENGTH,
    RENEW_INTERVAL,
    ExclusiveLease,
    PgAdvisoryLease,
    RowLease,
    default_holder,
)
from storage.models import Community, JobRun

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
HEARTBEAT_S = RENEW_INTERVAL.total_seconds()
# However far the next run is, the plan is looked at again after this long, so that a
# schedule changed by another process takes effect.
RECHECK = dt.timedelta(minutes=1)


@dataclass
class JobContext:
    """The context of a job: one open transaction, the run it makes, and the means to render texts.

    A job queues its messages in the outbox through `session` and returns how many it
    queued. It must not commit: the scheduler commits the messages with the run's key.
    """

    session: AsyncSession
    community: Community
    occurrence: Occurrence
    now: dt.datetime
    texts: Texts
    settings: Settings
    plan: Plan
    # The bot's username, for t.me links; None until getMe has returned it.
    bot_username: str | None = None


Job = Callable[[JobContext], Awaitable[int]]
# Runs on every heartbeat of the lease holder, for work that has its own keys and times
# (webinar reminders). Returns how many messages it queued; the scheduler commits.
Ticker = Callable[[AsyncSession, dt.datetime], Awaitable[int]]


@dataclass
class TickResult:
    ran: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    queued: int = 0


def holder_name() -> str:
    """Return a name for this scheduler: host and process, plus a suffix unique to it."""
    suffix = secrets.token_hex(3)
    return f"{default_holder()[: NAME_MAX_LENGTH - len(suffix) - 1]}:{suffix}"


def create_lease(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    holder: str,
    now: Callable[[], dt.datetime],
) -> ExclusiveLease:
    """Return an advisory lock on PostgreSQL, or a lease row timed by `now` on SQLite."""
    if engine.dialect.name == "postgresql":
        return PgAdvisoryLease(engine, LEASE_NAME)
    return RowLease(sessionmaker, LEASE_NAME, holder, now)


class Scheduler:
    """Makes the due runs of every community's jobs; `tick()` is one pass."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        texts: Texts,
        settings: Settings,
        jobs: Mapping[str, Job],
        *,
        holder: str | None = None,
    ) -> None:
        unknown = set(jobs) - set(PLANNED_JOBS)
        if unknown:
            raise ValueError(f"no schedule runs the jobs {sorted(unknown)}")
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.texts = texts
        self.settings = settings
        self.jobs = dict(jobs)
        self.holder = holder or holder_name()
        self.tickers: list[Ticker] = []
        self.bot_username: str | None = None
        self._next_check: dt.datetime | None = None
        self._lock = asyncio.Lock()

    def add_ticker(self, ticker: Ticker) -> None:
        self.tickers.append(ticker)

    def invalidate(self) -> None:
        """Look at the plan on the next tick; call after a schedule changed."""
        self._next_check = None

    async def tick(self) -> TickResult:
        """Make every run that came due, then run the tickers. One pass at a time."""
        async with self._lock:
            result = TickResult()
            now = self.clock.now()
            if self._next_check is None or now >= self._next_check:
                self._next_check = await self._run_due(now, result)
            for ticker in self.tickers:
                async with self.sessionmaker.begin() as session:
                    result.queued += await ticker(session, now)
            if result.queued:
                await wake_senders()
            return result

    async def _run_due(self, now: dt.datetime, result: TickResult) -> dt.datetime:
        next_check = now + RECHECK
        async with self.sessionmaker() as session:
            communities = list(await session.scalars(select(Community).order_by(Community.id)))
        for community in communities:
            plan = await self._plan(community, now)
            for job in PLANNED_JOBS:
                occurrence = plan.latest_due(job, now)
                if occurrence is not None and job in self.jobs:
                    await self._make_run(community.id, plan, occurrence, now, result)
            upcoming = plan.earliest_next(now)
            if upcoming is not None:
                next_check = min(next_check, upcoming)
        return next_check

    async def _plan(self, community: Community, now: dt.datetime) -> Plan:
        async with self.sessionmaker.begin() as session:
            _rows, plan = await load_plan(session, community, now)
        return plan

    async def _make_run(
        self,
        community_id: int,
        plan: Plan,
        occurrence: Occurrence,
        now: dt.datetime,
        result: TickResult,
    ) -> None:
        key = (occurrence.job, occurrence.period)
        async with self.sessionmaker() as session:
            done = await session.scalar(
                select(JobRun.id).where(
                    JobRun.job == occurrence.job,
                    JobRun.community_id == community_id,
                    JobRun.period == occurrence.period,
                )
            )
        if done is not None:
            return
        started: CheckinRun | None = None
        try:
            async with self.sessionmaker.begin() as session:
                run = await self._claim(session, community_id, occurrence, now)
                if run is None:
                    return
                # In UTC, because SQLite keeps the time without its offset.
                run.due_at = occurrence.at.astimezone(dt.UTC)
                if occurrence.is_stale(now):
                    log.info(
                        "community %s: %s for %s skipped, too stale: due %s, useful until %s",
                        community_id,
                        occurrence.job,
                        occurrence.period,
                        occurrence.at.isoformat(),
                        occurrence.stale_at.isoformat(),
                    )
                    await job_store.finish_run(
                        session, run, outcome="skipped", detail="stale", now=now
                    )
                    result.skipped.append(key)
                    return
                if occurrence.is_catch_up(now):
                    log.info(
                        "community %s: catching up %s for %s, due %s, missed while the bot was down",
                        community_id,
                        occurrence.job,
                        occurrence.period,
                        occurrence.at.isoformat(),
                    )
                community = await session.get(Community, community_id)
                assert community is not None
                context = JobContext(
                    session=session,
                    community=community,
                    occurrence=occurrence,
                    now=now,
                    texts=self.texts,
                    settings=self.settings,
                    plan=plan,
                    bot_username=self.bot_username,
                )
                if occurrence.job == "checkin" and occurrence.month is not None:
                    # The round's reminders and close, later in this pass too, follow it,
                    # and its close stays where the check-in announces it.
                    started = CheckinRun(occurrence.period, occurrence.month, occurrence.at, now)
                    closes_at = plan.round_close(started)
                    started = dataclasses.replace(started, closes_at=closes_at)
                    run.closes_at = closes_at.astimezone(dt.UTC) if closes_at else None
                    plan.add_checkin_run(started)
                queued = await self.jobs[occurrence.job](context)
                await job_store.finish_run(
                    session, run, outcome="done", detail=f"{queued} messages queued", now=now
                )
        except Exception as error:
            if started is not None:
                plan.remove_checkin_run(started)
            log.exception(
                "community %s: %s for %s failed", community_id, occurrence.job, occurrence.period
            )
            await self._record_failure(community_id, occurrence, now, error)
            result.failed.append(key)
            return
        log.info(
            "community %s: %s for %s queued %s messages",
            community_id,
            occurrence.job,
            occurrence.period,
            queued,
        )
        result.ran.append(key)
        result.queued += queued

    async def _claim(
        self, session: AsyncSession, community_id: int, occurrence: Occurrence, now: dt.datetime
    ) -> JobRun | None:
        return await job_store.claim_run(
            session,
            job=occurrence.job,
            community_id=community_id,
            period=occurrence.period,
            holder=self.holder,
            now=now,
        )

    async def _record_failure(
        self, community_id: int, occurrence: Occurrence, now: dt.datetime, error: Exception
    ) -> None:
        # The failed run's messages were rolled back with its key. Recording the failure
        # stops a job that fails on its data from failing again on every tick; the log
        # has the traceback.
        try:
            async with self.sessionmaker.begin() as session:
                run = await self._claim(session, community_id, occurrence, now)
                if run is not None:
                    detail = f"{type(error).__name__}: {error}"[: job_store.DETAIL_MAX_LENGTH]
                    await job_store.finish_run(
                        session, run, outcome="failed", detail=detail, now=now
                    )
        except Exception:
            log.exception("could not record the failure of %s", occurrence.job)


class JobHost:
    """The lease keeper of a process, which runs the scheduler and the outbox sender while it holds the lease.

    One heartbeat (APScheduler interval job) renews or tries to take the lease, then
    ticks the scheduler. A process that loses the lease stops its sender. Another process
    takes over once the lease is free: a RowLease when its TTL passes, an advisory lock
    when the holder's connection closes.
    """

    def __init__(
        self,
        scheduler: Scheduler,
        outbox: OutboxSender,
        lease: ExclusiveLease,
        *,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self.scheduler = scheduler
        self.outbox = outbox
        self.lease = lease
        self.heartbeat_s = heartbeat_s
        self.holding = False
        self._bot: Bot | None = None
        self._aps: AsyncIOScheduler | None = None

    async def start(self, bot: Bot) -> None:
        """Take the lease if free, catch up once, and start the heartbeat."""
        self._bot = bot
        await self.heartbeat()
        self._aps = AsyncIOScheduler(timezone=dt.UTC)
        self._aps.add_job(
            self.heartbeat,
            IntervalTrigger(seconds=self.heartbeat_s),
            id="heartbeat",
            coalesce=True,
            max_instances=1,
        )
        self._aps.start()

    async def heartbeat(self) -> None:
        try:
            if self.holding:
                still = await self.lease.still_held()
                if not still:
                    log.warning("scheduler lease lost; jobs and the outbox stop here")
                    self.holding = False
                    await self.outbox.stop()
                    return
            else:
                if not await self.lease.acquire():
                    return
                log.info(
                    "scheduler lease taken by %s; running jobs and the outbox",
                    self.scheduler.holder,
                )
                self.holding = True
                assert self._bot is not None
                await self.outbox.start(self._bot)
            await self.scheduler.tick()
        except Exception:
            log.exception("scheduler heartbeat failed")

    async def tick(self) -> TickResult | None:
        """Run one scheduler pass now if this process holds the lease; the sandbox calls this."""
        if not self.holding:
            return None
        return await self.scheduler.tick()

    async def stop(self) -> None:
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None
        await self.outbox.stop()
        if self.holding:
            self.holding = False
            try:
                await self.lease.release()
            except Exception:
                log.exception("could not release the scheduler lease")

"""Job runs and leases on SQLite and (when reachable) PostgreSQL.

Two engines on one database stand for two processes of the bot.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from storage import jobs, leases
from storage.db import create_engine, create_sessionmaker
from storage.models import Base, Community, JobRun, Lease

NOW = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)
TTL = dt.timedelta(seconds=45)

EngineFactory = Callable[[], AsyncEngine]


@pytest.fixture(params=["sqlite", "postgresql"])
async def engines(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EngineFactory]:
    """Yield a factory of engines on one fresh database, each standing for a process."""
    created: list[AsyncEngine] = []
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
        options: dict[str, Any] = {}
        setup = None
    else:
        url = request.getfixturevalue("postgres_url")
        # A schema of its own, so parallel runs and other tests never see these rows.
        schema = f"jobs_{uuid.uuid4().hex[:12]}"
        options = {"connect_args": {"server_settings": {"search_path": schema}}}
        setup = create_engine(url)
        async with setup.begin() as connection:
            await connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')

    def make() -> AsyncEngine:
        engine = create_engine(url, **options)
        created.append(engine)
        return engine

    try:
        async with make().begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
            await connection.execute(
                Community.__table__.insert(),  # type: ignore[attr-defined]
                [{"id": 1, "name": "One", "slug": "one"}, {"id": 2, "name": "Two", "slug": "two"}],
            )
        yield make
    finally:
        for engine in created:
            await engine.dispose()
        if setup is not None:
            async with setup.begin() as connection:
                await connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            await setup.dispose()


async def _count_runs(engine: AsyncEngine) -> int:
    async with create_sessionmaker(engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(JobRun)) or 0)


async def _claim(session: AsyncSession, period: str = "2026-12", **changes: Any) -> JobRun | None:
    arguments: dict[str, Any] = {
        "job": "monthly_report",
        "community_id": 1,
        "period": period,
        "holder": "process-a",
        "now": NOW,
    }
    arguments.update(changes)
    return await jobs.claim_run(session, **arguments)


# -- claim_run, finish_run, last_run ----------------------------------------------------


async def test_claim_run_once_per_period(engines: EngineFactory) -> None:
    engine = engines()
    async with create_sessionmaker(engine)() as session:
        first = await _claim(session)
        await session.commit()
        second = await _claim(session, holder="process-b")
        await session.commit()

    assert first is not None
    assert first.outcome == "running"
    assert first.holder == "process-a"
    assert first.started_at == NOW or first.started_at == NOW.replace(tzinfo=None)
    assert second is None
    assert await _count_runs(engine) == 1


async def test_claim_run_distinct_keys_succeed(engines: EngineFactory) -> None:
    engine = engines()
    async with create_sessionmaker(engine)() as session:
        base = await _claim(session)
        other_period = await _claim(session, period="2027-01")
        other_community = await _claim(session, community_id=2)
        other_job = await _claim(session, job="weekly_digest")
        await session.commit()

    assert base is not None
    assert other_period is not None
    assert other_community is not None
    assert other_job is not None
    assert await _count_runs(engine) == 4


async def test_claim_run_duplicate_keeps_transaction(engines: EngineFactory) -> None:
    engine = engines()
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        await _claim(session)
        await session.commit()

    async with sessionmaker() as session:
        session.add(Community(id=3, name="Three", slug="three"))
        await session.flush()
        duplicate = await _claim(session)
        fresh = await _claim(session, period="2027-01")
        await session.commit()

    async with sessionmaker() as session:
        community = await session.get(Community, 3)
    assert duplicate is None
    assert fresh is not None
    assert community is not None
    assert await _count_runs(engine) == 2


async def test_claim_run_rollback_leaves_no_row(engines: EngineFactory) -> None:
    # The caller decides: a claim rolled back must not have been committed on its own.
    engine = engines()
    async with create_sessionmaker(engine)() as session:
        await session.scalar(select(func.count()).select_from(JobRun))
        claimed = await _claim(session)
        await session.rollback()

    assert claimed is not None
    assert await _count_runs(engine) == 0


async def test_claim_run_missing_community_raises(engines: EngineFactory) -> None:
    async with create_sessionmaker(engines())() as session:
        with pytest.raises(IntegrityError):
            await _claim(session, community_id=99)


async def test_claim_run_race_has_one_winner(engines: EngineFactory) -> None:
    first, second = engines(), engines()
    periods = [f"2026-W{week:02d}" for week in range(1, 11)]

    async def claim_all(engine: AsyncEngine, holder: str) -> list[str]:
        won: list[str] = []
        for period in periods:
            async with create_sessionmaker(engine)() as session:
                run = await _claim(session, period=period, holder=holder)
                await session.commit()
            if run is not None:
                won.append(period)
            await asyncio.sleep(0)
        return won

    won_a, won_b = await asyncio.gather(
        claim_all(first, "process-a"), claim_all(second, "process-b")
    )

    assert sorted(won_a + won_b) == periods
    assert set(won_a).isdisjoint(won_b)
    assert await _count_runs(first) == len(periods)


async def test_finish_and_last_run(engines: EngineFactory) -> None:
    later = NOW + dt.timedelta(days=31)
    async with create_sessionmaker(engines())() as session:
        assert await jobs.last_run(session, job="monthly_report", community_id=1) is None

        december = await _claim(session)
        january = await _claim(session, period="2027-01", now=later)
        assert december is not None
        assert january is not None
        await jobs.finish_run(session, december, outcome="done", now=NOW)
        await jobs.finish_run(session, january, outcome="failed", detail="x" * 300, now=later)
        await session.commit()

        latest = await jobs.last_run(session, job="monthly_report", community_id=1)
        other_community = await jobs.last_run(session, job="monthly_report", community_id=2)
        with pytest.raises(ValueError, match="running"):
            await jobs.finish_run(session, december, outcome="running", now=NOW)

    assert latest is not None
    assert latest.period == "2027-01"
    assert latest.outcome == "failed"
    assert latest.detail == "x" * 255
    assert latest.finished_at is not None
    assert december.outcome == "done"
    assert other_community is None


# -- the `leases` table -----------------------------------------------------------------


async def test_row_lease_second_holder_refused(engines: EngineFactory) -> None:
    first, second = engines(), engines()

    assert await leases.try_acquire(first, "jobs", "process-a", NOW, TTL)
    assert not await leases.try_acquire(second, "jobs", "process-b", NOW, TTL)
    assert not await leases.try_acquire(second, "jobs", "process-b", NOW + TTL / 2, TTL)
    # Acquiring again is how a holder that lost track of its state finds out.
    assert await leases.try_acquire(first, "jobs", "process-a", NOW + TTL / 2, TTL)


async def test_row_lease_taken_after_expiry(engines: EngineFactory) -> None:
    first, second = engines(), engines()
    assert await leases.try_acquire(first, "jobs", "process-a", NOW, TTL)

    assert not await leases.try_acquire(
        second, "jobs", "process-b", NOW + TTL - dt.timedelta(seconds=1), TTL
    )
    assert await leases.try_acquire(second, "jobs", "process-b", NOW + TTL, TTL)
    assert not await leases.renew(first, "jobs", "process-a", NOW + TTL, TTL)

    async with create_sessionmaker(first)() as session:
        row = await session.get(Lease, "jobs")
    assert row is not None
    assert row.holder == "process-b"


async def test_row_lease_renewal_keeps_it(engines: EngineFactory) -> None:
    first, second = engines(), engines()
    sessionmaker = create_sessionmaker(first)
    assert await leases.try_acquire(sessionmaker, "jobs", "process-a", NOW, TTL)

    moment = NOW
    for _ in range(6):
        moment += leases.RENEW_INTERVAL
        assert await leases.renew(sessionmaker, "jobs", "process-a", moment, TTL)
        assert not await leases.try_acquire(second, "jobs", "process-b", moment, TTL)

    # Past the first ttl, so only the renewals kept it.
    assert moment - NOW > TTL
    assert await leases.try_acquire(second, "jobs", "process-b", moment + TTL, TTL)


async def test_row_lease_release_frees_it(engines: EngineFactory) -> None:
    first, second = engines(), engines()
    assert await leases.try_acquire(first, "jobs", "process-a", NOW, TTL)

    assert not await leases.release(second, "jobs", "process-b")
    assert await leases.release(first, "jobs", "process-a")
    assert await leases.try_acquire(second, "jobs", "process-b", NOW, TTL)
    assert not await leases.renew(first, "jobs", "process-a", NOW, TTL)


async def test_row_lease_names_independent(engines: EngineFactory) -> None:
    first, second = engines(), engines()

    assert await leases.try_acquire(first, "jobs", "process-a", NOW, TTL)
    assert await leases.try_acquire(second, "outbox", "process-b", NOW, TTL)


async def test_row_lease_race_has_one_winner(engines: EngineFactory) -> None:
    contenders = [(engines(), f"process-{index}") for index in range(4)]

    results = await asyncio.gather(
        *(leases.try_acquire(engine, "jobs", holder, NOW, TTL) for engine, holder in contenders)
    )

    assert sum(results) == 1


async def test_row_lease_object_interface(engines: EngineFactory) -> None:
    clock_now = [NOW]

    def clock() -> dt.datetime:
        return clock_now[0]

    first = leases.RowLease(engines(), "jobs", "process-a", clock, TTL)
    second = leases.RowLease(engines(), "jobs", "process-b", clock, TTL)

    assert await first.acquire()
    assert not await second.acquire()
    clock_now[0] += leases.RENEW_INTERVAL
    assert await first.still_held()
    await first.release()
    assert not await first.still_held()
    assert await second.acquire()


async def test_row_lease_rejects_naive_time(engines: EngineFactory) -> None:
    with pytest.raises(ValueError, match="aware"):
        await leases.try_acquire(engines(), "jobs", "process-a", NOW.replace(tzinfo=None), TTL)


async def test_row_lease_converts_to_utc(engines: EngineFactory) -> None:
    # The same moment in another offset must compare as that moment, also on SQLite.
    first, second = engines(), engines()
    kolkata = dt.timezone(dt.timedelta(hours=5, minutes=30))
    assert await leases.try_acquire(first, "jobs", "process-a", NOW.astimezone(kolkata), TTL)

    assert not await leases.try_acquire(second, "jobs", "process-b", NOW + TTL / 2, TTL)
    assert await leases.try_acquire(second, "jobs", "process-b", NOW + TTL, TTL)


# -- PostgreSQL advisory locks ----------------------------------------------------------


@pytest.fixture
async def postgres_engines(postgres_url: str) -> AsyncIterator[EngineFactory]:
    created: list[AsyncEngine] = []

    def make() -> AsyncEngine:
        engine = create_engine(postgres_url)
        created.append(engine)
        return engine

    yield make
    for engine in created:
        await engine.dispose()


def _unique_lease_name() -> str:
    # Advisory locks are server-wide, so each test locks a name of its own.
    return f"test-lease-{uuid.uuid4().hex}"


async def test_advisory_lease_one_winner(postgres_engines: EngineFactory) -> None:
    name = _unique_lease_name()
    first = leases.PgAdvisoryLease(postgres_engines(), name)
    second = leases.PgAdvisoryLease(postgres_engines(), name)

    assert await first.acquire()
    assert not await second.acquire()
    assert await first.still_held()
    assert not await second.still_held()
    # Acquiring a lease already held confirms it instead of locking twice.
    assert await first.acquire()

    await first.release()
    assert not await first.still_held()
    assert await second.acquire()
    await second.release()


async def test_advisory_lease_dead_holder_loses(postgres_engines: EngineFactory) -> None:
    name = _unique_lease_name()
    first = leases.PgAdvisoryLease(postgres_engines(), name)
    second = leases.PgAdvisoryLease(postgres_engines(), name)
    assert await first.acquire()
    assert not await second.acquire()

    # End the holder's database session from outside, as when its process is killed.
    key = leases.advisory_key(name)
    async with postgres_engines().connect() as admin:
        terminated = await admin.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_locks"
                " WHERE locktype = 'advisory' AND objsubid = 1"
                " AND classid = :high AND objid = :low"
            ),
            {"high": key >> 32, "low": key & 0xFFFFFFFF},
        )
    assert terminated == 1

    acquired = False
    for _ in range(50):
        acquired = await second.acquire()
        if acquired:
            break
        await asyncio.sleep(0.1)
    assert acquired
    assert not await first.still_held()
    await second.release()


async def test_advisory_lease_release_returns_unlocked_connection(
    postgres_engines: EngineFactory,
) -> None:
    # The released connection goes back to the pool, so it must not carry the lock along.
    name = _unique_lease_name()
    engine = create_engine(
        str(postgres_engines().url.render_as_string(hide_password=False)),
        pool_size=1,
        max_overflow=0,
    )
    try:
        lease = leases.PgAdvisoryLease(engine, name)
        assert await lease.acquire()
        await lease.release()

        other = leases.PgAdvisoryLease(postgres_engines(), name)
        assert await other.acquire()
        await other.release()
    finally:
        await engine.dispose()


def test_advisory_key_stable() -> None:
    key = leases.advisory_key("jobs")

    assert key == leases.advisory_key("jobs")
    assert 0 <= key < 2**63
    assert key != leases.advisory_key("outbox")


async def test_advisory_lease_needs_postgresql(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'lease.sqlite'}")
    try:
        with pytest.raises(ValueError, match="RowLease"):
            leases.PgAdvisoryLease(engine, "jobs")
    finally:
        await engine.dispose()

"""Runs of scheduled jobs: one row per job, community and period, claimed before the work.

A process that wants to run a job for a period first claims the run. The unique key on
(job, community_id, period) lets exactly one claim succeed, however many processes try,
and a restart inside the same period finds the row and does not run the job again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import JobRun

OUTCOMES = ("running", "done", "skipped", "failed")
FINAL_OUTCOMES = ("done", "skipped", "failed")
# Length of JobRun.detail. Longer details are cut to fit.
DETAIL_MAX_LENGTH = 255


async def claim_run(
    session: AsyncSession,
    *,
    job: str,
    community_id: int,
    period: str,
    holder: str,
    now: dt.datetime,
) -> JobRun | None:
    """Insert a `running` row for the period and return it, or None when one exists already.

    The caller commits. A duplicate leaves the caller's transaction and its other changes
    as they were. Other integrity errors, such as a missing community, are raised.

    The insert uses ON CONFLICT DO NOTHING rather than an IntegrityError caught inside a
    SAVEPOINT. The reason is that Python's sqlite3 driver (and aiosqlite on top of it)
    opens its transaction only at the first INSERT or UPDATE. A SAVEPOINT issued before
    that becomes the outermost transaction, and its RELEASE commits the row before the
    caller decides.
    """
    values: dict[str, Any] = {
        "job": job,
        "community_id": community_id,
        "period": period,
        "holder": holder,
        "started_at": now,
        "outcome": "running",
    }
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(JobRun).values(values)
    elif dialect == "sqlite":
        statement = sqlite.insert(JobRun).values(values)
    else:
        raise NotImplementedError(f"claim_run supports SQLite and PostgreSQL, not {dialect}")
    statement = statement.on_conflict_do_nothing(
        index_elements=["job", "community_id", "period"]
    ).returning(JobRun.id)
    run_id = await session.scalar(statement)
    if run_id is None:
        return None
    return await session.get(JobRun, run_id)


async def finish_run(
    session: AsyncSession,
    run: JobRun,
    *,
    outcome: str,
    detail: str | None = None,
    now: dt.datetime,
) -> None:
    """Record how a claimed run ended. The caller commits.

    Raises ValueError for an outcome other than done, skipped or failed.
    """
    if outcome not in FINAL_OUTCOMES:
        raise ValueError(f"a finished run's outcome is one of {FINAL_OUTCOMES}, not {outcome!r}")
    run.outcome = outcome
    run.detail = detail[:DETAIL_MAX_LENGTH] if detail is not None else None
    run.finished_at = now
    await session.flush()


async def last_run(session: AsyncSession, *, job: str, community_id: int) -> JobRun | None:
    """Return the most recently started run of a job for a community, in any outcome."""
    return await session.scalar(
        select(JobRun)
        .where(JobRun.job == job, JobRun.community_id == community_id)
        .order_by(JobRun.started_at.desc(), JobRun.id.desc())
        .limit(1)
    )


async def done_runs(
    session: AsyncSession, *, job: str, community_id: int, since: dt.datetime
) -> list[JobRun]:
    """Return the job's runs that were done and started at or after `since`, oldest first."""
    result = await session.scalars(
        select(JobRun)
        .where(
            JobRun.job == job,
            JobRun.community_id == community_id,
            JobRun.outcome == "done",
            JobRun.started_at >= since,
        )
        .order_by(JobRun.started_at, JobRun.id)
    )
    return list(result)

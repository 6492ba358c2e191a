"""Leases that let one process at a time run scheduled jobs and the outbox sender.

Two kinds share the `ExclusiveLease` interface:

- `RowLease` keeps a row in the `leases` table and works on SQLite and PostgreSQL. The
  holder renews it every RENEW_INTERVAL (15 s). A process that stops renewing keeps the
  lease until its `ttl` (default 45 s) has passed, so another process takes over within
  a minute of the holder's last renewal. Expiry compares the `now` values that processes
  pass in, so their clocks must agree to within a small part of the ttl.
- `PgAdvisoryLease` holds a PostgreSQL session-level advisory lock on a connection of its
  own. The server drops the lock when that connection closes, so another process can take
  over as soon as the server notices that the holder is gone. A killed process closes its
  socket at once. NOTE: a holder whose host or network vanishes keeps the lock until TCP
  keepalive (server setting tcp_keepalives_idle) or the OS notices the dead peer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import socket
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import BigInteger, bindparam, delete, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from storage.models import Lease

log = logging.getLogger(__name__)

DEFAULT_TTL = dt.timedelta(seconds=45)
# How often a RowLease holder should call still_held(): three renewals fit in one ttl, so
# one slow or failed renewal does not lose the lease.
RENEW_INTERVAL = dt.timedelta(seconds=15)
# Length of the `leases.name` and `leases.holder` columns.
NAME_MAX_LENGTH = 64

LeaseTarget = AsyncEngine | async_sessionmaker[AsyncSession]


class ExclusiveLease(Protocol):
    """A lease that at most one process holds at a time."""

    async def acquire(self) -> bool:
        """Take the lease if it is free or already ours, and return whether we hold it."""
        ...

    async def still_held(self) -> bool:
        """Check that the lease is still ours, renewing a row lease, and return False once lost."""
        ...

    async def release(self) -> None:
        """Give the lease up so that another process can take it at once."""
        ...


def default_holder() -> str:
    """Return a holder name for this process: host name and process id."""
    host = socket.gethostname()[: NAME_MAX_LENGTH - 12]
    return f"{host}:{os.getpid()}"


# -- the `leases` table -----------------------------------------------------------------


async def try_acquire(
    target: LeaseTarget,
    name: str,
    holder: str,
    now: dt.datetime,
    ttl: dt.timedelta = DEFAULT_TTL,
) -> bool:
    """Take the lease `name` for `holder` until `now + ttl`; return whether it was taken.

    One INSERT ... ON CONFLICT DO UPDATE takes the lease when there is no row, when the
    row has expired, or when `holder` holds it already. Of two processes that race,
    exactly one gets the row.
    """
    _check_names(name, holder)
    now = _utc(now)
    values = {"name": name, "holder": holder, "expires_at": now + ttl, "renewed_at": now}

    def build(dialect: str) -> Any:
        insert: Any
        if dialect == "postgresql":
            insert = postgresql.insert(Lease)
        elif dialect == "sqlite":
            insert = sqlite.insert(Lease)
        else:
            raise NotImplementedError(f"leases support SQLite and PostgreSQL, not {dialect}")
        insert = insert.values(values)
        excluded = insert.excluded
        return insert.on_conflict_do_update(
            index_elements=["name"],
            set_={
                "holder": excluded.holder,
                "expires_at": excluded.expires_at,
                "renewed_at": excluded.renewed_at,
            },
            where=(Lease.holder == excluded.holder) | (Lease.expires_at <= excluded.renewed_at),
        ).returning(Lease.name)

    return await _execute_returning(target, build)


async def renew(
    target: LeaseTarget,
    name: str,
    holder: str,
    now: dt.datetime,
    ttl: dt.timedelta = DEFAULT_TTL,
) -> bool:
    """Extend the lease to `now + ttl` if `holder` still holds it; return whether it does.

    A lease that expired but that no other process took is still the holder's, and this
    renews it.
    """
    _check_names(name, holder)
    now = _utc(now)
    statement = (
        update(Lease)
        .where(Lease.name == name, Lease.holder == holder)
        .values(expires_at=now + ttl, renewed_at=now)
        .returning(Lease.name)
    )
    return await _execute_returning(target, lambda _dialect: statement)


async def release(target: LeaseTarget, name: str, holder: str) -> bool:
    """Delete the lease if `holder` holds it; return whether it did."""
    _check_names(name, holder)
    statement = (
        delete(Lease).where(Lease.name == name, Lease.holder == holder).returning(Lease.name)
    )
    return await _execute_returning(target, lambda _dialect: statement)


async def _execute_returning(target: LeaseTarget, build: Callable[[str], Any]) -> bool:
    """Run the statement in a transaction of its own and return whether it returned a row."""
    if isinstance(target, AsyncEngine):
        async with target.begin() as connection:
            returned = await connection.scalar(build(connection.dialect.name))
            return returned is not None
    async with target() as session, session.begin():
        returned = await session.scalar(build(session.get_bind().dialect.name))
        return returned is not None


def _check_names(name: str, holder: str) -> None:
    for label, value in (("name", name), ("holder", holder)):
        if not value or len(value) > NAME_MAX_LENGTH:
            raise ValueError(
                f"a lease {label} has 1 to {NAME_MAX_LENGTH} characters, got {value!r}"
            )


def _utc(now: dt.datetime) -> dt.datetime:
    # SQLite stores datetimes as text without the offset, so every process has to
    # write UTC for the expiry comparison to hold.
    if now.tzinfo is None:
        raise ValueError(f"a lease needs an aware datetime, got naive {now.isoformat()}")
    return now.astimezone(dt.UTC)


class RowLease:
    """An `ExclusiveLease` kept in the `leases` table. Call still_held() every RENEW_INTERVAL."""

    def __init__(
        self,
        target: LeaseTarget,
        name: str,
        holder: str,
        clock: Callable[[], dt.datetime],
        ttl: dt.timedelta = DEFAULT_TTL,
    ) -> None:
        _check_names(name, holder)
        self.name = name
        self.holder = holder
        self.ttl = ttl
        self._target = target
        self._clock = clock

    async def acquire(self) -> bool:
        return await try_acquire(self._target, self.name, self.holder, self._clock(), self.ttl)

    async def still_held(self) -> bool:
        return await renew(self._target, self.name, self.holder, self._clock(), self.ttl)

    async def release(self) -> None:
        await release(self._target, self.name, self.holder)


# -- PostgreSQL advisory locks ----------------------------------------------------------


def advisory_key(name: str) -> int:
    """Return a key for pg_advisory_lock: the first 63 bits of SHA-256 of `name`.

    The key is the same in every process and Python version, unlike hash(). Keeping it
    non-negative lets still_held() rebuild it from the two 32-bit halves in pg_locks.
    """
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") >> 1


_TRY_LOCK = text("SELECT pg_try_advisory_lock(:key)").bindparams(bindparam("key", type_=BigInteger))
_UNLOCK = text("SELECT pg_advisory_unlock(:key)").bindparams(bindparam("key", type_=BigInteger))
# A bigint advisory lock appears in pg_locks with its high half in classid, its low half
# in objid and objsubid 1. The advisory lease tests run this query against the server.
_HELD = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
    " AND pid = pg_backend_pid() AND granted AND objsubid = 1"
    " AND classid = :high AND objid = :low)"
)


class PgAdvisoryLease:
    """An `ExclusiveLease` held as a session-level advisory lock on a dedicated connection.

    The connection stays checked out of the engine's pool while the lease is held, and
    runs in autocommit mode, so it never sits idle inside a transaction.
    """

    def __init__(self, engine: AsyncEngine, name: str) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError(
                f"PgAdvisoryLease needs a PostgreSQL engine, not {engine.dialect.name};"
                " use RowLease on other databases"
            )
        self.name = name
        self.key = advisory_key(name)
        self._engine = engine
        self._connection: AsyncConnection | None = None

    async def acquire(self) -> bool:
        if self._connection is not None:
            return await self.still_held()
        connection = await self._engine.connect()
        try:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            acquired = bool(await connection.scalar(_TRY_LOCK, {"key": self.key}))
        except BaseException:
            # The lock may have been granted before the failure, so the connection is
            # discarded rather than returned to the pool with the lock on it.
            await _discard(connection)
            raise
        if not acquired:
            await connection.close()
            return False
        self._connection = connection
        log.info("advisory lease %s (key %d) acquired", self.name, self.key)
        return True

    async def still_held(self) -> bool:
        if self._connection is None:
            return False
        try:
            lock_held = bool(
                await self._connection.scalar(
                    _HELD, {"high": self.key >> 32, "low": self.key & 0xFFFFFFFF}
                )
            )
        except (SQLAlchemyError, OSError) as error:
            log.warning("advisory lease %s lost its connection: %s", self.name, error)
            lock_held = False
        if not lock_held:
            await _discard(self._connection)
            self._connection = None
        return lock_held

    async def release(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._connection = None
        try:
            await connection.scalar(_UNLOCK, {"key": self.key})
        except (SQLAlchemyError, OSError) as error:
            log.warning(
                "advisory lease %s: unlock failed, closing its connection: %s", self.name, error
            )
            await _discard(connection)
            return
        await connection.close()
        log.info("advisory lease %s released", self.name)


async def _discard(connection: AsyncConnection) -> None:
    """Close the connection's database session for good, which drops its advisory locks."""
    try:
        await connection.invalidate()
        await connection.close()
    except (SQLAlchemyError, OSError) as error:
        log.warning("closing a lease connection failed: %s", error)

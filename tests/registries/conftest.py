"""Fixtures for registry tests: a fresh SQLite file per test and, when reachable, PostgreSQL.

PostgreSQL tests use the database `test_registries` (created from `test` if missing) and
a schema unique to the test, dropped afterwards, so they never touch other tests' tables.
"""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

# The repository root holds the `storage` package; pytest's default import mode only
# puts the test directory on sys.path.
REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession  # noqa: E402

from storage.db import create_engine, create_sessionmaker  # noqa: E402
from storage.models import Base, Community  # noqa: E402

DEMO_DIR = REPO_ROOT / "bot" / "sandbox" / "demo"
COMMUNITY_ID = 1

POSTGRES_ADMIN_DSN = os.environ.get(
    "REGISTRY_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
POSTGRES_DATABASE = "test_registries"


@pytest.fixture
def demo_bytes():
    def read(name: str) -> bytes:
        return (DEMO_DIR / name).read_bytes()

    return read


async def _prepare(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    async with create_sessionmaker(engine)() as session:
        session.add(Community(id=COMMUNITY_ID, name="Test CoP", slug="test-cop"))
        session.add(Community(id=COMMUNITY_ID + 1, name="Other CoP", slug="other-cop"))
        await session.commit()


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'registries.db'}")
    await _prepare(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(sqlite_engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with create_sessionmaker(sqlite_engine)() as session:
        yield session


async def _postgres_database_url() -> str:
    """Create the test database if needed; skip the test when PostgreSQL is unreachable."""
    try:
        import asyncpg
    except ImportError:
        pytest.skip("asyncpg is not installed")
    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        pytest.skip(f"PostgreSQL is unreachable at {POSTGRES_ADMIN_DSN}: {error}")
    try:
        exists = await admin.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", POSTGRES_DATABASE
        )
        if not exists:
            # A parallel test run may create it between the check and this statement.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await admin.execute(f'CREATE DATABASE "{POSTGRES_DATABASE}"')
    finally:
        await admin.close()
    return POSTGRES_ADMIN_DSN.rsplit("/", 1)[0] + f"/{POSTGRES_DATABASE}"


@pytest.fixture
async def postgres_engine() -> AsyncIterator[AsyncEngine]:
    url = await _postgres_database_url()
    schema = f"registries_{uuid.uuid4().hex[:12]}"
    setup = create_engine(url)
    async with setup.begin() as connection:
        await connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    await setup.dispose()

    engine = create_engine(url, connect_args={"server_settings": {"search_path": schema}})
    try:
        await _prepare(engine)
        yield engine
    finally:
        await engine.dispose()
        cleanup = create_engine(url)
        async with cleanup.begin() as connection:
            await connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        await cleanup.dispose()

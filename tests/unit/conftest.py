"""Fixtures for storage tests: a fresh schema on SQLite and, when reachable, PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from storage.db import create_engine, create_sessionmaker
from storage.models import Base


async def _create_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """Yield an engine on an empty schema: a SQLite file, or a PostgreSQL schema of its own.

    The PostgreSQL schema is named after the test module and dropped afterwards, so
    parallel runs and other tests never see its rows.
    """
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    if request.param == "sqlite":
        created = create_engine(f"sqlite:///{tmp_path / f'{name}.sqlite'}")
        await _create_schema(created)
        yield created
        await created.dispose()
        return

    url = request.getfixturevalue("postgres_url")
    schema = f"{name[:40]}_{uuid.uuid4().hex[:12]}"
    setup = create_engine(url)
    async with setup.begin() as connection:
        await connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    created = create_engine(url, connect_args={"server_settings": {"search_path": schema}})
    try:
        await _create_schema(created)
        yield created
    finally:
        await created.dispose()
        async with setup.begin() as connection:
            await connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        await setup.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with create_sessionmaker(engine)() as opened:
        yield opened

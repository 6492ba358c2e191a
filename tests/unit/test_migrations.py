import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text

from storage.db import create_engine
from storage.migrate import upgrade_to_head
from storage.models import Base


def schema_differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_match_models_on_sqlite(tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'schema.sqlite'}")
    await upgrade_to_head(engine)
    await upgrade_to_head(engine)  # a second run changes nothing
    async with engine.connect() as connection:
        differences = await connection.run_sync(schema_differences)
        journal = (await connection.execute(text("PRAGMA journal_mode"))).scalar()
    await engine.dispose()
    assert differences == []
    assert journal == "wal"


async def test_migrations_match_models_on_postgresql(postgres_url: str) -> None:
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text("DROP DATABASE IF EXISTS cop_test_migrations"))
        await connection.execute(text("CREATE DATABASE cop_test_migrations"))
    await admin.dispose()

    engine = create_engine(postgres_url.rsplit("/", 1)[0] + "/cop_test_migrations")
    try:
        await upgrade_to_head(engine)
        async with engine.connect() as connection:
            differences = await connection.run_sync(schema_differences)
    finally:
        await engine.dispose()
    assert differences == []


@pytest.mark.parametrize("url", ["sqlite:///x.sqlite", "postgresql://u@h/db"])
def test_async_driver_chosen(url: str) -> None:
    from storage.db import async_url

    assert "+aiosqlite" in async_url(url) or "+asyncpg" in async_url(url)

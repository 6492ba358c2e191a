"""Store buyer and scheme registries: upsert from files, keep the word index current, read.

Functions here flush but never commit, so an import is one transaction that the
caller commits or rolls back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, event, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.importer import ImportReport, ParseResult, parse_buyers, parse_schemes
from storage.models import Buyer, Community, Scheme, SearchTerm
from storage.search import buyer_term_rows, invalidate_vocabulary, scheme_term_rows

# Rows per IN (...) list, well under SQLite's limit of bound parameters per statement.
_CHUNK = 500

# Fields that a new entry gets when its file has no column for them.
_LIST_DEFAULTS = {"buyer": ("commodities", "regions_sourced"), "scheme": ()}


async def import_buyers(
    session: AsyncSession, community_id: int, data: bytes, filename: str
) -> ImportReport:
    """Add or update a community's buyers from a CSV or XLSX file; the caller commits.

    Buyers are matched by `name_key`. Only fields with a column in the file are
    compared and written, so a file without an email column keeps stored emails.
    Raises storage.importer.ImportFileError when the file cannot be read.
    """
    parsed = parse_buyers(data, filename)
    return await _store(session, community_id, parsed, filename, Buyer, buyer_term_rows)


async def import_schemes(
    session: AsyncSession, community_id: int, data: bytes, filename: str
) -> ImportReport:
    """Add or update a community's schemes from a CSV or XLSX file; the caller commits.

    Matching and field handling are those of `import_buyers`.
    """
    parsed = parse_schemes(data, filename)
    return await _store(session, community_id, parsed, filename, Scheme, scheme_term_rows)


async def _store(
    session: AsyncSession,
    community_id: int,
    parsed: ParseResult,
    filename: str,
    model: type[Buyer] | type[Scheme],
    term_rows: Callable[[Any], list[dict[str, Any]]],
) -> ImportReport:
    report = ImportReport(
        kind=parsed.kind,
        filename=filename,
        merged=parsed.merged,
        errors=parsed.errors,
        blank_rows=parsed.blank_rows,
        total_rows=parsed.total_rows,
        ignored_columns=parsed.ignored_columns,
        warnings=parsed.warnings,
    )
    keys = [record.values["name_key"] for record in parsed.records]
    existing: dict[str, Any] = {}
    found: Any
    for start in range(0, len(keys), _CHUNK):
        found = await session.scalars(
            select(model).where(
                model.community_id == community_id,
                model.name_key.in_(keys[start : start + _CHUNK]),
            )
        )
        existing.update((entity.name_key, entity) for entity in found.all())

    changed: list[Any] = []
    for record in parsed.records:
        values = record.values
        entity = existing.get(values["name_key"])
        if entity is None:
            defaults: dict[str, list[str]] = {name: [] for name in _LIST_DEFAULTS[parsed.kind]}
            entity = model(community_id=community_id, **{**defaults, **values})
            session.add(entity)
            changed.append(entity)
            report.added += 1
            report.added_names.append(values["name"])
            continue
        differences = {
            name: value for name, value in values.items() if getattr(entity, name) != value
        }
        if not differences:
            report.unchanged += 1
            continue
        for name, value in differences.items():
            setattr(entity, name, value)
        changed.append(entity)
        report.updated += 1
        report.updated_names.append(values["name"])

    if changed:
        await session.flush()
        await _reindex(session, community_id, parsed.kind, changed, term_rows)
        await _bump_registry_version(session, community_id)
        _invalidate_now_and_at_end(session, community_id)
    return report


async def _reindex(
    session: AsyncSession,
    community_id: int,
    kind: str,
    entities: list[Any],
    term_rows: Callable[[Any], list[dict[str, Any]]],
) -> None:
    """Replace the `search_terms` rows of the given entries."""
    ids = [entity.id for entity in entities]
    for start in range(0, len(ids), _CHUNK):
        await session.execute(
            delete(SearchTerm).where(
                SearchTerm.community_id == community_id,
                SearchTerm.kind == kind,
                SearchTerm.entity_id.in_(ids[start : start + _CHUNK]),
            )
        )
    rows = [row for entity in entities for row in term_rows(entity)]
    if rows:
        await session.execute(insert(SearchTerm), rows)


async def _bump_registry_version(session: AsyncSession, community_id: int) -> None:
    """Increment the community's `registry_version` in the caller's transaction.

    Every process compares it with the version its cached search index was built at.
    """
    await session.execute(
        update(Community)
        .where(Community.id == community_id)
        .values(registry_version=Community.registry_version + 1)
    )


def _invalidate_now_and_at_end(session: AsyncSession, community_id: int) -> None:
    """Drop the cached vocabulary now and again when the transaction ends.

    A search that runs between this flush and the commit (or rollback) may cache a
    vocabulary that the end of the transaction makes stale, so it is dropped again then.
    """
    invalidate_vocabulary(session, community_id)
    sync_session = session.sync_session
    pending: set[int] = sync_session.info.setdefault("registry_communities_changed", set())
    if not sync_session.info.get("registry_listeners"):
        sync_session.info["registry_listeners"] = True

        def invalidate_pending(_session: Any, *_args: Any) -> None:
            for changed_community in pending:
                invalidate_vocabulary(session, changed_community)
            pending.clear()

        event.listen(sync_session, "after_commit", invalidate_pending)
        event.listen(sync_session, "after_soft_rollback", invalidate_pending)
    pending.add(community_id)


async def rebuild_search_terms(session: AsyncSession, community_id: int) -> int:
    """Rebuild every `search_terms` row of one community; return the number of rows.

    Run it after the normalisers or synonym lists change. The caller commits.
    """
    total = 0
    for model, kind, term_rows in (
        (Buyer, "buyer", buyer_term_rows),
        (Scheme, "scheme", scheme_term_rows),
    ):
        await session.execute(
            delete(SearchTerm).where(
                SearchTerm.community_id == community_id, SearchTerm.kind == kind
            )
        )
        entities = (
            await session.scalars(select(model).where(model.community_id == community_id))
        ).all()
        rows = [row for entity in entities for row in term_rows(entity)]
        if rows:
            await session.execute(insert(SearchTerm), rows)
        total += len(rows)
    await _bump_registry_version(session, community_id)
    _invalidate_now_and_at_end(session, community_id)
    return total


async def get_buyer(session: AsyncSession, community_id: int, buyer_id: int) -> Buyer | None:
    """Return one buyer of the community, or None if it is missing or in another one."""
    return await session.scalar(
        select(Buyer).where(Buyer.community_id == community_id, Buyer.id == buyer_id)
    )


async def get_scheme(session: AsyncSession, community_id: int, scheme_id: int) -> Scheme | None:
    """Return one scheme of the community, or None if it is missing or in another one."""
    return await session.scalar(
        select(Scheme).where(Scheme.community_id == community_id, Scheme.id == scheme_id)
    )


async def count_buyers(session: AsyncSession, community_id: int) -> int:
    """Count the buyers of one community."""
    return (
        await session.scalar(
            select(func.count()).select_from(Buyer).where(Buyer.community_id == community_id)
        )
        or 0
    )


async def count_schemes(session: AsyncSession, community_id: int) -> int:
    """Count the schemes of one community."""
    return (
        await session.scalar(
            select(func.count()).select_from(Scheme).where(Scheme.community_id == community_id)
        )
        or 0
    )

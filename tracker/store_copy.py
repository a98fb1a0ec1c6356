"""Copy a whole store to another database (e.g. SQLite to PostgreSQL). Part of the store.

The copy runs in one transaction on the target, so it lands entirely or not at all, and it
refuses a target that already holds articles, so nothing is ever duplicated.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, insert, select, text

from tracker import schema
from tracker.errors import StoreError
from tracker.store import Store, _bump

# Every table, parents before children. meta is handled on its own (versions are the target's).
TABLES = [schema.feeds, schema.articles, schema.article_topics, schema.sightings, schema.poll_runs,
          schema.daily_counts, schema.feed_daily_counts, schema.stories, schema.story_topics,
          schema.daily_story_counts]
COPIED_META = ("demo",)


def copy_store(source: Store, target: Store, *, batch: int = 5000,
               progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Copy every row of ``source`` into the empty store ``target``. Returns rows copied per table."""
    if source.schema_version() != schema.SCHEMA_VERSION:
        source.upgrade()
    target.upgrade()
    if target.article_count():
        raise StoreError("already holds articles; copy into an empty database", resource=target.location)
    copied: dict[str, int] = {}
    with source.transaction(write=False) as reader, target.transaction() as writer:
        writer.execute(schema.feeds.delete())  # feeds synced before any article arrived
        for table in TABLES:
            key = list(table.primary_key.columns)
            count = 0
            result = reader.execution_options(stream_results=True, yield_per=batch).execute(
                select(table).order_by(*key))
            for rows in result.partitions(batch):
                writer.execute(insert(table), [r._asdict() for r in rows])
                count += len(rows)
                if progress:
                    progress(table.name, count)
            copied[table.name] = count
        for name in COPIED_META:
            value = reader.execute(select(schema.meta.c.value).where(schema.meta.c.key == name)).scalar()
            if value is not None:
                writer.execute(insert(schema.meta).values(key=name, value=value))
        if writer.dialect.name == "postgresql":  # the copied keys must not be handed out again
            for name, column in (("poll_runs", "id"), ("articles", "num")):
                writer.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', '{column}'), "
                                    f"GREATEST((SELECT max({column}) FROM {name}), 1))"))
        _bump(writer)
    return copied


def row_counts(store: Store) -> dict[str, int]:
    with store.transaction(write=False) as conn:
        return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar() or 0) for t in TABLES}

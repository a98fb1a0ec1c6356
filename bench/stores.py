"""Benchmark stores: built through the real ingest code, cached by size, seed and inputs.

Every article goes the way a polled one does after parsing: a ParsedItem, ``tracker.topics.tag`` on
its text, then ``Store.record_updates`` for feed documents of 50 items, a poll's write group at a time, then
``store_stories.cluster_pending`` as the poller runs it after storing. Nothing writes tables
directly, so the rollups, sightings, stories and data version are the ones the dashboard would see.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from bench import synth
from tracker import config, topics
from tracker.models import FeedSource, FeedUpdate, ParsedFeed, TaggedItem, Validators
from tracker.store import open_store

try:
    from tracker import store_stories
except ImportError:  # a tracker without story clustering
    store_stories = None  # type: ignore[assignment]

BENCH_DIR = Path(__file__).resolve().parent
CACHE = BENCH_DIR / ".cache"  # git-ignored
# Stores of real text live outside the work tree, so none of it can be committed by mistake.
REAL_CACHE = Path(tempfile.gettempdir()) / "tension-tracker-bench"


@dataclass(frozen=True)
class Dataset:
    """Where a benchmark's articles come from: "synthetic" or "real"."""

    kind: str
    seed: int
    end: dt.date

    @property
    def cache(self) -> Path:
        return REAL_CACHE if self.kind == "real" else CACHE

    def feeds_and_drafts(self, size: int, salt: int = 0,
                         days: float | None = None) -> tuple[list[FeedSource], Iterator[synth.Draft]]:
        """The feeds and ``size`` drafts; ``salt`` gives another set of articles, ``days`` squeezes
        them into the last so many days (as a poll sees only recent items)."""
        seed = self.seed + salt
        if self.kind == "real":
            items = load_real_once()
            feeds = synth.real_feeds(items)
            drafts: Iterator[synth.Draft] = iter(synth.real_drafts(items, feeds, size, seed=seed, end=self.end))
        else:
            feeds = synth.make_feeds(random.Random(self.seed))
            drafts = synth.synthetic_drafts(feeds, size, seed=seed, end=self.end)
        return feeds, (drafts if days is None else synth.squeeze(drafts, self.end, days))


@cache
def load_real_once() -> list[dict[str, str]]:
    return synth.load_real()


def fingerprint() -> str:
    """Changes when anything that decides a store's content changes: our templates, the taxonomy, and
    the tracker code that tags, stores and clusters (all of tracker/, to be safe)."""
    digest = hashlib.sha1()
    paths = [BENCH_DIR / "texts.py", BENCH_DIR / "synth.py", Path(config.Settings.from_env().topics_file)]
    paths += sorted((BENCH_DIR.parent / "tracker").glob("*.py"))
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def store_path(data: Dataset, size: int) -> Path:
    return data.cache / f"{data.kind}-{size}-seed{data.seed}-{data.end:%Y%m%d}-{fingerprint()}.sqlite"


def tagged_batches(feeds: Sequence[FeedSource], drafts: Iterable[synth.Draft], taxonomy: topics.Taxonomy, *,
                   seed: int, clock: dict[str, float] | None = None) -> Iterator[tuple[FeedSource, list[TaggedItem]]]:
    """Feed documents of tagged items, timing text generation and tagging into ``clock``."""
    clock = clock if clock is not None else {}
    clock.setdefault("text", 0.0)
    clock.setdefault("tag", 0.0)
    batches = synth.batches(drafts, len(feeds), seed=seed)
    while True:
        start = time.perf_counter()
        try:
            feed, batch = next(batches)
        except StopIteration:
            return
        items = [synth.parsed_item(d) for d in batch]
        made = time.perf_counter()
        tagged = [TaggedItem(i, topics.tag(taxonomy, i.title, i.summary, i.language)) for i in items]
        clock["text"] += made - start
        clock["tag"] += time.perf_counter() - made
        yield feeds[feed], tagged


def ingest(location: str, feeds: Sequence[FeedSource], documents: Iterable[tuple[FeedSource, list[TaggedItem]]],
           version: str, clock: dict[str, float] | None = None) -> tuple[int, int]:
    """Store feed documents as the poller does; returns (new articles, already known)."""
    clock = clock if clock is not None else {}
    clock.setdefault("store", 0.0)
    store = open_store(location)
    store.sync_feeds(feeds, dt.datetime.now(dt.UTC))
    new = seen = 0
    groups: list[list[FeedUpdate]] = [[]]
    for feed, tagged in documents:  # as many feeds per transaction as a poll writes
        if len(groups[-1]) == store.feeds_per_transaction:
            groups.append([])
        now = max(t.item.published for t in tagged) + dt.timedelta(minutes=10)
        groups[-1].append(FeedUpdate(feed, ParsedFeed(feed, feed.label, tuple(t.item for t in tagged)), tagged, 200,
                                     Validators(), version, now, now + dt.timedelta(minutes=15)))
    for group in groups:
        start = time.perf_counter()
        counts = store.record_updates(group)
        clock["store"] += time.perf_counter() - start
        new, seen = new + sum(c[0] for c in counts), seen + sum(c[1] for c in counts)
    store.engine.dispose()  # closes the last connection: SQLite folds the WAL back into the file
    return new, seen


def cluster(location: str, clock: dict[str, float] | None = None) -> int:
    """Group pending articles into stories, as the poller does after storing; returns how many."""
    clock = clock if clock is not None else {}
    if store_stories is None:
        return 0
    store = open_store(location)
    start = time.perf_counter()
    done = store_stories.cluster_pending(store)
    clock["stories"] = clock.get("stories", 0.0) + time.perf_counter() - start
    store.engine.dispose()
    return done


def ensure_store(data: Dataset, size: int, taxonomy: topics.Taxonomy, *, rebuild: bool = False,
                 reuse: bool = False, log: bool = True) -> tuple[Path, dict[str, Any]]:
    """The cached store of ``size`` articles and how its build went (built now when missing).

    With ``reuse``, a store built from other inputs (an older tracker/, say) will do too.
    """
    path = store_path(data, size)
    info_path = path.with_suffix(".json")
    if path.exists() and info_path.exists() and not rebuild:
        return path, {**json.loads(info_path.read_text()), "cached": True}
    older = sorted(data.cache.glob(f"{data.kind}-{size}-seed{data.seed}-{data.end:%Y%m%d}-*.json"),
                   key=lambda p: p.stat().st_mtime)
    if reuse and not rebuild and older and older[-1].with_suffix(".sqlite").exists():
        return older[-1].with_suffix(".sqlite"), {**json.loads(older[-1].read_text()), "cached": True, "stale": True}
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f"{data.kind}-{size}-seed{data.seed}-*"):
        stale.unlink()
    partial = path.with_name(path.name + ".partial")
    for leftover in path.parent.glob(partial.name + "*"):
        leftover.unlink()
    if log:
        print(f"  building the {data.kind} store of {size:,} articles (cached for next time) ...", flush=True)
    clock: dict[str, float] = {}
    start = time.perf_counter()
    feeds, drafts = data.feeds_and_drafts(size)
    documents = tagged_batches(feeds, drafts, taxonomy, seed=data.seed, clock=clock)
    new, seen = ingest(str(partial), feeds, documents, taxonomy.version, clock)
    cluster(str(partial), clock)
    total = time.perf_counter() - start
    os.replace(partial, path)
    info = {"size": size, "kind": data.kind, "seed": data.seed, "end": data.end.isoformat(),
            "built": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "articles": new, "sightings_known": seen,
            "seconds": {"total": total, **clock}, "db_bytes": path.stat().st_size}
    info_path.write_text(json.dumps(info, indent=1))
    return path, {**info, "cached": False}

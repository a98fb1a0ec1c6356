"""Size-independent throughputs: tagging, ingest, and polling local RSS files against bare feedparser.

Each function runs its measurement ``runs`` times and returns the seconds of every run; the caller
turns them into rates. Stores are fresh for every run, in a temporary folder.
"""

from __future__ import annotations

import io
import random
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import feedparser

from bench import stores, synth
from bench.measure import Sample
from tracker import poller, stories, topics
from tracker.config import Settings
from tracker.models import FeedSource
from tracker.store import open_store
from tracker.text import canonical_link

POLL_FILES = 200
POLL_ITEMS = 50  # per file
TAG_SAMPLE = 20_000
INGEST_SAMPLE = 20_000
# The samples are squeezed into recent days, at about the density of a 1,000,000-article store's last
# weeks (~800 a day): story clustering compares an article with those within 72 hours of it.
INGEST_DAYS = 25
POLL_DAYS = 24  # for twice the items needed: see write_feed_files


def taxonomy_compile(runs: int) -> Sample:
    """Load topics.toml and compile its matcher, as every new process (and `tracker watch` round) does."""
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        topics.load_taxonomy().matcher  # noqa: B018 - compiling is the point
        seconds.append(time.perf_counter() - start)
    return Sample(seconds)


def tagging(drafts: Sequence[synth.Draft], taxonomy: topics.Taxonomy, runs: int) -> tuple[Sample, dict[str, float]]:
    """Seconds to tag every draft on one core; also the share tagged and multi-topic."""
    seconds = []
    results: list[tuple[object, ...]] = []
    for _ in range(runs):
        start = time.perf_counter()
        results = [topics.tag(taxonomy, d.title, d.summary, d.language) for d in drafts]
        seconds.append(time.perf_counter() - start)
    mix = {"tagged": sum(1 for r in results if r) / len(results),
           "multi": sum(1 for r in results if len(r) > 1) / len(results)}
    return Sample(seconds, count=len(drafts)), mix


def ingest(data: stores.Dataset, taxonomy: topics.Taxonomy, runs: int, work: Path,
           size: int = INGEST_SAMPLE) -> tuple[Sample, Sample, int]:
    """Seconds to store ``size`` tagged articles (documents of 50) into a fresh store, then to cluster
    them into stories; and the article, topic and sighting rows written."""
    feeds, drafts = data.feeds_and_drafts(size, salt=500, days=INGEST_DAYS)
    documents = list(stores.tagged_batches(feeds, drafts, taxonomy, seed=data.seed + 500))
    rows = sum(2 * len(tagged) + sum(len(t.topics) for t in tagged) for _, tagged in documents)
    stored, clustered = [], []
    for run in range(runs):
        clock: dict[str, float] = {}
        location = str(work / f"ingest-{run}.sqlite")
        stores.ingest(location, feeds, documents, taxonomy.version, clock)
        stories.clear_caches()  # the same texts every run: start cold each time
        stores.cluster(location, clock)
        stored.append(clock["store"])
        clustered.append(clock.get("stories", 0.0))
    return Sample(stored, count=size), Sample(clustered, count=size), rows


def ingest_into(store: Path, data: stores.Dataset, taxonomy: topics.Taxonomy, runs: int, work: Path,
                size: int = INGEST_SAMPLE) -> tuple[Sample, int]:
    """Seconds to store ``size`` new tagged articles of recent days into a copy of ``store``, as a poll
    adds news to a store that already holds years of it: its indexes are large, and the new keys land
    all over them. Also returns how many were new to the store (real items repeated can be known)."""
    feeds, drafts = data.feeds_and_drafts(size, salt=600, days=INGEST_DAYS)
    # Real items repeat in the realistic stores: a mark in the link makes these articles new to the store.
    marked = (replace(d, link=f"{d.link}{'&' if '?' in d.link else '?'}new={n}") for n, d in enumerate(drafts))
    documents = list(stores.tagged_batches(feeds, marked, taxonomy, seed=data.seed + 600))
    stored, new = [], 0
    for run in range(runs):
        location = work / f"into-{run}.sqlite"
        shutil.copyfile(store, location)
        clock: dict[str, float] = {}
        new, _ = stores.ingest(str(location), feeds, documents, taxonomy.version, clock)
        stored.append(clock["store"])
        for path in work.glob(f"into-{run}.sqlite*"):
            path.unlink()
    return Sample(stored, count=size), new


def write_feed_files(data: stores.Dataset, folder: Path) -> list[FeedSource]:
    """POLL_FILES RSS documents of POLL_ITEMS items each, as local feeds the poller may read."""
    # Twice the items needed, so that POLL_FILES feeds fill a whole document each.
    feeds, drafts = data.feeds_and_drafts(2 * POLL_FILES * POLL_ITEMS, salt=1000, days=POLL_DAYS)
    rng = random.Random(f"rss-{data.seed}")
    full = (batch for batch in synth.batches(drafts, len(feeds), seed=data.seed + 1000, size=POLL_ITEMS)
            if len(batch[1]) == POLL_ITEMS)
    sources = []
    for number, (feed, batch) in enumerate(full):
        if number == POLL_FILES:
            break
        path = folder / f"feed-{number:03d}.xml"
        path.write_bytes(synth.rss_document(feeds[feed], batch, rng))
        sources.append(FeedSource(id=f"file-{number:03d}", url=str(path), name=feeds[feed].label,
                                  language=feeds[feed].language, allow_local=True))
    return sources


def poll(sources: Sequence[FeedSource], taxonomy: topics.Taxonomy, runs: int, work: Path,
         read_processes: int = 0) -> tuple[Sample, Sample, int]:
    """Seconds for ``tracker.poller.poll`` (in-process) over the files into a fresh store, the story
    clustering part of those seconds (as the poll reports it), and the reader processes it used
    (``read_processes`` as Settings takes it: 0 lets the poll choose, 1 reads in this process)."""
    seconds, clustering = [], []
    items = processes = 0
    for run in range(runs):
        location = str(work / f"poll-{read_processes}-{run}.sqlite")
        store = open_store(location)
        settings = Settings(db=location, read_processes=read_processes)
        # Each run starts cold, as a poll in a new process would: the files are the same every run.
        canonical_link.cache_clear()
        stories.clear_caches()
        start = time.perf_counter()
        report = poller.poll(store, sources, settings=settings, taxonomy=taxonomy, force=True)
        seconds.append(time.perf_counter() - start)
        clustering.append(report.clustering_seconds)
        store.engine.dispose()
        if report.errors:
            raise RuntimeError(f"the poll failed on {report.errors} files: "
                               f"{[f.error for f in report.feeds if f.error][:3]}")
        items, processes = report.new + report.seen, report.read_processes
    return Sample(seconds, count=items), Sample(clustering, count=items), processes


def bare_feedparser(sources: Sequence[FeedSource], runs: int, *, like_tracker: bool) -> Sample:
    """Seconds to read and ``feedparser.parse`` every file: with its defaults, or with parse.py's options."""
    options = {"sanitize_html": False, "resolve_relative_uris": False} if like_tracker else {}
    seconds = []
    entries = 0
    for _ in range(runs):
        start = time.perf_counter()
        entries = 0
        for source in sources:
            content = Path(source.url).read_bytes()
            entries += len(feedparser.parse(io.BytesIO(content), **options)["entries"])
        seconds.append(time.perf_counter() - start)
    return Sample(seconds, count=entries)


def poll_suite(data: stores.Dataset, taxonomy: topics.Taxonomy, runs: int) -> tuple[dict[str, Sample], int]:
    """The poll as it runs (reading on every core if it chooses to), its parts, the poll reading in
    one process, and bare feedparser; and the reader processes the poll chose."""
    with tempfile.TemporaryDirectory(prefix="tt-bench-poll-") as tmp:
        folder = Path(tmp)
        sources = write_feed_files(data, folder)
        bare_feedparser(sources, 1, like_tracker=False)  # warm the page cache and feedparser's imports
        polled, clustering, processes = poll(sources, taxonomy, runs, folder)
        one, one_clustering, _ = poll(sources, taxonomy, runs, folder, read_processes=1)
        return {"poll": polled, "poll_clustering": clustering, "poll_lean": _without(polled, clustering),
                "poll_lean_one_process": _without(one, one_clustering),
                "feedparser": bare_feedparser(sources, runs, like_tracker=False),
                "feedparser_like": bare_feedparser(sources, runs, like_tracker=True)}, processes


def _without(polled: Sample, clustering: Sample) -> Sample:
    """The poll without its story clustering (fetch, parse, tag and store), run by run."""
    return Sample([total - part for total, part in zip(polled.seconds, clustering.seconds, strict=True)],
                  count=polled.count)


def tagged_sample(data: stores.Dataset, size: int) -> list[synth.Draft]:
    _, drafts = data.feeds_and_drafts(size, salt=2000)
    return list(drafts)

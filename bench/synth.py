"""Articles for the benchmark: synthetic ones (seeded, from bench/texts.py), or real ones repeated.

A ``Draft`` is what a feed would carry: it becomes a ParsedItem for the store, or an RSS <item>.
Everything is a pure function of (size, seed, anchor date), so a store built twice is the same store.

    feeds = make_feeds(random.Random(seed))
    drafts = synthetic_drafts(feeds, 10_000, seed=1, end=anchor_date())
"""

from __future__ import annotations

import datetime as dt
import gzip
import heapq
import json
import math
import os
import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from bench import texts
from tracker.models import FeedSource, ParsedItem
from tracker.text import article_id, normal_language

YEARS = 5
N_FEEDS = 100
ZH_FEEDS = 8  # of the 100: about 8 % of articles are Chinese
SHARE_TOPICAL = 0.26  # written to be tagged; the tagger decides
SHARE_NEAR = 0.16  # mention China, the US or Taiwan, but not as security news
SECOND_TOPIC = 0.15  # topical articles whose lead adds a second topic
DUPLICATE = 0.03  # articles that a second feed carries too (one article, two sightings)
COVERAGE = 0.02  # events that 1-3 more outlets report within hours (one story, several articles)
BATCH = 50  # items per feed document, as a feed serves them
REAL_FILE = "real-items-50k.jsonl.gz"


@dataclass(frozen=True, slots=True)
class Draft:
    feed: int  # index into the feed list
    title: str
    summary: str
    link: str
    published: dt.datetime
    language: str


def anchor_date(today: dt.date | None = None) -> dt.date:
    """The last day of generated data: the first of the current month.

    The dashboard's date presets count back from today, so the data must end near today; a monthly
    anchor keeps a cached store valid for a month (its "90 days" window holds 60 to 90 days of data).
    """
    today = today or dt.datetime.now(dt.UTC).date()
    return today.replace(day=1)


# --- feeds -------------------------------------------------------------------------------------

def make_feeds(rng: random.Random, count: int = N_FEEDS, zh: int = ZH_FEEDS) -> list[FeedSource]:
    """Invented outlets; the last ``zh`` are Chinese. Ids and URLs are stable for a seed."""
    pairs = [(a, b) for a in texts.OUTLET_FIRST for b in texts.OUTLET_SECOND]
    zh_pairs = [(a, b) for a in texts.OUTLET_ZH_FIRST for b in texts.OUTLET_ZH_SECOND]
    names = [f"{a} {b}" for a, b in rng.sample(pairs, count - zh)]
    names += [f"{a}{b}" for a, b in rng.sample(zh_pairs, zh)]
    feeds = []
    for i, name in enumerate(names):
        language = "zh" if i >= count - zh else "en"
        slug = f"feed-{i:03d}"
        feeds.append(FeedSource(id=slug, url=f"https://{slug}.example/rss.xml", name=name, language=language))
    return feeds


def feed_weights(rng: random.Random, count: int) -> list[float]:
    """Zipf-like volumes in a seeded order: a few large wires, a long tail of small outlets."""
    ranks = list(range(count))
    rng.shuffle(ranks)
    return [1.0 / (rank + 3) ** 0.8 for rank in ranks]


# --- synthetic text ----------------------------------------------------------------------------

_SLOT = re.compile(r"{(\w+)}")


class _Values(dict[str, str]):
    """Slot values drawn on first use (from the family's lists first), so an article costs only the
    slots its patterns name."""

    def __init__(self, rng: random.Random, family: dict[str, list[str] | str]) -> None:
        super().__init__()
        self.rng = rng
        self.family = family

    def __missing__(self, key: str) -> str:
        rng = self.rng
        numbers = {"n": (5, 45), "n2": (2, 12), "n3": (300, 900)}
        base = key.rstrip("0123456789")  # "noun2": a second draw from the nouns
        own = self.family.get(base)
        if key in numbers:
            value = str(rng.randint(*numbers[key]))
        elif key == "pct":
            value = f"{rng.uniform(1.5, 9.8):.1f}"
        elif key == "place":
            value = rng.choice(texts.WORDS[str(own)])
        elif isinstance(own, list):
            value = rng.choice(own)
        else:
            value = rng.choice(texts.WORDS[base])
        self[key] = value
        return value

    def told_differently(self, key: str) -> _Values:
        """The same values with ``key`` drawn again: another outlet's headline for one event."""
        other = _Values(self.rng, self.family)
        other.update(self)
        del other[key]
        other[key] = other[key]
        return other


@dataclass(frozen=True)
class Event:
    """What several outlets may report: a family, its title pattern, and the values of its slots."""

    family: str
    zh: bool
    title: str
    values: _Values


def _render(pattern: str, values: dict[str, str]) -> str:
    for _ in range(2):  # a value may hold a slot itself ("Typhoon {storm}")
        pattern = _SLOT.sub(lambda m: values[m.group(1)], pattern)
    return " ".join(pattern.split())


def _event(rng: random.Random, zh: bool, month: int, bursts: dict[str, set[int]]) -> Event:
    roll = rng.random()
    if roll < SHARE_TOPICAL:
        topics = list(texts.TOPIC_WEIGHTS)
        weights = [texts.TOPIC_WEIGHTS[t] * (3.0 if month in bursts[t] else 1.0) for t in topics]
        family = rng.choices(topics, weights)[0]
    else:
        family = "near" if roll < SHARE_TOPICAL + SHARE_NEAR else "general"
    table = texts.ZH if zh else texts.EN
    return Event(family, zh, rng.choice(texts.ZH_TITLES if zh else texts.TITLES), _Values(rng, table[family]))


def _article(rng: random.Random, event: Event, *, retitle: bool = False) -> tuple[str, str]:
    """A title and summary for the event: its lead, perhaps a second topic's lead, and fillers."""
    table = texts.ZH if event.zh else texts.EN
    values = event.values
    if retitle:
        slots = [s for s in _SLOT.findall(event.title) if s in values]
        if slots:
            values = event.values.told_differently(rng.choice(slots))
    title = _render(event.title, values)
    parts = [_render(rng.choice(table[event.family]["lead"]), values)]
    if event.family in texts.TOPIC_WEIGHTS and rng.random() < SECOND_TOPIC:
        other = rng.choice([t for t in texts.TOPIC_WEIGHTS if t != event.family])
        parts.append(_render(rng.choice(table[other]["lead"]), _Values(rng, table[other])))
    fillers = texts.FILLER_ZH if event.zh else texts.FILLER_EN
    parts += [_render(rng.choice(fillers), _Values(rng, table[event.family])) for _ in range(rng.randint(1, 5))]
    return title, ("" if event.zh else " ").join(parts)


def _slug(title: str) -> str:
    words = re.findall(r"[a-z0-9]+", title.lower())[:6]
    return "-".join(words) or "article"


def _times(rng: random.Random, size: int, end: dt.date) -> list[dt.datetime]:
    """Publication times over YEARS years before ``end``, more of them recently (feeds grow), sorted."""
    stop = dt.datetime(end.year, end.month, end.day, tzinfo=dt.UTC)
    span = YEARS * 365.25 * 86400
    # Density rising linearly from 1 to 3 across the span: invert its CDF.
    return sorted(stop - dt.timedelta(seconds=span * (1 - (math.sqrt(1 + 8 * rng.random()) - 1) / 2))
                  for _ in range(size))


def synthetic_drafts(feeds: Sequence[FeedSource], size: int, *, seed: int, end: dt.date) -> Iterator[Draft]:
    """``size`` distinct articles in publication order, spread over the feeds by volume.

    Some events are covered by several outlets within hours (one story, several articles).
    """
    rng = random.Random(f"drafts-{seed}")
    months = YEARS * 12 + 1
    bursts = {t: set(rng.sample(range(months), 4)) for t in texts.TOPIC_WEIGHTS}
    weights = feed_weights(rng, len(feeds))
    by_language = {lang: [i for i, f in enumerate(feeds) if f.language == lang] for lang in ("en", "zh")}
    stop = dt.datetime(end.year, end.month, end.day, tzinfo=dt.UTC)
    counts: list[int] = []  # articles per event: most events have one, a few are covered by more outlets
    made = 0
    while made < size:
        counts.append(min(1 + (rng.randint(1, 3) if rng.random() < COVERAGE else 0), size - made))
        made += counts[-1]
    pending: list[tuple[dt.datetime, int, int, str, str]] = []  # a heap: coverage comes hours later
    made = 0
    for published, count in zip(_times(rng, len(counts), end), counts, strict=True):
        while pending and pending[0][0] <= published:
            yield _draft(feeds, *heapq.heappop(pending))
        feed = rng.choices(range(len(feeds)), weights)[0]
        zh = feeds[feed].language == "zh"
        month = (published.year - end.year) * 12 + published.month - end.month + months - 1
        event = _event(rng, zh, month, bursts)
        heapq.heappush(pending, (published, made, feed, *_article(rng, event)))
        for number in range(made + 1, made + count):
            later = min(published + dt.timedelta(hours=rng.uniform(0.2, 12)), stop)
            other = rng.choice(by_language["zh" if zh else "en"])
            heapq.heappush(pending, (later, number, other, *_article(rng, event, retitle=rng.random() < 0.6)))
        made += count
    while pending:
        yield _draft(feeds, *heapq.heappop(pending))


def _draft(feeds: Sequence[FeedSource], published: dt.datetime, number: int, feed: int, title: str,
           summary: str) -> Draft:
    link = f"https://{feeds[feed].id}.example/{published:%Y/%m/%d}/{_slug(title)}-{number:07d}"
    return Draft(feed, title, summary, link, published, feeds[feed].language)


# --- real items ----------------------------------------------------------------------------------

def real_dir() -> Path:
    """The folder of real items (TRACKER_BENCH_DIR); an error that says what to set when missing."""
    value = os.environ.get("TRACKER_BENCH_DIR")
    if not value or not (Path(value) / REAL_FILE).is_file():
        raise SystemExit(f"--realistic needs TRACKER_BENCH_DIR set to a folder holding {REAL_FILE} "
                         f"(now: {value!r})")
    return Path(value)


def load_real() -> list[dict[str, str]]:
    with gzip.open(real_dir() / REAL_FILE, "rt", encoding="utf-8") as file:
        return [json.loads(line) for line in file]


def real_feeds(items: Iterable[dict[str, str]]) -> list[FeedSource]:
    languages: dict[str, Counter[str]] = {}
    for item in items:
        languages.setdefault(item["outlet"], Counter())[normal_language(item.get("language")) or "en"] += 1
    return [FeedSource(id=f"real-{i:03d}", url=f"https://real-{i:03d}.example/rss.xml", name=name,
                       language=languages[name].most_common(1)[0][0]) for i, name in enumerate(sorted(languages))]


def real_drafts(items: Sequence[dict[str, str]], feeds: Sequence[FeedSource], size: int, *, seed: int,
                end: dt.date) -> list[Draft]:
    """``size`` articles from the real items: the whole set repeated as often as needed. The newest
    lands on ``end``; copy k is shifted k times 73 hours earlier and has its own links, so two copies
    of one item are never within the 72 hours in which story clustering would join them."""
    rng = random.Random(f"real-{seed}")
    index = {feed.name: i for i, feed in enumerate(feeds)}
    stamps = [dt.datetime.fromisoformat(item["published"]).astimezone(dt.UTC) for item in items]
    stop = dt.datetime(end.year, end.month, end.day, tzinfo=dt.UTC)
    shift = stop - max(stamps)
    drafts = []
    for copy in range(math.ceil(size / len(items))):
        wanted = min(len(items), size - copy * len(items))
        for k in sorted(rng.sample(range(len(items)), wanted)):
            item = items[k]
            link = item.get("link") or f"https://{feeds[index[item['outlet']]].id}.example/{item['id']}"
            drafts.append(Draft(index[item["outlet"]], item["title"] or "", item.get("summary") or "",
                                link + (f"?copy={copy}" if copy else ""),
                                stamps[k] + shift - dt.timedelta(hours=73 * copy),
                                normal_language(item.get("language")) or "en"))
    drafts.sort(key=lambda d: d.published)
    return drafts


def squeeze(drafts: Iterable[Draft], end: dt.date, days: float) -> Iterator[Draft]:
    """The drafts with their times squeezed towards ``end`` so that they span ``days`` days: what one
    poll of many feeds sees is recent, and as dense as a large store's busiest weeks."""
    stop = dt.datetime(end.year, end.month, end.day, tzinfo=dt.UTC)
    drafts = list(drafts)
    span = max((stop - d.published for d in drafts), default=dt.timedelta(days=1))
    factor = dt.timedelta(days=days) / max(span, dt.timedelta(seconds=1))
    for d in drafts:
        yield replace(d, published=stop - (stop - d.published) * factor)


# --- drafts to feed documents and items --------------------------------------------------------------

def batches(drafts: Iterable[Draft], feed_count: int, *, seed: int,
            size: int = BATCH) -> Iterator[tuple[int, list[Draft]]]:
    """Group drafts into per-feed documents of ``size`` items, in the order a poller would see them.

    A few articles are carried by a second feed as well (same link): the store counts them once.
    """
    rng = random.Random(f"batches-{seed}")
    buffers: list[list[Draft]] = [[] for _ in range(feed_count)]
    for draft in drafts:
        targets = [draft.feed]
        if rng.random() < DUPLICATE:
            targets.append(rng.randrange(feed_count))
        for feed in dict.fromkeys(targets):
            buffers[feed].append(draft if feed == draft.feed else replace(draft, feed=feed))
            if len(buffers[feed]) >= size:
                yield feed, buffers[feed]
                buffers[feed] = []
    for feed, buffer in enumerate(buffers):
        if buffer:
            yield feed, buffer


def parsed_item(draft: Draft) -> ParsedItem:
    """The ParsedItem that parse.py would make of the draft's RSS item (its id from the same function)."""
    return ParsedItem(id=article_id(draft.link, None), title=draft.title, summary=draft.summary,
                      link=draft.link, guid=draft.link, published=draft.published,
                      published_is_fallback=False, language=draft.language)


def rss_document(feed: FeedSource, drafts: Sequence[Draft], rng: random.Random) -> bytes:
    """An RSS 2.0 document as a feed would serve it: HTML in the descriptions, RFC 822 dates."""
    items = []
    for d in drafts:
        body = f"<p>{escape(d.summary)}</p>"
        if rng.random() < 0.3:
            body = f'<p><img src="https://{feed.id}.example/img/{rng.randrange(10**6)}.jpg" alt=""/></p>' + body
        items.append(
            "<item>"
            f"<title>{escape(d.title)}</title><link>{escape(d.link)}</link>"
            f'<guid isPermaLink="true">{escape(d.link)}</guid>'
            f"<pubDate>{format_datetime(d.published, usegmt=True)}</pubDate>"
            f"<description>{escape(body)}</description>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(feed.label)}</title><link>https://{feed.id}.example/</link>"
        f"<description>Benchmark feed</description><language>{feed.language}</language>"
        + "".join(items) + "</channel></rss>\n"
    ).encode("utf-8")

"""Values passed between pipeline stages, named by stage.

    FeedSource -> FetchResult -> ParsedFeed(ParsedItem...) -> TaggedItem -> store -> PollReport

All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FeedSource:
    """One feed from the feed list.

    ``url`` is an http(s) URL, or a local path / file:// URL when ``allow_local``
    is set (only feeds from the local feeds file or the command line get it).
    """

    id: str
    url: str
    name: str = ""
    language: str = "en"
    tags: tuple[str, ...] = ()
    allow_local: bool = False

    @property
    def label(self) -> str:
        return self.name or self.id


@dataclass(frozen=True)
class Validators:
    """What a feed told us last time, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FeedState:
    """What the store knows about a feed before a poll: validators and health."""

    validators: Validators = Validators()
    consecutive_failures: int = 0
    next_poll: dt.datetime | None = None


@dataclass(frozen=True)
class FetchResult:
    """The outcome of one successful fetch (errors raise FetchError instead).

    ``content`` is None when the server answered 304 Not Modified.
    """

    source: FeedSource
    url: str
    status: int
    content: bytes | None
    headers: Mapping[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    elapsed: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.content is None


@dataclass(frozen=True)
class ParsedItem:
    """One feed entry as clean plain text.

    ``id`` is stable across polls and feeds: a hash of the canonical link, or of
    the guid when there is no usable link. ``published_is_fallback`` marks items
    whose feed gave no usable date, so ``published`` is when we first saw them.
    """

    id: str
    title: str
    summary: str
    link: str | None
    guid: str | None
    published: dt.datetime
    published_is_fallback: bool
    language: str


@dataclass(frozen=True)
class ParsedFeed:
    """All usable entries of one fetched document, and how many were skipped."""

    source: FeedSource
    title: str
    items: tuple[ParsedItem, ...]
    skipped: int = 0
    warnings: tuple[str, ...] = ()
    malformed: str | None = None  # the document was not well-formed: what could be read is here


@dataclass(frozen=True)
class TopicMatch:
    """One topic given to a text, with the terms that decided it."""

    topic: str
    terms: tuple[str, ...]


@dataclass(frozen=True)
class TaggedItem:
    item: ParsedItem
    topics: tuple[TopicMatch, ...]


@dataclass(frozen=True)
class FeedUpdate:
    """One fetched feed to store: its document, tagged items and the health to record."""

    source: FeedSource
    parsed: ParsedFeed
    tagged: Sequence[TaggedItem]
    status: int
    validators: Validators
    taxonomy_version: str
    now: dt.datetime
    next_poll: dt.datetime


@dataclass(frozen=True)
class FeedReport:
    """What one poll did for one feed.

    ``outcome`` is one of: "updated" (fetched and stored), "not_modified" (304),
    "skipped" (not due yet), "error".
    """

    source_id: str
    url: str
    outcome: str
    new: int = 0
    seen: int = 0
    skipped: int = 0
    http_status: int | None = None
    error: str | None = None
    elapsed: float = 0.0
    warning: str | None = None  # updated, but from a document that was not well-formed


@dataclass(frozen=True)
class PollReport:
    started: dt.datetime
    finished: dt.datetime
    feeds: tuple[FeedReport, ...]
    clustered: int = 0  # articles put into stories at the end of the poll
    clustering_seconds: float = 0.0  # part of the poll's time: often the largest after parsing
    read_processes: int = 0  # worker processes that parsed the documents; 0: the poll's own process

    @property
    def new(self) -> int:
        return sum(f.new for f in self.feeds)

    @property
    def seen(self) -> int:
        return sum(f.seen for f in self.feeds)

    @property
    def skipped(self) -> int:
        return sum(f.skipped for f in self.feeds)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.feeds if f.outcome == "error")

    @property
    def waiting(self) -> int:
        """Feeds not fetched: backing off after failures, told to wait, or another poller's."""
        return sum(1 for f in self.feeds if f.outcome == "skipped")

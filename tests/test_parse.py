"""tracker.parse: feed documents in, clean items out.

Driven by the documents in tests/data/feeds/ and their expectations in cases.toml (one
case per document), in the spirit of feedparser's own suite: a regression is a new
document and a new case, not new code. The string helpers have small tables here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import sys
import time
import tomllib
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import shared_dir
from tracker.errors import ParseError
from tracker.models import FeedSource, ParsedFeed
from tracker.parse import article_id, canonical_link, clean_text, parse_feed, safe_link

FEEDS = Path(__file__).parent / "data" / "feeds"
CASES: list[dict[str, Any]] = tomllib.loads((FEEDS / "cases.toml").read_text(encoding="utf-8"))["case"]
SOURCE_URL = "https://example.com/feeds/main.xml"
FETCHED_AT = dt.datetime(2024, 5, 23, 12, tzinfo=dt.UTC)

CASE_KEYS = {
    "file", "about", "url", "headers", "source_url", "source_language", "error", "title",
    "count", "skipped", "warning", "warnings", "links", "languages", "forbidden", "max_seconds",
    "max_memory_mb", "items",
}
ITEM_KEYS = {
    "about", "title", "summary", "link", "guid", "published", "fallback", "language", "canonical", "story",
    "title_end", "summary_end", "summary_length",
}
MARKUP = re.compile(r"<[A-Za-z/!?]")
CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200b\u202a-\u202e\u2066-\u2069\ufeff]")


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


# parse_feed must never touch the network or the file system: an audit hook (they cannot be
# removed, so it stays installed, idle unless a parse is being watched) records attempts.
_watched: list[str] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _watched is None:
        return
    if event.startswith("socket.") or event == "urllib.Request":
        _watched.append(f"{event} {args!r}")
    elif event == "open" and isinstance(args[0], str | bytes):
        path = args[0].decode() if isinstance(args[0], bytes) else args[0]
        if not path.endswith((".py", ".pyc", ".so")):  # a lazily imported codec module is fine
            _watched.append(f"open {path}")


sys.addaudithook(_audit)


def parse_case(case: dict[str, Any]) -> ParsedFeed:
    """parse_feed on a case's document, watched for I/O and within the case's budget."""
    global _watched
    source = FeedSource(
        id="test",
        url=case.get("source_url", SOURCE_URL),
        language=case.get("source_language", "en"),
    )
    content = (FEEDS / case["file"]).read_bytes()
    measure_memory = "max_memory_mb" in case
    if measure_memory:
        tracemalloc.start()
    _watched = []
    started = time.perf_counter()
    try:
        return parse_feed(source, content, fetched_at=FETCHED_AT, url=case.get("url"), headers=case.get("headers"))
    finally:
        elapsed = time.perf_counter() - started
        attempts, _watched = _watched, None
        if measure_memory:
            peak = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
            assert peak <= case["max_memory_mb"], f"peak memory {peak:.1f} MB"
        assert elapsed <= case.get("max_seconds", 10), f"took {elapsed:.2f} s"
        assert attempts == [], "parse_feed touched the network or the file system"


def assert_sane(feed: ParsedFeed) -> None:
    """What must hold for every item of every feed."""
    for item in feed.items:
        assert re.fullmatch(r"[0-9a-f]{40}", item.id)
        assert item.link is None or re.match(r"https?://[^/\s]", item.link), item.link
        assert item.published.tzinfo is dt.UTC
        assert item.title or item.summary or item.link
        assert re.fullmatch(r"[a-z]{2,3}", item.language), item.language
        assert len(item.title) <= 500 and len(item.summary) <= 2000
        for text in (item.title, item.summary):
            assert not MARKUP.search(text), text
            assert not CONTROLS.search(text), repr(text)
            assert text == text.strip() and "  " not in text


def test_every_document_has_a_case() -> None:
    documents = {path.name for path in FEEDS.iterdir() if path.name != "cases.toml"}
    files = [case["file"] for case in CASES]
    assert len(files) == len(set(files)), "a document has two cases"
    assert documents == set(files)
    for case in CASES:
        assert set(case) <= CASE_KEYS, case["file"]
        assert "about" in case, case["file"]
        for item in case.get("items", []):
            assert set(item) <= ITEM_KEYS, case["file"]


@pytest.mark.parametrize("case", CASES, ids=[case["file"] for case in CASES])
def test_document(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(ParseError) as caught:
            parse_case(case)
        assert caught.value.reason.startswith(case["error"]), caught.value.reason
        assert caught.value.resource == (case.get("url") or case.get("source_url", SOURCE_URL))
        return
    feed = parse_case(case)
    assert_sane(feed)
    if "title" in case:
        assert feed.title == case["title"]
    if "count" in case:
        assert len(feed.items) == case["count"]
    assert feed.skipped == case.get("skipped", 0)
    if "warning" in case:
        assert any(case["warning"] in warning for warning in feed.warnings), feed.warnings
    if case.get("warnings") is False:
        assert feed.warnings == ()
    if "links" in case:
        assert [item.link or "" for item in feed.items] == case["links"]
    if "languages" in case:
        assert [item.language for item in feed.items] == case["languages"]
    for text in case.get("forbidden", []):
        assert all(text not in t for i in feed.items for t in (i.title, i.summary)), text
        assert text not in feed.title
    for expected, item in zip(case.get("items", []), feed.items, strict=False):
        check_item(expected, item)


def check_item(expected: dict[str, Any], item: Any) -> None:
    for key in ("title", "summary", "language"):
        if key in expected:
            assert getattr(item, key) == expected[key]
    for key in ("link", "guid"):
        if key in expected:
            assert (getattr(item, key) or "") == expected[key]
    if "published" in expected:
        assert item.published == dt.datetime.fromisoformat(expected["published"])
    if "fallback" in expected:
        assert item.published_is_fallback is expected["fallback"]
    if "canonical" in expected:
        assert item.id == sha1(expected["canonical"])
        assert item.link in (expected["canonical"], None)
    if "title_end" in expected:
        assert item.title.endswith(expected["title_end"]), item.title[-40:]
    if "summary_end" in expected:
        assert item.summary.endswith(expected["summary_end"]), item.summary[-40:]
    if "summary_length" in expected:
        assert len(item.summary) == expected["summary_length"]


def test_one_story_through_two_feeds_has_one_id() -> None:
    ids: dict[str, set[str]] = {}
    for case in CASES:
        stories = [item.get("story") for item in case.get("items", [])]
        if any(stories):
            for story, item in zip(stories, parse_case(case).items, strict=False):
                if story:
                    ids.setdefault(story, set()).add(item.id)
    assert len(ids["drills"]) == 1
    assert all(len(found) == 1 for found in ids.values())
    assert len(set.union(*ids.values())) == len(ids)


def test_fetched_at_must_be_aware() -> None:
    source = FeedSource(id="test", url=SOURCE_URL)
    content = (FEEDS / "rss20_basic.xml").read_bytes()
    with pytest.raises(ValueError):
        parse_feed(source, content, fetched_at=dt.datetime(2024, 5, 23, 12))


def test_fetched_at_in_another_zone_is_converted() -> None:
    source = FeedSource(id="test", url=SOURCE_URL)
    taipei = dt.timezone(dt.timedelta(hours=8))
    content = (FEEDS / "dates.xml").read_bytes()
    feed = parse_feed(source, content, fetched_at=dt.datetime(2024, 5, 23, 20, tzinfo=taipei))
    fallback = feed.items[3]
    assert fallback.published_is_fallback
    assert fallback.published == FETCHED_AT and fallback.published.tzinfo is dt.UTC


def test_real_feeds_from_the_eval_folder() -> None:
    """Every real feed document in $TRACKER_EVAL_DIR/feeds parses into sane items."""
    folder = shared_dir("TRACKER_EVAL_DIR") / "feeds"
    documents = sorted(path for path in folder.iterdir() if path.suffix in {".xml", ".rss", ".atom"})
    assert documents
    now = dt.datetime.now(dt.UTC)
    for path in documents:
        source = FeedSource(id=path.stem, url="https://example.com/feed.xml")
        feed = parse_feed(source, path.read_bytes(), fetched_at=now, headers={"Content-Type": "application/rss+xml"})
        assert feed.items and feed.skipped == 0 and feed.title, path.name
        assert all(item.link for item in feed.items), path.name
        assert_sane(feed)


# --- The string helpers ----------------------------------------------------------------------

CLEAN_TEXT = [
    ("<p>Drills &amp; <b>patrols</b></p><script>x()</script>", "Drills & patrols"),
    ("plain text", "plain text"),
    ("", ""),
    ("a<br>b", "a b"),
    ("<div>a</div><div>b</div>", "a b"),
    ("<b>W</b>ord", "Word"),
    ("&lt;script&gt;alert(1)&lt;/script&gt;ok", "ok"),
    ("&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;ok", "ok"),
    ('<img src=x onerror="alert(1)">', ""),
    ('<a href="javascript:alert(1)" onclick="x()">click</a>', "click"),
    ("<style>p {}</style><noscript>n</noscript><textarea>t</textarea>text", "text"),
    ("<embed src=x>after", "after"),
    ("<!-- comment -->x<![CDATA[y]]>", "x"),
    ("x\x00y\x07z\x9f", "xyz"),
    ("a\u202eb\u200bc\ufeff", "abc"),
    ("5 < 6 and AT&T", "5 < 6 and AT&T"),
    ("&nbsp;x&#160;y\u3000z\n\tw", "x y z w"),
    ("&amp;#8217;&amp;eacute;", "’é"),
    ("<unclosed tag", "unclosed tag"),
    ("<\x00script>alert(1)</script>ok", "ok"),
    ("&lt;&#x200B;script&gt;alert(1)&lt;/script&gt;ok", "ok"),
    ("<\u202eimg src=x onerror=alert(1)>ok", "ok"),
]


@pytest.mark.parametrize(("markup", "expected"), CLEAN_TEXT)
def test_clean_text(markup: str, expected: str) -> None:
    assert clean_text(markup) == expected


def test_clean_text_leaves_no_tag_however_deep_the_escaping() -> None:
    markup = "<b>deep</b>"
    for _ in range(8):
        markup = markup.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert not MARKUP.search(clean_text(markup))


@pytest.mark.parametrize(
    ("text", "max_chars", "expected"),
    [
        ("one two three four", 10, "one two…"),
        ("一二三四五六", 4, "一二三…"),
        ("short", 10, "short"),
        ("abcdefghij", 10, "abcdefghij"),
        ("a bcdefghijkl", 6, "a bcd…"),
    ],
)
def test_clean_text_cuts_at_a_word_boundary(text: str, max_chars: int, expected: str) -> None:
    assert clean_text(text, max_chars) == expected
    assert len(clean_text(text, max_chars)) <= max_chars


BASE = "https://example.com/b/c"
SAFE_LINK = [
    ("https://example.com/a", None, "https://example.com/a"),
    ("  https://example.com/a\n", None, "https://example.com/a"),
    ("HTTP://Example.com/A", None, "http://Example.com/A"),
    ("/a", BASE, "https://example.com/a"),
    ("a?x=1", BASE, "https://example.com/b/a?x=1"),
    ("?q=1", BASE, "https://example.com/b/c?q=1"),
    ("//cdn.example.net/x", BASE, "https://cdn.example.net/x"),
    ("https://example.com/a b", None, "https://example.com/a%20b"),
    ("/a", None, None),
    ("/a", "javascript:alert(1)//", None),
    ("/a", "file:///etc/", None),
    ("javascript:alert(1)", BASE, None),
    ("JaVaScRiPt:alert(1)", BASE, None),
    ("\t javascript:alert(1)", BASE, None),
    ("java\tscript:alert(1)", BASE, None),
    ("java\nscript:alert(1)", BASE, None),
    ("java script:alert(1)", BASE, None),
    ("jav&#x61;script:alert(1)", BASE, None),
    ("javascript&#58;alert(1)", BASE, None),
    ("&#x6A;avascript&colon;alert(1)", BASE, None),
    ("data:text/html,<script>alert(1)</script>", BASE, None),
    ("vbscript:msgbox(1)", BASE, None),
    ("file:///etc/passwd", BASE, None),
    ("feed://example.com/rss", BASE, None),
    ("mailto:desk@example.com", BASE, None),
    ("http:/no-host", BASE, None),
    ("https:\\\\evil.example\\x", BASE, None),
    ("https://example.com:99999/x", BASE, None),
    ("https://example.com/\u2028x", BASE, None),
    ("https://example.com/\u202egnp.exe", BASE, None),
    ("java\u200bscript:alert(1)", BASE, None),
    ("https://example.com/" + "a" * 5000, None, None),
    ("", BASE, None),
    (None, BASE, None),
]


@pytest.mark.parametrize(("url", "base", "expected"), SAFE_LINK)
def test_safe_link(url: str | None, base: str | None, expected: str | None) -> None:
    assert safe_link(url, base) == expected


CANONICAL = [
    ("HTTPS://Example.COM:443/Path/Case?b=1&a=2#frag", "https://example.com/Path/Case?b=1&a=2"),
    ("http://example.com", "http://example.com/"),
    ("http://example.com:8080/x", "http://example.com:8080/x"),
    ("http://[::1]:80/x", "http://[::1]/x"),
    ("https://user:pw@example.com/x", "https://example.com/x"),
    ("https://example.com/x?utm_source=a&UTM_MEDIUM=b&utm_campaign=c", "https://example.com/x"),
    ("https://example.com/x?id=1&gclid=2&fbclid=3&_ga=4&mc_cid=5&mc_eid=6&ref_src=7&igshid=8", "https://example.com/x?id=1"),
    ("https://example.com/x?a=%20b&utm%5Fsource=x&c", "https://example.com/x?a=%20b&c"),
    ("https://example.com/x?&&a=1&", "https://example.com/x?a=1"),
    ("https://example.com/#!/story/1", "https://example.com/#!/story/1"),
    ("https://example.com/app#/story/2", "https://example.com/app#/story/2"),
    ("javascript:alert(1)", None),
    ("/relative", None),
    ("", None),
]


@pytest.mark.parametrize(("url", "expected"), CANONICAL)
def test_canonical_link(url: str, expected: str | None) -> None:
    assert canonical_link(url) == expected


def test_article_id_follows_the_canonical_link() -> None:
    expected = sha1("https://example.com/a")
    assert article_id("https://EXAMPLE.com/a?utm_source=x#f", None) == expected
    assert article_id("https://example.com/a", "some-guid", source_url="https://feed.example") == expected
    assert article_id(None, "https://example.com/a?fbclid=1") == expected
    assert article_id("javascript:alert(1)", "https://example.com/a") == expected


def test_article_id_scopes_bare_guids_to_their_feed() -> None:
    # "12345" repeats across sites; "tag:" and "urn:" guids are unique by design.
    assert article_id(None, "12345", source_url="https://a.example/rss") != article_id(
        None, "12345", source_url="https://b.example/rss"
    )
    assert article_id(None, "12345", source_url="https://a.example/rss") == article_id(
        None, "12345", source_url="https://a.example/rss"
    )
    tag = "tag:example.com,2024:1"
    assert article_id(None, tag, source_url="https://a.example/rss") == article_id(
        None, tag, source_url="https://b.example/rss"
    )


def test_article_id_without_link_or_guid() -> None:
    when = dt.datetime(2024, 5, 23, 2, tzinfo=dt.UTC)
    first = article_id(None, None, source_url="https://a.example/rss", title="Drills", published=when)
    assert first == article_id(None, None, source_url="https://a.example/rss", title="Drills", published=when)
    assert first != article_id(None, None, source_url="https://a.example/rss", title="Talks", published=when)
    assert first != article_id(None, None, source_url="https://b.example/rss", title="Drills", published=when)
    assert first != article_id(None, None, source_url="https://a.example/rss", title="Drills")

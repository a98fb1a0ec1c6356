"""Hostile feeds through the real ingest path: served by a real HTTP server on 127.0.0.1,
polled by poller.poll into a real SQLite file, read back from the store and exported by the CLI.

Driven by the documents in tests/data/hostile/ and their expectations in cases.toml (one case
per document). The invariants every stored text must meet live here too (``text_problems``,
``link_problems``, ``store_problems``, ``consistency_problems``); test_sweep.py and
test_faults.py use them.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
import sqlite3
import subprocess
import sys
import tomllib
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from tracker import poller, topics
from tracker.config import PROJECT_ROOT, Settings
from tracker.models import FeedReport, FeedSource
from tracker.store import open_store

from .conftest import POLL_DATA

HOSTILE = Path(__file__).parent / "data" / "hostile"
CASES: list[dict[str, Any]] = tomllib.loads((HOSTILE / "cases.toml").read_text(encoding="utf-8"))["case"]
CASE_KEYS = {"file", "about", "headers", "template", "outcome", "error", "count", "skipped", "feed_title",
             "links", "titles", "fallback", "forbidden", "requests"}
SECRET = "TRACKER-SECRET-MARKER"
TRACKER = str(Path(sys.executable).with_name("tracker"))

# --- what every stored text must be ------------------------------------------------------------

MARKUP = re.compile(r"<[A-Za-z/!?]")  # a tag, comment, declaration or processing instruction
SCRIPT = re.compile(r"<\s*/?\s*script", re.IGNORECASE)
HANDLER = re.compile(r"(?<![\w-])on[a-z]+\s*=", re.IGNORECASE)  # onclick=, onerror = ...
HANDLER_IN_TAG = re.compile(r"<[A-Za-z][^>]*(?<![\w-])on[a-z]+\s*=", re.IGNORECASE)
CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200b\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
# A dangerous scheme as a browser reads it: any case, with blanks or controls in or before it.
BAD_SCHEME = re.compile(r"^[\x00-\x20]*(?:j\s*a\s*v\s*a\s*s\s*c\s*r\s*i\s*p\s*t|v\s*b\s*s\s*c\s*r\s*i\s*p\s*t"
                        r"|d\s*a\s*t\s*a|f\s*i\s*l\s*e)\s*:", re.IGNORECASE)
# An http(s) URL that cannot hold a tag or close the quoted HTML attribute it is written into.
WEB_LINK = re.compile(r"https?://[^\s\"<>`\x00-\x1f\x7f-\x9f]+")


def text_problems(text: str, *, handler_words: bool = False) -> list[str]:
    """What makes a stored title or summary unsafe to show (empty when it is clean text).

    ``handler_words`` allows "onclick=" as words outside any tag: payload lists hold lines
    such as ``" onmouseover=alert(1)//``, which stored as text are exactly what the feed said.
    No tag can survive in any case, so no element can carry a handler.
    """
    problems = []
    if MARKUP.search(text):
        problems.append("markup")
    if SCRIPT.search(text):
        problems.append("<script")
    if HANDLER_IN_TAG.search(text) or (not handler_words and HANDLER.search(text)):
        problems.append("event handler")
    if CONTROLS.search(text):
        problems.append("control character")
    if text != text.strip():
        problems.append("untrimmed")
    return problems


def link_problems(link: str) -> list[str]:
    """What makes a stored link unsafe (empty when it is a plain http(s) URL)."""
    problems = []
    for shown in (link, html.unescape(link)):
        if BAD_SCHEME.match(shown):
            problems.append(f"dangerous scheme in {shown[:40]!r}")
    if not WEB_LINK.fullmatch(link):
        problems.append("not a plain http(s) URL")
    elif not urlsplit(link).hostname:
        problems.append("no host")
    if SCRIPT.search(link) or CONTROLS.search(link):
        problems.append("markup or control character")
    return problems


def db_rows(db: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Rows of one query on a SQLite file, read directly (not through the code under test)."""
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql, params).fetchall()


def store_problems(db: str, *, handler_words: bool = False) -> list[str]:
    """Every unsafe value in the store: article titles, summaries, links, guids and feed titles."""
    found = []
    for article_id, title, summary, link, guid, feeds in db_rows(db, """
            SELECT a.id, a.title, a.summary, a.link, a.guid, group_concat(s.feed_id)
            FROM articles a LEFT JOIN sightings s ON s.article_num = a.num GROUP BY a.id"""):
        where = f"article {article_id[:8]} of {feeds}"
        for name, text in (("title", title), ("summary", summary)):
            found += [f"{where} {name} {text[:80]!r}: {p}" for p in text_problems(text, handler_words=handler_words)]
        if link is not None:
            found += [f"{where} link {link[:80]!r}: {p}" for p in link_problems(link)]
        if guid is not None and CONTROLS.search(guid):
            found.append(f"{where} guid {guid[:80]!r}: control character")
    for feed_id, title in db_rows(db, "SELECT id, title FROM feeds WHERE title IS NOT NULL"):
        problems = text_problems(title, handler_words=handler_words)
        found += [f"feed {feed_id} title {title[:80]!r}: {p}" for p in problems]
    return found


def consistency_problems(db: str, taxonomy: topics.Taxonomy | None = None) -> list[str]:
    """Anything showing a write only partly applied: run on a store nobody is writing to.

    SQLite's own integrity check; no article without a sighting, no sighting or topic without
    its article; a feed that carried articles has succeeded once; each article's topics are
    what the tagger gives its stored text (when ``taxonomy`` is given); the daily rollups
    (when the schema has them) equal a recount.
    """
    found = [f"integrity_check: {row[0]}" for row in db_rows(db, "PRAGMA integrity_check") if row[0] != "ok"]
    checks = {
        "articles without a sighting":
            "SELECT count(*) FROM articles WHERE num NOT IN (SELECT article_num FROM sightings)",
        "sightings without an article":
            "SELECT count(*) FROM sightings WHERE article_num NOT IN (SELECT num FROM articles)",
        "topics without an article":
            "SELECT count(*) FROM article_topics WHERE article_num NOT IN (SELECT num FROM articles)",
        "feeds with articles but no success":
            "SELECT count(*) FROM feeds WHERE last_success IS NULL AND id IN (SELECT feed_id FROM sightings)",
    }
    for what, sql in checks.items():
        (count,) = db_rows(db, sql)[0]
        if count:
            found.append(f"{count} {what}")
    if taxonomy is not None:
        stored: dict[str, set[str]] = {}
        for article_id, topic in db_rows(db, "SELECT a.id, t.topic FROM article_topics t "
                                             "JOIN articles a ON a.num = t.article_num"):
            stored.setdefault(article_id, set()).add(topic)
        for article_id, title, summary, language in db_rows(db, "SELECT id, title, summary, language FROM articles"):
            expected = {m.topic for m in topics.tag(taxonomy, title, summary, language)}
            if stored.get(article_id, set()) != expected:
                found.append(f"article {article_id[:8]} has topics {stored.get(article_id)}, not {expected}")
    return found + _rollup_problems(db)


def _rollup_problems(db: str) -> list[str]:
    tables = {name for (name,) in db_rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    recounts = {
        "daily_counts": """
            SELECT date(published), language, '*', count(*) FROM articles GROUP BY 1, 2
            UNION ALL
            SELECT date(t.published), a.language, t.topic, count(*)
            FROM article_topics t JOIN articles a ON a.num = t.article_num GROUP BY 1, 2, 3""",
        "feed_daily_counts": """
            SELECT date(a.published), s.feed_id, count(*)
            FROM sightings s JOIN articles a ON a.num = s.article_num GROUP BY 1, 2""",
    }
    found = []
    for table, recount in recounts.items():
        if table not in tables:
            continue
        key_columns = "day, language, topic" if table == "daily_counts" else "day, feed_id"
        kept = set(db_rows(db, f"SELECT {key_columns}, articles FROM {table} WHERE articles != 0"))
        if kept != set(db_rows(db, recount)):
            found.append(f"{table} differs from a recount of the articles")
    return found


# --- serving and polling a case ----------------------------------------------------------------

def settings(db: str, **overrides: object) -> Settings:
    return Settings.from_env(db=db, allow_private_networks=True, connect_timeout=5, read_timeout=10,
                             total_timeout=20, **overrides)


def server_root(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/").rstrip("/")


def serve_case(httpserver: HTTPServer, case: dict[str, Any], secret_uri: str) -> FeedSource:
    body = (HOSTILE / case["file"]).read_bytes()
    if case.get("template"):
        body = body.replace(b"{server}", server_root(httpserver).encode()).replace(b"{secret_uri}", secret_uri.encode())
    headers = dict(case.get("headers", {}))
    content_type = headers.pop("Content-Type", "application/xml")
    path = f"/hostile/{case['file']}"
    httpserver.expect_request(path).respond_with_data(body, content_type=content_type, headers=headers)
    return FeedSource(re.sub(r"[^a-z0-9]+", "-", case["file"].lower()), httpserver.url_for(path))


@pytest.fixture
def secret_uri(tmp_path: Path) -> str:
    """A local file an external entity could point at; its content must never be stored."""
    secret = tmp_path / "secret.txt"
    secret.write_text(f"{SECRET} root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    return secret.as_uri()


def stored_for(db: str, feed_id: str) -> list[dict[str, Any]]:
    """The articles one feed carried, as stored."""
    rows = db_rows(db, """
        SELECT a.title, a.summary, a.link, a.guid, a.published_is_fallback
        FROM sightings s JOIN articles a ON a.num = s.article_num WHERE s.feed_id = ?""", feed_id)
    return [dict(zip(("title", "summary", "link", "guid", "fallback"), row, strict=True)) for row in rows]


def check_case(case: dict[str, Any], report: FeedReport, db: str, server: str) -> None:
    """Everything a case expects of one feed's outcome, health row and stored articles."""
    assert report.outcome == case.get("outcome", "updated"), report.error
    (row,) = db_rows(db, "SELECT last_error, last_success, consecutive_failures, title FROM feeds WHERE id = ?",
                   report.source_id)
    health = dict(zip(("last_error", "last_success", "failures", "title"), row, strict=True))
    if report.outcome == "error":
        assert case.get("error", "") in (report.error or "")
        assert health["last_error"] == report.error and health["failures"] == 1
    else:  # a document read only in part says so in its health row, as the poll reported it
        assert health["last_error"] == report.warning and health["last_success"] and health["failures"] == 0
    stored = stored_for(db, report.source_id)
    by_title = {row["title"]: row for row in stored}
    if "count" in case:
        assert len(stored) == case["count"], sorted(by_title)
    assert report.skipped == case.get("skipped", 0)
    for title in case.get("titles", []):
        assert title in by_title, sorted(by_title)
    for title, link in case.get("links", {}).items():
        assert by_title[title]["link"] == (link.replace("{server}", server) or None), title
    for title, fallback in case.get("fallback", {}).items():
        assert bool(by_title[title]["fallback"]) is fallback, title
    if "feed_title" in case:
        assert health["title"] == case["feed_title"]
    everything = json.dumps([stored, health["title"]], ensure_ascii=False)
    for forbidden in case.get("forbidden", []):
        assert forbidden not in everything, forbidden


# --- the cases -------------------------------------------------------------------------------

def test_every_document_has_a_case() -> None:
    documents = {path.name for path in HOSTILE.iterdir() if path.name != "cases.toml"}
    files = [case["file"] for case in CASES]
    assert len(files) == len(set(files)) and documents == set(files)
    for case in CASES:
        assert set(case) <= CASE_KEYS and "about" in case, case["file"]


@pytest.mark.parametrize("case", CASES, ids=[case["file"] for case in CASES])
def test_hostile_document(case: dict[str, Any], httpserver: HTTPServer, db_path: str, secret_uri: str) -> None:
    source = serve_case(httpserver, case, secret_uri)
    report = poller.poll(open_store(db_path), [source], settings=settings(db_path))
    check_case(case, report.feeds[0], db_path, server_root(httpserver))
    assert store_problems(db_path) == []
    assert consistency_problems(db_path, topics.load_taxonomy(settings(db_path).topics_file)) == []
    if "requests" in case:
        assert [request.path for request, _ in httpserver.log] == [urlsplit(source.url).path]


def test_all_hostile_documents_in_one_poll_leave_a_good_feed_alone(httpserver: HTTPServer, db_path: str,
                                                                   secret_uri: str) -> None:
    sources = [serve_case(httpserver, case, secret_uri) for case in CASES]
    httpserver.expect_request("/good").respond_with_data((POLL_DATA / "basic.rss").read_bytes(),
                                                         content_type="application/rss+xml")
    good = FeedSource("good", httpserver.url_for("/good"))
    report = poller.poll(open_store(db_path), [*sources[:5], good, *sources[5:]], settings=settings(db_path))
    outcomes = {feed.source_id: feed for feed in report.feeds}
    assert outcomes["good"].outcome == "updated" and outcomes["good"].new == 3
    for case, source in zip(CASES, sources, strict=True):
        check_case(case, outcomes[source.id], db_path, server_root(httpserver))
    assert store_problems(db_path) == []
    assert consistency_problems(db_path) == []


@pytest.mark.slow
def test_hostile_documents_read_in_worker_processes_store_what_one_process_stores(
        httpserver: HTTPServer, tmp_path: Path, secret_uri: str) -> None:
    """`tracker poll` parses on two cores (tracker/readers.py): every hostile document gives the
    same articles, topics and feed health there as in the poll's own process."""
    from .test_readers import poll_listing, stored, write_listing

    sources = [serve_case(httpserver, case, secret_uri) for case in CASES]
    listing = write_listing(tmp_path / "feeds.toml", ((s.id, s.url) for s in sources))
    dbs = {}
    for processes in (1, 2):
        dbs[str(processes)] = str(tmp_path / f"p{processes}.sqlite")
        output = poll_listing(listing, dbs[str(processes)], processes, timeout=300, TRACKER_TOTAL_TIMEOUT="20")
        assert ("parsed in 2 processes" in output) is (processes == 2)
    assert stored(Path(dbs["2"])) == stored(Path(dbs["1"]))
    assert store_problems(dbs["2"]) == [] and consistency_problems(dbs["2"]) == []
    assert SECRET not in json.dumps(db_rows(dbs["2"], "SELECT title, summary, link FROM articles"))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-be"])
def test_external_entities_and_dtds_are_never_fetched(httpserver: HTTPServer, db_path: str, secret_uri: str,
                                                      encoding: str) -> None:
    """Whatever encoding hides the DOCTYPE, nothing it names is requested, read or expanded."""
    text = (HOSTILE / "xxe_template.xml").read_text(encoding="utf-8")
    text = text.replace("{server}", server_root(httpserver)).replace("{secret_uri}", secret_uri)
    body = text.replace('encoding="utf-8"', f'encoding="{encoding}"').encode(encoding)
    for path in ("/external.dtd", "/parameter.dtd", "/entity.txt", "/xinclude.xml", "/stylesheet.xsl",
                 "/schema.xsd"):
        httpserver.expect_request(path).respond_with_data(f"FETCHED-OVER-HTTP {path}")
    httpserver.expect_request("/feed").respond_with_data(body, content_type="application/rss+xml")
    report = poller.poll(open_store(db_path), [FeedSource("xxe", httpserver.url_for("/feed"))],
                         settings=settings(db_path))
    assert report.feeds[0].outcome == "updated", report.feeds[0].error
    assert [request.path for request, _ in httpserver.log] == ["/feed"]
    stored = json.dumps(db_rows(db_path, "SELECT title, summary, link FROM articles UNION ALL "
                                       "SELECT title, '', '' FROM feeds"))
    assert SECRET not in stored and "FETCHED-OVER-HTTP" not in stored and "INTERNAL-EXPANSION" not in stored
    assert "secret:&secret;" in stored  # left as written, unexpanded


# An entity bomb, polled in a child process that reports its own time and peak memory.
BOMB_CHILD = """
import json, resource, sys, time, tracemalloc
from tracker import poller, topics
from tracker.config import Settings
from tracker.models import FeedSource
from tracker.store import open_store

db, warm_up, bomb = sys.argv[1:4]
settings = Settings(db=db, allow_private_networks=True)
store, taxonomy = open_store(db), topics.load_taxonomy(settings.topics_file)
# A harmless feed first, so imports and first use are not counted against the bomb.
poller.poll(store, [FeedSource("warm", warm_up, allow_local=True)], settings=settings, taxonomy=taxonomy)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
report = poller.poll(store, [FeedSource("bomb", bomb, allow_local=True)], settings=settings, taxonomy=taxonomy)
seconds = time.perf_counter() - started
grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
# Once more under tracemalloc (slower, so not timed) for the peak of what Python allocated.
tracemalloc.start()
poller.poll(store, [FeedSource("bomb", bomb, allow_local=True)], settings=settings, taxonomy=taxonomy, force=True)
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(json.dumps({"seconds": seconds, "grown_mb": grown_kib / 1024, "peak_mb": peak / 1e6,
                  "outcome": report.feeds[0].outcome, "error": report.feeds[0].error}))
"""


def quadratic_blowup(path: Path, *, entity_kb: int = 50, uses: int = 20_000, encoding: str = "utf-8") -> Path:
    """One 50 kB entity used 20,000 times: 1 GB if expanded (too big for a fixture file)."""
    uses_text = "&big;" * uses
    path.write_bytes((f'<?xml version="1.0" encoding="{encoding}"?>\n'
                      f'<!DOCTYPE rss [<!ENTITY big "{"x" * entity_kb * 1024}">]>\n'
                      '<rss version="2.0"><channel><title>Quadratic</title>'
                      f'<item><title>blowup</title><link>https://blowup.example/1</link>'
                      f'<description>{uses_text}</description></item></channel></rss>').encode(encoding))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("bomb", ["billion_laughs.xml", "quadratic-utf8", "quadratic-utf16"])
def test_entity_bombs_finish_fast_in_bounded_memory(tmp_path: Path, bomb: str) -> None:
    if bomb.startswith("quadratic"):
        encoding = "utf-16" if bomb.endswith("utf16") else "utf-8"
        path = quadratic_blowup(tmp_path / f"{bomb}.xml", encoding=encoding)
    else:
        path = HOSTILE / bomb
    done = subprocess.run([sys.executable, "-c", BOMB_CHILD, str(tmp_path / "bomb.sqlite"),
                           str(POLL_DATA / "basic.rss"), str(path)],
                          capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT)
    assert done.returncode == 0, done.stderr
    measured = json.loads(done.stdout)
    assert measured["outcome"] == "updated", measured["error"]
    assert measured["seconds"] < 2, measured
    assert measured["grown_mb"] < 64 and measured["peak_mb"] < 64, measured


def export_csv(db: str, *args: str) -> str:
    """`tracker export` in a real subprocess; its CSV as text."""
    done = subprocess.run([TRACKER, "export", "--db", db, *args], capture_output=True, timeout=120)
    assert done.returncode == 0 and done.stderr == b"", done.stderr
    return done.stdout.decode("utf-8")


FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def assert_csv_is_safe(text: str, expected_rows: int) -> list[dict[str, str]]:
    """No cell a spreadsheet would evaluate, and the same rows back through pandas."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    for row in rows[1:]:
        for cell in row:
            assert not cell.lstrip(" ").startswith(FORMULA_START), cell
    back = pd.read_csv(io.StringIO(text), keep_default_na=False, dtype=str)
    assert len(back) == len(rows) - 1 == expected_rows
    return back.to_dict("records")


@pytest.mark.slow
def test_csv_formulas_are_neutralised_by_export(httpserver: HTTPServer, db_path: str, secret_uri: str) -> None:
    case = next(case for case in CASES if case["file"] == "csv_formulas.xml")
    poller.poll(open_store(db_path), [serve_case(httpserver, case, secret_uri)], settings=settings(db_path))
    stored = {title: summary for title, summary in db_rows(db_path, "SELECT title, summary FROM articles")}
    text = export_csv(db_path)
    records = assert_csv_is_safe(text, case["count"])
    for record in records:
        original = record["title"][1:] if record["title"].startswith("'") else record["title"]
        assert original in stored
        # Exactly the cells that would run got the quote, and nothing else changed.
        assert record["title"] == ("'" + original if original.startswith(FORMULA_START) else original)
        summary = stored[original]
        assert record["summary"] == ("'" + summary if summary.startswith(FORMULA_START) else summary)
    # OWASP's own examples, escaped exactly as OWASP shows.
    assert '"\'=1+2"";=1+2"' in text and '"\'=1+2\'"" ;,=1+2"' in text


@pytest.mark.slow
def test_fallback_dates_are_marked_in_store_and_export(httpserver: HTTPServer, db_path: str,
                                                       secret_uri: str) -> None:
    case = next(case for case in CASES if case["file"] == "dates.xml")
    before = dt.datetime.now(dt.UTC)
    poller.poll(open_store(db_path), [serve_case(httpserver, case, secret_uri)], settings=settings(db_path))
    records = {r["title"]: r for r in assert_csv_is_safe(export_csv(db_path), case["count"])}
    for title, fallback in case["fallback"].items():
        assert records[title]["published_is_fallback"] == str(fallback), title
        published = dt.datetime.fromisoformat(records[title]["published"])
        if fallback:  # dated by the fetch
            assert before - dt.timedelta(seconds=1) <= published <= dt.datetime.now(dt.UTC)
        else:
            assert published < before - dt.timedelta(days=1)


def test_cli_poll_names_the_feed_and_the_reason(db_path: str) -> None:
    from click.testing import CliRunner

    from tracker import cli

    html_page, good = POLL_DATA / "not-a-feed.html", HOSTILE / "xss_text.xml"
    result = CliRunner().invoke(cli.main, ["poll", "--db", db_path, "--feed", str(html_page), "--feed", str(good)])
    assert result.exit_code == 0, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error")]
    assert len(errors) == 1
    assert re.fullmatch(r"error +[a-z0-9-]*not-a-feed-html: not a feed: looks like an HTML page \(HTTP 200\)",
                        errors[0]), errors
    assert re.search(r"updated +[a-z0-9-]*xss-text-xml: 9 new", result.output)


@pytest.mark.slow
def test_near_identical_headlines_do_not_stall_the_poll(tmp_path: Path) -> None:
    items = "".join(f"<item><title>Breaking: PLA drills near the Taiwan Strait, update {n}</title>"
                    f"<link>https://same.example/{n}</link></item>" for n in range(3000))
    feed = tmp_path / "same.rss"
    feed.write_text(f'<rss version="2.0"><channel><title>Same</title>{items}</channel></rss>', encoding="utf-8")
    try:  # distinct headlines: about 4 s here, most of it starting the command
        done = subprocess.run([TRACKER, "poll", "--feed", str(feed), "--db", str(tmp_path / "same.sqlite")],
                              capture_output=True, text=True, timeout=12)
    except subprocess.TimeoutExpired:
        pytest.fail("polling one feed of 3,000 near-identical headlines took more than 12 s")
    assert done.returncode == 0 and "3000 new" in done.stdout, done.stderr

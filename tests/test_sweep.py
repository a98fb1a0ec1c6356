"""The hostile-input sweep: every document of the shared hostile kit through the real ingest path.

TRACKER_SWEEP_DIR names the kit (/work/shared/hostile: feedparser's 2,100 test feeds, reader's
and Miniflux's test data, XXE/XSS/CSV payload lists; see its README.md). Every file is served
by a real HTTP server on 127.0.0.1 (with the ``Header:`` lines of its leading comment as
response headers) and polled by ``poller.poll`` into a real SQLite store, in one batch. Every
feed must end updated or recorded as its own error, and everything stored must be clean text.
Payload lists are not feeds: each line becomes the title, summary, link, guid or xml:base of
items in feeds built here, and the CSV payloads also go out through ``tracker export``.

A counts table (per folder: files, updated, errors, articles) is printed, written to
sweep-counts.txt under the test's tmp_path, recorded as a property, and shown in pytest's
terminal summary.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pandas as pd
import pytest
from click.testing import CliRunner

from tracker import cli, poller, queries, topics
from tracker.config import Settings
from tracker.models import FeedSource, PollReport
from tracker.store import open_store

from .conftest import shared_dir
from .test_hostile import assert_csv_is_safe, consistency_problems, store_problems
from .test_readers import poll_listing, stored, write_listing

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SWEEP = "TRACKER_SWEEP_DIR"
KIT_METADATA = re.compile(r"(README\.md|MANIFEST.*\.tsv)")  # the kit's own description, at its top
# "Header: Name: value" lines in a leading comment: simulated response headers (feedparser's convention).
HEADER_LINE = re.compile(rb"^[ \t]*Header:[ \t]*([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*\r?$", re.MULTILINE)
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


# --- a server that sends exactly the headers it is given ------------------------------------------

class DocumentServer:
    """Serves fixed documents on 127.0.0.1: no Content-Type or other header is added but Date and Server."""

    def __init__(self) -> None:
        self.documents: dict[str, tuple[list[tuple[str, str]], bytes]] = {}
        documents = self.documents

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, so thousands of requests stay quick

            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                headers, body = documents.get(self.path, ([], b""))
                self.send_response(200 if self.path in documents else 404)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.root = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.start()

    def add(self, name: str, body: bytes, headers: list[tuple[str, str]] | None = None) -> str:
        path = f"/{len(self.documents)}/{re.sub(r'[^A-Za-z0-9._-]+', '_', name)}"
        self.documents[path] = (headers or [], body)
        return self.root + path

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture
def server() -> Iterator[DocumentServer]:
    serving = DocumentServer()
    yield serving
    serving.close()


# --- the kit ------------------------------------------------------------------------------------

def kit() -> Path:
    return shared_dir(SWEEP)


def documents(root: Path) -> list[Path]:
    """Every file of the kit but its own README and manifests: payload lists and tables too."""
    return [path for path in sorted(root.rglob("*"))
            if path.is_file() and not (path.parent == root and KIT_METADATA.fullmatch(path.name))]


def simulated_headers(body: bytes) -> list[tuple[str, str]]:
    """The ``Header:`` lines of a document's leading comment."""
    start = body.find(b"<!--")
    end = body.find(b"-->", start)
    if start < 0 or end < 0 or start > 1024:
        return []
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in HEADER_LINE.findall(body[start:end])]


def folder_of(path: Path, root: Path) -> str:
    return str(path.parent.relative_to(root)) or "."


def payload_lines(path: Path) -> list[str]:
    """The payloads a list holds: lines of a .txt, code-block lines of a .md, first cells of a .tsv."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    if path.suffix == ".md":
        lines, inside = [], False
        for line in text.splitlines():
            if line.strip().startswith("```"):
                inside = not inside
            elif inside:
                lines.append(line.strip())
    elif path.suffix == ".tsv":
        lines = [row[0] for row in tsv_rows(path)]
    else:
        lines = text.splitlines()
    return list(dict.fromkeys(line for line in lines if line.strip()))


def tsv_rows(path: Path) -> list[list[str]]:
    """A table's rows without its comments and header, cells as written (quotes are data here)."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    return [line.split("\t") for line in lines[1:]]


def payload_lists(root: Path) -> dict[Path, list[str]]:
    """The payload lists of the kit: every .txt, and the tables and pages of its CSV folders."""
    found = {}
    for path in documents(root):
        in_csv_folder = "csv" in str(path.parent.relative_to(root)).lower()
        if path.suffix == ".txt" or (in_csv_folder and path.suffix in (".md", ".tsv")):
            found[path] = payload_lines(path)
    return found


def csv_payloads(root: Path) -> list[str]:
    return [line for path, lines in payload_lists(root).items()
            if "csv" in str(path.parent.relative_to(root)).lower() for line in lines]


# --- polling and checking -----------------------------------------------------------------------

def sweep_settings(db: str) -> Settings:
    return Settings.from_env(db=db, allow_private_networks=True, max_workers=8, per_host=8,
                             connect_timeout=5, read_timeout=20, total_timeout=60)


def poll_all(db: str, sources: list[FeedSource], names: dict[str, str]) -> PollReport:
    """One poll over every source; should it raise, find which documents make it raise."""
    store = open_store(db)
    try:
        return poller.poll(store, sources, settings=sweep_settings(db))
    except Exception as exc:
        culprits = []
        for source in sources:
            try:
                poller.poll(store, [source], settings=sweep_settings(db), force=True)
            except Exception as each:  # noqa: BLE001 - reporting which document does it is the point
                culprits.append(f"{names[source.id]}: {each!r}")
        pytest.fail(f"poller.poll raised {exc!r}; documents that make it raise: {culprits}")


def outcome_problems(report: PollReport, db: str, names: dict[str, str]) -> list[str]:
    """Each feed updated or recorded as its own error with a reason, and its health row saying the same."""
    problems = []
    health = queries.feed_health(db).set_index("id")
    if sorted(f.source_id for f in report.feeds) != sorted(names):
        problems.append("the poll did not report every feed exactly once")
    for feed in report.feeds:
        name, row = names[feed.source_id], health.loc[feed.source_id]
        if feed.outcome == "error":
            if not feed.error or len(feed.error) < 8 or not re.search(r"[a-z]{3}", feed.error):
                problems.append(f"{name}: error without a reason: {feed.error!r}")
            if row["last_error"] != feed.error or row["consecutive_failures"] != 1:
                problems.append(f"{name}: health row does not record the error")
        elif feed.outcome == "updated":
            # A document read only in part keeps its reason in the health row ("partly read: ..."), as
            # the poll reported it; a whole one none.
            recorded = None if pd.isna(row["last_error"]) else row["last_error"]
            if recorded != feed.warning or row["http_status"] != 200 or row["consecutive_failures"] != 0:
                problems.append(f"{name}: health row does not record the update")
            if (feed.new + feed.seen > 0) != (row["articles"] > 0) or row["articles"] > feed.new + feed.seen:
                problems.append(f"{name}: {row['articles']} articles stored for {feed.new + feed.seen} parsed")
        else:
            problems.append(f"{name}: outcome {feed.outcome!r}")
    if queries.count_articles(db) != report.new:
        problems.append(f"{queries.count_articles(db)} articles stored, {report.new} reported new")
    return problems


def counts_table(report: PollReport, folders: dict[str, str], title: str) -> str:
    """Files, updated, errors and new articles per folder; then the commonest error reasons."""
    per: dict[str, Counter[str]] = defaultdict(Counter)
    reasons: Counter[str] = Counter()
    for feed in report.feeds:
        counts = per[folders[feed.source_id]]
        counts["files"] += 1
        counts[feed.outcome] += 1
        counts["articles"] += feed.new
        if feed.error:
            reasons[re.sub(r"\d+", "N", feed.error)[:70]] += 1
    width = max(len(folder) for folder in per) + 2
    lines = [title, f"{'folder':<{width}}{'files':>7}{'updated':>9}{'errors':>8}{'articles':>10}"]
    total: Counter[str] = Counter()
    for folder in sorted(per):
        counts = per[folder]
        total.update(counts)
        lines.append(f"{folder:<{width}}{counts['files']:>7}{counts['updated']:>9}{counts['error']:>8}"
                     f"{counts['articles']:>10}")
    lines.append(f"{'total':<{width}}{total['files']:>7}{total['updated']:>9}{total['error']:>8}"
                 f"{total['articles']:>10}")
    lines.append(f"seconds: {(report.finished - report.started).total_seconds():.1f}")
    lines += ["errors by reason:"] + [f"  {n:>5}  {reason}" for reason, n in reasons.most_common(15)]
    return "\n".join(lines)


class _Summary:
    """Shows the sweep's tables in pytest's terminal summary, captured output or not."""

    def __init__(self) -> None:
        self.tables: list[str] = []

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_sep("-", "hostile sweep")
        for table in self.tables:
            terminalreporter.write_line(table)


def publish(request: pytest.FixtureRequest, record_property: Any, tmp_path: Path, name: str, table: str) -> None:
    print(table)
    record_property(name, table)
    (tmp_path / f"{name}.txt").write_text(table + "\n", encoding="utf-8")
    manager = request.config.pluginmanager
    summary = manager.get_plugin("tracker-sweep-summary")
    if summary is None:
        summary = _Summary()
        manager.register(summary, "tracker-sweep-summary")
    summary.tables.append(table)


# --- the sweep over the kit's documents ---------------------------------------------------------

def test_every_document_of_the_kit(server: DocumentServer, db_path: str, tmp_path: Path,
                                   request: pytest.FixtureRequest, record_property: Any) -> None:
    root = kit()
    sources, names, folders = [], {}, {}
    for n, path in enumerate(documents(root)):
        body = path.read_bytes()
        source = FeedSource(f"doc-{n:04d}", server.add(path.name, body, simulated_headers(body)))
        sources.append(source)
        names[source.id], folders[source.id] = str(path.relative_to(root)), folder_of(path, root)
    assert sources, f"no documents under {root}"
    started = time.monotonic()
    report = poll_all(db_path, sources, names)
    seconds = time.monotonic() - started
    publish(request, record_property, tmp_path, "sweep-counts", counts_table(report, folders, f"sweep of {root}"))
    assert outcome_problems(report, db_path, names) == []
    assert store_problems(db_path) == []
    assert consistency_problems(db_path, topics.load_taxonomy(sweep_settings(db_path).topics_file)) == []
    assert seconds < 300
    # The same kit through `tracker poll` parsing on two cores (tracker/readers.py) stores the same.
    listing = write_listing(tmp_path / "feeds.toml", ((s.id, s.url) for s in sources))
    on_two = str(tmp_path / "two.sqlite")
    assert "parsed in 2 processes" in poll_listing(listing, on_two, 2, timeout=600, TRACKER_MAX_WORKERS="8")
    assert stored(Path(on_two)) == stored(Path(db_path))


# --- payload lines as items ---------------------------------------------------------------------

def rss(items: list[str], title: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>{escape(title)}</title>'
            f'<link>https://payloads.example/</link>{"".join(items)}</channel></rss>').encode()


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def payload_feeds(name: str, lines: list[str]) -> dict[str, tuple[bytes, str]]:
    """Feeds with one item per payload line, the line in a different place in each: (body, content type).

    ``strict`` feeds are well-formed, so every line must come out as an item or a skipped entry.
    """
    xml_lines = [XML_ILLEGAL.sub("\ufffd", line) for line in lines]
    text = [f"<item><title>{escape(p)}</title><description>{escape(p)}</description><link>{escape(p)}</link>"
            f'<guid isPermaLink="false">p{n}</guid></item>' for n, p in enumerate(xml_lines)]
    as_cdata = [f"<item><title>{cdata(p)}</title><description>{cdata(p)}</description>"
                f"<guid>{escape(p)}</guid></item>" for p in xml_lines]  # a permalink guid stands in for <link>
    atom_entries = [
        f'<entry><title type="html">{escape(p)}</title><id>urn:p:{n}</id><link href={quoteattr(p)}/>'
        f'<updated>2024-05-22T10:00:00Z</updated><content type="html">{escape(p)}</content></entry>'
        f'<entry xml:base={quoteattr(p)}><title>base {n}</title><id>urn:b:{n}</id><link href="story/{n}"/>'
        f"<updated>2024-05-22T10:00:00Z</updated></entry>" for n, p in enumerate(xml_lines)]
    atom = ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{escape(name)}</title><id>urn:payloads</id><updated>2024-05-22T10:00:00Z</updated>"
            f"{''.join(atom_entries)}</feed>").encode()
    json_feed = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": name, "items": [
        {"id": f"p{n}", "title": p, "summary": p, "content_html": p, "url": p, "external_url": p}
        for n, p in enumerate(lines)]}).encode()
    raw = [f"<item><title>raw {n}</title><description>{p}</description></item>" for n, p in enumerate(lines)]
    return {
        "strict-text": (rss(text, name), "application/rss+xml"),
        "strict-cdata-guid": (rss(as_cdata, name), "application/rss+xml"),
        "strict-atom-href-base": (atom, "application/atom+xml"),
        "strict-json": (json_feed, "application/feed+json"),
        "raw-markup": (rss(raw, name), "application/rss+xml"),
    }


def entity_feeds(name: str, lines: list[str]) -> dict[str, tuple[bytes, str]]:
    """Each XML one-liner as a whole document, and its DOCTYPE or ENTITY declarations as the
    prolog of a feed that uses every entity it declares."""
    feeds = {f"line-{n}": (line.encode(), "application/xml") for n, line in enumerate(lines)}
    for n, line in enumerate(lines):
        names = re.findall(r"<!ENTITY\s+(?:%\s*)?([\w.-]+)", line)
        if not names:
            continue
        doctype = re.search(r"<!DOCTYPE[^\[>]*(?:\[.*\])?\s*>", line, re.DOTALL)
        prolog = doctype.group(0) if doctype else f"<!DOCTYPE rss [ {line} ]>"
        uses = " ".join(f"&{entity};" for entity in names)
        feeds[f"prolog-{n}"] = (('<?xml version="1.0"?>\n' + prolog + rss(
            [f"<item><title>entities {uses}</title><link>https://entities.example/{n}</link>"
             f"<description>{uses}</description></item>"], name).decode().split("?>", 1)[1]).encode(),
            "application/rss+xml")
    return feeds


def test_payload_lines_as_items(server: DocumentServer, db_path: str, tmp_path: Path,
                                request: pytest.FixtureRequest, record_property: Any) -> None:
    lists = payload_lists(kit())
    assert lists, "no payload lists in the kit"
    sources, names, folders, expected = [], {}, {}, {}
    for path, lines in lists.items():
        built = payload_feeds(path.name, lines)
        if "XXE" in str(path) or "xml" in path.name.lower():
            built |= entity_feeds(path.name, lines)
        for variant, (body, content_type) in built.items():
            source = FeedSource(f"p{len(sources):04d}", server.add(f"{path.stem}-{variant}", body,
                                                                   [("Content-Type", content_type)]))
            sources.append(source)
            names[source.id] = f"{path.name} [{variant}]"
            folders[source.id] = f"{path.name} [{variant.split('-')[0]}]"
            if variant.startswith("strict"):
                expected[source.id] = len(lines) * (2 if "atom" in variant else 1)
    report = poll_all(db_path, sources, names)
    publish(request, record_property, tmp_path, "payload-counts",
            counts_table(report, folders, "payload lines as items (strict: well-formed; raw: markup as written)"))
    assert outcome_problems(report, db_path, names) == []
    for feed in report.feeds:
        if feed.source_id in expected:  # every line an item or a counted skip: none lost
            assert feed.outcome == "updated", (names[feed.source_id], feed.error)
            assert feed.new + feed.seen + feed.skipped == expected[feed.source_id], names[feed.source_id]
    # Payload lines hold "onmouseover=alert(1)" as words; stored as text that is what the feed
    # said. No tag survives, so no element carries a handler.
    assert store_problems(db_path, handler_words=True) == []
    assert consistency_problems(db_path, topics.load_taxonomy(sweep_settings(db_path).topics_file)) == []
    stored = json.dumps(queries.articles_frame(db_path)[["title", "summary", "link"]].values.tolist())
    assert "root:x:0:0" not in stored  # no external entity was read


def test_csv_payloads_through_export(server: DocumentServer, db_path: str, tmp_path: Path) -> None:
    root = kit()
    payloads = csv_payloads(root)
    assert payloads, "no CSV payloads in the kit"
    items = [f"<item><title>{escape(p)}</title><description>{escape(p)}</description>"
             f'<guid isPermaLink="false">csv-{n}</guid></item>' for n, p in enumerate(payloads)]
    source = FeedSource("csv", server.add("csv-payloads", rss(items, "CSV payloads"),
                                          [("Content-Type", "application/rss+xml")]))
    report = poller.poll(open_store(db_path), [source], settings=sweep_settings(db_path))
    assert report.feeds[0].outcome == "updated" and report.new == len(payloads)
    out = tmp_path / "export.csv"
    result = CliRunner().invoke(cli.main, ["export", "--db", db_path, "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    records = assert_csv_is_safe(text, len(payloads))
    stored = set(queries.articles_frame(db_path)["title"])
    for record in records:
        title = record["title"]
        assert title.removeprefix("'") in stored
        assert title.startswith("'") == title.removeprefix("'").startswith(("=", "+", "-", "@")), title
    # OWASP's examples (owasp-csv) come out exactly as OWASP escapes them.
    for table in root.rglob("*.tsv"):
        if "owasp" in str(table).lower():
            for _input, escaped in tsv_rows(table):
                assert escaped in text, escaped


def test_hostile_dates_are_kept_and_marked(server: DocumentServer, db_path: str) -> None:
    """feedparser's date cases: every item kept; a date is used only when it is the right one."""
    table = next(kit().rglob("date_cases.tsv"))
    rows = tsv_rows(table)
    items = [f"<item><title>date case {n}</title><guid isPermaLink=\"false\">date-{n}</guid>"
             f"<pubDate>{escape(value)}</pubDate></item>" for n, (_parser, value, _expected) in enumerate(rows)]
    before = dt.datetime.now(dt.UTC)
    report = poller.poll(open_store(db_path), [FeedSource("dates", server.add("dates", rss(items, "dates")))],
                         settings=sweep_settings(db_path))
    assert report.feeds[0].outcome == "updated" and report.new == len(rows)
    frame = queries.articles_frame(db_path).set_index("title")
    for n, (parser, value, expected) in enumerate(rows):
        article = frame.loc[f"date case {n}"]
        if article["published_is_fallback"]:
            assert before - dt.timedelta(seconds=1) <= article["published"] <= dt.datetime.now(dt.UTC)
        else:  # a date is kept only when it is the one feedparser's own tests expect
            assert expected != "None", (parser, value, article["published"])
            assert tuple(article["published"].timetuple())[:6] == tuple(json.loads(
                expected.replace("(", "[").replace(")", "]")))[:6], (parser, value)

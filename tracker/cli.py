"""The `tracker` command line: thin over the library modules.

Every command takes --db (or TRACKER_DB); errors go to stderr with exit code 1
(usage errors: 2).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from tracker import __version__, evaluate, export, poller, queries, sources, story_queries, topics
from tracker.config import DEFAULT_DEMO_DB, Settings
from tracker.errors import TrackerError
from tracker.models import FeedReport, FeedSource, PollReport
from tracker.store import Store, open_store

DB_HELP = "Database: a SQLite path or a database URL. [env: TRACKER_DB; default: data/tracker.sqlite]"


def _run(action: Callable[[], Any]) -> Any:
    """Run a command body, turning our errors into a one-line message and exit code 1."""
    try:
        return action()
    except TrackerError as exc:
        raise click.ClickException(str(exc)) from None


def db_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--db", "db", metavar="PATH|URL", default=None, help=DB_HELP)(f)


def feeds_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--feeds", "feeds_file", metavar="FILE", default=None,
                        help="Feeds file. [env: TRACKER_FEEDS; default: data/feeds.toml]")(f)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="tracker")
def main() -> None:
    """Tension Tracker: collect, tag and chart news on US–China military tensions.

    \b
    Example:
      tracker poll && tracker stats
    """


# --- poll and watch ---------------------------------------------------------------------------

def _report_line(r: FeedReport) -> str:
    if r.outcome == "error":
        status = f" (HTTP {r.http_status})" if r.http_status else ""
        return f"error         {r.source_id}: {r.error}{status}"
    if r.outcome == "updated":
        extra = f", {r.skipped} bad entries skipped" if r.skipped else ""
        extra += f"; {r.warning}" if r.warning else ""
        return f"updated       {r.source_id}: {r.new} new, {r.seen} seen{extra}"
    if r.outcome == "not_modified":
        return f"not modified  {r.source_id}"
    return f"skipped       {r.source_id}: not due yet (backing off or told to wait), or another poller has it"


def _totals_line(report: PollReport) -> str:
    seconds = (report.finished - report.started).total_seconds()
    stories = (f" ({report.clustered} articles put into stories in {report.clustering_seconds:.1f} s)"
               if report.clustered else "")
    parsing = f", parsed in {report.read_processes} processes" if report.read_processes else ""
    # Feeds that are backing off did not fail this time, but they are not fine either: say so.
    waiting = (f", {report.waiting} not due yet (`tracker poll --force` tries them now)"
               if report.waiting else "")
    return (f"{len(report.feeds)} feeds: {report.new} new articles, {report.seen} seen, "
            f"{report.errors} failed{waiting}, {report.skipped} bad entries skipped, in {seconds:.1f} s"
            f"{parsing}{stories}")


def _selected_sources(settings: Settings, extra: tuple[str, ...]) -> list[FeedSource]:
    if extra:
        return [sources.source_for_location(loc) for loc in extra]
    return list(sources.load_sources(settings.feeds_file))


@main.command()
@feeds_option
@click.option("--feed", "extra", multiple=True, metavar="URL|PATH",
              help="Poll only this feed (a URL or a local file); repeatable.")
@click.option("--force", is_flag=True, help="Also poll feeds that are backing off after failures.")
@db_option
def poll(feeds_file: str | None, extra: tuple[str, ...], force: bool, db: str | None) -> None:
    """Poll the feeds once and store new articles.

    Prints one line per feed (updated with new/seen counts, not modified, skipped,
    error) and the totals. Exits 0 when the poll ran, even if some feeds failed.

    \b
    Examples:
      tracker poll
      tracker poll --feed https://thediplomat.com/feed/ --feed ./saved.xml
    """
    settings = Settings.from_env(db=db, feeds_file=feeds_file)

    def body() -> None:
        chosen = _selected_sources(settings, extra)
        store = open_store(settings.db)
        if sys.stdout.isatty():
            with click.progressbar(length=len(chosen), label="Polling", file=sys.stderr) as bar:
                report = poller.poll(store, chosen, settings=settings, force=force,
                                     progress=lambda _r: bar.update(1))
            for r in report.feeds:
                click.echo(_report_line(r))
        else:
            report = poller.poll(store, chosen, settings=settings, force=force,
                                 progress=lambda r: click.echo(_report_line(r)))
        click.echo(_totals_line(report))

    _run(body)


def parse_interval(text: str) -> float:
    """'90s', '15m', '2h', '1d' or plain seconds -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text.lower())
    if not match:
        raise click.BadParameter(f"{text!r}: use a number with s, m, h or d, e.g. 15m")
    seconds = float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    if seconds < 10:
        raise click.BadParameter("the interval must be at least 10 seconds")
    return seconds


@main.command()
@feeds_option
@click.option("--interval", default="15m", show_default=True, metavar="DURATION",
              help="Time between polls of a healthy feed: 90s, 15m, 2h...")
@db_option
def watch(feeds_file: str | None, interval: str, db: str | None) -> None:
    """Poll on a schedule until stopped (Ctrl-C).

    Each feed is polled every interval (with a little jitter); a failing feed backs off
    exponentially (capped at a day) and recovers on its own. The feeds file is re-read
    every round.

    \b
    Example:
      tracker watch --interval 10m
    """
    settings = Settings.from_env(db=db, feeds_file=feeds_file, poll_interval=parse_interval(interval))
    stop = threading.Event()

    def on_report(report: PollReport) -> None:
        stamp = report.finished.strftime("%Y-%m-%d %H:%M:%S")
        for r in report.feeds:
            if r.outcome != "skipped":
                click.echo(f"{stamp}  {_report_line(r)}")
        click.echo(f"{stamp}  {_totals_line(report)}")

    def body() -> None:
        store = open_store(settings.db)
        try:
            poller.watch(store, lambda: sources.load_sources(settings.feeds_file), settings=settings,
                         on_report=on_report, should_stop=stop.wait)
        except KeyboardInterrupt:
            click.echo("stopped", err=True)

    _run(body)


# --- export and stats -------------------------------------------------------------------------

def _date(_ctx: object, _param: object, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2024-05-23") from None


@main.command("export")
@click.option("--topic", "topic_ids", multiple=True, metavar="T", help="Only articles with this topic; repeatable.")
@click.option("--since", callback=_date, metavar="YYYY-MM-DD", help="Published on or after this day (UTC).")
@click.option("--until", callback=_date, metavar="YYYY-MM-DD", help="Published on or before this day (UTC).")
@click.option("--source", "source_ids", multiple=True, metavar="S", help="Only this feed id; repeatable.")
@click.option("--language", metavar="LANG", help="Only this language, e.g. en or zh.")
@click.option("--query", default="", metavar="TEXT",
              help="Words and \"quoted phrases\" that must all appear in title or summary, at the start of a "
                   "word (words of 3 letters or fewer whole; war* for any word starting so; US in capitals "
                   "finds US and U.S. only).")
@click.option("-o", "--output", default="-", metavar="FILE|-", help="Where to write the CSV (- is stdout).")
@click.option("--stories", is_flag=True, help="One row per story instead of per article.")
@click.option("--index", "daily_index", is_flag=True, help="The daily tension index per topic instead.")
@db_option
def export_cmd(topic_ids: tuple[str, ...], since: dt.date | None, until: dt.date | None,
               source_ids: tuple[str, ...], language: str | None, query: str, output: str, stories: bool,
               daily_index: bool, db: str | None) -> None:
    """Write the matching articles (or stories, or the daily index) as CSV (UTF-8), newest first.

    Articles: id, published, source, title, link, topics (ids joined by ';'), summary,
    language, published_is_fallback, terms, story_id. --stories: id, first_seen, last_seen,
    headline, outlets, outlet_names, articles, topics. --index: day, topic, stories, total,
    share, index. Cells a spreadsheet would run as a formula get a leading single quote.

    \b
    Examples:
      tracker export --topic taiwan --since 2024-05-01 -o taiwan-may.csv
      tracker export --stories --topic talks -o talks-stories.csv
      tracker export --index --since 2022-01-01 -o index.csv
    """
    settings = Settings.from_env(db=db)
    if since and until and since > until:
        raise click.BadParameter("--since is after --until")
    if stories and daily_index:
        raise click.UsageError("--stories and --index are two different files: choose one")
    what = "stories" if stories else "index" if daily_index else None

    def body() -> None:
        store = open_store(settings.db, upgrade=False)
        filters = queries.Filters(topics=topic_ids, since=since, until=until, sources=source_ids,
                                  language=language.lower() if language else None, text=query)
        _check_filter_values(store.location, settings, filters)
        if what == "stories":
            frame = export.story_export_frame(story_queries.stories_frame(store.location, filters))
        elif what == "index":
            frame = export.index_export_frame(story_queries.tension_index(store.location, filters))
        else:
            frame = export.export_frame(queries.articles_frame(store.location, filters))
        data = export.to_csv_bytes(frame)
        if output == "-":
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            Path(output).write_bytes(data)
            kind = {"stories": "story", "index": "index"}.get(what or "", "article")
            click.echo(f"wrote {len(frame):,} {kind} row{'' if len(frame) == 1 else 's'} to {output}", err=True)

    _run(body)


def _check_filter_values(location: str, settings: Settings, filters: queries.Filters) -> None:
    """A mistyped topic, outlet or language would match nothing and write an empty file that reads
    as "no coverage": name it, and what the store knows instead."""
    known = {"topic": set(topics.load_taxonomy(settings.topics_file).ids()),
             "source": set(queries.outlet_options(location)["id"]),
             "language": set(queries.language_options(location))}
    given = {"topic": filters.topics, "source": filters.sources,
             "language": (filters.language,) if filters.language else ()}
    for name, values in given.items():
        unknown = [v for v in values if v not in known[name]]
        if unknown:
            raise click.BadParameter(f"unknown {name} {', '.join(map(repr, unknown))}; known: "
                                     f"{', '.join(sorted(known[name])) or 'none yet'}", param_hint=f"--{name}")


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@db_option
def stats(fmt: str, db: str | None) -> None:
    """Summarise the store: articles, date span, topics, languages, feeds.

    \b
    Example:
      tracker stats --format json
    """
    settings = Settings.from_env(db=db)

    def body() -> None:
        open_store(settings.db, upgrade=False)
        s = queries.store_stats(settings.db)
        if fmt == "json":
            click.echo(json.dumps(s, default=str, indent=2, ensure_ascii=False))
            return
        span = (f"{s['first_published']:%Y-%m-%d} to {s['last_published']:%Y-%m-%d}"
                if s["articles"] else "no articles yet")
        click.echo(f"database:  {settings.db}{'  (demo data)' if s['demo'] else ''}")
        click.echo(f"articles:  {s['articles']}  ({span})")
        click.echo(f"untagged:  {s['untagged']}")
        for topic, n in s["topics"].items():
            click.echo(f"  {topic:<16} {n}")
        click.echo("languages: " + (", ".join(f"{k} {v}" for k, v in s["languages"].items()) or "-"))
        click.echo(f"feeds:     {s['feeds']} ({s['failing_feeds']} failing)")
        click.echo(f"last poll: {s['last_poll'] or 'never'}")

    _run(body)


# --- feeds ------------------------------------------------------------------------------------

@main.group()
def feeds() -> None:
    """List feeds with their health, and import or export feed lists as OPML.

    \b
    Example:
      tracker feeds list --format json
    """


HEALTH_FIELDS = ["id", "name", "url", "language", "last_attempt", "last_success", "last_error", "http_status",
                 "consecutive_failures", "next_poll", "articles", "newest"]


@feeds.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@db_option
def feeds_list(fmt: str, db: str | None) -> None:
    """Every feed's health: last success, last error, HTTP status, failures, next poll.

    JSON and CSV keys are stable for scripts: id, name, url, language, last_attempt,
    last_success, last_error, http_status, consecutive_failures, next_poll, articles,
    newest (the day of the newest article the feed carried).

    \b
    Example:
      tracker feeds list --format csv > health.csv
    """
    settings = Settings.from_env(db=db)

    def body() -> None:
        open_store(settings.db, upgrade=False)
        frame = queries.feed_health(settings.db)[HEALTH_FIELDS]
        records = [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]
        if fmt == "json":
            click.echo(json.dumps(records, indent=2, ensure_ascii=False))
        elif fmt == "csv":
            import pandas as pd

            sys.stdout.buffer.write(export.to_csv_bytes(pd.DataFrame(records, columns=HEALTH_FIELDS)))
        else:
            for r in records:
                state = "FAILING" if r["consecutive_failures"] else "ok"
                click.echo(f"{state:<8} {r['id']:<28} last success {r['last_success'] or 'never':<26} "
                           f"articles {r['articles']:<6} newest {r['newest'] or 'none':<10} {r['last_error'] or ''}")

    _run(body)


def _plain(value: Any) -> Any:
    """JSON-friendly scalars: ISO 8601 UTC times, None for missing values."""
    if value is None or (not isinstance(value, str) and _isna(value)):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def _isna(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


@feeds.command("import")
@click.argument("opml_file", type=click.Path(exists=True, dir_okay=False))
@feeds_option
def feeds_import(opml_file: str, feeds_file: str | None) -> None:
    """Add the feeds of an OPML file to the feeds file (known URLs are skipped).

    \b
    Example:
      tracker feeds import my-reader-export.opml
    """
    settings = Settings.from_env(feeds_file=feeds_file)

    def body() -> None:
        added, present, skipped = sources.import_opml(opml_file, settings.feeds_file)
        for s in added:
            click.echo(f"added   {s.id}: {s.url}")
        for url in skipped:
            click.echo(f"skipped {url}: not an http(s) feed", err=True)
        click.echo(f"{len(added)} feeds added, {present} already present, in {settings.feeds_file}")

    _run(body)


@feeds.command("export")
@click.option("-o", "--output", default="-", metavar="FILE|-", help="Where to write the OPML (- is stdout).")
@feeds_option
def feeds_export(output: str, feeds_file: str | None) -> None:
    """Write the feed list as OPML, for other feed readers.

    \b
    Example:
      tracker feeds export -o feeds.opml
    """
    settings = Settings.from_env(feeds_file=feeds_file)

    def body() -> None:
        text = sources.write_opml(sources.load_sources(settings.feeds_file))
        if output == "-":
            click.echo(text, nl=False)
        else:
            Path(output).write_text(text, encoding="utf-8")

    _run(body)


# --- demo, retag, topics ----------------------------------------------------------------------

@main.command()
@click.option("--db", "db", metavar="PATH|URL", default=str(DEFAULT_DEMO_DB), show_default=True,
              help="Where to build the demo database (never your own store).")
def demo(db: str) -> None:
    """Build a demo database from the invented feeds in data/demo/.

    Demo data is our own writing, labelled as demo in the app, and kept in its own
    database so it never mixes with real articles.

    \b
    Example:
      tracker demo && TRACKER_DB=data/demo.sqlite streamlit run app.py
    """
    settings = Settings.from_env(db=db)

    def body() -> None:
        report = poller.build_demo(open_store(settings.db), settings=settings)
        failed = [r for r in report.feeds if r.outcome == "error"]
        for r in failed:
            click.echo(_report_line(r), err=True)
        click.echo(f"demo database {settings.db}: {report.new} new articles from {len(report.feeds)} demo feeds")
        if failed:
            raise click.ClickException(f"{len(failed)} demo feeds could not be read")

    _run(body)


@main.command()
@click.option("--force", is_flag=True, help="Re-tag every article, not only those tagged by older rules.")
@db_option
def retag(force: bool, db: str | None) -> None:
    """Re-tag stored articles after the topic rules changed (data/topics.toml, or the file TRACKER_TOPICS names).

    \b
    Example:
      tracker retag
    """
    settings = Settings.from_env(db=db)

    def body() -> None:
        taxonomy = topics.load_taxonomy(settings.topics_file)
        store = open_store(settings.db)

        def tag(title: str, summary: str, language: str) -> list[tuple[str, tuple[str, ...]]]:
            return [(m.topic, m.terms) for m in topics.tag(taxonomy, title, summary, language)]

        checked, changed = store.retag(tag, taxonomy.version, force=force)
        click.echo(f"checked {checked} articles; topics changed on {changed} (rules version {taxonomy.version})")

    _run(body)


@main.command("eval")
@click.argument("labels", type=click.Path(exists=True, dir_okay=False))
@click.option("--part", type=click.Choice(list(evaluate.PARTS)), default="all", show_default=True,
              help="Which labels to score: rules are tuned on 'tune' (and 'extra', our own labels of unlabelled "
                   "corpus items); 'holdout' is held back; 'bench' is our own independent check on items of the "
                   "shared benchmark sample.")
@click.option("--mistakes", default=20, show_default=True, metavar="N", help="How many mistakes to list.")
def eval_cmd(labels: str, part: str, mistakes: int) -> None:
    """Score the topic tagger on labelled items (JSONL with title, summary, language, topics).

    Prints precision, recall and F1 per topic, micro and macro averages, per language, the
    mistakes (text, expected, got, matched terms) and tagging speed in articles per second.

    \b
    Example:
      tracker eval ../shared/eval/labels.jsonl --part holdout
    """
    settings = Settings.from_env()
    _run(lambda: click.echo(evaluate.run_eval(labels, part=part, show_mistakes=mistakes,
                                              taxonomy=topics.load_taxonomy(settings.topics_file))))


@main.command()
@click.argument("text")
@click.option("--summary", default="", metavar="TEXT", help="A summary to read with the headline.")
@click.option("-v", "--verbose", is_flag=True, help="Also list topics none of whose terms appear.")
def explain(text: str, summary: str, verbose: bool) -> None:
    """Show which rule fired for which topic on a headline (and optional summary).

    \b
    Example:
      tracker explain "PLA jets cross the Taiwan Strait median line"
    """
    settings = Settings.from_env()

    def body() -> None:
        taxonomy = topics.load_taxonomy(settings.topics_file)
        click.echo(topics.format_explanation(topics.explain(taxonomy, text, summary), verbose=verbose))

    _run(body)


# --- database ---------------------------------------------------------------------------------

@main.group()
def db() -> None:
    """Manage the database: apply migrations, copy a store to another database.

    \b
    Example:
      tracker db upgrade --db postgresql+psycopg://tracker@localhost/tracker
    """


@db.command("upgrade")
@db_option
def db_upgrade(db: str | None) -> None:
    """Create the schema or apply pending migrations.

    \b
    Example:
      tracker db upgrade --db data/tracker.sqlite
    """
    settings = Settings.from_env(db=db)

    def body() -> None:
        before, after = Store(settings.db).upgrade()
        click.echo(f"{settings.db}: schema version {after}" + (f" (was {before})" if before != after else ""))

    _run(body)


@db.command("copy")
@click.option("--from", "source", required=True, metavar="PATH|URL", help="The store to copy.")
@click.option("--to", "target", required=True, metavar="PATH|URL", help="An empty database to copy into.")
def db_copy(source: str, target: str) -> None:
    """Copy a whole store to another database, e.g. from SQLite to PostgreSQL.

    Runs in one transaction on the target: it lands entirely or not at all. The target must
    hold no articles yet, so no row is ever duplicated.

    \b
    Example:
      tracker db copy --from data/tracker.sqlite --to postgresql+psycopg://tracker@localhost/tracker
    """
    from tracker import store_copy

    def body() -> None:
        copied = store_copy.copy_store(open_store(source, upgrade=False), open_store(target))
        for table, n in copied.items():
            click.echo(f"{table:<20} {n:>10} rows")
        click.echo(f"copied {source} to {target}")

    _run(body)

"""Everything the Streamlit pages share: the database choice, cached reads, the sidebar
filters and their URL state, freshness, and the "Poll now" job.

The only module in tracker/ that imports streamlit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
import streamlit as st

from tracker import charts, config, export, index, milestones, queries, story_queries, topics, urlstate
from tracker.errors import TrackerError
from tracker.queries import Filters
from tracker.schema import SCHEMA_VERSION
from tracker.store import Store, open_store
from tracker.text import shorten

FRESHNESS_SECONDS = 30


# --- which database ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Database:
    location: str
    demo: bool
    articles: int


def _articles_in(location: str) -> int:
    """How many articles the store holds (0 when there is none), after migrating a store written by an
    older Tension Tracker, so no page reads it with newer queries (`make run` polls first, which
    migrates too; `streamlit run app.py` alone would not)."""
    try:
        store = Store(location)
        version = store.schema_version()
        if not version:
            return 0
        if version < SCHEMA_VERSION:
            with st.spinner("Upgrading the database for this version of Tension Tracker (under a minute, "
                            "even for a million articles)…"):
                store.upgrade()
        return store.article_count()
    except TrackerError:
        return 0


def choose_database() -> Database:
    """TRACKER_DB when set; else the user's store once it has articles; else the demo store."""
    explicit = os.environ.get("TRACKER_DB")
    if explicit:
        store = open_store(explicit)  # a broken path raises a clear StoreError; a new one starts empty
        return Database(explicit, queries.is_demo(explicit), store.article_count())
    own = str(config.DEFAULT_DB)
    count = _articles_in(own)
    if count or not config.DEFAULT_DEMO_DB.exists():
        if not count:
            open_store(own)  # an empty store, so the pages can say how to poll
        return Database(own, False if not count else queries.is_demo(own), count)
    demo = str(config.DEFAULT_DEMO_DB)
    return Database(demo, True, _articles_in(demo))


def own_store_note() -> str:
    """Why the demo is showing, when the tracker's own store has feeds that brought nothing: after
    `make run` on a machine that cannot reach them, the demo must not hide that they all failed."""
    own = str(config.DEFAULT_DB)
    if os.environ.get("TRACKER_DB") or not os.path.exists(own):
        return ""
    try:
        if Store(own).schema_version() != SCHEMA_VERSION:  # none yet, or not ours to read
            return ""
        health = queries.feed_health(own)
    except TrackerError:
        return ""
    failing = health[health["consecutive_failures"] > 0]
    if health.empty or failing.empty:
        return ""
    error = str(failing["last_error"].iloc[0] or "")
    return (f" The tracker's own store lists {len(health)} feed{'s' if len(health) != 1 else ''} and none has "
            "brought an article yet: "
            f"{len(failing)} failed on their last poll (for example: “{md_escape(shorten(error, 120))}”). "
            "`tracker feeds list` shows each feed's error.")


# --- cached reads (keyed on the data version, so new articles show up by themselves) -----------

@st.cache_data(max_entries=4, show_spinner=False)
def topic_style(topics_file: str, _mtime: float) -> tuple[dict[str, str], dict[str, str], dt.date, str]:
    """(labels, colours, date the rules changed, rules version) from the taxonomy."""
    taxonomy = topics.load_taxonomy(topics_file)
    labels = {t.id: t.label for t in taxonomy.topics}
    colors = {t.id: t.color for t in taxonomy.topics}
    return labels, colors, taxonomy.changed, taxonomy.version


def style() -> tuple[dict[str, str], dict[str, str], dt.date, str]:
    path = config.Settings.from_env().topics_file
    return topic_style(path, os.path.getmtime(path) if os.path.exists(path) else 0.0)


_READERS = {"queries": queries, "story_queries": story_queries}


@st.cache_data(max_entries=96, show_spinner=False)
def cached(module: str, name: str, location: str, version: int, *args: Any, **kwargs: Any) -> Any:
    """Run <module>.<name>(location, *args) once per data version of the store."""
    return getattr(_READERS[module], name)(location, *args, **kwargs)


def read(name: str, *args: Any, **kwargs: Any) -> Any:
    """A cached read from tracker.queries for this run's database."""
    ctx = context()
    return cached("queries", name, ctx.db.location, ctx.version, *args, **kwargs)


def read_stories(name: str, *args: Any, **kwargs: Any) -> Any:
    """A cached read from tracker.story_queries for this run's database."""
    ctx = context()
    return cached("story_queries", name, ctx.db.location, ctx.version, *args, **kwargs)


@st.cache_data(max_entries=2, show_spinner=False)
def milestone_frame(path: str, _mtime: float) -> pd.DataFrame:
    return milestones.load_milestones(path)


def load_milestones() -> pd.DataFrame:
    path = config.MILESTONES
    return milestone_frame(str(path), path.stat().st_mtime if path.exists() else 0.0)


# --- the shared context -------------------------------------------------------------------------

@dataclass(frozen=True)
class Context:
    db: Database
    version: int
    view: urlstate.ViewState
    labels: dict[str, str] = field(default_factory=dict)
    colors: dict[str, str] = field(default_factory=dict)
    rules_changed: dt.date | None = None

    @property
    def filters(self) -> Filters:
        return self.view.filters


def context() -> Context:
    """The context set up by this run's page (see setup)."""
    ctx = st.session_state.get("_tt_context")
    return ctx if ctx is not None else setup()


def setup() -> Context:
    """The top of every page: pick the database, draw the shared sidebar filters, sync the URL,
    show the demo banner, keep data fresh. Pages call it (rather than app.py) so the filters
    are ordinary page widgets, which AppTest can drive.

    A broken database path or config file stops the page with one clear message.
    """
    _run_through_app()
    try:
        return _setup()
    except TrackerError as exc:
        st.error(f"Tension Tracker cannot show this page: {exc}")
        st.stop()
        raise  # unreachable: st.stop() ends the run


def _run_through_app() -> None:
    """Make sure this page runs inside app.py's navigation (wide layout, our page names).

    A Streamlit server whose first visitor opens a page by its URL (a shared link to /articles after
    a restart) runs that file from pages/ on its own, in Streamlit's older multipage mode, until some
    run of app.py calls st.navigation. Leave that mode now and run again, through app.py.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the older mode
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


def _setup() -> Context:
    db = choose_database()
    version = queries.data_version(db.location)
    labels, colors, changed, _ = style()
    ctx = Context(db=db, version=version, view=urlstate.ViewState(Filters()), labels=labels, colors=colors,
                  rules_changed=changed)
    st.session_state["_tt_context"] = ctx
    view = sidebar(ctx)
    ctx = Context(db=db, version=version, view=view, labels=labels, colors=colors, rules_changed=changed)
    st.session_state["_tt_context"] = ctx
    if db.demo:
        st.info("**Demo data.** These articles were invented by the Tension Tracker team to show how the "
                "dashboard works; they are not real news. Run `tracker poll` to collect real feeds."
                + own_store_note(), icon="🧪")
    freshness(db.location, version)
    return ctx


# --- sidebar filters and the URL -------------------------------------------------------------

_KEYS = ("f_topics", "f_range", "f_dates", "f_sources", "f_lang", "f_q")


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _current_params() -> dict[str, str]:
    return {k: st.query_params.get(k) or "" for k in st.query_params}


def _load_url(ctx: Context, outlet_ids: list[str], languages: list[str]) -> None:
    """The URL decides the filters on a session's first run, and whenever a link inside the app
    brings new query parameters (an empty URL after a page switch keeps the filters)."""
    current = _current_params()
    if "_tt_widgets" in st.session_state and (not current or current == st.session_state.get("_tt_url")):
        return
    st.session_state.pop("_tt_widgets_page", None)  # make the widgets take the URL's values
    params = {k: st.query_params.get_all(k) for k in st.query_params}
    view, notes = urlstate.parse_params(params, topic_ids=ctx.labels, source_ids=outlet_ids,
                                        languages=languages, today=_today())
    f = view.filters
    widgets: dict[str, Any] = {"f_topics": list(f.topics), "f_range": view.preset, "f_sources": list(f.sources),
                               "f_lang": f.language or "", "f_q": f.text}
    if view.preset == urlstate.CUSTOM:
        # A link with only "to" starts at the first article, not at some arbitrary year.
        first, _ = cached("queries", "published_span", ctx.db.location, ctx.version)
        start = f.since or (first.date() if first is not None else _today() - dt.timedelta(days=89))
        widgets["f_dates"] = (min(start, f.until) if f.until else start, f.until or _today())
    st.session_state["_tt_widgets"] = widgets
    st.session_state["_tt_notes"] = notes
    st.session_state["_tt_notes_for"] = urlstate.to_params(view)
    st.session_state["_tt_url"] = None  # notes show until the user changes a filter


def _restore_widgets() -> None:
    """Give each filter widget its last value when the page changes: pages draw their own
    copy of the sidebar, and Streamlit starts a widget afresh on a page that has not drawn it."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    run = get_script_run_ctx()
    page = run.page_script_hash if run else ""
    if st.session_state.get("_tt_widgets_page") == page:
        return  # same page: the widgets hold the user's latest choices
    st.session_state["_tt_widgets_page"] = page
    for key, value in st.session_state["_tt_widgets"].items():
        st.session_state[key] = value


def _remember_widgets() -> None:
    st.session_state["_tt_widgets"] = {k: st.session_state[k] for k in _KEYS if k in st.session_state}


def sidebar(ctx: Context) -> urlstate.ViewState:
    """Draw the shared filters; return the view they describe and write it into the URL."""
    outlets = cached("queries", "outlet_options", ctx.db.location, ctx.version)
    outlet_names = dict(zip(outlets["id"], outlets["name"], strict=True))
    languages = cached("queries", "language_options", ctx.db.location, ctx.version)
    _load_url(ctx, list(outlet_names), languages)
    _restore_widgets()
    with st.sidebar:
        st.header("Filters")
        if st.session_state.get("_tt_url") in (None, st.session_state.get("_tt_notes_for")):
            for note in st.session_state.get("_tt_notes", []):  # until the user changes a filter
                st.warning(note, icon="⚠️")
        topic_ids = st.multiselect("Topics", list(ctx.labels), key="f_topics",
                                   format_func=lambda t: ctx.labels.get(t, t),
                                   placeholder="All articles", help="Articles carrying any of these topics.")
        preset = st.selectbox("Dates", list(PRESET_NAMES), key="f_range", format_func=PRESET_NAMES.__getitem__)
        since, until = urlstate.preset_dates(preset, _today()) if preset != urlstate.CUSTOM else (None, None)
        if preset == urlstate.CUSTOM:
            st.session_state.setdefault("f_dates", (_today() - dt.timedelta(days=89), _today()))
            chosen: Any = st.date_input("From – to (UTC)", key="f_dates", format="YYYY-MM-DD")
            picked = tuple(chosen) if isinstance(chosen, (tuple, list)) else (chosen,)
            if len(picked) == 2:
                since, until = picked
                st.session_state["_tt_dates"] = picked
            else:  # the first click of a new range: keep the last whole range until the second click
                since, until = st.session_state.get("_tt_dates", (picked[0], picked[0]) if picked else (None, None))
                st.caption("Now pick the last day of the range.")
        source_ids = st.multiselect("Outlets", list(outlet_names), key="f_sources",
                                    format_func=lambda s: outlet_names.get(s, s), placeholder="All outlets")
        language = st.selectbox("Language", ["", *languages], key="f_lang",
                                format_func=lambda code: LANGUAGE_NAMES.get(code, code) if code else "All languages")
        text = st.text_input("Search headlines and summaries", key="f_q", max_chars=urlstate.MAX_QUERY,
                             placeholder='e.g. PLA "median line"',
                             help='Every word must appear, at the start of a word: `missile` finds "missiles". '
                                  'Words of three letters or fewer match whole words (`war` is not "warn"); '
                                  'end one with `*` for any word starting so (`war*`). Two to four letters '
                                  'typed in capitals are an acronym: capitals only, dotted or not (`US` finds '
                                  '"U.S.", not "us"). Quotes keep a phrase '
                                  'together; a dash also matches other dashes and a space. Chinese matches '
                                  'anywhere in the text.')
    _remember_widgets()
    view = urlstate.ViewState(Filters(topics=tuple(topic_ids), since=since, until=until,
                                      sources=tuple(source_ids), language=language or None,
                                      text=text.strip()), preset)
    wanted = urlstate.to_params(view)
    if _current_params() != wanted:
        st.query_params.from_dict(wanted)
    st.session_state["_tt_url"] = wanted
    return view


PRESET_NAMES = {"7d": "Last 7 days", "30d": "Last 30 days", "90d": "Last 90 days", "1y": "Last year",
                "all": "All time", urlstate.CUSTOM: "Custom range"}


def view_line(ctx: Context) -> None:
    """One line under a page's title saying what it shows. On a phone the sidebar, where the filters
    are, starts closed: without it, a shared link's reader would not know what was filtered."""
    f = ctx.filters
    parts = [", ".join(ctx.labels.get(t, t) for t in f.topics) if f.topics else "All articles"]
    if ctx.view.preset != urlstate.CUSTOM:
        parts.append(PRESET_NAMES.get(ctx.view.preset, ctx.view.preset))
    else:
        parts.append(f"{f.since or 'the first article'} to {f.until or 'today'}")
    if f.sources:
        names = cached("queries", "outlet_options", ctx.db.location, ctx.version).set_index("id")["name"]
        parts.append(", ".join(str(names.get(s, s)) for s in f.sources[:3])
                     + (f" and {len(f.sources) - 3} more outlets" if len(f.sources) > 3 else ""))
    if f.language:
        parts.append(f"in {LANGUAGE_NAMES.get(f.language, f.language)}")
    if f.text:
        parts.append(f"matching “{f.text}”")
    st.caption(md_escape(" · ".join(parts)) + " — change these under Filters in the sidebar.")


LANGUAGE_NAMES = {"en": "English", "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "fr": "French",
                  "de": "German", "ru": "Russian", "es": "Spanish"}


# --- freshness -------------------------------------------------------------------------------

def freshness(location: str, version: int) -> None:
    """Rerun the app when a running poller changes the store (checked every 30 s)."""
    st.session_state["_tt_seen_version"] = version

    @st.fragment(run_every=FRESHNESS_SECONDS)
    def _check() -> None:
        try:
            current = queries.data_version(location)
        except TrackerError:
            return
        if current != st.session_state.get("_tt_seen_version"):
            st.rerun(scope="app")

    _check()


# --- "Poll now" --------------------------------------------------------------------------------

@dataclass
class PollJob:
    """One background poll per database for the whole server; a second click joins it."""

    running: bool = False
    done: int = 0
    total: int = 0
    message: str = ""
    error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)


_JOBS: dict[str, PollJob] = {}
_JOBS_LOCK = threading.Lock()


def poll_job(location: str) -> PollJob:
    with _JOBS_LOCK:
        return _JOBS.setdefault(location, PollJob())


def start_poll(db: Database) -> bool:
    """Start a poll in the background. False when one is already running for this database."""
    from tracker import poller, sources  # only the Feeds page's button needs the poller

    job = poll_job(db.location)
    if not job.lock.acquire(blocking=False):
        return False
    settings = config.Settings.from_env(db=db.location)
    feeds_file = str(config.DEMO_DIR / "feeds.toml") if db.demo else settings.feeds_file
    try:
        feed_list = sources.load_sources(feeds_file)
    except TrackerError as exc:
        job.lock.release()
        job.error = str(exc)
        return False
    job.running, job.done, job.total, job.message, job.error = True, 0, len(feed_list), "", ""

    def progress(report: Any) -> None:
        job.done += 1
        job.message = f"{report.source_id}: {report.outcome}"

    def run() -> None:
        try:
            report = poller.poll(open_store(db.location), feed_list, settings=settings, progress=progress,
                                 demo=db.demo, force=db.demo)
            job.message = (f"Done: the demo feeds were read again ({report.new} new articles: they hold the "
                           "same invented news)." if db.demo else
                           f"Done: {report.new} new articles, {report.errors} feeds failed.")
        except TrackerError as exc:
            job.error = str(exc)
        finally:
            job.running = False
            job.lock.release()

    threading.Thread(target=run, name="tracker-poll-now", daemon=True).start()
    return True


# --- small renderers shared by pages -------------------------------------------------------------

_MD_SPECIAL = set("\\`*_{}[]()<>#+-.!|~:$=\"'&")
# Streamlit turns ":material/icon:" and ":streamlit:" into icons before markdown escapes apply;
# an invisible word joiner after the colon breaks the code and leaves the text as it was.
_ST_SHORTCODE = re.compile(r":(?=material[/_]|streamlit:)")


def md_escape(text: object) -> str:
    """Feed text made literal for st.markdown: no links, emphasis, icons, LaTeX or HTML."""
    text = _ST_SHORTCODE.sub(":\u2060", str(text))
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in text).replace("\n", " ")


def md_link(url: object) -> str | None:
    """An http(s) URL made safe to sit inside markdown's (...); None for anything else."""
    from urllib.parse import quote, urlsplit

    value = str(url or "").strip()
    if urlsplit(value).scheme.lower() not in ("http", "https"):
        return None
    return quote(value, safe=":/?#[]@!$&*+,;=%~-._")


def empty_store_help() -> None:
    st.info("No articles yet. Collect some with `tracker poll` (or `make run`, which also starts a "
            "background `tracker watch`), or build the demo store with `tracker demo`.", icon="📭")


def previous_summary(filters: Filters) -> dict[str, Any] | None:
    previous = queries.previous_window(filters)
    return read("window_summary", previous) if previous else None


def headline_metrics(summary: dict[str, Any], previous: dict[str, Any] | None, labels: dict[str, str],
                     selected: tuple[str, ...] = ()) -> None:
    """Articles, outlets and per-topic counts (the selected topics, or all), each with its change
    against the previous window of the same length."""
    if selected:
        labels = {t: labels[t] for t in selected if t in labels}
    def delta(key: str, topic: str | None = None) -> str | None:
        """The change with its sign in the text ("+12"), which a screen reader says; the arrow it
        would otherwise read from is only drawn."""
        if previous is None:
            return None
        before = previous["topics"].get(topic, 0) if topic else previous[key]
        now = summary["topics"].get(topic, 0) if topic else summary[key]
        return f"{int(now - before):+,}"

    figures = [("Articles", summary["articles"], delta("articles")),
               ("Outlets", summary["outlets"], delta("outlets"))]
    figures += [(label, summary["topics"].get(topic, 0), delta("topics", topic)) for topic, label in labels.items()]
    window = context().filters
    if previous is not None and window.since and window.until:  # once, before the tiles, not ten help buttons
        span = (window.until - window.since).days + 1
        before = window.since - dt.timedelta(days=span)
        st.caption(f"Changes are against the previous {span} day{'s' if span != 1 else ''} "
                   f"({before} to {window.since - dt.timedelta(days=1)}).")
    per_row = 5
    for start in range(0, len(figures), per_row):
        for column, (label, value, change) in zip(st.columns(per_row), figures[start:start + per_row], strict=False):
            # More coverage is neither good nor bad news: no green or red, and no arrow (it drew "+0" rising).
            column.metric(label, f"{value:,}", change, delta_color="off", delta_arrow="off")



def chart_control(column: Any, label: str, options: tuple[str, ...], *, default: str, key: str,
                  names: dict[str, str] | None = None) -> str:
    """A page's own choice of one option (not a sidebar filter), which keeps the user's choice when
    they visit another page and come back: Streamlit forgets the widgets of a page not shown."""
    kept = f"_tt_kept_{key}"
    chosen = column.segmented_control(label, options, default=st.session_state.get(kept, default), key=key,
                                      required=True, format_func=names.get if names else str)
    st.session_state[kept] = chosen or default
    return str(st.session_state[kept])


def default_bucket(filters: Filters) -> str:
    first = filters.since
    if first is None:
        earliest, _ = read("published_span")
        first = earliest.date() if earliest is not None else None
    return charts.auto_bucket(first, filters.until or _today())


def topic_names(codes: str, labels: dict[str, str]) -> str:
    return ", ".join(labels.get(t, t) for t in codes.split(";") if t)


def terms_named(terms: str, labels: dict[str, str]) -> str:
    """ "taiwan: median line; talks: …" with each topic's label for its id, as the rest of the page names it."""
    parts = (part.partition(": ") for part in terms.split("; ") if part)
    return "; ".join(f"{labels.get(topic, topic)}: {words}" if sep else topic for topic, sep, words in parts)


UNDATED = "Date of collection"
UNDATED_HELP = ("The feed gave no date, or one in the future: the date shown is when the tracker collected "
                "the article.")


def headline_list(frame: pd.DataFrame, labels: dict[str, str]) -> None:
    """Headlines as safe markdown: escaped text, and links only when they are http(s)."""
    if frame.empty:
        st.caption("No tagged headlines match these filters.")
        return
    for row in frame.itertuples():
        title, link = md_escape(row.title), md_link(row.link)
        head = f"**[{title}]({link})**" if link else f"**{title}**"
        when = f"{row.published:%Y-%m-%d}" + (f" ({UNDATED.lower()})" if row.published_is_fallback else "")
        meta = f"{md_escape(row.source_name or row.source)} · {when} · {md_escape(topic_names(row.topics, labels))}"
        st.markdown(f"{head}  \n{meta}")


# --- timeline ---------------------------------------------------------------------------------

TIMELINE_LIMIT = 3000


def story_list(points: pd.DataFrame, labels: dict[str, str]) -> tuple[str, ...]:
    """The Timeline's stories as a table whose rows can be selected by keyboard or tap (a chart's
    markers take a mouse, and a phone's first tap on one selects nothing); the selected story ids."""
    stories = (points.assign(topic=points["topic"].map(lambda t: labels.get(t, t)))
               .groupby("id", sort=False)
               .agg(title=("title", "first"), published=("published", "first"), topics=("topic", ", ".join),
                    outlets=("outlets", "first"), outlet_names=("outlet_names", "first"))
               .reset_index())
    # Streamlit keeps a table's selection by row number under its key: keyed by the stories listed,
    # a new list starts unselected rather than selecting whatever story now sits in that row.
    key = "tl_list_" + hashlib.sha1("\n".join(stories["id"]).encode()).hexdigest()[:12]
    with st.expander(f"The same {len(stories):,} {'story' if len(stories) == 1 else 'stories'} as a list: "
                     "select rows to list their articles (tap the box at a row's left; from the keyboard, "
                     "Shift+Space on a row)"):
        event = st.dataframe(stories.drop(columns="id"), hide_index=True, key=key, on_select="rerun",
                             selection_mode="multi-row", height=table_height(len(stories)), column_config={
                                 "published": st.column_config.DatetimeColumn("First seen (UTC)",
                                                                              format="YYYY-MM-DD HH:mm"),
                                 "title": st.column_config.TextColumn("Headline", width="large"),
                                 "topics": st.column_config.TextColumn("Topics"),
                                 "outlets": st.column_config.NumberColumn("Outlets", width="small"),
                                 "outlet_names": st.column_config.TextColumn("Carried by")})
    rows = [r for r in (event.selection.rows if hasattr(event, "selection") else []) if r < len(stories)]
    return tuple(stories["id"].iloc[rows])


def selected_ids(event: Any) -> tuple[str, ...]:
    """Article ids of the markers selected on a plotly chart (they ride along as customdata)."""
    try:
        points = event.selection.points
    except AttributeError:
        return ()
    ids = []
    for point in points:
        value = point.get("customdata")
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, str) and value not in ids:
            ids.append(value)
    return tuple(ids)


# --- overview: frequency, index, spikes ----------------------------------------------------------

UNITS = ("stories", "articles")
FREQUENCY_NOTE = ("Share (the default) divides by everything collected in the same period, so a growing feed "
                  "list does not look like a growing crisis. Stories count an event once however many outlets "
                  "carried it. An item can carry several topics and then counts in the row of each.")
INDEX_METHOD = (
    "**How the index works.** For each topic, the share of each day's stories that carry it, summed over a "
    "trailing {days} days (topic stories ÷ all stories; 7 days with day or week buckets, 30 with months, each "
    "bucket read at its last day), then rebased so that its mean over the window shown is "
    "100. A reading of 200 means the topic takes twice its usual share of coverage. It measures coverage in "
    "the feeds collected, not risk itself. Spikes (▲) are days when a topic's daily share rises far above its "
    "median of the previous 30 days (robust z-score ≥ 3.5, at least 2×, and at least 5 stories), when those "
    "30 days hold at least 50 collected stories, and the rise holds among the outlets collected all through "
    "them (not just feeds that started lately). Stretches where the feeds collected under a quarter of "
    "their usual stories are left blank: a share of a handful of stories is no reading.")
INDEX_DOCS = f"{config.HOMEPAGE}/blob/main/docs/index.md"


def frequency_counts(filters: Filters, bucket: str, unit: str) -> pd.DataFrame:
    """Topic counts per bucket with shares, in stories or in articles."""
    if unit == "stories":
        daily = read_stories("story_counts_by_day", filters).rename(columns={"stories": "articles"})
        daily = daily[daily["topic"] != index.TOTAL]
        totals = read_stories("story_totals_by_day", filters).rename(columns={"stories": "articles"})
    else:
        daily, totals = read("topic_counts_by_day", filters), read("totals_by_day", filters)
    return charts.bucket_counts(daily, totals, bucket)


def thin_index_note(thin: dict[str, int], labels: dict[str, str]) -> None:
    """Which topics the index leaves out because the window holds too few of their stories."""
    if not thin:
        return
    named = "; ".join(f"{labels.get(t, 'Any topic' if t == index.TOTAL else t)} ({n})" for t, n in thin.items())
    st.caption(f"Not indexed, too few stories in this window (fewer than {index.MIN_INDEX_STORIES}): {named}. "
               "Widen the dates or the search to index them.")


# Plotly's toolbar, shortened: on a phone its eight buttons cover the chart's title, and each is a
# stop for the Tab key. The Overview keeps zoom, reset and the picture download; the Timeline also
# its box and lasso selection.
OVERVIEW_CHART_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": [
    "zoomIn2d", "zoomOut2d", "autoScale2d", "pan2d", "select2d", "lasso2d"]}
TIMELINE_CHART_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["zoomIn2d", "zoomOut2d", "autoScale2d"]}


def chart_in_words(chart: str, lines: list[str], table: pd.DataFrame) -> None:
    """The chart above as a sentence per row and its numbers as a table, for readers who cannot see
    it (a screen reader gets nothing from a plotly figure but its tick labels)."""
    if not lines:
        return
    with st.expander(f"The {chart} chart in words and numbers"):
        st.markdown("\n".join(f"- {md_escape(line)}" for line in lines))
        st.dataframe(table)


def index_method(bucket: str) -> None:
    with st.expander("How the index is computed, and its limits"):
        st.markdown(INDEX_METHOD.format(days=index.SMOOTHING_FOR_BUCKET[bucket]))
        st.markdown(f"The full method and its limits: [docs/index.md]({INDEX_DOCS}).")


def spike_list(spikes: pd.DataFrame, labels: dict[str, str], filters: Filters, *, limit: int = 10) -> None:
    """Each spike as a sentence, with the stories behind it (under the same outlets, language and
    search) a click away."""
    if spikes.empty:
        st.caption("No spikes in this window: on no day did a topic carry at least 5 stories and rise far "
                   "above its share of the previous 30 days (which must hold at least 50 collected stories), "
                   "with most of those stories from outlets collected all through those days.")
        return
    st.markdown(f"**Spikes** ({len(spikes)} in this window; newest first)")
    for row in spikes.head(limit).to_dict("records"):
        sentence = index.describe_spike(pd.Series(row), labels.get(row["topic"], row["topic"]))
        with st.expander(sentence):
            behind = read_stories("stories_on", row["topic"], row["day"], filters)
            for story in behind.itertuples():
                st.markdown(f"- {md_escape(story.headline)} · {md_escape(story.outlet_names)}")
            day = pd.Timestamp(row["day"]).date().isoformat()
            same_day = replace(filters, topics=(row["topic"],), since=dt.date.fromisoformat(day),
                               until=dt.date.fromisoformat(day))
            st.page_link("pages/articles.py", label="See these articles", icon="📰",
                         query_params=urlstate.to_params(urlstate.ViewState(same_day, urlstate.CUSTOM)))


# --- articles table ---------------------------------------------------------------------------

ARTICLES_PAGE_SIZE = 200


def table_height(rows: int) -> int:
    """Pixels for a table of ``rows``: all of them up to about twenty, rather than Streamlit's
    ten-row box that makes a reader scroll inside the page."""
    return min(38 + 35 * max(rows, 1), 720)


def article_table(frame: pd.DataFrame, labels: dict[str, str]) -> None:
    """Articles as a sortable table; feed text stays text and only http(s) links are clickable."""
    # The headline first, then why it is here: on a phone only the first two columns fit, and the
    # matched terms were a long scroll to the right.
    shown = pd.DataFrame({
        "title": frame["title"],
        "published": frame["published"],
        "topics": [topic_names(t, labels) for t in frame["topics"]],
        "matched terms": [terms_named(t or "", labels) for t in frame["terms"]],
        "outlet": frame["source_name"].fillna(frame["source"]),
        "link": [md_link(u) for u in frame["link"]],
        "language": frame["language"],
        "story": frame["story_id"],
        "undated": frame["published_is_fallback"].astype(bool),
    })
    st.dataframe(shown, hide_index=True, height=table_height(len(shown)), column_config={
        "published": st.column_config.DatetimeColumn("Published (UTC)", format="YYYY-MM-DD HH:mm"),
        "undated": st.column_config.CheckboxColumn("Undated", width="small", help=UNDATED_HELP),
        "outlet": st.column_config.TextColumn("Outlet"),
        "title": st.column_config.TextColumn("Title", width="large"),
        "link": st.column_config.LinkColumn("Link", display_text="open ↗", width="small"),
        "topics": st.column_config.TextColumn("Topics"),
        "matched terms": st.column_config.TextColumn("Matched terms", help="The words that decided each topic."),
        "language": st.column_config.TextColumn("Language", width="small"),
        "story": st.column_config.TextColumn("Story", help="Articles with the same story id report one event."),
    })


def page_picker(total: int, page_size: int, *, key: str) -> int:
    pages = max(1, -(-total // page_size))
    if pages == 1:
        return 1
    column, _ = st.columns([1, 5])
    return int(column.number_input(f"Page (of {pages:,})", min_value=1, max_value=pages, value=1, step=1, key=key))


def page_caption(total: int, page: int, page_size: int, shown: int) -> str:
    if total == 0:
        return "No articles match these filters. Widen the dates or clear some filters."
    first = (page - 1) * page_size + 1
    noun = "article" if total == 1 else "articles"
    return f"{total:,} matching {noun}, newest first; showing {first:,}–{first + shown - 1:,}."


DOWNLOAD_LIMIT = 100_000  # rows of one dashboard download (about 40 MB); `tracker export` has no limit


def all_matching_download(column: Any, location: str, filters: Filters, total: int) -> None:
    """Every matching article (the newest DOWNLOAD_LIMIT), as `tracker export` writes them."""
    what = f"all {total:,} matching" if total <= DOWNLOAD_LIMIT else \
        f"the newest {DOWNLOAD_LIMIT:,} of {total:,} matching"

    def make() -> bytes:  # only when the user asks
        return export.to_csv_bytes(export.export_frame(queries.articles_frame(location, filters, limit=DOWNLOAD_LIMIT)),
                                   spreadsheet=True)

    prepared_download(column, what, make, view=filters, key="ar_download_all", file_name=csv_name(filters),
                      help_text=f"Every matching article (up to {DOWNLOAD_LIMIT:,}), as `tracker export` writes them.")


def stories_csv(location: str, filters: Filters) -> Callable[[], bytes]:
    """One row per tagged story matching the filters, the ones the Timeline draws (in the columns of
    `tracker export --stories`), the newest DOWNLOAD_LIMIT."""
    return lambda: export.to_csv_bytes(export.story_export_frame(
        story_queries.stories_frame(location, filters, limit=DOWNLOAD_LIMIT, tagged=True)), spreadsheet=True)


def prepared_download(column: Any, what: str, make: Callable[[], bytes], *, view: Filters, key: str,
                      file_name: str, help_text: str) -> None:
    """A CSV too costly to make on every run: a first button makes it, then a download button offers
    it until the view changes. (Streamlit's own deferred download, a callable given as data, lost
    about one click in five to the rerun that the click starts.)"""
    slot = f"_tt_prepared_{key}"
    made = st.session_state.get(slot)
    if made is None or made[0] != view:
        if not column.button(f"Prepare {what} as CSV", key=f"{key}_prepare", icon="⚙️",
                             help=f"{help_text} Made when you click, then offered for download."):
            return
        made = st.session_state[slot] = (view, make())
    column.download_button(f"Download {what} (CSV)", made[1], key=key, file_name=file_name, mime="text/csv",
                           icon="⬇️", on_click="ignore", help=help_text)


_NAME_UNSAFE = re.compile(r"[^0-9A-Za-z\u3400-\u9fff]+")


def csv_name(filters: Filters, kind: str = "articles", page: int | None = None) -> str:
    """A file name that says what the file holds: every filter, briefly (two files of different views
    must not overwrite each other in a Downloads folder)."""
    parts = ["tension-tracker", kind, *filters.topics]
    if filters.since:
        parts.append(f"from-{filters.since}")
    if filters.until:
        parts.append(f"to-{filters.until}")
    if filters.language:
        parts.append(filters.language)
    if filters.sources:
        parts.append("-".join(filters.sources) if len(filters.sources) <= 2 else f"{len(filters.sources)}-outlets")
    if filters.text:
        parts.append("q-" + _NAME_UNSAFE.sub("-", filters.text).strip("-")[:40])
    if page is not None:
        parts.append(f"page-{page}")
    return "_".join(parts) + ".csv"


# --- feeds ------------------------------------------------------------------------------------

QUIET_DAYS = 14  # a feed that answers but has carried no article this long is as good as silent


def feed_status(health: pd.DataFrame) -> list[str]:
    """Failing; partly read (its last document was broken, read as far as it went); quiet (answering,
    but its newest article is QUIET_DAYS older than the newest of any feed: a silent feed moves every
    share as much as a failing one); or ok. Quiet is measured against the store's newest article
    rather than today, so an archive or the demo reads the same any day."""
    dates = [d for d in health["newest"] if d is not None and not pd.isna(d)]
    quiet_before = max(dates) - dt.timedelta(days=QUIET_DAYS) if dates else None
    return ["⚠️ failing" if failures else
            "⚠️ partly read" if isinstance(problem, str) and problem else
            "💤 quiet" if quiet_before is not None and (newest is None or pd.isna(newest) or newest < quiet_before)
            else "✅ ok" for failures, problem, newest in zip(health["consecutive_failures"], health["last_error"],
                                                            health["newest"], strict=True)]


def feed_health_summary(health: pd.DataFrame) -> None:
    status = feed_status(health)
    failing, quiet = status.count("⚠️ failing"), status.count("💤 quiet")
    columns = st.columns(4)
    columns[0].metric("Feeds", len(health))
    columns[1].metric("Failing", failing)
    columns[2].metric("Quiet", quiet, help=f"Answering, but the newest article is {QUIET_DAYS} days older than "
                                           "the newest of any feed.")
    columns[3].metric("Articles carried", int(health["articles"].sum()))
    if failing:
        st.warning(f"{failing} feed(s) failing: see the rows marked ⚠️ (they retry on their own, backing off).")
    if quiet:
        st.info(f"{quiet} feed(s) answer but have carried nothing for {QUIET_DAYS} days or more before the "
                "newest article of the others (💤). "
                "While a feed is silent, every topic's share and the index are measured without it.")


def feed_health_table(health: pd.DataFrame) -> None:
    """One row per feed, failing ones first and marked; local demo files shown by name only."""
    shown = health.assign(
        status=feed_status(health),
        last_error=health["last_error"].fillna(""),
        url=[u if "://" in u else os.path.basename(u) for u in health["url"]],
    )
    st.dataframe(shown[["status", "name", "newest", "last_success", "last_error", "http_status",
                        "consecutive_failures", "next_poll", "articles", "url"]], hide_index=True,
                 height=table_height(len(shown)), column_config={
        "status": st.column_config.TextColumn("Status", width="small"),
        "name": st.column_config.TextColumn("Feed"),
        "newest": st.column_config.DateColumn("Newest article", format="YYYY-MM-DD",
                                              help="The day of the newest article the feed has carried."),
        "last_success": st.column_config.DatetimeColumn("Last success (UTC)", format="YYYY-MM-DD HH:mm"),
        "last_error": st.column_config.TextColumn("Last error"),
        "next_poll": st.column_config.DatetimeColumn("Next poll (UTC)", format="YYYY-MM-DD HH:mm"),
        "consecutive_failures": st.column_config.NumberColumn("Failures in a row"),
        "http_status": st.column_config.NumberColumn("HTTP", format="%d"),
        "articles": st.column_config.NumberColumn("Articles"),
        "url": st.column_config.TextColumn("URL"),
    })


def poll_now(db: Database) -> None:
    """The "Poll now" button with a live progress display; one poll at a time per database."""
    job = poll_job(db.location)
    if db.demo:
        st.caption("This is the demo store: Poll now reads the demo feeds again. To collect real news, run "
                   "`tracker poll` (it fills the tracker's own store, which the dashboard then shows).")
    clicked = st.button("Poll now", key="fd_poll", disabled=job.running, icon="🔄")
    if clicked and not start_poll(db):
        st.info("A poll is already running; its progress is shown below.")

    @st.fragment(run_every=1 if job.running else None)
    def progress() -> None:
        if job.running:
            st.progress(job.done / max(job.total, 1), text=f"Polling {job.done}/{job.total} feeds… {job.message}")
        elif job.error:
            st.error(job.error)
        elif job.message:
            st.success(job.message)
        if not job.running and st.session_state.get("_tt_polling"):
            st.session_state["_tt_polling"] = False
            st.rerun(scope="app")
        st.session_state["_tt_polling"] = job.running

    progress()

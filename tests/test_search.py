"""The sidebar search (Filters.text): words at word starts, short words whole, quoted phrases, dashes,
Chinese substrings and literal punctuation, against a small store on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from click.testing import CliRunner

from tracker import cli, queries
from tracker.models import FeedSource, ParsedFeed, ParsedItem, TaggedItem, Validators
from tracker.queries import Filters
from tracker.store import open_store

FEED = FeedSource("feed-a", "https://a.example/rss", name="Alpha Post")
DAY = dt.datetime(2024, 5, 20, 9, 0, tzinfo=dt.UTC)

# Made-up headlines: number -> (title, summary).
HEADLINES = {
    1: ("US and China resume talks", "Envoys met in Geneva."),
    2: ("Thousands use the new ferry", "Holiday lights switched on at the harbour."),
    3: ("Drills near Kinmen", "The People's Liberation Army (PLA) sent ships."),
    4: ("City plan for a new place", "The council plans a plaza."),
    5: ("Missiles fired in a test", ""),
    6: ("Antimissile shield unveiled", ""),
    7: ("War games begin", ""),
    8: ("Warships sail north", ""),
    9: ("Stewart moves forward", "A rewarding day."),
    10: ("Ships cross the median line", ""),
    11: ("Line of ships seen", "They stayed east of the median."),
    12: ("US-China trade talks", ""),
    13: ("US\u2013China summit set", ""),
    14: ("US China ties", ""),
    15: ("US\u2014China row deepens", ""),
    16: ("USAChina is one word here", ""),
    17: ("解放军在金门附近演习", ""),
    18: ("Turnout hit 50% in the poll", ""),
    19: ("File a_b leaked", "Code axb found; also 500 votes."),
    20: ("Path C:\\temp exposed", ""),
    21: ("C++ compiler ships", ""),
    22: ("The a.b test", ""),
    23: ("The acb test", ""),
    24: ("[x] marks the spot", "Priced in $ now; ^ is a caret."),
    25: ("ships set sail", ""),
    26: ("Price of x^2 (est.) hits y$", ""),
    27: ("What the drills tell us", "Analysts say the PLA is practising a blockade."),
    28: ("U.S. envoy lands in Manila", "The U.S.-Philippine treaty is 75."),
}

# Query -> the articles it finds (by number). One row per behaviour; a regression is a new row.
CASES = {
    # Short terms (3 characters or fewer) are whole words, any case...
    "us": {1, 12, 13, 14, 15, 27},
    "pla": {3, 27},
    # ...but typed in capitals they are acronyms: capitals only, dotted or not.
    "US": {1, 12, 13, 14, 15, 28},
    "U.S.": {28},
    "PLA": {3, 27},
    "USA": set(),
    "USAC": set(),
    "war": {7},
    # Longer terms start a word and may run on; * asks for a prefix of a short one.
    "missile": {5},
    "MISSILE": {5},
    "war*": {7, 8},
    "ship": {3, 10, 11, 21, 25},
    "ships": {3, 10, 11, 21, 25},
    "Ships": {3, 10, 11, 21, 25},
    "stew": {9},
    "tewart": set(),
    "stewart": {9},
    # Every word is required; quoted phrases keep their words together and in order.
    "median line": {10, 11},
    "ships sail": {25},
    "US ships": set(),
    '"median line"': {10},
    "\u201cmedian line\u201d": {10},
    "\u201dmedian line\u201d": {10},
    '"line median"': set(),
    '"MEDIAN   line"': {10},
    '"US" talks': {1, 12},
    '"median line': {10, 11},  # the unmatched quote is dropped
    'median line"': {10, 11},
    '"median line" "': {10},
    '""': set(HEADLINES),  # nothing to look for: no narrowing
    # A dash matches any dash or a space.
    "US-China": {12, 13, 14, 15},
    "US\u2013China": {12, 13, 14, 15},
    "US\u2014China": {12, 13, 14, 15},
    "US\u2212China": {12, 13, 14, 15},
    "US\u2011China": {12, 13, 14, 15},
    '"US-China trade"': {12},
    "US - China": {1, 12, 13, 14, 15},  # a lone dash is no term
    # Chinese terms match inside a sentence.
    "金门": {17},
    "金门 演习": {17},
    "金門": set(),  # no folding of Traditional characters (yet)
    # Punctuation is literal: LIKE wildcards, backslashes and regular-expression syntax.
    "50%": {18},
    "0%": set(),
    "a_b": {19},
    "C:\\temp": {20},
    "\\": {20},
    "C++": {21},
    "c++": {21},
    "(PLA)": {3},
    "a.b": {22},
    "[x]": {24},
    "$": {24, 26},
    "^": {24, 26},
    "*": set(HEADLINES),
    "(": {3, 26},
    "[": {24},
    "\\d": set(),
    "a.*": {22},
    "x^2": {26},
    "y$": {26},
    "est.)": {26},
}


def article(n: int) -> TaggedItem:
    title, summary = HEADLINES[n]
    item = ParsedItem(id=f"{n:040d}", title=title, summary=summary, link=f"https://x.example/{n}", guid=None,
                      published=DAY + dt.timedelta(hours=n), published_is_fallback=False, language="en")
    return TaggedItem(item, ())


@pytest.fixture
def store_path(db_url: str) -> str:
    store = open_store(db_url)
    store.sync_feeds([FEED], DAY)
    items = [article(n) for n in HEADLINES]
    parsed = ParsedFeed(FEED, FEED.name, tuple(t.item for t in items))
    store.record_update(FEED, parsed, items, status=200, validators=Validators(), taxonomy_version="v",
                        now=DAY, next_poll=DAY)
    return db_url


def found(location: str, text: str) -> set[int]:
    return {int(i) for i in queries.articles_frame(location, Filters(text=text))["id"]}


def test_search(store_path: str) -> None:
    got = {text: found(store_path, text) for text in CASES}
    assert got == CASES
    counted = {text: queries.count_articles(store_path, Filters(text=text)) for text in CASES}
    assert counted == {text: len(expected) for text, expected in CASES.items()}


def test_search_narrows_the_other_reads(store_path: str) -> None:
    """The search is one WHERE condition that the other reads share, next to the other filters."""
    f = Filters(text="ships", since=(DAY + dt.timedelta(hours=15)).date())  # articles 15 and later
    assert queries.window_summary(store_path, f)["articles"] == 2
    newest = queries.articles_frame(store_path, Filters(text="war*"), limit=1)
    assert newest["title"].tolist() == ["Warships sail north"]


def test_export_query_uses_the_same_search(store_path: str) -> None:
    for text in ("US", '"median line"', "US-China", "war*", "C++"):
        result = CliRunner().invoke(cli.main, ["export", "--db", store_path, "--query", text], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        rows = csv.DictReader(io.StringIO(result.stdout))
        assert {int(row["id"]) for row in rows} == CASES[text], text

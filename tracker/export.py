"""DataFrame -> CSV bytes, shared by `tracker export` and the dashboard's download button.

Cells a spreadsheet would evaluate as a formula are neutralised the way OWASP
recommends: a leading = + - @ tab, carriage return or line feed gets a single
quote in front, so the cell shows as text. Quoting is left to the csv writer.
"""

from __future__ import annotations

import pandas as pd

EXPORT_COLUMNS = ["id", "published", "source", "title", "link", "topics", "summary", "language",
                  "published_is_fallback", "terms", "story_id"]
STORY_EXPORT_COLUMNS = ["id", "first_seen", "last_seen", "headline", "outlets", "outlet_names", "articles", "topics"]
INDEX_EXPORT_COLUMNS = ["day", "topic", "stories", "total", "share", "index", "base_from", "base_to"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise(value: object) -> object:
    """Make one cell safe to open in a spreadsheet; non-strings pass through."""
    # Some spreadsheets skip leading spaces before evaluating, so look past them too.
    if isinstance(value, str) and value.lstrip(" ").startswith(_FORMULA_START):
        return "'" + value
    return value


def export_frame(articles: pd.DataFrame) -> pd.DataFrame:
    """The export's columns, in order, from an articles frame (see queries.articles_frame)."""
    frame = articles.reindex(columns=EXPORT_COLUMNS).copy()
    frame["published"] = _iso(frame["published"], "%Y-%m-%dT%H:%M:%SZ")
    return frame


def _iso(values: pd.Series, fmt: str) -> pd.Series:
    return pd.to_datetime(values, utc=True).dt.strftime(fmt)


def story_export_frame(stories: pd.DataFrame) -> pd.DataFrame:
    """One row per story (see story_queries.stories_frame), for `tracker export --stories`."""
    frame = stories.reindex(columns=STORY_EXPORT_COLUMNS).copy()
    for column in ("first_seen", "last_seen"):
        frame[column] = _iso(frame[column], "%Y-%m-%dT%H:%M:%SZ")
    return frame


def index_export_frame(index: pd.DataFrame) -> pd.DataFrame:
    """The daily index per topic (see story_queries.tension_index), for `tracker export --index`."""
    frame = index.reindex(columns=INDEX_EXPORT_COLUMNS).copy()
    frame["day"] = _iso(frame["day"], "%Y-%m-%d")
    frame["share"] = frame["share"].round(6)
    frame["index"] = frame["index"].round(2)
    return frame


def to_csv_bytes(frame: pd.DataFrame, *, spreadsheet: bool = False) -> bytes:
    """UTF-8 CSV of ``frame`` with every text cell neutralised. ``spreadsheet`` puts a byte-order mark
    first, the only sign by which Excel knows the file is UTF-8 (without it, Chinese headlines open as
    mojibake); the dashboard's downloads have it, `tracker export` (for pipes and scripts) not."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise)
    return safe.to_csv(index=False, lineterminator="\n").encode("utf-8-sig" if spreadsheet else "utf-8")

"""DataFrame -> CSV bytes, shared by `tracker export` and the dashboard's download button.

Cells a spreadsheet would evaluate as a formula are neutralised the way OWASP
recommends: a leading = + - @ tab, carriage return or line feed gets a single
quote in front, so the cell shows as text. Quoting is left to the csv writer.
"""

from __future__ import annotations

import pandas as pd

EXPORT_COLUMNS = ["id", "published", "source", "title", "link", "topics", "summary", "language",
                  "published_is_fallback", "terms"]

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
    frame["published"] = pd.to_datetime(frame["published"], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return frame


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV of ``frame`` with every text cell neutralised."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise)
    return safe.to_csv(index=False, lineterminator="\n").encode("utf-8")

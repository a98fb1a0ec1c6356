"""Filter state <-> URL query parameters, as pure functions (the app's ui.py applies them).

    ?topics=taiwan,talks&from=2021-11-01&to=2021-12-31&sources=ID1,ID2&lang=en&q=text
    ?range=90d   (a preset instead of from/to)

Invalid values are dropped with a note for the user, never an exception.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tracker.queries import Filters

PRESETS: dict[str, int | None] = {"7d": 7, "30d": 30, "90d": 90, "1y": 365, "all": None}
CUSTOM = "custom"
DEFAULT_PRESET = "all"
MAX_QUERY = 200
_LANG_RE = re.compile(r"^[a-z]{2,3}$")


@dataclass(frozen=True)
class ViewState:
    """What the sidebar shows: the filters plus the date preset that produced them."""

    filters: Filters
    preset: str = DEFAULT_PRESET


def preset_dates(preset: str, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """The (since, until) dates of a preset, counting today as the last day."""
    days = PRESETS.get(preset)
    if days is None:
        return None, None
    return today - dt.timedelta(days=days - 1), today


def _first(params: Mapping[str, str | list[str]], key: str) -> str:
    value = params.get(key, "")
    if isinstance(value, list):
        value = value[-1] if value else ""
    return value.strip()


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _date(value: str, name: str, notes: list[str]) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        notes.append(f"Ignored {name}={value!r} in the link: dates look like 2024-05-23.")
        return None


def parse_params(params: Mapping[str, str | list[str]], *, topic_ids: Iterable[str],
                 source_ids: Iterable[str], languages: Iterable[str], today: dt.date) -> tuple[ViewState, list[str]]:
    """Read a view from query parameters. Returns the view and notes about ignored values."""
    notes: list[str] = []
    known_topics, known_sources, known_langs = set(topic_ids), set(source_ids), set(languages)

    topics = _csv(_first(params, "topics"))
    unknown = [t for t in topics if t not in known_topics]
    if unknown:
        notes.append(f"Ignored unknown topic(s) in the link: {', '.join(unknown)}.")
    sources = _csv(_first(params, "sources"))
    missing = [s for s in sources if s not in known_sources]
    if missing:
        notes.append(f"Ignored unknown outlet(s) in the link: {', '.join(missing)}.")

    language: str | None = _first(params, "lang").lower() or None
    if language and (not _LANG_RE.match(language) or language not in known_langs):
        notes.append(f"Ignored lang={language!r} in the link: no articles in that language.")
        language = None

    text = _first(params, "q")
    if len(text) > MAX_QUERY:
        notes.append(f"Shortened the search text in the link to {MAX_QUERY} characters.")
        text = text[:MAX_QUERY]

    preset = _first(params, "range") or DEFAULT_PRESET
    since = _date(_first(params, "from"), "from", notes)
    until = _date(_first(params, "to"), "to", notes)
    if since and until and since > until:
        notes.append(f"Ignored the dates in the link: from={since} is after to={until}.")
        since = until = None
    elif since and not until and since > today:
        notes.append(f"Ignored from={since} in the link: it is after today ({today}).")
        since = None
    if since or until:
        preset = CUSTOM
    elif preset not in PRESETS:
        notes.append(f"Ignored range={preset!r} in the link: use one of {', '.join(PRESETS)}.")
        preset = DEFAULT_PRESET
    if preset != CUSTOM:
        since, until = preset_dates(preset, today)

    filters = Filters(topics=tuple(t for t in topics if t in known_topics), since=since, until=until,
                      sources=tuple(s for s in sources if s in known_sources), language=language, text=text)
    return ViewState(filters, preset), notes


def to_params(view: ViewState) -> dict[str, str]:
    """The query parameters for a view; defaults are left out to keep links short."""
    f = view.filters
    params: dict[str, str] = {}
    if f.topics:
        params["topics"] = ",".join(f.topics)
    if view.preset == CUSTOM:
        if f.since:
            params["from"] = f.since.isoformat()
        if f.until:
            params["to"] = f.until.isoformat()
    elif view.preset != DEFAULT_PRESET:
        params["range"] = view.preset
    if f.sources:
        params["sources"] = ",".join(f.sources)
    if f.language:
        params["lang"] = f.language
    if f.text:
        params["q"] = f.text
    return params

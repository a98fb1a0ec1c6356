from __future__ import annotations

import datetime as dt

import pytest

from tracker import urlstate
from tracker.queries import Filters

TODAY = dt.date(2026, 11, 29)
KNOWN = {"topic_ids": ["taiwan", "talks", "hypersonics"], "source_ids": ["ID1", "ID2"], "languages": ["en", "zh"],
         "today": TODAY}


def parse(**params: str) -> tuple[urlstate.ViewState, list[str]]:
    return urlstate.parse_params(params, **KNOWN)


def test_full_link_restores_every_filter() -> None:
    view, notes = parse(topics="taiwan,talks", **{"from": "2021-11-01"}, to="2021-12-31", sources="ID1,ID2",
                        lang="en", q="median line")
    assert notes == []
    assert view.preset == urlstate.CUSTOM
    assert view.filters == Filters(topics=("taiwan", "talks"), since=dt.date(2021, 11, 1),
                                   until=dt.date(2021, 12, 31), sources=("ID1", "ID2"), language="en",
                                   text="median line")


def test_round_trip() -> None:
    view, _ = parse(topics="hypersonics", range="90d", lang="zh", q="高超音速")
    assert urlstate.to_params(view) == {"topics": "hypersonics", "range": "90d", "lang": "zh", "q": "高超音速"}
    again, notes = urlstate.parse_params(urlstate.to_params(view), **KNOWN)
    assert again == view and notes == []


def test_presets_count_today_as_last_day() -> None:
    view, _ = parse(range="7d")
    assert (view.filters.since, view.filters.until) == (dt.date(2026, 11, 23), TODAY)
    assert urlstate.preset_dates("all", TODAY) == (None, None)


def test_empty_link_is_the_default_view() -> None:
    view, notes = parse()
    assert view == urlstate.ViewState(Filters(), urlstate.DEFAULT_PRESET) and notes == []
    assert urlstate.to_params(view) == {}


@pytest.mark.parametrize(
    ("params", "note", "expected"),
    [
        ({"topics": "taiwan,bogus"}, "unknown topic(s) in the link: bogus", Filters(topics=("taiwan",))),
        ({"sources": "ID9"}, "unknown outlet(s)", Filters()),
        ({"lang": "klingon"}, "lang='klingon'", Filters()),
        ({"lang": "fr"}, "lang='fr'", Filters()),
        ({"from": "yesterday"}, "from='yesterday'", Filters()),
        ({"from": "2024-02-30"}, "from='2024-02-30'", Filters()),
        ({"from": "2024-05-01", "to": "2024-01-01"}, "is after", Filters()),
        ({"from": "2030-01-01"}, "after today", Filters()),
        ({"range": "12y"}, "range='12y'", Filters()),
    ],
)
def test_invalid_values_are_ignored_with_a_note(params: dict[str, str], note: str, expected: Filters) -> None:
    view, notes = urlstate.parse_params(params, **KNOWN)
    assert view.filters == expected
    assert len(notes) == 1 and note in notes[0]


def test_repeated_parameters_take_the_last_and_long_text_is_cut() -> None:
    view, notes = urlstate.parse_params({"lang": ["zh", "en"], "q": "x" * 500}, **KNOWN)
    assert view.filters.language == "en"
    assert len(view.filters.text) == urlstate.MAX_QUERY and "Shortened" in notes[0]

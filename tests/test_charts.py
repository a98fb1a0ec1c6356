from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from tracker import charts

LABELS = {"taiwan": "Taiwan", "talks": "US–China talks"}
COLORS = {"taiwan": "#d62728", "talks": "#1f77b4"}


def days(*values: str) -> pd.Series:
    return pd.to_datetime(list(values), utc=True)


def test_bucket_counts_by_week_with_shares() -> None:
    daily = pd.DataFrame({"day": days("2024-05-20", "2024-05-22", "2024-05-27", "2024-05-22"),
                          "topic": ["taiwan", "taiwan", "taiwan", "talks"], "articles": [2, 3, 1, 5]})
    totals = pd.DataFrame({"day": days("2024-05-20", "2024-05-22", "2024-05-26", "2024-05-27"),
                           "articles": [10, 10, 5, 4]})
    out = charts.bucket_counts(daily, totals, "week")
    assert list(out.columns) == ["period", "topic", "articles", "total", "share"]
    rows = {(p.date().isoformat(), t): (a, tot, s) for p, t, a, tot, s in out.itertuples(index=False)}
    # Week of Monday 2024-05-20 holds 25 articles (20th, 22nd, 26th); taiwan 5 of them, talks 5.
    assert rows[("2024-05-20", "taiwan")] == (5, 25, 20.0)
    assert rows[("2024-05-20", "talks")] == (5, 25, 20.0)
    assert rows[("2024-05-27", "taiwan")] == (1, 4, 25.0)


def test_bucket_counts_by_month_and_day() -> None:
    daily = pd.DataFrame({"day": days("2024-01-31", "2024-02-01"), "topic": ["talks", "talks"], "articles": [1, 1]})
    totals = pd.DataFrame({"day": days("2024-01-31", "2024-02-01"), "articles": [4, 2]})
    by_month = charts.bucket_counts(daily, totals, "month")
    assert [p.date().isoformat() for p in by_month["period"]] == ["2024-01-01", "2024-02-01"]
    assert list(by_month["share"]) == [25.0, 50.0]
    assert len(charts.bucket_counts(daily, totals, "day")) == 2
    with pytest.raises(ValueError):
        charts.bucket_counts(daily, totals, "year")


@pytest.mark.parametrize(("first", "last", "bucket"), [
    (dt.date(2024, 5, 1), dt.date(2024, 5, 30), "day"),
    (dt.date(2024, 1, 1), dt.date(2024, 12, 31), "week"),
    (dt.date(2021, 1, 1), dt.date(2026, 11, 29), "month"),
    (None, None, "month"),
])
def test_auto_bucket(first: dt.date | None, last: dt.date | None, bucket: str) -> None:
    assert charts.auto_bucket(first, last) == bucket


def test_topic_frequency_figure() -> None:
    counts = pd.DataFrame({"period": days("2024-05-20", "2024-05-20", "2024-05-27"),
                           "topic": ["taiwan", "talks", "taiwan"], "articles": [5, 1, 2], "total": [10, 10, 4],
                           "share": [50.0, 10.0, 50.0]})
    fig = charts.topic_frequency_figure(counts, mode="share", bucket="week", labels=LABELS, colors=COLORS,
                                        rules_changed=dt.date(2024, 5, 24))
    assert [t.name for t in fig.data] == ["Taiwan", "US–China talks"]
    assert list(fig.data[0].y) == [50.0, 50.0] and fig.data[0].marker.color == "#d62728"
    # A row of bars per topic, not stacked bars: shares of items with several topics add up past 100 %.
    assert [(t.xaxis, t.yaxis) for t in fig.data] == [("x", "y"), ("x2", "y2")] and not fig.layout.barmode
    assert [a.text for a in fig.layout.annotations][:2] == ["Taiwan", "US–China talks"]
    assert fig.layout.title.text == "% of all collected articles per week"
    assert fig.layout.yaxis.range == fig.layout.yaxis2.range  # one scale for every row
    assert any("rules changed" in a.text for a in fig.layout.annotations)
    by_count = charts.topic_frequency_figure(counts, mode="count", bucket="week", labels=LABELS, colors=COLORS)
    assert list(by_count.data[0].y) == [5, 2] and by_count.layout.title.text == "Articles per week"
    assert by_count.layout.xaxis2.title.text == "Week (UTC)"


def test_frequency_bars_read_zero_and_stay_empty_where_nothing_was_collected() -> None:
    """Weeks with news but no Taiwan item read 0; a week with nothing collected is a gap, not 0."""
    daily = pd.DataFrame({"day": days("2024-05-06", "2024-05-27"), "topic": ["taiwan", "taiwan"], "articles": [2, 1]})
    totals = pd.DataFrame({"day": days("2024-05-06", "2024-05-13", "2024-05-27"), "articles": [4, 5, 2]})
    counts = charts.bucket_counts(daily, totals, "week")
    fig = charts.topic_frequency_figure(counts, mode="share", bucket="week", labels=LABELS, colors=COLORS)
    bars = fig.data[0]
    assert [pd.Timestamp(x).date().isoformat() for x in bars.x] == ["2024-05-06", "2024-05-13", "2024-05-20",
                                                                    "2024-05-27"]
    assert list(bars.y[:2]) == [50.0, 0.0] and pd.isna(bars.y[2]) and bars.y[3] == 50.0


def test_time_charts_span_the_chosen_window_not_only_the_data() -> None:
    """A window with news in its middle only shows its empty ends, instead of stretching the data."""
    counts = pd.DataFrame({"period": days("2022-08-01"), "topic": ["taiwan"], "articles": [3], "total": [6],
                           "share": [50.0]})
    window = (dt.date(2022, 7, 15), dt.date(2022, 9, 15))
    fig = charts.topic_frequency_figure(counts, mode="share", bucket="month", labels=LABELS, colors=COLORS,
                                        window=window)
    first, last = (pd.Timestamp(x) for x in fig.layout.xaxis.range)
    assert first.date() == dt.date(2022, 7, 15) and last.date() == dt.date(2022, 9, 16)
    open_ended = charts.topic_frequency_figure(counts, mode="share", bucket="month", labels=LABELS, colors=COLORS)
    first, last = (pd.Timestamp(x) for x in open_ended.layout.xaxis.range)
    # Open ends hug the data: from just before August's bar to just after it (it spans the month).
    assert first < pd.Timestamp("2022-08-01", tz="UTC") and pd.Timestamp("2022-08-31", tz="UTC") < last
    assert last < pd.Timestamp("2022-09-03", tz="UTC")
    bar = open_ended.data[0]
    assert bar.offset > 0 and 25 < bar.width / 86_400_000 < 27  # the bar stands within its month
    timeline = charts.timeline_figure(points("a", "b"), labels=LABELS, colors=COLORS, window=window)
    assert pd.Timestamp(timeline.layout.xaxis.range[0]).date() == dt.date(2022, 7, 15)


def test_empty_figures_say_what_to_do() -> None:
    empty = pd.DataFrame(columns=["period", "topic", "articles", "total", "share"])
    fig = charts.topic_frequency_figure(empty, mode="share", bucket="day", labels=LABELS, colors=COLORS)
    assert "Widen the dates" in fig.layout.annotations[0].text and not fig.data


def points(*titles: str) -> pd.DataFrame:
    n = len(titles)
    return pd.DataFrame({"id": [f"id{i}" for i in range(n)],
                         "published": pd.date_range("2024-05-20", periods=n, freq="D", tz="UTC"),
                         "topic": ["taiwan", "talks"] * (n // 2) + ["taiwan"] * (n % 2), "title": list(titles),
                         "outlets": [1, 3] * (n // 2) + [1] * (n % 2),
                         "outlet_names": ["A", "A, B, C"] * (n // 2) + ["A"] * (n % 2)})


def test_timeline_figure_lanes_sizes_and_hover() -> None:
    fig = charts.timeline_figure(points("Drills <b>near</b> Taiwan", "Defence chiefs talk"),
                                 labels=LABELS, colors=COLORS)
    assert [t.name for t in fig.data] == ["Taiwan", "US–China talks"]
    assert list(fig.data[0].customdata) == ["id0"]
    assert fig.data[1].marker.size[0] > fig.data[0].marker.size[0]  # three outlets beat one
    assert "&lt;b&gt;near&lt;/b&gt;" in fig.data[0].hovertext[0] and "<b>near" not in fig.data[0].hovertext[0]
    assert "A, B, C" in fig.data[1].hovertext[0]


def test_timeline_milestones_inside_the_range_only() -> None:
    milestones = pd.DataFrame({"date": days("2024-05-21", "2020-01-01"), "label": ["Summit", "Old"],
                               "kind": ["summit", "call"], "topics": ["talks", ""], "note": ["", ""]})
    fig = charts.timeline_figure(points("a", "b", "c"), labels=LABELS, colors=COLORS, milestones=milestones)
    texts = [a.text for a in fig.layout.annotations]
    assert "Summit" in texts and "Old" not in texts
    assert len(fig.layout.shapes) == 1


def test_timeline_milestones_span_the_chosen_dates_not_just_the_stories() -> None:
    """A milestone after the last story of the chosen month is drawn; with no story at all, the month's
    milestones still say what happened (and so that the feeds collected nothing on it)."""
    milestones = pd.DataFrame({"date": days("2024-06-05", "2024-09-01"), "label": ["Talks suspended", "Later"],
                               "kind": ["call", "call"], "topics": ["", ""], "note": ["", ""]})
    june = (dt.date(2024, 6, 1), dt.date(2024, 6, 30))
    fig = charts.timeline_figure(points("a", "b"), labels=LABELS, colors=COLORS, milestones=milestones, window=june)
    assert [a.text for a in fig.layout.annotations] == ["Talks suspended"]
    empty = charts.timeline_figure(points(), labels=LABELS, colors=COLORS, milestones=milestones, window=june)
    assert charts.NO_TAGGED_STORIES in [a.text for a in empty.layout.annotations]
    assert "Talks suspended" in [a.text for a in empty.layout.annotations] and len(empty.layout.shapes) == 1
    assert empty.layout.xaxis.type == "date"  # no trace tells plotly so: its axis read -1 to 6
    counts = pd.DataFrame({"day": days("2024-06-01"), "topic": ["taiwan"], "stories": [1]})
    binned = charts.timeline_binned_figure(counts, bucket="week", labels=LABELS, colors=COLORS,
                                           milestones=milestones, window=june)
    assert "Talks suspended" in [a.text for a in binned.layout.annotations]


def test_payload_stays_small() -> None:
    many = points(*[f"headline {i}" for i in range(3000)])
    fig = charts.timeline_figure(many, labels=LABELS, colors=COLORS)
    assert charts.figure_payload_bytes(fig) < 1_000_000


def test_milestones_days_apart_share_no_label_space() -> None:
    """On a year's axis, labels of events two days apart would be drawn over each other: the second
    becomes a diamond named on hover."""
    many = points(*[f"s{i}" for i in range(300)])  # 2024-05-20 onwards, about ten months
    milestones = pd.DataFrame({"date": days("2024-08-04", "2024-08-02", "2024-12-01"),
                               "label": ["Drills", "Visit", "Summit"], "kind": ["test"] * 3, "topics": [""] * 3,
                               "note": ["", "", ""]})
    fig = charts.timeline_figure(many, labels=LABELS, colors=COLORS, milestones=milestones)
    assert {a.text for a in fig.layout.annotations} == {"Visit", "Summit"}
    diamonds = next(t for t in fig.data if t.name == "Milestones")
    assert len(diamonds.x) == 1 and "Drills" in diamonds.hovertext[0]
    assert len(fig.layout.shapes) == 3  # every milestone keeps its line


def test_chart_text_is_dark_enough_to_read() -> None:
    """Streamlit's theme would draw ticks, axis titles and row names at 3.7:1 on white; every text of
    our figures is set to INK instead."""
    counts = pd.DataFrame({"day": days("2024-06-01", "2024-06-08"), "topic": ["taiwan", "talks"], "stories": [2, 1]})
    milestones = pd.DataFrame({"date": days("2024-05-21"), "label": ["Summit"], "kind": ["summit"],
                               "topics": [""], "note": [""]})
    figures = [charts.timeline_figure(points("a", "b", "c"), labels=LABELS, colors=COLORS, milestones=milestones),
               charts.timeline_binned_figure(counts, bucket="week", labels=LABELS, colors=COLORS)]
    for fig in figures:
        layout = fig.to_plotly_json()["layout"]
        axes = [v for k, v in layout.items() if k.startswith(("xaxis", "yaxis")) and v.get("visible", True)]
        assert layout["font"]["color"] == charts.INK_FONT["color"]
        assert all(a["tickfont"]["color"] == charts.INK_FONT["color"] for a in axes if "tickfont" in a or
                   "title" in a)
        assert all(a.get("font", {}).get("color", layout["font"]["color"]) == charts.INK_FONT["color"]
                   for a in layout.get("annotations", []))


def test_the_frequency_chart_in_words_and_numbers() -> None:
    """For a reader who cannot see the bars: each topic's total and busiest bucket, and the numbers."""
    daily = pd.DataFrame({"day": days("2024-05-20", "2024-05-28", "2024-05-29", "2024-05-21"),
                          "topic": ["taiwan", "taiwan", "taiwan", "talks"], "articles": [1, 2, 1, 1]})
    totals = pd.DataFrame({"day": days("2024-05-20", "2024-05-27"), "articles": [10, 8]})
    counts = charts.bucket_counts(daily, totals, "week")
    lines, table = charts.frequency_in_words(counts, mode="count", bucket="week", unit="stories", labels=LABELS)
    assert lines == ["Taiwan: 4 stories in all; the most in the week of 2024-05-27, 3 stories (38 % of all collected)",
                     "US–China talks: 1 story in all; the most in the week of 2024-05-20, 1 story "
                     "(10 % of all collected)"]
    assert table.index.tolist() == ["2024-05-20", "2024-05-27"] and table.index.name == "Week of"
    assert table["Taiwan (stories)"].tolist() == [1, 3] and table["US–China talks (stories)"].tolist() == [1, 0]
    lines, table = charts.frequency_in_words(counts, mode="share", bucket="week", unit="stories", labels=LABELS)
    assert lines[0].startswith("Taiwan: 4 stories in all; the largest share in the week of 2024-05-27")
    assert table["Taiwan (% of all collected)"].tolist() == [10.0, 37.5]  # the unit in the name
    lines, table = charts.frequency_in_words(counts.iloc[0:0], mode="count", bucket="week", unit="stories",
                                             labels=LABELS)
    assert lines == [] and table.empty

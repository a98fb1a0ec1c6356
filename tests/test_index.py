"""The tension index and its spikes, on series small enough to check by hand."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from tracker import charts
from tracker.index import (
    INDEX_COLUMNS,
    SPIKE_COLUMNS,
    TOTAL,
    daily_index,
    describe_spike,
    find_spikes,
    sample_buckets,
    split_thin,
)


def _days(n: int, start: str = "2024-01-01") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="D", tz="UTC")


def _frames(totals: list[int], **topics: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    days = _days(len(totals))
    counts = pd.DataFrame([{"day": d, "topic": topic, "stories": n}
                           for topic, values in topics.items() for d, n in zip(days, values, strict=True)],
                          columns=["day", "topic", "stories"])
    return counts, pd.DataFrame({"day": days, "stories": totals})


def _topic(frame: pd.DataFrame, topic: str, column: str) -> list[float]:
    return frame.loc[frame["topic"] == topic, column].tolist()


def test_smoothing_is_a_ratio_of_sums_over_the_trailing_window() -> None:
    counts, totals = _frames([10, 0, 30], taiwan=[2, 0, 3])
    frame = daily_index(counts, totals, smoothing_days=2)
    assert list(frame.columns) == INDEX_COLUMNS
    # day 1: 2/10; day 2: (2+0)/(10+0); day 3: (0+3)/(0+30). Mean 1/6, so the index is share * 600.
    assert _topic(frame, "taiwan", "share") == pytest.approx([0.2, 0.2, 0.1])
    assert _topic(frame, "taiwan", "index") == pytest.approx([120.0, 120.0, 60.0])
    assert _topic(frame, "taiwan", "stories") == [2, 0, 3]
    assert _topic(frame, "taiwan", "total") == [10, 0, 30]


def test_days_without_rows_are_filled_with_zero() -> None:
    counts = pd.DataFrame({"day": pd.to_datetime(["2024-03-01", "2024-03-04"], utc=True),
                           "topic": ["taiwan", "taiwan"], "stories": [1, 1]})
    totals = pd.DataFrame({"day": pd.to_datetime(["2024-03-01", "2024-03-03", "2024-03-04"], utc=True),
                           "stories": [4, 2, 4]})
    frame = daily_index(counts, totals, smoothing_days=1)
    assert frame["day"].nunique() == 4
    assert _topic(frame, "taiwan", "stories") == [1, 0, 0, 1]
    assert _topic(frame, "taiwan", "total") == [4, 0, 2, 4]
    share = _topic(frame, "taiwan", "share")
    assert math.isnan(share[1]) and share[2] == 0.0  # no story at all that day: no share


def test_rebased_mean_over_the_base_period_is_100() -> None:
    rng = np.random.default_rng(7)
    totals = rng.integers(50, 150, 40).tolist()
    counts, frame_totals = _frames(totals, taiwan=[int(t * 0.1) + int(rng.integers(0, 5)) for t in totals])
    whole = daily_index(counts, frame_totals)
    assert whole.loc[whole["topic"] == "taiwan", "index"].mean() == pytest.approx(100.0)
    base = (dt.date(2024, 1, 10), dt.date(2024, 1, 20))
    framed = daily_index(counts, frame_totals, base=base)
    in_base = framed[(framed["topic"] == "taiwan") & framed["day"].dt.date.between(*base)]
    assert in_base["index"].mean() == pytest.approx(100.0)
    with pytest.raises(ValueError, match="starts after it ends"):
        daily_index(counts, frame_totals, base=(base[1], base[0]))
    with pytest.raises(ValueError, match="holds no day"):
        daily_index(counts, frame_totals, base=(dt.date(2020, 1, 1), dt.date(2020, 2, 1)))


def test_a_window_reads_its_first_days_as_a_longer_one_does() -> None:
    rng = np.random.default_rng(11)
    totals = rng.integers(50, 150, 40).tolist()
    counts, frame_totals = _frames(totals, taiwan=[int(rng.integers(0, 20)) for _ in totals])
    whole = daily_index(counts, frame_totals, smoothing_days=7)
    start = dt.date(2024, 1, 15)
    window = daily_index(counts, frame_totals, smoothing_days=7, report_from=start)
    assert window["day"].min().date() == start
    later = whole[whole["day"].dt.date >= start]
    # The first day's share covers the 7 days ending on it, as in the whole series, not that day alone.
    assert _topic(window, "taiwan", "share") == pytest.approx(_topic(later, "taiwan", "share"))
    assert window.loc[window["topic"] == "taiwan", "index"].mean() == pytest.approx(100.0)
    assert set(window["base_from"]) == {start} and set(window["base_to"]) == {dt.date(2024, 2, 9)}
    assert daily_index(counts, frame_totals, report_from=dt.date(2025, 1, 1)).empty


def test_readings_from_a_thin_stretch_of_collection_are_left_out() -> None:
    # 100 stories a day, a tenth on Taiwan; for three weeks the feeds nearly fall silent and the
    # one story a day left is on Taiwan (a share of 1/3, not 1/10).
    totals = [100] * 60
    taiwan = [10] * 60
    for day in range(20, 41):
        totals[day], taiwan[day] = 3, 1
    frame = daily_index(*_frames(totals, taiwan=taiwan), smoothing_days=7)
    index = pd.Series(_topic(frame, "taiwan", "index"))
    assert index[26:41].isna().all()  # windows of 21 stories against a typical 700
    # The thin weeks hardly move the base: only the windows that straddle their edges count. Were
    # they read, a third of the days would sit at 3.3 times the usual share, and the rest near 60.
    assert index[:20].between(95, 100).all() and index[50:].between(95, 100).all()
    assert index.max() < 140


def test_total_is_given_or_derived_from_the_topics() -> None:
    counts, totals = _frames([10, 10], taiwan=[6, 2], talks=[6, 1])
    derived = daily_index(counts, totals, smoothing_days=1)
    assert _topic(derived, TOTAL, "stories") == [10, 3]  # 6 + 6 capped at the day's 10 stories
    given = pd.concat([counts, pd.DataFrame({"day": _days(2), "topic": TOTAL, "stories": [7, 2]})])
    assert _topic(daily_index(given, totals, smoothing_days=1), TOTAL, "stories") == [7, 2]


def test_edge_cases_empty_single_day_zero_totals() -> None:
    empty = daily_index(pd.DataFrame(columns=["day", "topic", "stories"]), pd.DataFrame(columns=["day", "stories"]))
    assert empty.empty and list(empty.columns) == INDEX_COLUMNS
    assert find_spikes(empty).empty and list(find_spikes(empty).columns) == SPIKE_COLUMNS
    one = daily_index(*_frames([5], taiwan=[2]))
    assert _topic(one, "taiwan", "index") == [100.0]
    assert find_spikes(one).empty
    zero = daily_index(*_frames([0, 0, 0], taiwan=[0, 0, 0]))
    assert zero["index"].isna().all()
    assert find_spikes(zero).empty
    never = daily_index(*_frames([5, 5], taiwan=[0, 0]))
    assert never.loc[never["topic"] == "taiwan", "index"].isna().all()  # no base to rebase on
    with pytest.raises(ValueError):
        daily_index(*_frames([5], taiwan=[1]), smoothing_days=0)


def _spiky() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 90
    taiwan = (10 + rng.integers(-2, 3, n)).tolist()
    taiwan[70] = 40
    talks = (5 + rng.integers(-1, 2, n)).tolist()
    return daily_index(*_frames([200] * n, taiwan=taiwan, talks=talks), smoothing_days=1)


def test_a_known_spike_is_found_and_nothing_else() -> None:
    spikes = find_spikes(_spiky())
    spike_day = _days(90)[70]
    assert list(spikes.columns) == SPIKE_COLUMNS
    assert set(zip(spikes["day"], spikes["topic"], strict=True)) == {(spike_day, "taiwan"), (spike_day, TOTAL)}
    row = spikes[spikes["topic"] == "taiwan"].iloc[0]
    assert row["stories"] == 40 and row["ratio"] > 3.5 and row["z"] > 3.5
    assert describe_spike(row, "Taiwan") == \
        f"Taiwan coverage {row['ratio']:.1f}x its 30-day baseline on 2024-03-11, 40 stories"


def test_quiet_days_and_flat_baselines() -> None:
    # A topic with no stories for a month, then 2: too few stories to count, but a spike at min_stories=1.
    quiet = daily_index(*_frames([100] * 40, rare=[0] * 39 + [2], common=[10] * 40), smoothing_days=1)
    assert find_spikes(quiet)[lambda f: f["topic"] == "rare"].empty
    rare = find_spikes(quiet, min_stories=1)[lambda f: f["topic"] == "rare"].iloc[0]
    assert rare["ratio"] == math.inf
    assert describe_spike(rare, "Rare") == \
        "Rare coverage on 2024-02-09: 2 stories, where a typical day of the previous 30 had none"
    # A perfectly flat baseline has MAD 0: the floor keeps z finite, and one more story is no spike.
    flat = daily_index(*_frames([100] * 40, taiwan=[10] * 39 + [11]), smoothing_days=1)
    assert find_spikes(flat).empty
    jump = find_spikes(daily_index(*_frames([100] * 40, taiwan=[10] * 39 + [25]), smoothing_days=1))
    assert np.isfinite(jump["z"]).all() and set(jump["topic"]) == {"taiwan", TOTAL}


def test_no_spike_rises_above_a_baseline_of_a_few_stories() -> None:
    # The first weeks of a new tracker, or a gap in collection: the window holds 30 stories, none on
    # the topic, then 8 on one day. "Up from nothing" would only say that little was collected.
    thin = daily_index(*_frames([1] * 30 + [10], taiwan=[0] * 30 + [8]), smoothing_days=1)
    assert find_spikes(thin).empty
    found = find_spikes(thin, min_baseline_stories=30)
    assert set(found["topic"]) == {"taiwan", TOTAL} and (found["ratio"] == math.inf).all()


def test_index_chart_leaves_gaps_where_nothing_was_collected() -> None:
    # Ten days with stories, twenty with none, ten more: the line must break, not bridge the gap.
    frame = daily_index(*_frames([20] * 10 + [0] * 20 + [20] * 10, taiwan=[5] * 10 + [0] * 20 + [8] * 10),
                        smoothing_days=1)
    figure = charts.index_figure(frame, find_spikes(frame), labels={"taiwan": "Taiwan"}, colors={})
    line = next(trace for trace in figure.data if trace.name == "Taiwan")
    assert len(line.x) == 40 and not line.connectgaps
    assert sum(1 for y in line.y if y is None or math.isnan(y)) == 20


def test_describe_spike_counts_one_story() -> None:
    row = pd.Series({"day": pd.Timestamp("2021-10-04", tz="UTC"), "ratio": 3.44, "stories": 1, "window_days": 14})
    assert describe_spike(row, "Taiwan") == "Taiwan coverage 3.4x its 14-day baseline on 2021-10-04, 1 story"


def test_index_chart_has_a_row_per_topic_on_one_scale_with_spikes_in_their_row() -> None:
    frame = daily_index(*_frames([20] * 40, taiwan=[2] * 39 + [12], talks=[3] * 40), smoothing_days=1)
    spikes = find_spikes(frame, min_baseline_stories=30)
    assert set(spikes["topic"]) >= {"taiwan"}
    figure = charts.index_figure(frame, spikes, labels={"taiwan": "Taiwan", "talks": "Talks"}, colors={})
    assert [a.text for a in figure.layout.annotations][:3] == ["Any topic", "Taiwan", "Talks"]
    assert figure.layout.yaxis.range == figure.layout.yaxis2.range == figure.layout.yaxis3.range
    ink = charts.INK_FONT["color"]  # row names and ticks readable (Streamlit's grey is 3.7:1 on white)
    assert figure.layout.annotations[1].font.color == ink and figure.layout.yaxis2.tickfont.color == ink
    spike = next(trace for trace in figure.data if trace.name == "Taiwan spike")
    assert spike.yaxis == "y2" and len(spike.x) == 1


def test_a_spike_is_marked_on_the_reading_of_its_bucket() -> None:
    """Read by month, the index has one point per month: the spike of 9 February sits on February's."""
    frame = daily_index(*_frames([20] * 60, taiwan=[2] * 39 + [12] + [2] * 20), smoothing_days=1)
    spikes = find_spikes(frame, min_baseline_stories=30)
    spike_day = spikes.loc[spikes["topic"] == "taiwan", "day"].iloc[0]
    monthly = sample_buckets(frame, "month")
    figure = charts.index_figure(monthly, spikes, labels={"taiwan": "Taiwan"}, colors={}, bucket="month")
    marker = next(trace for trace in figure.data if trace.name == "Taiwan spike")
    reading = pd.Timestamp(marker.x[0]).date()
    assert reading.month == spike_day.month and reading >= spike_day.date()
    assert reading in {d.date() for d in monthly["day"]}
    assert marker.customdata[0] == f"spike on {spike_day:%Y-%m-%d}: 12 stories that day"
    # The reading under the ▲ says it too: a tap at the marker's centre finds the line's point first.
    line = next(trace for trace in figure.data if trace.name == "Taiwan")
    said = dict(zip((pd.Timestamp(x).date() for x in line.x), line.customdata, strict=True))
    assert said[reading] == "<br>▲ " + marker.customdata[0]
    assert sum(1 for text in said.values() if text) == 1


def test_topics_with_too_few_stories_in_the_window_are_not_indexed() -> None:
    """Three stories in a window make a mean so thin that one of them reads as thousands."""
    frame = daily_index(*_frames([20] * 60, taiwan=[1] * 60, talks=[0] * 57 + [1, 1, 1]), smoothing_days=7)
    frame["window_stories"] = frame.groupby("topic")["stories"].transform("sum")
    kept, thin = split_thin(frame)
    assert thin == {"talks": 3}
    assert set(kept["topic"]) == {"taiwan", TOTAL} and kept["index"].max() < 1000
    assert frame.loc[frame["topic"] == "talks", "index"].max() > 1000  # what it would have drawn


def test_the_index_chart_in_words_and_numbers() -> None:
    frame = daily_index(*_frames([20] * 40, taiwan=[2] * 39 + [12], talks=[3] * 40), smoothing_days=1)
    spikes = find_spikes(frame, min_baseline_stories=30)
    lines, table = charts.index_in_words(frame, spikes, bucket="day", labels={"taiwan": "Taiwan", "talks": "Talks"})
    # Taiwan's shares: 0.1 for 39 days, then 0.6; their mean 0.1125 is 100, so the last day reads 533.
    assert lines[1] == ("Taiwan: 533 on 2024-02-09 (the latest reading); the highest, 533, on 2024-02-09; "
                        "1 spike, on 2024-02-09")
    assert lines[0].startswith("Any topic: ") and lines[2].startswith("Talks: 100 on 2024-02-09 (the latest reading)")
    assert list(table.columns) == ["Any topic", "Taiwan", "Talks"] and table.index.name == "Day"
    assert len(table) == 40 and table.loc["2024-02-09", "Taiwan"] == pytest.approx(533.3, abs=0.1)



def test_a_spike_holds_among_steady_outlets_only_on_enough_of_their_stories() -> None:
    from tracker.index import holds_among_steady_outlets

    spike = pd.Series({"index": 400.0, "baseline": 100.0, "share": 0.4, "stories": 8})  # baseline share 0.1
    assert holds_among_steady_outlets(spike, 6, 20)  # 0.3 >= 2 x 0.1
    assert not holds_among_steady_outlets(spike, 6, 40)  # 0.15: the rise came from the newcomers
    assert not holds_among_steady_outlets(spike, 4, 5)  # half the spike's stories are the newcomers'
    assert holds_among_steady_outlets(pd.Series({"index": 400.0, "baseline": 0.0, "share": 0.4, "stories": 5}),
                                      4, 103)  # New START: one of five from a feed that joined a week before


def test_thin_collection_is_judged_against_the_whole_history_not_the_window() -> None:
    """A quiet week is thin whether the chart shows five years or one month (with the window's own
    median, a month of quiet weeks judged itself typical, and one story among six read 2,000)."""
    from tracker.index import typical_collection

    totals = [100] * 60
    taiwan = [10] * 60
    for day in range(40, 60):  # the feeds nearly fall silent for the last three weeks
        totals[day], taiwan[day] = 3, 1
    counts, frame_totals = _frames(totals, taiwan=taiwan)
    typical = typical_collection(frame_totals, 7)
    assert typical == pytest.approx(100.0)
    whole = daily_index(counts, frame_totals, typical_per_day=typical)
    late = daily_index(counts, frame_totals, typical_per_day=typical, report_from=dt.date(2024, 2, 15))
    assert late["index"].isna().all()  # its own median would have called these weeks typical
    assert daily_index(counts, frame_totals, report_from=dt.date(2024, 2, 15))["index"].notna().any()
    assert _topic(whole, "taiwan", "index")[46:] == [pytest.approx(float("nan"), nan_ok=True)] * 14
    assert daily_index(counts, frame_totals, thin=0.0)["index"].notna().all()

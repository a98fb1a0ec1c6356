"""The tension index and its spikes: pure functions over pandas frames.

In the manner of the Caldara–Iacoviello geopolitical risk index: for each topic, the share of the day's
stories that carry it, smoothed over a trailing window and rebased so that its mean over a base period
is 100. A reading of 200 means the topic takes twice its usual share of coverage, whatever the number
of feeds collected that day. See docs/index.md for the method and its limits.
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd

__all__ = ["INDEX_COLUMNS", "SPIKE_COLUMNS", "TOTAL", "daily_index", "describe_spike", "find_spikes"]

TOTAL = "total"
INDEX_COLUMNS = ["day", "topic", "stories", "total", "share", "index", "base_from", "base_to"]
# A reading whose trailing window collected fewer stories a day than this fraction of the typical
# window's (see typical_collection) is left out (index NaN): when a tracker's feeds fall silent for a
# while, one story among a few dozen would read as many times the usual share (and raise the base
# period's mean with it).
THIN_COLLECTION = 0.25
SPIKE_COLUMNS = ["day", "topic", "index", "baseline", "ratio", "z", "stories", "window_days", "share"]

# Robust z-scores divide by the spread of the baseline (1.4826 * MAD estimates a standard deviation).
# A flat baseline has MAD 0 and would turn any rise into an infinite z, so the spread is floored at a
# tenth of the baseline and at MIN_SPREAD index points (5 % of the base-period mean of 100).
_MAD_TO_SD = 1.4826
MIN_SPREAD = 5.0
RELATIVE_SPREAD = 0.1


def _utc_days(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True).dt.floor("D")


def _empty_index() -> pd.DataFrame:
    return pd.DataFrame({"day": pd.Series(dtype="datetime64[ns, UTC]"), "topic": pd.Series(dtype=object),
                         "stories": pd.Series(dtype="int64"), "total": pd.Series(dtype="int64"),
                         "share": pd.Series(dtype="float64"), "index": pd.Series(dtype="float64"),
                         "base_from": pd.Series(dtype=object), "base_to": pd.Series(dtype=object)})


def _base_mask(days: pd.DatetimeIndex, base: tuple[dt.date, dt.date] | None) -> np.ndarray:
    if base is None:
        return np.ones(len(days), dtype=bool)
    start, end = base
    if start > end:
        raise ValueError(f"base period starts after it ends: {start} > {end}")
    dates = days.date
    mask = (dates >= start) & (dates <= end)
    if not mask.any():
        raise ValueError(f"base period {start}..{end} holds no day of the data")
    return np.asarray(mask)


def _per_day(total: pd.Series, smoothing_days: int) -> pd.Series:
    """Stories collected a day over each trailing window (the first days of the data have shorter ones)."""
    return total.rolling(smoothing_days, min_periods=1).sum() / np.minimum(np.arange(1, len(total) + 1),
                                                                           smoothing_days)


def typical_collection(totals: pd.DataFrame, smoothing_days: int) -> float | None:
    """The median stories a day over trailing windows of ``smoothing_days``, from ``totals`` (day,
    stories): what THIN_COLLECTION is a fraction of. Pass the store's whole history, so a reading is
    thin or not whatever window is shown."""
    if totals.empty:
        return None
    days = _utc_days(totals["day"])
    daily = (totals.assign(day=days).groupby("day")["stories"].sum()
             .reindex(pd.date_range(days.min(), days.max(), freq="D"), fill_value=0))
    rate = _per_day(daily, smoothing_days)
    return float(rate[rate > 0].median()) if (rate > 0).any() else None


def daily_index(topic_counts: pd.DataFrame, totals: pd.DataFrame, *, smoothing_days: int = 7,
                base: tuple[dt.date, dt.date] | None = None, report_from: dt.date | None = None,
                typical_per_day: float | None = None, thin: float = THIN_COLLECTION) -> pd.DataFrame:
    """The tension index per topic and day.

    ``topic_counts``: day (UTC), topic, stories (stories carrying the topic that day). A row with topic
    ``TOTAL`` gives the stories carrying any topic; without one it is the sum over topics, capped at
    the day's total (an overcount when stories carry several topics). ``totals``: day, stories (all
    stories collected that day, tagged or not).

    Returns day, topic, stories, total, share, index, base_from, base_to: one row per topic (and
    ``TOTAL``) per day from the first to the last day of the data, days without stories filled with 0. ``share`` is the
    trailing ``smoothing_days`` share: topic stories over all stories summed over the window (a ratio
    of sums, so a thin day weighs less than a busy one). ``index`` is share rebased to a mean of 100
    over ``base`` (inclusive dates; default every reported day), ``base_from`` and ``base_to`` saying
    which days that was. Both are NaN where the window holds no story at all; ``index`` is also NaN
    for a topic that never appears in the base period, and where the window collected fewer stories
    a day than ``thin`` (THIN_COLLECTION; 0: never) times ``typical_per_day`` (by default the median
    of these data's windows; see typical_collection).

    Days before ``report_from`` only fill the trailing windows of the first reported days (pass the
    ``smoothing_days - 1`` days before it, so the first day's share covers a whole window like any
    other's); they are not returned and not part of the default base.
    """
    if smoothing_days < 1:
        raise ValueError(f"smoothing_days must be at least 1, not {smoothing_days}")
    counts = topic_counts.assign(day=_utc_days(topic_counts["day"]))
    all_stories = totals.assign(day=_utc_days(totals["day"]))
    known = pd.concat([counts["day"], all_stories["day"]]).dropna()
    if known.empty:
        return _empty_index()
    days = pd.date_range(known.min(), known.max(), freq="D", name="day")
    total = all_stories.groupby("day")["stories"].sum().reindex(days, fill_value=0).astype("int64")
    wide = (counts.pivot_table(index="day", columns="topic", values="stories", aggfunc="sum")
            .reindex(index=days).fillna(0).astype("int64")) if not counts.empty \
        else pd.DataFrame(index=days)
    if TOTAL not in wide.columns:
        wide[TOTAL] = np.minimum(wide.sum(axis=1).to_numpy(), total.to_numpy())
    window_topic = wide.rolling(smoothing_days, min_periods=1).sum()
    window_total = total.rolling(smoothing_days, min_periods=1).sum()
    share = window_topic.div(window_total.where(window_total > 0), axis=0)
    per_day = _per_day(total, smoothing_days)
    if report_from is not None:
        shown = days.date >= report_from
        if not shown.any():
            return _empty_index()
        days, wide, total, per_day, share = days[shown], wide[shown], total[shown], per_day[shown], share[shown]
    typical = typical_per_day if typical_per_day is not None else per_day[per_day > 0].median()
    readable = share.where(per_day >= thin * typical, axis=0) if thin else share
    in_base = _base_mask(days, base)
    base_mean = readable[in_base].mean()
    index = readable.div(base_mean.where(base_mean > 0)) * 100.0
    base_days = days[in_base]
    frame = pd.DataFrame({
        "day": np.repeat(days, len(wide.columns)),
        "topic": np.tile(np.asarray(wide.columns, dtype=object), len(days)),
        "stories": wide.to_numpy().ravel(),
        "total": np.repeat(total.to_numpy(), len(wide.columns)),
        "share": share.to_numpy(dtype="float64").ravel(),
        "index": index.to_numpy(dtype="float64").ravel(),
        "base_from": base_days.min().date(),
        "base_to": base_days.max().date(),
    })
    return frame.sort_values(["day", "topic"], ignore_index=True)


SPIKE_WINDOW_DAYS = 30  # the baseline of a spike: the days before it


def _trailing(values: np.ndarray, window_days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median, MAD and count of non-NaN values over the previous ``window_days`` days (the day
    itself excluded), for a series with one value per day, computed on all windows at once."""
    padded = np.concatenate([np.full(window_days, np.nan), values.astype("float64")])[:-1]
    windows = np.lib.stride_tricks.sliding_window_view(padded, window_days)
    count = np.sum(~np.isnan(windows), axis=1)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows give NaN, as intended
        median = np.nanmedian(windows, axis=1)
        mad = np.nanmedian(np.abs(windows - median[:, None]), axis=1)
    return median, mad, count


def _topic_spikes(series: pd.DataFrame, window_days: int, min_baseline_stories: int) -> pd.DataFrame:
    frame = series.sort_values("day").set_index("day")
    values = frame["index"].to_numpy(dtype="float64")
    median, mad, count = _trailing(values, window_days)
    # Stories collected in the baseline window, all topics: a share measured on a handful of stories
    # (the first days of a new tracker, a gap in collection) is no baseline to rise above.
    totals = np.concatenate([[0], np.cumsum(frame["total"].to_numpy(dtype="int64"))])
    days = np.arange(len(frame))
    collected = totals[days] - totals[np.maximum(days - window_days, 0)]
    enough = (count >= max(1, window_days // 3)) & (collected >= min_baseline_stories)
    baseline = np.where(enough, median, np.nan)
    spread = np.maximum.reduce([np.nan_to_num(np.where(enough, mad, 0.0)),
                                RELATIVE_SPREAD * np.nan_to_num(baseline), np.full(len(frame), MIN_SPREAD)])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(baseline > 0, values / baseline, np.where(values > 0, np.inf, np.nan))
    return pd.DataFrame({"day": frame.index, "topic": frame["topic"].to_numpy(), "index": values,
                         "baseline": baseline, "ratio": ratio, "z": (values - baseline) / (_MAD_TO_SD * spread),
                         "stories": frame["stories"].to_numpy(), "share": frame["share"].to_numpy()})


def find_spikes(index: pd.DataFrame, *, window_days: int = SPIKE_WINDOW_DAYS, z: float = 3.5, min_stories: int = 5,
                ratio: float = 2.0, min_baseline_stories: int = 50) -> pd.DataFrame:
    """Days where a topic's index rises far above its trailing baseline.

    ``index``: the frame of ``daily_index``. The baseline is the median index over the previous
    ``window_days`` days (the day itself excluded; at least a third of the window must have data, and
    the window must hold at least ``min_baseline_stories`` collected stories, of any topic).
    A spike needs all of: a robust z-score ``(index - baseline) / (1.4826 * MAD)`` of at least ``z``
    (the MAD floored at a tenth of the baseline and at ``MIN_SPREAD`` points, so a flat baseline
    does not make one story an infinite z), ``index / baseline`` of at least ``ratio`` (infinite when
    the baseline is 0), and at least ``min_stories`` stories that day, so quiet days do not trigger.

    Returns day, topic, index, baseline, ratio, z, stories, window_days, ordered by day and topic.
    """
    if window_days < 1:
        raise ValueError(f"window_days must be at least 1, not {window_days}")
    if index.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            SPIKE_COLUMNS, ["datetime64[ns, UTC]", object, "float64", "float64", "float64", "float64",
                            "int64", "int64", "float64"], strict=True)})
    scored = pd.concat([_topic_spikes(group, window_days, min_baseline_stories)
                        for _, group in index.groupby("topic", sort=True)], ignore_index=True)
    hits = scored[(scored["z"] >= z) & (scored["ratio"] >= ratio) & (scored["stories"] >= min_stories)]
    return (hits.assign(window_days=window_days).sort_values(["day", "topic"], ignore_index=True)
            [SPIKE_COLUMNS])


def holds_among_steady_outlets(spike: pd.Series, stories: int, total: int, *, ratio: float = 2.0) -> bool:
    """Whether a spike still stands when only the outlets that collected throughout its baseline
    are counted: ``stories`` of the topic among ``total`` stories that day from them.

    A share rises when the topic's coverage rises, but also when feeds that carry it start (a new
    outlet list, a regional feed coming back): then the baseline was measured without them, and the
    "spike" is the feed list changing. Most of the spike's stories must come from the steady outlets,
    and their share must be ``ratio`` times the baseline share. (Not all: a real burst is often
    carried by a feed that joined a week before, as when Putin suspended New START.)
    """
    if 2 * stories <= spike["stories"] or total <= 0:
        return False
    baseline_share = spike["baseline"] * spike["share"] / spike["index"] if spike["index"] > 0 else 0.0
    return bool(stories / total >= ratio * baseline_share)


def describe_spike(row: pd.Series, label: str) -> str:
    """One line for a spike row, e.g. "Taiwan coverage 3.4x its 30-day baseline on 2021-10-04, 12 stories"."""
    stories = int(row["stories"])
    count = f"{stories} {'story' if stories == 1 else 'stories'}"
    day = pd.Timestamp(row["day"]).strftime("%Y-%m-%d")
    window = int(row["window_days"]) if "window_days" in row else 30
    if not np.isfinite(row["ratio"]):
        # The baseline is the median day: 0 means most days of the window had no story on the topic.
        return f"{label} coverage on {day}: {count}, where a typical day of the previous {window} had none"
    return f"{label} coverage {row['ratio']:.1f}x its {window}-day baseline on {day}, {count}"


SMOOTHING_FOR_BUCKET = {"day": 7, "week": 7, "month": 30}
# A topic with fewer stories than this in the window gets no index: rebased to the mean of a handful
# of stories, three stories over five years read as 65,000.
MIN_INDEX_STORIES = 10


def split_thin(index: pd.DataFrame, minimum: int = MIN_INDEX_STORIES) -> tuple[pd.DataFrame, dict[str, int]]:
    """The readings of topics with at least ``minimum`` stories in the window (``window_stories``,
    see story_queries.tension_index_by), and the others' story counts (topics with none left out)."""
    if index.empty or "window_stories" not in index:
        return index, {}
    counts = index.groupby("topic")["window_stories"].first()
    thin = {str(t): int(n) for t, n in counts.items() if 0 < n < minimum}
    return index[index["window_stories"] >= minimum].reset_index(drop=True), thin


def sample_buckets(index: pd.DataFrame, bucket: str) -> pd.DataFrame:
    """The index at the last day of each week or month (every day for "day").

    With the smoothing window matched to the bucket (see SMOOTHING_FOR_BUCKET), the value on a
    bucket's last day is that bucket's share of stories, so a chart over years stays readable.
    """
    if bucket == "day" or index.empty:
        return index
    days = pd.to_datetime(index["day"], utc=True).dt.tz_localize(None)
    period = days.dt.to_period("W-SUN" if bucket == "week" else "M")
    last_day = days.groupby(period).transform("max")
    return index[days == last_day].reset_index(drop=True)

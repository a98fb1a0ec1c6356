"""plotly figures from DataFrames. No Streamlit, no database.

Every chart gets aggregated data (a few thousand points at most), one fixed colour
per topic, titled axes, and an empty state that tells the user what to do.
Text from feeds only ever reaches a figure through :func:`plain`, because plotly
reads a little HTML in labels and hover text.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from tracker.text import shorten

BUCKETS = ("day", "week", "month")
MODES = ("share", "count")
FALLBACK_COLOR = "#7f7f7f"
# Chart text: Streamlit's theme draws ticks, axis titles and row names in #808495, 3.7:1 on white
# (under the 4.5:1 small text needs); this is its body text colour, 12.6:1.
INK_FONT = {"color": "#31333F"}
HOVER_LABEL = {"bgcolor": "white", "font": INK_FONT}  # hover text too (the theme's is 3.7:1)
_FREQ = {"day": "D", "week": "W-MON", "month": "MS"}
_BUCKET_DAYS = {"day": 1.0, "week": 7.0, "month": 30.44}  # a month's average length, for bar widths


def plain(text: object) -> str:
    """Feed text made inert for plotly labels: its pseudo-HTML cannot fire."""
    return html.escape(str(text), quote=False)


def auto_bucket(first: dt.date | None, last: dt.date | None) -> str:
    """Day buckets for up to ~6 weeks, weeks up to ~18 months, months beyond."""
    if first is None or last is None:
        return "month"
    span = (last - first).days
    if span <= 45:
        return "day"
    return "week" if span <= 550 else "month"


def _period(days: pd.Series, bucket: str) -> pd.Series:
    if bucket == "day":
        return days.dt.floor("D")
    if bucket == "week":  # weeks start on Monday
        return (days - pd.to_timedelta(days.dt.day_of_week, unit="D")).dt.floor("D")
    return days.dt.tz_localize(None).dt.to_period("M").dt.start_time.dt.tz_localize("UTC")


def bucket_counts(daily: pd.DataFrame, totals: pd.DataFrame, bucket: str) -> pd.DataFrame:
    """Per-topic counts per bucket with the share of all collected articles in that bucket.

    ``daily``: day, topic, articles. ``totals``: day, articles (all topics).
    Returns period, topic, articles, total, share (0–100): a row for every topic of ``daily`` in
    every bucket where anything was collected (0 where the topic had nothing: its bar reads 0,
    where a bucket with nothing collected at all stays empty).
    """
    if bucket not in BUCKETS:
        raise ValueError(f"bucket must be one of {BUCKETS}")
    columns = ["period", "topic", "articles", "total", "share"]
    if daily.empty:
        return pd.DataFrame(columns=columns)
    counts = (daily.assign(period=_period(daily["day"], bucket))
              .groupby(["period", "topic"], as_index=False)["articles"].sum())
    all_articles = (totals.assign(period=_period(totals["day"], bucket))
                    .groupby("period", as_index=False)["articles"].sum().rename(columns={"articles": "total"}))
    periods = sorted(set(all_articles.loc[all_articles["total"] > 0, "period"]) | set(counts["period"]))
    grid = pd.MultiIndex.from_product([periods, sorted(set(counts["topic"]))], names=["period", "topic"])
    merged = (counts.set_index(["period", "topic"]).reindex(grid, fill_value=0).reset_index()
              .merge(all_articles, on="period", how="left"))
    merged["articles"] = merged["articles"].astype(int)
    merged["total"] = merged["total"].fillna(0).astype(int)
    merged["share"] = (100.0 * merged["articles"] / merged["total"].where(merged["total"] > 0)).fillna(0.0)
    return merged[columns].sort_values(["period", "topic"], ignore_index=True)


def _periods_between(first: pd.Timestamp, last: pd.Timestamp, bucket: str) -> pd.DatetimeIndex:
    """Every bucket's start from ``first``'s to ``last``'s (both bucket starts)."""
    return pd.date_range(first, last, freq=_FREQ[bucket])


def _x_range(window: tuple[dt.date | None, dt.date | None], first: pd.Timestamp,
            last: pd.Timestamp) -> list[pd.Timestamp]:
    """The x axis of a time chart: the dates the user chose, where they chose them (the data's
    own first and last dates where the window is open), so an empty stretch shows as empty."""
    since, until = window
    pad = max((last - first) * 0.02, pd.Timedelta(hours=12))  # an open end: room for the edge marker
    start = min(pd.Timestamp(since, tz="UTC"), first) if since else first - pad
    end = max(pd.Timestamp(until, tz="UTC") + pd.Timedelta(days=1), last) if until else last + pad
    return [start, end]


def empty_figure(message: str, *, height: int = 320) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=plain(message), showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font={"size": 15})
    fig.update_layout(height=height, xaxis={"visible": False}, yaxis={"visible": False},
                      margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fig


def _mark_rules_change(fig: go.Figure, rules_changed: dt.date | None, first: pd.Timestamp,
                       last: pd.Timestamp) -> None:
    if rules_changed is None:
        return
    when = pd.Timestamp(rules_changed, tz="UTC")
    if first <= when <= last:
        fig.add_shape(type="line", x0=when, x1=when, xref="x", y0=0, y1=1, yref="paper", opacity=0.7,
                      line={"dash": "dot", "color": FALLBACK_COLOR})  # across every row of the figure
        fig.add_annotation(x=when, y=1.02, yref="paper", text="topic rules changed", showarrow=False,
                           font={**INK_FONT, "size": 11}, xanchor="left")


def topic_frequency_figure(counts: pd.DataFrame, *, mode: str, bucket: str, labels: Mapping[str, str],
                           colors: Mapping[str, str], rules_changed: dt.date | None = None,
                           unit: str = "articles",
                           window: tuple[dt.date | None, dt.date | None] = (None, None)) -> go.Figure:
    """Topic frequency per bucket, as counts or as % of everything collected: one row of bars per
    topic, on one scale, over the chosen ``window``.

    Rows, not stacked bars: an item can carry several topics, so stacked shares would add up to
    more than 100 %; and eight overlaid lines of sparse counts are unreadable. ``counts``: period,
    topic, articles, total, share (see bucket_counts); ``unit`` names what was counted ("articles"
    or "stories"). Buckets where nothing was collected stay empty.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    if counts.empty:
        return empty_figure(f"No tagged {unit} match these filters. Widen the dates or clear some filters.")
    value = "share" if mode == "share" else "articles"
    first, last = counts["period"].min(), counts["period"].max()
    periods = _periods_between(first, last, bucket)
    period_ms = _BUCKET_DAYS[bucket] * 86_400_000
    shown = [t for t in labels if t in set(counts["topic"])]
    names = [plain(labels.get(t, t)) for t in shown]
    bars = []
    for row, (topic, name) in enumerate(zip(shown, names, strict=True), 1):
        rows = counts[counts["topic"] == topic].set_index("period").reindex(periods).rename_axis("period").reset_index()
        bars.append(go.Bar(
            x=rows["period"], y=rows[value].round(1) if value == "share" else rows[value], name=name,
            # Each bar spans its bucket from the bucket's start (plotly would centre it there), so it
            # stands over the same dates as the index's reading for that bucket.
            offset=0.075 * period_ms, width=0.85 * period_ms,
            marker_color=colors.get(topic, FALLBACK_COLOR), **_on_row(row),
            customdata=rows[["articles", "total"]].to_numpy(),
            hovertemplate=(f"<b>{name}</b><br>{bucket} of %{{x|%Y-%m-%d}}<br>"
                           f"%{{customdata[0]}} of %{{customdata[1]}} {unit}<extra></extra>"),
        ))
    measure = f"% of all collected {unit}" if mode == "share" else f"{unit.capitalize()}"
    layout = _rows_layout(names, y_title=f"{measure} per {bucket}",
                          x_title=f"{bucket.capitalize()} (UTC)", top=float(counts[value].max()),
                          suffix="%" if mode == "share" else "")
    layout["xaxis"]["range"] = _x_range(window, first, last + pd.Timedelta(days=_BUCKET_DAYS[bucket]))
    fig = go.Figure(data=bars, layout={**layout, "bargap": 0.15})
    _mark_rules_change(fig, rules_changed, first, last)
    return fig


def timeline_figure(points: pd.DataFrame, *, labels: Mapping[str, str], colors: Mapping[str, str],
                    milestones: pd.DataFrame | None = None,
                    window: tuple[dt.date | None, dt.date | None] = (None, None)) -> go.Figure:
    """One lane per topic; each story a marker at its date, sized by how many outlets carried it.

    ``points``: id, published, topic, title, outlets, outlet_names (see story_queries.story_points).
    The story id rides along as customdata so a selection can list its articles.
    """
    if points.empty:
        return _empty_timeline(milestones, window)
    order = [t for t in labels if t in set(points["topic"])]
    fig = go.Figure()
    for topic in order:
        rows = points[points["topic"] == topic]
        hover = [f"<b>{plain(t)}</b><br>{plain(o)}<br>{p:%Y-%m-%d %H:%M} UTC"
                 for t, o, p in zip(rows["title"], rows["outlet_names"], rows["published"], strict=True)]
        fig.add_scatter(
            x=rows["published"], y=[plain(labels.get(topic, topic))] * len(rows), mode="markers",
            name=plain(labels.get(topic, topic)), customdata=rows["id"], hovertext=hover, hoverinfo="text",
            marker={"color": colors.get(topic, FALLBACK_COLOR), "size": 7 + 4 * rows["outlets"].clip(upper=8),
                    "opacity": 0.75, "line": {"width": 0.5, "color": "white"}},
        )
    x_range = _x_range(window, points["published"].min(), points["published"].max())
    _draw_milestones(fig, milestones, *x_range)
    # Zoom, not box-select, on drag: Streamlit turns click-to-select off while a select tool is active.
    fig.update_layout(height=160 + 60 * len(order), showlegend=False, dragmode="zoom", hovermode="closest",
                      margin={"l": 10, "r": 10, "t": _milestone_margin(milestones, *x_range), "b": 10},
                      **_ink_axes("Date (UTC)", "Topic"))
    fig.update_yaxes(categoryorder="array", categoryarray=[plain(labels.get(t, t)) for t in reversed(order)])
    fig.update_xaxes(range=x_range)
    return fig


NO_TAGGED_STORIES = "No tagged stories match these filters. Widen the dates or clear some filters."


def _empty_timeline(milestones: pd.DataFrame | None, window: tuple[dt.date | None, dt.date | None]) -> go.Figure:
    """No story to draw; with chosen dates, their milestones still show what happened then (and that the
    feeds collected nothing on it)."""
    fig = empty_figure(NO_TAGGED_STORIES)
    since, until = window
    if since is None or milestones is None or milestones.empty:
        return fig
    start = pd.Timestamp(since, tz="UTC")
    end = pd.Timestamp(until, tz="UTC") + pd.Timedelta(days=1) if until else pd.Timestamp.now(tz="UTC")
    _draw_milestones(fig, milestones, start, end)
    fig.update_xaxes(visible=True, type="date", range=[start, end], title="Date (UTC)")  # no trace says so
    fig.update_layout(margin={"l": 10, "r": 10, "t": _milestone_margin(milestones, start, end), "b": 10})
    return fig


def figure_payload_bytes(fig: go.Figure) -> int:
    """Size of the JSON that a figure sends to the browser."""
    return len(fig.to_json().encode("utf-8"))


def timeline_binned_figure(counts: pd.DataFrame, *, bucket: str, labels: Mapping[str, str],
                           colors: Mapping[str, str], milestones: pd.DataFrame | None = None,
                           window: tuple[dt.date | None, dt.date | None] = (None, None)) -> go.Figure:
    """The timeline when there are too many stories to draw one by one: one bubble per topic per
    bucket, sized by its number of stories. ``counts``: day, topic, stories."""
    counts = counts[counts["topic"].isin(list(labels))]
    if counts.empty:
        return _empty_timeline(milestones, window)
    binned = (counts.assign(period=_period(counts["day"], bucket))
              .groupby(["period", "topic"], as_index=False)["stories"].sum())
    largest = max(int(binned["stories"].max()), 1)
    fig = go.Figure()
    order = [t for t in labels if t in set(binned["topic"])]
    for topic in order:
        rows = binned[binned["topic"] == topic]
        name = plain(labels.get(topic, topic))
        fig.add_scatter(x=rows["period"], y=[name] * len(rows), mode="markers", name=name,
                        customdata=rows["stories"],
                        hovertemplate=f"<b>{name}</b><br>{bucket} of %{{x|%Y-%m-%d}}<br>%{{customdata}} stories"
                                      "<extra></extra>",
                        marker={"color": colors.get(topic, FALLBACK_COLOR), "opacity": 0.7,
                                "size": 6 + 30 * (rows["stories"] / largest) ** 0.5})
    x_range = _x_range(window, binned["period"].min(), binned["period"].max())
    _draw_milestones(fig, milestones, *x_range)
    fig.update_layout(height=160 + 60 * len(order), showlegend=False, hovermode="closest",
                      margin={"l": 10, "r": 10, "t": _milestone_margin(milestones, *x_range), "b": 10},
                      **_ink_axes(f"{bucket.capitalize()} (UTC)", "Topic"))
    fig.update_yaxes(categoryorder="array", categoryarray=[plain(labels.get(t, t)) for t in reversed(order)])
    fig.update_xaxes(range=x_range)
    return fig


MAX_MILESTONE_LABELS = 12  # beyond this, labels overlap: they move into hover text
MILESTONE_LABEL_CHARS = 30  # longer labels are cut (whole on hover) to fit the margin above the chart


def _draw_milestones(fig: go.Figure, milestones: pd.DataFrame | None, first: pd.Timestamp,
                     last: pd.Timestamp) -> None:
    """A dashed line per milestone; a slanted label for those far enough from the last labelled one
    (labels of events days apart would be drawn over each other), a diamond named on hover for the
    rest, and diamonds only when there are too many to label."""
    if milestones is None or milestones.empty:
        return
    shown = milestones[(milestones["date"] >= first.floor("D")) & (milestones["date"] <= last)].sort_values("date")
    if shown.empty:
        return
    labelled = _labelled(shown["date"], first, last) if len(shown) <= MAX_MILESTONE_LABELS else [False] * len(shown)
    # One layout update for all lines (add_vline per milestone costs a figure validation each).
    lines = [{"type": "line", "xref": "x", "yref": "paper", "x0": d, "x1": d, "y0": 0, "y1": 1, "opacity": 0.6,
              "line": {"dash": "dash", "color": FALLBACK_COLOR, "width": 1}} for d in shown["date"]]
    notes = [{"x": r.date, "y": 1.0, "yref": "paper", "text": plain(shorten(r.label, MILESTONE_LABEL_CHARS)),
              "hovertext": plain(r.label), "textangle": -60, "showarrow": False,
              "xanchor": "left", "yanchor": "bottom", "font": {"size": 10}}
             for r, label in zip(shown.itertuples(), labelled, strict=True) if label]
    fig.update_layout(shapes=[*fig.layout.shapes, *lines], annotations=[*fig.layout.annotations, *notes])
    unnamed = shown[[not label for label in labelled]]
    if not unnamed.empty:  # one diamond per unlabelled milestone above the lanes, named on hover
        fig.add_scatter(x=unnamed["date"], y=[1.02] * len(unnamed), yaxis="y2", mode="markers", showlegend=False,
                        name="Milestones", marker={"symbol": "diamond", "size": 9, "color": FALLBACK_COLOR},
                        hovertext=[f"<b>{plain(r.label)}</b><br>{r.date:%Y-%m-%d}<br>{plain(r.note)}"
                                   for r in unnamed.itertuples()], hoverinfo="text")
        fig.update_layout(yaxis2={"overlaying": "y", "range": [0, 1.05], "visible": False, "fixedrange": True})


MILESTONE_LABEL_GAP = 0.03  # of the time axis: closer labels would overlap at a 60-degree slant


def _labelled(dates: pd.Series, first: pd.Timestamp, last: pd.Timestamp) -> list[bool]:
    """Which milestones get a label: each one at least MILESTONE_LABEL_GAP of the axis after the
    last labelled one."""
    gap = max(last - first, pd.Timedelta(days=1)) * MILESTONE_LABEL_GAP
    chosen, previous = [], None
    for day in dates:
        chosen.append(previous is None or day - previous >= gap)
        previous = day if chosen[-1] else previous
    return chosen


def _milestone_margin(milestones: pd.DataFrame | None, first: pd.Timestamp, last: pd.Timestamp) -> int:
    """Room at the top for slanted milestone labels, only when they are drawn."""
    if milestones is None or milestones.empty:
        return 30
    inside = milestones[(milestones["date"] >= first.floor("D")) & (milestones["date"] <= last)]
    return 150 if 0 < len(inside) <= MAX_MILESTONE_LABELS else 30


def index_figure(index: pd.DataFrame, spikes: pd.DataFrame, *, labels: Mapping[str, str],
                 colors: Mapping[str, str], total_label: str = "Any topic", bucket: str = "day",
                 window: tuple[dt.date | None, dt.date | None] = (None, None)) -> go.Figure:
    """The tension index (base-period mean = 100): one row for any topic, then one per topic, on one
    scale, with spike days marked. ``bucket`` says how ``index`` was sampled (see
    index.sample_buckets: each bucket read at its last day)."""
    shown = index.dropna(subset=["index"])
    if shown.empty:
        return empty_figure("Not enough stories under these filters to compute the index. "
                            "Widen the dates or clear some filters.")
    measured = set(shown["topic"])
    order = [t for t in ["total", *labels] if t in measured]
    names = [plain(total_label if t == "total" else labels.get(t, t)) for t in order]
    spiked = dict(tuple(spikes.groupby("topic"))) if not spikes.empty else {}
    traces = []
    for row, (topic, name) in enumerate(zip(order, names, strict=True), 1):
        color = FALLBACK_COLOR if topic == "total" else colors.get(topic, FALLBACK_COLOR)
        # Days without a reading stay in as gaps: a line drawn across months with nothing collected
        # would show a trend nobody measured. Markers too: a reading between two gaps has no line.
        rows = index[index["topic"] == topic].sort_values("day")
        on = _spikes_on_readings(spiked[topic], shown[shown["topic"] == topic]) if topic in spiked else None
        # The spike's words ride on its reading too: where the ▲ sits on the line, a tap at its centre
        # (a phone's) finds the line's point first.
        said = dict(zip(on["reading"], on["said"], strict=True)) if on is not None else {}
        spike_words = {"customdata": [("<br>▲ " + said[d]) if d in said else "" for d in rows["day"]]} if said else {}
        traces.append(go.Scatter(x=rows["day"], y=rows["index"].round(1), mode="lines+markers", name=name,
                                 line={"color": color, "width": 2}, marker={"size": 4}, **_on_row(row), **spike_words,
                                 hovertemplate=f"<b>{name}</b><br>%{{x|%Y-%m-%d}}<br>index %{{y}}"
                                               f"{'%{customdata}' if said else ''}<extra></extra>"))
        if on is not None:
            traces.append(go.Scatter(x=on["reading"], y=on["index"].round(1), mode="markers", name=f"{name} spike",
                                     customdata=on["said"], **_on_row(row),
                                     marker={"symbol": "triangle-up", "size": 11, "color": color,
                                             "line": {"width": 1, "color": "black"}},
                                     hovertemplate=f"<b>{name}</b><br>%{{customdata}}<extra></extra>"))
    read_at = "Day (UTC)" if bucket == "day" else f"{bucket.capitalize()} (UTC), read at its last day"
    layout = _rows_layout(names, y_title="Index (window mean = 100)", x_title=read_at, top=float(shown["index"].max()))
    layout["xaxis"]["range"] = _x_range(window, shown["day"].min(), shown["day"].max())
    # The mean of the window, 100, across every row.
    layout["shapes"] = [{"type": "line", "xref": f"x{n} domain", "x0": 0, "x1": 1, "yref": f"y{n}", "y0": 100,
                         "y1": 100, "opacity": 0.5, "line": {"dash": "dash", "color": FALLBACK_COLOR}}
                        for n in ["", *map(str, range(2, len(order) + 1))]]
    fig = go.Figure(data=traces, layout=layout)
    return fig


def _spikes_on_readings(spikes: pd.DataFrame, readings: pd.DataFrame) -> pd.DataFrame:
    """Each spike on the reading that covers its day (with week or month buckets, the next one), with
    its words: the spike is a day's burst, which the reading may smooth over a week or a month."""
    days = spikes[["day", "stories"]].sort_values("day").rename(columns={"day": "spike"})
    on = pd.merge_asof(days, readings.sort_values("day")[["day", "index"]].rename(columns={"day": "reading"}),
                       left_on="spike", right_on="reading", direction="forward").dropna(subset=["reading"])
    on["said"] = [f"spike on {d:%Y-%m-%d}: {n} stories that day" for d, n in zip(on["spike"], on["stories"],
                                                                                strict=True)]
    return on


def _rows_layout(names: list[str], *, y_title: str, x_title: str, top: float, suffix: str = "") -> dict[str, Any]:
    """The layout of a figure with one row per name (its title above it, at the left), sharing one
    time axis (labelled under the last row) and one y scale from 0 to ``top``, named in the figure's
    title (a y-axis title would not fit a row of 90 pixels). Written out rather than made by plotly's
    make_subplots, which with its per-axis updates cost about 0.1 s per figure: a noticeable part of
    the Overview's first load."""
    rows = len(names)
    height = max(300, 90 + 90 * rows)
    plot = height - 110  # what the margins, the time axis and the title leave for the rows
    gap = min(0.3, 34 / plot)  # room for a row's name between it and the row above
    row_height = (1 - gap * (rows - 1)) / rows
    layout: dict[str, Any] = {"height": height, "hovermode": "closest", "showlegend": False, "font": INK_FONT,
                              "hoverlabel": HOVER_LABEL,
                              "title": {"text": y_title, "x": 0, "xanchor": "left", "font": {**INK_FONT, "size": 13}},
                              "margin": {"l": 10, "r": 10, "t": 50, "b": 10}, "annotations": [], "shapes": []}
    for row, name in enumerate(names, 1):
        n = "" if row == 1 else str(row)
        upper = 1 - (row - 1) * (row_height + gap)
        layout[f"xaxis{n}"] = {"anchor": f"y{n}", "showticklabels": row == rows, "tickfont": INK_FONT,
                               **({"matches": "x"} if row > 1 else {}),
                               **({"title": {"text": x_title, "font": INK_FONT}} if row == rows else {})}
        layout[f"yaxis{n}"] = {"anchor": f"x{n}", "domain": [max(upper - row_height, 0.0), upper],
                               "range": [0, (top or 1.0) * 1.1], "nticks": 3, "ticksuffix": suffix,
                               "tickfont": INK_FONT}
        layout["annotations"].append({"text": name, "x": 0, "xref": "paper", "xanchor": "left", "y": upper,
                                      "yref": "paper", "yanchor": "bottom", "showarrow": False,
                                      "font": {**INK_FONT, "size": 12}})
    return layout


def _ink_axes(x_title: str, y_title: str) -> dict[str, Any]:
    """A one-axis figure's text in INK: titles, ticks and the rest."""
    return {"font": INK_FONT, "hoverlabel": HOVER_LABEL,
            "xaxis": {"title": {"text": x_title, "font": INK_FONT}, "tickfont": INK_FONT},
            "yaxis": {"title": {"text": y_title, "font": INK_FONT}, "tickfont": INK_FONT}}


def _on_row(row: int) -> dict[str, str]:
    """The axes of row ``row`` (1-based) of a figure laid out by _rows_layout."""
    n = "" if row == 1 else str(row)
    return {"xaxis": f"x{n}", "yaxis": f"y{n}"}


# --- the charts in words, for readers who cannot see them ---------------------------------------

def _when(day: pd.Timestamp, bucket: str, *, ending: bool = False) -> str:
    """A bucket as words: "on 2024-05-20", "in the week of 2024-05-20", "in May 2024"."""
    if bucket == "month":
        return f"in {day:%B %Y}"
    if bucket == "week":
        return f"in the week {'ending' if ending else 'of'} {day:%Y-%m-%d}"
    return f"on {day:%Y-%m-%d}"


def frequency_in_words(counts: pd.DataFrame, *, mode: str, bucket: str, unit: str,
                       labels: Mapping[str, str]) -> tuple[list[str], pd.DataFrame]:
    """What topic_frequency_figure draws, as a sentence per topic (its total and busiest bucket) and
    a table (one row per bucket, a column per topic, the value the chart shows)."""
    if counts.empty:
        return [], pd.DataFrame()
    value = "share" if mode == "share" else "articles"
    shown = [t for t in labels if t in set(counts["topic"])]
    lines = []
    for topic in shown:
        rows = counts[counts["topic"] == topic]
        peak = rows.loc[rows[value].idxmax()]
        lines.append(f"{labels[topic]}: {_count(int(rows['articles'].sum()), unit)} in all; "
                     f"{'the largest share' if value == 'share' else 'the most'} {_when(peak['period'], bucket)}, "
                     f"{_count(int(peak['articles']), unit)} ({peak['share']:.0f} % of all collected)")
    unit_name = " (% of all collected)" if value == "share" else f" ({unit})"
    table = (counts[counts["topic"].isin(shown)]
             .pivot_table(index="period", columns="topic", values=value, aggfunc="sum")
             .reindex(columns=shown).rename(columns={t: f"{labels[t]}{unit_name}" for t in shown}))
    table = table.round(1) if value == "share" else table.astype("Int64")
    table.index = [_table_date(p, bucket) for p in table.index]
    table.index.name = {"day": "Day", "week": "Week of", "month": "Month"}[bucket]
    return lines, table


def _count(n: int, unit: str) -> str:
    return f"{n:,} {unit if n != 1 else {'stories': 'story', 'articles': 'article'}.get(unit, unit)}"


def _table_date(day: pd.Timestamp, bucket: str) -> str:
    return f"{day:%Y-%m}" if bucket == "month" else f"{day:%Y-%m-%d}"


def index_in_words(readings: pd.DataFrame, spikes: pd.DataFrame, *, bucket: str, labels: Mapping[str, str],
                   total_label: str = "Any topic") -> tuple[list[str], pd.DataFrame]:
    """What index_figure draws, as a sentence per row (latest and highest reading, spikes) and a
    table (one row per reading, a column per topic)."""
    shown = readings.dropna(subset=["index"])
    if shown.empty:
        return [], pd.DataFrame()
    order = [t for t in ["total", *labels] if t in set(shown["topic"])]
    names = {t: total_label if t == "total" else labels.get(t, t) for t in order}
    spike_days = {t: sorted(g["day"]) for t, g in spikes.groupby("topic")} if not spikes.empty else {}
    lines = []
    for topic in order:
        rows = shown[shown["topic"] == topic].sort_values("day")
        last, high = rows.iloc[-1], rows.loc[rows["index"].idxmax()]
        days = spike_days.get(topic, [])
        latest, highest = _when(last["day"], bucket, ending=True), _when(high["day"], bucket, ending=True)
        spiked_text = (f"; {len(days)} spike{'s' if len(days) > 1 else ''}, on "
                       + ", ".join(f"{d:%Y-%m-%d}" for d in days[-3:]) + (" and earlier" if len(days) > 3 else "")
                       if days else "")
        lines.append(f"{names[topic]}: {last['index']:.0f} {latest} (the latest reading); "
                     f"the highest, {high['index']:.0f}, {highest}{spiked_text}")
    table = (shown[shown["topic"].isin(order)].pivot_table(index="day", columns="topic", values="index")
             .reindex(columns=order).rename(columns=names).round(1))
    table.index = [_table_date(d, bucket) for d in table.index]
    table.index.name = {"day": "Day", "week": "Week ending", "month": "Month"}[bucket]
    return lines, table

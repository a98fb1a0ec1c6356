"""Overview: headline figures, topic frequency, the tension index and its spikes, newest headlines."""

import streamlit as st

from tracker import charts, export, index, ui

ctx = ui.setup()
st.title("Overview", anchor=False)
ui.view_line(ctx)

if ctx.db.articles == 0:
    ui.empty_store_help()
    st.stop()

summary = ui.read("window_summary", ctx.filters)
ui.headline_metrics(summary, ui.previous_summary(ctx.filters), ctx.labels, ctx.filters.topics)

st.header("Topic frequency", anchor=False)
bucket_col, mode_col, unit_col = st.columns(3)
# The bucket is keyed by the dates, so a new window gets the bucket that suits it (months for years,
# days for weeks).
bucket = ui.chart_control(bucket_col, "Bucket", charts.BUCKETS, default=ui.default_bucket(ctx.filters),
                          key=f"ov_bucket_{ctx.filters.since}_{ctx.filters.until}")
mode = ui.chart_control(mode_col, "Show", charts.MODES, default="share", key="ov_mode",
                        names={"share": "% of all", "count": "Counts"})
unit = ui.chart_control(unit_col, "Count", ui.UNITS, default="stories", key="ov_unit")
window = (ctx.filters.since, ctx.filters.until)
counts = ui.frequency_counts(ctx.filters, bucket, unit)
st.plotly_chart(charts.topic_frequency_figure(counts, mode=mode, bucket=bucket, unit=unit, labels=ctx.labels,
                                              colors=ctx.colors, rules_changed=ctx.rules_changed, window=window),
                key="ov_frequency", config=ui.OVERVIEW_CHART_CONFIG)
st.caption(ui.FREQUENCY_NOTE)
ui.chart_in_words("topic frequency",
                  *charts.frequency_in_words(counts, mode=mode, bucket=bucket, unit=unit, labels=ctx.labels))

st.header("Tension index", anchor=False)
readings, thin = index.split_thin(ui.read_stories("tension_index_by", ctx.filters, bucket))
spikes = ui.read_stories("spikes", ctx.filters)
st.plotly_chart(charts.index_figure(readings, spikes, labels=ctx.labels, colors=ctx.colors, bucket=bucket,
                                    window=window), key="ov_index", config=ui.OVERVIEW_CHART_CONFIG)
ui.thin_index_note(thin, ctx.labels)
ui.chart_in_words("tension index", *charts.index_in_words(readings, spikes, bucket=bucket, labels=ctx.labels))
daily_index = ui.read_stories("tension_index", ctx.filters)
if daily_index["index"].notna().any():  # a search without matches has no index to give
    index_csv = export.to_csv_bytes(export.index_export_frame(daily_index), spreadsheet=True)
    st.download_button("Download the daily index (CSV)", index_csv,
                       file_name=ui.csv_name(ctx.filters, "index"), mime="text/csv", key="ov_index_csv", icon="⬇️")
ui.index_method(bucket)
ui.spike_list(spikes, ctx.labels, ctx.filters)

st.header("Newest tagged headlines", anchor=False)
ui.headline_list(ui.read("latest_tagged", ctx.filters, limit=15), ctx.labels)

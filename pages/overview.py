"""Overview: headline figures, topic frequency, the tension index and its spikes, newest headlines."""

import streamlit as st

from tracker import charts, export, index, ui

ctx = ui.setup()
st.title("Overview")

if ctx.db.articles == 0:
    ui.empty_store_help()
    st.stop()

summary = ui.read("window_summary", ctx.filters)
ui.headline_metrics(summary, ui.previous_summary(ctx.filters), ctx.labels, ctx.filters.topics)

st.subheader("Topic frequency")
bucket_col, mode_col, unit_col = st.columns(3)
# The bucket is keyed by the dates, so a new window gets the bucket that suits it (months for years,
# days for weeks); each control keeps its choice across visits to other pages.
bucket_key = f"ov_bucket_{ctx.filters.since}_{ctx.filters.until}"
bucket = ui.remember(bucket_key, bucket_col.segmented_control(
    "Bucket", charts.BUCKETS, default=ui.remembered(bucket_key, ui.default_bucket(ctx.filters)), required=True,
    key=bucket_key) or "week")
mode = ui.remember("ov_mode", mode_col.segmented_control(
    "Show", charts.MODES, default=ui.remembered("ov_mode", "share"), key="ov_mode", required=True,
    format_func={"share": "% of all", "count": "Counts"}.get) or "share")
unit = ui.remember("ov_unit", unit_col.segmented_control(
    "Count", ui.UNITS, default=ui.remembered("ov_unit", "stories"), key="ov_unit", required=True) or "stories")
window = (ctx.filters.since, ctx.filters.until)
counts = ui.frequency_counts(ctx.filters, bucket, unit)
st.plotly_chart(charts.topic_frequency_figure(counts, mode=mode, bucket=bucket, unit=unit, labels=ctx.labels,
                                              colors=ctx.colors, rules_changed=ctx.rules_changed, window=window),
                key="ov_frequency")
st.caption(ui.FREQUENCY_NOTE)

st.subheader("Tension index")
readings, thin = index.split_thin(ui.read_stories("tension_index_by", ctx.filters, bucket))
spikes = ui.read_stories("spikes", ctx.filters)
st.plotly_chart(charts.index_figure(readings, spikes, labels=ctx.labels, colors=ctx.colors, bucket=bucket,
                                    window=window), key="ov_index")
ui.thin_index_note(thin, ctx.labels)
daily_index = ui.read_stories("tension_index", ctx.filters)
if daily_index["index"].notna().any():  # a search without matches has no index to give
    index_csv = export.to_csv_bytes(export.index_export_frame(daily_index), spreadsheet=True)
    st.download_button("Download the daily index (CSV)", index_csv,
                       file_name=ui.csv_name(ctx.filters, "index"), mime="text/csv", key="ov_index_csv", icon="⬇️")
ui.index_method(bucket)
ui.spike_list(spikes, ctx.labels, ctx.filters)

st.subheader("Newest tagged headlines")
ui.headline_list(ui.read("latest_tagged", ctx.filters, limit=15), ctx.labels)

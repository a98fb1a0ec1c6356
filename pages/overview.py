"""Overview: headline figures, topic frequency over time, newest tagged headlines."""

import streamlit as st

from tracker import charts, ui

ctx = ui.setup()
st.title("Overview")

if ctx.db.articles == 0:
    ui.empty_store_help()
    st.stop()

summary = ui.read("window_summary", ctx.filters)
previous = ui.previous_summary(ctx.filters)
ui.headline_metrics(summary, previous, ctx.labels)

st.subheader("Topic frequency")
left, right = st.columns(2)
bucket = left.segmented_control("Bucket", charts.BUCKETS, default=ui.default_bucket(ctx.filters), key="ov_bucket")
mode = right.segmented_control("Show", charts.MODES, default="share", key="ov_mode",
                               format_func={"share": "% of all articles", "count": "Article counts"}.get)
counts = charts.bucket_counts(ui.read("topic_counts_by_day", ctx.filters),
                              ui.read("totals_by_day", ctx.filters), bucket or "week")
st.plotly_chart(charts.topic_frequency_figure(counts, mode=mode or "share", bucket=bucket or "week",
                                              labels=ctx.labels, colors=ctx.colors,
                                              rules_changed=ctx.rules_changed),
                key="ov_frequency")
st.caption("Share is the default: a growing feed list must not look like a growing crisis. "
           "An article can carry several topics, so bars can add up to more than its share.")

st.subheader("Newest tagged headlines")
ui.headline_list(ui.read("latest_tagged", ctx.filters, limit=15), ctx.labels)

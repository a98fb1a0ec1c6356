"""Timeline: one lane per topic, one marker per story (sized by its outlets), with key milestones."""

import streamlit as st

from tracker import charts, ui

ctx = ui.setup()
st.title("Timeline", anchor=False)
ui.view_line(ctx)

if ctx.db.articles == 0:
    ui.empty_store_help()
    st.stop()

toggle_col, download_col = st.columns(2)
show_milestones = toggle_col.toggle("Show key milestones", value=True, key="tl_milestones")
points, total = ui.read_stories("story_points", ctx.filters, limit=ui.TIMELINE_LIMIT)
if total:  # an empty view offers nothing to download
    ui.prepared_download(download_col, "these stories", ui.stories_csv(ctx.db.location, ctx.filters),
                         view=ctx.filters, key="tl_stories_csv", file_name=ui.csv_name(ctx.filters, "stories"),
                         help_text="One row per tagged story drawn here, in the columns of `tracker export "
                                   "--stories`: first seen, headline, outlets, articles, topics.")
milestones = ui.load_milestones() if show_milestones else None
window = (ctx.filters.since, ctx.filters.until)
if total > ui.TIMELINE_LIMIT:
    st.caption(f"{total:,} tagged stories: too many to draw one by one, so they are grouped by week. "
               "Narrow the dates or topics to see single stories you can select.")
    counts = ui.read_stories("story_counts_by_day", ctx.filters)
    st.plotly_chart(charts.timeline_binned_figure(counts, bucket="week", labels=ctx.labels, colors=ctx.colors,
                                                  milestones=milestones, window=window), key="tl_binned",
                    config=ui.TIMELINE_CHART_CONFIG)
    st.stop()

event = st.plotly_chart(charts.timeline_figure(points, labels=ctx.labels, colors=ctx.colors, milestones=milestones,
                                               window=window),
                        key="tl_chart", on_select="rerun", selection_mode=("points", "box", "lasso"),
                        config=ui.TIMELINE_CHART_CONFIG)
if points.empty:
    st.stop()  # the chart says what to do; there is nothing to select
st.caption("One marker per story; larger markers were carried by more outlets. Hover for the headline.")
listed = ui.story_list(points, ctx.labels)

st.header("Selected stories", anchor=False)
selected = tuple(dict.fromkeys(ui.selected_ids(event) + listed))  # from the chart and the list, once each
if selected:
    ui.article_table(ui.read("articles_frame", story_ids=selected), ctx.labels)
else:
    st.caption("Click a marker to list its story's articles here (shift-click adds more); the box and lasso "
               "tools in the chart's toolbar select many at once. Dragging on the chart zooms; double-click "
               "zooms back out. Or select rows in the list above, with the keyboard or a tap.")

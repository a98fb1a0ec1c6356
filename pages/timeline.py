"""Timeline: one lane per topic, one marker per story, with key milestones."""

import streamlit as st

from tracker import charts, ui

ctx = ui.setup()
st.title("Timeline")

if ctx.db.articles == 0:
    ui.empty_store_help()
    st.stop()

show_milestones = st.toggle("Show key milestones", value=True, key="tl_milestones")
points, total = ui.read("timeline_points", ctx.filters, limit=ui.TIMELINE_LIMIT)
ui.timeline_note(len(points), total)
figure = charts.timeline_figure(points, labels=ctx.labels, colors=ctx.colors,
                                milestones=ui.load_milestones() if show_milestones else None)
event = st.plotly_chart(figure, key="tl_chart", on_select="rerun", selection_mode=("points", "box", "lasso"))

st.subheader("Selected stories")
selected = ui.selected_ids(event)
if selected:
    ui.article_table(ui.read("articles_frame", ctx.filters.without_topics(), ids=selected), ctx.labels)
else:
    st.caption("Select markers on the chart (click, or drag a box) to list those articles here.")

"""Feeds: every feed's health, and a button to poll now."""

import streamlit as st

from tracker import ui

ctx = ui.setup()
st.title("Feeds", anchor=False)
st.caption("Every feed in the list, whatever the filters: they apply to the other pages.")

health = ui.read("feed_health")
ui.feed_health_summary(health)
ui.feed_health_table(health)

st.header("Poll now", anchor=False)
ui.poll_now(ctx.db)

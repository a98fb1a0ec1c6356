"""Tension Tracker dashboard: `streamlit run app.py`.

Entry point only: page config and navigation. Each page draws the shared sidebar
filters itself through tracker.ui.setup().
"""

import streamlit as st

page = st.navigation([
    st.Page("pages/overview.py", title="Overview", icon="📊", default=True),
    st.Page("pages/timeline.py", title="Timeline", icon="🗓️"),
    st.Page("pages/articles.py", title="Articles", icon="📰"),
    st.Page("pages/feeds.py", title="Feeds", icon="📡"),
])
# The browser's title names the page, so a screen reader announces which one loaded.
st.set_page_config(page_title=f"{page.title} · Tension Tracker", page_icon="📡", layout="wide")
page.run()

"""Tension Tracker dashboard: `streamlit run app.py`.

Entry point only: page config, navigation, the shared sidebar filters, then the page.
"""

import streamlit as st

from tracker import ui
from tracker.errors import TrackerError

st.set_page_config(page_title="Tension Tracker", page_icon="📡", layout="wide")

page = st.navigation([
    st.Page("pages/overview.py", title="Overview", icon="📊", default=True),
    st.Page("pages/timeline.py", title="Timeline", icon="🗓️"),
    st.Page("pages/articles.py", title="Articles", icon="📰"),
    st.Page("pages/feeds.py", title="Feeds", icon="📡"),
])

try:
    ui.setup()
except TrackerError as exc:  # a broken database path or config file: one clear message, no traceback
    st.error(f"Tension Tracker cannot start: {exc}")
    st.stop()
page.run()

"""The Timeline page (AppTest on the demo store)."""

from __future__ import annotations

import datetime as dt

import pytest

from tracker import story_queries
from tracker.queries import Filters

from .apptest import run_app

PAGE = "pages/timeline.py"


def test_timeline_lanes_and_milestones(monkeypatch: pytest.MonkeyPatch, demo_db: str) -> None:
    at = run_app(monkeypatch, demo_db, PAGE, {"topics": "taiwan,talks"})
    chart = at.get("plotly_chart")[0]
    import json

    figure = json.loads(chart.proto.spec)
    lanes = {trace["name"] for trace in figure["data"]} - {"Milestones"}
    assert lanes == {"Taiwan", "US–China talks"}
    markers = sum(len(trace["x"]) for trace in figure["data"] if trace["name"] != "Milestones")
    _, total = story_queries.story_points(demo_db, Filters(topics=("taiwan", "talks")))
    assert markers == total  # one marker per story and topic, not per article
    # Over all years there are too many milestones to label: they are named on hover instead.
    (diamonds,) = [trace for trace in figure["data"] if trace["name"] == "Milestones"]
    assert any("Biden–Xi virtual summit" in text for text in diamonds["hovertext"])
    at.selectbox(key="f_range").set_value("custom").run()
    at.date_input(key="f_dates").set_value((dt.date(2022, 7, 1), dt.date(2022, 12, 31))).run()
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    labels = {a.get("text") for a in figure["layout"].get("annotations", [])}
    named = [t for trace in figure["data"] if trace["name"] == "Milestones" for t in trace["hovertext"]]
    assert "PLA live-fire drills around…" in labels  # a short window: labels, and a diamond only where
    assert any("Pelosi visits Taipei" in text for text in named)  # two fall days apart (Jul 28, Aug 2)
    at.toggle(key="tl_milestones").set_value(False).run()
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert not figure["layout"].get("shapes")


def test_no_selection_explains_how_to_select(monkeypatch: pytest.MonkeyPatch, demo_db: str) -> None:
    at = run_app(monkeypatch, demo_db, PAGE)
    assert any("Click a marker" in c.value for c in at.caption)


def test_a_selection_names_stories_and_lists_their_articles(demo_db: str) -> None:
    # AppTest cannot click a plotly chart, so the two halves are tested apart: what the page
    # reads from the selection event (shaped as st.plotly_chart documents it), and the read it makes.
    from types import SimpleNamespace

    from tracker import queries, ui

    talks = story_queries.stories_frame(demo_db, Filters(topics=("talks",)))
    biggest = talks.sort_values(["articles", "id"], ascending=[False, True]).iloc[0]["id"]
    event = SimpleNamespace(selection=SimpleNamespace(points=[
        {"customdata": biggest, "x": "2023-11-15"}, {"customdata": [biggest]}, {"x": "no customdata"}]))
    assert ui.selected_ids(event) == (biggest,)
    assert ui.selected_ids(SimpleNamespace()) == ()
    members = queries.articles_frame(demo_db, story_ids=(biggest,))
    assert len(members) == talks.set_index("id").loc[biggest, "articles"] > 1
    assert set(members["story_id"]) == {biggest}

"""The Timeline page (AppTest on the demo store)."""

from __future__ import annotations

import pytest

from tracker import queries
from tracker.queries import Filters

from .apptest import demo_db, run_app  # noqa: F401  (demo_db is a fixture)

PAGE = "pages/timeline.py"


def test_timeline_lanes_and_milestones(monkeypatch: pytest.MonkeyPatch, demo_db: str) -> None:
    at = run_app(monkeypatch, demo_db, PAGE, {"topics": "taiwan,talks"})
    chart = at.get("plotly_chart")[0]
    import json

    figure = json.loads(chart.proto.spec)
    lanes = {trace["name"] for trace in figure["data"]}
    assert lanes == {"Taiwan", "US–China talks"}
    markers = sum(len(trace["x"]) for trace in figure["data"])
    _, total = queries.timeline_points(demo_db, Filters(topics=("taiwan", "talks")))
    assert markers == total
    assert any(a.get("text") == "Biden–Xi virtual summit" for a in figure["layout"].get("annotations", []))
    at.toggle(key="tl_milestones").set_value(False).run()
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert not figure["layout"].get("shapes")


def test_no_selection_explains_how_to_select(monkeypatch: pytest.MonkeyPatch, demo_db: str) -> None:
    at = run_app(monkeypatch, demo_db, PAGE)
    assert any("Select markers" in c.value for c in at.caption)

"""The Feeds page (AppTest on the demo store)."""

from __future__ import annotations

import pytest

from tracker import queries

from .apptest import run_app

PAGE = "pages/feeds.py"


def test_feed_health_table(monkeypatch: pytest.MonkeyPatch, demo_db: str) -> None:
    at = run_app(monkeypatch, demo_db, PAGE)
    shown = at.dataframe[0].value
    health = queries.feed_health(demo_db)
    assert len(shown) == len(health) == 9
    assert set(shown["status"]) == {"✅ ok"}
    assert next(m.value for m in at.metric if m.label == "Feeds") == "9"
    assert at.button(key="fd_poll").label == "Poll now"
    # On the demo store the button only reads the invented feeds again, and the page says so.
    assert any("demo store" in c.value and "tracker poll" in c.value for c in at.caption)


def test_failing_feeds_stand_out(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from click.testing import CliRunner

    from tracker import cli

    db = str(tmp_path / "t.sqlite")
    CliRunner().invoke(cli.main, ["poll", "--db", db, "--feed", str(tmp_path / "missing.xml")])
    at = run_app(monkeypatch, db, PAGE)
    shown = at.dataframe[0].value
    assert list(shown["status"]) == ["⚠️ failing"]
    assert "no such file" in shown["last_error"][0]
    assert any("failing" in w.value for w in at.warning)


def test_a_feed_that_answers_but_carries_nothing_new_is_quiet() -> None:
    """A silent feed changes every share as much as a failing one: the Feeds page must show it."""
    import datetime as dt

    import pandas as pd

    from tracker import ui

    health = pd.DataFrame({"consecutive_failures": [0, 0, 2, 0, 0, 0],
                           "last_error": [None, None, "HTTP 404", None, None, "partly read: not well-formed"],
                           "newest": [dt.date(2024, 5, 30), dt.date(2024, 5, 17), dt.date(2022, 1, 1),
                                      dt.date(2024, 5, 15), None, dt.date(2024, 5, 30)]})
    assert ui.feed_status(health) == ["✅ ok", "✅ ok", "⚠️ failing", "💤 quiet", "💤 quiet", "⚠️ partly read"]
    assert ui.feed_status(health.iloc[[4]]) == ["✅ ok"]  # nothing collected anywhere yet: no measure

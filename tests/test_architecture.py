"""The direction of dependencies (STYLE.md), checked in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_after(*modules: str) -> set[str]:
    code = ("import sys, json\n" + "".join(f"import {m}\n" for m in modules) +
            "print(json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


def test_the_read_side_never_loads_the_network_or_the_parser() -> None:
    loaded = imported_after("tracker.queries", "tracker.story_queries", "tracker.charts", "tracker.ui")
    for heavy in ("feedparser", "httpx", "httpcore", "tracker.fetch", "tracker.parse", "tracker.poller"):
        assert heavy not in loaded, heavy


def test_only_ui_imports_streamlit_inside_the_package() -> None:
    for path in (ROOT / "tracker").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        if path.name != "ui.py":
            assert "import streamlit" not in source, path.name


def test_pages_stay_thin() -> None:
    for path in (ROOT / "pages").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        for forbidden in ("tracker.poller", "tracker.fetch", "tracker.parse", "tracker.store", "sqlalchemy",
                          "unsafe_allow_html", "import poller", "import store"):
            assert forbidden not in source, (path.name, forbidden)


def test_only_fetch_speaks_http_and_only_parse_uses_feedparser() -> None:
    for path in (ROOT / "tracker").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        if path.name not in ("fetch.py", "netguard.py"):
            assert "import httpx" not in source and "import httpcore" not in source, path.name
        if path.name != "parse.py":
            assert "import feedparser" not in source, path.name

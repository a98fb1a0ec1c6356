"""Dashboard timings, run in a process of its own so each store size has its own peak memory.

    .venv/bin/python -m bench.dashboard STORE.sqlite [--runs 3] [--profile DIR]

Runs app.py with streamlit.testing.v1.AppTest as tests/apptest.py does (TRACKER_DB, switch_page
before the first run). For each page and run: a cold load (a new AppTest after
``st.cache_data.clear()``), then a topic change, then a date change with the topic still selected;
every one of them misses the cache, as a new filter value does. Before the timed runs one page is
loaded once to import everything, as a server that has already served someone would have.

Prints one JSON object as the last line of stdout: seconds per page and state, the JSON size of
every plotly chart spec, the resident memory after imports, and the peak (VmHWM).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import sys
import time
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.local_script_runner import LocalScriptRunner

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = {"overview": "pages/overview.py", "timeline": "pages/timeline.py", "articles": "pages/articles.py"}
STATES = ("cold", "topic", "date")
TOPIC_CHANGE = ["taiwan"]
DATE_CHANGE = "90d"
TIMEOUT = 900.0


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as file:
        for line in file:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mib() -> float:
    """This process's peak resident memory (VmHWM).

    Not ru_maxrss: Linux carries it over from the parent across fork and exec, so a child started by
    a parent holding 600 MB reports at least 600 MB whatever it uses itself.
    """
    with open("/proc/self/status", encoding="ascii") as file:
        for line in file:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: the best there is


def _run(at: AppTest) -> float:
    start = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(f"the page raised: {[e.value for e in at.exception]}")
    return seconds


def _payloads(at: AppTest, page: str) -> dict[str, int]:
    return {f"{page} chart {i + 1}": len(chart.proto.spec.encode("utf-8"))
            for i, chart in enumerate(at.get("plotly_chart"))}


def visit(page: str) -> tuple[dict[str, float], dict[str, dict[str, int]]]:
    """One cold load of ``page``, then a topic change, then a date change: seconds and chart sizes."""
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(PAGES[page])
    seconds = {"cold": _run(at)}
    sizes = {"cold": _payloads(at, page)}
    at.multiselect(key="f_topics").set_value(TOPIC_CHANGE)
    seconds["topic"] = _run(at)
    sizes["topic"] = _payloads(at, page)
    at.selectbox(key="f_range").set_value(DATE_CHANGE)
    seconds["date"] = _run(at)
    sizes["date"] = _payloads(at, page)
    if at.multiselect(key="f_topics").value != TOPIC_CHANGE or at.selectbox(key="f_range").value != DATE_CHANGE:
        raise RuntimeError("the filter changes did not stick")
    return seconds, sizes


class ScriptProfiler:
    """cProfile inside AppTest's script thread (cProfile only sees the thread that enabled it)."""

    def __init__(self) -> None:
        self.profile = cProfile.Profile()
        self.original = LocalScriptRunner._run_script_thread

    def __enter__(self) -> ScriptProfiler:
        profile, original = self.profile, self.original

        def wrapped(runner: LocalScriptRunner) -> None:
            profile.enable()
            try:
                original(runner)
            finally:
                profile.disable()

        LocalScriptRunner._run_script_thread = wrapped  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        LocalScriptRunner._run_script_thread = self.original  # type: ignore[method-assign]

    def report(self, limit: int = 35) -> str:
        out = io.StringIO()
        stats = pstats.Stats(self.profile, stream=out)
        stats.sort_stats("cumulative").print_stats(limit)
        stats.sort_stats("tottime").print_stats(limit)
        return out.getvalue()


def measure(runs: int, profile_dir: str | None) -> dict[str, Any]:
    baseline = rss_mib()
    start = time.perf_counter()
    visit("overview")  # the first page a new process shows: imports and first connections
    first = time.perf_counter() - start
    seconds: dict[str, dict[str, list[float]]] = {p: {s: [] for s in STATES} for p in PAGES}
    payload: dict[str, int] = {}
    for _ in range(runs):
        for page in PAGES:
            timings, sizes = visit(page)
            for state, value in timings.items():
                seconds[page][state].append(value)
            for charts in sizes.values():
                for name, size in charts.items():
                    payload[name] = max(payload.get(name, 0), size)
    result = {"baseline_rss_mib": baseline, "peak_rss_mib": peak_mib(), "first_visit_seconds": first,
              "seconds": seconds, "payload_bytes": payload}
    if profile_dir:
        for page in PAGES:
            with ScriptProfiler() as profiler:
                visit(page)
            Path(profile_dir, f"dashboard-{page}.txt").write_text(profiler.report())
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", help="the SQLite store to show")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", metavar="DIR", help="also write cProfile reports of one visit per page")
    args = parser.parse_args(argv)
    os.environ["TRACKER_DB"] = args.store
    result = measure(args.runs, args.profile)
    sys.stdout.write("\n" + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()

"""Helpers for the browser tests and tools/screenshots.py: a real `streamlit run` on a store
built by the real CLI, Debian's headless Chromium driven by Playwright, and waits that know
when Streamlit has finished a run.

Nothing here downloads a browser: without /usr/bin/chromium (apt-get install chromium) or
the playwright package, `missing_browser()` says why and the tests skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Locator, Page

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
# Debian's Chromium on a closed network: no GPU, no sandbox (we run as root in CI), and no
# calls home to Google, which the network would refuse.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 900}
TIMEOUT_MS = 30_000

APP_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
STATUS_WIDGET = '[data-testid="stStatusWidget"]'
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
WARNINGS = '[data-testid="stAlertContentWarning"]'
# Plotly draws one of these per bar (g.point) or per marker (path.point).
PLOT_MARKS = ".js-plotly-plot .trace .point"


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright not installed: pip install -e '.[test]'"
    if not os.access(CHROMIUM, os.X_OK):
        return "chromium not installed: apt-get install chromium"
    return None


# --- stores and the app server --------------------------------------------------------------

def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a subprocess: none of the developer's TRACKER_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_") or k.endswith("_DIR")}
    env.update(extra)
    return env


def tracker(*args: str) -> str:
    """Run the real `tracker` command (the console script of this environment); its stdout."""
    script = Path(sys.executable).with_name("tracker")
    command = [str(script)] if script.exists() else [shutil.which("tracker") or "tracker"]
    done = subprocess.run([*command, *args], cwd=ROOT, env=clean_env(), capture_output=True, text=True,
                          timeout=120, check=False)
    if done.returncode:
        raise RuntimeError(f"tracker {' '.join(args)} failed ({done.returncode}):\n{done.stderr}{done.stdout}")
    return done.stdout


def build_demo(folder: Path) -> Path:
    """The demo store, built by `tracker demo` like a user would."""
    db = folder / "demo.sqlite"
    tracker("demo", "--db", str(db))
    return db


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class AppServer:
    url: str
    db: Path
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
            if answer.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"streamlit did not answer {url}/_stcore/health in {timeout:.0f} s:\n"
                       f"{log.read_text(errors='replace')}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop streamlit and anything it started: the whole process group we created."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextlib.contextmanager
def serve_app(db: Path, log_dir: Path) -> Iterator[AppServer]:
    """`streamlit run app.py` on a free local port with TRACKER_DB=db, until the block ends."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = log_dir / f"streamlit-{port}.log"
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true",
               "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
               "--theme.base", "light"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=clean_env(TRACKER_DB=str(db)), stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_healthy(url, process, log)
        yield AppServer(url, db, log)
    finally:
        _stop(process)


# --- the browser ----------------------------------------------------------------------------

@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_context(browser: Browser) -> BrowserContext:
    context = browser.new_context(viewport=VIEWPORT, color_scheme="light", accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    return context


# --- waiting for Streamlit ------------------------------------------------------------------

def wait_idle(page: Page) -> None:
    """Until the script run has finished and the "Running..." widget is gone."""
    page.wait_for_selector(APP_IDLE)
    page.locator(STATUS_WIDGET).wait_for(state="hidden")


def wait_for_page(page: Page, title: str, *, charts: bool = False) -> None:
    """Until the page titled ``title`` has finished its run (and drawn its plotly marks)."""
    page.locator("h1", has_text=title).first.wait_for()
    wait_idle(page)
    if charts:
        page.wait_for_function("sel => document.querySelectorAll(sel).length > 0", arg=PLOT_MARKS)


def open_page(page: Page, url: str, title: str, *, charts: bool = False) -> None:
    page.goto(url, wait_until="domcontentloaded")
    wait_for_page(page, title, charts=charts)


# Marks the next complete script run (running -> notRunning) in window.__ttRun.
_WATCH_RUN = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  window.__ttRun = "armed";
  const observer = new MutationObserver(() => {
    const state = app.getAttribute("data-test-script-state");
    if (state !== "notRunning" && window.__ttRun === "armed") window.__ttRun = "running";
    if (state === "notRunning" && window.__ttRun === "running") { window.__ttRun = "done"; observer.disconnect(); }
  });
  observer.observe(app, {attributes: true, attributeFilter: ["data-test-script-state"]});
}"""


@contextlib.contextmanager
def rerun(page: Page) -> Iterator[None]:
    """Wrap an interaction; on exit, wait until the rerun it caused has finished."""
    page.evaluate(_WATCH_RUN)
    yield
    page.wait_for_function("() => window.__ttRun === 'done'")
    wait_idle(page)


def navigate(page: Page, title: str, *, charts: bool = False) -> None:
    """Go to another page through the sidebar navigation."""
    with rerun(page):
        page.get_by_test_id("stSidebarNav").get_by_role("link").filter(has_text=title).click()
    wait_for_page(page, title, charts=charts)


# --- reading the page -------------------------------------------------------------------------

def sidebar(page: Page) -> Locator:
    return page.get_by_test_id("stSidebar")


def error_texts(page: Page) -> list[str]:
    """The text of every exception box and st.error on the page."""
    return [e.inner_text() for e in page.locator(ERRORS).all()]


def warning_texts(page: Page) -> list[str]:
    return [e.inner_text() for e in page.locator(WARNINGS).all()]


def plot_marks(page: Page) -> int:
    return page.locator(PLOT_MARKS).count()


CHART_NAMES = ".js-plotly-plot .legendtext, .js-plotly-plot .annotation-text"


def settled_box(locator: Locator, *, tries: int = 50) -> dict[str, float]:
    """The element's box once it has stopped moving (Streamlit resizes a chart after drawing it),
    so a click lands where the element is."""
    box = locator.bounding_box()
    for _ in range(tries):
        locator.page.wait_for_timeout(100)
        again = locator.bounding_box()
        if again == box and box is not None:
            return box
        box = again
    raise AssertionError(f"{locator} kept moving")


def chart_names(page: Page) -> list[str]:
    """The names the charts show: legend entries, and the titles of one-row-per-topic charts."""
    return [t.strip() for t in page.locator(CHART_NAMES).all_text_contents()]


def multiselect(page: Page, label: str) -> Locator:
    return sidebar(page).get_by_test_id("stMultiSelect").filter(
        has=page.get_by_role("combobox", name=label, exact=True))


def chosen(page: Page, label: str) -> list[str]:
    """The chips shown in a sidebar multiselect."""
    text = multiselect(page, label).get_by_test_id("stMultiSelectTagsContainer").inner_text()
    return [line.strip() for line in text.splitlines() if line.strip()]


def choice(page: Page, label: str) -> str:
    """The value a sidebar selectbox shows."""
    return sidebar(page).get_by_role("combobox", name=label, exact=True).input_value()


def date_range(page: Page) -> list[str]:
    """The ISO dates in the sidebar's date-range input."""
    return [i.input_value() for i in sidebar(page).locator('[data-testid="stDateInput"] input[type="date"]').all()]


def query(page: Page) -> dict[str, str]:
    """The page URL's query parameters (last value of each)."""
    return {k: v[-1] for k, v in parse_qs(urlsplit(page.url).query).items()}


def add_option(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in the sidebar multiselect ``label`` (the rerun is left to the caller)."""
    multiselect(page, label).get_by_role("combobox").click()
    page.get_by_role("listbox").get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")


# --- timings ----------------------------------------------------------------------------------

_CHARTS_READY = """([idle, marks]) => document.querySelector(idle) !== null
    && document.querySelectorAll(marks).length > 0 ? performance.now() : false"""
_CHART_NAMES_HAVE = """([label, marks, names]) => window.__ttRun === 'done'
    && document.querySelectorAll(marks).length > 0
    && [...document.querySelectorAll(names)].some(t => t.textContent.trim() === label)
    ? performance.now() : false"""


def measure(browser: Browser, url: str, *, runs: int = 5) -> dict[str, list[float]]:
    """Seconds from navigation start to plotly marks drawn on the Overview, for ``runs`` fresh
    sessions; and seconds from picking one more topic in the sidebar to the rerun finished with
    that topic named on the charts, for ``runs`` different topics (so no cached read helps).
    """
    from tracker import config, topics

    labels = {t.id: t.label for t in topics.load_taxonomy(config.DEFAULT_TOPICS).topics}
    first_load: list[float] = []
    for _ in range(runs):
        context = new_context(browser)
        page = context.new_page()
        page.goto(f"{url}/?topics=taiwan", wait_until="commit")
        ms = page.wait_for_function(_CHARTS_READY, arg=[APP_IDLE, PLOT_MARKS]).json_value()
        first_load.append(ms / 1000)
        context.close()

    filter_change: list[float] = []
    context = new_context(browser)
    page = context.new_page()
    open_page(page, f"{url}/?topics=taiwan", "Overview", charts=True)
    for topic in [t for t in labels if t != "taiwan"][:runs]:
        multiselect(page, "Topics").get_by_role("combobox").click()
        option = page.get_by_role("listbox").get_by_role("option", name=labels[topic], exact=True)
        option.wait_for()
        page.evaluate(_WATCH_RUN)
        start = page.evaluate("performance.now()")
        option.click()
        end = page.wait_for_function(_CHART_NAMES_HAVE, arg=[labels[topic], PLOT_MARKS, CHART_NAMES]).json_value()
        filter_change.append((end - start) / 1000)
        page.keyboard.press("Escape")
        wait_idle(page)
    context.close()
    return {"first_load": first_load, "filter_change": filter_change}


def report_timings(timings: dict[str, list[float]]) -> str:
    return "\n".join(f"{name:<14} median {statistics.median(values):.2f} s  "
                     f"(runs: {', '.join(f'{v:.2f}' for v in values)})" for name, values in timings.items())

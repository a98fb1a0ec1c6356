"""The dashboard in a real headless Chromium against a real `streamlit run`.

Two stores, each built by the real CLI: the demo store (`tracker demo`) and a store polled
from tests/data/browser/hostile.rss, whose feed text tries to become markup, script or links.
The server and the browser start once per module; each test has its own browser context,
so its own Streamlit session.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest

from tests import browser as b
from tracker import config, export, topics

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Dialog, Page

pytestmark = pytest.mark.browser

HOSTILE_FEED = Path(__file__).parent / "data" / "browser" / "hostile.rss"
LABELS = {t.id: t.label for t in topics.load_taxonomy(config.DEFAULT_TOPICS).topics}
CHARTED = {"Overview", "Timeline"}
BOM = "\ufeff".encode()  # what the dashboard's CSV files start with, for spreadsheets


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    reason = b.missing_browser()
    if reason:
        pytest.skip(reason)
    with b.chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def demo_app(chromium: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[b.AppServer]:
    folder = tmp_path_factory.mktemp("demo")
    with b.serve_app(b.build_demo(folder), folder) as app:
        yield app


@pytest.fixture(scope="module")
def hostile_app(chromium: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[b.AppServer]:
    folder = tmp_path_factory.mktemp("hostile")
    db = folder / "hostile.sqlite"
    b.tracker("poll", "--feed", str(HOSTILE_FEED), "--db", str(db))
    with b.serve_app(db, folder) as app:
        yield app


@pytest.fixture
def dialogs() -> list[str]:
    """The messages of the dialogs (alert, confirm, prompt) the page opened."""
    return []


@pytest.fixture
def page(chromium: Browser, dialogs: list[str]) -> Iterator[Page]:
    """A fresh browser context, so a fresh Streamlit session."""
    context = b.new_context(chromium)
    page = context.new_page()

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    yield page
    context.close()


def assert_no_errors(page: Page, where: str) -> None:
    assert b.error_texts(page) == [], f"{where}: error shown"


def assert_rendered(page: Page, title: str) -> None:
    """The page's main element is there: its chart, or its table and button."""
    if title in CHARTED:
        assert b.plot_marks(page) > 0, f"{title}: the chart has no bars or markers"
        return
    button = {"Articles": "Download CSV", "Feeds": "Poll now"}[title]
    main = page.get_by_test_id("stMain")
    main.get_by_test_id("stDataFrame").wait_for(timeout=10_000)
    main.get_by_role("button").filter(has_text=button).wait_for(timeout=10_000)


# --- the demo store ---------------------------------------------------------------------------

FILTERED = "/?topics=taiwan,talks&from=2022-08-01&to=2023-12-31&lang=en"
FILTERED_PARAMS = {"topics": "taiwan,talks", "from": "2022-08-01", "to": "2023-12-31", "lang": "en"}


def test_filtered_link_opens_overview_with_those_filters(demo_app: b.AppServer, page: Page) -> None:
    b.open_page(page, demo_app.url + FILTERED, "Overview", charts=True)

    assert b.plot_marks(page) > 0
    assert {t for t in b.chart_names(page) if t in LABELS.values()} == {LABELS["taiwan"], LABELS["talks"]}
    assert "Demo data" in page.get_by_test_id("stAlertContentInfo").first.inner_text()
    assert b.chosen(page, "Topics") == [LABELS["taiwan"], LABELS["talks"]]
    assert b.choice(page, "Dates") == "Custom range"
    assert b.date_range(page) == ["2022-08-01", "2023-12-31"]
    assert b.choice(page, "Language") == "English"
    assert_no_errors(page, "Overview")
    assert b.warning_texts(page) == []
    assert b.query(page) == FILTERED_PARAMS


def test_every_page_renders_and_keeps_the_filters(demo_app: b.AppServer, page: Page) -> None:
    b.open_page(page, demo_app.url + FILTERED, "Overview", charts=True)
    for title in ["Timeline", "Articles", "Feeds", "Overview"]:
        b.navigate(page, title, charts=title in CHARTED)
        assert_no_errors(page, title)
        assert_rendered(page, title)
        assert b.query(page) == FILTERED_PARAMS, f"{title}: the URL lost the filters"
        assert b.chosen(page, "Topics") == [LABELS["taiwan"], LABELS["talks"]], title
        assert b.choice(page, "Dates") == "Custom range", title


def test_a_link_to_a_page_opens_inside_the_app_on_a_fresh_server(demo_app: b.AppServer, page: Page,
                                                                 tmp_path: Path) -> None:
    """A shared link is often a restarted server's first visit: the page must still come up inside
    app.py's navigation (our page names, wide layout), not as a bare file of pages/."""
    with b.serve_app(demo_app.db, tmp_path) as fresh:
        b.open_page(page, fresh.url + "/articles?topics=taiwan", "Articles")
        lines = page.get_by_test_id("stSidebarNav").inner_text().splitlines()
        names = [n.strip() for n in lines if any(c.isalpha() for c in n)]  # without the icons
        assert names == ["Overview", "Timeline", "Articles", "Feeds"]
        assert_rendered(page, "Articles")
        assert b.chosen(page, "Topics") == [LABELS["taiwan"]]
        assert_no_errors(page, "Articles")


def test_download_csv_holds_the_filtered_articles(demo_app: b.AppServer, page: Page) -> None:
    b.open_page(page, demo_app.url + "/articles?topics=taiwan&from=2022-08-01&to=2023-12-31&lang=en", "Articles")
    with page.expect_download() as info:
        page.get_by_test_id("stDownloadButton").filter(has_text="Download CSV").get_by_role("button").click()
    download = info.value
    data = Path(download.path()).read_bytes()

    name = download.suggested_filename
    assert name.startswith("tension-tracker") and "taiwan" in name and name.endswith(".csv")
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    assert list(frame.columns) == export.EXPORT_COLUMNS
    assert len(frame) > 0
    assert all("taiwan" in row.split(";") for row in frame["topics"])
    assert set(frame["language"]) == {"en"}
    assert frame["published"].between("2022-08-01", "2023-12-31T23:59:59Z").all()
    # The same bytes the command line exports for the same filters (they fit on one page of the table),
    # after the byte-order mark that tells a spreadsheet the file is UTF-8.
    assert data.startswith(BOM)
    assert data[len(BOM):] == b.tracker("export", "--db", str(demo_app.db), "--topic", "taiwan", "--since",
                                        "2022-08-01", "--until", "2023-12-31", "--language", "en").encode("utf-8")


def prepare_and_download(page: Page, what: str) -> bytes:
    """Click "Prepare … as CSV", wait for the run it starts, then download what it made."""
    with b.rerun(page):
        page.get_by_role("button").filter(has_text=f"Prepare {what} as CSV").click()
    with page.expect_download() as info:
        page.get_by_test_id("stDownloadButton").filter(has_text=f"Download {what} (CSV)").get_by_role("button").click()
    return Path(info.value.path()).read_bytes()


def test_download_all_matching_holds_every_page(demo_app: b.AppServer, page: Page) -> None:
    """Past one page of the table, a second button makes a CSV of every matching article."""
    b.open_page(page, demo_app.url + "/articles?lang=en", "Articles")
    prepare = page.get_by_role("button").filter(has_text="matching as CSV")
    total = int(prepare.inner_text().split("Prepare all ")[1].split(" ")[0].replace(",", ""))
    assert total > 200  # more than the table's page
    for _ in range(3):  # every time: the download made on click used to be lost about one time in five
        data = prepare_and_download(page, f"all {total:,} matching")
        assert data == BOM + b.tracker("export", "--db", str(demo_app.db), "--language", "en").encode("utf-8")
        page.reload(wait_until="domcontentloaded")
        b.wait_for_page(page, "Articles")
    assert len(pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)) == total


def test_timeline_downloads_its_stories(demo_app: b.AppServer, page: Page) -> None:
    b.open_page(page, demo_app.url + "/timeline?topics=taiwan&from=2022-08-01&to=2022-08-31", "Timeline",
                charts=True)
    data = prepare_and_download(page, "these stories")
    expected = b.tracker("export", "--stories", "--db", str(demo_app.db), "--topic", "taiwan",
                         "--since", "2022-08-01", "--until", "2022-08-31")
    assert data == BOM + expected.encode("utf-8")
    assert len(pd.read_csv(io.BytesIO(data), dtype=str)) > 1


def test_invalid_link_values_are_noted_not_fatal(demo_app: b.AppServer, page: Page) -> None:
    b.open_page(page, demo_app.url + "/?topics=bogus&from=nope&lang=xx", "Overview", charts=True)

    notes = "\n".join(b.warning_texts(page))
    assert "bogus" in notes and "nope" in notes and "xx" in notes
    assert page.locator(b.WARNINGS).first.is_visible()
    assert_no_errors(page, "Overview")
    assert not {"topics", "from", "lang"} & set(b.query(page))


def test_clicking_a_timeline_marker_lists_its_story(demo_app: b.AppServer, page: Page) -> None:
    """A click selects (Streamlit allows it only while no select tool is active, so the chart's
    drag zooms), and the story's articles are listed under the chart."""
    b.open_page(page, demo_app.url + "/timeline?topics=talks&from=2023-01-01&to=2023-12-31", "Timeline", charts=True)
    main = page.get_by_test_id("stMain")
    selected = main.locator(SELECTED_TABLE)
    assert selected.count() == 0
    marker = b.settled_box(page.locator(b.PLOT_MARKS).first)
    with b.rerun(page):
        page.mouse.click(marker["x"] + marker["width"] / 2, marker["y"] + marker["height"] / 2)
    selected.first.wait_for(timeout=10_000)
    assert selected.count() == 1
    assert_no_errors(page, "Timeline")


# The table of selected stories' articles: the page's one table outside an expander (the stories'
# list sits in one).
SELECTED_TABLE = '[data-testid="stDataFrame"]:not([data-testid="stExpander"] *)'


def test_a_story_picked_from_the_list_lists_its_articles(demo_app: b.AppServer, page: Page) -> None:
    """Without a mouse on the chart (a keyboard, or a phone whose first tap on a marker selects
    nothing), the same stories can be picked as rows of a list."""
    b.open_page(page, demo_app.url + "/timeline?topics=talks,exercises&from=2023-01-01&to=2023-12-31", "Timeline",
                charts=True)
    main = page.get_by_test_id("stMain")
    listed = main.get_by_test_id("stExpander").filter(has_text="as a list")
    listed.get_by_text("as a list").click()
    grid = b.settled_box(listed.get_by_test_id("stDataFrame"))
    with b.rerun(page):  # the first row's selection box, left of its first cell
        page.mouse.click(grid["x"] + 15, grid["y"] + 35 + 17)
    main.locator(SELECTED_TABLE).first.wait_for(timeout=10_000)
    assert main.locator(SELECTED_TABLE).count() == 1
    assert_no_errors(page, "Timeline")
    # A new list (another topic) starts unselected: a row number kept from the old one pointed past
    # its end (an IndexError) or at another story.
    with b.rerun(page):
        b.multiselect(page, "Topics").get_by_role("button", name="Remove Exercises & deployments").click()
    assert_no_errors(page, "Timeline after a filter change")
    assert main.locator(SELECTED_TABLE).count() == 0


# --- hostile feed text -------------------------------------------------------------------------

# Anything in the DOM that feed text must never become.
INJECTED = """() => {
  const found = [];
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      if (attr.name.startsWith('on')) found.push(`${el.tagName} ${attr.name}=${attr.value}`);
    }
  }
  for (const a of document.querySelectorAll('a, area')) {  // HTML and SVG links
    const href = a.getAttribute('href') ?? a.getAttribute('xlink:href');
    if (href !== null && !['http:', 'https:'].includes(new URL(href, location.href).protocol)) {
      found.push(`link ${href}`);
    }
  }
  for (const el of document.querySelectorAll('iframe, object, embed, img[src="x"], [src^="javascript:" i]')) {
    found.push(`${el.tagName} ${el.outerHTML.slice(0, 120)}`);
  }
  for (const s of document.querySelectorAll('script')) {
    if (s.textContent.includes('alert(')) found.push('script ' + s.textContent.slice(0, 80));
  }
  return found;
}"""
# Feed text as stored after parsing (parse.py already strips real markup), shown literally.
SHOWN_LITERALLY = [
    "[click me](javascript:alert(1)) PLA drills near Taiwan: markdown link",
    ":red[PLA drills near Taiwan]",
    "$\\LaTeX$ **bold**",
    "anchor title a < b > c & \"quotes\" 'apos'",
    "=HYPERLINK(\"javascript:alert(1)\") %{x} ${alert(1)} {{7*7}} javascript:alert(1)",
]

# The grid draws on a canvas; its accessible copy of the visible cells holds the text.
GRID_HAS_CELL = """text => [...document.querySelectorAll('[data-testid="stDataFrame"] [role=gridcell]')]
    .some(cell => cell.textContent === text)"""


def headlines(page: Page) -> str:
    return "\n".join(page.get_by_test_id("stMain").get_by_test_id("stMarkdownContainer")
                     .filter(has_text="PLA drills near Taiwan").all_inner_texts())


def test_hostile_feed_text_stays_text(hostile_app: b.AppServer, page: Page, dialogs: list[str]) -> None:
    b.open_page(page, hostile_app.url + "/", "Overview", charts=True)
    shown = headlines(page)
    for text in SHOWN_LITERALLY:
        assert text in shown

    for title in ["Timeline", "Articles", "Feeds", "Overview"]:
        b.navigate(page, title, charts=title in CHARTED)
        assert_no_errors(page, title)
        assert_rendered(page, title)
        assert page.evaluate(INJECTED) == [], title
        if title == "Articles":
            page.wait_for_function(GRID_HAS_CELL, arg=SHOWN_LITERALLY[0], timeout=10_000)
    assert dialogs == []


def test_hostile_shortcodes_stay_text(hostile_app: b.AppServer, page: Page) -> None:
    b.open_page(page, hostile_app.url + "/", "Overview", charts=True)
    feed_text = (page.get_by_test_id("stMain").get_by_test_id("stMarkdownContainer")
                 .filter(has_text="PLA drills near Taiwan"))
    assert feed_text.locator("img, [role=img]").count() == 0
    # An invisible word joiner after the colon is a fair way to break the shortcode.
    assert ":material/warning: :material_warning: :streamlit:" in headlines(page).replace("\u2060", "")

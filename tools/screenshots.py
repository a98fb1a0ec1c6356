"""Screenshots of every dashboard page on the demo data, into docs/screenshots/.

    .venv/bin/python tools/screenshots.py             # overview, timeline, articles, feeds .png
    .venv/bin/python tools/screenshots.py --timings   # also time the first load and a filter change

Builds the demo store in a temporary folder with `tracker demo`, serves the app with
`streamlit run` and drives Debian's headless Chromium (apt-get install chromium; the page
icons and the Chinese headlines need fonts-noto-color-emoji and fonts-noto-cjk). Light theme,
1400 px wide, as tall as each page.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import browser as b  # noqa: E402  (the browser tests' helpers; tests/ is a package)

OUT = ROOT / "docs" / "screenshots"
PAGES = [("overview", "Overview", True), ("timeline", "Timeline", True), ("articles", "Articles", False),
         ("feeds", "Feeds", False)]
MAX_HEIGHT = 3600
# Streamlit scrolls inside its main container, not the document: measure that.
CONTENT_HEIGHT = "() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight"


def shoot(page: Page, path: Path) -> None:
    """The whole page: grow the viewport to the content's height, let plotly resize, capture."""
    height = min(max(page.evaluate(CONTENT_HEIGHT), b.VIEWPORT["height"]), MAX_HEIGHT)
    page.set_viewport_size({"width": b.VIEWPORT["width"], "height": height})
    page.mouse.move(0, 0)  # no hover labels or chart toolbars in the picture
    page.wait_for_timeout(600)
    b.wait_idle(page)
    page.screenshot(path=str(path))
    page.set_viewport_size(b.VIEWPORT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"Folder for the PNG files (default: {OUT}).")
    parser.add_argument("--timings", action="store_true",
                        help="Also time the first page load and a topic change (median of 5 each).")
    args = parser.parse_args()
    reason = b.missing_browser()
    if reason:
        print(f"cannot take screenshots: {reason}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tracker-screenshots-") as tmp, \
            b.serve_app(b.build_demo(Path(tmp)), Path(tmp)) as app, b.chromium() as browser:
        context = b.new_context(browser)
        page = context.new_page()
        b.open_page(page, f"{app.url}/", "Overview", charts=True)
        for name, title, charts in PAGES:
            if title != "Overview":
                b.navigate(page, title, charts=charts)
            if b.error_texts(page):
                print(f"{title}: the page shows an error: {b.error_texts(page)}", file=sys.stderr)
                return 1
            path = args.out / f"{name}.png"
            shoot(page, path)
            print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        context.close()
        if args.timings:
            print(b.report_timings(b.measure(browser, app.url)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Helpers for the AppTest page tests: seeded stores and a way to run app.py on a page."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = ["pages/overview.py", "pages/timeline.py", "pages/articles.py", "pages/feeds.py"]


def run_app(monkeypatch: pytest.MonkeyPatch, db: str, page: str | None = None,
            params: dict[str, str] | None = None) -> AppTest:
    """Run app.py against ``db`` (optionally with URL query parameters), then switch to ``page``."""
    monkeypatch.setenv("TRACKER_DB", db)
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    if page:
        at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


class DownloadSpy:
    """Records the bytes every download button hands to Streamlit's media storage.

    A spy, not a fake: it wraps the real storage method and calls it.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

        self.files: list[tuple[str | None, bytes]] = []
        original = MemoryMediaFileStorage.load_and_get_id

        def spy(storage: MemoryMediaFileStorage, path_or_data: bytes | str, mimetype: str, kind: str,
                filename: str | None = None) -> str:
            if isinstance(path_or_data, bytes):
                self.files.append((filename, path_or_data))
            return original(storage, path_or_data, mimetype, kind, filename)

        monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)

    def last(self) -> bytes:
        assert self.files, "no download was prepared"
        return self.files[-1][1]


def url_params(at: AppTest) -> dict[str, str]:
    """The app's query parameters as plain strings (AppTest gives str or list depending on the run)."""
    return {k: v if isinstance(v, str) else v[-1] for k, v in at.query_params.items()}

"""Shared fixtures: every test gets its own SQLite file and a clean TRACKER_* environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
POLL_DATA = DATA / "poll"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's own settings; feeds come from 127.0.0.1, so allow it."""
    for name in list(os.environ):
        if name.startswith("TRACKER_") and not name.endswith("_DIR"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TRACKER_ALLOW_PRIVATE_NETWORKS", "1")


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "tracker.sqlite")


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server for the whole session (skipped without the server binaries)."""
    from .postgres import start_server

    yield from start_server()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path):
    """The storage tests run once on a SQLite file and once on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "tracker.sqlite")
        return
    yield request.getfixturevalue("pg_server").url()
    from tracker.store import dispose_engines

    dispose_engines()  # close this test's connections before its database is forgotten


def shared_dir(variable: str) -> Path:
    """A folder of real data named by an environment variable, or skip the test."""
    value = os.environ.get(variable)
    if not value:
        pytest.skip(f"{variable} is not set (it points at the shared real-data folder; .ci/run sets it)")
    path = Path(value)
    if not path.is_dir():
        pytest.skip(f"{variable}={value} is not a folder")
    return path


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The real demo store, built once per test session through the real pipeline."""
    from tracker import poller
    from tracker.config import Settings
    from tracker.store import open_store

    location = str(tmp_path_factory.mktemp("demo") / "demo.sqlite")
    report = poller.build_demo(open_store(location), settings=Settings(db=location))
    assert report.errors == 0
    return location

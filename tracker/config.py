"""Settings: the one place that reads TRACKER_* environment variables.

Precedence everywhere: command-line flag > TRACKER_* variable > default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tracker.errors import ConfigError

# The repository's data/ folder: feeds.toml, topics.toml, milestones and demo feeds.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"

DEFAULT_DB = DATA_DIR / "tracker.sqlite"
DEFAULT_DEMO_DB = DATA_DIR / "demo.sqlite"
DEFAULT_FEEDS = DATA_DIR / "feeds.toml"
DEFAULT_TOPICS = DATA_DIR / "topics.toml"
DEMO_DIR = DATA_DIR / "demo"
MILESTONES = DATA_DIR / "milestones.toml"

HOMEPAGE = "https://github.com/tension-tracker/tension-tracker"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"expected 1/0, true/false, yes/no or on/off, got {raw!r}", resource=name)


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"expected a number, got {raw!r}", resource=name) from None
    if value <= 0:
        raise ConfigError(f"expected a positive number, got {raw!r}", resource=name)
    return value


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with its default."""

    db: str = str(DEFAULT_DB)
    feeds_file: str = str(DEFAULT_FEEDS)
    topics_file: str = str(DEFAULT_TOPICS)
    # Fetching.
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    # Whole-request deadline, so a server trickling one byte a second cannot hold a worker.
    total_timeout: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    max_workers: int = 8
    per_host: int = 2
    allow_private_networks: bool = False
    # Polling.
    poll_interval: float = 15 * 60.0
    max_backoff: float = 24 * 3600.0
    # How long a poller's claim on a feed lasts; a poller that dies releases its feeds after this.
    lease_seconds: float = 10 * 60.0
    # Processes that parse a large poll's documents: 0 = one per core, 1 = the poll's own process only.
    read_processes: int = 0

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Defaults, then TRACKER_* variables, then explicit overrides (CLI flags).

        Overrides that are None are ignored, so click options can be passed as they are.
        """
        env = os.environ
        base = cls(
            db=env.get("TRACKER_DB") or str(DEFAULT_DB),
            feeds_file=env.get("TRACKER_FEEDS") or str(DEFAULT_FEEDS),
            topics_file=env.get("TRACKER_TOPICS") or str(DEFAULT_TOPICS),
            connect_timeout=_env_number("TRACKER_CONNECT_TIMEOUT", cls.connect_timeout),
            read_timeout=_env_number("TRACKER_READ_TIMEOUT", cls.read_timeout),
            total_timeout=_env_number("TRACKER_TOTAL_TIMEOUT", cls.total_timeout),
            max_bytes=int(_env_number("TRACKER_MAX_BYTES", cls.max_bytes)),
            max_workers=int(_env_number("TRACKER_MAX_WORKERS", cls.max_workers)),
            allow_private_networks=_env_bool("TRACKER_ALLOW_PRIVATE_NETWORKS", False),
            poll_interval=_env_number("TRACKER_POLL_INTERVAL", cls.poll_interval),
            lease_seconds=_env_number("TRACKER_LEASE_SECONDS", cls.lease_seconds),
            read_processes=int(_env_number("TRACKER_READ_PROCESSES", cls.read_processes)),
        )
        given: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
        return replace(base, **given) if given else base

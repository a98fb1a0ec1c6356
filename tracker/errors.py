"""One exception hierarchy for the whole package.

Each error names the feed, file or database it concerns, so a message printed by
the CLI or shown in the app tells the user where to look.
"""

from __future__ import annotations


class TrackerError(Exception):
    """Base class: every error this package raises on purpose."""

    def __init__(self, message: str, *, resource: str | None = None) -> None:
        self.resource = resource
        super().__init__(f"{resource}: {message}" if resource else message)
        self.reason = message


class ConfigError(TrackerError):
    """A feeds, topics or settings file (or a setting) is invalid."""


class FetchError(TrackerError):
    """A feed could not be fetched. ``status`` is the HTTP status when there was one."""

    def __init__(
        self,
        message: str,
        *,
        resource: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, resource=resource)
        self.status = status
        # Seconds the server asked us to wait (429/503 Retry-After), if any.
        self.retry_after = retry_after


class ParseError(TrackerError):
    """A fetched document is not a usable feed."""


class StoreError(TrackerError):
    """The database cannot be opened, migrated or written."""

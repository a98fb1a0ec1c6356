"""Key dated events (summits, calls, weapons tests, treaty events) drawn on the timeline.

They live in data/milestones.toml, written by us; this module reads and checks them.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pandas as pd

from tracker.errors import ConfigError

KINDS = ("summit", "call", "meeting", "test", "treaty", "crisis")
COLUMNS = ["date", "label", "kind", "topics", "note"]


def load_milestones(path: str | Path) -> pd.DataFrame:
    """Milestones as a frame (date as UTC midnight), oldest first. Raises ConfigError on a bad file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return pd.DataFrame(columns=COLUMNS)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read milestones: {exc}", resource=str(path)) from exc
    rows = []
    for n, entry in enumerate(data.get("milestones", []), 1):
        where = f"{path}, milestone #{n}"
        if not isinstance(entry, dict):
            raise ConfigError("each milestone must be a table", resource=where)
        day, label = entry.get("date"), entry.get("label")
        if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
            raise ConfigError("'date' must be a TOML date such as 2021-11-15", resource=where)
        if not isinstance(label, str) or not label.strip():
            raise ConfigError("'label' is missing", resource=where)
        kind = entry.get("kind", "meeting")
        if kind not in KINDS:
            raise ConfigError(f"kind {kind!r} is not one of {', '.join(KINDS)}", resource=where)
        rows.append({"date": pd.Timestamp(day, tz="UTC"), "label": label.strip(), "kind": kind,
                     "topics": ";".join(entry.get("topics", [])), "note": str(entry.get("note", ""))})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values("date", ignore_index=True)

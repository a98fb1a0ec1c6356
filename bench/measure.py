"""Repeated measurements: median and range of the runs, as seconds or as a rate."""

from __future__ import annotations

import os
import platform
import statistics
from dataclasses import dataclass, field
from importlib import metadata


@dataclass(frozen=True)
class Sample:
    """The seconds of each run; ``count`` items per run when the figure is a rate."""

    seconds: list[float] = field(default_factory=list)
    count: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def rate(self) -> float:
        return self.count / self.median

    @property
    def rates(self) -> tuple[float, float]:
        """(slowest, fastest) rate."""
        return self.count / max(self.seconds), self.count / min(self.seconds)

    def as_dict(self) -> dict[str, object]:
        return {"seconds": self.seconds, "count": self.count}


PACKAGES = ("streamlit", "pandas", "plotly", "feedparser", "SQLAlchemy")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine() -> dict[str, object]:
    """What the figures depend on: cores, CPU, memory, OS, Python and the main libraries."""
    memory = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as file:
            kib = int(file.readline().split()[1])
            memory = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {"cores": os.cpu_count(), "cpu": cpu_model(), "memory": memory,
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
            "packages": {name: metadata.version(name) for name in PACKAGES}}


def machine_line(info: dict[str, object]) -> str:
    packages = ", ".join(f"{k} {v}" for k, v in info["packages"].items())  # type: ignore[attr-defined]
    return (f"{info['cores']} cores, {info['cpu']}, {info['memory']} RAM, {info['os']}; "
            f"Python {info['python']}; {packages}")

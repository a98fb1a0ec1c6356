"""Tension Tracker: collect, tag and chart news on US–China military tensions."""

__version__ = "0.1.0"

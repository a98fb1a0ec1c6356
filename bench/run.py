"""The benchmark: `.venv/bin/python -m bench.run --sizes 10000,100000 [--large] [--realistic]`.

Prints each figure as it is measured, then writes docs/benchmarks.md (and its data,
docs/benchmarks.json). Not part of the test suite. See bench/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import report, stores, synth, throughput
from bench.measure import Sample, machine, machine_line
from tracker import topics
from tracker.store import SQLITE_FEEDS_PER_TRANSACTION

REPO = Path(__file__).resolve().parent.parent
LARGE = 1_000_000
PAGE_TITLES = {"overview": "Overview", "timeline": "Timeline", "articles": "Articles"}
STATE_TITLES = {"cold": "first load (cold cache)", "topic": "after a topic change",
                "date": "after a date change (topic kept)"}
# (page, state) -> (target text, limit in seconds)
PAGE_TARGETS = {("overview", "cold"): ("< 3 s", 3.0), ("overview", "topic"): ("< 300 ms", 0.3),
                ("overview", "date"): ("< 300 ms", 0.3), ("articles", "cold"): ("< 1 s", 1.0),
                ("articles", "topic"): ("< 1 s", 1.0), ("articles", "date"): ("< 1 s", 1.0)}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="store sizes in articles (default: %(default)s)")
    parser.add_argument("--large", action="store_true", help=f"add a store of {LARGE:,} articles")
    parser.add_argument("--realistic", action="store_true",
                        help="real items from $TRACKER_BENCH_DIR, repeated with shifted dates, instead of synthetic")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="docs/benchmarks.md", help="Markdown to write (default: %(default)s)")
    parser.add_argument("--rebuild", action="store_true", help="build the stores again even when cached")
    parser.add_argument("--reuse-stores", action="store_true",
                        help="use a cached store of the same size and seed even if tracker/ changed since it was "
                             "built (its build figures are then those of the older code)")
    parser.add_argument("--profile", action="store_true",
                        help="also write cProfile reports of each phase under bench/.cache/profiles/")
    args = parser.parse_args(argv)
    args.size_list = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()}
                            | ({LARGE} if args.large else set()))
    return args


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        if args.realistic:
            synth.real_dir()  # stops here, saying what to set, when the real items are not there
        self.data = stores.Dataset("real" if args.realistic else "synthetic", args.seed, synth.anchor_date())
        self.rows: list[report.Row] = []
        self.profiles = stores.CACHE / "profiles" / self.data.kind if args.profile else None

    def emit(self, group: str, name: str, size: int | None, unit: str, median: float, low: float | None = None,
             high: float | None = None, runs: int = 1, target: str = "", met: bool | None = None,
             notes: tuple[str, ...] = ()) -> None:
        row = {"data": self.data.kind, "group": group, "name": name, "size": size, "unit": unit, "median": median,
               "low": low, "high": high, "runs": runs, "target": target, "met": met, "notes": list(notes)}
        self.rows.append(row)
        print(report.line(row), flush=True)

    def emit_rate(self, group: str, name: str, size: int | None, sample: Sample, target: float | None = None,
                  notes: tuple[str, ...] = ()) -> None:
        low, high = sample.rates
        self.emit(group, name, size, "/s", sample.rate, low, high, len(sample.seconds),
                  f"≥ {target:,.0f}/s" if target else "", None if target is None else sample.rate >= target, notes)

    def profiled(self, name: str, work: Callable[[], object]) -> None:
        """Run ``work`` once more under cProfile and keep the report (only with --profile)."""
        if self.profiles is None:
            return
        self.profiles.mkdir(parents=True, exist_ok=True)
        profile = cProfile.Profile()
        profile.runcall(work)
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats("cumulative").print_stats(35)
        stats.sort_stats("tottime").print_stats(35)
        (self.profiles / f"{name}.txt").write_text(out.getvalue())

    # --- the measurements ----------------------------------------------------------------------------

    def throughput(self, taxonomy: topics.Taxonomy) -> None:
        runs = self.args.runs
        compiled = throughput.taxonomy_compile(runs)
        self.emit("throughput", "taxonomy load and compile (once per process)", None, "s", compiled.median,
                  min(compiled.seconds), max(compiled.seconds), runs)
        sample = throughput.tagged_sample(self.data, throughput.TAG_SAMPLE)
        tagged, mix = throughput.tagging(sample, taxonomy, runs)
        self.emit_rate("throughput", "tagging (topics.tag, one core)", None, tagged, 50_000, notes=(
            f"Tagging sample ({self.data.kind}): {len(sample):,} articles, {mix['tagged']:.1%} tagged, "
            f"{mix['multi']:.1%} with two topics or more.",))
        self.profiled("tagging", lambda: throughput.tagging(sample, taxonomy, 1))
        with tempfile.TemporaryDirectory(prefix="tt-bench-ingest-") as tmp:
            ingested, clustered, rows = throughput.ingest(self.data, taxonomy, runs, Path(tmp))
            self.emit_rate("throughput", "ingest into a fresh store (record_updates)", None, ingested, 25_000, notes=(
                f"Ingest: {ingested.count:,} tagged articles in feed documents of {synth.BATCH} items, "
                f"{SQLITE_FEEDS_PER_TRANSACTION} documents per transaction as a poll writes them, into a fresh "
                f"SQLite store "
                f"({rows:,} article, topic and sighting rows); "
                f"then story clustering (store_stories.cluster_pending) of the same articles, published over "
                f"{throughput.INGEST_DAYS} days.",))
            if stores.store_stories is not None:
                self.emit_rate("throughput", "story clustering (cluster_pending)", None, clustered)
            self.profiled("ingest", lambda: throughput.ingest(self.data, taxonomy, 1, Path(tmp) / "p"))
        polled, processes = throughput.poll_suite(self.data, taxonomy, runs)
        poll, bare, like = polled["poll"], polled["feedparser"], polled["feedparser_like"]
        reading = (f"it parsed the documents in {processes} worker processes" if processes else
                   "it parsed the documents in its own process")
        note = (f"Poll: tracker.poller.poll in-process (fetch threads, parse, tag, store, story clustering), "
                f"{throughput.POLL_FILES} local RSS files x {throughput.POLL_ITEMS} items published over the last "
                f"{throughput.POLL_DAYS} days, a fresh store each run; {reading}, as `tracker poll` does on this "
                "machine. 'In one process' is the same poll with TRACKER_READ_PROCESSES=1. Bare feedparser reads "
                "and parses the same files in one process.",)
        lean, lean_one = polled["poll_lean"], polled["poll_lean_one_process"]
        self.emit_rate("throughput", "poll (tracker.poller.poll, local RSS)", None, poll, notes=note)
        self.emit_rate("throughput", "poll: its story clustering part", None, polled["poll_clustering"])
        self.emit_rate("throughput", "poll without story clustering (fetch, parse, tag, store)", None, lean)
        self.emit_rate("throughput", "poll without story clustering, in one process", None, lean_one)
        self.emit_rate("throughput", "bare feedparser.parse (its defaults)", None, bare)
        self.emit_rate("throughput", "bare feedparser.parse (parse.py's options)", None, like)
        for name, polled_sample, base in (("poll ÷ bare feedparser (defaults)", poll, bare),
                                          ("poll ÷ bare feedparser (same options)", poll, like),
                                          ("poll without story clustering ÷ bare feedparser (defaults)", lean, bare),
                                          ("poll without story clustering, in one process ÷ bare feedparser "
                                           "(defaults)", lean_one, bare)):
            ratio = polled_sample.median / base.median
            self.emit("throughput", name, None, "x", ratio, min(polled_sample.seconds) / max(base.seconds),
                      max(polled_sample.seconds) / min(base.seconds), runs, "≤ 1.15×", ratio <= 1.15)
        if self.profiles is not None:
            with tempfile.TemporaryDirectory(prefix="tt-bench-pollprof-") as tmp:
                sources = throughput.write_feed_files(self.data, Path(tmp))
                # In one process: a profile sees only its own process, and parsing is what it is for.
                self.profiled("poll", lambda: throughput.poll(sources, taxonomy, 1, Path(tmp), read_processes=1))

    def store(self, size: int, taxonomy: topics.Taxonomy) -> Path:
        path, info = stores.ensure_store(self.data, size, taxonomy, rebuild=self.args.rebuild,
                                         reuse=self.args.reuse_stores)
        sec = info["seconds"]
        when = "built in this run" if not info["cached"] else f"cached, built {info['built']}"
        if info.get("stale"):
            when += " by an earlier version of tracker/ (--reuse-stores)"
        note = (f"Store generation is timed once per size and seed, when the store is built ({when} for "
                f"{size:,}); text = making the articles, tag = topics.tag, ingest = Store.record_updates, stories = "
                "store_stories.cluster_pending once after all documents.",)
        self.emit("store", "generation: total", size, "s", sec["total"], notes=note)
        self.emit("store", "generation: articles/s", size, "/s", size / sec["total"])
        # Byproducts of one build, timed amid the generator's own work: the targets are judged on the
        # dedicated measurements (tagging above, ingest into this store below).
        self.emit("store", "generation: ingest part (record_updates)", size, "/s", size / sec["store"])
        self.emit("store", "generation: tagging part", size, "/s", size / sec["tag"])
        if sec.get("stories"):
            self.emit("store", "generation: story clustering part", size, "/s", size / sec["stories"])
        self.emit("store", "database file size", size, "bytes", info["db_bytes"])
        with tempfile.TemporaryDirectory(prefix="tt-bench-into-") as tmp:
            into, new = throughput.ingest_into(path, self.data, taxonomy, self.args.runs, Path(tmp))
        sample = f"{throughput.INGEST_SAMPLE:,}"
        self.emit_rate("store", f"ingest of {sample} articles into this store", size, into, 25_000, notes=(
            f"Ingest into a store: a copy of the store of N articles takes {sample} tagged articles of its last "
            f"weeks, as polls add them ({new:,} of them new to the store of {size:,}; the others add a sighting).",))
        return path

    def dashboard(self, size: int, path: Path) -> None:
        command = [sys.executable, "-m", "bench.dashboard", str(path), "--runs", str(self.args.runs)]
        if self.profiles is not None:
            folder = self.profiles / f"dashboard-{size}"
            folder.mkdir(parents=True, exist_ok=True)
            command += ["--profile", str(folder)]
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                              env={**os.environ, "TRACKER_DB": str(path)})
        if done.returncode:
            raise SystemExit(f"the dashboard measurement failed:\n{done.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        self.emit("dashboard", "first page in a new process (Overview, imports)", size, "s",
                  result["first_visit_seconds"])
        for page, states in result["seconds"].items():
            for state, seconds in states.items():
                target, limit = PAGE_TARGETS.get((page, state), ("", None))
                median = statistics.median(seconds)
                self.emit("dashboard", f"{PAGE_TITLES[page]}: {STATE_TITLES[state]}", size, "s", median,
                          min(seconds), max(seconds), len(seconds), target, None if limit is None else median < limit)
        self.emit("memory", "resident memory after imports", size, "MB", result["baseline_rss_mib"] * 1.048576)
        peak = result["peak_rss_mib"] * 1.048576
        self.emit("memory", "peak RSS (VmHWM) of the dashboard process", size, "MB", peak,
                  target="< 600 MB", met=peak < 600)
        for chart, size_bytes in result["payload_bytes"].items():
            self.emit("payload", chart.replace("chart 1", "chart"), size, "bytes", size_bytes,
                      target="< 1 MB", met=size_bytes < 1_000_000)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    load_at_start = os.getloadavg()[0]  # other work on the machine makes every figure slower
    info = machine()
    bench = Bench(args)
    print(f"Machine: {machine_line(info)}; load average {load_at_start:.1f}")
    span = "real items repeated" if args.realistic else "five years of synthetic articles"
    print(f"Data: {span} up to {bench.data.end}, seed {args.seed}; sizes "
          f"{', '.join(f'{s:,}' for s in args.size_list)}; {args.runs} runs each\n")
    print(report.header())
    taxonomy = topics.load_taxonomy()
    taxonomy.matcher  # noqa: B018 - compile before anything is timed
    bench.throughput(taxonomy)
    for size in args.size_list:
        path = bench.store(size, taxonomy)
        bench.dashboard(size, path)
    wall = time.perf_counter() - started
    command = ".venv/bin/python -m bench.run" + (" " + shlex.join(argv if argv is not None else sys.argv[1:])
                                                 if (argv if argv is not None else sys.argv[1:]) else "")
    load = f"load average {load_at_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    run = {"command": command, "finished": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
           "wall_seconds": wall, "machine": info, "machine_line": f"{machine_line(info)}; {load}"}
    out = Path(args.out) if Path(args.out).is_absolute() else REPO / args.out
    report.write(out, report.merge(out, run, bench.rows, bench.data.kind, args.size_list))
    print(f"\nWhole run: {wall / 60:.1f} min. Wrote {out.relative_to(REPO) if out.is_relative_to(REPO) else out}"
          + (f"; profiles under {bench.profiles.relative_to(REPO)}" if bench.profiles else ""))


if __name__ == "__main__":
    main()

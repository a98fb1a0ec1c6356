"""Time 1 vs 3 `tracker watch` workers polling 300 local feeds into one PostgreSQL store.

    .venv/bin/python tools/poll_workers.py [--feeds 300] [--items 20] [--delay 0.1]

Starts a throwaway PostgreSQL (as the tests do), serves the feeds from a threaded HTTP server on
127.0.0.1 (each answer delayed a little, like a real outlet), and prints the wall time until every
feed has been polled once, for each number of workers.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_httpserver import HTTPServer
from sqlalchemy import text
from werkzeug import Request, Response

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.postgres import PostgresServer, find_bindir  # noqa: E402
from tracker.store import dispose_engines, open_store  # noqa: E402

TRACKER = str(Path(sys.executable).with_name("tracker"))


def feed_body(n: int, items: int) -> bytes:
    entries = "".join(
        f"<item><title>Outlet {n} reports item {k} on PLA drills near Taiwan</title>"
        f"<link>https://outlet{n}.example/{k}</link><pubDate>Mon, 10 Jun 2024 {k % 24:02d}:00:00 +0000</pubDate>"
        f"<description>Story {k} from outlet {n}: ships and aircraft were tracked.</description></item>"
        for k in range(items))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Outlet {n}</title>'
            f"<link>https://outlet{n}.example/</link><description>x</description>{entries}</channel></rss>").encode()


def run(workers: int, server: PostgresServer, http: HTTPServer, feeds_file: Path, total: int) -> float:
    url = server.url(f"w{workers}")
    open_store(url)
    env = {**os.environ, "TRACKER_DB": url, "TRACKER_FEEDS": str(feeds_file), "TRACKER_ALLOW_PRIVATE_NETWORKS": "1"}
    started = time.monotonic()
    procs = [subprocess.Popen([TRACKER, "watch", "--interval", "1h"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True) for _ in range(workers)]
    try:
        engine = open_store(url).engine
        while True:
            with engine.connect() as conn:
                done = conn.execute(text("SELECT count(*) FROM feeds WHERE last_success IS NOT NULL")).scalar()
            if done == total:
                return time.monotonic() - started
            time.sleep(0.2)
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--delay", type=float, default=0.1, help="seconds each feed takes to answer")
    args = parser.parse_args()
    bindir = find_bindir()
    if bindir is None:
        sys.exit("PostgreSQL server binaries not found (apt-get install postgresql)")
    server = PostgresServer(bindir)
    server.start()
    http = HTTPServer(threaded=True)
    http.start()
    bodies = {n: feed_body(n, args.items) for n in range(args.feeds)}

    def handler(request: Request) -> Response:
        time.sleep(args.delay)
        return Response(bodies[int(request.path.removeprefix("/f"))], content_type="application/rss+xml")

    for n in range(args.feeds):
        http.expect_request(f"/f{n}").respond_with_handler(handler)
    with tempfile.TemporaryDirectory() as folder:
        feeds_file = Path(folder) / "feeds.toml"
        feeds_file.write_text("".join(f'[[feeds]]\nid = "f{n}"\nurl = "{http.url_for(f"/f{n}")}"\n\n'
                                      for n in range(args.feeds)))
        try:
            for workers in (1, 3):
                seconds = run(workers, server, http, feeds_file, args.feeds)
                print(f"{workers} worker(s): {args.feeds} feeds x {args.items} items polled in {seconds:.1f} s "
                      f"({args.feeds * args.items / seconds:,.0f} articles/s)")
        finally:
            dispose_engines()
            http.stop()
            server.stop()


if __name__ == "__main__":
    main()

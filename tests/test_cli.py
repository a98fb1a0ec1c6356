"""The command line, driven through click's runner and (for exit codes and streams) a real subprocess."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tracker import cli, queries
from tracker.store import open_store

from .conftest import POLL_DATA
from .test_store import back_to_version_5


def all_commands(group: click.Group = cli.main, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += all_commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("path", all_commands(), ids=lambda p: " ".join(p) or "tracker")
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli.main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output
    assert "tracker" in result.output.split("Example", 1)[1]


def run(*args: str) -> click.testing.Result:
    return CliRunner().invoke(cli.main, list(args), catch_exceptions=False)


def test_poll_export_stats_feeds(db_path: str, tmp_path: Path) -> None:
    result = run("poll", "--db", db_path, "--feed", str(POLL_DATA / "basic.rss"),
                 "--feed", str(POLL_DATA / "not-a-feed.html"))
    assert result.exit_code == 0, result.output
    assert "updated" in result.output and "3 new" in result.output
    assert "error" in result.output and "2 feeds: 3 new articles" in result.output
    assert "(3 articles put into stories in " in result.output

    out = tmp_path / "taiwan.csv"
    result = run("export", "--db", db_path, "--topic", "taiwan", "-o", str(out))
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 1 and "taiwan" in rows[0]["topics"].split(";")
    assert {"id", "published", "source", "title", "link", "topics", "summary"} <= set(rows[0])

    stdout = run("export", "--db", db_path, "--since", "2024-05-22", "--until", "2024-05-22").output
    assert len(list(csv.DictReader(io.StringIO(stdout)))) == 1

    stats = json.loads(run("stats", "--db", db_path, "--format", "json").output)
    assert stats["articles"] == 3 and stats["feeds"] == 2 and stats["failing_feeds"] == 1

    health = json.loads(run("feeds", "list", "--db", db_path, "--format", "json").output)
    keys = {"url", "last_success", "last_error", "http_status", "consecutive_failures", "next_poll"}
    assert all(keys <= set(row) for row in health)
    failing = [row for row in health if row["consecutive_failures"]]
    assert len(failing) == 1 and failing[0]["last_error"] and failing[0]["last_success"] is None
    as_csv = run("feeds", "list", "--db", db_path, "--format", "csv").output
    assert keys <= set(next(csv.reader(io.StringIO(as_csv))))


def test_bad_dates_and_missing_store_are_clear_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.main, ["export", "--since", "May 2024"])
    assert result.exit_code == 2 and "is not a date like" in result.output
    result = CliRunner().invoke(cli.main, ["stats", "--db", str(tmp_path / "none.sqlite")])
    assert result.exit_code == 1 and "no tracker database here yet" in result.output


def test_readers_ask_for_an_upgrade_of_an_older_store_and_the_upgrade_works(db_path: str) -> None:
    back_to_version_5(open_store(db_path))
    for command in (["stats"], ["export"], ["feeds", "list"]):
        result = CliRunner().invoke(cli.main, [*command, "--db", db_path])
        assert result.exit_code == 1 and "run `tracker db upgrade` first" in result.output, command
    assert CliRunner().invoke(cli.main, ["db", "upgrade", "--db", db_path]).exit_code == 0
    assert CliRunner().invoke(cli.main, ["stats", "--db", db_path]).exit_code == 0


def test_feeds_file_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "feeds.toml"
    bad.write_text('[[feeds]]\nid = "a"\nurl = "gopher://x"\n')
    result = CliRunner().invoke(cli.main, ["poll", "--feeds", str(bad), "--db", str(tmp_path / "x.sqlite")])
    assert result.exit_code == 1 and "line 1" in result.output and "only http, https" in result.output


def test_opml_import_and_export(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.toml"
    feeds.write_text("")
    opml = tmp_path / "in.opml"
    opml.write_text('<opml version="2.0"><body><outline text="Example" xmlUrl="https://e.example/rss"/></body></opml>')
    assert "1 feeds added" in run("feeds", "import", str(opml), "--feeds", str(feeds)).output
    assert 'xmlUrl="https://e.example/rss"' in run("feeds", "export", "--feeds", str(feeds)).output


def test_interval_parsing() -> None:
    assert cli.parse_interval("15m") == 900 and cli.parse_interval("2h") == 7200 and cli.parse_interval("90") == 90
    with pytest.raises(click.BadParameter):
        cli.parse_interval("soon")


@pytest.mark.slow
def test_errors_go_to_stderr_with_non_zero_exit(tmp_path: Path) -> None:
    tracker = Path(sys.executable).with_name("tracker")
    done = subprocess.run([str(tracker), "stats", "--db", str(tmp_path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    assert "is a directory" in done.stderr and done.stdout == ""
    assert "Traceback" not in done.stderr


def test_explain_names_the_deciding_terms() -> None:
    result = run("explain", "PLA jets cross the Taiwan Strait median line")
    assert result.exit_code == 0
    first = result.output.splitlines()[0]
    assert first.startswith("Topics:") and "taiwan" in first
    assert "median line" in result.output
    unrelated = run("explain", "Local bakery wins bread contest").output
    assert unrelated.splitlines()[0] == "Topics: (none)"


def test_eval_prints_scores_and_speed() -> None:
    result = run("eval", str(POLL_DATA.parent / "eval_tiny.jsonl"))
    assert result.exit_code == 0, result.output
    for expected in ("F1", "micro", "macro", "Language en", "articles/s"):
        assert expected in result.output


def test_the_poll_summary_counts_feeds_that_are_backing_off(db_path: str) -> None:
    feeds = ("--feed", str(POLL_DATA / "basic.rss"), "--feed", str(POLL_DATA / "not-a-feed.html"))
    assert "1 failed, 0 bad entries" in run("poll", "--db", db_path, *feeds).output
    again = run("poll", "--db", db_path, *feeds).output  # the broken feed now waits out its back-off
    assert "0 failed, 1 not due yet (`tracker poll --force` tries them now)" in again, again
    forced = run("poll", "--db", db_path, "--force", *feeds).output
    assert "1 failed" in forced and "not due" not in forced.splitlines()[-1]


def test_export_names_a_mistyped_filter_instead_of_writing_an_empty_file(demo_db: str, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    for flag, value, known in (("--topic", "taiwn", "taiwan"), ("--source", "strait-observr", "strait-observer"),
                               ("--language", "english", "zh")):
        result = run("export", "--db", demo_db, flag, value, "-o", str(out))
        assert result.exit_code == 2 and repr(value) in result.output and known in result.output
        assert not out.exists()
    upper = run("export", "--db", demo_db, "--language", "ZH", "-o", str(out))  # codes are case-blind
    run("export", "--db", demo_db, "--language", "zh", "-o", str(tmp_path / "y.csv"))
    assert upper.exit_code == 0 and out.read_bytes() == (tmp_path / "y.csv").read_bytes()
    assert "wrote 0 " not in upper.output


def test_a_mistyped_store_path_leaves_nothing_behind(tmp_path: Path) -> None:
    """Read-only commands say there is no store there, and create neither the folder nor a file."""
    missing = tmp_path / "typo" / "dir" / "demo.sqlite"
    for command in (["stats"], ["export", "-o", str(tmp_path / "x.csv")], ["feeds", "list"]):
        result = run(*command, "--db", str(missing))
        assert result.exit_code == 1 and "no tracker database here yet" in result.output
    result = run("db", "copy", "--from", str(missing), "--to", str(tmp_path / "copy.sqlite"))
    assert result.exit_code == 1
    assert not (tmp_path / "typo").exists() and not (tmp_path / "x.csv").exists()


def test_a_feed_cut_short_is_stored_as_far_as_it_goes_and_said_to_be_partly_read(db_path: str,
                                                                                 tmp_path: Path) -> None:
    whole = (POLL_DATA / "basic.rss").read_text(encoding="utf-8")
    cut = tmp_path / "cut.rss"
    cut.write_text(whole[:whole.index("<item>", whole.index("<item>") + 1) + 40], encoding="utf-8")
    result = run("poll", "--db", db_path, "--feed", str(cut))
    assert "updated" in result.output and "1 new" in result.output
    assert "partly read: not well-formed XML" in result.output and "may be missing" in result.output
    health = queries.feed_health(db_path)
    assert health["consecutive_failures"].tolist() == [0]
    assert health["last_error"].iloc[0].startswith("partly read")
    run("poll", "--db", db_path, "--feed", str(cut), "--force")
    cut.write_text(whole, encoding="utf-8")  # mended: the warning goes
    run("poll", "--db", db_path, "--feed", str(cut), "--force")
    assert queries.feed_health(db_path)["last_error"].isna().all()


def test_export_takes_stories_or_the_index_not_both(demo_db: str) -> None:
    result = CliRunner().invoke(cli.main, ["export", "--db", demo_db, "--stories", "--index"])
    assert result.exit_code == 2 and "choose one" in result.output


def test_a_feed_polled_by_its_address_is_named_by_its_title(db_path: str) -> None:
    run("poll", "--db", db_path, "--feed", str(POLL_DATA / "basic.rss"))
    assert queries.feed_health(db_path)["name"].tolist() == ["Test Harbour Wire"]  # not the file's path
    assert set(queries.articles_frame(db_path)["source_name"]) == {"Test Harbour Wire"}
    run("poll", "--db", db_path, "--force", "--feed", str(POLL_DATA / "basic.rss"))  # and keeps it
    assert queries.feed_health(db_path)["name"].tolist() == ["Test Harbour Wire"]

from __future__ import annotations

from pathlib import Path

import pytest

from tracker import config, sources
from tracker.errors import ConfigError


def write(tmp_path: Path, text: str, name: str = "feeds.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_feed_list_is_valid_and_broad() -> None:
    feeds = sources.load_sources(config.DEFAULT_FEEDS)
    assert len(feeds) >= 15
    assert all(sources.is_remote(f.url) for f in feeds)
    assert {"en", "zh"} <= {f.language for f in feeds}
    assert any("state-media" in f.tags for f in feeds)


def test_demo_feed_list_points_at_local_files() -> None:
    feeds = sources.load_sources(config.DEMO_DIR / "feeds.toml")
    assert len(feeds) >= 8
    for feed in feeds:
        assert feed.allow_local and Path(feed.url).is_file(), feed


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[[feeds]]\nid = "a"\nurl = "https://a.example/feed"\n\n[[feeds]]\nid = "b\n')
    with pytest.raises(ConfigError, match=r"line 6"):
        sources.load_sources(path)


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ('id = "b"', "missing or empty 'url'"),
        ('id = "B b"\nurl = "https://b.example/"', "lowercase"),
        ('id = "b"\nurl = "ftp://b.example/feed"', "only http, https"),
        ('id = "b"\nurl = "https://b.example/"\nlanguage = "english"', "language"),
        ('id = "b"\nurl = "https://b.example/"\ncolour = "red"', "unknown key"),
        ('id = "a"\nurl = "https://b.example/"', "duplicate id 'a'"),
        ('id = "b"\nurl = "https://a.example/feed"', "duplicate url"),
    ],
)
def test_invalid_entry_names_its_line(tmp_path: Path, block: str, message: str) -> None:
    text = '# my feeds\n[[feeds]]\nid = "a"\nurl = "https://a.example/feed"\n\n[[feeds]]\n' + block + "\n"
    with pytest.raises(ConfigError) as info:
        sources.load_sources(write(tmp_path, text))
    assert message in str(info.value)
    assert "line 6" in str(info.value)


def test_relative_paths_resolve_against_the_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "local.xml").write_text("<rss/>")
    path = write(tmp_path, '[[feeds]]\nid = "local"\nurl = "sub/local.xml"\n')
    (feed,) = sources.load_sources(path)
    assert feed.url == str(tmp_path / "sub" / "local.xml")
    assert feed.allow_local


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read feeds file"):
        sources.load_sources(tmp_path / "nope.toml")


def test_opml_round_trip(tmp_path: Path) -> None:
    original = sources.load_sources(config.DEFAULT_FEEDS)
    opml = write(tmp_path, sources.write_opml(original), "feeds.opml")
    target = write(tmp_path, "# imported\n", "mine.toml")
    added, present, skipped = sources.import_opml(opml, target)
    assert present == 0 and skipped == []
    assert [s.url for s in added] == [s.url for s in original]
    reloaded = sources.load_sources(target)
    # Ids too: two colleagues sharing a list get the same `source` values in their CSV files.
    assert [(s.id, s.url, s.language) for s in reloaded] == [(s.id, s.url, s.language) for s in original]
    # Importing again adds nothing.
    added_again, present_again, _ = sources.import_opml(opml, target)
    assert added_again == [] and present_again == len(original)


def test_opml_with_nested_outlines_and_odd_names(tmp_path: Path) -> None:
    opml = write(tmp_path, """<?xml version="1.0"?>
<opml version="1.0"><head><title>x</title></head><body>
  <outline text="Defence">
    <outline text="Quote &quot;Daily&quot; \\ News" xmlUrl="https://q.example/rss"/>
    <outline text="No feed here"/>
  </outline>
</body></opml>""", "nested.opml")
    target = tmp_path / "new.toml"
    added, _, _ = sources.import_opml(opml, target)
    (feed,) = sources.load_sources(target)
    assert feed.name == 'Quote "Daily" \\ News' and feed.url == "https://q.example/rss"
    assert added[0].id == feed.id


def test_opml_leaves_out_non_http_feeds_and_keeps_the_rest(tmp_path: Path) -> None:
    opml = write(tmp_path, '<opml version="2.0"><body><outline text="x" xmlUrl="file:///etc/passwd"/>'
                 '<outline text="y" xmlUrl="ftp://y.example/feed"/>'
                 '<outline text="联合早报 中国" xmlUrl="https://z.example/rss"/></body></opml>', "mixed.opml")
    found, skipped = sources.read_opml(opml)
    assert skipped == ["file:///etc/passwd", "ftp://y.example/feed"]
    assert [(f.url, f.language) for f in found] == [("https://z.example/rss", "zh")]  # named in Chinese


@pytest.mark.parametrize("text", ['<rss version="2.0"><channel><title>x</title></channel></rss>',
                                  "<opml version=\"2.0\"><body><outline text=\"folder\"/></body></opml>"])
def test_a_file_that_is_not_an_opml_feed_list_is_an_error(tmp_path: Path, text: str) -> None:
    opml = write(tmp_path, text, "wrong.opml")
    with pytest.raises(ConfigError, match="not an OPML file|no feeds in this OPML file"):
        sources.import_opml(opml, tmp_path / "mine.toml")
    assert not (tmp_path / "mine.toml").exists()


def test_a_web_address_without_https_is_an_error_not_a_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[[feeds]]\nid = "x"\nurl = "www.example.com/feed"\n')
    with pytest.raises(ConfigError, match="did you mean https://www.example.com/feed"):
        sources.load_sources(path)
    (tmp_path / "saved.xml").write_text("<rss/>")  # a file name with a dot is still a file
    (feed,) = sources.load_sources(write(tmp_path, '[[feeds]]\nid = "x"\nurl = "saved.xml"\n'))
    assert feed.url == str(tmp_path / "saved.xml")

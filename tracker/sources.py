"""The feed list: load and validate feeds.toml, and move lists in and out as OPML."""

from __future__ import annotations

import hashlib
import re
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

from tracker.errors import ConfigError
from tracker.models import FeedSource

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_LANG_RE = re.compile(r"^[a-z]{2,3}$")
# "www.example.com/feed" or "example.org/rss": a web address typed without https://, not a file.
_LOOKS_LIKE_HOST = re.compile(r"^(www\.)?[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}(:\d+)?(/|$)", re.IGNORECASE)
_KEYS = {"id", "name", "url", "language", "tags"}


def is_remote(url: str) -> bool:
    """True for http(s) URLs; everything else is treated as a local path."""
    return urlsplit(url).scheme.lower() in ("http", "https")


def _block_lines(text: str) -> list[int]:
    """Line numbers (1-based) of each [[feeds]] header, so errors can name the line.

    Lines inside multi-line strings are not headers, whatever they look like.
    """
    found, quote = [], None
    for n, line in enumerate(text.splitlines(), 1):
        if quote is None and re.match(r"\s*\[\[\s*feeds\s*\]\]", line):
            found.append(n)
        for match in re.finditer(r'"""|\'\'\'', line):
            if quote is None:
                quote = match.group()
            elif quote == match.group():
                quote = None
    return found


def _line_of(text: str, pattern: str) -> int | None:
    for n, line in enumerate(text.splitlines(), 1):
        if re.match(pattern, line):
            return n
    return None


def load_sources(path: str | Path) -> tuple[FeedSource, ...]:
    """Read and validate a feeds file.

    Relative local paths resolve against the file's folder, and feeds from this file
    may be local files (``allow_local``), since the user wrote the file themselves.
    Raises ConfigError naming the file and line of the first problem.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read feeds file: {exc.strerror or exc}", resource=str(path)) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"line {bad_line}: not UTF-8 text (save the file as UTF-8)", resource=str(path)) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", resource=str(path)) from exc

    unknown_top = set(data) - {"feeds"}
    if unknown_top:
        raise ConfigError(f"unknown top-level key(s): {', '.join(sorted(unknown_top))}", resource=str(path))
    entries = data.get("feeds", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        key_line = _line_of(text, r"\s*(\[\s*feeds\s*\]|feeds\s*=)")
        where = f"{path}, line {key_line}" if key_line else str(path)
        raise ConfigError("'feeds' must be a list of [[feeds]] tables (two brackets)", resource=where)
    lines = _block_lines(text)
    sources: list[FeedSource] = []
    seen_ids: dict[str, int] = {}
    seen_urls: dict[str, int] = {}
    for index, entry in enumerate(entries):
        line = lines[index] if index < len(lines) else None
        where = f"{path}, line {line}" if line else f"{path}, feed #{index + 1}"
        source = _validate_entry(entry, where, base=path.parent)
        if source.id in seen_ids:
            raise ConfigError(f"duplicate id {source.id!r} (first at line {seen_ids[source.id]})", resource=where)
        if source.url in seen_urls:
            raise ConfigError(f"duplicate url {source.url!r} (first at line {seen_urls[source.url]})",
                              resource=where)
        seen_ids[source.id] = seen_urls[source.url] = line or index + 1
        sources.append(source)
    return tuple(sources)


def _validate_entry(entry: object, where: str, *, base: Path) -> FeedSource:
    if not isinstance(entry, dict):
        raise ConfigError("each feed must be a table", resource=where)
    unknown = set(entry) - _KEYS
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(sorted(unknown))}; expected {', '.join(sorted(_KEYS))}",
                          resource=where)
    for key in ("id", "url"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise ConfigError(f"missing or empty {key!r}", resource=where)
    feed_id = entry["id"].strip()
    if not _ID_RE.match(feed_id):
        raise ConfigError(f"id {feed_id!r} must be lowercase letters, digits and hyphens", resource=where)
    name = entry.get("name", feed_id)
    language = entry.get("language", "en")
    tags = entry.get("tags", [])
    if not isinstance(name, str):
        raise ConfigError("'name' must be a string", resource=where)
    if not isinstance(language, str) or not _LANG_RE.match(language):
        raise ConfigError(f"language {language!r} must be a 2–3 letter code such as 'en' or 'zh'",
                          resource=where)
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ConfigError("'tags' must be a list of strings", resource=where)
    url = entry["url"].strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in url):
        raise ConfigError(f"url {url!r} holds a control character", resource=where)
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        if not urlsplit(url).netloc:
            raise ConfigError(f"url {url!r} has no host", resource=where)
    elif scheme in ("", "file") or len(scheme) == 1:  # a one-letter scheme is a Windows drive
        local = Path(url[7:] if scheme == "file" else url)
        resolved = local if local.is_absolute() else (base / local).resolve()
        if not scheme and _LOOKS_LIKE_HOST.match(url) and not resolved.exists():
            raise ConfigError(f"url {url!r} has no scheme (did you mean https://{url}?); a local file of that "
                              "name does not exist either", resource=where)
        url = str(resolved)
    else:
        raise ConfigError(f"url {url!r}: only http, https and local paths are accepted", resource=where)
    return FeedSource(id=feed_id, url=url, name=name.strip() or feed_id, language=language,
                      tags=tuple(tags), allow_local=True)


def source_for_location(location: str) -> FeedSource:
    """A FeedSource for a URL or path given on the command line (so local files are allowed)."""
    location = location.strip()
    if not is_remote(location):
        path = Path(location[7:] if location.lower().startswith("file://") else location)
        location = str(path.resolve())
    return FeedSource(id=slug_for(location), url=location, name=location, allow_local=True)


def slug_for(text: str, *, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """A feed id derived from a name or URL: readable, valid, and not in ``taken``."""
    parts = urlsplit(text)
    if parts.scheme in ("http", "https"):
        text = parts.netloc.removeprefix("www.") + parts.path
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48].strip("-")
    if not slug:
        slug = "feed-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    candidate, n = slug, 2
    while candidate in taken:
        candidate, n = f"{slug}-{n}", n + 1
    return candidate


# --- OPML -------------------------------------------------------------------------------------

# Our own attribute on an OPML outline: the feed's id, so a list passed between colleagues keeps the
# `source` values of their CSV files (OPML has no id of its own; other readers ignore the attribute).
OPML_ID = "trackerId"
_HAN = re.compile(r"[\u3400-\u9fff]")


def read_opml(path: str | Path, *, taken: set[str] | None = None) -> tuple[list[FeedSource], list[str]]:
    """Feeds from an OPML file (every outline with an xmlUrl, at any depth), and the URLs of the
    outlines left out because they are not http(s) feeds."""
    taken = set(taken or ())
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise ConfigError(f"not a readable OPML file: {exc}", resource=str(path)) from exc
    if root.tag != "opml":
        raise ConfigError(f"not an OPML file: its root element is <{root.tag}>, not <opml>", resource=str(path))
    found: list[FeedSource] = []
    skipped: list[str] = []
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        if not url:
            continue
        if not is_remote(url):
            skipped.append(url)
            continue
        name = (outline.get("title") or outline.get("text") or url).strip()
        # Without a language attribute, a name in Chinese characters says more than a default.
        language = (outline.get("language") or ("zh" if _HAN.search(name) else "en")).split("-")[0].lower()
        own_id = (outline.get(OPML_ID) or "").strip()
        feed_id = own_id if _ID_RE.match(own_id) and own_id not in taken else \
            slug_for(name if name != url else url, taken=taken)
        taken.add(feed_id)
        found.append(FeedSource(id=feed_id, url=url, name=name,
                                language=language if _LANG_RE.match(language) else "en"))
    return found, skipped


def write_opml(sources: tuple[FeedSource, ...] | list[FeedSource], title: str = "Tension Tracker feeds") -> str:
    """The feeds as an OPML 2.0 document (local files are left out: they mean nothing elsewhere)."""
    opml = ET.Element("opml", version="2.0")
    head = ET.SubElement(opml, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(opml, "body")
    for source in sources:
        if not is_remote(source.url):
            continue
        ET.SubElement(body, "outline", {"type": "rss", "text": source.label, "title": source.label,
                                        "xmlUrl": source.url, "language": source.language, OPML_ID: source.id})
    ET.indent(opml)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(opml, encoding="unicode") + "\n"


def toml_block(source: FeedSource) -> str:
    """One [[feeds]] block, for appending imported feeds to a feeds file."""
    def q(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    lines = ["[[feeds]]", f"id = {q(source.id)}", f"name = {q(source.label)}", f"url = {q(source.url)}",
             f"language = {q(source.language)}"]
    if source.tags:
        lines.append("tags = [" + ", ".join(q(t) for t in source.tags) + "]")
    return "\n".join(lines) + "\n"


def import_opml(opml_path: str | Path, feeds_path: str | Path) -> tuple[list[FeedSource], int, list[str]]:
    """Append the OPML's feeds that are not in the feeds file yet. Returns (added, already present,
    URLs left out as not http(s))."""
    feeds_path = Path(feeds_path)
    existing = load_sources(feeds_path) if feeds_path.exists() else ()
    known_urls = {s.url for s in existing}
    candidates, skipped = read_opml(opml_path, taken={s.id for s in existing})
    if not candidates and not skipped:
        raise ConfigError("no feeds in this OPML file (no outline has an xmlUrl)", resource=str(opml_path))
    added = [s for s in candidates if s.url not in known_urls]
    if added:
        with feeds_path.open("a", encoding="utf-8") as out:
            out.write(f"\n# Imported from {Path(opml_path).name}\n")
            for source in added:
                out.write("\n" + toml_block(source))
        load_sources(feeds_path)  # fail loudly now if what we wrote is not readable
    return added, len(candidates) - len(added), skipped

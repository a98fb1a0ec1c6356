"""Feed documents to ParsedItems: the only module that imports feedparser.

Bytes and response headers in, a ParsedFeed of clean plain-text items out; no network,
no database. RSS 0.9x/1.0/2.0 and Atom go through feedparser, JSON Feed through the
standard json module.

    feed = parse_feed(source, result.content, fetched_at=now, url=result.url, headers=result.headers)

A document that is not a feed at all raises ParseError; a bad entry is skipped and
counted in ``ParsedFeed.skipped``; ill-formed XML that can still be read gives its
entries and a warning in ``ParsedFeed.warnings``.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import json
import re
import time
import xml.sax
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import feedparser

from tracker.errors import ParseError
from tracker.models import FeedSource, ParsedFeed, ParsedItem
from tracker.text import article_id, canonical_link, clean_text, normal_language, safe_link

__all__ = ["article_id", "canonical_link", "clean_text", "parse_feed", "safe_link"]

TITLE_CHARS = 500
SUMMARY_CHARS = 2000
# Dates later than this after the fetch, or before 1990, are typos or placeholders.
FUTURE_SLACK = dt.timedelta(days=2)
EARLIEST = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)
_MAX_SKIP_WARNINGS = 5

_HTML_START = re.compile(rb"<!doctype\s+html|<html[\s>]", re.IGNORECASE)
_JSON_FEED = "https://jsonfeed.org/version/"
_DOCTYPE = re.compile(r"<!DOCTYPE(?:[^\[>]|\[[^\]]*\])*>", re.IGNORECASE)
_PROLOG_ENCODING = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:\-]+)")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:\-]+)", re.IGNORECASE)
_SNIFFED = (  # (first bytes, codec) as in XML 1.0 appendix F
    (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF32_LE, "utf-32"), (b"\0\0\0<", "utf-32-be"),
    (b"<\0\0\0", "utf-32-le"), (codecs.BOM_UTF16_BE, "utf-16"), (codecs.BOM_UTF16_LE, "utf-16"),
    (b"\0<\0?", "utf-16-be"), (b"<\0?\0", "utf-16-le"), (b"Lo\xa7\x94", "cp037"),
)
_ASCII_SAFE = frozenset(
    {"utf-8", "ascii", "gb2312", "gbk", "gb18030", "big5", "big5hkscs", "cp950", "cp936", "cp949",
     "cp932", "euc_kr", "euc_jp", "shift_jis", "koi8-r", "koi8-u"}
)
_BIG5 = frozenset({"big5", "big5-tw", "csbig5", "cn-big5", "x-x-big5"})
_GUID_JUNK = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_STARTS_WITH_YEAR = re.compile(r"\s*\d{4}")
# ISO 8601 / W3C-DTF as feeds write it: basic or extended, "T" or a space, optional
# seconds, fraction and zone (Z, an offset, or a short name such as GMT).
_ISO_DATE = re.compile(
    r"(?P<y>\d{4})(?:-?(?P<m>\d\d)(?:-?(?P<d>\d\d)(?:[Tt ]+(?P<H>\d\d):?(?P<M>\d\d)"
    r"(?::?(?P<S>\d\d)(?:[.,]\d+)?)?\s*(?:[Zz]|[+-](?P<zh>\d\d)(?::?(?P<zm>\d\d))?|[A-Za-z]{1,5})?)?)?)?"
)


@dataclass(frozen=True)
class _Document:
    """What a reader found: feed-level fields, entries in feedparser's shape, warnings."""

    feed: Mapping[str, Any]
    entries: list[Mapping[str, Any]]
    warnings: list[str]
    malformed: str | None = None  # why the document is not well-formed, when it was read anyway


@dataclass(frozen=True)
class _Context:
    source: FeedSource
    base: str | None
    fetched_at: dt.datetime
    feed_language: str | None
    header_language: str | None


def parse_feed(
    source: FeedSource,
    content: bytes,
    *,
    fetched_at: dt.datetime,
    url: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> ParsedFeed:
    """Parse one fetched document into clean items.

    ``url`` is where the document was fetched from (after redirects; relative links
    are resolved against it, or against ``source.url``); ``headers`` are the response
    headers (Content-Type, Content-Location and Content-Language are used).
    ``fetched_at`` must be timezone-aware: it dates items whose feed gives no usable date.

    Raises ParseError when the document is not a feed: empty, an HTML page, a JSON
    document other than a JSON Feed, text or XML without a feed element.
    """
    if fetched_at.tzinfo is None:
        raise ValueError("fetched_at must be timezone-aware")
    resource = url or source.url
    hdrs = {key.lower(): value for key, value in (headers or {}).items()}
    base = _document_base(url or source.url, hdrs.get("content-location"))
    body = content.removeprefix(codecs.BOM_UTF8).lstrip()
    if not body:
        raise ParseError("empty document", resource=resource)
    if body[:1] in (b"{", b"["):
        doc = _read_json_feed(content, resource)
    else:
        doc = _read_xml_feed(content, hdrs, base, resource)
    context = _Context(
        source=source,
        base=base,
        fetched_at=fetched_at.astimezone(dt.UTC),
        feed_language=doc.feed.get("language"),
        header_language=hdrs.get("content-language"),
    )
    items, skips = _convert_entries(doc, context)
    skip_notes = [f"skipped entry {index}: {reason}" for index, reason in skips[:_MAX_SKIP_WARNINGS]]
    title = doc.feed.get("title")
    return ParsedFeed(
        source=source,
        title=clean_text(title, TITLE_CHARS) if isinstance(title, str) else "",
        items=tuple(items),
        skipped=len(skips),
        warnings=tuple(doc.warnings + skip_notes),
        malformed=doc.malformed,
    )


def _document_base(url: str, content_location: str | None) -> str | None:
    base = safe_link(url)
    if content_location:
        return safe_link(content_location, base) or base
    return base


def _read_xml_feed(content: bytes, hdrs: dict[str, str], base: str | None, resource: str) -> _Document:
    warnings: list[str] = []
    charsets = _declared_charsets(content, hdrs)
    safe_content, removed = _without_doctype(content, charsets)
    if removed:
        warnings.append("removed the DOCTYPE: entities declared in feeds are never expanded")
    # Without a Content-Type feedparser honours the XML declaration, else UTF-8 (as with
    # no headers at all); with other headers but none of these it would assume ISO-8859-1.
    fp_headers = {"content-type": "application/xml", **hdrs, "content-location": ""}
    fp_headers["content-type"] = _widened_big5(content, charsets) or fp_headers["content-type"]
    # With a base, feedparser resolves xml:base scopes right (without one, an item's
    # xml:base leaks into the items after it) but joins URLs at every element, ~30% of
    # its time. Without any xml:base, joining entry links with the base afterwards is
    # the same, so hand it over only when the document may have one.
    if base and (b"base=" in content or not all(map(_ascii_safe, charsets))):
        fp_headers["content-location"] = base
    try:
        # A stream, never bytes or str: feedparser opens a bytes or str argument as a
        # file path, or fetches it when it looks like a URL.
        result = feedparser.parse(
            io.BytesIO(safe_content),
            response_headers=fp_headers,
            sanitize_html=False,  # we strip all markup ourselves
            resolve_relative_uris=False,  # only affects links inside HTML, which we drop
        )
    except Exception as exc:  # feedparser's loose parser has crashed on odd input before
        raise ParseError(f"feedparser failed: {exc!r}", resource=resource) from exc
    problem = _not_a_feed(result, content)
    if problem:
        raise ParseError(problem, resource=resource)
    if not result.get("version"):
        warnings.append("unknown feed format: entries found without a feed element")
    malformed = None
    if result.get("bozo"):
        bozo = result.get("bozo_exception")
        warnings.append(f"{type(bozo).__name__}: {bozo}")
        # A document cut short or broken (feedparser's loose parser reads what it can): its entries
        # are stored, but the feed's health says that some may be missing. Other bozo reasons (a
        # charset declared wrong) lose nothing.
        if isinstance(bozo, xml.sax.SAXParseException):
            malformed = (f"partly read: not well-formed XML ({bozo.getMessage()}, line {bozo.getLineNumber()}); "
                         "entries after that point may be missing")
    return _Document(result["feed"], result["entries"], warnings, malformed)


def _not_a_feed(result: Mapping[str, Any], content: bytes) -> str | None:
    if result.get("version"):
        return None
    if _HTML_START.search(content, 0, 4096):
        return "not a feed: looks like an HTML page"
    if result.get("entries"):
        return None
    exc = result.get("bozo_exception")
    return "not a feed: no RSS, RDF or Atom document element" + (f" ({exc})" if exc else "")


def _declared_charsets(content: bytes, hdrs: Mapping[str, str]) -> list[str]:
    """Encodings feedparser may decode with, besides ASCII-compatible fallbacks."""
    found = [codec for start, codec in _SNIFFED if content.startswith(start)][:1]
    header = _CHARSET.search(hdrs.get("content-type", ""))
    prolog = _PROLOG_ENCODING.match(content)
    found += [header.group(1).lower()] if header else []
    found += [prolog.group(1).decode("ascii").lower()] if prolog else []
    return found


def _without_doctype(content: bytes, charsets: Iterable[str]) -> tuple[bytes, bool]:
    """Drop any DOCTYPE before the document element, in every encoding feedparser may use.

    feedparser keeps entity declarations whose value has no "&" and its loose parser
    expands them without limit: a 100 kB entity used 20,000 times is 2 GB. Without a
    DOCTYPE nothing is declared, and expat never sees a DTD to fetch.
    """
    removed = False
    # latin-1 stands for every ASCII-safe encoding, and the others are decoded.
    for codec in ["latin-1", *(c for c in charsets if not _ascii_safe(c))]:
        try:
            text = content.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        stripped = _drop_doctypes(text)
        if stripped != text:
            content, removed = stripped.encode(codec), True
    return content, removed


def _drop_doctypes(text: str) -> str:
    """``text`` without the declarations before its document element.

    The prolog is read as XML reads it: comments and processing instructions are passed
    whole, so a "<a" inside one does not end the prolog early (leaving the DOCTYPE after
    it in place), and a DOCTYPE inside a comment cannot swallow the comment's end. Such a
    DOCTYPE is broken up instead ("< !"), since feedparser's own filter finds declarations
    even inside comments and would hand their entities to its loose parser.
    """
    parts: list[str] = []
    pos = 0
    while (start := text.find("<", pos)) >= 0 and text[start + 1 : start + 2] in ("!", "?"):
        parts.append(text[pos:start])
        if text.startswith("<!--", start):
            body_end = _find_or_end(text, "-->", start + 4)
            end = min(body_end + 3, len(text))
            parts.append("<!--" + text[start + 4 : body_end].replace("<!", "< !") + text[body_end:end])
        elif text.startswith("<?", start):
            end = min(_find_or_end(text, "?>", start + 2) + 2, len(text))
            parts.append(text[start:end])
        else:  # a DOCTYPE, or a stray declaration: never kept
            whole = _DOCTYPE.match(text, start)
            end = whole.end() if whole else min(_find_or_end(text, ">", start) + 1, len(text))
        pos = end
    return "".join(parts) + text[pos:]


def _find_or_end(text: str, what: str, start: int) -> int:
    found = text.find(what, start)
    return len(text) if found < 0 else found


def _ascii_safe(charset: str) -> bool:
    """True when every ASCII byte stands for that character (UTF-8, GB18030, Big5, ...).

    Not so in UTF-16/32, EBCDIC, or UTF-7, ISO-2022 and HZ, whose escapes turn ASCII
    bytes into other text ("+ADw-" is "<" in UTF-7).
    """
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        return True  # feedparser cannot decode with it either
    return name in _ASCII_SAFE or name.startswith(("iso8859-", "cp125", "mac-"))


def _widened_big5(content: bytes, charsets: Iterable[str]) -> str | None:
    """A Content-Type naming Big5-HKSCS when "Big5" text uses Hong Kong or Windows extensions.

    Strict Big5 fails on them and feedparser would fall back to ISO-8859-2 (mojibake).
    """
    if not _BIG5.intersection(charsets):
        return None
    for codec in ("big5", "big5hkscs", "cp950"):
        try:
            content.decode(codec)
        except UnicodeDecodeError:
            continue
        return None if codec == "big5" else f"application/xml; charset={codec}"
    return None


def _read_json_feed(content: bytes, resource: str) -> _Document:
    try:
        doc = json.loads(content)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"not a feed: not valid JSON ({exc})", resource=resource) from exc
    if not (isinstance(doc, dict) and str(doc.get("version", "")).startswith(_JSON_FEED)):
        raise ParseError("not a feed: a JSON document that is not a JSON Feed", resource=resource)
    items = doc.get("items")
    if not isinstance(items, list):
        items = []
    feed = {"title": doc.get("title"), "language": doc.get("language")}
    # An item that is not an object becomes an empty entry, skipped like any bad entry.
    entries = [_json_entry(item) if isinstance(item, dict) else {} for item in items]
    return _Document(feed, entries, [])


def _json_entry(item: dict[str, Any]) -> Mapping[str, Any]:
    """A JSON Feed item in feedparser's entry shape.

    A field of the wrong type (a list for a title, a dict for a URL) is left out, not
    allowed to cost the item its other fields.
    """
    ident = item.get("id")
    external = _json_text(item, "external_url")
    return {
        "title": _json_text(item, "title"),
        "link": _json_text(item, "url"),
        "links": [{"href": external}] if external else [],  # the fallback when url is unusable
        "id": str(ident) if isinstance(ident, str | int | float) and not isinstance(ident, bool) else None,
        "summary": _json_text(item, "summary", "content_html", "content_text"),
        "published_parsed": _iso_struct(item.get("date_published")),
        "updated_parsed": _iso_struct(item.get("date_modified")),
        "language": _json_text(item, "language"),
    }


def _json_text(item: dict[str, Any], *keys: str) -> str | None:
    """The first of ``keys`` that holds a non-blank string."""
    for key in keys:
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _iso_struct(value: object) -> time.struct_time | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).timetuple()


def _convert_entries(doc: _Document, context: _Context) -> tuple[list[ParsedItem], list[tuple[int, str]]]:
    items: list[ParsedItem] = []
    skips: list[tuple[int, str]] = []
    for index, entry in enumerate(doc.entries):
        try:
            # A plain dict: FeedParserDict's key aliases are slow, and it warns
            # (DeprecationWarning) when "updated_parsed" is read but only "published" exists.
            items.append(_to_item(dict(entry), context))
        except Exception as exc:  # one bad entry must never cost the others
            skips.append((index, f"{type(exc).__name__}: {exc}"))
    return items, skips


def _to_item(entry: Mapping[str, Any], context: _Context) -> ParsedItem:
    title = clean_text(entry.get("title") or "", TITLE_CHARS)
    summary = clean_text(_summary_markup(entry), SUMMARY_CHARS)
    link = _entry_link(entry, context.base)
    guid = _guid(entry.get("id"))
    if guid and entry.get("guidislink"):
        # feedparser resolves a permalink guid only when it was given the base.
        guid = safe_link(guid, context.base) or guid
    if not (title or summary or link):
        raise ValueError("no title, summary or link")
    published, is_fallback = _published(entry, context.fetched_at)
    return ParsedItem(
        id=article_id(
            link,
            guid,
            source_url=context.source.url,
            title=title or summary,
            published=None if is_fallback else published,
        ),
        title=title,
        summary=summary,
        link=link,
        guid=guid,
        published=published,
        published_is_fallback=is_fallback,
        language=_language(entry, context),
    )


def _guid(value: object) -> str | None:
    # Stored as given, so without the characters no database can hold (lone surrogates
    # from JSON or a "&#xD800;") or that nothing should show (controls).
    if not isinstance(value, str):
        return None
    return _GUID_JUNK.sub("", value).strip() or None


def _summary_markup(entry: Mapping[str, Any]) -> str:
    summary = entry.get("summary")
    if summary:
        return str(summary)
    for content in entry.get("content") or ():
        if content.get("value"):
            return str(content["value"])
    return ""


def _entry_link(entry: Mapping[str, Any], base: str | None) -> str | None:
    """The entry's canonical link: the form stored, and hashed into the id."""
    # feedparser has resolved these against xml:base (and the base, when it had it),
    # and put a permalink guid in "link" when the item has no <link>.
    candidates = [entry.get("link")]
    candidates += [
        link.get("href") for link in entry.get("links") or () if link.get("rel", "alternate") == "alternate"
    ]
    for candidate in candidates:
        link = canonical_link(safe_link(candidate, base) or "")
        if link:
            return link
    return None


def _published(entry: Mapping[str, Any], fetched_at: dt.datetime) -> tuple[dt.datetime, bool]:
    latest = fetched_at + FUTURE_SLACK
    for key in ("published", "updated", "created"):
        parsed = entry.get(f"{key}_parsed")
        if not parsed or _impossible_date(entry.get(key)):
            continue
        try:
            year, month, day, hour, minute, second = parsed[:6]
            moment = dt.datetime(year, month, day, hour, minute, min(second, 59), tzinfo=dt.UTC)
        except (TypeError, ValueError, OverflowError):
            continue
        if EARLIEST <= moment <= latest:
            return moment, False
    return fetched_at, True


def _impossible_date(raw: object) -> bool:
    """True for a date string that starts with a year but is no valid ISO 8601 date.

    feedparser normalises impossible values ("2024-13-45" becomes 2025-01-01, "T25:14"
    the next day) and misreads text that starts with a year ("2013-xx-27" becomes
    1 November), which would date an article wrongly instead of marking it undated.
    """
    if not isinstance(raw, str) or not _STARTS_WITH_YEAR.match(raw):
        return False
    match = _ISO_DATE.fullmatch(raw.strip())
    if match is None:
        return True
    try:
        dt.date(int(match["y"]), int(match["m"] or 1), int(match["d"] or 1))
    except ValueError:
        return True
    hour, minute, second, zone_hour, zone_minute = (int(match[k] or 0) for k in ("H", "M", "S", "zh", "zm"))
    valid_time = (hour, minute, second) <= (24, 0, 0) and minute <= 59 and second <= 60
    return not (valid_time and zone_hour <= 14 and zone_minute <= 59)


def _language(entry: Mapping[str, Any], context: _Context) -> str:
    own = entry.get("language")
    for detail in (entry.get("title_detail"), entry.get("summary_detail")):
        own = own or (detail or {}).get("language")
    # feedparser gives entries the Content-Language header as their language even when
    # the feed declares another: only an entry's own xml:lang beats the feed's.
    if own == context.header_language:
        own = None
    chosen = own or context.feed_language or context.header_language
    return normal_language(chosen) or normal_language(context.source.language) or context.source.language

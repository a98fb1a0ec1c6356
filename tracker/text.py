"""Plain text, safe links and article ids from feed markup: pure string functions.

Everything a feed says is data, never markup: ``clean_text`` keeps only the words,
``safe_link`` keeps only absolute http(s) URLs, ``canonical_link`` gives the form
used to recognise one story reached through different feeds, and ``article_id``
hashes it into the id that stays stable across polls and feeds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
from functools import lru_cache
from html.parser import HTMLParser
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

__all__ = ["article_id", "canonical_link", "clean_text", "normal_language", "safe_link", "shorten"]

# Elements whose content is never text for a reader. Only elements with an end tag:
# a void element here (embed, img) would swallow the rest of the document.
_DROPPED = frozenset(
    {"script", "style", "template", "noscript", "iframe", "object", "applet", "svg", "math", "head",
     "select", "textarea"}
)
# Elements that separate words: "<p>a</p><p>b</p>" is "a b", not "ab".
_BLOCKS = frozenset(
    {"address", "article", "aside", "blockquote", "br", "caption", "dd", "div", "dl", "dt",
     "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "img",
     "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th",
     "thead", "tr", "ul"}
)
# Markup left after a pass means the feed escaped it twice (&amp;lt;b&amp;gt;): parse again.
_MARKUP_LEFT = re.compile(r"<[A-Za-z/!?]|&(?:#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_MAX_PASSES = 4
# C0/C1 controls (whitespace among them is folded anyway), invisible format characters
# and bidi overrides, BOMs, non-characters and lone surrogates.
_CONTROLS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u2069\ufeff\ufffe\uffff\ud800-\udfff]"
)
_ELLIPSIS = "…"

_WEB_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_URL = 4096
# Controls, tabs and line breaks (which browsers strip, so "java\tscript:" runs),
# invisible or bidi characters that make a URL look like another, and lone surrogates
# (JSON can carry them; no database encoding can).
_URL_CONTROLS = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ud800-\udfff]"
)
# Characters a browser percent-encodes when it parses a URL; encoded, a stored link can
# hold no tag and cannot close the quoted attribute it is written into.
_URL_ESCAPES = str.maketrans({" ": "%20", '"': "%22", "<": "%3C", ">": "%3E", "`": "%60"})
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_SPACE = re.compile(r"\s")
_TRACKING = frozenset(
    {"fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid",
     "igshid", "yclid", "twclid", "ttclid", "li_fat_id", "mkt_tok", "_ga", "_gl", "_hsenc", "_hsmi",
     "ref_src", "ref_url", "oly_anon_id", "oly_enc_id", "vero_id", "wickedid", "rb_clickid",
     "s_cid", "cmpid", "ocid", "smid", "smtyp", "at_medium", "at_campaign", "sr_share"}
)
_LANGUAGE = re.compile(r"[a-z]{2,3}")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.dropping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            self.dropping += 1
        elif tag in _BLOCKS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self.dropping = max(0, self.dropping - 1)
        elif tag in _BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.parts.append(data)

    def parse_marked_section(self, i: int, report: bool = True) -> int:
        # The stdlib raises AssertionError on "<![" without a known keyword ("<![><img ...");
        # browsers read that as a bogus comment ending at the next ">", and so do we.
        try:
            return super().parse_marked_section(i, report)
        except AssertionError:
            end = self.rawdata.find(">", i + 3)
            return -1 if end < 0 else end + 1


def _text_of(markup: str) -> str:
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


def clean_text(markup: str, max_chars: int | None = None) -> str:
    """Plain text of an HTML fragment or of plain text with entities.

    Tags go, the contents of script, style and similar elements go with them, entities
    are decoded (also when escaped twice), control characters are removed and
    whitespace is folded. With ``max_chars``, longer text is cut at a word boundary and
    ends with "…" (the result is at most ``max_chars`` long).

    >>> clean_text("<p>Drills &amp; <b>patrols</b></p><script>x()</script>")
    'Drills & patrols'
    """
    # Controls go before each pass: "<\x00script>" or "<&#x200B;script>" is a tag once they are gone.
    text = _CONTROLS.sub("", markup)
    for _ in range(_MAX_PASSES):
        if "<" not in text and "&" not in text:
            break
        text = _CONTROLS.sub("", _text_of(text))
        if not _MARKUP_LEFT.search(text):
            break
    # Escaped more often than we unwrap: no tag may survive, so break what looks like one.
    text = " ".join(_TAG_START.sub("", text).split())
    if max_chars is not None and len(text) > max_chars:
        text = _truncate(text, max_chars)
    return text


def shorten(text: str, max_chars: int) -> str:
    """``text`` if it fits in ``max_chars``, else cut at a word where one is near, with an ellipsis."""
    return text if len(text) <= max_chars else _truncate(text, max_chars)


def _truncate(text: str, max_chars: int) -> str:
    if max_chars < 1:
        return ""
    cut = text[: max_chars - 1]
    space = cut.rfind(" ")
    # Text without spaces (Chinese, a long URL) is cut where the limit falls.
    if space > max_chars // 2:
        cut = cut[:space]
    return cut.rstrip() + _ELLIPSIS


def _scheme(url: str) -> str:
    match = _SCHEME.match(_SPACE.sub("", url))
    return match.group(1).lower() if match else ""


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    return parts.scheme in _WEB_SCHEMES and bool(parts.hostname) and "\\" not in parts.netloc


def safe_link(url: str | None, base: str | None = None) -> str | None:
    """``url`` as an absolute http(s) URL, resolved against ``base``, or None.

    Refused: any other scheme (javascript:, data:, vbscript:, file:, ...) in any letter
    case, also when hidden behind whitespace or HTML entities; URLs holding control
    characters; relative URLs without an http(s) base. The scheme is lower-cased and
    spaces, ``"``, ``<``, ``>`` and backticks are percent-encoded (as browsers do); the
    rest stays as written.

    >>> safe_link("../b?x=1", "https://example.com/a/feed")
    'https://example.com/b?x=1'
    >>> safe_link(" JavaScript:alert(1)") is None
    True
    """
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url or len(url) > _MAX_URL or _URL_CONTROLS.search(url):
        return None
    # "&#106;avascript:" decodes to "javascript:" wherever it is rendered as HTML.
    if _scheme(url) not in ("", *_WEB_SCHEMES) or _scheme(html.unescape(url)) not in ("", *_WEB_SCHEMES):
        return None
    if not _scheme(url):
        if not base or safe_link(base) is None:
            return None
        try:
            url = urljoin(base.strip(), url)
        except ValueError:
            return None
    scheme, _, rest = url.translate(_URL_ESCAPES).partition(":")
    url = f"{scheme.lower()}:{rest}"
    return url if _is_web_url(url) else None


def _is_tracking(pair: str) -> bool:
    key = unquote_plus(pair.partition("=")[0]).lower()
    return key.startswith("utm_") or key in _TRACKING


# A poll asks for the canonical form of each link two or three times (the item's link, its id,
# its story): remember recent answers. Pure function of a string, so a cache cannot go stale.
@lru_cache(maxsize=32768)
def canonical_link(url: str) -> str | None:
    """The form of a link used to recognise one story in different feeds; None if not http(s).

    Scheme and host lower-cased, user info and default port dropped, an empty path
    made "/", the fragment removed (unless it is a route, "#!/..." or "#/...", which
    names the page on some sites), tracking parameters (utm_*, fbclid, gclid, ...)
    removed; other query parameters are kept as written and in their order.

    >>> canonical_link("HTTPS://Example.COM:443/a?id=7&utm_source=rss#top")
    'https://example.com/a?id=7'
    """
    link = safe_link(url)
    if link is None:
        return None
    parts = urlsplit(link)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{parts.port}"
    query = "&".join(pair for pair in parts.query.split("&") if pair and not _is_tracking(pair))
    fragment = parts.fragment if parts.fragment.startswith(("!", "/")) else ""
    return urlunsplit((scheme, host, parts.path or "/", query, fragment))


def normal_language(value: object) -> str | None:
    """The lower-case primary subtag of a language tag ("zh-TW" -> "zh"), or None.

    >>> normal_language("en_US"), normal_language("Chinese")
    ('en', None)
    """
    if not isinstance(value, str):
        return None
    primary = value.split(",")[0].strip().replace("_", "-").split("-")[0].lower()
    return primary if _LANGUAGE.fullmatch(primary) else None


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def article_id(
    link: str | None,
    guid: str | None,
    *,
    source_url: str = "",
    title: str = "",
    published: dt.datetime | None = None,
) -> str:
    """A stable id for an article: hex SHA-1 of its canonical link.

    Without a usable link: of the guid (an http(s) guid by its canonical form, like a
    link; a guid that is no URI, such as "12345", only within its feed, since such
    guids repeat across feeds). Without either: of the feed URL, title and the date
    the feed gave (never the fetch time, which changes on every poll).
    """
    canonical = canonical_link(link) if link else None
    if canonical is None and guid:
        canonical = canonical_link(guid)
    if canonical:
        return _sha1(canonical)
    if guid:
        return _sha1(f"guid\n{guid}" if _URI.match(guid) else f"guid\n{source_url}\n{guid}")
    date = published.astimezone(dt.UTC).isoformat() if published else ""
    return _sha1(f"item\n{source_url}\n{title}\n{date}")

"""Story clustering: articles from different outlets that report the same event become one story.

Pure functions: articles in, story ids out; no database, no I/O.

Two articles are the same story (``same_story``) when they were published within ``WINDOW`` of each
other and one of these holds, strongest first:

- the same canonical link;
- the same title after ``normalise_title`` (case, punctuation, outlet suffixes, "BREAKING:" prefixes);
- similar titles: Jaccard similarity of their title tokens (word stems; Chinese character bigrams) of
  at least ``TITLE_THRESHOLD``;
- similar text: Jaccard similarity of their title+summary shingles (word bigrams; Chinese character
  trigrams) of at least ``TEXT_THRESHOLD``: a copy under a rewritten headline.

Text is compared after folding Traditional to Simplified characters (``tracker.hanzi``), so a Taipei
and a Beijing outlet that carry the same wire copy match. English and Chinese reports of one event
share no tokens and stay apart.

A story is a connected component of that relation (single linkage). ``assign_stories`` computes it
incrementally with union-find. Large batches never compare all pairs: exact indexes (link, title) and
sparse matrix products over title tokens and text shingles (exact, within the window; for texts, a
product of each text's rarest shingles, then the overlap of the pairs it finds) find the candidate
pairs, and every candidate is then checked with the rules of ``same_story``. A story's id
is a pure function of its members, so the partition and the ids do not depend on arrival order.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import os
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import chain, count
from typing import NamedTuple

import numpy as np
import snowballstemmer
from scipy.sparse import csr_matrix

from tracker.hanzi import fold
from tracker.text import canonical_link

__all__ = ["WINDOW", "Story", "StoryArticle", "assign_stories", "build_stories", "normalise_title",
           "same_story", "story_id_for", "story_renames"]

WINDOW = dt.timedelta(hours=72)

# Thresholds, chosen on the "tune" half of tests/data/story_pairs.tsv (real items, labelled by reading
# them) and checked on the other half; see docs/index.md. Both are set for precision: merging two
# different events hides one of them, while a missed merge only counts one event twice. Lower
# thresholds catch more rewrites of one event but start to join follow-ups and reactions (which are
# other stories) and make the candidate search slower. Title 0.35: precision 1.00, recall 0.27 on tune
# (0.30 lets in 2 wrong pairs of 29; 0.25, 5 of 42). Text 0.4 on bigrams: copies and close rewrites.
TITLE_THRESHOLD = 0.35
TEXT_THRESHOLD = 0.4
# Generic short titles ("Live updates", "新闻联播") must not link stories on their own.
MIN_TITLE_TOKENS = 4
MIN_TEXT_SHINGLES = 8
# One outlet repeating a title or a boilerplate summary is usually a recurring column, not a
# re-post: within a source, only a link or near-identical text links two articles. This is also the
# guard against daily items chaining into a story months long.
SAME_SOURCE_TEXT_THRESHOLD = 0.8


@dataclass(frozen=True)
class StoryArticle:
    """What clustering needs to know about an article. ``published`` is aware UTC."""

    id: str
    title: str
    summary: str
    link: str | None
    published: dt.datetime
    source_id: str
    language: str
    topics: tuple[str, ...] = ()
    story_id: str | None = None


@dataclass(frozen=True)
class Story:
    """A group of articles reporting one event; ``topics`` is the union of its articles' topics."""

    id: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    headline: str
    article_ids: tuple[str, ...]
    outlets: tuple[str, ...]
    topics: tuple[str, ...]


# --- normalisation ------------------------------------------------------------------------------

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_WORD = re.compile(rf"[^\W_{_CJK}]+")  # letters and digits; CJK is read as characters, not words
# Labels in front of a headline: "BREAKING:", "Live:", "WATCH -", "[兩岸]", "【快讯】".
_PREFIX = re.compile(
    r"^\s*(?:(?:breaking(?: news)?|live(?: updates?)?|watch|video|update[sd]?|exclusive|opinion|analysis"
    r"|explainer|factbox|firstft|just in|快讯|快訊|独家|獨家|视频|視頻|直播|最新)\s*[:：|\-–—]+"
    r"|[\[【〔(（][^\]】〕)）]{1,12}[\]】〕)）])\s*",
    re.IGNORECASE)
# An outlet or a format after a separator at the end: " - Reuters", " | CNN", " – video", "：央视新闻".
_SUFFIX = re.compile(
    r"\s+[-|–—]\s+(?:reuters|ap|afp|bloomberg|cnn|bbc(?: news)?|the guardian|guardian|video|audio|podcast"
    r"|live|reports?|opinion|analysis|photos?|the new york times|nyt|al jazeera|cna|sky news|fox news"
    r"|[\w .']{1,40}(?:news|times|post|journal|herald|tribune|radio|tv))\s*$"
    r"|\s*[:：|｜\-–—]\s*(?:央视新闻|央视网|新华社|新华网|人民日报|人民网|中新网|中新社|中央社|环球时报|凤凰网"
    r"|联合新闻网|自由时报|公视新闻|华视新闻|东森新闻|三立新闻)\s*$"
    r"|\s+-\s+\d{6}(?:-\d+)?\s*$",
    re.IGNORECASE)
_PUNCT = re.compile(r"[^\w\s]|_")
_SPACE = re.compile(r"\s+")
_CJK_GAP = re.compile(rf"\s+(?=[{_CJK}])|(?<=[{_CJK}])\s+")

_STOPWORD_TEXT = """
a an the of to in on at for from by with as and or but nor is are was were be been being am has have
had having will would shall should can could may might must do does did doing not no it its it's this
that these those he she they we you i me him her them us our your their his hers theirs what which who
whom whose why how when where while than then there here so if into onto about above below over under
after before amid amidst against between among up down out off again further once also just more most
very too only own same such says said say saying new s t
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
# Spelling variants that would otherwise make "defence" and "defense" two words.
_SPELLING = {"defence": "defense", "offence": "offense", "manoeuvre": "maneuver", "manoeuvres": "maneuvers",
             "programme": "program", "programmes": "programs", "centre": "center", "licence": "license",
             "armour": "armor", "honour": "honor", "rumour": "rumor", "labour": "labor"}
_STEMMER = snowballstemmer.stemmer("english")


def _fold(text: str) -> str:
    text = fold(unicodedata.normalize("NFKC", text)).casefold()
    return text.replace("u.s.", "us").replace("u.k.", "uk").replace("’", "'")


def normalise_title(title: str) -> str:
    """The title with case, width, script (Traditional to Simplified), punctuation, spacing, outlet
    suffixes and labels such as "BREAKING:" removed, so copies of one headline compare equal.

    >>> normalise_title("BREAKING: Navy Sends 12 Frigates Toward Atoll - Reuters")
    'navy sends 12 frigates toward atoll'
    """
    text = _fold(title).strip()
    for _ in range(3):  # "Live: [兩岸] ..." carries more than one label
        stripped = _SUFFIX.sub("", _PREFIX.sub("", text))
        if stripped == text:
            break
        text = stripped
    text = _PUNCT.sub(" ", text)
    text = _CJK_GAP.sub("", text)  # CJK has no word spaces
    return _SPACE.sub(" ", text).strip()


_MAX_STEMS = 1 << 17  # distinct words; the 50,000 real items of the benchmark hold about 70,000


class _Stems(dict[str, str | None]):
    """Word -> its stem, or None for a word that is not kept (a stopword, a lone letter). A dict
    rather than lru_cache, so a word seen before costs one lookup in C; emptied when full."""

    def __missing__(self, word: str) -> str | None:
        if len(self) >= _MAX_STEMS:
            self.clear()
        kept = word not in _STOPWORDS and (len(word) > 1 or word.isdigit())
        stem = str(_STEMMER.stemWord(_SPELLING.get(word, word))) if kept else None
        self[word] = stem
        return stem


_STEMS = _Stems()


def _words(normalised: str) -> tuple[str, ...]:
    """Word stems in order, stopwords dropped."""
    return tuple(s for s in map(_STEMS.__getitem__, _WORD.findall(normalised)) if s is not None)


class _Text(NamedTuple):
    """What clustering reads from an article's link, title and summary. The text is the title, a
    space, then the summary, so its words and CJK runs are the title's followed by the summary's."""

    link: str | None
    title: str
    title_words: tuple[str, ...]
    title_runs: tuple[str, ...]
    text_words: tuple[str, ...]
    text_runs: tuple[str, ...]


# The store clusters each batch against the clustered articles around it, so the same texts come
# back call after call. An entry takes about 1.6 kB with its key (stems are shared strings): 16k
# entries, 26 MB, hold the window of a store taking up to ~2,500 articles a day.
@lru_cache(maxsize=1 << 14)
def _text(title: str, summary: str, link: str | None) -> _Text:
    normalised = normalise_title(title)
    rest = _PUNCT.sub(" ", _fold(summary))
    title_words, title_runs = _words(normalised), tuple(_CJK_RUN.findall(normalised))
    return _Text(canonical_link(link) if link else None, normalised, title_words, title_runs,
                 title_words + _words(rest), title_runs + tuple(_CJK_RUN.findall(rest)))


def _grams(run: str, n: int) -> Iterator[str]:
    """The character n-grams of a CJK run; a shorter run is one gram."""
    return (run[i:i + n] for i in range(max(1, len(run) - n + 1)))


def _tokens(words: Iterable[str], runs: Iterable[str]) -> frozenset[str]:
    """Word stems and CJK character bigrams: what a title is made of."""
    return frozenset(chain(words, *(_grams(run, 2) for run in runs)))


def _shingles(words: Sequence[str], runs: Iterable[str]) -> frozenset[str]:
    """Word bigrams and CJK character trigrams: what a copied text shares with its source."""
    return frozenset(chain((f"{a} {b}" for a, b in zip(words, words[1:], strict=False)),
                           *(_grams(run, 3) for run in runs)))


def clear_caches() -> None:
    """Forget the cached texts and stems, as a fresh process would start (the benchmark runs each
    poll from a cold start)."""
    _text.cache_clear()
    _STEMS.clear()


class _Prepared:
    """An article and what the rules read from it. The candidate search counts tokens for all
    articles at once (``_token_matrices``), so the sets are only built for articles it proposes."""

    def __init__(self, article: StoryArticle) -> None:
        self.article = article
        self.text = _text(article.title, article.summary, article.link)
        self.link = self.text.link
        self.title = self.text.title
        self.ts = article.published.timestamp()  # in seconds: cheap to compare and to bisect

    @cached_property
    def title_tokens(self) -> frozenset[str]:
        return _tokens(self.text.title_words, self.text.title_runs)

    @cached_property
    def text_shingles(self) -> frozenset[str]:
        return _shingles(self.text.text_words, self.text.text_runs)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared) if shared else 0.0


def _decide(a: _Prepared, b: _Prepared) -> str | None:
    if abs(a.article.published - b.article.published) > WINDOW:
        return None
    if a.link is not None and a.link == b.link:
        return "same link"
    text = (_jaccard(a.text_shingles, b.text_shingles)
            if min(len(a.text_shingles), len(b.text_shingles)) >= MIN_TEXT_SHINGLES else 0.0)
    if a.article.source_id == b.article.source_id:
        return f"similar text {text:.2f}" if text >= SAME_SOURCE_TEXT_THRESHOLD else None
    if min(len(a.title_tokens), len(b.title_tokens)) >= MIN_TITLE_TOKENS:
        if a.title == b.title:
            return "same title"
        title = _jaccard(a.title_tokens, b.title_tokens)
        if title >= TITLE_THRESHOLD:
            return f"similar title {title:.2f}"
    return f"similar text {text:.2f}" if text >= TEXT_THRESHOLD else None


def same_story(a: StoryArticle, b: StoryArticle) -> str | None:
    """Why ``a`` and ``b`` report the same story ("same link", "same title", "similar title 0.62",
    "similar text 0.41"), or None when they do not (or were published more than ``WINDOW`` apart)."""
    return _decide(_Prepared(a), _Prepared(b))


# --- clustering ---------------------------------------------------------------------------------

def _founder_key(article: StoryArticle) -> str:
    # Sorts like (published to the second, id): the id of a story is "s" + its earliest member's key,
    # so the smallest id among merged stories is the id of the merged story.
    return f"{article.published.astimezone(dt.UTC):%Y%m%dT%H%M%S}-{article.id}"


def story_id_for(article: StoryArticle) -> str:
    """The id of a story whose earliest member (by published time to the second, then id) is ``article``."""
    return "s" + _founder_key(article)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        root = self.parent.setdefault(x, x)
        while root != self.parent[root]:
            root = self.parent[root]
        while x != root:  # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


# A flood of near-identical items (one outlet's numbered updates, say) would make every pair a
# candidate. Each new article is checked against at most this many candidates per search, the
# nearest in time first (for similarity, of those that pass the search's own threshold): ordinary
# news never comes close, and the flood stays linear. Beyond the cap, which pairs get checked can
# depend on arrival order.
MAX_CANDIDATES = 64
# New rows per sparse product in _similar_pairs: bounds the memory of one product. Products run on
# up to _THREADS threads at once (one per core, at most 4, so memory stays bounded on a big machine).
_BLOCK = 256
_THREADS = min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def _nearest(items: list[_Prepared], i: int, candidates: Iterable[int]) -> list[int]:
    """The candidates within WINDOW of item i, at most MAX_CANDIDATES of them, nearest first."""
    when, window = items[i].ts, WINDOW.total_seconds()
    near = [j for j in candidates if j != i and abs(items[j].ts - when) <= window]
    if len(near) <= MAX_CANDIDATES:
        return near
    return heapq.nsmallest(MAX_CANDIDATES, near, key=lambda j: (abs(items[j].ts - when), items[j].article.id))


def _matrix(rows: np.ndarray, keys: np.ndarray, height: int) -> tuple[csr_matrix, np.ndarray]:
    """A sparse 0/1 matrix with a 1 at (row, key) for each pair given (repeats count once), one
    column per distinct key; and how many keys each row has."""
    columns = np.unique(keys, return_inverse=True)[1].reshape(-1)
    width = int(columns.max()) + 1 if len(columns) else 1
    cells = np.sort(rows * width + columns)  # np.unique without an inverse is many times slower
    cells = cells[np.concatenate(([True], cells[1:] != cells[:-1]))] if len(cells) else cells
    rows, columns = np.divmod(cells, width)
    starts = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=height))))
    return csr_matrix((np.ones(len(cells), dtype=np.int32), columns, starts), shape=(height, width)), np.diff(starts)


def _token_matrices(items: list[_Prepared]) -> tuple[tuple[csr_matrix, np.ndarray], tuple[csr_matrix, np.ndarray]]:
    """The title tokens (``_tokens``) and the text shingles (``_shingles``) of every item as rows of
    sparse 0/1 matrices, each with the sizes of its rows' sets.

    Built in numpy for all items at once rather than from a set per item: a stem or a CJK gram
    becomes a number, a word bigram the pair of its stems' numbers. Equal numbers mean equal tokens,
    as in the sets: stems hold no spaces and no CJK characters, so a stem, a CJK gram and a
    "stem stem" bigram never equal one another.
    """
    ids: defaultdict[str, int] = defaultdict(count().__next__)
    everyone = np.arange(len(items))

    def stems(texts: list[tuple[str, ...]]) -> tuple[np.ndarray, np.ndarray]:  # (item, stem id) per word
        numbers = np.fromiter(map(ids.__getitem__, chain.from_iterable(texts)), dtype=np.int64)
        return np.repeat(everyone, np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))), numbers

    def grams(n: int, runs: Iterable[tuple[str, ...]]) -> tuple[np.ndarray, np.ndarray]:  # (item, gram id)
        numbers: list[int] = []
        counts = []
        for texts in runs:
            before = len(numbers)
            for run in texts:
                numbers.extend(map(ids.__getitem__, _grams(run, n)))
            counts.append(len(numbers) - before)
        return np.repeat(everyone, counts), np.array(numbers, dtype=np.int64)

    title_rows, title_ids = stems([p.text.title_words for p in items])
    title_gram_rows, title_gram_ids = grams(2, (p.text.title_runs for p in items))
    word_rows, word_ids = stems([p.text.text_words for p in items])
    text_gram_rows, text_gram_ids = grams(3, (p.text.text_runs for p in items))
    size = len(ids)  # every id is below it: bigram keys (a * size + b) stay below size * size
    bigram = word_rows[:-1] == word_rows[1:]  # consecutive words of one text
    titles = _matrix(np.concatenate((title_rows, title_gram_rows)), np.concatenate((title_ids, title_gram_ids)),
                     len(items))
    texts = _matrix(np.concatenate((word_rows[:-1][bigram], text_gram_rows)),
                    np.concatenate((word_ids[:-1][bigram] * size + word_ids[1:][bigram], size * size + text_gram_ids)),
                    len(items))
    return titles, texts


def _prefixes(matrix: csr_matrix, sizes: np.ndarray, threshold: float, min_size: int) -> csr_matrix:
    """Each row cut to its rarest tokens, so that two rows that pass the Jaccard test of
    ``_similar_pairs`` (both at least ``min_size`` long) always share one of them: prefix filtering.

    Such a pair shares at least ``least`` tokens, a bound from this row's size alone. The first of
    the shared tokens in one fixed order (rarest first) then lies within the first
    size - least + 1 tokens of both rows.
    """
    frequency = np.bincount(matrix.indices, minlength=matrix.shape[1])
    rank = np.empty_like(frequency)
    rank[np.argsort(frequency, kind="stable")] = np.arange(len(frequency))
    rows = np.repeat(np.arange(matrix.shape[0]), sizes)
    order = np.argsort(rows * matrix.shape[1] + rank[matrix.indices])  # row by row, rarest first
    # A passing pair has shared >= t * union, and its union is at least this row's size, and also
    # size + other - shared with other >= min_size. The margin covers the float rounding of the test.
    t = threshold - 1e-9
    least = np.maximum(np.floor(np.maximum(t * sizes, t / (1 + t) * (sizes + min_size)) - 1e-6), 1)
    lengths = np.clip(sizes - least.astype(np.int64) + 1, 0, sizes)
    kept = order[np.arange(len(order)) - np.repeat(matrix.indptr[:-1], sizes) < np.repeat(lengths, sizes)]
    starts = np.concatenate(([0], np.cumsum(lengths)))
    return csr_matrix((np.ones(len(kept), dtype=np.int32), matrix.indices[kept], starts), shape=matrix.shape)


def _shared_columns(matrix: csr_matrix) -> csr_matrix:
    """``matrix`` without the columns that have a single 1: they add to no pair's overlap, and most
    shingles occur in one text only."""
    frequency = np.bincount(matrix.indices, minlength=matrix.shape[1])
    shared = frequency >= 2
    kept = shared[matrix.indices]
    starts = np.concatenate(([0], np.cumsum(kept)))[matrix.indptr]
    columns = (np.cumsum(shared) - 1)[matrix.indices[kept]]
    return csr_matrix((np.ones(len(columns), dtype=np.int32), columns, starts),
                      shape=(matrix.shape[0], max(int(np.count_nonzero(shared)), 1)))


def _similar_pairs(items: list[_Prepared], new_count: int, matrix: csr_matrix, sizes: np.ndarray,
                   threshold: float, min_size: int, prefixes: bool) -> Iterator[tuple[int, int]]:
    """Pairs (new, any) within WINDOW whose token sets reach Jaccard ``threshold``: all of them, exactly.

    The token sets are the rows of ``matrix`` (see ``_token_matrices``); one product per block of new
    rows gives the overlap of every pair against the rows published within WINDOW of the block, and
    the Jaccard follows from the overlap and the two sizes. scipy does the counting, so no pair is
    missed and none is visited in Python unless it passes. With ``prefixes``, the product runs on the
    rows' prefixes (``_prefixes``) and only the pairs it finds have their overlap counted: far fewer
    pairs for long sets, where common shingles would pair most rows with most others.
    """
    rows = np.flatnonzero(sizes >= min_size)
    fresh = int(np.count_nonzero(rows < new_count))  # new items come first in `items`
    if not fresh:
        return
    matrix, sizes = matrix[rows], sizes[rows]
    probe = _shared_columns(_prefixes(matrix, sizes, threshold, min_size) if prefixes else matrix)
    times = np.array([items[i].ts for i in rows])
    order_of_id = np.argsort(np.argsort([items[i].article.id for i in rows], kind="stable"), kind="stable")
    by_time = np.argsort(times, kind="stable")
    sorted_times = times[by_time]
    in_time = probe[by_time]  # so the rows near a block are one slice, taken without a copy
    window = WINDOW.total_seconds()
    new_rows = np.argsort(times[:fresh], kind="stable")

    def block_pairs(start: int) -> tuple[np.ndarray, np.ndarray]:
        block = new_rows[start:start + _BLOCK]
        low, high = times[block].min() - window, times[block].max() + window
        first, last = np.searchsorted(sorted_times, low, "left"), np.searchsorted(sorted_times, high, "right")
        others = by_time[first:last]
        # Others x block rather than block x others: scipy then transposes the small block, not the window.
        found = (in_time[first:last] @ probe[block].T).tocoo()
        a, b = block[found.col], others[found.row]
        shared = np.asarray(matrix[a].multiply(matrix[b]).sum(axis=1)).reshape(-1) if prefixes else found.data
        keep = ((shared >= (threshold - 1e-9) * (sizes[a] + sizes[b] - shared))
                & (np.abs(times[a] - times[b]) <= window) & (a != b))
        a, b = a[keep], b[keep]
        # At most MAX_CANDIDATES per new article, the nearest in time first (then by article id).
        order = np.lexsort((order_of_id[b], np.abs(times[a] - times[b]), a))
        a, b = a[order], b[order]
        firsts = np.flatnonzero(np.r_[True, a[1:] != a[:-1]]) if len(a) else np.empty(0, dtype=np.intp)
        rank = np.arange(len(a)) - np.repeat(firsts, np.diff(np.r_[firsts, len(a)]))
        capped = rank < MAX_CANDIDATES
        return rows[a[capped]], rows[b[capped]]

    starts = range(0, fresh, _BLOCK)
    # scipy's sparse products let go of the GIL, so blocks run side by side on several cores; each
    # block's pairs depend on the block alone, so the result does not depend on the threads.
    with ThreadPoolExecutor(min(_THREADS, len(starts))) as pool:
        for a, b in pool.map(block_pairs, starts):
            yield from zip(a.tolist(), b.tolist(), strict=True)


def _exact_pairs(items: list[_Prepared], new_count: int, title_sizes: np.ndarray) -> Iterator[tuple[int, int]]:
    """Pairs (new, any) with the same canonical link or the same informative normalised title."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, (p, informative) in enumerate(zip(items, (title_sizes >= MIN_TITLE_TOKENS).tolist(), strict=True)):
        if p.link:
            groups.setdefault(("link", p.link), []).append(i)
        if informative:
            groups.setdefault(("title", p.title), []).append(i)
    window = WINDOW.total_seconds()
    for members in groups.values():
        # Most keys belong to one article; members run in index order, and new items come first.
        if len(members) < 2 or members[0] >= new_count:
            continue
        # In time order, so a lookup returns only the members within WINDOW of the one asking: a
        # recurring title never drags in years of articles.
        members.sort(key=lambda i: (items[i].ts, items[i].article.id))
        times = [items[i].ts for i in members]
        for i in members:
            if i < new_count:
                t = items[i].ts
                near = members[bisect.bisect_left(times, t - window):bisect.bisect_right(times, t + window)]
                yield from ((i, j) for j in _nearest(items, i, near))


def _candidates(items: list[_Prepared], new_count: int) -> list[tuple[int, int]]:
    # Every rule of _decide needs the same link, the same title, or a title or text similarity these
    # searches find, so these are all the pairs worth checking. Pairs of two existing articles were
    # decided when the later of them was new.
    (titles, title_sizes), (texts, text_sizes) = _token_matrices(items)
    found = {(min(i, j), max(i, j)) for i, j in chain(
        _exact_pairs(items, new_count, title_sizes),
        # Titles are short and their bar low: a prefix would be nearly the whole title.
        _similar_pairs(items, new_count, titles, title_sizes, TITLE_THRESHOLD, MIN_TITLE_TOKENS, prefixes=False),
        # TEXT_THRESHOLD is the lower of the two text bars.
        _similar_pairs(items, new_count, texts, text_sizes, TEXT_THRESHOLD, MIN_TEXT_SHINGLES, prefixes=True))}
    return sorted(found)


def assign_stories(existing: Sequence[StoryArticle], new: Sequence[StoryArticle]) -> dict[str, str]:
    """Story ids for ``new`` articles, and new ids for ``existing`` articles whose story changed.

    ``existing``: articles already clustered (``story_id`` set) published within ``WINDOW`` of any
    new article; with fewer, a link to a missing article is missed. ``new``: articles to cluster
    (their ``story_id`` is ignored; an id in both counts as new). Returns article id -> story id for
    every new article and for every existing article whose story id changed, because a new article
    joined two stories or became its story's earliest member. Clustering batch after batch gives
    exactly the ids of clustering everything at once.
    """
    new_ids = {a.id for a in new}
    old = [a for a in existing if a.id not in new_ids]
    missing = [a.id for a in old if not a.story_id]
    if missing:
        raise ValueError(f"existing articles without a story id: {missing[:5]}")
    # The existing articles first: the text cache then evicts the earliest of them (which leave the
    # window first) rather than texts the next batch will ask for again.
    prepared_old = [_Prepared(a) for a in old]
    items = [_Prepared(a) for a in new] + prepared_old
    links = _UnionFind()
    by_story: dict[str, str] = {}
    for article in old:  # members of one stored story stay together
        links.union(article.id, by_story.setdefault(article.story_id or "", article.id))
    for i, j in _candidates(items, len(new)):
        first, second = items[i].article.id, items[j].article.id
        if links.find(first) != links.find(second) and _decide(items[i], items[j]):
            links.union(first, second)
    # A stored story id names the story's earliest member, possibly outside `existing`; a new
    # article names itself. The smallest name in a component is its earliest member's.
    story_of: dict[str, str] = {}
    for item in items:
        article = item.article
        name = article.story_id if article.id not in new_ids and article.story_id else story_id_for(article)
        root = links.find(article.id)
        story_of[root] = min(name, story_of.get(root, name))
    result = {a.id: story_of[links.find(a.id)] for a in new}
    result.update({a.id: story_of[links.find(a.id)] for a in old
                   if story_of[links.find(a.id)] != a.story_id})
    return result


def story_renames(existing: Sequence[StoryArticle], assignment: dict[str, str]) -> dict[str, str]:
    """Old story id -> new story id for the stories that ``assignment`` renames, so a store can
    rename all their members, including those outside the loaded window, in one statement."""
    return {a.story_id: assignment[a.id] for a in existing
            if a.story_id and a.id in assignment and assignment[a.id] != a.story_id}


def _representative(members: list[StoryArticle]) -> StoryArticle:
    # The earliest English report gives the headline (our readers read English); else the earliest.
    english = [a for a in members if a.language.lower().startswith("en")]
    return min(english or members, key=lambda a: (a.published, a.id))


def build_stories(articles: Sequence[StoryArticle]) -> list[Story]:
    """Story values for articles with ``story_id`` set (others are skipped), earliest first.

    The headline is the title of the earliest English member, or of the earliest member when none is
    in English. Outlets and topics are sorted; article ids run in order of publication.
    """
    groups: dict[str, list[StoryArticle]] = {}
    for a in articles:
        if a.story_id:
            groups.setdefault(a.story_id, []).append(a)
    stories = []
    for story_id, members in groups.items():
        members.sort(key=lambda a: (a.published, a.id))
        stories.append(Story(
            id=story_id, first_seen=members[0].published, last_seen=max(a.published for a in members),
            headline=_representative(members).title, article_ids=tuple(a.id for a in members),
            outlets=tuple(sorted({a.source_id for a in members})),
            topics=tuple(sorted({t for a in members for t in a.topics}))))
    stories.sort(key=lambda s: (s.first_seen, s.id))
    return stories

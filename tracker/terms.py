"""Terms and how they are found in text: the trie-shaped patterns, the scan, sentences and the lead.

Terms are compiled into regular expressions shaped as tries (a shared prefix is matched once): one for
English terms, matched as whole words and case-insensitively unless written as an acronym ("US",
"PLA": only in capitals) or holding a word in capitals ("New START": that word only with a capital, so
"a new start" is not the treaty), and a few for Chinese terms, matched anywhere in every
Simplified/Traditional spelling.
Overlapping terms are all found ("nuclear arms" and "arms control"; 中美防长 holds 中美 and 防长). What a
matched string stands for is worked out once per distinct string and remembered, so a scan costs one
regex pass plus a dictionary look-up per match.
"""

from __future__ import annotations

import re
from itertools import accumulate, islice

from tracker.hanzi import WIDTH, fold, variants

_W = "a-z0-9\u00c0-\u024f"  # word characters, for English word boundaries
_SEP_RE = r"[\s\-\u2010-\u2014\uff0d]+"  # a space or hyphen in a term matches any run of these
_SEP = re.compile(_SEP_RE)
_END = f"(?![{_W}$])"  # an English term ends at a word end ("US", but not "US$" for dollars)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[a-z]")
_FULLWIDTH = re.compile(r"[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]+")  # full-width letters, digits
# Sentence ends: ". " before a capital but not after one (keeps "U.S. Navy" and "Nov. 14" whole),
# Chinese stops, the title's end. A photo credit "(Name/AFP)" stays with its caption.
# It starts with one character class, which lets the regex engine skip ahead quickly.
_SENTENCE = re.compile(
    r"[.!?\n\u3002\uff01\uff1f]"
    r"(?:(?<=[.!?])(?<![A-Z].)[.!?]*[\"'\u201d\u2019)\]]*\s+(?=[A-Z\"'\u201c\u2018])|(?<![.!?]))"
)
_SENTENCE_SPLIT = re.compile(f"({_SENTENCE.pattern})")
# The regex engine tries a group's alternatives one by one: Chinese terms, which begin with hundreds of
# different characters, are split into several patterns by first character.
_CJK_FIRSTS_PER_PATTERN = 60

Hit = tuple[int, int, int]  # (start, end, term id)
LEAD_SENTENCES = 2  # the lead: the title and this many sentences of the summary
Spelling = str | tuple[int, ...] | None  # an acronym's exact spelling, or the phrase's words in capitals
Entry = tuple[tuple[int, int, int, Spelling], ...]  # what a matched string stands for


class Text:
    """One article prepared for matching: title and summary joined by a newline, and the terms found.

    ``limit`` is where scanning stopped: the end of the text, or of its lead when only the lead matters.
    """

    __slots__ = ("original", "title_len", "by_term", "limit", "_ends", "_lead_end")

    def __init__(self, original: str, title_len: int, by_term: dict[int, list[Hit]] | None = None) -> None:
        self.original = original
        self.title_len = title_len
        self.by_term = by_term if by_term is not None else {}  # term id -> its hits
        self.limit = len(original)
        self._ends: list[int] | None = None
        self._lead_end: int | None = None

    @property
    def hits(self) -> list[Hit]:
        return sorted(h for found in self.by_term.values() for h in found)

    @property
    def lead_end(self) -> int:
        """Where the lead ends: the title and the first ``LEAD_SENTENCES`` sentences of the summary."""
        if self._lead_end is None:
            # Break 0 is the title's own newline; break n ends the summary's n-th sentence.
            m = next(islice(_SENTENCE.finditer(self.original, self.title_len), LEAD_SENTENCES, None), None)
            self._lead_end = len(self.original) if m is None else m.end()
        return self._lead_end

    @property
    def sentence_ends(self) -> list[int]:
        """Where each sentence ends, up to ``limit`` (found on first use): bisect a position in it for
        its sentence number."""
        if self._ends is None:
            # Split keeps the separators (one group): the running total of the piece lengths gives the
            # ends, without a Python step per sentence.
            text = self.original if self.limit >= len(self.original) else self.original[: self.limit]
            lengths = accumulate(map(len, _SENTENCE_SPLIT.split(text)))
            self._ends = list(islice(lengths, 1, None, 2))
        return self._ends


class TermFinder:
    """Every term of a taxonomy, compiled for scanning. Add terms, then ``compile``, then ``scan``."""

    def __init__(self) -> None:
        self.term_text: list[str] = []  # term id -> the term as written in the file
        self._ids: dict[str, int] = {}
        self._exact: dict[str, list[int]] = {}  # lower-cased spelling -> term ids
        self._acronym: dict[int, str | tuple[int, ...]] = {}  # term id -> required spelling or capital words
        self._stems: list[tuple[str, int]] = []
        self._regex: list[tuple[re.Pattern[str], int]] = []
        self._memo: dict[str, Entry] = {}
        self._ignored: frozenset[int] = frozenset()
        self._english: tuple[re.Pattern[str], re.Pattern[str]] | None = None
        self._chinese: tuple[re.Pattern[str], ...] = ()
        self._regex_pattern: re.Pattern[str] | None = None
        self._prefilter: tuple[re.Pattern[str], ...] | None = None

    def add(self, term: str) -> int:
        """The id of a term (one id per distinct term, however often it is listed)."""
        capitals = () if _is_acronym(term) else _capital_words(term)
        ident = term if _is_acronym(term) or capitals or term.startswith("re:") else "~" + _key(term)
        tid = self._ids.get(ident)
        if tid is not None:
            return tid
        tid = self._ids[ident] = len(self.term_text)
        self.term_text.append(term)
        if term.startswith("re:"):
            self._regex.append((re.compile(term[3:], re.IGNORECASE), tid))
        elif term.endswith("*"):
            self._stems.append((_key(term[:-1]), tid))
        else:
            key = _key(term)
            for spelling in variants(key) if _CJK.search(key) else (key,):
                self._exact.setdefault(spelling, []).append(tid)
            if _is_acronym(term):
                self._acronym[tid] = _SEP.sub(" ", fold(term)).strip()
            elif capitals:
                self._acronym[tid] = capitals
        return tid

    def ignore(self, terms: tuple[str, ...]) -> None:
        """Phrases that only look like terms: a term found inside one of them does not count."""
        self._ignored = frozenset(self.add(term) for term in terms)

    def compile(self, anchors: set[int]) -> None:
        """Build the patterns; ``anchors`` are the terms without which no rule can fire."""
        self._english, self._chinese = self._compile()
        self._regex_pattern = self._compile_regexes()
        self._prefilter = self._compile_prefilter(anchors)

    def _compile(self) -> tuple[tuple[re.Pattern[str], re.Pattern[str]] | None, tuple[re.Pattern[str], ...]]:
        latin = [k for k in self._exact if not _CJK.search(k)]
        cjk = [k for k in self._exact if _CJK.search(k)]
        # English matches do not overlap, so two overlapping terms ("nuclear arms" + "arms control") also
        # go in joined ("nuclear arms control"); a match then stands for both.
        latin += _joined(latin) + [s + "*" for s, _ in self._stems]
        # Two forms of the English trie: the word-start test in front is fastest on English text; placed
        # after the first character it lets the engine skip over Chinese text where no term can start.
        english = None
        if latin:
            english = (
                re.compile(f"(?<![{_W}]){_trie(latin)}{_END}"),
                re.compile(f"{_trie(latin, after_first=f'(?<![{_W}].)')}{_END}"),
            )
        firsts = sorted({k[0] for k in cjk})
        groups = [set(firsts[i : i + _CJK_FIRSTS_PER_PATTERN]) for i in range(0, len(firsts), _CJK_FIRSTS_PER_PATTERN)]
        chinese = tuple(re.compile(_trie([k for k in cjk if k[0] in group])) for group in groups)
        return english, chinese

    def _compile_prefilter(self, anchors: set[int]) -> tuple[re.Pattern[str], ...] | None:
        """Patterns of the anchor terms alone: a text with none of them cannot get any topic.

        One ``search`` of these (stopping at the first anchor) is much cheaper than the full scan, and
        most news is about something else. None when an anchor is a regular expression.
        """
        if any(tid in anchors for _, tid in self._regex):
            return None
        keys = [k for k, tids in self._exact.items() if anchors.intersection(tids)]
        latin = [k for k in keys if not _CJK.search(k)] + [s + "*" for s, tid in self._stems if tid in anchors]
        cjk = [k for k in keys if _CJK.search(k)]
        never = re.compile("(?!)")
        return (
            re.compile(f"(?<![{_W}]){_trie(latin)}{_END}") if latin else never,
            re.compile(f"{_trie(latin, after_first=f'(?<![{_W}].)')}{_END}") if latin else never,
            re.compile(_trie(cjk)) if cjk else never,
        )

    def _compile_regexes(self) -> re.Pattern[str] | None:
        if not self._regex:
            return None
        body = "|".join(f"(?:{p.pattern})" for p, _ in self._regex)
        return re.compile(f"(?=((?<![{_W}])(?:{body})(?![{_W}])))", re.IGNORECASE)

    def scan(self, title: str, summary: str = "", *, prefilter: bool = False, lead_only: bool = False) -> Text:
        """Find every term occurrence in the title and summary.

        With ``prefilter``, a text holding no anchor term (one no rule can fire without) comes back
        with no terms at all: enough for tagging, not for explaining. With ``lead_only``, scanning
        stops at the end of the lead.
        """
        original = f"{title}\n{summary}" if summary else title
        text = Text(original, len(title))
        by_term = text.by_term
        # When every rule reads only the lead, so does tagging: long texts cost no more than short ones.
        end = text.limit = text.lead_end if lead_only else len(original)
        read = original if end == len(original) else original[:end]  # all that is looked at
        has_cjk = not read.isascii() and _CJK.search(read) is not None
        if has_cjk and _FULLWIDTH.search(read):  # (one character for one: sentence ends stay in place)
            read = _FULLWIDTH.sub(lambda m: m.group().translate(WIDTH), read)
            text.original = original = read + original[end:]
        low = read.lower()
        if len(low) != len(read):  # a few characters grow when lower-cased; keep offsets aligned
            low = "".join(c.lower() if len(c.lower()) == 1 else c for c in read)
        # Chinese text rarely holds English terms: look for them only where there are Latin letters.
        latin = not has_cjk or _LATIN.search(low, 0, end) is not None
        if prefilter and self._prefilter is not None:
            front, after, cjk = self._prefilter
            if not (has_cjk and cjk.search(low, 0, end)) and not (
                latin and (after if has_cjk else front).search(low, 0, end)
            ):
                return text
        if self._english is not None and latin:
            self._search(self._english[1] if has_cjk else self._english[0], low, end, original, by_term)
        if has_cjk:
            for pattern in self._chinese:
                self._search_everywhere(pattern, low, end, by_term)
        if self._regex_pattern is not None:
            for m in self._regex_pattern.finditer(low, 0, end):
                start, stop = m.span(1)
                for p, tid in self._regex:
                    if p.fullmatch(m.group(1)):
                        by_term.setdefault(tid, []).append((start, stop, tid))
        if not self._ignored.isdisjoint(by_term):
            _drop_ignored(by_term, self._ignored)
        return text

    def _search(
        self, pattern: re.Pattern[str], low: str, end: int, original: str, by_term: dict[int, list[Hit]]
    ) -> None:
        """Every English term in ``low[:end]``: each match stands for all the terms inside it."""
        memo = self._memo
        for m in pattern.finditer(low, 0, end):
            found = m.group()
            entry = memo.get(found)
            if entry is None:
                entry = memo[found] = self._resolve(found)
            at = m.start()
            for tid, start, stop, spelling in entry:
                if spelling is not None and (
                    original[at + start : at + stop] != spelling
                    if spelling.__class__ is str and " " not in spelling
                    else not _same_spelling(original[at + start : at + stop], spelling)
                ):
                    continue  # "us" is not "US", "a new start" is not "New START"
                hit = (at + start, at + stop, tid)
                known = by_term.get(tid)
                if known is None:
                    by_term[tid] = [hit]
                else:
                    known.append(hit)

    def _search_everywhere(self, pattern: re.Pattern[str], low: str, end: int, by_term: dict[int, list[Hit]]) -> None:
        """Every Chinese term in ``low``: the terms at the first place a term starts, then on from the
        next character (Chinese terms overlap freely: 中美防长 holds 中美, 美防长 and 防长)."""
        memo, search, get = self._memo, pattern.search, by_term.get
        pos = 0
        while (m := search(low, pos, end)) is not None:
            found = m.group()
            entry = memo.get(found)
            if entry is None:
                entry = memo[found] = self._resolve(found)
            pos = m.start()
            for tid, _, length, _ in entry:
                known = get(tid)
                if known is None:
                    by_term[tid] = [(pos, pos + length, tid)]
                else:
                    known.append((pos, pos + length, tid))
            pos += 1

    def _resolve(self, found: str) -> Entry:
        """The terms inside a matched string: (term id, start, end, required spelling or None).

        An English match is the longest term (or pair of overlapping terms) at its place, so the terms
        it hides, such as "China" in "South China Sea", are all inside it, between word breaks. A Chinese
        match stands for the terms it starts with; the search resumes at the next character.
        """
        if len(self._memo) > 200_000:  # bound memory on endless streams of new spellings
            self._memo.clear()
        if _CJK.search(found):
            starts = [0]
            ends = list(range(1, len(found) + 1))
        else:
            seps = list(_SEP.finditer(found))
            starts = [0] + [m.end() for m in seps]
            ends = [m.start() for m in seps] + [len(found)]
        out = []
        for i in starts:
            for j in ends:
                if j <= i:
                    continue
                key = _SEP.sub(" ", found[i:j]).strip()
                for tid in self._exact.get(key, ()):
                    out.append((tid, i, j, self._acronym.get(tid)))
                for stem, tid in self._stems:
                    if key.startswith(stem) and (key == stem or key[len(stem) :].isalnum()):
                        out.append((tid, i, j, None))
        return tuple(out)


def _same_spelling(found: str, spelling: str | tuple[int, ...]) -> bool:
    """Whether text matched case-insensitively is written as the term requires: an acronym exactly ("US",
    not "us"); in a phrase, the words written in capitals with a capital ("New Start", not "new start")."""
    if isinstance(spelling, tuple):
        words = _SEP.split(found)
        return all(words[i][:1].isupper() for i in spelling)
    return found == spelling if " " not in spelling else _SEP.sub(" ", found) == spelling


def _capital_words(term: str) -> tuple[int, ...]:
    """The places of the words written in capitals in a phrase of several words ("START" in "New START")."""
    words = _SEP.sub(" ", term).strip().split(" ")
    return tuple(i for i, word in enumerate(words) if _is_acronym(word)) if len(words) > 1 else ()


def _drop_ignored(by_term: dict[int, list[Hit]], ignored: frozenset[int]) -> None:
    """Remove the ignored phrases and every hit inside one of them."""
    spans = [h[:2] for tid in ignored & by_term.keys() for h in by_term.pop(tid)]
    for tid in list(by_term):
        kept = [h for h in by_term[tid] if not any(a <= h[0] and h[1] <= b for a, b in spans)]
        if kept:
            by_term[tid] = kept
        else:
            del by_term[tid]


def _is_acronym(term: str) -> bool:
    letters = [c for c in term if c.isalpha()]
    return sum(c.isupper() for c in letters) >= 2 and not any(c.islower() for c in letters)


def _key(term: str) -> str:
    return _SEP.sub(" ", fold(term).lower()).strip()


def _joined(keys: list[str]) -> list[str]:
    """Phrases joining two keys that overlap: the last words of one are the first words of the other."""
    heads: dict[tuple[str, ...], list[list[str]]] = {}
    for key in keys:
        words = key.split(" ")
        for n in range(1, len(words)):
            heads.setdefault(tuple(words[:n]), []).append(words)
    out = set()
    for key in keys:
        words = key.split(" ")
        for n in range(1, len(words)):
            for other in heads.get(tuple(words[n:]), ()):
                out.add(" ".join(words[:n] + other))
    return sorted(out - set(keys))


def _trie(keys: list[str], after_first: str = "") -> str:
    """A regex alternation of ``keys`` factored as a trie; " " matches separators, a final "*" a word tail.

    ``after_first`` goes right after the first character: a word-start test there rather than in front
    leaves the pattern starting with plain characters, so the engine can skip text where no term starts.
    """
    root: dict[str, dict] = {}
    for key in keys:
        node = root
        for char in key:
            node = node.setdefault(char, {})
        node[""] = {}
    return _emit(root, after_first)


def _emit(node: dict[str, dict], after: str = "") -> str:
    alternatives = []
    for char in sorted(k for k in node if k):
        if char == "*":  # only ever last: a stem's word tail
            alternatives.append(f"[{_W}]*")
            continue
        head = _SEP_RE if char == " " else re.escape(char)
        alternatives.append(head + after + _emit(node[char]))
    if not alternatives:
        return ""
    body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
    if "" in node:
        return f"(?:{body})?" if len(alternatives) > 1 or len(body) > 1 else f"{body}?"
    return body

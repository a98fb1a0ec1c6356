"""Text search for the filters: what the sidebar's search box and `tracker export --query` match.

A query is quoted phrases ("..." or “...”) and the words outside them, all required. A term is found
case-insensitively in the title or summary where it starts a word (not after an ASCII letter or
digit); a Latin term of 3 characters or fewer must also end one ("US" is not "use"), unless the word
ends in * ("war*"). A word of 2 to 4 letters typed in capitals is an acronym, as in the topic rules: it
matches only in capitals, and with dots too ("US" finds "US" and "U.S.", not the pronoun "us"). Terms
with Chinese characters match anywhere (no spaces to bound them). A dash in a term matches any dash or
a space.

    >>> [t for t, _ in _search_terms('“median line” US-China war*')]
    ['median line', 'US-China', 'war']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, or_

__all__ = ["text_conditions"]

# LIKE is the cheap test that runs first; a regular expression, in the subset Python's re (SQLite's
# REGEXP) and PostgreSQL's ARE agree on, decides the rows LIKE lets through, and only for terms where
# the two can differ.
_QUOTES = str.maketrans("\u201c\u201d", '""')
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_LIKE_DASH = str.maketrans(dict.fromkeys(_DASHES, "_"))  # LIKE's one-character wildcard
_REGEX_DASH = f"[{_DASHES} ]"  # "-" first in the class: a literal on both engines
_REGEX_SPECIAL = frozenset("\\.^$|?*+()[]{}")  # a backslash before these is a literal on both engines


def _like_escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _regex_escape(text: str) -> str:
    return "".join("\\" + c if c in _REGEX_SPECIAL else c for c in text)


def _search_terms(text: str) -> list[tuple[str, bool]]:
    """The query's terms as (term, prefix): quoted phrases with their spaces folded, then the words
    outside quotes; an unmatched quote is dropped. A word's trailing * sets prefix."""
    parts = text.translate(_QUOTES).split('"')
    found: list[tuple[str, bool]] = []
    for i, part in enumerate(parts):
        if i % 2 and i < len(parts) - 1:  # between a quote and its partner
            found.append((" ".join(part.split()), False))
        else:
            found += [(word.rstrip("*"), word.endswith("*")) for word in part.split()]
    return [(term, prefix) for term, prefix in found if term.strip(_DASHES + " ")]


def _is_word_char(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _has_cjk(term: str) -> bool:
    return any("\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff" for c in term)


def _term_regex(term: str, prefix: bool) -> str | None:
    """The regular expression for a term, or None where LIKE alone is the answer. It is matched
    against lower(column) with lower(pattern): no case flags (SQLAlchemy drops them on SQLite), and
    each engine folds case as its ILIKE does."""
    latin = not _has_cjk(term)
    start = latin and _is_word_char(term[0])
    end = latin and not prefix and len(term) <= 3 and _is_word_char(term[-1])
    if not (start or end or any(c in _DASHES for c in term)):
        return None
    body = "".join(_REGEX_DASH if c in _DASHES else _regex_escape(c) for c in term)
    # The term comes first so Python's re can search for it as a literal ("US" at 1M articles: 1.7 times
    # as fast as with a leading boundary); the lookbehind then checks the character before it. It has a
    # fixed width, as Python's re needs: every element of body is one character.
    return body + (f"(?<![0-9a-z]{body})" if start else "") + ("(?![0-9a-z])" if end else "")


def text_conditions(text: str, columns: Sequence[Any]) -> list[Any]:
    """One WHERE condition per term of the query ``text``: the term found in any of ``columns``."""
    return [_term_condition(term, prefix, columns) for term, prefix in _search_terms(text)]


def _is_acronym(term: str, prefix: bool) -> bool:
    return not prefix and 2 <= len(term) <= 4 and term.isascii() and term.isalpha() and term.isupper()


def _acronym_condition(term: str, columns: Sequence[Any]) -> Any:
    """"US" as a word in capitals, or "U.S.": matched on the column as written (case-sensitive on both
    engines), after a case-blind LIKE for either spelling."""
    dotted = ".".join(term) + "."
    escaped = _regex_escape(dotted)
    # Each spelling first, then a fixed-width lookbehind for the character before it (see _term_regex).
    regex = f"{term}(?<![0-9A-Za-z]{term})(?![0-9A-Za-z])|{escaped}(?<![0-9A-Za-z]{escaped})"
    return or_(*[and_(or_(column.ilike(f"%{term}%"), column.ilike(f"%{dotted}%")), column.regexp_match(regex))
                 for column in columns])


def _term_condition(term: str, prefix: bool, columns: Sequence[Any]) -> Any:
    if _is_acronym(term, prefix):
        return _acronym_condition(term, columns)
    like = f"%{_like_escape(term).translate(_LIKE_DASH)}%"
    regex = _term_regex(term, prefix)
    found: list[Any] = []
    for column in columns:
        cond = column.ilike(like, escape="\\")
        found.append(cond if regex is None else and_(cond, func.lower(column).regexp_match(func.lower(regex))))
    return or_(*found)

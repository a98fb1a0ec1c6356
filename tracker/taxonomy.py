"""The topic taxonomy: its values, and loading and checking ``topics.toml``.

The file format is described in ``docs/topics.md``. In short::

    version = "1"
    changed = 2025-06-01

    [groups]                      # shared term lists, used in rules as "@name"
    china = ["China", "Beijing", "中国"]

    [[topics]]
    id = "drones"
    label = "Drones"
    color = "#3D8BD9"
    terms = ["drone", "UAV", "无人机"]   # any one of these tags the item

    [[topics.rules]]              # or: every slot of `all` matched, none of `none`
    all = ["@china", ["swarm", "loitering munition"]]
    none = ["delivery drone"]
    scope = "sentence"            # "text" (default), "title" or "sentence"
    lead = true                   # only the title and the summary's first two sentences count

A broken file raises ConfigError naming the file, the topic and the offending pattern.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from tracker.errors import ConfigError

SCOPES = ("text", "title", "sentence")
_ID = re.compile(r"[a-z][a-z0-9_]*\Z")
RESERVED_IDS = frozenset({"total"})  # tracker.index.TOTAL: a topic of that name would be summed with it
_COLOR = re.compile(r"#[0-9a-fA-F]{6}\Z")
_TOP_KEYS = {"version", "changed", "groups", "ignore", "topics"}
_TOPIC_KEYS = {"id", "label", "description", "color", "terms", "exclude", "groups", "rules", "lead"}
_RULE_KEYS = {"name", "all", "none", "scope", "lead"}


@dataclass(frozen=True)
class Rule:
    """A conjunction: every slot of ``all`` matched (a slot is any one of its terms), no ``none`` term.

    Terms may be "@group" references. ``scope`` says where they must meet: anywhere in the text, all in
    the title, or all in one sentence (the ``none`` terms veto within the same scope). With ``lead``,
    only the title and the first sentences of the summary count: what the item reports on, not a
    passing mention further down a long text.
    """

    all: tuple[tuple[str, ...], ...]
    none: tuple[str, ...] = ()
    scope: str = "text"
    name: str = ""
    lead: bool = False


@dataclass(frozen=True)
class TopicDef:
    """One topic: what charts show (label, description, color) and the rules that decide it.

    ``terms`` tag on their own; ``rules`` add conjunctions; ``exclude`` vetoes the topic whatever
    fired. ``groups`` are term lists local to this topic. ``lead`` is the default of its rules.
    """

    id: str
    label: str
    description: str
    color: str
    terms: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    lead: bool = False

    def all_rules(self) -> tuple[Rule, ...]:
        """``terms`` as the first rule (named "terms"), then the explicit rules."""
        first = (Rule(all=(self.terms,), name="terms", lead=self.lead),) if self.terms else ()
        return first + self.rules


@dataclass(frozen=True)
class Taxonomy:
    """The topics, in chart order, with the version of the rules that produced them."""

    version: str
    changed: dt.date
    topics: tuple[TopicDef, ...]
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    source: str = ""
    # Phrases whose parts are not terms ("冠军", champion, holds "军"): a term inside one is not counted.
    ignore: tuple[str, ...] = ()

    def ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.topics)

    def get(self, topic_id: str) -> TopicDef:
        for topic in self.topics:
            if topic.id == topic_id:
                return topic
        raise KeyError(topic_id)

    @cached_property
    def matcher(self) -> Any:
        """The compiled matcher (built once, on first use)."""
        from tracker.matcher import Matcher

        return Matcher(self)


def load_taxonomy(path: str | os.PathLike[str] | None = None) -> Taxonomy:
    """Read and check a taxonomy file; None means ``Settings.from_env().topics_file``.

    The version is the declared ``version`` plus a short hash of the file's bytes, so it changes
    whenever the rules change. Raises ConfigError naming the file, topic and pattern on any problem.
    """
    if path is None:
        from tracker.config import Settings

        path = Settings.from_env().topics_file
    where = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the topics file: {exc.strerror or exc}", resource=where) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text: {exc}", resource=where) from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        if "end of document" in message:  # say which line that is
            message += f" (line {len(raw.splitlines())})"
        raise ConfigError(f"TOML syntax error: {message}", resource=where) from None
    try:
        taxonomy = _build(data, raw, where)
        taxonomy.matcher  # compile now, so bad patterns fail at load time  # noqa: B018
    except _Invalid as exc:
        raise ConfigError(str(exc), resource=where) from None
    return taxonomy


class _Invalid(Exception):
    """A problem in the file's content; load_taxonomy adds the file name."""


def _build(data: dict[str, Any], raw: bytes, where: str) -> Taxonomy:
    _no_unknown(data, _TOP_KEYS, "top level")
    version = data.get("version")
    if not isinstance(version, str | int) or isinstance(version, bool) or not str(version).strip():
        raise _Invalid('top level: "version" must be a non-empty string, e.g. version = "1"')
    changed = data.get("changed")
    if not isinstance(changed, dt.date) or isinstance(changed, dt.datetime):
        raise _Invalid('top level: "changed" must be a TOML date, e.g. changed = 2025-06-01')
    groups = _groups(data.get("groups", {}), "top level", None)
    ignore = _terms(data.get("ignore", []), "top level: ignore", None)
    entries = data.get("topics")
    if not isinstance(entries, list) or not entries:
        raise _Invalid("no topics: add at least one [[topics]] table")
    topics: list[TopicDef] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, 1):
        topic = _topic(entry, number, dict(groups))
        if topic.id in seen:
            raise _Invalid(f"topic {topic.id!r}: duplicate id (topic #{number})")
        seen.add(topic.id)
        topics.append(topic)
    digest = hashlib.sha256(raw).hexdigest()[:8]
    return Taxonomy(f"{str(version).strip()}+{digest}", changed, tuple(topics), groups, where, ignore)


def _topic(entry: Any, number: int, shared: dict[str, tuple[str, ...]]) -> TopicDef:
    if not isinstance(entry, dict):
        raise _Invalid(f"topic #{number}: expected a [[topics]] table")
    topic_id = entry.get("id")
    if topic_id is None:
        raise _Invalid(f'topic #{number}: missing "id"')
    if not isinstance(topic_id, str) or not _ID.match(topic_id):
        raise _Invalid(f"topic #{number}: id {topic_id!r} must be lower case letters, digits and _")
    if topic_id in RESERVED_IDS:
        raise _Invalid(f"topic #{number}: id {topic_id!r} is reserved (the index's row for any topic); "
                       "choose another")
    name = f"topic {topic_id!r}"
    _no_unknown(entry, _TOPIC_KEYS, name)
    label = _text(entry, "label", name, required=True)
    color = _text(entry, "color", name, required=True)
    if not _COLOR.match(color):
        raise _Invalid(f'{name}: color {color!r} must be a hex colour like "#3D8BD9"')
    local = _groups(entry.get("groups", {}), name, shared)
    known = {**shared, **dict(local)}
    terms = _terms(entry.get("terms", []), f"{name}: terms", known)
    exclude = _terms(entry.get("exclude", []), f"{name}: exclude", known)
    rules_raw = entry.get("rules", [])
    if not isinstance(rules_raw, list):
        raise _Invalid(f"{name}: rules must be a list of [[topics.rules]] tables")
    lead = entry.get("lead", False)
    if not isinstance(lead, bool):
        raise _Invalid(f"{name}: lead must be true or false")
    rules = tuple(_rule(r, i, f"{name}: rules[{i}]", known, lead) for i, r in enumerate(rules_raw, 1))
    if not terms and not rules:
        raise _Invalid(f'{name}: give "terms" or at least one [[topics.rules]]')
    return TopicDef(
        id=topic_id,
        label=label,
        description=_text(entry, "description", name, required=False),
        color=color.upper(),
        terms=terms,
        exclude=exclude,
        rules=rules,
        groups=local,
        lead=lead,
    )


def _rule(entry: Any, number: int, where: str, known: dict[str, tuple[str, ...]], lead: bool) -> Rule:
    if not isinstance(entry, dict):
        raise _Invalid(f"{where}: expected a table")
    _no_unknown(entry, _RULE_KEYS, where)
    slots_raw = entry.get("all")
    if not isinstance(slots_raw, list) or not slots_raw:
        raise _Invalid(f'{where}: "all" must be a non-empty list of terms or lists of terms')
    slots = []
    for i, slot in enumerate(slots_raw, 1):
        items = slot if isinstance(slot, list) else [slot]
        slots.append(_terms(items, f"{where}.all[{i}]", known))
        if not slots[-1]:
            raise _Invalid(f"{where}.all[{i}]: empty slot")
    scope = entry.get("scope", "text")
    if scope not in SCOPES:
        raise _Invalid(f"{where}: scope {scope!r} must be one of {', '.join(SCOPES)}")
    name = entry.get("name", f"rule {number}")
    if not isinstance(name, str) or not name.strip():
        raise _Invalid(f"{where}: name must be a non-empty string")
    lead = entry.get("lead", lead)  # the topic's setting unless the rule says otherwise
    if not isinstance(lead, bool):
        raise _Invalid(f"{where}: lead must be true or false")
    return Rule(tuple(slots), _terms(entry.get("none", []), f"{where}.none", known), scope, name, lead)


def _groups(raw: Any, where: str, shared: dict[str, tuple[str, ...]] | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """A topic's groups may refer to shared groups and to its groups above them; shared groups to none."""
    if not isinstance(raw, dict):
        raise _Invalid(f"{where}: groups must be a table of name = [terms]")
    out: list[tuple[str, tuple[str, ...]]] = []
    for name, terms in raw.items():
        if not _ID.match(name):
            raise _Invalid(f"{where}: group name {name!r} must be lower case letters, digits and _")
        known = None if shared is None else {**shared, **dict(out)}  # earlier groups only: no cycles
        checked = _terms(terms, f"{where}: group {name!r}", known)
        if not checked:
            raise _Invalid(f"{where}: group {name!r} is empty")
        out.append((name, checked))
    return tuple(out)


def _terms(raw: Any, where: str, known: dict[str, tuple[str, ...]] | None) -> tuple[str, ...]:
    """Check a list of terms; ``known`` is None where "@group" references are not allowed."""
    if not isinstance(raw, list):
        raise _Invalid(f"{where}: expected a list of strings")
    out = []
    for term in raw:
        if not isinstance(term, str) or not term.strip():
            raise _Invalid(f"{where}: bad pattern {term!r}: expected a non-empty string")
        term = term.strip()
        if term.startswith("@"):
            if known is None:
                raise _Invalid(f"{where}: bad pattern {term!r}: a shared group cannot refer to a group")
            if term[1:] not in known:
                raise _Invalid(f"{where}: bad pattern {term!r}: no group named {term[1:]!r}")
        else:
            problem = term_problem(term)
            if problem:
                raise _Invalid(f"{where}: bad pattern {term!r}: {problem}")
        out.append(term)
    return tuple(out)


def term_problem(term: str) -> str | None:
    """Why a single term (not a group reference) cannot be used, or None."""
    if term.startswith("re:"):
        try:
            compiled = re.compile(term[3:])
        except re.error as exc:
            return f"invalid regular expression: {exc}"
        if compiled.groups:
            return "use (?:...) instead of capturing groups"
        if compiled.match(""):
            return "the regular expression matches empty text"
        return None
    if "*" in term.rstrip("*") or term.endswith("**") or term == "*":
        return 'a "*" is allowed only once, at the end of a word'
    return None


def _text(entry: dict[str, Any], key: str, where: str, *, required: bool) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str):
        raise _Invalid(f'{where}: "{key}" must be a string')
    if required and not value.strip():
        raise _Invalid(f'{where}: missing "{key}"')
    return value.strip()


def _no_unknown(entry: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise _Invalid(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")

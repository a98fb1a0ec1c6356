"""The compiled form of a taxonomy: which terms play which part in which rule, and the rule checks.

Each term knows its roles: (topic, rule, slot) triples packed into one int. A rule is indexed by its
first slot, its anchor: only rules whose anchor was found in a text are looked at, a text with no
anchor at all is dropped after one cheap search, and a rule's scope and vetoes are checked only when
every slot has a term in the text.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tracker.terms import Hit, TermFinder, Text

if TYPE_CHECKING:
    from tracker.taxonomy import Taxonomy


def role(ti: int, ri: int, si: int) -> int:
    """Pack (topic, rule or -1 for the topic's exclude, slot or -1 for the rule's none) into an int."""
    return (ti << 20) | ((ri + 1) << 10) | (si + 1)


@dataclass(frozen=True)
class Rule:
    """A rule of a topic in compiled form: roles of its slots, of its vetoes and of the topic's exclude."""

    topic: int
    index: int
    slots: tuple[int, ...]
    veto: int
    excluded: int
    scope: str
    lead: bool = False


_NONE: frozenset[int] = frozenset()


class Matcher:
    """Terms and rules of a taxonomy, compiled for fast tagging."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.topic_ids = taxonomy.ids()
        self.finder = TermFinder()
        self.term_text = self.finder.term_text
        roles: dict[int, set[int]] = {}  # term id -> its roles
        self.rules: list[list[Rule]] = []
        shared = dict(taxonomy.groups)

        def add(terms: tuple[str, ...], local: dict[str, tuple[str, ...]], r: int) -> None:
            for term in _expand(terms, local, shared):
                roles.setdefault(self.finder.add(term), set()).add(r)

        for ti, topic in enumerate(taxonomy.topics):
            local = dict(topic.groups)
            rules = []
            for ri, spec in enumerate(topic.all_rules()):
                for si, slot in enumerate(spec.all):
                    add(slot, local, role(ti, ri, si))
                add(spec.none, local, role(ti, ri, -1))
                slots = tuple(role(ti, ri, si) for si in range(len(spec.all)))
                rules.append(Rule(ti, ri, slots, role(ti, ri, -1), role(ti, -1, -1), spec.scope, spec.lead))
            add(topic.exclude, local, role(ti, -1, -1))
            self.rules.append(rules)
        self.finder.ignore(taxonomy.ignore)
        self.role_terms: dict[int, frozenset[int]] = {}
        for tid, term_roles in roles.items():
            for r in term_roles:
                self.role_terms[r] = self.role_terms.get(r, _NONE) | {tid}
        self.rule_list = [r for rules in self.rules for r in rules]  # in taxonomy order
        terms_of = self.role_terms.get
        self._rule_sets = [
            (r, tuple(terms_of(s, _NONE) for s in r.slots), terms_of(r.veto, _NONE), terms_of(r.excluded, _NONE))
            for r in self.rule_list
        ]
        # Index each rule by its first slot, the anchor (the taxonomy lists its most specific slot first).
        self._anchored_by_term: list[tuple[int, ...]] = [() for _ in self.term_text]
        for number, rule in enumerate(self.rule_list):
            for tid in self.role_terms.get(rule.slots[0], _NONE):
                self._anchored_by_term[tid] += (number,)
        # When every rule reads only the lead, so does tagging: long texts cost no more than short ones.
        self.lead_only = all(rule.lead for rule in self.rule_list)
        self.finder.compile({tid for tid, anchored in enumerate(self._anchored_by_term) if anchored})

    def scan(self, title: str, summary: str = "", *, for_tagging: bool = False) -> Text:
        """The terms of a text; ``for_tagging`` skips texts no rule can match and reads only what rules read."""
        return self.finder.scan(title, summary, prefilter=for_tagging, lead_only=for_tagging and self.lead_only)

    def decide(self, text: Text) -> list[tuple[int, list[Hit]]]:
        """(topic index, deciding hits) for every topic given to the text, in taxonomy order.

        Only rules anchored on a term found are considered; a rule is checked in detail only when each
        of its slots has a term in the text. The first rule (in file order) that gives a topic decides it:
        its hits are the topic's, and the topic's later rules are not checked.
        """
        by_term = text.by_term
        candidates: set[int] = set()
        anchored_by_term = self._anchored_by_term
        for tid in by_term:
            anchored = anchored_by_term[tid]
            if anchored:
                candidates.update(anchored)
        if not candidates:
            return []
        tids = set(by_term)
        decided: dict[int, list[Hit]] = {}
        for number in sorted(candidates) if len(candidates) > 1 else candidates:
            rule, slot_terms, veto_terms, excluded_terms = self._rule_sets[number]
            if rule.topic in decided:
                continue
            for terms in slot_terms:
                if terms.isdisjoint(tids):
                    break
            else:
                if not excluded_terms.isdisjoint(tids) and self._excluded(text, excluded_terms & tids, rule.lead):
                    continue
                vetoes = veto_terms & tids
                if vetoes and rule.scope == "text" and not rule.lead:
                    continue
                found = [[h for tid in terms & tids for h in by_term[tid]] for terms in slot_terms]
                vetoing = [h for tid in vetoes for h in by_term[tid]]
                deciding, _ = check(text, found, vetoing, rule.scope, rule.lead)
                if deciding:
                    decided[rule.topic] = deciding
        return sorted(decided.items()) if len(decided) > 1 else list(decided.items())

    @staticmethod
    def _excluded(text: Text, found: AbstractSet[int], lead: bool) -> bool:
        """Whether the topic's exclusions occur where the rule looks (the lead, for a lead rule)."""
        if not lead or text.limit <= text.lead_end:
            return True
        return any(h[0] < text.lead_end for tid in found for h in text.by_term[tid])

    def hits_of(self, text: Text, r: int) -> list[Hit]:
        """The hits of the terms that have role ``r``."""
        by_term = text.by_term
        return [h for tid in self.role_terms.get(r, _NONE) & by_term.keys() for h in by_term[tid]]

    def names(self, hits: list[Hit]) -> tuple[str, ...]:
        """The distinct terms of some hits as written in the file, in text order.

        A hit inside a longer one ("China" in "South China Sea") is left out: the longer term says it.
        """
        if len(hits) == 1:
            return (self.term_text[hits[0][2]],)
        kept: list[Hit] = []
        reach = -1  # the furthest end of the hits kept so far (sorted by start, longest first)
        for start, minus_end, tid in sorted({(h[0], -h[1], h[2]) for h in hits}):
            end = -minus_end
            if end > reach or (kept and kept[-1][:2] == (start, end)):
                kept.append((start, end, tid))
            if end > reach:
                reach = end
        return tuple(dict.fromkeys([self.term_text[h[2]] for h in kept]))


def check(
    text: Text, found: list[list[Hit]], vetoes: list[Hit], scope: str, lead: bool = False
) -> tuple[list[Hit], list[Hit]]:
    """(deciding hits, vetoing hits) of one rule: every slot found within the scope, and no veto there.

    The rule fired when the deciding hits are non-empty. With ``lead``, only hits in the lead count.
    """
    if lead and text.limit > text.lead_end:  # (when scanning stopped at the lead, all hits are in it)
        end = text.lead_end
        found = [[h for h in f if h[0] < end] for f in found]
        vetoes = [h for h in vetoes if h[0] < end]
    if not all(found):
        return [], []
    if scope == "text":
        return ([] if vetoes else [h for f in found for h in f]), vetoes
    if scope == "title":
        end = text.title_len
        in_title = [[h for h in f if h[0] < end] for f in found]
        title_vetoes = [h for h in vetoes if h[0] < end]
        fired = all(in_title) and not title_vetoes
        return ([h for f in in_title for h in f] if fired else []), title_vetoes
    return _same_sentence(text, found, vetoes)


def _same_sentence(text: Text, found: list[list[Hit]], vetoes: list[Hit]) -> tuple[list[Hit], list[Hit]]:
    """The sentence-scope check: the sentences holding every slot and no veto.

    A hit's sentence is its place bisected in the sentence ends (only for the hits of this rule: cheaper
    than numbering every hit of the text).
    """
    ends = text.sentence_ends
    common = {bisect_right(ends, h[0]) for h in found[0]}
    for hits in found[1:]:
        common &= {bisect_right(ends, h[0]) for h in hits}
        if not common:
            return [], []
    vetoing = [h for h in vetoes if bisect_right(ends, h[0]) in common]
    if vetoing:
        common -= {bisect_right(ends, h[0]) for h in vetoing}
        if not common:
            return [], vetoing
    return [h for hits in found for h in hits if bisect_right(ends, h[0]) in common], vetoing


def _expand(terms: tuple[str, ...], local: dict[str, tuple[str, ...]], shared: dict[str, tuple[str, ...]]) -> list[str]:
    """Replace "@group" by its terms. A topic's group may name shared groups and the topic's groups
    defined before it (``local`` keeps file order), so the expansion always ends."""
    out: list[str] = []
    for term in terms:
        if not term.startswith("@"):
            out.append(term)
            continue
        name = term[1:]
        if name in local:
            names = list(local)
            earlier = {k: local[k] for k in names[: names.index(name)]}
            out += _expand(local[name], earlier, shared)
        else:
            out += shared[name]
    return out

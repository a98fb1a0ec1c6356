"""The topic tagger: text + taxonomy -> topics, each with the terms that decided it.

Pure functions: no I/O here except ``load_taxonomy`` reading the taxonomy file. How a topic is decided:

1. One scan finds every term of every topic in ``title + "\\n" + summary`` (``tracker.terms``).
2. A topic's rules are checked (``tracker.matcher``): its ``terms`` (any one suffices), then each
   ``[[topics.rules]]`` (every slot of ``all`` matched within the rule's scope, and no ``none`` term in
   that scope). Rules marked ``lead`` read only the title and the summary's first two sentences. The
   first rule that fires, in file order, gives the topic its terms.
3. A topic with an ``exclude`` term where its rules look is never given, whatever fired.

``explain`` reports the same decision per topic and rule, for the ``tracker explain`` command.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.matcher import Matcher, check, role
from tracker.matcher import Rule as CompiledRule
from tracker.models import TopicMatch
from tracker.taxonomy import Rule, Taxonomy, TopicDef, load_taxonomy
from tracker.terms import Hit, Text

__all__ = [
    "Explanation",
    "Rule",
    "RuleTrace",
    "Taxonomy",
    "TopicDef",
    "explain",
    "format_explanation",
    "load_taxonomy",
    "tag",
]


def tag(taxonomy: Taxonomy, title: str, summary: str = "", language: str | None = None) -> tuple[TopicMatch, ...]:
    """The topics of one article, in taxonomy order, each with the terms that decided it.

    ``language`` (the feed's language code) is accepted as a hint only: English and Chinese terms are
    matched by the script they are written in, since feeds mislabel their language and mix scripts.

    >>> tax = load_taxonomy()
    >>> [m.topic for m in tag(tax, "PLA jets cross the Taiwan Strait median line")]
    ['taiwan', 'exercises']
    """
    matcher: Matcher = taxonomy.matcher
    text = matcher.finder.scan(title, summary, prefilter=True, lead_only=matcher.lead_only)  # = scan for tagging
    if not text.by_term:
        return ()
    ids, names = matcher.topic_ids, matcher.names
    return tuple([TopicMatch(ids[ti], names(hits)) for ti, hits in matcher.decide(text)])


@dataclass(frozen=True)
class RuleTrace:
    """How one rule fared: the terms found per slot (within the scope), and what vetoed it."""

    name: str
    scope: str
    fired: bool
    slots: tuple[tuple[str, tuple[str, ...]], ...]  # (slot as written, terms found there)
    vetoed_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Explanation:
    """Why one topic was or was not given to a text."""

    topic: str
    tagged: bool
    terms: tuple[str, ...]
    excluded_by: tuple[str, ...]
    rules: tuple[RuleTrace, ...]

    @property
    def reason(self) -> str:
        if self.tagged:
            first, *others = [r.name for r in self.rules if r.fired]
            also = f" (also fired: {', '.join(others)})" if others else ""
            return f"tagged by {first}: {', '.join(self.terms)}{also}"
        if self.excluded_by:
            return f"excluded by {', '.join(self.excluded_by)}"
        vetoed = [r for r in self.rules if r.vetoed_by]
        if vetoed:
            return "vetoed: " + "; ".join(f"{r.name} by {', '.join(r.vetoed_by)}" for r in vetoed)
        if not any(found for r in self.rules for _, found in r.slots):
            return "no terms found"
        return "no rule complete: " + "; ".join(
            f"{r.name} lacks {' + '.join(s for s, found in r.slots if not found) or 'a shared ' + r.scope}"
            for r in self.rules
            if any(found for _, found in r.slots)
        )


def explain(taxonomy: Taxonomy, title: str, summary: str = "", language: str | None = None) -> list[Explanation]:
    """Per topic (taxonomy order): which rules and terms fired, which exclusion or missing term vetoed."""
    matcher: Matcher = taxonomy.matcher
    text = matcher.scan(title, summary)
    out = []
    for ti, topic in enumerate(taxonomy.topics):
        checked = [
            _trace(matcher, text, rule, spec) for rule, spec in zip(matcher.rules[ti], topic.all_rules(), strict=True)
        ]
        traces = [trace for trace, _ in checked]
        excluded_hits = matcher.hits_of(text, role(ti, -1, -1))
        if topic.lead:
            excluded_hits = [h for h in excluded_hits if h[0] < text.lead_end]
        excluded = matcher.names(excluded_hits)
        # The first rule that fired decides, as in ``tag``: its terms are the tag's.
        deciding = next((hits for trace, hits in checked if trace.fired), [])
        terms = matcher.names(deciding) if deciding else ()
        tagged = bool(deciding) and not excluded
        out.append(Explanation(topic.id, tagged, terms if tagged else (), excluded, tuple(traces)))
    return out


def _trace(matcher: Matcher, text: Text, rule: CompiledRule, spec: Rule) -> tuple[RuleTrace, list[Hit]]:
    """How one rule fared, and its deciding hits (none when it did not fire)."""
    found = [matcher.hits_of(text, s) for s in rule.slots]
    deciding, vetoes = check(text, found, matcher.hits_of(text, rule.veto), rule.scope, rule.lead)
    described = []
    for slot, hits in zip(spec.all, found, strict=True):
        if deciding:
            hits = [h for h in hits if h in deciding]
        elif rule.scope == "title" or rule.lead:
            end = text.title_len if rule.scope == "title" else text.lead_end
            hits = [h for h in hits if h[0] < end]
        described.append((" | ".join(slot), matcher.names(hits)))
    name = spec.name or f"rule {rule.index}"
    return RuleTrace(name, rule.scope, bool(deciding), tuple(described), matcher.names(vetoes)), deciding


def format_explanation(explanations: list[Explanation], *, verbose: bool = False) -> str:
    """Plain text for the CLI: tagged topics first with their terms, then why the others were not.

    Topics with no term found at all are listed on one line unless ``verbose``.
    """
    lines = []
    tagged = [e for e in explanations if e.tagged]
    lines.append("Topics: " + (", ".join(e.topic for e in tagged) if tagged else "(none)"))
    quiet = []
    for e in explanations:
        if not verbose and not e.tagged and e.reason == "no terms found":
            quiet.append(e.topic)
            continue
        mark = "+" if e.tagged else "-"
        lines.append(f"{mark} {e.topic}: {e.reason}")
        for r in e.rules:
            if not verbose and not any(found for _, found in r.slots) and not r.vetoed_by:
                continue
            complete = all(found for _, found in r.slots)
            state = "fired" if r.fired else ("vetoed" if r.vetoed_by and complete else "incomplete")
            lines.append(f"    {r.name} [{r.scope}] {state}")
            for slot, found in r.slots:
                shown = ", ".join(found) if found else "(missing)"
                lines.append(f"      {_short(slot)} -> {shown}")
            if r.vetoed_by:
                lines.append(f"      vetoed by -> {', '.join(r.vetoed_by)}")
    if quiet:
        lines.append("  no terms found for: " + ", ".join(quiet))
    return "\n".join(lines)


def _short(slot: str, width: int = 60) -> str:
    return slot if len(slot) <= width else slot[: width - 1] + "…"

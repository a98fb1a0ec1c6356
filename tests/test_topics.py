"""The topic tagger: the regression table, explanations, user taxonomies and broken ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tracker.errors import ConfigError
from tracker.hanzi import fold, variants
from tracker.models import TopicMatch
from tracker.topics import Taxonomy, explain, format_explanation, load_taxonomy, tag

DATA = Path(__file__).parent / "data"
TOPIC_FILES = DATA / "topics"
DARK_BACKGROUND = "#0E1117"  # Streamlit's dark theme


def _cases() -> list[pytest.param]:
    rows = []
    lines = (DATA / "topic_cases.tsv").read_text(encoding="utf-8").splitlines()
    table = [line.split("\t") for line in lines if line.strip() and not line.startswith("#")]
    assert table[0][:4] == ["language", "expected", "title", "summary"]
    for number, row in enumerate(table[1:], 2):
        language, expected, title, summary = row[:4]
        topics = frozenset() if expected == "-" else frozenset(expected.split(","))
        rows.append(pytest.param(language, topics, title, summary, id=f"{number}-{title[:40]}"))
    return rows


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


@pytest.mark.parametrize(("language", "expected", "title", "summary"), _cases())
def test_regression_table(taxonomy: Taxonomy, language: str, expected: frozenset[str], title: str, summary: str):
    matches = tag(taxonomy, title, summary, language)
    assert {m.topic for m in matches} == expected
    assert all(m.terms for m in matches), "every topic names the terms that decided it"


def test_matches_come_in_taxonomy_order_with_their_terms(taxonomy: Taxonomy):
    matches = tag(taxonomy, "PLA warplanes cross the Taiwan Strait median line in drills")
    assert [m.topic for m in matches] == ["taiwan", "exercises"]
    assert all(isinstance(m, TopicMatch) for m in matches)
    assert "Taiwan Strait" in matches[0].terms
    # A term inside a longer one is not listed twice ("Taiwan" in "Taiwan Strait").
    assert "Taiwan" not in matches[0].terms


def test_no_terms_no_topics(taxonomy: Taxonomy):
    assert tag(taxonomy, "Local bakery wins prize for sourdough") == ()
    assert tag(taxonomy, "") == ()


def test_language_is_only_a_hint(taxonomy: Taxonomy):
    # Feeds mislabel their language: the script of the text decides which terms apply.
    assert [m.topic for m in tag(taxonomy, "国台办：坚决反对美国对台军售", "", "en")] == ["taiwan"]


def test_explanation_names_the_deciding_rule_and_terms(taxonomy: Taxonomy):
    title, summary = "US and China hold defence talks", "The PLA and the Pentagon agreed a hotline."
    found = {e.topic: e for e in explain(taxonomy, title, summary)}
    talks = found["talks"]
    assert talks.tagged
    # The first rule that fires (in file order) decides, in the explanation as in the tag.
    assert talks.terms == {m.topic: m.terms for m in tag(taxonomy, title, summary)}["talks"]
    assert "defence talks" in talks.terms
    fired = [r.name for r in talks.rules if r.fired]
    assert talks.reason.startswith(f"tagged by {fired[0]}: ")
    assert len(fired) > 1 and "also fired" in talks.reason  # the others are still shown
    text = format_explanation(list(found.values()))
    assert text.splitlines()[0].startswith("Topics: ")
    assert "+ talks" in text
    assert "Pentagon" in text  # a later rule's terms, in its trace
    assert any(term in text for term in talks.terms)


def test_explanation_says_what_vetoed_a_topic(taxonomy: Taxonomy):
    found = {e.topic: e for e in explain(taxonomy, "US and China hold trade talks amid tensions")}
    talks = found["talks"]
    assert not talks.tagged
    assert "vetoed" in talks.reason and "trade" in talks.reason
    vetoed = [r for r in talks.rules if r.vetoed_by]
    assert vetoed and all(not r.fired for r in vetoed)
    assert "vetoed by -> trade" in format_explanation(list(found.values()))


def test_explanation_says_what_is_missing(taxonomy: Taxonomy):
    found = {e.topic: e for e in explain(taxonomy, "Taiwan night market wins award")}
    assert not found["taiwan"].tagged
    assert "no rule complete" in found["taiwan"].reason or "vetoed" in found["taiwan"].reason
    assert found["hypersonics"].reason == "no terms found"
    assert "no terms found for:" in format_explanation(list(found.values()))


def test_explain_agrees_with_tag(taxonomy: Taxonomy):
    for row in _cases():
        language, _, title, summary = row.values
        tagged = {m.topic: m.terms for m in tag(taxonomy, title, summary, language)}
        explained = {e.topic: e.terms for e in explain(taxonomy, title, summary, language) if e.tagged}
        assert explained.keys() == tagged.keys(), title


def test_user_topic_file_loads_and_tags():
    tax = load_taxonomy(TOPIC_FILES / "user_topic.toml")
    assert tax.ids() == ("drones", "chips")
    assert tax.version.startswith("u1+")
    assert str(tax.changed) == "2025-05-01"
    drones = tax.get("drones")
    assert (drones.label, drones.color, drones.description) == ("Military drones", "#2A9D8F", "")
    assert tag(tax, "Army orders a drone swarm") == (TopicMatch("drones", ("drone swarm",)),)
    assert [m.topic for m in tag(tax, "无人机表演")] == ["drones"]
    assert tag(tax, "Drone strikes hit fuel depot") == (TopicMatch("drones", ("re:drones?\\s+strikes?",)),)
    assert [m.topic for m in tag(tax, "US tightens export controls on chips")] == ["chips"]
    assert tag(tax, "Export controls hit potato chips makers") == ()  # the topic's exclude
    assert tag(tax, "Chips are down", "New export controls on grain were announced.") == ()  # not one sentence
    with pytest.raises(KeyError):
        tax.get("nope")


def test_default_path_comes_from_settings(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TRACKER_TOPICS", str(TOPIC_FILES / "user_topic.toml"))
    assert load_taxonomy().ids() == ("drones", "chips")


def _broken_files() -> list[pytest.param]:
    return [pytest.param(path, id=path.stem) for path in sorted(TOPIC_FILES.glob("broken_*.toml"))]


@pytest.mark.parametrize("path", _broken_files())
def test_broken_file_names_the_file_topic_and_pattern(path: Path):
    # Each broken file says on its first line what the message must contain: "# expect: a | b".
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: ")
    with pytest.raises(ConfigError) as caught:
        load_taxonomy(path)
    message = str(caught.value)
    assert str(path) in message
    for part in first.removeprefix("# expect: ").split(" | "):
        assert part in message


def test_missing_file_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_taxonomy(tmp_path / "nope.toml")


def test_version_changes_when_the_file_changes(tmp_path: Path):
    path = tmp_path / "topics.toml"
    shutil.copy(TOPIC_FILES / "user_topic.toml", path)
    first = load_taxonomy(path).version
    assert load_taxonomy(path).version == first
    path.write_text(path.read_text(encoding="utf-8").replace('"UAV"', '"UAV", "UAS"'), encoding="utf-8")
    second = load_taxonomy(path).version
    assert second != first
    assert second.startswith("u1+")


def test_default_taxonomy_describes_every_topic(taxonomy: Taxonomy):
    assert taxonomy.ids()[:4] == ("taiwan", "hypersonics", "arms_control", "talks")
    assert {"south_china_sea", "exercises", "sanctions", "alliances"} <= set(taxonomy.ids())
    for topic in taxonomy.topics:
        assert topic.label and topic.description, topic.id
    assert len({t.color for t in taxonomy.topics}) == len(taxonomy.topics)


def _luminance(color: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_colors_are_readable_on_light_and_dark_backgrounds(taxonomy: Taxonomy):
    # WCAG asks 3:1 for graphics such as chart lines and bars.
    for topic in taxonomy.topics:
        assert _contrast(topic.color, "#FFFFFF") >= 3, topic.id
        assert _contrast(topic.color, DARK_BACKGROUND) >= 3, topic.id


def test_traditional_and_simplified_fold_together():
    assert fold("臺灣海峽") == "台湾海峡"
    assert fold("ＤＦ１７") == "DF17"
    # English text with a curly quote takes the quick way out; mixed text is folded all the same.
    assert fold("China’s “DF-17” test") == "China’s “DF-17” test"
    assert fold("China’s ＤＦ１７ over 臺灣") == "China’s DF17 over 台湾"
    assert "國台辦" in variants("国台办")
    assert variants("两岸")[0] == "两岸"

"""Evaluation: metrics on a tiny hand-made labelled file, the split, and the real held-back figures."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.conftest import shared_dir
from tracker.errors import ConfigError
from tracker.evaluate import (
    BENCH_ITEMS,
    BENCH_LABELS,
    CORE_TOPICS,
    EXTRA_LABELS,
    LabelledItem,
    Scores,
    load_extra,
    load_labels,
    load_part,
    macro_f1,
    micro,
    part_of,
    predict,
    run_eval,
    score,
    select,
)
from tracker.models import TopicMatch
from tracker.topics import Taxonomy, load_taxonomy

DATA = Path(__file__).parent / "data"
TINY = DATA / "eval_tiny.jsonl"
EXTRA_TINY = DATA / "topics" / "extra_tiny.tsv"
# The core topics must reach this F1 on the held-back part, in both languages together.
BAR = 0.90


@pytest.fixture(scope="module")
def user_taxonomy() -> Taxonomy:
    return load_taxonomy(DATA / "topics" / "user_topic.toml")


def test_scores_arithmetic():
    s = Scores(tp=2, fp=2, fn=1)
    assert (s.support, s.precision, s.recall) == (3, 0.5, 2 / 3)
    assert s.f1 == pytest.approx(4 / 7)
    assert Scores().f1 == 1.0  # nothing expected, nothing claimed
    assert Scores(fp=1).precision == 0.0 and Scores(fp=1).recall == 1.0
    assert Scores(1, 0, 0) + Scores(0, 1, 1) == Scores(1, 1, 1)


def test_metrics_on_the_tiny_file(user_taxonomy: Taxonomy):
    items = load_labels(TINY)
    assert len(items) == 8 and items[2].unsure and items[6].lang == "zh"
    scores = score(items, predict(user_taxonomy, items), user_taxonomy.ids())
    # drones: found in 01 and 02, missed in 04, wrongly given to 03 and 08.
    assert scores["drones"] == Scores(tp=2, fp=2, fn=1)
    # chips: 05 and 07 found; 06 is vetoed by the topic's exclude ("potato chips").
    assert scores["chips"] == Scores(tp=2, fp=0, fn=0)
    assert micro(scores) == Scores(tp=4, fp=2, fn=1)
    assert macro_f1(scores) == pytest.approx((4 / 7 + 1) / 2)


def test_score_with_hand_made_predictions():
    items = [LabelledItem(str(i), "en", "t", "", frozenset(t)) for i, t in enumerate([{"a"}, {"a", "b"}, set()])]
    predictions = [(TopicMatch("a", ("x",)),), (), (TopicMatch("b", ("y",)),)]
    scores = score(items, predictions, ["a", "b"])
    assert scores == {"a": Scores(1, 0, 1), "b": Scores(0, 1, 1)}


def test_report_shows_figures_languages_mistakes_and_speed(user_taxonomy: Taxonomy):
    report = run_eval(TINY, taxonomy=user_taxonomy, show_mistakes=10)
    assert "8 items (6 en, 2 zh; 1 unsure)" in report
    drones = next(line for line in report.splitlines() if line.strip().startswith("drones"))
    assert drones.split()[1:8] == ["0.500", "0.667", "0.571", "3", "2", "2", "1"]
    for section in ("All languages", "Language en", "Language zh", "Without unsure items"):
        assert section in report
    assert "Labels not in the taxonomy (not scored): satellites" in report
    assert "Mistakes: 3 items" in report
    assert "Military buys unmanned helicopters" in report  # a miss, with why
    assert "+ drones: UAV" in report  # a wrong tag, with its terms
    assert "articles/s" in report


def test_report_on_one_part_only(user_taxonomy: Taxonomy):
    tune = run_eval(TINY, part="tune", taxonomy=user_taxonomy, show_mistakes=0)
    holdout = run_eval(TINY, part="holdout", taxonomy=user_taxonomy, show_mistakes=0)
    counts = [int(r.split("part ")[1].split(": ")[1].split(" items")[0]) for r in (tune, holdout)]
    assert sum(counts) == 8
    with pytest.raises(ValueError):
        run_eval(TINY, part="everything", taxonomy=user_taxonomy)


def test_split_is_deterministic_disjoint_and_about_sixty_forty():
    items = [LabelledItem(f"item-{i}", "en", "", "", frozenset()) for i in range(3000)]
    tune, holdout = select(items, "tune"), select(items, "holdout")
    assert {i.id for i in tune}.isdisjoint(i.id for i in holdout)
    assert len(tune) + len(holdout) == len(items)
    assert 0.56 < len(tune) / len(items) < 0.64
    assert [part_of(i.id) for i in items[:50]] == [part_of(i.id) for i in items[:50]]
    assert select(items, "all") == items


def test_extra_labels_score_only_the_topics_they_cover(user_taxonomy: Taxonomy):
    items = load_extra(EXTRA_TINY, TINY)  # the tiny labels file stands in for the corpus: ids and texts
    assert [i.id for i in items] == ["tiny-03", "tiny-04", "tiny-07"]
    assert items[0].unsure and items[1].topics == {"drones"} and items[2].lang == "zh"
    scores = score(items, predict(user_taxonomy, items), user_taxonomy.ids())
    # drones: wrongly given to 03 (UAV), missed in 04; chips (found in 07) is not scored on these items.
    assert scores == {"drones": Scores(tp=0, fp=1, fn=1), "chips": Scores()}


def test_extra_labels_must_say_what_they_cover_and_name_corpus_items(tmp_path: Path):
    path = tmp_path / "extra.tsv"
    path.write_text("id\ttopics\tnote\ntiny-01\tdrones\t\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="covers"):
        load_extra(path, TINY)
    path.write_text("# covers: drones\nid\ttopics\tnote\nnot-there\tdrones\t\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not-there"):
        load_extra(path, TINY)


def test_extra_labels_read_their_texts_from_a_gzipped_corpus(tmp_path: Path, user_taxonomy: Taxonomy):
    # The benchmark sample is gzipped JSON lines; a line whose id does not come first is read whole.
    lines = TINY.read_text(encoding="utf-8").splitlines()
    moved = json.loads(lines[3])
    lines[3] = json.dumps({"title": moved.pop("title"), **moved})
    corpus = tmp_path / "corpus.jsonl.gz"
    with gzip.open(corpus, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    assert load_extra(EXTRA_TINY, corpus) == load_extra(EXTRA_TINY, TINY)
    with pytest.raises(ConfigError, match="not at"):
        load_extra(EXTRA_TINY, tmp_path / "missing.jsonl.gz")


def test_bench_labels_name_benchmark_items_outside_the_corpus():
    folder = shared_dir("TRACKER_EVAL_DIR")
    if not (folder / BENCH_ITEMS).exists():
        pytest.skip(f"no benchmark sample at {folder / BENCH_ITEMS}")
    corpus = {json.loads(line)["id"] for line in (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines()}
    sets = [load_extra(labels, folder / BENCH_ITEMS) for labels in BENCH_LABELS]
    for items, size, chinese, covered in zip(sets, (254, 15), (90, 15),
                                            ({"arms_control", "talks", "alliances"}, {"hypersonics"}), strict=True):
        ids = [i.id for i in items]
        assert len(ids) == len(set(ids)) == size and corpus.isdisjoint(ids)
        assert {t for i in items for t in (i.scored or ())} == covered
        assert all(i.title for i in items) and sum(i.lang == "zh" for i in items) == chinese
    assert len(load_part(folder / "labels.jsonl", "bench")) == 254 + 15


def test_malformed_labels_name_the_line(tmp_path: Path):
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps({"id": "a", "title": "x", "topics": []}) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 2"):
        load_labels(path)


# The held-back figures on the real labelled news (never copied into the repository).
# Topics still under the bar must at least not fall below where they stand now; the bar itself is an
# expected failure for them, strictly: the day one reaches it, remove it from FLOORS.
FLOORS = {"arms_control": 0.77, "talks": 0.86}  # held back with taxonomy 1.6: 0.778 and 0.867


@pytest.fixture(scope="module")
def held_back() -> dict[str, Scores]:
    folder = shared_dir("TRACKER_EVAL_DIR")
    taxonomy = load_taxonomy()
    items = select(load_labels(folder / "labels.jsonl"), "holdout")
    return score(items, predict(taxonomy, items), taxonomy.ids())


def test_extra_labels_are_ids_of_unlabelled_corpus_items():
    folder = shared_dir("TRACKER_EVAL_DIR")
    labelled = {i.id for i in load_labels(folder / "labels.jsonl")}
    items = load_extra(EXTRA_LABELS, folder / "corpus.jsonl")
    ids = [i.id for i in items]
    assert len(ids) == len(set(ids)) and labelled.isdisjoint(ids)
    covered = items[0].scored or frozenset()
    assert covered == {"arms_control", "hypersonics", "talks", "alliances"}
    assert all(i.topics <= covered for i in items)
    report = run_eval(folder / "labels.jsonl", part="extra", show_mistakes=0)
    assert "labelled for alliances, arms_control, hypersonics, talks only" in report


def _describe(topic: str, s: Scores) -> str:
    return f"{topic}: P {s.precision:.3f} R {s.recall:.3f} F1 {s.f1:.3f} (support {s.support})"


@pytest.mark.parametrize("topic", CORE_TOPICS)
def test_held_back_f1_does_not_regress(held_back: dict[str, Scores], topic: str):
    assert held_back[topic].f1 >= FLOORS.get(topic, BAR), _describe(topic, held_back[topic])


@pytest.mark.parametrize(
    "topic",
    [
        pytest.param(t, marks=pytest.mark.xfail(reason="under the 0.90 bar", strict=True)) if t in FLOORS else t
        for t in CORE_TOPICS
    ],
)
def test_held_back_f1_reaches_the_bar(held_back: dict[str, Scores], topic: str):
    assert held_back[topic].f1 >= BAR, _describe(topic, held_back[topic])


def test_a_topic_with_nothing_to_score_has_no_figures_rather_than_perfect_ones() -> None:
    from tracker.evaluate import Scores, format_table, macro_f1

    scores = {"taiwan": Scores(tp=3, fp=1, fn=1), "sanctions": Scores(), "talks": Scores(fp=2)}
    lines = format_table("t", scores, core=("taiwan",))
    sanctions = next(line for line in lines if line.strip().startswith("sanctions")).split()
    assert sanctions[1:4] == ["-", "-", "-"]
    talks = next(line for line in lines if line.strip().startswith("talks")).split()
    assert talks[1:4] == ["0.000", "-", "0.000"]  # tagged twice, wrongly; nothing to find
    assert macro_f1(scores) == pytest.approx((0.75 + 0.0) / 2)  # sanctions is not a perfect 1.0

"""Would TF-IDF cosine over title and summary link more same-story pairs than the story rules?

    TRACKER_EVAL_DIR=../shared/eval TRACKER_BENCH_DIR=../shared/bench \
        .venv/bin/python tools/story_tfidf_study.py [HOURS]

Tokens are the ones story clustering uses (word stems, CJK character bigrams); weights are
(1 + log tf) x idf, with document frequencies counted over the benchmark sample (50,000 real items).
A pair links when `same_story` links it, or when the two come from different outlets within
24 hours and their cosine reaches the threshold. Prints precision and recall on the labelled pairs
(tests/data/story_pairs.tsv, tune and test splits) and the share of one-story pairs among the
labelled near misses each threshold would link (tests/data/story_near_misses.tsv): those are what a
looser rule adds on a real stream. Last, the same over whole stories: single linkage over the
evaluation corpus, as story clustering would join them. A study, not part of the tracker.
"""

from __future__ import annotations

import collections
import gzip
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_stories import _bench_articles, _eval_articles, _pairs  # noqa: E402
from tracker import stories  # noqa: E402
from tracker.stories import StoryArticle  # noqa: E402

THRESHOLDS = (0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
HOURS = float(sys.argv[1]) if len(sys.argv) > 1 else 24.0


def tokens(article: StoryArticle) -> list[str]:
    text = stories._text(article.title, article.summary, article.link)
    return list(stories._tokens(text.text_words, text.text_runs))


def document_frequencies(bench_dir: Path) -> tuple[collections.Counter[str], int]:
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    with gzip.open(bench_dir / "real-items-50k.jsonl.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            raw = json.loads(line)
            text = stories._text(raw["title"] or "", raw["summary"] or "", None)
            counts.update(stories._tokens(text.text_words, text.text_runs))
            total += 1
    return counts, total


def main() -> None:
    eval_dir, bench_dir = Path(os.environ["TRACKER_EVAL_DIR"]), Path(os.environ["TRACKER_BENCH_DIR"])
    frequencies, total = document_frequencies(bench_dir)

    def vector(article: StoryArticle) -> dict[str, float]:
        counts = collections.Counter(tokens(article))
        weights = {w: (1 + math.log(n)) * (math.log((total + 1) / (frequencies[w] + 1)) + 1)
                   for w, n in counts.items()}
        norm = math.sqrt(sum(x * x for x in weights.values())) or 1.0
        return {w: x / norm for w, x in weights.items()}

    def cosine(a: StoryArticle, b: StoryArticle) -> float:
        va, vb = vector(a), vector(b)
        return sum(x * vb.get(w, 0.0) for w, x in va.items())

    def hours(a: StoryArticle, b: StoryArticle) -> float:
        return abs((a.published - b.published).total_seconds()) / 3600

    articles = _eval_articles(eval_dir)
    labelled = [p for p in _pairs() if p["kind"] != "cross-language"]
    for split in ("tune", "test"):
        rows = []
        for p in (p for p in labelled if p["split"] == split):
            a, b = articles[p["id_a"]], articles[p["id_b"]]
            rows.append((p["same"] == "1", stories.same_story(a, b) is not None, cosine(a, b),
                         hours(a, b) <= HOURS and a.source_id != b.source_id))
        positives = sum(r[0] for r in rows)
        print(f"{split}: {len(rows)} pairs, {positives} one story")
        for threshold in (None, *THRESHOLDS):
            linked = [r for r in rows if r[1] or (threshold is not None and r[3] and r[2] >= threshold)]
            tp = sum(r[0] for r in linked)
            name = "same_story alone" if threshold is None else f"or cosine >= {threshold}"
            print(f"  {name:22} precision {tp / max(1, len(linked)):.2f}  recall {tp / positives:.2f}")
    lines = [line for line in (Path(__file__).resolve().parents[1] / "tests/data/story_near_misses.tsv")
             .read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    header = lines[0].split("\t")
    near = [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]
    bench = _bench_articles(bench_dir, {p[k] for p in near for k in ("id_a", "id_b")})
    scored = [(p["same"] == "1", cosine(bench[p["id_a"]], bench[p["id_b"]]), p["kind"])
              for p in near if hours(bench[p["id_a"]], bench[p["id_b"]]) <= HOURS]
    print(f"near misses within {HOURS:g} hours: {len(scored)} pairs, {sum(s[0] for s in scored)} one story")
    for threshold in THRESHOLDS:
        linked = [s for s in scored if s[1] >= threshold]
        wrong = collections.Counter(s[2] for s in linked if not s[0])
        print(f"  cosine >= {threshold}: links {len(linked)}, one story {sum(s[0] for s in linked)} "
              f"(precision {sum(s[0] for s in linked) / max(1, len(linked)):.2f}); wrong: {dict(wrong)}")
    whole_stories(articles, labelled, cosine, hours)


def whole_stories(articles: dict[str, StoryArticle], labelled: list[dict[str, str]],
                  cosine: Callable[[StoryArticle, StoryArticle], float],
                  hours: Callable[[StoryArticle, StoryArticle], float]) -> None:
    """Single linkage over the whole evaluation corpus: the rules' stories, joined further by every
    pair of different outlets within HOURS whose cosine reaches the threshold; then how often the
    labelled pairs land in one story."""
    ordered = sorted(articles.values(), key=lambda a: a.published)
    rules = stories.assign_stories([], ordered)
    close = []  # (cosine, a, b) for pairs of different outlets within HOURS
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            if hours(a, b) > HOURS:
                break
            if a.source_id != b.source_id:
                close.append((cosine(a, b), a.id, b.id))
    print(f"whole stories over the evaluation corpus ({len(ordered)} items), links within {HOURS:g} hours")
    for threshold in (None, *THRESHOLDS):
        parent = dict(rules)  # article -> its rules' story; a story -> the story it was joined to
        for value, a, b in close:
            if threshold is not None and value >= threshold and _root(parent, a) != _root(parent, b):
                parent[_root(parent, a)] = _root(parent, b)
        for split in ("tune", "test"):
            subset = [p for p in labelled if p["split"] == split]
            joined = [p["same"] == "1" for p in subset if _root(parent, p["id_a"]) == _root(parent, p["id_b"])]
            positives = sum(p["same"] == "1" for p in subset)
            name = "rules alone" if threshold is None else f"and cosine >= {threshold}"
            print(f"  {name:19} {split}: precision {sum(joined) / max(1, len(joined)):.2f}  "
                  f"recall {sum(joined) / positives:.2f}")


def _root(parent: dict[str, str], x: str) -> str:
    while parent.get(x, x) != x:
        x = parent[x]
    return x


if __name__ == "__main__":
    main()

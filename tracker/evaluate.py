"""Measure the tagger against labelled items: precision, recall and F1 per topic, per language, and speed.

Labelled items are JSON lines with at least ``id``, ``language``, ``title``, ``summary`` and ``topics``
(a list of topic ids), and optionally ``unsure`` (a reader noted a reasonable doubt).

Items are split for good by a hash of their id: about 60 % form the tuning part, the rest the held-back
part. Tune rules on the tuning part only; read the held-back figures to report, not to tune.

The "extra" part is more evidence for tuning: items of the same folder's ``corpus.jsonl`` that
``labels.jsonl`` leaves out, labelled in ``tests/data/extra_labels.tsv`` (ids and topics only: the texts
stay in the shared folder) for some topics only; the others are not scored on them.

The "bench" part: items of the shared benchmark sample (the ``bench`` folder next to the labels'
folder, none of them in the evaluation corpus), picked by broad filters and labelled by two readers
independently, in ``tests/data/bench_labels.tsv`` (and hypersonic weapons in Chinese items, one reader,
in ``tests/data/bench_labels_hypersonics.tsv``). Read once as an independent check (taxonomy 1.4),
then used as tuning evidence; the held-back part stays the one check no rule has seen.

    $ tracker eval /path/to/labels.jsonl --part holdout
    >>> run_eval("/path/to/labels.jsonl", part="tune+extra")  # doctest: +SKIP
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tracker.errors import ConfigError
from tracker.models import TopicMatch
from tracker.topics import Taxonomy, explain, load_taxonomy, tag

CORE_TOPICS = ("taiwan", "hypersonics", "arms_control", "talks")
PARTS = ("all", "tune", "holdout", "extra", "tune+extra", "bench")
TUNE_PERCENT = 60
_OUR_LABELS = Path(__file__).resolve().parent.parent / "tests" / "data"
EXTRA_LABELS = _OUR_LABELS / "extra_labels.tsv"
BENCH_LABELS = (_OUR_LABELS / "bench_labels.tsv", _OUR_LABELS / "bench_labels_hypersonics.tsv")
# Where the shared folder keeps the benchmark sample, relative to the folder of labels.jsonl.
BENCH_ITEMS = Path("..") / "bench" / "real-items-50k.jsonl.gz"
_LEADING_ID = re.compile(r'\{\s*"id"\s*:\s*"([^"\\]*)"')


@dataclass(frozen=True)
class LabelledItem:
    id: str
    language: str
    title: str
    summary: str
    topics: frozenset[str]
    unsure: bool = False
    outlet: str = ""
    scored: frozenset[str] | None = None  # the topics its labels cover; None: every topic

    def covers(self, topic: str) -> bool:
        return self.scored is None or topic in self.scored

    @property
    def lang(self) -> str:
        """ "zh" for Chinese (Simplified or Traditional), else "en"."""
        return "zh" if self.language.lower().startswith("zh") else "en"


@dataclass(frozen=True)
class Scores:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float:
        """1.0 when nothing was claimed: no wrong claim was made."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """1.0 when nothing was expected: nothing was missed."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: Scores) -> Scores:
        return Scores(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)


def part_of(item_id: str) -> str:
    """ "tune" or "holdout", fixed forever by a hash of the item id."""
    bucket = int(hashlib.sha256(item_id.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "tune" if bucket < TUNE_PERCENT else "holdout"


def select(items: Iterable[LabelledItem], part: str) -> list[LabelledItem]:
    """The items of labels.jsonl in one part: "all", "tune" or "holdout"."""
    if part not in PARTS[:3]:
        raise ValueError(f"part must be one of {', '.join(PARTS[:3])}, not {part!r}")
    return [i for i in items if part == "all" or part_of(i.id) == part]


def load_part(
    path: str | os.PathLike[str], part: str, extra: str | os.PathLike[str] | None = None
) -> list[LabelledItem]:
    """The items of one part of ``PARTS``; "extra" reads ``extra`` (default ``EXTRA_LABELS``) with the
    texts of ``corpus.jsonl`` next to ``path``."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}, not {part!r}")
    if part == "bench":
        return [item for labels in BENCH_LABELS for item in load_extra(labels, Path(path).parent / BENCH_ITEMS)]
    if part not in ("extra", "tune+extra"):
        return select(load_labels(path), part)
    items = load_extra(extra or EXTRA_LABELS, Path(path).parent / "corpus.jsonl")
    return select(load_labels(path), "tune") + items if part == "tune+extra" else items


def load_extra(labels: str | os.PathLike[str], corpus: str | os.PathLike[str]) -> list[LabelledItem]:
    """Extra labelled items: a TSV of id, topics (";"-joined, "-" for none) and a note (holding "unsure"
    for a reasonable doubt), the texts from the corpus. Its comment lines say which topics it covers:
    a line "# covers: a, b"."""
    rows, covered = [], None
    for number, line in enumerate(Path(labels).read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("# covers:"):
            covered = frozenset(t.strip() for t in line.split(":", 1)[1].split(","))
        if not line.strip() or line.startswith("#") or line.startswith("id\t"):
            continue
        cells = line.split("\t")
        if len(cells) < 2:
            raise ConfigError(f"line {number}: expected id, topics and a note", resource=str(labels))
        topics = frozenset() if cells[1] in ("-", "") else frozenset(cells[1].split(";"))
        rows.append((cells[0], topics, "unsure" in (cells[2] if len(cells) > 2 else "")))
    if covered is None:
        raise ConfigError('no "# covers: topic, ..." line', resource=str(labels))
    texts: dict[str, dict[str, object]] = {}
    wanted = {row[0] for row in rows}
    opener = gzip.open if str(corpus).endswith(".gz") else open
    try:
        with opener(corpus, "rt", encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                # The benchmark sample has 50,000 lines: decode only those of labelled items.
                leading = _LEADING_ID.match(line)
                if leading and leading.group(1) not in wanted:
                    continue
                raw = json.loads(line)
                texts[str(raw["id"])] = raw
    except FileNotFoundError:
        raise ConfigError(f"the texts of these labels are not at {corpus}", resource=str(labels)) from None
    items = []
    for item_id, topics, unsure in rows:
        raw = texts.get(item_id)
        if raw is None:
            raise ConfigError(f"item {item_id} is not in {corpus}", resource=str(labels))
        items.append(
            LabelledItem(
                id=item_id,
                language=str(raw.get("language") or "en"),
                title=str(raw.get("title") or ""),
                summary=str(raw.get("summary") or ""),
                topics=topics,
                unsure=unsure,
                outlet=str(raw.get("outlet") or ""),
                scored=covered,
            )
        )
    return items


def load_labels(path: str | os.PathLike[str]) -> list[LabelledItem]:
    """Read labelled items from a JSONL file; a malformed line raises ConfigError naming the line."""
    items = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                items.append(
                    LabelledItem(
                        id=str(raw["id"]),
                        language=str(raw.get("language") or "en"),
                        title=str(raw.get("title") or ""),
                        summary=str(raw.get("summary") or ""),
                        topics=frozenset(raw.get("topics") or ()),
                        unsure=bool(raw.get("unsure", False)),
                        outlet=str(raw.get("outlet") or ""),
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise ConfigError(f"line {number}: not a labelled item ({exc})", resource=str(path)) from None
    return items


def predict(taxonomy: Taxonomy, items: Sequence[LabelledItem]) -> list[tuple[TopicMatch, ...]]:
    return [tag(taxonomy, i.title, i.summary, i.language) for i in items]


def score(
    items: Sequence[LabelledItem], predictions: Sequence[tuple[TopicMatch, ...]], topics: Sequence[str]
) -> dict[str, Scores]:
    """Per-topic counts of true positives, false positives and false negatives."""
    counts = {t: [0, 0, 0] for t in topics}
    for item, matches in zip(items, predictions, strict=True):
        got = {m.topic for m in matches}
        for t in topics:
            if not item.covers(t):
                continue
            expected, found = t in item.topics, t in got
            if expected and found:
                counts[t][0] += 1
            elif found:
                counts[t][1] += 1
            elif expected:
                counts[t][2] += 1
    return {t: Scores(*c) for t, c in counts.items()}


def micro(scores: dict[str, Scores], topics: Iterable[str] | None = None) -> Scores:
    total = Scores()
    for t in topics if topics is not None else scores:
        total = total + scores[t]
    return total


def macro_f1(scores: dict[str, Scores], topics: Iterable[str] | None = None) -> float:
    """The mean F1 over the topics with something to score (labelled or tagged in these items): a
    topic with neither has no F1, not a perfect one."""
    chosen = [scores[t] for t in (topics if topics is not None else scores)]
    chosen = [s for s in chosen if s.tp + s.fp + s.fn]
    return sum(s.f1 for s in chosen) / len(chosen) if chosen else 0.0


def throughput(taxonomy: Taxonomy, items: Sequence[LabelledItem], *, articles: int = 20_000) -> float:
    """Articles per second tagging title + summary on one core, the items repeated to ``articles``."""
    if not items:
        return 0.0
    pairs = [(i.title, i.summary, i.language) for i in items]
    batch = (pairs * (articles // len(pairs) + 1))[:articles]
    tag(taxonomy, *batch[0])  # compile outside the timing
    # CPU time of this process: the figure per core, whatever else the machine is doing.
    start = time.process_time()
    for title, summary, language in batch:
        tag(taxonomy, title, summary, language)
    return len(batch) / max(time.process_time() - start, 1e-9)


def format_table(title: str, scores: dict[str, Scores], core: Sequence[str]) -> list[str]:
    lines = [title, f"  {'topic':<18} {'P':>6} {'R':>6} {'F1':>6} {'support':>8} {'tp':>5} {'fp':>5} {'fn':>5}"]
    def shown(value: float, defined: bool) -> str:
        return f"{value:>6.3f}" if defined else f"{'-':>6}"

    for t, s in scores.items():
        # Nothing tagged: no precision; nothing labelled: no recall; neither: no F1 (not 1.000).
        lines.append(f"  {t:<18} {shown(s.precision, bool(s.tp + s.fp))} {shown(s.recall, bool(s.support))} "
                     f"{shown(s.f1, bool(s.tp + s.fp + s.fn))} {s.support:>8} {s.tp:>5} {s.fp:>5} {s.fn:>5}")
    for name, chosen in (("micro (core)", core), ("micro (all)", list(scores))):
        m = micro(scores, chosen)
        lines.append(f"  {name:<18} {m.precision:>6.3f} {m.recall:>6.3f} {m.f1:>6.3f} {m.support:>8}")
    lines.append(f"  {'macro F1 (core)':<18} {'':>13} {macro_f1(scores, core):>6.3f}")
    lines.append(f"  {'macro F1 (all)':<18} {'':>13} {macro_f1(scores):>6.3f}")
    return lines


def format_mistakes(
    taxonomy: Taxonomy,
    items: Sequence[LabelledItem],
    predictions: Sequence[tuple[TopicMatch, ...]],
    topics: Sequence[str],
    limit: int,
) -> list[str]:
    """The first ``limit`` items whose topics differ from the labels, with the terms behind each."""
    lines: list[str] = []

    def scored(item: LabelledItem) -> set[str]:
        return {t for t in topics if item.covers(t)}

    wrong = [
        (i, p)
        for i, p in zip(items, predictions, strict=True)
        if (i.topics & scored(i)) != {m.topic for m in p} & scored(i)
    ]
    lines.append(f"Mistakes: {len(wrong)} items (showing {min(limit, len(wrong))})")
    for item, matches in wrong[:limit]:
        got = {m.topic: m.terms for m in matches if m.topic in scored(item)}
        expected = sorted(item.topics & scored(item))
        text = item.title + (" | " + item.summary if item.summary else "")
        lines.append(f"- [{item.lang}{' unsure' if item.unsure else ''}] {item.id[:10]} {_clip(text, 160)}")
        lines.append(f"    expected: {', '.join(expected) or '-'}   got: {', '.join(got) or '-'}")
        for t, terms in got.items():
            if t not in item.topics:
                lines.append(f"    + {t}: {', '.join(terms)}")
        why = {e.topic: e.reason for e in explain(taxonomy, item.title, item.summary, item.language)}
        for t in expected:
            if t not in got:
                lines.append(f"    - {t}: {why.get(t, 'not in the taxonomy')}")
    return lines


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def run_eval(
    path: str | os.PathLike[str],
    *,
    part: str = "all",
    taxonomy: Taxonomy | None = None,
    show_mistakes: int = 20,
) -> str:
    """The printable evaluation report for one part of ``PARTS`` ("all", "tune", "holdout", "extra",
    "tune+extra", "bench") of a labels file."""
    taxonomy = taxonomy or load_taxonomy()
    items = load_part(path, part)
    topics = [t for t in taxonomy.ids() if any(i.covers(t) for i in items)]
    core = [t for t in CORE_TOPICS if t in topics]
    predictions = predict(taxonomy, items)
    by_lang = {lang: [k for k, i in enumerate(items) if i.lang == lang] for lang in ("en", "zh")}
    unsure = sum(i.unsure for i in items)
    lines = [
        f"Labels: {path} - part {part}: {len(items)} items "
        f"({len(by_lang['en'])} en, {len(by_lang['zh'])} zh; {unsure} unsure)",
        f"Taxonomy: {taxonomy.source or '(in memory)'} version {taxonomy.version}, changed {taxonomy.changed}",
        "",
    ]
    partial = sorted({t for i in items if i.scored is not None for t in i.scored})
    if partial:
        lines[-1:-1] = [f"Some items are labelled for {', '.join(partial)} only; other topics are not scored on them."]
    lines += format_table("All languages", score(items, predictions, topics), core)
    for lang, idx in by_lang.items():
        if idx:
            sub = [items[k] for k in idx]
            lines += ["", *format_table(f"Language {lang}", score(sub, [predictions[k] for k in idx], topics), core)]
    if unsure:
        sure = [k for k, i in enumerate(items) if not i.unsure]
        sure_scores = score([items[k] for k in sure], [predictions[k] for k in sure], topics)
        lines += ["", *format_table("Without unsure items", sure_scores, core)]
    unknown = sorted({t for i in items for t in i.topics} - set(topics))
    if unknown:
        lines += ["", f"Labels not in the taxonomy (not scored): {', '.join(unknown)}"]
    if show_mistakes:
        lines += ["", *format_mistakes(taxonomy, items, predictions, topics, show_mistakes)]
    speed = throughput(taxonomy, items)
    lines += ["", f"Throughput: {speed:,.0f} articles/s (title + summary, one core, {len(items)} items repeated)"]
    return "\n".join(lines)


def eval_dir() -> Path | None:
    """The folder named by TRACKER_EVAL_DIR (holding labels.jsonl), or None."""
    value = os.environ.get("TRACKER_EVAL_DIR")
    return Path(value) if value else None

"""Would a learned second opinion on the lead fix the rules' wrong arms-control and talks tags?

    TRACKER_EVAL_DIR=../shared/eval .venv/bin/python tools/topic_context_study.py
    TRACKER_EVAL_DIR=../shared/eval .venv/bin/python tools/topic_context_study.py --holdout talks 3 0.15

The model: a logistic regression over the lead's words (English stems and pairs of neighbouring stems,
Chinese character pairs), sublinear TF-IDF, classes weighted equally, L2 penalty (``strength`` is its
inverse), trained on the tuning evidence (the tuning part, the extra labels and the benchmark labels).
It may only veto: a tag the rules gave is set aside when the model's probability is under a threshold.
A model alone, on about 80 positives, is far worse than the rules, so it is not tried as a tagger.

Without arguments: 5-fold cross-validation over the tuning evidence, 3 different splits averaged,
for each strength and threshold (the held-back part is not read). With ``--holdout TOPIC STRENGTH
THRESHOLD``: one model on all the tuning evidence, read once on the held-back part, every item that
the rules tag or the labels hold listed with its probability. A study, not part of the tracker.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import snowballstemmer
from scipy import sparse
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.evaluate import LabelledItem, load_part  # noqa: E402
from tracker.hanzi import fold  # noqa: E402
from tracker.topics import Taxonomy, load_taxonomy, tag  # noqa: E402

STRENGTHS = (3.0, 10.0, 30.0)
THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.3)
FOLDS, SPLITS = 5, 3
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]*")
_HAN = re.compile(r"[\u3400-\u9fff]+")
_stem = snowballstemmer.stemmer("english").stemWord


def features(lead: str) -> Counter[str]:
    stems = [_stem(w.lower()) for w in _WORD.findall(lead)]
    found = Counter(stems)
    found.update(f"{a}_{b}" for a, b in zip(stems, stems[1:], strict=False))
    for run in _HAN.findall(fold(lead)):
        found.update(run[i : i + 2] for i in range(len(run) - 1))
    return found


class Model:
    def __init__(self, leads: Sequence[str], labels: np.ndarray, strength: float, min_count: int = 2) -> None:
        counted = [features(lead) for lead in leads]
        df = Counter(f for found in counted for f in found)
        names = sorted(f for f, n in df.items() if n >= min_count)
        self.column = {f: k for k, f in enumerate(names)}
        n = len(leads)
        self.idf = np.array([math.log((1 + n) / (1 + df[f])) + 1.0 for f in names])
        x = self.matrix(counted)
        y = labels.astype(float)
        sample = np.where(y > 0, n / (2 * y.sum()), n / (2 * (n - y.sum())))  # balanced classes

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            w, b = theta[:-1], theta[-1]
            z = x @ w + b
            value = strength * float(sample @ (np.logaddexp(0.0, z) - y * z)) + 0.5 * float(w @ w)
            g = strength * sample * (1.0 / (1.0 + np.exp(-z)) - y)
            return value, np.append(x.T @ g + w, g.sum())

        fitted = minimize(loss, np.zeros(len(names) + 1), jac=True, method="L-BFGS-B", options={"maxiter": 5000})
        self.w, self.b = fitted.x[:-1], float(fitted.x[-1])

    def matrix(self, counted: list[Counter[str]]) -> sparse.csr_matrix:
        rows, cols, values = [], [], []
        for r, found in enumerate(counted):
            for f, c in found.items():
                k = self.column.get(f)
                if k is not None:
                    rows.append(r)
                    cols.append(k)
                    values.append((1.0 + math.log(c)) * self.idf[k])
        x = sparse.csr_matrix((values, (rows, cols)), shape=(len(counted), len(self.column)))
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        return sparse.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ x

    def probabilities(self, leads: Sequence[str]) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.matrix([features(lead) for lead in leads]) @ self.w + self.b)))


def lead(taxonomy: Taxonomy, item: LabelledItem) -> str:
    text = taxonomy.matcher.scan(item.title, item.summary)
    return text.original[: text.lead_end]


def folds(items: Sequence[LabelledItem], labels: np.ndarray, split: int) -> np.ndarray:
    """Stratified folds: each class in an order fixed by a hash of id and split, dealt round."""
    fold_of = np.zeros(len(items), dtype=int)
    for cls in (True, False):
        members = [k for k in range(len(items)) if labels[k] == cls]
        members.sort(key=lambda k: hashlib.sha256(f"{split}:{items[k].id}".encode()).hexdigest())
        for position, k in enumerate(members):
            fold_of[k] = position % FOLDS
    return fold_of


def counts(y: np.ndarray, predicted: np.ndarray) -> tuple[int, int, int]:
    return int((y & predicted).sum()), int((~y & predicted).sum()), int((y & ~predicted).sum())


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def cross_validate(taxonomy: Taxonomy, evidence: list[LabelledItem], topic: str) -> None:
    items = [i for i in evidence if i.covers(topic)]
    y = np.array([topic in i.topics for i in items])
    ruled = np.array([topic in {m.topic for m in tag(taxonomy, i.title, i.summary, i.language)} for i in items])
    leads = [lead(taxonomy, i) for i in items]
    print(
        f"\n{topic}: {len(items)} items, {y.sum()} positive; rules alone tp/fp/fn {counts(y, ruled)}"
        f" F1 {f1(*counts(y, ruled)):.3f}"
    )
    print("  strength | model alone (p >= 0.5) | rules, vetoed under: " + "  ".join(map(str, THRESHOLDS)))
    for strength in STRENGTHS:
        p = np.zeros(len(items))
        for split in range(SPLITS):
            fold_of = folds(items, y, split)
            for k in range(FOLDS):
                train, test = np.flatnonzero(fold_of != k), np.flatnonzero(fold_of == k)
                model = Model([leads[i] for i in train], y[train], strength)
                p[test] += model.probabilities([leads[i] for i in test]) / SPLITS
        alone = counts(y, p >= 0.5)
        vetoed = [counts(y, ruled & (p >= t)) for t in THRESHOLDS]
        print(f"  {strength:>8} | {f1(*alone):.3f} {alone} | " + "  ".join(f"{f1(*c):.3f} {c}" for c in vetoed))


def holdout(
    taxonomy: Taxonomy,
    evidence: list[LabelledItem],
    held: list[LabelledItem],
    topic: str,
    strength: float,
    threshold: float,
) -> None:
    items = [i for i in evidence if i.covers(topic)]
    model = Model([lead(taxonomy, i) for i in items], np.array([topic in i.topics for i in items]), strength)
    y = np.array([topic in i.topics for i in held])
    ruled = np.array([topic in {m.topic for m in tag(taxonomy, i.title, i.summary, i.language)} for i in held])
    p = model.probabilities([lead(taxonomy, i) for i in held])
    kept = ruled & (p >= threshold)
    print(f"{topic} held back, strength {strength}, threshold {threshold}:")
    print(
        f"  rules alone {counts(y, ruled)} F1 {f1(*counts(y, ruled)):.3f}; "
        f"with the veto {counts(y, kept)} F1 {f1(*counts(y, kept)):.3f}"
    )
    for k in np.flatnonzero(ruled | y):
        mark = "set aside" if ruled[k] and not kept[k] else ("tagged" if ruled[k] else "missed")
        print(f"  {'+' if y[k] else '-'} p={p[k]:.3f} {mark:<9} {held[k].id[:10]}")


def main() -> None:
    taxonomy = load_taxonomy()
    labels = Path(os.environ["TRACKER_EVAL_DIR"]) / "labels.jsonl"
    evidence = load_part(labels, "tune+extra") + load_part(labels, "bench")
    if sys.argv[1:2] == ["--holdout"]:
        topic, strength, threshold = sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
        holdout(taxonomy, evidence, load_part(labels, "holdout"), topic, strength, threshold)
        return
    for topic in ("talks", "arms_control"):
        cross_validate(taxonomy, evidence, topic)


if __name__ == "__main__":
    main()

"""Binary classification metrics in plain numpy (the product has no scikit-learn): used by
training, `laughvid eval-images` and the comparison script, so every figure is computed one way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    labels, scores = np.asarray(labels).astype(bool), np.asarray(scores, np.float64)
    n_pos, n_neg = labels.sum(), (~labels).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # Average ranks over ties.
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def pr_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision (area under the precision-recall curve, step-wise)."""
    labels, scores = np.asarray(labels).astype(bool), np.asarray(scores, np.float64)
    n_pos = labels.sum()
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, hits = scores[order], labels[order]
    tp = np.cumsum(hits)
    # Evaluate only at the last index of each tied score block.
    last = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(scores) - 1]
    precision = tp[last] / (last + 1)
    recall = tp[last] / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def best_f1_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The score threshold that maximises F1 (used to pick the operating point on validation)."""
    labels, scores = np.asarray(labels).astype(bool), np.asarray(scores, np.float64)
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, tp = scores[order], np.cumsum(labels[order])
    last = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(scores) - 1]
    f1 = 2 * tp[last] / (last + 1 + labels.sum())
    i = int(np.argmax(f1))
    below = sorted_scores[last[i] + 1] if last[i] + 1 < len(scores) else sorted_scores[last[i]] - 1e-6
    return float((sorted_scores[last[i]] + below) / 2)


def binary_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """n, accuracy, balanced accuracy, F1 (smile), precision, recall, ROC-AUC, PR-AUC at `threshold`."""
    labels = np.asarray(labels).astype(bool)
    predicted = np.asarray(scores) >= threshold
    tp = float(np.sum(predicted & labels))
    tn = float(np.sum(~predicted & ~labels))
    fp = float(np.sum(predicted & ~labels))
    fn = float(np.sum(~predicted & labels))
    n = len(labels)
    recall = tp / (tp + fn) if tp + fn else float("nan")
    specificity = tn / (tn + fp) if tn + fp else float("nan")
    precision = tp / (tp + fp) if tp + fp else float("nan")
    return {
        "n": n,
        "n_smile": int(tp + fn),
        "accuracy": (tp + tn) / n if n else float("nan"),
        "balanced_accuracy": (recall + specificity) / 2,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan"),
        "precision": precision,
        "recall": recall,
        "roc_auc": roc_auc(labels, scores),
        "pr_auc": pr_auc(labels, scores),
        "threshold": float(threshold),
    }


def figures_text(figures: Mapping[str, object], sep: str = ", ") -> str:
    """`name value` pairs for a log line, floats to 4 decimals (a printed dict showed 16 digits); the
    exact figures are in the model card (`model_card.json`) for scripts."""
    return sep.join(f"{k} {v:.4f}" if isinstance(v, float | np.floating) else f"{k} {v}" for k, v in figures.items())


@dataclass(frozen=True)
class PairedDifference:
    """`after - before` of one metric for two models scored on the same items, with a bootstrap interval.

    Why paired: both models see the same resampled items in every round, so item difficulty cancels
    and a real change of 0.005 is visible where two separate intervals would overlap."""

    metric: str
    before: float
    after: float
    low: float  # the interval of after - before at `level`
    high: float
    level: float
    n: int
    groups: int  # resampling units (persons / videos; each item its own when none are given)
    resamples: int

    @property
    def change(self) -> float:
        return self.after - self.before

    def as_dict(self) -> dict[str, float | int | str]:
        return {**asdict(self), "change": self.change}


def _weighted_roc_auc(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC-AUC for each row of `weights` (B x N: how often each item was drawn), ties counting half:
    one pass over the items for all rows, instead of sorting every resample."""
    _, tie = np.unique(scores, return_inverse=True)
    k, rows = tie.max() + 1, len(weights)
    neg, pos = ~labels, labels
    flat = (np.arange(rows)[:, None] * k + tie[neg][None, :]).ravel()
    neg_per_tie = np.bincount(flat, weights[:, neg].ravel(), minlength=rows * k).reshape(rows, k)
    below = np.cumsum(neg_per_tie, axis=1) - neg_per_tie
    wins = below[:, tie[pos]] + 0.5 * neg_per_tie[:, tie[pos]]
    return (wins * weights[:, pos]).sum(1) / (weights[:, pos].sum(1) * weights[:, neg].sum(1))


def paired_bootstrap(
    labels: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    groups: Sequence[str] | None = None,
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> PairedDifference:
    """ROC-AUC of `after` minus that of `before` on the same items, with a percentile interval from
    resampling whole groups (a person's or video's crops are not independent) with replacement.
    Rounds that draw a single class are redrawn (they have no ROC-AUC)."""
    labels = np.asarray(labels).astype(bool)
    before, after = np.asarray(before, np.float64), np.asarray(after, np.float64)
    if not len(labels) == len(before) == len(after):
        raise ValueError(f"labels and both score arrays must have one value per item ({len(labels)}, {len(before)}, {len(after)})")
    if labels.all() or not labels.any():
        raise ValueError("a paired ROC-AUC comparison needs both classes")
    _, unit = np.unique(np.asarray(groups if groups is not None else np.arange(len(labels))), return_inverse=True)
    n_units = unit.max() + 1
    rng = np.random.default_rng(seed)
    diffs: list[np.ndarray] = []
    kept, chunk = 0, 200
    for _ in range(10 * resamples // chunk + 10):  # single-class rounds are rare; the bound stops a hopeless set
        drawn = rng.integers(0, n_units, (chunk, n_units))
        flat = (np.arange(chunk)[:, None] * n_units + drawn).ravel()
        weights = np.bincount(flat, minlength=chunk * n_units).reshape(chunk, n_units)[:, unit].astype(np.float64)
        usable = (weights[:, labels].sum(1) > 0) & (weights[:, ~labels].sum(1) > 0)
        weights = weights[usable]
        if len(weights):
            diffs.append(_weighted_roc_auc(labels, after, weights) - _weighted_roc_auc(labels, before, weights))
            kept += len(weights)
        if kept >= resamples:
            break
    if kept < resamples:
        raise ValueError("too few groups of both classes to resample: add more validation groups")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(np.concatenate(diffs)[:resamples], [tail, 100 - tail])
    return PairedDifference(
        "roc_auc", roc_auc(labels, before), roc_auc(labels, after), float(low), float(high), level, len(labels), int(n_units), resamples
    )


def bootstrap_interval(
    metric, labels: np.ndarray, scores: np.ndarray, n: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of `metric(labels, scores)` over items resampled with replacement."""
    labels, scores = np.asarray(labels), np.asarray(scores)
    rng = np.random.default_rng(seed)
    values = [metric(labels[idx], scores[idx]) for idx in rng.integers(0, len(labels), (n, len(labels)))]
    values = np.asarray(values)[~np.isnan(values)]
    tail = (1 - level) / 2 * 100
    return (float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))) if len(values) else (float("nan"),) * 2

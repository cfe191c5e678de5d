"""Binary classification metrics in plain numpy (the product has no scikit-learn): used by
training, `laughvid eval-images` and the comparison script, so every figure is computed one way."""

from __future__ import annotations

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

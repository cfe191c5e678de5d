"""Metrics used for every figure in the model card and eval-images output."""

from __future__ import annotations

import math

import numpy as np
import pytest

from laughvid.training.metrics import best_f1_threshold, binary_metrics, paired_bootstrap, pr_auc, roc_auc


def test_roc_auc_perfect_random_and_ties():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert roc_auc([0, 1], [0.5, 0.5]) == 0.5
    # 3 positives x 2 negatives: pairs won 3 of 6
    assert roc_auc([1, 0, 1, 0, 1], [0.9, 0.7, 0.6, 0.3, 0.2]) == pytest.approx(3 / 6)
    assert math.isnan(roc_auc([1, 1], [0.2, 0.3]))


def test_pr_auc_matches_hand_computed_average_precision():
    # ranking: 1 (P=1), 0, 1 (P=2/3), 0 -> AP = (1 + 2/3) / 2
    assert pr_auc([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx((1 + 2 / 3) / 2)
    assert pr_auc([0, 1], [0.1, 0.9]) == 1.0


def test_binary_metrics_counts():
    m = binary_metrics(np.array([1, 1, 0, 0, 0]), np.array([0.9, 0.4, 0.6, 0.1, 0.2]), 0.5)
    assert m["n"] == 5 and m["n_smile"] == 2
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["f1"] == pytest.approx(0.5)  # tp 1, fp 1, fn 1
    assert m["balanced_accuracy"] == pytest.approx((0.5 + 2 / 3) / 2)


def test_best_f1_threshold_separates_when_possible():
    labels = np.array([0, 0, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.7, 0.8])
    t = best_f1_threshold(labels, scores)
    assert 0.3 < t <= 0.7
    assert binary_metrics(labels, scores, t)["f1"] == 1.0


def _scores(n: int, separation: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores whose ROC-AUC grows with `separation` (generated, no data needed)."""
    rng = np.random.default_rng(seed)
    labels = rng.random(n) < 0.3
    return labels, labels * separation + rng.normal(0, 1, n)


def test_paired_bootstrap_identical_models_change_nothing():
    labels, scores = _scores(400, 1.0, 0)
    c = paired_bootstrap(labels, scores, scores.copy(), resamples=300)
    assert c.change == 0 and c.low == 0 and c.high == 0
    assert c.before == pytest.approx(roc_auc(labels, scores)) and c.n == 400 and c.groups == 400


def test_paired_bootstrap_finds_a_real_gain_and_not_a_tiny_one():
    labels, weak = _scores(3000, 1.0, 1)
    strong = weak + labels * 0.8  # clearly better ranking of the same items
    gain = paired_bootstrap(labels, weak, strong, resamples=500)
    assert gain.low > 0.02 and gain.low <= gain.change <= gain.high
    assert gain.change == pytest.approx(roc_auc(labels, strong) - roc_auc(labels, weak))
    jitter = weak + np.random.default_rng(2).normal(0, 0.05, len(weak))  # same model up to noise
    tiny = paired_bootstrap(labels, weak, jitter, resamples=500)
    assert tiny.low < 0 < tiny.high and tiny.high - tiny.low < 0.01


def test_paired_bootstrap_resamples_whole_groups():
    """Ten near-copies of each face are one piece of evidence, not ten: the interval must say so."""
    labels, weak = _scores(300, 1.0, 3)
    strong = weak + labels * 0.5
    copies = lambda a: np.repeat(a, 10)  # noqa: E731
    groups = np.repeat(np.arange(300), 10).astype(str)
    as_items = paired_bootstrap(copies(labels), copies(weak), copies(strong), resamples=500)
    as_groups = paired_bootstrap(copies(labels), copies(weak), copies(strong), groups=groups, resamples=500)
    assert as_groups.groups == 300 and as_items.groups == 3000
    assert (as_groups.high - as_groups.low) > 2 * (as_items.high - as_items.low)


def test_paired_bootstrap_needs_both_classes_and_matching_lengths():
    with pytest.raises(ValueError, match="both classes"):
        paired_bootstrap(np.ones(5), np.arange(5.0), np.arange(5.0))
    with pytest.raises(ValueError, match="one value per item"):
        paired_bootstrap(np.array([0, 1, 1]), np.arange(3.0), np.arange(2.0))

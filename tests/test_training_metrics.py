"""Metrics used for every figure in the model card and eval-images output."""

from __future__ import annotations

import math

import numpy as np
import pytest

from laughvid.training.metrics import best_f1_threshold, binary_metrics, pr_auc, roc_auc


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

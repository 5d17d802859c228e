"""Evaluation metrics for a binary toxic / not-toxic scorer.

All functions take true labels ``y`` (0/1, shape (n,)) and scores ``s`` (shape (n,),
higher = more likely toxic) and an optional ``sample_weight`` (shape (n,)). They return
plain floats (``nan`` where a metric is undefined, e.g. AUC with one class only) so the
results can go straight into JSON, MLflow and the model card.

Definitions
-----------
- ROC-AUC: area under the ROC curve (ties counted half), :func:`sklearn.metrics.roc_auc_score`.
- PR-AUC: average precision, ``sum_k (R_k - R_{k-1}) P_k`` over descending thresholds
  (:func:`sklearn.metrics.average_precision_score`); no trapezoidal interpolation, which
  would be optimistic.
- Precision / recall / F1 at a threshold ``t``: a row is flagged when ``s >= t``.
- Recall at ``x`` FPR: the best recall of any threshold whose false-positive rate is
  ``<= x`` (read off the ROC curve, no interpolation).
- Expected calibration error (ECE): scores in [0, 1] are put in ``n_bins`` *equal-width*
  bins ``[0, 1/B), [1/B, 2/B), ..., [(B-1)/B, 1]`` (the last bin includes 1.0); ECE is
  ``sum_b (n_b / n) * |mean(y in b) - mean(s in b)|``, empty bins skipped. Equal width
  (rather than equal mass) keeps the bins comparable between models; with few rows at
  high scores the high bins are noisy, so read ECE with the bin counts
  (:func:`calibration_table`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "roc_auc",
    "pr_auc",
    "precision_recall_f1",
    "recall_at_fpr",
    "expected_calibration_error",
    "calibration_table",
    "summary",
]


def _arrays(y, s, sample_weight=None):
    y = np.asarray(y, dtype=float).ravel()
    s = np.asarray(s, dtype=float).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels and scores differ in length: {y.shape[0]} vs {s.shape[0]}")
    w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, dtype=float).ravel()
    if w.shape != y.shape:
        raise ValueError(f"sample_weight has length {w.shape[0]}, expected {y.shape[0]}")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    return y, s, w


def _two_classes(y) -> bool:
    return bool((y == 1).any() and (y == 0).any())


def roc_auc(y, s, sample_weight=None) -> float:
    """Area under the ROC curve; ``nan`` when only one class is present."""
    from sklearn.metrics import roc_auc_score

    y, s, w = _arrays(y, s, sample_weight)
    if not _two_classes(y):
        return float("nan")
    return float(roc_auc_score(y, s, sample_weight=w))


def pr_auc(y, s, sample_weight=None) -> float:
    """Average precision (area under the precision-recall step curve); ``nan`` without positives."""
    from sklearn.metrics import average_precision_score

    y, s, w = _arrays(y, s, sample_weight)
    if not (y == 1).any():
        return float("nan")
    return float(average_precision_score(y, s, sample_weight=w))


def precision_recall_f1(y, s, threshold: float, sample_weight=None) -> tuple[float, float, float]:
    """Precision, recall and F1 when rows with ``s >= threshold`` are flagged toxic.

    Precision is ``nan`` when nothing is flagged; recall is ``nan`` without positives; F1
    is ``0`` when precision + recall is 0 and ``nan`` when either is undefined.
    """
    y, s, w = _arrays(y, s, sample_weight)
    flagged = s >= threshold
    tp = float(w[flagged & (y == 1)].sum())
    fp = float(w[flagged & (y == 0)].sum())
    pos = float(w[y == 1].sum())
    precision = tp / (tp + fp) if tp + fp > 0 else float("nan")
    recall = tp / pos if pos > 0 else float("nan")
    if np.isnan(precision) or np.isnan(recall):
        f1 = float("nan")
    elif precision + recall == 0:
        f1 = 0.0
    else:
        f1 = 2 * precision * recall / (precision + recall)
    return precision, recall, f1


def recall_at_fpr(y, s, max_fpr: float, sample_weight=None) -> float:
    """Highest recall of any threshold whose false-positive rate is at most *max_fpr*."""
    from sklearn.metrics import roc_curve

    y, s, w = _arrays(y, s, sample_weight)
    if not _two_classes(y):
        return float("nan")
    fpr, tpr, _ = roc_curve(y, s, sample_weight=w, drop_intermediate=False)
    ok = fpr <= max_fpr + 1e-12
    return float(tpr[ok].max())


def _bins(s, n_bins):
    # np.digitize on interior edges maps [k/B, (k+1)/B) to k, and clipping puts 1.0 in the last bin.
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return np.clip(np.digitize(s, edges[1:-1], right=False), 0, n_bins - 1), edges


def calibration_table(y, p, n_bins: int = 10, sample_weight=None) -> pd.DataFrame:
    """Reliability table on equal-width bins of predicted probability.

    Returns
    -------
    DataFrame, shape (n_bins, 5)
        ``lo``, ``hi`` (bin edges), ``n`` (weight in bin), ``mean_pred``, ``frac_pos``
        (``nan`` for empty bins).
    """
    y, p, w = _arrays(y, p, sample_weight)
    if ((p < 0) | (p > 1)).any():
        raise ValueError("probabilities must lie in [0, 1]")
    b, edges = _bins(p, n_bins)
    n = np.bincount(b, weights=w, minlength=n_bins)
    sp = np.bincount(b, weights=w * p, minlength=n_bins)
    sy = np.bincount(b, weights=w * y, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame(
            {"lo": edges[:-1], "hi": edges[1:], "n": n, "mean_pred": sp / n, "frac_pos": sy / n}
        )


def expected_calibration_error(y, p, n_bins: int = 10, sample_weight=None) -> float:
    """ECE on *n_bins* equal-width probability bins (see the module docstring)."""
    t = calibration_table(y, p, n_bins=n_bins, sample_weight=sample_weight)
    t = t[t["n"] > 0]
    if t.empty:
        return float("nan")
    return float((t["n"] / t["n"].sum() * (t["frac_pos"] - t["mean_pred"]).abs()).sum())


def summary(y, p, threshold: float, sample_weight=None, n_bins: int = 10) -> dict[str, float]:
    """Every headline metric of probabilities *p* at the shipped *threshold*.

    Returns
    -------
    dict with ``n``, ``positives``, ``roc_auc``, ``pr_auc``, ``precision``, ``recall``,
    ``f1`` (at *threshold*), ``recall_at_1pct_fpr``, ``recall_at_2pct_fpr``, ``ece``.
    """
    y, p, w = _arrays(y, p, sample_weight)
    precision, recall, f1 = precision_recall_f1(y, p, threshold, w)
    in_unit = bool(((p >= 0) & (p <= 1)).all())
    return {
        "n": int(len(y)),
        "positives": int((y == 1).sum()),
        "roc_auc": roc_auc(y, p, w),
        "pr_auc": pr_auc(y, p, w),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "recall_at_1pct_fpr": recall_at_fpr(y, p, 0.01, w),
        "recall_at_2pct_fpr": recall_at_fpr(y, p, 0.02, w),
        "ece": expected_calibration_error(y, p, n_bins, w) if in_unit else float("nan"),
    }

"""Fit, calibrate and threshold toxlink's LightGBM model (the *fitting* half of training).

The pieces, in the order :func:`fit` runs them:

1. **Features** — :func:`toxlink.features.compute` on the labelled links (or a matrix you
   pass in).
2. **Grouped folds** — rows are split by *group* (the referring domain unless the data
   says otherwise) into ``fit`` / ``valid`` / ``calib`` folds, so no referring domain is in
   two folds: a model that memorises a domain cannot look good on its own validation.
3. **Booster** — LightGBM binary classifier, deterministic for a seed
   (``deterministic=True``, ``force_row_wise=True``, fixed ``num_threads``), early-stopped on
   the ``valid`` fold's average precision.
4. **Class imbalance** — each row carries the dataset's ``weight``; on top,
   ``scale_pos_weight`` is set to (weighted negatives / weighted positives) on the ``fit``
   fold so both classes pull equally on the trees. That distorts the raw score's
   probability scale, which step 5 undoes.
5. **Calibration** — isotonic regression (or Platt scaling for small folds, or when the
   configuration asks for it) of the label on the raw score, fitted on the held-out
   ``calib`` fold with the dataset weights. Isotonic outputs are kept within [0.001, 0.999]
   and interpolated through the centres of their steps, so links in one step keep the
   model's ranking.
6. **Thresholds** (on the ``calib`` fold, calibrated probabilities): ``toxic`` = the lowest
   threshold whose precision is >= ``toxic_precision``; ``review`` = the highest threshold
   whose recall is >= ``review_recall``, capped at ``toxic``. The shipped model replaces
   them by thresholds measured on left-out sources (``training/evaluate.py``).

:func:`evaluate` computes the headline metrics (:func:`toxlink.metrics.summary`). Tracking
and promotion live in :mod:`toxlink.tracking`; baselines and ablation in
:mod:`toxlink.evaluation`; ``toxlink train`` in :mod:`toxlink.train`.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from toxlink import metrics as M
from toxlink import schema as S
from toxlink.basedata import GROUP, LABEL, WEIGHT
from toxlink.model import ModelBundle, apply_calibration
from toxlink.urls import with_hosts  # features, groups and labels all need the hosts: parsed once

__all__ = ["TrainConfig", "FitResult", "fit", "evaluate", "grouped_folds", "train_booster", "fit_calibration",
           "choose_thresholds", "compute_features", "data_hash"]

# --------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------
@dataclass
class TrainConfig:
    """Every training knob, with the shipped model's values as defaults."""

    seed: int = 0
    num_boost_round: int = 300  # hard cap on trees: keeps the shipped model small
    early_stopping_rounds: int = 30
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_data_in_leaf: int = 40
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    bagging_freq: int = 1
    lambda_l2: float = 1.0
    max_bin: int = 255
    num_threads: int = 2
    valid_fraction: float = 0.15  # share of rows (by whole groups) for early stopping
    calib_fraction: float = 0.15  # share of rows (by whole groups) for calibration + thresholds
    class_balance: bool = True  # scale_pos_weight = weighted negatives / weighted positives
    calibration: str = "auto"  # "auto" (isotonic, Platt when small), "isotonic", "platt", "none"
    min_isotonic_rows: int = 1000
    min_isotonic_class: int = 50
    toxic_precision: float = 0.9
    review_recall: float = 0.9

    def lgb_params(self, scale_pos_weight: float = 1.0) -> dict[str, Any]:
        """LightGBM parameters for this configuration."""
        return {
            "objective": "binary",
            "metric": ["average_precision", "auc"],
            "first_metric_only": True,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": self.bagging_freq,
            "lambda_l2": self.lambda_l2,
            "max_bin": self.max_bin,
            "scale_pos_weight": float(scale_pos_weight),
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.num_threads,
            "verbosity": -1,
        }


# --------------------------------------------------------------------------------------
# folds
# --------------------------------------------------------------------------------------
def _group_keys(links: pd.DataFrame) -> pd.Series:
    """Group of each row: the data's ``group`` column, else the referring domain."""
    if GROUP in links.columns:
        return links[GROUP].astype("string").fillna("").reset_index(drop=True)
    if S.DOMAIN in links.columns:
        return links[S.DOMAIN].astype("string").fillna("").reset_index(drop=True)
    from toxlink import urls

    hosts = urls.hosts_of(links[S.SOURCE_URL])
    return urls.domains_of(hosts).fillna("").reset_index(drop=True)


def grouped_folds(groups: Sequence | pd.Series, fractions: Sequence[float], seed: int = 0, strata=None) -> np.ndarray:
    """Assign whole groups to folds: fold ``k`` gets ~``fractions[k]`` of the groups.

    Groups are shuffled with *seed* and cut by count, so the split is reproducible and no
    group appears in two folds (the leakage guard). With *strata* (e.g. the labels), each
    group takes the largest stratum value of its rows and the cut is made within each
    stratum, so every fold gets its share of toxic *domains* even when one referring domain
    holds most of the toxic links (cutting by rows would then put all of them on one side).

    Parameters
    ----------
    groups : array-like, shape (n,)
    fractions : sequence of float summing to 1, shape (k,)
    strata : array-like of int, shape (n,), optional

    Returns
    -------
    ndarray of int, shape (n,): fold index of each row.
    """
    codes, uniq = pd.factorize(pd.Series(groups, dtype="string").fillna(""), sort=True)
    if strata is None:
        g_stratum = np.zeros(len(uniq), dtype=np.int64)
    else:
        g_stratum = np.full(len(uniq), np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(g_stratum, codes, np.asarray(strata, dtype=np.int64))
    edges = np.cumsum(np.asarray(fractions, dtype=float))
    edges = edges / edges[-1]
    rng = np.random.default_rng(seed)
    fold_of_group = np.empty(len(uniq), dtype=np.int64)
    for st in np.unique(g_stratum):
        idx = np.flatnonzero(g_stratum == st)
        order = idx[rng.permutation(len(idx))]
        # group i of m sits at (i + 0.5) / m: the fold whose share covers that point takes it
        mid = (np.arange(len(order)) + 0.5) / len(order)
        fold_of_group[order] = np.minimum(np.searchsorted(edges, mid, side="right"), len(edges) - 1)
    return fold_of_group[codes]


# --------------------------------------------------------------------------------------
# booster, calibration, thresholds
# --------------------------------------------------------------------------------------
def _scale_pos_weight(y: np.ndarray, w: np.ndarray) -> float:
    pos, neg = float(w[y == 1].sum()), float(w[y == 0].sum())
    return neg / pos if pos > 0 and neg > 0 else 1.0


def train_booster(X: pd.DataFrame, y, w, Xv: pd.DataFrame | None, yv, wv, config: TrainConfig):
    """Fit one LightGBM booster (early-stopped on ``(Xv, yv)`` when given).

    Returns
    -------
    (booster, params) with ``booster.best_iteration`` trees kept.
    """
    from toxlink.model import import_lightgbm

    lgb = import_lightgbm()
    y, w = np.asarray(y, float), np.asarray(w, float)
    spw = _scale_pos_weight(y, w) if config.class_balance else 1.0
    params = config.lgb_params(spw)
    names = list(X.columns)
    dtrain = lgb.Dataset(
        X.to_numpy(np.float32, na_value=np.nan), label=y, weight=w, feature_name=names, free_raw_data=True
    )
    valid_sets, callbacks = [], []
    if Xv is not None and len(Xv) and len(np.unique(yv)) == 2:
        dvalid = dtrain.create_valid(Xv.to_numpy(np.float32, na_value=np.nan), label=np.asarray(yv, float), weight=np.asarray(wv, float))
        valid_sets = [dvalid]
        callbacks = [lgb.early_stopping(config.early_stopping_rounds, first_metric_only=True, verbose=False)]
    booster = lgb.train(params, dtrain, num_boost_round=config.num_boost_round, valid_sets=valid_sets, callbacks=callbacks)
    if valid_sets and booster.best_iteration > 0:
        # Drop the trees after the best iteration so the saved text model is exactly what scored best.
        booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))
    return booster, params


def fit_calibration(raw: np.ndarray, y: np.ndarray, w: np.ndarray | None = None, config: TrainConfig | None = None) -> dict:
    """Calibration map (see :mod:`toxlink.model`) from raw scores to probabilities.

    Isotonic when the fold has >= ``min_isotonic_rows`` rows and >= ``min_isotonic_class``
    of each class, else Platt; ``{"method": "sigmoid"}`` when the fold has one class only.
    """
    config = config or TrainConfig()
    raw, y = np.asarray(raw, float), np.asarray(y, float)
    w = np.ones_like(y) if w is None else np.asarray(w, float)
    n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
    if n_pos == 0 or n_neg == 0 or config.calibration == "none":
        return {"method": "sigmoid", "n": int(len(y))}
    method = config.calibration
    if method == "auto":
        big = len(y) >= config.min_isotonic_rows and min(n_pos, n_neg) >= config.min_isotonic_class
        method = "isotonic" if big else "platt"
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.001, y_max=0.999, increasing=True, out_of_bounds="clip")
        iso.fit(raw, y, sample_weight=w)
        # The isotonic fit is a step function: every link in a step would get the same
        # probability and the model's ranking inside it would be lost. Interpolating
        # linearly through the centre of each step keeps it monotone and close to the
        # steps' values (calibration) while preserving the ranking (no ties but at the ends).
        xs, ys = np.asarray(iso.X_thresholds_, float), np.asarray(iso.y_thresholds_, float)
        block = np.cumsum(np.r_[True, np.diff(ys) != 0]) - 1
        n_blocks = int(block[-1]) + 1
        cx = np.bincount(block, weights=xs, minlength=n_blocks) / np.bincount(block, minlength=n_blocks)
        cy = ys[np.r_[True, np.diff(ys) != 0]]
        return {
            "method": "isotonic",
            "x": [float(v) for v in cx],
            "y": [float(v) for v in cy],
            "n": int(len(y)),
        }
    if method == "platt":
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=1e4, max_iter=1000)
        lr.fit(raw.reshape(-1, 1), y, sample_weight=w)
        a, b = float(lr.coef_[0, 0]), float(lr.intercept_[0])
        if not a > 0:
            # A fold so small or odd that higher scores look *less* toxic: a calibration
            # must never invert the model's ranking, so keep LightGBM's own sigmoid.
            return {"method": "sigmoid", "n": int(len(y)), "note": f"Platt slope {a:.3g} <= 0 rejected"}
        return {"method": "platt", "a": a, "b": b, "n": int(len(y))}
    raise ValueError(f"unknown calibration {config.calibration!r}")


def choose_thresholds(p: np.ndarray, y: np.ndarray, w: np.ndarray | None = None, config: TrainConfig | None = None) -> dict:
    """Decision thresholds on calibrated probabilities by the documented rule.

    Returns
    -------
    dict with ``toxic``, ``review`` and ``rule`` (which rule produced each).
    """
    config = config or TrainConfig()
    p, y = np.asarray(p, float), np.asarray(y, float)
    w = np.ones_like(y) if w is None else np.asarray(w, float)
    if not ((y == 1).any() and (y == 0).any()):
        return {"toxic": 0.9, "review": 0.5, "rule": "default (calibration fold has one class)"}
    # Cumulative weighted counts over thresholds = each distinct probability, descending.
    order = np.argsort(-p, kind="stable")
    ps, ys, ws = p[order], y[order], w[order]
    last = np.r_[ps[1:] != ps[:-1], True]  # last row of each tie block
    tp = np.cumsum(ws * ys)[last]
    fp = np.cumsum(ws * (1 - ys))[last]
    thr = ps[last]
    precision = tp / np.maximum(tp + fp, 1e-12)
    recall = tp / tp[-1]
    ok = precision >= config.toxic_precision
    rule = {}
    if ok.any():
        toxic = float(thr[ok].min())
        rule["toxic"] = f"lowest threshold with precision >= {config.toxic_precision:g} on the calibration fold"
    else:
        f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
        toxic = float(thr[np.argmax(f1)])
        rule["toxic"] = f"F1-optimal (precision {config.toxic_precision:g} not reached on the calibration fold)"
    reach = recall >= config.review_recall
    review = float(thr[reach].max()) if reach.any() else float(thr.min())
    rule["review"] = f"highest threshold with recall >= {config.review_recall:g} on the calibration fold, capped at toxic"
    review = min(review, toxic)
    return {"toxic": toxic, "review": review, "rule": rule}


# --------------------------------------------------------------------------------------
# fit
# --------------------------------------------------------------------------------------
@dataclass
class FitResult:
    """What :func:`fit` produced: the bundle plus the folds and matrices it used."""

    bundle: ModelBundle
    X: pd.DataFrame  # features of every training row, shape (n, f)
    y: np.ndarray  # (n,)
    w: np.ndarray  # (n,) dataset weights
    groups: pd.Series  # (n,)
    folds: np.ndarray  # (n,) 0 = fit, 1 = valid, 2 = calib
    config: TrainConfig
    seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)


def _labels_weights(links: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    if LABEL not in links.columns:
        raise ValueError(f"training links need a {LABEL!r} column (1 = toxic, 0 = ok)")
    y = pd.to_numeric(links[LABEL], errors="coerce").to_numpy(float)
    if np.isnan(y).any() or not np.isin(y, (0, 1)).all():
        raise ValueError(f"{LABEL!r} must be 0 or 1 on every training row")
    w = pd.to_numeric(links[WEIGHT], errors="coerce").fillna(1.0).to_numpy(float) if WEIGHT in links.columns else np.ones(len(y))
    return y, w


def compute_features(links: pd.DataFrame, profile=None) -> pd.DataFrame:
    """``toxlink.features.compute`` with a positional index (rows align with numpy arrays)."""
    from toxlink import features

    X = features.compute(links, profile=profile)
    return X.reset_index(drop=True)


def data_hash(X: pd.DataFrame, y, w=None, groups=None) -> str:
    """SHA-256 (first 16 hex) of a feature matrix, labels, weights and groups."""
    h = hashlib.sha256()
    h.update(",".join(X.columns).encode())
    h.update(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    h.update(np.asarray(y, float).tobytes())
    if w is not None:
        h.update(np.asarray(w, float).tobytes())
    if groups is not None:
        h.update(pd.util.hash_pandas_object(pd.Series(groups, dtype="string"), index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


def fit(
    links: pd.DataFrame | None = None,
    *,
    X: pd.DataFrame | None = None,
    y=None,
    w=None,
    groups=None,
    config: TrainConfig | None = None,
    data_hash_: str | None = None,
    extra: dict | None = None,
) -> FitResult:
    """Train, calibrate and threshold a model on labelled links.

    Parameters
    ----------
    links : DataFrame, shape (n, ...), optional
        Canonical links plus ``label`` (0/1), optionally ``weight`` and ``group``.
        Features are computed from it unless *X* is given.
    X : DataFrame, shape (n, f), optional
        Precomputed features (columns = model features, in model order).
    y, w, groups : array-like, shape (n,), optional
        Labels / weights / groups when *links* is not given (or to override it).
    config : TrainConfig
    data_hash_ : str, optional
        Recorded in the bundle; by default the hash of ``(X, y, w, groups)``.

    Returns
    -------
    FitResult
    """
    t0 = time.perf_counter()
    config = config or TrainConfig()
    if links is not None:
        if X is None or (groups is None and GROUP not in links.columns):
            links = with_hosts(links)
        yl, wl = _labels_weights(links)
        y = yl if y is None else y
        w = wl if w is None else w
        groups = _group_keys(links) if groups is None else groups
        if X is None:
            X = compute_features(links)
    if X is None or y is None:
        raise ValueError("fit needs labelled links or (X, y)")
    X = X.reset_index(drop=True)
    y = np.asarray(y, float)
    w = np.ones(len(y)) if w is None else np.asarray(w, float)
    groups = pd.Series(np.arange(len(y)).astype(str) if groups is None else groups, dtype="string").reset_index(drop=True)
    if len({len(X), len(y), len(w), len(groups)}) != 1:
        raise ValueError("X, y, w and groups differ in length")
    if not ((y == 1).any() and (y == 0).any()):
        raise ValueError(f"training needs both toxic and ok labels (got {int(y.sum())} toxic of {len(y)})")

    fr = (1 - config.valid_fraction - config.calib_fraction, config.valid_fraction, config.calib_fraction)
    folds = grouped_folds(groups, fr, seed=config.seed, strata=y.astype(np.int64))
    tr, va, ca = folds == 0, folds == 1, folds == 2
    calib_on = "calib"
    if min(int((y[ca] == 1).sum()), int((y[ca] == 0).sum())) < config.min_isotonic_class:
        # A tiny calibration fold (a user's few labels) cannot calibrate or set thresholds
        # alone: use both held-out folds (valid only chose the number of trees).
        ca = va | ca
        calib_on = "valid+calib"
    booster, params = train_booster(X[tr], y[tr], w[tr], X[va], y[va], w[va], config)
    raw_c = booster.predict(X[ca].to_numpy(np.float32, na_value=np.nan), raw_score=True, num_threads=config.num_threads)
    calibration = fit_calibration(raw_c, y[ca], w[ca], config)
    p_c = apply_calibration(raw_c, calibration)
    thresholds = choose_thresholds(p_c, y[ca], w[ca], config)
    rule = thresholds.pop("rule")
    calib_metrics = M.summary(y[ca], p_c, thresholds["toxic"])
    info = {
        "rows": {"fit": int(tr.sum()), "valid": int(va.sum()), "calib": int(ca.sum())},
        "positives": {"fit": int(y[tr].sum()), "valid": int(y[va].sum()), "calib": int(y[ca].sum())},
        "groups": int(groups.nunique()),
        "calibrated_on": calib_on,
        "best_iteration": int(booster.num_trees()),
        "threshold_rule": rule,
        "calib_metrics": calib_metrics,
    }
    bundle = ModelBundle(
        booster=booster,
        feature_names=list(X.columns),
        thresholds=thresholds,
        calibration=calibration,
        metrics={"calibration_fold": calib_metrics},
        params={**params, "num_boost_round": config.num_boost_round, "early_stopping_rounds": config.early_stopping_rounds,
                "valid_fraction": config.valid_fraction, "calib_fraction": config.calib_fraction,
                "toxic_precision": config.toxic_precision, "review_recall": config.review_recall},
        data_hash=data_hash_ or data_hash(X, y, w, groups),
        extra={"training": info, **(extra or {})},
    )
    return FitResult(bundle, X, y, w, groups, folds, config, time.perf_counter() - t0, info)


# --------------------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------------------
def evaluate(bundle: ModelBundle, X: pd.DataFrame, y, w=None) -> dict[str, float]:
    """Headline metrics of *bundle* on ``(X, y)`` at its shipped ``toxic`` threshold.

    Returns :func:`toxlink.metrics.summary` plus ``review_precision`` / ``review_recall``
    (flagging at the ``review`` threshold) and ``threshold``.
    """
    y = np.asarray(y, float)
    p = bundle.predict(X)
    out = M.summary(y, p, bundle.thresholds["toxic"], sample_weight=w)
    rp, rr, _ = M.precision_recall_f1(y, p, bundle.thresholds["review"], sample_weight=w)
    out.update(review_precision=rp, review_recall=rr, threshold=bundle.thresholds["toxic"])
    return out


"""Train, calibrate, evaluate, track and promote toxlink's LightGBM model.

The pieces, in the order :func:`fit` runs them:

1. **Features** — :func:`toxlink.features.compute` on the labelled links (or a matrix you
   pass in).
2. **Grouped folds** — rows are split by *group* (the referring domain unless the data
   says otherwise) into ``fit`` / ``valid`` / ``calib`` folds, so no referring domain is in
   two folds: a model that memorises a domain cannot look good on its own validation.
3. **Booster** — LightGBM binary classifier, deterministic for a seed
   (``deterministic=True``, ``force_row_wise=True``, fixed ``num_threads``), early-stopped on
   the ``valid`` fold's average precision.
4. **Class imbalance** — each row carries the dataset's ``weight`` (the base data uses it to
   balance label sources; user labels get ``user_weight``). On top, ``scale_pos_weight`` is
   set to (weighted negatives / weighted positives) on the ``fit`` fold so both classes pull
   equally on the trees. That distorts the raw score's probability scale, which step 5 undoes.
5. **Calibration** — isotonic regression of the label on the raw score, fitted on the
   held-out ``calib`` fold with the dataset weights (not the class re-weighting), so a
   calibrated 0.8 means ~80% of such links in data like the training data were toxic.
   Below ``min_isotonic_rows`` rows or ``min_isotonic_class`` of either class the fold is
   too small for a step function and Platt scaling (2-parameter logistic) is used instead.
   Isotonic outputs are kept within [0.001, 0.999] (no link is scored as certain), and the
   step function is stored as the centres of its steps, interpolated linearly, so links in
   one step keep the model's ranking instead of tying.
6. **Thresholds** (on the ``calib`` fold, calibrated probabilities):
   ``toxic`` = the lowest threshold whose precision is >= ``toxic_precision`` (0.9) — at most
   ~1 in 10 links flagged toxic is a false alarm; if no threshold reaches it, the F1-optimal
   one. ``review`` = the highest threshold whose recall is >= ``review_recall`` (0.9) — the
   review band catches ~90% of the toxic links — capped at ``toxic``.

:func:`evaluate` computes the headline metrics (:func:`toxlink.metrics.summary`);
:func:`ablation` retrains without each feature family; :func:`rule_baseline` scores links by
a weighted count of Semrush/OSS-style toxic markers; :func:`by_source` breaks results down
per label source. :func:`log_run` and :func:`register_and_gate` record a run in MLflow and
move the ``champion`` alias only when the new model is not worse on a fixed evaluation set.
:func:`retrain` does all of it from a user's exports and labels (``toxlink train``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from toxlink import metrics as M
from toxlink import schema as S
from toxlink.urls import with_hosts  # features, groups and labels all need the hosts: parsed once
from toxlink.model import ModelBundle, ModelError, apply_calibration, resolve_tracking_uri

# Columns a labelled links table carries on top of the canonical ones. Defined by
# toxlink.basedata when present (it builds the shipped training data), else here.
try:  # pragma: no cover - depends on the parallel basedata module
    from toxlink.basedata import GROUP, LABEL, LABEL_SOURCE, SIMULATED, WEIGHT
except ImportError:  # pragma: no cover
    LABEL, WEIGHT, GROUP, LABEL_SOURCE, SIMULATED = "label", "weight", "group", "label_source", "simulated"

REGISTERED_MODEL = "toxlink"
CHAMPION = "champion"
EXPERIMENT = "toxlink"

__all__ = [
    "TrainConfig",
    "FitResult",
    "GateDecision",
    "TrainReport",
    "fit",
    "evaluate",
    "ablation",
    "rule_baseline",
    "RULE_MARKERS",
    "by_source",
    "grouped_folds",
    "log_run",
    "register_and_gate",
    "retrain",
]


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


def family_columns(columns: Sequence[str]) -> dict[str, list[str]]:
    """Feature columns by family (from ``toxlink.features`` registry), in model order."""
    from toxlink import features

    fam = {f.name: f.family for f in features.FEATURES}
    out: dict[str, list[str]] = {}
    for c in columns:
        out.setdefault(fam.get(c, "other"), []).append(c)
    return out


def ablation(
    fitted: FitResult,
    X_test: pd.DataFrame,
    y_test,
    families: dict[str, list[str]] | None = None,
    w_test=None,
    extra_tests: dict[str, tuple[pd.DataFrame, np.ndarray]] | None = None,
) -> pd.DataFrame:
    """Retrain without each feature family on the same folds; AUCs on the test set.

    AUCs are computed on the raw score (calibration does not change the ranking, and
    isotonic ties would blur it), so the ``all features`` row is comparable to the rest.

    Parameters
    ----------
    extra_tests : dict of name -> (X, y), optional
        Further test sets scored by the same retrained boosters (e.g. the real-only rows),
        reported as columns ``roc_auc[name]`` / ``d_roc_auc[name]``.

    Returns
    -------
    DataFrame, one row per family plus ``all features``: ``family``, ``n_features``,
    ``roc_auc``, ``pr_auc``, ``d_roc_auc``, ``d_pr_auc`` (change vs all features; negative =
    the family helps), and the extra test sets' columns.
    """
    families = families or family_columns(fitted.X.columns)
    extra_tests = extra_tests or {}
    X, y, w, folds, cfg = fitted.X, fitted.y, fitted.w, fitted.folds, fitted.config
    y_test = np.asarray(y_test, float)
    w_test = None if w_test is None else np.asarray(w_test, float)
    tr, va = folds == 0, folds == 1

    def row(name, n_features, score):
        out = {"family": name, "n_features": n_features}
        raw = score(X_test)
        out["roc_auc"], out["pr_auc"] = M.roc_auc(y_test, raw, w_test), M.pr_auc(y_test, raw, w_test)
        for s, (Xe, ye) in extra_tests.items():
            out[f"roc_auc[{s}]"] = M.roc_auc(np.asarray(ye, float), score(Xe))
        return out

    rows = [row("all features", X.shape[1], fitted.bundle.raw_score)]
    for fam, cols in families.items():
        keep = [c for c in X.columns if c not in set(cols)]
        b, _ = train_booster(X.loc[tr, keep], y[tr], w[tr], X.loc[va, keep], y[va], w[va], cfg)
        rows.append(row(f"without {fam}", len(keep),
                        lambda Xe, b=b, keep=keep: b.predict(Xe[keep].to_numpy(np.float32, na_value=np.nan), raw_score=True, num_threads=cfg.num_threads)))
    out = pd.DataFrame(rows)
    for c in [c for c in out.columns if c.startswith("roc_auc") or c == "pr_auc"]:
        out["d_" + c] = out[c] - out.loc[0, c]
    return out


# --- rule baseline ------------------------------------------------------------------------
@dataclass(frozen=True)
class Marker:
    """One binary toxic marker of the rule baseline: every condition ``feature op value`` holds."""

    name: str
    conditions: tuple[tuple[str, str, float], ...]
    weight: float = 1.0


def _m(name, *conditions, weight=1.0):
    return Marker(name, tuple(conditions), weight)


#: Semrush/OSS-style toxic markers (REFERENCE.md "How others score": open-source auditors'
#: rules, Moz Spam Score features, Semrush export flags), computed from feature columns.
#: Rule score = sum of the weights of the markers a link trips; strong content markers
#: (spam terms, link-selling phrases, the vendor's own spam flag) weigh 2, the rest 1. A
#: marker whose feature is missing (NaN) is not tripped.
RULE_MARKERS: list[Marker] = [
    _m("spam terms in the host name", ("dom_spam_terms", ">=", 1), weight=2),
    _m("spam terms in the anchor", ("anc_spam_terms", ">=", 1), weight=2),
    _m("spam terms in the page title", ("cnt_title_spam_terms", ">=", 1), weight=2),
    _m("spam terms in the URL", ("url_spam_terms", ">=", 1)),
    _m("link-selling phrase in the title", ("cnt_title_link_selling", ">=", 1), weight=2),
    _m("vendor spam flag", ("lnk_vendor_spam", "==", 1), weight=2),
    _m("vendor spam score >= 60", ("lnk_vendor_spam_score", ">=", 60)),
    _m("authority without traffic", ("lnk_authority_no_traffic", "==", 1)),
    _m(">= 300 outbound links on the page", ("lnk_external_links", ">=", 300)),
    _m("same title on >= 5 domains", ("prf_title_domains", ">=", 5)),
    _m(">= 5 links with <= 2 anchors from one domain", ("prf_domain_links", ">=", 5), ("prf_domain_anchors", "<=", 2)),
    _m(">= 80% of the domain's links new", ("prf_domain_new_share", ">=", 0.8), ("prf_domain_links", ">=", 3)),
    _m(">= 5 referring domains on one /24 subnet", ("prf_subnet_domains", ">=", 5)),
    _m("exact-match commercial anchor", ("anc_exact_match", "==", 1)),
    _m("site-wide link", ("lnk_sitewide", "==", 1)),
    _m("numerals in the domain (>= 3 digits)", ("dom_digits", ">=", 3)),
    _m("hyphens in the domain (>= 2)", ("dom_hyphens", ">=", 2)),
    _m("random-looking domain", ("dom_random_looking", "==", 1)),
    _m("spam-prone TLD (new gTLD)", ("tld_new_gtld", "==", 1)),
    _m("user profile page", ("url_profile_page", "==", 1)),
    _m("guestbook page", ("url_guestbook", "==", 1)),
    _m("comment page", ("url_comment_page", "==", 1)),
    _m("referring page answers HTTP >= 400", ("lnk_http_error", "==", 1)),
]


def rule_baseline(X: pd.DataFrame, markers: Sequence[Marker] | None = None) -> tuple[np.ndarray, list[str]]:
    """Score each row by the weighted count of the toxic markers it trips.

    Returns
    -------
    (score, used) : ndarray (n,) and the names of the markers whose feature exists.
    """
    markers = RULE_MARKERS if markers is None else markers
    score = np.zeros(len(X))
    used = []
    ops = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less, "==": np.equal}
    for m in markers:
        if not all(f in X.columns for f, _, _ in m.conditions):
            continue
        hit = np.ones(len(X), dtype=bool)
        for f, op, value in m.conditions:
            v = X[f].to_numpy(float)
            hit &= ops[op](v, value) & ~np.isnan(v)  # NaN (unknown) never trips a marker
        score += m.weight * hit
        used.append(m.name)
    return score, used


def rule_baseline_metrics(X: pd.DataFrame, y, w=None, markers=None, X_calib=None, y_calib=None) -> dict[str, float]:
    """Metrics of the rule baseline, its threshold chosen like the model's (precision rule).

    The marker count is not a probability: it is mapped to one by isotonic calibration on
    ``(X_calib, y_calib)`` when given (so ECE is comparable), else scaled to [0, 1].
    """
    s, used = rule_baseline(X, markers)
    if X_calib is not None:
        sc, _ = rule_baseline(X_calib, markers)
        cal = fit_calibration(sc, np.asarray(y_calib, float), config=TrainConfig(calibration="isotonic"))
        p = apply_calibration(s, cal)
        p_c = apply_calibration(sc, cal)
        thr = choose_thresholds(p_c, y_calib)["toxic"]
    else:
        top = max(float(s.max()), 1e-12)
        p = s / top
        thr = choose_thresholds(p, y)["toxic"]
    out = M.summary(np.asarray(y, float), p, thr, sample_weight=w)
    out["threshold"] = thr
    out["markers"] = len(used)
    return out


# --- by source -------------------------------------------------------------------------------
def by_source(p: np.ndarray, y, sources, thresholds: dict[str, float]) -> pd.DataFrame:
    """Per label source: size, class, share flagged toxic / review+, and a one-vs-rest AUC.

    Each list is usually of one class, so per-source AUC is computed against every row of
    the *other* class (a spam source vs all clean rows, a clean source vs all spam rows).

    Returns
    -------
    DataFrame, one row per source: ``source``, ``n``, ``toxic_share`` (share labelled
    toxic), ``flagged_toxic``, ``flagged_review_or_toxic``, ``mean_risk``, ``auc_vs_other_class``.
    """
    p, y = np.asarray(p, float), np.asarray(y, float)
    src = pd.Series(sources, dtype="string").fillna("?").to_numpy()
    rows = []
    for s in sorted(pd.unique(src)):
        m = src == s
        ys = y[m]
        share = float(ys.mean())
        if share in (0.0, 1.0):
            other = y == (1 - share)
            yy = np.r_[ys, y[other]]
            pp = np.r_[p[m], p[other]]
            auc = M.roc_auc(yy, pp)
        else:
            auc = M.roc_auc(ys, p[m])
        rows.append(
            {
                "source": s,
                "n": int(m.sum()),
                "toxic_share": share,
                "flagged_toxic": float((p[m] >= thresholds["toxic"]).mean()),
                "flagged_review_or_toxic": float((p[m] >= thresholds["review"]).mean()),
                "mean_risk": float(p[m].mean()),
                "auc_vs_other_class": auc,
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# MLflow tracking and the promotion gate
# --------------------------------------------------------------------------------------
def _artifact_location(tracking_uri: str) -> str:
    """Artifacts next to a SQLite store (``<db dir>/mlruns-artifacts``), else ./mlruns-artifacts."""
    if tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri[len("sqlite:///"):])
        return (db.parent / "mlruns-artifacts").resolve().as_uri()
    return (Path.cwd() / "mlruns-artifacts").resolve().as_uri()


def _client(tracking_uri: str | None):
    import logging

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    from mlflow import MlflowClient

    # MLflow logs its database migrations at INFO on first use; keep CLI output clean
    # (after the import, which configures mlflow's logger).
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)

    uri = resolve_tracking_uri(tracking_uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri), uri


def _experiment_id(client, uri: str, name: str = EXPERIMENT) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    return client.create_experiment(name, artifact_location=_artifact_location(uri))


def _flat_metrics(d: dict, prefix: str = "") -> dict[str, float]:
    import re

    out = {}
    for k, v in d.items():
        # MLflow metric names: alphanumerics, _ - . / : and spaces; keep them readable
        key = prefix + re.sub(r"[^A-Za-z0-9_\-./:]+", "_", str(k)).strip("_")
        if isinstance(v, dict):
            out.update(_flat_metrics(v, key + "."))
        elif isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and np.isfinite(v):
            out[key] = float(v)
    return out


def log_run(
    bundle: ModelBundle,
    *,
    tracking_uri: str | None = None,
    run_name: str | None = None,
    metrics: dict | None = None,
    params: dict | None = None,
    tags: dict | None = None,
    artifacts: dict[str, str | os.PathLike] | None = None,
) -> str:
    """Log a training run (params, metrics, data hash, the bundle as artifacts ``model/``).

    Returns
    -------
    str: the MLflow run id.
    """
    client, uri = _client(tracking_uri)
    eid = _experiment_id(client, uri)
    run = client.create_run(eid, run_name=run_name, tags={"data_hash": bundle.data_hash, "toxlink_version": bundle.version, **(tags or {})})
    rid = run.info.run_id
    try:
        from mlflow.entities import Metric, Param

        allp = {**bundle.params, **(params or {})}
        plist = [Param(k, str(v)[:6000]) for k, v in allp.items()]
        now = int(time.time() * 1000)
        mlist = [Metric(k, v, now, 0) for k, v in _flat_metrics({**bundle.metrics, **(metrics or {})}).items()]
        # log_batch takes at most 100 params and 1000 metrics per call
        for i in range(0, len(plist), 100):
            client.log_batch(rid, params=plist[i:i + 100])
        for i in range(0, len(mlist), 1000):
            client.log_batch(rid, metrics=mlist[i:i + 1000])
        with tempfile.TemporaryDirectory() as tmp:
            bundle.save(tmp)
            client.log_artifacts(rid, tmp, "model")
        for dest, path in (artifacts or {}).items():
            path = Path(path)
            if path.is_dir():
                client.log_artifacts(rid, str(path), dest)
            elif path.is_file():
                client.log_artifact(rid, str(path), dest or None)
        client.set_terminated(rid, "FINISHED")
    except BaseException:
        client.set_terminated(rid, "FAILED")
        raise
    return rid


@dataclass
class GateDecision:
    """Outcome of :func:`register_and_gate`."""

    promoted: bool
    version: str | None
    champion_version: str | None
    new: dict[str, float]
    champion: dict[str, float] | None
    reason: str
    tolerance: float

    def lines(self) -> list[str]:
        out = [f"registered model {REGISTERED_MODEL!r} version {self.version}"]
        if self.champion is not None:
            out.append(f"{'metric':<10} {'new':>8} {'champion v' + str(self.champion_version):>14}")
            for k in ("roc_auc", "pr_auc"):
                out.append(f"{k:<10} {self.new.get(k, float('nan')):>8.4f} {self.champion.get(k, float('nan')):>14.4f}")
        out.append(("promoted to @champion: " if self.promoted else "NOT promoted: ") + self.reason)
        return out


def register_and_gate(
    run_id: str,
    bundle: ModelBundle,
    X_eval: pd.DataFrame,
    y_eval,
    *,
    tracking_uri: str | None = None,
    tolerance: float = 0.002,
    w_eval=None,
    name: str = REGISTERED_MODEL,
) -> GateDecision:
    """Register the run's model and move ``@champion`` only if it is not worse.

    Both the new model and the current champion are scored on the *same* evaluation rows
    ``(X_eval, y_eval)``; the new one is promoted when its ROC-AUC and PR-AUC are each at
    least the champion's minus *tolerance*. With no champion yet, it is promoted. A
    champion trained on a different feature list cannot score these rows (and could not be
    loaded by this toxlink), so it is replaced, and the reason says so.
    """
    client, uri = _client(tracking_uri)
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, description="toxlink toxic-backlink classifier (LightGBM text model + JSON metadata)")
    run = client.get_run(run_id)
    mv = client.create_model_version(name, f"{run.info.artifact_uri}/model", run_id=run_id)
    y_eval = np.asarray(y_eval, float)
    p_new = bundle.predict(X_eval)
    new = {"roc_auc": M.roc_auc(y_eval, p_new, w_eval), "pr_auc": M.pr_auc(y_eval, p_new, w_eval)}
    eval_hash = data_hash(X_eval, y_eval, w_eval)
    try:
        champ_mv = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        champ_mv = None
    champ, champ_version = None, None
    if champ_mv is None:
        promoted, reason = True, "no champion yet"
    else:
        champ_version = str(champ_mv.version)
        try:
            old = ModelBundle.load(f"models:/{name}/{champ_mv.version}", check_features=False, tracking_uri=uri)
            if old.feature_names != list(X_eval.columns):
                raise ModelError("feature list differs")
            p_old = old.predict(X_eval)
            champ = {"roc_auc": M.roc_auc(y_eval, p_old, w_eval), "pr_auc": M.pr_auc(y_eval, p_old, w_eval)}
        except ModelError as e:
            promoted, reason = True, f"champion v{champ_version} cannot score this feature matrix ({e}); replaced"
        else:
            worse = [k for k in ("roc_auc", "pr_auc") if not (new[k] >= champ[k] - tolerance)]
            promoted = not worse
            reason = (
                f"not worse than champion v{champ_version} on the same {len(y_eval)} evaluation rows (tolerance {tolerance:g})"
                if promoted
                else f"worse than champion v{champ_version} on {', '.join(worse)} by more than {tolerance:g} on the same {len(y_eval)} evaluation rows"
            )
    for k, v in new.items():
        client.set_model_version_tag(name, mv.version, f"eval_{k}", f"{v:.6f}")
    client.set_model_version_tag(name, mv.version, "eval_set_hash", eval_hash)
    client.set_model_version_tag(name, mv.version, "data_hash", bundle.data_hash)
    client.set_model_version_tag(name, mv.version, "gate", "promoted" if promoted else "refused")
    if promoted:
        client.set_registered_model_alias(name, CHAMPION, mv.version)
    client.set_tag(run_id, "gate", ("promoted: " if promoted else "refused: ") + reason)
    return GateDecision(promoted, str(mv.version), champ_version, new, champ, reason, tolerance)


# --------------------------------------------------------------------------------------
# retraining on a user's own labels (``toxlink train``)
# --------------------------------------------------------------------------------------
#: Default weight of one user-labelled link relative to the base data, whose weights
#: average 1 per row: a user's own verdicts are the most relevant evidence for their site.
USER_WEIGHT = 3.0


@dataclass
class TrainReport:
    """What :func:`retrain` did, as data; :meth:`lines` is the printed summary."""

    model_dir: str
    label_counts: dict[str, int]
    rows: dict[str, int]
    thresholds: dict[str, float]
    calibration: str
    metrics: dict[str, float] | None  # on the held-out user fold (None if too small)
    calib_metrics: dict[str, float]
    data_hash: str
    seconds: float
    run_id: str | None = None
    tracking_uri: str | None = None
    gate: GateDecision | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-able) of the report."""
        return asdict(self)

    def lines(self) -> list[str]:
        c = self.label_counts
        out = [
            f"labels: {c.get('toxic', 0):,} toxic, {c.get('ok', 0):,} ok, {c.get('unlabelled', 0):,} unlabelled links"
            + (f" ({c['unmatched_label_rows']:,} label rows matched no link)" if c.get("unmatched_label_rows") else ""),
            "training rows: " + ", ".join(f"{k} {v:,}" for k, v in self.rows.items()),
            f"calibration: {self.calibration}; thresholds: toxic >= {self.thresholds['toxic']:.3f}, review >= {self.thresholds['review']:.3f}",
        ]
        if self.metrics:
            m = self.metrics
            out.append(
                f"held-out user links ({m['n']:,}, {m['positives']:,} toxic): ROC-AUC {m['roc_auc']:.3f}, PR-AUC {m['pr_auc']:.3f}, "
                f"precision {m['precision']:.3f}, recall {m['recall']:.3f} at toxic threshold, ECE {m['ece']:.3f}"
            )
        else:
            out.append("held-out user links: too few labelled links of both classes to evaluate")
        out.append(f"model written to {self.model_dir} (data hash {self.data_hash})")
        if self.run_id:
            out.append(f"MLflow run {self.run_id} in {self.tracking_uri}")
        if self.gate is not None:
            out.extend(self.gate.lines())
        out.extend(f"warning: {w}" for w in self.warnings)
        out.append(f"took {self.seconds:.1f} s")
        return out


def retrain(
    exports,
    labels=None,
    disavow=None,
    whitelist=None,
    *,
    with_base: bool = True,
    base_weight: float = 1.0,
    user_weight: float = USER_WEIGHT,
    tracking_uri: str | None = None,
    out_dir: str | os.PathLike = "toxlink-model",
    register: bool = True,
    seed: int = 0,
    test_fraction: float = 0.2,
    format: str | None = None,
    config: TrainConfig | None = None,
    base_links: pd.DataFrame | None = None,
) -> TrainReport:
    """Retrain on a user's exports + labels (and by default the shipped base data).

    Parameters
    ----------
    exports : path, list of paths, or DataFrame
        Backlink exports (:func:`toxlink.exports.read_export`) or an already-read links table.
    labels : path or DataFrame, optional
        Labels file (:func:`toxlink.labels.read_labels`).
    disavow : path or DisavowFile, optional
        The user's past disavow file: links it covers are toxic.
    whitelist : path or Whitelist, optional
        Links it covers are ok.
    with_base : bool
        Also train on the shipped base data (:func:`toxlink.basedata.build_base_links`).
    base_weight, user_weight : float
        Row weights: base rows keep their dataset weight (mean 1) times *base_weight*;
        each labelled user link weighs *user_weight* (default 3).
    tracking_uri : str, optional
        MLflow store (default ``sqlite:///<cwd>/mlruns.db``, or ``$MLFLOW_TRACKING_URI``).
    out_dir : path
        Where the new bundle (``toxlink-model.txt`` + ``.json``) is written.
    register : bool
        Log the run to MLflow, register the model and apply the promotion gate.
    test_fraction : float
        Share of the user's labelled links (by whole referring domain) held out to evaluate
        the model and gate its promotion.
    base_links : DataFrame, optional
        A prebuilt base dataset (tests, or to reuse one across calls).

    Returns
    -------
    TrainReport
    """
    from toxlink import labels as L

    t0 = time.perf_counter()
    config = config or TrainConfig(seed=seed)
    warnings: list[str] = []
    if isinstance(exports, pd.DataFrame):
        links = exports
    else:
        from toxlink.exports import read_export

        links = read_export(exports, format=format)
    links = with_hosts(links)
    if labels is None and disavow is None and whitelist is None:
        raise ValueError("no labels given: pass a labels file, a past disavow file and/or a whitelist")
    lab = L.label_links(links, labels=labels, disavow=disavow, whitelist=whitelist)
    counts = lab.counts()
    # Features on the whole export, so profile features see every link (labelled or not).
    X_all = compute_features(links)
    y_all = lab.label.to_numpy(float)
    have = ~np.isnan(y_all)
    if not have.any():
        raise ValueError("none of the exported links is labelled by the labels / disavow / whitelist given")
    Xu = X_all[have].reset_index(drop=True)
    yu = y_all[have]
    dom = links[S.DOMAIN].astype("string")[have]
    # no domain (unparseable URL rows are never labelled, but be safe): the host, else the URL
    dom = dom.fillna(links[S.HOST].astype("string")[have]).fillna(links[S.SOURCE_URL].astype("string")[have])
    gu = ("user:" + dom.fillna("")).reset_index(drop=True)

    # Hold out whole referring domains of the user's links for evaluation and the gate.
    test = np.zeros(len(yu), dtype=bool)
    if test_fraction > 0 and gu.nunique() >= 10:
        test = grouped_folds(gu, (1 - test_fraction, test_fraction), seed=seed + 7, strata=yu.astype(np.int64)) == 1
        if not ((yu[test] == 1).any() and (yu[test] == 0).any()) or (yu[~test] == 1).sum() == 0:
            test[:] = False
    if not test.any():
        warnings.append("too few labelled links of both classes to hold some out: no held-out evaluation, gate compares on the calibration fold")
    Xs, ys, ws, gs = [Xu[~test]], [yu[~test]], [np.full((~test).sum(), float(user_weight))], [gu[~test]]
    rows = {"user": int((~test).sum()), "user_held_out": int(test.sum())}
    base_hash = ""
    if with_base:
        from toxlink import basedata as B

        base = B.build_base_links(seed) if base_links is None else base_links
        base_hash = B.dataset_hash(base)[:16]
        Xb = compute_features(base)
        Xs.append(Xb)
        ys.append(base[LABEL].to_numpy(float))
        ws.append(base[WEIGHT].to_numpy(float) * float(base_weight))
        gs.append(("base:" + base[GROUP].astype("string")).reset_index(drop=True))
        rows["base"] = int(len(base))
    X = pd.concat(Xs, ignore_index=True)
    y, w = np.concatenate(ys), np.concatenate(ws)
    g = pd.concat(gs, ignore_index=True)
    dh = data_hash(X, y, w, g)
    fitted = fit(X=X, y=y, w=w, groups=g, config=config, data_hash_=dh,
                 extra={"retrain": {"user_weight": user_weight, "base_weight": base_weight if with_base else None,
                                    "base_data_hash": base_hash, "label_counts": counts}})
    bundle = fitted.bundle
    metrics = None
    if test.any():
        metrics = evaluate(bundle, Xu[test], yu[test])
        bundle.metrics["user_held_out"] = metrics
    out_dir = Path(out_dir)
    bundle.save(out_dir)
    report = TrainReport(
        model_dir=str(out_dir),
        label_counts=counts,
        rows=rows,
        thresholds=dict(bundle.thresholds),
        calibration=bundle.calibration["method"],
        metrics=metrics,
        calib_metrics=fitted.info["calib_metrics"],
        data_hash=dh,
        seconds=0.0,
        warnings=warnings,
    )
    if register:
        uri = resolve_tracking_uri(tracking_uri)
        rid = log_run(bundle, tracking_uri=uri, run_name="toxlink train", tags={"kind": "retrain"},
                      params={"with_base": with_base, "user_weight": user_weight, "base_weight": base_weight})
        if test.any():
            X_eval, y_eval = Xu[test], yu[test]
        else:
            ca = fitted.folds == 2
            X_eval, y_eval = fitted.X[ca], fitted.y[ca]
        report.gate = register_and_gate(rid, bundle, X_eval, y_eval, tracking_uri=uri)
        report.run_id, report.tracking_uri = rid, uri
    report.seconds = time.perf_counter() - t0
    return report

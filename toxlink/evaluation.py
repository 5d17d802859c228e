"""Peers and diagnostics of a fitted model: family ablation, the rule baseline, per-source results.

:func:`ablation` retrains without each feature family; :func:`rule_baseline` scores links by
a weighted count of Semrush/OSS-style toxic markers; :func:`by_source` breaks results down
per label source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from toxlink import metrics as M
from toxlink.fit import FitResult, TrainConfig, choose_thresholds, fit_calibration, train_booster
from toxlink.model import apply_calibration

__all__ = ["family_columns", "ablation", "Marker", "RULE_MARKERS", "rule_baseline", "rule_baseline_metrics", "by_source"]


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

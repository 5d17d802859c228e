"""The host model's training pieces shared by ``evaluate.py`` (LOSO) and ``train.py`` (shipped).

- :func:`load` — every kept host of the public lists as a links row, its features, labels.
- :func:`fit_ngram` / :func:`oof_ngram` — the character n-gram logistic regression behind
  ``hst_ngram_score``, fitted on some hosts and, for the rows that train LightGBM, scored
  out-of-fold with folds grouped by registrable domain (a host's n-gram score never comes
  from a model that saw its domain).
- :func:`fit_host_model` — the whole stack on a set of training rows: OOF n-gram feature,
  LightGBM (``toxlink.fit.fit``: grouped early stopping and calibration folds), and the
  n-gram model refitted on every training row to score new hosts.
- :func:`prior_shift` — moves calibrated probabilities from the balanced training prior
  (spam and clean weigh 50/50) to the stated share of toxic referring hosts.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from toxlink import basedata as B  # noqa: E402
from toxlink import fit as F  # noqa: E402
from toxlink.features.hostname import NgramModel, host_ngrams  # noqa: E402

#: The team's lists: ``../shared/data`` beside the repository (override: $TOXLINK_LISTS).
LISTS_DIR = Path(os.environ.get("TOXLINK_LISTS", ROOT.parent / "shared" / "data"))
NGRAM = "hst_ngram_score"
#: Share of toxic referring hosts the shipped probabilities are calibrated to (stated prior).
PRIOR = 0.15
NGRAM_C = 1.0
#: Feature families the host model learns from: what a host *name* says. The lists give no
#: links, so the url family (computed on https://host/) and the profile family (computed with
#: the whole list as the "export": hosts per domain is a listing habit) would mean something
#: else on a real export than in training.
HOST_FAMILIES = ("domain", "tld", "hostname")
NGRAM_MIN_DF = 10


@dataclass
class HostData:
    """Kept hosts of the lists: ``links`` (canonical rows + basedata extra columns), ``X``
    (features, shape (n, f), positional index), ``host`` (str, (n,)), ``ledger``."""

    links: pd.DataFrame
    X: pd.DataFrame
    host: np.ndarray
    ledger: pd.DataFrame

    @property
    def y(self) -> np.ndarray:
        return self.links[B.LABEL].to_numpy(int)

    @property
    def source(self) -> np.ndarray:
        return self.links[B.LABEL_SOURCE].astype(str).to_numpy()

    @property
    def group(self) -> np.ndarray:
        return self.links[B.GROUP].astype(str).to_numpy()


def load(lists_dir: str | os.PathLike = LISTS_DIR, seed: int = 0) -> HostData:
    """Ledger, host rows and their features (the n-gram column left NaN: it is per fold)."""
    if not Path(lists_dir).is_dir():
        raise SystemExit(f"the public lists are not at {lists_dir}: set TOXLINK_LISTS or put shared/ beside the repository")
    ledger = B.host_ledger(lists_dir, seed=seed)
    links = B.host_links(ledger)
    X = F.compute_features(links)
    X[NGRAM] = np.nan
    host = links["source_url"].str.slice(len("https://"), -1).astype(str).to_numpy()
    return HostData(links, X, host, ledger)


def fit_ngram(hosts, y, w, seed: int = 0, C: float = NGRAM_C, min_df: int = NGRAM_MIN_DF) -> NgramModel:
    """TF-IDF character n-grams (``host_ngrams``) + weighted logistic regression, as plain data."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(analyzer=host_ngrams, min_df=min_df, dtype=np.float64)
    M = vec.fit_transform(list(hosts))
    lr = LogisticRegression(C=C, solver="liblinear", random_state=seed, max_iter=200)
    lr.fit(M, np.asarray(y, int), sample_weight=np.asarray(w, float) / np.mean(w))
    return NgramModel(dict(vec.vocabulary_), vec.idf_.astype(float), lr.coef_[0].astype(float), float(lr.intercept_[0]))


def oof_ngram(hosts, y, w, groups, seed: int = 0, k: int = 5) -> np.ndarray:
    """Out-of-fold n-gram log-odds, shape (n,): folds are whole registrable domains."""
    fold = F.grouped_folds(pd.Series(groups, dtype="string"), [1.0 / k] * k, seed=seed + 11, strata=np.asarray(y, np.int64))
    out = np.empty(len(y))
    hosts = np.asarray(hosts, dtype=object)
    for f in range(k):
        te = fold == f
        m = fit_ngram(hosts[~te], np.asarray(y)[~te], np.asarray(w)[~te], seed=seed)
        out[te] = m.score(hosts[te])
    return out


@dataclass
class HostModel:
    """A fitted stack: ``fitted`` (toxlink.fit.FitResult, its bundle calibrated at the 50/50
    training prior) and ``ngram`` (refitted on every training row)."""

    fitted: F.FitResult
    ngram: NgramModel

    def features(self, X: pd.DataFrame, hosts) -> pd.DataFrame:
        """*X* with the n-gram column scored by this stack's n-gram model."""
        X = X.copy()
        X[NGRAM] = self.ngram.score(list(hosts))
        return X

    def raw(self, X: pd.DataFrame, hosts) -> np.ndarray:
        return self.fitted.bundle.raw_score(self.features(X, hosts))

    def proba(self, X: pd.DataFrame, hosts, prior: float = PRIOR) -> np.ndarray:
        """Calibrated probability at *prior*, shape (n,)."""
        return prior_shift(self.fitted.bundle.predict(self.features(X, hosts)), prior)


def host_columns(columns) -> list[str]:
    """The columns of *columns* in :data:`HOST_FAMILIES`, in order."""
    from toxlink.features import families

    keep = {c for fam in HOST_FAMILIES for c in families()[fam]}
    return [c for c in columns if c in keep]


def host_config(seed: int = 0) -> F.TrainConfig:
    """LightGBM settings of the host model (chosen under leave-one-source-out)."""
    return F.TrainConfig(seed=seed, num_leaves=15, min_data_in_leaf=50, learning_rate=0.05, num_boost_round=400,
                         early_stopping_rounds=40, feature_fraction=0.8, calibration="platt")


def fit_host_model(X: pd.DataFrame, hosts, y, w, groups, seed: int = 0, columns=None, oof=None) -> HostModel:
    """Fit the stack on training rows (see module docstring); LightGBM sees *columns* only
    (default :func:`host_columns`); the rest stay NaN, so the bundle keeps the full feature
    list and never splits on them. *oof* reuses precomputed out-of-fold n-gram scores."""
    X = X.copy()
    hosts = np.asarray(hosts, dtype=object)
    X[NGRAM] = oof_ngram(hosts, y, w, groups, seed=seed) if oof is None else oof
    keep = set(host_columns(X.columns) if columns is None else columns)
    X[[c for c in X.columns if c not in keep]] = np.nan
    fitted = F.fit(X=X, y=np.asarray(y, float), w=np.asarray(w, float), groups=pd.Series(groups, dtype="string"),
                   config=host_config(seed))
    return HostModel(fitted, fit_ngram(hosts, y, w, seed=seed))


def prior_shift(p: np.ndarray, prior: float = PRIOR, trained_at: float = 0.5) -> np.ndarray:
    """Probabilities calibrated at class share *trained_at* re-expressed at *prior*."""
    p = np.clip(np.asarray(p, float), 1e-6, 1 - 1e-6)
    z = np.log(p / (1 - p)) + np.log(prior / (1 - prior)) - np.log(trained_at / (1 - trained_at))
    return 1.0 / (1.0 + np.exp(-z))

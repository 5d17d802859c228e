"""Hostname family: what the referring host's name as a whole says, learnt across sources.

``hst_ngram_score`` is a character n-gram logistic regression over host names, trained on
the public lists (``training/``) and shipped as plain data (``models/toxlink-ngrams.json``:
n-grams, IDF weights, coefficients; never a pickle). Its value is the regression's log-odds
that the host is spam. In training it is computed out-of-fold, so the model that uses it
learns how far to trust it on hosts the n-gram model never saw. Computed once per distinct
host; NaN for IP hosts, rows without a host, or when no n-gram model is installed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from toxlink.features._base import Context, FeatureSet, above, flag, take_rows
from toxlink.resources import models_path

NGRAM_FILE = "toxlink-ngrams.json"

FEATURES = FeatureSet("hostname")
FEATURES.add("hst_ngram_score", "log-odds that the host is spam from a character n-gram model of host names (out-of-fold in training)",
             above(0.0, "the site's name resembles the names of sites on public spam blocklists"))
FEATURES.add("hst_language_label", "1 if the host's first label is a language code (es., fr., pa., zh-cn.) under a registrable domain: a sign of machine-translated mirrors",
             flag("the host looks like a language mirror of another site"))

_WWW = re.compile(r"^www\d*\.")
_BATCH = 4096  # hosts scored at once
_LANG = re.compile(r"^[a-z]{2}(?:-[a-z]{2})?$")


def host_ngrams(host: str, n_min: int = 1, n_max: int = 5) -> list[str]:
    """Character n-grams of a host padded with one space each side (``www.`` removed).

    The same as scikit-learn's ``char_wb`` analyser on a one-word text, so training can use
    ``TfidfVectorizer(analyzer=host_ngrams)`` and scoring stays dependency-free.
    """
    padded = f" {_WWW.sub('', host)} "
    return [padded[i:i + n] for n in range(n_min, n_max + 1) for i in range(len(padded) - n + 1)]


@dataclass(frozen=True, eq=False)
class NgramModel:
    """A TF-IDF (l2-normalised) logistic regression over :func:`host_ngrams`, as plain data.

    Attributes
    ----------
    index : dict {n-gram: column}; idf, coef : float arrays, shape (v,); intercept : float
    n_min, n_max : int (n-gram lengths)
    """

    index: dict[str, int]
    idf: np.ndarray
    coef: np.ndarray
    intercept: float
    n_min: int = 1
    n_max: int = 5

    def score(self, hosts) -> np.ndarray:
        """Log-odds of each host (shape (n,)); n-grams outside the vocabulary count for nothing.

        The n-grams of every host are cut in Arrow (one slice per length and offset) and
        looked up in the vocabulary at once: the same values as :func:`host_ngrams` one host
        at a time, for a chunk's ~10^5 distinct hosts in a fraction of the time.
        """
        hosts = pa.array(list(hosts), pa.large_string()) if not isinstance(hosts, pa.Array) else hosts
        if len(hosts) > _BATCH:  # ~100 n-grams a host: bounded temporaries
            return np.concatenate([self.score(hosts.slice(i, _BATCH)) for i in range(0, len(hosts), _BATCH)])
        n, v = len(hosts), len(self.idf)
        if not n:
            return np.zeros(0)
        bare = pc.replace_substring_regex(pc.fill_null(hosts, ""), _WWW.pattern, "")
        padded = pc.binary_join_element_wise(pa.scalar(" ", pa.large_string()), bare,
                                             pa.scalar(" ", pa.large_string()), pa.scalar("", pa.large_string()))
        length = np.asarray(pc.utf8_length(padded))
        rows, grams = [], []
        for k in range(self.n_min, self.n_max + 1):
            for start in range(int(length.max()) - k + 1):
                at = np.flatnonzero(length >= start + k)
                rows.append(at)
                grams.append(pc.utf8_slice_codeunits(padded.take(pa.array(at)), start, start + k))
        row = np.concatenate(rows)
        col = np.asarray(pc.fill_null(pc.index_in(pa.concat_arrays(grams), value_set=self._vocabulary), -1))
        known = col >= 0
        # One (host, n-gram) pair per distinct n-gram of a host, with its count: TF-IDF, then
        # the l2 norm and the dot product with the coefficients, summed per host.
        pair, count = np.unique(row[known] * v + col[known], return_counts=True)
        r, c = pair // v, pair % v
        tf = count * self.idf[c]
        norm = np.sqrt(np.bincount(r, weights=tf * tf, minlength=n))
        dot = np.bincount(r, weights=tf * self.coef[c], minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.intercept + np.where(norm > 0, dot / norm, 0.0)

    @cached_property
    def _vocabulary(self) -> pa.Array:
        """The n-grams in column order, as Arrow strings (for ``index_in``)."""
        return pa.array(sorted(self.index, key=self.index.get), pa.large_string())

    def to_json(self) -> dict:
        """Plain-data form (see :meth:`from_json`); IDF to 5 significant digits, coefficients to 4."""
        grams = sorted(self.index, key=self.index.get)
        return {"analyzer": "host_ngrams", "n_min": self.n_min, "n_max": self.n_max, "intercept": round(self.intercept, 6),
                "ngrams": grams, "idf": [float(f"{v:.5g}") for v in self.idf], "coef": [float(f"{v:.4g}") for v in self.coef]}

    @classmethod
    def from_json(cls, d: dict) -> "NgramModel":
        return cls({g: i for i, g in enumerate(d["ngrams"])}, np.asarray(d["idf"], float), np.asarray(d["coef"], float),
                   float(d["intercept"]), int(d["n_min"]), int(d["n_max"]))


@cache
def shipped_model() -> NgramModel | None:
    """The installed n-gram model (``models/toxlink-ngrams.json``), or None when absent."""
    path = models_path(NGRAM_FILE)
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as fh:
        return NgramModel.from_json(json.load(fh))


def compute(ctx: Context) -> dict[str, np.ndarray]:
    codes, uniq = ctx.host_codes
    info = ctx.host_info
    hosts = uniq.to_pylist()
    is_ip = np.asarray(info["is_ip"], dtype=bool)
    model = shipped_model()
    score = _scores(model, hosts) if model is not None else np.full(len(hosts), np.nan)
    subs = [(s or "") for s in info["subdomain"].to_pylist()]
    first = [_WWW.sub("", s + ".").split(".", 1)[0] if s else "" for s in subs]
    lang = np.array([bool(_LANG.match(f)) for f in first], dtype=float)
    per_host = [np.where(is_ip, np.nan, score), np.where(is_ip, np.nan, lang)]
    return dict(zip(FEATURES.names, take_rows(per_host, codes)))


# Scores of the hosts earlier chunks asked about (pass 2 asks about pass 1's hosts again, and
# the chunks of one export share many). Bounded: emptied past _MEMO_MAX hosts.
_MEMO: dict[str, float] = {}
_MEMO_MAX = 1 << 18


def _scores(model: NgramModel, hosts: list[str]) -> np.ndarray:
    """``model.score(hosts)``, scoring only the hosts not seen before."""
    memo = _MEMO if model is shipped_model() else {}
    new = [h for h in dict.fromkeys(hosts) if h not in memo]
    if new:
        if len(memo) + len(new) > _MEMO_MAX:
            memo.clear()
        memo.update(zip(new, model.score(new).tolist()))
    return np.array([memo[h] for h in hosts], dtype=float)

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
from functools import cache, cached_property, partial

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

        Every host is a row of character ids (its letters' ranks in the vocabulary's
        alphabet, 0 for a letter no n-gram has), so the n-grams of every host are integer
        codes cut out of that matrix at once and looked up in the vocabulary by code: the
        same values as :func:`host_ngrams` one host at a time, for a chunk's ~10^5
        distinct hosts in a fraction of the time. Hosts of similar length are scored
        together, so the matrices hold little padding.
        """
        hosts = pa.array(list(hosts), pa.large_string()) if not isinstance(hosts, pa.Array) else hosts
        hosts = pc.replace_substring_regex(pc.fill_null(hosts, ""), _WWW.pattern, "")
        order = np.argsort(np.asarray(pc.utf8_length(hosts)), kind="stable")
        out = np.empty(len(hosts))
        for i in range(0, len(hosts), _BATCH):  # ~100 n-grams a host: bounded temporaries
            at = order[i:i + _BATCH]
            out[at] = self._score_bare(hosts.take(pa.array(at)))
        return out

    def _score_bare(self, bare: pa.Array) -> np.ndarray:
        """:meth:`score` of hosts without their ``www.``, shape (n,)."""
        alphabet, base, lookups = self._codes
        n = len(bare)
        text = np.asarray(bare.to_numpy(zero_copy_only=False), dtype=str)
        width = text.dtype.itemsize // 4
        # one space each side, as host_ngrams pads
        chars = np.zeros((n, width + 2), np.uint32)
        chars[:, 0] = ord(" ")
        chars[:, 1:width + 1] = text.view(np.uint32).reshape(n, width)
        chars[np.arange(n), np.asarray(pc.utf8_length(bare)) + 1] = ord(" ")
        rank = np.searchsorted(alphabet, chars).clip(0, len(alphabet) - 1)
        ids = np.where(alphabet[rank] == chars, rank + 1, 0).astype(np.int64)
        cols = []
        for k in range(self.n_min, min(self.n_max, width + 2) + 1):
            w = width + 3 - k
            code, known = np.zeros((n, w), np.int64), np.ones((n, w), bool)
            for j in reversed(range(k)):
                code = code * base + ids[:, j:j + w]
                known &= ids[:, j:j + w] > 0
            cols.append(np.where(known, lookups[k](code), -1))
        # Each host's n-gram columns, sorted: a run of equal columns is one n-gram and its count.
        grams = np.sort(np.concatenate(cols, axis=1), axis=1)
        flat = grams.ravel()
        present = flat >= 0
        first = present.copy()
        first[1:] &= flat[1:] != flat[:-1]
        first[::grams.shape[1]] = present[::grams.shape[1]]  # a new host starts new runs
        count = np.bincount((np.cumsum(first) - 1)[present])
        at = np.flatnonzero(first)
        col, row = flat[at], at // grams.shape[1]
        tf = count * self.idf[col]
        norm = np.sqrt(np.bincount(row, weights=tf * tf, minlength=n))
        dot = np.bincount(row, weights=tf * self.coef[col], minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.intercept + np.where(norm > 0, dot / norm, 0.0)

    @cached_property
    def _codes(self):
        """``(alphabet, base, lookups)``: the sorted code points of the vocabulary, the base
        of the n-gram codes (``len(alphabet) + 1``; id 0 is a letter outside it) and, per
        n-gram length, a function from codes to vocabulary columns (-1: not in it). A table
        indexed by code when it is small (the ~40-letter alphabet of host names up to
        4-grams), a binary search over the sorted codes otherwise."""
        grams = sorted(self.index, key=self.index.get)
        points = np.frombuffer("".join(grams).encode("utf-32-le"), np.uint32)
        alphabet = np.unique(points) if len(points) else np.zeros(1, np.uint32)
        base = len(alphabet) + 1
        if base ** self.n_max >= 2 ** 62:
            raise ValueError(f"n-gram model: {len(alphabet)} distinct letters are too many")
        padded = np.array(grams, dtype=f"<U{self.n_max}").view(np.uint32).reshape(len(grams), self.n_max)
        ids = np.where(padded > 0, np.searchsorted(alphabet, padded) + 1, 0).astype(np.int64)
        code = np.zeros(len(grams), np.int64)
        for j in reversed(range(self.n_max)):
            code = code * base + ids[:, j]
        size = np.array([len(g) for g in grams])
        lookups = {}
        for k in range(self.n_min, self.n_max + 1):
            mine = np.flatnonzero(size == k)
            if base ** k <= 1 << 22:
                table = np.full(base ** k, -1, np.int64)
                table[code[mine]] = mine
                lookups[k] = table.__getitem__
            else:
                order = np.argsort(code[mine])
                lookups[k] = partial(_search, code[mine][order], mine[order])
        return alphabet, base, lookups

    def to_json(self) -> dict:
        """Plain-data form (see :meth:`from_json`); IDF to 5 significant digits, coefficients to 4."""
        grams = sorted(self.index, key=self.index.get)
        return {"analyzer": "host_ngrams", "n_min": self.n_min, "n_max": self.n_max, "intercept": round(self.intercept, 6),
                "ngrams": grams, "idf": [float(f"{v:.5g}") for v in self.idf], "coef": [float(f"{v:.4g}") for v in self.coef]}

    @classmethod
    def from_json(cls, d: dict) -> "NgramModel":
        return cls({g: i for i, g in enumerate(d["ngrams"])}, np.asarray(d["idf"], float), np.asarray(d["coef"], float),
                   float(d["intercept"]), int(d["n_min"]), int(d["n_max"]))


def _search(codes: np.ndarray, columns: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The column of each of *wanted* in the sorted *codes*, -1 where absent."""
    if not len(codes):
        return np.full(wanted.shape, -1, np.int64)
    at = np.searchsorted(codes, wanted).clip(0, len(codes) - 1)
    return np.where(codes[at] == wanted, columns[at], -1)


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

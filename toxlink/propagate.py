"""Spread a user's few labels to the unlabelled sites of the same export that resemble them.

A user labels a few referring domains; the same export usually holds their siblings: other
sites of the same network, on the same /24 subnet, with the same page title, or named
alike (``casino-77.xyz`` and ``casino-78.xyz``). :func:`propagate_labels` gives each
unlabelled link the label of the labelled links it is tied to, for ``toxlink train`` to
add as extra, lighter training rows (:mod:`toxlink.train`):

- **subnet**: the referring host's IPv4 address shares its /24 with labelled links;
- **title**: the page title (lower-cased, spaces collapsed, at least :data:`MIN_TITLE` chars)
  equals a labelled link's;
- **name**: the cosine similarity of character 3-5-gram TF-IDF vectors of the site names
  (registrable domain without its suffix, or the host) is at least *min_similarity* to a
  labelled site: the nearest labelled site's label (a 1-nearest-neighbour vote).

A link tied to labelled links of both classes by one relation is left alone; the relations
are tried in the order above (the first that decides wins). Nothing leaves the export: the
labels only become training rows of the user's own model.

The same name similarity also works at scoring time (:func:`neighbour_shift`): a retrained
bundle keeps the names of the sites its user labelled (``extra["neighbours"]``, the user's
own model only; the shipped model holds no host names), and a referring site named like
labelled ones has its risk moved in log-odds, up to ``strength`` for an identical name
(a sibling host of a labelled domain), towards the label of the most similar one, plus
``name_model_strength`` times the log-odds of a character n-gram logistic regression fitted
on the labelled names (what a name shares with the labelled ones, beyond one near twin).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from toxlink import schema as S

__all__ = ["MIN_TITLE", "MIN_SIMILARITY", "NEIGHBOURS", "NEIGHBOUR_STRENGTH", "MAX_NEIGHBOURS", "propagate_labels",
           "site_names", "neighbour_spec", "neighbour_similarity", "neighbour_shift", "neighbour_sentences"]

MIN_TITLE = 12
MIN_SIMILARITY = 0.6
#: Key of a retrained bundle's ``extra`` holding its user's labelled site names.
NEIGHBOURS = "neighbours"
#: Log-odds a labelled site moves an identically named one by (``training/adaptation.py``).
NEIGHBOUR_STRENGTH = 2.0
#: Weight of the labelled names' n-gram logistic regression in the shift (``training/adaptation.py``).
NAME_MODEL_STRENGTH = 2.0
#: Most labelled names a bundle keeps (the metadata stays small).
MAX_NEIGHBOURS = 5_000
#: Names compared at a time: a block's similarity matrix is at most _BLOCK x MAX_NEIGHBOURS.
_BLOCK = 1024


def _votes(keys: pd.Series, label: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Per row, the label shared by every *source* row with the same key (NaN: none or mixed)."""
    k = keys.to_numpy(dtype=object)
    ok = source & pd.notna(keys).to_numpy()
    if not ok.any():
        return np.full(len(label), np.nan)
    stats = pd.DataFrame({"k": k[ok], "y": label[ok]}).groupby("k")["y"].agg(["min", "max"])
    agreed = stats["min"][stats["min"] == stats["max"]]
    return keys.map(agreed).to_numpy(float)


def site_names(links: pd.DataFrame) -> pd.Series:
    """The referring site's registrable domain (else its host), shape (n,), "" when neither."""
    dom = links[S.DOMAIN].astype("string") if S.DOMAIN in links.columns else links[S.HOST].astype("string")
    return dom.fillna(links[S.HOST].astype("string")).fillna("").reset_index(drop=True)


def _stem(names) -> pd.Series:
    # the registrable label only: the suffix says little and is shared by whole profiles
    return pd.Series(names, dtype="string").fillna("").str.replace(r"\.[^.]+(\.[a-z]{2})?$", "", regex=True)


def _names(links: pd.DataFrame) -> pd.Series:
    return _stem(site_names(links))


def _nearest(names: pd.Series, label: np.ndarray, source: np.ndarray, targets: np.ndarray,
             min_similarity: float) -> np.ndarray:
    """Label of the most similar *source* name for each *targets* row (NaN below *min_similarity*)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    out = np.full(len(label), np.nan)
    src_idx, tgt_idx = np.flatnonzero(source), np.flatnonzero(targets)
    if not len(src_idx) or not len(tgt_idx):
        return out
    # distinct names only: an export repeats a site's name once per link
    uniq, inv = np.unique(names.to_numpy(dtype=str), return_inverse=True)
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), dtype=np.float32).fit(uniq)
    src_names, src_pos = np.unique(inv[src_idx], return_index=True)
    lab_of_name = pd.Series(label[src_idx]).groupby(inv[src_idx]).agg(["min", "max"])
    clear = (lab_of_name["min"] == lab_of_name["max"]).reindex(src_names).to_numpy()
    src_names = _at_most(src_names[clear], MAX_NEIGHBOURS)
    if not len(src_names):
        return out
    tgt_names = np.unique(inv[tgt_idx])
    A, B = vec.transform(uniq[tgt_names]), vec.transform(uniq[src_names])
    best = np.full(len(tgt_names), np.nan)
    for start in range(0, len(tgt_names), _BLOCK):  # bounded memory: a block of targets at a time
        sim = (A[start:start + _BLOCK] @ B.T).toarray()
        j = sim.argmax(axis=1)
        top = sim[np.arange(len(j)), j]
        vals = lab_of_name["min"].reindex(src_names).to_numpy()[j]
        best[start:start + _BLOCK] = np.where(top >= min_similarity, vals, np.nan)
    by_name = pd.Series(best, index=tgt_names)
    out[tgt_idx] = by_name.reindex(inv[tgt_idx]).to_numpy()
    # a name identical to a labelled one is that site: never "propagated" onto itself
    out[np.isin(inv, src_names) & targets] = np.nan
    return out


def propagate_labels(links: pd.DataFrame, label: np.ndarray, *, source: np.ndarray | None = None,
                     min_similarity: float = MIN_SIMILARITY) -> tuple[np.ndarray, pd.Series]:
    """Labels for the unlabelled links tied to labelled ones (see the module docstring).

    Parameters
    ----------
    links : DataFrame, shape (n, ...)
        The export's links with ``host`` and ``domain`` (:func:`toxlink.urls.with_hosts`);
        ``source_ip`` and ``page_title`` are used when present.
    label : ndarray of float, shape (n,)
        1 toxic, 0 ok, NaN unlabelled.
    source : ndarray of bool, shape (n,), optional
        Which labelled links may lend their label (default: all); e.g. not the ones held out
        to judge the model.

    Returns
    -------
    (labels, via): ndarray of float, shape (n,), NaN where nothing was propagated (and on
    every labelled link); Series of string, shape (n,): the relation used (``subnet``,
    ``title``, ``name``) or NA.
    """
    label = np.asarray(label, float)
    n = len(label)
    has = ~np.isnan(label)
    source = has if source is None else (np.asarray(source, bool) & has)
    target = ~has
    for c in (S.ROW_ISSUE, S.DUPLICATE_OF):
        if c in links.columns:
            target &= links[c].isna().to_numpy()
    out = np.full(n, np.nan)
    via = np.full(n, None, dtype=object)

    def take(values: np.ndarray, name: str) -> None:
        m = target & np.isnan(out) & ~np.isnan(values)
        out[m] = values[m]
        via[m] = name

    if S.SOURCE_IP in links.columns:
        ip = links[S.SOURCE_IP].astype("string").str.extract(r"^(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}$")[0]
        take(_votes(ip.reset_index(drop=True), label, source), "subnet")
    if S.PAGE_TITLE in links.columns:
        t = links[S.PAGE_TITLE].astype("string").str.lower().str.split().str.join(" ")
        t = t.where(t.str.len() >= MIN_TITLE)
        take(_votes(t.reset_index(drop=True), label, source), "title")
    take(_nearest(_names(links).reset_index(drop=True), label, source, target, min_similarity), "name")
    return out, pd.Series(via, dtype="string")


def _at_most(items: np.ndarray, n: int) -> np.ndarray:
    """*items*, or a seeded sample of *n* of them in their order (a 50,000-domain disavow
    file must not make a 50,000-column similarity matrix)."""
    if len(items) <= n:
        return items
    keep = np.sort(np.random.default_rng(0).choice(len(items), n, replace=False))
    return items[keep]


def neighbour_spec(names, labels, strength: float = NEIGHBOUR_STRENGTH,
                   name_model_strength: float = NAME_MODEL_STRENGTH) -> dict | None:
    """What a retrained bundle keeps: labelled site *names* (shape (n,)) whose *labels* agree,
    at most :data:`MAX_NEIGHBOURS` of them; None when there are none."""
    frame = pd.DataFrame({"name": pd.Series(names, dtype="string"), "y": np.asarray(labels, float)}).dropna()
    frame = frame[frame["name"] != ""]
    agree = frame.groupby("name")["y"].agg(["min", "max"])
    agree = agree[agree["min"] == agree["max"]]
    if not len(agree):
        return None
    agree = agree.loc[_at_most(agree.index.to_numpy(dtype=object), MAX_NEIGHBOURS)]
    return {"names": agree.index.tolist(), "labels": [int(v) for v in agree["min"]], "strength": float(strength),
            "min_similarity": MIN_SIMILARITY, "name_model_strength": float(name_model_strength)}


def neighbour_similarity(names, spec: dict) -> tuple[np.ndarray, np.ndarray]:
    """Highest name similarity of each of *names* (shape (n,)) to a labelled toxic and to a
    labelled ok site of *spec* (:func:`neighbour_spec`): two arrays of float in [0, 1]."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    q = _stem(names)
    uniq, inv = np.unique(q.to_numpy(dtype=str), return_inverse=True)
    ref = _stem(spec["names"]).to_numpy(dtype=str)
    lab = np.asarray(spec["labels"], int)
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), dtype=np.float32).fit(ref)
    A = vec.transform(uniq)
    out = []
    for cls in (1, 0):
        best = np.zeros(len(uniq))
        R = vec.transform(ref[lab == cls])
        if R.shape[0]:
            for start in range(0, len(uniq), _BLOCK):
                best[start:start + _BLOCK] = (A[start:start + _BLOCK] @ R.T).max(axis=1).toarray().ravel()
        out.append(best[inv])
    return out[0], out[1]


def neighbour_shift(names, spec: dict | None, strength: float | None = None,
                    name_model_strength: float | None = None) -> np.ndarray:
    """Log-odds to add to each risk, shape (n,): ``strength`` x the part of the similarity to
    the nearest labelled toxic site above ``min_similarity`` (rescaled to [0, 1]), minus the
    same towards the nearest ok site, plus ``name_model_strength`` x the labelled names'
    n-gram model's log-odds (within +-3). Zero everywhere without a *spec*."""
    if not spec:
        return np.zeros(len(names))
    strength = float(spec["strength"] if strength is None else strength)
    lr_strength = float(spec.get("name_model_strength", 0.0) if name_model_strength is None else name_model_strength)
    floor = float(spec.get("min_similarity", MIN_SIMILARITY))
    shift = np.zeros(len(names))
    if strength:
        tox, ok = neighbour_similarity(names, spec)

        def above(sim):
            return np.clip((sim - floor) / (1 - floor), 0, 1)

        shift += strength * (above(tox) - above(ok))
    if lr_strength and len(set(spec["labels"])) == 2:
        vec, lr = _name_model(tuple(spec["names"]), tuple(spec["labels"]))
        q = _stem(names)
        uniq, inv = np.unique(q.to_numpy(dtype=str), return_inverse=True)
        shift += lr_strength * np.clip(lr.decision_function(vec.transform(uniq)), -3, 3)[inv]
    return shift


@lru_cache(maxsize=4)
def _name_model(names: tuple, labels: tuple):
    """TF-IDF character 3-5-grams + logistic regression on the labelled names, classes
    balanced (the base model carries the prior); fitted once per set of labels."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    ref = _stem(list(names)).to_numpy(dtype=str)
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, dtype=np.float64).fit(ref)
    lr = LogisticRegression(C=1.0, class_weight="balanced", solver="liblinear", random_state=0)
    lr.fit(vec.transform(ref), np.asarray(labels, int))
    return vec, lr


def neighbour_sentences(shift: np.ndarray, at_least: float = 0.5):
    """The reason a :func:`neighbour_shift` gives, per row (pyarrow large_string array, shape
    (n,)): null where it moved the log-odds by less than *at_least* either way."""
    import pyarrow as pa

    shift = np.asarray(shift, float)
    text = np.where(shift >= at_least, "named like sites you labelled toxic",
                    np.where(shift <= -at_least, "named like sites you labelled ok", None))
    return pa.array(text, type=pa.large_string())

"""Scoring links with the model, explaining each score, and rolling up to referring domains.

>>> import toxlink
>>> predictor = toxlink.Predictor.load()                 # doctest: +SKIP
>>> scored = predictor.score(toxlink.read_export("backlinks.csv"))   # doctest: +SKIP
>>> domains = predictor.recommend(scored)                # doctest: +SKIP

Reasons are the features with the largest positive contributions to a link's raw score,
turned into sentences by each feature's ``reason`` in the registry. The contributions are
path attributions over LightGBM's own trees (:mod:`toxlink.attributions`): exact in that
they add up to the raw score the risk is calibrated from, and fast enough for every link
of a million-link export (LightGBM's TreeSHAP, ``pred_contrib``, costs ~1 ms per link;
``explain(..., method="shap")`` shows it for one link). They are the true top
contributions, not a separate rule set.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from functools import cached_property
from typing import Iterable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toxlink import schema as S
from toxlink.anchors import anchor_categories
from toxlink.known import list_evidence
from toxlink.policy import toxicity
from toxlink.model import apply_calibration
from toxlink.propagate import NEIGHBOURS, neighbour_sentences, neighbour_shift, site_names
from toxlink.timings import Timings
from toxlink.urls import url_match_keys, with_hosts  # noqa: F401 - re-exported: callers score with host columns

_PATHS_LOCK = threading.Lock()

#: How many reasons are attached to each link.
N_REASONS = 3
_NAN_KEY = 1e300


class Predictor:
    """A loaded model plus the disavow policy that turns its scores into actions.

    Parameters
    ----------
    bundle : toxlink.model.ModelBundle
    policy : toxlink.policy.Policy, optional
        Thresholds and whitelist; thresholds left as ``None`` come from the model metadata.
    """

    def __init__(self, bundle, policy=None):
        from toxlink.policy import Policy

        self.bundle = bundle
        policy = policy or Policy()
        thresholds = bundle.thresholds
        if policy.toxic_threshold is None:
            policy = replace(policy, toxic_threshold=float(thresholds["toxic"]))
        if policy.review_threshold is None:
            policy = replace(policy, review_threshold=float(thresholds["review"]))
        self.policy = policy
        self._paths = None  # compiled path attributions, built on first use

    @cached_property
    def knows_names_only(self) -> bool:
        """Whether the model splits on the referring host's name only (the domain, TLD and
        hostname families): then a link's anchor, flags and metrics do not move its risk,
        and its reasons say so."""
        from toxlink.features import FEATURES

        family = {f.name: f.family for f in FEATURES}
        used = self.bundle.booster.feature_importance("split") > 0
        return all(family.get(name) in _NAME_FAMILIES for name, u in zip(self.bundle.feature_names, used) if u)

    @classmethod
    def load(cls, model: str | None = None, policy=None) -> "Predictor":
        """Load the shipped model (``model=None``), a bundle path, or ``models:/name@alias``."""
        from toxlink.model import ModelBundle

        return cls(ModelBundle.load(model), policy=policy)

    # -- scoring ---------------------------------------------------------------------------
    def score(self, links: pd.DataFrame, profile=None, timings: Timings | None = None) -> pd.DataFrame:
        """Score a canonical links table.

        Parameters
        ----------
        links : DataFrame, shape (n, >= len(schema.COLUMNS))
            From :func:`toxlink.read_export` (or any frame with at least ``source_url``).
        profile : ProfileStats, optional
            Whole-export aggregates when *links* is one chunk of a streamed export; by
            default profile features are computed on *links* itself.
        timings : toxlink.timings.Timings, optional
            Where the seconds of each step go (hosts, features, model, contributions,
            reasons): benchmarks, ``--timings``.

        Returns
        -------
        DataFrame, shape (n, ...)
            *links* plus ``host``, ``domain``, ``risk`` (calibrated probability; NaN for
            rows that cannot be scored), ``toxicity`` (the risk as 0-100), ``band`` (toxic /
            review / ok / rejected), ``reasons`` (strongest first, ``"; "``-joined) and
            ``anchor_category`` (:func:`toxlink.anchors.anchor_categories` with the policy's
            ``anchor_terms``). Every input row is kept.
        """
        scored, _ = self._score(links, profile, n_reasons=N_REASONS, timings=timings)
        return scored

    def _score(self, links: pd.DataFrame, profile, n_reasons: int, timings: Timings | None = None):
        from toxlink import features

        timings = timings if timings is not None else Timings()
        with timings.stage("hosts"):
            links = with_hosts(S.conform(links) if not set(S.COLUMNS) <= set(links.columns) else links)
        with timings.stage("features"):
            X = features.compute(links, profile=profile)
        ok = links[S.ROW_ISSUE].isna().to_numpy()
        risk = np.full(len(links), np.nan)
        contrib = listed = None
        if ok.any():
            Xok = X if ok.all() else X.iloc[np.flatnonzero(ok)]  # no copy of a clean chunk
            raw, contrib = self._raw_and_contributions(Xok, timings)
            risk[ok] = apply_calibration(raw, self.bundle.calibration)
            if self.policy.known_lists:  # log-odds of the calibrated risk: what the shift was measured on
                shift, listed = list_evidence(links[S.HOST], self.policy.known_lists,
                                              self.bundle.extra.get("list_evidence"))
                p = np.clip(risk[ok], 1e-6, 1 - 1e-6)
                risk[ok] = 1.0 / (1.0 + np.exp(-(np.log(p / (1 - p)) + shift[ok])))
            if self.bundle.extra.get(NEIGHBOURS):  # a retrained model: sites named like the user's labelled ones
                shift = neighbour_shift(site_names(links), self.bundle.extra[NEIGHBOURS])
                p = np.clip(risk[ok], 1e-6, 1 - 1e-6)
                risk[ok] = 1.0 / (1.0 + np.exp(-(np.log(p / (1 - p)) + shift[ok])))
                named = neighbour_sentences(shift)  # said first, like the user's own lists
                listed = named if listed is None else pc.coalesce(
                    pc.binary_join_element_wise(listed, named, pa.scalar("; ", pa.large_string())), listed, named)
        with timings.stage("reasons"):
            out = links.copy()
            out[S.RISK] = risk
            out[S.TOXICITY] = toxicity(risk)
            out[S.BAND] = self._bands(risk, ok)
            reasons = self._reasons_column(links, X, contrib, ok, n_reasons)
            if listed is not None:  # the user's own lists come first
                reasons = pd.arrays.ArrowStringArray(_lists_first(listed, ok, pa.array(reasons)))
            flagged = ok & (risk >= self.policy.review_threshold)
            name_only = flagged & (self.knows_names_only or _name_only(links))
            reasons = pd.arrays.ArrowStringArray(_with_caveats(pa.array(reasons), flagged, name_only))
            out[S.REASONS] = pd.Series(reasons, index=links.index)
        with timings.stage("anchors"):
            out[S.ANCHOR_CATEGORY] = anchor_categories(links[S.ANCHOR], links[S.TARGET_URL], self.policy.anchor_terms)
        return out, (X, contrib, ok)

    def _raw_and_contributions(self, X: pd.DataFrame, timings: Timings):
        """Raw scores (n,) and the path contributions
        (:class:`toxlink.attributions.LeafContributions`, n links), from one leaf pass.

        The raw score is the contributions' sum plus the bias, so the risk and its reasons
        come from the same evaluation of the trees.
        """
        with _PATHS_LOCK:  # the engine scores two chunks at once: compile the paths once
            if self._paths is None:
                from toxlink.attributions import PathAttributions

                self._paths = PathAttributions(self.bundle.booster)
        from toxlink.model import prediction_threads

        with timings.stage("model"):
            if list(X.columns) == self.bundle.feature_names:
                M = X.to_numpy(np.float32)  # features are float32 already: no float64 copy
            else:
                M = self.bundle._matrix(X)
            leaves = self.bundle.booster.predict(M, pred_leaf=True, num_threads=prediction_threads())
        with timings.stage("contributions"):
            contrib = self._paths.distinct(leaves)
        return contrib.raw[contrib.codes], contrib

    @staticmethod
    def _reasons_column(links: pd.DataFrame, X: pd.DataFrame, contrib, ok: np.ndarray, k: int):
        """The ``reasons`` column, shape (n,) ``string``: the scored rows' reasons and
        ``"not scored: <row issue>"`` for the others, built in Arrow (Python strings only for
        the rejected rows' issues)."""
        good = np.flatnonzero(ok)
        if contrib is not None:
            rows = None if len(good) == len(ok) else good  # a clean chunk: links are X's rows
            scored = _reasons(X, contrib.values, k, rows=rows, features=contrib.features, codes=contrib.codes)
        else:
            scored = pa.array([], pa.large_string())
        if len(good) < len(ok):
            issues = pa.array(links[S.ROW_ISSUE].iloc[np.flatnonzero(~ok)].tolist(), type=pa.large_string())
            unscored = pc.binary_join_element_wise(pa.scalar("not scored: ", pa.large_string()), issues,
                                                   pa.scalar("", pa.large_string()))
            where = np.empty(len(ok), dtype=np.int64)  # row -> position in scored + unscored
            where[good] = np.arange(len(good))
            where[~ok] = len(good) + np.arange(len(ok) - len(good))
            scored = pa.concat_arrays([scored, unscored]).take(pa.array(where))
        return pd.arrays.ArrowStringArray(scored)

    def _bands(self, risk: np.ndarray, ok: np.ndarray) -> pd.api.extensions.ExtensionArray:
        """The ``band`` column, shape (n,), of pandas' default ``str`` dtype (what an object
        array of the names becomes), taken from the four names in Arrow: no Python string
        per row."""
        p = self.policy
        code = np.where(risk >= p.toxic_threshold, 0, np.where(risk >= p.review_threshold, 1, 2))
        code = np.where(ok, code, 3)
        names = pa.array(["toxic", "review", "ok", "rejected"], pa.large_string()).take(pa.array(code))
        return pd.array(names, dtype=pd.StringDtype("pyarrow", na_value=np.nan))

    def score_stream(self, chunks: Iterable[pd.DataFrame], profile) -> Iterator[pd.DataFrame]:
        """Score chunks of one export against its whole-export *profile* (second pass)."""
        for chunk in chunks:
            yield self.score(chunk, profile=profile)

    # -- explanations ----------------------------------------------------------------------
    def explain(self, links: pd.DataFrame, url: str | None = None, method: str = "paths", *,
                domain: str | None = None) -> list[dict]:
        """Every signal behind the score of the link(s) whose source URL is *url* (scheme,
        case and a trailing ``/`` aside), or of every link from the site *domain* (the
        host or any host under it).

        *method* ``"paths"`` (default) gives the path attributions that the reasons of
        :meth:`score` come from; ``"shap"`` gives LightGBM's TreeSHAP values instead.

        Returns
        -------
        list of dict, one per matching link, with ``source_url``, ``target_url``,
        ``anchor``, ``risk``, ``band``, ``bias`` (the model's base raw score; it plus
        every contribution is the link's raw score) and ``signals``: a list of
        ``{"feature", "family", "value", "contribution", "reason"}`` for every feature
        with a non-zero contribution, largest absolute contribution first.
        """
        from toxlink.features import FEATURES

        links = with_hosts(S.conform(links) if not set(S.COLUMNS) <= set(links.columns) else links)
        if (url is None) == (domain is None):
            raise ValueError("give a url or a domain to explain")
        if url is not None:
            want = _same_url(links[S.SOURCE_URL], url)
            if not want.any():
                raise KeyError(f"no link with source URL {url!r} in the export")
        else:
            from toxlink.sites import is_covered
            from toxlink.urls import hosts_of

            # A site as users write it (any case, a URL, a domain: entry): its host as the
            # links' hosts are normalised.
            given = domain.strip().removeprefix("domain:").strip()
            site = hosts_of(pd.Series([given if "://" in given else f"http://{given}/"], dtype="string")).iloc[0]
            want = pd.Series(is_covered(links[S.HOST], {site} if isinstance(site, str) else set()), index=links.index)
            if not want.any():
                raise KeyError(f"no link from {domain!r} in the export")
        # Profile features must see the whole export, so score all rows, then pick.
        if method not in ("paths", "shap"):
            raise ValueError(f"method must be 'paths' or 'shap', not {method!r}")
        scored, (X, contrib, ok) = self._score(links, None, n_reasons=N_REASONS)
        pos_in_ok = np.cumsum(ok) - 1
        by_name = {f.name: f for f in FEATURES}
        result = []
        for i in np.flatnonzero(want.to_numpy()):
            row = scored.iloc[i]
            entry = {
                "source_url": row[S.SOURCE_URL],
                "target_url": row[S.TARGET_URL],
                "anchor": row[S.ANCHOR],
                "risk": None if pd.isna(row[S.RISK]) else float(row[S.RISK]),
                "band": row[S.BAND],
                "row_issue": None if pd.isna(row[S.ROW_ISSUE]) else row[S.ROW_ISSUE],
                "bias": None,
                "signals": [],
            }
            if ok[i]:
                if method == "shap":
                    full = self.bundle.contributions(X.iloc[[i]])[0]
                    c, entry["bias"] = full[:-1], float(full[-1])
                else:  # the attributions scoring just computed: the reasons' own numbers
                    c, entry["bias"] = contrib.row(pos_in_ok[i]), self._paths.bias
                for j in np.argsort(-np.abs(c)):
                    if c[j] == 0:
                        break
                    name = X.columns[j]
                    value = X.iat[i, j]
                    feat = by_name[name]
                    entry["signals"].append(
                        {
                            "feature": name,
                            "family": feat.family,
                            "value": None if pd.isna(value) else float(value),
                            "contribution": float(c[j]),
                            "reason": _sentence(feat, value),
                        }
                    )
            result.append(entry)
        return result

    # -- roll-up ---------------------------------------------------------------------------
    def recommend(self, scored: pd.DataFrame) -> pd.DataFrame:
        """Roll scored links up to referring domains with a disavow action per domain.

        The registrable domains of the links' target URLs (your own site) are whitelisted.

        See :func:`toxlink.policy.recommend_domains` for the columns and the rules.
        """
        from toxlink.policy import own_sites, recommend_domains

        policy = self.policy
        if S.TARGET_URL in scored.columns:  # the audited site never disavows itself
            policy = policy.with_own_sites(own_sites(scored[S.TARGET_URL]))
        return recommend_domains(scored, policy)


#: What a link's reasons say when nothing stands out, and when the export says nothing but its URL.
NO_SINGLE_SIGNAL = "no single signal stands out: many small ones add up"
NAME_ONLY = "scored on the referring site's name alone"
_NAME_FAMILIES = frozenset({"domain", "tld", "hostname"})

# Columns a backlink tool fills in about a link; the source URL and bookkeeping aside.
_ABOUT_THE_LINK = tuple(c for c in S.COLUMNS if c not in (S.SOURCE_FILE, S.SOURCE_ROW, S.VENDOR, S.ROW_ISSUE,
                                                          S.DUPLICATE_OF, S.SOURCE_URL, S.TARGET_URL))


def _name_only(links: pd.DataFrame) -> np.ndarray:
    """Whether the export gives nothing about each link but its URLs (a Search Console
    list, a URL list), shape (n,) bool."""
    given = [c for c in _ABOUT_THE_LINK if c in links.columns]
    return links[given].isna().all(axis=1).to_numpy() if given else np.ones(len(links), dtype=bool)


def _with_caveats(reasons: pa.Array, flagged: np.ndarray, name_only: np.ndarray) -> pa.Array:
    """*reasons* with :data:`NO_SINGLE_SIGNAL` where a *flagged* (toxic or review) link has
    none, and :data:`NAME_ONLY` after those of *name_only* links: the export gives nothing
    but their URLs, or the model learnt from host names only (the shipped one)."""
    text = lambda value: pa.scalar(value, pa.large_string())  # noqa: E731
    empty = np.asarray(pc.equal(reasons, ""), dtype=bool)
    reasons = pc.if_else(pa.array(flagged & empty), text(NO_SINGLE_SIGNAL), reasons)
    if name_only.any():
        empty = np.asarray(pc.equal(reasons, ""), dtype=bool)
        joined = pc.binary_join_element_wise(reasons, text(NAME_ONLY), text("; "))
        reasons = pc.if_else(pa.array(name_only), pc.if_else(pa.array(empty), text(NAME_ONLY), joined), reasons)
    return reasons


def _lists_first(listed: pa.Array, ok: np.ndarray, reasons: pa.Array) -> pa.Array:
    """Each scored row's list sentence (*listed*, null where no list names its host) before
    its *reasons*, ``"; "``-joined; rows that were not scored keep theirs."""
    null = pa.scalar(None, pa.large_string())
    listed = pc.if_else(pa.array(ok), listed, null)
    said = pc.if_else(pc.equal(reasons, ""), null, reasons)
    # Not null_handling="skip": pyarrow 25 drops the rows where every value is null.
    both = pc.binary_join_element_wise(listed, said, pa.scalar("; ", pa.large_string()))
    return pc.coalesce(both, listed, said, pa.scalar("", pa.large_string()))


def _same_url(col: pd.Series, url: str) -> pd.Series:
    """Which of *col* are *url*, whatever their scheme, case and trailing ``/``."""
    return url_match_keys(col).eq(url_match_keys(pd.Series([url]))[0]).fillna(False)


def _sentence(feature, value) -> str:
    """The feature's own plain-language reason for *value*, else a sentence from its meaning.

    A feature's ``reason`` speaks only when the value is remarkable on its own ("the domain
    name contains 2 hyphens"); the model may still lean on an unremarkable value (a
    country-code TLD, a missing column), and the user is owed a reason all the same.
    """
    return _described(feature, value)[0]


def _described(feature, value) -> tuple[str, bool]:
    """``(sentence, telling)``: the feature's own reason when it gives one (*telling*: a
    plain sentence written for the user, fit for a link's short list of reasons); else the
    bare fact, which :meth:`Predictor.explain` shows but the short list skips ("characters
    in the registrable label: 14" explains nothing to a client)."""
    v = None if pd.isna(value) else float(value)
    try:
        text = feature.reason(v)
    except Exception:  # a reason template must never break scoring
        text = None
    if text:
        return text.replace(";", ","), True  # "; " separates reasons in a cell
    # The meaning's first clause; later clauses describe missing values and caveats.
    meaning = feature.meaning.split(";")[0].strip()
    if v is None:  # toxlink computes the host's, TLD's and URL's features itself
        given = "unknown" if feature.family in _COMPUTED_FAMILIES else "not in the export"
        return f"{meaning}: {given}", False
    if meaning.startswith("1 if "):
        condition = meaning[len("1 if "):]
        return (condition if v == 1 else f"not the case: {condition}"), False
    return f"{meaning}: {_number(v)}", False


_COMPUTED_FAMILIES = frozenset({"domain", "tld", "url"})


def _number(v: float) -> str:
    """*v* as people write it: ``1,230``, ``0.38``, ``3.4``."""
    if v == int(v):
        return f"{int(v):,}"
    return f"{v:,.2f}" if abs(v) < 10 else f"{v:,.1f}"


# Sentences of the (feature, float32 value) pairs of earlier chunks: the chunks of an export
# share most of them (~1,500 distinct pairs per 40k links). Bounded: every memo is emptied when
# they hold _MEMO_MAX entries in all (~10 MB; checked once per _reasons call).
_MEMO: dict[tuple, dict[int, tuple[str, bool]]] = {}
_MEMO_MAX = 1 << 15


def _memo_for(feature) -> dict | None:
    """The sentence memo of *feature* (keyed by its name, meaning and reason function, so a
    changed feature never gets another's sentences), or ``None`` when it cannot be keyed."""
    try:
        key = (feature.name, feature.meaning, feature.reason)
        memo = _MEMO.get(key)
    except TypeError:  # an unhashable reason callable
        return None
    if memo is None:
        memo = _MEMO[key] = {}
    return memo


class _Sentences:
    """Sentence ids of (feature, value) pairs for one :func:`_reasons` call: the text of each
    distinct pair is built once (or found in :data:`_MEMO`), never per row."""

    def __init__(self, columns):
        from toxlink.features import FEATURES

        by_name = {x.name: x for x in FEATURES}
        self._features = [by_name.get(c) for c in columns]
        self._id: dict[int, int] = {}
        self.described: list[tuple[str, bool]] = []
        if sum(len(memo) for memo in _MEMO.values()) >= _MEMO_MAX:
            _MEMO.clear()
        self._memos = [_memo_for(x) if x is not None else None for x in self._features]
        # Features whose sentence does not quote the value: their values are folded to one
        # per sentence, so a score with one value per host costs one sentence.
        self._folds = {i: x.reason.same_sentence for i, x in enumerate(self._features)
                       if x is not None and hasattr(x.reason, "same_sentence")}

    def ids(self, feature: np.ndarray, value: np.ndarray) -> np.ndarray:
        """Sentence ids, shape (n,), of the pairs (*feature* column index, float32 *value*)."""
        feature = np.asarray(feature, dtype=np.int64)
        value = np.array(value, dtype=np.float32)  # a copy: folded in place below
        for f in np.unique(feature).tolist():
            fold = self._folds.get(f)
            if fold is not None:
                at = feature == f
                folded = fold(value[at])
                if folded is not None:
                    value[at] = folded
        # one int64 key per pair: feature << 32 | float bits
        keys = (feature << 32) | value.view(np.uint32)
        codes, uniq = pd.factorize(keys)
        out = np.empty(len(uniq), dtype=np.int64)
        known, described, memos = self._id, self.described, self._memos
        for i, key in enumerate(uniq.tolist()):
            sid = known.get(key)
            if sid is None:
                memo = memos[key >> 32]
                bits = key & 0xFFFFFFFF
                d = memo.get(bits) if memo is not None else None
                if d is None:
                    d = _described(self._features[key >> 32], np.uint32(bits).view(np.float32))
                    if memo is not None:
                        memo[bits] = d
                sid = known[key] = len(described)
                described.append(d)
            out[i] = sid
        return out[codes]

    @property
    def telling(self) -> np.ndarray:
        """Whether each sentence says something, shape (n_sentences,)."""
        return np.array([ok for _, ok in self.described] or [False], dtype=bool)


def _reasons(X: pd.DataFrame, contrib: np.ndarray, k: int, rows: np.ndarray | None = None, *,
             features: np.ndarray | None = None, codes: np.ndarray | None = None) -> pa.Array:
    """The sentences of the *k* largest positive contributions of each row, "; "-joined.

    Parameters
    ----------
    X : DataFrame, shape (N, f)
        Feature values.
    contrib : ndarray, shape (d, w)
        Contributions: one row per link, or per distinct contribution row when *codes* is
        given; one column per feature of *features*.
    k : int
    rows : ndarray of int, shape (n,), optional
        The row of *X* of each link (``arange(n)`` when ``None``).
    features : ndarray of int, shape (w,), optional
        The columns of *X* that *contrib*'s columns are (all of them, in order, when
        ``None``); every other feature contributes zero. Ascending.
    codes : ndarray of int, shape (n,), optional
        The row of *contrib* of each link (``arange(d)`` when ``None``).

    Returns
    -------
    pyarrow.LargeStringArray, shape (n,)
        ``""`` for a row without a telling positive contribution. Among equal
        contributions the feature that comes first in *X* comes first.

    Links with the same contributions share their ranking (done once per row of
    *contrib*), and text is built once per distinct (feature, value) pair and once per
    distinct list of sentences, never per row: a large export repeats the same values (a
    site's 500 links share their domain features).
    """
    d = contrib.shape[0]
    n = d if codes is None else len(codes)
    # A feature that raised no row's risk cannot be a reason: the model uses ~40 of the
    # ~110 features, so ranking only these is ~3x less work.
    cols = np.flatnonzero(contrib.max(axis=0, initial=0.0) > 0) if d else np.zeros(0, dtype=np.intp)
    if n == 0 or not len(cols) or k < 1:
        return pa.array([""] * n, type=pa.large_string())
    feature_of = cols if features is None else np.asarray(features)[cols]  # X column of each candidate
    codes = np.arange(n) if codes is None else np.asarray(codes)
    # Candidates: the 2k strongest, room for the absence-of-signal sentences that are skipped;
    # repeated argmax ranks them strongest first, the first feature first among equals.
    m = min(len(cols), 2 * k)
    C = np.ascontiguousarray(contrib[:, cols])  # a copy, row-major: picks are struck out below
    top = np.zeros((m, d), dtype=np.intp)
    top_c = np.full((m, d), -np.inf, dtype=contrib.dtype)
    M = X.to_numpy(dtype=np.float32)  # features are float32: a view, no copy
    src = None if rows is None else np.asarray(rows)  # None: link i is row i of X, no gather
    sentences = _Sentences(X.columns)
    sid = np.full((m, n), -1, dtype=np.int64)  # sentence id per positive candidate of each link

    def rank(js: range, at: np.ndarray) -> None:
        """Candidates *js* of the contribution rows *at*, strongest first."""
        sub = C if len(at) == d else C[at]  # the rows' copy keeps the earlier picks struck out
        here = np.arange(len(at))
        for j in js:
            best = sub.argmax(axis=1)
            top[j, at] = best
            top_c[j, at] = sub[here, best]
            sub[here, best] = -np.inf

    def describe(js: range, links: np.ndarray | None) -> None:
        """Sentence ids of the positive candidates *js* of *links* (``None``: every link)."""
        # Positivity and features per contribution row first (d rows), then per link.
        positive = top_c[js.start:js.stop] > 0  # only these can be reasons
        feats = feature_of[top[js.start:js.stop]]
        if links is None:
            jj, li = np.nonzero(positive[:, codes])
        else:
            jj, ii = np.nonzero(positive[:, codes[links]])
            li = links[ii]
        fi = feats[jj, codes[li]]
        sid[js.start + jj, li] = sentences.ids(fi, M[li if src is None else src[li], fi])

    # The first k candidates of every row; the rest only for links that may still lack a
    # reason, those with an absence-of-signal sentence among k positive ones (~1/3 of them).
    first = min(k, m)
    rank(range(first), np.arange(d))
    describe(range(first), None)
    if m > first:
        kept = ((sid[:first] >= 0) & sentences.telling[np.maximum(sid[:first], 0)]).sum(axis=0)
        more = np.flatnonzero((kept < k) & (top_c[first - 1, codes] > 0))
        if len(more):
            # sorted distinct rows of those links: a bincount over the d rows, no sort
            rank(range(first, m), np.flatnonzero(np.bincount(codes[more], minlength=d)))
            describe(range(first, m), more)
    telling = sentences.telling
    # only contributions that raised the risk and say something, the k strongest of them
    keep = (sid >= 0) & telling[np.maximum(sid, 0)]
    slot = np.cumsum(keep, axis=0) - 1  # where each kept sentence goes in its row's list
    keep &= slot < k
    pick = np.full((k, n), -1, dtype=np.int64)
    jj, ii = np.nonzero(keep)
    pick[slot[jj, ii], ii] = sid[jj, ii]
    return _joined(pick, [t for t, _ in sentences.described])


def _joined(pick: np.ndarray, texts: list[str]) -> pa.Array:
    """``"; "``-join of the texts ``texts[pick[:, i]]`` (-1: none) of each column *i*, in
    one Arrow list join (the present ids of each column come first).

    Parameters
    ----------
    pick : ndarray of int, shape (k, n)
    texts : list of str

    Returns
    -------
    pyarrow.LargeStringArray, shape (n,)
    """
    by_row = pick.T
    present = by_row >= 0
    offsets = np.zeros(by_row.shape[0] + 1, dtype=np.int64)
    np.cumsum(present.sum(axis=1), out=offsets[1:])
    parts = pa.array(texts, type=pa.large_string()).take(pa.array(by_row[present]))
    return pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets), parts), pa.scalar("; ", pa.large_string()))

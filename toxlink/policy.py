"""Disavow policy: every threshold in one place, the whitelist, the per-domain roll-up.

:func:`recommend_domains` turns a scored links table (one row per link, with a risk and
a band) into one row per referring site with an action:

- ``disavow-domain`` - disavow the whole site (``domain:host``);
- ``disavow-url`` - the site mixes clean and toxic links: disavow only its toxic URLs;
- ``review`` - something is suspicious but not enough to act on automatically;
- ``keep``.

A "referring site" is the registrable domain (the ``domain`` column, which already
treats ``name.blogspot.com`` as its own domain), except on the free hosting platforms
of ``data/free_hosts.txt``: there the site is the platform's subdomain
(``foo.wordpress.com``, ``bar.netlify.app``) and the platform itself (``wordpress.com``,
``sites.google.com``, whose users publish as paths) is never disavowed as a whole, only
URL by URL - ``domain:wordpress.com`` would disavow every blog on it.

:class:`RollupAccumulator` computes the same roll-up chunk by chunk (``update`` per
chunk, ``merge`` across partitions, ``finish``), keeping per-site aggregates and the toxic
URLs only, so a large export is rolled up in memory bounded by its sites, not its links;
:func:`recommend_domains` is one ``update`` of the whole table.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass, field, replace
from typing import Iterator, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toxlink import schema as S
from toxlink.hashing import MUL64 as _MUL64
from toxlink.hashing import hash_strings
from toxlink.hashing import mix64 as _mix64
from toxlink.disavow import normalise_urls
from toxlink.memory import empty_off_heap, off_heap, off_heap_arrow
from toxlink.memory import insert as insert_off_heap
from toxlink.resources import word_list
from toxlink.sites import gov_edu_hosts, is_covered, own_sites, site_of  # noqa: F401 (own_sites: re-exported)
from toxlink.urls import domains_of, hosts_of
from toxlink.whitelist import Whitelist

# The roll-up's columns and actions are named in toxlink.schema; re-exported here.
from toxlink.schema import (ACTION, ACTIONS, DISAVOW_DOMAIN, DISAVOW_ENTRIES, DISAVOW_URL, FREE_HOST,  # noqa: E402,F401
                            KEEP, MAX_RISK, MEAN_RISK, N_LINKS, N_REVIEW, N_TOXIC, PROTECTED, REVIEW,
                            ROLLUP_COLUMNS, TOP_REASONS, TOXIC_SHARE, WHITELISTED)
from toxlink.schema import DOMAIN as ROLLUP_DOMAIN  # noqa: E402,F401 - the referring site

#: Thresholds used when neither the policy nor the model metadata gives one.
FALLBACK_TOXIC = 0.7
FALLBACK_REVIEW = 0.4


# --- policy ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Policy:
    """Every threshold that turns risks into disavow actions.

    Parameters
    ----------
    toxic_threshold : float or None, default None
        Risk at or above which a link is toxic. ``None``: the model's own threshold
        (model metadata; :class:`toxlink.predictor.Predictor` fills it in), else
        :data:`FALLBACK_TOXIC` (0.7).
    review_threshold : float or None, default None
        Risk at or above which a link needs review. ``None``: from the model metadata,
        else :data:`FALLBACK_REVIEW` (0.4).
    min_links_for_domain : int, default 1
        A site is disavowed as a whole (``domain:``) only when it has at least this many
        scored links; below that only its toxic URLs are.
    min_risk : float, default 0.5
        Never disavow a link below this risk, whatever the thresholds: a calibrated
        probability under 0.5 says the link is more likely fine than not. Toxic-band
        links under it count as review.
    domain_share : float, default 0.5
        A site whose share of toxic links is *above* this is disavowed as a whole;
        at or below it, only its toxic URLs are (1.0 = never disavow whole domains).
    protect_gov_edu : bool, default False
        Never disavow government, military and academic sites (``.gov``, ``.edu``,
        ``.mil``, ``gov.uk``, ``ac.uk``, ``edu.au``, ``gouv.fr``, ``gob.mx``, ``go.jp``...);
        suspicious ones get ``review`` instead.
    whitelist : Whitelist
        Domains and URLs never to disavow.
    free_hosts : frozenset of str or None, default None
        Free hosting platforms (``None``: ``data/free_hosts.txt``).
    """

    toxic_threshold: float | None = None
    review_threshold: float | None = None
    min_links_for_domain: int = 1
    min_risk: float = 0.5
    domain_share: float = 0.5
    protect_gov_edu: bool = False
    whitelist: Whitelist = field(default_factory=Whitelist)
    free_hosts: frozenset[str] | None = None

    def __post_init__(self):
        for name in ("toxic_threshold", "review_threshold", "min_risk", "domain_share"):
            v = getattr(self, name)
            if v is not None and not 0.0 <= float(v) <= 1.0:
                raise ValueError(f"Policy.{name} must be between 0 and 1, got {v!r}")
        if self.toxic_threshold is not None and self.review_threshold is not None and self.review_threshold > self.toxic_threshold:
            raise ValueError(
                f"Policy.review_threshold ({self.review_threshold}) must not be above toxic_threshold ({self.toxic_threshold})"
            )
        if int(self.min_links_for_domain) < 1:
            raise ValueError(f"Policy.min_links_for_domain must be at least 1, got {self.min_links_for_domain!r}")

    def thresholds(self, model_thresholds: Mapping[str, float] | None = None) -> tuple[float, float]:
        """``(toxic, review)``: the policy's, else the model's, else the fallbacks."""
        model_thresholds = model_thresholds or {}
        toxic = self.toxic_threshold if self.toxic_threshold is not None else model_thresholds.get("toxic", FALLBACK_TOXIC)
        review = self.review_threshold if self.review_threshold is not None else model_thresholds.get("review", FALLBACK_REVIEW)
        return float(toxic), float(min(review, toxic))

    def platforms(self) -> frozenset[str]:
        return self.free_hosts if self.free_hosts is not None else word_list("free_hosts.txt")

    def with_own_sites(self, domains) -> "Policy":
        """This policy with *domains* (the audited site's own registrable domains, see
        :func:`own_sites`) added to the whitelist: links from your own site (internal links,
        your other subdomains) are never recommended for disavow."""
        own = Whitelist.from_entries(sorted(d for d in domains if d)).domains - self.whitelist.domains
        if not own:
            return self
        return replace(self, whitelist=replace(self.whitelist, domains=self.whitelist.domains | own))


# --- roll-up ----------------------------------------------------------------------------------
def recommend_domains(scored: pd.DataFrame, policy: Policy | None = None, *,
                      model_thresholds: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Roll scored links up to referring sites and decide an action for each.

    The whole table in one :class:`RollupAccumulator` update; use the accumulator
    directly to roll up an export chunk by chunk in memory bounded by its sites.

    Parameters
    ----------
    scored : DataFrame, shape (n, >=8)
        Columns ``source_url, host, domain, risk, band, reasons, duplicate_of,
        row_issue`` (:mod:`toxlink.schema` names; ``host``/``domain`` are derived from
        the URL when absent). Duplicates (``duplicate_of`` set), rejected rows (band
        ``rejected``, a ``row_issue`` or no risk) are not counted.
    policy : Policy, optional
        When it sets ``toxic_threshold`` or ``review_threshold``, links are re-banded
        from ``risk`` with :meth:`Policy.thresholds`; otherwise the ``band`` column is used.
    model_thresholds : mapping, optional
        ``{"toxic": t, "review": r}`` from the model metadata, used for a threshold the
        policy leaves as ``None`` when re-banding.

    Returns
    -------
    DataFrame, shape (n_sites, 13)
        Columns :data:`ROLLUP_COLUMNS`, one row per referring site with at least one
        counted link, sorted by action severity, then ``max_risk`` descending, then site.

    Notes
    -----
    Per site, in this order: whitelisted -> ``keep``; protected gov/edu -> ``review``
    if it has toxic or review links else ``keep``; toxic links (band toxic, risk >=
    ``min_risk``, URL not whitelisted) -> ``disavow-domain`` when the site has at least
    ``min_links_for_domain`` links, a toxic share above ``domain_share``, is not a
    platform itself and has no whitelisted host or URL below it, else ``disavow-url``;
    review links (or toxic links all whitelisted) -> ``review``; else ``keep``.
    """
    return RollupAccumulator(policy, model_thresholds=model_thresholds).update(scored).finish()


# Partial (site, sentence) counts and (site, toxic URL) pairs are re-reduced every this many updates.
_REDUCE_EVERY = 8
# Risks are summed as integer multiples of 2**-84, split into 4 limbs of 21 bits: each limb
# sum is an exact integer in float64 up to 2**32 links per site, so the mean risk does not
# depend on how the links were chunked (a float sum would, in its last bits).
_LIMB_BITS = 21
_N_LIMBS = 4
# RollupAccumulator._counts rows: links, toxic, review, toxic and not whitelisted;
# ._flags rows: a platform host itself was seen, a whitelisted URL was seen.
_F_ROOT, _F_WL_ROW = range(2)
_SITE_SHIFT = np.int64(32)  # (site, sentence) pair key: site << 32 | sentence
_SENTENCE_MASK = np.int64((1 << 32) - 1)
_LOCAL_KEY_LIMIT = 2**31  # chunk-local (site, sentence) keys fit in int32 below this
_SCORE_LIMIT = int(np.iinfo(np.int64).max)  # bound of the top-reasons scores (count * sentences)


def _distinct_pairs(table: pa.Table) -> pa.Table:
    """The distinct non-null rows of *table*, in order of first appearance (Arrow's hash
    grouping: far smaller temporaries than pandas' drop_duplicates on text)."""
    table = table.drop_null()
    return table.group_by(table.column_names, use_threads=False).aggregate([]).select(table.column_names)


def _url_table(site: np.ndarray, urls: pa.Array) -> pa.Table:
    """The distinct (site, URL) pairs of one chunk's toxic links, as stored in
    ``RollupAccumulator._urls``: ``site`` (int64), ``url`` (large string, null rows dropped)
    and ``h``, the URL's 64-bit hash (uint64), kept so that re-reducing never re-hashes text."""
    urls = urls.cast(pa.large_string())
    if urls.null_count:
        ok = np.asarray(urls.is_valid())
        site, urls = site[ok], urls.filter(pa.array(ok))
    h = pd.util.hash_array(urls.to_numpy(zero_copy_only=False), categorize=False)
    return _distinct_urls(pa.table({"site": np.asarray(site, dtype=np.int64), "url": urls, "h": h}))


def _distinct_urls(table: pa.Table) -> pa.Table:
    """The distinct (site, url) rows of a ``_url_table`` table, in order of first appearance.

    Grouped on a 64-bit key of the site and the URL hash (numpy sorts int64 keys far
    faster than Arrow groups text); exact: every row is compared with the first row of its
    key, and a table with a hash collision is grouped on the text instead.
    """
    n = table.num_rows
    if n < 2:
        return table
    site = table["site"].to_numpy()
    key = _mix64(table["h"].to_numpy() ^ (site.astype(np.uint64) * _MUL64))
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    if len(first) == n:
        return table
    rep = first[inverse.reshape(-1)]
    dup = np.flatnonzero(rep != np.arange(n))
    url = table["url"]
    same = site[rep[dup]] == site[dup]
    same &= np.asarray(pc.fill_null(pc.equal(url.take(pa.array(rep[dup])), url.take(pa.array(dup))), False))
    if not same.all():  # a 64-bit collision: fall back to grouping on the text itself
        return _distinct_pairs(table)
    return table.take(pa.array(np.sort(first)))


def _sum_by_key(keys: np.ndarray, counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """*counts* (default 1 each) summed per distinct integer key.

    By sorting: concatenated partials that are each sorted already are merged by the
    stable (run-detecting) sort in about linear time.

    Returns
    -------
    keys : ndarray, shape (n_distinct,)
        The distinct keys, ascending (int64, or the integer type of *keys*).
    totals : ndarray of int64, shape (n_distinct,)
    """
    if not len(keys):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if counts is None:
        keys = np.sort(keys)
    else:
        order = np.argsort(keys, kind="stable")
        keys, counts = keys[order], np.asarray(counts, dtype=np.int64)[order]
    first = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    if counts is None:
        total = np.diff(np.append(first, len(keys)))
    else:
        total = np.add.reduceat(counts, first)
    return keys[first], total.astype(np.int64, copy=False)


#: Runs re-reduced during a run stay under this size: a reduction's temporaries are a few
#: times the runs it combines, so they stay bounded however large the export (the runs,
#: which may repeat a few keys, are combined once, at the end).
_RUN_BYTES = 8 << 20


def _reduce_runs(parts: list, n_runs: int, combine) -> tuple[list, int]:
    """Reduce *parts*, ``n_runs`` reduced runs followed by new partials, with *combine*
    (parts -> one reduced part): the partials into one run, then the two newest runs into
    one while the newer is at least half the older and the result stays under
    :data:`_RUN_BYTES`, like a binary counter.

    Returns the parts and how many of them are runs (all of them).
    """
    runs, new = parts[:n_runs], parts[n_runs:]
    if len(new) > 1:
        new = [combine(new)]
    runs = runs + new
    while len(runs) > 1 and _nbytes(runs[-2]) <= 2 * _nbytes(runs[-1]) and \
            _nbytes(runs[-2]) + _nbytes(runs[-1]) <= _RUN_BYTES:
        runs[-2:] = [combine(runs[-2:])]
    return runs, len(runs)


def _nbytes(part) -> int:
    return part.nbytes if isinstance(part, pa.Table) else sum(a.nbytes for a in part)


def _sum_runs(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """(keys, counts) parts summed into one, off the heap (it lives for the rest of the run)."""
    keys, counts = _sum_by_key(np.concatenate([k for k, _ in parts]), np.concatenate([c for _, c in parts]))
    return off_heap(keys), off_heap(counts)


def _distinct_url_runs(parts: list[pa.Table]) -> pa.Table:
    """``_url_table`` parts as one table of their distinct rows, off the heap."""
    return off_heap_arrow(_distinct_urls(pa.concat_tables(parts)))


#: finish() reads the (site, sentence) counts this many sites at a time: its temporaries
#: stay bounded however many sites the export has.
_SITE_BLOCK = 1 << 12


class _Spilled:
    """A completed run moved to a :class:`toxlink.memory.SpillFile`."""

    __slots__ = ()


class _SpilledPairs(_Spilled):
    """A run of (site, sentence) keys (ascending) and counts, on disk; read back a block
    of ``block`` sites at a time (``bounds``: where each block starts)."""

    __slots__ = ("spill", "keys_at", "counts_at", "n", "block", "bounds")

    def __init__(self, spill, keys: np.ndarray, counts: np.ndarray):
        self.spill, self.n, self.block = spill, len(keys), _SITE_BLOCK
        last = int(keys[-1] >> _SITE_SHIFT) if len(keys) else 0
        edges = np.arange(last // self.block + 2, dtype=np.int64) * self.block
        self.bounds = np.searchsorted(keys, edges << _SITE_SHIFT)
        self.keys_at, self.counts_at = spill.put(keys), spill.put(counts)

    def __len__(self) -> int:
        return self.n

    def read(self, start: int = 0, stop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        return (self.spill.get(self.keys_at, np.int64, start, stop),
                self.spill.get(self.counts_at, np.int64, start, stop))


class _SpilledUrls(_Spilled):
    """A ``_url_table`` run, on disk."""

    __slots__ = ("spill", "at", "num_rows")

    def __init__(self, spill, table: pa.Table):
        self.spill, self.num_rows, self.at = spill, table.num_rows, spill.put_arrow(table)

    def read(self) -> pa.Table:
        return self.spill.get_arrow(self.at)


def _n_pairs(part) -> int:
    return len(part) if isinstance(part, _SpilledPairs) else len(part[0])


def _pairs(part) -> tuple[np.ndarray, np.ndarray]:
    return part.read() if isinstance(part, _SpilledPairs) else part


def _urls_of(part) -> pa.Table:
    return part.read() if isinstance(part, _SpilledUrls) else part


def _pairs_of_sites(part, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of sites ``lo <= site < hi`` of a (keys, counts) run or a spilled one."""
    if isinstance(part, _SpilledPairs):  # the blocks that cover the range, then cut exactly
        b, block = part.bounds, part.block
        part = part.read(b[min(lo // block, len(b) - 1)], b[min(-(-hi // block), len(b) - 1)])
    keys, counts = part
    start, stop = np.searchsorted(keys, np.array([lo, hi], dtype=np.int64) << _SITE_SHIFT)
    return keys[start:stop], counts[start:stop]


class _StringIndex:
    """Positions of distinct strings in an append-only list, for lookups chunk after chunk.

    Looked up through 64-bit hashes kept sorted, so a lookup costs the chunk's strings, not
    a rebuild of a hash table of everything seen so far (which made the roll-up quadratic
    in the export's hosts). Exact: a hash match is confirmed by comparing the text.
    """

    def __init__(self):
        # position -> string, as the arrays added (not concatenated on every add: the index
        # lives for a whole run, and regrowing one array per chunk churns the allocator)
        self._chunks: list[pa.Array] = []
        self._n = 0
        self._keys = np.zeros(0, dtype=np.uint64)  # sorted hashes
        self._pos = np.zeros(0, dtype=np.int64)  # position of each sorted hash's string

    def __len__(self) -> int:
        return self._n

    @property
    def names(self) -> pa.Array:
        """Every string added, by position (large_string, shape (len(self),))."""
        if len(self._chunks) != 1:
            self._chunks = [pa.concat_arrays(self._chunks) if self._chunks else pa.array([], type=pa.large_string())]
        return self._chunks[0]

    @staticmethod
    def _hash(names: pa.Array) -> np.ndarray:
        return hash_strings(names)  # on the UTF-8 bytes: no Python strings

    def find(self, names: pa.Array) -> np.ndarray:
        """Position of each of *names* (shape (n,), int64), ``-1`` where not present."""
        out = np.full(len(names), -1, dtype=np.int64)
        if not len(self._keys) or not len(names):
            return out
        h = self._hash(names)
        at = np.minimum(np.searchsorted(self._keys, h), len(self._keys) - 1)
        hit = np.flatnonzero(self._keys[at] == h)
        if len(hit):
            pos = self._pos[at[hit]]
            known = pa.chunked_array(self._chunks, type=pa.large_string()).take(pa.array(pos)).combine_chunks()
            same = np.asarray(pc.fill_null(pc.equal(known, names.take(pa.array(hit))), False))
            out[hit[same]] = pos[same]
            for j in hit[~same].tolist():  # a 64-bit hash collision: check every equal hash
                k = int(np.searchsorted(self._keys, h[j]))
                while k < len(self._keys) and self._keys[k] == h[j]:
                    if self.names[int(self._pos[k])].as_py() == names[j].as_py():  # (rare: concatenates)
                        out[j] = self._pos[k]
                        break
                    k += 1
        return out

    def add(self, names: pa.Array) -> np.ndarray:
        """Append *names* (distinct, none present yet); returns their positions."""
        start = self._n
        pos = start + np.arange(len(names), dtype=np.int64)
        if not len(names):
            return pos
        self._chunks.append(off_heap_arrow(names.cast(pa.large_string())))
        self._n += len(names)
        h = self._hash(names)
        order = np.argsort(h, kind="stable")
        at = np.searchsorted(self._keys, h[order])
        self._keys = insert_off_heap(self._keys, at, h[order])
        self._pos = insert_off_heap(self._pos, at, pos[order])
        return pos


class RollupAccumulator:
    """:func:`recommend_domains` one chunk at a time, in memory bounded by the sites.

    ``acc = RollupAccumulator(policy); acc.update(chunk)`` for every chunk of a scored
    links table (any sizes, in input order), then ``acc.finish()`` returns exactly what
    :func:`recommend_domains` returns on the concatenated chunks.

    Only aggregates are kept: per site the link counts, the exact risk sum (as integer
    limbs, see ``_LIMB_BITS``) and maximum and two flags (a platform host seen, a
    whitelisted URL seen); the site names, by id;
    per-(site, reason sentence) counts among toxic and review links; and the distinct
    URLs of toxic, non-whitelisted links (the ``disavow-url`` entries: which sites end up
    ``disavow-url`` is only known at the end, so they are normalised then, for those sites
    only). Per-chunk partials of the last
    two are re-reduced every few updates, so memory grows with the number of sites,
    sentences per site and toxic URLs, not with the number of links; with *spill_dir*
    they go to a temporary file as they come instead, and memory grows with the sites
    only (a host's site is found again in each chunk, from the chunk's distinct hosts). :meth:`finish` sums the counts a block of sites at a time. The (site, sentence)
    counts are kept as int64 keys ``site << 32 | sentence``, ascending, with their counts
    (re-reducing is a merge of sorted runs); the toxic URLs as Arrow tables with each URL's
    64-bit hash beside it (re-reducing groups int64 keys, confirmed on the text).

    Parameters
    ----------
    policy : Policy, optional
    model_thresholds : mapping, optional
        As for :func:`recommend_domains`.
    spill_dir : path, optional
        A folder for an unnamed temporary file: each update's (site, sentence) counts and
        toxic URLs go there as they are made and wait for :meth:`finish` instead of in
        memory (tens of MB for a large export). Default: kept in memory. A spilling
        accumulator cannot be pickled (its file stays with its process).

    Notes
    -----
    :meth:`merge` combines accumulators built on different partitions (e.g. Dask
    workers); merging them in input order equals one accumulator updated with all the
    chunks in that order. Both assume, as toxlink's scored tables guarantee (``domain``
    is computed from ``host``), that a host has one ``domain`` throughout: a host's site
    comes from its first row in each chunk.
    """

    def __init__(self, policy: Policy | None = None, *, model_thresholds: Mapping[str, float] | None = None,
                 spill_dir: str | os.PathLike | None = None):
        self.policy = policy or Policy()
        self._spill_dir = spill_dir
        self._spill = None  # the SpillFile, made at the first run to spill
        self.model_thresholds = dict(model_thresholds) if model_thresholds else None
        self._platforms = self.policy.platforms()
        self._site_index = _StringIndex()  # site id -> name
        self._sentence_id: dict[str, int] = {}
        self._sentences: list[str] = []
        self._counts = np.zeros((4, 0), dtype=np.int64)
        self._limbs = np.zeros((_N_LIMBS + 1, 0), dtype=np.float64)  # last row: non-finite risks
        self._max = np.zeros(0, dtype=np.float64)
        self._flags = np.zeros((2, 0), dtype=bool)
        # (keys, counts) partials: distinct int64 (site, sentence) keys, ascending, and their counts
        self._reasons: list[tuple[np.ndarray, np.ndarray]] = []
        # distinct "site" (int64), "url" (string, as in the export), "h" (the URL's hash, uint64)
        self._urls: list[pa.Table] = []
        self._runs = [0, 0]  # how many leading entries of _reasons / _urls are reduced runs
        self._updates = 0

    # -- sites ------------------------------------------------------------------------------
    @property
    def _site_names(self) -> pa.Array:
        return self._site_index.names

    @property
    def n_sites(self) -> int:
        """Referring sites seen so far (with at least one counted link)."""
        return len(self._site_index)

    def _sites(self, names: pa.Array) -> np.ndarray:
        """The ids of the distinct site *names*, shape (n,), registering the new ones in order
        (and growing the per-site arrays)."""
        ids = self._site_index.find(names)
        new = np.flatnonzero(ids < 0)
        if len(new):
            ids[new] = self._site_index.add(names.take(pa.array(new)))
            while len(self._site_index) > self._max.shape[0]:
                self._grow(max(1024, 2 * self._max.shape[0]))
        return ids

    def _grow(self, cap: int) -> None:
        old = self._max.shape[0]

        def grown(a, fill):
            out = empty_off_heap(a.shape[:-1] + (cap,), a.dtype)
            out[..., :old] = a
            out[..., old:] = fill
            return out

        self._counts = grown(self._counts, 0)
        self._limbs = grown(self._limbs, 0.0)
        self._max = grown(self._max, -np.inf)
        self._flags = grown(self._flags, False)

    def _sentence(self, text: str) -> int:
        sid = self._sentence_id.get(text)
        if sid is None:
            sid = self._sentence_id[text] = len(self._sentences)
            self._sentences.append(text)
        return sid

    def _host_sites(self, host: pd.Series, domain: pd.Series, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, pa.Array, np.ndarray]:
        """Site id per row of the counted *host* rows, at positions *rows* of the *domain* column.

        A host's site depends on the host alone (its domain, or on a free-host platform the
        platform's subdomain), so it is found again for each chunk's distinct hosts rather
        than remembered for every host of the export.

        Returns
        -------
        sites : ndarray of int64, shape (n,)
        codes : ndarray of int, shape (n,)
            Each row's host as a position in *hosts*.
        hosts : pyarrow string array, shape (n_hosts,)
            The distinct hosts, in order of first appearance.
        host_sites : ndarray of int64, shape (n_hosts,)
            The site id of each of *hosts*.
        """
        h_codes, h_uniq = pd.factorize(host, use_na_sentinel=True)
        h_arrow = _arrow_strings(h_uniq)
        # Each host's first row gives its domain. Codes are numbered in order of first
        # appearance, so a row is a host's first exactly when its code exceeds every code
        # before it.
        seen = np.maximum.accumulate(h_codes)
        first = np.flatnonzero(np.concatenate(([True], h_codes[1:] > seen[:-1])))
        hosts = h_arrow.cast(pa.large_string())
        # off the free-host platforms a host's site is its domain (the host without one)
        sites, roots = site_of(hosts, _domain_strings(domain.take(rows[first])), self._platforms)
        # New sites are numbered in order of first appearance, as in one pass over the whole table.
        enc = pc.dictionary_encode(sites)
        ids = self._sites(enc.dictionary)[enc.indices.to_numpy()]
        self._flags[_F_ROOT, ids[roots]] = True
        return ids[h_codes], h_codes, h_arrow, ids

    # -- accumulation -------------------------------------------------------------------------
    def update(self, scored: pd.DataFrame) -> "RollupAccumulator":
        """Add one chunk of a scored links table (see :func:`recommend_domains`); returns ``self``.

        Parameters
        ----------
        scored : DataFrame, shape (n, >=8)
            The next rows of the table, in input order.
        """
        frame = scored
        host = frame[S.HOST] if S.HOST in frame.columns else hosts_of(frame[S.SOURCE_URL])
        domain = frame[S.DOMAIN] if S.DOMAIN in frame.columns else domains_of(host)
        risk_all = pd.to_numeric(frame[S.RISK], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        band = frame[S.BAND]
        if not isinstance(band.dtype, pd.StringDtype):
            band = band.astype("string")
        valid = (
            frame[S.DUPLICATE_OF].isna().to_numpy()
            & frame[S.ROW_ISSUE].isna().to_numpy()
            & band.notna().to_numpy()  # a missing band counts as rejected
            & band.ne("rejected").to_numpy(dtype=bool, na_value=False)
            & ~np.isnan(risk_all)
            & host.notna().to_numpy()
        )
        idx = np.flatnonzero(valid)
        self._updates += 1
        if len(idx):
            self._add(frame, idx, host.iloc[idx], domain, risk_all[idx], band)
        if self._updates % _REDUCE_EVERY == 0:
            self._reduce()
        return self

    def _add(self, frame, idx, host, domain, risk, band) -> None:
        policy = self.policy
        if policy.toxic_threshold is not None or policy.review_threshold is not None:
            t_toxic, t_review = policy.thresholds(self.model_thresholds)
            is_toxic = risk >= t_toxic
            is_review = (risk >= t_review) & ~is_toxic
        else:
            is_toxic = band.eq("toxic").to_numpy(dtype=bool, na_value=False)[idx]
            is_review = band.eq("review").to_numpy(dtype=bool, na_value=False)[idx]
        # Toxic-band links under the floor are only worth a look.
        below = is_toxic & (risk < policy.min_risk)
        is_toxic = is_toxic & ~below
        is_review = is_review | below

        row_site, h_codes, h_arrow, host_sites = self._host_sites(host, domain, idx)
        # The chunk's sites, numbered 0..k-1 in the order of their ids (so that chunk-local
        # keys sort as the global ones), found per distinct host: hosts are fewer than rows.
        sites, g_host = np.unique(host_sites, return_inverse=True)
        g = g_host.reshape(-1)[h_codes]
        k = len(sites)

        wl = policy.whitelist
        row_wl = np.zeros(len(idx), dtype=bool)
        if len(wl):
            row_wl = wl.covers_links(frame[S.SOURCE_URL].iloc[idx], host)
        toxic_ok = is_toxic & ~row_wl

        def count(mask=None):
            return np.bincount(g if mask is None else g[mask], minlength=k)

        self._counts[:, sites] += np.stack([count(), count(is_toxic), count(is_review), count(toxic_ok)])
        for i, limb in enumerate(_risk_limbs(risk)):  # one limb at a time: small temporaries
            self._limbs[i, sites] += np.bincount(g, weights=limb, minlength=k)
        mx = np.full(k, -np.inf)
        np.maximum.at(mx, g, risk)
        self._max[sites] = np.maximum(self._max[sites], mx)
        if row_wl.any():
            self._flags[_F_WL_ROW, sites] |= np.bincount(g[row_wl], minlength=k) > 0

        if toxic_ok.any():
            # Kept as in the export and normalised in finish(), for the disavow-url sites only
            # (most toxic links are on sites disavowed whole, which need no URL entries).
            self._urls.append(self._keep_urls(_url_table(row_site[toxic_ok],
                                                            _take_strings(frame[S.SOURCE_URL], idx[toxic_ok]))))

        if S.REASONS in frame.columns:
            reasons = frame[S.REASONS]
            sel = np.flatnonzero(is_toxic | is_review)
            sel = sel[reasons.notna().to_numpy()[idx[sel]]]
            if len(sel):
                keys, counts = self._sentence_counts(_take_strings(reasons, idx[sel]), g[sel], sites)
                if len(keys):
                    self._reasons.append(self._keep_pairs((keys, counts)))

    def _sentence_counts(self, cells: pa.Array, g: np.ndarray, sites: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Occurrences of each (site, reason sentence) pair among the reason *cells* (shape (n,))
        of rows on the sites ``sites[g]`` (*g* shape (n,), *sites* ascending, shape (k,)):
        int64 keys ``site << 32 | sentence``, ascending, and counts."""
        # Cells are split in Arrow; Python only sees the chunk's distinct parts (a few hundred
        # sentences however many links), to strip them and look up their ids.
        parts = pc.split_pattern(cells, "; ")
        row = np.asarray(pc.list_parent_indices(parts))
        enc = pc.dictionary_encode(pc.list_flatten(parts))
        ids = np.array([self._sentence(p) if p else -1 for p in (s.strip() for s in enc.dictionary.to_pylist())],
                       dtype=np.int64)
        flat = ids[np.asarray(enc.indices)] if len(ids) else np.zeros(0, dtype=np.int64)
        said = flat >= 0  # "a; ; b" has an empty part
        if not said.all():
            row, flat = row[said], flat[said]
        if not len(flat):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        n_sentences = len(self._sentences)
        if len(sites) * n_sentences < _LOCAL_KEY_LIMIT:  # chunk-local int32 keys: a faster sort, same order
            local, counts = _sum_by_key((g[row] * n_sentences + flat).astype(np.int32))
            return (sites[local // n_sentences] << _SITE_SHIFT) | (local % n_sentences), counts
        return _sum_by_key((sites[g[row]] << _SITE_SHIFT) | flat)

    def merge(self, other: "RollupAccumulator") -> "RollupAccumulator":
        """Add the aggregates of *other*, built on the rows that follow this one's; returns ``self``.

        Raises
        ------
        ValueError
            If the two accumulators were built with different policies or model thresholds.
        """
        if other.policy != self.policy or other.model_thresholds != self.model_thresholds:
            raise ValueError("cannot merge roll-up accumulators built with different policies or thresholds")
        m = other.n_sites
        site_map = self._sites(other._site_names)
        sentence_map = np.array([self._sentence(s) for s in other._sentences], dtype=np.int64)
        self._counts[:, site_map] += other._counts[:, :m]
        self._limbs[:, site_map] += other._limbs[:, :m]
        self._max[site_map] = np.maximum(self._max[site_map], other._max[:m])
        self._flags[:, site_map] |= other._flags[:, :m]
        for part in other._reasons:  # re-keyed, so sorted again
            keys, counts = _pairs(part)
            keys = (site_map[keys >> _SITE_SHIFT] << _SITE_SHIFT) | sentence_map[keys & _SENTENCE_MASK]
            self._reasons.append(_sum_by_key(keys, counts))
        for part in map(_urls_of, other._urls):
            self._urls.append(pa.table({"site": site_map[part["site"].to_numpy()], "url": part["url"], "h": part["h"]}))
        self._updates += other._updates
        self._reduce()
        return self

    def _reduce(self) -> None:
        """Reduce the partials of the last updates into runs.

        With a spill file, the partials go there as they are instead (:meth:`finish` sums
        them a block of sites at a time, so combining them first would only cost time).
        """
        if self._spill_dir is not None:
            self._reasons = [self._keep_pairs(p) for p in self._reasons]
            self._urls = [self._keep_urls(p) for p in self._urls]
            self._runs = [len(self._reasons), len(self._urls)]
            return
        self._reasons, self._runs[0] = _reduce_runs(self._reasons, self._runs[0], _sum_runs)
        self._urls, self._runs[1] = _reduce_runs(self._urls, self._runs[1], _distinct_url_runs)

    def _spill_file(self):
        if self._spill is None:
            from toxlink.memory import SpillFile

            self._spill = SpillFile(self._spill_dir)
        return self._spill

    def _keep_pairs(self, part):
        """*part*, (keys, counts), in the spill file if there is one (else off the heap)."""
        if isinstance(part, _Spilled):
            return part
        if self._spill_dir is None:
            return tuple(off_heap(a) for a in part)
        return _SpilledPairs(self._spill_file(), *part)

    def _keep_urls(self, part):
        """*part*, a ``_url_table``, in the spill file if there is one (else off the heap)."""
        if isinstance(part, _Spilled):
            return part
        if self._spill_dir is None:
            return off_heap_arrow(part)
        return _SpilledUrls(self._spill_file(), part)

    def stored_rows(self) -> int:
        """Rows held across all aggregates (sites, hosts, sentences, partial tables).

        What the accumulator's memory grows with; it does not grow with updates that bring
        no new site, host, (site, sentence) pair or toxic URL beyond the partial tables of
        the last few updates (re-reduced every ``_REDUCE_EVERY`` into runs of bounded size,
        which may repeat a few keys until :meth:`finish` combines them). With a spill file,
        the partial tables' rows are counted too, though they are on disk.
        """
        return (self.n_sites + len(self._sentences)
                + sum(map(_n_pairs, self._reasons))
                + sum(p.num_rows for p in self._urls))

    # -- result -------------------------------------------------------------------------------
    def finish(self) -> pd.DataFrame:
        """The roll-up of every row added so far (see :func:`recommend_domains`).

        Returns
        -------
        DataFrame, shape (n_sites, 13)
            Columns :data:`ROLLUP_COLUMNS`.
        """
        n_sites = self.n_sites
        if not n_sites:
            return _empty_rollup()
        policy = self.policy
        names = self._site_names
        n, n_toxic, n_review, n_toxic_ok = self._counts[:, :n_sites]
        mx = self._max[:n_sites]
        mean = _limbs_total(self._limbs[:, :n_sites]) / n
        share = n_toxic / n
        site_root = self._flags[_F_ROOT, :n_sites]
        on_platform = is_covered(names, self._platforms)

        wl = policy.whitelist
        if len(wl):
            site_wl = wl.covers_host(names)
            wl_inside = wl.has_entries_under(names)
            wl_inside = wl_inside | self._flags[_F_WL_ROW, :n_sites]
        else:
            site_wl = wl_inside = np.zeros(n_sites, dtype=bool)
        protected = (gov_edu_hosts(pd.Series(pd.arrays.ArrowStringArray(names), dtype="string"))
                     if policy.protect_gov_edu else np.zeros(n_sites, dtype=bool))

        whole = (~site_root) & (~wl_inside) & (n >= int(policy.min_links_for_domain)) & (share > policy.domain_share)
        suspicious = (n_toxic + n_review) > 0
        # the action as its position in ACTIONS, which is also its severity
        i_domain, i_url, i_review, i_keep = (ACTIONS.index(a) for a in (DISAVOW_DOMAIN, DISAVOW_URL, REVIEW, KEEP))
        action = np.select(
            [site_wl, protected & suspicious, protected, (n_toxic_ok > 0) & whole, n_toxic_ok > 0, suspicious],
            [i_keep, i_review, i_keep, i_domain, i_url, i_review],
            i_keep,
        )

        url_entries = {}  # site -> its disavow-url entries
        url_sites = action == i_url
        if url_sites.any():
            # The runs, each cut to those sites, need not be distinct from each other: the
            # pairs are made distinct once normalised, below.
            per = [run.filter(pa.array(url_sites[run["site"].to_numpy()])).select(["site", "url"])
                   for run in map(_urls_of, self._urls)]
            per = pa.concat_tables(per) if per else pa.table({"site": np.zeros(0, np.int64),
                                                              "url": pa.array([], pa.large_string())})
            urls = normalise_urls(pd.Series(pd.arrays.ArrowStringArray(per["url"].combine_chunks()), dtype="string"))
            # Distinct (site, URL) pairs by site, then URL, in Arrow (UTF-8 byte order is the
            # code-point order of Python's str): no Python string but the entries' own.
            per = pa.table({"site": per["site"], "url": _arrow_strings(urls)}).drop_null()
            per = per.sort_by([("site", "ascending"), ("url", "ascending")])
            site, url = per["site"].to_numpy(), per["url"].combine_chunks()
            if len(site) > 1:  # sorted: a repeated pair follows its first
                again = (site[1:] == site[:-1]) & np.asarray(
                    pc.fill_null(pc.equal(url.slice(1), url.slice(0, len(url) - 1)), False))
                keep = np.concatenate(([True], ~again))
                site, url = site[keep], url.filter(pa.array(keep))
            urls = url.to_pylist()
            starts = np.flatnonzero(np.concatenate(([True], site[1:] != site[:-1]))) if len(site) else site
            for gi, a, b in zip(site[starts].tolist(), starts.tolist(), np.append(starts[1:], len(site)).tolist()):
                url_entries[gi] = urls[a:b]
            # A site whose toxic URLs cannot be written as entries is left for review.
            listed = np.zeros(n_sites, dtype=bool)
            listed[site[starts]] = True
            action[url_sites & ~listed] = i_review

        # Severity, then max_risk descending, then site; the columns are built in that order
        # (no reordering copy of the frame). Arrow's byte order of the UTF-8 names is the
        # code-point order numpy would sort them in.
        name_rank = np.empty(n_sites, dtype=np.int64)
        name_rank[np.asarray(pc.sort_indices(names))] = np.arange(n_sites)
        order = np.lexsort((name_rank, -mx, action))
        action = action[order]
        names = names.take(pa.array(order))

        entries = _empty_lists(n_sites)
        at = np.flatnonzero(action == i_domain)
        for i, name in zip(at.tolist(), names.take(pa.array(at)).to_pylist()):
            entries[i] = ["domain:" + name]
        if url_entries:
            new_pos = np.empty(n_sites, dtype=np.int64)
            new_pos[order] = np.arange(n_sites)
            for gi, listed_urls in url_entries.items():
                entries[new_pos[gi]] = listed_urls

        out = pd.DataFrame(
            {
                ROLLUP_DOMAIN: pd.arrays.ArrowStringArray(names),
                ACTION: np.array(ACTIONS, dtype=object)[action],
                N_LINKS: n[order].astype(np.int64),
                N_TOXIC: n_toxic[order].astype(np.int64),
                N_REVIEW: n_review[order].astype(np.int64),
                TOXIC_SHARE: share[order],
                MAX_RISK: mx[order],
                MEAN_RISK: mean[order],
                TOP_REASONS: pd.arrays.ArrowStringArray(self._top_reasons(n_sites, order=order)),
                WHITELISTED: site_wl[order],
                PROTECTED: protected[order],
                FREE_HOST: on_platform[order],
                DISAVOW_ENTRIES: np.fromiter(entries, dtype=object, count=n_sites),
            },
            columns=list(ROLLUP_COLUMNS),
        )
        return out

    def _top_reasons(self, n_sites: int, k: int = 3, order: np.ndarray | None = None) -> pa.ChunkedArray:
        """The *k* most frequent reason sentences per site among toxic and review links, ``"; "``-joined.

        Ties are broken alphabetically so the result is deterministic. The runs of counts
        are summed :data:`_SITE_BLOCK` sites at a time, and the texts joined as many rows at
        a time, so the temporaries stay small however many sites there are (a spilled run
        is read back one block at a time).

        Parameters
        ----------
        n_sites : int
        k : int
        order : ndarray of int, shape (n_sites,), optional
            The sites in the order wanted (default: by site id): the texts are built in
            that order, not built and then reordered.

        Returns
        -------
        pyarrow.ChunkedArray of large_string, shape (n_sites,)
        """
        runs = [run for run in self._reasons if _n_pairs(run)]
        picks = np.full((k, n_sites), -1, dtype=np.int64)  # sentence ids, by rank then site
        vocab = np.asarray(self._sentences, dtype=object)
        if runs:
            m = len(vocab)
            alpha = np.empty(m, dtype=np.int64)
            alpha[np.argsort(vocab.astype(str), kind="stable")] = np.arange(m)
            by_alpha = np.argsort(alpha)  # alphabetical rank -> sentence id
            for lo in range(0, n_sites, _SITE_BLOCK):
                hi = min(n_sites, lo + _SITE_BLOCK)
                parts = [_pairs_of_sites(run, lo, hi) for run in runs]
                keys, n = (_sum_by_key(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
                           if len(parts) > 1 else parts[0])
                picks[:, lo:hi] = _top_of_block(keys - (np.int64(lo) << _SITE_SHIFT), n, hi - lo, k, alpha, by_alpha)
        if order is not None:
            picks = picks[:, order]
        texts = pa.array(vocab, type=pa.large_string())
        sep = pa.scalar("; ", pa.large_string())
        blocks = []
        for lo in range(0, n_sites, _SITE_BLOCK):
            out = None
            for pick in picks[:, lo:lo + _SITE_BLOCK]:  # the rank-r sentence of each site, joined on
                part = texts.take(pa.array(pick, mask=pick < 0))
                out = pc.fill_null(part, "") if out is None else pc.coalesce(pc.binary_join_element_wise(out, part, sep), out)
            blocks.append(out)
        return pa.chunked_array(blocks, type=pa.large_string())


def _top_of_block(keys: np.ndarray, n: np.ndarray, n_sites: int, k: int, alpha: np.ndarray,
                  by_alpha: np.ndarray) -> np.ndarray:
    """The sentence ids of :meth:`RollupAccumulator._top_reasons`, shape (k, n_sites) (-1:
    none), of the distinct (site, sentence) *keys* (ascending, sites numbered from 0) and
    their counts *n*."""
    picks = np.full((k, n_sites), -1, dtype=np.int64)
    if not len(keys):
        return picks
    m = len(alpha)
    p_site = keys >> _SITE_SHIFT
    p_alpha = alpha[keys & _SENTENCE_MASK]
    starts = np.flatnonzero(np.concatenate(([True], p_site[1:] != p_site[:-1])))
    run_site = p_site[starts]
    run = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(keys))))  # each pair's run
    # One int64 score per pair, larger for a more frequent sentence, then for one earlier
    # from A to Z: a site's next sentence is its largest score left.
    if int(n.max()) > (_SCORE_LIMIT - m) // m:  # counts too large for that: their ranks do
        n = np.unique(n, return_inverse=True)[1].reshape(-1)
    score = n * m + (m - 1 - p_alpha)
    for r in range(k):
        best = np.maximum.reduceat(score, starts)
        some = best >= 0
        picks[r, run_site[some]] = by_alpha[m - 1 - best[some] % m]
        if r + 1 < k:
            score[score == best[run]] = -1  # picked
    return picks


def _arrow_strings(values) -> pa.Array:
    """*values* (Series or array-like, shape (n,)) as one Arrow string array, as ``astype("string")``
    reads them; zero-copy for Arrow-backed string columns."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    arr = pa.array(s.astype("string").array)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _take_strings(column: pd.Series, rows: np.ndarray) -> pa.Array:
    """``_arrow_strings(column.iloc[rows])``: for a string column, one Arrow take of the
    rows (no pandas Series in between)."""
    if not (isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow"):
        return _arrow_strings(column.iloc[rows])
    arr = pa.array(column.array).take(pa.array(rows))
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _domain_strings(domain: pd.Series) -> pa.Array:
    """*domain* (shape (n,)) as an Arrow large string array, null where a value is not a string."""
    if isinstance(domain.dtype, pd.StringDtype):
        arr = _arrow_strings(domain)
    else:
        values = domain.to_numpy(dtype=object)
        arr = pa.array([v if isinstance(v, str) else None for v in values.tolist()], type=pa.large_string())
    return arr.cast(pa.large_string())


def _risk_limbs(risk: np.ndarray) -> Iterator[np.ndarray]:
    """Risks as exact integer limbs: ``_N_LIMBS + 1`` arrays of shape (n,), one at a time.

    Limb ``i < _N_LIMBS`` holds the ``i``-th 21-bit digit of ``risk * 2**84`` (truncated
    below ``2**-84``, far under any calibrated probability's resolution; exact for risks in
    [0, 1]); the last holds the non-finite risks (0 elsewhere) so that they still poison the
    sum as a float sum would.
    """
    finite = np.isfinite(risk)
    x = np.where(finite, risk, 0.0)
    scale = float(1 << _LIMB_BITS)
    for _ in range(_N_LIMBS):
        x = x * scale
        digit = np.floor(x)
        yield digit
        x = x - digit  # exact: the fractional part of a float
    yield np.where(finite, 0.0, risk)


def _limbs_total(limbs: np.ndarray) -> np.ndarray:
    """Per-site risk sums from summed limbs (smallest digit first, for accuracy), shape (n_sites,)."""
    total = np.zeros(limbs.shape[1], dtype=np.float64)
    for i in reversed(range(_N_LIMBS)):
        total += limbs[i] * 2.0 ** (-_LIMB_BITS * (i + 1))
    return total + limbs[-1]


def _empty_lists(n: int) -> list[list]:
    """*n* new empty lists, made with the garbage collector paused: the collections that
    100k new containers trigger would each walk every object of the process, for nothing
    (empty lists hold no references)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return [[] for _ in range(n)]
    finally:
        if enabled:
            gc.enable()


def _empty_rollup() -> pd.DataFrame:
    return pd.DataFrame(
        {
            ROLLUP_DOMAIN: pd.Series(dtype="string"),
            ACTION: pd.Series(dtype=object),
            N_LINKS: pd.Series(dtype="int64"),
            N_TOXIC: pd.Series(dtype="int64"),
            N_REVIEW: pd.Series(dtype="int64"),
            TOXIC_SHARE: pd.Series(dtype="float64"),
            MAX_RISK: pd.Series(dtype="float64"),
            MEAN_RISK: pd.Series(dtype="float64"),
            TOP_REASONS: pd.Series(dtype="string"),
            WHITELISTED: pd.Series(dtype=bool),
            PROTECTED: pd.Series(dtype=bool),
            FREE_HOST: pd.Series(dtype=bool),
            DISAVOW_ENTRIES: pd.Series(dtype=object),
        }
    )

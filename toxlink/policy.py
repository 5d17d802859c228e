"""Disavow policy: every threshold in one place, and the rules that turn them into actions.

:func:`recommend_domains` turns a scored links table (one row per link, with a risk and
a band) into one row per referring site (:mod:`toxlink.sites`) with an action:

- ``disavow-domain`` - disavow the whole site (``domain:host``);
- ``disavow-url`` - the site mixes clean and toxic links: disavow only its toxic URLs;
- ``review`` - something is suspicious but not enough to act on automatically;
- ``keep``.

The rules are two pure functions of the :class:`Policy`: :meth:`Policy.link_verdicts`
(which links are toxic, which for review) and :func:`decide_actions` (what to do with a
site, given its statistics from :class:`toxlink.rollup.SiteStatistics`).
:class:`RollupAccumulator` computes the roll-up chunk by chunk (``update`` per chunk,
``merge`` across partitions, ``finish``) in memory bounded by the sites, not the links.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toxlink import schema as S
from toxlink.anchors import AnchorTerms
from toxlink.known import KnownList
from toxlink.resources import word_list
from toxlink.rollup import SiteStatistics
# Re-exported: the engine, the report, the predictor and the CLI import them from here.
from toxlink.schema import (ACTION, ACTIONS, DISAVOW_DOMAIN, DISAVOW_ENTRIES, DISAVOW_URL, FREE_HOST,  # noqa: F401
                            KEEP, MAX_RISK, MEAN_RISK, N_LINKS, N_REVIEW, N_TOXIC, PROTECTED, REVIEW,
                            ROLLUP_COLUMNS, TOP_REASONS, TOXIC_SHARE, WHITELISTED)
from toxlink.schema import DOMAIN as ROLLUP_DOMAIN  # noqa: F401 - the referring site
from toxlink.sites import gov_edu_hosts, own_sites, site_of  # noqa: F401
from toxlink.whitelist import Whitelist

__all__ = ["ACTION", "ACTIONS", "DISAVOW_DOMAIN", "DISAVOW_ENTRIES", "DISAVOW_URL", "FALLBACK_REVIEW", "FALLBACK_TOXIC",
           "FREE_HOST", "KEEP", "MAX_RISK", "MEAN_RISK", "N_LINKS", "N_REVIEW", "N_TOXIC", "PROTECTED", "REVIEW",
           "ROLLUP_COLUMNS", "ROLLUP_DOMAIN", "TOP_REASONS", "TOXIC_SHARE", "WHITELISTED", "Policy", "RollupAccumulator",
           "Whitelist", "decide_actions", "toxicity", "gov_edu_hosts", "own_sites", "recommend_domains", "site_of"]

#: Thresholds used when neither the policy nor the model metadata gives one.
FALLBACK_TOXIC = 0.7
FALLBACK_REVIEW = 0.4


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
    known_lists : tuple of toxlink.known.KnownList, default ()
        The user's lists of known spam and known clean sites: a referring host they name
        has its risk moved and the list shown as a reason (:mod:`toxlink.known`).
    anchor_terms : toxlink.anchors.AnchorTerms
        The audited site's brand names and money keywords, by which each link's anchor is
        categorised (``anchor_category``; :func:`toxlink.anchors.anchor_categories`).
    """

    toxic_threshold: float | None = None
    review_threshold: float | None = None
    min_links_for_domain: int = 1
    min_risk: float = 0.5
    domain_share: float = 0.5
    protect_gov_edu: bool = False
    whitelist: Whitelist = field(default_factory=Whitelist)
    free_hosts: frozenset[str] | None = None
    known_lists: tuple[KnownList, ...] = ()
    anchor_terms: AnchorTerms = field(default_factory=AnchorTerms)

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
        """The free hosting platforms (:attr:`free_hosts`, else ``data/free_hosts.txt``)."""
        return self.free_hosts if self.free_hosts is not None else word_list("free_hosts.txt")

    def link_verdicts(self, risk: np.ndarray, band: np.ndarray,
                      model_thresholds: Mapping[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Which links are toxic and which need review.

        The ``band`` the model gave, unless the policy sets a threshold: then the links are
        banded again from ``risk`` with :meth:`thresholds`. A toxic link under
        :attr:`min_risk` is only worth a look.

        Parameters
        ----------
        risk : ndarray of float, shape (n,)
        band : ndarray of str, shape (n,)
        model_thresholds : mapping, optional
            ``{"toxic": t, "review": r}`` from the model metadata.

        Returns
        -------
        toxic, review : ndarray of bool, shape (n,)
        """
        if self.toxic_threshold is not None or self.review_threshold is not None:
            toxic_at, review_at = self.thresholds(model_thresholds)
            toxic = risk >= toxic_at
            review = (risk >= review_at) & ~toxic
        else:
            toxic = np.asarray(band == "toxic", dtype=bool)
            review = np.asarray(band == "review", dtype=bool)
        below = toxic & (risk < self.min_risk)
        return toxic & ~below, review | below

    def with_own_sites(self, domains) -> "Policy":
        """This policy with *domains* (the audited site's own registrable domains, see
        :func:`own_sites`) added to the whitelist: links from your own site (internal links,
        your other subdomains) are never recommended for disavow."""
        own = Whitelist.from_entries(sorted(d for d in domains if d)).domains - self.whitelist.domains
        if not own:
            return self
        return replace(self, whitelist=replace(self.whitelist, domains=self.whitelist.domains | own))


def toxicity(risk: np.ndarray) -> pd.arrays.IntegerArray:
    """:data:`toxlink.schema.TOXICITY`: *risk* (float, shape (n,)) as a whole number 0-100,
    missing where the risk is not a finite number. A rescaling of the risk, nothing more."""
    risk = np.asarray(risk, dtype=np.float64)
    finite = np.isfinite(risk)
    return pd.arrays.IntegerArray(np.round(np.where(finite, np.clip(risk, 0, 1), 0) * 100).astype(np.int64), ~finite)


def decide_actions(site_stats: pd.DataFrame, policy: Policy) -> pd.Series:
    """The action for each referring site, from its statistics.

    In this order, the first rule that applies: a whitelisted site is kept; a protected
    gov/edu site is left for review when it has toxic or review links, else kept; a site
    with toxic links that are not whitelisted is disavowed whole when it has at least
    ``min_links_for_domain`` links, a toxic share above ``domain_share``, is not a
    platform itself and has nothing whitelisted below it, else by its toxic URLs (when it
    has any that can be written as entries); a site with toxic or review links is left for
    review; any other is kept.

    Parameters
    ----------
    site_stats : DataFrame, shape (n_sites, >=10)
        Columns ``n_links, n_toxic, n_review, n_disavowable, toxic_share, whitelisted,
        whitelisted_below, protected, platform`` (see
        :meth:`toxlink.rollup.SiteStatistics.finish`) and ``n_url_entries``, how many
        distinct URL entries its disavowable links make.
    policy : Policy

    Returns
    -------
    Series of str, shape (n_sites,)
        One of :data:`ACTIONS` per site, on *site_stats*' index.
    """
    s = site_stats
    suspicious = (s[S.N_TOXIC] + s[S.N_REVIEW]) > 0
    disavowable = s[S.N_DISAVOWABLE] > 0
    whole = (s[S.N_LINKS] >= int(policy.min_links_for_domain)) & (s[S.TOXIC_SHARE] > policy.domain_share) \
        & ~s[S.PLATFORM] & ~s[S.WHITELISTED_BELOW]
    rules = [  # (when, action), the first that applies
        (s[S.WHITELISTED], KEEP),
        (s[S.PROTECTED] & suspicious, REVIEW),
        (s[S.PROTECTED], KEEP),
        (disavowable & whole, DISAVOW_DOMAIN),
        (disavowable & (s[S.N_URL_ENTRIES] > 0), DISAVOW_URL),
        (suspicious, REVIEW),
    ]
    actions = np.select([when.to_numpy(dtype=bool) for when, _ in rules], [a for _, a in rules], KEEP)
    return pd.Series(actions, index=s.index, dtype=object, name=ACTION)


def recommend_domains(scored: pd.DataFrame, policy: Policy | None = None, *,
                      model_thresholds: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Roll scored links up to referring sites and decide an action for each.

    The whole table in one :class:`RollupAccumulator` update; use the accumulator
    directly to roll up an export chunk by chunk.

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
    DataFrame, shape (n_sites, 28)
        Columns :data:`ROLLUP_COLUMNS`, one row per referring site with at least one
        counted link, sorted by action severity, then ``max_risk`` descending, then site.
        The actions follow :func:`decide_actions`.
    """
    return RollupAccumulator(policy, model_thresholds=model_thresholds).update(scored).finish()


class RollupAccumulator:
    """:func:`recommend_domains` one chunk at a time, in memory bounded by the sites.

    ``acc = RollupAccumulator(policy); acc.update(chunk)`` for every chunk of a scored
    links table (any sizes, in input order), then ``acc.finish()`` returns exactly what
    :func:`recommend_domains` returns on the concatenated chunks. :meth:`merge` combines
    accumulators built on different partitions (e.g. Dask workers, which return them
    pickled). The per-site statistics are :class:`toxlink.rollup.SiteStatistics`.

    Parameters
    ----------
    policy : Policy, optional
    model_thresholds : mapping, optional
        As for :func:`recommend_domains`.
    spill_dir : path, optional
        Ignored: nothing is spilled any more. Accepted until the engine stops passing it.
    """

    def __init__(self, policy: Policy | None = None, *, model_thresholds: Mapping[str, float] | None = None,
                 spill_dir=None):
        self.policy = policy or Policy()
        self.model_thresholds = dict(model_thresholds) if model_thresholds else None
        self._stats = SiteStatistics(self.policy, model_thresholds=self.model_thresholds)

    def update(self, scored: pd.DataFrame) -> "RollupAccumulator":
        """Add the next chunk of a scored links table (see :func:`recommend_domains`); returns ``self``."""
        self._stats.update(scored)
        return self

    def merge(self, other: "RollupAccumulator") -> "RollupAccumulator":
        """Add the rows of *other* (built on the rows that follow this one's); returns ``self``.

        Raises
        ------
        ValueError
            If the two accumulators were built with different policies or model thresholds.
        """
        if other.policy != self.policy or other.model_thresholds != self.model_thresholds:
            raise ValueError("cannot merge roll-up accumulators built with different policies or thresholds")
        self._stats.merge(other._stats)
        return self

    def finish(self) -> pd.DataFrame:
        """The roll-up of every row added so far (see :func:`recommend_domains`).

        Returns
        -------
        DataFrame, shape (n_sites, 28)
            Columns :data:`ROLLUP_COLUMNS`.
        """
        stats = self._stats.finish()
        # The sites to disavow by URL are decided as if every disavowable link's URL could be
        # written as an entry, then again once those sites' entries are known (a site with
        # none left is for review): the URLs of the other sites need no normalising.
        n_url_entries = stats[S.N_DISAVOWABLE].to_numpy(dtype=np.int64, copy=True)
        stats[S.N_URL_ENTRIES] = n_url_entries
        by_url = (decide_actions(stats, self.policy) == DISAVOW_URL).to_numpy()
        url_entries = self._stats.url_entries(stats[ROLLUP_DOMAIN][by_url])
        n_url_entries[by_url] = [len(e) for e in url_entries]
        stats[S.N_URL_ENTRIES] = n_url_entries
        action = decide_actions(stats, self.policy)
        # Severity, then max_risk descending, then site (in code point order).
        names = pa.array(stats[ROLLUP_DOMAIN].array)
        name_rank = np.empty(len(stats), dtype=np.int64)
        name_rank[np.asarray(pc.sort_indices(names))] = np.arange(len(stats))
        severity = action.map(ACTIONS.index).to_numpy(dtype=np.int64)
        order = np.lexsort((name_rank, -stats[MAX_RISK].to_numpy(), severity))
        out = stats.iloc[order].reset_index(drop=True)
        out[ACTION] = action.iloc[order].to_numpy()
        out[S.TOXICITY] = toxicity(out[MAX_RISK].to_numpy())
        site_urls = dict(zip(stats[ROLLUP_DOMAIN][by_url].tolist(), url_entries))
        out[DISAVOW_ENTRIES] = [["domain:" + site] if a == DISAVOW_DOMAIN else site_urls[site] if a == DISAVOW_URL else []
                                for site, a in zip(out[ROLLUP_DOMAIN].tolist(), out[ACTION].tolist())]
        return out[list(ROLLUP_COLUMNS)]

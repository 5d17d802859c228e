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
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from toxlink import schema as S
from toxlink.disavow import DisavowError, covering_domain, normalise_urls
from toxlink.resources import word_list
from toxlink.urls import domains_of, host_table, hosts_of, split_urls, url_issues

# --- columns of the roll-up table (one row per referring site) ----------------------------
ROLLUP_DOMAIN = S.DOMAIN  # the referring site (registrable domain, or exact host on free hosts)
ACTION = "action"  # DISAVOW_DOMAIN | DISAVOW_URL | REVIEW | KEEP
N_LINKS = "n_links"  # scored links (duplicates and rejected rows excluded)
N_TOXIC = "n_toxic"  # links in the toxic band with risk >= Policy.min_risk
N_REVIEW = "n_review"  # links in the review band (and toxic-band links under min_risk)
TOXIC_SHARE = "toxic_share"  # n_toxic / n_links
MAX_RISK = "max_risk"
MEAN_RISK = "mean_risk"
TOP_REASONS = "top_reasons"  # the 3 most frequent reasons among toxic/review links, "; "-joined
WHITELISTED = "whitelisted"  # the site is covered by the whitelist (action is keep)
PROTECTED = "protected"  # .gov/.edu/... site protected by Policy.protect_gov_edu
FREE_HOST = "free_host"  # the site is on a free hosting platform (data/free_hosts.txt)
DISAVOW_ENTRIES = "disavow_entries"  # list of disavow lines the site contributes

ROLLUP_COLUMNS = (ROLLUP_DOMAIN, ACTION, N_LINKS, N_TOXIC, N_REVIEW, TOXIC_SHARE, MAX_RISK, MEAN_RISK,
                  TOP_REASONS, WHITELISTED, PROTECTED, FREE_HOST, DISAVOW_ENTRIES)

DISAVOW_DOMAIN = "disavow-domain"
DISAVOW_URL = "disavow-url"
REVIEW = "review"
KEEP = "keep"
#: Actions from most to least severe (the roll-up is sorted in this order).
ACTIONS = (DISAVOW_DOMAIN, DISAVOW_URL, REVIEW, KEEP)

#: Thresholds used when neither the policy nor the model metadata gives one.
FALLBACK_TOXIC = 0.7
FALLBACK_REVIEW = 0.4

# Labels of an ICANN suffix that mark government, military and academic registries
# (gov.uk, ac.uk, edu.au, gouv.fr, gob.mx, go.jp, govt.nz, gv.at, gub.uy, k12.ca.us, sch.uk).
_GOV_EDU_TLDS = frozenset({"gov", "edu", "mil"})
_GOV_EDU_LABELS = frozenset({"gov", "edu", "mil", "ac", "gouv", "gob", "govt", "go", "gv", "gub", "k12", "sch"})
_GOV_EDU_RE = r"(?:^|\.)(?:" + "|".join(sorted(_GOV_EDU_LABELS)) + r")(?:\.|$)"


# --- whitelist -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Whitelist:
    """Domains and URLs never to disavow (your own sites, partners, press).

    A whitelisted domain covers its subdomains. A leading ``www.`` is dropped from
    whitelisted domains and URL matching ignores the scheme: the whitelist errs on the
    side of keeping a link.

    Parameters
    ----------
    domains : frozenset of str
        Punycode, lower-case hosts.
    urls : frozenset of str
        Normalised URLs without the scheme (``host[:port]/path[?query]``).
    """

    domains: frozenset[str] = frozenset()
    urls: frozenset[str] = frozenset()

    # -- reading ------------------------------------------------------------------------------
    @classmethod
    def read(cls, path: str | os.PathLike) -> "Whitelist":
        """Read a whitelist file; see :meth:`parse` for the format."""
        name = str(path)
        data = Path(path).read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise DisavowError(f"{name}, line {line}: not UTF-8; save the whitelist as UTF-8", name=name, line=line) from None
        return cls.parse(text, name)

    @classmethod
    def parse(cls, text: str, name: str = "whitelist.txt") -> "Whitelist":
        """Parse a whitelist: one domain or URL per line.

        ``#`` starts a comment (at the start of a line or after a space). ``domain:``
        prefixes and ``*.`` wildcards are accepted, so a disavow-style list or a plain
        list of hosts both work. A URL whose path is empty or ``/`` (``https://mysite.com/``)
        whitelists its whole host.

        Raises
        ------
        DisavowError
            Naming the file and line of an entry that is not a host or URL.
        """
        items = []
        for i, line in enumerate(text.splitlines(), start=1):
            s = line.strip()
            for mark in (" #", "\t#"):
                if mark in s:
                    s = s[: s.index(mark)].strip()
            if not s or s.startswith("#"):
                continue
            items.append((i, s))
        return cls._build(items, name)

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> "Whitelist":
        """A whitelist from hosts / URLs / ``domain:`` lines given in code."""
        return cls._build(list(enumerate((str(e).strip() for e in entries), start=1)), "whitelist")

    @classmethod
    def _build(cls, items: list[tuple[int, str]], name: str) -> "Whitelist":
        if not items:
            return cls()
        texts = []
        for _, s in items:
            if s[:7].lower() == "domain:":
                s = s[7:].strip()
            while s.startswith("*."):
                s = s[2:]
            texts.append(s)
        series = pd.Series(texts, dtype="string")
        parts = split_urls(series)
        issues = url_issues(series)
        urls = normalise_urls(series)
        domains, url_keys = set(), set()
        for (line, raw), text, iss, u, path, query in zip(
            items, texts, issues.tolist(), urls.tolist(), parts["path"].fillna("").tolist(), parts["query"].fillna("").tolist()
        ):
            if (iss is not None and iss is not pd.NA) or u is None or u is pd.NA:
                why = iss if isinstance(iss, str) else "invalid host"
                raise DisavowError(f"{name}, line {line}: {raw!r} is not a domain or URL ({why})", name=name, line=line)
            host = u.split("://", 1)[1].split("/", 1)[0]
            if path in ("", "/") and not query:
                domains.add(host[4:] if host.startswith("www.") and host.count(".") > 1 else host)
            else:
                url_keys.add(u.split("://", 1)[1])
        return cls(frozenset(domains), frozenset(url_keys))

    # -- queries ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.domains) + len(self.urls)

    def covers_host(self, hosts) -> np.ndarray:
        """Whether each (normalised) host is a whitelisted domain or one of its subdomains.

        Parameters
        ----------
        hosts : Series or array-like of str, shape (n,)

        Returns
        -------
        ndarray of bool, shape (n,)
        """
        hosts = pd.Series(hosts, dtype="string") if not isinstance(hosts, pd.Series) else hosts
        if not self.domains or not len(hosts):
            return np.zeros(len(hosts), dtype=bool)
        codes, uniques = pd.factorize(hosts, use_na_sentinel=True)
        hit = np.array([covering_domain(h, self.domains) is not None for h in uniques], dtype=bool)
        out = np.zeros(len(hosts), dtype=bool)
        ok = codes >= 0
        out[ok] = hit[codes[ok]]
        return out

    def covers_url(self, urls) -> np.ndarray:
        """Whether each URL is whitelisted (its host is covered, or the URL is listed).

        Parameters
        ----------
        urls : Series or array-like of str, shape (n,)

        Returns
        -------
        ndarray of bool, shape (n,)
        """
        urls = pd.Series(urls, dtype="string") if not isinstance(urls, pd.Series) else urls
        if not len(self) or not len(urls):
            return np.zeros(len(urls), dtype=bool)
        return self.covers_links(urls, hosts_of(urls))

    def covers_links(self, urls: pd.Series, hosts: pd.Series) -> np.ndarray:
        """:meth:`covers_url` for URLs whose normalised hosts are already known (faster).

        Only URLs on a host that has whitelisted URLs are parsed.
        """
        out = self.covers_host(hosts)
        if self.urls:
            url_hosts = {u.split("/", 1)[0].split(":", 1)[0] for u in self.urls}
            cand = np.flatnonzero(pd.Series(hosts).isin(url_hosts).fillna(False).to_numpy(dtype=bool) & ~out)
            if len(cand):
                sub = pd.Series(urls).iloc[cand].astype("string")
                keys = normalise_urls(sub).str.replace(r"^[a-z][a-z0-9+.\-]*://", "", regex=True)
                out[cand] |= keys.isin(self.urls).fillna(False).to_numpy(dtype=bool)
        return out

    def rule_for_host(self, host: str) -> str | None:
        """The whitelist rule covering *host* as a sentence, or ``None``."""
        hit = covering_domain(host, self.domains) if self.domains else None
        return None if hit is None else f"whitelisted domain {hit}"

    def rule_for_url(self, url: str) -> str | None:
        """The whitelist rule covering the (normalised) *url* as a sentence, or ``None``."""
        rest = url.split("://", 1)[-1]
        host = rest.split("/", 1)[0].split(":", 1)[0]
        rule = self.rule_for_host(host)
        if rule is None and rest in self.urls:
            rule = f"whitelisted URL {rest}"
        return rule

    def hosts_under(self, domain: str) -> list[str]:
        """Whitelisted domains and URLs at or below *domain* (sorted), which ``domain:`` would sweep up."""
        if domain not in self._parents:
            return []
        tail = "." + domain
        out = {d for d in self.domains if d == domain or d.endswith(tail)}
        for u in self.urls:
            h = u.split("/", 1)[0].split(":", 1)[0]
            if h == domain or h.endswith(tail):
                out.add(u)
        return sorted(out)

    @cached_property
    def _parents(self) -> frozenset[str]:
        """Every domain that has a whitelisted domain or URL at or below it."""
        out = set()
        hosts = set(self.domains) | {u.split("/", 1)[0].split(":", 1)[0] for u in self.urls}
        for h in hosts:
            out.add(h)
            i = h.find(".")
            while i >= 0:
                out.add(h[i + 1 :])
                i = h.find(".", i + 1)
        return frozenset(out)


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


# --- host classification -------------------------------------------------------------------
def gov_edu_hosts(hosts) -> np.ndarray:
    """Whether each normalised host belongs to a government, military or academic registry.

    Decided from the host's ICANN public suffix (computed once per unique host).

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    hosts = pd.Series(hosts, dtype="string") if not isinstance(hosts, pd.Series) else hosts
    codes, uniques = pd.factorize(hosts, use_na_sentinel=True)
    uniques = pd.Series(uniques, dtype="string")
    # Only hosts with such a label anywhere can qualify; the PSL lookup is the slow part.
    maybe = uniques.str.contains(_GOV_EDU_RE, regex=True).fillna(False).to_numpy(dtype=bool)
    flags = np.zeros(len(uniques), dtype=bool)
    if maybe.any():
        cand = uniques[maybe]
        suffix = cand.map(host_table(cand)["suffix"]).fillna("")
        flags[maybe] = [_gov_edu_suffix(x) for x in suffix.tolist()]
    out = np.zeros(len(hosts), dtype=bool)
    ok = codes >= 0
    out[ok] = flags[codes[ok]]
    return out


def _gov_edu_suffix(suffix: str) -> bool:
    if not suffix:
        return False
    labels = suffix.split(".")
    return labels[-1] in _GOV_EDU_TLDS or any(lab in _GOV_EDU_LABELS for lab in labels[:-1])


def site_of(host: str, domain: str, platforms: frozenset[str]) -> tuple[str, bool]:
    """The referring site of one host and whether it is a platform itself.

    On a free host ``p``, the site is the label below ``p`` plus ``p``
    (``www.foo.wordpress.com`` -> ``foo.wordpress.com``) and ``p`` / ``www.p`` are the
    platform; elsewhere it is *domain*.
    """
    p = covering_domain(host, platforms)
    if p is None:
        return domain, False
    if host == p or host == "www." + p:
        return p, True
    label = host[: -len(p) - 1].rsplit(".", 1)[-1]
    return f"{label}.{p}", False


# --- roll-up ----------------------------------------------------------------------------------
def recommend_domains(scored: pd.DataFrame, policy: Policy | None = None, *,
                      model_thresholds: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Roll scored links up to referring sites and decide an action for each.

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
    policy = policy or Policy()
    frame = scored
    host = frame[S.HOST] if S.HOST in frame.columns else hosts_of(frame[S.SOURCE_URL])
    domain = frame[S.DOMAIN] if S.DOMAIN in frame.columns else domains_of(host)
    risk_all = pd.to_numeric(frame[S.RISK], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    band_all = frame[S.BAND].astype("string").fillna("rejected")

    valid = (
        frame[S.DUPLICATE_OF].isna().to_numpy()
        & frame[S.ROW_ISSUE].isna().to_numpy()
        & band_all.ne("rejected").to_numpy(dtype=bool)
        & ~np.isnan(risk_all)
        & host.notna().to_numpy()
    )
    idx = np.flatnonzero(valid)
    if not len(idx):
        return _empty_rollup()
    risk = risk_all[idx]
    if policy.toxic_threshold is not None or policy.review_threshold is not None:
        t_toxic, t_review = policy.thresholds(model_thresholds)
        is_toxic = risk >= t_toxic
        is_review = (risk >= t_review) & ~is_toxic
    else:
        band = band_all.to_numpy(dtype=object)[idx]
        is_toxic = band == "toxic"
        is_review = band == "review"
    # Toxic-band links under the floor are only worth a look.
    below = is_toxic & (risk < policy.min_risk)
    is_toxic = is_toxic & ~below
    is_review = is_review | below

    # Sites, computed once per unique host.
    h_codes, h_uniq = pd.factorize(host.iloc[idx], use_na_sentinel=True)
    _, first = np.unique(h_codes, return_index=True)
    dom_first = domain.iloc[idx].to_numpy(dtype=object)[first]
    platforms = policy.platforms()
    sites = [site_of(h, d if isinstance(d, str) else h, platforms) for h, d in zip(h_uniq, dom_first)]
    host_site = np.array([s for s, _ in sites], dtype=object)
    host_root = np.array([r for _, r in sites], dtype=bool)
    row_site = host_site[h_codes]
    g, site_names = pd.factorize(row_site)
    n_sites = len(site_names)
    site_root = np.zeros(n_sites, dtype=bool)
    np.logical_or.at(site_root, g, host_root[h_codes])
    on_platform = np.array([covering_domain(s, platforms) is not None for s in site_names], dtype=bool)

    wl = policy.whitelist
    if len(wl):
        row_wl = wl.covers_links(frame[S.SOURCE_URL].iloc[idx], host.iloc[idx])
        parents = wl._parents
        site_wl = wl.covers_host(pd.Series(site_names, dtype="string"))
        wl_inside = np.array([s in parents for s in site_names], dtype=bool)
        wl_inside |= np.bincount(g, weights=row_wl, minlength=n_sites) > 0
    else:
        row_wl = np.zeros(len(idx), dtype=bool)
        site_wl = wl_inside = np.zeros(n_sites, dtype=bool)
    protected = gov_edu_hosts(pd.Series(site_names, dtype="string")) if policy.protect_gov_edu else np.zeros(n_sites, dtype=bool)

    n = np.bincount(g, minlength=n_sites)
    n_toxic = np.bincount(g, weights=is_toxic, minlength=n_sites).astype(np.int64)
    n_review = np.bincount(g, weights=is_review, minlength=n_sites).astype(np.int64)
    toxic_ok = is_toxic & ~row_wl
    n_toxic_ok = np.bincount(g, weights=toxic_ok, minlength=n_sites).astype(np.int64)
    mean = np.bincount(g, weights=risk, minlength=n_sites) / n
    mx = np.full(n_sites, -np.inf)
    np.maximum.at(mx, g, risk)
    share = n_toxic / n

    whole = (~site_root) & (~wl_inside) & (n >= int(policy.min_links_for_domain)) & (share > policy.domain_share)
    suspicious = (n_toxic + n_review) > 0
    action = np.select(
        [site_wl, protected & suspicious, protected, (n_toxic_ok > 0) & whole, n_toxic_ok > 0, suspicious],
        [KEEP, REVIEW, KEEP, DISAVOW_DOMAIN, DISAVOW_URL, REVIEW],
        KEEP,
    ).astype(object)

    entries = np.empty(n_sites, dtype=object)
    entries[:] = [[] for _ in range(n_sites)]
    for i in np.flatnonzero(action == DISAVOW_DOMAIN):
        entries[i] = ["domain:" + site_names[i]]
    url_sites = action == DISAVOW_URL
    pick = toxic_ok & url_sites[g]
    if pick.any():
        rows = idx[pick]
        urls = normalise_urls(frame[S.SOURCE_URL].iloc[rows].astype("string"))
        per = pd.DataFrame({"g": g[pick], "u": urls.to_numpy(dtype=object)}).dropna().drop_duplicates()
        per = per.sort_values(["g", "u"], kind="stable")
        for gi, us in per.groupby("g", sort=False)["u"]:
            entries[gi] = us.tolist()
        # A site whose toxic URLs cannot be written as entries is left for review.
        empty = url_sites & np.array([len(e) == 0 for e in entries], dtype=bool)
        action[empty] = REVIEW

    reasons = _top_reasons(frame[S.REASONS].iloc[idx], g, is_toxic | is_review, n_sites) if S.REASONS in frame.columns else np.full(n_sites, "", dtype=object)

    out = pd.DataFrame(
        {
            ROLLUP_DOMAIN: pd.array(site_names, dtype="string"),
            ACTION: action,
            N_LINKS: n.astype(np.int64),
            N_TOXIC: n_toxic,
            N_REVIEW: n_review,
            TOXIC_SHARE: share,
            MAX_RISK: mx,
            MEAN_RISK: mean,
            TOP_REASONS: pd.array(reasons, dtype="string"),
            WHITELISTED: site_wl,
            PROTECTED: protected,
            FREE_HOST: on_platform,
            DISAVOW_ENTRIES: entries,
        },
        columns=list(ROLLUP_COLUMNS),
    )
    severity = pd.Series(action).map({a: i for i, a in enumerate(ACTIONS)}).to_numpy()
    order = np.lexsort((np.asarray(site_names, dtype=object).astype(str), -mx, severity))
    return out.iloc[order].reset_index(drop=True)


def _top_reasons(reasons: pd.Series, g: np.ndarray, mask: np.ndarray, n_sites: int, k: int = 3) -> np.ndarray:
    """The *k* most frequent reason sentences per site among masked links, ``"; "``-joined.

    Ties are broken alphabetically so the result is deterministic.
    """
    out = np.full(n_sites, "", dtype=object)
    sel = mask & reasons.notna().to_numpy()
    if not sel.any():
        return out
    # A large export repeats the same reasons cell many times: split each distinct cell once.
    codes, cells = pd.factorize(reasons[sel].astype("string"))
    parts = [[p.strip() for p in str(c).split("; ") if p.strip()] for c in cells]
    vocab_codes, vocab = pd.factorize(pd.Series([p for ps in parts for p in ps], dtype=object))
    lens = np.array([len(ps) for ps in parts], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lens)[:-1]))
    row_lens = lens[codes]
    total = int(row_lens.sum())
    if total == 0:
        return out
    # every (row, sentence) pair, through the distinct cells' sentence lists
    ends = np.cumsum(row_lens)
    pos = np.arange(total) - np.repeat(ends - row_lens, row_lens) + np.repeat(starts[codes], row_lens)
    site = np.repeat(g[sel].astype(np.int64), row_lens)
    sentence = vocab_codes[pos].astype(np.int64)
    pairs, n = np.unique(site * len(vocab) + sentence, return_counts=True)
    p_site, p_sentence = pairs // len(vocab), pairs % len(vocab)
    alpha = np.empty(len(vocab), dtype=np.int64)
    alpha[np.argsort(np.asarray(vocab, dtype=str), kind="stable")] = np.arange(len(vocab))
    order = np.lexsort((alpha[p_sentence], -n, p_site))  # per site: most frequent, then A-Z
    p_site, p_sentence = p_site[order], p_sentence[order]
    first = np.concatenate(([True], p_site[1:] != p_site[:-1]))
    rank = np.arange(len(p_site)) - np.maximum.accumulate(np.where(first, np.arange(len(p_site)), 0))
    keep = rank < k
    texts = np.asarray(vocab, dtype=object)[p_sentence[keep]]
    for site_id, text in zip(p_site[keep], texts):
        out[site_id] = text if not out[site_id] else out[site_id] + "; " + text
    return out


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

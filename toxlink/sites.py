"""What a referring *site* is, and which listed domain covers a host.

- :func:`covering_domains` answers "is this host under one of these domains, and which one"
  for a whole column of hosts at once; the whitelist, the disavow file, the labels and the
  roll-up all ask it here.
- :func:`site_of`: the referring site of a host is its registrable domain, except on the free
  hosting platforms of ``data/free_hosts.txt``, where it is the platform's subdomain
  (``foo.wordpress.com``); the platform itself (``wordpress.com``) is never a site to
  disavow whole.
- :func:`own_sites`: the audited site's own domains, from the links' target URLs.
- :func:`gov_edu_hosts`: hosts of government, military and academic registries.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toxlink.urls import domains_of, host_table, hosts_of, url_issues

# Labels of an ICANN suffix that mark government, military and academic registries
# (gov.uk, ac.uk, edu.au, gouv.fr, gob.mx, go.jp, govt.nz, gv.at, gub.uy, k12.ca.us, sch.uk).
_GOV_EDU_TLDS = frozenset({"gov", "edu", "mil"})
_GOV_EDU_LABELS = frozenset({"gov", "edu", "mil", "ac", "gouv", "gob", "govt", "go", "gv", "gub", "k12", "sch"})
_GOV_EDU_RE = r"(?:^|\.)(?:" + "|".join(sorted(_GOV_EDU_LABELS)) + r")(?:\.|$)"


def as_strings(values) -> pa.Array:
    """*values* (Series, Arrow array, list or ndarray of str, shape (n,)) as one Arrow
    ``large_string`` array, null where a value is missing; other values are read as
    ``astype("string")`` reads them."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
        values = pa.array(series.astype("string").array)
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
    return values.cast(pa.large_string())


def covering_domains(hosts, domains: Iterable[str]) -> pa.Array:
    """The entry of *domains* that is each host or its nearest parent domain, if any.

    ``domain:x.com`` in a disavow file, ``x.com`` in a whitelist and a free hosting
    platform ``x.com`` all cover ``x.com`` and every host under it (``a.b.x.com``), never
    ``notx.com``. Looked up once per distinct host, climbing one label at a time.

    Parameters
    ----------
    hosts : Series, Arrow array or sequence of str, shape (n,)
        Normalised hosts; missing values cover nothing.
    domains : iterable of str

    Returns
    -------
    pyarrow large_string array, shape (n,)
        The covering entry, null where none covers the host.
    """
    hosts = as_strings(hosts)
    value_set = pa.array(sorted(set(domains)), type=pa.large_string())
    if not len(value_set) or not len(hosts):
        return pa.nulls(len(hosts), pa.large_string())
    distinct = pc.dictionary_encode(hosts)
    found = np.full(len(distinct.dictionary), -1, dtype=np.int64)
    where = np.arange(len(found))
    level = distinct.dictionary
    # A parent with fewer labels than every listed domain cannot be listed: no need to climb to it.
    fewest_dots = min(d.count(".") for d in value_set.to_pylist())
    while len(level):
        at = pc.index_in(level, value_set=value_set)
        hit = np.asarray(at.is_valid())
        found[where[hit]] = np.asarray(at.filter(hit))
        climb = ~hit & (np.asarray(pc.fill_null(pc.count_substring(level, "."), 0)) > fewest_dots)
        where = where[climb]
        level = pc.list_element(pc.split_pattern(level.filter(climb), ".", max_splits=1), 1)  # its parent
    per_host = value_set.take(pa.array(found, mask=found < 0))
    return per_host.take(distinct.indices)


def is_covered(hosts, domains: Iterable[str]) -> np.ndarray:
    """Whether some entry of *domains* covers each host (see :func:`covering_domains`),
    ndarray of bool, shape (n,)."""
    return np.asarray(covering_domains(hosts, domains).is_valid())


def site_of(hosts, domains, platforms: Iterable[str]) -> tuple[pa.Array, np.ndarray]:
    """The referring site of each host, and whether the host is a platform itself.

    On a free hosting platform ``p`` the site is the label below ``p`` plus ``p``
    (``www.foo.wordpress.com`` -> ``foo.wordpress.com``), and ``p`` or ``www.p`` is the
    platform itself; elsewhere the site is the host's registrable domain (the host when
    it has none).

    Parameters
    ----------
    hosts : Series, Arrow array or sequence of str, shape (n,)
    domains : Series, Arrow array or sequence of str, shape (n,)
        The registrable domain of each host (missing: the host).
    platforms : iterable of str

    Returns
    -------
    sites : pyarrow large_string array, shape (n,)
    platform : ndarray of bool, shape (n,)
    """
    hosts = as_strings(hosts)
    sites = pc.coalesce(as_strings(domains), hosts)
    covering = covering_domains(hosts, platforms)
    platform = np.zeros(len(hosts), dtype=bool)
    on = np.flatnonzero(np.asarray(covering.is_valid()))
    if not len(on):
        return sites, platform
    # The few hosts on a platform, one by one.
    fixed = []
    for i, host, p in zip(on.tolist(), hosts.take(on).to_pylist(), covering.take(on).to_pylist()):
        if host in (p, "www." + p):
            platform[i] = True
            fixed.append(p)
        else:
            fixed.append(host[: -len(p) - 1].rsplit(".", 1)[-1] + "." + p)
    mask = np.zeros(len(hosts), dtype=bool)
    mask[on] = True
    return pc.replace_with_mask(sites, pa.array(mask), pa.array(fixed, type=pa.large_string())), platform


def own_sites(target_urls: pd.Series) -> set[str]:
    """Registrable domains of the links' target URLs: the audited site itself (a free-host
    site such as ``name.blogspot.com`` is its own domain, never the platform). Cells that
    are not usable URLs (``not a url``, a repeated header) are skipped."""
    targets = pd.Series(pd.unique(target_urls.dropna().astype("string")), dtype="string")
    targets = targets[url_issues(targets).isna().to_numpy()]  # a cell that is no URL names no site
    if targets.empty:
        return set()
    return set(domains_of(hosts_of(targets)).dropna())


def gov_edu_hosts(hosts) -> np.ndarray:
    """Whether each normalised host belongs to a government, military or academic registry.

    Decided from the host's ICANN public suffix, once per distinct host.

    Parameters
    ----------
    hosts : Series, Arrow array or sequence of str, shape (n,)

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    distinct = pc.dictionary_encode(as_strings(hosts))
    uniques = pd.Series(pd.arrays.ArrowStringArray(distinct.dictionary), dtype="string")
    # Only hosts with such a label anywhere can qualify; the suffix lookup is the slow part.
    maybe = uniques.str.contains(_GOV_EDU_RE, regex=True).fillna(False).to_numpy(dtype=bool)
    flags = np.zeros(len(uniques), dtype=bool)
    if maybe.any():
        candidates = uniques[maybe]
        suffix = candidates.map(host_table(candidates)["suffix"]).fillna("")
        flags[maybe] = [_gov_edu_suffix(s) for s in suffix.tolist()]
    codes = np.asarray(distinct.indices.fill_null(-1))
    return np.where(codes >= 0, flags[codes], False) if len(flags) else np.zeros(len(codes), dtype=bool)


def _gov_edu_suffix(suffix: str) -> bool:
    if not suffix:
        return False
    labels = suffix.split(".")
    return labels[-1] in _GOV_EDU_TLDS or any(label in _GOV_EDU_LABELS for label in labels[:-1])

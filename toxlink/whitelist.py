"""The whitelist: domains and URLs never to disavow (your own sites, partners, press)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toxlink.disavow.lines import DOMAIN, DisavowError, normalise_urls, read_utf8
from toxlink.sites import as_strings, covering_domains, is_covered
from toxlink.urls import hosts_of, split_urls, url_issues


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
        return cls.parse(read_utf8(path, "save the whitelist as UTF-8", encoding="utf-8-sig"), str(path))

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
        for (line, raw), iss, u, path, query in zip(
            items, issues.tolist(), urls.tolist(), parts["path"].fillna("").tolist(), parts["query"].fillna("").tolist()
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

    # -- links ------------------------------------------------------------------------------
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
        return is_covered(hosts, self.domains)

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
        """:meth:`covers_url` for URLs whose normalised hosts are already known (faster):
        only URLs on a host that has whitelisted URLs are parsed.

        Parameters
        ----------
        urls, hosts : Series of str, shape (n,)

        Returns
        -------
        ndarray of bool, shape (n,)
        """
        out = self.covers_host(hosts)
        if self.urls:
            hosts = as_strings(hosts)
            url_hosts = pa.array(sorted({_host_of_key(u) for u in self.urls}), type=pa.large_string())
            maybe = np.flatnonzero(np.asarray(pc.fill_null(pc.is_in(hosts, value_set=url_hosts), False)) & ~out)
            if len(maybe):
                keys = normalise_urls(pd.Series(urls).iloc[maybe].astype("string"))
                keys = keys.str.replace(r"^[a-z][a-z0-9+.\-]*://", "", regex=True)
                out[maybe] = keys.isin(self.urls).fillna(False).to_numpy(dtype=bool)
        return out

    # -- sites and disavow entries ----------------------------------------------------------
    def has_entries_under(self, domains) -> np.ndarray:
        """Whether a whitelisted domain or URL is at or below each domain (which
        ``domain:`` would sweep up), ndarray of bool, shape (n,)."""
        parents = pa.array(sorted(self._parents), type=pa.large_string())
        return np.asarray(pc.fill_null(pc.is_in(as_strings(domains), value_set=parents), False))

    def rule_for_host(self, host: str) -> str | None:
        """The whitelist rule covering *host* as a sentence, or ``None``."""
        hit = covering_domains([host], self.domains)[0].as_py()
        return None if hit is None else f"whitelisted domain {hit}"

    def rule_for_url(self, url: str) -> str | None:
        """The whitelist rule covering the (normalised) *url* as a sentence, or ``None``."""
        return self.rules_for_entries(["url"], [url])[0]

    def hosts_under(self, domain: str) -> list[str]:
        """Whitelisted domains and URLs at or below *domain* (sorted), which ``domain:`` would sweep up."""
        if domain not in self._parents:
            return []
        tail = "." + domain
        return sorted({d for d in self.domains if d == domain or d.endswith(tail)}
                      | {u for u in self.urls if _host_of_key(u) == domain or _host_of_key(u).endswith(tail)})

    def rules_for_entries(self, kinds: Sequence[str], values: Sequence[str]) -> list[str | None]:
        """Why the whitelist forbids each disavow entry, as a sentence, or ``None``.

        A ``domain:`` entry is forbidden when a whitelisted domain is it or a parent of it,
        or when it would sweep up a whitelisted domain or URL below it; a URL entry when
        a whitelisted domain covers its host or the URL is listed (scheme ignored).

        Parameters
        ----------
        kinds : sequence of str, shape (n,)
            ``"domain"`` or ``"url"``.
        values : sequence of str, shape (n,)
            The normalised hosts of ``domain:`` entries and the normalised URLs.
        """
        keys = [v if k == DOMAIN else v.split("://", 1)[-1] for k, v in zip(kinds, values)]
        hosts = [key if k == DOMAIN else _host_of_key(key) for k, key in zip(kinds, keys)]
        covering = covering_domains(hosts, self.domains).to_pylist()
        rules: list[str | None] = []
        for kind, key, hit in zip(kinds, keys, covering):
            if hit is not None:
                rules.append(f"whitelisted domain {hit}")
            elif kind == DOMAIN and key in self._parents:
                rules.append(f"would also disavow whitelisted {self.hosts_under(key)[0]}")
            elif kind != DOMAIN and key in self.urls:
                rules.append(f"whitelisted URL {key}")
            else:
                rules.append(None)
        return rules

    @cached_property
    def hosts(self) -> frozenset[str]:
        """The whitelisted domains and the hosts of the whitelisted URLs."""
        return frozenset(self.domains) | {_host_of_key(u) for u in self.urls}

    @cached_property
    def _parents(self) -> frozenset[str]:
        """Every domain that has a whitelisted domain or URL at or below it."""
        out = set()
        for host in self.hosts:
            labels = host.split(".")
            out.update(".".join(labels[i:]) for i in range(len(labels)))
        return frozenset(out)


def _host_of_key(key: str) -> str:
    """The host of a URL written without its scheme (``host[:port]/path``)."""
    return key.split("/", 1)[0].split(":", 1)[0]

"""Seeded synthetic backlink profiles for benchmarks (never for accuracy figures).

`synth_links(n, seed)` returns a canonical links table (``toxlink.schema``) shaped like a
real export: a long tail of ordinary referring domains, a few link networks sharing a
subnet and a page title, sitewide blogroll links, free-host blogs, gambling/pharma spam
domains, and dates spread over three years with a burst. `write_ahrefs_export` writes it
the way Ahrefs does (UTF-16 LE with BOM, tab-separated, Ahrefs column names).

Run ``python benchmarks/synth.py N OUT.csv`` to write an Ahrefs-style export of N rows.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from toxlink import schema as S  # noqa: E402

_WORDS = np.array(
    "garden travel recipe bike photo music code river cloud stone craft school news daily "
    "local family green blue north media works studio shop review guide learn world city "
    "home life tech data health sport book film art design maker open lab".split()
)
_SPAM = np.array("casino gacor bet loan pharma viagra essay backlinks seo pills poker".split())
# Shares of referring domains per TLD, roughly as in a real backlink profile of an English site.
_TLDS = np.array(["com", "org", "net", "de", "co.uk", "fr", "nl", "io", "info", "ru", "it", "es", "xyz", "top"])
_TLD_SHARE = np.array([50, 8, 6, 5, 5, 3, 3, 2, 3, 3, 3, 3, 1, 1], dtype=float)
_ANCHORS = np.array(
    ["click here", "website", "", "Acme Tools", "acmetools.com", "https://acmetools.com/",
     "best cheap tools", "buy tools online", "read more", "this article", "tools review"]
)


def synth_links(n: int, seed: int = 0, n_domains: int | None = None) -> pd.DataFrame:
    """A canonical links table of *n* rows, deterministic for a given *seed*."""
    rng = np.random.default_rng(seed)
    n_domains = n_domains or max(10, n // 8)
    # Domain names: the domain's number written in words (unique), ~5% with a spam word in
    # front, ~5% with digits after, a few hyphenated.
    n_digits = max(2, int(np.ceil(np.log(max(n_domains, 2)) / np.log(len(_WORDS)))))
    idx = np.arange(n_domains)
    name = pd.Series("", index=idx)
    for k in range(n_digits):
        part = pd.Series(_WORDS[(idx // len(_WORDS) ** k) % len(_WORDS)])
        hyphen = np.where((rng.random(n_domains) < 0.05) & (k > 0), "-", "")
        name = part + pd.Series(hyphen) + name if k else part
    spammy = rng.random(n_domains) < 0.05
    name = name.where(~spammy, pd.Series(rng.choice(_SPAM, n_domains)) + "-" + name)
    digits = np.where(rng.random(n_domains) < 0.05, rng.integers(1, 999, n_domains).astype(str), "")
    tld = rng.choice(_TLDS, n_domains, p=_TLD_SHARE / _TLD_SHARE.sum())
    domains = name + pd.Series(digits) + "." + pd.Series(tld)
    free = rng.random(n_domains) < 0.04
    domains = domains.where(~free, domains.str.replace(r"\..*$", "", regex=True) + ".blogspot.com")

    # Zipf-like links per domain: a few domains send thousands of (sitewide) links.
    weights = 1.0 / np.arange(1, n_domains + 1) ** 0.9
    weights /= weights.sum()
    d = rng.choice(n_domains, size=n, p=weights)
    www = np.where(rng.random(n) < 0.5, "www.", "")
    path_kind = rng.choice(4, n, p=[0.45, 0.05, 0.05, 0.45])  # blog post, templated, forum profile, page
    page = rng.integers(1, 5000, n).astype(str)
    paths = np.select(
        [path_kind == 0, path_kind == 1, path_kind == 2],
        ["/blog/" + pd.Series(rng.choice(_WORDS, n)) + "-" + page,
         "/all/" + page + "/13.html",
         "/forum/profile.php?id=" + page],
        "/" + pd.Series(rng.choice(_WORDS, n)),
    )
    source = "https://" + pd.Series(www) + domains.to_numpy()[d] + pd.Series(paths)
    targets = np.array(["https://acmetools.com/", "https://acmetools.com/shop/", "https://acmetools.com/blog/post"])

    days = rng.integers(0, 3 * 365, n)
    burst = rng.random(n) < 0.05
    days = np.where(burst, 1000 + rng.integers(0, 7, n), days)
    first_seen = pd.Timestamp("2023-01-01") + pd.to_timedelta(days, unit="D")
    subnet = rng.integers(0, 2000, n_domains)
    ips = (
        pd.Series(subnet // 250 + 10).astype(str) + "." + pd.Series(subnet % 250).astype(str) + ".7."
        + pd.Series(rng.integers(1, 254, n_domains)).astype(str)
    )
    titles = pd.Series(rng.choice(_WORDS, n)).str.title() + " " + pd.Series(rng.choice(_WORDS, n)) + " | Blog"
    titles = titles.where(rng.random(n) > 0.03, "Best Casino Bonus Guest Post")

    frame = pd.DataFrame(
        {
            S.SOURCE_FILE: "synthetic",
            S.SOURCE_ROW: np.arange(2, n + 2),
            S.VENDOR: "ahrefs",
            S.SOURCE_URL: source,
            S.TARGET_URL: rng.choice(targets, n),
            S.ANCHOR: rng.choice(_ANCHORS, n),
            S.NOFOLLOW: rng.random(n) < 0.3,
            S.UGC: rng.random(n) < 0.05,
            S.SPONSORED: rng.random(n) < 0.02,
            S.IMAGE: rng.random(n) < 0.08,
            S.SITEWIDE: rng.random(n) < 0.1,
            S.CONTENT_LINK: rng.random(n) < 0.6,
            S.LOST: rng.random(n) < 0.1,
            S.VENDOR_SPAM: rng.random(n) < 0.02,
            S.FIRST_SEEN: first_seen,
            S.LAST_SEEN: first_seen + pd.to_timedelta(rng.integers(0, 300, n), unit="D"),
            S.PAGE_TITLE: titles,
            S.LANGUAGE: rng.choice(np.array(["en", "en", "de", "id", "tr"]), n),
            S.DOMAIN_RATING: rng.integers(0, 90, n_domains)[d].astype(float),
            S.PAGE_RATING: rng.integers(0, 60, n).astype(float),
            S.EXTERNAL_LINKS: rng.integers(0, 600, n).astype(float),
            S.DOMAIN_TRAFFIC: rng.integers(0, 100000, n_domains)[d].astype(float),
            S.PAGE_TRAFFIC: rng.integers(0, 1000, n).astype(float),
            S.HTTP_CODE: 200.0,
            S.SOURCE_IP: ips.to_numpy()[d],
        }
    )
    return S.conform(frame)


def synth_scored(n: int, seed: int = 0) -> pd.DataFrame:
    """:func:`synth_links` as if scored: hosts, domains and deterministic *fake* risk, band
    and reasons (not the model's), with ~5% duplicates, ~3% rejected rows and ~2% missing
    first-seen dates and anchors each. For what reads scored links (the report), not for
    anything about scoring itself."""
    from toxlink import urls

    f = synth_links(n, seed)
    rng = np.random.default_rng(seed + 1)
    f[S.HOST] = urls.hosts_of(f[S.SOURCE_URL])
    f[S.DOMAIN] = urls.domains_of(f[S.HOST])
    risk = rng.beta(0.7, 2.0, n)
    band = np.where(risk >= 0.7, "toxic", np.where(risk >= 0.4, "review", "ok")).astype(object)
    rejected = rng.random(n) < 0.03
    band[rejected], risk[rejected] = "rejected", np.nan
    f[S.RISK] = risk
    f[S.BAND] = pd.Series(band, dtype="string")
    f[S.ROW_ISSUE] = pd.Series(np.where(rejected, "bad url", None), dtype="string")
    f[S.DUPLICATE_OF] = pd.Series(np.where(rng.random(n) < 0.05, "synthetic:2", None), dtype="string")
    f.loc[rng.random(n) < 0.02, S.FIRST_SEEN] = pd.NaT
    f.loc[rng.random(n) < 0.02, S.ANCHOR] = pd.NA
    f[S.REASONS] = pd.Series(np.where(band == "toxic", "spammy; odd", ""), dtype="string")
    return f


# Ahrefs' export column names (../shared/fixtures/EXPORT_HEADERS.md) for the canonical columns.
AHREFS_COLUMNS = {
    S.PAGE_TITLE: "Referring page title",
    S.SOURCE_URL: "Referring page URL",
    S.LANGUAGE: "Language",
    S.HTTP_CODE: "Referring page HTTP code",
    S.DOMAIN_RATING: "Domain rating",
    S.PAGE_RATING: "UR",
    S.DOMAIN_TRAFFIC: "Domain traffic",
    S.PAGE_TRAFFIC: "Page traffic",
    S.EXTERNAL_LINKS: "External links",
    S.TARGET_URL: "Target URL",
    S.ANCHOR: "Anchor",
    S.NOFOLLOW: "Nofollow",
    S.UGC: "UGC",
    S.SPONSORED: "Sponsored",
    S.CONTENT_LINK: "Content",
    S.FIRST_SEEN: "First seen",
    S.LAST_SEEN: "Last seen",
    S.LOST: "Lost status",
    S.VENDOR_SPAM: "Is spam",
}
_AHREFS_BOOLS = (S.NOFOLLOW, S.UGC, S.SPONSORED, S.CONTENT_LINK, S.VENDOR_SPAM)


def write_ahrefs_export(links: pd.DataFrame, path: str | Path, encoding: str = "utf-16") -> Path:
    """Write *links* as an Ahrefs backlinks export (UTF-16 LE + BOM, tab-separated by default)."""
    out = pd.DataFrame({v: links[k] for k, v in AHREFS_COLUMNS.items()})
    for col in (S.FIRST_SEEN, S.LAST_SEEN):
        out[AHREFS_COLUMNS[col]] = links[col].dt.strftime("%Y-%m-%d %H:%M:%S")
    out["Lost status"] = np.where(links[S.LOST].fillna(False), "lost", "")
    for col in _AHREFS_BOOLS:  # Ahrefs writes booleans as true/false, blank when unknown
        out[AHREFS_COLUMNS[col]] = links[col].map({True: "true", False: "false"}).astype("string")
    path = Path(path)
    sep = "\t" if encoding.lower().startswith("utf-16") else ","
    # pandas' "utf-16" codec writes the BOM and little-endian code units, as Ahrefs does.
    out.to_csv(path, sep=sep, index=False, encoding=encoding)
    return path


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    dest = sys.argv[2] if len(sys.argv) > 2 else "synthetic-ahrefs.csv"
    write_ahrefs_export(synth_links(n, seed=0), dest)
    print(f"wrote {n} rows to {dest}")

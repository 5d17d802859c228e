"""The labelled base dataset the shipped model is trained on, built from public host lists.

Six public lists (copied into ``data/labels/``, provenance in ``data/SOURCES.md``) give
*hosts* with a label: two spam lists (Matomo referrer spam, SpamdexingSites) and four clean
lists (awesome-selfhosted, Wikipedia's most-cited hosts, university domains, .gov domains).
This module turns them into link-level rows of the canonical links table
(:func:`toxlink.schema.conform`) plus label columns, with every choice below explicit and
reported (``data/README.md`` has the long form).

Assumptions and choices
-----------------------
Hosts
    Entries are lower-cased, punycoded and stripped of a leading ``www``. The spam lists are
    domain-level blocklists while the clean lists name hosts as cited (``en.wikipedia.org``,
    ``student.eit.edu.au``, 64 % of Wikipedia hosts start with ``www.``). So that this listing
    convention does not become a feature ("has a subdomain = clean"), *clean* hosts are
    collapsed to their registrable domain; spam hosts are kept as listed, because a listed
    spam subdomain (``research.ifmo.ru``) is usually a hacked site whose parent is innocent.
    ``www.`` is then re-added to a seeded 50 % of the hosts that have no subdomain,
    independently of the label, because real exports contain both forms.
Platforms
    A platform root on a clean list (``github.com``, ``medium.com``, ``google.com`` for
    ``sites.google.com``, ``wordpress.com``) says nothing about the pages its users publish,
    so every clean entry whose registrable domain is a platform's is dropped. Platforms are
    ``data/free_hosts.txt`` plus :data:`UGC_PLATFORMS` (profile/repository/social sites).
    A *specific* user site on a Public-Suffix-List private suffix (``name.github.io``,
    ``name.blogspot.com``) is its own registrable domain, was chosen by the list's editors,
    and is kept: it is evidence about itself, and it stops the model learning
    "free host = spam" from the spam lists' few platform sites.
Label noise
    A registrable domain listed on both sides is dropped from both (which side is right is
    unknowable here). Spam entries on institutional suffixes (``.edu.pl``, ``.edu.ua``) and
    spam entries that are subdomains are kept as spam with a ``label_note`` (they are real
    spam sources, and dropping them would make ".edu = clean" absolute). :func:`noise_report`
    counts and lists all of it for the model card.
Balance
    .gov and universities are capped (:data:`SOURCES` ``cap``: groups sampled with the seed)
    because LightGBM's ``min_data_in_leaf`` counts rows, not weights, and weighted to a small
    share of the clean class. Each source has a documented share of its class's weight
    (:data:`SOURCES` ``share``); the classes are balanced 50/50 by default; inside a source
    every registrable domain weighs the same. The long-tail awesome-selfhosted list gets the
    largest clean share because real exports are mostly ordinary small sites.
Rows
    Real part: one row per kept host, ``source_url = https://host/``, every other column
    missing (as in a Google Search Console export). Only host/domain/TLD signal is real.
    Simulated part (``simulate=True``): a seeded, label-independent choice of hosts
    (``sim_fraction``) gets ``k`` extra links (same distribution of ``k`` for both classes,
    so "links per domain" does not leak the label) whose attributes are drawn from
    class-conditional *priors* (:data:`PRIORS`) that overlap heavily. Words come from the
    vocabularies in this module, shared by both classes (only the mixture of anchor kinds
    differs), never from the feature lexicons in ``data/``. Paths and target pages are drawn
    independently of the label. Vendor spam scores (``spam_score``, ``vendor_spam``) are
    never simulated: a simulated vendor verdict would be the label itself. Any skill the
    model shows on simulated attributes is the priors echoed back, not evidence;
    :func:`mask_simulated` gives the view in which only real signal remains.
Profile features
    Profile features (links per domain, anchor diversity, titles shared across domains) are
    computed per export. The training table is not one export; compute features on each
    split *separately* with ``profile=None`` (the split is then the "export"). Profile values
    of real-only rows are uninformative (one link per domain), and for simulated rows they
    reflect only the documented priors (sitewide hosts repeat one anchor, spam hosts more
    often share network titles).

Extra columns (not canonical, never features): :data:`LABEL` (1 spam, 0 clean),
:data:`LABEL_SOURCE`, :data:`GROUP` (registrable domain, the split unit), :data:`WEIGHT`,
:data:`SIMULATED`, :data:`LABEL_NOTE`.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toxlink import schema as S
from toxlink import urls
from toxlink.resources import data_path, word_list

# --- extra columns of the labelled table ------------------------------------------------
LABEL = "label"  # 1 spam, 0 clean
LABEL_SOURCE = "label_source"  # name of the list the host's label comes from
GROUP = "group"  # registrable domain of the host: the unit of every split
WEIGHT = "weight"  # sample weight (mean 1 over the built frame)
SIMULATED = "simulated"  # True where link attributes were simulated
LABEL_NOTE = "label_note"  # why the label may be noisy, NA when nothing is known
EXTRA_COLUMNS = (LABEL, LABEL_SOURCE, GROUP, WEIGHT, SIMULATED, LABEL_NOTE)


@dataclass(frozen=True)
class ListSource:
    """One public list.

    Attributes
    ----------
    name : str
        Value of :data:`LABEL_SOURCE`.
    file : str
        File under ``data/labels/``.
    label : int
        1 spam, 0 clean.
    share : float
        Share of its class's total weight (shares of one class sum to 1).
    cap : int or None
        At most this many registrable domains are kept (seeded sample).
    """

    name: str
    file: str
    label: int
    share: float
    cap: int | None = None


#: The lists, in priority order: a host kept from an earlier list is a duplicate in a later
#: one. Wikipedia comes first among the clean lists (a head site that awesome-selfhosted also
#: links to, such as wikipedia.org or gnu.org, is a head site, not long tail), then the long
#: tail, then the capped institutional lists (so the caps, not the deduplication, decide how
#: many institutional hosts remain).
SOURCES: tuple[ListSource, ...] = (
    ListSource("matomo-referrer-spam", "spam-matomo-referrer.txt", 1, 0.5),
    ListSource("spamdexing", "spam-spamdexing.txt", 1, 0.5),
    ListSource("wikipedia-cited", "clean-wikipedia-cited.tsv", 0, 0.46),
    ListSource("awesome-selfhosted", "clean-awesome-selfhosted.txt", 0, 0.42),
    ListSource("universities", "clean-universities.tsv", 0, 0.08, cap=2000),
    ListSource("dotgov", "clean-dotgov.csv", 0, 0.04, cap=600),
)
SOURCE_NAMES = tuple(s.name for s in SOURCES)

#: Sites where anyone can publish pages or profiles, beyond the hosting platforms of
#: ``data/free_hosts.txt``: their roots appear on clean lists (Wikipedia cites them heavily)
#: but a link from a user's page there is as good or bad as the user.
UGC_PLATFORMS = frozenset(
    """github.com gitlab.com bitbucket.org sourceforge.net medium.com youtube.com youtu.be
    facebook.com twitter.com x.com instagram.com linkedin.com reddit.com pinterest.com
    quora.com vimeo.com dailymotion.com soundcloud.com flickr.com imgur.com tiktok.com
    archive.org archive.today archive.ph issuu.com scribd.com slideshare.net
    academia.edu researchgate.net disqus.com t.me telegram.me discord.com patreon.com
    behance.net deviantart.com dribbble.com goodreads.com tripadvisor.com yelp.com
    change.org meetup.com eventbrite.com wattpad.com""".split()
)

#: Label components of an ICANN suffix that mark institutional (sponsored / restricted)
#: namespaces: ``gov``, ``gov.uk``, ``edu.au``, ``ac.jp``, ``go.kr``, ``gob.mx``, ``mil``.
INSTITUTIONAL_LABELS = frozenset({"gov", "edu", "ac", "mil", "gob", "gouv", "go", "govt", "int", "k12"})

#: Date the simulated exports are "taken" on (fixed, so builds are reproducible).
REFERENCE_DATE = pd.Timestamp("2026-08-01")


# --- reading the lists ---------------------------------------------------------------------
def read_list(source: ListSource | str) -> pd.DataFrame:
    """Entries of one list as published, with their line numbers.

    Returns
    -------
    DataFrame, shape (n_entries, 2): ``entry`` (str, as written), ``line`` (int, 1-based
    line in the file; the CSV header is line 1).
    """
    src = _source(source)
    path = data_path("labels", src.file)
    entries, lines = [], []
    with open(path, encoding="utf-8", newline="") as fh:
        if src.file.endswith(".csv"):
            reader = csv.reader(fh)
            header = next(reader)
            col = header.index("Domain name")
            for i, row in enumerate(reader, start=2):
                if row and row[col].strip():
                    entries.append(row[col].strip())
                    lines.append(i)
        else:
            for i, raw in enumerate(fh, start=1):
                text = raw.split("\t", 1)[0].strip()
                if text and not text.startswith("#"):
                    entries.append(text)
                    lines.append(i)
    return pd.DataFrame({"entry": pd.array(entries, dtype="string"), "line": np.array(lines, dtype="int64")})


def _source(source: ListSource | str) -> ListSource:
    if isinstance(source, ListSource):
        return source
    for s in SOURCES:
        if s.name == source:
            return s
    raise KeyError(f"unknown list {source!r}; known: {', '.join(SOURCE_NAMES)}")


def platform_domains() -> frozenset[str]:
    """Registrable domains of publishing platforms (free hosts + :data:`UGC_PLATFORMS`)."""
    hosts = pd.Series(sorted(word_list("free_hosts.txt") | UGC_PLATFORMS), dtype="string")
    return frozenset(urls.domains_of(hosts).dropna())


def _institutional(suffixes: pd.Series) -> np.ndarray:
    labels = suffixes.fillna("").str.split(".")
    return np.array([bool(INSTITUTIONAL_LABELS.intersection(parts)) for parts in labels], dtype=bool)


# --- the host ledger --------------------------------------------------------------------------
def host_ledger(*, seed: int = 0, sources: tuple[ListSource, ...] = SOURCES) -> pd.DataFrame:
    """Every list entry with its normalised host, label and fate (kept or why dropped).

    Parameters
    ----------
    seed : int
        Seeds the per-source caps (which registrable domains are sampled in).
    sources : tuple of ListSource
        Lists in priority order (default :data:`SOURCES`).

    Returns
    -------
    DataFrame, one row per entry of every list (shape (n_entries, 11)): ``source``,
    ``file``, ``line``, ``entry``, ``host`` (normalised, collapsed for clean lists, no
    ``www``), ``label``, ``group`` (registrable domain), ``suffix`` (ICANN suffix),
    ``institutional`` (bool), ``status`` (``"kept"`` or the drop reason), ``note`` (noise
    flag of kept spam hosts, else NA).
    """
    parts = []
    for src in sources:
        lst = read_list(src)
        lst.insert(0, "source", src.name)
        lst.insert(1, "file", src.file)
        lst["label"] = np.int8(src.label)
        parts.append(lst)
    led = pd.concat(parts, ignore_index=True)
    led["source"] = led["source"].astype("string")
    led["file"] = led["file"].astype("string")

    urls_ = "http://" + led["entry"].str.strip()
    issue = urls.url_issues(urls_)
    host = urls.hosts_of(urls_).str.replace(r"^www\d*\.(?=[^.]+\.)", "", regex=True)
    info = urls.host_table(host)
    group = host.map(info["domain"]).astype("string")
    suffix = host.map(info["suffix"]).astype("string")
    subdomain = host.map(info["subdomain"]).astype("string")
    private = host.map(info["private_suffix"]).astype("boolean").fillna(False).to_numpy(dtype=bool)
    is_ip = host.map(info["is_ip"]).astype("boolean").fillna(False).to_numpy(dtype=bool)
    clean = led["label"].eq(0).to_numpy()
    # Clean hosts collapse to their registrable domain (see module docstring: "Hosts").
    host = host.where(~clean, group)
    led["host"] = host
    led["group"] = group
    led["suffix"] = suffix
    led["institutional"] = _institutional(suffix)

    status = pd.Series("kept", index=led.index, dtype="string")

    def drop(mask, reason):
        nonlocal status
        status = status.mask(np.asarray(mask, dtype=bool) & status.eq("kept").to_numpy(), reason)

    drop(issue.notna() | host.isna() | group.isna(), "invalid host")
    # Only the clean lists cite bare IPs; kept, they would teach "IP address = clean".
    drop(is_ip, "IP address")
    drop(suffix.fillna("").eq("").to_numpy() & ~is_ip, "no public suffix")
    plat = group.isin(platform_domains()).fillna(False).to_numpy()
    drop(plat & clean, "platform on a clean list")
    drop(plat & ~clean, "platform root on a spam list")
    kept = status.eq("kept")
    spam_groups = set(group[kept & ~pd.Series(clean, index=led.index)])
    clean_groups = set(group[kept & pd.Series(clean, index=led.index)])
    drop(group.isin(spam_groups & clean_groups).fillna(False), "listed on both sides")
    # Among kept entries only, so a dropped first occurrence does not hide a later one.
    kept_hosts = host[status.eq("kept")]
    dup = kept_hosts.duplicated(keep="first")
    status[dup.index[dup.to_numpy()]] = "duplicate"

    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    for src in sources:
        if src.cap is None:
            continue
        in_src = led["source"].eq(src.name) & status.eq("kept")
        groups = np.array(sorted(set(group[in_src])), dtype=object)
        if len(groups) > src.cap:
            chosen = set(rng.choice(groups, size=src.cap, replace=False))
            drop(in_src & ~group.isin(chosen).fillna(False), "over the source cap")

    note = pd.Series(pd.NA, index=led.index, dtype="string")
    spam_kept = status.eq("kept") & led["label"].eq(1)
    sub = subdomain.fillna("").ne("").to_numpy() & ~private
    note = note.mask(spam_kept & sub, "spam host is a subdomain (possibly a hacked legitimate site)")
    note = note.mask(spam_kept & led["institutional"], "institutional suffix on a spam list (hacked or re-registered)")
    led["status"] = status
    led["note"] = note
    return led


def noise_report(ledger: pd.DataFrame | None = None, *, seed: int = 0) -> dict:
    """Label-noise and filtering figures for the model card.

    Parameters
    ----------
    ledger : DataFrame or None
        From :func:`host_ledger`; built with *seed* when None.

    Returns
    -------
    dict with ``entries`` / ``kept`` per source, ``dropped`` {source: {reason: count}},
    ``listed_on_both_sides`` (registrable domains, sorted), ``institutional_spam`` and
    ``subdomain_spam`` (kept spam hosts, sorted), ``platform_clean_dropped`` (count),
    ``platform_user_sites_kept`` {label: count} (user sites on PSL private suffixes kept).
    """
    led = host_ledger(seed=seed) if ledger is None else ledger
    kept = led["status"].eq("kept")
    dropped = led[~kept].groupby(["source", "status"], sort=True).size()
    drops: dict[str, dict[str, int]] = {}
    for (src, reason), n in dropped.items():
        drops.setdefault(str(src), {})[str(reason)] = int(n)
    info = urls.host_table(led.loc[kept, "host"])
    private = led.loc[kept, "host"].map(info["private_suffix"]).astype(bool)
    return {
        "entries": {k: int(v) for k, v in led.groupby("source", sort=False).size().items()},
        "kept": {k: int(v) for k, v in led[kept].groupby("source", sort=False).size().items()},
        "dropped": drops,
        "listed_on_both_sides": sorted(set(led.loc[led["status"].eq("listed on both sides"), "group"])),
        "institutional_spam": sorted(led.loc[led["note"].str.startswith("institutional").fillna(False), "host"]),
        "subdomain_spam": sorted(led.loc[led["note"].str.startswith("spam host is a subdomain").fillna(False), "host"]),
        "platform_clean_dropped": int(led["status"].eq("platform on a clean list").sum()),
        "platform_user_sites_kept": {
            "spam": int((private & led.loc[kept, "label"].eq(1)).sum()),
            "clean": int((private & led.loc[kept, "label"].eq(0)).sum()),
        },
    }


# --- simulation priors and vocabularies ------------------------------------------------------
#: Class-conditional priors of the simulated link attributes, (spam, clean). Written from the
#: signals in the project's domain reference (REFERENCE.md: exact-match commercial anchors,
#: sitewide/footer links, >= 300 outbound links, high rating with ~zero traffic, bursts of
#: new links, shared titles across a network) and deliberately overlapping: each is a
#: tendency, never a rule, so no single simulated attribute separates the classes.
PRIORS: dict[str, tuple] = {
    # anchor kinds: exact-match keyword, partial-match, brand, naked URL, generic, image
    "anchor_kind": ((0.30, 0.15, 0.15, 0.15, 0.12, 0.13), (0.07, 0.10, 0.38, 0.20, 0.15, 0.10)),
    "sitewide_host": (0.30, 0.10),  # all of the host's links are one footer/blogroll link
    "content_link": (0.45, 0.65),  # in the main content (when not sitewide)
    "nofollow": (0.25, 0.35),  # paid links are mostly dofollow; editorial ones often nofollow
    "ugc": (0.08, 0.06),
    "sponsored": (0.02, 0.02),  # paid links are rarely declared: no signal on purpose
    "link_seller_host": (0.35, 0.0),  # rating inflated, organic traffic near zero
    "external_links_median": (80.0, 35.0),  # lognormal, sigma 1.0: P(>=300) ~ 9% vs 2%
    "burst_host": (0.45, 0.15),  # the host's links first seen in the last 90 days
    "network_title_host": (0.25, 0.05),  # page titles from a small pool shared by many hosts
    "lost": (0.12, 0.12),
}
_ANCHOR_KINDS = ("exact", "partial", "brand", "naked", "generic", "image")

# Fictional audited sites: (brand, target domain, money keywords). Shared by both classes.
_TARGETS = (
    ("Northwind Outdoor", "northwind-outdoor.example", ("hiking boots", "waterproof jackets", "camping tents", "trail running shoes")),
    ("Brightsmile Dental", "brightsmile-dental.example", ("teeth whitening", "dental implants", "emergency dentist", "invisible braces")),
    ("Lumen Lighting", "lumen-lighting.example", ("led ceiling lights", "outdoor wall lights", "smart bulbs", "pendant lamps")),
    ("Harbor Legal", "harbor-legal.example", ("personal injury lawyer", "divorce attorney", "estate planning", "immigration lawyer")),
    ("Quillbook", "quillbook.example", ("accounting software", "invoice templates", "payroll app", "expense tracking")),
    ("Casa Verde Travel", "casaverde-travel.example", ("cheap flights", "all inclusive holidays", "city breaks", "hotel deals")),
    ("Ferro Kitchens", "ferro-kitchens.example", ("kitchen cabinets", "quartz worktops", "kitchen renovation", "built in ovens")),
    ("Pawsome Pets", "pawsome-pets.example", ("grain free dog food", "cat trees", "pet insurance", "dog grooming")),
)
_TARGET_PATHS = ("", "products/", "blog/", "about/", "services/", "contact/", "guides/")
_GENERIC = ("click here", "here", "website", "this site", "read more", "link", "source", "homepage", "visit", "more info")
_PARTIAL = ("best {k}", "{k} guide", "{k} from {b}", "affordable {k}", "{k} tips", "top {k} 2026", "{b} {k}")
_TOPICS = (
    "gardening", "travel", "cooking", "cycling", "photography", "home improvement", "local news",
    "small business", "parenting", "personal finance", "fitness", "technology", "music",
    "history", "fashion", "education", "pets", "real estate", "cars", "health",
)
_TITLES = (
    "{T} | {B}", "{B} - {T} news", "Welcome to {B}", "{B} blog", "{T}: a beginner's guide",
    "{N} things we learned about {t}", "Archives - {B}", "Notes on {t}", "{B} | Home",
    "Our favourite {t} resources", "{T} updates, page {n}", "Ask {B}: {t}",
)
# Small pool reused across many hosts: network sites share templates and titles.
_NETWORK_TITLES = tuple(f"{t.title()} Hub" for t in _TOPICS[:10]) + tuple(f"Daily {t.title()} Digest" for t in _TOPICS[10:])
_PATHS = (
    "/blog/{s}/", "/{y}/{m:02d}/{s}/", "/news/{s}", "/page/{n}/", "/?p={n}", "/tag/{w}/",
    "/forum/topic-{n}", "/links/", "/resources/", "/profile/{w}{n}", "/articles/{s}.html", "/",
)


def _slug(words: np.ndarray) -> list[str]:
    return [w.replace(" ", "-") for w in words]


def _simulate(hosts: pd.DataFrame, *, seed: int, sim_fraction: float, mean_links: float) -> pd.DataFrame:
    """Simulated links for a label-independent subset of *hosts* (see :data:`PRIORS`).

    Parameters
    ----------
    hosts : DataFrame, one row per kept host: ``url_host``, ``label`` and the extra columns
        copied onto each link.

    Returns
    -------
    DataFrame of canonical + extra columns, one row per simulated link.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    n_hosts = len(hosts)
    # Which hosts and how many links: identical distributions for both classes.
    chosen = rng.random(n_hosts) < sim_fraction
    k = np.minimum(rng.geometric(1.0 / mean_links, size=n_hosts), 12)
    k[~chosen] = 0
    h = hosts.iloc[np.repeat(np.arange(n_hosts), k)].reset_index(drop=True)
    n = len(h)
    host_id = np.repeat(np.arange(n_hosts), k)
    spam = h[LABEL].to_numpy() == 1
    cls = np.where(spam, 0, 1)  # index into the (spam, clean) tuples

    def p(name):
        return np.array(PRIORS[name], dtype=float)[cls]

    def per_host(name):
        # One draw per host, shared by all of its links.
        spam_h = hosts[LABEL].to_numpy() == 1
        prob = np.array(PRIORS[name], dtype=float)[np.where(spam_h, 0, 1)]
        return (rng.random(n_hosts) < prob)[host_id]

    sitewide = per_host("sitewide_host")
    seller = per_host("link_seller_host")
    burst = per_host("burst_host")
    network = per_host("network_title_host")

    # Target site and page: label-independent, one audited site per referring host.
    tgt = rng.integers(len(_TARGETS), size=n_hosts)[host_id]
    brand = np.array([_TARGETS[i][0] for i in tgt], dtype=object)
    tdomain = np.array([_TARGETS[i][1] for i in tgt], dtype=object)
    kw = np.array([_TARGETS[i][2][j] for i, j in zip(tgt, rng.integers(4, size=n))], dtype=object)
    tpath = np.array(_TARGET_PATHS, dtype=object)[rng.integers(len(_TARGET_PATHS), size=n)]
    target_url = "https://www." + tdomain + "/" + tpath

    # Anchors: kinds from the class mixture, words from the shared vocabularies.
    probs = np.array(PRIORS["anchor_kind"], dtype=float)
    u = rng.random(n)
    kind = np.where(spam, np.searchsorted(np.cumsum(probs[0]), u, side="right"), np.searchsorted(np.cumsum(probs[1]), u, side="right"))
    kind = np.minimum(kind, len(_ANCHOR_KINDS) - 1)  # guards float round-off of the cumsum
    partial_t = np.array(_PARTIAL, dtype=object)[rng.integers(len(_PARTIAL), size=n)]
    generic = np.array(_GENERIC, dtype=object)[rng.integers(len(_GENERIC), size=n)]
    naked = np.where(rng.random(n) < 0.5, "www." + tdomain, target_url)
    anchor = np.empty(n, dtype=object)
    for i, kd in enumerate(_ANCHOR_KINDS):
        m = kind == i
        if kd == "exact":
            anchor[m] = kw[m]
        elif kd == "partial":
            anchor[m] = [t.format(k=a, b=b) for t, a, b in zip(partial_t[m], kw[m], brand[m])]
        elif kd == "brand":
            anchor[m] = brand[m]
        elif kd == "naked":
            anchor[m] = naked[m]
        elif kd == "generic":
            anchor[m] = generic[m]
        else:
            anchor[m] = ""
    # A sitewide (footer/blogroll) link repeats one anchor and one target on every page.
    first = np.r_[0, np.flatnonzero(np.diff(host_id)) + 1] if n else np.array([], dtype=int)
    first_of = np.repeat(first, np.diff(np.r_[first, n]))
    anchor = np.where(sitewide, anchor[first_of], anchor)
    kind = np.where(sitewide, kind[first_of], kind)
    target_url = np.where(sitewide, target_url[first_of], target_url)
    image = kind == _ANCHOR_KINDS.index("image")

    # Referring page: path and topic independent of the label.
    topic = np.array(_TOPICS, dtype=object)[rng.integers(len(_TOPICS), size=n)]
    word = np.array([t.split()[0] for t in topic], dtype=object)
    num = rng.integers(2, 999, size=n)
    year = rng.integers(2019, 2027, size=n)
    month = rng.integers(1, 13, size=n)
    path_t = np.array(_PATHS, dtype=object)[rng.integers(len(_PATHS), size=n)]
    slug = np.array(_slug(topic), dtype=object) + "-" + num.astype(str)
    path = [t.format(s=s, y=y, m=mm, n=nn, w=w) for t, s, y, mm, nn, w in zip(path_t, slug, year, month, num, word)]
    source_url = "https://" + h["url_host"].to_numpy(dtype=object) + np.array(path, dtype=object)

    host_brand = np.array([x.split(".")[0].replace("-", " ").title() for x in h[GROUP]], dtype=object)
    title_t = np.array(_TITLES, dtype=object)[rng.integers(len(_TITLES), size=n)]
    title = np.array(
        [t.format(T=tp.title(), t=tp, B=b, N=nn % 20 + 3, n=nn % 9 + 2) for t, tp, b, nn in zip(title_t, topic, host_brand, num)],
        dtype=object,
    )
    net_title = np.array(_NETWORK_TITLES, dtype=object)[rng.integers(len(_NETWORK_TITLES), size=n)]
    title = np.where(network, net_title, title)

    # Link flags.
    content = np.where(sitewide, False, rng.random(n) < p("content_link"))
    nofollow = rng.random(n) < p("nofollow")
    ugc = rng.random(n) < p("ugc")
    sponsored = rng.random(n) < p("sponsored")
    redirect = rng.random(n) < 0.04
    frame = rng.random(n) < 0.01
    form = rng.random(n) < 0.005

    # Metrics: rating per host; link sellers have rating without traffic.
    dr_h = np.where(
        hosts[LABEL].to_numpy() == 1,
        np.where(rng.random(n_hosts) < 0.5, 100 * rng.beta(1.5, 4, n_hosts), 100 * rng.beta(2, 3, n_hosts)),
        100 * rng.beta(2, 3, n_hosts),
    )
    dr = np.round(dr_h[host_id])
    seller_dr = np.round(100 * rng.beta(5, 5, n_hosts))[host_id]
    dr = np.where(seller, seller_dr, dr)
    log_traffic_h = rng.normal(0.0, 0.8, n_hosts)[host_id]
    log_traffic = np.where(seller, 0.5 + 0.7 * log_traffic_h, 0.5 + dr / 20 + log_traffic_h)
    domain_traffic = np.floor(10**log_traffic - 1).clip(0)
    page_traffic = np.floor(domain_traffic * 10 ** rng.normal(-2.0, 0.7, n)).clip(0)
    page_rating = np.round(dr * rng.uniform(0.2, 0.8, n))
    external = np.round(np.exp(rng.normal(np.log(p("external_links_median")), 1.0)))
    internal = np.round(np.exp(rng.normal(np.log(60.0), 0.8, n)))
    http = np.where(rng.random(n) < 0.95, 200.0, np.array([301.0, 302.0, 404.0])[rng.integers(3, size=n)])

    # Dates: first seen within 3 years, or within 90 days for a burst host.
    age_days = np.where(burst, rng.integers(0, 90, size=n), rng.integers(0, 3 * 365, size=n))
    first_seen = REFERENCE_DATE - pd.to_timedelta(age_days, unit="D")
    lost = rng.random(n) < p("lost")
    seen_span = np.floor(rng.random(n) * (age_days + 1)).astype(int)
    last_seen = np.where(lost, first_seen + pd.to_timedelta(seen_span, unit="D"), REFERENCE_DATE - pd.to_timedelta(rng.integers(0, 14, size=n), unit="D"))

    out = pd.DataFrame(
        {
            S.SOURCE_FILE: h[S.SOURCE_FILE].to_numpy(),
            S.SOURCE_ROW: h[S.SOURCE_ROW].to_numpy(),
            S.SOURCE_URL: source_url,
            S.TARGET_URL: target_url,
            S.ANCHOR: anchor,
            S.NOFOLLOW: nofollow,
            S.UGC: ugc,
            S.SPONSORED: sponsored,
            S.IMAGE: image,
            S.SITEWIDE: sitewide,
            S.REDIRECT: redirect,
            S.FRAME: frame,
            S.FORM: form,
            S.TEXT_LINK: ~image,
            S.CONTENT_LINK: content,
            S.LOST: lost,
            S.NEW_LINK: age_days <= 30,
            S.FIRST_SEEN: first_seen,
            S.LAST_SEEN: pd.DatetimeIndex(last_seen),
            S.PAGE_TITLE: title,
            S.DOMAIN_RATING: dr,
            S.PAGE_RATING: page_rating,
            S.EXTERNAL_LINKS: external,
            S.INTERNAL_LINKS: internal,
            S.DOMAIN_TRAFFIC: domain_traffic,
            S.PAGE_TRAFFIC: page_traffic,
            S.HTTP_CODE: http,
        }
    )
    out = S.conform(out)
    for c in (LABEL, LABEL_SOURCE, GROUP, LABEL_NOTE):
        out[c] = h[c].to_numpy()
    out[SIMULATED] = True
    return out


# --- the labelled links table -------------------------------------------------------------------
def build_base_links(
    seed: int = 0,
    simulate: bool = True,
    *,
    sim_fraction: float = 0.5,
    mean_links: float = 4.0,
    www_rate: float = 0.5,
    spam_share: float = 0.5,
    ledger: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The labelled training links: canonical columns + :data:`EXTRA_COLUMNS`.

    Parameters
    ----------
    seed : int
        Seeds caps, ``www.`` re-adding and the simulation; same seed = identical frame.
    simulate : bool
        False gives the real-only (domain) dataset: one root-URL row per host.
    sim_fraction : float
        Share of hosts (of both classes alike) that get simulated links.
    mean_links : float
        Mean number of simulated links of a simulated host (geometric, capped at 12).
    www_rate : float
        Share of subdomain-less hosts written with ``www.``, independent of the label.
    spam_share : float
        Share of the total weight carried by spam rows.
    ledger : DataFrame or None
        A :func:`host_ledger` built with the same *seed*, to avoid rebuilding it.

    Returns
    -------
    DataFrame, shape (n_rows, len(schema.COLUMNS) + 6), RangeIndex, rows sorted by source,
    group, host, real row first.
    """
    led = host_ledger(seed=seed) if ledger is None else ledger
    kept = led[led["status"].eq("kept")].reset_index(drop=True)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
    no_sub = kept["host"].eq(kept["group"]).to_numpy()
    www = no_sub & (rng.random(len(kept)) < www_rate)
    url_host = np.where(www, "www." + kept["host"].to_numpy(dtype=object), kept["host"].to_numpy(dtype=object))
    hosts = pd.DataFrame(
        {
            "url_host": url_host,
            S.SOURCE_FILE: "data/labels/" + kept["file"].to_numpy(dtype=object),
            S.SOURCE_ROW: kept["line"].to_numpy(),
            LABEL: kept["label"].to_numpy(),
            LABEL_SOURCE: kept["source"].to_numpy(dtype=object),
            GROUP: kept["group"].to_numpy(dtype=object),
            LABEL_NOTE: kept["note"].to_numpy(dtype=object),
        }
    )
    real = S.conform(
        pd.DataFrame(
            {
                S.SOURCE_FILE: hosts[S.SOURCE_FILE],
                S.SOURCE_ROW: hosts[S.SOURCE_ROW],
                S.SOURCE_URL: "https://" + hosts["url_host"] + "/",
            }
        )
    )
    for c in (LABEL, LABEL_SOURCE, GROUP, LABEL_NOTE):
        real[c] = hosts[c].to_numpy()
    real[SIMULATED] = False
    frames = [real]
    if simulate:
        frames.append(_simulate(hosts, seed=seed, sim_fraction=sim_fraction, mean_links=mean_links))
    out = pd.concat(frames, ignore_index=True)
    out[LABEL] = out[LABEL].astype("int8")
    out[LABEL_SOURCE] = out[LABEL_SOURCE].astype("string")
    out[GROUP] = out[GROUP].astype("string")
    out[LABEL_NOTE] = out[LABEL_NOTE].astype("string")
    out[SIMULATED] = out[SIMULATED].astype(bool)
    order = pd.Categorical(out[LABEL_SOURCE], categories=SOURCE_NAMES, ordered=True)
    out = (
        out.assign(_src=order.codes)
        .sort_values(["_src", GROUP, S.SOURCE_ROW, SIMULATED], kind="stable")
        .drop(columns="_src")
        .reset_index(drop=True)
    )
    out[WEIGHT] = assign_weights(out, spam_share=spam_share)
    return out[list(S.COLUMNS) + list(EXTRA_COLUMNS)]


def assign_weights(frame: pd.DataFrame, *, shares: dict[str, float] | None = None, spam_share: float = 0.5) -> pd.Series:
    """Sample weights: class totals ``spam_share`` / ``1 - spam_share``, each source its share
    of its class, every registrable domain of a source weighing the same.

    Call again after subsetting a frame (e.g. on a training split) to restore the balance.

    Parameters
    ----------
    frame : DataFrame with :data:`LABEL`, :data:`LABEL_SOURCE`, :data:`GROUP`.
    shares : dict or None
        {source name: share of its class}; default :data:`SOURCES` shares, renormalised over
        the sources present in *frame*.

    Returns
    -------
    Series of float64, shape (n,), mean 1 over *frame*.
    """
    n = len(frame)
    if n == 0:
        return pd.Series(dtype="float64", index=frame.index)
    shares = dict(shares) if shares is not None else {s.name: s.share for s in SOURCES}
    src = frame[LABEL_SOURCE].astype(str)
    label = frame[LABEL].astype(int)
    present = src.unique()
    missing = set(present) - set(shares)
    if missing:
        raise KeyError(f"no weight share for sources {sorted(missing)}")
    class_total = {1: spam_share * n, 0: (1 - spam_share) * n}
    class_share_sum = {c: sum(shares[s] for s in set(src[label == c])) for c in (0, 1)}
    if not (label == 1).any() or not (label == 0).any():
        class_total = {c: float(n) for c in (0, 1)}  # one class only: shares within it
    group_rows = frame.groupby([src, frame[GROUP].astype(str)], sort=False)[LABEL].transform("size")
    groups_in_source = frame.groupby(src, sort=False)[GROUP].transform("nunique")
    share = src.map(shares) / label.map(class_share_sum)
    w = label.map(class_total) * share / groups_in_source / group_rows
    return w.astype("float64").rename(WEIGHT)


def mask_simulated(frame: pd.DataFrame) -> pd.DataFrame:
    """Test-time view: on simulated rows every simulated attribute is set missing.

    The source URL is kept: its host is real and its path was drawn independently of the
    label. Provenance and extra columns are kept; the rows stay flagged ``simulated``.

    Returns
    -------
    DataFrame, same shape and index as *frame*.
    """
    out = frame.copy()
    sim = out[SIMULATED].to_numpy(dtype=bool)
    keep = set(S.PROVENANCE) | {S.SOURCE_URL}
    for c in S.COLUMNS:
        if c in keep or c not in out.columns:
            continue
        col = out[c].copy()
        col[sim] = pd.NA if S.DTYPES[c] in ("string", "boolean") else None
        out[c] = col.astype(S.DTYPES[c])
    return out


# --- splits ----------------------------------------------------------------------------------------
def _group_home(frame: pd.DataFrame) -> pd.Series:
    """Source of each group (the first in :data:`SOURCES` order), indexed by group."""
    codes = pd.Categorical(frame[LABEL_SOURCE], categories=SOURCE_NAMES, ordered=True).codes
    first = pd.Series(codes, index=frame.index).groupby(frame[GROUP].astype(str), sort=True).min()
    return first.map(lambda c: SOURCE_NAMES[c] if c >= 0 else "")


def _pick_test_groups(groups_by_source: pd.Series, test_size: float, seed: int) -> set[str]:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 4]))
    test = set()
    for src, groups in groups_by_source.groupby(groups_by_source.values, sort=True):
        g = np.array(sorted(groups.index), dtype=object)
        n_test = int(round(test_size * len(g)))
        test.update(rng.permutation(g)[:n_test])
    return test


def grouped_split(frame: pd.DataFrame, test_size: float = 0.2, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train/test split in which no registrable domain (:data:`GROUP`) is on both sides.

    Groups are stratified by source: ``round(test_size * n_groups)`` groups of each list go
    to the test side, so every list is represented in both parts in proportion.

    Returns
    -------
    (train, test) : DataFrames, row subsets of *frame* (index kept; weights not recomputed,
    see :func:`assign_weights`).
    """
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be in (0, 1), got {test_size}")
    test_groups = _pick_test_groups(_group_home(frame), test_size, seed)
    in_test = frame[GROUP].astype(str).isin(test_groups).to_numpy()
    return frame[~in_test], frame[in_test]


def source_split(
    frame: pd.DataFrame,
    train_sources,
    test_sources,
    *,
    test_size: float = 0.2,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split by list: train on *train_sources*, test on *test_sources*.

    Rows of the named lists go to their side; rows of the other lists (typically the clean
    ones) are split by group as in :func:`grouped_split`. E.g.
    ``source_split(df, ["matomo-referrer-spam"], ["spamdexing"])`` measures how the model
    generalises to a spam list it never saw. A group that has rows in both named sets stays
    on the train side (its test rows are dropped), so no group is on both sides.

    Returns
    -------
    (train, test) : DataFrames, row subsets of *frame*.
    """
    train_sources, test_sources = set(train_sources), set(test_sources)
    unknown = (train_sources | test_sources) - set(SOURCE_NAMES)
    if unknown:
        raise KeyError(f"unknown sources {sorted(unknown)}")
    if train_sources & test_sources:
        raise ValueError(f"sources on both sides: {sorted(train_sources & test_sources)}")
    src = frame[LABEL_SOURCE].astype(str)
    grp = frame[GROUP].astype(str)
    named_train, named_test = src.isin(train_sources), src.isin(test_sources)
    other = ~(named_train | named_test)
    train_groups = set(grp[named_train])
    fixed_test = set(grp[named_test]) - train_groups
    free = frame[other & ~grp.isin(train_groups | fixed_test)]
    picked = _pick_test_groups(_group_home(free), test_size, seed) if len(free) else set()
    in_train = named_train | (other & ~grp.isin(fixed_test | picked))
    in_test = (named_test & grp.isin(fixed_test)) | (other & grp.isin(fixed_test | picked))
    return frame[in_train.to_numpy()], frame[in_test.to_numpy()]


# --- reporting and hashing ---------------------------------------------------------------------
def source_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-source counts and weights.

    Returns
    -------
    DataFrame indexed by source (:data:`SOURCES` order): ``label``, ``rows``, ``real_rows``,
    ``simulated_rows``, ``groups``, ``weight_sum``, ``class_weight_share`` (share of its
    class's weight), ``institutional_groups`` (groups on .gov/.edu/ac.* ... suffixes).
    """
    src = frame[LABEL_SOURCE].astype(str)
    sim = frame[SIMULATED].astype(bool)
    info = urls.host_table(frame[GROUP])
    inst = pd.Series(_institutional(info["suffix"]), index=info.index)
    g = frame.assign(_src=src, _sim=sim, _inst=frame[GROUP].map(inst).astype(bool))
    out = g.groupby("_src", sort=False).agg(
        label=(LABEL, "first"),
        rows=(LABEL, "size"),
        simulated_rows=("_sim", "sum"),
        groups=(GROUP, "nunique"),
        weight_sum=(WEIGHT, "sum"),
    )
    out.insert(2, "real_rows", out["rows"] - out["simulated_rows"])
    out["class_weight_share"] = out["weight_sum"] / out.groupby("label")["weight_sum"].transform("sum")
    out["institutional_groups"] = g[g["_inst"]].groupby("_src")[GROUP].nunique().reindex(out.index).fillna(0).astype(int)
    out.index.name = LABEL_SOURCE
    return out.reindex([s for s in SOURCE_NAMES if s in out.index])


def shortcut_audit(frame: pd.DataFrame) -> dict:
    """Shares by class of host properties that come from how the lists were compiled.

    Returns
    -------
    dict: ``institutional_share_of_clean_weight``, ``institutional_share_of_clean_rows``,
    ``www_share`` {spam, clean}, ``subdomain_share`` {spam, clean} (real rows, non-www
    subdomain), ``top_suffixes`` {spam, clean: {suffix: real-row count}} (10 each).
    """
    real = frame[~frame[SIMULATED].astype(bool)]
    host = urls.hosts_of(real[S.SOURCE_URL])
    info = urls.host_table(host)
    suffix = host.map(info["suffix"])
    sub = host.map(info["subdomain"]).fillna("").str.replace(r"^www\d*\.?", "", regex=True).ne("")
    inst_all = pd.Series(_institutional(frame[GROUP].map(urls.host_table(frame[GROUP])["suffix"])), index=frame.index)
    clean = frame[LABEL].eq(0)
    by = real[LABEL].map({1: "spam", 0: "clean"})
    return {
        "institutional_share_of_clean_weight": float(frame.loc[clean & inst_all, WEIGHT].sum() / frame.loc[clean, WEIGHT].sum()),
        "institutional_share_of_clean_rows": float((clean & inst_all).sum() / clean.sum()),
        "www_share": {k: float(v) for k, v in host.str.startswith("www.").groupby(by).mean().items()},
        "subdomain_share": {k: float(v) for k, v in sub.groupby(by).mean().items()},
        "top_suffixes": {k: {str(s): int(c) for s, c in suffix[by.eq(k)].value_counts().head(10).items()} for k in ("spam", "clean")},
    }


def dataset_hash(frame: pd.DataFrame) -> str:
    """sha256 of a canonical serialisation (column names, dtypes, values; index ignored).

    Missing values serialise as ``\\N`` so an empty anchor differs from a missing one;
    floats use Python's shortest round-trip repr, dates ISO 8601.
    """
    h = hashlib.sha256()
    h.update(("\t".join(f"{c}:{frame[c].dtype}" for c in frame.columns) + "\n").encode())
    buf = io.StringIO()
    frame.to_csv(buf, index=False, header=False, sep="\t", na_rep="\\N", lineterminator="\n", date_format="%Y-%m-%dT%H:%M:%S")
    h.update(buf.getvalue().encode("utf-8"))
    return h.hexdigest()

"""The labelled base data: public host lists turned into labelled host rows.

Thirteen public lists (seven spam, six clean; provenance and licences in
``data/SOURCES.md``) name *hosts* with a label. They are third-party data kept outside the
repository: ``training/`` reads them from the team's ``shared/data`` folder and passes the
folder in (:func:`host_ledger`); the package knows no default location. What the package
ships is derived: the model, and the base rows as a table of *features and labels* with no
host names (:func:`save_base_table` / :func:`load_base_table`, ``models/toxlink-base.csv.gz``)
so that ``toxlink train`` can mix them into a user's labels.

Assumptions and choices
-----------------------
Hosts
    Entries are lower-cased, punycoded and stripped of a leading ``www``. *Clean* hosts are
    collapsed to their registrable domain (the clean lists name hosts as cited, e.g.
    ``en.wikipedia.org``, and "has a subdomain = clean" must not become a feature); spam
    hosts are kept as listed (a listed spam subdomain is usually a hacked site).
Platforms
    A platform root on a clean list (``github.com``, ``medium.com``) says nothing about its
    users' pages and is dropped; so is a platform root on a spam list. A user site on a
    Public-Suffix-List private suffix (``name.github.io``) is its own registrable domain and
    is kept. Platforms are ``data/free_hosts.txt`` plus :data:`UGC_PLATFORMS`.
Label noise
    A registrable domain listed on both sides is dropped from both. Kept spam entries on
    institutional suffixes and kept spam subdomains get a ``label_note``;
    :func:`noise_report` counts them for the model card.
Balance
    Large lists are capped (:data:`SOURCES` ``cap``, registrable domains sampled with the
    seed): evaluation leaves one list out at a time, so a list's size must not decide what
    the model learns, and the cap keeps training fast. Every list carries the same share of
    its class's weight, the classes weigh 50/50, and inside a list every registrable domain
    weighs the same (:func:`assign_weights`).
Rows
    One row per kept host, ``source_url = https://host/``, every other column missing: the
    lists give host names only, so only host-name signals are learnt from them. Nothing is
    simulated.

Extra columns (never features): :data:`LABEL` (1 spam, 0 clean), :data:`LABEL_SOURCE`,
:data:`GROUP` (registrable domain, the unit of every split), :data:`WEIGHT`,
:data:`LABEL_NOTE`.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from toxlink import schema as S
from toxlink import urls
from toxlink.resources import models_path, word_list

# --- extra columns of the labelled table ------------------------------------------------
LABEL = "label"  # 1 spam, 0 clean
LABEL_SOURCE = "label_source"  # name of the list the host's label comes from
GROUP = "group"  # registrable domain of the host: the unit of every split
WEIGHT = "weight"  # sample weight (mean 1 over the built frame)
LABEL_NOTE = "label_note"  # why the label may be noisy, NA when nothing is known
EXTRA_COLUMNS = (LABEL, LABEL_SOURCE, GROUP, WEIGHT, LABEL_NOTE)

#: File name of the derived base table in ``models/``.
BASE_TABLE = "toxlink-base.csv.gz"


@dataclass(frozen=True)
class ListSource:
    """One public list.

    Attributes
    ----------
    name : str
        Value of :data:`LABEL_SOURCE`.
    file : str
        File name in the lists folder.
    label : int
        1 spam, 0 clean.
    cap : int or None
        At most this many registrable domains are kept (seeded sample).
    """

    name: str
    file: str
    label: int
    cap: int | None = None


#: The lists, in priority order: a host kept from an earlier list is a duplicate in a later
#: one (same class only: a host on both sides is dropped). Wikipedia comes first among the
#: clean lists (a head site another list links to is a head site), the capped institutional
#: lists last, so the caps, not the deduplication, decide how many of them remain.
SOURCES: tuple[ListSource, ...] = (
    ListSource("matomo-referrer-spam", "spam-matomo-referrer.txt", 1),
    ListSource("spamdexing", "spam-spamdexing.txt", 1),
    ListSource("content-farms", "spam-content-farms.txt", 1, cap=5000),
    ListSource("copycat-scrapers", "spam-copycat-scrapers.txt", 1),
    ListSource("wikimedia-blacklist", "spam-wikimedia-blacklist.txt", 1, cap=5000),
    ListSource("seo-networks", "spam-seo-networks.txt", 1),
    ListSource("community-disavow", "spam-community-disavow.txt", 1, cap=5000),
    ListSource("wikipedia-cited", "clean-wikipedia-cited.tsv", 0, cap=5000),
    ListSource("awesome-selfhosted", "clean-awesome-selfhosted.txt", 0),
    ListSource("512kb-club", "clean-512kb-club.txt", 0),
    ListSource("smallweb-blogs", "clean-smallweb-blogs.txt", 0, cap=6000),
    ListSource("universities", "clean-universities.tsv", 0, cap=3000),
    ListSource("dotgov", "clean-dotgov.csv", 0, cap=2000),
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
    change.org meetup.com eventbrite.com wattpad.com substack.com""".split()
)

#: Label components of an ICANN suffix that mark institutional (sponsored / restricted)
#: namespaces: ``gov``, ``gov.uk``, ``edu.au``, ``ac.jp``, ``go.kr``, ``gob.mx``, ``mil``.
INSTITUTIONAL_LABELS = frozenset({"gov", "edu", "ac", "mil", "gob", "gouv", "go", "govt", "int", "k12"})


# --- reading the lists ---------------------------------------------------------------------
def read_list(source: ListSource | str, lists_dir: str | os.PathLike) -> pd.DataFrame:
    """Entries of one list as published, with their line numbers.

    *lists_dir* is the folder holding the lists (the team's ``shared/data``; the package
    ships no copy and knows no default).

    Returns
    -------
    DataFrame, shape (n_entries, 2): ``entry`` (str, as written), ``line`` (int, 1-based
    line in the file; the CSV header is line 1).
    """
    src = _source(source)
    path = Path(lists_dir) / src.file
    if not path.is_file():
        raise FileNotFoundError(f"list {src.file} not found in {lists_dir}")
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
def host_ledger(
    lists_dir: str | os.PathLike, *, seed: int = 0, sources: tuple[ListSource, ...] | None = None, collapse_clean: bool = False
) -> pd.DataFrame:
    """Every list entry with its normalised host, label and fate (kept or why dropped).

    Parameters
    ----------
    lists_dir : path
        Folder of the list files (see :func:`read_list`).
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
    sources = SOURCES if sources is None else sources
    parts = []
    for src in sources:
        lst = read_list(src, lists_dir)
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
    if collapse_clean:
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


def noise_report(ledger: pd.DataFrame) -> dict:
    """Label-noise and filtering figures for the model card.

    Parameters
    ----------
    ledger : DataFrame
        From :func:`host_ledger`.

    Returns
    -------
    dict with ``entries`` / ``kept`` per source, ``dropped`` {source: {reason: count}},
    ``listed_on_both_sides`` (registrable domains, sorted), ``institutional_spam`` and
    ``subdomain_spam`` (kept spam hosts, sorted), ``platform_clean_dropped`` (count),
    ``platform_user_sites_kept`` {label: count} (user sites on PSL private suffixes kept).
    """
    led = ledger
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




# --- the labelled host rows --------------------------------------------------------------------
def host_links(ledger: pd.DataFrame) -> pd.DataFrame:
    """One canonical links row per kept host of *ledger*, plus :data:`EXTRA_COLUMNS`.

    Returns
    -------
    DataFrame, shape (n_kept, len(schema.COLUMNS) + 5), RangeIndex, in ledger order:
    ``source_url = https://host/``, every other link attribute missing; weights from
    :func:`assign_weights`.
    """
    kept = ledger[ledger["status"].eq("kept")].reset_index(drop=True)
    out = S.conform(
        pd.DataFrame(
            {
                S.SOURCE_FILE: kept["file"].to_numpy(dtype=object),
                S.SOURCE_ROW: kept["line"].to_numpy(),
                S.SOURCE_URL: "https://" + kept["host"].astype(str) + "/",
            }
        )
    )
    out[LABEL] = kept["label"].astype("int8").to_numpy()
    out[LABEL_SOURCE] = kept["source"].astype("string").to_numpy()
    out[GROUP] = kept["group"].astype("string").to_numpy()
    out[LABEL_NOTE] = kept["note"].astype("string").to_numpy()
    out[WEIGHT] = assign_weights(out).to_numpy()
    return out[list(S.COLUMNS) + list(EXTRA_COLUMNS)]


def assign_weights(frame: pd.DataFrame, *, shares: dict[str, float] | None = None, spam_share: float = 0.5) -> pd.Series:
    """Sample weights: class totals ``spam_share`` / ``1 - spam_share``, each source its share
    of its class (by default equal), every registrable domain of a source weighing the same.

    Call again after subsetting a frame (e.g. on a training split) to restore the balance.

    Parameters
    ----------
    frame : DataFrame with :data:`LABEL`, :data:`LABEL_SOURCE`, :data:`GROUP`.
    shares : dict or None
        {source name: share of its class}; default: every source present the same share.

    Returns
    -------
    Series of float64, shape (n,), mean 1 over *frame*.
    """
    n = len(frame)
    if n == 0:
        return pd.Series(dtype="float64", index=frame.index)
    src = frame[LABEL_SOURCE].astype(str)
    shares = dict(shares) if shares is not None else {s: 1.0 for s in src.unique()}
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




# --- the derived base table shipped in models/ ---------------------------------------------------
def save_base_table(X: pd.DataFrame, y, w, groups, sources, path: str | os.PathLike) -> Path:
    """Write the base rows as features and labels only (no host names), gzip CSV.

    Feature columns that are missing on every row are left out (they load as NaN). Groups
    are written as integer codes: they keep the grouped folds of ``toxlink train`` honest
    without naming a domain. The file is byte-identical for identical inputs (gzip mtime 0).

    Parameters
    ----------
    X : DataFrame, shape (n, f) of features; y, w, groups, sources : array-like, shape (n,)

    Returns
    -------
    Path written.
    """
    keep = [c for c in X.columns if X[c].notna().any()]
    codes = pd.factorize(pd.Series(groups, dtype="string"), sort=False)[0]
    table = pd.DataFrame({LABEL: np.asarray(y, int), WEIGHT: np.round(np.asarray(w, float), 6),
                          GROUP: codes, LABEL_SOURCE: np.asarray(sources, dtype=object)})
    table = pd.concat([table, X[keep].reset_index(drop=True).astype("float32")], axis=1)
    path = Path(path)
    text = table.to_csv(index=False, lineterminator="\n", float_format="%.6g")
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as fh:
        fh.write(text.encode("utf-8"))
    return path


def load_base_table(feature_names, path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The shipped base rows: *feature_names* columns (float32) + label, weight, group, source.

    Raises
    ------
    ValueError
        The table holds a feature that *feature_names* lacks: it was built for another
        feature list and would train a model on different inputs.
    """
    path = models_path(BASE_TABLE) if path is None else Path(path)
    table = pd.read_csv(path, compression="gzip", dtype={LABEL_SOURCE: "string"})
    meta = [LABEL, WEIGHT, GROUP, LABEL_SOURCE]
    stray = [c for c in table.columns if c not in meta and c not in set(feature_names)]
    if stray:
        raise ValueError(f"{path} was built for another feature list (unknown features {stray[:5]})")
    X = table.reindex(columns=list(feature_names)).astype("float32")
    out = pd.concat([X, table[meta]], axis=1)
    out[GROUP] = "base:" + out[GROUP].astype(str)
    return out


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

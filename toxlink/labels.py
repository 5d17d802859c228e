"""A user's own labels for retraining, joined to the links of their exports.

Three sources of labels, in decreasing precedence (the first that names a link wins):

1. **Link labels** in a labels file: a row naming a source URL (optionally with a target URL)
   labels exactly that link (or every link from that page when no target is given).
2. **Domain labels** in a labels file: ``domain`` (or a URL cell written ``domain:x.com``)
   labels every link from that host and its subdomains, as Google reads ``domain:`` entries.
   When several domain labels cover a host, the most specific (longest) one wins.
3. **Whitelist** (``toxlink.policy.Whitelist``): links it covers are ``ok`` (0) — a whitelist
   is a deliberate "keep", so it overrides an old disavow entry.
4. **Past disavow file** (``toxlink.disavow.DisavowFile``): links whose URL or domain the file
   disavows are ``toxic`` (1).

Every other link is *unlabelled*: it is not used as a training example, but it stays in the
export so that profile features (how a referring domain links across the whole export) are
computed from the whole profile, and it is counted in the summary. Rows that cannot be scored
(``row_issue``) or repeat an earlier row (``duplicate_of``) are never labelled.

URLs are compared after :func:`toxlink.disavow.normalise_urls` (lower-case scheme and host,
punycode, default port dropped) and *ignoring the scheme*: a label on ``http://x.com/a``
also labels ``https://x.com/a``, since it is the same page to the user.

Labels file format
------------------
CSV (comma, semicolon or tab; UTF-8, optional BOM), one label per row, with a header naming
the columns (case and spaces do not matter):

- link: ``source_url`` | ``url`` | ``source`` | ``link`` | ``referring page url``
- target (optional): ``target_url`` | ``target``
- domain (optional): ``domain`` | ``referring domain`` | ``host``
- label: ``label`` | ``verdict`` | ``class``

Label values: ``toxic``/``1``/``disavow``/``spam``/``bad`` and ``ok``/``0``/``keep``/``good``/
``clean``. A file without a header is read as ``item,label`` or ``source,target,label``, where
``item`` is a URL, ``domain:x.com`` or a bare domain. Blank lines and lines starting with ``#``
are skipped. Errors (:class:`LabelError`) name the file and line.

toxlink's own outputs are labels files too: ``domains.csv`` or ``links.csv`` of ``toxlink score``
with a ``decision`` column the user added and filled in (``toxic`` / ``ok``; blank = not
decided, skipped). A row of ``domains.csv`` labels every link from that domain; a row of
``links.csv`` labels that link (source and target URL).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from toxlink import schema as S
from toxlink import urls
from toxlink.sites import covering_domains

__all__ = ["LabelError", "read_labels", "label_links", "LabelResult", "TOXIC", "OK"]

TOXIC = frozenset({"toxic", "1", "disavow", "spam", "bad", "1.0"})
OK = frozenset({"ok", "0", "keep", "good", "clean", "0.0"})

_LINK_COLS = {"source_url", "url", "source", "link", "referring_page_url", "source_page", "backlink"}
_TARGET_COLS = {"target_url", "target", "target_page"}
_DOMAIN_COLS = {"domain", "referring_domain", "host", "source_domain"}
_LABEL_COLS = {"label", "verdict", "class", "is_toxic"}

#: Columns of the table :func:`read_labels` returns.
KIND, ITEM, TARGET, LABEL_VALUE, LINE = "kind", "item", "target", "label", "line"
#: The column a user fills in toxlink's own ``links.csv`` or ``domains.csv`` to label it.
DECISION = "decision"
ORIGIN = "label_origin"


class LabelError(ValueError):
    """A labels file that cannot be read; ``str()`` names the file and line."""

    def __init__(self, path, reason: str, line: int | None = None):
        self.path, self.line, self.reason = str(path), line, reason
        where = f"{self.path}, line {line}" if line else self.path
        super().__init__(f"{where}: {reason}")


def _norm_col(name: str) -> str:
    return "_".join(name.strip().lstrip("\ufeff").lower().replace("-", " ").split())


def _parse_label(value: str, path, line: int) -> int:
    v = value.strip().lower()
    if v in TOXIC:
        return 1
    if v in OK:
        return 0
    raise LabelError(path, f"unknown label {value.strip()!r} (use toxic/ok, 1/0 or disavow/keep)", line)


def read_labels(path: str | os.PathLike) -> pd.DataFrame:
    """Read a labels file (see the module docstring).

    Returns
    -------
    DataFrame, shape (n, 5)
        ``kind`` (``"link"`` or ``"domain"``), ``item`` (URL or normalised host), ``target``
        (target URL or NA), ``label`` (1 toxic / 0 ok), ``line`` (1-based line in the file).

    Raises
    ------
    LabelError
        Unreadable file, unknown column layout, unknown label value, empty link and domain,
        or a domain that is not a host name; the message names the file and line.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise LabelError(path, "file not found") from None
    except UnicodeDecodeError as e:
        raise LabelError(path, f"not UTF-8 text (byte {e.start})") from None
    lines = [(i, ln) for i, ln in enumerate(text.splitlines(), start=1) if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise LabelError(path, "no labels in file")
    try:
        dialect = csv.Sniffer().sniff("\n".join(ln for _, ln in lines[:20]), delimiters=",;\t")
        delim = dialect.delimiter
    except csv.Error:
        delim = ","
    rows = [(i, r) for (i, ln) in lines for r in csv.reader(io.StringIO(ln), delimiter=delim)]
    first_line, first = rows[0]
    names = [_norm_col(c) for c in first]
    # toxlink's own links.csv / domains.csv with the user's ``decision`` column filled in:
    # that column is the label, whatever else the file holds, and a blank cell is unlabelled
    decision_at = names.index(DECISION) if DECISION in names else None
    label_at = decision_at if decision_at is not None else next((j for j, c in enumerate(names) if c in _LABEL_COLS), None)
    if first and first[-1].strip().lower() in TOXIC | OK:
        label_at = None  # the first row is already a label row: no header
    if label_at is not None:
        link_at = next((j for j, c in enumerate(names) if c in _LINK_COLS), None)
        target_at = next((j for j, c in enumerate(names) if c in _TARGET_COLS), None)
        domain_at = next((j for j, c in enumerate(names) if c in _DOMAIN_COLS), None)
        if link_at is None and domain_at is None:
            raise LabelError(path, f"header names no link or domain column (got {first}; use source_url and/or domain)", first_line)
        body = rows[1:]
    else:
        # headerless: item,label or source,target,label
        if len(first) == 2:
            link_at, target_at, label_at = 0, None, 1
        elif len(first) == 3:
            link_at, target_at, label_at = 0, 1, 2
        else:
            raise LabelError(path, f"no header with a 'label' column and {len(first)} fields (expected url,label or source,target,label)", first_line)
        if first[label_at].strip().lower() not in TOXIC | OK:
            raise LabelError(path, f"no header with a 'label' column, and {first[label_at]!r} is not a label", first_line)
        domain_at = None
        body = rows

    out = {KIND: [], ITEM: [], TARGET: [], LABEL_VALUE: [], LINE: []}
    for line, r in body:
        get = lambda j: (r[j].strip() if j is not None and j < len(r) else "")  # noqa: E731
        if decision_at is not None and not get(decision_at):
            continue  # not decided yet
        if label_at >= len(r):
            raise LabelError(path, f"row has {len(r)} fields, the label is column {label_at + 1}", line)
        lab = _parse_label(r[label_at], path, line)
        link, dom, target = get(link_at), get(domain_at), get(target_at)
        if link.lower().startswith("domain:"):
            link, dom = "", link[len("domain:"):].strip()
        elif link and "/" not in link and "." in link and not target and " " not in link and domain_at is None and label_at == 1:
            # headerless "example.com,toxic": a bare host is a domain label
            link, dom = "", link
        if link:
            out[KIND].append("link")
            out[ITEM].append(link)
            out[TARGET].append(target or None)
        elif dom:
            out[KIND].append("domain")
            out[ITEM].append(dom)
            out[TARGET].append(None)
        else:
            raise LabelError(path, "row names neither a link nor a domain", line)
        out[LABEL_VALUE].append(lab)
        out[LINE].append(line)
    if not out[LINE]:
        raise LabelError(path, f"no decision filled in (write toxic or ok in the {DECISION!r} column)")
    frame = pd.DataFrame(out).astype({KIND: "string", ITEM: "string", TARGET: "string", LABEL_VALUE: "int8", LINE: "int64"})
    is_dom = frame[KIND] == "domain"
    if is_dom.any():
        raw = frame.loc[is_dom, ITEM]
        # a URL in the domain column means its host
        has_scheme = raw.str.contains("://", regex=False)
        hosts = raw.where(~has_scheme, urls.hosts_of(raw.where(has_scheme, "http://x")))
        hosts = urls.normalise_hosts(hosts.str.strip().str.lower().str.rstrip("/"))
        bad = hosts.isna() | ~hosts.fillna("").str.fullmatch(r"[a-z0-9._\-\[\]:]+") | ~hosts.fillna("").str.contains(".", regex=False)
        if bad.any():
            i = bad[bad].index[0]
            raise LabelError(path, f"{frame.at[i, ITEM]!r} is not a domain name", int(frame.at[i, LINE]))
        frame.loc[is_dom, ITEM] = hosts
    is_link = ~is_dom
    if is_link.any():
        issues = urls.url_issues(frame.loc[is_link, ITEM])
        if issues.notna().any():
            i = issues[issues.notna()].index[0]
            raise LabelError(path, f"cannot use URL {frame.at[i, ITEM]!r}: {issues[i]}", int(frame.at[i, LINE]))
    return frame


def _url_key(u: pd.Series) -> pd.Series:
    """Scheme-less normalised URL: ``host[:port]/path[?query]``."""
    from toxlink.disavow import normalise_urls

    n = normalise_urls(u.astype("string"))
    return n.str.replace(r"^[a-z][a-z0-9+.\-]*://", "", regex=True)


@dataclass
class LabelResult:
    """Labels of an export's links.

    Attributes
    ----------
    label : Series of float, shape (n,)
        1.0 toxic, 0.0 ok, NaN unlabelled; same index as the links.
    origin : Series of string, shape (n,)
        ``"link label"``, ``"domain label"``, ``"whitelist"``, ``"disavow file"`` or NA.
    unmatched : DataFrame
        Rows of the labels file that matched no link of the exports (with their ``line``).
    """

    label: pd.Series
    origin: pd.Series
    unmatched: pd.DataFrame

    def counts(self) -> dict[str, int]:
        """Rows labelled toxic / ok / unlabelled, by origin, and unmatched label rows."""
        out = {
            "links": int(len(self.label)),
            "toxic": int((self.label == 1).sum()),
            "ok": int((self.label == 0).sum()),
            "unlabelled": int(self.label.isna().sum()),
            "unmatched_label_rows": int(len(self.unmatched)),
        }
        for k, v in self.origin.value_counts().items():
            out[f"from {k}"] = int(v)
        return out


def label_links(links: pd.DataFrame, labels=None, disavow=None, whitelist=None) -> LabelResult:
    """Label the links of an export from a labels file, a past disavow file and a whitelist.

    Parameters
    ----------
    links : DataFrame, shape (n, ...)
        Canonical links (:func:`toxlink.exports.read_export`).
    labels : path or DataFrame, optional
        A labels file (:func:`read_labels`) or its parsed table.
    disavow : path or ``toxlink.disavow.DisavowFile``, optional
        The user's past disavow file: links it covers are toxic.
    whitelist : path or ``toxlink.policy.Whitelist``, optional
        Links it covers are ok.

    Returns
    -------
    LabelResult
    """
    idx = links.index
    n = len(links)
    label = np.full(n, np.nan)
    origin = np.full(n, None, dtype=object)
    usable = np.ones(n, dtype=bool)
    for c in (S.ROW_ISSUE, S.DUPLICATE_OF):
        if c in links.columns:
            usable &= links[c].isna().to_numpy()
    src = links[S.SOURCE_URL].astype("string")
    hosts = (links[S.HOST].astype("string") if S.HOST in links.columns else urls.hosts_of(src)).fillna("")
    known_hosts = hosts.replace("", pd.NA)  # an empty host is under no domain
    need_keys = labels is not None or disavow is not None or whitelist is not None
    keys = _url_key(src).fillna("") if need_keys else None

    def assign(values: np.ndarray, mask: np.ndarray, name: str):
        # only rows not yet labelled by a higher-precedence source
        m = mask & usable & np.isnan(label)
        label[m] = values[m]
        origin[m] = name

    unmatched = pd.DataFrame(columns=[KIND, ITEM, TARGET, LABEL_VALUE, LINE])
    if labels is not None:
        table = labels if isinstance(labels, pd.DataFrame) else read_labels(labels)
        matched = np.zeros(len(table), dtype=bool)
        links_t = table[table[KIND] == "link"]
        if len(links_t):
            lk = _url_key(links_t[ITEM]).to_numpy()
            has_t = links_t[TARGET].notna().to_numpy()
            tk = np.where(has_t, _url_key(links_t[TARGET].fillna("http://x/")).to_numpy(), "")
            vals = links_t[LABEL_VALUE].to_numpy(float)
            # page + target labels first (more specific), then page-only labels; the last
            # row of the labels file wins when it repeats a link
            link_tk = (
                _url_key(links[S.TARGET_URL].astype("string")).fillna("")
                if S.TARGET_URL in links.columns
                else pd.Series("", index=idx, dtype="string")
            )
            pos = pd.Series(np.arange(len(links_t)))
            pair_key = pd.Series(lk, dtype="string") + "\x00" + pd.Series(tk, dtype="string")
            pair_map = pos[has_t].set_axis(pair_key[has_t]).groupby(level=0).last()
            page_map = pos[~has_t].set_axis(pd.Series(lk, dtype="string")[~has_t]).groupby(level=0).last()
            j_pair = (keys + "\x00" + link_tk).map(pair_map).to_numpy(float)
            j_page = keys.map(page_map).to_numpy(float)
            v_pair = np.where(np.isnan(j_pair), np.nan, vals[np.nan_to_num(j_pair).astype(int)])
            v_page = np.where(np.isnan(j_page), np.nan, vals[np.nan_to_num(j_page).astype(int)])
            hit_j = np.unique(np.r_[j_pair[~np.isnan(j_pair)], j_page[~np.isnan(j_page)]]).astype(int)
            matched[np.flatnonzero((table[KIND] == "link").to_numpy())[hit_j]] = True
            assign(v_pair, ~np.isnan(v_pair), "link label")
            assign(v_page, ~np.isnan(v_page), "link label")
        dom_t = table[table[KIND] == "domain"]
        if len(dom_t):
            dmap = dict(zip(dom_t[ITEM].tolist(), zip(dom_t[LABEL_VALUE].astype(float).tolist(), dom_t.index.tolist())))
            hit = pd.Series(covering_domains(known_hosts, dmap).to_pylist(), index=hosts.index, dtype=object)
            v = np.array(hit.map(lambda d: dmap[d][0] if isinstance(d, str) else np.nan), dtype=float)
            v[~usable] = np.nan
            for d in set(hit[usable & ~np.isnan(v)].dropna()):
                matched[table.index.get_loc(dmap[d][1])] = True
            assign(v, ~np.isnan(v), "domain label")
        unmatched = table[~matched]

    if whitelist is not None:
        if not hasattr(whitelist, "covers_host"):
            from toxlink.policy import Whitelist

            whitelist = Whitelist.read(whitelist)
        if hasattr(whitelist, "covers_links"):
            m = np.asarray(whitelist.covers_links(src, hosts.replace("", pd.NA)), dtype=bool)
        else:
            m = np.asarray(whitelist.covers_url(src.fillna("")), dtype=bool)
        assign(np.zeros(n), m, "whitelist")

    if disavow is not None:
        if not hasattr(disavow, "entries"):
            from toxlink.disavow import DisavowFile

            disavow = DisavowFile.read(disavow, strict=False)
        doms = {v: True for k, v in disavow.entries if k == "domain"}
        url_keys = set(_url_key(pd.Series([v for k, v in disavow.entries if k == "url"], dtype="string")).dropna())
        m = np.asarray(covering_domains(known_hosts, doms).is_valid())
        m |= keys.isin(url_keys).to_numpy(bool)
        assign(np.ones(n), m, "disavow file")

    return LabelResult(
        label=pd.Series(label, index=idx, name="label"),
        origin=pd.Series(origin, index=idx, name=ORIGIN, dtype="string"),
        unmatched=unmatched.reset_index(drop=True),
    )

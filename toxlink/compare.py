"""What moved between two audits: ``toxlink compare OLD_OUT NEW_OUT``.

Two output folders of ``toxlink score`` (their ``links.csv`` and ``domains.csv``) give one
*changes* table, a row per link or referring domain that is new, lost, or whose verdict
changed:

==================  ==========================================================================
``level``           ``domain`` or ``link``
``change``          ``new`` (only in the new audit), ``lost`` (only in the old one) or
                    ``verdict_changed`` (in both, another verdict)
``domain``          the referring domain (of the link, for a link row)
``source_url``      the referring page (link rows; empty for domain rows)
``target_url``      the page of the audited site it links to (link rows; empty for domain rows)
``verdict_before``  the old audit's verdict: a domain's ``action``, a link's ``band``; empty when new
``verdict_after``   the new audit's verdict; empty when lost
``risk_before``     the old risk (a domain's ``max_risk``, a link's ``risk``), 3 decimals
``risk_after``      the new risk, 3 decimals
==================  ==========================================================================

Rows come domains first, then links; within a level new, then verdict changes, then lost;
within those the riskiest first.

A link is its (source URL, target URL), matched as ``toxlink explain --url`` matches
(:func:`toxlink.urls.url_match_keys`: scheme, case and a trailing ``/`` aside). Several rows
of an export can be the same link (other anchors, duplicates): the link's verdict and risk
are those of its riskiest row, the one a reviewer acts on. A domain is its ``domain``.

:func:`compare_tables` is the pure function (tables in, changes out); :func:`read_run`
reads a run folder for it and :func:`compare_runs` does both.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from toxlink import schema as S
from toxlink.report.files import ReportError, check_run_files, read_text_csv
from toxlink.urls import url_match_keys

LEVEL, CHANGE = "level", "change"
VERDICT_BEFORE, VERDICT_AFTER = "verdict_before", "verdict_after"
RISK_BEFORE, RISK_AFTER = "risk_before", "risk_after"
#: Columns of the changes table (``changes.csv``), in order.
CHANGE_COLUMNS = (LEVEL, CHANGE, S.DOMAIN, S.SOURCE_URL, S.TARGET_URL, VERDICT_BEFORE, VERDICT_AFTER, RISK_BEFORE,
                  RISK_AFTER)
NEW, VERDICT_CHANGED, LOST = "new", "verdict_changed", "lost"
#: The kinds of change, in the order rows and counts are given.
CHANGES = (NEW, VERDICT_CHANGED, LOST)
DOMAIN_LEVEL, LINK_LEVEL = "domain", "link"

#: The columns a run folder's files must have to be compared.
_NEEDED = {"links.csv": (S.SOURCE_URL, S.TARGET_URL, S.RISK, S.BAND),
           "domains.csv": (S.DOMAIN, S.ACTION, S.MAX_RISK)}
_LINK_COLUMNS = (S.SOURCE_URL, S.TARGET_URL, S.DOMAIN, S.RISK, S.BAND, S.DUPLICATE_OF)
_DOMAIN_COLUMNS = (S.DOMAIN, S.ACTION, S.MAX_RISK)


@dataclass(frozen=True)
class Run:
    """The tables of one audit that a comparison reads.

    links : DataFrame, columns ``source_url, target_url, domain, risk, band`` (and
        optionally ``duplicate_of``), one row per row of ``links.csv``.
    domains : DataFrame, columns ``domain, action, max_risk``, one row per referring domain.
    """

    links: pd.DataFrame
    domains: pd.DataFrame


def read_run(folder: str | os.PathLike, *, chunksize: int = 200_000) -> Run:
    """The :class:`Run` of a ``toxlink score`` output folder.

    Reads only the columns a comparison needs, *chunksize* rows at a time, with the reader
    the report uses (:func:`toxlink.report.files.read_text_csv`). Raises
    :class:`FileNotFoundError` or :class:`ReportError`, naming the file, when the folder
    lacks ``links.csv`` / ``domains.csv`` or they are not the ones toxlink writes.
    """
    d = Path(folder)
    check_run(d)
    tables = {}
    for name, columns, risk in (("links.csv", _LINK_COLUMNS, S.RISK), ("domains.csv", _DOMAIN_COLUMNS, S.MAX_RISK)):
        try:
            table = pd.concat(list(read_text_csv(d / name, columns, chunksize=chunksize)), ignore_index=True)
        except (pa.ArrowInvalid, UnicodeDecodeError) as e:
            raise ReportError(f"{d / name}: cannot be read as the {name} of toxlink score ({e})") from None
        numbers = pd.to_numeric(table[risk], errors="coerce")
        if (numbers.isna() & table[risk].notna() & table[risk].ne("")).any():
            raise ReportError(f"{d / name}: its {risk} column holds something other than numbers")
        tables[name] = table.assign(**{risk: numbers})
    return Run(links=tables["links.csv"], domains=tables["domains.csv"])


def check_run(folder: str | os.PathLike) -> None:
    """Raise :class:`FileNotFoundError` or :class:`ReportError`, naming the file, unless
    *folder* holds the ``links.csv`` and ``domains.csv`` a comparison reads."""
    check_run_files(Path(folder), _NEEDED)


def compare_runs(old: str | os.PathLike, new: str | os.PathLike) -> pd.DataFrame:
    """The changes table (:func:`compare_tables`) from the audit in the folder *old* to the
    one in *new*. Both folders are checked before either is read."""
    for folder in (old, new):
        check_run(folder)
    return compare_tables(read_run(old), read_run(new))


def compare_tables(old: Run, new: Run) -> pd.DataFrame:
    """What changed from the audit *old* to the audit *new*.

    Parameters
    ----------
    old, new : Run
        Their tables are not changed.

    Returns
    -------
    DataFrame, columns :data:`CHANGE_COLUMNS`, one row per new, lost or re-judged domain
    and link (see the module), risks rounded to ``schema.RISK_DECIMALS``.
    """
    domains = _changes(_domain_verdicts(old.domains), _domain_verdicts(new.domains), DOMAIN_LEVEL)
    links = _changes(_link_verdicts(old.links), _link_verdicts(new.links), LINK_LEVEL)
    return pd.concat([domains, links], ignore_index=True)[list(CHANGE_COLUMNS)]


def change_counts(changes: pd.DataFrame) -> dict[tuple[str, str], int]:
    """``{(level, change): rows}`` of a changes table, every level and change present (0 when none)."""
    counts = changes.groupby([LEVEL, CHANGE]).size()
    return {(level, change): int(counts.get((level, change), 0))
            for level in (DOMAIN_LEVEL, LINK_LEVEL) for change in CHANGES}


def _domain_verdicts(domains: pd.DataFrame) -> pd.DataFrame:
    """One row per domain: key, domain, verdict (the action), risk (the max risk)."""
    domain = domains[S.DOMAIN].astype("string").str.strip().str.lower()
    frame = pd.DataFrame({"key": domain, S.DOMAIN: domain, "verdict": domains[S.ACTION].astype("string"),
                          "risk": pd.to_numeric(domains[S.MAX_RISK], errors="coerce").astype("float64")})
    return frame[frame["key"].notna() & frame["key"].ne("")].drop_duplicates("key")


def _link_verdicts(links: pd.DataFrame) -> pd.DataFrame:
    """One row per link (normalised source URL, target URL): its riskiest row's verdict."""
    if S.DUPLICATE_OF in links.columns:  # a duplicate repeats its first row's verdict
        dup = links[S.DUPLICATE_OF]
        links = links[dup.isna() | dup.eq("")]
    source = links[S.SOURCE_URL].astype("string")
    target = links[S.TARGET_URL].astype("string")
    key = url_match_keys(source).fillna("") + " -> " + url_match_keys(target).fillna("")
    frame = pd.DataFrame({"key": key, S.DOMAIN: links.get(S.DOMAIN, pd.Series(pd.NA, index=links.index)),
                          S.SOURCE_URL: source, S.TARGET_URL: target, "verdict": links[S.BAND].astype("string"),
                          "risk": pd.to_numeric(links[S.RISK], errors="coerce").astype("float64")})
    # Riskiest first (an unscored row last), so that the first row of a link is the one kept.
    frame = frame.sort_values("risk", ascending=False, na_position="last", kind="stable")
    return frame.drop_duplicates("key")


def _changes(before: pd.DataFrame, after: pd.DataFrame, level: str) -> pd.DataFrame:
    """The new, re-judged and lost rows of two verdict tables (:func:`_domain_verdicts`,
    :func:`_link_verdicts`) as rows of the changes table."""
    both = before.merge(after, on="key", how="outer", suffixes=("_before", "_after"), indicator=True)
    change = pd.Series(pd.NA, index=both.index, dtype="string")
    change[both["_merge"].eq("right_only")] = NEW
    change[both["_merge"].eq("left_only")] = LOST
    same = both["_merge"].eq("both")
    judged = same & both["verdict_before"].fillna("").ne(both["verdict_after"].fillna(""))
    change[judged] = VERDICT_CHANGED
    # The new audit's spelling of a URL or domain where it has the link, else the old one's.
    shown = {c: both[f"{c}_after"].combine_first(both[f"{c}_before"]) for c in (S.DOMAIN, S.SOURCE_URL, S.TARGET_URL)
             if f"{c}_after" in both.columns}
    out = pd.DataFrame({
        LEVEL: level, CHANGE: change, **shown,
        VERDICT_BEFORE: both["verdict_before"], VERDICT_AFTER: both["verdict_after"],
        RISK_BEFORE: both["risk_before"].round(S.RISK_DECIMALS), RISK_AFTER: both["risk_after"].round(S.RISK_DECIMALS),
    }).reindex(columns=list(CHANGE_COLUMNS))
    out = out[out[CHANGE].notna()]
    order = out[CHANGE].map({c: i for i, c in enumerate(CHANGES)}).astype(int)
    riskiest = out[RISK_AFTER].fillna(out[RISK_BEFORE])
    out = out.assign(_order=order, _risk=riskiest).sort_values(["_order", "_risk"], ascending=[True, False],
                                                               na_position="last", kind="stable")
    out = out.drop(columns=["_order", "_risk"]).reset_index(drop=True)
    for name in (LEVEL, CHANGE, S.DOMAIN, S.SOURCE_URL, S.TARGET_URL, VERDICT_BEFORE, VERDICT_AFTER):
        out[name] = out[name].astype("string")
    return out

"""``label-next.csv``: the referring sites whose label would teach a retrained model most.

A few hundred well-chosen labels move a retrained model further than thousands of obvious
ones (:mod:`toxlink.train`). :func:`label_next` ranks the sites of ``domains.csv`` by

- **uncertainty** -- how close the site's risk is to a decision threshold, in log-odds:
  ``1 / (1 + d)`` where ``d`` is the distance of ``logit(max_risk)`` to the nearer of the
  toxic and review thresholds (a site at 0.99 or 0.01 teaches little);
- **weight** -- ``1 + log(1 + n_links)``: a label on a site with many links labels all of them;

and picks the best ones greedily under **diversity** caps, so that one network does not
fill the list: at most :data:`PER_PATTERN` sites of one naming pattern (the shape of the
name when it holds digits or hyphens, ``casino-77.xyz`` -> ``a-0.xyz``), at most
:data:`TLD_SHARE` of the rows from one top-level domain, and no site whose name is as close
as :data:`MAX_SIMILARITY` (Jaccard of character 3-grams) to one already picked or already
labelled. Sites the user has decided already are left out: whitelisted, protected, named by
one of the user's known lists (a ``listed as`` reason), or covered by a ``domain:`` entry of
their existing disavow file (also used as "already labelled" for similarity).

Each row shows a page to look at: the roll-up's example URL of the site (its riskiest link).
"""

from __future__ import annotations

import re
from typing import Iterable

import numpy as np
import pandas as pd

from toxlink import schema as S

__all__ = ["LABEL_NEXT_FILE", "LABEL_NEXT_COLUMNS", "DEFAULT_ROWS", "PER_PATTERN", "TLD_SHARE", "MAX_SIMILARITY",
           "label_next", "priority", "name_pattern"]

LABEL_NEXT_FILE = "label-next.csv"
#: Columns of ``label-next.csv``; ``decision`` is left empty for the user (toxic / ok).
LABEL_NEXT_COLUMNS = ("domain", "risk", "links", "top_reasons", "example_url", "decision")
DEFAULT_ROWS = 100
PER_PATTERN = 3
TLD_SHARE = 0.4
MAX_SIMILARITY = 0.6
#: Candidates looked at, per row wanted, before giving up on the caps (bounds the time).
_SCAN_PER_ROW = 200


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, float), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def priority(risk, n_links, thresholds: Iterable[float]) -> np.ndarray:
    """How much a label on each site would teach, shape (n,): uncertainty times link weight.

    Parameters
    ----------
    risk : array-like of float, shape (n,)
        The site's risk (``max_risk``); NaN gives 0.
    n_links : array-like of int, shape (n,)
    thresholds : the decision thresholds (toxic, review) the distance is measured to.
    """
    z = _logit(np.nan_to_num(np.asarray(risk, float), nan=0.0))
    d = np.min([np.abs(z - t) for t in _logit(np.asarray(list(thresholds), float))], axis=0)
    weight = 1 + np.log1p(np.asarray(n_links, float))
    return np.where(np.isnan(np.asarray(risk, float)), 0.0, weight / (1 + d))


def name_pattern(site: str) -> str | None:
    """The shape of a site's name when it holds digits or hyphens (``best-casino77.xyz`` ->
    ``a-a0.xyz``), else None: plain words are too common a shape to say "one network"."""
    name, _, rest = site.partition(".")
    if not re.search(r"[0-9\-]", name):
        return None
    return re.sub(r"[0-9]+", "0", re.sub(r"[^0-9\-]+", "a", name)) + "." + rest.rsplit(".", 1)[-1]


def _grams(site: str) -> frozenset[str]:
    name = site.partition(".")[0]
    padded = f"^{name}$"
    return frozenset(padded[i:i + 3] for i in range(max(1, len(padded) - 2)))


def _similar(g: frozenset[str], others: list[frozenset[str]], limit: float) -> bool:
    return any(len(g & o) >= limit * len(g | o) for o in others)


def label_next(
    domains: pd.DataFrame,
    thresholds: Iterable[float],
    *,
    rows: int = DEFAULT_ROWS,
    labelled: Iterable[str] = (),
) -> pd.DataFrame:
    """The sites to label next, best first.

    Parameters
    ----------
    domains : DataFrame
        The roll-up (``domains.csv``, :data:`toxlink.schema.ROLLUP_COLUMNS`), one row per site.
    thresholds : the decision thresholds (toxic, review) uncertainty is measured to.
    rows : int
        Rows wanted (fewer when fewer sites pass the caps).
    labelled : iterable of str
        Sites already labelled (e.g. ``domain:`` entries of the existing disavow file):
        left out, and no pick may look like them.

    Returns
    -------
    DataFrame, shape (<= rows, 6): :data:`LABEL_NEXT_COLUMNS`, ``decision`` empty.
    """
    labelled = {str(d).lower() for d in labelled}
    d = domains.reset_index(drop=True)
    site = d[S.DOMAIN].astype("string").fillna("")
    skip = site.eq("") | site.isin(labelled)
    for flag in (S.WHITELISTED, S.PROTECTED):
        if flag in d.columns:
            skip |= d[flag].fillna(False).astype(bool)
    reasons = d[S.TOP_REASONS].astype("string").fillna("") if S.TOP_REASONS in d.columns else pd.Series("", index=d.index)
    skip |= reasons.str.contains("listed as ", regex=False)
    score = priority(d[S.MAX_RISK].to_numpy(float), d[S.N_LINKS].to_numpy(float), thresholds)
    score[skip.to_numpy()] = -1.0
    order = np.argsort(-score, kind="stable")
    tld_cap = max(1, int(np.ceil(TLD_SHARE * rows)))
    seen_labelled = [_grams(s) for s in sorted(labelled)]
    picked: list[int] = []
    picked_grams: list[frozenset[str]] = []
    per_tld: dict[str, int] = {}
    per_pattern: dict[str, int] = {}
    for i in order[: rows * _SCAN_PER_ROW]:
        if len(picked) >= rows or score[i] < 0:
            break
        s = str(site.iat[i])
        tld = s.rsplit(".", 1)[-1]
        pattern = name_pattern(s)
        if per_tld.get(tld, 0) >= tld_cap or (pattern is not None and per_pattern.get(pattern, 0) >= PER_PATTERN):
            continue
        g = _grams(s)
        if _similar(g, picked_grams, MAX_SIMILARITY) or _similar(g, seen_labelled, MAX_SIMILARITY):
            continue
        picked.append(int(i))
        picked_grams.append(g)
        per_tld[tld] = per_tld.get(tld, 0) + 1
        if pattern is not None:
            per_pattern[pattern] = per_pattern.get(pattern, 0) + 1
    chosen = d.iloc[picked]
    out = pd.DataFrame({
        "domain": chosen[S.DOMAIN].astype("string").to_numpy(),
        "risk": chosen[S.MAX_RISK].to_numpy(float),
        "links": chosen[S.N_LINKS].to_numpy(np.int64),
        "top_reasons": reasons.iloc[picked].to_numpy(),
        # the roll-up's example: the referring URL of the site's riskiest link
        "example_url": (chosen[S.EXAMPLE_URL].astype("string").fillna("").to_numpy(dtype=object)
                        if S.EXAMPLE_URL in chosen.columns else np.full(len(chosen), "", dtype=object)),
        "decision": "",
    })
    return out[list(LABEL_NEXT_COLUMNS)]

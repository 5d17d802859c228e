"""Anchor-text categories the report counts: empty, naked URL, branded, generic, commercial.

The rules are :func:`anchor_categories`'. The word lists are the model's (``data/``,
provenance in ``data/SOURCES.md``), so the report and the model agree on what a generic or
a money anchor is.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pandas as pd

from toxlink import urls
from toxlink.resources import categorised, word_list

EMPTY, NAKED_URL, BRANDED, GENERIC, COMMERCIAL, OTHER, UNKNOWN = (
    "empty", "naked URL", "branded", "generic", "commercial", "other", "unknown",
)
#: Categories in the order they are tested (the first rule that matches wins).
ANCHOR_CATEGORIES = (EMPTY, NAKED_URL, BRANDED, GENERIC, COMMERCIAL, OTHER, UNKNOWN)

_GENERIC_LIST = "generic_anchors.txt"  # whole anchor, after squeezing punctuation to spaces
_COMMERCIAL_LIST = "commercial_terms.txt"  # commercial-intent words (buy, cheap, price, ...)
_SPAM_LEXICON = "spam_lexicon.txt"  # gambling / pharma / ... terms with no innocent reading
_SQUEEZE_RE = re.compile(r"[^\w']+")
_NAKED_URL_RE = r"^(?:https?://)?(?:www\.)?(?:[a-z0-9\-]+\.)+[a-z][a-z0-9\-]{1,62}\.?(?::\d+)?(?:[/?#]\S*)?$"
#: A shorter brand token ("ab") would match half the web's anchors.
MIN_BRAND_TOKEN = 3


@cache
def _generic_anchors() -> frozenset[str]:
    return frozenset(_SQUEEZE_RE.sub(" ", a).strip() for a in word_list(_GENERIC_LIST)) - {""}


@cache
def _money_re() -> re.Pattern:
    terms = set(word_list(_COMMERCIAL_LIST))
    terms.update(t for ts in categorised(_SPAM_LEXICON).values() for t in ts)
    alternation = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)")


def anchor_categories(anchors: pd.Series, target_urls: pd.Series | None = None) -> pd.Series:
    """Classify anchor texts as branded / naked URL / generic / commercial / empty / other.

    Rules, tested in this order (first match wins), on the lower-cased, trimmed anchor:

    1. ``unknown``: the anchor is missing (``NA``: the export has no anchor column).
    2. ``empty``: the anchor is ``""`` or whitespace (image links without alt text).
    3. ``naked URL``: the anchor is a URL or a bare host name (``https://x.com/``, ``x.com``).
    4. ``branded``: with punctuation and spaces removed it contains the target's brand
       token (:func:`brand_tokens`: ``acmetools`` for ``https://www.acmetools.com/shop``).
    5. ``generic``: with punctuation squeezed to spaces it is a line of
       ``data/generic_anchors.txt`` ("click here", "website", "hier", ...).
    6. ``commercial``: it contains, as a whole word or phrase, a line of
       ``data/commercial_terms.txt`` (buy, cheap, price, ...) or a term of
       ``data/spam_lexicon.txt`` (casino, viagra, ...): a money or spam keyword anchor.
    7. ``other``: anything else (descriptive or keyword anchors).

    Parameters
    ----------
    anchors : Series of str, shape (n,)
    target_urls : Series of str, shape (n,), optional
        Without targets, rule 4 never applies.

    Returns
    -------
    Series of str, shape (n,), same index as *anchors*, values from :data:`ANCHOR_CATEGORIES`.
    """
    text = anchors.astype("string").str.strip().str.lower()
    # Every rule but "branded" depends on the anchor alone: decided once per distinct anchor.
    codes, distinct = pd.factorize(text, use_na_sentinel=True)
    known = codes >= 0
    out = np.full(len(text), UNKNOWN, dtype=object)
    out[known] = _categories_of(pd.Series(distinct, dtype="string"))[codes[known]]
    if target_urls is not None:
        brand = brand_tokens(target_urls).to_numpy(dtype=object, na_value=None)
        # Branded only overrides the rules after it (generic, commercial, other).
        idx = np.flatnonzero(np.isin(out, [GENERIC, COMMERCIAL, OTHER]) & pd.notna(brand))
        compact = text.iloc[idx].str.replace(r"[^a-z0-9]", "", regex=True).to_numpy(dtype=object)
        hit = np.array([b in a for a, b in zip(compact, brand[idx])], dtype=bool)
        out[idx[hit]] = BRANDED
    return pd.Series(out, index=anchors.index, dtype="string")


def _categories_of(anchors: pd.Series) -> np.ndarray:
    """The category of each distinct, present, lower-cased and trimmed anchor, rule 4 aside."""
    plain = anchors.to_numpy(dtype=object)
    # Python's re here: word boundaries must know non-ASCII letters.
    generic, money = _generic_anchors(), _money_re()
    return np.select(
        [
            anchors.eq("").to_numpy(bool),
            anchors.str.contains(_NAKED_URL_RE, regex=True).fillna(False).to_numpy(bool),
            np.array([_SQUEEZE_RE.sub(" ", a).strip() in generic for a in plain], dtype=bool),
            np.array([money.search(a) is not None for a in plain], dtype=bool),
        ],
        [EMPTY, NAKED_URL, GENERIC, COMMERCIAL],
        OTHER,
    ).astype(object)


def brand_tokens(target_urls: pd.Series) -> pd.Series:
    """The brand token of each target URL: its host's registrable domain without the public
    suffix, alphanumerics only (``https://www.acme-tools.co.uk/`` -> ``acmetools``; without a
    public suffix, the label before the last: ``pawsome-pets.example`` -> ``pawsomepets``), ``NA``
    when there is no host or the token is shorter than :data:`MIN_BRAND_TOKEN`. Computed
    once per distinct URL (an export links to few targets)."""
    codes, distinct = pd.factorize(target_urls.astype("string"), use_na_sentinel=True)
    hosts = urls.hosts_of(pd.Series(distinct, dtype="string"))
    table = urls.host_table(hosts)
    # Without a public suffix (pawsome-pets.example, a staging host) the brand is the label
    # before the last one, not the whole host.
    label = [d[: -len(s) - 1] if s and d.endswith("." + s) else d.removeprefix("www.").rsplit(".", 1)[0].rsplit(".", 1)[-1]
             for d, s in zip(table["domain"].astype(str), table["suffix"].astype(str))]
    token = pd.Series(label, index=table.index, dtype="string").str.replace(r"[^a-z0-9]", "", regex=True)
    token = token.where(token.str.len() >= MIN_BRAND_TOKEN)
    per_url = hosts.map(token).to_numpy(dtype=object, na_value=None)
    out = np.full(len(codes), None, dtype=object)
    out[codes >= 0] = per_url[codes[codes >= 0]]
    return pd.Series(out, index=target_urls.index, dtype="string")

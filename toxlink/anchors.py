"""Anchor-text categories: what a link's anchor says about the audited site.

:func:`anchor_categories` sorts each link's anchor into one of :data:`ANCHOR_CATEGORIES`
(``branded``, ``naked_url``, ``generic``, ``exact_match``, ``partial_match``, ``other``,
``empty``), the split SEO tools show as an anchor profile. It knows the site through
:class:`AnchorTerms`: its brand names (``--brand``; without them, the name in each link's
target host) and its money keywords (``--money-keywords``). The word lists are the model's
(``data/generic_anchors.txt``, ``data/commercial_terms.txt``, ``data/spam_lexicon.txt``;
provenance in ``data/SOURCES.md``), so the categories and the model's anchor features agree
on what a generic or a commercial anchor is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toxlink import urls
from toxlink.features._base import count_phrases, phrase_pattern, word_counts, words_normal
from toxlink.features.anchor import STOP_WORDS
from toxlink.resources import categorised, word_list
from toxlink.sites import as_strings

BRANDED, NAKED_URL, GENERIC, EXACT_MATCH, PARTIAL_MATCH, OTHER, EMPTY = (
    "branded", "naked_url", "generic", "exact_match", "partial_match", "other", "empty",
)
#: Every category, in the order the report lists them.
ANCHOR_CATEGORIES = (BRANDED, NAKED_URL, GENERIC, EXACT_MATCH, PARTIAL_MATCH, OTHER, EMPTY)

# Categories as small integers, in the order of the rules: a branded anchor overrides only
# the rules after it (generic and on).
_ORDER = (EMPTY, NAKED_URL, BRANDED, GENERIC, EXACT_MATCH, PARTIAL_MATCH, OTHER)
_RANK = {name: i for i, name in enumerate(_ORDER)}
_NAMES = pa.array(_ORDER, pa.large_string())

#: A derived brand shorter than this ("ab") would match half the web's anchors.
MIN_BRAND_TOKEN = 3
#: An anchor of more words than this is a sentence, not a keyword: never exact-match.
MAX_EXACT_WORDS = 6

_NAKED_URL_RE = (r"^(?:https?://)?(?:www\.)?(?:[\p{L}\p{N}\-]+\.)+\p{L}[\p{L}\p{N}\-]{1,62}\.?(?::\d+)?"
                 r"(?:[/?#]\S*)?$")
_NOT_ALNUM_RE = r"[^\p{L}\p{N}]+"


@dataclass(frozen=True)
class AnchorTerms:
    """What toxlink knows of the audited site's words, for :func:`anchor_categories`.

    Parameters
    ----------
    brands : tuple of str, default ()
        The site's brand names (``--brand``, e.g. ``"Pawsome Pets"``). Empty: each link's
        brand is derived from its target host (:func:`brand_tokens`).
    money_keywords : tuple of str, default ()
        The commercial terms the site ranks for (``--money-keywords``, e.g. ``"dog food"``).
    """

    brands: tuple[str, ...] = ()
    money_keywords: tuple[str, ...] = ()

    def __post_init__(self):
        for name in ("brands", "money_keywords"):
            value = getattr(self, name)
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise TypeError(f"AnchorTerms.{name} must be a sequence of str, got {value!r}")
            # Frozen: the cleaned tuple replaces what the caller gave (their list is not kept).
            object.__setattr__(self, name, tuple(dict.fromkeys(v.strip() for v in value if v.strip())))

    @staticmethod
    def read_keywords(path) -> tuple[str, ...]:
        """The money keywords of a text file: one term per line, blank lines and ``#``
        comments (a line starting with ``#``, or `` #`` after a term) skipped.

        Raises
        ------
        ValueError
            When the file is not UTF-8 text or has no term (naming the file).
        """
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError(f"{path}: not UTF-8 text; save the keyword list as UTF-8") from None
        terms = []
        for line in text.splitlines():
            # " #" only: "c# course" is a keyword, not a comment.
            term = re.sub(r"(?:^|\s)#.*$", "", line).strip()
            if term:
                terms.append(term)
        if not terms:
            raise ValueError(f"{path}: no money keyword in the file (one term per line)")
        return tuple(terms)


def anchor_categories(anchors: pd.Series, target_urls: pd.Series | None = None,
                      terms: AnchorTerms | None = None) -> pd.Series:
    """The category of each link's anchor text.

    Rules, on the trimmed anchor, case ignored; the first that applies wins:

    1. ``empty``: the anchor is ``""`` or whitespace (image links without alt text).
    2. ``naked_url``: the anchor is a URL or a bare host name (``https://x.com/``, ``x.com``).
    3. ``branded``: with everything but letters and digits removed it contains a brand:
       one of ``terms.brands`` (a brand of 1-2 letters only as a whole word), else the
       link's target brand (:func:`brand_tokens`: ``pawsomepets`` for
       ``https://www.pawsome-pets.example/``).
    4. ``generic``: it is a line of ``data/generic_anchors.txt`` ("click here", "website",
       "hier", ...), punctuation aside.
    5. ``exact_match``: it is one of ``terms.money_keywords`` (words compared, case and
       punctuation aside), or it has at most :data:`MAX_EXACT_WORDS` words of which at least
       half (stop words aside) are commercial words (``data/commercial_terms.txt``: buy,
       cheap, price, ...) or spam terms (``data/spam_lexicon.txt``: casino, viagra, ...).
    6. ``partial_match``: it contains one of the money keywords, commercial words or spam
       terms as whole words ("Pawsome Pets is the best dog food shop in town").
    7. ``other``: anything else (descriptive anchors).

    Parameters
    ----------
    anchors : Series of str, shape (n,)
    target_urls : Series of str, shape (n,), optional
        The links' targets, for the derived brand. Without them (and without
        ``terms.brands``) rule 3 never applies.
    terms : AnchorTerms, optional

    Returns
    -------
    Series of str (pandas ``string``), shape (n,), on *anchors*' index: values of
    :data:`ANCHOR_CATEGORIES`, ``NA`` where the anchor is missing (the export has none).
    """
    terms = terms or AnchorTerms()
    encoded = pc.dictionary_encode(as_strings(anchors))
    codes = np.asarray(encoded.indices.fill_null(-1), dtype=np.int64)
    # Every rule but "branded" depends on the anchor alone: decided once per distinct anchor.
    distinct = pc.utf8_trim_whitespace(encoded.dictionary)
    category = _categories_of(distinct, terms)[np.maximum(codes, 0)]
    branded = _branded(codes, distinct, target_urls, terms) & (category >= _RANK[GENERIC])
    category[branded] = _RANK[BRANDED]
    out = pa.DictionaryArray.from_arrays(pa.array(category, pa.int8(), mask=codes < 0), _NAMES)
    return pd.Series(pd.arrays.ArrowStringArray(out.cast(pa.large_string())), index=anchors.index)


def _categories_of(distinct: pa.Array, terms: AnchorTerms) -> np.ndarray:
    """Rules 1, 2 and 4-7 for each distinct trimmed anchor of *distinct* (no nulls): their
    :data:`_RANK`, ndarray of int8, shape (len(distinct),)."""
    if not len(distinct):
        return np.array([_RANK[OTHER]], dtype=np.int8)  # indexed by the codes of an all-missing column
    lower = pc.utf8_lower(distinct)
    normal = words_normal(distinct)
    key = pc.utf8_trim(pc.replace_substring_regex(lower, _NOT_ALNUM_RE, " "), " ")
    money = _money_terms()
    commercial = count_phrases(normal, money)
    content = np.maximum(word_counts(normal) - count_phrases(normal, STOP_WORDS), 1)
    exact = (word_counts(normal) <= MAX_EXACT_WORDS) & (commercial >= 1) & (commercial >= content / 2)
    partial = commercial >= 1
    if terms.money_keywords:
        keywords = _keys(terms.money_keywords)
        exact |= np.asarray(pc.is_in(key, value_set=keywords), dtype=bool)
        partial |= np.asarray(pc.match_substring_regex(normal, phrase_pattern(terms.money_keywords)), dtype=bool)
    return np.select(
        [np.asarray(pc.equal(pc.utf8_length(distinct), 0), dtype=bool),
         np.asarray(pc.match_substring_regex(lower, _NAKED_URL_RE), dtype=bool),
         np.asarray(pc.is_in(key, value_set=_generic_keys()), dtype=bool),
         exact, partial],
        [_RANK[EMPTY], _RANK[NAKED_URL], _RANK[GENERIC], _RANK[EXACT_MATCH], _RANK[PARTIAL_MATCH]],
        _RANK[OTHER],
    ).astype(np.int8)


def _branded(codes: np.ndarray, distinct: pa.Array, target_urls: pd.Series | None,
             terms: AnchorTerms) -> np.ndarray:
    """Rule 3 for each row (bool, shape (n,)): its anchor (position *codes* in *distinct*,
    -1 when missing) contains the given brands or, without them, its target's brand."""
    n = len(codes)
    if not len(distinct):
        return np.zeros(n, dtype=bool)
    compact = pc.replace_substring_regex(pc.utf8_lower(distinct), _NOT_ALNUM_RE, "")
    if terms.brands:
        brands = [b for b in _keys(terms.brands).to_pylist()]
        long = [b.replace(" ", "") for b in brands if len(b.replace(" ", "")) >= MIN_BRAND_TOKEN]
        short = [b for b in brands if len(b.replace(" ", "")) < MIN_BRAND_TOKEN]
        hit = np.zeros(len(distinct), dtype=bool)
        for brand in long:
            hit |= np.asarray(pc.match_substring(compact, brand), dtype=bool)
        if short:  # "HP": as a whole word, or "chp" and "hpv" would be branded
            hit |= np.asarray(pc.match_substring_regex(words_normal(distinct), phrase_pattern(short)), dtype=bool)
        return hit[np.maximum(codes, 0)] & (codes >= 0)
    if target_urls is None:
        return np.zeros(n, dtype=bool)
    brand = brand_tokens(target_urls).to_numpy(dtype=object, na_value=None)
    out = np.zeros(n, dtype=bool)
    known = codes >= 0
    # An export links to few targets: one substring search per distinct brand.
    for token in pd.unique(brand[known & pd.notna(brand)]):
        rows = np.flatnonzero(known & (brand == token))
        out[rows] = np.asarray(pc.match_substring(compact, token), dtype=bool)[codes[rows]]
    return out


def brand_tokens(target_urls: pd.Series) -> pd.Series:
    """The brand token of each target URL: its host's registrable domain without the public
    suffix, letters and digits only (``https://www.acme-tools.co.uk/`` -> ``acmetools``,
    ``https://pawsome.myshopify.com/`` -> ``pawsome``, ``https://xn--bcher-kva.de/`` -> ``bücher``; without a
    public suffix, the label before the last: ``pawsome-pets.example`` -> ``pawsomepets``), ``NA``
    when there is no host or the token is shorter than :data:`MIN_BRAND_TOKEN`. Computed
    once per distinct URL (an export links to few targets).

    Parameters
    ----------
    target_urls : Series of str, shape (n,)

    Returns
    -------
    Series of str (pandas ``string``), shape (n,), on *target_urls*' index.
    """
    codes, distinct = pd.factorize(target_urls.astype("string"), use_na_sentinel=True)
    hosts = urls.hosts_of(pd.Series(distinct, dtype="string"))
    table = urls.host_table(hosts)
    # The registrable label: on a platform (pawsome-pets.myshopify.com, a private suffix)
    # the site's own label, not the platform's. Without a public suffix (pawsome-pets.example,
    # a staging host) the brand is the label before the last one, not the whole host.
    label = [d[: -len(s) - 1].split(".", 1)[0] if s and d.endswith("." + s)
             else d.removeprefix("www.").rsplit(".", 1)[0].rsplit(".", 1)[-1]
             for d, s in zip(table["domain"].astype(str), table["suffix"].astype(str))]
    # An IDN label is compared as people write it (xn--bcher-kva -> bücher), like the anchors.
    token = pd.Series([_unicode(x) for x in label], index=table.index, dtype="string").str.replace(
        r"[\W_]+", "", regex=True)
    token = token.where(token.str.len() >= MIN_BRAND_TOKEN)
    per_url = hosts.map(token).to_numpy(dtype=object, na_value=None)
    out = np.full(len(codes), None, dtype=object)
    out[codes >= 0] = per_url[codes[codes >= 0]]
    return pd.Series(out, index=target_urls.index, dtype="string")


def _unicode(label: str) -> str:
    """A punycoded label (``xn--...``) in Unicode, lower-cased; any other label as it is."""
    if label.startswith("xn--"):
        try:
            return label.encode("ascii").decode("idna").lower()
        except UnicodeError:
            pass
    return label


def _keys(phrases) -> pa.Array:
    """*phrases* as comparison keys: lower-case words separated by one space."""
    lower = pc.utf8_lower(pa.array(list(phrases), pa.large_string()))
    return pc.utf8_trim(pc.replace_substring_regex(lower, _NOT_ALNUM_RE, " "), " ")


@cache
def _generic_keys() -> pa.Array:
    return _keys(sorted(word_list("generic_anchors.txt")))


@cache
def _money_terms() -> tuple[str, ...]:
    """The built-in money terms: commercial-intent words and every spam-lexicon term."""
    terms = set(word_list("commercial_terms.txt"))
    terms.update(t for ts in categorised("spam_lexicon.txt").values() for t in ts)
    return tuple(sorted(terms))

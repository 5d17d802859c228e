"""Anchor family: what the link's anchor text says and how it is written.

Text work runs once per *unique* anchor (pyarrow RE2 kernels) and is joined back; only
"branded" depends on the pair (anchor, target brand) and runs per unique pair. All
features are NaN where the anchor is missing (``NA``: the vendor gave no anchor);
an empty anchor (``""``) is a value, ``anc_empty = 1``.

Definitions
-----------
- brand token: the target's registrable label without punctuation (``acme-tools.com`` ->
  ``acmetools``); *branded* = the anchor, with punctuation and spaces removed, contains it
  ("Acme Tools", "acmetools.com", "ACME-TOOLS shop").
- commercial words: ``data/commercial_terms.txt`` (buy, cheap, best, price, review, ...,
  multilingual). *exact-match* = an unbranded, non-generic, non-URL anchor of at most six
  words of which at least half (stop words aside) are commercial words ("best cheap
  tools", "buy tools online"); *partial-match* = contains a commercial word but is not
  exact-match ("Acme Tools review", "read the best guide on tools").
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toxlink import schema as S
from toxlink.features._base import (
    SCRIPT_CODES,
    Context,
    arrow_codes,
    FeatureSet,
    above,
    arrow_float,
    categorised,
    count_phrases,
    flag,
    letter_counts,
    never,
    regex_for,
    script_profile,
    take,
    take_rows,
    word_counts,
    words_normal,
)
from toxlink.resources import word_list

FEATURES = FeatureSet("anchor")
FEATURES.add("anc_empty", "1 if the anchor text is empty (image or hidden link)", never)
FEATURES.add("anc_length", "characters in the anchor text (trimmed)", above(80, "the anchor text is very long ({:,.0f} characters)"))
FEATURES.add("anc_words", "words in the anchor text", never)
FEATURES.add("anc_image", "1 if the anchor is an image placeholder or image file name (logo, banner, x.jpg)", never)
FEATURES.add("anc_naked_url", "1 if the anchor is a bare URL or domain name", never)
FEATURES.add("anc_generic", "1 if the anchor is a generic phrase (click here, website, hier, aquí, здесь, ...; data/generic_anchors.txt)", never)
FEATURES.add("anc_branded", "1 if the anchor contains the target's brand token (target acmetools.com, anchor 'Acme Tools')", never)
FEATURES.add("anc_commercial_terms", "commercial-intent words in the anchor (buy, cheap, best, price, review, ...)", above(1, "the anchor is stuffed with commercial keywords"))
FEATURES.add("anc_exact_match", "1 if the anchor is an exact-match commercial keyword (unbranded, mostly commercial words)", flag("the anchor is an exact-match commercial keyword"))
FEATURES.add("anc_partial_match", "1 if the anchor contains commercial keywords but is not exact-match", never)
FEATURES.add("anc_spam_terms", "spam-lexicon terms in the anchor (all categories, multilingual)", above(0, "the anchor contains spam terms ({:,.0f} found)"))
FEATURES.add("anc_gambling_terms", "gambling terms in the anchor (casino, slot gacor, deneme bonusu, bandar togel, ...)", above(0, "the anchor is gambling spam"))
FEATURES.add("anc_pharma_terms", "pharmacy spam terms in the anchor (viagra, cialis, online pharmacy, ...)", above(0, "the anchor is pharmacy spam"))
FEATURES.add("anc_adult_terms", "adult-content terms in the anchor", above(0, "the anchor is adult-content spam"))
FEATURES.add("anc_other_spam_terms", "loan, essay-mill, crypto-scam, SEO and replica terms in the anchor", above(0, "the anchor advertises loans, essays, crypto or SEO services"))
FEATURES.add("anc_script_mixing", "1 if the anchor's letters mix writing systems (e.g. Latin + Cyrillic homoglyphs)", flag("the anchor mixes alphabets (e.g. Latin and Cyrillic)"))
FEATURES.add("anc_non_latin", "1 if the anchor's main script is not Latin", never)
FEATURES.add("anc_script_mismatch", "1 if the anchor's script differs from the script of the page's language column; NaN without language or letters", flag("the anchor is written in a different alphabet from the page's language"))
FEATURES.add("anc_all_caps", "1 if the anchor has 4+ letters, all upper case", flag("the anchor is written in capitals"))
FEATURES.add("anc_repeated_tokens", "words repeated within the anchor (words - distinct words)", above(0, "the anchor repeats words (keyword stuffing)"))

#: Words left out when counting how much of an anchor is commercial (multilingual).
STOP_WORDS = ("the a an of for to in on and or with at by your our my from is this that de la le en y et und der die das el il di da na").split()
_IMAGE_RE = r"\.(?:jpe?g|png|gif|webp|svg|bmp|avif)\b|^\s*(?:image|img|logo|banner|picture|photo|icon|\[img\]|thumbnail|alt)\s*$"
_URL_RE = r"^\s*(?:(?:https?://|www\.)\S+|[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.[\p{L}]{2,}(?:/\S*)?)\s*$"
_KEY_SEP = r"[^\p{L}\p{N}']+"


@cache
def _generic_keys() -> pa.Array:
    """The generic anchors (data/generic_anchors.txt) as lookup keys, like ``key`` below."""
    keys = pc.replace_substring_regex(pa.array(sorted(word_list("generic_anchors.txt"))), _KEY_SEP, " ")
    return pa.array(sorted(pc.utf8_trim(keys, " ").to_pylist()), pa.large_string())


def _token_repeats(normal: pa.Array) -> np.ndarray:
    # words_normal separates words by exactly two spaces, so a plain split yields the words.
    tokens = pc.split_pattern(pc.utf8_trim(normal, " "), "  ")
    flat = pc.list_flatten(tokens)
    parents = pc.list_parent_indices(tokens).to_numpy()
    keep = pc.not_equal(flat, "")
    # Arrow's dictionary codes: no Python string per word
    flat, parents = flat.filter(keep), parents[np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool)]
    n = len(normal)
    total = np.bincount(parents, minlength=n).astype(float)
    if len(flat) == 0:
        return total
    enc = pc.dictionary_encode(flat)
    tcodes, n_words = enc.indices.to_numpy().astype(np.int64), len(enc.dictionary)
    pairs = np.unique(parents.astype(np.int64) * n_words + tcodes)  # distinct (anchor, word)
    distinct = np.bincount(pairs // n_words, minlength=n)
    return total - distinct


def _text_features(arr: pa.Array) -> dict[str, np.ndarray]:
    """Per-unique-anchor features that do not depend on the target."""
    lex = categorised("spam_lexicon.txt")
    trimmed = pc.utf8_trim_whitespace(arr)
    lower = pc.utf8_lower(trimmed)
    normal = words_normal(trimmed)
    key = pc.utf8_trim(pc.replace_substring_regex(lower, regex_for(lower, _KEY_SEP), " "), " ")
    generic_keys = _generic_keys()
    length = arrow_float(pc.utf8_length(trimmed))
    words = word_counts(normal)
    stop = count_phrases(normal, STOP_WORDS)
    commercial = count_phrases(normal, word_list("commercial_terms.txt"))
    dominant, n_scripts = script_profile(trimmed)
    letters = letter_counts(trimmed)
    upper = arrow_float(pc.utf8_is_upper(trimmed))
    other = [t for c, ts in lex.items() if c not in ("gambling", "pharma", "adult") for t in ts]
    out = {
        "anc_empty": (length == 0).astype(float),
        "anc_length": length,
        "anc_words": words,
        "anc_image": arrow_float(pc.match_substring_regex(lower, _IMAGE_RE)),
        "anc_naked_url": arrow_float(pc.match_substring_regex(lower, regex_for(lower, _URL_RE))),
        "anc_generic": arrow_float(pc.is_in(key, generic_keys)),
        "anc_commercial_terms": commercial,
        "anc_gambling_terms": count_phrases(normal, lex["gambling"]),
        "anc_pharma_terms": count_phrases(normal, lex["pharma"]),
        "anc_adult_terms": count_phrases(normal, lex["adult"]),
        "anc_other_spam_terms": count_phrases(normal, other),
        "anc_script_mixing": (n_scripts >= 2).astype(float),
        "anc_non_latin": ((dominant > 0) & (dominant != SCRIPT_CODES["Latin"])).astype(float),
        "anc_all_caps": ((letters >= 4) & (upper == 1)).astype(float),
        "anc_repeated_tokens": _token_repeats(normal),
        "_dominant": dominant,
        "_content_words": words - stop,
        "_alnum": pc.replace_substring_regex(lower, regex_for(lower, r"[^\p{L}\p{N}]+"), "").to_numpy(zero_copy_only=False),
    }
    out["anc_spam_terms"] = out["anc_gambling_terms"] + out["anc_pharma_terms"] + out["anc_adult_terms"] + out["anc_other_spam_terms"]
    return out


def _branded(ctx: Context, codes: np.ndarray, alnum: np.ndarray) -> np.ndarray:
    """1/0 per row whether the anchor contains the target brand; NaN without target/anchor."""
    bcodes, brands = ctx.target_brand
    ok = (codes >= 0) & (bcodes >= 0)
    out = np.full(len(codes), np.nan)
    if not ok.any():
        return out
    pair = codes[ok].astype(np.int64) * (len(brands) + 1) + bcodes[ok]
    pcodes, puniq = pd.factorize(pair)
    a_idx, b_idx = puniq // (len(brands) + 1), puniq % (len(brands) + 1)
    hit = np.array([len(brands[b]) >= 3 and brands[b] in alnum[a] for a, b in zip(a_idx, b_idx)], dtype=float)
    out[ok] = hit[pcodes]
    return out


def _anchor_codes(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    anchor = ctx.col(S.ANCHOR)
    if anchor is None:
        anchor = pd.Series(pd.NA, index=ctx.index, dtype="string")
    return arrow_codes(anchor)


def share_commercial(ctx: Context) -> None:
    """Put what the profile family needs in ``ctx.cache`` without the whole family:
    ``anchor_commercial`` (1 if the anchor is exact- or partial-match, NaN if missing) and
    ``anchor_codes``. Exact-match implies a commercial word, and partial-match is "a
    commercial word but not exact", so the union is just "has a commercial word"."""
    codes, uniq = _anchor_codes(ctx)
    normal = words_normal(pc.utf8_trim_whitespace(uniq))
    commercial = take(count_phrases(normal, word_list("commercial_terms.txt")), codes)
    ctx.cache["anchor_commercial"] = np.where(codes < 0, np.nan, (commercial >= 1).astype(float))
    ctx.cache["anchor_codes"] = (codes, uniq)


def compute(ctx: Context) -> dict[str, np.ndarray]:
    codes, uniq = _anchor_codes(ctx)
    feats = _text_features(uniq)
    numeric = [name for name in feats if name != "_alnum"]
    row = dict(zip(numeric, take_rows([feats[name] for name in numeric], codes)))
    branded = _branded(ctx, codes, feats["_alnum"])
    row["anc_branded"] = branded
    content_words = row["_content_words"]
    commercial = row["anc_commercial_terms"]
    exact = (
        (branded != 1)
        & (row["anc_generic"] == 0)
        & (row["anc_naked_url"] == 0)
        & (row["anc_words"] <= 6)
        & (commercial >= 1)
        & (commercial >= np.maximum(content_words, 1) / 2)
    ).astype(float)
    missing = codes < 0
    exact[missing] = np.nan
    row["anc_exact_match"] = exact
    partial = ((commercial >= 1) & (exact == 0)).astype(float)
    partial[missing] = np.nan
    row["anc_partial_match"] = partial
    lang_script = ctx.language_script
    dominant = row["_dominant"]
    mismatch = (dominant != lang_script).astype(float)
    mismatch[np.isnan(lang_script) | np.isnan(dominant) | (dominant == 0)] = np.nan
    row["anc_script_mismatch"] = mismatch
    # Shared with the profile family (share of commercial anchors per domain).
    ctx.cache["anchor_commercial"] = np.where(missing, np.nan, np.maximum(exact, partial))
    ctx.cache["anchor_codes"] = (codes, uniq)
    return {f.name: row[f.name] for f in FEATURES}

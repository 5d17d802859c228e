"""Content family: what the export tells about the referring page's text.

Exports carry the page title and, for some vendors, the text around the link; both are
processed once per unique value. Title features are NaN where the title is missing,
surrounding-text features NaN where the vendor gives no text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
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
    never,
    script_profile,
    take_rows,
    word_counts,
    words_normal,
)
from toxlink.resources import word_list

FEATURES = FeatureSet("content")
FEATURES.add("cnt_title_length", "characters in the referring page title", never)
FEATURES.add("cnt_title_words", "words in the referring page title", never)
FEATURES.add("cnt_title_spam_terms", "spam-lexicon terms in the page title (gambling, pharma, adult, loans, essays, crypto, SEO)", above(0, "the page title contains spam terms ({:,.0f} found)"))
FEATURES.add("cnt_title_link_selling", "link-selling phrases in the page title (write for us, guest post, buy backlinks, DA PA, ...)", above(0, "the page title advertises guest posts or link selling"))
FEATURES.add("cnt_title_commercial_terms", "commercial-intent words in the page title", never)
FEATURES.add("cnt_title_non_latin", "1 if the title's main script is not Latin", never)
FEATURES.add("cnt_title_script_mismatch", "1 if the title's script differs from the page's language column; NaN without language or letters", flag("the page title's alphabet does not match the page's language"))
FEATURES.add("cnt_text_spam_terms", "spam-lexicon terms in the text around the link", above(0, "the text around the link contains spam terms ({:,.0f} found)"))
FEATURES.add("cnt_text_link_selling", "link-selling phrases in the text around the link", above(0, "the text around the link advertises link selling"))


def _spam_terms() -> list[str]:
    return [t for ts in categorised("spam_lexicon.txt").values() for t in ts]


def compute(ctx: Context) -> dict[str, np.ndarray]:
    out = {}
    title = ctx.col(S.PAGE_TITLE)
    if title is None:
        title = pd.Series(pd.NA, index=ctx.index, dtype="string")
    codes, uniq = arrow_codes(title)
    arr = pc.utf8_trim_whitespace(uniq)
    normal = words_normal(arr)
    dominant, _ = script_profile(arr)
    selling = word_list("link_selling_phrases.txt")
    per_title = {
        "cnt_title_length": arrow_float(pc.utf8_length(arr)),
        "cnt_title_words": word_counts(normal),
        "cnt_title_spam_terms": count_phrases(normal, _spam_terms()),
        "cnt_title_link_selling": count_phrases(normal, selling),
        "cnt_title_commercial_terms": count_phrases(normal, word_list("commercial_terms.txt")),
        "cnt_title_non_latin": ((dominant > 0) & (dominant != SCRIPT_CODES["Latin"])).astype(float),
    }
    rows = take_rows([*per_title.values(), dominant], codes)
    out.update(zip(per_title, rows))
    lang_script = ctx.language_script
    dom_row = rows[-1]
    mismatch = (dom_row != lang_script).astype(float)
    mismatch[np.isnan(lang_script) | np.isnan(dom_row) | (dom_row == 0)] = np.nan
    out["cnt_title_script_mismatch"] = mismatch

    text = ctx.col(S.SURROUNDING_TEXT)
    if text is None:
        text = pd.Series(pd.NA, index=ctx.index, dtype="string")
    tcodes, tuniq = arrow_codes(text)
    if len(tuniq):
        tnormal = words_normal(tuniq)
        rows = take_rows([count_phrases(tnormal, _spam_terms()), count_phrases(tnormal, selling)], tcodes)
        out["cnt_text_spam_terms"], out["cnt_text_link_selling"] = rows
    else:  # most vendors give no surrounding text: no patterns to compile
        out["cnt_text_spam_terms"], out["cnt_text_link_selling"] = np.full((2, ctx.n), np.nan)
    return {f.name: out[f.name] for f in FEATURES}

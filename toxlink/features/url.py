"""URL family: the shape of the referring page's URL.

Vectorised over rows with pyarrow's RE2 kernels on the parts from
:func:`toxlink.urls.split_urls` (path and query lower-cased once). Host-only facts
(shortener) are computed per unique host. Every feature is NaN where the source URL is
missing.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from toxlink import schema as S
from toxlink import urls
from toxlink.features._base import (
    Context,
    FeatureSet,
    above,
    arrow_codes,
    arrow_float,
    categorised,
    ascii_words_normal,
    byte_counts,
    bytes_and_offsets,
    count_phrases,
    segment_counts,
    flag,
    never,
    take,
    take_rows,
    to_arrow,
)

FEATURES = FeatureSet("url")
FEATURES.add("url_length", "characters in the referring page URL", above(150, "the referring URL is very long ({:,.0f} characters)"))
FEATURES.add("url_path_depth", "non-empty path segments", above(5, "the referring page is {:,.0f} folders deep"))
FEATURES.add("url_query_params", "query parameters (0 without a query)", above(3, "the referring URL has {:,.0f} query parameters"))
FEATURES.add("url_tracking_params", "tracking/affiliate parameters (utm_*, ref, aff, partner, gclid, fbclid, ...)", above(0, "the referring URL carries tracking or affiliate parameters"))
FEATURES.add("url_spam_terms", "spam-lexicon words in the path and query", above(0, "the referring URL contains spam words ({:,.0f} found)"))
FEATURES.add("url_numeric_segments", "path segments that are numbers, with or without a file extension (/all/938/13.html -> 2)", above(1, "the referring URL is a numbered, templated page"))
FEATURES.add("url_path_digit_ratio", "share of the path's characters that are digits", never)
FEATURES.add("url_file_page", "1 if the path ends in a script/static page extension (.html .htm .php .asp .aspx .jsp .cgi .shtml .cfm)", never)
FEATURES.add("url_shortener", "1 if the referring host is a URL shortener (data/shorteners.txt)", flag("the link comes through a URL shortener"))
FEATURES.add("url_replytocom", "1 if the URL is a WordPress ?replytocom comment-reply page", flag("the link is in a blog comment reply"))
FEATURES.add("url_profile_page", "1 if the URL looks like a user profile page (/profile/, /members/, member.php, viewprofile, ...)", flag("the link is on a user profile page"))
FEATURES.add("url_forum_page", "1 if the URL looks like a forum thread or board (/forum, /thread, viewtopic.php, showthread.php, ...)", flag("the link is on a forum page"))
FEATURES.add("url_guestbook", "1 if the URL looks like a guestbook page", flag("the link is in a guestbook"))
FEATURES.add("url_comment_page", "1 if 'comment' appears anywhere in the URL (path, query, #fragment, or a comments.* host)", flag("the link is in a comment section"))
FEATURES.add("url_links_page", "1 if the path is a links/directory/partners/blogroll/resources page", flag("the link is on a links or directory page"))
FEATURES.add("url_embedded_url", "1 if the query carries another URL (?url=http..., redirect scripts)", flag("the referring URL embeds another URL (redirect script)"))
FEATURES.add("url_https", "1 if the referring page is served over https", never)
FEATURES.add("url_nonstandard_port", "1 if the URL names a port other than 80/443", flag("the referring URL uses an unusual port"))
FEATURES.add("url_userinfo", "1 if the URL carries user:password@ before the host", flag("the referring URL hides its host behind user info"))
FEATURES.add("url_homepage", "1 if the referring page is the site's home page (no path, no query)", never)

_EXT_RE = r"\.(?:html?|php\d?|aspx?|jsp|cgi|shtml|phtml|cfm)$"
_TRACK_RE = (
    r"[?&](?:utm_[a-z_]+|ref|referrer|ref_?id|aff|aff_?id|affiliate|affiliate_?id|partner|partner_?id|"
    r"click_?id|gclid|fbclid|msclkid|yclid|mc_cid|irclickid|tag)="
)
_PROFILE_RE = (
    r"/(?:profiles?|users?|members?|author|authors|people|u|accounts?)/[^/]+|"
    r"(?:profile|member|memberlist|userinfo|viewprofile|user)\.php|mode=viewprofile|action=profile|/member\.php|"
    r"/user/profile|/profile$"
)
_FORUM_RE = (
    r"/(?:forums?|threads?|topics?|boards?|community|discussions?|discuss|showthread|viewtopic)(?:[/._?-]|$)|"
    r"viewtopic\.php|showthread\.php|[?&]topic=|/t/[^/]+/\d+|phpbb|vbulletin|smf"
)
_GUESTBOOK_RE = r"guest-?book|gaestebuch|gästebuch|livre-?d-?or|libro-?de-?visitas|gastenboek|ksiega-?gosci"
_LINKS_RE = (
    r"(?:^|[/_.-])(?:links|link-?exchange|useful-?links|directory|dir|partners|resources|blogroll|"
    r"friends|webring|sites|links?-?page)(?:[/_.-]|$)"
)


def _path_features(path: pa.Array) -> dict[str, np.ndarray]:
    """Features of unique lower-cased paths (never null)."""
    empty = pa.scalar("", pa.large_string())
    length = arrow_float(pc.utf8_length(path))
    digits = byte_counts(path, lambda b: (b >= 48) & (b <= 57))
    slashed = pc.binary_join_element_wise(pc.replace_substring(path, "/", "//"), pa.scalar("/", pa.large_string()), empty)
    with np.errstate(invalid="ignore", divide="ignore"):
        digit_ratio = np.where(length > 0, digits / length, 0.0)
    return {
        "url_path_depth": segment_counts(path),
        "url_numeric_segments": arrow_float(pc.count_substring_regex(slashed, r"/[0-9]+(?:\.[a-z0-9]{1,5})?/")),
        "url_path_digit_ratio": digit_ratio,
        "url_file_page": arrow_float(pc.match_substring_regex(path, _EXT_RE)),
        "url_links_page": arrow_float(pc.match_substring_regex(path, _LINKS_RE)),
        "root": arrow_float(pc.is_in(path, pa.array(["", "/"], pa.large_string()))),
    }


def _query_features(query: pa.Array) -> dict[str, np.ndarray]:
    """Features of unique lower-cased queries, each prefixed with "?" (never null)."""
    return {
        "url_query_params": arrow_float(pc.count_substring_regex(query, r"[?&][^&]+")),
        "url_tracking_params": arrow_float(pc.count_substring_regex(query, _TRACK_RE)),
        "url_replytocom": arrow_float(pc.match_substring_regex(query, r"[?&]replytocom=")),
        "url_embedded_url": arrow_float(pc.match_substring_regex(query, r"(?:=|%3d)(?:https?(?::|%3a)|www\.)")),
    }


def _either_features(text: pa.Array) -> dict[str, np.ndarray]:
    """Features read from the path and the query alike (summed / OR-ed afterwards)."""
    spam_terms = [t for ts in categorised("spam_lexicon.txt").values() for t in ts]
    return {
        "url_spam_terms": count_phrases(ascii_words_normal(text), spam_terms),
        "url_profile_page": arrow_float(pc.match_substring_regex(text, _PROFILE_RE)),
        "url_forum_page": arrow_float(pc.match_substring_regex(text, _FORUM_RE)),
        "url_guestbook": arrow_float(pc.match_substring_regex(text, _GUESTBOOK_RE)),
    }


def _unique(values: pa.Array, prefix: str = "") -> tuple[np.ndarray, pa.Array]:
    """(codes, lower-cased unique values) — URL paths and queries repeat across rows
    (``/``, ``/index.php``, ``?id=``), so string work runs once per distinct value."""
    codes, uniq = arrow_codes(values)
    arr = pc.utf8_lower(uniq)
    if prefix:
        arr = pc.binary_join_element_wise(pa.scalar(prefix, pa.large_string()), arr, pa.scalar("", pa.large_string()))
    return codes, arr


_USERINFO_RE = r"^\s*[A-Za-z][A-Za-z0-9+.\-]*://[^/?#@]*@"


def _userinfo(raw: pa.Array) -> np.ndarray:
    """1/0 per URL whether it has user info; the regex runs only on URLs with an "@"."""
    data, offsets = bytes_and_offsets(pc.fill_null(raw, ""))
    has_at = np.zeros(len(raw), dtype=bool)
    has_at[np.searchsorted(offsets, np.flatnonzero(data == ord("@")), side="right") - 1] = True
    out = np.zeros(len(raw))
    if has_at.any():
        out[has_at] = arrow_float(pc.match_substring_regex(raw.filter(pa.array(has_at)), _USERINFO_RE))
    return out


def _take0(values_unique: dict[str, np.ndarray], codes: np.ndarray) -> dict[str, np.ndarray]:
    """Per-unique values mapped to rows (one gather for all), NaN as 0 (code -1 gives 0
    too)."""
    table = np.nan_to_num(np.vstack([np.asarray(v, dtype=np.float64) for v in values_unique.values()]), copy=False)
    return dict(zip(values_unique, take_rows(table, codes, 0.0)))


_COMMENT = np.frombuffer(b"comment", dtype=np.uint8)


def _has_comment(raw: pa.Array) -> np.ndarray:
    """1/0 per URL whether "comment" occurs in it, any case (NaN for nulls).

    Byte comparisons on the UTF-8 buffer: an ASCII letter's case variants are the byte
    with bit 0x20 set or cleared, and no non-ASCII character case-folds to one of
    c, o, m, e, n, t (so this equals Arrow's ``match_substring(ignore_case=True)``).
    """
    data, offsets = bytes_and_offsets(pc.fill_null(raw, ""))
    out = np.zeros(len(raw))
    if len(data) >= len(_COMMENT):
        folded = data | 0x20
        pos = np.flatnonzero(folded[: len(data) - len(_COMMENT) + 1] == _COMMENT[0])
        for j in range(1, len(_COMMENT)):
            pos = pos[folded[pos + j] == _COMMENT[j]]
        row = np.searchsorted(offsets, pos, side="right") - 1
        row = row[pos + len(_COMMENT) <= offsets[row + 1]]
        out[row] = 1.0
    if raw.null_count:
        out[~np.asarray(pc.is_valid(raw).to_numpy(zero_copy_only=False), dtype=bool)] = np.nan
    return out


def compute(ctx: Context) -> dict[str, np.ndarray]:
    src = ctx.col(S.SOURCE_URL)
    raw = to_arrow(src) if src is not None else pa.nulls(ctx.n, pa.large_string())
    parts = urls.url_parts_arrow(raw)
    missing = ~np.asarray(pc.is_valid(raw).to_numpy(zero_copy_only=False), dtype=bool)
    empty = pa.scalar("", pa.large_string())

    pcodes, paths = _unique(parts["path"])
    qcodes, queries = _unique(parts["query"], prefix="?")
    # A row without a path / query (code -1) has none of their features: 0, not NaN.
    # one call for the paths and queries alike: each pattern is compiled once per chunk
    either = _either_features(pa.concat_arrays([paths, queries]))
    e_path = {"e_" + k: v[: len(paths)] for k, v in either.items()}
    e_query = {"e_" + k: v[len(paths):] for k, v in either.items()}
    per_path = _take0({**_path_features(paths), **e_path}, pcodes)
    per_query = _take0({**_query_features(queries), **e_query}, qcodes)
    has_query = per_query["url_query_params"] > 0
    scheme = parts["scheme"]
    port = pc.fill_null(parts["port"], empty)
    codes, uniq = ctx.host_codes

    out = {
        "url_length": arrow_float(pc.utf8_length(raw)),
        **{k: per_path[k] for k in ("url_path_depth", "url_numeric_segments", "url_path_digit_ratio", "url_file_page", "url_links_page")},
        **{k: per_query[k] for k in ("url_query_params", "url_tracking_params", "url_replytocom", "url_embedded_url")},
        "url_spam_terms": per_path["e_url_spam_terms"] + per_query["e_url_spam_terms"],
        "url_shortener": take(ctx.host_lists["shorteners.txt"], codes),
        "url_comment_page": _has_comment(raw),
        "url_https": arrow_float(pc.equal(scheme, "https")),
        "url_nonstandard_port": arrow_float(pc.and_(pc.not_equal(port, ""), pc.invert(pc.is_in(port, pa.array(["80", "443"], pa.large_string()))))),
        "url_userinfo": _userinfo(raw),
        "url_homepage": per_path["root"] * (~has_query),
    }
    for k in ("url_profile_page", "url_forum_page", "url_guestbook"):
        out[k] = np.maximum(per_path["e_" + k], per_query["e_" + k])
    if missing.any():
        for name, v in out.items():
            v = np.array(v, dtype=float)
            v[missing] = np.nan
            out[name] = v
    return {f.name: out[f.name] for f in FEATURES}
